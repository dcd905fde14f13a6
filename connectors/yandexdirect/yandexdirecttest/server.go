// Package yandexdirecttest is a stateful fake of the Yandex Direct API v5
// JSON wire protocol (api-notes §1, checklist 6.1): routing and the
// request/result/error envelope, OAuth and Client-Login checks, points
// (Units) accounting with hourly refill on an injectable clock, the limit of
// five requests in flight per advertiser, per-item ActionResults, paging
// with LimitedBy, the Reports 201 -> 202 -> 200 lifecycle with its queue and
// rate limits, ad moderation transitions, the three-edits-a-day daily
// budget rule, bid modifiers with their per-type value ranges, the Yandex
// ID token endpoint with refresh-token rotation, and fault hooks. Statistics come from a pluggable
// SpendSource so a simulator can drive the account.
package yandexdirecttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adpacer/adpacer/internal/clock"
	"github.com/adpacer/adpacer/internal/fakehttp"
)

// moscow is Moscow time. Russia has had no daylight saving since 2014, so a
// fixed zone is exact for every date the fake serves and needs no tzdata.
var moscow = time.FixedZone("MSK", 3*60*60)

// Moscow returns the zone the fake counts days in (budget edits, reports).
func Moscow() *time.Location { return moscow }

// Error codes the fake answers with (api-notes §1.5).
const (
	CodeAuthUnavailable   = 52
	CodeAuth              = 53
	CodeNoRights          = 54
	CodeUnknownMethod     = 55
	CodeRateLimited       = 56
	CodeNotEnoughUnits    = 152
	CodeTooManyConns      = 506
	CodeServerUnavailable = 1000
	CodeServerInit        = 1001
	CodeOperationError    = 1002
	CodeNotSupported      = 3500
	CodeBadParams         = 4000
	CodeBadSelection      = 4001
	CodeBadPage           = 4002
	CodeMixedIDs          = 4005
	CodeBadValue          = 5005
	CodeBadState          = 8300
	CodeBudgetEditLimit   = 8305
	CodeOfflineOnly       = 8312
	CodeInvalidRequest    = 8000
	CodeNotFound          = 8800
	CodeTooManyObjects    = 9300
	CodeSelectionTooWide  = 9301
	CodeDuplicateObject   = 9800
	CodeAlreadyExists     = 9801
	CodeDuplicateElement  = 9802
	CodeStrategyMismatch  = 9600
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Clock drives points refill, moderation, budget-edit days and report
	// rate windows (default: the system clock).
	Clock Clock
	// DailyUnits is the default daily points limit of new advertisers
	// (default 64000, the figure of the docs' example).
	DailyUnits int64
	// MaxInFlight is the concurrent-request limit per advertiser (default 5).
	MaxInFlight int
	// ReportPolls is how many 202 answers a queued report gives before 200
	// (default 2; negative means none). A queued report also finishes by
	// itself (ReportPolls+1)*RetryIn seconds after it was queued, so a
	// full queue drains even if nobody polls.
	ReportPolls int
	// RetryIn is the retryIn header value in seconds (default 5).
	RetryIn int
	// OnlineMaxDays: in processingMode auto, reports spanning more days
	// than this are built offline (default 7).
	OnlineMaxDays int
	// ModerationDelay is how long an ad stays in MODERATION (default 1m,
	// the v4 sandbox's step).
	ModerationDelay time.Duration
	// Costs overrides per-method points costs (key "service.method").
	Costs map[string]Cost
	// ConcurrencyErrorCost is what a 506 answer charges. The notes price
	// every error, "a failed call costs 20" (api-notes §1.4, checklist
	// 6.1.2), and name no exception for 506, so the default is 20; the
	// figure comes from third-party notes, hence configurable. Negative
	// means free.
	ConcurrencyErrorCost int64
	// Seed for the fault hooks' random source.
	Seed uint64
	// OAuthClientID and OAuthClientSecret are the OAuth client the token
	// endpoint accepts (defaults DefaultOAuthClientID/Secret).
	OAuthClientID, OAuthClientSecret string
	// AccessTokenTTL is the life of access tokens issued by the token
	// endpoint (default 365 days; the notes give no figure, Yandex tokens
	// are long-lived). The API answers 53 to an expired one.
	AccessTokenTTL time.Duration
	// KeepRefreshTokens returns the same refresh token on refresh instead
	// of rotating it (default: rotate, and the old one is dead).
	KeepRefreshTokens bool
	// ReuseAccessTokenAbove: when > 0, a refresh returns the grant's current
	// access token unchanged while it has more than this left to live, as
	// Yandex may (api-notes §1.11). 0 always issues a new one.
	ReuseAccessTokenAbove time.Duration
	// Spend supplies statistics (default NewMemorySpend()).
	Spend SpendSource
}

