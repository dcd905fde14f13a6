package everhour_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/connectors/everhour/everhourtest"
)

var nov10 = time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)

// seed adds two users, a Trello-linked project with a monthly time budget,
// an internal project, tasks (one without a project) and records.
func seed(t *testing.T, f *everhourtest.Server) (anna, ivan int64) {
	t.Helper()
	anna = f.AddUser("Anna Petrova", "anna@example.com")
	ivan = f.AddUser("Ivan Sidorov", "ivan@example.com")
	must(t, f.AddProject(everhourtest.Project{ID: "tr:board1", Name: "Bank ads", Budget: &everhourtest.Budget{Type: "time", Budget: 100 * 3600, Period: "monthly", Threshold: 80}}))
	must(t, f.AddProject(everhourtest.Project{ID: "ev:777", Name: "Internal"}))
	_, err := f.AddTrelloCardTask("card1", "Banners for Vladivostok", "tr:board1")
	must(t, err)
	_, err = f.AddTrelloCardTask("card2", "Rejected disclaimer", "tr:board1")
	must(t, err)
	must(t, f.AddTask(everhourtest.Task{ID: "ev:55", Name: "Orphan task"})) // no project
	for _, r := range []everhourtest.Record{
		{UserID: anna, Date: "2026-10-31", Seconds: 600, TaskID: "tr:card1"},
		{UserID: anna, Date: "2026-11-01", Seconds: 3600, TaskID: "tr:card1"},
		{UserID: ivan, Date: "2026-11-05", Seconds: 1800, TaskID: "tr:card2"},
		{UserID: ivan, Date: "2026-11-06", Seconds: 900},                   // no task
		{UserID: anna, Date: "2026-11-10", Seconds: 1200, TaskID: "ev:55"}, // task without project
		{UserID: anna, Date: "2026-11-11", Seconds: 300, TaskID: "tr:card2"},
	} {
		_, err := f.AddRecord(r)
		must(t, err)
	}
	return anna, ivan
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Checklist 6.3.1: X-Api-Key required; missing or invalid -> 401 JSON.
func TestAuth(t *testing.T) {
	e := newEnv(t, nov10, everhour.Config{}, everhourtest.Options{})
	for _, tc := range []struct{ name, key string }{{"missing", ""}, {"invalid", "wrong-key"}} {
		t.Run("fake rejects "+tc.name+" key", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.fake.URL()+"/users/me", nil)
			if tc.key != "" {
				req.Header.Set("X-Api-Key", tc.key)
			}
			resp, err := e.fake.Client().Do(req)
			must(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.Contains(string(body), `"code":401`) {
				t.Fatalf("got %d %s, want 401 with {\"code\":401,...}", resp.StatusCode, body)
			}
		})
	}
	t.Run("client with a wrong key gets a terminal error without the key", func(t *testing.T) {
		clock := everhourtest.NewClock(nov10)
		f := everhourtest.NewServer(everhourtest.Options{APIKey: "the-right-key", Now: clock.Now})
		defer f.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		c, err := everhour.New(everhour.Config{BaseURL: f.URL(), APIKey: canaryKey}, everhour.Deps{Transport: tr, Clock: clock})
		must(t, err)
		_, err = c.PullTime(context.Background(), "2026-11-01", "2026-11-30")
		var apiErr *everhour.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 401 {
			t.Fatalf("err = %v, want APIError 401", err)
		}
		if !adpacer.IsTerminal(err) {
			t.Errorf("401 is not terminal: %v", err)
		}
		if strings.Contains(err.Error(), canaryKey) || !strings.Contains(err.Error(), "api_key") {
			t.Errorf("error leaks the key or lacks the fix: %v", err)
		}
		if got := f.Stats().Requests; got != 1 {
			t.Errorf("requests = %d, want 1 (401 is not retried)", got)
		}
	})
	t.Run("config validation", func(t *testing.T) {
		_, err := everhour.New(everhour.Config{}, everhour.Deps{})
		if err == nil || !strings.Contains(err.Error(), "api_key") {
			t.Fatalf("err = %v, want api_key error", err)
		}
		_, err = everhour.New(everhour.Config{APIKey: canaryKey, RatePerSecond: 5, Burst: 10}, everhour.Deps{})
		if err == nil || !strings.Contains(err.Error(), "rate_per_second") {
			t.Fatalf("err = %v, want rate limit error", err)
		}
		if s := fmt.Sprintf("%v %+v %#v", everhour.Config{APIKey: canaryKey}, everhour.Config{APIKey: canaryKey}, everhour.Config{APIKey: canaryKey}); strings.Contains(s, canaryKey) {
			t.Errorf("Config prints the key: %s", s)
		}
	})
}

