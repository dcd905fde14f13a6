package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/storetest"
)

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