// Cost is the points price of a method: Call per request plus PerObject per
// object returned or changed (PerObjects objects per unit when > 1, e.g.
// KeywordBids.get is priced per 2000 keywords).
type Cost struct {
	Call, PerObject, PerObjects int64
}

// defaultCosts follow api-notes §1.4 (public research notes quoting the
// units page); the KeywordBids figures are an inference by analogy with
// Bids.get (3 points per 2000 keywords) and are configurable.
var defaultCosts = map[string]Cost{
	"campaigns.get":     {Call: 10, PerObject: 1},
	"campaigns.update":  {Call: 10, PerObject: 3},
	"campaigns.suspend": {Call: 10, PerObject: 5},
	"campaigns.resume":  {Call: 10, PerObject: 5},
	"ads.get":           {Call: 15, PerObject: 1},
	"ads.moderate":      {Call: 15},
	"keywordbids.get":   {Call: 15, PerObject: 3, PerObjects: 2000},
	"keywordbids.set":   {Call: 25, PerObject: 0},
	// BidModifiers prices are not in the notes: inferred by analogy with
	// Campaigns (get 10+1, set like update 10+3, add/delete like add 10+5).
	"bidmodifiers.get":    {Call: 10, PerObject: 1},
	"bidmodifiers.set":    {Call: 10, PerObject: 3},
	"bidmodifiers.add":    {Call: 10, PerObject: 5},
	"bidmodifiers.delete": {Call: 10, PerObject: 5},
	"reports.get":         {},
}

const (
	errorCost     = 20 // a failed call and each failed object (api-notes §1.4)
	maxGetLimit   = 10000
	budgetEditCap = 3
)

// Faults are injected failures. Rates are probabilities in [0,1] drawn
// from the seeded source per request, before the request is processed (so
// an injected failure never changes state).
type Faults struct {
	// ErrorRate of requests answered with an error code from Codes
	// (HTTP 200, error envelope, no points charged).
	ErrorRate float64
	Codes     []int
	// HTTP5xxRate of requests answered 503 with an HTML body.
	HTTP5xxRate float64
	// MalformedRate of requests answered 200 with a truncated JSON body.
	MalformedRate float64
	// HangRate of requests that wait Hang (wall time) or until the client
	// gives up, then fail with 1002: a client timeout.
	HangRate float64
	Hang     time.Duration
	// Latency is added (wall time) to every request while it counts as in
	// flight: it lets tests provoke the 506 concurrency limit.
	Latency time.Duration
}

// WriteEvent describes one applied change, for OnWrite hooks.
type WriteEvent struct {
	Login    string
	Service  string
	Method   string
	Campaign int64
	// Field is DailyBudget, SearchBid, State.
	Field string
	Old   string
	New   string
	At    time.Time
}

// DailyBudget of a campaign, in micros.
type DailyBudget struct {
	Amount int64
	Mode   string // STANDARD | DISTRIBUTED
}

// Campaign is the fake's campaign state.
type Campaign struct {
	ID                  int64
	Login               string
	Name                string
	Type                string // TEXT_CAMPAIGN (default) | UNIFIED_CAMPAIGN | ...
	State               string // ON (default) | OFF | SUSPENDED | ENDED | ARCHIVED | CONVERTED
	Status              string // ACCEPTED (default) | DRAFT | MODERATION | REJECTED
	StatusClarification string
	TimeZone            string // default Europe/Moscow
	Currency            string // default RUB
	DailyBudget         *DailyBudget
	// SearchStrategy is the search BiddingStrategyType (default
	// HIGHEST_POSITION, the manual strategy that accepts SearchBid).
	SearchStrategy  string
	NetworkStrategy string // default SERVING_OFF
	// Keywords is the number of keywords the campaign has; SearchBid their
	// common initial bid in micros.
	Keywords  int
	SearchBid int64
}

// Ad is the fake's ad state.
type Ad struct {
	ID                  int64
	CampaignID          int64
	AdGroupID           int64
	Type                string // TEXT_AD
	Status              string // DRAFT | MODERATION | PREACCEPTED | ACCEPTED | REJECTED
	State               string // ON | OFF | SUSPENDED | OFF_BY_MONITORING | ARCHIVED
	StatusClarification string
}

type keyword struct {
	id, adGroup int64
	bid         int64
}

type campaign struct {
	Campaign
	keywords []keyword
}

type ad struct {
	Ad
	// pending moderation verdict of the version under moderation
	dueAt      time.Time
	verdict    string
	verdictWhy string
	edited     bool // a previous accepted version keeps serving
}

type account struct {
	login     string
	limit     int64
	balance   int64
	anchor    time.Time // the advertiser's own accrual schedule
	accrued   int64     // accrual ticks applied since anchor
	inFlight  int
	peak      int // highest inFlight seen
	reports   map[string]*report
	reportLog []time.Time // request times for the 20-per-10-s limit
}