// Checklist 6.3.2 + 6.3.6: bare array, inclusive range, records without
// task, tasks without project, Trello-linked tasks map to cards.
func TestPullTimeInclusiveRangeAndShapes(t *testing.T) {
	e := newEnv(t, nov10, everhour.Config{}, everhourtest.Options{})
	anna, ivan := seed(t, e.fake)
	b, err := e.client.PullTime(context.Background(), "2026-11-01", "2026-11-10")
	must(t, err)
	var got []string
	for _, r := range b.Records {
		got = append(got, fmt.Sprintf("%s u%d %d %q", r.Date, r.UserID, r.Seconds, r.TaskID))
	}
	want := []string{
		fmt.Sprintf("2026-11-01 u%d 3600 %q", anna, "tr:card1"),
		fmt.Sprintf("2026-11-05 u%d 1800 %q", ivan, "tr:card2"),
		fmt.Sprintf("2026-11-06 u%d 900 %q", ivan, ""),
		fmt.Sprintf("2026-11-10 u%d 1200 %q", anna, "ev:55"),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	if b.From != "2026-11-01" || b.To != "2026-11-10" || b.PulledAt.IsZero() {
		t.Errorf("batch range %s..%s at %v", b.From, b.To, b.PulledAt)
	}
	tasks := map[string]adpacer.EverhourTask{}
	for _, tk := range b.Tasks {
		tasks[tk.ID] = tk
	}
	if tk := tasks["tr:card1"]; tk.TrelloCard != "card1" || tk.ProjectIDs[0] != "tr:board1" {
		t.Errorf("trello task = %+v, want card1 in tr:board1", tk)
	}
	if tk, ok := tasks["ev:55"]; !ok || tk.TrelloCard != "" || len(tk.ProjectIDs) != 0 {
		t.Errorf("task without project = %+v (present %v), want it carried from its record", tk, ok)
	}
	if len(b.Users) != 2 || len(b.Projects) != 2 {
		t.Errorf("users %d projects %d, want 2 and 2", len(b.Users), len(b.Projects))
	}
}

// Checklist 6.3.3: YYYY-MM-DD only; ISO datetimes are rejected by the fake
// with a 422, and the client never sends them.
func TestDatesNeverISO(t *testing.T) {
	e := newEnv(t, nov10, everhour.Config{}, everhourtest.Options{})
	seed(t, e.fake)
	for _, tc := range []struct{ from, to string }{
		{"2026-11-01T00:00:00Z", "2026-11-30"},
		{"2026-11-01", "2026-11-30T23:59:59"},
		{"1793491200", "2026-11-30"},
		{"2026-11-31", "2026-11-30"},
		{"2026-12-01", "2026-11-30"},
	} {
		_, err := e.client.PullTime(context.Background(), tc.from, tc.to)
		if err == nil {
			t.Errorf("PullTime(%s, %s) succeeded, want a date error", tc.from, tc.to)
		}
	}
	if n := e.fake.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent for invalid dates, want 0", n)
	}
	req, _ := http.NewRequest(http.MethodGet, e.fake.URL()+"/team/time?from=2026-11-01T00:00:00&to=2026-11-30", nil)
	req.Header.Set("X-Api-Key", canaryKey)
	resp, err := e.fake.Client().Do(req)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(body), `"from"`) {
		t.Errorf("fake: got %d %s, want 422 with errors.from", resp.StatusCode, body)
	}
}

// Checklist 6.3.2: the last page is shorter than limit; an exact multiple
// needs one empty page. The client uses no more requests than that.
func TestPagingFewestRequests(t *testing.T) {
	for _, tc := range []struct {
		records, limit, wantPages int
	}{
		{0, 10, 1}, {9, 10, 1}, {10, 10, 2}, {25, 10, 3}, {30, 10, 4},
	} {
		t.Run(fmt.Sprintf("%d records limit %d", tc.records, tc.limit), func(t *testing.T) {
			e := newEnv(t, nov10, everhour.Config{TimePageLimit: tc.limit}, everhourtest.Options{})
			u := e.fake.AddUser("U", "u@example.com")
			for i := range tc.records {
				_, err := e.fake.AddRecord(everhourtest.Record{UserID: u, Date: fmt.Sprintf("2026-11-%02d", 1+i%28), Seconds: int64(60 + i)})
				must(t, err)
			}
			recs, _, err := e.client.TeamTime(context.Background(), "2026-11-01", "2026-11-30")
			must(t, err)
			if len(recs) != tc.records {
				t.Errorf("got %d records, want %d", len(recs), tc.records)
			}
			if got := e.fake.Stats().ByRoute["GET /team/time"]; got != tc.wantPages {
				t.Errorf("pages requested = %d, want %d", got, tc.wantPages)
			}
		})
	}
}

