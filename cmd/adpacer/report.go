package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/adpacer/adpacer/connectors/everhour"
)

// newReportCmd is `adpacer report hours`: the client's hours per card (with
// the card's list and labels), per person or per day for one month, against
// the paid budget. It reads the store only; nothing is sent anywhere.
func newReportCmd(a *app) *cobra.Command {
	report := &cobra.Command{
		Use:   "report",
		Short: "Print reports from the local store",
	}
	var opts everhour.ReportOptions
	var connector string
	hours := &cobra.Command{
		Use:   "hours [config-file]",
		Short: "Hours logged in Everhour per card, person or day against the paid budget",
		Long: `report hours prints the hours specialists logged in Everhour for one month,
per Trello card (name, list, labels and people), per person or per day, with
totals against the hours the client pays for: the Everhour time budget, else
connectors.everhour[].projects[].monthly_hours, else the default
connectors.everhour[].monthly_hours (the rule the burn alerts use). A
project whose only budget is that default is listed when it has hours.

Seconds are summed exactly; H:MM rounds to the nearest minute (30 s up) and
decimal hours to the nearest hundredth (18 s up). A total is the rounding of
the summed seconds, so rounded rows may differ from it by a minute.`,
		Example: `  adpacer report hours --period 2026-11
  adpacer report hours --period 2026-11 --project tr:5f1a0c --by user --format csv`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Period == "" {
				opts.Period = time.Now().In(moscow()).Format("2006-01")
			}
			if err := opts.Validate(); err != nil {
				return usageError(err)
			}
			cfg, err := a.loadConfig(args)
			if err != nil {
				return err
			}
			ehs := cfg.Connectors.Everhour
			if len(ehs) == 0 {
				return configError(errors.New("report hours: no connectors.everhour entry in the config"))
			}
			e := ehs[0]
			if connector != "" {
				found := false
				for _, x := range ehs {
					if x.ID == connector {
						e, found = x, true
					}
				}
				if !found {
					return usageError(fmt.Errorf("report hours: --connector %q: no connectors.everhour entry with that id", connector))
				}
			}
			settings, err := everhour.FromConfig(e)
			if err != nil {
				return configError(err)
			}
			// The same budgets the burn alerts use: per-project entries,
			// and monthly_hours for every other project Everhour knows.
			opts.Budgets = settings.Budgets.Projects
			opts.DefaultSeconds = settings.Budgets.DefaultSeconds
			// Shared: a report runs beside the daemon that holds the store.
			st, closeStore, err := a.openStore(cmd.Context(), cfg, true, "report hours")
			if err != nil {
				return err
			}
			defer closeStore()
			src, ok := st.(everhour.ReportSource)
			if !ok {
				return fmt.Errorf("report hours: the %s store does not provide Everhour report data (everhour.ReportSource)", cfg.Store.Driver)
			}
			return everhour.RunHoursReport(cmd.Context(), src, a.stdout, opts)
		},
	}
	f := hours.Flags()
	f.StringVar(&opts.Period, "period", "", "month to report, YYYY-MM (default: the current month, Moscow time)")
	f.StringVar(&opts.ProjectID, "project", "", "only this Everhour project id, e.g. tr:5f1a0c")
	f.StringVar(&opts.By, "by", everhour.ByCard, "group by card, user or day")
	f.StringVar(&opts.Format, "format", everhour.FormatTable, "table, csv or json")
	f.StringVar(&connector, "connector", "", "id of the connectors.everhour entry (default: the first)")
	report.AddCommand(hours)
	return report
}

// moscow is the agency's zone; without tzdata, MSK is UTC+3 all year.
func moscow() *time.Location {
	if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return loc
	}
	return time.FixedZone("MSK", 3*3600)
}
