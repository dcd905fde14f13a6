package everhour

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
)

// Wire shapes of api-notes §3.3. Unknown fields are ignored so additions
// upstream do not break the pull.

type wireUser struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type wireBudget struct {
	Type        string `json:"type"`
	Budget      int64  `json:"budget"`
	Period      string `json:"period"`
	Progress    int64  `json:"progress"`
	AppliedFrom string `json:"appliedFrom"`
	Threshold   int    `json:"threshold"`
}

type wireProject struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Budget *wireBudget `json:"budget"`
}

type wireTask struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Projects []string `json:"projects"`
	Status   string   `json:"status"`
}

type wireRecord struct {
	ID      int64     `json:"id"`
	Time    int64     `json:"time"`
	User    int64     `json:"user"`
	Date    string    `json:"date"`
	Task    *wireTask `json:"task"`
	Comment string    `json:"comment"`
}

// Me returns the user whose key the client uses (a cheap credentials check).
func (c *Client) Me(ctx context.Context) (adpacer.EverhourUser, error) {
	var w wireUser
	if err := c.get(ctx, "GET /users/me", nil, &w, "users", "me"); err != nil {
		return adpacer.EverhourUser{}, err
	}
	return adpacer.EverhourUser{ID: w.ID, Name: w.Name, Email: w.Email}, nil
}

// Users returns all team users.
func (c *Client) Users(ctx context.Context) ([]adpacer.EverhourUser, error) {
	var ws []wireUser
	if err := c.get(ctx, "GET /users", nil, &ws, "users"); err != nil {
		return nil, err
	}
	out := make([]adpacer.EverhourUser, 0, len(ws))
	for i, w := range ws {
		if w.ID <= 0 {
			return nil, fmt.Errorf("everhour: GET /users: item %d has id %d: want a positive user id", i, w.ID)
		}
		out = append(out, adpacer.EverhourUser{ID: w.ID, Name: w.Name, Email: w.Email})
	}
	return out, nil
}

// Project returns one project with its budget.
func (c *Client) Project(ctx context.Context, id string) (adpacer.EverhourProject, error) {
	if err := checkPrefixedID(id); err != nil {
		return adpacer.EverhourProject{}, fmt.Errorf("everhour: get project: %w", err)
	}
	var w wireProject
	op := "GET /projects/" + id
	if err := c.get(ctx, op, nil, &w, "projects", id); err != nil {
		return adpacer.EverhourProject{}, err
	}
	return toProject(op, w)
}

