package yandexdirect_test

import (
	"context"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/pacing"
)

// The pull reports each manual-strategy campaign's bid, read with
// KeywordBids.get at most once per BidsInterval and kept current by the
// client's own bid writes in between.
func TestPullReportsCampaignBidsHourly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, yandexdirecttest.Options{})
	ids := e.addCampaigns(3, 0) // 10 RUB search bid each
	c := e.client(t, nil)
	pull := func() adpacer.AdBatch {
		t.Helper()
		b, err := c.Pull(ctx, connectors.AdPullRequest{Now: e.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bidOf := func(b adpacer.AdBatch, id int64) adpacer.Micros {
		t.Helper()
		for _, camp := range b.Campaigns {
			if camp.ID == cid(id) {
				if camp.Bid == nil {
					t.Fatalf("%s: no bid", camp.ID)
				}
				return *camp.Bid
			}
		}
		t.Fatalf("%d not pulled", id)
		return 0
	}
	if got := bidOf(pull(), ids[0]); got != adpacer.FromUnits(10) {
		t.Fatalf("bid %s, want 10.00", got)
	}
	calls := e.fake.Calls("keywordbids.get")
	if calls != 1 {
		t.Fatalf("%d KeywordBids.get calls for 3 campaigns, want 1", calls)
	}
	// The client's own write is reflected without a read.
	v := adpacer.FromUnits(12)
	res, err := c.Apply(ctx, []adpacer.Action{{Key: "b1", Campaign: cid(ids[0]), Kind: adpacer.SetBid, Value: &v}}, pacing.ApplyOptions{})
	if err != nil || res[0].State != adpacer.ActionApplied {
		t.Fatalf("apply: %v %+v", err, res)
	}
	e.clock.Advance(15 * time.Minute)
	before := e.fake.Calls("keywordbids.get")
	if got := bidOf(pull(), ids[0]); got != v {
		t.Fatalf("after the write the pull reports %s, want %s", got, v)
	}
	if e.fake.Calls("keywordbids.get") != before {
		t.Fatal("a pull within the hour read the bids again")
	}
	// A person changes a bid in the interface: seen after the interval.
	e.fake.SetKeywordBid(ids[1], 0, 7_000_000)
	e.fake.SetKeywordBid(ids[1], 1, 7_000_000)
	e.fake.SetKeywordBid(ids[1], 2, 7_000_000)
	e.clock.Advance(time.Hour)
	if got := bidOf(pull(), ids[1]); got != adpacer.FromUnits(7) {
		t.Fatalf("after an hour the pull reports %s, want 7.00", got)
	}
}
