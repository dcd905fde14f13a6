// Package vkads is adpacer's VK Ads (ads.vk.com, formerly myTarget) API v2
// connector (api-notes §5). It reads ad plans (VK's campaigns), their daily
// statistics and today's running spend per Moscow day
// (connectors.AdSource), and writes daily budgets and active/blocked status
// through mass_action (pacing.Actuator). Tokens come from the client
// credentials (or agency client credentials) grant, are refreshed with the
// refresh token and persisted, because VK allows only five live tokens per
// client and user. Every call goes through internal/httpx (per-attempt
// timeout, jittered retries) and honours VK's per-second, per-hour and
// per-day limits from the X-RateLimit-* headers. The fake it is tested
// against lives in vkadstest.
package vkads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/httpx"
	"github.com/adpacer/adpacer/internal/oauthx"
)

// ProductionURL is the API host (ads.vk.ru and target.my.com are aliases).
const ProductionURL = "https://ads.vk.com"

// MaxBatch is VK's limit of objects per mass_action and per statistics
// request (api-notes §5).
const MaxBatch = 200

// Endpoint names: the `endpoint` metrics label and the prefix of API errors.
const (
	endpointAdPlans    = "ad_plans"
	endpointMassAction = "mass_action"
	endpointStatistics = "statistics"
	endpointToken      = "token"
)

const maxBody = 32 << 20

// Config is the connector's configuration. ID, ClientID and ClientSecret
// are required; the rest have documented defaults.
type Config struct {
	// ID names this connector instance (the config id): the `connector`
	// metrics label and the key of the persisted token.
	ID string
	// BaseURL defaults to ProductionURL; tests point it at the fake.
	BaseURL string
	// ClientID and ClientSecret are the API access of the VK Ads account
	// (or of the agency). ClientSecret never appears in errors, logs,
	// metrics or String().
	ClientID     string
	ClientSecret string
	// AgencyClientName, when set, requests agency_client_credentials
	// tokens for this client of the agency (an agency's own token cannot
	// read its clients' ad plans). See Account.
	AgencyClientName string
	// Timeout per HTTP attempt (default 60s).
	Timeout time.Duration
	// MaxAttempts per request for transient failures (default 4).
	MaxAttempts int
	// BaseDelay and MaxDelay bound the jittered back-off (default 500ms, 30s).
	BaseDelay, MaxDelay time.Duration
	// MaxRateWait is the longest a call waits for a spent rate-limit window
	// to open (default 2m). A longer wait (the hourly or daily window)
	// fails the call with ErrRateLimited, leaving it to the next cycle,
	// and later calls fail fast until the window opens.
	MaxRateWait time.Duration
	// MinDailyBudget is VK's lowest daily budget (default 300 rubles, net
	// of VAT). A set_daily_budget below it fails without a call.
	MinDailyBudget adpacer.Micros
	// RestatementDays is how many closed days are re-read when a pull
	// request has no StatsFrom (default 3).
	RestatementDays int
	// MaxStatsDays is how far back statistics reach (default 366 days;
	// the partner API says 92, so it is configurable).
	MaxStatsDays int
	// PageLimit is the list page size (default 250).
	PageLimit int
}

// Account is the campaigns' AccountID, by which the daemon routes a
// campaign to its connector instance: the agency's client when tokens are
// for one, else the account's own client_id (so two own-account instances
// stay apart).
func (c Config) Account() string {
	if c.AgencyClientName != "" {
		return c.AgencyClientName
	}
	return c.ClientID
}

// String prints the configuration with the secret redacted.
func (c Config) String() string {
	secret := ""
	if c.ClientSecret != "" {
		secret = "REDACTED"
	}
	return fmt.Sprintf("vkads.Config{ID:%q BaseURL:%q ClientID:%q ClientSecret:%s AgencyClientName:%q Timeout:%s MaxRateWait:%s MinDailyBudget:%s}",
		c.ID, c.BaseURL, c.ClientID, secret, c.AgencyClientName, c.Timeout, c.MaxRateWait, c.MinDailyBudget)
}

// GoString keeps %#v from printing the secret.
func (c Config) GoString() string { return c.String() }

