package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/adpacer/adpacer/store/backend"
)

// newBackupCmd: `adpacer backup <file> [config-file]` writes an online,
// integrity-checked copy of the SQLite store while the daemon runs.
func newBackupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "backup <file> [config-file]",
		Short: "Write an online, integrity-checked copy of the SQLite store",
		Long: `backup copies the SQLite database the configuration names to <file> with
VACUUM INTO while the daemon keeps running, fsyncs the copy, runs
PRAGMA integrity_check on it and only then renames it into place. <file> must
not exist. To restore, stop the daemon and put the file at store.sqlite.path.
PostgreSQL stores are backed up with pg_dump.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig(args[1:])
			if err != nil {
				return err
			}
			if cfg.Store.Driver != "" && cfg.Store.Driver != "sqlite" {
				return usageError(fmt.Errorf("backup: the %s store is backed up with its own tools (pg_dump); adpacer backup copies SQLite", cfg.Store.Driver))
			}
			if args[0] == "" {
				return usageError(errors.New("backup: empty destination file"))
			}
			if err := backend.Backup(cmd.Context(), cfg.Store.SQLite.Path, args[0]); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			fmt.Fprintf(a.stdout, "backup of %s written to %s (integrity_check ok)\n", cfg.Store.SQLite.Path, args[0])
			return nil
		},
	}
}
