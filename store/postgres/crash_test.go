package postgres

// The crash tests mirror store/sqlite/crash_test.go: the test binary
// re-executes itself as a writer (ADPACER_PG_CRASH_DSN set), the parent
// SIGKILLs it mid-transaction or at a random point, waits until the server
// has ended the dead client's sessions, reopens the store and checks that
// every batch the child reported committed is complete, no later batch is
// visible, and the schema's constraints hold (PostgreSQL's stand-in for
// SQLite's integrity_check). A graceful Close is no stand-in for a crash.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store/storetest"
)

const (
	envCrash     = "ADPACER_PG_CRASH_DSN"
	envCrashMode = "ADPACER_PG_CRASH_MODE" // "hook": block inside the 6th tx; "loop": write until killed
)

// crashChildMain is the writer. In hook mode the 6th batch (400 campaigns,
// 9,600 stats) is held open just before its last statement, the cursor
// upsert (SaveAdBatch writes the cursor last): a second connection of the
// child holds an EXCLUSIVE lock on cursors, and the child prints IN-TX
// once the server shows the writer waiting on it, with the batch's
// campaigns and stats already written inside the open transaction.
func crashChildMain() {
	dsn := os.Getenv(envCrash)
	if dsn == "" {
		return
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	s, err := Open(ctx, dsn, Options{MaxConns: 4})
	if err != nil {
		fail(err)
	}
	hook := os.Getenv(envCrashMode) == "hook"
	for i := 1; ; i++ {
		if hook && i == 6 {
			holder, err := s.Pool().Acquire(ctx)
			if err != nil {
				fail(err)
			}
			// The holder idles in its transaction until the kill; the
			// store's 5s idle timeout must not end it first.
			if _, err := holder.Exec(ctx, "SET idle_in_transaction_session_timeout = 0"); err != nil {
				fail(err)
			}
			tx, err := holder.Begin(ctx)
			if err != nil {
				fail(err)
			}
			if _, err := tx.Exec(ctx, "LOCK TABLE cursors IN EXCLUSIVE MODE"); err != nil {
				fail(err)
			}
			go func() {
				err := s.SaveAdBatch(ctx, "crash", storetest.CrashBatch(i, 400), adpacer.Cursor{Value: strconv.Itoa(i)})
				fail(fmt.Errorf("batch %d returned (%v) while the cursors lock was held", i, err))
			}()
			for {
				var waiting int
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE relation = 'cursors'::regclass AND NOT granted`).Scan(&waiting); err != nil {
					fail(err)
				}
				if waiting > 0 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			fmt.Println("IN-TX")
			select {} // hold both transactions open until SIGKILL
		}
		if err := s.SaveAdBatch(ctx, "crash", storetest.CrashBatch(i, 2), adpacer.Cursor{Value: strconv.Itoa(i)}); err != nil {
			fail(err)
		}
		fmt.Println("COMMITTED", i)
	}
}

// prepareCrashDB migrates a fresh schema and returns the parent's DSN and
// the child's, which differs only by an application_name that marks the
// child's sessions.
func prepareCrashDB(t *testing.T) (dsn, childDSN, app string) {
	t.Helper()
	s, dsn := backend.New(t)
	s.Close()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s must be a postgres:// URL for the crash tests: %v", EnvDSN, err)
	}
	app = fmt.Sprintf("adpacer_crash_%d_%d", os.Getpid(), time.Now().UnixNano())
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return dsn, u.String(), app
}

// waitSessionsGone waits until the server has ended every session of the
// killed child, so its open transactions are rolled back (or, for a COMMIT
// that reached the server before the kill, committed) before the check.
func waitSessionsGone(t *testing.T, s *Store, app string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions of the killed child still open after 30s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// constraintChecks are PostgreSQL's stand-in for integrity_check: each
// query counts rows that break an invariant of the schema; all must be 0.
var constraintChecks = map[string]string{
	"constraints not validated":       `SELECT count(*) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND NOT convalidated`,
	"stats_hourly without a campaign": `SELECT count(*) FROM stats_hourly h LEFT JOIN campaigns c ON c.key = h.campaign_key WHERE c.key IS NULL`,
	"stats_other without a campaign":  `SELECT count(*) FROM stats_other o LEFT JOIN campaigns c ON c.key = o.campaign_key WHERE c.key IS NULL`,
	"snapshots without a campaign":    `SELECT count(*) FROM spend_snapshots n LEFT JOIN campaigns c ON c.id = n.campaign_id WHERE c.id IS NULL`,
	"ad statuses without a campaign":  `SELECT count(*) FROM ad_statuses a LEFT JOIN campaigns c ON c.id = a.campaign_id WHERE c.id IS NULL`,
	"campaigns without hourly stats":  `SELECT count(*) FROM campaigns c WHERE NOT EXISTS (SELECT 1 FROM stats_hourly h WHERE h.campaign_key = c.key)`,
	"duplicate campaign ids":          `SELECT count(*) FROM (SELECT id FROM campaigns GROUP BY id HAVING count(*) > 1) d`,
	"negative costs":                  `SELECT count(*) FROM stats_other WHERE cost < 0 OR clicks < 0 OR impressions < 0 OR conversions < 0`,
	"crash cursor rows":               `SELECT count(*) - 1 FROM cursors WHERE source = 'crash'`,
}

// verifyCrash reopens the store and checks that exactly the batches up to
// the cursor are there, nothing of later ones, and the constraints hold.
// It returns the cursor.
func verifyCrash(t *testing.T, dsn, app string, minCommitted int) int {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dsn, Options{MaxConns: 2})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	waitSessionsGone(t, s, app)
	for what, q := range constraintChecks {
		var n int
		if err := s.Pool().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n != 0 {
			t.Errorf("after the crash: %d %s", n, what)
		}
	}
	return storetest.CheckCrashBatches(t, s, minCommitted)
}

// crashDB prepares a fresh database for one SIGKILL run.
func crashDB(t *testing.T) storetest.CrashDB {
	dsn, childDSN, app := prepareCrashDB(t)
	return storetest.CrashDB{Env: envCrash + "=" + childDSN, Verify: func(min int) int { return verifyCrash(t, dsn, app, min) }}
}

func TestSIGKILLMidTransaction(t *testing.T) {
	storetest.SIGKILLMidTransaction(t, crashDB(t), envCrashMode)
}

func TestSIGKILLAtRandomPoint(t *testing.T) {
	storetest.SIGKILLAtRandomPoint(t, func() storetest.CrashDB { return crashDB(t) }, envCrashMode)
}
