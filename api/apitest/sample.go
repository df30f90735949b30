package apitest

import (
	"net/netip"
	"time"

	"github.com/dpdkq/dpdkq/api"
)

// Sample returns a small but complete router state: two ports (p0 receives, p1 is
// shaped to 10 Mb/s), three queues (CoDel and PIE class queues on p1, and an input
// FIFO on p0 with RED), one shared pool with two queues bound to it, hybrid tiers,
// routes, neighbors, destination counts and queued-packet samples. Every number is
// distinct enough that a test can tell which field it came from.
func Sample() State {
	// Sojourn buckets of queue 0: 5 packets of 100 ns, 10 in [1.504, 1.52) µs, 20 of
	// 5 ms (the bucket [4.980736, 5.046272) ms) and 3 in the open bucket (above 18.3 min).
	b0 := []api.SojournBucket{
		{Lo: 100, Le: 100, Count: 5},
		{Lo: 1504, Le: 1519, Count: 10},
		{Lo: 4_980_736, Le: 5_046_271, Count: 20},
		{Lo: 1 << 40, Le: -1, Count: 3},
	}
	// Queue 1: 7 packets in [794624, 802816) ns, around 800 µs.
	b1 := []api.SojournBucket{{Lo: 794_624, Le: 802_815, Count: 7}}
	return State{
		Status: api.Status{
			Version: "1.2.3", DPDKVersion: "DPDK 22.11.4", Uptime: 90 * time.Second,
			Workers: []api.Lcore{{ID: 1, RxQueues: []string{"p0/0", "p1/0"}, Egress: []string{"p0", "p1"},
				Stalls: 2, Stalled: 35 * time.Millisecond, WorstStall: 30 * time.Millisecond,
				RecentStalls: []api.Stall{{Start: 10 * time.Second, Duration: 5 * time.Millisecond}, {Start: 60 * time.Second, Duration: 30 * time.Millisecond}}}},
			Mempool:        api.Mempool{Size: 8191, InUse: 1500},
			StallThreshold: time.Millisecond,
		},
		Ports: []api.Port{
			{
				Name: "p0", Index: 0, Mode: "route", Address: "10.1.0.1/24", MAC: "02:00:00:00:00:01",
				RxPackets: 1000, RxBytes: 1_500_000, TxPackets: 10, TxBytes: 640, Forwarded: 990,
				Drops:  map[string]uint64{"no_route": 4, "ttl_expired": 6},
				Egress: api.QueueFigures{Packets: 0, Drops: map[string]uint64{}},
			},
			{
				Name: "p1", Index: 1, Mode: "route", Address: "10.2.0.1/24", MAC: "02:00:00:00:00:02",
				RateBps: 10e6, Delay: 20 * time.Millisecond,
				RxPackets: 12, RxBytes: 768, TxPackets: 900, TxBytes: 1_350_000, Forwarded: 12, Marked: 9, TxHeld: 7,
				Drops:  map[string]uint64{},
				Egress: api.QueueFigures{Packets: 60, Bytes: 90_000, Drops: map[string]uint64{"tail": 25, "aqm": 5}},
			},
		},
		Queues: []api.Queue{
			{
				Index: 0, Port: "p1", Class: 0,
				QueueFigures: api.QueueFigures{
					Packets: 50, Bytes: 75_000, PeakPackets: 200, PeakBytes: 300_000,
					Enqueued: 938, Dequeued: 858, DequeuedBytes: 1_287_000, Marks: 9,
					Drops:       map[string]uint64{"tail": 25, "aqm": 5},
					HeadSojourn: 4 * time.Millisecond, SojournBuckets: b0,
					SojournP50: 5 * time.Microsecond, SojournP99: 68 * time.Second,
				},
				AQM: api.AQMState{Kind: "codel", Dropping: true, Count: 3, Drops: 5, Marks: 9},
			},
			{
				Index: 1, Port: "p1", Class: 1,
				QueueFigures: api.QueueFigures{
					Packets: 10, Bytes: 15_000, PeakPackets: 12, PeakBytes: 18_000,
					Enqueued: 52, Dequeued: 42, DequeuedBytes: 63_000, Drops: map[string]uint64{},
					SojournBuckets: b1, SojournP50: 800 * time.Microsecond, SojournP99: time.Millisecond,
				},
				AQM: api.AQMState{Kind: "pie", DropProb: 0.125, QDelay: 3 * time.Millisecond},
			},
			{
				Index: 2, Input: "p0", Class: -1,
				QueueFigures: api.QueueFigures{Drops: map[string]uint64{"no_buffer": 2}},
				AQM:          api.AQMState{Kind: "red", DropProb: 0.02, AvgQueue: 4.5, Drops: 1},
			},
		},
		Buffer: api.Buffer{
			Pools: []api.Pool{{
				Name: "shared", Size: 1_000_000, Used: 96_000, Stored: 90_000, Cells: 375, Descriptors: 60,
				Efficiency: 0.9375, Peak: 320_000, Drops: map[string]uint64{"no_buffer": 2},
				Queues: []api.PoolQueue{
					{Queue: 0, Port: "p1", Class: 0, Profile: "lossy", Used: 80_000, Peak: 300_000, Threshold: 452_000},
					{Queue: 1, Port: "p1", Class: 1, Profile: "lossy", Used: 16_000, Peak: 20_000, Threshold: 452_000},
				},
			}},
			Tiers: &api.Tiers{
				Mode: "hybrid", OnchipBytes: 60_000, OnchipPeak: 64_000, OffchipBytes: 30_000, OffchipPeak: 250_000,
				OffchipPacketShare: 0.25, OffchipByteShare: 0.3, Evictions: 7, Readmissions: 6, BandwidthDrops: 1,
				EvictedQueues: 1,
			},
		},
		Routes: []api.Route{
			{Prefix: "10.1.0.0/24", Port: "p0", Connected: true},
			{Prefix: "10.2.0.0/24", Port: "p1", Connected: true},
			{Prefix: "192.168.0.0/16", Port: "p1", Via: "10.2.0.2"},
		},
		Neighbors: []api.Neighbor{
			{IP: "10.2.0.2", MAC: "02:00:00:00:01:02", Resolved: true},
			{IP: "10.2.0.9", Resolved: false},
		},
		Config: map[string]any{"burst_size": 32, "api": map[string]any{"listen": "127.0.0.1:9180", "token": ""},
			"ports": []any{map[string]any{"name": "p0"}}},
		Destinations: map[netip.Addr]uint64{netip.MustParseAddr("10.2.0.7"): 42},
		Other:        17,
		Queued: []api.QueuedPacket{
			{Src: "10.1.0.5", Dst: "10.2.0.7", SrcPort: 40000, DstPort: 5201, Proto: 6, Len: 1500, Port: "p1", Tier: "onchip", Age: 5 * time.Millisecond},
			{Src: "10.1.0.5", Dst: "10.2.0.7", SrcPort: 40000, DstPort: 5201, Proto: 6, Len: 1500, Port: "p1", Tier: "offchip", Age: 1500 * time.Millisecond},
			{Src: "10.1.0.6", Dst: "10.2.0.8", SrcPort: 5353, DstPort: 53, Proto: 17, Len: 80, Class: 1, Queue: 1, Port: "p1", Tier: "onchip", Age: 3 * time.Second},
		},
	}
}
