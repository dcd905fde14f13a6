package main

import (
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/adpacer/adpacer/internal/demo"
)

// newDemoCmd: `adpacer demo` runs a simulated month against the in-repo
// fakes with the real daemon, so a newcomer sees the whole loop in minutes.
func newDemoCmd(a *app) *cobra.Command {
	var (
		days   int
		speed  float64
		listen string
		dir    string
		hold   bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a simulated month against fake platforms, with the real daemon",
		Long: `demo starts a simulated market of a bank's campaigns and the in-repo fake
Yandex Direct, Google Ads, Trello and Everhour servers on loopback, a temporary
SQLite store, and the real daemon wired to them over HTTP on an accelerated
clock. It prints the address of every fake and the credentials it configured,
shows progress, and ends with a summary per budget line. The daemon's status
page (spend against plan, actions, alerts) and the fake Trello board with the
alert and approval cards are served while it runs; --hold keeps them up after
the month until Ctrl-C.

--speed is simulated seconds per wall second (default 21600: 30 days in about
two minutes); 0 runs as fast as the machine allows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if speed < 0 {
				return usageError(fmt.Errorf("demo: --speed %v must not be negative", speed))
			}
			opts := demo.Options{Days: days, Listen: listen, Out: a.stdout, Build: a.build, Dir: dir, Keep: dir != ""}
			if f, ok := a.stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
				opts.TTY = true
			}
			if speed == 0 {
				opts.Fast = true
			} else {
				opts.Duration = time.Duration(float64(days) * 86400 / speed * float64(time.Second))
			}
			if hold {
				opts.Done = func(demo.Endpoints) {
					fmt.Fprintln(a.stdout, "\nServers stay up for browsing; press Ctrl-C to stop.")
					ch := make(chan os.Signal, 1)
					signal.Notify(ch, os.Interrupt)
					defer signal.Stop(ch)
					select {
					case <-ch:
					case <-cmd.Context().Done():
					}
				}
			}
			if _, err := demo.Run(cmd.Context(), opts); err != nil {
				if days < 1 || days > 30 {
					return usageError(err)
				}
				return fmt.Errorf("demo: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&days, "days", 30, "simulated days to run (1..30)")
	f.Float64Var(&speed, "speed", 21600, "simulated seconds per wall second; 0 = as fast as possible")
	f.StringVar(&listen, "listen", "127.0.0.1:0", "address of the daemon's status page and /metrics (loopback)")
	f.StringVar(&dir, "dir", "", "keep the store, config and logs in this directory (default: a temporary one, removed)")
	f.BoolVar(&hold, "hold", false, "keep the servers up after the last day until Ctrl-C")
	return cmd
}
