package voq

// slotter maps the crossbar's time slots onto budget-driven Dequeue calls, for the
// two architectures where inputs contend: voq with the islip arbiter and input-fifo.
//
// Each Dequeue call of an output port is that port's turn in the current slot. When a
// port calls again after it has already had its turn, the slot is over and a new one
// begins; the ports that took a turn in the slot that just ended are the participants
// of the new one (ports ready to send). With the usual poll loop (every port dequeues
// once per pass) a slot is one pass, and a port that stops calling (a full tx ring, an
// empty token bucket) drops out of the matchings after one slot instead of holding
// inputs it will not serve.
//
// Within a slot an input may be matched to at most capa[i] outputs: 1, or the speedup
// S. A fractional S is a credit: every slot adds S, an input may be matched floor(credit)
// times, and the unused whole part is not carried over, so S = 1.5 alternates one and
// two matches per slot. The credit is fixed point with 10 fractional bits.
type slotter struct {
	cur    uint64
	turn   []uint64 // per output: 1 + the slot of its last turn (0 = never)
	turned uint64   // outputs that took their turn in cur
	match  []int    // per output: input matched in cur, -1 if none
	used   []uint8  // per input: matches in cur
	capa   []uint8  // per input: matches allowed in cur
	full   uint64   // inputs with used == capa
	credit []uint32 // per input, 1/1024 units
	speedQ uint32   // speedup in 1/1024 units
	gptr   []int    // per output: grant (round-robin) pointer, an input position
	aptr   []int    // per input: accept pointer, an output position
}

const creditShift = 10

func newSlotter(nOut, nIn int, speedup float64) slotter {
	s := slotter{
		turn:   make([]uint64, nOut),
		match:  make([]int, nOut),
		used:   make([]uint8, nIn),
		capa:   make([]uint8, nIn),
		credit: make([]uint32, nIn),
		speedQ: uint32(speedup*(1<<creditShift) + 0.5),
		gptr:   make([]int, nOut),
		aptr:   make([]int, nIn),
	}
	s.reset()
	return s
}

// reset clears the matches and hands out this slot's input capacities.
func (s *slotter) reset() {
	for o := range s.match {
		s.match[o] = -1
	}
	s.full = 0
	for i := range s.used {
		s.used[i] = 0
		s.credit[i] += s.speedQ
		s.capa[i] = uint8(s.credit[i] >> creditShift)
		s.credit[i] &= 1<<creditShift - 1
	}
}

// take records output o's turn. If o already had its turn in the current slot, a new
// slot begins and take returns true with the participants (outputs that had a turn in
// the slot that ended, o included).
func (s *slotter) take(o int) (began bool, participants uint64) {
	if s.turn[o] == s.cur+1 {
		participants = s.turned
		s.cur++
		s.turned = 0
		s.reset()
		began = true
	}
	s.turn[o] = s.cur + 1
	s.turned |= 1 << uint(o)
	return began, participants
}

// bind matches output o to input i in the current slot.
func (s *slotter) bind(o, i int) {
	s.match[o] = i
	s.used[i]++
	if s.used[i] >= s.capa[i] {
		s.full |= 1 << uint(i)
	}
}
