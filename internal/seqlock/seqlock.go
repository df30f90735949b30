// Package seqlock holds the single-writer, many-reader seqlocks dpdkq publishes
// statistics through: Set, records each under its own counter (the buffer models,
// carving and hybrid, which otherwise depend on nothing of dpdkq; the dataplane's
// per-lcore port counters, as one record), and Block, one
// counter over a block of words (an Arch's statistics in voq).
package seqlock

import (
	"runtime"
	"sync/atomic"
)

// Set holds fixed-width records of uint64 words, each guarded by its own sequence
// counter (a seqlock). The single writer makes the counter odd, stores the words and
// makes it even again; a reader copies the words and keeps the copy only if the
// counter was even and unchanged across the copy, so it never sees a half-written
// record. Words are atomics so the scheme is also clean under the race detector.
//
// One counter per record rather than one for everything: a reader copying a few
// thousand queues would otherwise be restarted by every Publish and could starve.
// The price is that two records read in one Snapshot may come from different
// Publish calls (a queue's figures are always coherent with themselves).
//
// Atomic stores are the writer's main cost (a locked instruction each on amd64), so
// the writer keeps a private shadow of what it last published and stores only the
// words that changed: after one packet, a queue record changes in a few words.
type Set struct {
	width  int
	seq    []atomic.Uint64
	words  []atomic.Uint64
	shadow []uint64 // writer-only copy of words
}

// New makes n records of width words.
func New(n, width int) Set {
	return Set{
		width:  width,
		seq:    make([]atomic.Uint64, n),
		words:  make([]atomic.Uint64, n*width),
		shadow: make([]uint64, n*width),
	}
}

// write publishes src (len == width) as record i. Single writer only.
// Write publishes record i (writer only).
func (s *Set) Write(i int, src []uint64) {
	sh := s.shadow[i*s.width : (i+1)*s.width]
	w := s.words[i*s.width : (i+1)*s.width]
	sq := &s.seq[i]
	begun := false
	for k, v := range src {
		if sh[k] == v {
			continue
		}
		if !begun {
			sq.Add(1) // odd: a write is under way
			begun = true
		}
		w[k].Store(v)
		sh[k] = v
	}
	if begun {
		sq.Add(1)
	}
}

// read copies record i into dst (len == width), retrying while a write is under way.
// Read copies a consistent record i (any goroutine).
func (s *Set) Read(i int, dst []uint64) {
	sq := &s.seq[i]
	w := s.words[i*s.width : (i+1)*s.width]
	for {
		before := sq.Load()
		if before&1 == 0 {
			for k := range dst {
				dst[k] = w[k].Load()
			}
			if sq.Load() == before {
				return
			}
		}
		runtime.Gosched()
	}
}

// Block is one sequence counter over a whole block of words, for a reader that needs
// every word from the same write (an Arch's statistics: a port's totals must match its
// queues'). The single writer brackets its stores with BeginWrite and EndWrite, storing
// through Put; a reader copies inside Read, which retries while a write was under way
// or happened under it.
//
// Progress: a reader of a large block needs a window without a write, which a writer
// publishing every few microseconds might never leave. After optimisticTries failed
// copies the reader registers as waiting, and BeginWrite refuses while anyone waits:
// the writer skips that write (it must keep what changed for the next one), so the
// published words are briefly staler but the reader finishes.
type Block struct {
	seq     atomic.Uint64
	waiters atomic.Int32
	words   []atomic.Uint64
}

const optimisticTries = 4

// NewBlock makes a block of n words, all zero.
func NewBlock(n int) Block {
	return Block{words: make([]atomic.Uint64, n)}
}

// Words returns the block's words: the writer stores with Put between BeginWrite and
// EndWrite, a reader loads inside Read.
func (b *Block) Words() []atomic.Uint64 { return b.words }

// BeginWrite starts a write and reports true, or reports false (and starts nothing)
// while a reader waits; then the writer must not store. Writer only.
func (b *Block) BeginWrite() bool {
	if b.waiters.Load() != 0 {
		return false
	}
	b.seq.Add(1) // odd: readers wait
	return true
}

// EndWrite ends the write BeginWrite started. Writer only.
func (b *Block) EndWrite() { b.seq.Add(1) }

// Read calls copy until one call ran with no write under way or completed during it,
// and returns the number of writes completed before that copy. copy must only load
// the words (and may be called several times). Any goroutine.
func (b *Block) Read(copy func()) uint64 {
	for try := 1; ; try++ {
		if try == optimisticTries+1 {
			b.waiters.Add(1)
		}
		s := b.seq.Load()
		if s&1 != 0 {
			runtime.Gosched()
			continue
		}
		copy()
		if b.seq.Load() == s {
			if try > optimisticTries {
				b.waiters.Add(-1)
			}
			return s / 2
		}
	}
}

// Put stores v into w unless w already holds it. With a single writer its load sees
// its own last store, so an unchanged word (most of a histogram, most counters after
// one packet) costs a plain load instead of the locked exchange an atomic store is on
// amd64.
func Put(w *atomic.Uint64, v uint64) {
	if w.Load() != v {
		w.Store(v)
	}
}
