// Package yandexdirect is adpacer's Yandex Direct API v5 connector: a JSON
// client that speaks the request/result/error envelope, accounts for points
// (Units), limits concurrency per advertiser, classifies error codes into
// retry / wait-for-accrual / terminal, reads campaigns, statistics (Reports
// TSV), today's spend and ad moderation (connectors.AdSource), and writes
// daily budgets, campaign-level bids and suspend/resume
// (pacing.Actuator). The fake it is tested against lives in
// yandexdirecttest.
//
// Ad moderation is read with the cheapest complete selection: the client
// remembers the ads it has seen (seeded after a restart from
// Options.KnownAds) and reads them by Ids, 10,000 per Ads.get, searching by
// CampaignIds (10 per call) only campaigns it has not covered yet and,
// every Config.AdsRediscovery, all of them.
package yandexdirect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/httpx"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

// Base URLs.
const (
	ProductionURL = "https://api.direct.yandex.com"
	SandboxURL    = "https://api-sandbox.direct.yandex.com"
)

// API versions in the URL path: v501 is needed for unified campaigns.
const (
	v5   = "v5"
	v501 = "v501"
)

// Config is the connector's configuration. ID is required; the rest have
// documented defaults.
type Config struct {
	// ID names this connector instance in config (e.g. "yandex-bank"). It
	// is the `connector` metrics label and part of alert keys: a few
	// configured ids, never a login.
	ID string
	// BaseURL: ProductionURL (default), SandboxURL or a fake's URL.
	BaseURL string
	// ClientLogin is the advertiser's login, sent as Client-Login (required
	// when the token belongs to an agency).
	ClientLogin string
	// UseOperatorUnits spends the agency's points instead of the client's.
	UseOperatorUnits bool
	// Language of error texts: en (default), ru or tr.
	Language string
	// Goals are Metrica goal ids whose conversions are summed into
	// Stat.Conversions (at most 10). Without goals conversions are 0.
	Goals []int64
	// AttributionModel for goal conversions (default LC).
	AttributionModel string
	// ReportZone is the zone in which report dates are days (default
	// Europe/Moscow, the zone Yandex Direct counts days in; configurable
	// because the notes mark report dating as unverified).
	ReportZone string
	// MaxInFlight requests per advertiser, 1..5 (default 5, the API limit).
	MaxInFlight int
	// Timeout per HTTP attempt (default 60s).
	Timeout time.Duration
	// MaxAttempts for transient envelope errors (506, 52, 1000-1002,
	// malformed bodies) per call (default 6).
	MaxAttempts int
	// BaseDelay and MaxDelay bound the jittered back-off (default 1s, 30s).
	BaseDelay, MaxDelay time.Duration
	// PointsReserve: no call starts while the last known remaining points
	// are below this; the client waits for the next accrual instead of
	// provoking error 152 (default 50).
	PointsReserve int64
	// MaxPointsWait bounds the time one call waits for points to accrue
	// before failing with ErrPointsExhausted (default 65m: one accrual
	// cycle plus margin, as the official example's delays).
	MaxPointsWait time.Duration
	// MaxReportWait bounds polling of an offline report (default 30m).
	MaxReportWait time.Duration
	// AdsInterval: when > 0, ad moderation is re-read only if the last
	// successful read is at least this old (Ads.get costs 15 points per
	// call plus 1 per ad); pulls in between return no Ads. 0 reads ads on
	// every pull.
	AdsInterval time.Duration
	// BidsInterval: campaign bids of manual-strategy campaigns are re-read
	// (KeywordBids.get, 10 campaigns per call) only this often; between
	// reads the pull reports the last read value, kept current by Apply's
	// own writes (default 1h).
	BidsInterval time.Duration
	// AdsRediscovery is how often every live campaign's ads are selected
	// by CampaignIds (one Ads.get per 10 campaigns) to find ads created in
	// campaigns already known; in between, known ads are read by Ids (one
	// Ads.get per 10,000 ads) and only new campaigns are searched
	// (default 24h).
	AdsRediscovery time.Duration
	// RestatementDays is how many closed days are re-read when a pull
	// request has no StatsFrom (default 3: statistics settle in ~3 days).
	RestatementDays int
}

