package schedule

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type harness struct {
	s    *Scheduler
	reg  *prometheus.Registry
	logs *observer.ObservedLogs
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	opts.Logger = zap.New(core)
	opts.Registerer = reg
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return &harness{s: s, reg: reg, logs: logs}
}

func (h *harness) add(t *testing.T, j Job) {
	t.Helper()
	if j.Schedule == "" {
		j.Schedule = "@every 1h"
	}
	if j.Timeout == 0 {
		j.Timeout = time.Minute
	}
	if err := h.s.Add(j); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) runs(job, result string) float64 {
	return testutil.ToFloat64(h.s.m.runs.WithLabelValues(job, result))
}

func TestRunNowOutcomesAndMetrics(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, Options{Now: func() time.Time { return now }})
	h.add(t, Job{Name: "ok", Run: func(context.Context) error { return nil }})
	h.add(t, Job{Name: "fails", Run: func(context.Context) error { return errors.New("upstream 503") }})
	h.add(t, Job{Name: "panics", Run: func(context.Context) error { panic("nil map") }})

	for _, tc := range []struct {
		job, outcome string
	}{{"ok", ResultSuccess}, {"fails", ResultError}, {"panics", ResultError}} {
		res, err := h.s.RunNow(context.Background(), tc.job)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != tc.outcome {
			t.Errorf("RunNow(%s) = %+v, want %s", tc.job, res, tc.outcome)
		}
		if got := h.runs(tc.job, tc.outcome); got != 1 {
			t.Errorf("runs_total{job=%s,result=%s} = %v, want 1", tc.job, tc.outcome, got)
		}
	}
	if got := testutil.ToFloat64(h.s.m.lastSuccess.WithLabelValues("ok")); got != float64(now.Unix()) {
		t.Errorf("last success of ok = %v, want %d", got, now.Unix())
	}
	if got := testutil.ToFloat64(h.s.m.lastSuccess.WithLabelValues("fails")); got != 0 {
		t.Errorf("last success of fails = %v, want 0", got)
	}
	res, _ := h.s.RunNow(context.Background(), "panics")
	var pe *PanicError
	if !errors.As(res.Err, &pe) || pe.Value != "nil map" || len(pe.Stack) == 0 {
		t.Errorf("panic result = %v, want a PanicError with a stack", res.Err)
	}
	if n := h.logs.FilterMessage("job panicked").Len(); n != 2 {
		t.Errorf("logged %d panics, want 2", n)
	}
	if _, err := h.s.RunNow(context.Background(), "nope"); err == nil {
		t.Error("RunNow(unknown job) = nil error")
	}
	// Series exist for every job and result from registration on, and the
	// names pass promlint.
	if n := testutil.CollectAndCount(h.s.m.runs); n != 9 {
		t.Errorf("runs_total has %d series, want 9 (3 jobs x 3 results)", n)
	}
	problems, err := testutil.GatherAndLint(h.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestSkipIfStillRunning(t *testing.T) {
	h := newHarness(t, Options{})
	started, release := make(chan struct{}), make(chan struct{})
	h.add(t, Job{Name: "slow", Run: func(context.Context) error {
		close(started)
		<-release
		return nil
	}})
	first := make(chan Result, 1)
	go func() {
		r, _ := h.s.RunNow(context.Background(), "slow")
		first <- r
	}()
	<-started
	r, _ := h.s.RunNow(context.Background(), "slow")
	if r.Outcome != ResultSkipped || !errors.Is(r.Err, ErrStillRunning) {
		t.Errorf("overlapping run = %+v, want skipped (still running)", r)
	}
	close(release)
	if r := <-first; r.Outcome != ResultSuccess {
		t.Errorf("first run = %+v", r)
	}
	if got := h.runs("slow", ResultSkipped); got != 1 {
		t.Errorf("skipped = %v, want 1", got)
	}
}

func TestLeaderGate(t *testing.T) {
	var leader atomic.Bool
	h := newHarness(t, Options{Leader: leader.Load})
	var ran atomic.Int32
	h.add(t, Job{Name: "pace", Run: func(context.Context) error { ran.Add(1); return nil }})
	h.add(t, Job{Name: "local", AnyReplica: true, Run: func(context.Context) error { ran.Add(10); return nil }})

	if r, _ := h.s.RunNow(context.Background(), "pace"); r.Outcome != ResultSkipped || !errors.Is(r.Err, ErrNotLeader) {
		t.Errorf("follower run = %+v, want skipped (not leader)", r)
	}
	if r, _ := h.s.RunNow(context.Background(), "local"); r.Outcome != ResultSuccess {
		t.Errorf("AnyReplica job on follower = %+v, want success", r)
	}
	leader.Store(true)
	if r, _ := h.s.RunNow(context.Background(), "pace"); r.Outcome != ResultSuccess {
		t.Errorf("leader run = %+v, want success", r)
	}
	if got := ran.Load(); got != 11 {
		t.Errorf("work done = %d, want 11", got)
	}
}

func TestTimeoutCancelsRun(t *testing.T) {
	h := newHarness(t, Options{})
	h.add(t, Job{Name: "hang", Timeout: 50 * time.Millisecond, Run: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	start := time.Now()
	r, _ := h.s.RunNow(context.Background(), "hang")
	if !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("result = %+v, want deadline exceeded", r)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("timeout took %s", el)
	}
}

func TestScheduledRunsAndHeartbeat(t *testing.T) {
	var beats atomic.Int32
	h := newHarness(t, Options{Beat: func() { beats.Add(1) }, HeartbeatInterval: time.Second})
	ran := make(chan struct{}, 10)
	h.add(t, Job{Name: "tick", Schedule: "@every 1s", Run: func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("scheduled run has no deadline")
		}
		ran <- struct{}{}
		return nil
	}})
	h.s.Start()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("scheduled job did not run within 5s")
	}
	deadline := time.Now().Add(5 * time.Second)
	for beats.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if beats.Load() == 0 {
		t.Error("heartbeat never beaten by the cron loop")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := h.s.RunNow(context.Background(), "tick"); r.Outcome != ResultSkipped || !errors.Is(r.Err, ErrStopping) {
		t.Errorf("run after Stop = %+v, want skipped (stopping)", r)
	}
}

