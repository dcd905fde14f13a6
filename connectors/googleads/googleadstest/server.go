// Package googleadstest is a stateful fake of the Google Ads REST API
// (api-notes §2, contract checklist §6.2) for contract tests, the simulator
// and `adpacer demo`. It speaks the real wire protocol: OAuth2 bearer tokens
// from its own token endpoint, the login-customer-id rules for manager
// accounts, GAQL search with fixed 10,000-row pages and searchStream's JSON
// array of batches, proto3 JSON typing (int64 as strings, default values
// omitted), the GAQL date rules, atomic and partial-failure mutates,
// validateOnly, a rolling daily operations quota with bursts, a version
// gate and ad policy review transitions. Spend comes from a pluggable
// SpendSource so the simulator can drive it; fault hooks inject latency,
// 5xx, malformed bodies and mid-stream errors.
//
// What is not modelled: create operations, resources other than customer,
// campaign_budget, campaign, ad_group and ad_group_ad, and metrics without a
// segments.date filter (the real API aggregates over all time).
package googleadstest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DeveloperTokenMode says how the fake treats the developer-token header.
type DeveloperTokenMode int

// Developer-token modes. The token was sunset on 2026-09-09: the API now
// accepts and ignores it (the default here); older versions required it,
// and "a future major version will reject it" (api-notes §2.1).
const (
	DevTokenIgnore DeveloperTokenMode = iota
	DevTokenRequire
	DevTokenReject
)

// Defaults of Options.
const (
	DefaultClientID       = "googleadstest-client"
	DefaultClientSecret   = "googleadstest-secret"
	DefaultDailyOps       = 15_000 // Basic access
	PageRows              = 10_000 // fixed search page size
	MaxMutateOperations   = 10_000
	defaultAccessTokenTTL = 3599 * time.Second
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Now is the clock (default time.Now). Policy reviews, token expiry,
	// the quota window and "today" in account zones follow it.
	Now func() time.Time
	// Versions is the allow-list of URL versions (default v24, v25, v26;
	// the last one is used in error @type URLs).
	Versions []string
	// ClientID and ClientSecret the token endpoint accepts.
	ClientID, ClientSecret string
	// DeveloperTokenMode and, for DevTokenRequire, the accepted token.
	DeveloperTokenMode DeveloperTokenMode
	DeveloperToken     string
	// DailyOperations is the rolling-24h operations cap (default 15,000,
	// Basic; Explorer is 2,880 on production accounts).
	DailyOperations int
	// QuotaHTTPStatus is the status of the daily-quota error (default 429;
	// 400 reproduces the public fixture, so clients must classify by
	// errorCode).
	QuotaHTTPStatus int
	// FreeValidateOnly stops validateOnly mutates from counting against the
	// quota (by default they count, which is the conservative assumption).
	FreeValidateOnly bool
	// Spend supplies metrics (default: a new MemorySpend, see Server.Spend).
	Spend SpendSource
	// RotateRefreshTokens makes every refresh return a new refresh token
	// and revoke the old one (Google normally does not; Yandex does).
	RotateRefreshTokens bool
	// AccessTokenTTL is the lifetime of issued access tokens (default 3599s).
	AccessTokenTTL time.Duration
}

// Customer is an account.
type Customer struct {
	ID       string // 10 digits
	Name     string
	TimeZone string // IANA zone; defines segments.date/hour
	Currency string // ISO 4217
	// Manager, when set, is the manager (MCC) id through which the account
	// must be accessed: requests need login-customer-id: Manager.
	Manager string
	// MinDailyBudgetMicros rejects lower budgets with rangeError TOO_LOW.
	MinDailyBudgetMicros int64
}

// Budget is a campaign budget.
type Budget struct {
	ID               int64
	Name             string
	AmountMicros     int64
	ExplicitlyShared bool
	Status           string // ENABLED or REMOVED
}

// Campaign is a campaign.
type Campaign struct {
	ID                  int64
	Name                string
	Status              string // ENABLED, PAUSED or REMOVED
	BudgetID            int64
	BiddingStrategyType string // MANUAL_CPC, MAXIMIZE_CONVERSIONS, TARGET_CPA, ...
	ChannelType         string // SEARCH, DISPLAY, ...
}

// AdGroup is an ad group with its max CPC bid.
type AdGroup struct {
	ID           int64
	CampaignID   int64
	Name         string
	Status       string
	CPCBidMicros int64
}

