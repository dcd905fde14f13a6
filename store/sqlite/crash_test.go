package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store/storetest"
)

// The crash tests re-execute the test binary as a writer and SIGKILL it: a
// graceful Close is no stand-in for a crash (ops-notes 6.8).

const (
	envCrash     = "ADPACER_SQLITE_CRASH_DB"
	envCrashMode = "ADPACER_SQLITE_CRASH_MODE" // "hook": block inside the last tx; "loop": write until killed
)

func crashChildMain() {
	path := os.Getenv(envCrash)
	if path == "" {
		return
	}
	var block atomic.Bool
	opts := Options{beforeCommit: func() {
		if block.Load() {
			fmt.Println("IN-TX")
			select {} // hold the transaction open until SIGKILL
		}
	}}
	ctx := context.Background()
	s, err := Open(ctx, path, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	for i := 1; ; i++ {
		campaigns := 2
		if os.Getenv(envCrashMode) == "hook" && i == 6 {
			block.Store(true)
			campaigns = 400 // ~10,000 rows, several MB of dirty pages
		}
		if err := s.SaveAdBatch(ctx, "crash", storetest.CrashBatch(i, campaigns), adpacer.Cursor{Value: strconv.Itoa(i)}); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(3)
		}
		fmt.Println("COMMITTED", i)
	}
}

// verifyCrash reopens the database and checks that exactly the batches up
// to the cursor are there, nothing of later ones, and integrity is ok.
func verifyCrash(t *testing.T, path string, minCommitted int) int {
	t.Helper()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err) // also proves the flock died with the process
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	return storetest.CheckCrashBatches(t, s, minCommitted)
}

func prepareCrashDB(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "crash.db")
	s := openMigrated(t, path, Options{})
	s.Close()
	return path
}

// crashDB prepares a fresh database for one SIGKILL run.
func crashDB(t *testing.T) storetest.CrashDB {
	path := prepareCrashDB(t)
	return storetest.CrashDB{Env: envCrash + "=" + path, Verify: func(min int) int { return verifyCrash(t, path, min) }}
}

func TestSIGKILLMidTransaction(t *testing.T) {
	storetest.SIGKILLMidTransaction(t, crashDB(t), envCrashMode)
}

func TestSIGKILLAtRandomPoint(t *testing.T) {
	storetest.SIGKILLAtRandomPoint(t, func() storetest.CrashDB { return crashDB(t) }, envCrashMode)
}

func TestProcessLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	s := openMigrated(t, path, Options{})
	_, err := Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	want := fmt.Sprintf("database %s is in use by another adpacer process (pid %d)", path, os.Getpid())
	if got := err.Error(); !strings.Contains(got, want) {
		t.Fatalf("error %q does not say %q", got, want)
	}
	ro, err := Open(context.Background(), path, Options{NoProcessLock: true})
	if err != nil {
		t.Fatalf("Open without the process lock: %v", err)
	}
	if st, err := ro.MigrationStatus(context.Background()); err != nil || !st[0].Applied {
		t.Fatalf("migration status beside the daemon: %+v %v", st, err)
	}
	ro.Close()
	s.Close()
	again, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open after the holder closed: %v", err)
	}
	again.Close()
}
