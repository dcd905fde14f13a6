package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/adpacer/adpacer/store"
)

// The leader lease on SQLite keeps the contract of store/postgres's, so the
// daemon can run one elector whatever the backend: one process holds the
// database (the .lock file), so in production the only holder is that
// process and AcquireLease succeeds, bumping the leader epoch once per new
// term. Expiry uses SQLite's clock (the same machine's).

// nowUS is the database clock in Unix microseconds (SQLite's 'now' has
// millisecond resolution).
const nowUS = `SELECT CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)`

// AcquireLease takes the lease name for holder for ttl if it is free,
// expired or already holder's, and returns the leader epoch to pass to
// ledger writes; a new term bumps the epoch, re-acquiring one's own live
// lease keeps it. ok is false while another holder's lease is live.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (epoch int64, ok bool, err error) {
	if err := validLease(name, holder, ttl); err != nil {
		return 0, false, err
	}
	err = s.leaseTx(ctx, func(tx *sql.Tx, now int64) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO leader_lease (name, holder, epoch, acquired_us, renewed_us, expires_us)
			VALUES (?, '', 0, ?, ?, ?) ON CONFLICT (name) DO NOTHING`, name, now, now, int64(-1<<62)); err != nil {
			return err
		}
		var cur string
		var leaseEpoch, leaderEpoch, expires int64
		err := tx.QueryRowContext(ctx, `SELECT l.holder, l.epoch, l.expires_us, g.epoch FROM leader_lease l, leader g
			WHERE l.name = ? AND g.id = 1`, name).Scan(&cur, &leaseEpoch, &expires, &leaderEpoch)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("the leader row is missing; run adpacer migrate")
		}
		if err != nil {
			return err
		}
		live := expires > now
		switch {
		case live && cur != holder:
			return nil
		case live && leaseEpoch == leaderEpoch:
			if _, err := tx.ExecContext(ctx, `UPDATE leader_lease SET renewed_us = ?, expires_us = ? WHERE name = ?`, now, now+ttl.Microseconds(), name); err != nil {
				return err
			}
			epoch, ok = leaseEpoch, true
			return nil
		}
		if err := tx.QueryRowContext(ctx, `UPDATE leader SET epoch = epoch + 1, updated_us = ? WHERE id = 1 RETURNING epoch`, now).Scan(&epoch); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE leader_lease SET holder = ?, epoch = ?, acquired_us = ?, renewed_us = ?, expires_us = ?
			WHERE name = ?`, holder, epoch, now, now, now+ttl.Microseconds(), name); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil {
		return 0, false, leaseErr("acquire", name, err)
	}
	if !ok {
		return 0, false, nil
	}
	return epoch, true, nil
}

// RenewLease extends holder's live lease of epoch by ttl; false means the
// term is over (expired, taken, or the leader epoch moved on).
func (s *Store) RenewLease(ctx context.Context, name, holder string, epoch int64, ttl time.Duration) (bool, error) {
	if err := validLease(name, holder, ttl); err != nil {
		return false, err
	}
	var n int64
	err := s.leaseTx(ctx, func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE leader_lease SET renewed_us = ?, expires_us = ?
			WHERE name = ? AND holder = ? AND epoch = ? AND expires_us > ? AND epoch = (SELECT epoch FROM leader WHERE id = 1)`,
			now, now+ttl.Microseconds(), name, holder, epoch, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, leaseErr("renew", name, err)
	}
	return n == 1, nil
}

// ReleaseLease ends holder's term at once; a no-op when it no longer holds.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string, epoch int64) error {
	if err := validLease(name, holder, time.Second); err != nil {
		return err
	}
	err := s.leaseTx(ctx, func(tx *sql.Tx, now int64) error {
		_, err := tx.ExecContext(ctx, `UPDATE leader_lease SET expires_us = ? WHERE name = ? AND holder = ? AND epoch = ? AND expires_us > ?`,
			now, name, holder, epoch, now)
		return err
	})
	if err != nil {
		return leaseErr("release", name, err)
	}
	return nil
}

// leaseTx runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection) with the database clock read inside it.
func (s *Store) leaseTx(ctx context.Context, fn func(tx *sql.Tx, now int64) error) error {
	tx, err := s.Writer().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	var now int64
	if err := tx.QueryRowContext(ctx, nowUS).Scan(&now); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := fn(tx, now); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func validLease(name, holder string, ttl time.Duration) error {
	switch {
	case name == "":
		return store.Invalid("lease.name", "empty lease name; every replica of one deployment must use the same name, e.g. \"adpacer\"")
	case holder == "":
		return store.Invalid("lease.holder", "empty holder; use a name unique to this process, e.g. hostname-pid-random")
	case ttl < time.Millisecond:
		return store.Invalid("lease.ttl", fmt.Sprintf("%v is too short; use seconds, e.g. 15s", ttl))
	}
	return nil
}

func leaseErr(op, name string, err error) error {
	if strings.Contains(err.Error(), "no such table: leader_lease") {
		return fmt.Errorf("sqlite: %s leader lease %q: %w (run adpacer migrate: migration 0100_leader_lease creates the table)", op, name, err)
	}
	return fmt.Errorf("sqlite: %s leader lease %q: %w", op, name, err)
}
