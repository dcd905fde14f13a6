// Package backend opens the store a configuration names, so the daemon and
// its subcommands share one way to get a store.Store.
package backend

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/postgres"
	"github.com/adpacer/adpacer/store/sqlite"
)

// Config selects a backend.
type Config struct {
	Driver      string // "sqlite" or "postgres"
	SQLitePath  string
	PostgresDSN string // a secret: never logged
	// Shared opens SQLite without the exclusive process lock (backup,
	// migrate status beside a running daemon).
	Shared bool
}

// Open opens (without migrating) the store cfg names.
func Open(ctx context.Context, cfg Config) (store.Store, error) {
	switch cfg.Driver {
	case "sqlite", "":
		return sqlite.Open(ctx, cfg.SQLitePath, sqlite.Options{NoProcessLock: cfg.Shared})
	case "postgres":
		if cfg.PostgresDSN == "" {
			return nil, fmt.Errorf("store: driver postgres needs store.postgres.dsn (or dsn_file / dsn_env)")
		}
		return postgres.Open(ctx, cfg.PostgresDSN, postgres.Options{})
	}
	return nil, fmt.Errorf("store: unknown driver %q; want sqlite or postgres", cfg.Driver)
}

// WriteMigrationStatus prints `adpacer migrate status` output.
func WriteMigrationStatus(w io.Writer, ms []store.MigrationStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, m := range ms {
		state, at := "pending", "-"
		if m.Applied {
			state, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%04d\t%s\t%s\t%s\n", m.Version, m.Name, state, at)
	}
	return tw.Flush()
}

// Backup writes an online, integrity-checked copy of a SQLite database at
// path to dst; the daemon may keep running.
func Backup(ctx context.Context, path, dst string) error {
	s, err := sqlite.Open(ctx, path, sqlite.Options{NoProcessLock: true})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Backup(ctx, dst)
}
