package main

import "github.com/spf13/cobra"

// commands is THE registration table of subcommands. To add one, write
// cmd/adpacer/<name>.go with
//
//	func new<Name>Cmd(a *app) *cobra.Command
//
// (use RunE; return dataError(err) for malformed input, usageError(err) for
// a bad argument, any other error for a runtime failure; read the config
// with a.loadConfig(cmd)) and add one line here. `completion` comes from
// cobra itself.
func commands() []func(*app) *cobra.Command {
	return []func(*app) *cobra.Command{
		newDemoCmd,
		newRunCmd,
		newValidateCmd,
		newPrintConfigCmd,
		newMigrateCmd,
		newVersionCmd,
		newManCmd,
		newSimulateCmd,
		newPlanCmd,
		newReportCmd,
		newBackupCmd,
	}
}
