// Command dpdkq is a software router on DPDK for studying router buffer architectures.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// DPDK's EAL makes the thread that calls rte_eal_init the main lcore, and some EAL
// calls are only valid there: lock the main goroutine (which runs cobra's commands) to
// the process's main thread before anything else runs.
func init() { runtime.LockOSThread() }

func main() {
	root := &cobra.Command{
		Use:           "dpdkq",
		Short:         "A DPDK software router for comparing buffer architectures, AQMs and buffer sizes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newVersionCmd(), newConfigCmd(), newSizeCmd(), newStatsCmd(), newTopCmd(), newSetCmd(), newRouteCmd(), newLabCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "dpdkq:", err)
		os.Exit(1)
	}
}
