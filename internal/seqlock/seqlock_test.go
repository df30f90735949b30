package seqlock

import (
	"sync"
	"testing"
)

// TestBlockConsistent: a reader never sees words from two writes, while a writer
// rewrites the whole block with one value per write.
func TestBlockConsistent(t *testing.T) {
	b := NewBlock(64)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := uint64(1); ; v++ {
			select {
			case <-stop:
				return
			default:
			}
			if !b.BeginWrite() {
				continue
			}
			for i := range b.Words() {
				Put(&b.Words()[i], v)
			}
			b.EndWrite()
		}
	}()
	got := make([]uint64, 64)
	for range 2000 {
		b.Read(func() {
			for i := range got {
				got[i] = b.Words()[i].Load()
			}
		})
		for i := range got {
			if got[i] != got[0] {
				t.Fatalf("word %d = %d, word 0 = %d: a torn read", i, got[i], got[0])
			}
		}
	}
	close(stop)
	wg.Wait()
}

// TestBlockWaitingReaderPausesWriter: after optimisticTries copies spoiled by writes,
// the reader registers as waiting and BeginWrite refuses until it is done; Read
// returns the count of completed writes.
func TestBlockWaitingReaderPausesWriter(t *testing.T) {
	b := NewBlock(1)
	calls, refused := 0, 0
	n := b.Read(func() {
		if calls++; calls > 2*optimisticTries {
			return // a writer that never yields would spin the reader for ever
		}
		if b.BeginWrite() {
			b.EndWrite()
		} else {
			refused++
		}
	})
	if calls != optimisticTries+1 || refused != 1 {
		t.Fatalf("copies %d, writes refused %d; want %d and 1", calls, refused, optimisticTries+1)
	}
	if n != optimisticTries {
		t.Fatalf("Read = %d writes, want %d", n, optimisticTries)
	}
	if !b.BeginWrite() {
		t.Fatal("BeginWrite refused after the reader left")
	}
	b.EndWrite()
}
