package carving

// Reason is the outcome of Admit. Everything except OK is a drop the queue counts
// by reason (voq maps NoDescriptor to pkt.DropNoDescriptor and the others to
// pkt.DropNoBuffer).
//
// Running out of reserved space is not a reason of its own: a queue whose reserve is
// full simply draws the rest from the shared area, and only a refusal there drops.
type Reason uint8

const (
	// OK: the packet is admitted and charged to the queue.
	OK Reason = iota
	// NoDescriptor: the pool's or the global descriptor count is used up. Checked
	// first, because every stored packet needs a descriptor whatever its size, even
	// one that would fit in the queue's reserve.
	NoDescriptor
	// NoSharedSpace: the packet does not fit in the queue's reserve and the pool's
	// shared area (size minus all reserves) has less free space than the part that
	// would spill into it. Also the reason while a shrunk pool is still draining.
	NoSharedSpace
	// OverThreshold: the shared area has room, but the queue's shared usage plus the
	// spilled part would pass its threshold (alpha x free space, or static_th).
	OverThreshold
	// NumReasons is the number of reasons, for arrays indexed by Reason.
	NumReasons
)

var reasonNames = [NumReasons]string{"ok", "no_descriptor", "no_shared_space", "over_threshold"}

// String returns the reason's snake_case name, used in JSON and metric labels.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// poolState is one pool's live accounting. All byte figures are cell bytes (cells x
// cell size) unless named pkt*.
type poolState struct {
	size       int64 // configured size, bytes
	descLimit  int64 // 0 = unlimited
	reserved   int64 // sum of the reserves of the queues bound to the pool
	used       int64 // cell bytes held by the pool's queues (reserved and shared parts)
	sharedUsed int64 // part of used that lies beyond each queue's reserve
	pktBytes   int64 // frame bytes actually stored
	descs      int64 // descriptors in use (= packets stored)
	peak       int64 // highest used since start
	drops      [NumReasons]uint64
}

// profileState is one profile's live parameters (changed by the Set* methods).
type profileState struct {
	pool     int32
	dynamic  bool
	shift    int8  // dynamic_th n: threshold = free << n (n >= 0) or free >> -n
	reserved int64 // bytes per queue
	staticTh int64 // bytes of shared usage per queue (static pools)
}

// queueState is one queue's accounting.
type queueState struct {
	profile  int32
	pool     int32
	dirty    bool  // changed since the last Publish
	used     int64 // cell bytes
	pktBytes int64 // frame bytes
	packets  int64
	peak     int64 // highest used since start
	admitted uint64
	drops    [NumReasons]uint64
}

// Carver accounts the buffer pools of one set of queues. It is owned by a single
// goroutine: Admit, Release, Set* and Publish must be called from it. Snapshot may be
// called from any goroutine.
type Carver struct {
	cellSize  int64
	descLimit int64 // global, 0 = unlimited
	descs     int64 // global descriptors in use
	acctErrs  uint64

	pools    []poolState
	profiles []profileState
	queues   []queueState
	dirty    []int32 // queues changed since the last Publish, capacity len(queues)

	names names // immutable configuration names, for Snapshot
	pub   published
}

// names are kept apart from the hot state; they never change after New.
type names struct {
	pools    []string
	poolMode []Mode
	profiles []string
	profIdx  map[string]int
	poolIdx  map[string]int
}

// New validates cfg and builds a Carver with every queue empty.
func New(cfg Config) (*Carver, error) {
	profPool, bind, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	c := &Carver{
		cellSize:  int64(cfg.CellSize),
		descLimit: cfg.Descriptors,
		pools:     make([]poolState, len(cfg.Pools)),
		profiles:  make([]profileState, len(cfg.Profiles)),
		queues:    make([]queueState, len(cfg.Bindings)),
		dirty:     make([]int32, 0, len(cfg.Bindings)),
	}
	if c.cellSize == 0 {
		c.cellSize = DefaultCellSize
	}
	c.names.poolIdx = make(map[string]int, len(cfg.Pools))
	c.names.profIdx = make(map[string]int, len(cfg.Profiles))
	for i, p := range cfg.Pools {
		c.pools[i] = poolState{size: p.Size, descLimit: p.Descriptors}
		c.names.pools = append(c.names.pools, p.Name)
		c.names.poolMode = append(c.names.poolMode, p.Mode)
		c.names.poolIdx[p.Name] = i
	}
	for i, pr := range cfg.Profiles {
		c.profiles[i] = profileState{
			pool:     profPool[i],
			dynamic:  cfg.Pools[profPool[i]].Mode == Dynamic,
			shift:    int8(pr.DynamicTh),
			reserved: pr.Reserved,
			staticTh: pr.StaticTh,
		}
		c.names.profiles = append(c.names.profiles, pr.Name)
		c.names.profIdx[pr.Name] = i
	}
	for q, pi := range bind {
		pr := &c.profiles[pi]
		c.queues[q] = queueState{profile: pi, pool: pr.pool}
		c.pools[pr.pool].reserved += pr.reserved
	}
	c.pub.init(len(c.pools), len(c.profiles), len(c.queues))
	for q := range c.queues {
		c.markDirty(q)
	}
	c.Publish()
	return c, nil
}

