package daemon

import (
	"context"
	"net/http"

	"github.com/adpacer/adpacer/internal/schedule"
	"github.com/adpacer/adpacer/internal/telemetry"
)

// buildJobs makes one pull job per connector instance on its own schedule,
// and the pace, apply and alerts jobs of cfg.Jobs. Every job is leader-only:
// followers serve telemetry and wait.
func (d *Daemon) buildJobs() ([]schedule.Job, error) {
	cfg := d.cfg
	var jobs []schedule.Job
	for _, y := range cfg.Connectors.YandexDirect {
		id := y.ID
		jobs = append(jobs, schedule.Job{Name: "pull_" + id, Schedule: y.Schedule, Timeout: y.Timeout.D() * 10,
			Run: func(ctx context.Context) error { return d.Runner.PullAds(ctx, id) }})
	}
	for _, g := range cfg.Connectors.GoogleAds {
		id := g.ID
		jobs = append(jobs, schedule.Job{Name: "pull_" + id, Schedule: g.Schedule, Timeout: g.Timeout.D() * 10,
			Run: func(ctx context.Context) error { return d.Runner.PullAds(ctx, id) }})
	}
	for _, v := range cfg.Connectors.VKAds {
		id := v.ID
		jobs = append(jobs, schedule.Job{Name: "pull_" + id, Schedule: v.Schedule, Timeout: v.Timeout.D() * 10,
			Run: func(ctx context.Context) error { return d.Runner.PullAds(ctx, id) }})
	}
	for _, t := range cfg.Connectors.Trello {
		if len(t.Boards) == 0 {
			continue
		}
		id := t.ID
		jobs = append(jobs, schedule.Job{Name: "pull_" + id, Schedule: t.Schedule, Timeout: t.Timeout.D() * 10,
			Run: func(ctx context.Context) error { return d.Runner.PullBoards(ctx, id) }})
	}
	for _, e := range cfg.Connectors.Everhour {
		id := e.ID
		jobs = append(jobs, schedule.Job{Name: "pull_" + id, Schedule: e.Schedule, Timeout: e.Timeout.D() * 10,
			Run: func(ctx context.Context) error { return d.Runner.PullTime(ctx, id) }})
	}
	j := cfg.Jobs
	jobs = append(jobs,
		schedule.Job{Name: "pace", Schedule: j.Pace.Schedule, Timeout: j.Pace.Timeout.D(), Jitter: j.Pace.Jitter.D(), Run: d.Runner.Pace},
		schedule.Job{Name: "apply", Schedule: j.Apply.Schedule, Timeout: j.Apply.Timeout.D(), Jitter: j.Apply.Jitter.D(), Run: d.Runner.Apply},
		schedule.Job{Name: "alerts", Schedule: j.Alerts.Schedule, Timeout: j.Alerts.Timeout.D(), Jitter: j.Alerts.Jitter.D(), Run: d.Runner.Alerts},
	)
	return jobs, nil
}

// Jobs returns the scheduled jobs.
func (d *Daemon) Jobs() []schedule.Job { return d.jobs }

// StatusHandler serves the status page and its JSON.
func (d *Daemon) StatusHandler() http.Handler { return d.status }

// Mount adds the status page (behind the bearer token when listening beyond
// loopback) and the Trello webhook receiver (which authenticates itself).
func (d *Daemon) Mount(srv *telemetry.Server) {
	srv.HandlePrivate("GET /{$}", d.status)
	srv.HandlePrivate("GET /api/status", d.status)
	if d.webhook != nil {
		srv.Handle("/webhooks/trello", d.webhook)
	}
}

// WebhookHandler is the Trello webhook receiver (nil when webhooks are not
// enabled), for callers that serve it themselves; Mount serves it.
func (d *Daemon) WebhookHandler() http.Handler { return d.webhook }

// AdSourceIDs, BoardSourceIDs and TimeSourceIDs name the configured
// connector instances, for callers that drive the jobs themselves (demo).
func (d *Daemon) AdSourceIDs() []string {
	var ids []string
	for _, y := range d.cfg.Connectors.YandexDirect {
		ids = append(ids, y.ID)
	}
	for _, g := range d.cfg.Connectors.GoogleAds {
		ids = append(ids, g.ID)
	}
	for _, v := range d.cfg.Connectors.VKAds {
		ids = append(ids, v.ID)
	}
	return ids
}

// BoardSourceIDs lists Trello instances that sync boards.
func (d *Daemon) BoardSourceIDs() []string {
	var ids []string
	for _, t := range d.cfg.Connectors.Trello {
		if len(t.Boards) > 0 {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// TimeSourceIDs lists Everhour instances.
func (d *Daemon) TimeSourceIDs() []string {
	var ids []string
	for _, e := range d.cfg.Connectors.Everhour {
		ids = append(ids, e.ID)
	}
	return ids
}
