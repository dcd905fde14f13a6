package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// Run runs the behaviour suite against b.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, addr string, b Backend)
	}{
		{"Migrations", testMigrations},
		{"AdBatchRoundTrip", testAdBatchRoundTrip},
		{"Restatement", testRestatement},
		{"StatsChanges", testStatsChanges},
		{"BadDataTypedErrors", testBadData},
		{"CursorAtomicWithBatch", testCursorAtomic},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentMergeSameWeek", testConcurrentMerge},
		{"ManyCampaignsOneWeek", testManyCampaigns},
		{"PacingHistory", testPacingHistory},
		{"PacingHistoryManyCampaigns", testPacingHistoryMany},
		{"SpendSnapshotsIdempotent", testSnapshots},
		{"BoardBatch", testBoardBatch},
		{"TimeBatchReconcile", testTimeBatch},
		{"BudgetLines", testBudgetLines},
		{"Ledger", testLedger},
		{"LedgerConcurrentClaims", testConcurrentClaims},
		{"LedgerClaimTwoProcesses", testTwoProcessClaim},
		{"EpochFencing", testEpochFencing},
		{"LedgerBatch", testLedgerBatch},
		{"LedgerBatchFencing", testLedgerBatchFencing},
		{"LedgerConcurrentBatchClaims", testConcurrentBatchClaims},
		{"LedgerBatchClaimTwoProcesses", testTwoProcessBatchClaim},
		{"Alerts", testAlerts},
		{"Tokens", testTokens},
		{"Audit", testAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := b.New(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s, addr, b)
		})
	}
}

var (
	day0  = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	rub   = "RUB"
	camp1 = adpacer.NewCampaignID(adpacer.YandexDirect, "101")
	camp2 = adpacer.NewCampaignID(adpacer.GoogleAds, "202")
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mp(v int64) *adpacer.Micros { m := adpacer.Micros(v); return &m }

// Campaign returns a valid campaign for tests.
func Campaign(id adpacer.CampaignID, currency string) adpacer.Campaign {
	return adpacer.Campaign{ID: id, AccountID: "acc-1", Name: "Retail " + string(id), TimeZone: "Asia/Vladivostok", Currency: currency,
		State: adpacer.StateOn, DailyBudget: mp(5_000_000_000), Bid: mp(25_500_000), Strategy: "HIGHEST_POSITION",
		BudgetEditsToday: 1, UpdatedAt: day0.Add(90 * time.Minute)}
}

func hourStat(id adpacer.CampaignID, h int, cost int64) adpacer.Stat {
	start := day0.Add(time.Duration(h) * time.Hour)
	return adpacer.Stat{Campaign: id, Start: start, End: start.Add(time.Hour), Cost: adpacer.Micros(cost), Clicks: int64(h + 30), Impressions: int64(100 * (h + 30)), Conversions: float64((h+30)%3) / 2}
}

func mustSave(t *testing.T, s store.Store, source string, b adpacer.AdBatch, cur string) {
	t.Helper()
	if err := s.SaveAdBatch(ctxT(t), source, b, adpacer.Cursor{Value: cur, UpdatedAt: day0}); err != nil {
		t.Fatalf("SaveAdBatch: %v", err)
	}
}

func wantErr(t *testing.T, err, kind error, mention string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want %v", err, kind)
	}
	if !strings.Contains(err.Error(), mention) {
		t.Fatalf("error %q does not mention %q", err, mention)
	}
}

