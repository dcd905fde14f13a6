package demo

import (
	"testing"

	"go.uber.org/goleak"
)

// The demo starts the daemon's scheduler, its HTTP servers and every fake
// on goroutines, and must stop all of them when Run returns: a demo that
// leaves a server or job running would keep a real `adpacer demo` process
// from exiting cleanly.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
