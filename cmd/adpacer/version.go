package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				return enc.Encode(a.build)
			}
			b := a.build
			_, err := fmt.Fprintf(a.stdout, "adpacer %s (revision %s, %s %s/%s)\n", b.Version, b.Revision, b.GoVersion, b.GOOS, b.GOARCH)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: version, revision, goversion, goos, goarch")
	return cmd
}
