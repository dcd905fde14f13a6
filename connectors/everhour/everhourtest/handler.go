package everhourtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Wire shapes, written from api-notes.md §3.3 independently of the client's
// decoding types so that a client bug cannot hide behind a shared struct.

type wireUser struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Status string `json:"status"`
}

type wireBudget struct {
	Type                  string `json:"type"`
	Budget                int64  `json:"budget"`
	Period                string `json:"period"`
	Progress              int64  `json:"progress"`
	TimeProgress          int64  `json:"timeProgress"`
	ExpenseProgress       int64  `json:"expenseProgress"`
	AppliedFrom           string `json:"appliedFrom,omitempty"`
	DisallowOverbudget    bool   `json:"disallowOverbudget"`
	ExcludeUnbillableTime bool   `json:"excludeUnbillableTime"`
	ExcludeExpenses       bool   `json:"excludeExpenses"`
	ShowToUsers           bool   `json:"showToUsers"`
	Threshold             int    `json:"threshold,omitempty"`
}

type wireProject struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Users         []int64     `json:"users"`
	WorkspaceID   string      `json:"workspaceId"`
	WorkspaceName string      `json:"workspaceName"`
	Type          string      `json:"type"`
	Favorite      bool        `json:"favorite"`
	Budget        *wireBudget `json:"budget,omitempty"`
}

type wireTaskTime struct {
	Total int64            `json:"total"`
	Users map[string]int64 `json:"users"`
}

type wireTask struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Projects []string     `json:"projects"`
	Labels   []string     `json:"labels"`
	Status   string       `json:"status"`
	Time     wireTaskTime `json:"time"`
}

type wireRecord struct {
	ID         int64     `json:"id"`
	Time       int64     `json:"time"`
	User       int64     `json:"user"`
	Date       string    `json:"date"`
	Task       *wireTask `json:"task,omitempty"`
	IsLocked   bool      `json:"isLocked"`
	IsInvoiced bool      `json:"isInvoiced"`
	Comment    string    `json:"comment"`
	History    []any     `json:"history"`
}

type apiError struct {
	Code    int                 `json:"code"`
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string, fields map[string][]string) {
	writeJSON(w, status, apiError{Code: status, Message: msg, Errors: fields})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	if len(s.rawPaths) < maxRawPaths {
		s.rawPaths = append(s.rawPaths, r.URL.EscapedPath())
	}

	key := r.Header.Get("X-Api-Key")
	if key == "" || key != s.opts.APIKey {
		s.stats.Unauthed++
		writeError(w, http.StatusUnauthorized, "Invalid API key", nil)
		return
	}

	now := s.opts.Now()
	// Sliding window of admitted requests: a request is admitted when fewer
	// than RateLimit were admitted in the last RateWindow.
	cut := now.Add(-s.opts.RateWindow)
	i := 0
	for i < len(s.admitted) && !s.admitted[i].After(cut) {
		i++
	}
	s.admitted = s.admitted[i:]
	if len(s.admitted) >= s.opts.RateLimit {
		s.stats.RateLimited++
		w.Header().Set("Retry-After", strconv.Itoa(s.opts.RetryAfter))
		writeError(w, http.StatusTooManyRequests, "Too Many Requests", nil)
		return
	}
	s.admitted = append(s.admitted, now)
	if len(s.admitted) > s.stats.MaxInWindow {
		s.stats.MaxInWindow = len(s.admitted)
	}

	segs, ok := splitPath(r.URL)
	if !ok {
		writeError(w, http.StatusBadRequest, "Malformed path", nil)
		return
	}
	route := routeName(r.Method, segs)
	s.stats.ByRoute[route]++

	if q := s.failRoute[route]; len(q) > 0 && q[0] == 0 {
		s.failRoute[route] = q[1:]
	} else if len(q) > 0 {
		s.failRoute[route] = q[1:]
		s.stats.Faults++
		writeError(w, q[0], http.StatusText(q[0]), nil)
		return
	}
	if len(s.failNext) > 0 {
		st := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.stats.Faults++
		writeError(w, st, http.StatusText(st), nil)
		return
	}
	if s.opts.FaultRate > 0 && s.rnd.Float64() < s.opts.FaultRate {
		s.stats.Faults++
		writeError(w, http.StatusInternalServerError, "Internal Server Error", nil)
		return
	}

	status := s.route(w, r, segs, now)
	if status >= 200 && status < 300 {
		s.stats.Served++
	}
}

