package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/internal/daemon"
	"github.com/adpacer/adpacer/internal/leader"
	"github.com/adpacer/adpacer/internal/sdnotify"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/backend"

	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/schedule"
	"github.com/adpacer/adpacer/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Store is what the process lifecycle needs from the store: migrations at
// start and a close at the end. The real store (package store) satisfies
// it; everything else a job needs it gets through Wiring.Jobs.
type Store interface {
	Migrate(ctx context.Context) error
	Close() error
}

// Deps are what the daemon built before asking Wiring for jobs and
// handlers.
type Deps struct {
	Config    *config.Config
	Logger    *zap.Logger
	Registry  *prometheus.Registry
	Readiness *telemetry.Readiness
	// Heartbeat is beaten by the scheduler loop every 10s; a systemd
	// watchdog should ping only while Heartbeat.Age() is small.
	Heartbeat *telemetry.Heartbeat
	Store     Store // nil when Wiring.OpenStore is nil
	// Leader reports whether this replica may run leader-only jobs (the
	// scheduler's gate). nil means always (SQLite, one replica).
	Leader func() bool
}

// Wiring connects cmd/adpacer to the parts of the daemon that live in
// other packages. Every field may be nil; the daemon then runs without
// that part and says so in its logs and /readyz.
type Wiring struct {
	// OpenStore opens the store cfg.Store names (without migrating), taking
	// the SQLite process lock; OpenStoreShared opens it beside a running
	// daemon (reports).
	OpenStore       func(ctx context.Context, cfg *config.Config, log *zap.Logger) (Store, error)
	OpenStoreShared func(ctx context.Context, cfg *config.Config, log *zap.Logger) (Store, error)
	// Leader returns the leader gate for the scheduler (PostgreSQL advisory
	// lock); nil means this replica always leads.
	Leader func(ctx context.Context, d Deps) (func() bool, error)
	// Jobs returns the scheduled jobs: one pull per connector instance, and
	// pace, apply and alerts (cfg.Jobs).
	Jobs func(ctx context.Context, d Deps) ([]schedule.Job, error)
	// Mount adds handlers (status page, webhooks) to the telemetry server.
	Mount func(srv *telemetry.Server, d Deps) error
	// Actors are extra long-running parts (leader-election renewal, systemd
	// watchdog). They are interrupted after the scheduler has drained and
	// before the HTTP server stops, so a leader lock is released only once
	// no job runs.
	Actors func(ctx context.Context, d Deps) ([]Actor, error)
	// OnReady is called once the scheduler runs (systemd READY=1);
	// OnStopping when shutdown begins (STOPPING=1).
	OnReady    func()
	OnStopping func()
	// Drained is called once the scheduler has drained, before the store
	// closes: it stops work the daemon starts outside the scheduler (an
	// apply a Trello webhook triggered).
	Drained func(ctx context.Context) error
}

// Actor is one member of the run group: Execute blocks until Interrupt is
// called (or fails), and Interrupt makes Execute return.
type Actor struct {
	Name      string
	Execute   func() error
	Interrupt func(error)
}