func testMigrations(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations embedded")
	}
	for _, m := range st {
		if !m.Applied || m.AppliedAt.IsZero() {
			t.Errorf("migration %d %s not applied after Migrate: %+v", m.Version, m.Name, m)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func testAdBatchRoundTrip(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	c1, c2 := Campaign(camp1, rub), Campaign(camp2, rub)
	c2.DailyBudget, c2.Bid, c2.State, c2.TimeZone = nil, nil, adpacer.StatePaused, "Europe/Moscow"
	daily := adpacer.Stat{Campaign: camp2, Start: day0, End: day0.Add(24 * time.Hour), Cost: 7_000_000, Clicks: 3, Impressions: 40, Conversions: 1.25}
	b := adpacer.AdBatch{
		Campaigns: []adpacer.Campaign{c2, c1},
		Stats:     []adpacer.Stat{hourStat(camp1, 0, 1_000_000), hourStat(camp1, 1, 2_500_000), hourStat(camp1, 170, 10_000), daily},
		Snapshots: []adpacer.SpendSnapshot{{Campaign: camp1, Day: "2026-03-02", At: day0.Add(2 * time.Hour), Cost: 3_500_000}},
		Ads:       []adpacer.AdStatus{{Campaign: camp1, AdID: "ad-9", Status: adpacer.ModerationRejected, Reason: "interest rate disclaimer missing", At: day0.Add(time.Hour)}},
	}
	mustSave(t, s, "yandex:acc-1", b, "page-7")

	got, err := s.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []adpacer.Campaign{c1, c2} // ordered by id: google_ads... < yandex_direct...
	if want[0].ID > want[1].ID {
		want[0], want[1] = want[1], want[0]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Campaigns (-want +got):\n%s", d)
	}
	stats, err := s.Stats(ctx, nil, day0, day0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantStats := []adpacer.Stat{daily, hourStat(camp1, 0, 1_000_000), hourStat(camp1, 1, 2_500_000), hourStat(camp1, 170, 10_000)}
	if d := cmp.Diff(wantStats, stats); d != "" {
		t.Errorf("Stats (-want +got):\n%s", d)
	}
	// A narrower window and one campaign.
	stats, err = s.Stats(ctx, []adpacer.CampaignID{camp1}, day0.Add(30*time.Minute), day0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantStats[1:3], stats); d != "" {
		t.Errorf("Stats of camp1 in [00:30, 02:00) (-want +got):\n%s", d)
	}
	ads, err := s.AdStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(b.Ads, ads); d != "" {
		t.Errorf("AdStatuses (-want +got):\n%s", d)
	}
	cur, err := s.Cursor(ctx, "yandex:acc-1")
	if err != nil || cur.Value != "page-7" || !cur.UpdatedAt.Equal(day0) {
		t.Errorf("Cursor = %+v, %v; want page-7", cur, err)
	}
	if cur, err := s.Cursor(ctx, "never"); err != nil || cur != (adpacer.Cursor{}) {
		t.Errorf("Cursor of unknown source = %+v, %v; want zero", cur, err)
	}
	// Ad status upsert by (campaign, ad id).
	b2 := adpacer.AdBatch{Ads: []adpacer.AdStatus{{Campaign: camp1, AdID: "ad-9", Status: adpacer.ModerationAccepted, At: day0.Add(3 * time.Hour)}}}
	mustSave(t, s, "yandex:acc-1", b2, "page-8")
	ads, _ = s.AdStatuses(ctx)
	if len(ads) != 1 || ads[0].Status != adpacer.ModerationAccepted || ads[0].Reason != "" {
		t.Errorf("ad status after upsert = %+v", ads)
	}
}

func testRestatement(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	c := Campaign(camp1, rub)
	daily := adpacer.Stat{Campaign: camp1, Start: day0.Add(-24 * time.Hour), End: day0, Cost: 9_000_000}
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{c}, Stats: []adpacer.Stat{hourStat(camp1, 3, 1_000_000), hourStat(camp1, 4, 2_000_000), daily}}, "1")
	// The platform restates hour 3 and the daily row; hour 4 is not in the pull and stays.
	restated := hourStat(camp1, 3, 1_234_567)
	restated.Conversions = 0.3333
	daily.Cost = 9_500_000
	mustSave(t, s, "src", adpacer.AdBatch{Stats: []adpacer.Stat{restated, daily}}, "2")
	got, err := s.Stats(ctx, []adpacer.CampaignID{camp1}, day0.Add(-48*time.Hour), day0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []adpacer.Stat{daily, restated, hourStat(camp1, 4, 2_000_000)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("after restatement (-want +got):\n%s", d)
	}
	// One batch repeating keys: the last occurrence wins, as in a stream
	// of upserts.
	c2 := c
	c2.Name = "renamed"
	daily2 := daily
	daily2.Cost = 1
	snap := adpacer.SpendSnapshot{Campaign: camp1, Day: "2026-03-02", At: day0.Add(time.Hour), Cost: 5}
	snap2 := snap
	snap2.Cost = 6
	ad := adpacer.AdStatus{Campaign: camp1, AdID: "a1", Status: adpacer.ModerationPending}
	ad2 := ad
	ad2.Status = adpacer.ModerationAccepted
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{c, c2}, Stats: []adpacer.Stat{hourStat(camp1, 4, 7), daily, hourStat(camp1, 4, 8), daily2},
		Snapshots: []adpacer.SpendSnapshot{snap, snap2}, Ads: []adpacer.AdStatus{ad, ad2}}, "3")
	got, _ = s.Stats(ctx, []adpacer.CampaignID{camp1}, day0.Add(-48*time.Hour), day0.Add(48*time.Hour))
	want = []adpacer.Stat{daily2, restated, hourStat(camp1, 4, 8)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("repeated keys in one batch (-want +got):\n%s", d)
	}
	cs, _ := s.Campaigns(ctx)
	sn, _ := s.SpendSnapshots(ctx, nil, "2026-03-02")
	ads, _ := s.AdStatuses(ctx)
	if len(cs) != 1 || cs[0].Name != "renamed" || len(sn) != 1 || sn[0].Cost != 6 || len(ads) != 1 || ads[0].Status != adpacer.ModerationAccepted {
		t.Errorf("repeated keys: campaigns %+v snapshots %+v ads %+v", cs, sn, ads)
	}
}

// testStatsChanges: every ad batch with stats advances the revision by one
// and reports its earliest start to readers of any older revision; batches
// without stats and refused batches do not; a revision the store never
// reached is not answered as if nothing changed.
func testStatsChanges(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	changes := func(since int64) store.StatsChanges {
		t.Helper()
		ch, err := s.StatsChangesSince(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	want := func(since int64, w store.StatsChanges) {
		t.Helper()
		if got := changes(since); got != w {
			t.Errorf("StatsChangesSince(%d) = %+v, want %+v", since, got, w)
		}
	}
	want(0, store.StatsChanges{Complete: true})

	c := Campaign(camp1, rub)
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{c}, Stats: []adpacer.Stat{hourStat(camp1, 30, 1), hourStat(camp1, 29, 2)}}, "1")
	want(0, store.StatsChanges{Revision: 1, Earliest: day0.Add(29 * time.Hour), Complete: true})
	want(1, store.StatsChanges{Revision: 1, Complete: true})

	// Campaigns, snapshots and ads alone change no stat.
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{c},
		Snapshots: []adpacer.SpendSnapshot{{Campaign: camp1, Day: "2026-03-03", At: day0.Add(26 * time.Hour), Cost: 5}}}, "2")
	want(1, store.StatsChanges{Revision: 1, Complete: true})

	// A refused batch writes nothing, so it changes nothing.
	bad := hourStat(camp1, 1, 3)
	bad.Cost = -1
	if err := s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Stats: []adpacer.Stat{hourStat(camp1, 2, 3), bad}}, adpacer.Cursor{Value: "x"}); err == nil {
		t.Fatal("a negative cost was accepted")
	}
	want(1, store.StatsChanges{Revision: 1, Complete: true})

	// A restatement of an older day (a daily row) and a recent hour in
	// one batch: the reader learns the older start.
	daily := adpacer.Stat{Campaign: camp1, Start: day0.Add(-24 * time.Hour), End: day0, Cost: 9}
	mustSave(t, s, "src", adpacer.AdBatch{Stats: []adpacer.Stat{hourStat(camp1, 31, 4), daily}}, "3")
	want(1, store.StatsChanges{Revision: 2, Earliest: daily.Start, Complete: true})
	want(0, store.StatsChanges{Revision: 2, Earliest: daily.Start, Complete: true})
	mustSave(t, s, "src", adpacer.AdBatch{Stats: []adpacer.Stat{hourStat(camp1, 40, 5)}}, "4")
	want(2, store.StatsChanges{Revision: 3, Earliest: day0.Add(40 * time.Hour), Complete: true})
	want(1, store.StatsChanges{Revision: 3, Earliest: daily.Start, Complete: true})

	// A revision ahead of the store's (a database restored from an older
	// copy) cannot be answered.
	if ch := changes(7); ch.Complete || ch.Revision != 3 {
		t.Errorf("StatsChangesSince(7) on a store at revision 3 = %+v, want incomplete", ch)
	}
}

