// Package testpkt crafts, mutates, decodes and stores test frames for the whole
// project. It builds and checks packets with gopacket (layers, pcapgo) so that it is
// an independent reference for the dataplane's own parsing code: it never imports
// package packet. Helpers may allocate and panic on programmer errors (a malformed
// address literal); they are for tests and tools only.
package testpkt

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Default addresses. RouterMAC is the router's in0 port in the default configuration;
// HostMAC stands for any host on in0's LAN.
var (
	RouterMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	HostMAC   = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	Broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// Options adjusts the frames the builders make. The zero value gives untagged frames
// from HostMAC to RouterMAC, IP id 0, DF clear, no IP options.
type Options struct {
	SrcMAC    net.HardwareAddr // Ethernet source (nil: HostMAC)
	DstMAC    net.HardwareAddr // Ethernet destination (nil: RouterMAC; broadcast for ARP requests)
	VLAN      uint16           // 802.1Q VLAN id; 0 means untagged
	IPID      uint16           // IPv4 identification
	DF        bool             // set don't-fragment
	IPOptions []layers.IPv4Option
	TCPSeq    uint32 // TCP sequence number
}

func (o Options) srcMAC() net.HardwareAddr {
	if o.SrcMAC != nil {
		return o.SrcMAC
	}
	return HostMAC
}

func (o Options) dstMAC(def net.HardwareAddr) net.HardwareAddr {
	if o.DstMAC != nil {
		return o.DstMAC
	}
	return def
}

// link returns the Ethernet layer (and the 802.1Q tag when o.VLAN != 0) for a payload
// of EtherType et.
func (o Options) link(dst net.HardwareAddr, et layers.EthernetType) []gopacket.SerializableLayer {
	eth := &layers.Ethernet{SrcMAC: o.srcMAC(), DstMAC: dst, EthernetType: et}
	if o.VLAN == 0 {
		return []gopacket.SerializableLayer{eth}
	}
	eth.EthernetType = layers.EthernetTypeDot1Q
	return []gopacket.SerializableLayer{eth, &layers.Dot1Q{VLANIdentifier: o.VLAN, Type: et}}
}

func (o Options) ipv4(src, dst string, ttl, tos uint8, proto layers.IPProtocol) *layers.IPv4 {
	ip := &layers.IPv4{
		Version: 4, IHL: 5, TOS: tos, Id: o.IPID, TTL: ttl, Protocol: proto,
		SrcIP: ip4(src), DstIP: ip4(dst), Options: o.IPOptions,
	}
	if o.DF {
		ip.Flags = layers.IPv4DontFragment
	}
	return ip
}

// UDP returns a valid Ethernet/IPv4/UDP frame with correct IP and UDP checksums and a
// payloadLen-byte deterministic payload. Frames under 60 bytes are zero-padded to 60
// (IP total length stays exact). tos is the whole TOS byte (DSCP<<2 | ECN).
func (o Options) UDP(src, dst string, sport, dport uint16, ttl, tos uint8, payloadLen int) []byte {
	ip := o.ipv4(src, dst, ttl, tos, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	mustChecksumLayer(udp.SetNetworkLayerForChecksum(ip))
	ls := append(o.link(o.dstMAC(RouterMAC), layers.EthernetTypeIPv4), ip, udp, gopacket.Payload(Payload(payloadLen)))
	return serialize(ls...)
}

// TCP returns a valid Ethernet/IPv4/TCP (ACK|PSH, seq o.TCPSeq, 20-byte header) frame
// with correct checksums; otherwise like UDP.
func (o Options) TCP(src, dst string, sport, dport uint16, ttl, tos uint8, payloadLen int) []byte {
	ip := o.ipv4(src, dst, ttl, tos, layers.IPProtocolTCP)
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport),
		Seq: o.TCPSeq, Ack: 1, ACK: true, PSH: true, Window: 65535,
	}
	mustChecksumLayer(tcp.SetNetworkLayerForChecksum(ip))
	ls := append(o.link(o.dstMAC(RouterMAC), layers.EthernetTypeIPv4), ip, tcp, gopacket.Payload(Payload(payloadLen)))
	return serialize(ls...)
}