// Options carry the collaborators; all are optional.
type Options struct {
	Registerer prometheus.Registerer
	// HTTPMetrics shares httpx collectors between several clients.
	HTTPMetrics *httpx.Metrics
	Logger      *zap.Logger
	// Transport under httpx (tests use the fake's; default
	// http.DefaultTransport).
	Transport http.RoundTripper
	// Clock for back-off, accrual waits, report polling and day
	// boundaries (default the system clock).
	Clock httpx.Clock
	// Rand in [0,1) for jitter (default math/rand/v2).
	Rand func() float64
	// Edits persists the daily-budget edit count per campaign and Moscow
	// day (default: in memory, lost on restart; the daemon passes the store).
	Edits EditLedger
	// KnownAds seeds the ad index on the first pull after a restart so it
	// reads known ads by Ids at once instead of rediscovering every
	// campaign (the daemon passes its store's AdStatuses). Without it, or
	// when it fails, the first pull discovers ads by campaign.
	KnownAds KnownAdsFunc
}

// Client talks to one advertiser account.
type Client struct {
	cfg    Config
	base   *url.URL
	ts     oauth2.TokenSource
	http   *httpx.Client
	clock  httpx.Clock
	rnd    func() float64
	log    *zap.Logger
	zone   *time.Location
	moscow *time.Location
	sem    chan struct{}
	edits  EditLedger
	m      *metrics
	points pointsState

	knownAds KnownAdsFunc
	adIdx    adIndex
	bids     bidCache

	alertMu sync.Mutex
	alerts  map[string]adpacer.Alert
}

type pointsState struct {
	mu    sync.Mutex
	known bool // a Units header was seen
	// stale: we waited for an accrual since the last header, so the
	// balance is unknown until the next response.
	stale       bool
	remaining   int64
	limit       int64
	lastAccrual time.Time
}