func testBadData(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	c := Campaign(camp1, rub)
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{c}}, "ok")

	neg := hourStat(camp1, 1, -5)
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Stats: []adpacer.Stat{hourStat(camp1, 0, 1), neg}}, adpacer.Cursor{}), store.ErrInvalid, "stats[1].cost")
	ghost := adpacer.NewCampaignID(adpacer.VKAds, "999")
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Stats: []adpacer.Stat{hourStat(ghost, 0, 1)}}, adpacer.Cursor{}), store.ErrInvalid, "stats[0].campaign")
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Snapshots: []adpacer.SpendSnapshot{{Campaign: ghost, Day: "2026-03-02", At: day0, Cost: 1}}}, adpacer.Cursor{}), store.ErrInvalid, "snapshots[0].campaign")
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Ads: []adpacer.AdStatus{{Campaign: ghost, AdID: "a", Status: adpacer.ModerationPending}}}, adpacer.Cursor{}), store.ErrInvalid, "ads[0].campaign")
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Snapshots: []adpacer.SpendSnapshot{{Campaign: camp1, Day: "2026-03-02", At: day0, Cost: -1}}}, adpacer.Cursor{}), store.ErrInvalid, "snapshots[0].cost")
	bad := c
	bad.Currency = "rubles"
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{bad}}, adpacer.Cursor{}), store.ErrInvalid, "campaigns[0].currency")
	bad = c
	bad.DailyBudget = mp(-1)
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{bad}}, adpacer.Cursor{}), store.ErrInvalid, "campaigns[0].daily_budget")
	bad = c
	bad.ID = "bing:1"
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{bad}}, adpacer.Cursor{}), store.ErrInvalid, "campaigns[0].id")

	// Currency mismatch against the campaign's budget line, both ways.
	line := store.BudgetLine{ID: "retail-vvo", TimeZone: "Asia/Vladivostok", PeriodStart: "2026-03-01", PeriodEnd: "2026-03-31",
		Budget: adpacer.FromUnits(1_500_000), Currency: "RUB", Campaigns: []store.Membership{{Campaign: camp1, From: day0.Add(-72 * time.Hour)}}}
	if err := s.SaveBudgetLines(ctx, []store.BudgetLine{line}); err != nil {
		t.Fatal(err)
	}
	usd := c
	usd.Currency = "USD"
	wantErr(t, s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{usd}}, adpacer.Cursor{Value: "bad"}), store.ErrInvalid, "campaigns[0].currency")
	line.Currency = "EUR"
	wantErr(t, s.SaveBudgetLines(ctx, []store.BudgetLine{line}), store.ErrInvalid, "lines[0].currency")

	// Nothing of the refused batches landed.
	stats, err := s.Stats(ctx, nil, day0.Add(-time.Hour), day0.Add(48*time.Hour))
	if err != nil || len(stats) != 0 {
		t.Errorf("refused batches left stats %v (%v)", stats, err)
	}
	cs, _ := s.Campaigns(ctx)
	if len(cs) != 1 || cs[0].Currency != "RUB" {
		t.Errorf("refused batches changed campaigns: %+v", cs)
	}
	if cur, _ := s.Cursor(ctx, "src"); cur.Value != "ok" {
		t.Errorf("refused batch moved the cursor to %q", cur.Value)
	}
}

func testCursorAtomic(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	c := Campaign(camp1, rub)
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{c}, Stats: []adpacer.Stat{hourStat(camp1, 0, 1)}}, "page-1")
	// The batch fails on its last record (FK-level unknown campaign after
	// the campaigns and the first stats are written inside the transaction).
	c2 := Campaign(camp2, rub)
	ghost := adpacer.NewCampaignID(adpacer.VKAds, "999")
	err := s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{c2}, Stats: []adpacer.Stat{hourStat(camp2, 1, 5), hourStat(ghost, 1, 5)}},
		adpacer.Cursor{Value: "page-2"})
	wantErr(t, err, store.ErrInvalid, "stats[1].campaign")
	if cur, _ := s.Cursor(ctx, "src"); cur.Value != "page-1" {
		t.Errorf("cursor = %q after failed batch, want page-1", cur.Value)
	}
	cs, _ := s.Campaigns(ctx)
	if len(cs) != 1 {
		t.Errorf("campaign of the failed batch was kept: %+v", cs)
	}
	// A successful page moves data and cursor together.
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{c2}, Stats: []adpacer.Stat{hourStat(camp2, 1, 5)}}, "page-2")
	if cur, _ := s.Cursor(ctx, "src"); cur.Value != "page-2" {
		t.Errorf("cursor = %q, want page-2", cur.Value)
	}
}

