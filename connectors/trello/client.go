// Package trello connects adpacer to Trello: it syncs project boards into
// the store (BoardSync), keeps alert cards that managers can trust
// (AlertSink), turns large changes into approval cards (Approvals) and
// verifies webhook deliveries (WebhookHandler).
//
// github.com/adlio/trello does the reading and writing it covers; raw HTTP
// covers what it lacks (custom-field values, /batch). Every request goes
// through one per-token budget (default 80 requests per 10 s, Trello allows
// 100) and internal/httpx (timeouts, bounded jittered retries, metrics).
// Trello takes key and token in the query string, so no URL with them ever
// reaches a log or an error: errors are rebuilt with both values scrubbed.
package trello

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adlio/trello"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/httpx"
)

// Trello's published limit is 100 requests per 10 s per token; the client
// stays at 80 so people using the same token keep headroom (ops-notes §6.3).
const (
	DefaultRequestsPer10s = 80
	DefaultBurst          = 8
	limitWindow           = 10 * time.Second
	maxResponseBytes      = 64 << 20
	maxBatchRoutes        = 10
)

// Config configures a Client. Key and Token are required.
type Config struct {
	Key, Token string
	// BaseURL defaults to adlio's https://api.trello.com/1.
	BaseURL string
	// RequestsPer10s and Burst form the per-token budget. Burst is added to
	// the steady rate in the worst 10 s, so keep RequestsPer10s+Burst < 100.
	RequestsPer10s, Burst int
	// Timeout per attempt (default 30s); MaxAttempts including the first (default 3).
	Timeout     time.Duration
	MaxAttempts int
	// Metrics (shared) or Registerer for httpx's metrics; both nil: none.
	Metrics    *httpx.Metrics
	Registerer prometheus.Registerer
	Logger     *zap.Logger
	Transport  http.RoundTripper
	Clock      httpx.Clock
	// Rand in [0,1) for jitter; defaults to httpx's.
	Rand func() float64
}

// Client talks to one Trello token. Share one Client between BoardSync,
// AlertSink and Approvals so they draw on one budget.
type Client struct {
	key, token, base string
	http             *httpx.Client
	clock            httpx.Clock
	limiter          *rate.Limiter
	rnd              func() float64
	log              *zap.Logger

	mu          sync.Mutex
	pausedUntil time.Time // set on 429: nobody sends before the next window
}