// ICMPEcho returns an ICMP echo request (type 8) with identifier id, sequence seq and a
// payloadLen-byte payload, with correct IP and ICMP checksums.
func (o Options) ICMPEcho(src, dst string, id, seq uint16, ttl uint8, payloadLen int) []byte {
	ip := o.ipv4(src, dst, ttl, 0, layers.IPProtocolICMPv4)
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: id, Seq: seq}
	ls := append(o.link(o.dstMAC(RouterMAC), layers.EthernetTypeIPv4), ip, icmp, gopacket.Payload(Payload(payloadLen)))
	return serialize(ls...)
}

// ARPRequest returns a "who has targetIP? tell senderIP" request from o.SrcMAC,
// broadcast unless o.DstMAC is set (a unicast re-validation request). gopacket pads
// it to 60 bytes.
func (o Options) ARPRequest(senderIP, targetIP string) []byte {
	arp := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: o.srcMAC(), SourceProtAddress: ip4(senderIP),
		DstHwAddress: make(net.HardwareAddr, 6), DstProtAddress: ip4(targetIP),
	}
	return serialize(append(o.link(o.dstMAC(Broadcast), layers.EthernetTypeARP), arp)...)
}

// ARPReply returns "senderIP is at o.SrcMAC" sent to targetMAC/targetIP.
func (o Options) ARPReply(senderIP string, targetMAC net.HardwareAddr, targetIP string) []byte {
	arp := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPReply,
		SourceHwAddress: o.srcMAC(), SourceProtAddress: ip4(senderIP),
		DstHwAddress: targetMAC, DstProtAddress: ip4(targetIP),
	}
	return serialize(append(o.link(o.dstMAC(targetMAC), layers.EthernetTypeARP), arp)...)
}

// IPv6UDP returns a valid Ethernet/IPv6/UDP frame (EtherType 0x86DD), which the router
// does not forward.
func (o Options) IPv6UDP(src, dst string, sport, dport uint16, payloadLen int) []byte {
	ip := &layers.IPv6{
		Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
		SrcIP: netip.MustParseAddr(src).AsSlice(), DstIP: netip.MustParseAddr(dst).AsSlice(),
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	mustChecksumLayer(udp.SetNetworkLayerForChecksum(ip))
	ls := append(o.link(o.dstMAC(RouterMAC), layers.EthernetTypeIPv6), ip, udp, gopacket.Payload(Payload(payloadLen)))
	return serialize(ls...)
}

// UDP builds a frame with zero Options (see Options.UDP).
func UDP(src, dst string, sport, dport uint16, ttl, tos uint8, payloadLen int) []byte {
	return Options{}.UDP(src, dst, sport, dport, ttl, tos, payloadLen)
}

// TCP builds a frame with zero Options (see Options.TCP).
func TCP(src, dst string, sport, dport uint16, ttl, tos uint8, payloadLen int) []byte {
	return Options{}.TCP(src, dst, sport, dport, ttl, tos, payloadLen)
}

// ICMPEcho builds an echo request with zero Options (see Options.ICMPEcho).
func ICMPEcho(src, dst string, id, seq uint16, ttl uint8, payloadLen int) []byte {
	return Options{}.ICMPEcho(src, dst, id, seq, ttl, payloadLen)
}

// ARPRequest builds a broadcast request from HostMAC (see Options.ARPRequest).
func ARPRequest(senderIP, targetIP string) []byte {
	return Options{}.ARPRequest(senderIP, targetIP)
}

// Payload returns n deterministic, non-zero-filled bytes (byte i is i mod 251), so a
// test can check that a payload came through intact.
func Payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// IPv4 parses a dotted-quad literal into host-order uint32, panicking on bad input.
func IPv4(s string) uint32 {
	return binary.BigEndian.Uint32(ip4(s))
}

func ip4(s string) net.IP {
	a := netip.MustParseAddr(s)
	if !a.Is4() {
		panic("testpkt: not an IPv4 address: " + s)
	}
	b := a.As4()
	return net.IP(b[:])
}

func mustChecksumLayer(err error) {
	if err != nil {
		panic("testpkt: " + err.Error())
	}
}

// serialize builds the frame with lengths and checksums computed by gopacket.
func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		panic("testpkt: serialize: " + err.Error())
	}
	return append([]byte(nil), buf.Bytes()...)
}
