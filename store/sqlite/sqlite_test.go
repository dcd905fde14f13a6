package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/storetest"
)

var backend = storetest.Backend{
	New: func(t *testing.T) (store.Store, string) {
		path := filepath.Join(t.TempDir(), "adpacer.db")
		s := openMigrated(t, path, Options{})
		return s, path
	},
	Open: func(ctx context.Context, addr string) (store.Store, error) {
		return Open(ctx, addr, Options{NoProcessLock: true})
	},
}

func openMigrated(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

func TestMain(m *testing.M) {
	storetest.ChildMain(backend)
	crashChildMain()
	code := m.Run()
	if code == 0 {
		// Every store closed its connections and readers finished.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestBehaviour(t *testing.T) { storetest.Run(t, backend) }
