// Package vkadstest is a stateful fake of the VK Ads (ads.vk.com, formerly
// myTarget) API v2 as docs/api-notes §5 describes it, reproducing checklist
// 6.5: the form-encoded token endpoint with client_credentials,
// agency_client_credentials and refresh_token grants, expires_in as a
// string and the limit of five tokens per client and user; Bearer auth with
// agencies' own tokens refused on their clients' data; ad plan lists paged
// by limit/offset as {count, offset, limit, items}; mass_action with its
// 200-item and 300-ruble limits answering 204; daily statistics with spent
// as a decimal string; and per-second, per-hour and per-day rate limits
// reported in X-RateLimit-* headers, answered 429 at zero and mirrored by
// throttling.json. Time comes from an injectable Clock and statistics from
// a pluggable SpendSource, so a test or a simulator drives the account.
//
// Where the notes mark a fact as inference (error codes of auth failures,
// the throttling.json shape, the default limit figures) the fake picks one
// plausible behaviour and the client is written to tolerate the others.
package vkadstest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adpacer/adpacer/internal/clock"
	"github.com/adpacer/adpacer/internal/fakehttp"
)

// Error codes the fake answers with inside {"error":{"code","message"}}.
// The first five were seen in public client code (api-notes §5); the rest
// are the fake's own names for conditions the notes describe without a
// code [INF].
const (
	CodeWrongParameter = "ERR_WRONG_PARAMETER"
	CodeWrongDate      = "ERR_WRONG_DATE"
	CodeWrongAdPlans   = "ERR_WRONG_ADPLANS"
	CodeLimitExceeded  = "ERR_LIMIT_EXCEEDED" // 429: a rate-limit window is spent
	CodeInvalidToken   = "ERR_INVALID_TOKEN"  // 401
	CodeForbidden      = "ERR_FORBIDDEN"      // 403
	CodeNotFound       = "ERR_NOT_FOUND"      // 404: unknown route
	CodeMethod         = "ERR_METHOD_NOT_ALLOWED"
	CodeInternal       = "ERR_INTERNAL" // injected 5xx (FailNext)
)

// OAuth error codes of the token endpoint, which answers in the RFC 6749
// shape {"error","error_description"} [INF].
const (
	OAuthInvalidRequest     = "invalid_request"
	OAuthInvalidClient      = "invalid_client"
	OAuthInvalidGrant       = "invalid_grant"
	OAuthUnsupportedGrant   = "unsupported_grant_type"
	OAuthAccessDenied       = "access_denied"
	OAuthTokenLimitExceeded = "token_limit_exceeded"
)

// Limits are one user's request allowances per window. The notes name the
// windows (second, hour, day) but no figures; the defaults are the fake's.
type Limits struct {
	RPS, Hourly, Daily int64
}

