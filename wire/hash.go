package wire

// FlowHash hashes an IPv4 5-tuple to 32 bits for flow queues (FQ-CoDel), VOQ
// spreading and load sharing.
//
// Construction: the addresses form one 64-bit word a = src<<32 | dst and the ports
// and protocol another, b = sport<<48 | dport<<32 | proto. a is multiplied by an odd
// constant (2^64 / golden ratio, a bijection), XORed with b, and the result goes
// through the MurmurHash3 64-bit finalizer (xor-shift 33, multiply, xor-shift 33,
// multiply, xor-shift 33; its two constants are the published ones), whose avalanche
// makes every input bit affect every output bit with probability close to 1/2. The
// top and bottom halves are XORed into the 32-bit result. Cost: three multiplies,
// about 2 ns; no tables.
//
// Properties and limits: deterministic (the same flow hashes the same across runs
// and machines, so captures are reproducible); not symmetric (A->B and B->A usually
// differ); not keyed, so a sender who knows it can aim many flows at one bucket. A
// fair-queueing user that must resist that should mix a per-queue random
// perturbation into the result (e.g. FlowHash(...) ^ seed, then remix).
func FlowHash(src, dst uint32, sport, dport uint16, proto uint8) uint32 {
	a := uint64(src)<<32 | uint64(dst)
	b := uint64(sport)<<48 | uint64(dport)<<32 | uint64(proto)
	h := a*0x9E3779B97F4A7C15 ^ b
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h) ^ uint32(h>>32)
}

// Hash32 hashes a 32-bit key (an IPv4 address) for a table index: Knuth's
// multiplicative hash, the key times 2^32 / golden ratio (odd, so a bijection). The
// high bits are the well-mixed ones: a table of 2^k slots takes Hash32(key) >> (32-k).
// Consecutive keys (the hosts of a subnet) land 2^k / golden ratio slots apart, so
// they spread over the table instead of clustering. One multiply; the neighbor table
// and the ARP hold's filter use it.
func Hash32(key uint32) uint32 { return key * 2654435761 }
