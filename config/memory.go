package config

// FrameBytes is what one packet counts for in buffer memory sizes given in packets
// (pool sizes, reserves, static thresholds): a full Ethernet frame without FCS.
const FrameBytes = 1514

// MemoryBytes is a buffer-memory size in bytes: bytes as given, packets as full
// frames. Sizes in time or BDP units are refused by validation for these keys.
func (s Size) MemoryBytes() int64 {
	if s.Unit == Packets {
		return int64(s.Value * FrameBytes)
	}
	return int64(s.Value)
}