// New validates cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	switch {
	case strings.TrimSpace(cfg.Key) == "":
		return nil, errors.New("trello: config key is empty (set the Trello API key)")
	case strings.TrimSpace(cfg.Token) == "":
		return nil, errors.New("trello: config token is empty (set the Trello token of the adpacer member)")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = trello.DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("trello: base URL %q is not an http(s) URL (want e.g. https://api.trello.com/1)", cfg.BaseURL)
	}
	if cfg.RequestsPer10s == 0 {
		cfg.RequestsPer10s = DefaultRequestsPer10s
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.RequestsPer10s < 0 || cfg.Burst < 0 || cfg.RequestsPer10s+cfg.Burst >= 100 {
		return nil, fmt.Errorf("trello: requests per 10s %d + burst %d must be positive and below Trello's 100 per token", cfg.RequestsPer10s, cfg.Burst)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Clock == nil {
		cfg.Clock = httpx.SystemClock{}
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	c := &Client{
		key: cfg.Key, token: cfg.Token, base: strings.TrimRight(cfg.BaseURL, "/"),
		clock:   cfg.Clock,
		limiter: rate.NewLimiter(rate.Limit(float64(cfg.RequestsPer10s)/limitWindow.Seconds()), cfg.Burst),
		rnd:     rnd,
		log:     cfg.Logger,
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	hc, err := httpx.New(httpx.Options{
		Name: "trello", Timeout: cfg.Timeout, MaxAttempts: cfg.MaxAttempts,
		// The budget lives in this package (a /batch costs one token per
		// route, which httpx's per-request bucket cannot express).
		RatePerSecond: 0,
		Registerer:    cfg.Registerer, Metrics: cfg.Metrics, Logger: cfg.Logger,
		Transport: cfg.Transport, Clock: cfg.Clock, Rand: cfg.Rand,
		Classify: c.classify,
	})
	if err != nil {
		return nil, fmt.Errorf("trello: %w", err)
	}
	c.http = hc
	return c, nil
}

// classify waits for the next 10-second window on 429 (Trello sends no
// Retry-After, and more than 200 429s lock the key out for the window,
// api-notes §4.2), and pauses every other caller of this Client too.
func (c *Client) classify(req *http.Request, resp *http.Response, err error) httpx.Decision {
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		jitter := time.Second / 2
		if c.rnd != nil {
			jitter = time.Duration(c.rnd() * float64(time.Second))
		}
		wait := limitWindow + jitter
		c.mu.Lock()
		if until := c.clock.Now().Add(wait); until.After(c.pausedUntil) {
			c.pausedUntil = until
		}
		c.mu.Unlock()
		return httpx.Decision{Retry: true, After: wait}
	}
	return httpx.DefaultClassify(req, resp, err)
}

// wait takes n tokens of the budget, honouring a 429 pause.
func (c *Client) wait(ctx context.Context, n int) error {
	c.mu.Lock()
	pause := c.pausedUntil.Sub(c.clock.Now())
	c.mu.Unlock()
	if pause > 0 {
		if err := c.clock.Sleep(ctx, pause); err != nil {
			return err
		}
	}
	// A cost above the burst is taken in burst-sized steps.
	for n > 0 {
		k := min(n, c.limiter.Burst())
		n -= k
		r := c.limiter.ReserveN(c.clock.Now(), k)
		if !r.OK() {
			return fmt.Errorf("trello: request cost %d exceeds the burst %d", k, c.limiter.Burst())
		}
		if d := r.DelayFrom(c.clock.Now()); d > 0 {
			if err := c.clock.Sleep(ctx, d); err != nil {
				r.Cancel()
				return err
			}
		}
	}
	return nil
}

// transport carries the caller's context into adlio's requests (its PUT,
// POST and DELETE do not set one) and charges the budget.
type transport struct {
	ctx context.Context
	c   *Client
}

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.c.wait(t.ctx, 1); err != nil {
		return nil, err
	}
	return t.c.http.Do(t.ctx, req.WithContext(t.ctx))
}

// api returns an adlio client bound to ctx. A fresh adlio client per call
// keeps adlio's built-in limiter (an unexported, wall-clock 8 req/s bucket
// of burst 1, not configurable) from adding a second, untestable throttle:
// the budget above is the one that counts.
func (c *Client) api(ctx context.Context) *trello.Client {
	a := trello.NewClient(c.key, c.token)
	a.BaseURL = c.base
	a.Client = &http.Client{Transport: transport{ctx: ctx, c: c}}
	return a.WithContext(ctx)
}

// board returns an adlio Board bound to a fresh client (see api).
func (c *Client) board(ctx context.Context, id string) *trello.Board {
	b := &trello.Board{ID: id}
	b.SetClient(c.api(ctx))
	return b
}

// Error is a failed Trello call with credentials scrubbed from its text.
type Error struct {
	Op     string
	Status int // HTTP status, 0 for transport failures
	Msg    string
	ctxErr error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("trello: %s: HTTP %d: %s", e.Op, e.Status, e.Msg)
	}
	return fmt.Sprintf("trello: %s: %s", e.Op, e.Msg)
}

// Unwrap exposes only context errors; the original error may carry a URL
// with key and token, so it is not kept.
func (e *Error) Unwrap() error { return e.ctxErr }

// IsNotFound reports a 404 from Trello.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsRateLimited reports a 429 that outlasted the retries.
func IsRateLimited(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

var statusInMsg = regexp.MustCompile(`:\n(\d{3}): `)

// scrub removes key and token from any text.
func (c *Client) scrub(s string) string {
	for _, secret := range []string{c.token, c.key, url.QueryEscape(c.token), url.QueryEscape(c.key)} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
	}
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}

// wrap turns an adlio or transport error into *Error. 401 is terminal:
// retrying with the same key and token cannot help.
func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Msg: c.scrub(err.Error())}
	if m := statusInMsg.FindStringSubmatch(err.Error()); m != nil {
		e.Status, _ = strconv.Atoi(m[1])
		if i := strings.Index(e.Msg, m[1]+": "); i >= 0 {
			e.Msg = e.Msg[i+len(m[1])+2:]
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		e.ctxErr = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		e.ctxErr = context.DeadlineExceeded
	}
	if e.Status == http.StatusUnauthorized {
		return adpacer.Terminal(e)
	}
	return e
}