// New validates cfg and builds a client. ts supplies OAuth access tokens
// (the daemon passes internal/oauthx's persisting source; tests
// oauth2.StaticTokenSource).
func New(cfg Config, ts oauth2.TokenSource, opts Options) (*Client, error) {
	if cfg.ID == "" {
		return nil, errors.New("yandexdirect: Config.ID is required (the connector id from config, used in metrics and alert keys)")
	}
	if ts == nil {
		return nil, fmt.Errorf("yandexdirect %s: a token source is required", cfg.ID)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = ProductionURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("yandexdirect %s: BaseURL %q must be an absolute http(s) URL such as %s", cfg.ID, cfg.BaseURL, ProductionURL)
	}
	if cfg.Language == "" {
		cfg.Language = "en"
	}
	switch cfg.Language {
	case "en", "ru", "tr":
	default:
		return nil, fmt.Errorf("yandexdirect %s: Language %q must be en, ru or tr", cfg.ID, cfg.Language)
	}
	if len(cfg.Goals) > 10 {
		return nil, fmt.Errorf("yandexdirect %s: Goals has %d ids; Reports accepts at most 10", cfg.ID, len(cfg.Goals))
	}
	if cfg.AttributionModel == "" {
		cfg.AttributionModel = "LC"
	}
	switch cfg.AttributionModel {
	case "FC", "LC", "LSC", "LYDC", "FCCD", "LSCCD", "LYDCCD", "AUTO":
	default:
		return nil, fmt.Errorf("yandexdirect %s: AttributionModel %q must be one of FC, LC, LSC, LYDC, FCCD, LSCCD, LYDCCD, AUTO", cfg.ID, cfg.AttributionModel)
	}
	if cfg.ReportZone == "" {
		cfg.ReportZone = "Europe/Moscow"
	}
	zone, err := loadZone(cfg.ReportZone)
	if err != nil {
		return nil, fmt.Errorf("yandexdirect %s: ReportZone: %w", cfg.ID, err)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 5
	}
	if cfg.MaxInFlight < 1 || cfg.MaxInFlight > 5 {
		return nil, fmt.Errorf("yandexdirect %s: MaxInFlight %d must be 1..5 (the API allows 5 per advertiser)", cfg.ID, cfg.MaxInFlight)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, 60*time.Second)
	def(&cfg.BaseDelay, time.Second)
	def(&cfg.MaxDelay, 30*time.Second)
	def(&cfg.MaxPointsWait, 65*time.Minute)
	def(&cfg.MaxReportWait, 30*time.Minute)
	def(&cfg.AdsRediscovery, 24*time.Hour)
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.PointsReserve == 0 {
		cfg.PointsReserve = 50
	}
	if cfg.BidsInterval == 0 {
		cfg.BidsInterval = time.Hour
	}
	if cfg.RestatementDays == 0 {
		cfg.RestatementDays = 3
	}
	switch {
	case cfg.Timeout < 0 || cfg.AdsInterval < 0 || cfg.BidsInterval < 0 || cfg.BaseDelay < 0 || cfg.MaxDelay < cfg.BaseDelay || cfg.MaxPointsWait < 0 || cfg.MaxReportWait < 0:
		return nil, fmt.Errorf("yandexdirect %s: durations must be positive and BaseDelay <= MaxDelay", cfg.ID)
	case cfg.AdsRediscovery < time.Minute:
		return nil, fmt.Errorf("yandexdirect %s: AdsRediscovery %s must be at least 1m (default 24h; it bounds how late an ad added to a known campaign is seen)", cfg.ID, cfg.AdsRediscovery)
	case cfg.MaxAttempts < 1 || cfg.MaxAttempts > 20:
		return nil, fmt.Errorf("yandexdirect %s: MaxAttempts %d must be 1..20", cfg.ID, cfg.MaxAttempts)
	case cfg.PointsReserve < 0:
		return nil, fmt.Errorf("yandexdirect %s: PointsReserve must not be negative", cfg.ID)
	case cfg.RestatementDays < 1 || cfg.RestatementDays > 60:
		return nil, fmt.Errorf("yandexdirect %s: RestatementDays %d must be 1..60", cfg.ID, cfg.RestatementDays)
	}
	if opts.Clock == nil {
		opts.Clock = httpx.SystemClock{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Edits == nil {
		opts.Edits = NewMemoryEditLedger()
	}
	msk, err := loadZone("Europe/Moscow")
	if err != nil {
		return nil, fmt.Errorf("yandexdirect %s: %w", cfg.ID, err)
	}
	hc, err := httpx.New(httpx.Options{
		Name:        "yandex_direct",
		Timeout:     cfg.Timeout,
		MaxAttempts: 3,
		BaseDelay:   cfg.BaseDelay,
		MaxDelay:    cfg.MaxDelay,
		Registerer:  opts.Registerer,
		Metrics:     opts.HTTPMetrics,
		Logger:      opts.Logger,
		Transport:   opts.Transport,
		Clock:       opts.Clock,
		Classify:    classifyTransport,
		Rand:        opts.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("yandexdirect %s: %w", cfg.ID, err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("yandexdirect %s: metrics: %w", cfg.ID, err)
	}
	return &Client{
		cfg: cfg, base: base, ts: ts, http: hc, clock: opts.Clock, rnd: opts.Rand,
		log: opts.Logger.With(zap.String("connector", cfg.ID)), zone: zone, moscow: msk,
		sem: make(chan struct{}, cfg.MaxInFlight), edits: opts.Edits, m: m, knownAds: opts.KnownAds,
		alerts: map[string]adpacer.Alert{},
	}, nil
}

// moscowFixed is used when the host has no tzdata: Moscow has been UTC+3
// without DST since 2014.
var moscowFixed = time.FixedZone("MSK", 3*60*60)

func loadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err == nil {
		return loc, nil
	}
	if name == "Europe/Moscow" {
		return moscowFixed, nil
	}
	return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Moscow): %w", name, err)
}

// Invalidator is implemented by token sources that can drop their cached
// access token so the next Token call refreshes it. When the source
// implements it, error 53 triggers one refresh and one repeat before the
// call fails.
type Invalidator interface {
	Invalidate()
}

type readKey struct{}

// reportKey marks Reports requests, whose every retry report() decides.
type reportKey struct{}

// classifyTransport decides transport-level retries: reads (get) are safe
// to resend on any transport error or 5xx; writes only when the connection
// was never made or the server refused with 503/429. Reports requests are
// never resent here: the Reports lifecycle is stateful (a 500 means the
// build failed and is restarted from step 1 at most once, api-notes §1.9),
// and httpx resending underneath report()'s own loop multiplied every
// restart by its attempts (a failing report was sent 9 times instead of 2).
func classifyTransport(req *http.Request, resp *http.Response, err error) httpx.Decision {
	if rep, _ := req.Context().Value(reportKey{}).(bool); rep {
		return httpx.Decision{}
	}
	read, _ := req.Context().Value(readKey{}).(bool)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return httpx.Decision{}
		}
		if read {
			return httpx.Decision{Retry: true}
		}
		var op *net.OpError
		return httpx.Decision{Retry: errors.As(err, &op) && op.Op == "dial"}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return httpx.Decision{Retry: true}
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return httpx.Decision{Retry: read}
	}
	return httpx.Decision{}
}

