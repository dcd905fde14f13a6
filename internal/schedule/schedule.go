// Package schedule runs adpacer's periodic jobs on robfig/cron/v3 with what
// cron leaves out: a context from the daemon's root context for every run,
// a per-job timeout, skip-if-still-running, panic recovery, a deterministic
// per-job start jitter, a leader gate, Prometheus metrics, and a Stop that
// drains running jobs up to a deadline before cancelling them.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// Results of one run; the values of the `result` label.
const (
	ResultSuccess = "success"
	ResultError   = "error"
	ResultSkipped = "skipped"
)

// DefaultHeartbeatInterval is how often the scheduler's own loop beats the
// heartbeat when Options.Beat is set.
const DefaultHeartbeatInterval = 10 * time.Second

// Job is one periodic task.
type Job struct {
	// Name is unique and becomes the `job` label: keep it from a closed,
	// configuration-bounded set ("pace", "pull_yandex-federal").
	Name string
	// Schedule is a five-field cron spec or a descriptor (@hourly,
	// @every 15m), parsed as config.ParseSchedule does.
	Schedule string
	// Timeout bounds one run; the run's context is cancelled after it.
	Timeout time.Duration
	// Jitter: each scheduled run starts after a fixed delay in [0, Jitter)
	// derived from the name, so jobs sharing a schedule (and replicas of the
	// same config) do not hit APIs in the same second, yet each job keeps a
	// stable period. RunNow skips the delay.
	Jitter time.Duration
	// AnyReplica jobs run on every replica; others only where Options.Leader
	// says this replica leads.
	AnyReplica bool
	// Run does the work. It must return when ctx is done.
	Run func(ctx context.Context) error
}

// Options configure New. Every field may be left zero.
type Options struct {
	Logger     *zap.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not exposed
	Location   *time.Location        // zone of cron specs; nil means time.Local
	// Leader gates non-AnyReplica jobs; false records the run as skipped.
	// nil means this replica always leads (SQLite, one replica).
	Leader func() bool
	// Beat is called every HeartbeatInterval from the cron loop itself, so
	// the liveness probe fails if the loop wedges (telemetry.Heartbeat.Beat).
	Beat              func()
	HeartbeatInterval time.Duration
	// Now is the clock for durations and last-success timestamps.
	Now func() time.Time
}

// Result is the outcome of one run.
type Result struct {
	Outcome  string // ResultSuccess, ResultError or ResultSkipped
	Err      error  // why it failed or was skipped
	Duration time.Duration
}

// Skip reasons, returned in Result.Err of a skipped run.
var (
	ErrStillRunning = errors.New("previous run still in progress")
	ErrNotLeader    = errors.New("this replica is not the leader")
	ErrStopping     = errors.New("scheduler is stopping")
)

// PanicError is a recovered panic inside a job.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("job panicked: %v", e.Value) }

// Scheduler owns the cron loop and the goroutines of running jobs.
type Scheduler struct {
	opts   Options
	log    *zap.Logger
	cron   *cron.Cron
	parser cron.Parser
	root   context.Context
	cancel context.CancelFunc
	m      *metrics

	mu      sync.Mutex
	jobs    map[string]*entry
	started bool
	stopped bool
	stopCh  chan struct{}
	wg      sync.WaitGroup
}

type entry struct {
	job     Job
	delay   time.Duration
	running atomic.Bool
}

type metrics struct {
	runs        *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	running     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_job_runs_total",
			Help: "Runs of scheduled jobs by outcome (success, error, skipped).",
		}, []string{"job", "result"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_job_last_success_timestamp_seconds",
			Help: "Unix time of the last successful run of a job; 0 until the first success.",
		}, []string{"job"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "adpacer_job_duration_seconds",
			Help:    "Duration of job runs that started (success or error).",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800},
		}, []string{"job"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_job_running",
			Help: "1 while a run of the job is in progress.",
		}, []string{"job"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.runs, m.lastSuccess, m.duration, m.running} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("schedule: register metrics: %w", err)
		}
	}
	return m, nil
}

// New builds a scheduler; add jobs, then Start.
func New(opts Options) (*Scheduler, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	root, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		opts:   opts,
		log:    opts.Logger.Named("schedule"),
		parser: parser,
		root:   root,
		cancel: cancel,
		m:      m,
		jobs:   map[string]*entry{},
		stopCh: make(chan struct{}),
	}
	// cron's own logger only reports its internal events; our wrapper logs
	// every run, so keep cron quiet except for errors.
	s.cron = cron.New(cron.WithLocation(opts.Location), cron.WithParser(parser),
		cron.WithLogger(cronLogger{s.log}))
	if opts.Beat != nil {
		sched := cron.Every(opts.HeartbeatInterval)
		s.cron.Schedule(sched, cron.FuncJob(opts.Beat))
	}
	return s, nil
}

