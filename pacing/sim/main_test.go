package sim

import (
	"testing"

	"go.uber.org/goleak"
)

// RunWith starts worker goroutines; none may outlive a run.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