func testConcurrentWriters(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	const writers, batches = 6, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches*2)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			id := adpacer.NewCampaignID(adpacer.YandexDirect, fmt.Sprint(1000+w))
			for i := 0; i < batches; i++ {
				b := adpacer.AdBatch{Campaigns: []adpacer.Campaign{Campaign(id, rub)}}
				for h := 0; h < 24; h++ {
					b.Stats = append(b.Stats, hourStat(id, i*24+h, int64(1000*(w+1))))
				}
				if err := s.SaveAdBatch(ctx, fmt.Sprint("src-", w), b, adpacer.Cursor{Value: fmt.Sprint(i)}); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, i, err)
					return
				}
				if _, err := s.AppendAudit(ctx, store.AuditEntry{Actor: "test", Kind: "write", Detail: fmt.Sprint(w, i)}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	// Readers run beside the writers.
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, err := s.Stats(ctx, nil, day0, day0.Add(20*24*time.Hour)); err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err) // SQLITE_BUSY would surface here
	}
	stats, err := s.Stats(ctx, nil, day0, day0.Add(20*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != writers*batches*24 {
		t.Errorf("%d stats stored, want %d", len(stats), writers*batches*24)
	}
	for w := 0; w < writers; w++ {
		if cur, _ := s.Cursor(ctx, fmt.Sprint("src-", w)); cur.Value != fmt.Sprint(batches-1) {
			t.Errorf("writer %d cursor %q", w, cur.Value)
		}
	}
	audit, _ := s.Audit(ctx, time.Time{}, 0)
	if len(audit) != writers*batches {
		t.Errorf("%d audit entries, want %d", len(audit), writers*batches)
	}
	// Concurrent batches are numbered one by one: none lost, none twice.
	ch, err := s.StatsChangesSince(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.StatsChanges{Revision: writers * batches, Earliest: day0, Complete: true}); ch != want {
		t.Errorf("stats changes after concurrent writers: %+v, want %+v", ch, want)
	}
}

// testConcurrentMerge has writers fill different hours of the same
// campaign-week at once: hourly stats are merged into one block per week, so
// a lost update would drop hours.
func testConcurrentMerge(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{Campaign(camp1, rub)}}, "0")
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for h := w; h < 168; h += writers {
				if err := s.SaveAdBatch(ctx, fmt.Sprint("m-", w), adpacer.AdBatch{Stats: []adpacer.Stat{hourStat(camp1, h, int64(h))}}, adpacer.Cursor{}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stats, err := s.Stats(ctx, nil, day0, day0.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 168 {
		t.Fatalf("%d of 168 hours survived concurrent merges", len(stats))
	}
	for i, st := range stats {
		if st != hourStat(camp1, i, int64(i)) {
			t.Fatalf("hour %d = %+v", i, st)
		}
	}
}

// testManyCampaigns merges hourly pulls of many campaigns into existing
// week blocks (the SQLite backend reads them with one range scan).
func testManyCampaigns(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	cs := BenchCampaigns(80)
	if err := SaveCampaigns(ctx, s, cs[:70]); err != nil {
		t.Fatal(err)
	}
	var first, second []adpacer.Stat
	for i, c := range cs[:70] {
		first = append(first, hourStat(c.ID, 0, int64(i)), hourStat(c.ID, 200, int64(i)))
	}
	mustSave(t, s, "src", adpacer.AdBatch{Stats: first}, "1")
	want := map[adpacer.CampaignID][]adpacer.Stat{}
	for i, c := range cs {
		if i%2 == 0 && i < 70 {
			second = append(second, hourStat(c.ID, 0, int64(1000+i))) // restated
			want[c.ID] = append(want[c.ID], hourStat(c.ID, 0, int64(1000+i)))
		} else if i < 70 {
			want[c.ID] = append(want[c.ID], hourStat(c.ID, 0, int64(i)))
		}
		second = append(second, hourStat(c.ID, 1, int64(2000+i)))
		want[c.ID] = append(want[c.ID], hourStat(c.ID, 1, int64(2000+i)))
		if i < 70 {
			want[c.ID] = append(want[c.ID], hourStat(c.ID, 200, int64(i)))
		}
	}
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: cs[70:], Stats: second}, "2")
	got, err := s.Stats(ctx, nil, day0, day0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	gotBy := map[adpacer.CampaignID][]adpacer.Stat{}
	for _, st := range got {
		gotBy[st.Campaign] = append(gotBy[st.Campaign], st)
	}
	if d := cmp.Diff(want, gotBy); d != "" {
		t.Errorf("stats after merging 80 campaigns (-want +got):\n%s", d)
	}
}

func testPacingHistory(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	c1, c2 := Campaign(camp1, rub), Campaign(camp2, rub)
	b := adpacer.AdBatch{Campaigns: []adpacer.Campaign{c1, c2}}
	// camp1: every hour of 10 days starting a day before day0 (crosses a
	// week block boundary); camp2: a few hours and one daily stat.
	for h := -24; h < 9*24; h++ {
		b.Stats = append(b.Stats, hourStat(camp1, h, int64(1_000_000+h*1000)))
	}
	b.Stats = append(b.Stats, hourStat(camp2, 5, 777), adpacer.Stat{Campaign: camp2, Start: day0.Add(24 * time.Hour), End: day0.Add(48 * time.Hour), Cost: 50})
	mustSave(t, s, "src", b, "x")

	from, to := day0.Add(-6*time.Hour+17*time.Minute), day0.Add(7*24*time.Hour)
	h, err := s.PacingHistory(ctx, nil, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if !h.From.Equal(day0.Add(-6*time.Hour)) || h.Hours != 7*24+6 || len(h.Campaigns) != 2 {
		t.Fatalf("history From=%s Hours=%d campaigns=%d", h.From, h.Hours, len(h.Campaigns))
	}
	// Compare every hour with Stats.
	stats, err := s.Stats(ctx, nil, h.From, to)
	if err != nil {
		t.Fatal(err)
	}
	idx := map[adpacer.CampaignID]*store.CampaignHistory{}
	for i := range h.Campaigns {
		idx[h.Campaigns[i].Campaign] = &h.Campaigns[i]
	}
	var hourly, other int
	for _, st := range stats {
		c := idx[st.Campaign]
		if st.End.Sub(st.Start) != time.Hour {
			other++
			if len(c.Other) != 1 || c.Other[0] != st {
				t.Errorf("Other of %s = %+v, want %+v", st.Campaign, c.Other, st)
			}
			continue
		}
		hourly++
		i := int(st.Start.Sub(h.From) / time.Hour)
		if !c.Has(i) || c.Cost[i] != st.Cost || c.Clicks[i] != st.Clicks || c.Conversions[i] != st.Conversions {
			t.Fatalf("hour %d of %s: has=%v cost=%d clicks=%d conv=%v; want %+v", i, st.Campaign, c.Has(i), c.Cost[i], c.Clicks[i], c.Conversions[i], st)
		}
	}
	if hourly != h.Hours+1 || other != 1 {
		t.Errorf("stats compared: hourly %d other %d", hourly, other)
	}
	c2h := idx[camp2]
	if c2h.LastHour() != 6+5 || c2h.Has(0) {
		t.Errorf("camp2 LastHour %d", c2h.LastHour())
	}
	// Local days in Vladivostok (UTC+10): From is 2026-03-01 18:00 UTC,
	// 2026-03-02 04:00 local, so the first local day has 20 hours.
	vvo, _ := time.LoadLocation("Asia/Vladivostok")
	days := h.LocalDays(idx[camp1], vvo)
	var sum adpacer.Micros
	for _, d := range days {
		sum += d.Cost
	}
	var want adpacer.Micros
	for _, st := range stats {
		if st.Campaign == camp1 {
			want += st.Cost
		}
	}
	if sum != want {
		t.Errorf("local days sum %s, want %s", sum, want)
	}
	if days[0].Date != "2026-03-02" || days[0].Hours != 20 || len(days) != 8 {
		t.Errorf("first local day %+v", days[0])
	}
	how := h.HourOfWeek(idx[camp1], vvo)
	// Monday 00:00 UTC is Monday 10:00 in Vladivostok: index 10.
	if how[10] != hourStat(camp1, 0, 1_000_000).Cost {
		t.Errorf("hour-of-week[Mon 10:00 local] = %s, want %s", how[10], adpacer.Micros(1_000_000))
	}
	// Unknown ids are left out; a subset is honoured.
	h, err = s.PacingHistory(ctx, []adpacer.CampaignID{camp2, "vk_ads:1"}, from, to)
	if err != nil || len(h.Campaigns) != 1 || h.Campaigns[0].Campaign != camp2 {
		t.Fatalf("subset history: %+v %v", h, err)
	}
	if _, err := s.PacingHistory(ctx, nil, to, from); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("reversed range: %v", err)
	}
}

func testSnapshots(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	sn := []adpacer.SpendSnapshot{
		{Campaign: camp1, Day: "2026-03-02", At: day0.Add(time.Hour), Cost: 100},
		{Campaign: camp1, Day: "2026-03-02", At: day0.Add(2 * time.Hour), Cost: 250},
		{Campaign: camp2, Day: "2026-03-02", At: day0.Add(time.Hour), Cost: 7},
		{Campaign: camp1, Day: "2026-03-03", At: day0.Add(25 * time.Hour), Cost: 1},
	}
	b := adpacer.AdBatch{Campaigns: []adpacer.Campaign{Campaign(camp1, rub), Campaign(camp2, rub)}, Snapshots: sn}
	mustSave(t, s, "src", b, "1")
	mustSave(t, s, "src", adpacer.AdBatch{Snapshots: sn[:2]}, "2") // the same pull again
	got, err := s.SpendSnapshots(ctx, nil, "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	want := []adpacer.SpendSnapshot{sn[2], sn[0], sn[1]}
	if want[0].Campaign > want[1].Campaign {
		want = []adpacer.SpendSnapshot{sn[0], sn[1], sn[2]}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("snapshots (-want +got):\n%s", d)
	}
	got, _ = s.SpendSnapshots(ctx, []adpacer.CampaignID{camp2}, "2026-03-02")
	if len(got) != 1 || got[0] != sn[2] {
		t.Errorf("snapshots of camp2: %+v", got)
	}
}

func testBoardBatch(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	due := day0.Add(11 * time.Hour)
	b := adpacer.BoardBatch{
		Board:   adpacer.Board{ID: "b1", Name: "Bank"},
		Lists:   []adpacer.List{{ID: "l2", BoardID: "b1", Name: "Doing", Pos: 2}, {ID: "l1", BoardID: "b1", Name: "To do", Pos: 1}},
		Labels:  []adpacer.Label{{ID: "lb1", BoardID: "b1", Name: "urgent", Color: "red"}},
		Members: []adpacer.Member{{ID: "m1", Username: "anna", FullName: "Anna K"}},
		Cards: []adpacer.Card{
			{ID: "c1", BoardID: "b1", ListID: "l1", Name: "Banner rejected", Desc: "rate disclaimer", LabelIDs: []string{"lb1"}, MemberIDs: []string{"m1"},
				Due: &due, LastActivity: day0, ShortURL: "https://trello.com/c/abc", CustomFields: map[string]string{"cf1": "42"}},
			{ID: "c2", BoardID: "b1", ListID: "l2", Name: "Weekly report", LabelIDs: []string{}, MemberIDs: []string{}, CustomFields: map[string]string{}, Closed: true},
		},
	}
	if err := s.SaveBoardBatch(ctx, "trello:b1", b, adpacer.Cursor{Value: "since-x"}); err != nil {
		t.Fatal(err)
	}
	cards, err := s.Cards(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(b.Cards, cards); d != "" {
		t.Errorf("cards (-want +got):\n%s", d)
	}
	lists, _ := s.Lists(ctx, "b1")
	if d := cmp.Diff([]adpacer.List{b.Lists[1], b.Lists[0]}, lists); d != "" {
		t.Errorf("lists (-want +got):\n%s", d)
	}
	labels, _ := s.Labels(ctx, "")
	members, _ := s.Members(ctx)
	boards, _ := s.Boards(ctx)
	if d := cmp.Diff(b.Labels, labels); d != "" {
		t.Errorf("labels: %s", d)
	}
	if d := cmp.Diff(b.Members, members); d != "" {
		t.Errorf("members: %s", d)
	}
	if d := cmp.Diff([]adpacer.Board{b.Board}, boards); d != "" {
		t.Errorf("boards: %s", d)
	}
	if cards, _ := s.Cards(ctx, "other"); len(cards) != 0 {
		t.Errorf("cards of another board: %+v", cards)
	}
	b.Cards[0].BoardID = "b2"
	wantErr(t, s.SaveBoardBatch(ctx, "trello:b1", b, adpacer.Cursor{}), store.ErrInvalid, "cards[0].board_id")
}

func testTimeBatch(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	b := adpacer.TimeBatch{
		Users:    []adpacer.EverhourUser{{ID: 7, Name: "Ivan", Email: "ivan@example.com"}},
		Projects: []adpacer.EverhourProject{{ID: "tr:p1", Name: "Bank", Budget: &adpacer.HoursBudget{Type: "time", Period: "monthly", BudgetSecs: 360000, Progress: 7200}}, {ID: "tr:p2", Name: "Other"}},
		Tasks:    []adpacer.EverhourTask{{ID: "tr:c1", ProjectIDs: []string{"tr:p1"}, Name: "Banner", TrelloCard: "c1", Status: "open"}},
		From:     "2026-03-01", To: "2026-03-03",
		Records: []adpacer.TimeRecord{
			{ID: 1, UserID: 7, Date: "2026-03-01", Seconds: 3600, TaskID: "tr:c1", Comment: "stand-up"},
			{ID: 2, UserID: 7, Date: "2026-03-02", Seconds: 1800},
			{ID: 3, UserID: 7, Date: "2026-03-03", Seconds: 600},
		},
	}
	if err := s.SaveTimeBatch(ctx, "everhour", b, adpacer.Cursor{Value: "2026-03-03"}); err != nil {
		t.Fatal(err)
	}
	// Outside the next pull's range: must survive the reconcile.
	if err := s.SaveTimeBatch(ctx, "everhour", adpacer.TimeBatch{From: "2026-02-27", To: "2026-02-27", Records: []adpacer.TimeRecord{{ID: 9, UserID: 7, Date: "2026-02-27", Seconds: 60}}}, adpacer.Cursor{}); err != nil {
		t.Fatal(err)
	}
	// Record 2 was deleted upstream; record 3 changed.
	b2 := adpacer.TimeBatch{From: "2026-03-01", To: "2026-03-03", Records: []adpacer.TimeRecord{b.Records[0], {ID: 3, UserID: 7, Date: "2026-03-03", Seconds: 900}}}
	if err := s.SaveTimeBatch(ctx, "everhour", b2, adpacer.Cursor{Value: "2"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.TimeRecords(ctx, "2026-02-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	want := []adpacer.TimeRecord{{ID: 9, UserID: 7, Date: "2026-02-27", Seconds: 60}, b.Records[0], {ID: 3, UserID: 7, Date: "2026-03-03", Seconds: 900}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("time records after reconcile (-want +got):\n%s", d)
	}
	users, _ := s.EverhourUsers(ctx)
	projects, _ := s.EverhourProjects(ctx)
	tasks, _ := s.EverhourTasks(ctx)
	if d := cmp.Diff(b.Users, users); d != "" {
		t.Errorf("users: %s", d)
	}
	if d := cmp.Diff(b.Projects, projects); d != "" {
		t.Errorf("projects: %s", d)
	}
	if d := cmp.Diff(b.Tasks, tasks); d != "" {
		t.Errorf("tasks: %s", d)
	}
	bad := adpacer.TimeBatch{From: "2026-03-01", To: "2026-03-02", Records: []adpacer.TimeRecord{{ID: 5, UserID: 7, Date: "2026-03-05", Seconds: 1}}}
	wantErr(t, s.SaveTimeBatch(ctx, "everhour", bad, adpacer.Cursor{}), store.ErrInvalid, "records[0].date")
	bad = adpacer.TimeBatch{Records: []adpacer.TimeRecord{{ID: 5, UserID: 7, Date: "2026-03-05", Seconds: -1}}}
	wantErr(t, s.SaveTimeBatch(ctx, "everhour", bad, adpacer.Cursor{}), store.ErrInvalid, "records[0].seconds")
}

func testBudgetLines(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	mar := store.BudgetLine{ID: "retail-vvo", Name: "Retail Vladivostok", Directorate: "retail", Region: "Far East", Client: "bank", Owner: "anna",
		TimeZone: "Asia/Vladivostok", PeriodStart: "2026-03-01", PeriodEnd: "2026-03-31", Budget: adpacer.FromUnits(1_500_000), Currency: "RUB",
		VATIncluded: true, TargetCPA: mp(2_000_000_000), Mode: "apply",
		Campaigns: []store.Membership{ // ordered by campaign id, as BudgetLines returns them
			{Campaign: camp2, From: day0.Add(-5 * 24 * time.Hour), To: day0.Add(24 * time.Hour)},
			{Campaign: camp1, From: day0.Add(-5 * 24 * time.Hour)},
		}}
	apr := mar
	apr.ID, apr.PeriodStart, apr.PeriodEnd, apr.TargetCPA, apr.Campaigns = "retail-vvo-apr", "2026-04-01", "2026-04-30", nil, []store.Membership{{Campaign: camp1, From: day0}}
	if err := s.SaveBudgetLines(ctx, []store.BudgetLine{mar, apr}); err != nil {
		t.Fatal(err)
	}
	all, err := s.BudgetLines(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]store.BudgetLine{mar, apr}, all); d != "" {
		t.Errorf("all lines (-want +got):\n%s", d)
	}
	at, _ := s.BudgetLines(ctx, day0.Add(48*time.Hour))
	want := mar
	want.Campaigns = mar.Campaigns[1:]
	if d := cmp.Diff([]store.BudgetLine{want}, at); d != "" {
		t.Errorf("lines at day0+2d (-want +got):\n%s", d)
	}
	// 2026-03-31 15:00 UTC is already April 1st in Vladivostok.
	at, _ = s.BudgetLines(ctx, time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC))
	if len(at) != 1 || at[0].ID != "retail-vvo-apr" {
		t.Errorf("lines on local April 1st: %+v", at)
	}
	// Saving replaces the membership.
	mar.Campaigns = mar.Campaigns[:1]
	if err := s.SaveBudgetLines(ctx, []store.BudgetLine{mar}); err != nil {
		t.Fatal(err)
	}
	all, _ = s.BudgetLines(ctx, time.Time{})
	if len(all[0].Campaigns) != 1 || all[0].Campaigns[0].Campaign != camp2 {
		t.Errorf("membership not replaced: %+v", all[0].Campaigns)
	}
	bad := mar
	bad.TimeZone = "Mars/Olympus"
	wantErr(t, s.SaveBudgetLines(ctx, []store.BudgetLine{bad}), store.ErrInvalid, "lines[0].timezone")
	bad = mar
	bad.Campaigns = []store.Membership{{Campaign: camp1, From: day0, To: day0}}
	wantErr(t, s.SaveBudgetLines(ctx, []store.BudgetLine{bad}), store.ErrInvalid, "lines[0].campaigns[0].effective_to")
}

func action(key string) adpacer.Action {
	return adpacer.Action{Key: adpacer.ActionKey(key), Campaign: camp1, Line: "retail-vvo", Kind: adpacer.SetDailyBudget,
		Value: mp(4_000_000_000), Previous: mp(5_000_000_000), Reason: "over pace"}
}

func testLedger(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	e, err := s.BumpEpoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PlanAction(ctx, action("k1"), e); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.PlanAction(ctx, action("k1"), e), store.ErrConflict, "k1")
	if err := s.PlanAction(ctx, action("k2"), e); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.FinishAction(ctx, "k1", adpacer.ActionApplied, nil, "", e), store.ErrConflict, "planned")
	if err := s.ClaimAction(ctx, "k1", e); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.ClaimAction(ctx, "k1", e), store.ErrConflict, "claimed")
	wantErr(t, s.ClaimAction(ctx, "nope", e), store.ErrNotFound, "nope")
	pend, err := s.PendingActions(ctx)
	if err != nil || len(pend) != 2 {
		t.Fatalf("pending = %+v, %v", pend, err)
	}
	if err := s.FinishAction(ctx, "k1", adpacer.ActionApplied, mp(5_000_000_000), "ok", e); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.FinishAction(ctx, "k1", adpacer.ActionFailed, nil, "", e), store.ErrConflict, "applied")
	wantErr(t, s.ClaimAction(ctx, "k1", e), store.ErrConflict, "applied")
	// Held, then claimed again, then rejected is refused (claimed->rejected is allowed, applied->rejected not).
	if err := s.FinishAction(ctx, "k2", adpacer.ActionHeld, nil, "stale data", e); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimAction(ctx, "k2", e); err != nil {
		t.Fatalf("claim of held action: %v", err)
	}
	if err := s.FinishAction(ctx, "k2", adpacer.ActionNoop, mp(4_000_000_000), "already at target", e); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.FinishAction(ctx, "k2", "bogus", nil, "", e), store.ErrInvalid, "state")
	r, err := s.Action(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	want := action("k1")
	if !cmp.Equal(r.Action, want) || r.State != adpacer.ActionApplied || r.Before == nil || *r.Before != 5_000_000_000 || r.Detail != "ok" || r.Epoch != e || r.PlannedAt.IsZero() {
		t.Errorf("ledger entry %+v", r)
	}
	if _, err := s.Action(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Action(nope) = %v", err)
	}
	if pend, _ := s.PendingActions(ctx); len(pend) != 0 {
		t.Errorf("pending after finishing: %+v", pend)
	}
	got, err := s.Actions(ctx, store.ActionFilter{States: []adpacer.ActionState{adpacer.ActionNoop}, Campaign: camp1, Since: day0.Add(-time.Hour)})
	if err != nil || len(got) != 1 || got[0].Key != "k2" {
		t.Errorf("Actions(noop) = %+v, %v", got, err)
	}
	if got, _ := s.Actions(ctx, store.ActionFilter{Limit: 1}); len(got) != 1 {
		t.Errorf("Actions(limit 1) = %d entries", len(got))
	}
	bad := action("k3")
	bad.Value = nil
	wantErr(t, s.PlanAction(ctx, bad, e), store.ErrInvalid, "action.value")
}

