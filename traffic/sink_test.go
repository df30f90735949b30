package traffic

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// latencies is a LatencyRecorder that keeps every sample.
type latencies []int64

func (l *latencies) Record(ns int64) { *l = append(*l, ns) }

func mustSink(t testing.TB, p SinkParams, lat LatencyRecorder) *Sink {
	t.Helper()
	s, err := NewSink("sink", p, lat)
	require.NoError(t, err)
	return s
}

// TestSinkLossFree: three sources through a loss-free path with a fixed delay: the
// sink's per-flow and per-cell counts equal what the sources sent, no loss, no
// reordering, every latency is the delay, and equal flows give Jain's index 1.
func TestSinkLossFree(t *testing.T) {
	const delay = 7_000
	var srcs []*Source
	var addrs []*Addressing
	for port := range 3 {
		s := mustSource(t, SourceParams{Port: port, PPS: 3e5, Flows: 4, Mix: "imix", DSCP: []int{0, 8, 16, 24},
			Dest: DestParams{Outputs: []int{0, 1, 2}}, Seed: uint64(port)}, 0)
		srcs = append(srcs, s)
		a := testAddressing(t)
		a.Port = uint8(port)
		addrs = append(addrs, a)
	}
	var lat latencies
	sk := mustSink(t, SinkParams{Inputs: 3, Outputs: 3, Flows: srcs[0].NumFlowIDs()}, &lat)
	buf := make([]byte, 2048)
	type key struct{ in, out, class int }
	sent := map[key]uint64{}
	sentBytes := map[key]uint64{}
	var out [32]Frame
	for now := int64(0); now <= second/10; now += 1000 {
		for i, s := range srcs {
			n := s.Due(now, out[:])
			for j := range n {
				f := &out[j]
				l := WriteFrame(buf, f, addrs[i], uint64(f.Due))
				p, ok := ParseFrame(buf[:l])
				require.True(t, ok)
				class := int(p.DSCP >> 3)
				require.True(t, sk.Record(&p, int(f.Out), class, f.Due+delay))
				k := key{i, int(f.Out), class}
				sent[k]++
				sentBytes[k] += uint64(f.Len)
			}
		}
	}
	sk.Publish()
	r := sk.Snapshot()
	var total uint64
	for _, s := range srcs {
		total += s.Stats().Sent
	}
	require.Equal(t, total, r.Packets)
	require.Zero(t, r.Lost)
	require.Zero(t, r.Reordered)
	require.Zero(t, r.Dup)
	require.Zero(t, r.Unknown)
	require.Len(t, r.Flows, 3*12)
	for _, f := range r.Flows {
		require.Equal(t, srcs[f.Input].FlowSent(int(f.Flow)), f.Packets, "flow %d/%d", f.Input, f.Flow)
		require.Zero(t, f.Lost)
	}
	require.Len(t, r.Cells, len(sent))
	for _, c := range r.Cells {
		k := key{int(c.Input), int(c.Output), int(c.Class)}
		require.Equal(t, sent[k], c.Packets, "%v", k)
		require.Equal(t, sentBytes[k], c.Bytes, "%v", k)
		require.EqualValues(t, delay, c.LatMin)
		require.EqualValues(t, delay, c.LatMax)
		require.EqualValues(t, delay, c.MeanLatency())
	}
	require.Equal(t, int(total), len(lat))
	for _, l := range lat {
		require.EqualValues(t, delay, l)
	}
	// Frame counts per flow are equal within a frame or so; IMIX bytes are not, so
	// Jain over bytes is close to but below 1.
	require.Greater(t, r.Jain, 0.95)
	require.LessOrEqual(t, r.Jain, 1.0)
}

// record feeds one frame of flow (port 0, flow 0) with sequence seq.
func record(s *Sink, seq uint32, now int64) {
	p := Payload{Seq: seq, Len: 100, Timestamp: uint64(now - 10)}
	s.Record(&p, 0, 0, now)
}

// TestSinkLossReorder: scripted drops and swaps give exact loss, reordering and
// duplicate counts.
func TestSinkLossReorder(t *testing.T) {
	s := mustSink(t, SinkParams{Inputs: 1, Outputs: 1, Classes: 1, Flows: 1}, nil)
	check := func(lost, reord, dup uint64) {
		t.Helper()
		s.Publish()
		r := s.Snapshot()
		require.Equal(t, lost, r.Lost, "lost")
		require.Equal(t, reord, r.Reordered, "reordered")
		require.Equal(t, dup, r.Dup, "dup")
		require.Equal(t, lost, r.Flows[0].Lost)
		require.Equal(t, lost, r.Cells[0].Lost)
		require.Equal(t, reord, r.Flows[0].Reordered)
	}
	now := int64(1000)
	for _, q := range []uint32{0, 1, 2, 4, 5} { // 3 missing
		record(s, q, now)
		now++
	}
	check(1, 0, 0)
	record(s, 3, now) // 3 arrives late: reordered, fills the gap
	check(0, 1, 0)
	for _, q := range []uint32{8, 9} { // 6, 7 dropped
		record(s, q, now)
	}
	check(2, 1, 0)
	record(s, 7, now) // swap: 7 late
	check(1, 2, 0)
	record(s, 9, now) // 9 again, but a gap (6) is open: taken as 6's late arrival
	check(0, 3, 0)
	record(s, 9, now) // no gap open: a duplicate
	check(0, 3, 1)
	record(s, 10, now)
	r := s.Snapshot()
	require.EqualValues(t, 11, r.Packets, "a snapshot shows the last publication")
	s.Publish()
	r = s.Snapshot()
	require.EqualValues(t, 12, r.Packets)
}