// Default limits, used for zero fields of Options.Limits.
const (
	DefaultRPS    = 10
	DefaultHourly = 5000
	DefaultDaily  = 50000
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Clock drives token expiry, rate-limit windows and "today" (default
	// the system clock).
	Clock Clock
	// Spend supplies statistics (default NewMemorySpend()).
	Spend SpendSource
	// AccessTokenTTL is the life of issued access tokens (default 24h,
	// served as expires_in "86400").
	AccessTokenTTL time.Duration
	// MaxTokens is how many live tokens one client may hold per user
	// (default 5: the 6th request gets 403).
	MaxTokens int
	// TokenIdleExpiry deletes tokens unused for this long, freeing their
	// slot (default 30 days: "tokens unused for a month are deleted").
	TokenIdleExpiry time.Duration
	// RotateRefreshTokens returns a new refresh token on every refresh
	// (the old one dies). Default: the refresh token is kept.
	RotateRefreshTokens bool
	// Limits per user; zero fields take DefaultRPS, DefaultHourly and
	// DefaultDaily.
	Limits Limits
	// MinDailyBudget is the lowest non-zero budget_limit_day in micros of
	// a ruble (default 300 rubles).
	MinDailyBudget int64
	// MaxMassAction is the item limit of mass_action (default 200).
	MaxMassAction int
	// MaxStatsIDs is the id limit of a statistics request (default 200).
	MaxStatsIDs int
	// MaxStatsDaysBack is how far back date_from may reach from today
	// (default 366; the partner API says 92, so it is configurable).
	MaxStatsDaysBack int
	// MaxListLimit is the largest accepted list limit (default 250).
	MaxListLimit int
}

// AdPlan is the fake's ad plan (a campaign in adpacer's words). Money is in
// micros of a ruble; BudgetLimitDay 0 means no daily limit.
type AdPlan struct {
	ID             int64
	Name           string
	Status         string // active (default) | blocked | deleted
	BudgetLimitDay int64
	BudgetLimit    int64
}

// WriteEvent describes one applied change, for OnWrite hooks.
type WriteEvent struct {
	Account string
	Plan    int64
	Field   string // status | budget_limit_day
	Old     string
	New     string
	At      time.Time
}

type app struct {
	clientID, secret, account string
	agency                    bool
}

type account struct {
	name    string
	id      int64
	agency  bool
	clients map[string]bool
	plans   []int64
	rate    rateState
}

type grant struct {
	access, refresh string
	clientID, user  string
	agencyOwn       bool
	expires         time.Time
	lastUsed        time.Time
	dead            bool
}

type failure struct {
	route  string // "" matches every route
	status int
}

type rateState struct {
	sec            time.Time
	hour           time.Time
	day            string
	usedSec, usedH int64
	usedDay        int64
}

// Server is the fake. Create it with New; it is safe for concurrent use.
type Server struct {
	fakehttp.Listener // URL, Close
	opts              Options

	mu       sync.Mutex
	clock    Clock
	spend    SpendSource
	apps     map[string]*app
	accounts map[string]*account
	plans    map[int64]*AdPlan
	byAccess map[string]*grant
	byRefr   map[string]*grant
	nextID   int64
	seq      int64
	calls    fakehttp.Calls
	failNext []failure
	onWrite  []func(WriteEvent)
}

// New starts a fake on a loopback httptest server. Close it when done.
func New(opts Options) *Server {
	s := newServer(opts)
	s.Serve(s)
	return s
}

// NewUnstarted builds the fake as an http.Handler without a listener (a
// demo can mount it on its own server).
func NewUnstarted(opts Options) *Server { return newServer(opts) }

func newServer(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Spend == nil {
		opts.Spend = NewMemorySpend()
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = 24 * time.Hour
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = 5
	}
	if opts.TokenIdleExpiry <= 0 {
		opts.TokenIdleExpiry = 30 * 24 * time.Hour
	}
	if opts.Limits.RPS <= 0 {
		opts.Limits.RPS = DefaultRPS
	}
	if opts.Limits.Hourly <= 0 {
		opts.Limits.Hourly = DefaultHourly
	}
	if opts.Limits.Daily <= 0 {
		opts.Limits.Daily = DefaultDaily
	}
	if opts.MinDailyBudget <= 0 {
		opts.MinDailyBudget = 300 * 1_000_000
	}
	if opts.MaxMassAction <= 0 {
		opts.MaxMassAction = 200
	}
	if opts.MaxStatsIDs <= 0 {
		opts.MaxStatsIDs = 200
	}
	if opts.MaxStatsDaysBack <= 0 {
		opts.MaxStatsDaysBack = 366
	}
	if opts.MaxListLimit <= 0 {
		opts.MaxListLimit = 250
	}
	return &Server{
		opts: opts, clock: opts.Clock, spend: opts.Spend,
		apps: map[string]*app{}, accounts: map[string]*account{}, plans: map[int64]*AdPlan{},
		byAccess: map[string]*grant{}, byRefr: map[string]*grant{},
		nextID: 1000,
	}
}

func (s *Server) ensureAccount(name string) *account {
	a := s.accounts[name]
	if a == nil {
		s.nextID++
		a = &account{name: name, id: s.nextID, clients: map[string]bool{}}
		s.accounts[name] = a
	}
	return a
}

// AddAdvertiser creates an advertiser account whose own API client is
// (clientID, clientSecret): client_credentials tokens read its ad plans.
func (s *Server) AddAdvertiser(name, clientID, clientSecret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureAccount(name)
	s.apps[clientID] = &app{clientID: clientID, secret: clientSecret, account: name}
}

// AddAgency creates an agency with API client (clientID, clientSecret) and
// its client accounts (created as advertisers if new, without API clients
// of their own). The agency's own token reads none of their data; an
// agency_client_credentials token for one client reads that client's.
func (s *Server) AddAgency(name, clientID, clientSecret string, clients ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ensureAccount(name)
	a.agency = true
	for _, c := range clients {
		s.ensureAccount(c)
		a.clients[c] = true
	}
	s.apps[clientID] = &app{clientID: clientID, secret: clientSecret, account: name, agency: true}
}

// AccountID returns the numeric id of an account (the agency_client_id of
// an agency's client), 0 when unknown.
func (s *Server) AccountID(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[name]; a != nil {
		return a.id
	}
	return 0
}

// AddAdPlan creates an ad plan in account and returns its id (p.ID is used
// when non-zero).
func (s *Server) AddAdPlan(accountName string, p AdPlan) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ensureAccount(accountName)
	if p.ID == 0 {
		s.nextID++
		p.ID = s.nextID
	}
	if p.Status == "" {
		p.Status = "active"
	}
	if p.Name == "" {
		p.Name = "Ad plan " + strconv.FormatInt(p.ID, 10)
	}
	if _, exists := s.plans[p.ID]; !exists {
		a.plans = append(a.plans, p.ID)
		sort.Slice(a.plans, func(i, j int) bool { return a.plans[i] < a.plans[j] })
	}
	cp := p
	s.plans[p.ID] = &cp
	return p.ID
}

