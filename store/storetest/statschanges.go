package storetest

import (
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

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
