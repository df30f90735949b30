// Package plan turns a loaded, syntax-checked config.Config into everything a run
// needs: the dataplane's configuration (ports, routes, neighbours, rx plan, egress
// ownership), each lcore's queueing architecture with its per-queue limits, the AQM
// specs per (port, class), the packet-memory model and the mempool checks. It is the
// one place where a setting is checked against the algorithms (it calls voq's, aqm's,
// carving's and hybrid's own validators and names the config key in their errors) and
// against the machine (device drivers, files the devargs name, memory).
//
// `dpdkq config check` runs Build and prints the plan; `dpdkq run` runs the same Build
// before DPDK starts; live changes (package control) resolve through the Plan's
// methods (QueueLimit, AQMSpec, Factory, PortRate), so a value the file refuses is
// refused live too, with the same message.
package plan

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/voq"
)

// Options are the facts about the machine Build checks against; zero values read them
// from the running system.
type Options struct {
	// MemTotal returns the machine's memory in bytes; nil reads /proc/meminfo.
	MemTotal func() (int64, error)
}

// Plan is a configuration resolved into what the run builds.
type Plan struct {
	Config    *config.Config
	Dataplane dataplane.Config
	Arch      voq.Kind
	// Classes is the number of class queues per port (per input and port for voq); 1
	// for input FIFOs, which ignore classes.
	Classes int
	Ports   []Port
	// FQ is the FQ-CoDel setting of the classes that have fq.enabled (nil: none).
	FQ *voq.FQConfig
	// Warnings are settings that are accepted but likely to surprise.
	Warnings []string
	// Traffic is, per port, the source or sink dpdkq implements for it (zero for
	// ports with a DPDK device).
	Traffic []Traffic

	sched voq.SchedConfig
	// reserve is the mbufs kept out of any one queue's reach: rx rings, lcore caches
	// and burst arrays, control frames.
	reserve int
}

// Port is one port's resolved egress settings.
type Port struct {
	Name        string
	RateBps     float64 // 0: unshaped
	BucketBytes int     // shaper bucket depth (0 when unshaped)
	Delay       time.Duration
	Limits      []Limit    // per class
	AQM         []aqm.Spec // per class, at this port's rate
}

// Limit is a class queue's limit on one port: a packet count, or bytes (sizes given
// in bytes, time or BDP resolved at the port's rate).
type Limit struct {
	Pkts, Bytes int
	Text        string // as given, with what it resolves to ("10ms = 78125 B at 62.5 Mb/s")
}

// Build resolves c (as config.Load returns it) against the machine.
func Build(c *config.Config) (*Plan, error) { return BuildWith(c, Options{}) }

// BuildWith is Build with explicit machine facts (tests).
func BuildWith(c *config.Config, o Options) (*Plan, error) {
	p := &Plan{Config: c}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(checkMemory(c, o))
	for i := range c.Ports {
		add(checkDeviceFiles(c, i))
	}
	if err := p.buildQueueing(); err != nil {
		add(err)
	} else {
		add(p.buildTraffic())
		add(p.buildDataplane())
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// bucketBytes is the default shaper bucket depth of port pi at a rate, for a live
// rate change: the formula config uses at start for a port with no burst given
// (link.DefaultBurstBytes at the port's largest frame on the wire).
func (p *Plan) bucketBytes(pi int, rateBps float64) int {
	return link.DefaultBurstBytes(rateBps, p.Config.Ports[pi].WireFrameBytes())
}

// classRateBurst is the bucket depth of a class rate cap: as for port shapers, at the
// largest frame of any port.
func (p *Plan) classRateBurst(rateBps float64) int {
	frame := 0
	for i := range p.Config.Ports {
		frame = max(frame, p.Config.Ports[i].WireFrameBytes())
	}
	return link.DefaultBurstBytes(rateBps, frame)
}

// fe builds a *config.FieldError.
func fe(key string, value any, format string, a ...any) *config.FieldError {
	v := ""
	if value != nil {
		v = fmt.Sprint(value)
	}
	return &config.FieldError{Key: key, Value: v, Msg: fmt.Sprintf(format, a...)}
}

// checkMemory bounds eal.memory_mb by the machine (without hugepages DPDK backs it
// with a file in anonymous memory) and checks that the mbuf pool fits in it.
func checkMemory(c *config.Config, o Options) error {
	memTotal := o.MemTotal
	if memTotal == nil {
		memTotal = procMemTotal
	}
	var errs []error
	if c.EAL.NoHuge {
		if total, err := memTotal(); err == nil && int64(c.EAL.MemoryMB)<<20 > total {
			errs = append(errs, fe("eal.memory_mb", c.EAL.MemoryMB,
				"more than the machine's memory (%d MB in /proc/meminfo MemTotal); with eal.no_huge DPDK allocates all of it at start", total>>20))
		}
	}
	// Each mbuf takes its data room plus the mbuf header (128 B) and the mempool's
	// per-object header and padding (64 B); DPDK itself needs about 64 MB.
	poolMB := (int64(c.Mempool.Mbufs)*int64(c.Mempool.DataRoom+192) + 1<<20 - 1) >> 20
	if c.Buffer.Hybrid.Enabled && c.Buffer.Hybrid.CopyOffchip {
		poolMB += (offchipMbufs(c)*int64(c.Mempool.DataRoom+192) + 1<<20 - 1) >> 20
	}
	if poolMB+64 > int64(c.EAL.MemoryMB) {
		errs = append(errs, fe("mempool.mbufs", c.Mempool.Mbufs,
			"the mbuf pools need about %d MB (mbufs x (data_room + 192 B), plus the off-chip copy pool) and DPDK 64 MB more, "+
				"but eal.memory_mb is %d: want fewer mbufs or more memory", poolMB, c.EAL.MemoryMB))
	}
	return errors.Join(errs...)
}

func procMemTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no MemTotal in /proc/meminfo")
}

// checkDeviceFiles checks what a port's device needs of the machine: the PCI bus for a
// PCI address, and the files its devargs name (net_pcap's rx_pcap must be a readable
// file, tx_pcap's directory must exist: the driver creates the file).
func checkDeviceFiles(c *config.Config, i int) error {
	p := &c.Ports[i]
	key := fmt.Sprintf("ports[%d].device", i)
	var errs []error
	if p.IsPCI && c.EAL.NoPCI {
		errs = append(errs, fe(key, p.DevArgs, "is a PCI device, but eal.no_pci is true: DPDK would not scan the PCI bus; set eal.no_pci: false"))
	}
	for _, arg := range strings.Split(p.DevArgs, ",")[1:] {
		k, v, _ := strings.Cut(arg, "=")
		switch k {
		case "rx_pcap":
			f, err := os.Open(v)
			if err == nil {
				var st os.FileInfo
				if st, err = f.Stat(); err == nil && st.IsDir() {
					err = errors.New("is a directory")
				}
				f.Close()
			}
			if err != nil {
				errs = append(errs, fe(key, p.DevArgs, "rx_pcap file %s: %v", v, unwrapPath(err)))
			}
		case "tx_pcap":
			dir := filepath.Dir(v)
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				errs = append(errs, fe(key, p.DevArgs, "tx_pcap directory %s does not exist", dir))
			}
		}
	}
	return errors.Join(errs...)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// offchipMbufs is the size of the off-chip copy pool: one mbuf per 2 KB off-chip cell,
// capped, as the copy pool is real memory.
func offchipMbufs(c *config.Config) int64 {
	return min(max(c.Buffer.Hybrid.OffchipBytes/2048, 1023), 262143)
}