// PolicyTopic is one policy topic entry of an ad.
type PolicyTopic struct {
	Topic string // e.g. "FINANCIAL_SERVICES_DISCLOSURE"
	Type  string // PROHIBITED, LIMITED, ...
}

// Ad is an ad group ad with its policy summary.
type Ad struct {
	ID        int64
	AdGroupID int64
	Status    string
	Approval  string // APPROVED, APPROVED_LIMITED, DISAPPROVED, AREA_OF_INTEREST_ONLY, UNKNOWN, or anything
	Review    string // REVIEW_IN_PROGRESS, REVIEWED, UNDER_APPEAL, ELIGIBLE_MAY_SERVE, ...
	Topics    []PolicyTopic
}

type review struct {
	at       time.Time
	approval string
	topics   []PolicyTopic
}

type account struct {
	Customer
	loc       *time.Location
	budgets   map[int64]*Budget
	campaigns map[int64]*Campaign
	adGroups  map[int64]*AdGroup
	ads       map[int64]*Ad
	reviews   map[int64]review
	rejects   map[string]AdsError
}

// Faults are injected failures; counters decrement per affected request.
type Faults struct {
	// Latency delays every response (respecting the request context).
	Latency time.Duration
	// FailNext answers the next N API requests with FailStatus (default
	// 500 INTERNAL; 503 UNAVAILABLE and 504 DEADLINE_EXCEEDED also fit).
	FailNext   int
	FailStatus int
	// MalformedNext answers the next N search/searchStream requests with
	// a truncated JSON body and status 200.
	MalformedNext int
	// MidStreamErrorNext makes the next N searchStream responses carry the
	// first batch and then an {"error": ...} element (INTERNAL).
	MidStreamErrorNext int
	// BurstNext answers the next N API requests with 429
	// quotaError RESOURCE_TEMPORARILY_EXHAUSTED and BurstRetryDelay
	// (default 1s) in quotaErrorDetails.retryDelay.
	BurstNext       int
	BurstRetryDelay time.Duration
}

// Change is one field changed by a mutate.
type Change struct {
	ResourceName string
	Field        string // amountMicros, status, cpcBidMicros
	Old, New     string
}

// MutateEvent is reported to OnMutate after state changed (never for
// validateOnly or failed requests).
type MutateEvent struct {
	Customer string
	Service  string // campaignBudgets, campaigns, adGroups
	Changes  []Change
}

// Calls counts requests by kind.
type Calls struct {
	Search       int // googleAds:search first pages (counted queries)
	SearchPages  int // googleAds:search follow-up pages (free)
	SearchStream int
	// Mutate counts mutate requests that could change state (not
	// validateOnly), whatever their outcome; MutateOperations their ops.
	Mutate           int
	MutateOperations int
	ValidateOnly     int
	Token            int
	ListAccessible   int
	Rejected         int // requests refused before reaching a method (auth, version, quota, faults)
}

type quotaEntry struct {
	at time.Time
	n  int
}

// Server is the fake. It is an http.Handler; Start serves it on a local
// listener.
type Server struct {
	opts Options

	ts *httptest.Server

	mu       sync.Mutex
	accounts map[string]*account
	refresh  map[string]bool // refresh token -> valid
	access   map[string]time.Time
	pages    map[string]*pageState
	quota    []quotaEntry
	faults   Faults
	calls    Calls
	seq      int
	onMutate func(MutateEvent)
	spend    SpendSource
}

// New validates opts and returns a server that is not listening yet (use it
// as an http.Handler, or call Start).
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Versions) == 0 {
		opts.Versions = []string{"v24", "v25", "v26"}
	}
	for _, v := range opts.Versions {
		if !versionRe.MatchString(v) {
			return nil, fmt.Errorf("googleadstest: Options.Versions entry %q: want vNN such as v26", v)
		}
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.DailyOperations == 0 {
		opts.DailyOperations = DefaultDailyOps
	}
	if opts.DailyOperations < 0 {
		return nil, fmt.Errorf("googleadstest: Options.DailyOperations %d must be positive", opts.DailyOperations)
	}
	if opts.QuotaHTTPStatus == 0 {
		opts.QuotaHTTPStatus = http.StatusTooManyRequests
	}
	if opts.AccessTokenTTL == 0 {
		opts.AccessTokenTTL = defaultAccessTokenTTL
	}
	if opts.DeveloperTokenMode == DevTokenRequire && opts.DeveloperToken == "" {
		return nil, errors.New("googleadstest: DevTokenRequire needs Options.DeveloperToken")
	}
	s := &Server{
		opts:     opts,
		accounts: map[string]*account{},
		refresh:  map[string]bool{},
		access:   map[string]time.Time{},
		pages:    map[string]*pageState{},
		spend:    opts.Spend,
	}
	if s.spend == nil {
		s.spend = NewMemorySpend()
	}
	return s, nil
}

