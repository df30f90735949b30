package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dpdkq/dpdkq/config"
)

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Inspect configuration"}
	var path string
	var sets []string
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate a configuration file (with env and --set overrides) without starting DPDK",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path, sets)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "config OK: %d ports, %d routes, workers %v\n", len(cfg.Ports), len(cfg.Routes), cfg.WorkerLcores)
			printResolved(cmd.OutOrStdout(), cfg)
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
