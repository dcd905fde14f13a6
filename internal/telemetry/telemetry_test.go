package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func startServer(t *testing.T, opts ServerOptions) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s
}

func get(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsOverHTTPPassPromlint(t *testing.T) {
	reg := NewRegistry(BuildInfo{Version: "1.2.3", Revision: "abc", GoVersion: "go1.26.8"})
	s := startServer(t, ServerOptions{Listen: "127.0.0.1:0", Gatherer: reg, Heartbeat: NewHeartbeat(nil), Readiness: NewReadiness()})
	code, body := get(t, "http://"+s.Addr()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	if !strings.Contains(body, `adpacer_build_info{goversion="go1.26.8",revision="abc",version="1.2.3"} 1`) {
		t.Errorf("adpacer_build_info missing from /metrics:\n%s", body)
	}
	for _, want := range []string{"go_goroutines", "process_start_time_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("%s missing from /metrics", want)
		}
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestHealthzFollowsHeartbeatOnly(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	hb := NewHeartbeat(clk.Now)
	ready := NewReadiness(CondConfigLoaded, CondStoreMigrated)
	s, err := NewServer(ServerOptions{Listen: "127.0.0.1:0", Gatherer: NewRegistry(ReadBuildInfo("")), Heartbeat: hb, MaxHeartbeatAge: time.Minute, Readiness: ready})
	if err != nil {
		t.Fatal(err)
	}
	probe := func(path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s body %q: %v", path, rec.Body.String(), err)
		}
		return rec.Code, m
	}
	if code, _ := probe("/healthz"); code != 200 {
		t.Errorf("fresh heartbeat: /healthz = %d, want 200", code)
	}
	clk.Add(59 * time.Second)
	if code, _ := probe("/healthz"); code != 200 {
		t.Errorf("59s old heartbeat: /healthz = %d, want 200", code)
	}
	clk.Add(2 * time.Second)
	if code, m := probe("/healthz"); code != 503 || m["status"] != "main loop stalled" {
		t.Errorf("61s old heartbeat: /healthz = %d %v, want 503", code, m)
	}
	hb.Beat()
	if code, _ := probe("/healthz"); code != 200 {
		t.Errorf("after beat: /healthz = %d, want 200", code)
	}

	// Readiness: not ready until every declared condition holds.
	if code, m := probe("/readyz"); code != 503 || m["ready"] != false {
		t.Errorf("/readyz before conditions = %d %v, want 503", code, m)
	}
	ready.Set(CondConfigLoaded, true, "")
	if code, _ := probe("/readyz"); code != 503 {
		t.Errorf("/readyz with store not migrated = %d, want 503", code)
	}
	ready.Set(CondStoreMigrated, true, "")
	if code, _ := probe("/readyz"); code != 200 {
		t.Errorf("/readyz with all conditions = %d, want 200", code)
	}
	// Liveness never depends on readiness (upstreams, store): a stale
	// heartbeat fails liveness even when ready, and readiness loss leaves
	// liveness alone.
	ready.Set(CondStoreMigrated, false, "migration failed")
	if code, _ := probe("/healthz"); code != 200 {
		t.Errorf("/healthz while not ready = %d, want 200", code)
	}
}

func TestPrivateHandlersNeedToken(t *testing.T) {
	reg := NewRegistry(ReadBuildInfo(""))
	s := startServer(t, ServerOptions{Listen: "127.0.0.1:0", Gatherer: reg, Heartbeat: NewHeartbeat(nil), Readiness: NewReadiness(), Token: "s3cret"})
	s.HandlePrivate("GET /status", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "status page") }))
	s.Handle("GET /open", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "open") }))
	base := "http://" + s.Addr()
	for _, tc := range []struct {
		path string
		hdr  []string
		code int
	}{
		{"/status", nil, 401},
		{"/status", []string{"Authorization", "Bearer wrong"}, 401},
		{"/status", []string{"Authorization", "s3cret"}, 401},
		{"/status", []string{"Authorization", "Bearer s3cret"}, 200},
		{"/open", nil, 200},
		{"/metrics", nil, 200},
		{"/healthz", nil, 200},
	} {
		if code, body := get(t, base+tc.path, tc.hdr...); code != tc.code {
			t.Errorf("GET %s %v = %d (%s), want %d", tc.path, tc.hdr, code, body, tc.code)
		}
	}
}

func TestNonLoopbackListenNeedsToken(t *testing.T) {
	_, err := NewServer(ServerOptions{Listen: "0.0.0.0:9464", Gatherer: NewRegistry(ReadBuildInfo("")), Heartbeat: NewHeartbeat(nil), Readiness: NewReadiness()})
	if err == nil || !strings.Contains(err.Error(), "set http.status_token_file") {
		t.Fatalf("NewServer(0.0.0.0 without token) = %v, want an error naming the fix", err)
	}
}

func TestLoggerFormats(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(LogOptions{Level: "info", Format: "auto", Output: &buf})
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("hello", zap.String("cycle_id", "c1"))
	_ = log.Sync()
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("auto format on a non-TTY should be one JSON line, got %q: %v", buf.String(), err)
	}
	if m["msg"] != "hello" || m["cycle_id"] != "c1" || m["level"] != "info" {
		t.Errorf("log line = %v", m)
	}
	buf.Reset()
	log, err = NewLogger(LogOptions{Level: "debug", Format: "console", Output: &buf})
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("visible")
	if !strings.Contains(buf.String(), "visible") || strings.HasPrefix(buf.String(), "{") {
		t.Errorf("console debug output = %q", buf.String())
	}
	if _, err := NewLogger(LogOptions{Level: "loud"}); err == nil {
		t.Error("NewLogger(level loud) = nil error")
	}
	if _, err := NewLogger(LogOptions{Format: "xml"}); err == nil {
		t.Error("NewLogger(format xml) = nil error")
	}
}

func TestReadBuildInfoPrefersLdflags(t *testing.T) {
	bi := ReadBuildInfo("v1.4.0")
	if bi.Version != "v1.4.0" || bi.GoVersion == "" || bi.Revision == "" {
		t.Errorf("ReadBuildInfo = %+v", bi)
	}
	if bi := ReadBuildInfo(""); bi.Version == "" {
		t.Errorf("ReadBuildInfo(\"\").Version is empty")
	}
}
