// Package demo runs `adpacer demo`: the simulated market of pacing/sim behind
// the in-repo fake Yandex Direct, Google Ads, VK Ads, Trello and Everhour servers on
// loopback, a temporary SQLite store, and the real daemon (internal/daemon)
// wired to them over HTTP on an accelerated clock. Nothing here is a
// shortcut around the daemon: its config is written to a file and loaded
// and validated like any other, and every byte between the daemon and the
// platforms crosses a real HTTP connection.
package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/clock"
	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/daemon"
	"github.com/adpacer/adpacer/internal/schedule"
	"github.com/adpacer/adpacer/internal/telemetry"
	"github.com/adpacer/adpacer/pacing/sim"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/sqlite"
)

//go:embed demo.yaml
var scenarioYAML []byte

// Options of a demo run.
type Options struct {
	// Days of the simulated month to run (1..30, default 30).
	Days int
	// Duration is the wall time the run should take; the loop sleeps when
	// it runs ahead (default 2m for 30 days, scaled by Days). Zero with
	// Fast runs as fast as the machine allows.
	Duration time.Duration
	Fast     bool
	// Listen is the daemon's HTTP address (status page, /metrics).
	Listen string
	// Dir holds the store, config, secrets and logs (default: a new
	// temporary directory, removed at the end unless Keep).
	Dir  string
	Keep bool
	// Out receives progress and the summary; TTY redraws one line.
	Out io.Writer
	TTY bool
	// Build labels /metrics.
	Build telemetry.BuildInfo
	// Ready, when set, is called once the servers listen; Done after the
	// last cycle, while the servers still answer (tests, screenshots).
	Ready func(Endpoints)
	Done  func(Endpoints)
}

// Endpoints are the loopback addresses the demo serves.
type Endpoints struct {
	Status, Yandex, Google, GoogleToken, VK, Trello, TrelloBoard, Everhour string
}

// LineSummary is one budget line at the end of the run.
type LineSummary struct {
	ID, Name        string
	Budget, Spent   adpacer.Micros
	PlanError       float64 // mean |spend - plan| over the run, as a share of the budget
	CPA, TargetCPA  *adpacer.Micros
	Actions, Alerts int
	Utilisation     float64
	Conversions     float64
	Status          string
}

// Summary of a run.
type Summary struct {
	Days   int
	Cycles int
	Lines  []LineSummary
	Writes int // mutating API calls the fakes received
	// WritesBy splits Writes by platform.
	WritesBy         map[adpacer.Platform]int
	RefusedByWorld   int
	AlertCards       int
	ApprovalsGranted int
	HoursLogged      float64
	Wall             time.Duration
}

