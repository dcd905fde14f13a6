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
		st, closeStore, err := a.openStore(cmd.Context(), cfg, false, "migrate")
		if err != nil {
			return err
		}
		defer closeStore()
		if err := st.Migrate(cmd.Context()); err != nil {
			return fmt.Errorf("migrate: %w", err)
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
			st, closeStore, err := a.openStore(cmd.Context(), cfg, true, "migrate status")
			if err != nil {
				return err
			}
			defer closeStore()
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