// Start creates a server and serves it on a local listener; Close stops it.
func Start(opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	s.ts = httptest.NewServer(s)
	return s, nil
}

// URL is the base URL to configure the client with (no version).
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Client returns an HTTP client for the listener started by Start (its
// idle connections close with the server).
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// TokenURL is the OAuth2 token endpoint.
func (s *Server) TokenURL() string { return s.URL() + "/token" }

// Close stops the listener started by Start.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// ClientID and ClientSecret are the OAuth client credentials the token
// endpoint accepts.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Spend returns the spend source (a *MemorySpend unless Options.Spend was set).
func (s *Server) Spend() SpendSource { return s.spend }

var (
	versionRe    = regexp.MustCompile(`^v[0-9]{1,3}$`)
	customerIDRe = regexp.MustCompile(`^[0-9]{10}$`)
)

// AddCustomer creates an account.
func (s *Server) AddCustomer(c Customer) error {
	if !customerIDRe.MatchString(c.ID) {
		return fmt.Errorf("googleadstest: customer id %q: want 10 digits", c.ID)
	}
	if c.Manager != "" && !customerIDRe.MatchString(c.Manager) {
		return fmt.Errorf("googleadstest: customer %s manager id %q: want 10 digits", c.ID, c.Manager)
	}
	if c.TimeZone == "" {
		c.TimeZone = "Europe/Moscow"
	}
	if c.Currency == "" {
		c.Currency = "RUB"
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return fmt.Errorf("googleadstest: customer %s time zone: %w", c.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.accounts[c.ID]; dup {
		return fmt.Errorf("googleadstest: customer %s already exists", c.ID)
	}
	s.accounts[c.ID] = &account{
		Customer: c, loc: loc,
		budgets: map[int64]*Budget{}, campaigns: map[int64]*Campaign{},
		adGroups: map[int64]*AdGroup{}, ads: map[int64]*Ad{},
		reviews: map[int64]review{}, rejects: map[string]AdsError{},
	}
	return nil
}

func (s *Server) acct(cid string) (*account, error) {
	a := s.accounts[cid]
	if a == nil {
		return nil, fmt.Errorf("googleadstest: no customer %s (AddCustomer first)", cid)
	}
	return a, nil
}

// AddBudget creates a campaign budget.
func (s *Server) AddBudget(cid string, b Budget) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.acct(cid)
	if err != nil {
		return err
	}
	if b.ID <= 0 {
		return fmt.Errorf("googleadstest: budget id %d must be positive", b.ID)
	}
	if b.Status == "" {
		b.Status = "ENABLED"
	}
	a.budgets[b.ID] = &b
	return nil
}

// AddCampaign creates a campaign. A missing budget is created with the
// campaign's id and amount 0 only if BudgetID is 0; otherwise it must exist.
func (s *Server) AddCampaign(cid string, c Campaign) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.acct(cid)
	if err != nil {
		return err
	}
	if c.ID <= 0 {
		return fmt.Errorf("googleadstest: campaign id %d must be positive", c.ID)
	}
	if c.BudgetID == 0 {
		c.BudgetID = c.ID
		if _, ok := a.budgets[c.ID]; !ok {
			a.budgets[c.ID] = &Budget{ID: c.ID, Status: "ENABLED"}
		}
	}
	if _, ok := a.budgets[c.BudgetID]; !ok {
		return fmt.Errorf("googleadstest: campaign %d: budget %d does not exist", c.ID, c.BudgetID)
	}
	if c.Status == "" {
		c.Status = "ENABLED"
	}
	if c.BiddingStrategyType == "" {
		c.BiddingStrategyType = "MANUAL_CPC"
	}
	if c.ChannelType == "" {
		c.ChannelType = "SEARCH"
	}
	a.campaigns[c.ID] = &c
	return nil
}

// AddAdGroup creates an ad group of an existing campaign.
func (s *Server) AddAdGroup(cid string, g AdGroup) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.acct(cid)
	if err != nil {
		return err
	}
	if _, ok := a.campaigns[g.CampaignID]; !ok || g.ID <= 0 {
		return fmt.Errorf("googleadstest: ad group %d: campaign %d does not exist or id not positive", g.ID, g.CampaignID)
	}
	if g.Status == "" {
		g.Status = "ENABLED"
	}
	a.adGroups[g.ID] = &g
	return nil
}

