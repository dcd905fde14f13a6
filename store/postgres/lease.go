package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/adpacer/adpacer/store"
)

// The lease-row leader election (internal/leader) that works through any
// pooler, including PgBouncer transaction pooling, and that can be watched
// with a SELECT: one row per lease name in leader_lease (migration 0100).
// Expiry is judged by the database clock (now()), never by a replica's, so
// clock skew between replicas cannot make two of them believe they hold it.
// Taking the lease over bumps leader.epoch in the same transaction: the
// ledger checks that epoch on every write, so a former holder that was
// paused past its lease is fenced even if it never noticed it lost.

// AcquireLease takes the lease name for holder for ttl if it is free,
// expired, or already holder's. It returns the leader epoch the holder must
// pass to ledger writes. A new term (another or no previous holder, an
// expired lease, or an epoch bumped by someone else meanwhile) bumps the
// epoch; re-acquiring a live lease one already holds (a retry after a lost
// reply) keeps it. ok is false, with a nil error, while another holder's
// lease is live.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (epoch int64, ok bool, err error) {
	if err := validLease(name, holder, ttl); err != nil {
		return 0, false, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The row may not exist yet; two first acquirers race on the
		// primary key and the loser waits for the winner's commit.
		if _, err := tx.Exec(ctx, `INSERT INTO leader_lease (name, holder, epoch, acquired_at, renewed_at, expires_at)
			VALUES ($1, '', 0, now(), now(), '-infinity') ON CONFLICT (name) DO NOTHING`, name); err != nil {
			return err
		}
		var cur string
		var leaseEpoch, leaderEpoch int64
		var live bool
		if err := tx.QueryRow(ctx, `SELECT l.holder, l.epoch, l.expires_at > now(), g.epoch
			FROM leader_lease l, leader g WHERE l.name = $1 AND g.id = 1 FOR UPDATE OF l`, name).Scan(&cur, &leaseEpoch, &live, &leaderEpoch); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errors.New("the leader row is missing; run adpacer migrate")
			}
			return err
		}
		switch {
		case live && cur != holder:
			return nil // another replica leads
		case live && leaseEpoch == leaderEpoch:
			// Our own live lease: extend it, same term.
			if _, err := tx.Exec(ctx, `UPDATE leader_lease SET renewed_at = now(), expires_at = now() + $2::bigint * interval '1 microsecond'
				WHERE name = $1`, name, ttl.Microseconds()); err != nil {
				return err
			}
			epoch, ok = leaseEpoch, true
			return nil
		}
		if err := tx.QueryRow(ctx, `UPDATE leader SET epoch = epoch + 1, updated_us = (extract(epoch FROM now()) * 1000000)::bigint
			WHERE id = 1 RETURNING epoch`).Scan(&epoch); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE leader_lease SET holder = $2, epoch = $3, acquired_at = now(), renewed_at = now(),
			expires_at = now() + $4::bigint * interval '1 microsecond' WHERE name = $1`, name, holder, epoch, ttl.Microseconds()); err != nil {
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

// RenewLease extends the lease by ttl from now (database clock) only while
// holder holds it live with epoch and nobody bumped the leader epoch since;
// false means the term is over and the caller must stop writing.
func (s *Store) RenewLease(ctx context.Context, name, holder string, epoch int64, ttl time.Duration) (bool, error) {
	if err := validLease(name, holder, ttl); err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE leader_lease SET renewed_at = now(), expires_at = now() + $4::bigint * interval '1 microsecond'
		WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()
		AND epoch = (SELECT epoch FROM leader WHERE id = 1)`, name, holder, epoch, ttl.Microseconds())
	if err != nil {
		return false, leaseErr("renew", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease ends holder's term at once so another replica need not wait
// for expiry. Releasing a lease one no longer holds is a no-op. Call it only
// once no write of the term can still be in flight.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string, epoch int64) error {
	if err := validLease(name, holder, time.Second); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE leader_lease SET expires_at = now()
		WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()`, name, holder, epoch); err != nil {
		return leaseErr("release", name, err)
	}
	return nil
}

// LeaseRemaining is how long the live term of lease name has left on the
// database clock, 0 when none is live (internal/leader.LeaseWatcher).
func (s *Store) LeaseRemaining(ctx context.Context, name string) (time.Duration, error) {
	var us int64
	err := s.pool.QueryRow(ctx, `SELECT GREATEST(COALESCE((extract(epoch FROM (expires_at - now())) * 1000000)::bigint, 0), 0)
		FROM leader_lease WHERE name = $1 AND expires_at > now()`, name).Scan(&us)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, leaseErr("read", name, err)
	}
	return time.Duration(us) * time.Microsecond, nil
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
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return fmt.Errorf("postgres: %s leader lease %q: %w (run adpacer migrate: migration 0100_leader_lease creates the table)", op, name, err)
	}
	return fmt.Errorf("postgres: %s leader lease %q: %w", op, name, err)
}
