package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/dpdkq/dpdkq/lcore"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print dpdkq's version and the DPDK version it is linked against",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "dpdkq %s (%s, %s/%s)\n%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, lcore.Version())
			return nil
		},
	}
}