func testConcurrentClaims(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	e, _ := s.BumpEpoch(ctx)
	if err := s.PlanAction(ctx, action("race"), e); err != nil {
		t.Fatal(err)
	}
	const n = 8
	results := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		go func() {
			<-start
			results <- s.ClaimAction(ctx, "race", e)
		}()
	}
	close(start)
	won := 0
	for i := 0; i < n; i++ {
		err := <-results
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("claim: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d claims won, want exactly 1", won)
	}
}

func testTwoProcessClaim(t *testing.T, s store.Store, addr string, _ Backend) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	ctx := ctxT(t)
	e, _ := s.BumpEpoch(ctx)
	for round := 0; round < 3; round++ {
		key := fmt.Sprint("proc-race-", round)
		if err := s.PlanAction(ctx, action(key), e); err != nil {
			t.Fatal(err)
		}
		env := []string{envChild + "=claim", envAddr + "=" + addr, envKey + "=" + key, envEpoch + "=" + fmt.Sprint(e)}
		_, in1, out1 := StartChild(t, env...)
		_, in2, out2 := StartChild(t, env...)
		for _, out := range []interface{ ReadString(byte) (string, error) }{out1, out2} {
			_ = out
		}
		if l := ReadLine(t, out1); l != "READY" {
			t.Fatalf("child 1: %q", l)
		}
		if l := ReadLine(t, out2); l != "READY" {
			t.Fatalf("child 2: %q", l)
		}
		fmt.Fprintln(in1, "GO")
		fmt.Fprintln(in2, "GO")
		r1, r2 := ReadLine(t, out1), ReadLine(t, out2)
		if (r1 == "WON") == (r2 == "WON") || (r1 != "WON" && r1 != "LOST") || (r2 != "WON" && r2 != "LOST") {
			t.Fatalf("round %d: children said %q and %q; want exactly one WON", round, r1, r2)
		}
		r, err := s.Action(ctx, adpacer.ActionKey(key))
		if err != nil || r.State != adpacer.ActionClaimed {
			t.Fatalf("after the race: %+v %v", r, err)
		}
	}
}