type principal struct {
	login   string
	agency  bool
	clients map[string]bool
}

// Server is the fake. Create it with New; it is safe for concurrent use.
type Server struct {
	fakehttp.Listener // URL, Close
	opts              Options

	mu         sync.Mutex
	clock      Clock
	spend      SpendSource
	tokens     map[string]*principal
	accounts   map[string]*account
	campaigns  map[int64]*campaign
	ads        map[int64]*ad
	order      []int64 // campaign ids in creation order
	adOrder    []int64
	adsByCamp  map[int64][]int64 // ad ids per campaign, in creation order
	modifiers  map[int64]*BidModifier
	modOrder   []int64 // bid modifier ids in creation order
	nextID     int64
	edits      map[editKey]int
	calls      fakehttp.Calls
	faults     Faults
	rnd        *rand.Rand
	failNext   []int
	failReport map[string]bool
	// OAuth: refresh-token grants, expiry of issued access tokens (tokens
	// added with AddAdvertiser/AddAgency never expire), revoked access
	// tokens and how often each was used.
	grants        map[string]*grant
	tokenExpiry   map[string]time.Time
	revokedTokens map[string]bool
	tokenUses     map[string]int
	// failPrefix: the next n requests for reports whose name starts with
	// prefix answer 500 (FailReports).
	failPrefix []reportFailure
	onWrite    []func(WriteEvent)
	costs      map[string]Cost
	reqSeq     int64
}

type editKey struct {
	campaign int64
	day      string
}

// New starts a fake on a loopback httptest server. Close it when done.
func New(opts Options) *Server {
	s := newServer(opts)
	s.Serve(s)
	return s
}

// NewUnstarted builds the fake as an http.Handler without starting a
// listener (the demo mounts it on its own server).
func NewUnstarted(opts Options) *Server { return newServer(opts) }

func newServer(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.DailyUnits <= 0 {
		opts.DailyUnits = 64000
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 5
	}
	if opts.ReportPolls < 0 {
		opts.ReportPolls = 0
	} else if opts.ReportPolls == 0 {
		opts.ReportPolls = 2
	}
	if opts.RetryIn <= 0 {
		opts.RetryIn = 5
	}
	if opts.OnlineMaxDays <= 0 {
		opts.OnlineMaxDays = 7
	}
	if opts.ModerationDelay <= 0 {
		opts.ModerationDelay = time.Minute
	}
	if opts.Spend == nil {
		opts.Spend = NewMemorySpend()
	}
	if opts.OAuthClientID == "" {
		opts.OAuthClientID, opts.OAuthClientSecret = DefaultOAuthClientID, DefaultOAuthClientSecret
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = 365 * 24 * time.Hour
	}
	switch {
	case opts.ConcurrencyErrorCost == 0:
		opts.ConcurrencyErrorCost = errorCost
	case opts.ConcurrencyErrorCost < 0:
		opts.ConcurrencyErrorCost = 0
	}
	costs := map[string]Cost{}
	for k, v := range defaultCosts {
		costs[k] = v
	}
	for k, v := range opts.Costs {
		costs[k] = v
	}
	return &Server{
		opts:          opts,
		clock:         opts.Clock,
		spend:         opts.Spend,
		tokens:        map[string]*principal{},
		accounts:      map[string]*account{},
		campaigns:     map[int64]*campaign{},
		ads:           map[int64]*ad{},
		adsByCamp:     map[int64][]int64{},
		modifiers:     map[int64]*BidModifier{},
		nextID:        100000,
		edits:         map[editKey]int{},
		rnd:           rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		failReport:    map[string]bool{},
		grants:        map[string]*grant{},
		tokenExpiry:   map[string]time.Time{},
		revokedTokens: map[string]bool{},
		tokenUses:     map[string]int{},
		costs:         costs,
	}
}

// AddAdvertiser creates an advertiser account reachable with token.
func (s *Server) AddAdvertiser(login, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureAccount(login)
	s.tokens[token] = &principal{login: login}
}

// AddAgency registers an agency token that may act for clients (each
// created as an advertiser if new). Agency calls must send Client-Login.
func (s *Server) AddAgency(login, token string, clients ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &principal{login: login, agency: true, clients: map[string]bool{}}
	s.ensureAccount(login)
	for _, c := range clients {
		s.ensureAccount(c)
		p.clients[c] = true
	}
	s.tokens[token] = p
}

// RevokeToken makes the access token answer error 53 (other tokens of the
// same user keep working).
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens[token] != nil {
		s.revokedTokens[token] = true
	}
}

