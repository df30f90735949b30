package dataplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/dpdkq/dpdkq/hist"
	"github.com/dpdkq/dpdkq/lcore"
	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/traffic"
)

// Router is a running dataplane: ports, routes, and one poll loop per worker lcore.
type Router struct {
	cfg     Config
	log     *zap.Logger
	pool    *mempool.Pool
	offPool *mempool.Pool // models off-chip memory when copy_offchip is on

	ports     []portState
	lpm       uintptr
	lpmT      lpmTable // r.lpm's tables, read by the poll loops
	nexthops  []nexthop
	neigh     neighTable
	dscpClass [64]uint8
	flowHash  bool // some queue uses the flow hash (else it is left 0)

	workers []*worker
	owner   []int // port index -> worker index owning its egress

	burst     int
	tsc0      uint64
	nsPerTick float64
	started   time.Time

	stop     atomic.Bool
	launched bool
	routeMu  sync.Mutex   // serializes route-table changes (control path)
	routes   []RouteEntry // what is installed, for the API
	stopOnce sync.Once
	inUse0   int
	inUseEnd int
	offEnd   int
	hadOff   bool
	final    *Summary
}

type portState struct {
	cfg      PortConfig
	id       uint16                    // DPDK port id
	mac      [6]byte                   // our MAC on this port
	ip       uint32                    // our IPv4 address (host order), 0 in xconnect mode
	ntxq     int                       // tx queues configured (may be fewer than workers)
	ownerTxq uint16                    // tx queue the egress owner uses
	direct   bool                      // every worker has its own tx queue (worker index) on this port
	live     *atomic.Pointer[portLive] // current rate and delay (control plane view)
	open     bool
}

type nexthop struct {
	port   int
	via    uint32   // next-hop IP, 0 for directly connected (resolve the destination)
	mac    [6]byte  // static MAC when static
	macs   [12]byte // when static: the Ethernet rewrite, mac then the port's own
	static bool
	local  bool // addressed to the router itself
}

// onStart, when set (by this package's tests), sees every router start brought up, so
// the test binary can check at its end that each was stopped with every mbuf back.
var onStart func(*Router)

var metaOnce sync.Once
var metaErr error
var runSeq atomic.Int64

func ip4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Start brings up the dataplane on an initialized EAL: mempool, ports, routes, and the
// poll loops on the worker lcores. On error everything already set up is released.
func Start(cfg Config, log *zap.Logger) (*Router, error) { return start(cfg, log, true) }

