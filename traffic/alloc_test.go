package traffic

import (
	"testing"
	"time"
)

// TestNoAllocs: the per-burst and per-frame paths do not allocate.
func TestNoAllocs(t *testing.T) {
	a := testAddressing(t)
	buf := make([]byte, 2048)
	var out [32]Frame
	dest := DestParams{Kind: DestHotspot, Outputs: []int{0, 1, 2, 3}, Hot: 1, Fraction: .5}
	sources := map[string]SourceParams{
		"constant":  {PPS: 1e7, Mix: "imix", Flows: 4, Dest: dest},
		"poisson":   {Rate: 10e9, Arrival: ArrivalPoisson, Mix: "imix", Dest: dest},
		"bernoulli": {PPS: 1e7, Arrival: ArrivalBernoulli, Slot: 50 * time.Nanosecond, Dest: dest},
		"onoff":     {PPS: 1e7, Arrival: ArrivalOnOff, Burst: 16, Peak: 5e7, Dest: dest},
		"incast":    {PPS: 1e8, Arrival: ArrivalIncast, Burst: 16, Period: time.Microsecond, Dest: dest},
	}
	frame := Frame{Len: 566, Out: 2, Flow: 9, Seq: 77, SPort: 49153}
	WriteFrame(buf, &frame, a, 1)
	var lat latencies
	lat = make(latencies, 0, 1<<20)
	sk := mustSink(t, SinkParams{Inputs: 4, Outputs: 4, Flows: 64, PublishEvery: 1}, &lat)
	var seq uint32
	cases := map[string]func(){
		"WriteFrame": func() { WriteFrame(buf, &frame, a, 12345) },
		"ParseFrame": func() {
			if _, ok := ParseFrame(buf[:566]); !ok {
				t.Fatal("parse")
			}
		},
		"Sink.Record": func() {
			p := Payload{Port: 3, Flow: 9, Seq: seq, Len: 566}
			seq += 2 // a loss every frame, and a publication every record
			sk.Record(&p, 2, 5, 1000)
		},
	}
	for name, p := range sources {
		p.CatchUp = -1
		s := mustSource(t, p, 0)
		now := int64(0)
		cases["Due/"+name] = func() {
			now += 10_000
			s.Due(now, out[:])
		}
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, fn); n != 0 {
				t.Errorf("%s allocates %v times per call", name, n)
			}
		})
	}
	if sk.Snapshot().Packets == 0 {
		t.Error("Sink.Record case recorded nothing")
	}
}

// BenchmarkDueWrite is the source's cost per frame: Due in bursts of 32 plus
// WriteFrame of each frame.
func BenchmarkDueWrite(b *testing.B) {
	for _, c := range []struct {
		name string
		p    SourceParams
	}{
		{"constant64", SourceParams{PPS: 1e9, Flows: 16, Dest: DestParams{Outputs: []int{0, 1, 2, 3}}}},
		{"poisson-imix", SourceParams{Rate: 1e12, Arrival: ArrivalPoisson, Mix: "imix", Flows: 16, Dest: DestParams{Outputs: []int{0, 1, 2, 3}}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.p.CatchUp = -1
			s := mustSource(b, c.p, 0)
			a := testAddressing(b)
			bufs := make([][]byte, 32)
			for i := range bufs {
				bufs[i] = make([]byte, 2048)
			}
			var out [32]Frame
			now := int64(0)
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				now += 1000
				n := s.Due(now, out[:min(32, b.N-done)])
				for i := range n {
					WriteFrame(bufs[i], &out[i], a, uint64(now))
				}
				done += n
			}
		})
	}
}

// BenchmarkParseRecord is the sink's cost per frame: ParseFrame plus Sink.Record
// (latency into a nil recorder), over 64 flows of 4 inputs.
func BenchmarkParseRecord(b *testing.B) {
	a := testAddressing(b)
	frames := make([][]byte, 256)
	for i := range frames {
		frames[i] = make([]byte, 60)
		f := Frame{Len: 60, Out: uint16(i % 4), Flow: uint16(i % 64), Seq: uint64(i / 64)}
		a.Port = uint8(i % 4)
		WriteFrame(frames[i], &f, a, 0)
	}
	sk := mustSink(b, SinkParams{Inputs: 4, Outputs: 4, Flows: 64}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p, ok := ParseFrame(frames[i&255])
		if !ok {
			b.Fatal("parse")
		}
		sk.Record(&p, int(p.Flow&3), 0, int64(i))
	}
}
