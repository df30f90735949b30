package wire

import (
	"testing"

	"github.com/dpdkq/dpdkq/internal/inlinetest"
)

// TestInlined: the per-packet functions of the forwarding fast path are inlined into
// the poll loop (their comments and BenchmarkForwardLoop rely on it).
func TestInlined(t *testing.T) {
	inlinetest.Check(t, "github.com/dpdkq/dpdkq/wire",
		"RouteFields", "RouteDst", "ForwardPlain", "decTTL", "putMACs", "FlowHash", "Hash32")
}
