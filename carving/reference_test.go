package carving

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// refModel is a slow, obviously-correct model of the carving rules: it keeps every
// resident packet length and recounts everything from scratch on each decision,
// with float64 alpha. The fast Carver must agree with it on every decision and every
// figure.
type refModel struct {
	cfg      Config
	cell     int64
	reserved []int64   // per profile
	alphaN   []int     // per profile
	staticTh []int64   // per profile
	size     []int64   // per pool
	resident [][]int   // per queue: lengths of stored packets
	drops    [][]int64 // per queue per reason
}

func newRef(cfg Config) *refModel {
	m := &refModel{cfg: cfg, cell: int64(cfg.CellSize)}
	if m.cell == 0 {
		m.cell = DefaultCellSize
	}
	for _, pr := range cfg.Profiles {
		m.reserved = append(m.reserved, pr.Reserved)
		m.alphaN = append(m.alphaN, pr.DynamicTh)
		m.staticTh = append(m.staticTh, pr.StaticTh)
	}
	for _, p := range cfg.Pools {
		m.size = append(m.size, p.Size)
	}
	m.resident = make([][]int, len(cfg.Bindings))
	m.drops = make([][]int64, len(cfg.Bindings))
	for q := range m.drops {
		m.drops[q] = make([]int64, NumReasons)
	}
	return m
}

func (m *refModel) profileOf(q int) int {
	for i, pr := range m.cfg.Profiles {
		if pr.Name == m.cfg.Bindings[q] {
			return i
		}
	}
	panic("unbound queue")
}

func (m *refModel) poolOf(pr int) int {
	for i, p := range m.cfg.Pools {
		if p.Name == m.cfg.Profiles[pr].Pool {
			return i
		}
	}
	panic("no pool")
}

func (m *refModel) cells(length int) int64 {
	return int64(math.Ceil(float64(length) / float64(m.cell)))
}

// queueUsed is the queue's occupancy in cell bytes, recounted.
func (m *refModel) queueUsed(q int) int64 {
	var u int64
	for _, l := range m.resident[q] {
		u += m.cells(l) * m.cell
	}
	return u
}

// pool figures, recounted: reserved sum, shared usage, descriptors.
func (m *refModel) pool(pi int) (reserved, shared, used, descs, stored int64) {
	for q := range m.resident {
		pr := m.profileOf(q)
		if m.poolOf(pr) != pi {
			continue
		}
		reserved += m.reserved[pr]
		u := m.queueUsed(q)
		used += u
		shared += max(0, u-m.reserved[pr])
		descs += int64(len(m.resident[q]))
		for _, l := range m.resident[q] {
			stored += int64(l)
		}
	}
	return
}

func (m *refModel) totalDescs() int64 {
	var d int64
	for q := range m.resident {
		d += int64(len(m.resident[q]))
	}
	return d
}

func (m *refModel) admit(q, length int) Reason {
	pr := m.profileOf(q)
	pi := m.poolOf(pr)
	reserved, shared, _, descs, _ := m.pool(pi)
	r := OK
	cost := m.cells(length) * m.cell
	used := m.queueUsed(q)
	lim := m.cfg.Pools[pi].Descriptors
	switch {
	case (lim > 0 && descs >= lim) || (m.cfg.Descriptors > 0 && m.totalDescs() >= m.cfg.Descriptors):
		r = NoDescriptor
	case used+cost <= m.reserved[pr]:
		r = OK
	default:
		// The spilled part: everything beyond the reserve after, minus before.
		need := max(0, used+cost-m.reserved[pr]) - max(0, used-m.reserved[pr])
		free := m.size[pi] - reserved - shared
		var th float64
		if m.cfg.Pools[pi].Mode == Dynamic {
			th = math.Floor(math.Pow(2, float64(m.alphaN[pr])) * float64(max(free, 0)))
		} else {
			th = float64(m.staticTh[pr])
		}
		if need > free {
			r = NoSharedSpace
		} else if float64(max(0, used-m.reserved[pr])+need) > th {
			r = OverThreshold
		}
	}
	if r == OK {
		m.resident[q] = append(m.resident[q], length)
	} else {
		m.drops[q][r]++
	}
	return r
}

