package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/telemetry"
	"github.com/spf13/cobra"
)

// DefaultConfigPath is used when neither --config nor $ADPACER_CONFIG is set.
const DefaultConfigPath = "/etc/adpacer/config.yaml"

// app holds what every command shares. It has no package-level state, so
// tests run commands in-process with their own streams and wiring.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	wiring         Wiring
	build          telemetry.BuildInfo
	configFlag     string
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, w Wiring) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, wiring: w, build: telemetry.ReadBuildInfo(version)}
}

// execute runs the command line and returns the process exit code.
func (a *app) execute(ctx context.Context, args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	fmt.Fprintf(a.stderr, "adpacer: %v\n", err)
	if code == ExitUsage {
		fmt.Fprintln(a.stderr, "Run 'adpacer --help' for usage.")
	}
	return code
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "adpacer",
		Short: "Paces ad budgets and bids around the clock and keeps the team's Trello board informed",
		Long: `adpacer pulls spend and statistics from Yandex Direct, Google Ads and VK Ads, cards from
Trello and time from Everhour into a local store, paces monthly budget lines
across time zones by correcting bids and daily budgets, and opens, updates and
resolves alert cards on Trello.

Exit codes: 0 ok, 1 runtime failure, 2 usage error, 65 malformed input data,
78 invalid configuration.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVarP(&a.configFlag, "config", "c", "",
		"configuration file (default $ADPACER_CONFIG, else "+DefaultConfigPath+")")
	for _, newCmd := range commands() {
		root.AddCommand(newCmd(a))
	}
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	markRunErrors(root)
	return root
}

// markRunErrors wraps every RunE so that exitCode can tell an error a
// command returned (runtime, 1, unless it carries its own code) from one
// cobra raised while parsing the command line (usage, 2).
func markRunErrors(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := run(cmd, args); err != nil {
				return &ranError{err: err}
			}
			return nil
		}
	}
	if run := c.Run; run != nil && c.RunE == nil {
		c.RunE = func(cmd *cobra.Command, args []string) error { run(cmd, args); return nil }
		c.Run = nil
	}
	for _, sub := range c.Commands() {
		markRunErrors(sub)
	}
}

// configPath picks the config file: a positional argument, --config,
// $ADPACER_CONFIG, then the default.
func (a *app) configPath(args []string) string {
	switch {
	case len(args) > 0:
		return args[0]
	case a.configFlag != "":
		return a.configFlag
	case os.Getenv("ADPACER_CONFIG") != "":
		return os.Getenv("ADPACER_CONFIG")
	}
	return DefaultConfigPath
}

// loadConfig loads and validates the configuration (and so loads its
// secrets). Its errors map to exit code 78.
func (a *app) loadConfig(args []string) (*config.Config, error) {
	return config.LoadAndValidate(a.configPath(args))
}

var errStoreNotWired = errors.New("the store is not wired into this build yet (cmd/adpacer/wiring.go has no OpenStore)")

// openStore opens the configured store for a one-shot command; shared opens
// SQLite beside a running daemon (reports, status), exclusive takes its
// process lock (migrations). close releases the store and syncs the log.
func (a *app) openStore(ctx context.Context, cfg *config.Config, shared bool, what string) (st Store, close func(), err error) {
	open := a.wiring.OpenStore
	if shared {
		open = a.wiring.OpenStoreShared
	}
	if open == nil {
		return nil, nil, fmt.Errorf("%s: cannot open the %s store: %w", what, cfg.Store.Driver, errStoreNotWired)
	}
	log, err := a.logger(cfg)
	if err != nil {
		return nil, nil, configError(err)
	}
	st, err = open(ctx, cfg, log)
	if err != nil {
		_ = log.Sync()
		return nil, nil, fmt.Errorf("%s: open %s store: %w", what, cfg.Store.Driver, err)
	}
	return st, func() { _ = st.Close(); _ = log.Sync() }, nil
}
