package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/internal/sqlstore"
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

// queryPlan returns SQLite's plan of query.
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.Reader().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// TestAuditSinceReadsTheIndex: the cycle reads the last day or two of the
// audit log on every pace and pull. SQLite must answer that from the at_us
// index, not by walking the whole log in seq order (which it prefers for a
// plain ORDER BY seq, and which made each read as slow as the log is long).
func TestAuditSinceReadsTheIndex(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, filepath.Join(t.TempDir(), "adpacer.db"), Options{})
	defer s.Close()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50 {
		if _, err := s.AppendAudit(ctx, store.AuditEntry{At: at.Add(time.Duration(i) * time.Hour), Actor: "engine", Kind: "set_bid"}); err != nil {
			t.Fatal(err)
		}
	}
	if p := queryPlan(t, s, sqlstore.AuditSinceQuery, at.UnixMicro()); !strings.Contains(p, "USING INDEX audit_log_at") && !strings.Contains(p, "USING COVERING INDEX audit_log_at") {
		t.Errorf("audit read since a time does not use the at_us index: %s", p)
	}
	got, err := s.Audit(ctx, at.Add(47*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Seq >= got[1].Seq || got[1].Seq >= got[2].Seq {
		t.Errorf("audit since hour 47: %+v", got)
	}
}

// TestSpendSnapshotsReadThePrimaryKey: the pace's read of today's
// snapshots of its campaigns walks the primary key, which holds each
// campaign's day in order with its costs, instead of the day index and a
// table lookup per row; and it returns what it should.
func TestSpendSnapshotsReadThePrimaryKey(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, filepath.Join(t.TempDir(), "adpacer.db"), Options{})
	defer s.Close()
	if p := queryPlan(t, s, sqlstore.SpendSnapshotsByCampaignQuery, "2026-11-16", `["yandex_direct:1"]`); !strings.Contains(p, "PRIMARY KEY (campaign_id=? AND day=?)") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("snapshots of a day by campaign: plan %s", p)
	}
	a, b := adpacer.NewCampaignID(adpacer.YandexDirect, "1"), adpacer.NewCampaignID(adpacer.YandexDirect, "2")
	at := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	var sns []adpacer.SpendSnapshot
	for i, c := range []adpacer.CampaignID{b, a, b, a} {
		for _, day := range []string{"2026-11-15", "2026-11-16"} {
			sns = append(sns, adpacer.SpendSnapshot{Campaign: c, Day: day, At: at.Add(time.Duration(3-i) * time.Minute), Cost: adpacer.Micros(i + 1)})
		}
	}
	if err := s.SaveAdBatch(ctx, "y", adpacer.AdBatch{Campaigns: []adpacer.Campaign{storetest.Campaign(a, "RUB"), storetest.Campaign(b, "RUB")}, Snapshots: sns}, adpacer.Cursor{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SpendSnapshots(ctx, []adpacer.CampaignID{a, b}, "2026-11-16")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, sn := range got {
		order = append(order, fmt.Sprintf("%s@%d=%d", sn.Campaign, sn.At.Minute(), sn.Cost))
	}
	if want := "yandex_direct:1@0=4 yandex_direct:1@2=2 yandex_direct:2@1=3 yandex_direct:2@3=1"; strings.Join(order, " ") != want {
		t.Errorf("snapshots of 2026-11-16: %s, want %s", strings.Join(order, " "), want)
	}
}

// TestStatsChangesPruned: the store keeps only its newest stats writes; a
// reader whose revision is older than them is told it cannot know what
// changed, and one within them still gets the earliest start.
func TestStatsChangesPruned(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, filepath.Join(t.TempDir(), "adpacer.db"), Options{statsChangesKept: 3})
	defer s.Close()
	id := adpacer.NewCampaignID(adpacer.GoogleAds, "1")
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		start := day.Add(time.Duration(10-i) * time.Hour) // each write reaches an hour further back
		b := adpacer.AdBatch{Campaigns: []adpacer.Campaign{storetest.Campaign(id, "RUB")},
			Stats: []adpacer.Stat{{Campaign: id, Start: start, End: start.Add(time.Hour), Cost: 1}}}
		if err := s.SaveAdBatch(ctx, "g", b, adpacer.Cursor{Value: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for since, want := range map[int64]store.StatsChanges{
		0: {Revision: 5},
		1: {Revision: 5},
		2: {Revision: 5, Earliest: day.Add(6 * time.Hour), Complete: true}, // writes 3..5 kept
		4: {Revision: 5, Earliest: day.Add(6 * time.Hour), Complete: true},
		5: {Revision: 5, Complete: true},
	} {
		got, err := s.StatsChangesSince(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("StatsChangesSince(%d) = %+v, want %+v", since, got, want)
		}
	}
	var rows int
	if err := s.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM stats_changes`).Scan(&rows); err != nil || rows != 3 {
		t.Errorf("stats_changes holds %d rows (%v), want the newest 3", rows, err)
	}
}
