package everhour

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
)

var _ connectors.TimeSource = (*Client)(nil)

// PullTime implements connectors.TimeSource. It reads users, projects (with
// budgets), the projects' tasks and every team time record with
// from <= date <= to. The batch is complete for the range or the pull
// fails: the store deletes local records of the range that the batch lacks,
// so a partial batch would delete real hours. Tasks carried by records but
// missing from the project listings (tasks without a project, projects not
// configured) are added to Tasks, so every record's TaskID resolves.
func (c *Client) PullTime(ctx context.Context, from, to string) (adpacer.TimeBatch, error) {
	if err := checkRange(from, to); err != nil {
		return adpacer.TimeBatch{}, fmt.Errorf("everhour: pull time: %w", err)
	}
	start := c.clock.Now()
	users, err := c.Users(ctx)
	if err != nil {
		return adpacer.TimeBatch{}, fmt.Errorf("everhour: pull time: %w", err)
	}
	var projects []adpacer.EverhourProject
	if len(c.cfg.ProjectIDs) > 0 {
		for _, id := range c.cfg.ProjectIDs {
			p, err := c.Project(ctx, id)
			if err != nil {
				return adpacer.TimeBatch{}, fmt.Errorf("everhour: pull time: project %q: %w", id, err)
			}
			projects = append(projects, p)
		}
	} else {
		projects, err = c.Projects(ctx)
		if err != nil {
			return adpacer.TimeBatch{}, fmt.Errorf("everhour: pull time: %w", err)
		}
	}
	var tasks []adpacer.EverhourTask
	have := map[string]bool{}
	for _, p := range projects {
		if c.cfg.SkipTaskListing {
			break
		}
		ts, err := c.ProjectTasks(ctx, p.ID)
		if err != nil {
			return adpacer.TimeBatch{}, fmt.Errorf("everhour: pull time: %w", err)
		}
		for _, t := range ts {
			if !have[t.ID] { // a task may belong to several projects
				have[t.ID] = true
				tasks = append(tasks, t)
			}
		}
	}
	recs, recTasks, err := c.TeamTime(ctx, from, to)
	if err != nil {
		return adpacer.TimeBatch{}, fmt.Errorf("everhour: pull time: %w", err)
	}
	for _, t := range recTasks {
		if !have[t.ID] {
			have[t.ID] = true
			tasks = append(tasks, t)
		}
	}
	c.log.Debug("everhour pull",
		zap.String("from", from), zap.String("to", to),
		zap.Int("users", len(users)), zap.Int("projects", len(projects)),
		zap.Int("tasks", len(tasks)), zap.Int("records", len(recs)),
		zap.Duration("took", c.clock.Now().Sub(start)))
	return adpacer.TimeBatch{
		Users: users, Projects: projects, Tasks: tasks,
		From: from, To: to, Records: recs,
		PulledAt: c.clock.Now().UTC(),
	}, nil
}

// ReReadWindow returns the inclusive date range a pull should cover at now:
// the last `days` days up to today in loc (Everhour dates are the
// tracker's local dates), so edits and deletions of recent records are
// reconciled. days < 1 is treated as 1 (today only).
func ReReadWindow(now time.Time, loc *time.Location, days int) (from, to string) {
	if loc == nil {
		loc = time.UTC
	}
	if days < 1 {
		days = 1
	}
	d := now.In(loc)
	y, m, dd := d.Date()
	today := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	return today.AddDate(0, 0, -(days - 1)).Format(time.DateOnly), today.Format(time.DateOnly)
}

// Reconcile computes what a store holding local must change to mirror a
// complete batch for [batch.From, batch.To]: records that are new or
// differ are upserted, and local records dated inside the range that the
// batch lacks (deleted upstream, or moved out of the range by an edit) are
// deleted. Records outside the range are never touched. It is the pure form
// of what the store does in one transaction.
func Reconcile(local []adpacer.TimeRecord, batch adpacer.TimeBatch) (upserts []adpacer.TimeRecord, deletes []int64) {
	byID := make(map[int64]adpacer.TimeRecord, len(local))
	for _, r := range local {
		byID[r.ID] = r
	}
	in := make(map[int64]bool, len(batch.Records))
	for _, r := range batch.Records {
		in[r.ID] = true
		if old, ok := byID[r.ID]; !ok || old != r {
			upserts = append(upserts, r)
		}
	}
	for _, r := range local {
		if r.Date >= batch.From && r.Date <= batch.To && !in[r.ID] {
			deletes = append(deletes, r.ID)
		}
	}
	return upserts, deletes
}
