// Package everhourtest is a stateful fake of the Everhour REST API for
// contract tests and the demo. It reproduces the behaviour listed in
// api-notes.md checklist 6.3: X-Api-Key auth with a JSON 401, bare JSON
// arrays paged by page+limit (the last page is shorter than limit), inclusive
// date ranges, YYYY-MM-DD dates (ISO datetimes with "T" are rejected with a
// 422), about 20 requests per 10 s per key with 429 + Retry-After, project
// budgets whose progress resets at each period start on an injectable clock,
// prefixed ids containing ":" in paths, time records without a task, 422
// validation errors with an errors map, and seeded occasional 500s.
package everhourtest

import (
	"fmt"
	"github.com/adpacer/adpacer/internal/clock"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"
)

// Clock is a manual clock shared by a fake server and the client under test,
// so rate-limit windows, retry sleeps and budget periods run on virtual time
// (internal/clock, shared by every fake).
type Clock = clock.Manual

// NewClock starts a manual clock at t.
func NewClock(t time.Time) *Clock { return clock.NewManual(t) }

// Budget is a project budget as the API shows it. Budget is seconds for
// "time" budgets and cents for "money"/"costs" budgets.
type Budget struct {
	Type                  string // money, time, costs
	Budget                int64
	Period                string // general, monthly, weekly, daily
	AppliedFrom           string // YYYY-MM-DD, optional (general budgets)
	Threshold             int    // percent 1-100, 0 = unset
	DisallowOverbudget    bool
	ExcludeUnbillableTime bool
}

// Project is a fake project. RateCents is the hourly rate used to compute
// the progress of money budgets.
type Project struct {
	ID        string
	Name      string
	Budget    *Budget
	RateCents int64
}

// Task is a fake task; ProjectIDs may be empty (a task without a project).
type Task struct {
	ID         string
	Name       string
	ProjectIDs []string
	Status     string // open or closed; empty means open
	Labels     []string
}

// Record is a time record; TaskID is empty for time logged without a task.
type Record struct {
	ID      int64
	UserID  int64
	Date    string
	Seconds int64
	TaskID  string
	Comment string
}

// User is a team member.
type User struct {
	ID    int64
	Name  string
	Email string
}

// Options configure a fake server.
type Options struct {
	// APIKey is the only key accepted. Required.
	APIKey string
	// Now is the server's clock (rate-limit window, budget periods);
	// time.Now when nil.
	Now func() time.Time
	// Location in which budget periods (day, week, month) are counted; UTC
	// when nil, as Everhour treats zone-less datetimes as UTC.
	Location *time.Location
	// RateLimit requests per RateWindow per key (defaults 20 per 10 s).
	RateLimit  int
	RateWindow time.Duration
	// RetryAfter is the Retry-After value of a 429, in seconds (default 5).
	RetryAfter int
	// FaultRate is the probability that a request gets a 500 (0 disables).
	FaultRate float64
	// Seed makes the fault sequence reproducible.
	Seed uint64
}

// Stats are counters of what the server saw.
type Stats struct {
	Requests    int            // every request that reached the handler
	Served      int            // requests answered with a 2xx
	RateLimited int            // 429s sent
	Faults      int            // 500s sent by FaultRate or FailNext
	Unauthed    int            // 401s sent
	ByRoute     map[string]int // counted requests (not 429/401) by route, e.g. "GET /team/time"
	// MaxInWindow is the largest number of requests admitted within any
	// RateWindow; a client that respects the limit keeps it <= RateLimit.
	MaxInWindow int
}

// Server is a running fake. Its helpers are safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu        sync.Mutex
	rnd       *rand.Rand
	users     map[int64]*User
	me        int64
	projects  map[string]*Project
	projOrder []string
	tasks     map[string]*Task
	taskOrder []string
	records   map[int64]*Record
	nextID    int64
	admitted  []time.Time // admitted requests within the rate window
	failNext  []int
	failRoute map[string][]int
	stats     Stats
	sorted    []*Record // cache of records in API order; nil when stale
	rawPaths  []string  // escaped paths as received, capped at maxRawPaths
}

const maxRawPaths = 1000

// NewServer starts a fake Everhour API on a local httptest listener. It
// panics only when opts.APIKey is empty, which is a bug in the test itself.
func NewServer(opts Options) *Server {
	s := NewHandler(opts)
	s.srv = httptest.NewServer(s)
	return s
}

