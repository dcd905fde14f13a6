package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adpacer/adpacer/store"
)

func openLeaseStore(t *testing.T, addr string) *Store {
	t.Helper()
	s, err := Open(context.Background(), addr, Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLeaseTermsAndFencing(t *testing.T) {
	ctx := context.Background()
	addr := freshSchema(t)
	a, b := openLeaseStore(t, addr), openLeaseStore(t, addr)
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const name, ttl = "adpacer", 10 * time.Second

	ea, ok, err := a.AcquireLease(ctx, name, "a", ttl)
	if err != nil || !ok {
		t.Fatalf("first acquire = %d %v %v", ea, ok, err)
	}
	if cur, _ := a.CurrentEpoch(ctx); cur != ea || ea < 1 {
		t.Fatalf("acquire returned epoch %d, leader epoch is %d", ea, cur)
	}
	if e, ok, err := b.AcquireLease(ctx, name, "b", ttl); err != nil || ok || e != 0 {
		t.Fatalf("second holder acquired a live lease: %d %v %v", e, ok, err)
	}
	// Re-acquiring one's own live lease (a retry after a lost reply) is the
	// same term.
	if e, ok, err := a.AcquireLease(ctx, name, "a", ttl); err != nil || !ok || e != ea {
		t.Fatalf("re-acquire = %d %v %v, want %d true", e, ok, err, ea)
	}
	for _, c := range []struct {
		holder string
		epoch  int64
		want   bool
	}{{"a", ea, true}, {"b", ea, false}, {"a", ea - 1, false}, {"a", ea + 1, false}} {
		if got, err := b.RenewLease(ctx, name, c.holder, c.epoch, ttl); err != nil || got != c.want {
			t.Errorf("RenewLease(%s, %d) = %v %v, want %v", c.holder, c.epoch, got, err, c.want)
		}
	}
	// Release by someone else is a no-op; by the holder frees the lease and
	// the next holder's term has a higher epoch that fences a's writes.
	if err := b.ReleaseLease(ctx, name, "b", ea); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.AcquireLease(ctx, name, "b", ttl); ok {
		t.Fatal("a lease released by a non-holder became free")
	}
	if err := a.PlanAction(ctx, storeAction("k1"), ea); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseLease(ctx, name, "a", ea); err != nil {
		t.Fatal(err)
	}
	eb, ok, err := b.AcquireLease(ctx, name, "b", ttl)
	if err != nil || !ok || eb <= ea {
		t.Fatalf("acquire after release = %d %v %v, want > %d", eb, ok, err, ea)
	}
	if ok, _ := a.RenewLease(ctx, name, "a", ea, ttl); ok {
		t.Fatal("former holder renewed")
	}
	if err := a.ClaimAction(ctx, "k1", ea); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("former holder's claim = %v, want ErrConflict", err)
	}
	if err := b.ClaimAction(ctx, "k1", eb); err != nil {
		t.Fatal(err)
	}
	// A bump from elsewhere (another election mechanism, an operator)
	// ends the term: renew fails, and a re-acquire starts a new term.
	bumped, err := a.BumpEpoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.RenewLease(ctx, name, "b", eb, ttl); ok {
		t.Fatal("renew succeeded after the leader epoch moved on")
	}
	if e, ok, err := b.AcquireLease(ctx, name, "b", ttl); err != nil || !ok || e <= bumped {
		t.Fatalf("re-acquire after a foreign bump = %d %v %v, want > %d", e, ok, err, bumped)
	}
}

// TestLeaseExpiresByDatabaseClock: a holder that stops renewing loses the
// lease after ttl as the server counts it.
func TestLeaseExpiresByDatabaseClock(t *testing.T) {
	ctx := context.Background()
	s := openLeaseStore(t, freshSchema(t))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const ttl = 300 * time.Millisecond
	ea, ok, err := s.AcquireLease(ctx, "l", "a", ttl)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, ok, _ := s.AcquireLease(ctx, "l", "b", ttl); ok {
		t.Fatal("acquired a live lease")
	}
	time.Sleep(ttl + 100*time.Millisecond)
	if ok, _ := s.RenewLease(ctx, "l", "a", ea, ttl); ok {
		t.Fatal("renewed an expired lease")
	}
	eb, ok, err := s.AcquireLease(ctx, "l", "b", ttl)
	if err != nil || !ok || eb != ea+1 {
		t.Fatalf("acquire of an expired lease = %d %v %v, want %d", eb, ok, err, ea+1)
	}
	// The same holder coming back after its own lease expired starts a
	// new term too: writes captured under the old one must stay fenced.
	time.Sleep(ttl + 100*time.Millisecond)
	if e, ok, _ := s.AcquireLease(ctx, "l", "b", ttl); !ok || e != eb+1 {
		t.Fatalf("re-acquire of own expired lease = %d %v, want %d", e, ok, eb+1)
	}
}

// TestLeaseConcurrentAcquire: of many replicas racing for a fresh lease,
// exactly one wins.
func TestLeaseConcurrentAcquire(t *testing.T) {
	ctx := context.Background()
	addr := freshSchema(t)
	s := openLeaseStore(t, addr)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan int64, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, ok, err := s.AcquireLease(ctx, "race", fmt.Sprint("h", i), time.Minute)
			if err != nil {
				errs <- err
			}
			if ok {
				wins <- e
			}
		}()
	}
	wg.Wait()
	close(wins)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(wins) != 1 {
		t.Fatalf("%d winners, want 1", len(wins))
	}
	if cur, _ := s.CurrentEpoch(ctx); cur != <-wins {
		t.Fatal("winner's epoch is not the leader epoch")
	}
}

