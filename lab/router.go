package lab

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dpdkq/dpdkq/api"
)

// QueueSpec is the bottleneck queue of a router configuration, in config-file terms.
type QueueSpec struct {
	Limit int    // packets
	AQM   string // YAML of queueing.queue.aqm, e.g. "{kind: codel, codel: {ecn: true}}"
	FQ    bool   // FQ-CoDel: queueing.queue.fq.enabled
}

// RouterSpec is the router of the testbed: the sender-side port "snd" (carries the
// ACKs back, delayed) and the receiver-side port "rcv" (the shaped, delayed
// bottleneck).
type RouterSpec struct {
	RateBps float64
	RTT     time.Duration // split evenly into the two ports' delay lines
	Queue   QueueSpec
	APIAddr string
	// With several senders (rtt-fair): the bottleneck's delay and each sender port's
	// (the ACK path); sender i's RTT is RecvDelay + SendDelays[i]. Empty: RTT/2 each.
	RecvDelay  time.Duration
	SendDelays []time.Duration
	// Neighbors are static ARP entries (the testbed's hosts); StartRouter fills them.
	Neighbors []neighbor
}

// The af_packet rx rings are a buffer the router does not see: make them large
// (framecnt) so the router's shaped queue stays the only place that drops; the
// fidelity check "loss before the router" measures whether it did.
const afPacketArgs = "blocksz=4096,framesz=2048,framecnt=4096"

// YAML is the router configuration file.
func (r RouterSpec) YAML() string {
	half := r.RTT / 2
	aqm := r.Queue.AQM
	if aqm == "" {
		aqm = "{kind: none}"
	}
	fq := ""
	if r.Queue.FQ {
		fq = fmt.Sprintf(", fq: {enabled: true, flows: 1024, limit: %dp}", r.Queue.Limit)
	}
	rd, sds := half, []time.Duration{half}
	if len(r.SendDelays) > 0 {
		rd, sds = r.RecvDelay, r.SendDelays
	}
	extra := ""
	for i, h := range Senders(len(sds))[1:] {
		extra += fmt.Sprintf("  - {name: %s, device: \"net_af_packet%d,iface=%s,%s\", ipv4: %s/24, delay: %s}\n",
			h.Port, i+2, h.Link, afPacketArgs, h.GW, sds[i+1])
	}
	neigh := ""
	for _, n := range r.Neighbors {
		if n.Port == "rcv" || slices.ContainsFunc(Senders(len(sds)), func(s Sender) bool { return s.Port == n.Port }) {
			neigh += fmt.Sprintf("  - {ip: %s, mac: \"%s\", port: %s}\n", n.IP, n.MAC, n.Port)
		}
	}
	if neigh != "" {
		extra += "neighbors:\n" + neigh
	}
	return fmt.Sprintf(`# dpdkq lab router: senders <-> rcv, the bottleneck is rcv's egress.
log: {level: info}
eal: {lcores: "0-1", memory_mb: 512, no_huge: true, no_pci: true, file_prefix: %[1]s}
mempool: {mbufs: 32767, cache: 256}
ports:
  - {name: snd, device: "net_af_packet0,iface=%[2]s,%[3]s", ipv4: 10.70.0.1/24, delay: %[4]s}
  - {name: rcv, device: "net_af_packet1,iface=%[5]s,%[3]s", ipv4: 10.70.1.1/24, rate: %[6]sbps, delay: %[11]s}
%[12]squeueing:
  classes: 1
  queue: {limit: %[7]dp, overflow: tail, aqm: %[8]s%[9]s}
api: {listen: "%[10]s"}
`, Prefix, LinkSend, afPacketArgs, sds[0], LinkRecv, strconv.FormatFloat(r.RateBps, 'f', -1, 64), r.Queue.Limit, aqm, fq, r.APIAddr, rd, extra)
}