// AddAd creates an ad of an existing ad group. Empty Approval/Review start
// the ad under review (UNKNOWN / REVIEW_IN_PROGRESS).
func (s *Server) AddAd(cid string, ad Ad) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.acct(cid)
	if err != nil {
		return err
	}
	if _, ok := a.adGroups[ad.AdGroupID]; !ok || ad.ID <= 0 {
		return fmt.Errorf("googleadstest: ad %d: ad group %d does not exist or id not positive", ad.ID, ad.AdGroupID)
	}
	if ad.Status == "" {
		ad.Status = "ENABLED"
	}
	if ad.Approval == "" {
		ad.Approval = "UNKNOWN"
	}
	if ad.Review == "" {
		ad.Review = "REVIEW_IN_PROGRESS"
	}
	a.ads[ad.ID] = &ad
	return nil
}

// SetAdPolicy sets an ad's policy summary now (any enum text is allowed, so
// tests can send values a client does not know).
func (s *Server) SetAdPolicy(cid string, adID int64, approval, reviewStatus string, topics ...PolicyTopic) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.acct(cid)
	if err != nil {
		return err
	}
	ad := a.ads[adID]
	if ad == nil {
		return fmt.Errorf("googleadstest: no ad %d", adID)
	}
	ad.Approval, ad.Review, ad.Topics = approval, reviewStatus, topics
	delete(a.reviews, adID)
	return nil
}

// ScheduleReview puts an ad under review (REVIEW_IN_PROGRESS) until at,
// when it becomes REVIEWED with the given approval and topics (a later
// appeal is another ScheduleReview).
func (s *Server) ScheduleReview(cid string, adID int64, at time.Time, approval string, topics ...PolicyTopic) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.acct(cid)
	if err != nil {
		return err
	}
	ad := a.ads[adID]
	if ad == nil {
		return fmt.Errorf("googleadstest: no ad %d", adID)
	}
	if ad.Review != "UNDER_APPEAL" {
		ad.Review = "REVIEW_IN_PROGRESS"
	}
	a.reviews[adID] = review{at: at, approval: approval, topics: topics}
	return nil
}

// settleReviews applies due reviews; called with mu held.
func (a *account) settleReviews(now time.Time) {
	for id, r := range a.reviews {
		if now.Before(r.at) {
			continue
		}
		if ad := a.ads[id]; ad != nil {
			ad.Review, ad.Approval, ad.Topics = "REVIEWED", r.approval, r.topics
		}
		delete(a.reviews, id)
	}
}

// RejectOperation makes every mutate operation on resourceName fail with e
// (OpIndex is filled in) until ClearRejections.
func (s *Server) RejectOperation(cid, resourceName string, e AdsError) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.acct(cid)
	if err != nil {
		return err
	}
	a.rejects[resourceName] = e
	return nil
}

// ClearRejections removes RejectOperation rules of an account.
func (s *Server) ClearRejections(cid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[cid]; a != nil {
		a.rejects = map[string]AdsError{}
	}
}

// Campaign returns a copy of a campaign.
func (s *Server) Campaign(cid string, id int64) (Campaign, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[cid]; a != nil && a.campaigns[id] != nil {
		return *a.campaigns[id], true
	}
	return Campaign{}, false
}

// Budget returns a copy of a budget.
func (s *Server) Budget(cid string, id int64) (Budget, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[cid]; a != nil && a.budgets[id] != nil {
		return *a.budgets[id], true
	}
	return Budget{}, false
}

// AdGroup returns a copy of an ad group.
func (s *Server) AdGroup(cid string, id int64) (AdGroup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[cid]; a != nil && a.adGroups[id] != nil {
		return *a.adGroups[id], true
	}
	return AdGroup{}, false
}

// Ad returns a copy of an ad with due reviews applied.
func (s *Server) Ad(cid string, id int64) (Ad, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[cid]; a != nil && a.ads[id] != nil {
		a.settleReviews(s.opts.Now())
		ad := *a.ads[id]
		ad.Topics = append([]PolicyTopic(nil), ad.Topics...)
		return ad, true
	}
	return Ad{}, false
}