// NewHandler builds the fake without a listener, for the demo to mount it
// on its own address (Server is an http.Handler); URL and Client are then
// unusable and Close is a no-op.
func NewHandler(opts Options) *Server {
	if opts.APIKey == "" {
		panic("everhourtest: Options.APIKey is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 20
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = 10 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5
	}
	s := &Server{
		opts:     opts,
		rnd:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		users:    map[int64]*User{},
		projects: map[string]*Project{},
		tasks:    map[string]*Task{},
		records:  map[int64]*Record{},
		nextID:   1000,
		stats:    Stats{ByRoute: map[string]int{}},
	}
	return s
}

// ServeHTTP serves the fake API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r) }

// URL is the base URL to configure the client with.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the server.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByRoute = make(map[string]int, len(s.stats.ByRoute))
	for k, v := range s.stats.ByRoute {
		st.ByRoute[k] = v
	}
	return st
}

// RawPaths returns the escaped request paths as received (the first 1000),
// to check how clients put prefixed ids into paths.
func (s *Server) RawPaths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rawPaths...)
}

// ResetStats zeroes the counters (and the rate window).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByRoute: map[string]int{}}
	s.admitted = nil
	s.rawPaths = nil
}

// FailNext makes the next len(statuses) authenticated requests fail with
// those statuses (e.g. 500, 503) before normal service resumes.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, statuses...)
}

// FailRoute makes the next requests to route (as named in Stats.ByRoute,
// e.g. "GET /team/time") fail with statuses, one per request; a 0 serves
// that request normally, so FailRoute(r, 0, 500) fails the second one.
func (s *Server) FailRoute(route string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failRoute == nil {
		s.failRoute = map[string][]int{}
	}
	s.failRoute[route] = append(s.failRoute[route], statuses...)
}

// SetFaultRate changes the probability of a random 500.
func (s *Server) SetFaultRate(p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.FaultRate = p
}

// AddUser adds a team member and returns its id. The first user added is
// the one /users/me returns.
func (s *Server) AddUser(name, email string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := s.nextID
	s.users[id] = &User{ID: id, Name: name, Email: email}
	if s.me == 0 {
		s.me = id
	}
	return id
}

