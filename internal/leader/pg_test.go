package leader

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/adpacer/adpacer/store/storetest"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/postgres"
)

// freshSchema creates a migrated schema with a random name, dropped when the
// test ends, and returns the DSN that selects it through search_path.
func freshSchema(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	addr := storetest.PostgresSchema(t, "adpacer_leader")
	s := openPG(t, addr)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return addr
}

func openPG(t *testing.T, addr string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), addr, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newElector(t *testing.T, s LeaseStore, holder string, ttl, renew time.Duration) *Elector {
	t.Helper()
	e, err := New(Options{Store: s, Name: "ha-test", Holder: holder, TTL: ttl, RenewEvery: renew})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExactlyOneLeader (a): two electors on separate pools of one database;
// sampled every millisecond, never both lead, and after a clean stop the
// other takes over within one retry period.
func TestExactlyOneLeader(t *testing.T) {
	addr := freshSchema(t)
	const ttl, renew = time.Second, 100 * time.Millisecond
	es := []*Elector{
		newElector(t, openPG(t, addr), "a", ttl, renew),
		newElector(t, openPG(t, addr), "b", ttl, renew),
	}
	stops := []func(){start(t, es[0]), start(t, es[1])}
	var both, none, samples int
	sample := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Millisecond) {
			a, b := es[0].IsLeader(), es[1].IsLeader()
			samples++
			if a && b {
				both++
			}
			if !a && !b {
				none++
			}
		}
	}
	eventually(t, 5*time.Second, "a leader", func() bool { return es[0].IsLeader() || es[1].IsLeader() })
	sample(time.Second)
	if none != 0 {
		t.Errorf("no leader in %d of %d samples of a stable pair", none, samples)
	}
	first := 0
	if es[1].IsLeader() {
		first = 1
	}
	oldEpoch := es[first].Epoch()
	stops[first]()
	stopped := time.Now()
	other := es[1-first]
	for !other.IsLeader() {
		if time.Since(stopped) > 2*renew+500*time.Millisecond {
			t.Fatalf("no take-over %v after a clean release (retry period %v)", time.Since(stopped), renew)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("hand-over after a clean release: %v (retry period %v)", time.Since(stopped), renew)
	if other.Epoch() <= oldEpoch {
		t.Errorf("successor epoch %d not above %d", other.Epoch(), oldEpoch)
	}
	// A third replica joins; the leader keeps leading.
	es[first] = newElector(t, openPG(t, addr), "c", ttl, renew)
	start(t, es[first])
	sample(time.Second)
	if both != 0 {
		t.Fatalf("two leaders in %d of %d samples", both, samples)
	}
	if !other.IsLeader() || es[first].IsLeader() {
		t.Fatal("the newcomer took over from a live leader")
	}
}

// child is a re-executed test binary in one of the roles of child_test.go.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	done   chan struct{}
	waited sync.Once
}

func spawn(t *testing.T, role, addr string, ttl, renew time.Duration, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+role, envChildDSN+"="+addr,
		envChildTTL+"="+ttl.String(), envChildRenew+"="+renew.String())
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 1000), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { c.kill(t) })
	return c
}

// kill SIGKILLs the child (no release, no deferred code) and reaps it.
func (c *child) kill(t *testing.T) {
	c.waited.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
		_ = c.cmd.Wait()
	})
}

// expect waits for a line starting with prefix and returns it.
func (c *child) expect(t *testing.T, prefix string, within time.Duration) string {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case l := <-c.lines:
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-c.done:
			t.Fatalf("child %d exited before saying %q", c.cmd.Process.Pid, prefix)
		case <-timeout:
			t.Fatalf("child %d did not say %q within %v", c.cmd.Process.Pid, prefix, within)
		}
	}
}

func epochOf(t *testing.T, line string) int64 {
	t.Helper()
	f := strings.Fields(line)
	e, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		t.Fatalf("no epoch in %q", line)
	}
	return e
}

