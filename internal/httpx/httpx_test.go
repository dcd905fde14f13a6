package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock records sleeps instead of sleeping.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func newClient(t *testing.T, o Options) (*Client, *fakeClock, *prometheus.Registry) {
	t.Helper()
	clk := &fakeClock{now: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	reg := prometheus.NewRegistry()
	if o.Name == "" {
		o.Name = "test"
	}
	o.Clock = clk
	o.Registerer = reg
	o.Rand = func() float64 { return 0.5 }
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk, reg
}

func TestRetriesHonourRetryAfterThenSucceed(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c, clk, reg := newClient(t, Options{})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := c.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ReadBody(resp, 100)
	if string(b) != "ok" || n.Load() != 3 {
		t.Fatalf("body %q after %d calls", b, n.Load())
	}
	if len(clk.sleeps) != 2 || clk.sleeps[0] != 7*time.Second || clk.sleeps[1] != 7*time.Second {
		t.Fatalf("sleeps = %v, want two of 7s", clk.sleeps)
	}
	if got := testutil.ToFloat64(c.m.rateLimited.WithLabelValues("test")); got != 2 {
		t.Fatalf("rate limited counter = %v", got)
	}
	if got := testutil.ToFloat64(c.m.requests.WithLabelValues("test", "200")); got != 1 {
		t.Fatalf("requests{200} = %v", got)
	}
	if cnt, _ := testutil.GatherAndCount(reg); cnt == 0 {
		t.Fatal("no metrics gathered")
	}
}

func TestBoundedAttemptsReturnLastResponse(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "upstream down")
	}))
	defer srv.Close()
	c, clk, _ := newClient(t, Options{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := c.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ReadBody(resp, 100)
	if resp.StatusCode != 502 || string(b) != "upstream down" || n.Load() != 3 {
		t.Fatalf("status %d body %q calls %d", resp.StatusCode, b, n.Load())
	}
	// full jitter with rand 0.5: 50ms then 100ms
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	if len(clk.sleeps) != 2 || clk.sleeps[0] != want[0] || clk.sleeps[1] != want[1] {
		t.Fatalf("sleeps = %v want %v", clk.sleeps, want)
	}
}

func TestPostNotRetriedOn500ButOn503(t *testing.T) {
	for _, tc := range []struct {
		status int
		calls  int32
	}{{500, 1}, {503, 3}} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			body, _ := io.ReadAll(r.Body)
			if string(body) != `{"a":1}` {
				t.Errorf("attempt %d body %q", n.Load(), body)
			}
			w.WriteHeader(tc.status)
		}))
		c, _, _ := newClient(t, Options{MaxAttempts: 3})
		req, _ := NewJSONRequest(context.Background(), http.MethodPost, srv.URL, []byte(`{"a":1}`))
		resp, err := c.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n.Load() != tc.calls {
			t.Errorf("status %d: %d calls, want %d", tc.status, n.Load(), tc.calls)
		}
		srv.Close()
	}
}

func TestClassifyHookOverridesDelay(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			io.WriteString(w, `{"error":{"error_code":152}}`)
			return
		}
		io.WriteString(w, `{"result":{}}`)
	}))
	defer srv.Close()
	c, clk, _ := newClient(t, Options{Classify: func(req *http.Request, resp *http.Response, err error) Decision {
		if err == nil && n.Load() == 1 {
			return Decision{Retry: true, After: 42 * time.Minute}
		}
		return Decision{}
	}, MaxRetryAfter: time.Hour})
	req, _ := NewJSONRequest(context.Background(), http.MethodPost, srv.URL, []byte(`{}`))
	resp, err := c.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(clk.sleeps) != 1 || clk.sleeps[0] != 42*time.Minute {
		t.Fatalf("sleeps = %v", clk.sleeps)
	}
}

func TestRetryAfterIsClamped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "86400")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c, clk, _ := newClient(t, Options{MaxAttempts: 2, MaxRetryAfter: 90 * time.Second})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := c.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(clk.sleeps) != 1 || clk.sleeps[0] != 90*time.Second {
		t.Fatalf("sleeps = %v", clk.sleeps)
	}
}

