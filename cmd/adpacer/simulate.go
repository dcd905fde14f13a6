package main

import (
	"errors"
	"fmt"

	"github.com/adpacer/adpacer/pacing/sim"
	"github.com/spf13/cobra"
)

func newSimulateCmd(a *app) *cobra.Command {
	var opts sim.CommandOptions
	cmd := &cobra.Command{
		Use:   "simulate --scenario FILE|NAME [--seeds N] [--policy NAME...] [--json] [--plot DIR]",
		Short: "Run the pacing engine and the baselines on the simulated market and print the metrics",
		Long: `simulate runs scenarios of the market simulator (docs/simulation.md) with the
pacing engine and the baselines B0 (static daily budget), B1 (daily re-split),
B2 (re-split with weekday weights) and B3 (PI controller), and on request
B4 (dual multiplier on bids under a CPA cap), B1-inv and B3-inv (B1 and B3 held to the engine's invariant) and the reference
O-inv (a re-split that knows the true spend and traffic, held to the
invariant), each policy on its
own copy of the world with the same seeds, and prints the metrics of
pacing-notes 6.4 with the target checks. --scenario takes a YAML file, a
built-in name (S0..S10) or "all"; repeat it to run several. A scenario file
with an unknown field or an impossible value exits 65 naming the field.`,
		Example: "  adpacer simulate --scenario S0 --seeds 20\n  adpacer simulate --scenario all --policy engine --policy B1 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Seeds < 1 {
				return usageError(fmt.Errorf("--seeds must be at least 1, got %d", opts.Seeds))
			}
			if len(opts.Scenarios) == 0 {
				return usageError(errors.New("--scenario is required (a file, a built-in name such as S0, or all)"))
			}
			opts.Progress = a.stderr
			err := sim.RunCommand(cmd.Context(), opts, a.stdout)
			var fe *sim.FieldError
			if errors.As(err, &fe) {
				return dataError(err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Scenarios, "scenario", nil, "scenario file, built-in name (S0..S10) or all; repeatable")
	f.IntVar(&opts.Seeds, "seeds", 1, "number of seeds (1..N)")
	f.StringArrayVar(&opts.Policies, "policy", nil, "policy to run: engine, B0, B1, B2, B3, B4, B1-inv, B3-inv, O-inv; repeatable (default the first five)")
	f.BoolVar(&opts.JSON, "json", false, "print JSON instead of tables")
	f.StringVar(&opts.PlotDir, "plot", "", "write SVG charts of cumulative spend vs plan per line to this directory")
	f.IntVar(&opts.Workers, "workers", 0, "simulations run in parallel (default: number of CPUs)")
	return cmd
}