// start does the work of Start; with launch false the loops are built but not run, so
// tests can drive one worker's burst functions directly on the calling thread.
func start(cfg Config, log *zap.Logger, launch bool) (r *Router, err error) {
	if log == nil {
		log = zap.NewNop()
	}
	if !lcore.Initialized() {
		return nil, errors.New("dataplane: EAL is not initialized")
	}
	if len(cfg.Workers) == 0 {
		return nil, errors.New("dataplane: no worker lcores")
	}
	for _, id := range cfg.Workers {
		if !lcore.Enabled(id) || id == lcore.MainID() {
			return nil, fmt.Errorf("dataplane: lcore %d is not an enabled worker (EAL workers: %v)", id, lcore.Workers())
		}
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 32
	}
	if cfg.Burst > MaxBurst {
		return nil, fmt.Errorf("dataplane: burst %d > %d", cfg.Burst, MaxBurst)
	}
	if cfg.PublishEvery <= 0 {
		cfg.PublishEvery = 256
	}
	if cfg.FIFOLimit <= 0 {
		cfg.FIFOLimit = 1024
	}
	metaOnce.Do(func() { metaErr = mempool.RegisterMeta() })
	if metaErr != nil {
		return nil, metaErr
	}
	r = &Router{cfg: cfg, log: log, burst: cfg.Burst, dscpClass: cfg.DSCPClass}
	defer func() {
		if err != nil {
			r.teardown()
			r = nil
		}
	}()
	seq := runSeq.Add(1)
	if r.pool, err = mempool.Create(fmt.Sprintf("dq_mbuf_%d", seq), uint(cfg.Mbufs), uint(cfg.MbufCache), uint(cfg.DataRoom), -1); err != nil {
		return r, err
	}
	r.inUse0 = r.pool.InUse()
	if cfg.OffchipMbufs > 0 {
		if r.offPool, err = mempool.Create(fmt.Sprintf("dq_offchip_%d", seq), uint(cfg.OffchipMbufs), 0, uint(cfg.DataRoom), -1); err != nil {
			return r, fmt.Errorf("off-chip mempool (buffer.hybrid.copy_offchip): %w", err)
		}
	}
	if err = r.setupPorts(); err != nil {
		return r, err
	}
	if err = r.setupRoutes(fmt.Sprintf("dq_lpm_%d", seq)); err != nil {
		return r, err
	}
	if err = r.setupWorkers(fmt.Sprintf("dq_ring_%d", seq)); err != nil {
		return r, err
	}
	r.tsc0 = lcore.RDTSC()
	r.nsPerTick = 1e9 / float64(lcore.TSCHz())
	r.started = time.Now()
	for i, w := range r.workers {
		if !launch {
			break
		}
		if err = lcore.Launch(w.lcore, w.run); err != nil {
			r.stop.Store(true)
			for _, v := range r.workers[:i] {
				lcore.Wait(v.lcore)
			}
			return r, err
		}
	}
	r.launched = launch
	if launch {
		go r.WarnStalls(context.Background())
	}
	if onStart != nil {
		onStart(r)
	}
	log.Info("dataplane started", zap.Int("ports", len(r.ports)), zap.Uints("workers", cfg.Workers),
		zap.Int("mbufs", cfg.Mbufs), zap.Int("burst", cfg.Burst))
	return r, nil
}

func (r *Router) setupPorts() error {
	names := map[string]bool{}
	for i, pc := range r.cfg.Ports {
		if pc.Internal() {
			r.setupInternalPort(i, pc)
			continue
		}
		name := pc.Device
		if k := strings.IndexByte(name, ','); k >= 0 {
			name = name[:k]
		}
		if names[name] {
			return fmt.Errorf("ports[%d] (%s): device %q is used twice", i, pc.Name, name)
		}
		names[name] = true
		id, err := probePort(pc.Device, name)
		if err != nil {
			return fmt.Errorf("ports[%d] (%s): %w", i, pc.Name, err)
		}
		ps := portState{cfg: pc, id: id, live: new(atomic.Pointer[portLive])}
		r.ports = append(r.ports, ps)
		p := &r.ports[len(r.ports)-1]
		if pc.RxQueues <= 0 {
			p.cfg.RxQueues = 1
		}
		if pc.RxDesc <= 0 {
			p.cfg.RxDesc = 1024
		}
		if pc.TxDesc <= 0 {
			p.cfg.TxDesc = 1024
		}
		ntxq, err := setupPort(id, p.cfg.RxQueues, len(r.cfg.Workers), p.cfg.RxDesc, p.cfg.TxDesc, r.pool.Ptr(), pc.Promisc)
		p.open = true // close even if start failed half way
		if err != nil {
			return fmt.Errorf("ports[%d] (%s): %s: %w", i, pc.Name, pc.Device, err)
		}
		p.ntxq = ntxq
		p.live.Store(&portLive{rate: pc.RateBps, delay: pc.Delay})
		p.mac = pc.MAC
		if p.mac == ([6]byte{}) {
			p.mac = portMAC(id)
		}
		if pc.Mode == ModeRoute && pc.Addr.IsValid() {
			p.ip = ip4(pc.Addr.Addr())
		}
		r.log.Info("port up", zap.String("port", pc.Name), zap.Uint16("dpdk_id", id), zap.String("device", pc.Device),
			zap.Stringer("mac", net.HardwareAddr(p.mac[:])), zap.Int("tx_queues", ntxq), zap.Float64("rate_bps", pc.RateBps),
			zap.Duration("delay", pc.Delay))
	}
	return nil
}

