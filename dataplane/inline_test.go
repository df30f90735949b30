package dataplane

import (
	"testing"

	"github.com/dpdkq/dpdkq/internal/inlinetest"
)

// TestInlined: the per-packet helpers of the poll loop, and the mbuf field reads it
// makes without a cgo call, are inlined (their comments rely on it).
func TestInlined(t *testing.T) {
	inlinetest.Check(t, "github.com/dpdkq/dpdkq/mempool", "Frame", "PktLen", "NbSegs", "MetaOf")
	inlinetest.Check(t, "github.com/dpdkq/dpdkq/dataplane",
		"(*lpmTable).lookup", "setDesc", "(*poller).setTx", "(*poller).poll", "(*poller).got",
		"(*worker).clock", "(*worker).dropMbuf", "(*worker).waiting", "(*stallState).gap", "stallCheck")
}