// TestSinkSeqWrap: the 32-bit sequence on the wire is widened across 2^32.
func TestSinkSeqWrap(t *testing.T) {
	s := mustSink(t, SinkParams{Inputs: 1, Outputs: 1, Classes: 1, Flows: 1}, nil)
	s.flows[0].next = 1<<32 - 2
	s.flows[0].packets = 1<<32 - 2
	for _, q := range []uint32{0xfffffffe, 0xffffffff, 1, 0, 2} {
		record(s, q, 5)
	}
	require.EqualValues(t, 1<<32+3, s.flows[0].next)
	require.EqualValues(t, 0, s.tot.lost)
	require.EqualValues(t, 1, s.tot.reordered)
}

// TestSinkUnknownAndNegative: out-of-range frames count as Unknown and nothing else;
// a timestamp after the receive time records latency 0 and counts NegLatency.
func TestSinkUnknownAndNegative(t *testing.T) {
	var lat latencies
	s := mustSink(t, SinkParams{Inputs: 2, Outputs: 2, Classes: 2, Flows: 4}, &lat)
	for _, c := range []struct {
		p          Payload
		out, class int
	}{
		{Payload{Port: 2}, 0, 0}, {Payload{Flow: 4}, 0, 0}, {Payload{}, 2, 0}, {Payload{}, 0, 2}, {Payload{}, -1, 0},
	} {
		require.False(t, s.Record(&c.p, c.out, c.class, 0))
	}
	p := Payload{Timestamp: 100, Len: 64}
	require.True(t, s.Record(&p, 1, 1, 50))
	s.Publish()
	r := s.Snapshot()
	require.EqualValues(t, 5, r.Unknown)
	require.EqualValues(t, 1, r.Packets)
	require.EqualValues(t, 1, r.NegLatency)
	require.Equal(t, latencies{0}, lat)
}

// TestSinkTicks: with ns_per_tick the tick difference is converted to ns.
func TestSinkTicks(t *testing.T) {
	var lat latencies
	s := mustSink(t, SinkParams{Inputs: 1, Outputs: 1, Flows: 1, NsPerTick: 0.5}, &lat)
	p := Payload{Timestamp: 1000, Len: 64}
	s.Record(&p, 0, 0, 3000)
	require.Equal(t, latencies{1000}, lat)
}

// TestSinkSnapshotConcurrent: a reader taking snapshots while the owner records sees
// counts that only grow, coherent totals (bytes = 100 × packets), and after Publish
// the final state. Run with -race.
func TestSinkSnapshotConcurrent(t *testing.T) {
	s := mustSink(t, SinkParams{Inputs: 1, Outputs: 1, Classes: 1, Flows: 8, PublishEvery: 64}, nil)
	const n = 200_000
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var seen atomic.Int32
	go func() {
		defer wg.Done()
		last := uint64(0)
		for {
			select {
			case <-done:
				return
			default:
			}
			r := s.Snapshot()
			if r.Packets < last {
				t.Errorf("packets went back from %d to %d", last, r.Packets)
				return
			}
			if r.Bytes != 100*r.Packets {
				t.Errorf("incoherent snapshot: %d bytes for %d packets", r.Bytes, r.Packets)
				return
			}
			if r.Packets > last {
				seen.Add(1)
			}
			last = r.Packets
			time.Sleep(10 * time.Microsecond)
		}
	}()
	var seq [8]uint32
	for i := range n {
		fl := i % 8
		p := Payload{Flow: uint16(fl), Seq: seq[fl], Len: 100}
		seq[fl]++
		s.Record(&p, 0, 0, int64(i))
		for i == n/2 && seen.Load() == 0 { // let the reader see a publication mid-run
			runtime.Gosched()
		}
	}
	close(done)
	wg.Wait()
	s.Publish()
	r := s.Snapshot()
	require.EqualValues(t, n, r.Packets)
	require.Len(t, r.Flows, 8)
	require.Equal(t, 1.0, r.Jain)
	require.EqualValues(t, n-1, r.Duration())
	require.Greater(t, seen.Load(), int32(0), "the reader saw progress before the end")
}