// splitPath splits the escaped path and unescapes each segment, so an id
// such as "tr:abc" works both as-is and as "tr%3Aabc".
func splitPath(u *url.URL) ([]string, bool) {
	raw := strings.Trim(u.EscapedPath(), "/")
	if raw == "" {
		return nil, true
	}
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		v, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = v
	}
	return parts, true
}

// routeName names a request by its route pattern (ids replaced by {id}).
func routeName(method string, segs []string) string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = s
		if i == 1 && (segs[0] == "projects" || segs[0] == "tasks" || segs[0] == "users") && s != "me" && s != "search" {
			out[i] = "{id}"
		}
	}
	return method + " /" + strings.Join(out, "/")
}

// route serves one authenticated, admitted request and returns its status.
func (s *Server) route(w http.ResponseWriter, r *http.Request, segs []string, now time.Time) int {
	q := r.URL.Query()
	get := r.Method == http.MethodGet
	switch {
	case get && len(segs) == 2 && segs[0] == "users" && segs[1] == "me":
		u := s.users[s.me]
		if u == nil {
			return s.notFound(w)
		}
		writeJSON(w, 200, toWireUser(u))
		return 200
	case get && len(segs) == 1 && segs[0] == "users":
		out := make([]wireUser, 0, len(s.users))
		for _, id := range sortedUserIDs(s.users) {
			out = append(out, toWireUser(s.users[id]))
		}
		writeJSON(w, 200, out)
		return 200
	case get && len(segs) == 1 && segs[0] == "projects":
		return s.listProjects(w, q, now)
	case get && len(segs) == 2 && segs[0] == "projects":
		p := s.projects[segs[1]]
		if p == nil {
			return s.notFound(w)
		}
		writeJSON(w, 200, s.toWireProject(p, now))
		return 200
	case r.Method == http.MethodPut && len(segs) == 3 && segs[0] == "projects" && segs[2] == "budget":
		return s.putBudget(w, r, segs[1], now)
	case get && len(segs) == 3 && segs[0] == "projects" && segs[2] == "tasks":
		return s.listTasks(w, q, segs[1])
	case get && len(segs) == 3 && segs[0] == "projects" && segs[2] == "time":
		if s.projects[segs[1]] == nil {
			return s.notFound(w)
		}
		return s.listTime(w, q, func(rec *Record) bool { return s.recordInProjectLocked(rec, segs[1]) })
	case get && len(segs) == 2 && segs[0] == "tasks" && segs[1] != "search":
		t := s.tasks[segs[1]]
		if t == nil {
			return s.notFound(w)
		}
		writeJSON(w, 200, s.toWireTask(t, s.taskTimes()))
		return 200
	case get && len(segs) == 3 && segs[0] == "tasks" && segs[2] == "time":
		if s.tasks[segs[1]] == nil {
			return s.notFound(w)
		}
		return s.listTime(w, q, func(rec *Record) bool { return rec.TaskID == segs[1] })
	case get && len(segs) == 2 && segs[0] == "team" && segs[1] == "time":
		return s.listTime(w, q, func(*Record) bool { return true })
	case r.Method == http.MethodPost && len(segs) == 1 && segs[0] == "time":
		return s.postTime(w, r)
	}
	return s.notFound(w)
}

func (s *Server) notFound(w http.ResponseWriter) int {
	writeError(w, http.StatusNotFound, "Resource not found", nil)
	return http.StatusNotFound
}

