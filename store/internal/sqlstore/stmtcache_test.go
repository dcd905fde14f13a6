package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// sqliteStore opens a Store over a new SQLite file holding one table, with
// the writer on one connection as store/sqlite opens it.
func sqliteStore(t *testing.T) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db")
	writer, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	writer.SetMaxOpenConns(1)
	if _, err := writer.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	reader, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Dialect: SQLite, Writer: writer, Reader: reader})
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStmtCache: a read is prepared once and reused; a write first met in
// a transaction runs unprepared and is prepared before the next one; a
// closed store prepares nothing.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	s := sqliteStore(t)
	const put = `INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`
	const get = `SELECT v FROM kv WHERE k = ?`
	for i := range 3 {
		if err := s.write(ctx, "put", func(tx *sql.Tx) error {
			_, err := s.txExec(ctx, tx, put, "a", i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var v int
		if err := s.queryRow(ctx, get, "a").Scan(&v); err != nil || v != i {
			t.Fatalf("read %d (%v) after writing %d", v, err, i)
		}
		if i == 0 && s.writes.m[put] != nil {
			t.Error("the write was prepared on the writer from inside its own transaction")
		}
	}
	if s.writes.m[put] == nil || s.reads.m[get] == nil || len(s.reads.m) != 1 || len(s.writes.m) != 1 {
		t.Errorf("prepared: writes %v, reads %v; want the one write and the one read", s.writes.m, s.reads.m)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.reads.get(ctx, get); st != nil || len(s.reads.m) != 0 {
		t.Error("a closed store still prepares statements")
	}
}

// TestStmtCacheNoDeadlock: while one transaction holds the writer's only
// connection and meets a new query, another write waits to prepare the
// queries it noted. The waiting writer must not hold the cache's lock, or
// the transaction could never finish.
func TestStmtCacheNoDeadlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := sqliteStore(t)
	inTx, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.write(ctx, "first", func(tx *sql.Tx) error {
			// Met in this transaction: the next write prepares it.
			if _, err := s.txExec(ctx, tx, `INSERT INTO kv (k, v) VALUES ('a', 0)`); err != nil {
				return err
			}
			close(inTx)
			<-release
			_, err := s.txExec(ctx, tx, `INSERT INTO kv (k, v) VALUES ('b', 1)`)
			return err
		})
	}()
	<-inTx
	second := make(chan error, 1)
	go func() {
		second <- s.write(ctx, "second", func(tx *sql.Tx) error {
			_, err := s.txExec(ctx, tx, `INSERT INTO kv (k, v) VALUES ('c', 2)`)
			return err
		})
	}()
	time.Sleep(50 * time.Millisecond) // the second write is waiting to prepare
	close(release)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatalf("write: %v (a deadlock ends at the context's deadline)", err)
		}
	}
}
