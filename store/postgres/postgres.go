// Package postgres is the store backend for several replicas: pgx v5 with a
// pgxpool pool, used through pgx's database/sql adapter so that one SQL
// implementation (store/internal/sqlstore) serves both backends and the
// behaviour suite proves one contract. Bulk hourly stats are merged with
// array parameters (unnest) in three statements per batch, whatever its
// size; ledger writes check the leader epoch under a shared row lock so a
// paused former leader is fenced.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded PostgreSQL migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded at build time
	}
	return sub
}

// Options configure Open.
type Options struct {
	// MaxConns bounds the pool (default: pgxpool's default, or pool_max_conns in the DSN).
	MaxConns int32
	// Now stamps bookkeeping times; nil is time.Now.
	Now func() time.Time
}

// Store is the PostgreSQL store.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects with dsn (a postgres:// URL or key=value string; a
// search_path parameter selects the schema). It does not migrate.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can quote the DSN, password included.
		return nil, errors.New("postgres: cannot parse the DSN; want postgres://user@host:5432/db?sslmode=... (details withheld: the DSN may hold a password)")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	// A client frozen inside a transaction (SIGSTOP, a paused VM) keeps its
	// row locks until it wakes, and a ledger write's FOR SHARE lock on the
	// leader row blocks a successor's epoch bump: the hand-over would wait
	// for the frozen former leader. Every transaction here waits only on
	// the database, so the server may end one that idles for 5s. A SET
	// after connecting, not a startup parameter, so PgBouncer accepts it;
	// the DSN's own idle_in_transaction_session_timeout wins.
	if _, own := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !own {
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "SET idle_in_transaction_session_timeout = '5s'")
			return err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	s := &Store{pool: pool}
	s.Store = sqlstore.New(sqlstore.Config{
		Dialect:    sqlstore.Postgres,
		Writer:     db,
		Reader:     db,
		Migrations: Migrations(),
		Classify:   classify,
		Retryable:  retryable,
		Now:        opts.Now,
		OnClose:    func() error { pool.Close(); return nil },
	})
	return s, nil
}

// Pool exposes the pgx pool (leader election uses a dedicated connection).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	case "23503", "23514", "23502", "22003": // foreign key, check, not null, out of range
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}
