package everhourtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func do(t *testing.T, s *Server, method, path, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", "k")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, resp.Header
}

func TestFakeRejectsWhatTheAPIRejects(t *testing.T) {
	clock := NewClock(time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC))
	s := NewServer(Options{APIKey: "k", Now: clock.Now})
	defer s.Close()
	s.AddUser("A", "a@example.com")
	if err := s.AddProject(Project{ID: "tr:b", Name: "B"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTrelloCardTask("c1", "Card", "tr:b"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"GET", "/projects/tr:b/tasks?limit=251", "", 422, "limit"},
		{"GET", "/projects/tr:b/tasks?page=101", "", 422, "page"},
		{"GET", "/team/time?limit=50001", "", 422, "limit"},
		{"GET", "/team/time?from=2026-11-01T00:00:00Z", "", 422, "from"},
		{"GET", "/team/time?to=1793491200", "", 422, "to"},
		{"GET", "/team/time?from=2026-11-02&to=2026-11-01", "", 422, "to"},
		{"POST", "/time", `{"time":0,"date":"2026-11-10"}`, 422, "time"},
		{"POST", "/time", `{"time":60,"date":"2026-11-10 10:00:00"}`, 422, "date"},
		{"POST", "/time", `{"time":"1h","date":"2026-11-10"}`, 422, "time"},
		{"PUT", "/projects/tr:b/budget", `{"type":"hours","budget":10,"period":"monthly"}`, 422, "type"},
		{"PUT", "/projects/tr:b/budget", `{"type":"time","budget":10,"period":"yearly","threshold":101}`, 422, "period"},
		{"GET", "/projects/tr:nope", "", 404, ""},
		{"GET", "/nowhere", "", 404, ""},
		{"GET", "/projects/tr%3Ab", "", 200, ""},
		{"PUT", "/projects/tr:b/budget", `{"type":"time","budget":36000,"period":"weekly"}`, 200, ""},
		{"POST", "/time", `{"time":60,"date":"2026-11-10","task":"tr:c1"}`, 201, ""},
	} {
		status, body, _ := do(t, s, tc.method, tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s %s: status %d, want %d (%v)", tc.method, tc.path, status, tc.status, body)
			continue
		}
		if tc.field != "" {
			errs, _ := body["errors"].(map[string]any)
			if body["code"] != float64(tc.status) || errs[tc.field] == nil {
				t.Errorf("%s %s: body %v, want code %d and errors.%s", tc.method, tc.path, body, tc.status, tc.field)
			}
		}
	}
	// The weekly budget's progress counts the record logged on Tuesday.
	_, p, _ := do(t, s, "GET", "/projects/tr:b", "")
	if b := p["budget"].(map[string]any); b["progress"] != float64(60) {
		t.Errorf("budget = %v, want progress 60", b)
	}
}

func TestFakeRateLimitWindow(t *testing.T) {
	clock := NewClock(time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC))
	s := NewServer(Options{APIKey: "k", Now: clock.Now})
	defer s.Close()
	for i := range 20 {
		if st, _, _ := do(t, s, "GET", "/users", ""); st != 200 {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	st, body, h := do(t, s, "GET", "/users", "")
	if st != 429 || h.Get("Retry-After") != "5" || body["code"] != float64(429) {
		t.Fatalf("21st request: %d %v Retry-After %q", st, body, h.Get("Retry-After"))
	}
	clock.Advance(10 * time.Second)
	if st, _, _ := do(t, s, "GET", "/users", ""); st != 200 {
		t.Fatalf("after the window: %d", st)
	}
	if got := s.Stats(); got.RateLimited != 1 || got.MaxInWindow != 20 {
		t.Errorf("stats = %+v", got)
	}
}
