// Package sqlite is the embedded store backend (the default): pure-Go
// modernc.org/sqlite, WAL, one writer connection that starts every
// transaction with BEGIN IMMEDIATE (so a writer waits on busy_timeout
// instead of failing with SQLITE_BUSY on lock upgrade), a read-only reader
// pool, foreign keys on, and synchronous=FULL: every commit is fsynced, so
// a ledger claim that gates a platform write survives power loss, not just a
// crash. The benchmarks show FULL still meets the write targets because
// connectors write in large batches.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	sqlite "modernc.org/sqlite"

	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded SQLite migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// The directory is embedded at build time; Sub cannot fail on it.
		panic(err)
	}
	return sub
}

// Options configure Open.
type Options struct {
	// NoProcessLock opens without taking the exclusive process lock, for
	// commands that may run beside the daemon (backup, migrate status).
	// Writes still serialize through SQLite's own locking.
	NoProcessLock bool
	// Readers is the size of the read pool (default 4).
	Readers int
	// BusyTimeout is how long a writer waits for another process's write
	// lock (default 10s).
	BusyTimeout time.Duration
	// Now stamps bookkeeping times; nil is time.Now.
	Now func() time.Time

	beforeCommit     func() // crash tests
	statsChangesKept int    // tests: a short stats_changes log
}

// Store is the SQLite store.
type Store struct {
	*sqlstore.Store
	path string
}

var _ store.Store = (*Store)(nil)

// ErrLocked is wrapped by Open when another process holds the database.
var ErrLocked = errors.New("database is in use by another adpacer process")

// Open opens (creating if needed) the database at path. It does not
// migrate; call Migrate.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty database path; set store.path, e.g. /var/lib/adpacer/adpacer.db")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("sqlite: database directory: %w", err)
		}
	}
	// The database holds OAuth refresh tokens: create it readable by the
	// daemon's user only (SQLite gives -wal and -shm the same mode).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	var unlock func() error
	if !opts.NoProcessLock {
		var err error
		if unlock, err = lockFile(path); err != nil {
			return nil, err
		}
	}
	fail := func(err error, dbs ...*sql.DB) (*Store, error) {
		for _, db := range dbs {
			db.Close()
		}
		if unlock != nil {
			_ = unlock()
		}
		return nil, err
	}
	base := path + "?_pragma=busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	writer, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", path, err))
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", path, err), writer)
	}
	reader, err := sql.Open("sqlite", base+"&_pragma=query_only(1)&_pragma=mmap_size("+strconv.FormatInt(readerMmap, 10)+")&_pragma=cache_size(-16384)")
	if err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", path, err), writer)
	}
	reader.SetMaxOpenConns(opts.Readers)
	reader.SetMaxIdleConns(opts.Readers)
	if err := reader.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", path, err), writer, reader)
	}
	s := &Store{path: path}
	s.Store = sqlstore.New(sqlstore.Config{
		Dialect:          sqlstore.SQLite,
		Writer:           writer,
		Reader:           reader,
		Migrations:       Migrations(),
		Classify:         classify,
		Now:              opts.Now,
		BeforeCommit:     opts.beforeCommit,
		OnClose:          unlock,
		StatsChangesKept: opts.statsChangesKept,
	})
	return s, nil
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// SQLite extended result codes the contract maps.
const (
	constraintCheck      = 275
	constraintForeignKey = 787
	constraintNotNull    = 1299
	constraintPrimaryKey = 1555
	constraintUnique     = 2067
)

func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case constraintPrimaryKey, constraintUnique:
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	case constraintForeignKey, constraintCheck, constraintNotNull:
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	return err
}

// lockFile takes an exclusive flock on <path>.lock and records our pid in
// it, so a second daemon on the same database fails at start with a message
// naming the holder instead of both writing. flock is released by the
// kernel when the process dies, so a SIGKILLed daemon never leaves a stale
// lock behind.
func lockFile(path string) (func() error, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock %s: %w", name, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("sqlite: %w: database %s is in use by another adpacer process (pid %s); stop it, or use a different store.path", ErrLocked, path, pid)
		}
		return nil, fmt.Errorf("sqlite: lock %s: %w", name, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() error {
		// Closing the descriptor releases the flock.
		return f.Close()
	}, nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error listing
// the problems unless the result is "ok".
func (s *Store) IntegrityCheck(ctx context.Context) error {
	return integrityCheck(ctx, s.Reader(), s.path)
}

func integrityCheck(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("sqlite: integrity check of %s: %w", path, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("sqlite: integrity check of %s: %w", path, err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: integrity check of %s: %w", path, err)
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		return nil
	}
	if len(msgs) > 10 {
		msgs = append(msgs[:10], fmt.Sprintf("... %d more", len(msgs)-10))
	}
	return fmt.Errorf("sqlite: integrity check of %s failed: %s", path, strings.Join(msgs, "; "))
}

// Backup writes a consistent copy of the live database to dst with VACUUM
// INTO (a read transaction: the daemon keeps writing meanwhile), fsyncs it,
// checks its integrity and only then renames it into place, so dst is
// either absent or a verified backup. dst must not exist.
func (s *Store) Backup(ctx context.Context, dst string) error {
	if dst == "" {
		return fmt.Errorf("sqlite: backup: empty destination path")
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("sqlite: backup: destination %s already exists; choose a new file name", dst)
	}
	tmp := dst + ".partial"
	_ = os.Remove(tmp)
	// VACUUM INTO accepts an empty file; creating it first keeps the copy
	// (tokens included) private to the daemon's user.
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dst, err)
	}
	f.Close()
	// A connection of its own: the read pool is query_only, which refuses
	// VACUUM, and the writer must stay free for the daemon.
	db, err := sql.Open("sqlite", s.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dst, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sqlite: backup to %s: %w", dst, err)
	}
	if err := verifyAndPlace(ctx, tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

func verifyAndPlace(ctx context.Context, tmp, dst string) error {
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dst, err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: fsync: %w", dst, err)
	}
	check, err := sql.Open("sqlite", tmp+"?_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dst, err)
	}
	err = integrityCheck(ctx, check, dst)
	check.Close()
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dst, err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// readerMmap lets readers map the database instead of copying pages through
// read(2): the pacing read of 10,000 campaigns x 35 days touches ~100 MB,
// and page-by-page syscalls were most of its time. The mapping is address
// space, not memory; SQLite falls back to read(2) where mmap is refused.
const readerMmap = 1 << 30