func TestRandomAgainstReference(t *testing.T) {
	cfg := Config{
		CellSize:    208, // not a power of two (Broadcom Tomahawk's cell)
		Descriptors: 90,
		Pools: []Pool{
			{Name: "dyn", Size: 200_000, Mode: Dynamic, Descriptors: 60},
			{Name: "sta", Size: 80_000, Mode: Static},
		},
		Profiles: []Profile{
			{Name: "lossy", Pool: "dyn", Reserved: 2000, DynamicTh: 1},
			{Name: "tight", Pool: "dyn", Reserved: 0, DynamicTh: -2},
			{Name: "fixed", Pool: "sta", Reserved: 5000, StaticTh: 20_000},
		},
		Bindings: []string{"lossy", "lossy", "lossy", "tight", "tight", "fixed", "fixed", "fixed"},
	}
	lengths := []int{1, 64, 207, 208, 209, 576, 1500, 9000}
	var seen [NumReasons]int
	for seed := uint64(1); seed <= 8; seed++ {
		c, err := New(cfg)
		require.NoError(t, err)
		m := newRef(cfg)
		rng := rand.New(rand.NewPCG(seed, 99))
		var s Snapshot
		for step := 0; step < 4000; step++ {
			q := rng.IntN(len(cfg.Bindings))
			switch op := rng.IntN(100); {
			case op < 60: // admit
				l := lengths[rng.IntN(len(lengths))]
				if rng.IntN(2) == 0 {
					l = 1 + rng.IntN(9600)
				}
				want := m.admit(q, l)
				require.Equal(t, want, c.Admit(q, l), "seed %d step %d admit q%d len %d", seed, step, q, l)
				seen[want]++
			case op < 97: // release a random resident packet of q
				if n := len(m.resident[q]); n > 0 {
					i := rng.IntN(n)
					l := m.resident[q][i]
					m.resident[q] = append(m.resident[q][:i], m.resident[q][i+1:]...)
					c.Release(q, l)
				}
			case op < 98:
				pr := rng.IntN(2) // dynamic profiles
				n := rng.IntN(15) - 7
				require.NoError(t, c.SetAlpha(cfg.Profiles[pr].Name, n))
				m.alphaN[pr] = n
			case op < 99:
				pr := rng.IntN(3)
				r := int64(rng.IntN(4000))
				pi := m.poolOf(pr)
				old := m.reserved[pr]
				m.reserved[pr] = r
				if sum, _, _, _, _ := m.pool(pi); sum > m.size[pi] {
					require.ErrorContains(t, c.SetReserved(cfg.Profiles[pr].Name, r), "over its size")
					m.reserved[pr] = old
				} else {
					require.NoError(t, c.SetReserved(cfg.Profiles[pr].Name, r))
				}
			default:
				pi := rng.IntN(2)
				reserved, _, _, _, _ := m.pool(pi)
				sz := reserved + int64(rng.IntN(250_000))
				require.NoError(t, c.SetPoolSize(cfg.Pools[pi].Name, sz))
				m.size[pi] = sz
			}
			if step%50 != 0 {
				continue
			}
			c.Publish()
			c.Snapshot(&s)
			require.Equal(t, m.totalDescs(), s.Descriptors)
			for pi := range cfg.Pools {
				reserved, shared, used, descs, stored := m.pool(pi)
				p := s.Pools[pi]
				require.Equal(t, reserved, p.Reserved, "seed %d step %d pool %d", seed, step, pi)
				require.Equal(t, shared, p.SharedUsed, "seed %d step %d pool %d", seed, step, pi)
				require.Equal(t, used, p.Used)
				require.Equal(t, used/208, p.UsedCells)
				require.Equal(t, descs, p.Descriptors)
				require.Equal(t, stored, p.StoredBytes)
				require.Equal(t, m.size[pi], p.Size)
			}
			for q := range cfg.Bindings {
				qs := s.Queues[q]
				require.Equal(t, m.queueUsed(q), qs.Used)
				require.Equal(t, int64(len(m.resident[q])), qs.Packets)
				for r := NoDescriptor; r < NumReasons; r++ {
					require.Equal(t, uint64(m.drops[q][r]), qs.Drops[r], "q%d %s", q, r)
				}
			}
		}
		require.Zero(t, s.AccountingErrs)
	}
	for r := OK; r < NumReasons; r++ {
		require.Positive(t, seen[r], "the random walk never produced %s", r)
	}
	t.Logf("decisions by reason: %v", seen)
}
