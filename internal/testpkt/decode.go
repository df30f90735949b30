package testpkt

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Decoded is a frame as gopacket sees it. Layers the frame does not have are nil.
type Decoded struct {
	Packet gopacket.Packet
	Eth    *layers.Ethernet
	Dot1Q  *layers.Dot1Q
	ARP    *layers.ARP
	IPv4   *layers.IPv4
	IPv6   *layers.IPv6
	UDP    *layers.UDP
	TCP    *layers.TCP
	ICMP   *layers.ICMPv4
}

// Decode decodes frame with gopacket (on a copy, so later edits to frame do not show).
// It fails only when gopacket reports a decoding error; checksums are not looked at
// (see VerifyChecksums).
func Decode(frame []byte) (*Decoded, error) {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		return nil, fmt.Errorf("testpkt: gopacket cannot decode the %d-byte frame: %w", len(frame), el.Error())
	}
	d := &Decoded{Packet: p}
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.Ethernet:
			d.Eth = l
		case *layers.Dot1Q:
			d.Dot1Q = l
		case *layers.ARP:
			d.ARP = l
		case *layers.IPv4:
			d.IPv4 = l
		case *layers.IPv6:
			d.IPv6 = l
		case *layers.UDP:
			d.UDP = l
		case *layers.TCP:
			d.TCP = l
		case *layers.ICMPv4:
			d.ICMP = l
		}
	}
	// gopacket needs the network layer to check a transport checksum (pseudo-header).
	var nl gopacket.NetworkLayer
	if d.IPv4 != nil {
		nl = d.IPv4
	} else if d.IPv6 != nil {
		nl = d.IPv6
	}
	if nl != nil {
		if d.UDP != nil {
			_ = d.UDP.SetNetworkLayerForChecksum(nl)
		}
		if d.TCP != nil {
			_ = d.TCP.SetNetworkLayerForChecksum(nl)
		}
	}
	return d, nil
}

// VerifyChecksums checks every checksum gopacket knows in the frame (IPv4 header,
// ICMPv4, UDP, TCP) with gopacket's own code and reports the mismatches.
func (d *Decoded) VerifyChecksums() error {
	err, bad := d.Packet.VerifyChecksums()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range bad {
		errs = append(errs, fmt.Errorf("testpkt: %s checksum is %#04x, gopacket computes %#04x",
			m.Layer.LayerType(), m.Actual, m.Correct))
	}
	return errors.Join(errs...)
}

// DecodeValid decodes frame and fails tb unless gopacket decodes it and every checksum
// in it verifies.
func DecodeValid(tb testing.TB, frame []byte) *Decoded {
	tb.Helper()
	d, err := Decode(frame)
	if err != nil {
		tb.Fatal(err)
	}
	if err := d.VerifyChecksums(); err != nil {
		tb.Fatalf("frame %x: %v", frame, err)
	}
	return d
}
