package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/adpacer/adpacer/store"
)

type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files from fsys in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var out []migration
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration file %q: want NNNN_name.sql", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("store: migrations %q and %q share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: read migration %q: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	applied_us BIGINT NOT NULL
)`

// Migrate implements store.Store: one transaction per migration, so a failed
// migration leaves the schema at the previous version, never half-applied.
// On PostgreSQL a transaction-scoped advisory lock lets replicas start
// together: the second waits and then finds the migration applied.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.cfg.Migrations)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Writer.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	// A database migrated by a newer adpacer must not be written by an
	// older one that does not know its schema.
	var newest sql.NullInt64
	if err := s.cfg.Writer.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if len(ms) > 0 && newest.Valid && newest.Int64 > ms[len(ms)-1].version {
		return fmt.Errorf("store: the database schema is at version %d but this adpacer knows migrations up to %d; run the newer adpacer (or restore a backup taken before the upgrade)", newest.Int64, ms[len(ms)-1].version)
	}
	for _, m := range ms {
		err := s.writeOnce(ctx, func(tx *sql.Tx) error {
			if s.cfg.Dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7262733)`); err != nil {
					return err
				}
			}
			var one int
			err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM schema_migrations WHERE version = ?`), m.version).Scan(&one)
			if err == nil {
				return nil
			}
			if err != sql.ErrNoRows {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)`), m.version, m.name, s.cfg.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

// MigrationStatus implements store.Store.
func (s *Store) MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	ms, err := loadMigrations(s.cfg.Migrations)
	if err != nil {
		return nil, err
	}
	applied := map[int64]sql.NullInt64{}
	rows, err := s.cfg.Reader.QueryContext(ctx, `SELECT version, applied_us FROM schema_migrations`)
	if err == nil {
		for rows.Next() {
			var v int64
			var at sql.NullInt64
			if err := rows.Scan(&v, &at); err != nil {
				rows.Close()
				return nil, s.readErr("migration status", err)
			}
			applied[v] = at
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.readErr("migration status", err)
		}
	} else if !s.missingTable(ctx) {
		return nil, s.readErr("migration status", err)
	}
	out := make([]store.MigrationStatus, len(ms))
	for i, m := range ms {
		at, ok := applied[m.version]
		out[i] = store.MigrationStatus{Version: m.version, Name: m.name, Applied: ok, AppliedAt: fromUS(at)}
	}
	return out, nil
}

// missingTable reports whether schema_migrations does not exist yet (a
// fresh database: every migration is pending).
func (s *Store) missingTable(ctx context.Context) bool {
	var n int
	var err error
	if s.cfg.Dialect == Postgres {
		err = s.cfg.Reader.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`).Scan(&n)
	} else {
		err = s.cfg.Reader.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	}
	return err == nil && n == 0
}
