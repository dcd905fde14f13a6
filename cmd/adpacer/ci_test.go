package main

import (
	"os"
	"os/exec"
	"testing"
)

// envCI is set by .ci/run. There a test whose tool or service is missing
// fails instead of skipping, so a green CI run means these process-level
// tests really ran.
const envCI = "ADPACER_CI"

// skipOrFail skips on a developer's machine and fails under ADPACER_CI.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv(envCI) != "" {
		t.Fatalf("%s, and %s is set: CI must run this test", why, envCI)
	}
	t.Skip(why)
}

// requireTool returns the path of the named tool or calls skipOrFail.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, name+" is not on PATH")
	}
	return path
}