// pageParams validates page and limit. maxLimit 0 means no maximum; maxPage
// 0 means no maximum. defLimit 0 means "everything".
func pageParams(q url.Values, defLimit, maxLimit, maxPage int) (page, limit int, errs map[string][]string) {
	errs = map[string][]string{}
	page, limit = 1, defLimit
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (maxPage > 0 && n > maxPage) {
			msg := "must be a positive integer"
			if maxPage > 0 {
				msg = "must be an integer between 1 and " + strconv.Itoa(maxPage)
			}
			errs["page"] = []string{msg}
		} else {
			page = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (maxLimit > 0 && n > maxLimit) {
			msg := "must be a positive integer"
			if maxLimit > 0 {
				msg = "must be an integer between 1 and " + strconv.Itoa(maxLimit)
			}
			errs["limit"] = []string{msg}
		} else {
			limit = n
		}
	}
	if len(errs) == 0 {
		errs = nil
	}
	return page, limit, errs
}

// pageSlice returns the page of n items as [lo, hi).
func pageSlice(n, page, limit int) (int, int) {
	if limit == 0 {
		if page > 1 {
			return n, n
		}
		return 0, n
	}
	lo := (page - 1) * limit
	if lo > n {
		lo = n
	}
	hi := lo + limit
	if hi > n {
		hi = n
	}
	return lo, hi
}

func (s *Server) listProjects(w http.ResponseWriter, q url.Values, now time.Time) int {
	page, limit, errs := pageParams(q, 0, 0, 0)
	if errs != nil {
		writeError(w, 422, "Validation failed", errs)
		return 422
	}
	query := strings.ToLower(q.Get("query"))
	var all []wireProject
	for _, id := range s.projOrder {
		p := s.projects[id]
		if query != "" && !strings.Contains(strings.ToLower(p.Name), query) {
			continue
		}
		all = append(all, s.toWireProject(p, now))
	}
	lo, hi := pageSlice(len(all), page, limit)
	out := append([]wireProject{}, all[lo:hi]...)
	writeJSON(w, 200, out)
	return 200
}

func (s *Server) listTasks(w http.ResponseWriter, q url.Values, projectID string) int {
	if s.projects[projectID] == nil {
		return s.notFound(w)
	}
	page, limit, errs := pageParams(q, 250, 250, 100)
	if errs != nil {
		writeError(w, 422, "Validation failed", errs)
		return 422
	}
	excludeClosed := q.Get("exclude-closed") == "true"
	times := s.taskTimes()
	var all []wireTask
	for _, id := range s.taskOrder {
		t := s.tasks[id]
		if !contains(t.ProjectIDs, projectID) || (excludeClosed && t.Status == "closed") {
			continue
		}
		all = append(all, s.toWireTask(t, times))
	}
	lo, hi := pageSlice(len(all), page, limit)
	writeJSON(w, 200, append([]wireTask{}, all[lo:hi]...))
	return 200
}

// dateParam validates a YYYY-MM-DD parameter; ISO datetimes ("...T...") and
// Unix timestamps are rejected as the real API rejects or misreads them.
func dateParam(q url.Values, name string, errs map[string][]string) string {
	v := q.Get(name)
	if v == "" {
		return ""
	}
	if !validDate(v) {
		errs[name] = append(errs[name], "must be a date in YYYY-MM-DD format, got "+strconv.Quote(v))
	}
	return v
}