// setupInternalPort brings up a traffic source or sink port: no device, a MAC of its
// own (configured, or 02:d9:51:00:00:<index+1>), a tx queue per worker (nothing is
// ever sent to a device on it).
func (r *Router) setupInternalPort(i int, pc PortConfig) {
	ps := portState{cfg: pc, id: noDevice, live: new(atomic.Pointer[portLive]), ntxq: len(r.cfg.Workers)}
	if ps.cfg.RxQueues <= 0 || pc.Sink != nil {
		ps.cfg.RxQueues = 1
	}
	ps.live.Store(&portLive{rate: pc.RateBps, delay: pc.Delay})
	ps.mac = pc.MAC
	if ps.mac == ([6]byte{}) {
		ps.mac = [6]byte{0x02, 0xd9, 0x51, 0, byte((i + 1) >> 8), byte(i + 1)}
	}
	if pc.Addr.IsValid() {
		ps.ip = ip4(pc.Addr.Addr())
	}
	r.ports = append(r.ports, ps)
	kind := "sink"
	if pc.Source != nil {
		kind = "source"
	}
	r.log.Info("port up", zap.String("port", pc.Name), zap.String("device", kind),
		zap.Stringer("mac", net.HardwareAddr(ps.mac[:])), zap.Float64("rate_bps", pc.RateBps), zap.Duration("delay", pc.Delay))
}

func (r *Router) setupRoutes(name string) error {
	var err error
	if r.lpm, err = lpmCreate(name, 4096, 1024); err != nil {
		return err
	}
	r.lpmT.tbl24, r.lpmT.tbl8 = lpmTables(r.lpm)
	r.nexthops = make([]nexthop, 0, maxNexthops)
	add := func(pfx netip.Prefix, nh nexthop) error {
		r.nexthops = append(r.nexthops, nh)
		r.routes = append(r.routes, RouteEntry{Prefix: pfx.Masked(), Port: nh.port, Connected: !nh.local, Local: nh.local})
		return lpmAdd(r.lpm, ip4(pfx.Masked().Addr()), uint8(pfx.Bits()), uint32(len(r.nexthops)-1))
	}
	for i := range r.ports {
		p := &r.ports[i]
		if p.ip == 0 {
			continue
		}
		if err := add(p.cfg.Addr.Masked(), nexthop{port: i}); err != nil {
			return fmt.Errorf("connected route of %s: %w", p.cfg.Name, err)
		}
		if err := add(netip.PrefixFrom(p.cfg.Addr.Addr(), 32), nexthop{port: i, local: true}); err != nil {
			return fmt.Errorf("local address of %s: %w", p.cfg.Name, err)
		}
	}
	for i, rt := range r.cfg.Routes {
		if err := r.addRouteLocked(rt); err != nil {
			return fmt.Errorf("routes[%d]: %w", i, err)
		}
	}
	for _, n := range r.cfg.Neighbors {
		r.neigh.learn(ip4(n.IP), n.MAC, true)
	}
	return nil
}

// maxNexthops bounds the next-hop table: it is allocated once so lcores can index it
// while the control plane appends (rte_lpm next hops are 24-bit; 65536 is plenty).
const maxNexthops = 1 << 16

// addRouteLocked installs or replaces a static route. At start-up the lcores are not
// running; live, the caller has quiesced them.
func (r *Router) addRouteLocked(rt Route) error {
	if rt.Port < 0 || rt.Port >= len(r.ports) {
		return fmt.Errorf("route %s: no port %d", rt.Prefix, rt.Port)
	}
	if r.ports[rt.Port].cfg.Mode != ModeRoute {
		return fmt.Errorf("route %s: port %s is not in route mode", rt.Prefix, r.ports[rt.Port].cfg.Name)
	}
	if len(r.nexthops) >= maxNexthops {
		return fmt.Errorf("route %s: next-hop table full (%d)", rt.Prefix, maxNexthops)
	}
	nh := nexthop{port: rt.Port, mac: rt.MAC, static: rt.MAC != [6]byte{}}
	copy(nh.macs[:6], rt.MAC[:])
	copy(nh.macs[6:], r.ports[rt.Port].mac[:])
	if rt.Via.IsValid() {
		nh.via = ip4(rt.Via)
	}
	r.nexthops = append(r.nexthops, nh)
	pfx := rt.Prefix.Masked()
	if err := lpmAdd(r.lpm, ip4(pfx.Addr()), uint8(pfx.Bits()), uint32(len(r.nexthops)-1)); err != nil {
		return err
	}
	e := RouteEntry{Prefix: pfx, Port: rt.Port, Via: rt.Via, MAC: rt.MAC, Static: nh.static}
	for i := range r.routes {
		if r.routes[i].Prefix == pfx && !r.routes[i].Local {
			r.routes[i] = e
			return nil
		}
	}
	r.routes = append(r.routes, e)
	return nil
}