func testEpochFencing(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	e0, err := s.CurrentEpoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := s.BumpEpoch(ctx)
	if old != e0+1 {
		t.Fatalf("BumpEpoch = %d after %d", old, e0)
	}
	if err := s.PlanAction(ctx, action("f1"), old); err != nil {
		t.Fatal(err)
	}
	// A new leader takes over while the old one is paused.
	cur, _ := s.BumpEpoch(ctx)
	wantErr(t, s.ClaimAction(ctx, "f1", old), store.ErrConflict, "stale")
	wantErr(t, s.PlanAction(ctx, action("f2"), old), store.ErrConflict, "stale")
	wantErr(t, s.FinishAction(ctx, "f1", adpacer.ActionHeld, nil, "", old), store.ErrConflict, "stale")
	if err := s.ClaimAction(ctx, "f1", cur); err != nil {
		t.Fatalf("new leader claim: %v", err)
	}
	if r, _ := s.Action(ctx, "f1"); r.Epoch != cur {
		t.Errorf("epoch recorded %d, want %d", r.Epoch, cur)
	}
	if _, err := s.Action(ctx, "f2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("fenced plan was recorded: %v", err)
	}
}

func testAlerts(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	if _, err := s.GetAlert(ctx, "overspend:x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAlert of nothing = %v", err)
	}
	a := adpacer.AlertState{Key: "overspend:x", CardID: "card1", Fingerprint: "fp1", Severity: adpacer.SeverityCritical, Status: adpacer.AlertOpen,
		HealthyCycles: 0, OpenedAt: day0, UpdatedAt: day0.Add(time.Minute), LastSeenAt: day0.Add(2 * time.Minute)}
	if err := s.PutAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Status, a.HealthyCycles, a.ResolvedAt = adpacer.AlertResolved, 3, day0.Add(time.Hour)
	if err := s.PutAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := adpacer.AlertState{Key: "moderation:y", Status: adpacer.AlertSnoozed, Severity: adpacer.SeverityWarning}
	if err := s.PutAlert(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAlert(ctx, a.Key)
	if err != nil || got != a {
		t.Errorf("GetAlert = %+v, %v; want %+v", got, err, a)
	}
	list, _ := s.ListAlerts(ctx)
	if d := cmp.Diff([]adpacer.AlertState{b, a}, list); d != "" {
		t.Errorf("ListAlerts (-want +got):\n%s", d)
	}
	wantErr(t, s.PutAlert(ctx, adpacer.AlertState{Key: "k", Status: "maybe"}), store.ErrInvalid, "alert.status")
}