func (s *Server) ensureAccount(login string) *account {
	a := s.accounts[login]
	if a == nil {
		a = &account{login: login, limit: s.opts.DailyUnits, balance: s.opts.DailyUnits,
			anchor: s.clock.Now(), reports: map[string]*report{}}
		s.accounts[login] = a
	}
	return a
}

// UnitsState is an advertiser's points.
type UnitsState struct{ Remaining, Limit int64 }

// SetUnits sets an advertiser's remaining points and daily limit and
// restarts its hourly accrual schedule at the current clock time.
func (s *Server) SetUnits(login string, remaining, limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ensureAccount(login)
	a.limit, a.balance, a.anchor, a.accrued = limit, remaining, s.clock.Now(), 0
}

// SetRemaining sets an advertiser's remaining points without touching its
// accrual schedule (to exhaust the allowance mid-hour in tests).
func (s *Server) SetRemaining(login string, remaining int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ensureAccount(login)
	s.accrue(a)
	a.balance = remaining
}

// Units returns an advertiser's points after applying due accruals.
func (s *Server) Units(login string) UnitsState {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ensureAccount(login)
	s.accrue(a)
	return UnitsState{a.balance, a.limit}
}

// accrue adds 1/24 of the limit for every full hour since the advertiser's
// anchor not yet credited, never above the daily limit (the sliding 24-hour
// window: unspent grants of the last 23 hours carry over, older ones not).
func (s *Server) accrue(a *account) {
	ticks := int64(s.clock.Now().Sub(a.anchor) / time.Hour)
	if ticks <= a.accrued {
		return
	}
	a.balance += (ticks - a.accrued) * a.limit / 24
	if a.balance > a.limit {
		a.balance = a.limit
	}
	a.accrued = ticks
}

// PeakInFlight returns the highest number of simultaneous requests the
// advertiser had (the 506 limit is checked against it).
func (s *Server) PeakInFlight(login string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ensureAccount(login).peak
}

// SetFaults replaces the fault configuration.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// FailNext makes the next n API requests (after authentication) answer
// error code, before any processing.
func (s *Server) FailNext(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failNext = append(s.failNext, code)
	}
}

// FailReport makes the next request for the named report answer HTTP 500
// and drop the report, so the client must start it again.
func (s *Server) FailReport(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failReport[name] = true
}

type reportFailure struct {
	prefix string
	left   int
}

// FailReports makes the next n requests for reports whose ReportName
// starts with prefix ("" matches every report) answer HTTP 500 and drop
// the report, as a failed build does: a repeated request starts it anew
// (201). Tests use it when the client names its reports itself.
func (s *Server) FailReports(prefix string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 {
		s.failPrefix = append(s.failPrefix, reportFailure{prefix, n})
	}
}

// takeReportFailure reports whether the request for the named report must
// fail, consuming one injected failure. Called with s.mu held.
func (s *Server) takeReportFailure(name string) bool {
	if s.failReport[name] {
		delete(s.failReport, name)
		return true
	}
	for i := range s.failPrefix {
		f := &s.failPrefix[i]
		if f.left > 0 && strings.HasPrefix(name, f.prefix) {
			f.left--
			return true
		}
	}
	return false
}

// OnWrite registers a hook called (outside the fake's lock) for every
// applied change.
func (s *Server) OnWrite(f func(WriteEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onWrite = append(s.onWrite, f)
}

// SetSpendSource replaces the statistics source.
func (s *Server) SetSpendSource(src SpendSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spend = src
}

// Calls returns how many requests reached service.method (e.g.
// "campaigns.get", "reports.get") after authentication, whatever their
// outcome.
func (s *Server) Calls(key string) int { return s.calls.Of(key) }

// CallCounts returns a copy of all per-method counters.
func (s *Server) CallCounts() map[string]int { return s.calls.All() }

// ResetCalls zeroes the per-method counters.
func (s *Server) ResetCalls() { s.calls.Reset() }

// mutating lists the methods that change state.
var mutating = map[string]bool{
	"update": true, "set": true, "suspend": true, "resume": true, "moderate": true,
	"add": true, "delete": true, "archive": true, "unarchive": true,
}

// MutatingCalls counts requests to methods that change state.
func (s *Server) MutatingCalls() int {
	n := 0
	for k, v := range s.calls.All() {
		if _, m, ok := strings.Cut(k, "."); ok && mutating[m] {
			n += v
		}
	}
	return n
}

// AddCampaign creates a campaign owned by login and returns its id (c.ID
// is used when non-zero).
func (s *Server) AddCampaign(login string, c Campaign) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureAccount(login)
	if c.ID == 0 {
		s.nextID++
		c.ID = s.nextID
	}
	c.Login = login
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&c.Type, "TEXT_CAMPAIGN")
	def(&c.State, "ON")
	def(&c.Status, "ACCEPTED")
	def(&c.TimeZone, "Europe/Moscow")
	def(&c.Currency, "RUB")
	def(&c.SearchStrategy, "HIGHEST_POSITION")
	def(&c.NetworkStrategy, "SERVING_OFF")
	if c.Name == "" {
		c.Name = "Campaign " + strconv.FormatInt(c.ID, 10)
	}
	cp := &campaign{Campaign: c}
	for i := 0; i < c.Keywords; i++ {
		s.nextID++
		cp.keywords = append(cp.keywords, keyword{id: s.nextID, adGroup: c.ID*10 + 1, bid: c.SearchBid})
	}
	if c.DailyBudget != nil {
		b := *c.DailyBudget
		cp.DailyBudget = &b
	}
	if _, exists := s.campaigns[c.ID]; !exists {
		s.order = append(s.order, c.ID)
	}
	s.campaigns[c.ID] = cp
	return c.ID
}

