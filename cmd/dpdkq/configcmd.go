package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/plan"
)

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Inspect configuration"}
	var path string
	var sets []string
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate a configuration file (with env and --set overrides) without starting DPDK",
		Long: `Validate a configuration file (with env and --set overrides) exactly as run does
before it starts DPDK: syntax and units, the algorithms' own ranges, device drivers and
the files their arguments name, memory and mbuf pool sizes. Prints the resolved plan:
ports, queueing, each class's AQM, the buffer model, routes and warnings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPlan(path, sets)
			if err != nil {
				return err
			}
			cfg := p.Config
			fmt.Fprintf(cmd.OutOrStdout(), "config OK: %d ports, %d routes, workers %v\n", len(cfg.Ports), len(cfg.Routes), cfg.WorkerLcores)
			printResolved(cmd.OutOrStdout(), p)
			return nil
		},
	}
	check.Flags().StringVarP(&path, "config", "c", "", "config file (default: the embedded example)")
	check.Flags().StringArrayVar(&sets, "set", nil, "override a key: --set ports.1.rate=10Mbps (repeatable)")
	show := &cobra.Command{
		Use:   "default",
		Short: "Print the embedded default configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(config.Default())
			return err
		},
	}
	c.AddCommand(check, show)
	return c
}

func loadConfig(path string, sets []string) (*config.Config, error) {
	if path == "" {
		return config.LoadBytes(config.Default(), sets)
	}
	return config.Load(path, sets)
}

// loadPlan loads the configuration and resolves it into the run's plan: what run
// does before DPDK starts, and all that config check does.
func loadPlan(path string, sets []string) (*plan.Plan, error) {
	cfg, err := loadConfig(path, sets)
	if err != nil {
		return nil, err
	}
	return plan.Build(cfg)
}
