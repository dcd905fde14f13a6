package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

func newValidateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [config-file]",
		Short: "Check the configuration file and the secrets it names, offline",
		Long: `validate decodes the configuration strictly, applies defaults and checks every
value: enums, durations, cron specs, time zones, ids, budgets, and that every
secret file or environment variable exists and is not empty. It reports every
problem at once with its line and field, and exits 78 when there is any. It
never contacts an external API.`,
		Example: "  adpacer validate deploy/config/example.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig(args)
			if err != nil {
				return err
			}
			cs := cfg.Connectors
			fmt.Fprintf(a.stdout, "%s: OK (mode %s; connectors: %d yandex_direct, %d google_ads, %d vk_ads, %d trello, %d everhour; %d budget lines)\n",
				cfg.File(), cfg.Mode, len(cs.YandexDirect), len(cs.GoogleAds), len(cs.VKAds), len(cs.Trello), len(cs.Everhour), len(cfg.Pacing.BudgetLines))
			return nil
		},
	}
}

func newPrintConfigCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "print-config [config-file]",
		Short: "Print the effective configuration with defaults filled in and secrets masked",
		Long: `print-config prints the configuration as the daemon sees it: every default
filled in, customer ids normalised, and each loaded secret shown as [REDACTED].
An invalid configuration is not printed; its problems are, with exit code 78.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig(args)
			if err != nil {
				return err
			}
			enc := yaml.NewEncoder(a.stdout)
			enc.SetIndent(2)
			if err := enc.Encode(cfg); err != nil {
				return fmt.Errorf("print-config: encode: %w", err)
			}
			return enc.Close()
		},
	}
}