func TestStopDrainsRunningJob(t *testing.T) {
	h := newHarness(t, Options{})
	started := make(chan struct{})
	var finished atomic.Bool
	h.add(t, Job{Name: "drain", Run: func(ctx context.Context) error {
		close(started)
		time.Sleep(300 * time.Millisecond) // ignores ctx: must be drained, not cut
		finished.Store(true)
		return ctx.Err()
	}})
	h.s.Start()
	res := make(chan Result, 1)
	go func() { r, _ := h.s.RunNow(context.Background(), "drain"); res <- r }()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.s.Stop(ctx); err != nil {
		t.Fatalf("Stop = %v, want nil after the job drained", err)
	}
	if !finished.Load() {
		t.Error("Stop returned before the running job finished")
	}
	if r := <-res; r.Outcome != ResultSuccess {
		t.Errorf("drained run = %+v, want success (its context must not be cancelled while draining)", r)
	}
}

func TestStopCancelsAtDeadline(t *testing.T) {
	h := newHarness(t, Options{})
	started := make(chan struct{})
	h.add(t, Job{Name: "stuck", Run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	res := make(chan Result, 1)
	go func() { r, _ := h.s.RunNow(context.Background(), "stuck"); res <- r }()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := h.s.Stop(ctx)
	if err == nil || !strings.Contains(err.Error(), "cancelled at the shutdown deadline") {
		t.Fatalf("Stop = %v, want cancellation at the deadline", err)
	}
	if r := <-res; !errors.Is(r.Err, context.Canceled) {
		t.Errorf("stuck run = %+v, want context.Canceled", r)
	}
}

func TestStopInterruptsJitterDelay(t *testing.T) {
	h := newHarness(t, Options{})
	var ran atomic.Bool
	h.add(t, Job{Name: "jittery", Schedule: "@every 1s", Jitter: time.Hour, Run: func(context.Context) error {
		ran.Store(true)
		return nil
	}})
	if d := JitterFor("jittery", time.Hour); d < time.Second {
		t.Skipf("jitter %s too small for this test", d)
	}
	h.s.Start()
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(h.s.m.running.WithLabelValues("jittery")) == 0 && !h.s.jobs["jittery"].running.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("Stop waited %s for a run sleeping in its jitter delay", el)
	}
	if ran.Load() {
		t.Error("job ran despite a 1h jitter")
	}
	if got := h.runs("jittery", ResultSkipped); got < 1 {
		t.Errorf("skipped = %v, want the interrupted run counted", got)
	}
}

func TestJitterIsDeterministicAndBounded(t *testing.T) {
	names := []string{"pace", "apply", "alerts", "pull_yandex-federal", "pull_google-main"}
	seen := map[time.Duration]bool{}
	for _, n := range names {
		a, b := JitterFor(n, time.Minute), JitterFor(n, time.Minute)
		if a != b || a < 0 || a >= time.Minute {
			t.Errorf("JitterFor(%s) = %s then %s, want equal values in [0,1m)", n, a, b)
		}
		seen[a] = true
	}
	if len(seen) < len(names)-1 {
		t.Errorf("jitters not spread: %v", seen)
	}
	if JitterFor("x", 0) != 0 {
		t.Error("zero window must give zero jitter")
	}
}

func TestAddRejectsBadJobs(t *testing.T) {
	h := newHarness(t, Options{})
	ok := func(context.Context) error { return nil }
	h.add(t, Job{Name: "a", Run: ok})
	for _, tc := range []struct {
		job  Job
		want string
	}{
		{Job{Schedule: "@hourly", Timeout: time.Second, Run: ok}, "has no name"},
		{Job{Name: "a", Schedule: "@hourly", Timeout: time.Second, Run: ok}, `duplicate job name "a"`},
		{Job{Name: "b", Schedule: "* * *", Timeout: time.Second, Run: ok}, `spec "* * *"`},
		{Job{Name: "c", Schedule: "@hourly", Run: ok}, "timeout must be positive"},
		{Job{Name: "d", Schedule: "@hourly", Timeout: time.Second}, "no Run function"},
	} {
		err := h.s.Add(tc.job)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Add(%+v) = %v, want error containing %q", tc.job.Name, err, tc.want)
		}
	}
	if _, err := New(Options{Registerer: h.reg}); err == nil {
		t.Error("second scheduler on the same registry: want a registration error")
	}
}