// Checklist 6.3.4: more than 20 requests per 10 s -> 429 + Retry-After: 5;
// the client waits and completes. The default client rate never trips it.
func TestRateLimitRetryAfter(t *testing.T) {
	// The server allows only 3 per 10 s, so the default client (19/10 s)
	// gets 429s and must honour Retry-After on the shared virtual clock.
	e := newEnv(t, nov10, everhour.Config{TimePageLimit: 1, MaxAttempts: 10}, everhourtest.Options{RateLimit: 3})
	seed(t, e.fake)
	start := e.clock.Now()
	b, err := e.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
	must(t, err)
	if len(b.Records) != 5 {
		t.Fatalf("records = %d, want 5", len(b.Records))
	}
	st := e.fake.Stats()
	if st.RateLimited == 0 {
		t.Fatalf("no 429 was provoked; test is not exercising Retry-After")
	}
	if elapsed := e.clock.Now().Sub(start); elapsed < time.Duration(st.RateLimited)*5*time.Second {
		t.Errorf("virtual time %v for %d 429s: Retry-After 5 s was not honoured", elapsed, st.RateLimited)
	}
	if st.MaxInWindow > 3 {
		t.Errorf("fake admitted %d in a window, limit 3", st.MaxInWindow)
	}
}

// Checklist 6.3.5: budget object; recurring budgets reset at period start on
// the test clock; no budget -> absent.
func TestBudgetsResetOnClock(t *testing.T) {
	e := newEnv(t, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), everhour.Config{}, everhourtest.Options{})
	seed(t, e.fake)
	p, err := e.client.Project(context.Background(), "tr:board1")
	must(t, err)
	want := &adpacer.HoursBudget{Type: "time", Period: "monthly", BudgetSecs: 100 * 3600, Progress: 3600 + 1800 + 300, Threshold: 80}
	if d := cmp.Diff(want, p.Budget); d != "" {
		t.Errorf("November budget (-want +got):\n%s", d)
	}
	e.clock.Set(time.Date(2026, 12, 1, 0, 0, 1, 0, time.UTC))
	p, err = e.client.Project(context.Background(), "tr:board1")
	must(t, err)
	if p.Budget.Progress != 0 {
		t.Errorf("December progress = %d, want 0 (monthly reset)", p.Budget.Progress)
	}
	p, err = e.client.Project(context.Background(), "ev:777")
	must(t, err)
	if p.Budget != nil {
		t.Errorf("unbudgeted project has budget %+v", p.Budget)
	}
}

// Checklist 6.3.6: prefixed ids go into paths with their ":"; anything
// that could change the route is escaped.
func TestPrefixedIDsInPaths(t *testing.T) {
	e := newEnv(t, nov10, everhour.Config{}, everhourtest.Options{})
	seed(t, e.fake)
	_, err := e.client.ProjectTasks(context.Background(), "tr:board1")
	must(t, err)
	_, err = e.client.Project(context.Background(), "ev:a/../../users")
	if !errors.Is(err, everhour.ErrNotFound) {
		t.Errorf("project with a slash in its id: err = %v, want not found (escaped, same route)", err)
	}
	paths := e.fake.RawPaths()
	if len(paths) != 2 || paths[0] != "/projects/tr:board1/tasks" || paths[1] != "/projects/ev:a%2F..%2F..%2Fusers" {
		t.Errorf("raw paths = %q", paths)
	}
}

// Checklist 6.3.7: 422 with an errors map is a terminal APIError.
func TestValidationError422(t *testing.T) {
	e := newEnv(t, nov10, everhour.Config{}, everhourtest.Options{})
	anna, _ := seed(t, e.fake)
	_, err := e.client.LogTime(context.Background(), everhour.TimeEntry{UserID: anna, Date: "2026-11-10", Seconds: 600, TaskID: "tr:nonexistent"})
	var apiErr *everhour.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || len(apiErr.Fields["task"]) == 0 {
		t.Fatalf("err = %v, want 422 with errors.task", err)
	}
	if !adpacer.IsTerminal(err) || !strings.Contains(err.Error(), "task: task not found") {
		t.Errorf("err = %v: want terminal, naming the field", err)
	}
	rec, err := e.client.LogTime(context.Background(), everhour.TimeEntry{UserID: anna, Date: "2026-11-10", Seconds: 600, TaskID: "tr:card1", Comment: "ok"})
	must(t, err)
	if rec.Seconds != 600 || rec.TaskID != "tr:card1" || rec.Date != "2026-11-10" {
		t.Errorf("logged %+v", rec)
	}
	if _, err := e.client.LogTime(context.Background(), everhour.TimeEntry{Date: "2026-11-10T10:00:00", Seconds: 600}); err == nil {
		t.Error("LogTime accepted an ISO datetime")
	}
}

