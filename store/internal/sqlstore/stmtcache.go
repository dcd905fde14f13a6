package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache holds the prepared statements of the hot queries of one
// SQLite handle. modernc's driver parses a query's text on every call
// unless the query is prepared, and parsing was 7% of `adpacer demo`'s
// CPU; a prepared *sql.Stmt keeps its parsed form on every connection
// database/sql runs it on. PostgreSQL's driver caches statements per
// connection itself, so PostgreSQL stores have no cache (nil).
//
// Keys are constant query texts at their call sites, so the cache stays
// as small as the list of those sites.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// wanted lists writer queries first met inside a transaction: they
	// are prepared before the next transaction begins (see prepareWanted).
	wanted []string
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement of query, preparing it on the handle
// the first time. It returns nil when the query cannot be prepared (its
// table does not exist before migrations, the store is closing): the
// caller runs the query unprepared, which reports the error in context.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	st, ok := c.m[query]
	closed := c.closed
	c.mu.Unlock()
	if ok || closed {
		return st
	}
	// Prepared without the lock: preparing waits for a connection, and
	// on the writer the one connection may be held by a transaction that
	// is itself waiting in cached for the lock.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok || c.closed {
		_ = st.Close() // another caller prepared it meanwhile, or the store closed
		return prev
	}
	c.m[query] = st
	return st
}

// cached returns query's statement if it is prepared already, and
// otherwise notes the query for prepareWanted. The writer has one
// connection, which a transaction holds: preparing on the handle from
// inside one would wait for it forever.
func (c *stmtCache) cached(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[query]
	if !ok && !c.closed {
		c.wanted = append(c.wanted, query)
	}
	return st
}

// prepareWanted prepares the queries cached has noted, on the writer,
// outside any transaction of this goroutine. A query that fails to
// prepare is dropped; it is noted again the next time it runs.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = nil
	c.mu.Unlock()
	for _, q := range wanted {
		c.get(ctx, q)
	}
}

// close closes every statement; later gets return nil.
func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// query runs a read through the reader's statement cache.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.reads.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.cfg.Reader.QueryContext(ctx, s.q(query), args...)
}

// queryRow is query for one row.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.reads.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.cfg.Reader.QueryRowContext(ctx, s.q(query), args...)
}

// txStmt returns a statement for query in tx: the writer's prepared one
// when it has one (no parsing), else one prepared for tx alone (the query
// is then prepared on the writer before the next transaction). Either is
// closed with tx; closing it earlier is allowed.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := s.writes.cached(query); st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, s.q(query))
}

// txExec runs one statement in tx, prepared when the writer has it
// prepared, otherwise as before (and noted to be prepared).
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.writes.cached(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.q(query), args...)
}

// txQueryRow is txExec for a statement that returns one row.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.writes.cached(query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, s.q(query), args...)
}

// txQuery is txExec for a statement that returns rows.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := s.writes.cached(query); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, s.q(query), args...)
}
