package dataplane

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dpdkq/dpdkq/lcore"
)

// The EAL can be initialized once per process: every test in this package shares it
// and starts/stops its own Router (ports are hot-plugged vdevs, so runs do not clash).
func init() { runtime.LockOSThread() }

// started lists every router the tests brought up (through onStart).
var started struct {
	sync.Mutex
	routers []*Router
}

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
	onStart = func(r *Router) {
		started.Lock()
		started.routers = append(started.routers, r)
		started.Unlock()
	}
	code := m.Run()
	if leaks := mbufLeaks(); len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: mbufs not returned:\n  "+strings.Join(leaks, "\n  "))
		code = 1
	}
	_ = lcore.Cleanup()
	os.Exit(code)
}

// mbufLeaks names every router the tests started that was not stopped, or whose stop
// found mbufs missing (of its pool or, with copy_offchip, of the off-chip pool).
func mbufLeaks() []string {
	started.Lock()
	defer started.Unlock()
	var out []string
	for _, r := range started.routers {
		var devs []string
		for _, p := range r.cfg.Ports {
			devs = append(devs, p.Device)
		}
		name := "router on " + strings.Join(devs, ", ")
		if r.final == nil {
			s := r.Stop()
			out = append(out, fmt.Sprintf("%s was never stopped (%d mbufs still out at its stop here)", name, s.MempoolLeaked))
			continue
		}
		if n := r.final.MempoolLeaked; n != 0 {
			out = append(out, fmt.Sprintf("%s leaked %d mbufs", name, n))
		}
	}
	return out
}
