// Package httpx is the outbound HTTP stack every connector uses: a
// per-API token bucket, a per-attempt timeout, bounded retries with full
// jitter that honour Retry-After, and metrics with a closed label set. It
// never retries a non-idempotent request unless the caller's Classify hook
// says the failure happened before the server acted on it.
package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Clock is the time source; tests inject a fake to make back-off instant.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends; it returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Decision is what to do after one attempt.
type Decision struct {
	// Retry the request after a back-off.
	Retry bool
	// After overrides the computed back-off (e.g. from Retry-After or an
	// API's retryDelay); zero means "use jittered exponential back-off".
	After time.Duration
}

// Options configure a Client. Name is required; zero values of the rest
// take the defaults documented on each field.
type Options struct {
	// Name of the API, used as the `api` metrics label (closed set:
	// yandex_direct, google_ads, trello, everhour, vk_ads, oauth).
	Name string
	// Timeout per attempt (default 30s).
	Timeout time.Duration
	// MaxAttempts including the first (default 4).
	MaxAttempts int
	// BaseDelay and MaxDelay bound the full-jitter exponential back-off
	// (defaults 500ms and 30s).
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter clamps a server's Retry-After (default 5m): a hostile or
	// confused server must not park a job for hours.
	MaxRetryAfter time.Duration
	// RatePerSecond and Burst form the client-side token bucket; 0 disables.
	RatePerSecond float64
	Burst         int
	// Registerer receives the metrics; nil means no metrics.
	Registerer prometheus.Registerer
	// Metrics, when set, is shared between clients (several instances of one
	// API register the collectors once). Takes precedence over Registerer.
	Metrics *Metrics
	// Logger for retries; nil means no logs.
	Logger *zap.Logger
	// Transport defaults to http.DefaultTransport.
	Transport http.RoundTripper
	// Clock defaults to SystemClock.
	Clock Clock
	// Classify overrides the default retry decision. It is called for every
	// attempt, with the response (body unread) or the transport error.
	Classify func(req *http.Request, resp *http.Response, err error) Decision
	// Rand returns a float in [0,1) for jitter; defaults to math/rand/v2.
	Rand func() float64
}

// Client sends requests with the policies of Options.
type Client struct {
	opt     Options
	limiter *rate.Limiter
	m       *Metrics
}

// New validates opts and builds a Client.
func New(opts Options) (*Client, error) {
	if opts.Name == "" {
		return nil, errors.New("httpx: Options.Name is required (the api label of metrics)")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 4
	}
	if opts.BaseDelay == 0 {
		opts.BaseDelay = 500 * time.Millisecond
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 30 * time.Second
	}
	if opts.MaxRetryAfter == 0 {
		opts.MaxRetryAfter = 5 * time.Minute
	}
	switch {
	case opts.Timeout < 0:
		return nil, fmt.Errorf("httpx %s: Timeout %s must be positive", opts.Name, opts.Timeout)
	case opts.MaxAttempts < 1 || opts.MaxAttempts > 20:
		return nil, fmt.Errorf("httpx %s: MaxAttempts %d must be within 1..20", opts.Name, opts.MaxAttempts)
	case opts.BaseDelay < 0 || opts.MaxDelay < opts.BaseDelay:
		return nil, fmt.Errorf("httpx %s: want 0 <= BaseDelay <= MaxDelay, got %s and %s", opts.Name, opts.BaseDelay, opts.MaxDelay)
	case opts.RatePerSecond < 0:
		return nil, fmt.Errorf("httpx %s: RatePerSecond %v must not be negative", opts.Name, opts.RatePerSecond)
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Classify == nil {
		opts.Classify = DefaultClassify
	}
	c := &Client{opt: opts}
	if opts.RatePerSecond > 0 {
		burst := opts.Burst
		if burst <= 0 {
			burst = 1
		}
		c.limiter = rate.NewLimiter(rate.Limit(opts.RatePerSecond), burst)
	}
	switch {
	case opts.Metrics != nil:
		c.m = opts.Metrics
	case opts.Registerer != nil:
		m, err := NewMetrics(opts.Registerer)
		if err != nil {
			return nil, fmt.Errorf("httpx %s: %w", opts.Name, err)
		}
		c.m = m
	}
	if c.m != nil {
		// Export the API's counters at zero from the start, so dashboards
		// and rate() see them before the first retry or 429.
		c.m.retries.WithLabelValues(opts.Name)
		c.m.rateLimited.WithLabelValues(opts.Name)
	}
	return c, nil
}

// HTTPClient returns an *http.Client whose transport is this Client, for
// libraries that want one (adlio/trello, oauth2). Its own Timeout is unset:
// the per-attempt timeout applies.
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{Transport: roundTripper{c}}
}

type roundTripper struct{ c *Client }

func (r roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	return r.c.Do(req.Context(), req)
}

// Idempotent reports whether re-sending req cannot apply a change twice.
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// DefaultClassify retries transport errors, 429 and 5xx (except 501) for
// idempotent requests; for others it retries only 429 and 503 (the server
// refused before acting) and connection errors that happened before the
// request was written.
func DefaultClassify(req *http.Request, resp *http.Response, err error) Decision {
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return Decision{}
		}
		if Idempotent(req) {
			return Decision{Retry: true}
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return Decision{Retry: true}
		}
		return Decision{}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return Decision{Retry: true}
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return Decision{Retry: Idempotent(req)}
	}
	return Decision{}
}