func (r *Router) setupWorkers(ringName string) error {
	nw := len(r.cfg.Workers)
	widx := map[uint]int{}
	for i, id := range r.cfg.Workers {
		widx[id] = i
	}
	// Egress ownership: configured lcore, else round robin.
	r.owner = make([]int, len(r.ports))
	for i := range r.ports {
		r.owner[i] = i % nw
		if l := r.ports[i].cfg.EgressLcore; l >= 0 {
			wi, ok := widx[uint(l)]
			if !ok {
				return fmt.Errorf("ports[%d] (%s): egress_lcore %d is not a worker %v", i, r.ports[i].cfg.Name, l, r.cfg.Workers)
			}
			r.owner[i] = wi
		}
		// A port with a tx queue per worker lets every lcore send control frames on its
		// own queue; otherwise only the owner transmits (on queue 0) and the others hand
		// their frames to it, so no tx queue is ever shared between lcores.
		p := &r.ports[i]
		p.direct = p.ntxq >= nw
		if p.direct {
			p.ownerTxq = uint16(r.owner[i])
		}
	}
	rx := r.cfg.Rx
	if len(rx) == 0 {
		k := 0
		for i := range r.ports {
			for q := 0; q < r.ports[i].cfg.RxQueues; q++ {
				rx = append(rx, RxAssign{Port: i, Queue: q, Lcore: r.cfg.Workers[k%nw]})
				k++
			}
		}
	}
	for i := 0; i < nw; i++ {
		w := &worker{r: r, lcore: r.cfg.Workers[i], idx: i, pubEvery: r.cfg.PublishEvery, arp: newARPHold()}
		r.workers = append(r.workers, w)
		w.ringBuf = mempool.NewBurst(r.burst)
		w.free = mempool.NewBurst(2 * MaxBurst)
		w.descs = make([]pkt.Desc, r.burst)
		w.egressOf = make([]*egressPort, len(r.ports))
		w.cnt = make([]PortCounters, len(r.ports))
		w.pub = newPublished(len(r.ports))
		w.stall = newStallState(r.cfg.StallThreshold)
		w.handoff = make([]*outBuf, nw)
		for j := 0; j < nw; j++ {
			if j != i {
				w.handoff[j] = &outBuf{b: mempool.NewBurst(r.burst)}
			}
		}
		for range r.ports {
			w.ctrl = append(w.ctrl, &outBuf{b: mempool.NewBurst(r.burst), in: make([]int32, r.burst), len: make([]uint32, r.burst)})
		}
		if nw > 1 {
			ring, err := ringCreate(fmt.Sprintf("%s_%d", ringName, i), 4096, -1)
			if err != nil {
				return err
			}
			w.inRing = ring
		}
	}
	for _, a := range rx {
		if a.Port < 0 || a.Port >= len(r.ports) || a.Queue < 0 || a.Queue >= r.ports[a.Port].cfg.RxQueues {
			return fmt.Errorf("rx map: port %d queue %d does not exist", a.Port, a.Queue)
		}
		wi, ok := widx[a.Lcore]
		if !ok {
			return fmt.Errorf("rx map: lcore %d is not a worker %v", a.Lcore, r.cfg.Workers)
		}
		w := r.workers[wi]
		if pc := &r.ports[a.Port].cfg; pc.Internal() {
			if pc.Source != nil && a.Queue == 0 {
				if err := r.addSource(w, a.Port); err != nil {
					return err
				}
			}
			continue // a sink receives nothing
		}
		w.rxqs = append(w.rxqs, rxq{pidx: a.Port, id: r.ports[a.Port].id, queue: uint16(a.Queue), buf: mempool.NewBurst(r.burst)})
	}
	for _, w := range r.workers {
		var err error
		if w.poller, err = newPoller(w.rxqs, r.burst); err != nil {
			return fmt.Errorf("lcore %d: %w", w.lcore, err)
		}
	}
	for i, w := range r.workers {
		var owned []int
		for p := range r.ports {
			if r.owner[p] == i {
				owned = append(owned, p)
			}
		}
		if len(owned) == 0 {
			continue
		}
		var err error
		if r.cfg.NewArch != nil {
			var env ArchEnv
			if r.offPool != nil {
				env.CopyOffchip = r.copyOffchip
			}
			w.arch, err = r.cfg.NewArch(owned, env)
		} else {
			w.arch, err = defaultArch(owned, r.cfg.FIFOLimit)
		}
		if err != nil {
			return err
		}
		for _, p := range owned {
			pc := r.ports[p].cfg
			e := &egressPort{pidx: p, descs: make([]pkt.Desc, r.burst), due: make([]pkt.Desc, r.burst),
				tx: newTxEdge(p, r.ports[p].id, r.ports[p].ownerTxq, 2*r.burst)}
			burst := pc.BurstBytes
			if burst <= 0 {
				burst = link.DefaultBurstBytes(pc.RateBps, maxFrame+pc.Overhead)
			}
			e.shaper = link.NewShaper(pc.RateBps, burst, pc.Overhead)
			e.shaper.SetCatchUp(int64(pc.CatchUp))
			if pc.Delay > 0 {
				e.delay = link.NewDelayLine(int64(pc.Delay), delayCapacity(pc, r.cfg.DelayCapacity))
			}
			if pc.Sink != nil {
				sk := &sinkPort{lat: new(hist.Shared)}
				if sk.sink, err = traffic.NewSink(fmt.Sprintf("ports[%d].sink", p), *pc.Sink, sk.lat); err != nil {
					return err
				}
				e.sink = sk
			}
			w.egress = append(w.egress, e)
			w.egressOf[p] = e
		}
		if w.arch.UsesFlowHash() {
			r.flowHash = true
		}
	}
	return nil
}

