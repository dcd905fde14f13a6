package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/daemon"
	"github.com/adpacer/adpacer/store"
)

// stepClock is the daemon's clock in these tests: it reads a fixed instant
// so every run in one window decides the same plan, and a connector's
// back-off or rate-limit wait advances it instead of sleeping (the demo's
// clock does the same).
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if d > 0 {
		c.t = c.t.Add(d)
	}
	c.mu.Unlock()
	return nil
}

// liveDaemon is the real daemon built from a config file, as `adpacer run`
// builds it: LoadAndValidate, OpenStore (with the process lock), Migrate,
// BumpEpoch, Build.
type liveDaemon struct {
	d     *daemon.Daemon
	st    store.Store
	epoch int64
}

type migrator interface {
	Migrate(ctx context.Context) error
}

func openDaemon(ctx context.Context, cfgPath string, clock *stepClock) (*liveDaemon, error) {
	cfg, err := config.LoadAndValidate(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	st, err := daemon.OpenStore(ctx, cfg, clock.Now, false)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	m, ok := st.(migrator)
	if !ok {
		st.Close()
		return nil, errors.New("store has no Migrate")
	}
	if err := m.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	epoch, err := st.BumpEpoch(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("bump epoch: %w", err)
	}
	d, err := daemon.Build(ctx, daemon.Options{Config: cfg, Store: st, Registry: prometheus.NewRegistry(),
		Now: clock.Now, Clock: clock, Epoch: func() int64 { return epoch }})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("build: %w", err)
	}
	return &liveDaemon{d: d, st: st, epoch: epoch}, nil
}

func (l *liveDaemon) close() error { return l.st.Close() }

// phaseTimes is where one cycle spent its wall time.
type phaseTimes struct {
	Pull, Pace, Apply, Alerts time.Duration
}

func (p phaseTimes) total() time.Duration { return p.Pull + p.Pace + p.Apply + p.Alerts }

// runCycle runs one full cycle the way the scheduler's jobs would, in
// order: every ad pull, pace, apply, alerts. phase (optional) is told
// when each step starts, so a parent process can aim its kill.
func (l *liveDaemon) runCycle(ctx context.Context, phase func(string)) (phaseTimes, error) {
	if phase == nil {
		phase = func(string) {}
	}
	var pt phaseTimes
	var errs []error
	r := l.d.Runner
	t := time.Now()
	phase("pull")
	for _, id := range l.d.AdSourceIDs() {
		if err := r.PullAds(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	pt.Pull = time.Since(t)
	t = time.Now()
	phase("pace")
	if err := r.Pace(ctx); err != nil {
		return pt, errors.Join(append(errs, err)...)
	}
	pt.Pace = time.Since(t)
	t = time.Now()
	phase("apply")
	if err := r.Apply(ctx); err != nil {
		errs = append(errs, err)
	}
	pt.Apply = time.Since(t)
	t = time.Now()
	phase("alerts")
	if err := r.Alerts(ctx); err != nil {
		errs = append(errs, err)
	}
	pt.Alerts = time.Since(t)
	phase("done")
	return pt, errors.Join(errs...)
}