// Options carry the collaborators; all are optional.
type Options struct {
	Registerer prometheus.Registerer
	// HTTPMetrics shares httpx collectors between clients.
	HTTPMetrics *httpx.Metrics
	Logger      *zap.Logger
	// Transport under httpx (default http.DefaultTransport).
	Transport http.RoundTripper
	// Clock for back-off, rate-limit waits, token expiry and Moscow days
	// (default the system clock).
	Clock httpx.Clock
	// Rand in [0,1) for jitter (default math/rand/v2).
	Rand func() float64
	// Tokens persists the token across restarts (the daemon passes its
	// store). Without it a restart requests a new token, taking one of the
	// five slots VK allows per client and user.
	Tokens oauthx.TokenStore
	// TokenExpiry receives the access token's expiry per connector id
	// (oauthx.NewExpiryGauge).
	TokenExpiry *prometheus.GaugeVec
}

// Client talks to one VK Ads account (or one client of an agency).
type Client struct {
	cfg    Config
	base   string
	http   *httpx.Client
	tokens *tokenSource
	clock  httpx.Clock
	rnd    func() float64
	log    *zap.Logger
	m      *metrics
	moscow *time.Location

	rateMu     sync.Mutex
	rateUntil  time.Time // no call before this instant: a window is spent
	rateWindow string
}

// Account is Config.Account of the client's configuration.
func (c *Client) Account() string { return c.cfg.Account() }

// New validates cfg and builds a client. Every problem is reported at once.
func New(cfg Config, opts Options) (*Client, error) {
	var problems []string
	if cfg.ID == "" {
		problems = append(problems, "ID is required (the connector id from config)")
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		problems = append(problems, "ClientID is empty: copy client_id from VK Ads (Settings, API access)")
	}
	if cfg.ClientSecret == "" {
		problems = append(problems, "ClientSecret is empty: set client_secret_file (the secret shown with the client_id)")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = ProductionURL
	}
	if u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/")); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		problems = append(problems, fmt.Sprintf("BaseURL %q must be an absolute http(s) URL without credentials, such as %s", cfg.BaseURL, ProductionURL))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, 60*time.Second)
	def(&cfg.BaseDelay, 500*time.Millisecond)
	def(&cfg.MaxDelay, 30*time.Second)
	def(&cfg.MaxRateWait, 2*time.Minute)
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.MinDailyBudget == 0 {
		cfg.MinDailyBudget = adpacer.FromUnits(300)
	}
	if cfg.RestatementDays == 0 {
		cfg.RestatementDays = 3
	}
	if cfg.MaxStatsDays == 0 {
		cfg.MaxStatsDays = 366
	}
	if cfg.PageLimit == 0 {
		cfg.PageLimit = 250
	}
	if cfg.Timeout < 0 || cfg.BaseDelay < 0 || cfg.MaxDelay < cfg.BaseDelay || cfg.MaxRateWait < 0 {
		problems = append(problems, "durations must be positive and BaseDelay <= MaxDelay")
	}
	if cfg.MaxAttempts < 1 || cfg.MaxAttempts > 20 {
		problems = append(problems, fmt.Sprintf("MaxAttempts %d must be 1..20", cfg.MaxAttempts))
	}
	if cfg.MinDailyBudget < 0 {
		problems = append(problems, "MinDailyBudget must not be negative")
	}
	if cfg.RestatementDays < 1 || cfg.RestatementDays > 60 {
		problems = append(problems, fmt.Sprintf("RestatementDays %d must be 1..60", cfg.RestatementDays))
	}
	if cfg.MaxStatsDays < 1 || cfg.MaxStatsDays > 366 {
		problems = append(problems, fmt.Sprintf("MaxStatsDays %d must be 1..366", cfg.MaxStatsDays))
	}
	if cfg.PageLimit < 1 || cfg.PageLimit > 1000 {
		problems = append(problems, fmt.Sprintf("PageLimit %d must be 1..1000", cfg.PageLimit))
	}
	if len(problems) > 0 {
		name := cfg.ID
		if name == "" {
			name = "(no id)"
		}
		return nil, fmt.Errorf("vk ads %s: invalid config: %s", name, strings.Join(problems, "; "))
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
	log := opts.Logger.With(zap.String("connector", cfg.ID))
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("vk ads %s: metrics: %w", cfg.ID, err)
	}
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), clock: opts.Clock, rnd: opts.Rand, log: log, m: m, moscow: moscowZone()}
	c.http, err = httpx.New(httpx.Options{
		Name: string(adpacer.VKAds), Timeout: cfg.Timeout, MaxAttempts: cfg.MaxAttempts,
		BaseDelay: cfg.BaseDelay, MaxDelay: cfg.MaxDelay,
		// A rate-limit wait decided by classify must not be cut short by
		// httpx's clamp, or the retry would land in the spent window.
		MaxRetryAfter: cfg.MaxRateWait + 10*time.Second,
		Registerer:    opts.Registerer, Metrics: opts.HTTPMetrics, Logger: log,
		Transport: opts.Transport, Clock: opts.Clock, Classify: c.classify, Rand: opts.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("vk ads %s: %w", cfg.ID, err)
	}
	// The token endpoint gets its own client: its POSTs are not safe to
	// resend blindly (each may take one of the five token slots), which
	// httpx's default classification respects.
	tokenHTTP, err := httpx.New(httpx.Options{
		Name: "oauth", Timeout: 30 * time.Second, MaxAttempts: 3, Registerer: opts.Registerer, Metrics: opts.HTTPMetrics,
		Logger: log, Transport: opts.Transport, Clock: opts.Clock, Rand: opts.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("vk ads %s: %w", cfg.ID, err)
	}
	c.tokens = &tokenSource{
		name: tokenName(cfg.ID, cfg.ClientID, cfg.AgencyClientName), id: cfg.ID,
		clientID: cfg.ClientID, secret: cfg.ClientSecret, agencyName: cfg.AgencyClientName,
		url: c.base + tokenPath, http: tokenHTTP, store: opts.Tokens, now: opts.Clock.Now,
		early: 5 * time.Minute, expiry: opts.TokenExpiry, log: log,
		requests: m.requests.WithLabelValues(endpointToken), tokenErrors: m.errors.WithLabelValues("token"),
	}
	return c, nil
}

// moscowZone is Europe/Moscow, or UTC+3 when the host has no tzdata
// (Moscow has had no daylight saving since 2014).
func moscowZone() *time.Location {
	if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return loc
	}
	return time.FixedZone("MSK", 3*60*60)
}

