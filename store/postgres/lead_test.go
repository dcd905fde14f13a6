package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/adpacer/adpacer/store"
)

func TestLeadership(t *testing.T) {
	ctx := context.Background()
	addr := freshSchema(t)
	open := func() *Store {
		s, err := Open(ctx, addr, Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	name := "adpacer-leader-" + addr // unique per test run: the lock is database-wide
	la, ok, err := a.TryLead(ctx, name)
	if err != nil || !ok {
		t.Fatalf("first TryLead = %v %v", ok, err)
	}
	if _, ok, err := b.TryLead(ctx, name); err != nil || ok {
		t.Fatalf("second replica became leader too: %v %v", ok, err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// The leader's session dies (network cut, server restart): the lock is
	// gone, the replica takes over with a newer epoch, and the old leader's
	// ledger writes are fenced.
	var pid int
	if err := la.conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	if err := la.Check(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Check after the session died = %v", err)
	}
	lb, ok, err := b.TryLead(ctx, name)
	if err != nil || !ok {
		t.Fatalf("takeover = %v %v", ok, err)
	}
	if lb.Epoch <= la.Epoch {
		t.Fatalf("new epoch %d not above old %d", lb.Epoch, la.Epoch)
	}
	if err := a.PlanAction(ctx, storeAction("fenced"), la.Epoch); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("old leader's write = %v, want ErrConflict", err)
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	lc, ok, err := a.TryLead(ctx, name)
	if err != nil || !ok {
		t.Fatalf("TryLead after release = %v %v", ok, err)
	}
	_ = lc.Release(ctx)
}