// Platform implements connectors.AdSource and pacing.Actuator.
func (c *Client) Platform() adpacer.Platform { return adpacer.YandexDirect }

// Points returns the last observed points remaining and daily limit
// (ok=false before the first response).
func (c *Client) Points() (remaining, limit int64, ok bool) {
	c.points.mu.Lock()
	defer c.points.mu.Unlock()
	return c.points.remaining, c.points.limit, c.points.known
}

// Alerts returns the conditions a person must act on (revoked token, lost
// API access), level-based: an entry disappears after the next successful
// call. The cycle turns them into alert cards.
func (c *Client) Alerts() []adpacer.Alert {
	c.alertMu.Lock()
	defer c.alertMu.Unlock()
	out := make([]adpacer.Alert, 0, len(c.alerts))
	for _, a := range c.alerts {
		out = append(out, a)
	}
	return out
}

// raiseReportFailed records that Reports failed to build a report twice:
// api-notes §1.9 says to stop and alert, since repeating cannot fix a
// build the server keeps failing. Like the others the alert clears after
// the next successful call.
func (c *Client) raiseReportFailed(e *APIError) {
	a := adpacer.Alert{
		Key:      "yandex_direct:report_failed:" + c.cfg.ID,
		Severity: adpacer.SeverityWarning,
		Kind:     "connector_report_failed",
		Title:    "Yandex Direct reports keep failing for connector " + c.cfg.ID,
		Detail: fmt.Sprintf("Reports answered HTTP %d (error %d %s) to a report and to its restart, so this account's statistics and today's spend are stale until a pull succeeds. "+
			"If it persists, send Yandex Direct support the request id %s.", e.HTTPStatus, e.Code, e.String, e.RequestID),
		Fingerprint: strconv.Itoa(e.Code),
	}
	c.alertMu.Lock()
	c.alerts[a.Key] = a
	c.alertMu.Unlock()
}

func (c *Client) raise(e *APIError) {
	cls := classify(e.Code)
	a := adpacer.Alert{
		Key:      "yandex_direct:" + cls.String() + ":" + c.cfg.ID,
		Severity: adpacer.SeverityCritical,
		Kind:     "connector_" + cls.String(),
	}
	switch cls {
	case classAuth:
		a.Title = "Yandex Direct token revoked for connector " + c.cfg.ID
		a.Detail = "The API answered error 53 (invalid or revoked OAuth token). Re-authorise adpacer in Yandex ID; pulls and writes for this account are stopped until then."
	default:
		a.Title = "Yandex Direct access lost for connector " + c.cfg.ID
		a.Detail = fmt.Sprintf("The API answered error %d (%s). A person must restore access (API application approval, agency rights, Client-Login); retrying cannot fix it.", e.Code, e.String)
	}
	a.Fingerprint = strconv.Itoa(e.Code)
	c.alertMu.Lock()
	c.alerts[a.Key] = a
	c.alertMu.Unlock()
}