// Projects returns every project of the team, paging until a short page.
func (c *Client) Projects(ctx context.Context) ([]adpacer.EverhourProject, error) {
	var out []adpacer.EverhourProject
	seen := map[string]bool{}
	err := pageAll(c.cfg.ProjectPageLimit, 0, func(page int) (int, error) {
		var ws []wireProject
		op := "GET /projects page " + strconv.Itoa(page)
		q := url.Values{"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(c.cfg.ProjectPageLimit)}}
		if err := c.get(ctx, op, q, &ws, "projects"); err != nil {
			return 0, err
		}
		for _, w := range ws {
			p, err := toProject(op, w)
			if err != nil {
				return 0, err
			}
			if seen[p.ID] {
				return 0, fmt.Errorf("everhour: %s: project %q repeated across pages: the list changed during the pull; retry", op, p.ID)
			}
			seen[p.ID] = true
			out = append(out, p)
		}
		return len(ws), nil
	})
	return out, err
}

// ProjectTasks returns every task of a project (closed ones included).
func (c *Client) ProjectTasks(ctx context.Context, projectID string) ([]adpacer.EverhourTask, error) {
	if err := checkPrefixedID(projectID); err != nil {
		return nil, fmt.Errorf("everhour: list tasks: %w", err)
	}
	var out []adpacer.EverhourTask
	seen := map[string]bool{}
	err := pageAll(c.cfg.TaskPageLimit, MaxTaskPage, func(page int) (int, error) {
		var ws []wireTask
		op := fmt.Sprintf("GET /projects/%s/tasks page %d", projectID, page)
		q := url.Values{"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(c.cfg.TaskPageLimit)}}
		if err := c.get(ctx, op, q, &ws, "projects", projectID, "tasks"); err != nil {
			return 0, err
		}
		for _, w := range ws {
			t, err := toTask(op, w)
			if err != nil {
				return 0, err
			}
			if seen[t.ID] {
				return 0, fmt.Errorf("everhour: %s: task %q repeated across pages: the list changed during the pull; retry", op, t.ID)
			}
			seen[t.ID] = true
			out = append(out, t)
		}
		return len(ws), nil
	})
	if err != nil {
		return nil, fmt.Errorf("everhour: tasks of project %q: %w", projectID, err)
	}
	return out, nil
}

// TeamTime returns every time record of the team with from <= date <= to
// (inclusive, YYYY-MM-DD), and the tasks the records carry. It fails rather
// than return an incomplete set: a page error, a record repeated across
// pages (the data moved under the pager) or a record outside the range.
func (c *Client) TeamTime(ctx context.Context, from, to string) ([]adpacer.TimeRecord, []adpacer.EverhourTask, error) {
	if err := checkRange(from, to); err != nil {
		return nil, nil, fmt.Errorf("everhour: team time: %w", err)
	}
	var recs []adpacer.TimeRecord
	tasks := map[string]adpacer.EverhourTask{}
	var taskOrder []string
	seen := map[int64]bool{}
	limit := c.cfg.TimePageLimit
	err := pageAll(limit, 0, func(page int) (int, error) {
		var ws []wireRecord
		op := fmt.Sprintf("GET /team/time %s..%s page %d", from, to, page)
		q := url.Values{"from": {from}, "to": {to}, "page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}}
		if err := c.get(ctx, op, q, &ws, "team", "time"); err != nil {
			return 0, err
		}
		for i, w := range ws {
			r, err := toRecord(w)
			if err != nil {
				return 0, fmt.Errorf("everhour: %s: item %d: %w", op, i, err)
			}
			if r.Date < from || r.Date > to {
				return 0, fmt.Errorf("everhour: %s: record %d dated %s is outside the requested range; refusing an unreliable set", op, r.ID, r.Date)
			}
			if seen[r.ID] {
				return 0, fmt.Errorf("everhour: %s: record %d repeated across pages: records changed during the pull; retry", op, r.ID)
			}
			seen[r.ID] = true
			recs = append(recs, r)
			if w.Task != nil {
				t, err := toTask(op, *w.Task)
				if err != nil {
					return 0, err
				}
				if _, ok := tasks[t.ID]; !ok {
					taskOrder = append(taskOrder, t.ID)
				}
				tasks[t.ID] = t
			}
		}
		return len(ws), nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := make([]adpacer.EverhourTask, 0, len(taskOrder))
	for _, id := range taskOrder {
		out = append(out, tasks[id])
	}
	return recs, out, nil
}

// TimeEntry is a time record to add with LogTime.
type TimeEntry struct {
	UserID  int64  // 0 = the key's user
	Date    string // YYYY-MM-DD
	Seconds int64
	TaskID  string // optional
	Comment string
}

// LogTime adds a time record (POST /time) and returns it. It is used by the
// demo and by tests; the daemon itself only reads.
func (c *Client) LogTime(ctx context.Context, e TimeEntry) (adpacer.TimeRecord, error) {
	if err := checkDate("date", e.Date); err != nil {
		return adpacer.TimeRecord{}, fmt.Errorf("everhour: log time: %w", err)
	}
	if e.Seconds <= 0 {
		return adpacer.TimeRecord{}, fmt.Errorf("everhour: log time: seconds %d: want a positive number of seconds", e.Seconds)
	}
	body := map[string]any{"time": e.Seconds, "date": e.Date}
	if e.UserID != 0 {
		body["user"] = e.UserID
	}
	if e.TaskID != "" {
		body["task"] = e.TaskID
	}
	if e.Comment != "" {
		body["comment"] = e.Comment
	}
	var w wireRecord
	if err := c.send(ctx, "POST", "POST /time", nil, body, &w, "time"); err != nil {
		return adpacer.TimeRecord{}, err
	}
	r, err := toRecord(w)
	if err != nil {
		return adpacer.TimeRecord{}, fmt.Errorf("everhour: POST /time: %w", err)
	}
	return r, nil
}

// pageAll calls fetch for pages 1, 2, ... until a page is shorter than
// limit (the API's only end marker). maxPage > 0 caps the page number: a
// full page at the cap means the API cannot give the rest, which is an
// error, not a silent truncation.
func pageAll(limit, maxPage int, fetch func(page int) (int, error)) error {
	for page := 1; ; page++ {
		n, err := fetch(page)
		if err != nil {
			return err
		}
		if n > limit {
			return fmt.Errorf("everhour: page %d has %d items, more than the limit %d: the server ignored paging; refusing an unreliable set", page, n, limit)
		}
		if n < limit {
			return nil
		}
		if maxPage > 0 && page >= maxPage {
			return fmt.Errorf("everhour: page %d (the API's last) is full: more than %d items cannot be read completely", page, maxPage*limit)
		}
	}
}

func checkRange(from, to string) error {
	if err := checkDate("from", from); err != nil {
		return err
	}
	if err := checkDate("to", to); err != nil {
		return err
	}
	if from > to {
		return fmt.Errorf("from %s is after to %s", from, to)
	}
	return nil
}

func toProject(op string, w wireProject) (adpacer.EverhourProject, error) {
	if err := checkPrefixedID(w.ID); err != nil {
		return adpacer.EverhourProject{}, fmt.Errorf("everhour: %s: project: %w", op, err)
	}
	p := adpacer.EverhourProject{ID: w.ID, Name: w.Name}
	if w.Budget != nil {
		b := w.Budget
		if b.Budget < 0 || b.Progress < 0 {
			return p, fmt.Errorf("everhour: %s: project %q budget: negative budget %d or progress %d", op, w.ID, b.Budget, b.Progress)
		}
		hb := &adpacer.HoursBudget{Type: b.Type, Period: b.Period, Progress: b.Progress, Threshold: b.Threshold}
		if b.AppliedFrom != "" {
			d, err := parseDate(b.AppliedFrom)
			if err != nil {
				return p, fmt.Errorf("everhour: %s: project %q budget.appliedFrom: %w", op, w.ID, err)
			}
			hb.AppliedFrom = d
		}
		// The unit of budget follows the type: seconds for time, cents
		// for money and costs. Unknown types keep the amount nowhere and
		// are reported by the budget evaluator as unusable.
		switch b.Type {
		case "time":
			hb.BudgetSecs = b.Budget
		case "money", "costs":
			hb.BudgetCents = b.Budget
		}
		p.Budget = hb
	}
	return p, nil
}

func toTask(op string, w wireTask) (adpacer.EverhourTask, error) {
	if err := checkPrefixedID(w.ID); err != nil {
		return adpacer.EverhourTask{}, fmt.Errorf("everhour: %s: task: %w", op, err)
	}
	t := adpacer.EverhourTask{ID: w.ID, Name: w.Name, ProjectIDs: append([]string(nil), w.Projects...), Status: w.Status}
	if t.Status == "" {
		t.Status = "open"
	}
	t.TrelloCard = TrelloCardID(w.ID)
	return t, nil
}

// TrelloCardID returns the Trello card id of a Trello-linked task id
// ("tr:<card id>"), or "" for other tasks. The "tr:" prefix is inferred
// from Everhour's documented prefix pattern (api-notes §3.3).
func TrelloCardID(taskID string) string {
	if rest, ok := strings.CutPrefix(taskID, "tr:"); ok {
		return rest
	}
	return ""
}

func toRecord(w wireRecord) (adpacer.TimeRecord, error) {
	if w.ID <= 0 {
		return adpacer.TimeRecord{}, fmt.Errorf("record id %d: want a positive id", w.ID)
	}
	if w.User <= 0 {
		return adpacer.TimeRecord{}, fmt.Errorf("record %d: user %d: want a positive user id", w.ID, w.User)
	}
	if w.Time < 0 {
		return adpacer.TimeRecord{}, fmt.Errorf("record %d: time %d: want seconds >= 0", w.ID, w.Time)
	}
	d, err := parseDate(w.Date)
	if err != nil {
		return adpacer.TimeRecord{}, fmt.Errorf("record %d: date: %w", w.ID, err)
	}
	r := adpacer.TimeRecord{ID: w.ID, UserID: w.User, Date: d, Seconds: w.Time, Comment: w.Comment}
	if w.Task != nil {
		r.TaskID = w.Task.ID
	}
	return r, nil
}

// parseDate accepts YYYY-MM-DD and, because the timesheets endpoint shows
// DD-MM-YYYY (api-notes §3.1), that form too; it returns YYYY-MM-DD.
func parseDate(s string) (string, error) {
	for _, layout := range []string{time.DateOnly, "02-01-2006"} {
		if t, err := time.Parse(layout, s); err == nil && t.Format(layout) == s {
			return t.Format(time.DateOnly), nil
		}
	}
	return "", fmt.Errorf("%q: want YYYY-MM-DD", s)
}