// Run runs the demo until the simulated days are over or ctx ends.
func Run(ctx context.Context, o Options) (Summary, error) {
	started := time.Now()
	if o.Days == 0 {
		o.Days = 30
	}
	if o.Days < 1 || o.Days > 30 {
		return Summary{}, fmt.Errorf("--days %d: want 1..30 (the demo month has 30 days)", o.Days)
	}
	if o.Duration == 0 && !o.Fast {
		o.Duration = time.Duration(o.Days) * 4 * time.Second
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "adpacer-demo-")
		if err != nil {
			return Summary{}, err
		}
		o.Dir = dir
		if !o.Keep {
			defer os.RemoveAll(dir)
		}
	}
	sc, err := sim.ParseScenario(scenarioYAML)
	if err != nil {
		return Summary{}, fmt.Errorf("demo scenario: %w", err)
	}
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return Summary{}, err
	}
	sh := &shared{w: sim.NewWorld(sc, 1), msk: msk}
	// The demo's accelerated clock: the loop moves it forward tick by tick;
	// a connector's back-off sleep advances simulated, not wall, time.
	clock := clock.NewManual(sc.Start)

	env, err := startFakes(sh, sc, clock)
	if err != nil {
		return Summary{}, err
	}
	defer env.close()

	cfgPath, err := env.writeConfig(o.Dir, sc)
	if err != nil {
		return Summary{}, err
	}
	cfg, err := config.LoadAndValidate(cfgPath)
	if err != nil {
		return Summary{}, fmt.Errorf("demo config: %w", err)
	}
	logFile, err := os.Create(filepath.Join(o.Dir, "adpacer.log"))
	if err != nil {
		return Summary{}, err
	}
	defer logFile.Close()
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(logFile), zap.InfoLevel))

	st, err := sqlite.Open(ctx, cfg.Store.SQLite.Path, sqlite.Options{Now: clock.Now})
	if err != nil {
		return Summary{}, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return Summary{}, err
	}
	epoch, err := st.BumpEpoch(ctx)
	if err != nil {
		return Summary{}, err
	}
	reg := telemetry.NewRegistry(o.Build)
	d, err := daemon.Build(ctx, daemon.Options{Config: cfg, Store: st, Logger: log, Registry: reg,
		Now: clock.Now, Clock: clock, Epoch: func() int64 { return epoch }, StaticLeader: true})
	if err != nil {
		return Summary{}, fmt.Errorf("demo daemon: %w", err)
	}
	// The daemon's own jobs on its own scheduler, triggered by the
	// accelerated loop instead of cron, so every run is timed, recovered
	// and counted exactly as in `adpacer run`.
	sched, err := schedule.New(schedule.Options{Logger: log, Registerer: reg, Now: clock.Now})
	if err != nil {
		return Summary{}, err
	}
	for _, j := range d.Jobs() {
		if err := sched.Add(j); err != nil {
			return Summary{}, err
		}
	}
	hb := telemetry.NewHeartbeat(nil)
	ready := telemetry.NewReadiness(telemetry.CondConfigLoaded, telemetry.CondStoreMigrated)
	ready.Set(telemetry.CondConfigLoaded, true, "")
	ready.Set(telemetry.CondStoreMigrated, true, "")
	srv, err := telemetry.NewServer(telemetry.ServerOptions{Listen: o.Listen, Gatherer: reg, Heartbeat: hb, Readiness: ready, Logger: log})
	if err != nil {
		return Summary{}, err
	}
	d.Mount(srv)
	if err := srv.Listen(); err != nil {
		return Summary{}, err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve() }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-serveErr
		// Stop a webhook-started apply before the store closes.
		if err := d.Close(sctx); err != nil {
			log.Warn("demo daemon close", zap.Error(err))
		}
	}()
	ep := env.endpoints("http://" + srv.Addr() + "/")
	printEndpoints(o.Out, ep, env)
	if o.Ready != nil {
		o.Ready(ep)
	}

	sum := Summary{Days: o.Days}
	end := sc.Start.Add(time.Duration(o.Days) * 24 * time.Hour)
	step := 15 * time.Minute
	total := int(end.Sub(sc.Start) / step)
	perStep := time.Duration(0)
	if o.Duration > 0 {
		perStep = o.Duration / time.Duration(total)
	}
	prog := newProgress(o.Out, o.TTY, total)
	loopStart := time.Now()
	for i := 1; i <= total; i++ {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		now := sc.Start.Add(time.Duration(i) * step)
		sh.advance(now)
		clock.AdvanceTo(now)
		env.moderation(sh)
		if err := env.logTime(now); err != nil {
			return sum, err
		}
		if err := runCycle(ctx, sched, d, i); err != nil {
			log.Warn("cycle", zap.Error(err))
		}
		if granted, err := env.manager(now); err != nil {
			log.Warn("manager", zap.Error(err))
		} else {
			sum.ApprovalsGranted += granted
		}
		hb.Beat()
		sum.Cycles++
		if i%4 == 0 {
			prog.update(i, now, d.Runner.LastStatus())
		}
		// Sleep only while ahead of the schedule (cycle i due at
		// i*perStep): a cycle that ran long (the hourly pulls, a busy
		// pace) is made up by the quicker ones after it, instead of every
		// quick cycle still idling out a whole step while the run is
		// behind.
		if wait := time.Duration(i)*perStep - time.Since(loopStart); wait > 0 {
			select {
			case <-ctx.Done():
				return sum, ctx.Err()
			case <-time.After(wait):
			}
		}
	}
	prog.done()
	if err := summarise(ctx, &sum, sh, d, st, env); err != nil {
		return sum, err
	}
	sum.Wall = time.Since(started)
	printSummary(o.Out, sum, ep)
	if o.Done != nil {
		o.Done(ep)
	}
	return sum, nil
}

