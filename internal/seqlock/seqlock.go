// Package seqlock is the single-writer, many-reader record store the buffer models
// publish their statistics through (shared by carving and hybrid, which otherwise
// depend on nothing of dpdkq).
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
