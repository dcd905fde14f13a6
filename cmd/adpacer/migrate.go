package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate [config-file]",
		Short: "Apply pending store migrations and exit",
		Long: `migrate opens the store the configuration names and applies every pending
schema migration, each in its own transaction. Run it before starting the daemon
when store.migrate_on_start is false (several replicas on PostgreSQL).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig(args)
			if err != nil {
				return err
			}
			if a.wiring.OpenStore == nil {
				return fmt.Errorf("migrate: cannot open the %s store: %w", cfg.Store.Driver, errStoreNotWired)
			}
			log, err := a.logger(cfg)
			if err != nil {
				return configError(err)
			}
			defer func() { _ = log.Sync() }()
			st, err := a.wiring.OpenStore(cmd.Context(), cfg, log)
			if err != nil {
				return fmt.Errorf("migrate: open %s store: %w", cfg.Store.Driver, err)
			}
			if err := st.Migrate(cmd.Context()); err != nil {
				_ = st.Close()
				return fmt.Errorf("migrate: %w", err)
			}
			if err := st.Close(); err != nil {
				return fmt.Errorf("migrate: close store: %w", err)
			}
			fmt.Fprintf(a.stdout, "%s store migrated\n", cfg.Store.Driver)
			return nil
		},
	}
}
