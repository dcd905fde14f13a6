package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newManCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "man <dir>",
		Short:   "Write man pages for adpacer and every subcommand into dir",
		Example: "  adpacer man /usr/local/share/man/man1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man: create %s: %w", dir, err)
			}
			hdr := &doc.GenManHeader{Title: "ADPACER", Section: "1", Source: "adpacer " + a.build.Version, Manual: "adpacer manual"}
			if err := doc.GenManTree(cmd.Root(), hdr, dir); err != nil {
				return fmt.Errorf("man: write pages to %s: %w", dir, err)
			}
			fmt.Fprintf(a.stdout, "man pages written to %s\n", dir)
			return nil
		},
	}
}