func testTokens(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	if _, err := s.LoadToken(ctx, "google"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LoadToken of nothing = %v", err)
	}
	tok := adpacer.OAuthToken{AccessToken: "ya29.canary-access", RefreshToken: "1//canary-refresh", TokenType: "Bearer", Expiry: day0.Add(time.Hour)}
	if err := s.SaveToken(ctx, "google", tok); err != nil {
		t.Fatal(err)
	}
	tok.RefreshToken = "1//rotated"
	if err := s.SaveToken(ctx, "google", tok); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadToken(ctx, "google")
	if err != nil || got != tok {
		t.Errorf("LoadToken = %+v, %v", got, err)
	}
}

func testAudit(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	e1 := store.AuditEntry{At: day0, Actor: "engine", ActionKey: "k1", Campaign: camp1, Kind: "set_daily_budget", Before: mp(5), After: mp(4), Outcome: "planned", Detail: "over pace"}
	e2 := store.AuditEntry{At: day0.Add(time.Hour), Actor: "applier", ActionKey: "k1", Campaign: camp1, Kind: "set_daily_budget", Outcome: "applied", ApprovedBy: "anna"}
	s1, err := s.AppendAudit(ctx, e1)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := s.AppendAudit(ctx, e2)
	if err != nil || s2 <= s1 {
		t.Fatalf("seqs %d %d (%v)", s1, s2, err)
	}
	e1.Seq, e2.Seq = s1, s2
	got, _ := s.Audit(ctx, time.Time{}, 0)
	if d := cmp.Diff([]store.AuditEntry{e1, e2}, got); d != "" {
		t.Errorf("audit (-want +got):\n%s", d)
	}
	got, _ = s.Audit(ctx, day0.Add(time.Minute), 0)
	if len(got) != 1 || got[0].Seq != s2 {
		t.Errorf("audit since: %+v", got)
	}
	got, _ = s.Audit(ctx, time.Time{}, 1)
	if len(got) != 1 || got[0].Seq != s1 {
		t.Errorf("audit limit: %+v", got)
	}
	wantErr(t, func() error { _, err := s.AppendAudit(ctx, store.AuditEntry{}); return err }(), store.ErrInvalid, "audit.actor")
}
