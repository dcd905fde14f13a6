package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/schedule"
	"github.com/adpacer/adpacer/internal/telemetry"
	"go.uber.org/zap"
)

// startDaemon runs `adpacer run` in-process and returns the telemetry
// address and a stop function that returns the exit code.
func startDaemon(t *testing.T, w Wiring, cfgPath string) (addr string, logs *syncBuffer, stop func() int) {
	t.Helper()
	var stdout syncBuffer
	logs = &syncBuffer{}
	a := newApp(strings.NewReader(""), &stdout, logs, w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- a.execute(ctx, []string{"run", cfgPath}) }()
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" && time.Now().Before(deadline) {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("daemon exited with %d; logs:\n%s", code, logs.String())
		default:
		}
		for _, l := range strings.Split(logs.String(), "\n") {
			if a, ok := serverAddr(l); ok {
				addr = a
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		cancel()
		<-done
		t.Fatalf("daemon did not start; logs:\n%s", logs.String())
	}
	return addr, logs, func() int { cancel(); return <-done }
}

func minimalConfig(t *testing.T, extra string) string {
	dir := t.TempDir()
	return writeFile(t, dir, "config.yaml", fmt.Sprintf("mode: observe\nstore: {sqlite: {path: %s}}\nhttp: {listen: \"127.0.0.1:0\"}\nlog: {format: json}\n%s", filepath.Join(dir, "db"), extra))
}

func TestRunWiresStoreJobsAndHandlers(t *testing.T) {
	st := &fakeStore{}
	var pulls atomic.Int32
	var gotDeps Deps
	var events eventLog
	actorStop := make(chan struct{})
	w := Wiring{
		OnReady:    func() { events.add("ready") },
		OnStopping: func() { events.add("stopping") },
		Actors: func(context.Context, Deps) ([]Actor, error) {
			return []Actor{{Name: "lease", Execute: func() error {
				<-actorStop
				return nil
			}, Interrupt: func(error) {
				events.add("actor interrupted")
				close(actorStop)
			}}}, nil
		},
		OpenStore: func(context.Context, *config.Config, *zap.Logger) (Store, error) { return st, nil },
		Leader: func(context.Context, Deps) (func() bool, error) {
			return func() bool { return true }, nil
		},
		Jobs: func(_ context.Context, d Deps) ([]schedule.Job, error) {
			gotDeps = d
			return []schedule.Job{{Name: "pull_test", Schedule: "@every 1s", Timeout: time.Second, Run: func(context.Context) error {
				pulls.Add(1)
				return nil
			}}}, nil
		},
		Mount: func(srv *telemetry.Server, d Deps) error {
			srv.HandlePrivate("GET /status", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "status ok") }))
			return nil
		},
	}
	addr, logs, stop := startDaemon(t, w, minimalConfig(t, ""))
	code, body := httpGet(t, "http://"+addr+"/readyz")
	if code != 200 || !strings.Contains(body, `"ready":true`) {
		t.Errorf("/readyz = %d %s, want ready once the store is migrated", code, body)
	}
	if code, body := httpGet(t, "http://"+addr+"/status"); code != 200 || body != "status ok" {
		t.Errorf("/status = %d %q", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pulls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_, metrics := httpGet(t, "http://"+addr+"/metrics")
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d; logs:\n%s", code, logs.String())
	}
	if pulls.Load() == 0 {
		t.Error("wired job never ran")
	}
	if !strings.Contains(metrics, `adpacer_job_runs_total{job="pull_test",result="success"}`) {
		t.Errorf("/metrics lacks the job's runs")
	}
	if st.migrated.Load() != 1 || st.closed.Load() != 1 {
		t.Errorf("store migrated %d closed %d, want 1 and 1", st.migrated.Load(), st.closed.Load())
	}
	if got, want := events.String(), "ready,stopping,actor interrupted"; got != want {
		t.Errorf("lifecycle events = %s, want %s (actors stop after the scheduler)", got, want)
	}
	if gotDeps.Heartbeat == nil || gotDeps.Heartbeat.Age() > time.Minute {
		t.Errorf("deps heartbeat = %v", gotDeps.Heartbeat)
	}
	if gotDeps.Store != st || gotDeps.Registry == nil || gotDeps.Leader == nil || gotDeps.Config == nil || gotDeps.Readiness == nil {
		t.Errorf("jobs got incomplete deps: %+v", gotDeps)
	}
}

func TestRunFailures(t *testing.T) {
	// A port already taken: runtime failure (1), not a config error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	busy := writeFile(t, dir, "busy.yaml", fmt.Sprintf("mode: observe\nstore: {sqlite: {path: %s}}\nhttp: {listen: %q}\n", filepath.Join(dir, "db"), ln.Addr().String()))
	if code, _, e := runCLI(t, Wiring{}, "run", busy); code != ExitRuntime || !strings.Contains(e, "address already in use") {
		t.Errorf("run on a busy port = %d %s, want 1", code, e)
	}
	bad := writeFile(t, dir, "bad.yaml", "mode: yolo\n")
	if code, _, e := runCLI(t, Wiring{}, "run", bad); code != ExitConfig || !strings.Contains(e, `unknown mode "yolo"`) {
		t.Errorf("run with a bad config = %d %s, want 78", code, e)
	}
	failing := Wiring{OpenStore: func(context.Context, *config.Config, *zap.Logger) (Store, error) {
		return nil, fmt.Errorf("database is locked by another adpacer")
	}}
	if code, _, e := runCLI(t, failing, "run", minimalConfig(t, "")); code != ExitRuntime || !strings.Contains(e, "run: open sqlite store: database is locked") {
		t.Errorf("run with a failing store = %d %s, want 1", code, e)
	}
}

type eventLog struct {
	mu sync.Mutex
	ev []string
}

func (e *eventLog) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, s)
}

func (e *eventLog) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.ev, ",")
}
