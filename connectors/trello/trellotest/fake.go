// Package trellotest is a stateful fake of the Trello REST API, meant to sit
// behind github.com/adlio/trello's BaseURL. It reproduces the contract
// checklist of api-notes §6.4: query-string auth with plain-text 401s,
// per-key and per-token rate limits with the lock-out rule, custom-field
// items with JSON bodies, /batch, webhook HEAD validation and signed
// deliveries, and a read-only HTML view of its boards for the demo. Its JSON
// carries the same fields as adlio/trello's own test fixtures.
package trellotest

import (
	"fmt"
	"github.com/adpacer/adpacer/internal/clock"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"
)

// Limits of the real API (api-notes §4.2).
const (
	DefaultTokenLimit   = 100
	DefaultKeyLimit     = 300
	DefaultWindow       = 10 * time.Second
	DefaultLockoutAfter = 200
	// DefaultCardsPageLimit is how many cards one GET /boards/{id}/cards
	// returns before the client must page with `before` [INF: not
	// documented; adlio pages until an empty answer, so any value works].
	DefaultCardsPageLimit = 1000
	maxBatchRoutes        = 10
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// Now is the server's clock (rate-limit windows, action dates, ids).
	Now func() time.Time
	// Key and Token are a registered credential pair; Token belongs to a
	// member named Username ("adpacer" by default).
	Key, Token, Username string
	// Secret is the app's OAuth secret that signs webhook deliveries.
	Secret string
	// TokenLimit, KeyLimit requests per Window; LockoutAfter 429s per key
	// in one window lock the key out until the window ends.
	TokenLimit, KeyLimit, LockoutAfter int
	Window                             time.Duration
	CardsPageLimit                     int
	// CallbackClient sends webhook HEAD validations and deliveries.
	CallbackClient *http.Client
	// DeliveryAttempts per change before a delivery counts as failed (default 3).
	DeliveryAttempts int
}

// Fault makes matching requests fail after auth and rate limiting.
type Fault struct {
	Method       string // "" matches any
	PathContains string // "" matches any
	Status       int
	Body         string
	Times        int // how many requests fail; <= 0 means 1
	// AfterApply performs the request before failing it, as a server that
	// crashes after committing would (the client cannot tell).
	AfterApply bool
}

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu      sync.Mutex
	seq     uint64
	keys    map[string]bool
	tokens  map[string]tokenInfo
	members map[string]*member
	boards  map[string]*board
	lists   map[string]*list
	labels  map[string]*label
	cards   map[string]*card
	fields  map[string]*customField
	actions []*action // oldest first
	hooks   map[string]*webhook
	faults  []*Fault

	// rate limiting
	membersWin time.Time      // /1/members/ has its own 100 per 900 s
	membersCnt map[string]int // per token
	window     time.Time
	keyCount   map[string]int
	tokCount   map[string]int
	key429     map[string]int
	reqLog     map[string][]time.Time // per token, every counted request
	totalReqs  int
	rateLimits int

	deliv *deliverer
}

type tokenInfo struct {
	key, memberID string
}