// Router is a running dpdkq.
type Router struct {
	Spec   RouterSpec
	Proc   *Proc
	Client *api.Client
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// StartRouter writes the configuration into the run directory as file, starts the
// dpdkq binary on it and waits until its API answers and the receiver is reachable
// through it.
func (e *Env) StartRouter(file string, spec RouterSpec, maxRun time.Duration) (*Router, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	spec.APIAddr = addr
	spec.Neighbors = e.neighbors
	path, err := e.WriteConfig(file, spec.YAML())
	if err != nil {
		return nil, err
	}
	p, err := e.Start(nil, e.Bin, "run", "-c", path, "--duration", maxRun.String())
	if err != nil {
		return nil, err
	}
	cl, err := api.NewClient(addr, "", &http2s)
	if err != nil {
		return nil, err
	}
	r := &Router{Spec: spec, Proc: p, Client: cl}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(e.Ctx, time.Second)
		_, err := cl.Status(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-p.Done():
			return nil, fmt.Errorf("dpdkq exited before its API answered: %v\n%s", p.err, tail(p.Out.String(), 2000))
		default:
		}
		if time.Now().After(deadline) || e.Ctx.Err() != nil {
			p.Stop(3 * time.Second)
			if e.Ctx.Err() != nil {
				return nil, e.Ctx.Err()
			}
			return nil, fmt.Errorf("dpdkq API at %s did not answer within 30 s: %v\n%s", addr, err, tail(p.Out.String(), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The first packets to each host wait in the router while it resolves the MACs.
	for _, h := range Senders(max(len(spec.SendDelays), 1)) {
		for i := 0; ; i++ {
			if _, err := run(e.Ctx, inNS(h.NS, "ping", "-c", "1", "-W", "1", AddrRecv)...); err == nil {
				break
			} else if i == 20 || e.Ctx.Err() != nil {
				r.Stop()
				if e.Ctx.Err() != nil {
					return nil, e.Ctx.Err()
				}
				return nil, fmt.Errorf("the receiver is not reachable from %s through dpdkq: %v", h.NS, err)
			}
		}
	}
	return r, nil
}

// Stop stops the router (SIGINT: it prints its exit summary) and waits for it.
func (r *Router) Stop() { r.Proc.Stop(10 * time.Second) }

// SetLimit changes the bottleneck queue's limit live (POST /api/v1/changes).
func (r *Router) SetLimit(ctx context.Context, packets int) error {
	_, err := r.Client.Apply(ctx, api.Change{Kind: "queue_limit", Port: "rcv", Limit: fmt.Sprintf("%dp", packets)})
	return err
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Sampler polls the router's bottleneck port on the run's clock.
type Sampler struct {
	e        *Env
	r        *Router
	interval time.Duration

	mu      sync.Mutex
	point   string
	phase   string
	limit   int
	samples []Sample
	stop    chan struct{}
	done    chan struct{}
}

// NewSampler starts sampling r every interval, labelling samples with point.
func (e *Env) NewSampler(r *Router, point string, interval time.Duration) *Sampler {
	s := &Sampler{e: e, r: r, interval: interval, point: point, phase: "start", limit: r.Spec.Queue.Limit,
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

// SetPhase labels the samples taken from now on.
func (s *Sampler) SetPhase(phase string) { s.mu.Lock(); s.phase = phase; s.mu.Unlock() }

// SetLimit records the queue limit now in effect (the API does not report it).
func (s *Sampler) SetLimit(n int) { s.mu.Lock(); s.limit = n; s.mu.Unlock() }

func (s *Sampler) loop() {
	defer close(s.done)
	tk := time.NewTicker(s.interval)
	defer tk.Stop()
	var prev *Sample
	for {
		ctx, cancel := context.WithTimeout(s.e.Ctx, 2*time.Second)
		ports, err := s.r.Client.Ports(ctx)
		cancel()
		t := s.e.Now()
		if err == nil {
			for _, p := range ports {
				if p.Name != "rcv" {
					continue
				}
				s.mu.Lock()
				smp := Sample{Point: s.point, Phase: s.phase, T: t, TxBytes: p.TxBytes, TxPackets: p.TxPackets,
					Dequeued: p.Egress.Dequeued, Drops: p.Egress.Drops, Marks: p.Egress.Marks,
					QueuePackets: p.Egress.Packets, QueueBytes: p.Egress.Bytes,
					HeadSojournMs: Num(float64(p.Egress.HeadSojourn) / 1e6), QueueLimit: s.limit,
					TxBps: Num(math.NaN()), LineUtil: Num(math.NaN()), ProbeRTTms: Num(math.NaN())}
				if prev != nil && t > prev.T {
					dt := t - prev.T
					db := float64(p.TxBytes - prev.TxBytes)
					dp := float64(p.TxPackets - prev.TxPackets)
					smp.TxBps = Num(db * 8 / dt)
					if s.r.Spec.RateBps > 0 {
						smp.LineUtil = Num((db + 24*dp) * 8 / (s.r.Spec.RateBps * dt))
					}
				}
				s.samples = append(s.samples, smp)
				prev = &s.samples[len(s.samples)-1]
				s.mu.Unlock()
			}
		}
		select {
		case <-s.stop:
			return
		case <-s.e.Ctx.Done():
			return
		case <-tk.C:
		}
	}
}

// Samples returns a copy of the samples so far.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}

// Since returns a copy of the samples taken at or after t (and the one before, so a
// window starting at t has its first reading).
func (s *Sampler) Since(t float64) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := len(s.samples)
	for i > 0 && s.samples[i-1].T >= t {
		i--
	}
	return append([]Sample(nil), s.samples[max(i-1, 0):]...)
}

// Stop ends sampling and returns every sample.
func (s *Sampler) Stop() []Sample {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return s.Samples()
}

// Prober runs ping from the sender to the receiver through the router.
type Prober struct {
	e     *Env
	proc  *Proc
	mu    sync.Mutex
	point string
	phase string
	probe []Probe
	maxSq int
	done  chan struct{}
}

var pingLine = regexp.MustCompile(`^\[(\d+\.\d+)\].*icmp_seq=(\d+).*time=([\d.]+) ms`)

// NewProber starts a latency probe every interval.
func (e *Env) NewProber(point string, interval time.Duration) (*Prober, error) {
	pr, pw := newPipe()
	p, err := e.Start(pw, inNS(NsSend, "ping", "-D", "-n", "-i", strconv.FormatFloat(interval.Seconds(), 'f', 3, 64), AddrRecv)...)
	if err != nil {
		return nil, err
	}
	b := &Prober{e: e, proc: p, point: point, phase: "start", done: make(chan struct{})}
	go func() {
		<-p.Done()
		pw.Close()
	}()
	go func() {
		defer close(b.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			m := pingLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			ts, _ := strconv.ParseFloat(m[1], 64)
			seq, _ := strconv.Atoi(m[2])
			rtt, _ := strconv.ParseFloat(m[3], 64)
			sec, frac := math.Modf(ts)
			t := time.Unix(int64(sec), int64(frac*1e9)).Sub(e.start).Seconds()
			b.mu.Lock()
			b.probe = append(b.probe, Probe{Point: b.point, Phase: b.phase, T: t, Seq: seq, RTTms: rtt})
			b.maxSq = max(b.maxSq, seq)
			b.mu.Unlock()
		}
	}()
	return b, nil
}

// SetPhase labels the replies received from now on.
func (b *Prober) SetPhase(phase string) { b.mu.Lock(); b.phase = phase; b.mu.Unlock() }

// Stop ends the probe and returns every reply and the number of requests sent.
func (b *Prober) Stop() ([]Probe, int) {
	b.proc.Stop(2 * time.Second)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Probe(nil), b.probe...), b.maxSq
}

// attachProbes fills each sample's probe fields from the replies received in the
// interval since the previous sample of the same point.
func attachProbes(ss []Sample, ps []Probe) {
	j := 0
	prevT := math.Inf(-1)
	for i := range ss {
		var sum float64
		n := 0
		for j < len(ps) && ps[j].T <= ss[i].T {
			if ps[j].T > prevT {
				sum += ps[j].RTTms
				n++
			}
			j++
		}
		ss[i].ProbeReplies = n
		if n > 0 {
			ss[i].ProbeRTTms = Num(sum / float64(n))
		}
		prevT = ss[i].T
	}
}

// window returns the samples whose T is in [t0, t1] and phase matches (any if "").
func window(ss []Sample, t0, t1 float64) []Sample {
	var out []Sample
	for _, s := range ss {
		if s.T >= t0 && s.T <= t1 {
			out = append(out, s)
		}
	}
	return out
}

// rateBetween is the bottleneck's line utilization between the first sample at or
// after t0 and the last at or before t1: (bytes + 24 B per frame) · 8 / (rate · Δt).
func rateBetween(ss []Sample, t0, t1, rateBps float64) float64 {
	w := window(ss, t0, t1)
	if len(w) < 2 {
		return math.NaN()
	}
	a, b := w[0], w[len(w)-1]
	dt := b.T - a.T
	if dt <= 0 {
		return math.NaN()
	}
	return (float64(b.TxBytes-a.TxBytes) + 24*float64(b.TxPackets-a.TxPackets)) * 8 / (rateBps * dt)
}

// dropsBetween is the bottleneck's drops (every reason) and marks between the first
// and the last sample of w.
func dropsBetween(w []Sample) (drops map[string]uint64, marks, dequeued uint64) {
	drops = map[string]uint64{}
	if len(w) < 2 {
		return drops, 0, 0
	}
	a, b := w[0], w[len(w)-1]
	for r, n := range b.Drops {
		if d := n - a.Drops[r]; d > 0 {
			drops[r] = d
		}
	}
	return drops, b.Marks - a.Marks, b.Dequeued - a.Dequeued
}

// parse helper for "x y z" -> first field.
func firstField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
