// Package sqlitetest opens throwaway SQLite stores for other packages'
// tests, so each does not carry its own copy of open, migrate and close.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/adpacer/adpacer/store/sqlite"
)

// Open returns a new, migrated SQLite store in a temporary directory of t,
// opened with opts and closed when the test ends.
func Open(t testing.TB, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "adpacer.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}
