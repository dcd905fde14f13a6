package main

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The real wiring: `adpacer run` opens and migrates the SQLite store, builds
// the daemon, serves the status page, and a second `run` on the same
// database file refuses to start with a clear message.
func TestDefaultWiringRunsAndLocksTheDatabase(t *testing.T) {
	cfg := minimalConfig(t, "")
	addr, logs, stop := startDaemon(t, defaultWiring(), cfg)
	if code, body := httpGet(t, "http://"+addr+"/readyz"); code != 200 || !strings.Contains(body, `"ready":true`) {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, body := httpGet(t, "http://"+addr+"/"); code != 200 || !strings.Contains(body, "budget pacing") {
		t.Errorf("status page = %d %.200s", code, body)
	}
	code, _, stderr := runCLI(t, defaultWiring(), "run", cfg)
	if code == ExitOK || !strings.Contains(stderr, "in use by another adpacer process") {
		t.Errorf("second run on the same database: exit %d, stderr %q", code, stderr)
	}
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d; logs:\n%s", code, logs.String())
	}
}

func TestMigrateUpAndStatus(t *testing.T) {
	cfg := minimalConfig(t, "")
	code, out, stderr := runCLI(t, defaultWiring(), "migrate", "status", cfg)
	if code != ExitOK || !strings.Contains(out, "pending") {
		t.Fatalf("status before up: exit %d out %q err %q", code, out, stderr)
	}
	if code, out, stderr := runCLI(t, defaultWiring(), "migrate", "up", cfg); code != ExitOK || !strings.Contains(out, "migrated") {
		t.Fatalf("up: exit %d out %q err %q", code, out, stderr)
	}
	code, out, _ = runCLI(t, defaultWiring(), "migrate", "status", cfg)
	if code != ExitOK || strings.Contains(out, "pending") || !strings.Contains(out, "applied") {
		t.Fatalf("status after up: exit %d out %q", code, out)
	}
}

// Beyond loopback the status page and its JSON need the bearer token from
// the secret file; /metrics and the probes stay open for Prometheus and
// the kubelet.
func TestStatusPageNeedsTokenBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	token := "s3cret-status-token"
	writeFile(t, dir, "status-token", token+"\n")
	cfg := writeFile(t, dir, "config.yaml", fmt.Sprintf("mode: observe\nstore: {sqlite: {path: %s}}\nhttp: {listen: \"0.0.0.0:0\", status_token_file: %s}\nlog: {format: json}\n",
		filepath.Join(dir, "db"), filepath.Join(dir, "status-token")))
	addr, logs, stop := startDaemon(t, defaultWiring(), cfg)
	_, port, _ := net.SplitHostPort(addr)
	base := "http://127.0.0.1:" + port
	get := func(path, auth string) int {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/", "/api/status"} {
		for _, auth := range []string{"", "Bearer wrong", token, "Basic " + token} {
			if code := get(path, auth); code != http.StatusUnauthorized {
				t.Errorf("%s with %q: %d, want 401", path, auth, code)
			}
		}
		if code := get(path, "Bearer "+token); code != http.StatusOK {
			t.Errorf("%s with the token: %d", path, code)
		}
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if code := get(path, ""); code != http.StatusOK {
			t.Errorf("%s without a token: %d, want 200", path, code)
		}
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the status token reached the logs")
	}
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
}
