package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/adpacer/adpacer/store/backend"
)

func newMigrateCmd(a *app) *cobra.Command {
	up := func(cmd *cobra.Command, args []string) error {
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
	}
	cmd := &cobra.Command{
		Use:   "migrate [up|status] [config-file]",
		Short: "Apply pending store migrations, or list them",
		Long: `migrate (or migrate up) opens the store the configuration names and applies
every pending schema migration, each in its own transaction. Run it before
starting the daemon when store.migrate_on_start is false (several replicas on
PostgreSQL). migrate status lists every migration embedded in this binary and
whether the store has it; it may run beside the daemon.`,
		Args: cobra.MaximumNArgs(1),
		RunE: up,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "up [config-file]",
		Short: "Apply pending store migrations and exit",
		Args:  cobra.MaximumNArgs(1),
		RunE:  up,
	}, &cobra.Command{
		Use:   "status [config-file]",
		Short: "List the embedded migrations and whether each is applied",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig(args)
			if err != nil {
				return err
			}
			if a.wiring.OpenStoreShared == nil {
				return fmt.Errorf("migrate status: cannot open the %s store: %w", cfg.Store.Driver, errStoreNotWired)
			}
			log, err := a.logger(cfg)
			if err != nil {
				return configError(err)
			}
			defer func() { _ = log.Sync() }()
			st, err := a.wiring.OpenStoreShared(cmd.Context(), cfg, log)
			if err != nil {
				return fmt.Errorf("migrate status: open %s store: %w", cfg.Store.Driver, err)
			}
			defer func() { _ = st.Close() }()
			ws, ok := st.(wiredStore)
			if !ok {
				return fmt.Errorf("migrate status: the %s store cannot list migrations", cfg.Store.Driver)
			}
			ms, err := ws.MigrationStatus(cmd.Context())
			if err != nil {
				return fmt.Errorf("migrate status: %w", err)
			}
			return backend.WriteMigrationStatus(a.stdout, ms)
		},
	})
	return cmd
}