// AddProject adds a project. Its id must carry a prefix such as "ev:" or
// "tr:" (Trello boards are "tr:<board id>").
func (s *Server) AddProject(p Project) error {
	if err := checkPrefixed("project id", p.ID); err != nil {
		return err
	}
	if p.Budget != nil {
		if errs := validateBudget(*p.Budget); len(errs) > 0 {
			return fmt.Errorf("everhourtest: project %q budget: %v", p.ID, errs)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[p.ID]; ok {
		return fmt.Errorf("everhourtest: project %q already exists", p.ID)
	}
	cp := p
	if p.Budget != nil {
		b := *p.Budget
		cp.Budget = &b
	}
	s.projects[p.ID] = &cp
	s.projOrder = append(s.projOrder, p.ID)
	return nil
}

// SetBudget replaces a project's budget; nil removes it.
func (s *Server) SetBudget(projectID string, b *Budget) error {
	if b != nil {
		if errs := validateBudget(*b); len(errs) > 0 {
			return fmt.Errorf("everhourtest: project %q budget: %v", projectID, errs)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[projectID]
	if !ok {
		return fmt.Errorf("everhourtest: no project %q", projectID)
	}
	if b == nil {
		p.Budget = nil
		return nil
	}
	cp := *b
	p.Budget = &cp
	return nil
}

// AddTask adds a task; ProjectIDs may be empty.
func (s *Server) AddTask(t Task) error {
	if err := checkPrefixed("task id", t.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tasks[t.ID]; ok {
		return fmt.Errorf("everhourtest: task %q already exists", t.ID)
	}
	for _, pid := range t.ProjectIDs {
		if _, ok := s.projects[pid]; !ok {
			return fmt.Errorf("everhourtest: task %q: no project %q", t.ID, pid)
		}
	}
	cp := t
	cp.ProjectIDs = append([]string(nil), t.ProjectIDs...)
	if cp.Status == "" {
		cp.Status = "open"
	}
	s.tasks[t.ID] = &cp
	s.taskOrder = append(s.taskOrder, t.ID)
	return nil
}

// AddTrelloCardTask adds the Everhour task of a Trello card ("tr:<card id>")
// in the project of its board and returns the task id.
func (s *Server) AddTrelloCardTask(cardID, name string, projectIDs ...string) (string, error) {
	id := "tr:" + cardID
	return id, s.AddTask(Task{ID: id, Name: name, ProjectIDs: projectIDs})
}

// SetTaskStatus opens or closes a task.
func (s *Server) SetTaskStatus(taskID, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[taskID]
	if !ok {
		return fmt.Errorf("everhourtest: no task %q", taskID)
	}
	t.Status = status
	return nil
}

// AddRecord logs time and returns the record id. TaskID may be empty.
func (s *Server) AddRecord(r Record) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errs := s.validateRecordLocked(r); len(errs) > 0 {
		return 0, fmt.Errorf("everhourtest: record: %v", errs)
	}
	s.nextID++
	r.ID = s.nextID
	cp := r
	s.records[r.ID] = &cp
	s.sorted = nil
	return r.ID, nil
}

// LogTimeOnCard logs seconds by a user on the task of a Trello card, creating
// the card's task in projectID when it does not exist yet. It is what the
// demo uses to have specialists log time against the fake Trello board.
func (s *Server) LogTimeOnCard(userID int64, cardID, projectID, date string, seconds int64, comment string) (int64, error) {
	taskID := "tr:" + cardID
	s.mu.Lock()
	_, exists := s.tasks[taskID]
	s.mu.Unlock()
	if !exists {
		var pids []string
		if projectID != "" {
			pids = []string{projectID}
		}
		if _, err := s.AddTrelloCardTask(cardID, "Card "+cardID, pids...); err != nil {
			return 0, err
		}
	}
	return s.AddRecord(Record{UserID: userID, Date: date, Seconds: seconds, TaskID: taskID, Comment: comment})
}

// EditRecord changes the seconds, date and comment of a record (a zero or
// empty argument keeps the current value), as a person editing an entry
// upstream would.
func (s *Server) EditRecord(id int64, seconds int64, date, comment string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return fmt.Errorf("everhourtest: no record %d", id)
	}
	upd := *r
	if seconds != 0 {
		upd.Seconds = seconds
	}
	if date != "" {
		upd.Date = date
	}
	if comment != "" {
		upd.Comment = comment
	}
	if errs := s.validateRecordLocked(upd); len(errs) > 0 {
		return fmt.Errorf("everhourtest: edit record %d: %v", id, errs)
	}
	*r = upd
	s.sorted = nil
	return nil
}

// DeleteRecord removes a record.
func (s *Server) DeleteRecord(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[id]; !ok {
		return fmt.Errorf("everhourtest: no record %d", id)
	}
	delete(s.records, id)
	s.sorted = nil
	return nil
}

// Records returns a copy of all records sorted by (date, id).
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	srt := s.sortedRecordsLocked()
	out := make([]Record, len(srt))
	for i, r := range srt {
		out[i] = *r
	}
	return out
}

// sortedRecordsLocked returns the records in the server's fixed order
// (date, id). The order is cached until a record changes, so paging a large
// set does not re-sort for every page.
func (s *Server) sortedRecordsLocked() []*Record {
	if s.sorted != nil {
		return s.sorted
	}
	out := make([]*Record, 0, len(s.records))
	for _, r := range s.records {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Date != out[j].Date {
			return out[i].Date < out[j].Date
		}
		return out[i].ID < out[j].ID
	})
	s.sorted = out
	return out
}

func checkPrefixed(field, id string) error {
	p, rest, ok := strings.Cut(id, ":")
	if !ok || p == "" || rest == "" {
		return fmt.Errorf("everhourtest: %s %q: want a prefixed id such as ev:123 or tr:<trello id>", field, id)
	}
	return nil
}

func (s *Server) validateRecordLocked(r Record) map[string][]string {
	errs := map[string][]string{}
	if r.Seconds <= 0 {
		errs["time"] = append(errs["time"], "must be a positive integer")
	}
	if !validDate(r.Date) {
		errs["date"] = append(errs["date"], "must be a date in YYYY-MM-DD format")
	}
	if _, ok := s.users[r.UserID]; !ok {
		errs["user"] = append(errs["user"], "user not found")
	}
	if r.TaskID != "" {
		if _, ok := s.tasks[r.TaskID]; !ok {
			errs["task"] = append(errs["task"], "task not found")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func validateBudget(b Budget) map[string][]string {
	errs := map[string][]string{}
	switch b.Type {
	case "money", "time", "costs":
	default:
		errs["type"] = append(errs["type"], "must be one of money, time, costs")
	}
	switch b.Period {
	case "general", "monthly", "weekly", "daily":
	default:
		errs["period"] = append(errs["period"], "must be one of general, monthly, weekly, daily")
	}
	if b.Budget <= 0 {
		errs["budget"] = append(errs["budget"], "must be a positive integer")
	}
	if b.Threshold < 0 || b.Threshold > 100 {
		errs["threshold"] = append(errs["threshold"], "must be between 1 and 100")
	}
	if b.AppliedFrom != "" && !validDate(b.AppliedFrom) {
		errs["appliedFrom"] = append(errs["appliedFrom"], "must be a date in YYYY-MM-DD format")
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func validDate(s string) bool {
	if len(s) != len("2006-01-02") {
		return false
	}
	t, err := time.Parse("2006-01-02", s)
	return err == nil && t.Format("2006-01-02") == s
}
