package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/sqlite"
	"github.com/adpacer/adpacer/store/sqlite/sqlitetest"
)

func TestAuditEditsCountsAppliedBudgetEditsPerMoscowDay(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC) // 12:00 MSK
	st := migratedStore(t, now)
	c := adpacer.CampaignID("yandex_direct:1")
	add := func(at time.Time, kind adpacer.ActionKind, outcome string) {
		if _, err := st.AppendAudit(ctx, store.AuditEntry{At: at, Actor: "applier", Campaign: c, Kind: string(kind), Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	add(time.Date(2026, 11, 15, 20, 30, 0, 0, time.UTC), adpacer.SetDailyBudget, "applied") // 23:30 MSK the day before
	add(time.Date(2026, 11, 15, 21, 30, 0, 0, time.UTC), adpacer.SetDailyBudget, "applied") // 00:30 MSK
	add(time.Date(2026, 11, 16, 6, 0, 0, 0, time.UTC), adpacer.SetDailyBudget, "failed")
	add(time.Date(2026, 11, 16, 7, 0, 0, 0, time.UTC), adpacer.SetBid, "applied")
	// A replay that found its own write in place (it landed before a
	// crash recorded it) was an edit Yandex counted.
	add(time.Date(2026, 11, 16, 7, 30, 0, 0, time.UTC), adpacer.SetDailyBudget, "noop")
	e := &auditEdits{st: st, now: func() time.Time { return now }}
	if n, err := e.BudgetEdits(ctx, c, "2026-11-16"); err != nil || n != 2 {
		t.Fatalf("edits today = %d, %v; want 2", n, err)
	}
	// The connector reports its own write; the cache follows at once.
	if err := e.SetBudgetEdits(ctx, c, "2026-11-16", 3); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.BudgetEdits(ctx, c, "2026-11-16"); n != 3 {
		t.Fatalf("after a write: %d, want 3", n)
	}
	// A minute later the audit log is read again and is the truth; the
	// engine's audit lines (planned, dry_run) are not edits.
	add(time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC), adpacer.SetDailyBudget, "applied")
	if _, err := st.AppendAudit(ctx, store.AuditEntry{At: time.Date(2026, 11, 16, 8, 10, 0, 0, time.UTC), Actor: "engine", Campaign: c,
		Kind: string(adpacer.SetDailyBudget), Outcome: "planned"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if n, _ := e.BudgetEdits(ctx, c, "2026-11-16"); n != 3 {
		t.Fatalf("after reload: %d, want 3", n)
	}
	if n, _ := e.BudgetEdits(ctx, c, "2026-11-15"); n != 1 {
		t.Fatalf("yesterday: %d, want 1", n)
	}
}

// migratedStore is a fresh, migrated SQLite store whose clock stands at
// now, closed when the test ends.
func migratedStore(t *testing.T, now time.Time) *sqlite.Store {
	return sqlitetest.Open(t, sqlite.Options{Now: func() time.Time { return now }})
}
