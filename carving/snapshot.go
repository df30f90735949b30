package carving

import "github.com/dpdkq/dpdkq/internal/seqlock"

// Record layouts: word offsets inside each published record.
const (
	gDescs = iota
	gAcctErrs
	gWidth
)

const (
	pSize = iota
	pReserved
	pUsed
	pSharedUsed
	pPktBytes
	pDescs
	pDescLimit
	pPeak
	pDrops // NumReasons words follow
	pWidth = pDrops + int(NumReasons)
)

const (
	rReserved = iota
	rShift
	rStaticTh
	rWidth
)

const (
	qUsed = iota
	qPktBytes
	qPackets
	qPeak
	qAdmitted
	qDrops // NumReasons words follow
	qWidth = qDrops + int(NumReasons)
)

// published is the reader-facing copy of the accounting.
type published struct {
	global, pools, profiles, queues seqlock.Set
	scratch                         [16]uint64 // writer's staging area (largest width)
}

func (p *published) init(pools, profiles, queues int) {
	p.global = seqlock.New(1, gWidth)
	p.pools = seqlock.New(pools, pWidth)
	p.profiles = seqlock.New(profiles, rWidth)
	p.queues = seqlock.New(queues, qWidth)
}

// Publish copies the current accounting to the reader side: the global and pool
// records, every profile, and the queues changed since the previous Publish. Call it
// from the owner goroutine about once per burst. It does not allocate; its cost is
// a few atomic stores per pool, profile and touched queue.
func (c *Carver) Publish() {
	w := c.pub.scratch[:]
	w[gDescs] = uint64(c.descs)
	w[gAcctErrs] = c.acctErrs
	c.pub.global.Write(0, w[:gWidth])
	for i := range c.pools {
		p := &c.pools[i]
		w[pSize] = uint64(p.size)
		w[pReserved] = uint64(p.reserved)
		w[pUsed] = uint64(p.used)
		w[pSharedUsed] = uint64(p.sharedUsed)
		w[pPktBytes] = uint64(p.pktBytes)
		w[pDescs] = uint64(p.descs)
		w[pDescLimit] = uint64(p.descLimit)
		w[pPeak] = uint64(p.peak)
		copy(w[pDrops:pWidth], p.drops[:])
		c.pub.pools.Write(i, w[:pWidth])
	}
	for i := range c.profiles {
		pr := &c.profiles[i]
		w[rReserved] = uint64(pr.reserved)
		w[rShift] = uint64(int64(pr.shift))
		w[rStaticTh] = uint64(pr.staticTh)
		c.pub.profiles.Write(i, w[:rWidth])
	}
	for _, q := range c.dirty {
		qs := &c.queues[q]
		qs.dirty = false
		w[qUsed] = uint64(qs.used)
		w[qPktBytes] = uint64(qs.pktBytes)
		w[qPackets] = uint64(qs.packets)
		w[qPeak] = uint64(qs.peak)
		w[qAdmitted] = qs.admitted
		copy(w[qDrops:qWidth], qs.drops[:])
		c.pub.queues.Write(int(q), w[:qWidth])
	}
	c.dirty = c.dirty[:0]
}

// Snapshot is a reader's copy of the accounting as of the last Publish.
type Snapshot struct {
	CellSize        int
	Descriptors     int64  // descriptors in use over all pools
	DescriptorLimit int64  // global limit, 0 = unlimited
	AccountingErrs  uint64 // Release calls with no matching Admit (a caller bug)
	Pools           []PoolStats
	Queues          []QueueStats
}

// PoolStats describes one pool. Byte figures named Cell* or Used/Peak are in cell
// bytes (what the memory really spends); StoredBytes is frame bytes.
type PoolStats struct {
	Name            string
	Mode            Mode
	Size            int64 // bytes
	Reserved        int64 // sum of the reserves of its queues
	SharedSize      int64 // Size - Reserved
	SharedUsed      int64 // usage beyond the queues' reserves
	SharedFree      int64 // SharedSize - SharedUsed (negative while a shrunk pool drains)
	Used            int64 // cell bytes in use (UsedCells x cell size)
	UsedCells       int64
	StoredBytes     int64              // frame bytes actually stored
	Descriptors     int64              // descriptors in use (= packets stored)
	DescriptorLimit int64              // 0 = unlimited
	Peak            int64              // highest Used since start
	Efficiency      float64            // StoredBytes / Used; 0 when empty
	Drops           [NumReasons]uint64 // refusals by reason (index OK unused)
}

