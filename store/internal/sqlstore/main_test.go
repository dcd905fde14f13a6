package sqlstore

import (
	"testing"

	"go.uber.org/goleak"
)

// sqlstore runs on database/sql pools, whose connection openers and
// context watchers are goroutines: a test here that forgets to close a
// pool, rows or a transaction fails the package instead of passing with a
// leak the daemon would carry.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