func TestPerAttemptTimeoutAndRedactedError(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := New(Options{Name: "trello", Timeout: 50 * time.Millisecond, MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/1/boards?key=CANARYKEY&token=CANARYTOKEN", nil)
	_, err = c.Do(context.Background(), req)
	if err == nil {
		t.Fatal("want timeout error")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if strings.Contains(err.Error(), "CANARY") {
		t.Fatalf("credential leaked into error: %v", err)
	}
}

func TestRateLimiterSpacesRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c, clk, _ := newClient(t, Options{RatePerSecond: 2, Burst: 1})
	for i := 0; i < 5; i++ {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := c.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var total time.Duration
	for _, s := range clk.sleeps {
		total += s
	}
	if total != 2*time.Second {
		t.Fatalf("waited %v for 5 requests at 2/s burst 1, want 2s (sleeps %v)", total, clk.sleeps)
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, err := New(Options{Name: "x", MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour, Rand: func() float64 { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	if _, err := c.Do(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 1 {
		t.Fatalf("%d calls", n.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Sat, 28 Nov 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Sat, 28 Nov 2026 09:00:00 GMT", 0, true},
	}
	for _, tc := range tests {
		got, ok := ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v,%v want %v,%v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempt := 0; attempt < 40; attempt++ {
		d := Backoff(attempt, 100*time.Millisecond, 10*time.Second, func() float64 { return 0.999999 })
		if d > 10*time.Second || d <= 0 {
			t.Fatalf("attempt %d: %v out of bounds", attempt, d)
		}
	}
	if d := Backoff(3, 100*time.Millisecond, 10*time.Second, func() float64 { return 0.5 }); d != 400*time.Millisecond {
		t.Fatalf("Backoff(3) = %v", d)
	}
}

func TestRedact(t *testing.T) {
	u, _ := url.Parse("https://user:pw@api.trello.com/1/cards?key=K1&token=T1&fields=name")
	got := Redact(u)
	if strings.Contains(got, "K1") || strings.Contains(got, "T1") || strings.Contains(got, "pw") || !strings.Contains(got, "fields=name") {
		t.Fatalf("Redact = %s", got)
	}
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{{}, {Name: "x", MaxAttempts: 50}, {Name: "x", BaseDelay: time.Second, MaxDelay: time.Millisecond}, {Name: "x", RatePerSecond: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestSharedMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Name: "a", Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Name: "b", Registerer: reg}); err != nil {
		t.Fatalf("second client on same registry: %v", err)
	}
}

func TestBreaker(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	m, _ := NewMetrics(reg)
	b := NewBreaker("yandex_direct", 3, time.Minute, func() time.Time { return now }, m)
	fail := errors.New("boom")
	for i := 0; i < 3; i++ {
		if err := b.Allow(); err != nil {
			t.Fatalf("call %d refused: %v", i, err)
		}
		b.Record(fail)
	}
	if b.Allow() != ErrOpen || b.State() != Open {
		t.Fatal("breaker did not open after 3 failures")
	}
	if testutil.ToFloat64(m.breaker.WithLabelValues("yandex_direct")) != 2 {
		t.Fatal("metric not open")
	}
	now = now.Add(time.Minute)
	if err := b.Allow(); err != nil {
		t.Fatalf("probe refused: %v", err)
	}
	if b.Allow() != ErrOpen {
		t.Fatal("second probe allowed while half-open")
	}
	b.Record(fail)
	if b.State() != Open {
		t.Fatal("failed probe did not reopen")
	}
	now = now.Add(time.Minute)
	_ = b.Allow()
	b.Record(nil)
	if b.State() != Closed || b.Allow() != nil {
		t.Fatal("successful probe did not close")
	}
}

func TestHTTPClientRoundTripper(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "fine")
	}))
	defer srv.Close()
	c, _, _ := newClient(t, Options{})
	resp, err := c.HTTPClient().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ReadBody(resp, 10)
	if string(b) != "fine" {
		t.Fatalf("body %q", b)
	}
}
