package main

import (
	"context"

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
	// OpenStore opens the store cfg.Store names (without migrating).
	OpenStore func(ctx context.Context, cfg *config.Config, log *zap.Logger) (Store, error)
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
}

// Actor is one member of the run group: Execute blocks until Interrupt is
// called (or fails), and Interrupt makes Execute return.
type Actor struct {
	Name      string
	Execute   func() error
	Interrupt func(error)
}

// defaultWiring is where the store, connectors, pacing cycle and status page
// are connected to the binary.
func defaultWiring() Wiring {
	return Wiring{}
}
