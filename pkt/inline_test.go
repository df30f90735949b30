package pkt

import (
	"testing"

	"github.com/dpdkq/dpdkq/internal/inlinetest"
)

// TestInlined: the word copies are inlined where queues store and deliver descriptors.
func TestInlined(t *testing.T) {
	inlinetest.Check(t, "github.com/dpdkq/dpdkq/pkt", "(*Desc).CopyTo", "(*Desc).CopyToQueue", "(*Desc).Set")
}
