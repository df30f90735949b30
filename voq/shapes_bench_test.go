package voq

import (
	"fmt"
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
)

// BenchmarkQueueShapes is the voq side of ci/bench-sched.sh: the enqueue + dequeue cost
// per packet on the queue counts ci/sched/sched_bench.c gives DPDK's rte_sched (1, 64,
// 512 and 4096 queues), with and without RED (min_th 32, max_th 64 packets, maxp 1/10,
// wq 2^-9, as there). Packets of 64 bytes arrive in bursts of 32 spread over the queues
// by the same xorshift sequence as the C benchmark; after each burst every output port
// that received packets is served (the egress architecture's natural use: one service
// per port), so queues stay near empty and the work measured is classification into a
// queue, enqueue, AQM and dequeue. Shapes: 1 = one port x one class; 64 = 8 ports x 8
// classes; 512 = 64 ports x 8 classes; 4096 = VOQs of 8 inputs x 64 outputs x 8 classes
// with the round-robin arbiter.
func BenchmarkQueueShapes(b *testing.B) {
	red := func(int, uint8) aqm.Policy {
		cfg, err := aqm.NewREDConfig(aqm.REDParams{Unit: aqm.REDPackets, WqLog2: 9, LinkRate: 10e9,
			Profiles: []aqm.REDProfile{{MinTh: 32, MaxTh: 64, MaxPInv: 10}}})
		if err != nil {
			b.Fatal(err)
		}
		return aqm.NewRED(cfg)
	}
	for _, queues := range []int{1, 64, 512, 4096} {
		for _, withRED := range []bool{false, true} {
			b.Run(fmt.Sprintf("queues=%d/red=%v", queues, withRED), func(b *testing.B) {
				c := Config{Kind: KindEgress, Inputs: []int{0}, Classes: 1, LimitPkts: 64}
				inputs, classes := 1, 1
				switch queues {
				case 1:
					c.Ports = []int{1}
				case 64, 512:
					classes = 8
					c.Ports = make([]int, queues/8)
				case 4096:
					c.Kind, c.Arbiter = KindVOQ, ArbiterRR
					classes, inputs = 8, 8
					c.Ports = make([]int, 64)
					c.Inputs = make([]int, inputs)
					for i := range c.Inputs {
						c.Inputs[i] = i
					}
				}
				c.Classes = classes
				if len(c.Ports) > 1 {
					for i := range c.Ports {
						c.Ports[i] = i
					}
				}
				if withRED {
					c.AQM = red
				}
				a := mustNew(b, c)
				outs := len(c.Ports)
				// The queue of every packet, fixed in advance (xorshift64, same seed as C).
				const seq = 4096
				var place [seq]pkt.Desc
				x := uint64(88172645463325252)
				for i := range place {
					x ^= x << 13
					x ^= x >> 7
					x ^= x << 17
					q := int(x % uint64(queues))
					d := pkt.Desc{Len: 64, Class: uint8(q % classes)}
					q /= classes
					d.OutPort = uint16(c.Ports[q%outs])
					d.InPort = uint16(c.Inputs[(q/outs)%inputs])
					place[i] = d
				}
				burst := make([]pkt.Desc, 32)
				out := make([]pkt.Desc, 32)
				touched := make([]bool, 64)
				sink := &recSink{}
				var now int64
				k := 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i += 32 {
					now += 1000
					for j := range burst {
						burst[j] = place[k%seq]
						burst[j].Mbuf = uintptr(k + 1)
						burst[j].Enq = now
						touched[burst[j].OutPort] = true
						k++
					}
					a.EnqueueBurst(now, burst, sink)
					for p, t := range touched {
						if t {
							touched[p] = false
							for a.Dequeue(now, p, out, 1<<30, sink) == len(out) {
							}
						}
					}
				}
			})
		}
	}
}