// runCycle runs the daemon's jobs as its schedule would: ads pulled,
// paced, applied and alerted every 15 minutes; Trello and Everhour pulled
// hourly.
func runCycle(ctx context.Context, sched *schedule.Scheduler, d *daemon.Daemon, i int) error {
	names := []string{}
	for _, id := range d.AdSourceIDs() {
		names = append(names, "pull_"+id)
	}
	if i%4 == 0 {
		for _, id := range append(d.BoardSourceIDs(), d.TimeSourceIDs()...) {
			names = append(names, "pull_"+id)
		}
	}
	names = append(names, "pace", "apply", "alerts")
	var errs []error
	for _, n := range names {
		res, err := sched.RunNow(ctx, n)
		if err != nil {
			return err
		}
		if res.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, res.Err))
		}
	}
	return errors.Join(errs...)
}

func summarise(ctx context.Context, sum *Summary, sh *shared, d *daemon.Daemon, st store.Store, env *fakes) error {
	status := d.Runner.LastStatus()
	acts, err := st.Actions(ctx, store.ActionFilter{})
	if err != nil {
		return err
	}
	byLine := map[string]int{}
	for _, a := range acts {
		if a.State == adpacer.ActionApplied {
			byLine[a.Line]++
		}
	}
	alerts, err := st.ListAlerts(ctx)
	if err != nil {
		return err
	}
	alertsByLine := map[string]int{}
	for _, a := range alerts {
		for _, l := range status.Lines {
			if strings.HasSuffix(a.Key, ":"+l.ID) || strings.Contains(a.Key, ":"+l.ID+":") {
				alertsByLine[l.ID]++
			}
		}
	}
	sum.AlertCards = len(alerts)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, l := range status.Lines {
		ls := LineSummary{ID: l.ID, Name: l.Name, Budget: l.Budget, TargetCPA: l.TargetCPA, Actions: byLine[l.ID], Alerts: alertsByLine[l.ID]}
		var conv float64
		for _, id := range l.Campaigns {
			spent, err := sh.w.TrueSpend(id)
			if err != nil {
				return err
			}
			ls.Spent += spent
			// Applications arrive a day or more after the click; the ones
			// still in that delay count, or the month's last days would
			// read as CPA far above target.
			n, err := sh.w.SettledConversions(id)
			if err != nil {
				return err
			}
			conv += n
		}
		ls.Conversions = conv
		if conv > 0 {
			cpa := adpacer.FromFloat(ls.Spent.Float() / conv)
			ls.CPA = &cpa
		}
		if l.Budget > 0 {
			ls.Utilisation = float64(ls.Spent) / float64(l.Budget)
			var dev float64
			pts := status.History[l.ID]
			for _, p := range pts {
				dev += math.Abs(float64(p.Spent - p.Planned))
			}
			if len(pts) > 0 {
				ls.PlanError = dev / float64(len(pts)) / float64(l.Budget)
			}
		}
		for _, s := range status.Plan.Lines {
			if s.ID == l.ID {
				ls.Status = s.Status
			}
		}
		sum.Lines = append(sum.Lines, ls)
	}
	sort.Slice(sum.Lines, func(i, j int) bool { return sum.Lines[i].ID < sum.Lines[j].ID })
	sum.RefusedByWorld = sh.refused
	sum.WritesBy = env.writes()
	for _, n := range sum.WritesBy {
		sum.Writes += n
	}
	sum.HoursLogged = float64(env.loggedSeconds) / 3600
	return nil
}
