package cycle

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/sqlite"
	"github.com/adpacer/adpacer/store/sqlite/sqlitetest"
)

// TestStatsCache runs the pace's stats read over twelve days of pulls, six
// hours apart, against a real store, and checks after every step that it
// returns exactly what one Stats call over the whole range returns: hourly
// stats, daily reports in Moscow's day (which straddle the UTC frontier),
// the frontier moving day by day and the history window moving on. The
// settled part is read once while pulls only rewrite recent days; a
// restatement written behind the frontier by another writer (the runner
// never sees the batch) is read in the next cycle, and so are a changed
// campaign list and a history window reaching further back.
func TestStatsCache(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t, sqlite.Options{})
	msk := time.FixedZone("MSK", 3*3600)
	g := adpacer.Campaign{ID: adpacer.NewCampaignID(adpacer.GoogleAds, "7"), TimeZone: "Europe/Moscow", Currency: "RUB", State: adpacer.StateOn}
	y := adpacer.Campaign{ID: adpacer.NewCampaignID(adpacer.YandexDirect, "9"), TimeZone: "Europe/Moscow", Currency: "RUB", State: adpacer.StateOn}
	ids := []adpacer.CampaignID{g.ID, y.ID}
	if ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// pull writes what a connector re-reads: every hour of the last four
	// days for g, and the last four Moscow days for y; costs depend on
	// the pull, so every re-read restates.
	pull := func(now time.Time, n int) {
		t.Helper()
		b := adpacer.AdBatch{Campaigns: []adpacer.Campaign{g, y}}
		for h := now.Truncate(time.Hour).Add(-96 * time.Hour); h.Before(now); h = h.Add(time.Hour) {
			if h.Before(start) {
				continue
			}
			b.Stats = append(b.Stats, adpacer.Stat{Campaign: g.ID, Start: h, End: h.Add(time.Hour), Cost: adpacer.Micros(1000*n + h.Hour()), Clicks: 1})
		}
		today := now.In(msk)
		for d := 1; d <= 4; d++ {
			day := time.Date(today.Year(), today.Month(), today.Day()-d, 0, 0, 0, 0, msk)
			if day.Before(start) {
				continue
			}
			b.Stats = append(b.Stats, adpacer.Stat{Campaign: y.ID, Start: day, End: day.AddDate(0, 0, 1), Cost: adpacer.Micros(7000*n + d)})
		}
		if err := st.SaveAdBatch(ctx, "pull", b, adpacer.Cursor{Value: now.Format(time.DateOnly), UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	r := &Runner{opt: Options{RestatementDays: 3}}
	var c statsCache
	check := func(now, from time.Time, ids []adpacer.CampaignID) []adpacer.Stat {
		t.Helper()
		got, err := c.read(ctx, st, ids, from, now, r.settledFrontier(now))
		if err != nil {
			t.Fatal(err)
		}
		want, err := st.Stats(ctx, ids, from, now)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("at %s the cached read differs from the store's (-store +cached):\n%s", now.Format(time.RFC3339), d)
		}
		return got
	}
	now := start
	for i := 1; i <= 48; i++ {
		now = now.Add(6 * time.Hour)
		pull(now, i)
		check(now, now.AddDate(0, 0, -10), ids)
	}
	if c.reloads != 1 {
		t.Errorf("the settled stats were read whole %d times over twelve days of pulls that rewrite only recent days, want once", c.reloads)
	}
	if !c.frontier.After(start.AddDate(0, 0, 3)) || len(c.settled) == 0 {
		t.Fatalf("nothing settled after twelve days: frontier %s, %d stats", c.frontier, len(c.settled))
	}

	// Another writer restates an hour and a daily report well behind the
	// frontier.
	old := start.AddDate(0, 0, 4).Add(5 * time.Hour)
	oldDay := time.Date(2026, 11, 5, 0, 0, 0, 0, msk)
	if err := st.SaveAdBatch(ctx, "backfill", adpacer.AdBatch{Stats: []adpacer.Stat{
		{Campaign: g.ID, Start: old, End: old.Add(time.Hour), Cost: 424242},
		{Campaign: y.ID, Start: oldDay, End: oldDay.AddDate(0, 0, 1), Cost: 515151},
	}}, adpacer.Cursor{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(15 * time.Minute)
	got := check(now, now.AddDate(0, 0, -10), ids)
	seen := 0
	for _, s := range got {
		if s.Cost == 424242 || s.Cost == 515151 {
			seen++
		}
	}
	if seen != 2 || c.reloads != 2 {
		t.Errorf("after a restatement behind the frontier: %d of 2 restated stats read, %d full reads (want 2)", seen, c.reloads)
	}

	// A restatement of recent days does not empty the cache.
	now = now.Add(15 * time.Minute)
	pull(now, 100)
	check(now, now.AddDate(0, 0, -10), ids)
	if c.reloads != 2 {
		t.Errorf("a pull of recent days emptied the cache: %d full reads, want 2", c.reloads)
	}
	// One campaign fewer, then a window reaching further back: each is a
	// new read, and right.
	check(now, now.AddDate(0, 0, -10), ids[:1])
	check(now, now.AddDate(0, 0, -12), ids[:1])
	if c.reloads != 4 {
		t.Errorf("%d full reads after a changed campaign list and a longer window, want 4", c.reloads)
	}
}

// changesStore answers StatsChangesSince with an error, or as incomplete
// (the store no longer keeps the writes after the cache's revision).
type changesStore struct {
	store.Store
	fail bool
}

func (s changesStore) StatsChangesSince(ctx context.Context, since int64) (store.StatsChanges, error) {
	if s.fail {
		return store.StatsChanges{}, context.DeadlineExceeded
	}
	ch, err := s.Store.StatsChangesSince(ctx, since)
	ch.Earliest, ch.Complete = time.Time{}, false
	return ch, err
}

// TestStatsCacheUnknownChanges: when the store cannot say what changed,
// the cached stats are not served.
func TestStatsCacheUnknownChanges(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t, sqlite.Options{})
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	from, frontier := now.AddDate(0, 0, -30), now.AddDate(0, 0, -5)
	var c statsCache
	for range 2 {
		if _, err := c.read(ctx, st, nil, from, now, frontier); err != nil {
			t.Fatal(err)
		}
	}
	if !c.valid || c.reloads != 1 {
		t.Fatalf("after two reads: valid %v, %d full reads; want a cache read once", c.valid, c.reloads)
	}
	if _, err := c.read(ctx, changesStore{Store: st}, nil, from, now, frontier); err != nil || c.reloads != 2 {
		t.Errorf("changes unknown to the store: error %v, %d full reads; want the settled stats read again", err, c.reloads)
	}
	if _, err := c.read(ctx, changesStore{Store: st, fail: true}, nil, from, now, frontier); err == nil || c.valid {
		t.Errorf("a failed StatsChangesSince: error %v, cache valid %v; want the error and no cache", err, c.valid)
	}
}
