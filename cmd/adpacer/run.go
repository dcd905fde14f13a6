package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/schedule"
	"github.com/adpacer/adpacer/internal/sdnotify"
	"github.com/adpacer/adpacer/internal/telemetry"
	"github.com/oklog/run"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
)

// serverShutdownTimeout bounds the HTTP server's drain after the scheduler
// has drained; shutdown_timeout (at most 25s by default) plus this stays
// under the 30s systemd and Kubernetes give by default.
const serverShutdownTimeout = 3 * time.Second

func newRunCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "run [config-file]",
		Short: "Run the daemon until SIGTERM or SIGINT",
		Long: `run starts the telemetry server (/metrics, /healthz, /readyz), opens and
migrates the store, and runs the scheduled jobs: one pull per connector
instance, and the pace, apply and alerts jobs. On SIGTERM or SIGINT it stops
scheduling, lets running jobs finish for up to shutdown_timeout, cancels what
is left, and exits 0 when everything drained.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig(args)
			if err != nil {
				return err
			}
			return a.runDaemon(cmd.Context(), cfg)
		},
	}
}

func (a *app) logger(cfg *config.Config) (*zap.Logger, error) {
	return telemetry.NewLogger(telemetry.LogOptions{Level: cfg.Log.Level, Format: cfg.Log.Format, Output: a.stderr})
}

// runDaemon is the process lifecycle. Start order: logger, registry,
// telemetry listener, store (+ migrations), jobs, scheduler. Actors run in
// an oklog/run group; when one returns (normally the signal actor) the
// others are interrupted in the order added: scheduler first (drain jobs
// while probes still answer), then the HTTP server. The store closes last,
// after every actor returned.
func (a *app) runDaemon(ctx context.Context, cfg *config.Config) (err error) {
	log, err := a.logger(cfg)
	if err != nil {
		return configError(err)
	}
	defer func() { _ = log.Sync() }()
	log = log.With(zap.String("instance", cfg.InstanceName))

	reg := telemetry.NewRegistry(a.build)
	hb := telemetry.NewHeartbeat(nil)
	ready := telemetry.NewReadiness(telemetry.CondConfigLoaded, telemetry.CondStoreMigrated, telemetry.CondRunning)
	ready.Set(telemetry.CondConfigLoaded, true, "")
	cs := cfg.Connectors
	log.Info("starting adpacer",
		zap.String("version", a.build.Version), zap.String("revision", a.build.Revision),
		zap.String("config", cfg.File()), zap.String("mode", cfg.Mode),
		zap.String("store", cfg.Store.Driver),
		zap.Int("yandex_direct", len(cs.YandexDirect)), zap.Int("google_ads", len(cs.GoogleAds)), zap.Int("vk_ads", len(cs.VKAds)),
		zap.Int("trello", len(cs.Trello)), zap.Int("everhour", len(cs.Everhour)),
		zap.Int("budget_lines", len(cfg.Pacing.BudgetLines)))
	// The whole effective config at debug level; secrets print redacted.
	log.Debug("effective configuration", zap.Reflect("config", cfg))

	srv, err := telemetry.NewServer(telemetry.ServerOptions{
		Listen: cfg.HTTP.Listen, Gatherer: reg, Heartbeat: hb, Readiness: ready,
		Logger: log, Token: cfg.HTTP.StatusToken.Reveal(),
	})
	if err != nil {
		return configError(err)
	}
	if err := srv.Listen(); err != nil {
		return err
	}

	deps := Deps{Config: cfg, Logger: log, Registry: reg, Readiness: ready, Heartbeat: hb}
	if a.wiring.OpenStore != nil {
		st, err := a.wiring.OpenStore(ctx, cfg, log)
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("run: open %s store: %w", cfg.Store.Driver, err)
		}
		defer func() {
			if cerr := st.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("run: close store: %w", cerr)
			}
		}()
		if cfg.Store.MigrateOnStart {
			if err := st.Migrate(ctx); err != nil {
				_ = srv.Shutdown(context.Background())
				return fmt.Errorf("run: migrate %s store: %w", cfg.Store.Driver, err)
			}
			ready.Set(telemetry.CondStoreMigrated, true, "")
		} else {
			ready.Set(telemetry.CondStoreMigrated, true, "migrate_on_start is false: migrations are run by `adpacer migrate`")
		}
		deps.Store = st
	} else {
		ready.Set(telemetry.CondStoreMigrated, false, "store not wired into this build")
		log.Warn("no store is wired into this build: running without persistence; /readyz stays unready")
	}

	if a.wiring.Leader != nil {
		leader, err := a.wiring.Leader(ctx, deps)
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("run: leader election: %w", err)
		}
		deps.Leader = leader
	}

	sched, err := schedule.New(schedule.Options{Logger: log, Registerer: reg, Leader: deps.Leader, Beat: hb.Beat,
		HeartbeatInterval: heartbeatInterval()})
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	if a.wiring.Jobs != nil {
		jobs, err := a.wiring.Jobs(ctx, deps)
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("run: build jobs: %w", err)
		}
		for _, j := range jobs {
			if err := sched.Add(j); err != nil {
				_ = srv.Shutdown(context.Background())
				return fmt.Errorf("run: %w", err)
			}
		}
	}
	if len(sched.Jobs()) == 0 {
		log.Warn("no jobs are wired into this build: serving telemetry only")
	}
	if a.wiring.Mount != nil {
		if err := a.wiring.Mount(srv, deps); err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("run: mount handlers: %w", err)
		}
	}

	var actors []Actor
	if a.wiring.Actors != nil {
		if actors, err = a.wiring.Actors(ctx, deps); err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("run: build actors: %w", err)
		}
	}

	var g run.Group
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	var drainErr error // written by the scheduler interrupt, read after g.Run
	{
		stopped := make(chan error, 1)
		g.Add(func() error {
			sched.Start()
			ready.Set(telemetry.CondRunning, true, "")
			if a.wiring.OnReady != nil {
				a.wiring.OnReady()
			}
			return <-stopped
		}, func(cause error) {
			ready.Set(telemetry.CondRunning, false, "shutting down")
			if a.wiring.OnStopping != nil {
				a.wiring.OnStopping()
			}
			log.Info("shutting down", zap.String("cause", cause.Error()), zap.Duration("drain_timeout", cfg.ShutdownTimeout.D()))
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout.D())
			defer cancel()
			drainErr = sched.Stop(sctx)
			if a.wiring.Drained != nil {
				if err := a.wiring.Drained(sctx); err != nil {
					log.Warn("stopping work started outside the scheduler", zap.Error(err))
				}
			}
			stopped <- drainErr
		})
	}
	for _, act := range actors {
		g.Add(act.Execute, act.Interrupt)
	}
	{
		g.Add(srv.Serve, func(error) {
			sctx, cancel := context.WithTimeout(context.Background(), serverShutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				log.Warn("telemetry server shutdown", zap.Error(err))
			}
		})
	}

	// Run returns the first actor's error (normally the signal); a failed
	// drain is reported from drainErr, because it is the scheduler's own
	// return value and Run does not surface it.
	runErr := g.Run()
	switch {
	case errors.Is(runErr, run.ErrSignal):
		// oklog/run's SignalError.As does not fill its target; use the text.
		log.Info("stopped", zap.String("cause", runErr.Error()))
	case errors.Is(runErr, context.Canceled):
		log.Info("context cancelled; stopped")
	case runErr != nil:
		log.Error("stopped because an actor failed", zap.Error(runErr))
		return fmt.Errorf("run: %w", runErr)
	}
	if drainErr != nil {
		log.Error("shutdown did not drain cleanly", zap.Error(drainErr))
		return fmt.Errorf("run: %w", drainErr)
	}
	log.Info("shutdown complete")
	return nil
}

// heartbeatInterval is how often the cron loop beats the heartbeat: every
// 10 s, or a quarter of systemd's watchdog interval when that is shorter, so
// a healthy loop always feeds the watchdog in time.
func heartbeatInterval() time.Duration {
	d := 10 * time.Second
	if w, err := sdnotify.WatchdogInterval(); err == nil && w > 0 && w/4 < d {
		d = max(w/4, 100*time.Millisecond)
	}
	return d
}