// TestNewSinkValidate: sink parameters are checked with their keys.
func TestNewSinkValidate(t *testing.T) {
	for _, c := range []struct {
		p   SinkParams
		key string
	}{
		{SinkParams{Inputs: 0, Outputs: 1, Flows: 1}, "sink.inputs"},
		{SinkParams{Inputs: 1, Outputs: 257, Flows: 1}, "sink.outputs"},
		{SinkParams{Inputs: 1, Outputs: 1, Flows: 0}, "sink.flows"},
		{SinkParams{Inputs: 256, Outputs: 1, Flows: 65536}, "sink.flows"},
		{SinkParams{Inputs: 1, Outputs: 1, Flows: 1, Classes: 300}, "sink.classes"},
		{SinkParams{Inputs: 1, Outputs: 1, Flows: 1, NsPerTick: -1}, "sink.ns_per_tick"},
	} {
		_, err := NewSink("sink", c.p, nil)
		ps := Problems(err)
		require.Len(t, ps, 1, "%+v: %v", c.p, err)
		require.Equal(t, c.key, ps[0].Key)
		require.NotEmpty(t, ps[0].Value)
	}
}

func TestJainIndex(t *testing.T) {
	require.Equal(t, 1.0, JainIndex([]float64{3, 3, 3, 3}))
	require.Equal(t, 0.25, JainIndex([]float64{1, 0, 0, 0}))
	require.InDelta(t, 36.0/42, JainIndex([]float64{1, 2, 3}), 1e-12)
	require.Zero(t, JainIndex(nil))
}

// TestSinkScriptedDropsSwaps: a source's frames pass through a path that drops every
// frame with seq%17 == 5 and swaps the pairs (seq, seq+1) with seq%13 == 0 when both
// survive. The sink's counts match the script exactly: lost = drops before each
// flow's last delivered frame, reordered = swaps, and per flow
// packets + lost + tail drops = frames sent.
func TestSinkScriptedDropsSwaps(t *testing.T) {
	src := mustSource(t, SourceParams{Port: 1, PPS: 1e6, Flows: 5, Dest: DestParams{Outputs: []int{0, 1}}, Seed: 8}, 0)
	a := testAddressing(t)
	a.Port = 1
	sk := mustSink(t, SinkParams{Inputs: 2, Outputs: 2, Classes: 1, Flows: src.NumFlowIDs()}, nil)
	dropped := func(seq uint64) bool { return seq%17 == 5 }
	var out [64]Frame
	held := map[uint16][]byte{} // per flow, a frame waiting for its swap partner
	wantReord := uint64(0)
	lastDelivered := map[uint16]uint64{}
	deliver := func(fr []byte, outIdx int, now int64) {
		p, ok := ParseFrame(fr)
		require.True(t, ok)
		require.True(t, sk.Record(&p, outIdx, 0, now))
	}
	for now := int64(0); now <= second/20; now += 1000 {
		n := src.Due(now, out[:])
		for i := range n {
			f := &out[i]
			if dropped(f.Seq) {
				continue
			}
			fr := make([]byte, f.Len)
			WriteFrame(fr, f, a, uint64(f.Due))
			if f.Seq%13 == 0 && !dropped(f.Seq+1) {
				held[f.Flow] = fr // goes out after seq+1
				continue
			}
			deliver(fr, int(f.Out), now)
			lastDelivered[f.Flow] = f.Seq
			if h, ok := held[f.Flow]; ok && f.Seq%13 == 1 {
				deliver(h, int(f.Out), now)
				delete(held, f.Flow)
				wantReord++
			}
		}
	}
	sk.Publish()
	r := sk.Snapshot()
	var wantLost uint64
	for _, last := range lastDelivered {
		for q := uint64(0); q < last; q++ {
			if dropped(q) {
				wantLost++
			}
		}
	}
	require.Greater(t, wantReord, uint64(100))
	require.Greater(t, wantLost, uint64(100))
	require.Equal(t, wantLost, r.Lost)
	require.Equal(t, wantReord, r.Reordered)
	require.Zero(t, r.Dup)
	for _, f := range r.Flows {
		sent := src.FlowSent(int(f.Flow))
		tail := sent - lastDelivered[f.Flow] - 1 // after the last delivered: dropped or still held
		require.Equal(t, sent, f.Packets+f.Lost+tail, "flow %d", f.Flow)
	}
}

// TestSinkCellRecorder: a cell's own recorder gets that cell's latencies only; the
// sink-wide one gets all.
func TestSinkCellRecorder(t *testing.T) {
	var all, cell latencies
	s := mustSink(t, SinkParams{Inputs: 2, Outputs: 2, Classes: 2, Flows: 2}, &all)
	require.True(t, s.SetCellRecorder(1, 0, 1, &cell))
	require.False(t, s.SetCellRecorder(2, 0, 0, &cell))
	p := Payload{Port: 1, Timestamp: 100, Len: 64}
	s.Record(&p, 0, 1, 150) // the cell
	s.Record(&p, 0, 0, 170) // another class
	p.Port = 0
	s.Record(&p, 0, 1, 190) // another input
	require.Equal(t, latencies{50}, cell)
	require.Equal(t, latencies{50, 70, 90}, all)
}
