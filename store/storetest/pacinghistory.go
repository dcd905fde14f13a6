package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// testPacingHistoryMany reads PacingHistory of more campaigns than one read
// chunk holds, with campaign keys in a different order than ids, campaigns
// without stats, sparse and dense hours, a restated past day and a window
// that starts and ends inside a week, and compares every hour with Stats
// (which decodes the same blocks another way). A scattered subset must
// give the same hours.
func testPacingHistoryMany(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	const n = 150
	id := func(i int) adpacer.CampaignID { return adpacer.NewCampaignID(adpacer.VKAds, fmt.Sprint(10_000+i)) }
	// Saved in reverse id order: key order is the reverse of id order.
	var cs []adpacer.Campaign
	for i := n - 1; i >= 0; i-- {
		cs = append(cs, Campaign(id(i), rub))
	}
	mustSave(t, s, "src", adpacer.AdBatch{Campaigns: cs}, "0")
	from := day0.Add(-4*24*time.Hour + 5*time.Hour) // a Thursday
	to := day0.Add(9*24*time.Hour + 7*time.Hour)
	var stats []adpacer.Stat
	for i := 0; i < n; i++ {
		step := []int{1, 1, 7, 0, 1, 24}[i%6]
		if step == 0 {
			continue // no stats at all
		}
		for h := -6 * 24; h < 11*24; h += step {
			st := hourStat(id(i), h, int64(1_000_000+i*1_000+h))
			// hourStat's counters go negative before day0.
			st.Clicks, st.Impressions, st.Conversions = int64(h+1000)%17, int64(h+1000), float64((h+1000)%3)/2
			if i%5 == 0 {
				st.Cost *= 50_000 // wide values beside narrow ones
			}
			stats = append(stats, st)
		}
	}
	for lo := 0; lo < len(stats); lo += 5000 {
		mustSave(t, s, "src", adpacer.AdBatch{Stats: stats[lo:min(lo+5000, len(stats))]}, "1")
	}
	// Restate one past day of every tenth campaign.
	var restated []adpacer.Stat
	for i := 0; i < n; i += 10 {
		for h := 0; h < 24; h++ {
			st := hourStat(id(i), h, 777)
			st.Conversions = 0.125
			restated = append(restated, st)
		}
	}
	mustSave(t, s, "src", adpacer.AdBatch{Stats: restated}, "2")

	check := func(ids []adpacer.CampaignID, want int) {
		t.Helper()
		h, err := s.PacingHistory(ctx, ids, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Campaigns) != want || h.Hours != int(to.Sub(from)/time.Hour) {
			t.Fatalf("history of %d ids: %d campaigns, %d hours", len(ids), len(h.Campaigns), h.Hours)
		}
		all, err := s.Stats(ctx, ids, from, to)
		if err != nil {
			t.Fatal(err)
		}
		byHour := map[adpacer.CampaignID]map[int]adpacer.Stat{}
		for _, st := range all {
			if byHour[st.Campaign] == nil {
				byHour[st.Campaign] = map[int]adpacer.Stat{}
			}
			byHour[st.Campaign][int(st.Start.Sub(h.From)/time.Hour)] = st
		}
		var compared int
		for ci := range h.Campaigns {
			c := &h.Campaigns[ci]
			if ci > 0 && h.Campaigns[ci-1].Campaign >= c.Campaign {
				t.Fatalf("campaigns not ordered by id at %d: %s", ci, c.Campaign)
			}
			if len(c.Cost) != h.Hours || len(c.Clicks) != h.Hours || len(c.Conversions) != h.Hours {
				t.Fatalf("%s: arrays of %d/%d/%d hours", c.Campaign, len(c.Cost), len(c.Clicks), len(c.Conversions))
			}
			for i := 0; i < h.Hours; i++ {
				st, ok := byHour[c.Campaign][i]
				if c.Has(i) != ok || c.Cost[i] != st.Cost || c.Clicks[i] != st.Clicks || c.Conversions[i] != st.Conversions {
					t.Fatalf("%s hour %d: has=%v cost=%d clicks=%d conv=%v; Stats: %v %+v", c.Campaign, i, c.Has(i), c.Cost[i], c.Clicks[i], c.Conversions[i], ok, st)
				}
				if ok {
					compared++
				}
			}
		}
		if compared != len(all) {
			t.Fatalf("compared %d hours, Stats has %d", compared, len(all))
		}
		if compared == 0 {
			t.Fatal("no hours compared")
		}
	}
	check(nil, n)
	check([]adpacer.CampaignID{id(149), id(0), id(77), id(3), "vk_ads:1", id(100)}, 5)
}