// TestHandOverAfterSIGKILL (b): a leader process killed with SIGKILL (no
// release) is replaced within TTL + RenewEvery, and not before its lease
// ran out on the server.
func TestHandOverAfterSIGKILL(t *testing.T) {
	addr := freshSchema(t)
	const ttl, renew = 1500 * time.Millisecond, 300 * time.Millisecond
	c := spawn(t, "elector", addr, ttl, renew)
	oldEpoch := epochOf(t, c.expect(t, "leader", 10*time.Second))
	b := newElector(t, openPG(t, addr), "survivor", ttl, renew)
	start(t, b)
	time.Sleep(2 * renew) // b is a follower retrying; the child renews
	if b.IsLeader() {
		t.Fatal("the survivor leads while the child is alive")
	}
	c.kill(t)
	killed := time.Now()
	for !b.IsLeader() {
		if time.Since(killed) > ttl+renew+time.Second {
			t.Fatalf("no hand-over %v after SIGKILL; bound is TTL = %v", time.Since(killed), ttl)
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("hand-over after SIGKILL: %v (TTL %v, RenewEvery %v)", took, ttl, renew)
	// The child renewed about every RenewEvery, so its lease outlived it by
	// about TTL-RenewEvery (less only if its timers ran late): a take-over
	// in under half the TTL would mean the lease was not honoured.
	if took < ttl/2 {
		t.Errorf("took over after %v, before the dead leader's lease (TTL %v) could have run out", took, ttl)
	}
	// The follower asks the store when the lease runs out and retries
	// then (LeaseWatcher), so the dead leader's last renew plus TTL bounds
	// the hand-over, whenever in its renew period the kill came.
	if took > ttl+250*time.Millisecond {
		t.Errorf("hand-over took %v, more than TTL = %v (+250ms scheduling slack for a loaded CI machine)", took, ttl)
	}
	if b.Epoch() <= oldEpoch {
		t.Errorf("successor epoch %d not above the dead leader's %d", b.Epoch(), oldEpoch)
	}
}

// pausableStore lets a test stop an elector's lease calls, as a process
// paused by the OS or a GC neither renews nor re-acquires.
type pausableStore struct {
	LeaseStore
	paused chan struct{} // closed to unpause; nil: running
	mu     sync.Mutex
}

func (p *pausableStore) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = make(chan struct{})
}

func (p *pausableStore) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.paused)
	p.paused = nil
}

// wait blocks while paused.
func (p *pausableStore) wait(ctx context.Context) error {
	p.mu.Lock()
	ch := p.paused
	p.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pausableStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (int64, bool, error) {
	if err := p.wait(ctx); err != nil {
		return 0, false, err
	}
	return p.LeaseStore.AcquireLease(ctx, name, holder, ttl)
}

func (p *pausableStore) RenewLease(ctx context.Context, name, holder string, epoch int64, ttl time.Duration) (bool, error) {
	if err := p.wait(ctx); err != nil {
		return false, err
	}
	return p.LeaseStore.RenewLease(ctx, name, holder, epoch, ttl)
}

// TestPausedFormerLeaderIsFenced (c): a leader whose lease calls stopped keeps
// the epoch it captured (a cycle in progress); once the successor acquired,
// every ledger write with the old epoch fails with store.ErrConflict and
// changes nothing.
func TestPausedFormerLeaderIsFenced(t *testing.T) {
	addr := freshSchema(t)
	ctx := context.Background()
	const ttl, renew = time.Second, 200 * time.Millisecond
	sa, sb := openPG(t, addr), openPG(t, addr)
	ps := &pausableStore{LeaseStore: sa}
	a := newElector(t, ps, "a", ttl, renew)
	start(t, a)
	eventually(t, 5*time.Second, "a leads", a.IsLeader)
	stale := a.Epoch()
	for _, k := range []adpacer.ActionKey{"planned", "claimed"} {
		if err := sa.PlanAction(ctx, testAction(k), stale); err != nil {
			t.Fatal(err)
		}
	}
	ps.pause()
	defer ps.resume()
	b := newElector(t, sb, "b", ttl, renew)
	start(t, b)
	eventually(t, ttl+renew+time.Second, "b takes over", b.IsLeader)
	if a.IsLeader() || a.Epoch() != 0 {
		t.Fatal("the paused former leader still answers leader")
	}
	fresh := b.Epoch()
	if err := sb.ClaimAction(ctx, "claimed", fresh); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"plan":   sa.PlanAction(ctx, testAction("new"), stale),
		"claim":  sa.ClaimAction(ctx, "planned", stale),
		"finish": sa.FinishAction(ctx, "claimed", adpacer.ActionApplied, nil, "", stale),
		"hold":   sa.FinishAction(ctx, "planned", adpacer.ActionHeld, nil, "", stale),
	} {
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s with the stale epoch %d = %v, want store.ErrConflict", what, stale, err)
		}
	}
	if _, err := sa.Action(ctx, "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("fenced plan left a row: %v", err)
	}
	for k, want := range map[adpacer.ActionKey]adpacer.ActionState{"planned": adpacer.ActionPlanned, "claimed": adpacer.ActionClaimed} {
		r, err := sa.Action(ctx, k)
		if err != nil || r.State != want {
			t.Errorf("%s after fenced writes: %v %v, want %s", k, r.State, err, want)
		}
	}
}