// addSource makes worker w poll port pidx's traffic source. Its schedule starts at
// clock 0, the router's start, for every source alike (incast bursts line up).
func (r *Router) addSource(w *worker, pidx int) error {
	ps := &r.ports[pidx]
	src, err := traffic.NewSource(fmt.Sprintf("ports[%d].source", pidx), *ps.cfg.Source, 0)
	if err != nil {
		return err
	}
	s := &sourcePort{pidx: pidx, src: src, addr: ps.cfg.SourceAddr, frames: make([]traffic.Frame, r.burst),
		arr: mempool.NewBurst(r.burst)}
	s.addr.Port = uint8(pidx)
	s.addr.DstMAC = ps.mac                                         // frames are sent to the router
	s.addr.SrcMAC = [6]byte{0x02, 0xd9, 0x51, 0x53, 0, byte(pidx)} // the host behind the port
	w.sources = append(w.sources, s)
	return nil
}

// maxFrame is the largest untagged Ethernet frame at the default 1500 B MTU (no FCS):
// the frame the default shaper bucket must hold two of.
const maxFrame = 1514

// delayCapacity: what the line holds at full rate with minimum-size frames (84 bytes on
// the wire), doubled for margin; unshaped ports get a fixed 64k packets.
func delayCapacity(pc PortConfig, override int) int {
	if override > 0 {
		return override
	}
	if pc.RateBps == 0 {
		return 1 << 16
	}
	n := int(pc.RateBps/8/84*pc.Delay.Seconds())*2 + 64
	if n > 1<<20 {
		n = 1 << 20
	}
	return n
}
