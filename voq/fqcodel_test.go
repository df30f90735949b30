package voq

import (
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

func fqArch(t *testing.T, fq FQConfig, f Factory) Arch {
	return mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, FQ: &fq, AQM: f})
}

func fqPkt(id int, flow uint32, l int) pkt.Desc {
	d := mk(id, 0, 0, 0, l, 0)
	d.Hash = flow
	return d
}

// TestFQDeficitOrder follows RFC 8290's rules by hand for two flows of three 1000 B
// packets with quantum 1514:
//
//	A (new, 1514 -> 514), A (514 -> -486), A spent: +1514 = 1028, to old [A];
//	B (new, 1514 -> 514), B (-486), B spent: 1028, to old [A B];
//	A (1028 -> 28), A empty -> removed; B (1028 -> 28).
func TestFQDeficitOrder(t *testing.T) {
	a := fqArch(t, FQConfig{Flows: 64}, nil)
	sink := &recSink{}
	id := 0
	for _, flow := range []uint32{1, 2} {
		for range 3 {
			id++
			d := fqPkt(id, flow, 1000)
			a.Enqueue(0, &d, sink)
		}
	}
	var order []uint32
	for _, d := range drainPort(a, 1, 0, sink) {
		order = append(order, d.Hash)
	}
	require.Equal(t, []uint32{1, 1, 2, 2, 1, 2}, order)
}

// TestFQSparseFlowFirst: a flow that sends one packet while a bulk flow is backlogged
// is served next (it enters the new list), not after the bulk flow's backlog.
func TestFQSparseFlowFirst(t *testing.T) {
	a := fqArch(t, FQConfig{Flows: 64}, nil)
	sink := &recSink{}
	for i := range 100 {
		d := fqPkt(i+1, 7, 1500)
		a.Enqueue(0, &d, sink)
	}
	out := make([]pkt.Desc, 1)
	for range 5 { // bulk flow is now on the old list
		require.Equal(t, 1, a.Dequeue(1, 0, out, 1<<20, sink))
	}
	d := fqPkt(1000, 9, 80)
	a.Enqueue(2, &d, sink)
	require.Equal(t, 1, a.Dequeue(3, 0, out, 1<<20, sink))
	require.Equal(t, uint32(9), out[0].Hash, "the sparse flow jumps the bulk flow's queue")
	var s ArchSnapshot
	a.Publish()
	a.Snapshot(&s)
	require.Equal(t, FQState{ActiveFlows: 1, NewFlows: 1, OldFlows: 1}, s.Queues[0].FQState,
		"the emptied sparse flow stays on the new list until its next turn, and is not active")
	require.Equal(t, 1, a.Dequeue(4, 0, out, 1<<20, sink))
	require.Equal(t, uint32(7), out[0].Hash)
	a.Publish()
	a.Snapshot(&s)
	// Found empty on the new list it moved to the old list (RFC 8290 4.2); the bulk flow,
	// out of deficit, went behind it; found empty again on the old list it was removed.
	require.Equal(t, FQState{ActiveFlows: 1, NewFlows: 0, OldFlows: 1}, s.Queues[0].FQState)
}

// TestFQByteFairness: flows of 64 B and of 1500 B packets, both backlogged, get equal
// bytes; a flow with twice the offered load does not get more.
func TestFQByteFairness(t *testing.T) {
	a := fqArch(t, FQConfig{Flows: 64, LimitPkts: 4096}, nil)
	sink := &recSink{}
	sizes := map[uint32]int{3: 64, 4: 1500, 5: 700}
	queued := map[uint32]int{}
	served := map[uint32]int{}
	out := make([]pkt.Desc, 8)
	id := 0
	for range 20000 {
		for f, l := range sizes {
			for ; queued[f] < 30; queued[f]++ {
				id++
				d := fqPkt(id, f, l)
				a.Enqueue(0, &d, sink)
			}
		}
		n := a.Dequeue(0, 0, out, 3000, sink)
		for _, d := range out[:n] {
			served[d.Hash] += int(d.Len)
			queued[d.Hash]--
		}
	}
	require.Zero(t, sink.total())
	for f := range sizes {
		require.InEpsilon(t, float64(served[3]), float64(served[f]), 0.02, "bytes per flow %v", served)
	}
}