func (s *Server) listTime(w http.ResponseWriter, q url.Values, match func(*Record) bool) int {
	page, limit, errs := pageParams(q, 50000, 50000, 0)
	if errs == nil {
		errs = map[string][]string{}
	}
	from := dateParam(q, "from", errs)
	to := dateParam(q, "to", errs)
	date := dateParam(q, "date", errs)
	if len(errs) == 0 && from != "" && to != "" && from > to {
		errs["to"] = []string{"must not be before from"}
	}
	onlyWithTask := q.Get("onlyWithTask") == "true"
	if len(errs) > 0 {
		writeError(w, 422, "Validation failed", errs)
		return 422
	}
	var all []*Record
	for _, rec := range s.sortedRecordsLocked() {
		if (from != "" && rec.Date < from) || (to != "" && rec.Date > to) || (date != "" && rec.Date != date) {
			continue
		}
		if onlyWithTask && rec.TaskID == "" {
			continue
		}
		if !match(rec) {
			continue
		}
		all = append(all, rec)
	}
	lo, hi := pageSlice(len(all), page, limit)
	out := make([]wireRecord, 0, hi-lo)
	for _, rec := range all[lo:hi] {
		out = append(out, s.toWireRecord(rec))
	}
	writeJSON(w, 200, out)
	return 200
}

func (s *Server) postTime(w http.ResponseWriter, r *http.Request) int {
	var body struct {
		Time    json.RawMessage `json:"time"`
		User    int64           `json:"user"`
		Date    string          `json:"date"`
		Task    string          `json:"task"`
		Comment string          `json:"comment"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, 400, "Malformed JSON body", nil)
		return 400
	}
	rec := Record{UserID: body.User, Date: body.Date, TaskID: body.Task, Comment: body.Comment}
	secs, err := strconv.ParseInt(string(body.Time), 10, 64)
	if err != nil {
		secs = 0 // reported as "must be a positive integer" below
	}
	rec.Seconds = secs
	if rec.UserID == 0 {
		rec.UserID = s.me
	}
	if errs := s.validateRecordLocked(rec); len(errs) > 0 {
		writeError(w, 422, "Validation failed", errs)
		return 422
	}
	s.nextID++
	rec.ID = s.nextID
	cp := rec
	s.records[rec.ID] = &cp
	s.sorted = nil
	writeJSON(w, 201, s.toWireRecord(&cp))
	return 201
}

func (s *Server) putBudget(w http.ResponseWriter, r *http.Request, projectID string, now time.Time) int {
	p := s.projects[projectID]
	if p == nil {
		return s.notFound(w)
	}
	var body struct {
		Type                  string          `json:"type"`
		Budget                json.RawMessage `json:"budget"`
		Period                string          `json:"period"`
		AppliedFrom           string          `json:"appliedFrom"`
		Threshold             int             `json:"threshold"`
		DisallowOverbudget    bool            `json:"disallowOverbudget"`
		ExcludeUnbillableTime bool            `json:"excludeUnbillableTime"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, 400, "Malformed JSON body", nil)
		return 400
	}
	amount, err := strconv.ParseInt(string(body.Budget), 10, 64)
	if err != nil {
		amount = 0 // reported by validateBudget
	}
	b := Budget{Type: body.Type, Budget: amount, Period: body.Period, AppliedFrom: body.AppliedFrom,
		Threshold: body.Threshold, DisallowOverbudget: body.DisallowOverbudget, ExcludeUnbillableTime: body.ExcludeUnbillableTime}
	if errs := validateBudget(b); len(errs) > 0 {
		writeError(w, 422, "Validation failed", errs)
		return 422
	}
	p.Budget = &b
	writeJSON(w, 200, s.toWireProject(p, now))
	return 200
}

func (s *Server) recordInProjectLocked(rec *Record, projectID string) bool {
	t := s.tasks[rec.TaskID]
	return t != nil && contains(t.ProjectIDs, projectID)
}