// Queues returns the number of queues.
func (c *Carver) Queues() int { return len(c.queues) }

// CellSize returns the accounting cell in bytes.
func (c *Carver) CellSize() int { return int(c.cellSize) }

// cost returns what a frame of length bytes occupies: whole cells, in bytes.
// Lengths below zero count as zero (never happens with real frames; it keeps a caller
// bug from corrupting the books).
func (c *Carver) cost(length int) int64 {
	if length <= 0 {
		return 0
	}
	return (int64(length) + c.cellSize - 1) / c.cellSize * c.cellSize
}

// beyond is the part of a queue's usage that lies outside its reserve.
func beyond(used, reserved int64) int64 {
	if used > reserved {
		return used - reserved
	}
	return 0
}

// alphaTimes returns free x 2^n with integer shifts (n may be negative).
func alphaTimes(free int64, n int8) int64 {
	if free <= 0 {
		return 0
	}
	if n >= 0 {
		return free << uint(n)
	}
	return free >> uint(-n)
}

// sharedFree is the pool's shared area not in use; negative while a shrunk pool
// drains.
func (p *poolState) sharedFree() int64 { return p.size - p.reserved - p.sharedUsed }

func (c *Carver) markDirty(q int) {
	qs := &c.queues[q]
	if !qs.dirty {
		qs.dirty = true
		c.dirty = append(c.dirty, int32(q)) // never grows: at most one entry per queue
	}
}

// Admit decides whether a frame of length bytes may be stored in queue q and, if so,
// charges it (cells, frame bytes, one descriptor). O(1), no allocation. q must be in
// 0..Queues()-1 (an index out of range panics: it is a wiring bug, not traffic).
//
// A queue spends its reserve first: the frame is free of any shared-pool check when
// used+cost <= reserved. Otherwise the part beyond the reserve (need) must satisfy
// need <= shared free space and shared usage of the queue + need <= threshold, where
// threshold = alpha x shared free space (dynamic) or static_th (static), evaluated
// before the frame is added.
func (c *Carver) Admit(q int, length int) Reason {
	qs := &c.queues[q]
	p := &c.pools[qs.pool]
	c.markDirty(q)
	cost := c.cost(length)
	r := c.check(qs, p, cost)
	if r != OK {
		qs.drops[r]++
		p.drops[r]++
		return r
	}
	pr := &c.profiles[qs.profile]
	p.sharedUsed += beyond(qs.used+cost, pr.reserved) - beyond(qs.used, pr.reserved)
	qs.used += cost
	qs.pktBytes += int64(max(length, 0))
	qs.packets++
	qs.admitted++
	if qs.used > qs.peak {
		qs.peak = qs.used
	}
	p.used += cost
	p.pktBytes += int64(max(length, 0))
	p.descs++
	if p.used > p.peak {
		p.peak = p.used
	}
	c.descs++
	return OK
}

// check is Admit's decision without side effects.
func (c *Carver) check(qs *queueState, p *poolState, cost int64) Reason {
	if (p.descLimit > 0 && p.descs >= p.descLimit) || (c.descLimit > 0 && c.descs >= c.descLimit) {
		return NoDescriptor
	}
	pr := &c.profiles[qs.profile]
	need := beyond(qs.used+cost, pr.reserved) - beyond(qs.used, pr.reserved)
	if need == 0 {
		return OK
	}
	free := p.sharedFree()
	if need > free {
		return NoSharedSpace
	}
	th := pr.staticTh
	if pr.dynamic {
		th = alphaTimes(free, pr.shift)
	}
	if beyond(qs.used, pr.reserved)+need > th {
		return OverThreshold
	}
	return OK
}

