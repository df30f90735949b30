package dataplane

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/wire"
)

// TestARPHold drives one worker by hand: packets to a next hop that is not resolved
// wait (three per neighbor, the rest dropped as arp_pending) while the router asks for
// it; the reply releases them, in order and before the packet that follows; a neighbor
// that never answers costs its held packets after the timeout; and a packet still held
// at stop is counted as queued. The egress is a net_ring port, read back to see what
// went out.
func TestARPHold(t *testing.T) {
	ringRuns++
	cfg := Config{
		Ports: []PortConfig{
			{Name: "a", Device: "net_null30,no-rx=1", Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1},
			{Name: "b", Device: fmt.Sprintf("net_ring%d", 20+ringRuns), Addr: netip.MustParsePrefix("10.1.0.1/24"), EgressLcore: -1},
		},
		Routes: []Route{
			{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Port: 1, Via: netip.MustParseAddr("10.1.0.2")},
			{Prefix: netip.MustParsePrefix("10.3.0.0/16"), Port: 1, Via: netip.MustParseAddr("10.1.0.3")},
		},
	}
	handConfig(&cfg)
	r, err := start(cfg, nil, false)
	require.NoError(t, err)
	w := r.workers[0]
	in := func(port int, now int64, frames ...[]byte) {
		require.True(t, r.pool.AllocBulk(w.rxBuf(), len(frames)))
		for i, m := range w.rxBuf().S()[:len(frames)] {
			mempool.SetLen(m, len(frames[i]))
			copy(mempool.Data(m), frames[i])
		}
		w.processRx(port, w.rxBuf().S()[:len(frames)], now)
		w.flushCtrl()
		for _, e := range w.egress {
			w.serveEgress(e, now)
		}
		w.flushFree()
	}
	var tsc uint64
	out := func() (frames [][]byte) { // what port b sent, oldest first
		for {
			n := rxBurst(r.ports[1].id, 0, w.rxBuf().Addr(), 32, &tsc)
			for _, m := range w.rxBuf().S()[:n] {
				frames = append(frames, append([]byte(nil), mempool.Frame(m)...))
			}
			w.rxBuf().FreeBulk(n)
			if n == 0 {
				return frames
			}
		}
	}
	udp := func(dst string, sport uint16) []byte { return testpkt.UDP("10.0.0.2", dst, sport, 9, 64, 0, 22) }
	isARPRequestFor := func(f []byte, target string) bool {
		var a wire.ARPInfo
		return wire.ParseARP(f, &a) && a.Op == wire.ARPRequest && a.TargetIP == testpkt.IPv4(target)
	}
	drops := func(port int, reason pkt.DropReason) uint64 {
		w.publish()
		return r.Counters()[port].Drops[reason]
	}

	// Five packets for 10.1.0.2: three wait, two are dropped, one ARP request goes out.
	now := int64(1e9)
	in(0, now, udp("10.2.0.7", 1), udp("10.2.0.7", 2), udp("10.2.0.7", 3), udp("10.2.0.7", 4), udp("10.2.0.7", 5))
	require.Len(t, w.arp.pkts, 3)
	require.EqualValues(t, 2, drops(0, pkt.DropARPPending))
	sent := out()
	require.Len(t, sent, 1)
	require.True(t, isARPRequestFor(sent[0], "10.1.0.2"))

	// The reply arrives; the next packet for the same neighbor first releases the three.
	hostMAC := net.HardwareAddr{2, 0, 0, 0, 0x22, 0x22}
	routerB := net.HardwareAddr(r.ports[1].mac[:])
	in(1, now+1000, testpkt.Options{SrcMAC: hostMAC}.ARPReply("10.1.0.2", routerB, "10.1.0.1"))
	in(0, now+2000, udp("10.2.0.7", 6))
	require.Empty(t, w.arp.pkts)
	sent = out()
	require.Len(t, sent, 4)
	for i, f := range sent {
		d := testpkt.DecodeValid(t, f)
		require.Equal(t, hostMAC, d.Eth.DstMAC, "frame %d", i)
		require.EqualValues(t, 63, d.IPv4.TTL)
		require.EqualValues(t, []uint16{1, 2, 3, 6}[i], uint16(d.UDP.SrcPort), "held packets keep their place")
	}

	// 10.1.0.3 never answers: its packet waits, the request is repeated after a
	// second, and after three seconds the packet is dropped.
	in(0, now, udp("10.3.0.9", 7))
	require.Len(t, w.arp.pkts, 1)
	require.True(t, isARPRequestFor(out()[0], "10.1.0.3"))
	w.serviceARPHold(now + arpRetry)
	w.flushCtrl()
	require.Len(t, w.arp.pkts, 1)
	retry := out()
	require.Len(t, retry, 1)
	require.True(t, isARPRequestFor(retry[0], "10.1.0.3"))
	w.serviceARPHold(now + arpHoldTimeout)
	w.flushFree()
	require.Empty(t, w.arp.pkts)
	require.EqualValues(t, 3, drops(0, pkt.DropARPPending))

	// Held at stop: counted as queued, and every mbuf comes back.
	in(0, now+arpHoldTimeout, udp("10.3.0.9", 8))
	require.Len(t, w.arp.pkts, 1)
	out()
	s := r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)
	require.EqualValues(t, 1, s.Ports[0].Queued)
	require.EqualValues(t, 4, s.Ports[0].Forwarded)
}