// QueueStats describes one queue.
type QueueStats struct {
	Queue       int
	Profile     string
	Pool        string
	Packets     int64
	StoredBytes int64 // frame bytes
	Used        int64 // cell bytes
	Peak        int64 // highest Used since start
	Reserved    int64 // the profile's reserve
	// Threshold is the queue's current limit on shared usage in bytes: alpha x the
	// pool's shared free space right now (dynamic) or static_th (static).
	Threshold int64
	// Limit is how many cell bytes the queue could hold right now: Reserved +
	// Threshold, capped by what the shared area can still give it.
	Limit     int64
	DynamicTh int // n (alpha = 2^n); 0 for static profiles
	Admitted  uint64
	Drops     [NumReasons]uint64 // drops by reason (index OK unused)
}

// Snapshot fills dst with the published accounting. Safe from any goroutine; it
// allocates only when dst's slices are too short.
func (c *Carver) Snapshot(dst *Snapshot) {
	var w [16]uint64
	dst.CellSize = int(c.cellSize)
	dst.DescriptorLimit = c.descLimit
	c.pub.global.Read(0, w[:gWidth])
	dst.Descriptors = int64(w[gDescs])
	dst.AccountingErrs = w[gAcctErrs]

	dst.Pools = grow(dst.Pools, len(c.pools))
	for i := range dst.Pools {
		c.pub.pools.Read(i, w[:pWidth])
		ps := &dst.Pools[i]
		*ps = PoolStats{
			Name:            c.names.pools[i],
			Mode:            c.names.poolMode[i],
			Size:            int64(w[pSize]),
			Reserved:        int64(w[pReserved]),
			SharedUsed:      int64(w[pSharedUsed]),
			Used:            int64(w[pUsed]),
			StoredBytes:     int64(w[pPktBytes]),
			Descriptors:     int64(w[pDescs]),
			DescriptorLimit: int64(w[pDescLimit]),
			Peak:            int64(w[pPeak]),
		}
		copy(ps.Drops[:], w[pDrops:pWidth])
		ps.SharedSize = ps.Size - ps.Reserved
		ps.SharedFree = ps.SharedSize - ps.SharedUsed
		ps.UsedCells = ps.Used / c.cellSize
		if ps.Used > 0 {
			ps.Efficiency = float64(ps.StoredBytes) / float64(ps.Used)
		}
	}

	dst.Queues = grow(dst.Queues, len(c.queues))
	for q := range dst.Queues {
		c.pub.queues.Read(q, w[:qWidth])
		qs := &dst.Queues[q]
		pi := c.queues[q].profile // immutable binding
		pool := c.profiles[pi].pool
		*qs = QueueStats{
			Queue:       q,
			Profile:     c.names.profiles[pi],
			Pool:        c.names.pools[pool],
			Used:        int64(w[qUsed]),
			StoredBytes: int64(w[qPktBytes]),
			Packets:     int64(w[qPackets]),
			Peak:        int64(w[qPeak]),
			Admitted:    w[qAdmitted],
		}
		copy(qs.Drops[:], w[qDrops:qWidth])
		var r [rWidth]uint64
		c.pub.profiles.Read(int(pi), r[:])
		qs.Reserved = int64(r[rReserved])
		free := dst.Pools[pool].SharedFree
		if c.names.poolMode[pool] == Dynamic {
			qs.DynamicTh = int(int64(r[rShift]))
			qs.Threshold = alphaTimes(free, int8(qs.DynamicTh))
		} else {
			qs.Threshold = int64(r[rStaticTh])
		}
		// What the shared area can still give this queue: its current shared usage
		// plus the free space, never more than the threshold.
		shared := beyond(qs.Used, qs.Reserved)
		qs.Limit = qs.Reserved + min(qs.Threshold, shared+max(free, 0))
	}
}

// grow returns s with length n, reusing its backing array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
