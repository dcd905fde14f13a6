package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// TestLease: the SQLite lease keeps the PostgreSQL contract (terms, renew
// and release rules, expiry, fencing of the former holder's ledger writes).
func TestLease(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, filepath.Join(t.TempDir(), "adpacer.db"), Options{})
	defer s.Close()
	const name, ttl = "adpacer", 10 * time.Second

	ea, ok, err := s.AcquireLease(ctx, name, "a", ttl)
	if err != nil || !ok {
		t.Fatalf("first acquire = %d %v %v", ea, ok, err)
	}
	if cur, _ := s.CurrentEpoch(ctx); cur != ea || ea < 1 {
		t.Fatalf("acquire returned epoch %d, leader epoch is %d", ea, cur)
	}
	if e, ok, err := s.AcquireLease(ctx, name, "b", ttl); err != nil || ok || e != 0 {
		t.Fatalf("second holder acquired a live lease: %d %v %v", e, ok, err)
	}
	if e, ok, err := s.AcquireLease(ctx, name, "a", ttl); err != nil || !ok || e != ea {
		t.Fatalf("re-acquire = %d %v %v, want %d true", e, ok, err, ea)
	}
	for _, c := range []struct {
		holder string
		epoch  int64
		want   bool
	}{{"a", ea, true}, {"b", ea, false}, {"a", ea + 1, false}} {
		if got, err := s.RenewLease(ctx, name, c.holder, c.epoch, ttl); err != nil || got != c.want {
			t.Errorf("RenewLease(%s, %d) = %v %v, want %v", c.holder, c.epoch, got, err, c.want)
		}
	}
	v := adpacer.FromUnits(100)
	if err := s.PlanAction(ctx, adpacer.Action{Key: "k1", Campaign: "yandex_direct:1", Kind: adpacer.SetDailyBudget, Value: &v}, ea); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, name, "b", ea); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.AcquireLease(ctx, name, "b", ttl); ok {
		t.Fatal("a lease released by a non-holder became free")
	}
	if err := s.ReleaseLease(ctx, name, "a", ea); err != nil {
		t.Fatal(err)
	}
	eb, ok, err := s.AcquireLease(ctx, name, "b", ttl)
	if err != nil || !ok || eb <= ea {
		t.Fatalf("acquire after release = %d %v %v, want > %d", eb, ok, err, ea)
	}
	if err := s.ClaimAction(ctx, "k1", ea); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("former holder's claim = %v, want ErrConflict", err)
	}

	// Expiry by the database clock.
	const short = 200 * time.Millisecond
	ec, ok, err := s.AcquireLease(ctx, "short", "c", short)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	time.Sleep(short + 100*time.Millisecond)
	if ok, _ := s.RenewLease(ctx, "short", "c", ec, short); ok {
		t.Fatal("renewed an expired lease")
	}
	if ed, ok, err := s.AcquireLease(ctx, "short", "d", short); err != nil || !ok || ed != ec+1 {
		t.Fatalf("acquire of an expired lease = %d %v %v, want %d", ed, ok, err, ec+1)
	}

	var fe *store.FieldError
	if _, _, err := s.AcquireLease(ctx, "", "h", ttl); !errors.As(err, &fe) || fe.Field != "lease.name" {
		t.Errorf("empty name = %v", err)
	}
}

func TestLeaseBeforeMigrate(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "adpacer.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.AcquireLease(context.Background(), "n", "h", time.Second); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Errorf("acquire before migrate = %v, want a hint to migrate", err)
	}
}