// Campaign returns a copy of a campaign's current state.
func (s *Server) Campaign(id int64) (Campaign, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.campaigns[id]
	if !ok {
		return Campaign{}, false
	}
	out := c.Campaign
	if c.DailyBudget != nil {
		b := *c.DailyBudget
		out.DailyBudget = &b
	}
	if len(c.keywords) > 0 {
		out.SearchBid = c.keywords[0].bid
	}
	return out, true
}

// KeywordBids returns the search bids of a campaign's keywords.
func (s *Server) KeywordBids(id int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.campaigns[id]
	if c == nil {
		return nil
	}
	out := make([]int64, len(c.keywords))
	for i, k := range c.keywords {
		out[i] = k.bid
	}
	return out
}

// SetKeywordBid sets one keyword's bid directly (test setup of mixed bids).
func (s *Server) SetKeywordBid(campaignID int64, index int, bid int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.campaigns[campaignID]; c != nil && index >= 0 && index < len(c.keywords) {
		c.keywords[index].bid = bid
	}
}

// BudgetEdits returns how many daily-budget edits a campaign had on a
// Moscow day.
func (s *Server) BudgetEdits(campaignID int64, day string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.edits[editKey{campaignID, day}]
}

// AddAd creates an ad (Status defaults to DRAFT, State to OFF) and returns
// its id.
func (s *Server) AddAd(a Ad) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.ID == 0 {
		s.nextID++
		a.ID = s.nextID
	}
	if a.Type == "" {
		a.Type = "TEXT_AD"
	}
	if a.Status == "" {
		a.Status = "DRAFT"
	}
	if a.State == "" {
		a.State = "OFF"
		if a.Status == "ACCEPTED" || a.Status == "PREACCEPTED" {
			a.State = "ON"
		}
	}
	if a.AdGroupID == 0 {
		a.AdGroupID = a.CampaignID*10 + 1
	}
	if _, exists := s.ads[a.ID]; !exists {
		s.adOrder = append(s.adOrder, a.ID)
		s.adsByCamp[a.CampaignID] = append(s.adsByCamp[a.CampaignID], a.ID)
	}
	s.ads[a.ID] = &ad{Ad: a, verdict: "ACCEPTED"}
	return a.ID
}

// Ad returns a copy of an ad after applying due moderation transitions.
func (s *Server) Ad(id int64) (Ad, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.ads[id]
	if !ok {
		return Ad{}, false
	}
	s.advanceAd(a)
	return a.Ad, true
}

// SetVerdict decides how the moderation of an ad ends (ACCEPTED or
// REJECTED with a clarification such as the missing interest-rate
// disclaimer). It applies to the version now or next under moderation.
func (s *Server) SetVerdict(id int64, status, clarification string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.ads[id]; a != nil {
		a.verdict, a.verdictWhy = status, clarification
	}
}

// SubmitAd sends an ad (a DRAFT, or an edited version) to moderation: it
// becomes MODERATION and reaches its verdict after ModerationDelay. An
// edited ACCEPTED ad keeps State ON while its new version is moderated.
func (s *Server) SubmitAd(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.ads[id]; a != nil {
		s.submit(a)
	}
}

func (s *Server) submit(a *ad) {
	a.edited = a.Status == "ACCEPTED" && a.State == "ON"
	a.Status = "MODERATION"
	a.StatusClarification = ""
	a.dueAt = s.clock.Now().Add(s.opts.ModerationDelay)
}

func (s *Server) advanceAd(a *ad) {
	if a.Status != "MODERATION" || s.clock.Now().Before(a.dueAt) {
		return
	}
	a.Status = a.verdict
	a.StatusClarification = a.verdictWhy
	switch {
	case a.Status == "ACCEPTED":
		if a.State == "OFF" {
			a.State = "ON"
		}
		a.StatusClarification = ""
	case a.Status == "REJECTED" && !a.edited:
		a.State = "OFF"
	}
	// A rejected edit leaves the previous accepted version serving.
	a.edited = false
}