func TestLeaseInvalidInputAndMissingTable(t *testing.T) {
	ctx := context.Background()
	s := openLeaseStore(t, freshSchema(t))
	for _, c := range []struct {
		name, holder string
		ttl          time.Duration
		field        string
	}{{"", "h", time.Second, "lease.name"}, {"n", "", time.Second, "lease.holder"}, {"n", "h", 0, "lease.ttl"}} {
		_, _, err := s.AcquireLease(ctx, c.name, c.holder, c.ttl)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("AcquireLease(%q, %q, %v) = %v, want invalid %s", c.name, c.holder, c.ttl, err, c.field)
		}
	}
	// Not migrated: the error says what to run.
	if _, _, err := s.AcquireLease(ctx, "n", "h", time.Second); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Errorf("acquire before migrate = %v, want a hint to migrate", err)
	}
}

// BenchmarkLease measures the lease round trips on the local server: a
// renew must finish well within RenewEvery (default 5s), and a follower's
// acquire attempt is what every follower pays each retry period.
func BenchmarkLease(b *testing.B) {
	ctx := context.Background()
	addr := freshSchema(b)
	s, err := Open(ctx, addr, Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	epoch, ok, err := s.AcquireLease(ctx, "bench", "leader", time.Minute)
	if err != nil || !ok {
		b.Fatal(ok, err)
	}
	b.Run("renew", func(b *testing.B) {
		for b.Loop() {
			if ok, err := s.RenewLease(ctx, "bench", "leader", epoch, time.Minute); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("acquire-refused", func(b *testing.B) {
		for b.Loop() {
			if _, ok, err := s.AcquireLease(ctx, "bench", "follower", time.Minute); err != nil || ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// LeaseRemaining tells a follower when to retry: the live term's time left
// on the database clock, 0 when there is none.
func TestLeaseRemaining(t *testing.T) {
	ctx := context.Background()
	addr := freshSchema(t)
	s := openLeaseStore(t, addr)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := s.LeaseRemaining(ctx, "adpacer"); err != nil || left != 0 {
		t.Fatalf("no lease yet: %v, %v; want 0", left, err)
	}
	epoch, ok, err := s.AcquireLease(ctx, "adpacer", "a", 2*time.Second)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	left, err := s.LeaseRemaining(ctx, "adpacer")
	if err != nil || left <= time.Second || left > 2*time.Second {
		t.Fatalf("live 2s lease: %v left, %v", left, err)
	}
	if err := s.ReleaseLease(ctx, "adpacer", "a", epoch); err != nil {
		t.Fatal(err)
	}
	if left, err := s.LeaseRemaining(ctx, "adpacer"); err != nil || left != 0 {
		t.Fatalf("released: %v, %v; want 0", left, err)
	}
}