func (c *Client) clearAlerts() {
	c.alertMu.Lock()
	if len(c.alerts) > 0 {
		c.alerts = map[string]adpacer.Alert{}
	}
	c.alertMu.Unlock()
}

// acquire takes a slot of the per-advertiser concurrency limit.
func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) release() { <-c.sem }

func (c *Client) url(version, service string) string {
	return c.base.String() + "/json/" + version + "/" + service
}

// newRequest builds a POST with the API headers. The token never appears
// in errors: only the header carries it.
func (c *Client) newRequest(ctx context.Context, rawURL string, body []byte, read bool) (*http.Request, error) {
	tok, err := c.ts.Token()
	if err != nil {
		// oauthx marks invalid_grant terminal: a person must issue a new
		// refresh token, so it raises the same alert as error 53.
		if adpacer.IsTerminal(err) {
			c.raise(&APIError{Code: 53, String: "refresh token revoked"})
		}
		return nil, fmt.Errorf("yandexdirect %s: OAuth token: %w", c.cfg.ID, err)
	}
	ctx = context.WithValue(ctx, readKey{}, read)
	req, err := httpx.NewJSONRequest(ctx, http.MethodPost, rawURL, body)
	if err != nil {
		return nil, fmt.Errorf("yandexdirect %s: build request: %w", c.cfg.ID, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept-Language", c.cfg.Language)
	if c.cfg.ClientLogin != "" {
		req.Header.Set("Client-Login", c.cfg.ClientLogin)
	}
	if c.cfg.UseOperatorUnits {
		req.Header.Set("Use-Operator-Units", "true")
	}
	return req, nil
}

// observeUnits parses "spent/remaining/limit" and records it. A remaining
// balance higher than the previous one minus this call's cost means an
// accrual happened: the advertiser's hourly schedule is learnt from it.
func (c *Client) observeUnits(service, method, h string) {
	if h == "" {
		return
	}
	spent, remaining, limit, ok := ParseUnits(h)
	if !ok {
		c.log.Warn("unparsable Units header", zap.String("service", service), zap.String("method", method))
		return
	}
	c.m.spent.WithLabelValues(service, method).Observe(float64(spent))
	c.m.remaining.WithLabelValues(c.cfg.ID).Set(float64(remaining))
	c.m.limit.WithLabelValues(c.cfg.ID).Set(float64(limit))
	now := c.clock.Now()
	c.points.mu.Lock()
	// An accrual adds limit/24; requiring half of that filters out the
	// small apparent increases of responses to concurrent calls arriving
	// out of order.
	if c.points.known && limit >= 48 && remaining-(c.points.remaining-spent) >= limit/48 {
		c.points.lastAccrual = now
	}
	c.points.known, c.points.stale, c.points.remaining, c.points.limit = true, false, remaining, limit
	c.points.mu.Unlock()
}

// ParseUnits parses the Units header "spent/remaining/daily_limit".
func ParseUnits(h string) (spent, remaining, limit int64, ok bool) {
	parts := strings.Split(strings.TrimSpace(h), "/")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var v [3]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || n < 0 {
			return 0, 0, 0, false
		}
		v[i] = n
	}
	return v[0], v[1], v[2], true
}

// officialDelays are the waits of Yandex's own error-152 example: five
// retries spread over the next hour.
var officialDelays = []time.Duration{360 * time.Second, 540 * time.Second, 720 * time.Second, 900 * time.Second, 1080 * time.Second}

// pointsWait sleeps until the next expected accrual. waited accumulates
// across the waits of one call and bounds them by MaxPointsWait.
func (c *Client) pointsWait(ctx context.Context, n int, waited *time.Duration) error {
	now := c.clock.Now()
	c.points.mu.Lock()
	last := c.points.lastAccrual
	c.points.mu.Unlock()
	var d time.Duration
	if !last.IsZero() {
		// The advertiser's schedule is known: sleep just past the next tick.
		next := last.Add(time.Hour + 30*time.Second)
		for !next.After(now) {
			next = next.Add(time.Hour)
		}
		d = next.Sub(now)
	} else {
		d = officialDelays[min(n, len(officialDelays)-1)]
	}
	if *waited+d > c.cfg.MaxPointsWait {
		return &PointsError{RetryAt: now.Add(d)}
	}
	*waited += d
	c.m.pointsWaits.WithLabelValues(c.cfg.ID).Inc()
	c.log.Info("waiting for Yandex Direct points to accrue", zap.Duration("wait", d))
	return c.clock.Sleep(ctx, d)
}

// throttle waits before a call when the last known balance is below the
// reserve, so the client never spends the allowance down to error 152.
func (c *Client) throttle(ctx context.Context, n *int, waited *time.Duration) error {
	for {
		c.points.mu.Lock()
		low := c.points.known && !c.points.stale && c.points.remaining < c.cfg.PointsReserve
		c.points.mu.Unlock()
		if !low {
			return nil
		}
		if err := c.pointsWait(ctx, *n, waited); err != nil {
			return err
		}
		*n++
		c.markStale()
	}
}

// markStale: after waiting for an accrual only a call can tell the new
// balance, so the next call is allowed to probe.
func (c *Client) markStale() {
	c.points.mu.Lock()
	c.points.stale = true
	c.points.mu.Unlock()
}

type envelopeResp struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		RequestID   string `json:"request_id"`
		ErrorCode   int    `json:"error_code"`
		ErrorString string `json:"error_string"`
		ErrorDetail string `json:"error_detail"`
	} `json:"error"`
}