// periodStart returns the first date of the budget period containing now.
func (s *Server) periodStart(b *Budget, now time.Time) string {
	d := now.In(s.opts.Location)
	y, m, day := d.Date()
	switch b.Period {
	case "daily":
		return time.Date(y, m, day, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	case "weekly":
		wd := (int(d.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, m, day-wd, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	case "monthly":
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	}
	return b.AppliedFrom // general: since appliedFrom, or ever
}

// progress is the amount used in the current period: seconds for time
// budgets, cents (at the project's hourly rate) for money/costs budgets.
// Recurring budgets therefore reset to 0 at each period start.
func (s *Server) progress(p *Project, now time.Time) (amount, secs int64) {
	start := s.periodStart(p.Budget, now)
	today := now.In(s.opts.Location).Format("2006-01-02")
	for _, rec := range s.records {
		if rec.Date < start || rec.Date > today || !s.recordInProjectLocked(rec, p.ID) {
			continue
		}
		secs += rec.Seconds
	}
	if p.Budget.Type == "time" {
		return secs, secs
	}
	return secs * p.RateCents / 3600, secs
}

func (s *Server) toWireProject(p *Project, now time.Time) wireProject {
	users := map[int64]bool{}
	for _, rec := range s.records {
		if s.recordInProjectLocked(rec, p.ID) {
			users[rec.UserID] = true
		}
	}
	wp := wireProject{ID: p.ID, Name: p.Name, Users: []int64{}, WorkspaceID: "ws:1", WorkspaceName: "Agency", Type: "board"}
	for _, id := range sortedUserIDsSet(users) {
		wp.Users = append(wp.Users, id)
	}
	if p.Budget != nil {
		amount, secs := s.progress(p, now)
		wp.Budget = &wireBudget{
			Type: p.Budget.Type, Budget: p.Budget.Budget, Period: p.Budget.Period,
			Progress: amount, TimeProgress: secs, AppliedFrom: p.Budget.AppliedFrom,
			DisallowOverbudget: p.Budget.DisallowOverbudget, ExcludeUnbillableTime: p.Budget.ExcludeUnbillableTime,
			ShowToUsers: true, Threshold: p.Budget.Threshold,
		}
	}
	return wp
}

// taskTimes sums seconds per task and user in one pass over the records.
func (s *Server) taskTimes() map[string]*wireTaskTime {
	out := map[string]*wireTaskTime{}
	for _, rec := range s.records {
		if rec.TaskID == "" {
			continue
		}
		tt := out[rec.TaskID]
		if tt == nil {
			tt = &wireTaskTime{Users: map[string]int64{}}
			out[rec.TaskID] = tt
		}
		tt.Total += rec.Seconds
		tt.Users[strconv.FormatInt(rec.UserID, 10)] += rec.Seconds
	}
	return out
}

func (s *Server) toWireTask(t *Task, times map[string]*wireTaskTime) wireTask {
	wt := wireTask{ID: t.ID, Name: t.Name, Projects: append([]string{}, t.ProjectIDs...),
		Labels: append([]string{}, t.Labels...), Status: t.Status, Time: wireTaskTime{Users: map[string]int64{}}}
	if tt := times[t.ID]; tt != nil {
		wt.Time = *tt
	}
	return wt
}

func (s *Server) toWireRecord(rec *Record) wireRecord {
	wr := wireRecord{ID: rec.ID, Time: rec.Seconds, User: rec.UserID, Date: rec.Date, Comment: rec.Comment, History: []any{}}
	if t := s.tasks[rec.TaskID]; t != nil {
		// The nested task is a summary: computing per-task totals for every
		// record would make large pages quadratic.
		wt := wireTask{ID: t.ID, Name: t.Name, Projects: append([]string{}, t.ProjectIDs...),
			Labels: append([]string{}, t.Labels...), Status: t.Status, Time: wireTaskTime{Users: map[string]int64{}}}
		wr.Task = &wt
	}
	return wr
}

func toWireUser(u *User) wireUser {
	return wireUser{ID: u.ID, Name: u.Name, Email: u.Email, Status: "active"}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func sortedUserIDs(m map[int64]*User) []int64 {
	set := make(map[int64]bool, len(m))
	for id := range m {
		set[id] = true
	}
	return sortedUserIDsSet(set)
}

func sortedUserIDsSet(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
