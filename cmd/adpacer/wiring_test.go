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