// TestSIGSTOPpedLeaderWakesFencedAsFollower (c, with a real pause): a leader
// process frozen with SIGSTOP past its lease wakes up answering follower,
// and the writes it had in hand are refused by the epoch check.
func TestSIGSTOPpedLeaderWakesFencedAsFollower(t *testing.T) {
	addr := freshSchema(t)
	ctx := context.Background()
	const ttl, renew = time.Second, 200 * time.Millisecond
	c := spawn(t, "pausable", addr, ttl, renew)
	stale := epochOf(t, c.expect(t, "leader", 10*time.Second))
	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	s := openPG(t, addr)
	b := newElector(t, s, "b", ttl, renew)
	start(t, b)
	eventually(t, ttl+renew+time.Second, "b takes over", b.IsLeader)
	for _, k := range []adpacer.ActionKey{"claim-me", "finish-me"} {
		if err := s.PlanAction(ctx, testAction(k), b.Epoch()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ClaimAction(ctx, "finish-me", b.Epoch()); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintln(c.stdin, "plan-me claim-me finish-me"); err != nil {
		t.Fatal(err)
	}
	if got := c.expect(t, "awake", 5*time.Second); got != "awake leader=false epoch=0" {
		t.Errorf("woke as %q, want a follower", got)
	}
	if got := c.expect(t, "fenced", 5*time.Second); got != "fenced plan=conflict claim=conflict finish=conflict" {
		t.Errorf("stale writes: %q, want all three refused", got)
	}
	if !b.IsLeader() || b.Epoch() <= stale {
		t.Errorf("successor lost its term or has epoch %d <= %d", b.Epoch(), stale)
	}
}

// TestHARunAppliesEachActionOnce (d): two worker processes (elector plus a
// miniature apply loop) on one database. The first leader is killed with
// SIGKILL in the worst place, after its platform write and before the
// ledger's finish; the other takes over, reconciles that action, and
// finishes the rest. Every action reaches the platform exactly once.
func TestHARunAppliesEachActionOnce(t *testing.T) {
	addr := freshSchema(t)
	ctx := context.Background()
	const ttl, renew, n = time.Second, 200 * time.Millisecond, 30
	const stallAt = "k12"
	first := spawn(t, "worker", addr, ttl, renew, envChildKeys+"="+strconv.Itoa(n), envChildStall+"="+stallAt)
	firstEpoch := epochOf(t, first.expect(t, "leader", 10*time.Second))
	second := spawn(t, "worker", addr, ttl, renew, envChildKeys+"="+strconv.Itoa(n))
	first.expect(t, "stalled "+stallAt, 20*time.Second)
	first.kill(t)
	killed := time.Now()
	secondEpoch := epochOf(t, second.expect(t, "leader", ttl+renew+5*time.Second))
	t.Logf("worker hand-over after SIGKILL: %v (TTL %v, RenewEvery %v)", time.Since(killed), ttl, renew)
	second.expect(t, "done", 20*time.Second)
	second.kill(t)
	if secondEpoch <= firstEpoch {
		t.Errorf("second epoch %d not above first %d", secondEpoch, firstEpoch)
	}

	s := openPG(t, addr)
	entries, err := s.Audit(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	applied := map[adpacer.ActionKey]int{}
	appliers := map[string]bool{}
	for _, e := range entries {
		if e.Outcome == "applied" {
			applied[e.ActionKey]++
			appliers[e.Actor] = true
		}
	}
	for _, k := range keys(n) {
		if applied[k] != 1 {
			t.Errorf("%s reached the platform %d times, want exactly 1", k, applied[k])
		}
		r, err := s.Action(ctx, k)
		if err != nil || r.State != adpacer.ActionApplied {
			t.Errorf("%s ends %v (%v), want applied", k, r.State, err)
		}
		if k == stallAt && (r.Epoch != secondEpoch || !strings.HasPrefix(r.Detail, "reconciled")) {
			t.Errorf("%s: epoch %d detail %q, want finished by the successor after reconciling", k, r.Epoch, r.Detail)
		}
	}
	if len(applied) != n {
		t.Errorf("%d keys applied, want %d", len(applied), n)
	}
	if len(appliers) != 2 {
		t.Errorf("appliers %v, want both workers (one before the kill, one after)", appliers)
	}
}