// ServeHTTP routes /json/v5/{service}, /json/v501/{service} and the OAuth
// token endpoint /token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		s.serveToken(w, r)
		return
	}
	version, service, ok := route(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "", apiErr{CodeInvalidRequest, "Invalid request", "Unknown path " + r.URL.Path + "; use /json/v5/{service} or /json/v501/{service}"})
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "", apiErr{CodeInvalidRequest, "Invalid request", "Only POST is accepted"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "", apiErr{CodeInvalidRequest, "Invalid request", "Cannot read body"})
		return
	}
	if service == "reports" {
		s.serveReports(w, r, body)
		return
	}
	s.serveAPI(w, r, version, service, body)
}

func route(path string) (version, service string, ok bool) {
	rest, found := strings.CutPrefix(path, "/json/")
	if !found {
		return "", "", false
	}
	version, service, found = strings.Cut(rest, "/")
	if !found || (version != "v5" && version != "v501") {
		return "", "", false
	}
	switch service {
	case "campaigns", "ads", "keywordbids", "bidmodifiers", "reports":
		return version, service, true
	}
	return "", "", false
}

type apiErr struct {
	code        int
	str, detail string
}

func (e apiErr) Error() string { return fmt.Sprintf("%d %s: %s", e.code, e.str, e.detail) }

// authenticate resolves the token and the advertiser whose points and
// objects the call uses. It returns the operator too, for Use-Operator-Units.
func (s *Server) authenticate(r *http.Request) (adv *account, operator *account, e *apiErr) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil, &apiErr{CodeInvalidRequest, "Invalid request", "OAuth token is missing (Authorization header)"}
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return nil, nil, &apiErr{CodeInvalidRequest, "Invalid request", "Authorization header must be 'Bearer <token>'"}
	}
	p := s.tokens[tok]
	if p == nil || s.revokedTokens[tok] {
		return nil, nil, &apiErr{CodeAuth, "Authorization error", "Invalid OAuth token"}
	}
	if exp, ok := s.tokenExpiry[tok]; ok && !s.clock.Now().Before(exp) {
		return nil, nil, &apiErr{CodeAuth, "Authorization error", "OAuth token expired"}
	}
	s.tokenUses[tok]++
	login := r.Header.Get("Client-Login")
	target := p.login
	switch {
	case p.agency && login == "":
		return nil, nil, &apiErr{CodeInvalidRequest, "Invalid request", "Client-Login header is required for agency requests"}
	case p.agency && !p.clients[login]:
		return nil, nil, &apiErr{CodeNotFound, "Object not found", "Client-Login " + strconv.Quote(login) + " is not a client of this agency"}
	case p.agency:
		target = login
	case login != "" && login != p.login:
		return nil, nil, &apiErr{CodeNotFound, "Object not found", "Client-Login does not match the token's user"}
	}
	adv = s.ensureAccount(target)
	operator = adv
	if strings.EqualFold(r.Header.Get("Use-Operator-Units"), "true") {
		if !p.agency {
			return nil, nil, &apiErr{CodeNoRights, "No rights", "Use-Operator-Units is for agency requests only"}
		}
		operator = s.ensureAccount(p.login)
	}
	return adv, operator, nil
}

type envelope struct {
	Method *string         `json:"method"`
	Params json.RawMessage `json:"params"`
}