// DecodeEnvelope decodes a main-API response body: the result, or an
// *APIError for an error envelope. Exported for fuzzing and reuse.
func DecodeEnvelope(body []byte) (json.RawMessage, *APIError, error) {
	var env envelopeResp
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.Error != nil {
		return nil, &APIError{Code: env.Error.ErrorCode, String: env.Error.ErrorString,
			Detail: env.Error.ErrorDetail, RequestID: env.Error.RequestID}, nil
	}
	if len(env.Result) == 0 || string(env.Result) == "null" {
		return nil, nil, fmt.Errorf("%w: neither result nor error in the body", ErrMalformed)
	}
	return env.Result, nil, nil
}

const maxBody = 64 << 20

// call sends one API method and decodes the result into out, applying the
// retry policy of api-notes §1.4.
func (c *Client) call(ctx context.Context, version, service, method string, params, out any) error {
	read := method == "get"
	body, err := json.Marshal(map[string]any{"method": method, "params": params})
	if err != nil {
		return fmt.Errorf("yandexdirect %s: encode %s.%s: %w", c.cfg.ID, service, method, err)
	}
	var waited time.Duration
	pointsWaits := 0
	reauthorised := false
	for attempt := 0; ; {
		if err := c.throttle(ctx, &pointsWaits, &waited); err != nil {
			return fmt.Errorf("yandexdirect %s: %s.%s: %w", c.cfg.ID, service, method, err)
		}
		raw, apiErr, err := c.roundTrip(ctx, version, service, method, body, read)
		if err == nil && apiErr == nil {
			c.clearAlerts()
			if out != nil {
				if err := json.Unmarshal(raw, out); err != nil {
					return fmt.Errorf("yandexdirect %s: %s.%s: %w: %v", c.cfg.ID, service, method, ErrMalformed, err)
				}
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("yandexdirect %s: %s.%s: %w", c.cfg.ID, service, method, ctx.Err())
		}
		var retry bool
		var delay time.Duration
		if apiErr != nil {
			cls := classify(apiErr.Code)
			c.m.errors.WithLabelValues(cls.String()).Inc()
			switch cls {
			case classPoints:
				if err := c.pointsWait(ctx, pointsWaits, &waited); err != nil {
					return fmt.Errorf("yandexdirect %s: %s.%s: %w", c.cfg.ID, service, method, err)
				}
				pointsWaits++
				c.markStale()
				continue // waiting for points is not a failed attempt
			case classConcurrency:
				retry = true
				// 1-5 s with jitter, as the notes advise for 506.
				delay = time.Second + time.Duration(c.rnd()*float64(4*time.Second))
			case classTransient, classRateLimited:
				retry = read || safeToResendWrite(apiErr.Code)
			case classAuth:
				// Refresh the token once, then fail (api-notes §1.4): only
				// possible when the source can drop its cached token.
				if inv, ok := c.ts.(Invalidator); ok && !reauthorised {
					reauthorised = true
					inv.Invalidate()
					continue
				}
				c.raise(apiErr)
				return adpacer.Terminal(apiErr)
			case classNoAccess:
				c.raise(apiErr)
				return adpacer.Terminal(apiErr)
			default:
				// A malformed request is never resent (api-notes §1.4).
				return adpacer.Terminal(apiErr)
			}
			err = apiErr
		} else {
			if adpacer.IsTerminal(err) {
				return err // e.g. the token source reports a revoked refresh token
			}
			retry = read // transport error or undecodable body
		}
		attempt++
		if !retry || attempt >= c.cfg.MaxAttempts {
			return err
		}
		if delay == 0 {
			delay = httpx.Backoff(attempt-1, c.cfg.BaseDelay, c.cfg.MaxDelay, c.rnd)
		}
		c.log.Debug("retrying Yandex Direct call", zap.String("service", service), zap.String("method", method),
			zap.Int("attempt", attempt), zap.Duration("delay", delay), zap.Error(err))
		if err := c.clock.Sleep(ctx, delay); err != nil {
			return fmt.Errorf("yandexdirect %s: %s.%s: %w", c.cfg.ID, service, method, err)
		}
	}
}

// roundTrip sends one request under the concurrency limit and decodes the
// envelope on every HTTP status (errors may come with 200).
func (c *Client) roundTrip(ctx context.Context, version, service, method string, body []byte, read bool) (json.RawMessage, *APIError, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, nil, err
	}
	defer c.release()
	c.m.calls.WithLabelValues(service, method).Inc()
	req, err := c.newRequest(ctx, c.url(version, service), body, read)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return nil, nil, fmt.Errorf("yandexdirect %s: %s.%s: %w", c.cfg.ID, service, method, err)
	}
	c.observeUnits(service, method, resp.Header.Get("Units"))
	b, err := httpx.ReadBody(resp, maxBody)
	if err != nil {
		return nil, nil, fmt.Errorf("yandexdirect %s: %s.%s: %w", c.cfg.ID, service, method, err)
	}
	raw, apiErr, err := DecodeEnvelope(b)
	if err != nil {
		return nil, nil, fmt.Errorf("yandexdirect %s: %s.%s (HTTP %d): %w", c.cfg.ID, service, method, resp.StatusCode, err)
	}
	if apiErr != nil {
		apiErr.Service, apiErr.Method, apiErr.HTTPStatus = service, method, resp.StatusCode
		if apiErr.RequestID == "" {
			apiErr.RequestID = resp.Header.Get("RequestId")
		}
		return nil, apiErr, nil
	}
	return raw, nil, nil
}

// Result of batch methods: one ActionResult per input item, in order.
type actionResult struct {
	ID       *int64   `json:"Id"`
	Warnings []notice `json:"Warnings"`
	Errors   []notice `json:"Errors"`
}

type notice struct {
	Code    int    `json:"Code"`
	Message string `json:"Message"`
	Details string `json:"Details"`
}

func (r actionResult) err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	e := r.Errors[0]
	return &ItemError{Code: e.Code, Message: e.Message, Details: e.Details}
}
