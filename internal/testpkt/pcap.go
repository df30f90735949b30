package testpkt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Frame is one packet read from a pcap file.
type Frame struct {
	Data []byte
	TS   time.Time
}

// SnapLen is the pcap snapshot length written in file headers: the largest frame
// (jumbo 9000-byte MTU plus Ethernet and VLAN headers) fits with room to spare.
const SnapLen = 65535

// BaseTime is the timestamp of the first frame when WritePcap is given no times;
// later frames follow 1 µs apart. A fixed date keeps generated files byte-identical.
var BaseTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// WritePcap writes frames to a new microsecond pcap file (link type Ethernet) at
// path. ts gives each frame's timestamp; frames without one (ts nil or short) get
// BaseTime + i µs.
func WritePcap(path string, frames [][]byte, ts []time.Time) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("testpkt: write pcap: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("testpkt: write pcap %s: %w", path, cerr)
		}
	}()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(SnapLen, layers.LinkTypeEthernet); err != nil {
		return fmt.Errorf("testpkt: write pcap %s: %w", path, err)
	}
	for i, fr := range frames {
		t := BaseTime.Add(time.Duration(i) * time.Microsecond)
		if i < len(ts) {
			t = ts[i]
		}
		ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			return fmt.Errorf("testpkt: write pcap %s frame %d: %w", path, i, err)
		}
	}
	return nil
}

// ReadPcap reads every frame of a pcap file.
func ReadPcap(path string) ([]Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("testpkt: read pcap: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("testpkt: read pcap %s: %w", path, err)
	}
	var out []Frame
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("testpkt: read pcap %s frame %d: %w", path, len(out), err)
		}
		out = append(out, Frame{Data: data, TS: ci.Timestamp})
	}
}