// AdPlan returns a copy of an ad plan's current state.
func (s *Server) AdPlan(id int64) (AdPlan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.plans[id]
	if !ok {
		return AdPlan{}, false
	}
	return *p, true
}

// SetSpendSource replaces the statistics source.
func (s *Server) SetSpendSource(src SpendSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spend = src
}

// OnWrite registers a hook called (outside the fake's lock) for every
// applied change.
func (s *Server) OnWrite(f func(WriteEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onWrite = append(s.onWrite, f)
}

// FailNext makes the next n authenticated API requests (after the rate
// limit, before any processing) answer HTTP status with ERR_INTERNAL.
func (s *Server) FailNext(n, status int) { s.FailRoute("", n, status) }

// FailRoute is FailNext for the requests of one route (RouteMassAction,
// ...): the others are served normally.
func (s *Server) FailRoute(route string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failNext = append(s.failNext, failure{route, status})
	}
}

// Route names used by Calls.
const (
	RouteToken      = "token"
	RouteAdPlans    = "ad_plans"
	RouteMassAction = "mass_action"
	RouteStatistics = "statistics"
	RouteThrottling = "throttling"
)

// Calls returns how many requests reached a route (RouteToken counts every
// token request; API routes count requests past authentication and the
// rate limit, whatever their outcome).
func (s *Server) Calls(route string) int { return s.calls.Of(route) }

// MutatingCalls counts mass_action requests past authentication and the
// rate limit, accepted or not: a "do nothing" test asserts it stays 0.
func (s *Server) MutatingCalls() int { return s.Calls(RouteMassAction) }

// ResetCalls zeroes the counters.
func (s *Server) ResetCalls() { s.calls.Reset() }

// RateRemaining is what a user has left in the current windows.
type RateRemaining struct{ RPS, Hourly, Daily int64 }

// SetRemaining sets what a user has left in the current second, hour and
// Moscow day (a negative value leaves that window alone).
func (s *Server) SetRemaining(accountName string, r RateRemaining) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ensureAccount(accountName)
	now := s.clock.Now()
	s.roll(&a.rate, now)
	l := s.opts.Limits
	if r.RPS >= 0 {
		a.rate.usedSec = l.RPS - min(r.RPS, l.RPS)
	}
	if r.Hourly >= 0 {
		a.rate.usedH = l.Hourly - min(r.Hourly, l.Hourly)
	}
	if r.Daily >= 0 {
		a.rate.usedDay = l.Daily - min(r.Daily, l.Daily)
	}
}

// Remaining returns what a user has left now.
func (s *Server) Remaining(accountName string) RateRemaining {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ensureAccount(accountName)
	s.roll(&a.rate, s.clock.Now())
	return s.remaining(a)
}

func (s *Server) remaining(a *account) RateRemaining {
	l := s.opts.Limits
	return RateRemaining{RPS: l.RPS - a.rate.usedSec, Hourly: l.Hourly - a.rate.usedH, Daily: l.Daily - a.rate.usedDay}
}

// roll starts new windows whose period has begun: the second and the hour
// on the clock, the day on Moscow time.
func (s *Server) roll(r *rateState, now time.Time) {
	if sec := now.Truncate(time.Second); !sec.Equal(r.sec) {
		r.sec, r.usedSec = sec, 0
	}
	if h := now.Truncate(time.Hour); !h.Equal(r.hour) {
		r.hour, r.usedH = h, 0
	}
	if d := now.In(moscow).Format(time.DateOnly); d != r.day {
		r.day, r.usedDay = d, 0
	}
}

func (s *Server) rateHeaders(h http.Header, a *account) {
	l, r := s.opts.Limits, s.remaining(a)
	h.Set("X-RateLimit-RPS-Limit", strconv.FormatInt(l.RPS, 10))
	h.Set("X-RateLimit-Hourly-Limit", strconv.FormatInt(l.Hourly, 10))
	h.Set("X-RateLimit-Daily-Limit", strconv.FormatInt(l.Daily, 10))
	h.Set("X-RateLimit-RPS-Remaining", strconv.FormatInt(r.RPS, 10))
	h.Set("X-RateLimit-Hourly-Remaining", strconv.FormatInt(r.Hourly, 10))
	h.Set("X-RateLimit-Daily-Remaining", strconv.FormatInt(r.Daily, 10))
}

// apiError is the VK error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// reply is a handler's answer: status and a JSON body (nil: no body).
type reply struct {
	status int
	body   any
	events []WriteEvent
}