// Platform implements connectors.AdSource and pacing.Actuator.
func (c *Client) Platform() adpacer.Platform { return adpacer.VKAds }

// observeRate reads the X-RateLimit-*-Remaining headers of a response.
// A window at zero blocks calls until it opens: the next second, the next
// hour, or the next Moscow day [INF: api-notes §5 retry].
func (c *Client) observeRate(h http.Header, now time.Time) {
	windows := [...]struct{ name, header string }{{"rps", "RPS"}, {"hourly", "Hourly"}, {"daily", "Daily"}}
	for _, w := range windows {
		v := strings.TrimSpace(h.Get("X-RateLimit-" + w.header + "-Remaining"))
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		c.m.remaining.WithLabelValues(c.cfg.ID, w.name).Set(float64(n))
		if n > 0 {
			continue
		}
		b := c.boundary(w.name, now)
		c.rateMu.Lock()
		if b.After(c.rateUntil) {
			c.rateUntil, c.rateWindow = b, w.name
		}
		c.rateMu.Unlock()
	}
}

// boundary is the start of the next window after now.
func (c *Client) boundary(window string, now time.Time) time.Time {
	switch window {
	case "rps":
		return now.Truncate(time.Second).Add(time.Second)
	case "hourly":
		return now.Truncate(time.Hour).Add(time.Hour)
	}
	m := now.In(c.moscow)
	return time.Date(m.Year(), m.Month(), m.Day()+1, 0, 0, 0, 0, c.moscow)
}

// jitter spreads retries of several clients over up to a tenth of the
// wait (at least 100ms, at most 5s).
func (c *Client) jitter(d time.Duration) time.Duration {
	span := min(max(d/10, 100*time.Millisecond), 5*time.Second)
	return time.Duration(c.rnd() * float64(span))
}

func (c *Client) blocked() (time.Time, string) {
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	return c.rateUntil, c.rateWindow
}

// waitRate waits for a spent window before a call, or fails fast with a
// *RateLimitError when that would take longer than MaxRateWait.
func (c *Client) waitRate(ctx context.Context) error {
	until, window := c.blocked()
	now := c.clock.Now()
	if !now.Before(until) {
		return nil
	}
	d := until.Sub(now)
	if d > c.cfg.MaxRateWait {
		return &RateLimitError{Window: window, RetryAt: until}
	}
	d += c.jitter(d)
	c.m.waits.WithLabelValues(c.cfg.ID).Inc()
	c.log.Debug("waiting for a VK Ads rate-limit window", zap.String("window", window), zap.Duration("wait", d))
	return c.clock.Sleep(ctx, d)
}