// OnMutate registers a callback run after every state-changing mutate
// (outside the server lock, so it may call getters).
func (s *Server) OnMutate(fn func(MutateEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onMutate = fn
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Calls returns the request counters.
func (s *Server) Calls() Calls {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// ResetCalls zeroes the request counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = Calls{}
}

// QuotaUsed is the number of operations counted in the last 24 hours.
func (s *Server) QuotaUsed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quotaUsedLocked(s.opts.Now())
}

// SetDailyOperations changes the quota cap (e.g. to an access level).
func (s *Server) SetDailyOperations(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.DailyOperations = n
}

func (s *Server) quotaUsedLocked(now time.Time) int {
	cut := now.Add(-24 * time.Hour)
	keep := s.quota[:0]
	used := 0
	for _, e := range s.quota {
		if e.at.After(cut) {
			keep = append(keep, e)
			used += e.n
		}
	}
	s.quota = keep
	return used
}

// chargeLocked counts n operations or reports that the cap is reached.
func (s *Server) chargeLocked(n int) bool {
	now := s.opts.Now()
	if s.quotaUsedLocked(now)+n > s.opts.DailyOperations {
		return false
	}
	s.quota = append(s.quota, quotaEntry{at: now, n: n})
	return true
}

func (s *Server) nextRequestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return "fake-req-" + strconv.Itoa(s.seq)
}

func (s *Server) quotaExhausted(w http.ResponseWriter, version string) {
	e := reqErr("quotaError", "RESOURCE_EXHAUSTED", "Too many requests. Retry in 86400 seconds.")
	e.RetryDelay = 24 * time.Hour
	s.writeError(w, version, s.opts.QuotaHTTPStatus, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", e)
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.faults.Latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if r.URL.Path == "/token" {
		s.handleToken(w, r)
		return
	}
	version, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || !versionRe.MatchString(version) {
		s.writeError(w, "", http.StatusNotFound, "", "The requested URL "+r.URL.Path+" was not found on this server.")
		return
	}
	if !s.versionAllowed(version) {
		s.reject()
		s.writeError(w, "", http.StatusBadRequest, "", "Version "+version+" is deprecated. Requests to this version will be blocked.",
			reqErr("requestError", "UNSUPPORTED_VERSION", "Version "+version+" is deprecated. Requests to this version will be blocked."))
		return
	}
	if r.Method != http.MethodPost && rest != "customers:listAccessibleCustomers" {
		s.writeError(w, version, http.StatusNotFound, "", "Method "+r.Method+" is not supported on "+r.URL.Path)
		return
	}
	if !s.authenticate(w, r, version) {
		return
	}
	if rest == "customers:listAccessibleCustomers" {
		s.handleListAccessible(w, version)
		return
	}
	cid, method, ok := strings.Cut(strings.TrimPrefix(rest, "customers/"), "/")
	if !ok || !strings.HasPrefix(rest, "customers/") {
		s.writeError(w, version, http.StatusNotFound, "", "The requested URL "+r.URL.Path+" was not found on this server.")
		return
	}
	a, ok := s.authorize(w, r, version, cid)
	if !ok {
		return
	}
	if !s.injectedFault(w, version) {
		return
	}
	switch method {
	case "googleAds:search":
		s.handleSearch(w, r, version, a, false)
	case "googleAds:searchStream":
		s.handleSearch(w, r, version, a, true)
	case "campaignBudgets:mutate", "campaigns:mutate", "adGroups:mutate":
		s.handleMutate(w, r, version, a, strings.TrimSuffix(method, ":mutate"))
	default:
		s.writeError(w, version, http.StatusNotFound, "", "The requested URL "+r.URL.Path+" was not found on this server.")
	}
}

func (s *Server) reject() {
	s.mu.Lock()
	s.calls.Rejected++
	s.mu.Unlock()
}

func (s *Server) versionAllowed(v string) bool {
	for _, x := range s.opts.Versions {
		if x == v {
			return true
		}
	}
	return false
}

// authenticate checks the bearer token and the developer-token header.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, version string) bool {
	authz := r.Header.Get("Authorization")
	tok, isBearer := strings.CutPrefix(authz, "Bearer ")
	if !isBearer || tok == "" {
		s.reject()
		s.writeError(w, version, http.StatusUnauthorized, "", "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
			reqErr("authenticationError", "OAUTH_TOKEN_HEADER_INVALID", "Oauth token HTTP header is malformed."))
		return false
	}
	s.mu.Lock()
	exp, known := s.access[tok]
	now := s.opts.Now()
	s.mu.Unlock()
	switch {
	case !known:
		s.reject()
		s.writeError(w, version, http.StatusUnauthorized, "", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
			reqErr("authenticationError", "OAUTH_TOKEN_INVALID", "Oauth token is invalid."))
		return false
	case !now.Before(exp):
		s.reject()
		s.writeError(w, version, http.StatusUnauthorized, "", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
			reqErr("authenticationError", "OAUTH_TOKEN_EXPIRED", "Oauth token is expired."))
		return false
	}
	dt := r.Header.Get("developer-token")
	switch s.opts.DeveloperTokenMode {
	case DevTokenRequire:
		if dt != s.opts.DeveloperToken {
			s.reject()
			s.writeError(w, version, http.StatusUnauthorized, "", "The developer token is not valid.",
				reqErr("authenticationError", "DEVELOPER_TOKEN_INVALID", "The developer token is not valid."))
			return false
		}
	case DevTokenReject:
		if dt != "" {
			s.reject()
			s.writeError(w, version, http.StatusBadRequest, "", "The developer-token header is no longer supported.",
				reqErr("requestError", "INVALID_INPUT", "The developer-token header is no longer supported; remove it."))
			return false
		}
	}
	return true
}