// NewServer starts a fake Trello. Close it when done.
func NewServer(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Key == "" {
		opts.Key = "fake-key"
	}
	if opts.Token == "" {
		opts.Token = "fake-token"
	}
	if opts.Username == "" {
		opts.Username = "adpacer"
	}
	if opts.Secret == "" {
		opts.Secret = "fake-app-secret"
	}
	if opts.TokenLimit <= 0 {
		opts.TokenLimit = DefaultTokenLimit
	}
	if opts.KeyLimit <= 0 {
		opts.KeyLimit = DefaultKeyLimit
	}
	if opts.LockoutAfter <= 0 {
		opts.LockoutAfter = DefaultLockoutAfter
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.CardsPageLimit <= 0 {
		opts.CardsPageLimit = DefaultCardsPageLimit
	}
	if opts.CallbackClient == nil {
		opts.CallbackClient = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.DeliveryAttempts <= 0 {
		opts.DeliveryAttempts = 3
	}
	s := &Server{
		opts:     opts,
		keys:     map[string]bool{},
		tokens:   map[string]tokenInfo{},
		members:  map[string]*member{},
		boards:   map[string]*board{},
		lists:    map[string]*list{},
		labels:   map[string]*label{},
		cards:    map[string]*card{},
		fields:   map[string]*customField{},
		hooks:    map[string]*webhook{},
		keyCount: map[string]int{},
		tokCount: map[string]int{},
		key429:   map[string]int{},
		reqLog:   map[string][]time.Time{},
	}
	s.deliv = newDeliverer(s)
	uid := s.AddMember(opts.Username, "adpacer bot")
	s.AddToken(opts.Key, opts.Token, uid)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close stops the server and its delivery worker.
func (s *Server) Close() {
	s.srv.Close()
	s.deliv.close()
}

// URL is the server root (the HTML view lives here).
func (s *Server) URL() string { return s.srv.URL }

// BaseURL is what adlio/trello's Client.BaseURL must be set to.
func (s *Server) BaseURL() string { return s.srv.URL + "/1" }

// Key, Token and Secret return the default credentials.
func (s *Server) Key() string    { return s.opts.Key }
func (s *Server) Token() string  { return s.opts.Token }
func (s *Server) Secret() string { return s.opts.Secret }

// AddToken registers a key (if new) and a token of that key acting as memberID.
func (s *Server) AddToken(key, token, memberID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = true
	s.tokens[token] = tokenInfo{key: key, memberID: memberID}
}

// AddFault arms a fault hook.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// Stats are request counters for measurements.
type Stats struct {
	Requests    int // counted API requests (a batch counts once per route)
	RateLimited int // 429 answers
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Requests: s.totalReqs, RateLimited: s.rateLimits}
}

// ResetStats clears counters and the per-token request log.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totalReqs, s.rateLimits = 0, 0
	s.reqLog = map[string][]time.Time{}
}

// MaxRequestsInWindow is the largest number of requests the token made in
// any sliding Window (stricter than Trello's fixed windows).
func (s *Server) MaxRequestsInWindow(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	log := append([]time.Time(nil), s.reqLog[token]...)
	sort.Slice(log, func(i, j int) bool { return log[i].Before(log[j]) })
	best, lo := 0, 0
	for hi := range log {
		for log[hi].Sub(log[lo]) >= s.opts.Window {
			lo++
		}
		if n := hi - lo + 1; n > best {
			best = n
		}
	}
	return best
}

func (s *Server) now() time.Time { return s.opts.Now() }

// newID makes a 24-hex id like Trello's (Mongo ObjectId): creation time in
// the first 8 digits, so adlio's IDToTime works and ids sort by age.
func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("%08x%016x", s.now().Unix(), s.seq)
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/board/") || strings.HasPrefix(r.URL.Path, "/c/"):
		s.serveHTML(w, r)
		return
	case !strings.HasPrefix(r.URL.Path, "/1/"):
		plain(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path)
		return
	}
	q := r.URL.Query()
	key, token := q.Get("key"), q.Get("token")

	s.mu.Lock()
	if !s.keys[key] {
		s.mu.Unlock()
		plain(w, http.StatusUnauthorized, "invalid key")
		return
	}
	ti, ok := s.tokens[token]
	if !ok || ti.key != key {
		s.mu.Unlock()
		plain(w, http.StatusUnauthorized, "invalid token")
		return
	}
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/1/"), "/")
	cost := 1
	if path == "batch" {
		cost = len(splitRoutes(q.Get("urls")))
		if cost < 1 {
			cost = 1
		}
	}
	code, body := s.admit(key, token, cost)
	if code == 0 && strings.HasPrefix(path, "members/") {
		code, body = s.admitMembers(token)
	}
	if code != 0 {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
		return
	}
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.Path, f.PathContains) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			if f.AfterApply {
				s.route(r, path, ti.memberID)
			}
			s.mu.Unlock()
			plain(w, f.Status, f.Body)
			return
		}
	}
	if r.Method == http.MethodPost && (path == "webhooks" || strings.HasPrefix(path, "tokens/") && strings.HasSuffix(path, "/webhooks")) {
		s.mu.Unlock()
		// The HEAD validation goes out without the lock: the callback
		// may well call this server back.
		s.createWebhook(r, token).write(w)
		return
	}
	resp := s.route(r, path, ti.memberID)
	s.mu.Unlock()
	resp.write(w)
}

// admit applies the rate limits (api-notes §4.2) in fixed windows and
// returns a non-zero status when the request is refused.
func (s *Server) admit(key, token string, cost int) (int, string) {
	now := s.now()
	win := now.Truncate(s.opts.Window)
	if !win.Equal(s.window) {
		s.window = win
		s.keyCount = map[string]int{}
		s.tokCount = map[string]int{}
		s.key429 = map[string]int{}
	}
	s.totalReqs += cost
	for range cost {
		s.reqLog[token] = append(s.reqLog[token], now)
	}
	s.keyCount[key] += cost
	s.tokCount[token] += cost
	const keyBody = `{"error":"API_KEY_LIMIT_EXCEEDED","message":"Rate limit exceeded"}`
	const tokBody = `{"error":"API_TOKEN_LIMIT_EXCEEDED","message":"Rate limit exceeded"}`
	refuse := func(body string) (int, string) {
		s.key429[key]++
		s.rateLimits++
		return http.StatusTooManyRequests, body
	}
	switch {
	case s.key429[key] > s.opts.LockoutAfter:
		return refuse(keyBody)
	case s.keyCount[key] > s.opts.KeyLimit:
		return refuse(keyBody)
	case s.tokCount[token] > s.opts.TokenLimit:
		return refuse(tokBody)
	}
	return 0, ""
}

// Trello's extra limit on /1/members/ (api-notes §4.2).
const (
	membersLimit  = 100
	membersWindow = 900 * time.Second
)

func (s *Server) admitMembers(token string) (int, string) {
	win := s.now().Truncate(membersWindow)
	if !win.Equal(s.membersWin) || s.membersCnt == nil {
		s.membersWin, s.membersCnt = win, map[string]int{}
	}
	s.membersCnt[token]++
	if s.membersCnt[token] > membersLimit {
		s.rateLimits++
		return http.StatusTooManyRequests, `{"error":"API_TOKEN_LIMIT_EXCEEDED","message":"Rate limit exceeded"}`
	}
	return 0, ""
}

// Clock is a manual clock for tests and the demo: Sleep advances it, so
// clients that wait (rate limits, back-off) run instantly while the fake
// still sees the simulated time pass (internal/clock, shared by every fake).
type Clock = clock.Manual

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return clock.NewManual(t) }
