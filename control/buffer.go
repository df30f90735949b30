package control

import (
	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/buffer"
	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/hybrid"
)

// bufferView turns the buffer models' snapshots into the API's view: pools summed
// over architecture instances (one per owner lcore; with a buffer model there is one).
func bufferView(s *Source) api.Buffer {
	var out api.Buffer
	for _, a := range s.r.Archs() {
		m, _ := a.Memory().(*buffer.Model)
		if m == nil {
			continue
		}
		if c := m.Carver(); c != nil {
			var snap carving.Snapshot
			c.Snapshot(&snap)
			for _, p := range snap.Pools {
				ap := api.Pool{Name: p.Name, Size: p.Size, Used: p.Used, Stored: p.StoredBytes, Cells: p.UsedCells,
					Descriptors: p.Descriptors, Efficiency: p.Efficiency, Peak: p.Peak, Drops: map[string]uint64{}}
				for r, v := range p.Drops {
					if v != 0 && carving.Reason(r) != carving.OK {
						ap.Drops[carving.Reason(r).String()] = v
					}
				}
				for _, q := range snap.Queues {
					if q.Pool != p.Name {
						continue
					}
					pq := api.PoolQueue{Queue: q.Queue, Profile: q.Profile, Used: q.Used, Peak: q.Peak, Threshold: q.Threshold, Class: -1}
					if port, _, class, ok := a.QueueInfo(q.Queue); ok {
						pq.Port, pq.Class = s.portName(port), class
					}
					ap.Queues = append(ap.Queues, pq)
				}
				out.Pools = append(out.Pools, ap)
			}
		}
		if h := m.Hybrid(); h != nil {
			var snap hybrid.Snapshot
			h.Snapshot(&snap)
			t := &api.Tiers{Mode: snap.Mode.String(), OnchipBytes: snap.Used[hybrid.Onchip], OnchipPeak: snap.Peak[hybrid.Onchip],
				OffchipBytes: snap.Used[hybrid.Offchip], OffchipPeak: snap.Peak[hybrid.Offchip],
				OffchipPacketShare: snap.OffchipFraction(), OffchipByteShare: snap.OffchipByteFraction(),
				Evictions: snap.Evictions, Readmissions: snap.Readmissions, BandwidthDrops: snap.BandwidthDrops()}
			for _, q := range snap.Queues {
				if q.Evicted {
					t.EvictedQueues++
				}
			}
			out.Tiers = t
		}
	}
	return out
}
