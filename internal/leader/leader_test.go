package leader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if childMain() {
		return
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// memLease is an in-memory LeaseStore with the store contract (terms bump
// the epoch, renew only by the live holder) and fault hooks.
type memLease struct {
	mu      sync.Mutex
	holder  string
	epoch   int64
	expires time.Time

	acquires, renews, releases atomic.Int64
	deny                       atomic.Bool // AcquireLease answers "held by another"
	// renew, when set, replaces RenewLease's answer.
	renew func(ctx context.Context) (bool, error)
	// onAcquire runs at the start of every AcquireLease.
	onAcquire func()
}

func (m *memLease) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (int64, bool, error) {
	m.acquires.Add(1)
	if m.onAcquire != nil {
		m.onAcquire()
	}
	if m.deny.Load() {
		return 0, false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if now.Before(m.expires) && m.holder != holder {
		return 0, false, nil
	}
	if !(now.Before(m.expires) && m.holder == holder) {
		m.epoch++
	}
	m.holder, m.expires = holder, now.Add(ttl)
	return m.epoch, true, nil
}

func (m *memLease) RenewLease(ctx context.Context, name, holder string, epoch int64, ttl time.Duration) (bool, error) {
	m.renews.Add(1)
	if m.renew != nil {
		return m.renew(ctx)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.holder != holder || m.epoch != epoch || !now.Before(m.expires) {
		return false, nil
	}
	m.expires = now.Add(ttl)
	return true, nil
}

func (m *memLease) ReleaseLease(ctx context.Context, name, holder string, epoch int64) error {
	m.releases.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder == holder && m.epoch == epoch {
		m.expires = time.Time{}
	}
	return nil
}

// start runs e in the background; the returned stop cancels and waits.
func start(t *testing.T, e *Elector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Run did not return 5s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestNewValidates(t *testing.T) {
	fs := &memLease{}
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{}, "Options.Store is nil"},
		{Options{Store: fs, TTL: time.Millisecond}, "ttl 1ms is too short"},
		{Options{Store: fs, TTL: time.Second, RenewEvery: 600 * time.Millisecond}, "at most half the ttl"},
		{Options{Store: fs, TTL: time.Second, RenewEvery: -time.Second}, "must be positive"},
	} {
		if _, err := New(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want %q", c.opts, err, c.want)
		}
	}
	e, err := New(Options{Store: fs})
	if err != nil {
		t.Fatal(err)
	}
	if e.ttl != DefaultTTL || e.renewEvery != DefaultTTL/3 || e.name != DefaultName || e.holder == "" {
		t.Errorf("defaults: ttl %v renew %v name %q holder %q", e.ttl, e.renewEvery, e.name, e.holder)
	}
	if a, b := DefaultHolder(), DefaultHolder(); a == b || !strings.Contains(a, fmt.Sprint(os.Getpid())) {
		t.Errorf("DefaultHolder not unique per call or lacks the pid: %q %q", a, b)
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Store: fs, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Store: fs, Registerer: reg}); err == nil {
		t.Error("a second elector registered the same metrics without an error")
	}
}

func TestLeadRenewRelease(t *testing.T) {
	fs := &memLease{}
	reg := prometheus.NewRegistry()
	e, err := New(Options{Store: fs, Holder: "me", TTL: 300 * time.Millisecond, RenewEvery: 50 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if e.IsLeader() || e.Epoch() != 0 {
		t.Fatal("leader before Run")
	}
	stop := start(t, e)
	eventually(t, 2*time.Second, "leader", e.IsLeader)
	if err := e.Run(context.Background()); err == nil {
		t.Fatal("a second concurrent Run was accepted")
	}
	if e.Epoch() != 1 {
		t.Fatalf("epoch %d, want 1", e.Epoch())
	}
	eventually(t, 2*time.Second, "three renews", func() bool { return fs.renews.Load() >= 3 })
	if !e.IsLeader() || fs.acquires.Load() != 1 {
		t.Fatalf("renewing leader: leader=%v acquires=%d", e.IsLeader(), fs.acquires.Load())
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP adpacer_leader 1 while this replica is the leader (runs the jobs and writes), else 0.
# TYPE adpacer_leader gauge
adpacer_leader 1
# HELP adpacer_leader_epoch Leader epoch of this replica's current term; 0 while a follower.
# TYPE adpacer_leader_epoch gauge
adpacer_leader_epoch 1
# HELP adpacer_leader_transitions_total Times this replica became leader or stopped being leader.
# TYPE adpacer_leader_transitions_total counter
adpacer_leader_transitions_total 1
`), "adpacer_leader", "adpacer_leader_epoch", "adpacer_leader_transitions_total"); err != nil {
		t.Error(err)
	}
	stop()
	if e.IsLeader() || e.Epoch() != 0 || fs.releases.Load() != 1 {
		t.Fatalf("after stop: leader=%v epoch=%d releases=%d", e.IsLeader(), e.Epoch(), fs.releases.Load())
	}
	if got := testutil.ToFloat64(e.transitions); got != 2 {
		t.Errorf("transitions %v, want 2", got)
	}
	// Released: another holder takes over at once with a new epoch.
	if ep, ok, _ := fs.AcquireLease(context.Background(), "adpacer", "other", time.Second); !ok || ep != 2 {
		t.Fatalf("successor acquire = %d %v", ep, ok)
	}
}

// TestRenewFailureStepsDownBeforeAnythingElse: a renew that answers false
// or fails ends leadership before the elector does anything further, and
// the elector then competes again.
func TestRenewFailureStepsDownBeforeAnythingElse(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer func(ctx context.Context) (bool, error)
	}{
		{"lost", func(context.Context) (bool, error) { return false, nil }},
		{"error", func(context.Context) (bool, error) { return false, errors.New("connection reset") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &memLease{}
			var fail atomic.Bool
			var e *Elector
			var leaderAtReacquire atomic.Int32
			fs.renew = func(ctx context.Context) (bool, error) {
				if fail.Load() {
					return c.answer(ctx)
				}
				return true, nil
			}
			fs.onAcquire = func() {
				if e != nil && fs.acquires.Load() > 1 && e.IsLeader() {
					leaderAtReacquire.Add(1)
				}
			}
			var err error
			e, err = New(Options{Store: fs, Holder: "me", TTL: 10 * time.Second, RenewEvery: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			start(t, e)
			eventually(t, 2*time.Second, "leader", e.IsLeader)
			// Another replica took the lease over (and has died since).
			fs.mu.Lock()
			fs.holder, fs.epoch, fs.expires = "other", fs.epoch+1, time.Now()
			fs.mu.Unlock()
			fs.deny.Store(true)
			fail.Store(true)
			// The TTL is 10s: only the failed renew can end this term.
			eventually(t, time.Second, "step down after the failed renew", func() bool { return !e.IsLeader() })
			if e.Epoch() != 0 {
				t.Fatal("epoch after stepping down is not 0")
			}
			eventually(t, time.Second, "competing again", func() bool { return fs.acquires.Load() >= 2 })
			if n := leaderAtReacquire.Load(); n != 0 {
				t.Fatalf("still leader when it went back to acquiring (%d times)", n)
			}
			fail.Store(false)
			fs.deny.Store(false)
			eventually(t, 2*time.Second, "leader again", e.IsLeader)
			if e.Epoch() != 3 {
				t.Fatalf("new term has epoch %d, want 3", e.Epoch())
			}
		})
	}
}

// TestPausedLeaderWakesAsFollower: when more than TTL passes on the
// monotonic clock without a successful renew (a SIGSTOP, a long GC pause, a
// starved VM), the elector answers follower at once, before its renew
// loop runs.
func TestPausedLeaderWakesAsFollower(t *testing.T) {
	fs := &memLease{}
	block := make(chan struct{})
	var blockRenew atomic.Bool
	fs.renew = func(ctx context.Context) (bool, error) {
		if blockRenew.Load() {
			select {
			case <-block:
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
		return true, nil
	}
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	const ttl = 10 * time.Second
	e, err := New(Options{Store: fs, Holder: "me", TTL: ttl, RenewEvery: time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	start(t, e)
	eventually(t, 2*time.Second, "leader", e.IsLeader)
	blockRenew.Store(true)
	// The process "sleeps" for a whole TTL: the first thing it asks on
	// waking is whether it leads.
	skew.Add(int64(ttl))
	if e.IsLeader() || e.Epoch() != 0 {
		t.Fatal("a leader paused past its TTL still answers leader")
	}
	close(block)
}

// TestHungRenewEndsWithTheTerm: a renew that never answers (network
// partition) cannot keep a replica leader past its term.
func TestHungRenewEndsWithTheTerm(t *testing.T) {
	fs := &memLease{}
	var hang atomic.Bool
	var cancelled atomic.Bool
	fs.renew = func(ctx context.Context) (bool, error) {
		if hang.Load() {
			<-ctx.Done()
			cancelled.Store(true)
			return false, ctx.Err()
		}
		return true, nil
	}
	const ttl = 300 * time.Millisecond
	e, err := New(Options{Store: fs, Holder: "me", TTL: ttl, RenewEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start(t, e)
	eventually(t, 2*time.Second, "leader", e.IsLeader)
	fs.deny.Store(true) // partitioned: nothing reaches the store
	hang.Store(true)
	// The last successful renew started before now, so one TTL from now
	// the term is over whatever the loop is doing.
	time.Sleep(ttl)
	if e.IsLeader() || e.Epoch() != 0 {
		t.Fatalf("still leader %v after renews hung, TTL is %v", ttl, ttl)
	}
	eventually(t, time.Second, "the hung renew is cancelled", cancelled.Load)
}

func TestFollowerRetriesEveryRenewPeriod(t *testing.T) {
	fs := &memLease{}
	fs.deny.Store(true)
	e, err := New(Options{Store: fs, Holder: "me", TTL: time.Second, RenewEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, e)
	time.Sleep(275 * time.Millisecond)
	stop()
	// Tries at 0, 50, ..., 250ms: about 6, fewer when the machine is busy.
	if n := fs.acquires.Load(); n < 3 || n > 7 {
		t.Errorf("%d acquire attempts in 275ms at a 50ms period", n)
	}
	if e.IsLeader() || fs.releases.Load() != 0 {
		t.Error("a follower led or released")
	}
}

// watchedLease adds LeaseWatcher to memLease.
type watchedLease struct{ *memLease }

func (w watchedLease) LeaseRemaining(ctx context.Context, name string) (time.Duration, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(time.Until(w.expires), 0), nil
}

// A follower whose store says when the live lease ends retries right
// after it, not at its next RenewEvery tick: a dead leader is replaced
// within TTL of its last renew.
func TestFollowerRetriesWhenTheLeaseRunsOut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		watch   bool
		atLeast time.Duration
		atMost  time.Duration
	}{
		{"watcher", true, 140 * time.Millisecond, 600 * time.Millisecond},
		{"no watcher", false, 1900 * time.Millisecond, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Another holder's lease, 150ms from running out.
			var st LeaseStore = &memLease{holder: "dead", epoch: 1, expires: time.Now().Add(150 * time.Millisecond)}
			if tc.watch {
				st = watchedLease{st.(*memLease)}
			}
			e, err := New(Options{Store: st, Holder: "me", TTL: 5 * time.Second, RenewEvery: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			start(t, e)
			eventually(t, tc.atMost, "the follower takes the expired lease", e.IsLeader)
			if took := time.Since(began); took < tc.atLeast {
				t.Errorf("led after %v, before the dead leader's lease ran out", took)
			}
		})
	}
}