// raw sends a request adlio cannot express. cost is the number of budget
// tokens (a /batch costs one per route: whether Trello counts it as one or
// N is undocumented, api-notes §4.5).
func (c *Client) raw(ctx context.Context, op, method, path string, q url.Values, body []byte, cost int, out any) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("key", c.key)
	q.Set("token", c.token)
	u := c.base + "/" + path + "?" + q.Encode()
	if err := c.wait(ctx, cost); err != nil {
		return c.wrap(op, err)
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = httpx.NewJSONRequest(ctx, method, u, body)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return c.wrap(op, err)
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return c.wrap(op, err)
	}
	b, err := httpx.ReadBody(resp, maxResponseBytes)
	if err != nil {
		return c.wrap(op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.wrap(op, fmt.Errorf("HTTP request failure on %s:\n%d: %s", path, resp.StatusCode, string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return c.wrap(op, fmt.Errorf("decode response: %w", err))
	}
	return nil
}

// CustomFieldItem is a card's custom field value as Trello returns it.
type CustomFieldItem = trello.CustomFieldItem

// CustomFieldItems reads a card's custom field values (adlio has no call for it).
func (c *Client) CustomFieldItems(ctx context.Context, cardID string) ([]*trello.CustomFieldItem, error) {
	var items []*trello.CustomFieldItem
	err := c.raw(ctx, fmt.Sprintf("custom field items of card %q", cardID), http.MethodGet,
		"cards/"+url.PathEscape(cardID)+"/customFieldItems", nil, nil, 1, &items)
	return items, err
}

// SetCustomField sets (or, with an empty value, clears) a card's custom
// field. kind is text, number, date or checked; for list fields pass
// kind "idValue" and the option id (api-notes §4.4: numbers are strings).
func (c *Client) SetCustomField(ctx context.Context, cardID, fieldID, kind, value string) error {
	var body any
	switch {
	case kind == "idValue":
		body = map[string]string{"idValue": value}
	case value == "":
		body = map[string]string{"value": ""}
	case kind == "text" || kind == "number" || kind == "date" || kind == "checked":
		body = map[string]map[string]string{"value": {kind: value}}
	default:
		return fmt.Errorf("trello: custom field kind %q: want text, number, date, checked or idValue", kind)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("trello: encode custom field value: %w", err)
	}
	return c.raw(ctx, fmt.Sprintf("set custom field %q of card %q", fieldID, cardID), http.MethodPut,
		"cards/"+url.PathEscape(cardID)+"/customField/"+url.PathEscape(fieldID)+"/item", nil, b, 1, nil)
}

// BatchResult is one route's answer inside /batch.
type BatchResult struct {
	Status int
	Body   json.RawMessage
}

// Batch runs GET routes ("/cards/{id}?fields=name,desc") through /batch,
// ten per request, and returns the answers in order. A failed route is a
// result with its status, not an error.
func (c *Client) Batch(ctx context.Context, routes []string) ([]BatchResult, error) {
	out := make([]BatchResult, 0, len(routes))
	for start := 0; start < len(routes); start += maxBatchRoutes {
		chunk := routes[start:min(start+maxBatchRoutes, len(routes))]
		enc := make([]string, len(chunk))
		for i, r := range chunk {
			if !strings.HasPrefix(r, "/") || strings.HasPrefix(r, "/1/") {
				return nil, fmt.Errorf("trello: batch route %q must start with / and leave out /1", r)
			}
			// A route's own commas (fields=a,b) must not split the list.
			enc[i] = strings.ReplaceAll(r, ",", "%2C")
		}
		var raw []map[string]json.RawMessage
		if err := c.raw(ctx, "batch", http.MethodGet, "batch", url.Values{"urls": {strings.Join(enc, ",")}}, nil, len(chunk), &raw); err != nil {
			return nil, err
		}
		if len(raw) != len(chunk) {
			return nil, fmt.Errorf("trello: batch: %d answers for %d routes", len(raw), len(chunk))
		}
		for i, item := range raw {
			if len(item) != 1 {
				return nil, fmt.Errorf("trello: batch answer %d for %q: want one status key, got %d", i, chunk[i], len(item))
			}
			for k, v := range item {
				code, err := strconv.Atoi(k)
				if err != nil {
					return nil, fmt.Errorf("trello: batch answer %d for %q: status key %q is not a number", i, chunk[i], k)
				}
				out = append(out, BatchResult{Status: code, Body: v})
			}
		}
	}
	return out, nil
}

// RegisterWebhook asks Trello to POST changes of idModel (a board or card)
// to callbackURL. Trello first sends a HEAD to callbackURL, which must
// answer 200 (WebhookHandler does).
func (c *Client) RegisterWebhook(ctx context.Context, idModel, callbackURL, description string) (string, error) {
	w := &trello.Webhook{IDModel: idModel, CallbackURL: callbackURL, Description: description}
	if err := c.api(ctx).CreateWebhook(w); err != nil {
		return "", c.wrap(fmt.Sprintf("register webhook for %q", idModel), err)
	}
	return w.ID, nil
}