// defaultWiring connects the binary to the store, the connectors, the
// pacing cycle, the status page and systemd. One daemon is built per run
// (Jobs) and mounted on the telemetry server (Mount).
func defaultWiring() Wiring {
	var (
		d  *daemon.Daemon
		el *leader.Elector
	)
	// build makes the one daemon of this run, from whichever hook needs it
	// first (Jobs, then Mount, in run's start order).
	build := func(ctx context.Context, deps Deps) (*daemon.Daemon, error) {
		if d != nil {
			return d, nil
		}
		ws, ok := deps.Store.(wiredStore)
		if !ok {
			return nil, errors.New("the store was not opened by this wiring")
		}
		if el == nil {
			return nil, errors.New("leader election was not set up")
		}
		built, err := daemon.Build(ctx, daemon.Options{Config: deps.Config, Store: ws.Store, Logger: deps.Logger,
			Registry: deps.Registry, Epoch: el.Epoch})
		if err != nil {
			return nil, err
		}
		d = built
		return d, nil
	}
	notifier := sdnotify.FromEnv()
	return Wiring{
		OpenStore: func(ctx context.Context, cfg *config.Config, _ *zap.Logger) (Store, error) {
			return openStore(ctx, cfg, false)
		},
		OpenStoreShared: func(ctx context.Context, cfg *config.Config, _ *zap.Logger) (Store, error) {
			return openStore(ctx, cfg, true)
		},
		// Leader: the lease in the store elects one writer among replicas
		// (PostgreSQL) and is held at once by the only process of a SQLite
		// file; every term bumps the epoch that fences ledger writes.
		Leader: func(_ context.Context, deps Deps) (func() bool, error) {
			ws, _ := deps.Store.(wiredStore)
			ls, ok := ws.Store.(leader.LeaseStore)
			if !ok {
				return nil, fmt.Errorf("the %s store has no leader lease", deps.Config.Store.Driver)
			}
			var err error
			el, err = leader.New(leader.Options{Store: ls, Name: "adpacer", Logger: deps.Logger.Named("leader"), Registerer: deps.Registry})
			if err != nil {
				return nil, err
			}
			return el.IsLeader, nil
		},
		Jobs: func(ctx context.Context, deps Deps) ([]schedule.Job, error) {
			d, err := build(ctx, deps)
			if err != nil {
				return nil, fmt.Errorf("jobs: %w", err)
			}
			return d.Jobs(), nil
		},
		Mount: func(srv *telemetry.Server, deps Deps) error {
			d, err := build(context.Background(), deps)
			if err != nil {
				return fmt.Errorf("mount: %w", err)
			}
			d.Mount(srv)
			return nil
		},
		Actors: func(_ context.Context, deps Deps) ([]Actor, error) {
			var actors []Actor
			if el != nil {
				lctx, cancel := context.WithCancel(context.Background())
				actors = append(actors, Actor{Name: "leader-election", Execute: func() error { return el.Run(lctx) }, Interrupt: func(error) { cancel() }})
			}
			interval, err := sdnotify.WatchdogInterval()
			if err != nil || interval == 0 || !notifier.Enabled() {
				return actors, err
			}
			ctx, cancel := context.WithCancel(context.Background())
			return append(actors, Actor{
				Name:      "systemd-watchdog",
				Execute:   func() error { return notifier.Watchdog(ctx, interval, heartbeat{deps.Heartbeat}, nil) },
				Interrupt: func(error) { cancel() },
			}), nil
		},
		OnReady:    func() { _ = notifier.Notify("READY=1") },
		OnStopping: func() { _ = notifier.Notify("STOPPING=1") },
		Drained: func(ctx context.Context) error {
			if d == nil {
				return nil
			}
			return d.Close(ctx)
		},
	}
}

// heartbeat adapts the scheduler's heartbeat to the watchdog: systemd is
// fed only while the cron loop itself makes progress.
type heartbeat struct{ h *telemetry.Heartbeat }

func (h heartbeat) LastBeat() time.Time { return h.h.Last() }

// wiredStore is the store as the daemon opens it, with the Everhour report
// source the `report hours` command reads.
type wiredStore struct{ store.Store }

// HoursReportInput implements everhour.ReportSource.
func (w wiredStore) HoursReportInput(ctx context.Context, from, to string) (everhour.ReportInput, error) {
	return daemon.ReportInput(ctx, w.Store, from, to)
}

func openStore(ctx context.Context, cfg *config.Config, shared bool) (Store, error) {
	st, err := backend.Open(ctx, backend.Config{Driver: cfg.Store.Driver, SQLitePath: cfg.Store.SQLite.Path,
		PostgresDSN: cfg.Store.Postgres.DSN.Reveal(), Shared: shared})
	if err != nil {
		return nil, err
	}
	return wiredStore{st}, nil
}
