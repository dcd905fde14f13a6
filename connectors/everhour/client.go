package everhour

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/httpx"
)

// DefaultBaseURL is the public Everhour API.
const DefaultBaseURL = "https://api.everhour.com"

// API page-size maxima (api-notes §3.4).
const (
	MaxTimePageLimit = 50000
	MaxTaskPageLimit = 250
	MaxTaskPage      = 100
)

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	// APIKey is sent as X-Api-Key. Required. It never appears in logs,
	// errors, metrics or String().
	APIKey string
	// AcceptVersion is sent as X-Accept-Version (default "1.2"; "-" sends none).
	AcceptVersion string
	// ProjectIDs limits the pull to these projects (prefixed ids such as
	// "tr:<board id>"); empty pulls every project of the team. Time records
	// are always pulled for the whole team, so the store's range is complete.
	ProjectIDs []string
	// SkipTaskListing skips GET /projects/{id}/tasks: tasks then come only
	// from the records that carry them, saving one request (or more) per
	// project per pull. Tasks nobody logged time on are then not synced.
	SkipTaskListing bool
	// TimePageLimit is the page size of /team/time (1..50000, default 50000:
	// the fewest requests).
	TimePageLimit int
	// TaskPageLimit is the page size of /projects/{id}/tasks (1..250, default 250).
	TaskPageLimit int
	// ProjectPageLimit is the page size of /projects (default 250).
	ProjectPageLimit int
	// Timeout per HTTP attempt (default 60s: a 50,000-record page is large).
	Timeout time.Duration
	// MaxAttempts per request including the first (default 4: a 500 is
	// retried up to 3 times, as the notes recommend).
	MaxAttempts int
	// RatePerSecond and Burst form the client-side token bucket. The
	// defaults 1.5/s and burst 4 admit at most 4 + 1.5*10 = 19 requests in
	// any 10 s window, under Everhour's ~20 per 10 s per key.
	RatePerSecond float64
	Burst         int
	// MaxBodyBytes bounds one response body (default 256 MiB).
	MaxBodyBytes int64
}

// String prints the config with the API key redacted.
func (c Config) String() string {
	key := ""
	if c.APIKey != "" {
		key = "REDACTED"
	}
	return fmt.Sprintf("everhour.Config{BaseURL:%q APIKey:%s ProjectIDs:%v TimePageLimit:%d TaskPageLimit:%d RatePerSecond:%v Burst:%d}",
		c.BaseURL, key, c.ProjectIDs, c.TimePageLimit, c.TaskPageLimit, c.RatePerSecond, c.Burst)
}

// GoString keeps %#v from printing the key.
func (c Config) GoString() string { return c.String() }

// Deps are the collaborators of a Client; all are optional.
type Deps struct {
	Logger     *zap.Logger
	Registerer prometheus.Registerer // httpx metrics; ignored when HTTPMetrics is set
	// HTTPMetrics shares already-registered httpx collectors.
	HTTPMetrics *httpx.Metrics
	Transport   http.RoundTripper
	Clock       httpx.Clock
	Rand        func() float64
}

// Client talks to the Everhour API.
type Client struct {
	cfg   Config
	base  *url.URL
	http  *httpx.Client
	log   *zap.Logger
	clock httpx.Clock
}

// New validates cfg and builds a Client.
func New(cfg Config, d Deps) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.AcceptVersion == "" {
		cfg.AcceptVersion = "1.2"
	}
	if cfg.TimePageLimit == 0 {
		cfg.TimePageLimit = MaxTimePageLimit
	}
	if cfg.TaskPageLimit == 0 {
		cfg.TaskPageLimit = MaxTaskPageLimit
	}
	if cfg.ProjectPageLimit == 0 {
		cfg.ProjectPageLimit = 250
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = 1.5
	}
	if cfg.Burst == 0 {
		cfg.Burst = 4
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 256 << 20
	}
	var problems []string
	if strings.TrimSpace(cfg.APIKey) == "" {
		problems = append(problems, "api_key is empty: set the key from your Everhour profile page")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		problems = append(problems, fmt.Sprintf("base_url %q: want an absolute http(s) URL such as %s", cfg.BaseURL, DefaultBaseURL))
	}
	if cfg.TimePageLimit < 1 || cfg.TimePageLimit > MaxTimePageLimit {
		problems = append(problems, fmt.Sprintf("time_page_limit %d: want 1..%d", cfg.TimePageLimit, MaxTimePageLimit))
	}
	if cfg.TaskPageLimit < 1 || cfg.TaskPageLimit > MaxTaskPageLimit {
		problems = append(problems, fmt.Sprintf("task_page_limit %d: want 1..%d", cfg.TaskPageLimit, MaxTaskPageLimit))
	}
	if cfg.ProjectPageLimit < 1 {
		problems = append(problems, fmt.Sprintf("project_page_limit %d: want a positive number", cfg.ProjectPageLimit))
	}
	if cfg.RatePerSecond < 0 || cfg.Burst < 0 {
		problems = append(problems, "rate_per_second and burst must not be negative")
	}
	if cfg.RatePerSecond > 0 && float64(cfg.Burst)+cfg.RatePerSecond*10 > 20 {
		problems = append(problems, fmt.Sprintf("rate_per_second %v with burst %d allows %v requests per 10 s; Everhour allows about 20: lower one of them",
			cfg.RatePerSecond, cfg.Burst, float64(cfg.Burst)+cfg.RatePerSecond*10))
	}
	for _, id := range cfg.ProjectIDs {
		if err := checkPrefixedID(id); err != nil {
			problems = append(problems, "project_ids: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("everhour: invalid config: %s", strings.Join(problems, "; "))
	}
	if d.Clock == nil {
		d.Clock = httpx.SystemClock{}
	}
	log := d.Logger
	if log == nil {
		log = zap.NewNop()
	}
	hc, err := httpx.New(httpx.Options{
		Name:          "everhour",
		Timeout:       cfg.Timeout,
		MaxAttempts:   cfg.MaxAttempts,
		RatePerSecond: cfg.RatePerSecond,
		Burst:         cfg.Burst,
		Registerer:    d.Registerer,
		Metrics:       d.HTTPMetrics,
		Logger:        log,
		Transport:     d.Transport,
		Clock:         d.Clock,
		Classify:      classify,
		Rand:          d.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("everhour: %w", err)
	}
	base.Path = strings.TrimRight(base.Path, "/")
	return &Client{cfg: cfg, base: base, http: hc, log: log, clock: d.Clock}, nil
}

// classify applies the notes' retry rules: 429 waits Retry-After (5 s when
// absent), 5xx is retried with back-off for reads, other 4xx never.
func classify(req *http.Request, resp *http.Response, err error) httpx.Decision {
	dec := httpx.DefaultClassify(req, resp, err)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		dec.After = 5 * time.Second
	}
	return dec
}

// APIError is a non-2xx answer of the API, decoded from its JSON body
// {"code","message","errors"}.
type APIError struct {
	Op      string // e.g. "GET /team/time page 2"
	Status  int
	Message string
	// Fields holds validation messages by field (422).
	Fields map[string][]string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Op, e.Status)
	if e.Message != "" {
		fmt.Fprintf(&b, " %s", e.Message)
	}
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "; %s: %s", k, strings.Join(e.Fields[k], ", "))
		}
	}
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString(" (check everhour api_key: missing or invalid)")
	case http.StatusForbidden:
		b.WriteString(" (the api_key's user lacks permission: use an admin's key)")
	}
	return b.String()
}