// authorize resolves the customer and applies the login-customer-id rules.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, version, cid string) (*account, bool) {
	if !customerIDRe.MatchString(cid) {
		s.reject()
		s.writeError(w, version, http.StatusBadRequest, "", "Invalid customer ID '"+cid+"'.",
			reqErr("requestError", "INVALID_CUSTOMER_ID", "Invalid customer ID '"+cid+"'."))
		return nil, false
	}
	login := r.Header.Get("login-customer-id")
	if login != "" && !customerIDRe.MatchString(login) {
		s.reject()
		s.writeError(w, version, http.StatusBadRequest, "", "Invalid login-customer-id header '"+login+"': digits only, no hyphens.",
			reqErr("requestError", "INVALID_CUSTOMER_ID", "Invalid login-customer-id header '"+login+"'."))
		return nil, false
	}
	s.mu.Lock()
	a := s.accounts[cid]
	s.mu.Unlock()
	const denied = "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's customer id must be set in the 'login-customer-id' header."
	switch {
	case a == nil,
		a.Manager != "" && login != a.Manager,
		a.Manager == "" && login != "" && login != cid:
		s.reject()
		s.writeError(w, version, http.StatusForbidden, "", "The caller does not have permission",
			reqErr("authorizationError", "USER_PERMISSION_DENIED", denied))
		return nil, false
	}
	return a, true
}

// injectedFault applies FailNext and BurstNext; false means answered.
func (s *Server) injectedFault(w http.ResponseWriter, version string) bool {
	s.mu.Lock()
	f := &s.faults
	var status int
	var burst time.Duration
	switch {
	case f.FailNext > 0:
		f.FailNext--
		status = f.FailStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
	case f.BurstNext > 0:
		f.BurstNext--
		burst = f.BurstRetryDelay
		if burst <= 0 {
			burst = time.Second
		}
	}
	if status != 0 || burst != 0 {
		s.calls.Rejected++
	}
	s.mu.Unlock()
	switch {
	case status != 0:
		name := statusName(status)
		s.writeError(w, version, status, "", "Internal error encountered.",
			reqErr("internalError", map[string]string{"INTERNAL": "INTERNAL_ERROR", "UNAVAILABLE": "TRANSIENT_ERROR", "DEADLINE_EXCEEDED": "DEADLINE_EXCEEDED"}[name], "An internal error has occurred."))
		return false
	case burst != 0:
		e := reqErr("quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED", "Too many requests. Retry in "+formatDuration(burst)+".")
		e.RetryDelay = burst
		s.writeError(w, version, http.StatusTooManyRequests, "", "Resource has been exhausted (e.g. check quota).", e)
		return false
	}
	return true
}

func (s *Server) handleListAccessible(w http.ResponseWriter, version string) {
	s.mu.Lock()
	s.calls.ListAccessible++
	ok := s.chargeLocked(1)
	names := make([]string, 0, len(s.accounts))
	for id := range s.accounts {
		names = append(names, "customers/"+id)
	}
	s.mu.Unlock()
	if !ok {
		s.quotaExhausted(w, version)
		return
	}
	sort.Strings(names)
	writeJSON(w, http.StatusOK, map[string]any{"resourceNames": names})
}