// Add registers a job. It fails on an empty or duplicate name, a bad spec,
// a non-positive timeout or a missing Run, and after Start.
func (s *Scheduler) Add(j Job) error {
	if j.Name == "" {
		return errors.New("schedule: job has no name")
	}
	if j.Run == nil {
		return fmt.Errorf("schedule: job %q has no Run function", j.Name)
	}
	if j.Timeout <= 0 {
		return fmt.Errorf("schedule: job %q: timeout must be positive", j.Name)
	}
	if j.Jitter < 0 {
		return fmt.Errorf("schedule: job %q: jitter must not be negative", j.Name)
	}
	sched, err := s.parser.Parse(j.Schedule)
	if err != nil {
		return fmt.Errorf("schedule: job %q: spec %q: %w", j.Name, j.Schedule, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return fmt.Errorf("schedule: job %q added after Start", j.Name)
	}
	if _, dup := s.jobs[j.Name]; dup {
		return fmt.Errorf("schedule: duplicate job name %q", j.Name)
	}
	e := &entry{job: j, delay: JitterFor(j.Name, j.Jitter)}
	s.jobs[j.Name] = e
	name := j.Name
	s.cron.Schedule(sched, cron.FuncJob(func() { s.run(s.root, name, false) }))
	// Initialise series so they exist before the first run.
	for _, r := range []string{ResultSuccess, ResultError, ResultSkipped} {
		s.m.runs.WithLabelValues(name, r)
	}
	s.m.lastSuccess.WithLabelValues(name)
	s.m.running.WithLabelValues(name)
	s.m.duration.WithLabelValues(name)
	return nil
}

// Jobs lists the registered job names, sorted.
func (s *Scheduler) Jobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.jobs))
	for n := range s.jobs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// JitterFor is the fixed start delay of a job: a hash of its name modulo
// the jitter window.
func JitterFor(name string, window time.Duration) time.Duration {
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(window))
}

// Start begins scheduling. It does not block.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	s.cron.Start()
	s.log.Info("scheduler started", zap.Strings("jobs", s.jobNamesLocked()))
}

func (s *Scheduler) jobNamesLocked() []string {
	out := make([]string, 0, len(s.jobs))
	for n := range s.jobs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RunNow runs a job immediately in the caller's goroutine through the same
// wrapper as scheduled runs (skip-if-running, leader gate, timeout, panic
// recovery, metrics), without the jitter delay. Its context is ctx, also
// cancelled when the scheduler stops.
func (s *Scheduler) RunNow(ctx context.Context, name string) (Result, error) {
	s.mu.Lock()
	_, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return Result{}, fmt.Errorf("schedule: no job named %q", name)
	}
	return s.run(ctx, name, true), nil
}

func (s *Scheduler) run(parent context.Context, name string, manual bool) Result {
	s.mu.Lock()
	e := s.jobs[name]
	if s.stopped {
		s.mu.Unlock()
		return s.skip(e, ErrStopping)
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	if !e.running.CompareAndSwap(false, true) {
		return s.skip(e, ErrStillRunning)
	}
	defer e.running.Store(false)

	if !manual && e.delay > 0 {
		t := time.NewTimer(e.delay)
		select {
		case <-t.C:
		case <-s.stopCh:
			t.Stop()
			return s.skip(e, ErrStopping)
		case <-parent.Done():
			t.Stop()
			return s.skip(e, ErrStopping)
		}
	}
	if !e.job.AnyReplica && s.opts.Leader != nil && !s.opts.Leader() {
		return s.skip(e, ErrNotLeader)
	}

	ctx, cancel := context.WithTimeout(parent, e.job.Timeout)
	defer cancel()
	// A RunNow context is independent of the root; stopping the scheduler
	// must still cancel it.
	stopCancel := context.AfterFunc(s.root, cancel)
	defer stopCancel()

	s.m.running.WithLabelValues(name).Set(1)
	start := s.opts.Now()
	err := call(ctx, e.job.Run)
	d := s.opts.Now().Sub(start)
	s.m.running.WithLabelValues(name).Set(0)
	s.m.duration.WithLabelValues(name).Observe(d.Seconds())

	log := s.log.With(zap.String("job", name), zap.Duration("duration", d), zap.Bool("manual", manual))
	if err != nil {
		s.m.runs.WithLabelValues(name, ResultError).Inc()
		var pe *PanicError
		if errors.As(err, &pe) {
			log.Error("job panicked", zap.Any("panic", pe.Value), zap.ByteString("stack", pe.Stack))
		} else {
			log.Warn("job failed", zap.Error(err))
		}
		return Result{Outcome: ResultError, Err: err, Duration: d}
	}
	s.m.runs.WithLabelValues(name, ResultSuccess).Inc()
	s.m.lastSuccess.WithLabelValues(name).Set(float64(s.opts.Now().UnixNano()) / 1e9)
	log.Info("job finished")
	return Result{Outcome: ResultSuccess, Duration: d}
}

func (s *Scheduler) skip(e *entry, why error) Result {
	s.m.runs.WithLabelValues(e.job.Name, ResultSkipped).Inc()
	s.log.Info("job skipped", zap.String("job", e.job.Name), zap.String("reason", why.Error()))
	return Result{Outcome: ResultSkipped, Err: why}
}

// call runs fn and turns a panic into a *PanicError.
func call(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}

// Stop stops scheduling new runs and waits for running ones to finish until
// ctx ends; then it cancels their contexts and waits a short grace period
// for them to return. It returns nil when every job finished on its own,
// and an error when jobs had to be cancelled or did not return.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	close(s.stopCh)
	s.mu.Unlock()

	cronDone := s.cron.Stop().Done() // closed when cron-launched runs returned
	done := make(chan struct{})
	go func() {
		// No wg.Add happens after stopped is set, so Wait is safe here; it
		// also covers RunNow callers, which cron does not track.
		s.wg.Wait()
		<-cronDone
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		s.log.Info("scheduler stopped; running jobs drained")
		return nil
	case <-ctx.Done():
	}
	s.log.Warn("shutdown deadline reached; cancelling running jobs")
	s.cancel()
	grace := time.NewTimer(5 * time.Second)
	defer grace.Stop()
	select {
	case <-done:
		return errors.New("schedule: running jobs were cancelled at the shutdown deadline")
	case <-grace.C:
		return errors.New("schedule: running jobs did not return within 5s of cancellation")
	}
}

// cronLogger routes robfig/cron's internal messages into zap.
type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(string, ...any) {}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error(msg, zap.Error(err), zap.Any("details", kv))
}
