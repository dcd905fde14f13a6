package deploy

import (
	"os"
	"os/exec"
	"testing"
)

// envCI is set by .ci/run. There a check whose tool is missing fails
// instead of skipping: CI installs every tool these checks need, and a
// green run must mean the manifests, rules and unit were really checked.
const envCI = "ADPACER_CI"

// requireTool returns the path of the named tool, or skips the test (on a
// developer's machine) or fails it (under ADPACER_CI) when it is missing.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(envCI) != "" {
		t.Fatalf("%s is not on PATH but %s is set: CI must run this check (%s)", name, envCI, install)
	}
	t.Skipf("%s not installed, check skipped (%s; .ci/run installs it and fails without it)", name, install)
	return ""
}