// Checklist 6.3.7: occasional 500s are retried; persistent ones fail the
// pull (no partial batch) with a non-terminal error.
func TestServerErrors(t *testing.T) {
	t.Run("transient 500s are retried", func(t *testing.T) {
		e := newEnv(t, nov10, everhour.Config{TimePageLimit: 2}, everhourtest.Options{})
		seed(t, e.fake)
		e.fake.FailNext(500, 500)
		b, err := e.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
		must(t, err)
		if len(b.Records) != 5 {
			t.Errorf("records = %d, want 5", len(b.Records))
		}
	})
	t.Run("seeded random faults do not change the batch", func(t *testing.T) {
		clean := newEnv(t, nov10, everhour.Config{TimePageLimit: 2}, everhourtest.Options{})
		seed(t, clean.fake)
		want, err := clean.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
		must(t, err)
		e := newEnv(t, nov10, everhour.Config{TimePageLimit: 2, MaxAttempts: 8}, everhourtest.Options{FaultRate: 0.3, Seed: 42})
		seed(t, e.fake)
		got, err := e.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
		must(t, err)
		if e.fake.Stats().Faults == 0 {
			t.Fatal("no fault injected; raise FaultRate")
		}
		got.PulledAt, want.PulledAt = time.Time{}, time.Time{}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("batch with faults differs (-want +got):\n%s", d)
		}
	})
	t.Run("persistent 500 fails the whole pull", func(t *testing.T) {
		e := newEnv(t, nov10, everhour.Config{TimePageLimit: 2}, everhourtest.Options{})
		seed(t, e.fake)
		// Page 1 of the time records succeeds, page 2 fails on every attempt.
		e.fake.FailRoute("GET /team/time", 0, 500, 500, 500, 500)
		b, err := e.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
		if err == nil || len(b.Records) != 0 || b.From != "" {
			t.Fatalf("PullTime = %d records, err %v; want an error and an empty batch", len(b.Records), err)
		}
		if adpacer.IsTerminal(err) {
			t.Errorf("500 must not be terminal: %v", err)
		}
	})
}

// Secrets: the key never reaches errors or logs.
func TestKeyNeverLogged(t *testing.T) {
	e := newEnv(t, nov10, everhour.Config{TimePageLimit: 2, MaxAttempts: 10}, everhourtest.Options{RateLimit: 2})
	seed(t, e.fake)
	e.fake.FailNext(500, 503)
	_, err := e.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
	must(t, err)
	e.fake.FailRoute("GET /users", 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
	_, err = e.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
	if err == nil || strings.Contains(err.Error(), canaryKey) {
		t.Fatalf("err = %v", err)
	}
	if e.logs.Len() == 0 {
		t.Fatal("no log lines captured; the test would pass vacuously")
	}
	for _, entry := range e.logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(line, canaryKey) {
			t.Errorf("log leaks the key: %s", line)
		}
	}
}

// A server that misbehaves (ignores the range or the page parameter, or
// sends malformed records) yields an error, never a batch the store would
// reconcile against.
func TestUnreliableAnswersFailThePull(t *testing.T) {
	rec := func(id int, date string) string {
		return fmt.Sprintf(`{"id":%d,"time":60,"user":1,"date":%q}`, id, date)
	}
	for _, tc := range []struct {
		name string
		page func(page string) string
		want string
	}{
		{"record outside the range", func(string) string { return "[" + rec(1, "2026-12-01") + "]" }, "outside the requested range"},
		{"page parameter ignored", func(string) string { return "[" + rec(1, "2026-11-02") + "," + rec(2, "2026-11-03") + "]" }, "repeated across pages"},
		{"more items than the limit", func(string) string {
			return "[" + rec(1, "2026-11-02") + "," + rec(2, "2026-11-03") + "," + rec(3, "2026-11-03") + "]"
		}, "more than the limit"},
		{"negative time", func(string) string { return `[{"id":1,"time":-5,"user":1,"date":"2026-11-02"}]` }, "time -5"},
		{"bad date", func(string) string { return `[{"id":1,"time":5,"user":1,"date":"2026-11-02T10:00:00"}]` }, "date"},
		{"enveloped instead of bare", func(string) string { return `{"items":[]}` }, "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/team/time":
					fmt.Fprint(w, tc.page(r.URL.Query().Get("page")))
				default:
					fmt.Fprint(w, "[]")
				}
			}))
			defer srv.Close()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c, err := everhour.New(everhour.Config{BaseURL: srv.URL, APIKey: canaryKey, TimePageLimit: 2}, everhour.Deps{Transport: tr, Clock: everhourtest.NewClock(nov10)})
			must(t, err)
			b, err := c.PullTime(context.Background(), "2026-11-01", "2026-11-30")
			if err == nil || !strings.Contains(err.Error(), tc.want) || len(b.Records) != 0 {
				t.Fatalf("PullTime = %d records, %v; want an error containing %q", len(b.Records), err, tc.want)
			}
		})
	}
}
