// Package inlinetest checks that functions the hot path relies on being inlined still
// are: it builds a package with -gcflags=-m and looks for the compiler's "can inline"
// line of each. A function that grows past the inlining budget then fails a test
// instead of silently costing a call per packet.
package inlinetest

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Check builds pkg (an import path) and fails t for every function of funcs the
// compiler cannot inline. Names are as the compiler prints them: F, (*T).M, T.M.
func Check(t *testing.T, pkg string, funcs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the package: not in -short")
	}
	out, err := exec.Command("go", "build", "-gcflags=-m", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m %s: %v\n%s", pkg, err, out)
	}
	can := map[string]bool{}
	re := regexp.MustCompile(`: can inline (\S+)`)
	for _, line := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			can[m[1]] = true
		}
	}
	for _, f := range funcs {
		if !can[f] {
			t.Errorf("%s.%s is no longer inlinable (go build -gcflags=-m %s): the hot path pays a call for it", pkg, f, pkg)
		}
	}
}