// Release returns the buffer of a frame of length bytes that Admit accepted for queue
// q, when it is dequeued or dropped from the queue. A Release with no matching Admit
// is counted as an accounting error and clamped instead of driving counts negative.
func (c *Carver) Release(q int, length int) {
	qs := &c.queues[q]
	p := &c.pools[qs.pool]
	pr := &c.profiles[qs.profile]
	c.markDirty(q)
	cost := c.cost(length)
	n := int64(max(length, 0))
	if qs.packets == 0 || cost > qs.used || n > qs.pktBytes {
		c.acctErrs++
		if qs.packets == 0 {
			return
		}
		cost = min(cost, qs.used)
		n = min(n, qs.pktBytes)
	}
	p.sharedUsed -= beyond(qs.used, pr.reserved) - beyond(qs.used-cost, pr.reserved)
	qs.used -= cost
	qs.pktBytes -= n
	qs.packets--
	p.used -= cost
	p.pktBytes -= n
	p.descs--
	c.descs--
}

// Threshold returns queue q's current limit on shared usage in bytes: alpha x the
// pool's shared free space for a dynamic profile, static_th for a static one. Owner
// goroutine only (readers use Snapshot).
func (c *Carver) Threshold(q int) int64 {
	qs := &c.queues[q]
	pr := &c.profiles[qs.profile]
	if !pr.dynamic {
		return pr.staticTh
	}
	return alphaTimes(c.pools[qs.pool].sharedFree(), pr.shift)
}

// Used returns queue q's occupancy in cell bytes. Owner goroutine only.
func (c *Carver) Used(q int) int64 { return c.queues[q].used }

func (c *Carver) profile(name string) (int, *profileState, error) {
	i, ok := c.names.profIdx[name]
	if !ok {
		return 0, nil, errf("profile %q is not a configured profile", name)
	}
	return i, &c.profiles[i], nil
}

// SetAlpha changes a dynamic profile's dynamic_th n (alpha = 2^n). It takes effect
// on the next Admit. Owner goroutine only; not for the per-packet path.
func (c *Carver) SetAlpha(profile string, n int) error {
	_, pr, err := c.profile(profile)
	if err != nil {
		return err
	}
	if !pr.dynamic {
		return errf("profile %q: dynamic_th cannot be set, its pool is static", profile)
	}
	if err := checkDynamicTh(profile, n); err != nil {
		return err
	}
	pr.shift = int8(n)
	return nil
}

// SetStaticTh changes a static profile's static_th in bytes. Owner goroutine only.
func (c *Carver) SetStaticTh(profile string, bytes int64) error {
	_, pr, err := c.profile(profile)
	if err != nil {
		return err
	}
	if pr.dynamic {
		return errf("profile %q: static_th cannot be set, its pool is dynamic", profile)
	}
	if bytes < 0 {
		return errf("profile %q: static_th %d must be >= 0 bytes", profile, bytes)
	}
	pr.staticTh = bytes
	return nil
}

// SetReserved changes the per-queue reserve of a profile. The pool's shared area
// shrinks or grows accordingly; the sum of reserves must still fit the pool. Queues
// already holding more than the new reserve keep their packets: the excess now
// counts as shared usage, so the shared area may be over-full until it drains, and
// spills into it are refused meanwhile. Owner goroutine only.
func (c *Carver) SetReserved(profile string, bytes int64) error {
	pi, pr, err := c.profile(profile)
	if err != nil {
		return err
	}
	if bytes < 0 {
		return errf("profile %q: reserved %d must be >= 0 bytes", profile, bytes)
	}
	p := &c.pools[pr.pool]
	var bound int64
	for q := range c.queues {
		if c.queues[q].profile == int32(pi) {
			bound++
		}
	}
	newSum := p.reserved + bound*(bytes-pr.reserved)
	if newSum > p.size {
		return errf("profile %q: reserved %d bytes x %d queues makes pool %q reserve %d bytes, over its size %d",
			profile, bytes, bound, c.names.pools[pr.pool], newSum, p.size)
	}
	pr.reserved = bytes
	p.reserved = newSum
	c.recountShared(pr.pool)
	return nil
}

// SetPoolSize resizes a pool. It may go below current usage (admissions into the
// shared area are refused until usage drains under the new size) but not below the
// sum of the reserves it guarantees. Owner goroutine only.
func (c *Carver) SetPoolSize(pool string, bytes int64) error {
	i, ok := c.names.poolIdx[pool]
	if !ok {
		return errf("pool %q is not a configured pool", pool)
	}
	p := &c.pools[i]
	if bytes <= 0 || bytes < p.reserved {
		return errf("pool %q: size %d bytes must be > 0 and >= its reserved sum %d", pool, bytes, p.reserved)
	}
	p.size = bytes
	return nil
}

// recountShared recomputes a pool's shared usage from its queues after a reserve
// change (O(queues), control path only).
func (c *Carver) recountShared(pool int32) {
	var s int64
	for q := range c.queues {
		qs := &c.queues[q]
		if qs.pool == pool {
			s += beyond(qs.used, c.profiles[qs.profile].reserved)
		}
	}
	c.pools[pool].sharedUsed = s
}
