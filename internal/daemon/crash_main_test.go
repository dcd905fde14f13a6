package daemon_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the crash test's child when the parent re-executes the
// binary (see crashChild), and otherwise the tests under goleak.
func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(crashChild())
	}
	goleak.VerifyTestMain(m)
}
