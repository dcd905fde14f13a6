// Package sqlstore implements store.Store over database/sql once for both
// dialects, so SQLite and PostgreSQL share every rule of the contract and
// differ only where the engines do: placeholders, list parameters, row
// locks, bulk writes and error codes. store/sqlite and store/postgres own
// the connections, pragmas, migrations and engine-specific extras.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// Dialect selects the SQL flavour.
type Dialect int

// Dialects.
const (
	SQLite Dialect = iota
	Postgres
)

// Config wires a Store.
type Config struct {
	Dialect Dialect
	// Writer runs every write transaction. For SQLite it is a separate
	// handle with one connection and BEGIN IMMEDIATE; for PostgreSQL it is
	// the pool.
	Writer *sql.DB
	// Reader runs reads (a pool).
	Reader *sql.DB
	// Migrations holds NNNN_name.sql files for the dialect.
	Migrations fs.FS
	// Classify maps driver errors to store.ErrConflict / ErrInvalid; it
	// returns err unchanged when it knows nothing better.
	Classify func(error) error
	// Retryable reports errors after which the whole transaction may be
	// retried (PostgreSQL serialization failures and deadlocks).
	Retryable func(error) bool
	// Now stamps bookkeeping times (planned/updated at); nil is time.Now.
	Now func() time.Time
	// BeforeCommit, when set, runs inside every write transaction just
	// before COMMIT (crash tests kill the process there).
	BeforeCommit func()
	// OnClose runs after both handles are closed (releases the file lock).
	OnClose func() error
	// StatsChangesKept is how many of the newest stats writes
	// StatsChangesSince can report (default 1024, about five days of
	// pulls every 15 minutes from two sources); a reader older than
	// them is told to re-read everything.
	StatsChangesKept int
}

// Store implements store.Store.
type Store struct {
	cfg Config
	// reads and writes cache prepared statements on SQLite (nil on
	// PostgreSQL; see stmtCache).
	reads, writes *stmtCache
}

var _ store.Store = (*Store)(nil)

// New returns a Store over cfg.
func New(cfg Config) *Store {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Classify == nil {
		cfg.Classify = func(err error) error { return err }
	}
	if cfg.Retryable == nil {
		cfg.Retryable = func(error) bool { return false }
	}
	if cfg.StatsChangesKept <= 0 {
		cfg.StatsChangesKept = 1024
	}
	s := &Store{cfg: cfg}
	if cfg.Dialect == SQLite && cfg.Reader != nil && cfg.Writer != nil {
		s.reads, s.writes = newStmtCache(cfg.Reader), newStmtCache(cfg.Writer)
	}
	return s
}

// Writer and Reader expose the handles to the owning backend package.
func (s *Store) Writer() *sql.DB { return s.cfg.Writer }

// Reader returns the read pool.
func (s *Store) Reader() *sql.DB { return s.cfg.Reader }

// Close closes both handles and runs OnClose.
func (s *Store) Close() error {
	errs := []error{s.reads.close(), s.writes.close()}
	if s.cfg.Reader != s.cfg.Writer && s.cfg.Reader != nil {
		errs = append(errs, s.cfg.Reader.Close())
	}
	errs = append(errs, s.cfg.Writer.Close())
	if s.cfg.OnClose != nil {
		errs = append(errs, s.cfg.OnClose())
	}
	return errors.Join(errs...)
}

// Ping checks both handles.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.cfg.Writer.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if err := s.cfg.Reader.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// q rewrites ? placeholders to $n for PostgreSQL. Queries in this package
// never contain a literal question mark.
func (s *Store) q(query string) string {
	if s.cfg.Dialect != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// inText returns a condition "col in the list bound to the next ?" and the
// argument to bind.
func (s *Store) inText(col string, vals []string) (string, any) {
	if s.cfg.Dialect == Postgres {
		return col + " = ANY(?)", vals
	}
	b, _ := json.Marshal(vals)
	return col + " IN (SELECT value FROM json_each(?))", string(b)
}

func (s *Store) inInt(col string, vals []int64) (string, any) {
	if s.cfg.Dialect == Postgres {
		return col + " = ANY(?)", vals
	}
	b, _ := json.Marshal(vals)
	return col + " IN (SELECT value FROM json_each(?))", string(b)
}

// write runs fn in a write transaction, retrying transactions PostgreSQL
// aborted for serialization or deadlock.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil {
			return nil
		}
		if attempt < 5 && s.cfg.Retryable(err) && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
			}
			continue
		}
		if isTyped(err) {
			return err
		}
		return fmt.Errorf("store: %s: %w", what, err)
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writes.prepareWanted(ctx)
	tx, err := s.cfg.Writer.BeginTx(ctx, nil)
	if err != nil {
		return s.cfg.Classify(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return s.classify(err)
	}
	if s.cfg.BeforeCommit != nil {
		s.cfg.BeforeCommit()
	}
	if err := tx.Commit(); err != nil {
		return s.classify(err)
	}
	return nil
}

func isTyped(err error) bool {
	return errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}

func (s *Store) classify(err error) error {
	if isTyped(err) {
		return err
	}
	return s.cfg.Classify(err)
}

func (s *Store) readErr(what string, err error) error {
	if isTyped(err) {
		return err
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// --- value conversions -------------------------------------------------------

func usArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromUS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

func microsArg(m *adpacer.Micros) any {
	if m == nil {
		return nil
	}
	return int64(*m)
}

func toMicros(v sql.NullInt64) *adpacer.Micros {
	if !v.Valid {
		return nil
	}
	m := adpacer.Micros(v.Int64)
	return &m
}

func idStrings(ids []adpacer.CampaignID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only string slices and string maps are marshalled here.
		return "null"
	}
	return string(b)
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}
