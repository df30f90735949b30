package lab

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxStreamsPerProc is how many TCP flows one iperf3 process carries; more flows use
// more processes (iperf3 3.12 is single-threaded and caps -P at 128).
const maxStreamsPerProc = 64

// Bulk is N bulk TCP flows sender -> receiver through the router (iperf3).
type Bulk struct {
	Flows   int
	servers []*Proc
	clients []*Proc
}

// BulkResult is what iperf3 reported at the end of the flows.
type BulkResult struct {
	GoodputBps  float64   `json:"goodput_bps"`  // sum over flows, received, after the omitted start
	PerFlowBps  []float64 `json:"per_flow_bps"` // each flow's received goodput
	Retransmits int       `json:"retransmits"`  // sender's count
	Complete    bool      `json:"complete"`     // every process reported
	Errors      []string  `json:"errors,omitempty"`
}

// StartBulk starts flows TCP flows of dur seconds (0: until stopped), their first
// omit seconds left out of iperf3's totals, with congestion control cc. Processes
// start 100 ms apart.
func (e *Env) StartBulk(flows int, dur, omit time.Duration, cc string, basePort int) (*Bulk, error) {
	return e.StartBulkFrom(NsSend, flows, dur, omit, cc, basePort)
}

// StartBulkFrom is StartBulk from the sender in namespace ns.
func (e *Env) StartBulkFrom(ns string, flows int, dur, omit time.Duration, cc string, basePort int) (*Bulk, error) {
	b := &Bulk{Flows: flows}
	secs := int(dur.Seconds())
	if dur <= 0 {
		secs = 86400
	}
	for left, i := flows, 0; left > 0; i++ {
		k := min(left, maxStreamsPerProc)
		left -= k
		port := strconv.Itoa(basePort + i)
		s, err := e.Start(nil, inNS(NsRecv, "iperf3", "-s", "-1", "-p", port)...)
		if err != nil {
			return nil, err
		}
		b.servers = append(b.servers, s)
		if err := e.waitListen(port); err != nil {
			return nil, err
		}
		c, err := e.Start(nil, inNS(ns, "iperf3", "-c", AddrRecv, "-p", port, "-P", strconv.Itoa(k),
			"-t", strconv.Itoa(secs), "-O", strconv.Itoa(int(omit.Seconds())), "-C", cc, "-i", "0", "-J")...)
		if err != nil {
			return nil, err
		}
		b.clients = append(b.clients, c)
		if err := e.Sleep(100 * time.Millisecond); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (e *Env) waitListen(port string) error {
	for i := 0; i < 50; i++ {
		out, _ := run(e.Ctx, inNS(NsRecv, "ss", "-Htln", "sport", "= :"+port)...)
		if strings.TrimSpace(out) != "" {
			return nil
		}
		if err := e.Sleep(50 * time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("iperf3 server on port %s did not listen within 2.5 s", port)
}

// WaitConnected waits until every flow's connection is established at the receiver
// (and each process's control connection), or timeout.
func (e *Env) WaitConnected(b *Bulk, timeout time.Duration) (int, error) {
	want := b.Flows + len(b.clients)
	deadline := time.Now().Add(timeout)
	n := 0
	for {
		out, _ := run(e.Ctx, inNS(NsRecv, "ss", "-Htn", "state", "established")...)
		n = 0
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimSpace(l) != "" {
				n++
			}
		}
		if n >= want {
			return n - len(b.clients), nil
		}
		if time.Now().After(deadline) {
			return n - len(b.clients), fmt.Errorf("only %d of %d connections established after %s", n, want, timeout)
		}
		if err := e.Sleep(200 * time.Millisecond); err != nil {
			return n, err
		}
	}
}

// Wait waits for the flows to end and collects iperf3's reports.
func (b *Bulk) Wait() BulkResult {
	var r BulkResult
	r.Complete = true
	for _, c := range b.clients {
		_ = c.Wait()
		var rep struct {
			Error string `json:"error"`
			End   struct {
				Streams []struct {
					Receiver struct {
						BitsPerSecond float64 `json:"bits_per_second"`
					} `json:"receiver"`
				} `json:"streams"`
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
				SumSent struct {
					Retransmits int `json:"retransmits"`
				} `json:"sum_sent"`
			} `json:"end"`
		}
		if err := json.Unmarshal(c.Out.Bytes(), &rep); err != nil || rep.Error != "" {
			r.Complete = false
			msg := rep.Error
			if msg == "" {
				msg = fmt.Sprintf("iperf3 output not JSON: %v: %s", err, tail(c.Out.String(), 300))
			}
			r.Errors = append(r.Errors, msg)
			continue
		}
		r.GoodputBps += rep.End.SumReceived.BitsPerSecond
		r.Retransmits += rep.End.SumSent.Retransmits
		for _, s := range rep.End.Streams {
			r.PerFlowBps = append(r.PerFlowBps, s.Receiver.BitsPerSecond)
		}
	}
	for _, s := range b.servers {
		s.Stop(time.Second)
	}
	return r
}

// Stop ends the flows now (sizing's flows run until the search is done).
func (b *Bulk) Stop() {
	for _, c := range b.clients {
		c.Stop(2 * time.Second)
	}
	for _, s := range b.servers {
		s.Stop(time.Second)
	}
}