func errReply(status int, code, msg string) reply {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	return reply{status: status, body: e}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type route struct {
	name, method string
	// data: the route reads or changes an advertiser's data, which an
	// agency's own token may not.
	data bool
	h    func(s *Server, r *http.Request, a *account, now time.Time) reply
}

var routes = map[string]route{
	"/api/v2/ad_plans.json":                {RouteAdPlans, http.MethodGet, true, (*Server).listPlans},
	"/api/v2/ad_plans/mass_action.json":    {RouteMassAction, http.MethodPost, true, (*Server).massAction},
	"/api/v2/statistics/ad_plans/day.json": {RouteStatistics, http.MethodGet, true, (*Server).statistics},
	"/api/v2/throttling.json":              {RouteThrottling, http.MethodGet, false, (*Server).throttling},
}

// ServeHTTP routes a request. Unknown routes fail loudly with 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v2/oauth2/token.json" {
		s.handleToken(w, r)
		return
	}
	rt, ok := routes[r.URL.Path]
	if !ok {
		writeJSON(w, http.StatusNotFound, errReply(http.StatusNotFound, CodeNotFound, "unknown resource "+r.URL.Path).body)
		return
	}
	if r.Method != rt.method {
		writeJSON(w, http.StatusMethodNotAllowed, errReply(0, CodeMethod, r.Method+" is not allowed on "+r.URL.Path+"; use "+rt.method).body)
		return
	}
	rep := s.serveAPI(w.Header(), r, rt)
	writeJSON(w, rep.status, rep.body)
	if len(rep.events) > 0 {
		s.mu.Lock()
		hooks := append([]func(WriteEvent){}, s.onWrite...)
		s.mu.Unlock()
		for _, ev := range rep.events {
			for _, f := range hooks {
				f(ev)
			}
		}
	}
}

// serveAPI authenticates, applies the rate limit and runs the handler, all
// under the lock so a request sees and changes a consistent state.
func (s *Server) serveAPI(h http.Header, r *http.Request, rt route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return errReply(http.StatusUnauthorized, CodeInvalidToken, "Authorization: Bearer <access_token> is required")
	}
	g := s.byAccess[tok]
	switch {
	case g == nil || g.dead:
		return errReply(http.StatusUnauthorized, CodeInvalidToken, "invalid access token")
	case !now.Before(g.expires):
		return errReply(http.StatusUnauthorized, CodeInvalidToken, "access token expired: refresh it with grant_type=refresh_token")
	}
	g.lastUsed = now
	a := s.ensureAccount(g.user)
	s.roll(&a.rate, now)
	if rt.name != RouteThrottling {
		// throttling.json reports the counters without spending them
		// [INF]: a client can look without making things worse.
		rem := s.remaining(a)
		if rem.RPS <= 0 || rem.Hourly <= 0 || rem.Daily <= 0 {
			s.rateHeaders(h, a)
			return errReply(http.StatusTooManyRequests, CodeLimitExceeded, "request limit exceeded; see the X-RateLimit-*-Remaining headers for the window to wait out")
		}
		a.rate.usedSec++
		a.rate.usedH++
		a.rate.usedDay++
	}
	s.rateHeaders(h, a)
	s.calls.Add(rt.name)
	for i, f := range s.failNext {
		if f.route == "" || f.route == rt.name {
			s.failNext = append(s.failNext[:i:i], s.failNext[i+1:]...)
			return errReply(f.status, CodeInternal, "injected failure")
		}
	}
	if rt.data && g.agencyOwn {
		return errReply(http.StatusForbidden, CodeForbidden, "an agency's own token cannot read or change its clients' data: get a token with grant_type=agency_client_credentials and agency_client_name")
	}
	return rt.h(s, r, a, now)
}

// throttling mirrors the rate counters. The notes say the real answer
// lists remaining and limit per resource, version and action with the
// window in seconds; this fake keeps one set of counters for every
// resource, reported as resource "*" [INF].
func (s *Server) throttling(_ *http.Request, a *account, _ time.Time) reply {
	l, r := s.opts.Limits, s.remaining(a)
	type item struct {
		Resource  string `json:"resource"`
		Version   string `json:"version"`
		Action    string `json:"action"`
		Window    int64  `json:"window"`
		Limit     int64  `json:"limit"`
		Remaining int64  `json:"remaining"`
	}
	var items []item
	for _, action := range []string{"READ", "CREATE"} {
		items = append(items,
			item{"*", "v2", action, 1, l.RPS, r.RPS},
			item{"*", "v2", action, 3600, l.Hourly, r.Hourly},
			item{"*", "v2", action, 86400, l.Daily, r.Daily})
	}
	return reply{status: http.StatusOK, body: map[string]any{"items": items}}
}
