package dataplane_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/dpdkq/dpdkq/lcore"
)

// The EAL can be initialized once per process: every test in this package shares it
// and starts/stops its own Router (ports are hot-plugged vdevs, so runs do not clash).
func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) {
	// Three lcores on however many CPUs there are: main 0 plus workers 1 and 2, so the
	// multi-worker shape is tested on a 2-core machine.
	args := []string{"--no-huge", "--no-pci", "-m", "512", "--lcores", "0@0,1@1,2@0",
		"--file-prefix", fmt.Sprintf("dqdp%d", os.Getpid()), "--log-level", "lib.*:error", "--log-level", "pmd.*:error"}
	if err := lcore.Init(args); err != nil {
		fmt.Fprintln(os.Stderr, "EAL init:", err)
		os.Exit(1)
	}
	if _, err := lcore.ConfineRuntime(); err != nil {
		fmt.Fprintln(os.Stderr, "confine:", err)
	}
	code := m.Run()
	_ = lcore.Cleanup()
	os.Exit(code)
}
