package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Lease is leadership among replicas: a session-level advisory lock held on
// a dedicated connection (ops-notes 4.5). The server drops the lock if that
// connection dies, so the holder must Check before every leader-only cycle
// and stop when it fails; ledger writes are fenced by the epoch besides
// (BumpEpoch on every new lease), so a paused former leader cannot write.
// Needs a direct connection or session pooling, not PgBouncer transaction
// pooling.
type Lease struct {
	mu    sync.Mutex
	conn  *pgxpool.Conn
	name  string
	Epoch int64 // the leader epoch this lease bumped to; pass it to ledger writes
}

// ErrLeaseLost is returned by Check once the lease's connection is gone.
var ErrLeaseLost = errors.New("postgres: leadership lost")

// TryLead tries once to become the leader for name. On success it bumps the
// leader epoch and returns the lease; ok=false means another replica leads.
func (s *Store) TryLead(ctx context.Context, name string) (_ *Lease, ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: leader lock %q: %w", name, err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, name).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("postgres: leader lock %q: %w", name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	l := &Lease{conn: conn, name: name}
	epoch, err := s.BumpEpoch(ctx)
	if err != nil {
		_ = l.Release(ctx)
		return nil, false, err
	}
	l.Epoch = epoch
	return l, true, nil
}

// Check verifies that the lease's connection (and so the lock) is alive.
func (l *Lease) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return ErrLeaseLost
	}
	if err := l.conn.Ping(ctx); err != nil {
		// The lock died with the session; drop the broken connection.
		l.conn.Conn().Close(context.Background())
		l.conn.Release()
		l.conn = nil
		return fmt.Errorf("%w: %v", ErrLeaseLost, err)
	}
	return nil
}

// Release gives leadership up (idempotent).
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	var released bool
	err := l.conn.QueryRow(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, l.name).Scan(&released)
	if err != nil {
		// Closing the session releases the lock anyway.
		l.conn.Conn().Close(context.Background())
	}
	l.conn.Release()
	l.conn = nil
	if err != nil {
		return fmt.Errorf("postgres: release leader lock %q: %w", l.name, err)
	}
	return nil
}
