package main

import (
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