// classify is httpx's retry decision. Every request adpacer sends is safe
// to resend: reads, and mass_action items that set absolute values. A 429
// waits for the window its headers name when that is within MaxRateWait.
func (c *Client) classify(_ *http.Request, resp *http.Response, err error) httpx.Decision {
	if err != nil {
		return httpx.Decision{Retry: !errors.Is(err, context.Canceled)}
	}
	now := c.clock.Now()
	c.observeRate(resp.Header, now)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		until, _ := c.blocked()
		if !until.After(now) {
			// No window said zero: jittered back-off (or Retry-After).
			return httpx.Decision{Retry: true}
		}
		d := until.Sub(now)
		if d > c.cfg.MaxRateWait {
			return httpx.Decision{}
		}
		c.m.waits.WithLabelValues(c.cfg.ID).Inc()
		return httpx.Decision{Retry: true, After: d + c.jitter(d)}
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return httpx.Decision{Retry: true}
	}
	return httpx.Decision{}
}

// call sends one API request and decodes a 2xx JSON answer into out (nil:
// no body expected). A 401 gets one fresh token and one repeat. Errors are
// terminal (adpacer.Terminal) when repeating the request cannot help.
func (c *Client) call(ctx context.Context, endpoint, method, path string, q url.Values, body []byte, out any) error {
	reauthorised := false
	for {
		if err := c.waitRate(ctx); err != nil {
			return fmt.Errorf("vk ads %s: %s: %w", c.cfg.ID, endpoint, err)
		}
		tok, err := c.tokens.token(ctx)
		if err != nil {
			return err
		}
		u := c.base + path
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		var req *http.Request
		if body != nil {
			req, err = httpx.NewJSONRequest(ctx, method, u, body)
		} else {
			req, err = http.NewRequestWithContext(ctx, method, u, nil)
		}
		if err != nil {
			return fmt.Errorf("vk ads %s: %s: build request: %w", c.cfg.ID, endpoint, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		c.m.requests.WithLabelValues(endpoint).Inc()
		resp, err := c.http.Do(ctx, req)
		if err != nil {
			c.m.errors.WithLabelValues("server").Inc()
			return fmt.Errorf("vk ads %s: %s: %w", c.cfg.ID, endpoint, err)
		}
		b, err := httpx.ReadBody(resp, maxBody)
		if err != nil {
			return fmt.Errorf("vk ads %s: %s: %w", c.cfg.ID, endpoint, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(b, out); err != nil {
				c.m.errors.WithLabelValues("malformed").Inc()
				return fmt.Errorf("vk ads %s: %s (HTTP %d): %w: %v", c.cfg.ID, endpoint, resp.StatusCode, ErrMalformed, err)
			}
			return nil
		}
		apiErr := decodeAPIError(endpoint, resp.StatusCode, b)
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			// The token may have been deleted or expired early: one fresh
			// token and one repeat before giving up.
			c.tokens.invalidate()
			if !reauthorised {
				reauthorised = true
				continue
			}
			c.m.errors.WithLabelValues("auth").Inc()
			return adpacer.Terminal(fmt.Errorf("vk ads %s: %w: a freshly issued token was refused too; check that the API access of client_id is active in VK Ads: %w", c.cfg.ID, ErrUnauthorized, apiErr))
		case resp.StatusCode == http.StatusTooManyRequests:
			c.m.errors.WithLabelValues("rate_limited").Inc()
			until, window := c.blocked()
			if !until.After(c.clock.Now()) {
				until, window = c.clock.Now().Add(time.Second), ""
			}
			return fmt.Errorf("vk ads %s: %w: %w", c.cfg.ID, &RateLimitError{Window: window, RetryAt: until}, apiErr)
		case apiErr.retryable():
			c.m.errors.WithLabelValues("server").Inc()
			return fmt.Errorf("vk ads %s: %w", c.cfg.ID, apiErr)
		case resp.StatusCode == http.StatusForbidden:
			c.m.errors.WithLabelValues("forbidden").Inc()
			hint := "the token may not reach this account's data"
			if c.cfg.AgencyClientName == "" {
				hint += "; for a client of an agency set agency_client_name (an agency's own token cannot read its clients' ad plans)"
			}
			return adpacer.Terminal(fmt.Errorf("vk ads %s: %w: %s", c.cfg.ID, apiErr, hint))
		}
		c.m.errors.WithLabelValues("invalid").Inc()
		return adpacer.Terminal(fmt.Errorf("vk ads %s: %w", c.cfg.ID, apiErr))
	}
}
