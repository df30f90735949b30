package lcore

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ConfineRuntime pins every thread of the process that is not an EAL worker lcore to
// the main lcore's CPUs. EAL pins its worker threads, but the Go runtime's own threads
// (GC workers, sysmon, the threads serving the API) start with the whole machine as
// their affinity; the kernel then time-slices them onto a worker's CPU and the poll
// loop stalls for milliseconds, which shows up as gaps in a shaped port's output.
// Threads the runtime creates later inherit the confined mask (Go clones new threads
// from its template thread, which is confined here too).
//
// It returns how many threads were confined. Call it after Init.
func ConfineRuntime() (int, error) {
	var main unix.CPUSet
	if err := unix.SchedGetaffinity(0, &main); err != nil {
		return 0, fmt.Errorf("lcore: reading the main lcore's affinity: %w", err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/self/task/" + t.Name() + "/comm")
		if strings.HasPrefix(string(comm), "rte-worker") || strings.HasPrefix(string(comm), "lcore-worker") {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &main); err == nil {
			n++
		}
	}
	return n, nil
}