// Do sends req with rate limiting, per-attempt timeouts and retries. The
// request body must be replayable (http.NewRequest with a bytes/strings
// reader sets GetBody) for a retry to happen. On success the caller owns
// resp.Body. When retries are exhausted on an HTTP status, the last response
// is returned (body readable) with a nil error, so callers can parse the
// API's error body; a transport error is returned wrapped.
func (c *Client) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	if ctx == nil {
		return nil, errors.New("httpx: nil context")
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: rate limit wait: %w", req.Method, Redact(req.URL), err)
		}
		resp, err := c.attempt(ctx, req)
		dec := c.opt.Classify(req, resp, err)
		last := attempt >= c.opt.MaxAttempts-1
		if !dec.Retry || last || !replayable || ctx.Err() != nil {
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", req.Method, Redact(req.URL), scrubURLError(err))
			}
			return resp, nil
		}
		delay := dec.After
		if delay == 0 && resp != nil {
			if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.opt.Clock.Now()); ok {
				delay = d
			}
		}
		if delay > c.opt.MaxRetryAfter {
			delay = c.opt.MaxRetryAfter
		}
		if delay == 0 {
			delay = Backoff(attempt, c.opt.BaseDelay, c.opt.MaxDelay, c.opt.Rand)
		}
		code := "error"
		if resp != nil {
			code = strconv.Itoa(resp.StatusCode)
			if resp.StatusCode == http.StatusTooManyRequests && c.m != nil {
				c.m.rateLimited.WithLabelValues(c.opt.Name).Inc()
			}
			drain(resp)
		}
		if c.m != nil {
			c.m.retries.WithLabelValues(c.opt.Name).Inc()
		}
		if c.opt.Logger != nil {
			c.opt.Logger.Debug("retrying request",
				zap.String("api", c.opt.Name), zap.String("method", req.Method),
				zap.String("url", Redact(req.URL)), zap.String("code", code),
				zap.Int("attempt", attempt+1), zap.Duration("delay", delay))
		}
		if err := c.opt.Clock.Sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("%s %s: waiting to retry: %w", req.Method, Redact(req.URL), err)
		}
	}
}

func (c *Client) wait(ctx context.Context) error {
	if c.limiter == nil {
		return nil
	}
	r := c.limiter.ReserveN(c.opt.Clock.Now(), 1)
	if !r.OK() {
		return errors.New("burst too small")
	}
	d := r.DelayFrom(c.opt.Clock.Now())
	if d <= 0 {
		return nil
	}
	if err := c.opt.Clock.Sleep(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// attempt sends one try with its own timeout. The timeout's cancel runs when
// the body is closed, so the caller can still read it.
func (c *Client) attempt(ctx context.Context, req *http.Request) (*http.Response, error) {
	actx, cancel := context.WithTimeout(ctx, c.opt.Timeout)
	r := req.Clone(actx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, fmt.Errorf("replay body: %w", err)
		}
		r.Body = body
	}
	start := c.opt.Clock.Now()
	resp, err := c.opt.Transport.RoundTrip(r)
	if c.m != nil {
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		c.m.requests.WithLabelValues(c.opt.Name, code).Inc()
		c.m.duration.WithLabelValues(c.opt.Name).Observe(c.opt.Clock.Now().Sub(start).Seconds())
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// Backoff returns the full-jitter delay for a 0-based attempt:
// rand(0, min(max, base*2^attempt)). Full jitter minimises contention
// between replicas and clients retrying at once.
func Backoff(attempt int, base, max time.Duration, rnd func() float64) time.Duration {
	if attempt < 0 {
		attempt = 0
	}
	ceil := base
	for i := 0; i < attempt && ceil < max; i++ {
		ceil *= 2
	}
	if ceil > max {
		ceil = max
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	d := time.Duration(rnd() * float64(ceil))
	if d < time.Millisecond && ceil >= time.Millisecond {
		d = time.Millisecond
	}
	return d
}

// ParseRetryAfter reads a Retry-After value: delta seconds or an HTTP date.
// Negative or unparsable values report false.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// secretParams are query parameters that carry credentials (Trello sends
// key and token in the query string).
var secretParams = []string{"key", "token", "api_key", "apikey", "access_token", "client_secret", "refresh_token"}

// Redact returns the URL as text with credential query parameters and
// user info replaced, safe for logs and errors.
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		q := c.Query()
		changed := false
		for _, p := range secretParams {
			if q.Has(p) {
				q.Set(p, "REDACTED")
				changed = true
			}
		}
		if changed {
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// scrubURLError replaces the URL inside a *url.Error, which net/http embeds
// verbatim (with query-string credentials) in transport errors.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			return &url.Error{Op: ue.Op, URL: Redact(u), Err: ue.Err}
		}
		return &url.Error{Op: ue.Op, URL: "(unparsable url)", Err: ue.Err}
	}
	return err
}

// ReadBody reads at most limit bytes of a response body and closes it; an
// oversized body is an error rather than silent truncation.
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response body exceeds %d bytes", limit)
	}
	return b, nil
}

// NewJSONRequest builds a replayable request with a JSON body.
func NewJSONRequest(ctx context.Context, method, rawURL string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return req, nil
}
