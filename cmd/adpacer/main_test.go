package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/adpacer/adpacer/internal/schedule"
	"go.uber.org/goleak"
)

// childEnv selects child mode: the test binary re-executes itself as a real
// adpacer process (same main code path, plus a test job wired in).
const childEnv = "ADPACER_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	goleak.VerifyTestMain(m)
}

// runChild runs `adpacer run` with one job, drain_probe, that runs every
// second. Mode "drain" ignores its context and takes 2s: SIGTERM must wait
// for it. Mode "stuck" blocks until its context is cancelled: shutdown must
// cancel it at shutdown_timeout.
func runChild(mode string) int {
	w := defaultWiring()
	if mode == "notify" {
		// The real wiring, untouched: systemd notifications come from it.
		a := newApp(os.Stdin, os.Stdout, os.Stderr, w)
		return a.execute(context.Background(), []string{"run", "--config", os.Getenv("ADPACER_TEST_CONFIG")})
	}
	w.Jobs = func(context.Context, Deps) ([]schedule.Job, error) {
		return []schedule.Job{{
			Name: "drain_probe", Schedule: "@every 1s", Timeout: time.Minute,
			Run: func(ctx context.Context) error {
				fmt.Fprintln(os.Stdout, "job started")
				switch mode {
				case "drain":
					time.Sleep(2 * time.Second)
				case "stuck":
					<-ctx.Done()
					fmt.Fprintln(os.Stdout, "job cancelled")
					return ctx.Err()
				}
				fmt.Fprintln(os.Stdout, "job finished")
				return nil
			},
		}}, nil
	}
	a := newApp(os.Stdin, os.Stdout, os.Stderr, w)
	return a.execute(context.Background(), []string{"run", "--config", os.Getenv("ADPACER_TEST_CONFIG")})
}

var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := noKeepAlive.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// lines collects a stream's lines and lets a test wait for one.
type lines struct {
	mu   sync.Mutex
	all  []string
	cond chan struct{}
}

func newLines(r io.Reader) *lines {
	l := &lines{cond: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
			select {
			case l.cond <- struct{}{}:
			default:
			}
		}
	}()
	return l
}

func (l *lines) find(pred func(string) bool) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.all {
		if pred(s) {
			return s, true
		}
	}
	return "", false
}

func (l *lines) wait(t *testing.T, what string, d time.Duration, pred func(string) bool) string {
	t.Helper()
	deadline := time.After(d)
	for {
		if s, ok := l.find(pred); ok {
			return s
		}
		select {
		case <-l.cond:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s; saw:\n%s", d, what, l.String())
		}
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// serverAddr finds the telemetry address in JSON log lines.
func serverAddr(line string) (string, bool) {
	var m struct {
		Msg  string `json:"msg"`
		Addr string `json:"addr"`
	}
	if json.Unmarshal([]byte(line), &m) != nil || m.Msg != "serving telemetry" {
		return "", false
	}
	return m.Addr, true
}

func TestSignalDrainsRunningJobAndExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		mode    string
		timeout string
		code    int
		want    string
	}{
		{"SIGTERM drains", syscall.SIGTERM, "drain", "20s", 0, "job finished"},
		{"SIGINT drains", syscall.SIGINT, "drain", "20s", 0, "job finished"},
		{"SIGTERM cancels a job at shutdown_timeout", syscall.SIGTERM, "stuck", "1s", ExitRuntime, "job cancelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "config.yaml", fmt.Sprintf(`mode: observe
instance_name: proc-test
store:
  sqlite: {path: %s}
http:
  listen: 127.0.0.1:0
log: {level: info, format: json}
shutdown_timeout: %s
`, filepath.Join(dir, "adpacer.db"), tc.timeout))
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+tc.mode, "ADPACER_TEST_CONFIG="+cfg)
			stdout, _ := cmd.StdoutPipe()
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			out, logs := newLines(stdout), newLines(stderr)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})

			line := logs.wait(t, "the telemetry server", 20*time.Second, func(s string) bool { _, ok := serverAddr(s); return ok })
			addr, _ := serverAddr(line)
			if code, body := httpGet(t, "http://"+addr+"/healthz"); code != 200 {
				t.Errorf("/healthz = %d %s, want 200", code, body)
			}
			// The telemetry server listens before the scheduler reports
			// "running"; a readiness probe polls, and so does this test.
			var ready int
			var body string
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				ready, body = httpGet(t, "http://"+addr+"/readyz")
				if ready == 200 || time.Now().After(deadline) {
					break
				}
			}
			if ready != 200 || !strings.Contains(body, `"name":"store_migrated","ok":true`) {
				t.Errorf("/readyz = %d %s 10s after the server started, want 200 with the store migrated", ready, body)
			}
			out.wait(t, "the job to start", 20*time.Second, func(s string) bool { return s == "job started" })
			_, metrics := httpGet(t, "http://"+addr+"/metrics")
			for _, want := range []string{"adpacer_build_info{", `adpacer_job_running{job="drain_probe"} 1`} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}

			start := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-exited:
				exited <- err // for the cleanup
			case <-time.After(30 * time.Second):
				t.Fatalf("process still running 30s after %s; logs:\n%s", tc.sig, logs)
			}
			elapsed := time.Since(start)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			// Give the readers a moment to drain the pipes.
			out.wait(t, tc.want, 5*time.Second, func(s string) bool { return s == tc.want })
			if code != tc.code {
				t.Errorf("exit code %d after %s, want %d; logs:\n%s", code, tc.sig, tc.code, logs)
			}
			t.Logf("%s: exit %d after %s", tc.sig, code, elapsed.Round(time.Millisecond))
			if tc.code == 0 {
				logs.wait(t, "shutdown complete", 5*time.Second, func(s string) bool { return strings.Contains(s, `"shutdown complete"`) })
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCLI runs the CLI in-process.
func runCLI(t *testing.T, w Wiring, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e syncBuffer
	a := newApp(strings.NewReader(""), &o, &e, w)
	code = a.execute(context.Background(), args)
	return code, o.String(), e.String()
}