// ErrNotFound is wrapped by errors for 404 answers.
var ErrNotFound = errors.New("not found")

func (e *APIError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

// get sends a GET of path (segments are escaped) with query q and decodes
// the JSON answer into out.
func (c *Client) get(ctx context.Context, op string, q url.Values, out any, segments ...string) error {
	return c.send(ctx, http.MethodGet, op, q, nil, out, segments...)
}

func (c *Client) send(ctx context.Context, method, op string, q url.Values, body any, out any, segments ...string) error {
	u := *c.base
	escaped := make([]string, len(segments))
	for i, s := range segments {
		escaped[i] = escapeSegment(s)
	}
	u.RawPath = c.base.Path + "/" + strings.Join(escaped, "/")
	u.Path = c.base.Path + "/" + strings.Join(segments, "/")
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	var req *http.Request
	var err error
	if body != nil {
		raw, merr := json.Marshal(body)
		if merr != nil {
			return fmt.Errorf("everhour: %s: encode body: %w", op, merr)
		}
		req, err = httpx.NewJSONRequest(ctx, method, u.String(), raw)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u.String(), nil)
	}
	if err != nil {
		return fmt.Errorf("everhour: %s: %w", op, err)
	}
	req.Header.Set("X-Api-Key", c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if c.cfg.AcceptVersion != "-" {
		req.Header.Set("X-Accept-Version", c.cfg.AcceptVersion)
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("everhour: %s: %w", op, err)
	}
	raw, err := httpx.ReadBody(resp, c.cfg.MaxBodyBytes)
	if err != nil {
		return fmt.Errorf("everhour: %s: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := &APIError{Op: op, Status: resp.StatusCode}
		var eb struct {
			Message string              `json:"message"`
			Errors  map[string][]string `json:"errors"`
		}
		if json.Unmarshal(raw, &eb) == nil {
			apiErr.Message, apiErr.Fields = eb.Message, eb.Errors
		} else {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusRequestTimeout:
			return fmt.Errorf("everhour: %w", apiErr)
		}
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			// Bad key, permissions or a malformed request: retrying the
			// same call cannot fix it.
			return fmt.Errorf("everhour: %w", adpacer.Terminal(apiErr))
		}
		return fmt.Errorf("everhour: %w", apiErr)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("everhour: %s: decode response: %w", op, err)
	}
	return nil
}

// escapeSegment escapes one path segment. url.PathEscape keeps ":" as-is,
// which is what the notes say prefixed ids ("tr:abc") need (%3A is only
// inferred to work), and percent-encodes "/", "?", "#", "%", ";" and
// spaces, so an id can never change the route.
func escapeSegment(s string) string {
	return url.PathEscape(s)
}

func checkPrefixedID(id string) error {
	p, rest, ok := strings.Cut(id, ":")
	if !ok || p == "" || rest == "" {
		return fmt.Errorf("id %q: want a prefixed Everhour id such as ev:123 or tr:<trello id>", id)
	}
	return nil
}

// checkDate accepts only YYYY-MM-DD: the API rejects or misreads ISO
// datetimes with "T" and Unix timestamps.
func checkDate(field, v string) error {
	if strings.ContainsAny(v, "Tt") {
		return fmt.Errorf("%s %q: Everhour wants a date YYYY-MM-DD, not an ISO datetime", field, v)
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil || t.Format(time.DateOnly) != v {
		return fmt.Errorf("%s %q: want a date YYYY-MM-DD, for example 2026-11-01", field, v)
	}
	return nil
}
