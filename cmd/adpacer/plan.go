package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/adpacer/adpacer/pacing"
)

// newPlanCmd is `adpacer plan --snapshot FILE|-`: decide one snapshot and
// print the plan JSON (docs/plan-format.md). A malformed snapshot exits 65
// with the JSON path of the first problem.
func newPlanCmd(a *app) *cobra.Command {
	var snapshot string
	cmd := &cobra.Command{
		Use:   "plan --snapshot FILE|-",
		Short: "Decide one pacing snapshot and print the plan as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if snapshot == "" {
				return usageError(errors.New("plan: --snapshot is required (a file, or - for stdin)"))
			}
			var in io.Reader = cmd.InOrStdin()
			if snapshot != "-" {
				f, err := os.Open(snapshot)
				if err != nil {
					return usageError(fmt.Errorf("plan: %w", err))
				}
				defer f.Close()
				in = f
			}
			err := pacing.RunPlanCommand(cmd.Context(), in, cmd.OutOrStdout())
			var xe *pacing.ExitError
			if errors.As(err, &xe) && xe.Code == pacing.ExitDataErr {
				return dataError(xe.Err)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&snapshot, "snapshot", "", "snapshot JSON file, or - to read stdin")
	return cmd
}
