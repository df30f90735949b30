// Package wire parses and edits Ethernet/IPv4 frames (the wire format) in place for the dataplane's
// per-packet path, and answers ARP and ICMP echo so the router is a good LAN citizen.
//
// Principles:
//   - The dataplane hands us a []byte view straight over an mbuf's data (no copy):
//     len is the frame's data length; cap may run further, to the end of the buffer,
//     which the in-place reply builders may use. Nothing here keeps the slice.
//   - Every function on the per-packet path runs at tens of Mpps: no allocation, no
//     interfaces, no fmt, fixed offsets read with encoding/binary.BigEndian, one length
//     check up front so the compiler drops the per-byte bounds checks, and a small enum
//     result (pkt.DropReason, bool, Verdict) instead of an error value.
//   - Offsets are Ethernet-relative: an IPv4 header starts at 14, or at 18 behind one
//     802.1Q tag. Double tags (QinQ) are not IPv4 for us (DropUnsupported).
//   - Checksums are RFC 1071 ones'-complement sums; single-field edits (TTL, ECN, ICMP
//     type) update the checksum incrementally with RFC 1624 eqn. 3, which gives exactly
//     the value a full recomputation gives (tests check this against gopacket).
//   - Parsing validates in the order the header is read and returns the first problem,
//     so every malformed packet is counted under exactly one reason.
//
// Addresses are uint32 in host order (10.0.0.1 is 0x0A000001), the form routing
// tables and comparisons want; Addr converts one to netip.Addr off the hot path.
package wire