// handled is the result of a method: the JSON result, the number of
// objects charged and the number of failed items.
type handled struct {
	result  any
	objects int64
	failed  int64
	writes  []WriteEvent
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, version, service string, body []byte) {
	s.mu.Lock()
	s.reqSeq++
	reqID := strconv.FormatInt(8695244274068608439+s.reqSeq, 10)
	adv, op, aerr := s.authenticate(r)
	if aerr != nil {
		s.mu.Unlock()
		writeError(w, http.StatusOK, reqID, *aerr)
		return
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || env.Method == nil || *env.Method == "" {
		s.mu.Unlock()
		detail := "Request body must be JSON {\"method\": ..., \"params\": {...}}"
		if err == nil {
			detail = "Parameter 'method' is missing"
		}
		s.writeCharged(w, reqID, op, apiErr{CodeInvalidRequest, "Invalid request", detail})
		return
	}
	method := *env.Method
	key := service + "." + method
	s.calls.Add(key)
	// Faults are drawn before the in-flight check so a forced failure
	// never changes state and never charges points.
	f := s.faults
	var forced int
	if len(s.failNext) > 0 {
		forced, s.failNext = s.failNext[0], s.failNext[1:]
	} else if f.ErrorRate > 0 && len(f.Codes) > 0 && s.rnd.Float64() < f.ErrorRate {
		forced = f.Codes[s.rnd.IntN(len(f.Codes))]
	}
	fault := ""
	switch {
	case forced != 0:
	case f.HTTP5xxRate > 0 && s.rnd.Float64() < f.HTTP5xxRate:
		fault = "5xx"
	case f.MalformedRate > 0 && s.rnd.Float64() < f.MalformedRate:
		fault = "malformed"
	case f.HangRate > 0 && s.rnd.Float64() < f.HangRate:
		fault = "hang"
	}
	if adv.inFlight >= s.opts.MaxInFlight {
		// The refusal is an error and is charged like one.
		s.accrue(op)
		c := min(s.opts.ConcurrencyErrorCost, op.balance)
		op.balance -= c
		s.writeUnits(w, reqID, op, c)
		s.mu.Unlock()
		writeError(w, http.StatusOK, reqID, apiErr{CodeTooManyConns, "Limit on simultaneous connections exceeded", "At most " + strconv.Itoa(s.opts.MaxInFlight) + " requests at once per advertiser"})
		return
	}
	adv.inFlight++
	if adv.inFlight > adv.peak {
		adv.peak = adv.inFlight
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		adv.inFlight--
		s.mu.Unlock()
	}()
	if f.Latency > 0 {
		sleepCtx(r, f.Latency)
	}
	switch {
	case forced != 0:
		s.writeUnitsLocked(w, reqID, op, 0)
		writeError(w, http.StatusOK, reqID, apiErr{forced, "Forced error", "Injected by the fake's fault hooks"})
		return
	case fault == "5xx":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html><body>503 Service Temporarily Unavailable</body></html>")
		return
	case fault == "malformed":
		s.writeUnitsLocked(w, reqID, op, 0)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"result": {"Campaigns": [{"Id": 1, "Na`)
		return
	case fault == "hang":
		sleepCtx(r, f.Hang)
		s.writeUnitsLocked(w, reqID, op, 0)
		writeError(w, http.StatusOK, reqID, apiErr{CodeOperationError, "Operation error", "Injected hang"})
		return
	}

	s.mu.Lock()
	s.accrue(op)
	h, herr := s.dispatch(version, service, method, adv.login, env.Params)
	if herr != nil {
		s.mu.Unlock()
		s.writeCharged(w, reqID, op, *herr)
		return
	}
	cost := s.cost(key, h.objects) + h.failed*errorCost
	if op.balance < cost {
		// Not enough points: refuse before any state change.
		units := fmt.Sprintf("0/%d/%d", op.balance, op.limit)
		s.mu.Unlock()
		w.Header().Set("Units", units)
		w.Header().Set("Units-Used-Login", op.login)
		writeError(w, http.StatusOK, reqID, apiErr{CodeNotEnoughUnits, "Not enough units", "The points allowance is exhausted; wait for the next hourly accrual"})
		return
	}
	// State changes are applied only now, after the points check.
	if mutating[method] {
		h, _ = s.dispatchApply(version, service, method, adv.login, env.Params)
		cost = s.cost(key, h.objects) + h.failed*errorCost
	}
	if cost > op.balance {
		cost = op.balance
	}
	op.balance -= cost
	units := fmt.Sprintf("%d/%d/%d", cost, op.balance, op.limit)
	hooks := append([]func(WriteEvent){}, s.onWrite...)
	s.mu.Unlock()
	for _, ev := range h.writes {
		for _, hook := range hooks {
			hook(ev)
		}
	}
	w.Header().Set("Units", units)
	w.Header().Set("Units-Used-Login", op.login)
	w.Header().Set("RequestId", reqID)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"result": h.result})
}

func (s *Server) cost(key string, objects int64) int64 {
	c := s.costs[key]
	per := c.PerObject * objects
	if c.PerObjects > 1 {
		per = c.PerObject * (objects / c.PerObjects)
	}
	return c.Call + per
}

func sleepCtx(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// writeCharged answers a request-level error and charges the error price.
func (s *Server) writeCharged(w http.ResponseWriter, reqID string, op *account, e apiErr) {
	s.mu.Lock()
	s.accrue(op)
	c := int64(errorCost)
	if c > op.balance {
		c = op.balance
	}
	op.balance -= c
	units := fmt.Sprintf("%d/%d/%d", c, op.balance, op.limit)
	s.mu.Unlock()
	w.Header().Set("Units", units)
	w.Header().Set("Units-Used-Login", op.login)
	writeError(w, http.StatusOK, reqID, e)
}

func (s *Server) writeUnitsLocked(w http.ResponseWriter, reqID string, op *account, spent int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeUnits(w, reqID, op, spent)
}

func (s *Server) writeUnits(w http.ResponseWriter, _ string, op *account, spent int64) {
	w.Header().Set("Units", fmt.Sprintf("%d/%d/%d", spent, op.balance, op.limit))
	w.Header().Set("Units-Used-Login", op.login)
}

func writeError(w http.ResponseWriter, status int, reqID string, e apiErr) {
	if reqID != "" {
		w.Header().Set("RequestId", reqID)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"request_id": reqID, "error_code": e.code, "error_string": e.str, "error_detail": e.detail,
	}})
}

// dispatch validates and computes a method's result without changing
// state; dispatchApply runs it for real. Methods are written so that the
// validation pass and the apply pass see the same state (both under s.mu).
func (s *Server) dispatch(version, service, method, login string, params json.RawMessage) (handled, *apiErr) {
	return s.run(version, service, method, login, params, false)
}

func (s *Server) dispatchApply(version, service, method, login string, params json.RawMessage) (handled, *apiErr) {
	return s.run(version, service, method, login, params, true)
}

func (s *Server) run(version, service, method, login string, params json.RawMessage, apply bool) (handled, *apiErr) {
	switch service + "." + method {
	case "campaigns.get":
		return s.campaignsGet(version, login, params)
	case "campaigns.update":
		return s.campaignsUpdate(version, login, params, apply)
	case "campaigns.suspend", "campaigns.resume":
		return s.campaignsState(method, login, params, apply)
	case "keywordbids.get":
		return s.keywordBidsGet(login, params)
	case "keywordbids.set":
		return s.keywordBidsSet(login, params, apply)
	case "ads.get":
		return s.adsGet(login, params)
	case "ads.moderate":
		return s.adsModerate(login, params, apply)
	case "bidmodifiers.get":
		return s.bidModifiersGet(login, params)
	case "bidmodifiers.add":
		return s.bidModifiersAdd(login, params, apply)
	case "bidmodifiers.set":
		return s.bidModifiersSet(login, params, apply)
	case "bidmodifiers.delete":
		return s.bidModifiersDelete(login, params, apply)
	}
	// Methods the fake does not model are refused as unknown.
	return handled{}, &apiErr{CodeUnknownMethod, "Operation not found", "Method " + strconv.Quote(method) + " is not available in service " + service}
}

// decodeParams decodes strictly: unknown parameters are error 8000, as on
// the real API.
func decodeParams(raw json.RawMessage, v any) *apiErr {
	if len(raw) == 0 || string(raw) == "null" {
		return &apiErr{CodeInvalidRequest, "Invalid request", "Parameter 'params' is missing"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiErr{CodeInvalidRequest, "Invalid request", "Invalid params: " + err.Error()}
	}
	return nil
}

type page struct {
	Limit  *int64 `json:"Limit"`
	Offset *int64 `json:"Offset"`
}

// pageOf returns the slice window and the LimitedBy value (0 = none).
func pageOf(p *page, n int) (from, to int, limitedBy int64, e *apiErr) {
	limit, offset := int64(maxGetLimit), int64(0)
	if p != nil {
		if p.Limit != nil {
			limit = *p.Limit
		}
		if p.Offset != nil {
			offset = *p.Offset
		}
	}
	if limit < 1 || limit > maxGetLimit || offset < 0 {
		return 0, 0, 0, &apiErr{CodeBadPage, "Invalid Limit or Offset", "Page.Limit must be 1..10000 and Page.Offset >= 0"}
	}
	if offset >= int64(n) {
		return n, n, 0, nil
	}
	end := offset + limit
	if end < int64(n) {
		limitedBy = end
	} else {
		end = int64(n)
	}
	return int(offset), int(end), limitedBy, nil
}

func checkFields(names []string, allowed map[string]bool, param string, required bool) *apiErr {
	if required && len(names) == 0 {
		return &apiErr{CodeInvalidRequest, "Invalid request", "Parameter " + param + " is required"}
	}
	for _, n := range names {
		if !allowed[n] {
			return &apiErr{CodeInvalidRequest, "Invalid request", param + " contains unknown value " + strconv.Quote(n)}
		}
	}
	return nil
}

func idSet(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func strSet(v []string) map[string]bool {
	if len(v) == 0 {
		return nil
	}
	m := make(map[string]bool, len(v))
	for _, s := range v {
		m[s] = true
	}
	return m
}

type actionResult struct {
	ID       *int64   `json:"Id,omitempty"`
	Warnings []notice `json:"Warnings,omitempty"`
	Errors   []notice `json:"Errors,omitempty"`
}

type notice struct {
	Code    int    `json:"Code"`
	Message string `json:"Message"`
	Details string `json:"Details,omitempty"`
}

func okResult(id int64, warns ...notice) actionResult {
	return actionResult{ID: &id, Warnings: warns}
}

func errResult(code int, msg, details string) actionResult {
	return actionResult{Errors: []notice{{code, msg, details}}}
}

func sortedIDs(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
