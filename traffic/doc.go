// Package traffic is the model of dpdkq's built-in traffic source and sink: it decides
// which frames a source sends and when, writes and parses them, and accounts for what
// a sink receives. It is pure Go (no cgo, no DPDK), depends only on package wire,
// and takes time as a parameter, so every behaviour is tested with a manual clock.
// The dataplane owns the mbufs and calls it from the poll loop.
//
// Source. NewSource turns SourceParams (human units, validated with errors that name
// the YAML key) into a Source. Source.Due(now, out) fills a caller-owned burst array
// with the frames due at or before now and never allocates; WriteFrame then writes
// each into an mbuf's data room. Frames are Ethernet/IPv4/UDP with a correct IPv4
// header checksum, UDP checksum 0, DF set, and an 18-byte payload header (magic,
// source port index, flags, flow id, 32-bit sequence number, creation timestamp),
// which is what a 60-byte frame holds. Flow k towards output o has flow id
// o×flows + k and UDP source port 49152 + k; its DSCP and ECN come from the dscp and
// ecn lists (cycled over k). The destination address per output comes from
// Addressing (OutputIPs gives one /24 per output).
//
// Units. Times are int64 ns on the caller's clock; t0 is the run's origin, from which
// start, stop and incast offsets count. Frame lengths are bytes without the FCS, as
// the router stores and counts them (a "64-byte frame" is 60 here; MinFrameLen). A bit
// rate is at layer l1 by default: each frame costs (length + 24) × 8 bits, 24 being
// preamble and SFD, FCS and inter-frame gap — the measure the port shaper charges, so
// a source at a port's rate fills that port exactly. At l2 a frame costs length × 8
// bits, the measure of the router's byte counters. pps counts frames.
//
// Arrival processes: constant (frame n is due at start + (cost of frames 0..n-1) /
// rate, computed from the cumulative cost so no rounding accumulates); poisson
// (exponential gaps with mean 1/λ, λ = rate / mean frame cost); bernoulli (one frame
// per slot with probability λ×slot); onoff (bursts of geometric length with mean
// `burst` frames paced at `peak`, separated by exponential idle periods, the mean
// idle derived so that the mean rate is `rate`; or `idle` given and the peak derived;
// burst_dist fixed makes both constant); incast (burst k of `burst` frames starts at
// t0 + offset + k × period, frames inside it paced at `rate`, so sources with the
// same t0, offset and period burst together). Destination matrices: uniform,
// hotspot, permutation, weights; frame sizes: fixed, IMIX (7:4:1 of 60/566/1514 B),
// or an explicit distribution; both drawn in O(1) by alias tables from a PCG
// generator seeded by `seed`, so a seed fixes the whole frame sequence.
//
// Falling behind: frames due while the caller was late are still handed out (with
// their due times and sequence numbers) up to catch_up behind; older backlog is
// skipped and counted (see Source). Late counts frames handed out more than
// late_after after their due time.
//
// Sink. ParseFrame reads the payload header back (no allocation); Sink.Record counts
// the frame per flow and per (input, output, class) and sends its one-way latency
// (now - timestamp) to a LatencyRecorder. Loss and reordering are defined on Sink.
// Readers take Sink.Snapshot from any goroutine; the record path takes no lock.
//
// Costs (go test -run X -bench . ./traffic, medians in the README): Due + WriteFrame
// and ParseFrame + Record are each a few tens of ns per frame.
package traffic
