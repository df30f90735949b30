package voq

import (
	"os/exec"
	"regexp"
	"testing"
)

// TestInlining checks that the functions the hot loops rely on being inlined (their
// comments say so, or the loops were measured with them inlined) still are: a change
// that pushes one over the compiler's budget shows up here rather than as a slower
// BenchmarkRouterShape. It runs the compiler with -m on this package.
func TestInlining(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	out, err := exec.Command(goTool, "build", "-gcflags=-m", "-o", "/dev/null", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, fn := range []string{
		"(*leafBase).outcome", // the dequeue rule's common case, in every dequeue loop
		"(*sojournRuns).add",  // per delivered packet
		"dropsOrMarks",
		"packetOf",
		"(*queue).fits",
		"(*fqQueue).fits",
		"(*queue).rewind",
		"(*ledger).touchQ",
		"(*ledger).portAt",
		"(*QueueStats).admitN",
		"enqueueOne",
		"dequeueOne",
	} {
		re := regexp.MustCompile(`(?m): can inline ` + regexp.QuoteMeta(fn) + `( |$)`)
		if !re.Match(out) {
			t.Errorf("%s is no longer inlined (go build -gcflags=-m=2 ./voq says why)", fn)
		}
	}
}