// TestFQOverflowDropsFromFattest: at the limit, the flow with the most bytes loses a
// batch from its head: until half its bytes are gone, at most DropBatch packets.
func TestFQOverflowDropsFromFattest(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		fatPkts, batch       int
		wantDrops, wantFirst int
	}{
		{"half of the flow", 80, 64, 40, 1},
		{"batch cap", 200, 64, 64, 1},
		{"small batch", 80, 5, 5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.fatPkts + 20
			a := fqArch(t, FQConfig{Flows: 64, LimitPkts: limit, DropBatch: tc.batch}, nil)
			sink := &recSink{keep: true}
			for i := range tc.fatPkts {
				d := fqPkt(i+1, 1, 1000) // fat by bytes
				a.Enqueue(0, &d, sink)
			}
			for i := range 20 {
				d := fqPkt(10000+i, 2, 100) // many-ish small packets, few bytes
				a.Enqueue(0, &d, sink)
			}
			require.Zero(t, sink.total())
			d := fqPkt(50000, 2, 100) // the arrival that overflows is admitted
			a.Enqueue(0, &d, sink)
			require.Equal(t, tc.wantDrops, sink.by[pkt.DropOverflow])
			require.Len(t, sink.got, tc.wantDrops)
			for i, g := range sink.got {
				require.Equal(t, uint32(1), g.Hash)
				require.Equal(t, uintptr(tc.wantFirst+i), g.Mbuf, "dropped from the head")
			}
			n, _ := a.Backlog(0)
			require.Equal(t, limit+1-tc.wantDrops, n)
			got := drainPort(a, 1, 0, sink)
			require.Len(t, got, n)
			checkBooks(t, a, limit+1, n, sink)
		})
	}
}

func TestFQByteLimitAndShrink(t *testing.T) {
	a := fqArch(t, FQConfig{Flows: 16, LimitPkts: 1000, LimitBytes: 10000, DropBatch: 1}, nil)
	sink := &recSink{}
	for i := range 30 {
		d := fqPkt(i+1, uint32(i%3), 1000)
		a.Enqueue(0, &d, sink)
	}
	n, b := a.Backlog(0)
	require.Equal(t, 10, n)
	require.Equal(t, 10000, b)
	require.Equal(t, 20, sink.by[pkt.DropOverflow])
	big := fqPkt(99, 1, 20000)
	a.Enqueue(0, &big, sink)
	require.Equal(t, 1, sink.by[pkt.DropTail], "larger than the byte limit")
	require.NoError(t, a.SetLimit(0, 0, 4, 0))
	out := make([]pkt.Desc, 1)
	require.Equal(t, 1, a.Dequeue(1, 0, out, 1<<20, sink))
	n, _ = a.Backlog(0)
	require.Equal(t, 3, n, "shrunk to 4, then one dequeued")
	require.Equal(t, 26, sink.by[pkt.DropOverflow])
	checkBooks(t, a, 31, 1, sink)
}

// TestFQPerFlowAQM: each flow has its own policy instance and sees its own backlog.
func TestFQPerFlowAQM(t *testing.T) {
	var seen []aqm.Backlog
	calls := 0
	f := func(int, uint8) aqm.Policy {
		calls++
		return &backlogSpy{seen: &seen}
	}
	a := fqArch(t, FQConfig{Flows: 8}, f)
	require.Equal(t, 8, calls)
	sink := &recSink{}
	for i := range 4 {
		d := fqPkt(i+1, uint32(i%2), 100)
		a.Enqueue(0, &d, sink)
	}
	// Enqueue of the 3rd and 4th packets saw one packet of their own flow, not three.
	require.Equal(t, aqm.Backlog{Packets: 1, Bytes: 100}, seen[2])
	require.Equal(t, aqm.Backlog{Packets: 1, Bytes: 100}, seen[3])
	var s ArchSnapshot
	a.Publish()
	a.Snapshot(&s)
	require.Equal(t, aqm.KindPIE, s.Queues[0].AQM.Kind)
	require.True(t, s.Queues[0].FQ)
}

type backlogSpy struct{ seen *[]aqm.Backlog }

func (b *backlogSpy) Enqueue(_ int64, _ aqm.Packet, q aqm.Backlog) aqm.Verdict {
	*b.seen = append(*b.seen, q)
	return aqm.Pass
}
func (b *backlogSpy) Dequeue(int64, aqm.Packet, aqm.Backlog) aqm.Verdict { return aqm.Pass }
func (b *backlogSpy) Snapshot() aqm.State                                { return aqm.State{Kind: aqm.KindPIE} }

// TestFQOnSomeClasses: FQ.Classes makes only class 0 FQ-CoDel; class 1 stays a plain
// FIFO with the per-queue limit.
func TestFQOnSomeClasses(t *testing.T) {
	a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, Classes: 2, LimitPkts: 8, FQ: &FQConfig{Classes: []int{0}, LimitPkts: 100}})
	sink := &recSink{}
	for i := range 20 {
		for c := range 2 {
			d := fqPkt(2*i+c+1, uint32(i%4), 100)
			d.Class = uint8(c)
			a.Enqueue(0, &d, sink)
		}
	}
	require.Equal(t, 12, sink.by[pkt.DropTail], "class 1 is a FIFO of 8")
	var s ArchSnapshot
	a.Publish()
	a.Snapshot(&s)
	require.True(t, s.Queues[0].FQ)
	require.False(t, s.Queues[1].FQ)
	require.Equal(t, 20, s.Queues[0].Pkts)
	require.Equal(t, 4, s.Queues[0].FQState.ActiveFlows)
	require.Equal(t, 8, s.Queues[1].Pkts)
}
