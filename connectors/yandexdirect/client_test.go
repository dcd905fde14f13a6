package yandexdirect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/pacing"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	_ connectors.AdSource = (*yandexdirect.Client)(nil)
	_ pacing.Actuator     = (*yandexdirect.Client)(nil)
)

// seedSpend gives every campaign spend on each of the last days closed
// days and in today's first hours (Moscow).
func (e *env) seedSpend(ids []int64, days int) {
	today := t0.In(yandexdirecttest.Moscow())
	for i, id := range ids {
		for d := 1; d <= days; d++ {
			day := today.AddDate(0, 0, -d).Format("2006-01-02")
			e.spend.SetDay(id, day, yandexdirecttest.Spend{CostMicros: int64(i+d) * 1_000_000, Clicks: int64(d), Impressions: int64(100 * d), Conversions: map[int64]int64{555: int64(d % 3)}})
		}
		for h := 0; h < 10; h++ {
			e.spend.AddHour(id, today.Format("2006-01-02"), h, yandexdirecttest.Spend{CostMicros: int64(i+1) * 100_000, Clicks: 1, Impressions: 10})
		}
	}
}

func pullReq(days int) connectors.AdPullRequest {
	from := t0.In(yandexdirecttest.Moscow()).AddDate(0, 0, -days).Format("2006-01-02")
	return connectors.AdPullRequest{Now: t0, StatsFrom: from}
}

func pointsSpent(e *env, before int64) int64 {
	return before - e.fake.Units(login).Remaining
}

// Done-when: a full sync of 1,000 campaigns (campaigns, 35 days of
// statistics, today's spend, ads) with bounded call counts.
func TestFullSync1000Campaigns(t *testing.T) {
	for _, n := range []int{180, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t, yandexdirecttest.Options{DailyUnits: 1_000_000})
			ids := e.addCampaigns(n, 3)
			e.seedSpend(ids, 35)
			c := e.client(t, func(c *yandexdirect.Config) { c.Goals = []int64{555} })
			before := e.fake.Units(login).Remaining
			b, err := c.Pull(context.Background(), pullReq(35))
			if err != nil {
				t.Fatal(err)
			}
			calls := e.fake.CallCounts()
			// Cold: no ad is known yet, so ads are discovered by
			// CampaignIds, at most 10 campaigns per Ads.get.
			adsCalls := (n + 9) / 10
			if calls["campaigns.get"] != 1 || calls["ads.get"] != adsCalls || e.fake.MutatingCalls() != 0 {
				t.Fatalf("calls %v, want 1 campaigns.get and %d ads.get", calls, adsCalls)
			}
			// Two reports (closed days offline: 201, 202, 202, 200; today online: 200).
			if calls["reports.get"] != 5 {
				t.Fatalf("reports.get requests = %d, want 5 (2 reports)", calls["reports.get"])
			}
			if len(b.Campaigns) != n || len(b.Stats) != n*35 || len(b.Snapshots) != n || len(b.Ads) != 3*n {
				t.Fatalf("batch sizes: %d campaigns, %d stats, %d snapshots, %d ads", len(b.Campaigns), len(b.Stats), len(b.Snapshots), len(b.Ads))
			}
			// Spot-check data: campaign index 7, day -5.
			day := t0.In(yandexdirecttest.Moscow()).AddDate(0, 0, -5)
			start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, day.Location())
			var found bool
			for _, s := range b.Stats {
				if s.Campaign == cid(ids[7]) && s.Start.Equal(start) {
					found = true
					if s.Cost != 12_000_000 || s.Clicks != 5 || s.Impressions != 500 || s.Conversions != 2 || !s.End.Equal(start.Add(24*time.Hour)) {
						t.Fatalf("stat %+v", s)
					}
					if err := s.Validate(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !found {
				t.Fatal("no stat for campaign 7 day -5")
			}
			// 10:00 Moscow: hours 0..9 are complete: 10 x 0.1 RUB x (i+1).
			for _, s := range b.Snapshots {
				if s.Campaign == cid(ids[7]) && (s.Cost != 8_000_000 || s.Day != "2026-11-28") {
					t.Fatalf("snapshot %+v", s)
				}
			}
			t.Logf("POINTS cold full sync of %d campaigns x 3 ads: %d points (%v)", n, pointsSpent(e, before), calls)

			// Warm: the next hour's cycle reads the known ads by Ids,
			// ceil(3n/10000) = 1 Ads.get.
			e.clock.Advance(time.Hour)
			e.fake.ResetCalls()
			before = e.fake.Units(login).Remaining
			warm := pullReq(35)
			warm.Now = e.clock.Now()
			b, err = c.Pull(context.Background(), warm)
			if err != nil {
				t.Fatal(err)
			}
			calls = e.fake.CallCounts()
			if calls["campaigns.get"] != 1 || calls["ads.get"] != (3*n+9999)/10000 || len(b.Ads) != 3*n || len(b.Stats) != n*35 || len(b.Snapshots) != n {
				t.Fatalf("warm sync: calls %v, %d ads, %d stats, %d snapshots", calls, len(b.Ads), len(b.Stats), len(b.Snapshots))
			}
			t.Logf("POINTS warm full sync of %d campaigns x 3 ads: %d points (%v)", n, pointsSpent(e, before), calls)
		})
	}
}

func TestPullMapsCampaignsAndModeration(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{ModerationDelay: time.Minute})
	id := e.fake.AddCampaign(login, yandexdirecttest.Campaign{Name: "Retail Vladivostok", TimeZone: "Asia/Vladivostok", State: "SUSPENDED",
		DailyBudget: &yandexdirecttest.DailyBudget{Amount: 700_000_000, Mode: "DISTRIBUTED"}})
	uni := e.fake.AddCampaign(login, yandexdirecttest.Campaign{Type: "UNIFIED_CAMPAIGN", SearchStrategy: "WB_MAXIMUM_CONVERSION_RATE"})
	ad := e.fake.AddAd(yandexdirecttest.Ad{CampaignID: id})
	const why = "Ad rejected: an interest rate must be shown with the full cost of credit"
	e.fake.SetVerdict(ad, "REJECTED", why)
	e.fake.SubmitAd(ad)
	c := e.client(t, nil)
	b, err := c.Pull(context.Background(), pullReq(3))
	if err != nil {
		t.Fatal(err)
	}
	if b.Ads[0].Status != adpacer.ModerationPending {
		t.Fatalf("ad %+v", b.Ads[0])
	}
	var camp, ucamp adpacer.Campaign
	for _, cc := range b.Campaigns {
		switch cc.ID {
		case cid(id):
			camp = cc
		case cid(uni):
			ucamp = cc
		}
	}
	if camp.State != adpacer.StatePaused || *camp.DailyBudget != 700_000_000 || camp.TimeZone != "Asia/Vladivostok" ||
		camp.Strategy != "HIGHEST_POSITION" || camp.Currency != "RUB" || camp.AccountID != login {
		t.Fatalf("campaign %+v", camp)
	}
	if ucamp.DailyBudget != nil || ucamp.Strategy != "WB_MAXIMUM_CONVERSION_RATE" {
		t.Fatalf("unified campaign %+v", ucamp)
	}
	e.clock.Advance(2 * time.Minute)
	b, err = c.Pull(context.Background(), pullReq(3))
	if err != nil {
		t.Fatal(err)
	}
	if b.Ads[0].Status != adpacer.ModerationRejected || b.Ads[0].Reason != why {
		t.Fatalf("ad %+v", b.Ads[0])
	}
	e.fake.SetVerdict(ad, "ACCEPTED", "")
	e.fake.SubmitAd(ad)
	e.clock.Advance(2 * time.Minute)
	b, _ = c.Pull(context.Background(), pullReq(3))
	if b.Ads[0].Status != adpacer.ModerationAccepted {
		t.Fatalf("ad %+v", b.Ads[0])
	}
}

// Done-when: a budget update of 1,000 campaigns is exactly 100 update calls.
func TestBudgetUpdate1000IsExactly100Calls(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{DailyUnits: 1_000_000})
	ids := e.addCampaigns(1000, 0)
	c := e.client(t, nil)
	actions := make([]adpacer.Action, len(ids))
	for i, id := range ids {
		actions[i] = adpacer.Action{Key: adpacer.ActionKey(fmt.Sprint("k", i)), Campaign: cid(id), Kind: adpacer.SetDailyBudget, Value: micros(1500_000_000 + int64(i)*10_000)}
	}
	before := e.fake.Units(login).Remaining
	res, err := c.Apply(context.Background(), actions, pacing.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("campaigns.update"); n != 100 {
		t.Fatalf("campaigns.update calls = %d, want 100", n)
	}
	if n := e.fake.Calls("campaigns.get"); n != 1 {
		t.Fatalf("campaigns.get calls = %d, want 1 (reconcile read)", n)
	}
	for i, r := range res {
		if r.State != adpacer.ActionApplied || r.Err != nil || r.Before == nil || *r.Before != 1000_000_000 || r.Key != actions[i].Key {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if got, _ := e.fake.Campaign(ids[999]); got.DailyBudget.Amount != 1500_000_000+999*10_000 {
		t.Fatalf("budget not applied: %+v", got.DailyBudget)
	}
	t.Logf("POINTS budget update of 1000 campaigns: %d points", pointsSpent(e, before))
	// Re-applying the same plan reads and skips: zero mutating calls.
	e.fake.ResetCalls()
	res, err = c.Apply(context.Background(), actions, pacing.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.fake.MutatingCalls() != 0 || res[0].State != adpacer.ActionNoop {
		t.Fatalf("second apply: %d mutating calls, state %s", e.fake.MutatingCalls(), res[0].State)
	}
}

func TestApplyDryRunMakesNoMutatingCall(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	ids := e.addCampaigns(3, 0)
	c := e.client(t, nil)
	actions := []adpacer.Action{
		{Key: "a", Campaign: cid(ids[0]), Kind: adpacer.SetDailyBudget, Value: micros(2000_000_000)},
		{Key: "b", Campaign: cid(ids[1]), Kind: adpacer.SetBid, Value: micros(12_000_000)},
		{Key: "c", Campaign: cid(ids[2]), Kind: adpacer.Pause},
		{Key: "d", Campaign: cid(ids[2]), Kind: adpacer.SetDailyBudget, Value: micros(1000_000_000)},
	}
	res, err := c.Apply(context.Background(), actions, pacing.ApplyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Fatalf("dry run made %d mutating calls", n)
	}
	want := []adpacer.ActionState{adpacer.ActionHeld, adpacer.ActionHeld, adpacer.ActionHeld, adpacer.ActionNoop}
	for i, r := range res {
		if r.State != want[i] {
			t.Fatalf("result %d: %+v, want %s", i, r, want[i])
		}
	}
	if *res[1].Before != 10_000_000 {
		t.Fatalf("bid before = %v", res[1].Before)
	}
}

func TestApplyBidsPauseResume(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	ids := e.addCampaigns(25, 0)
	e.fake.SetKeywordBid(ids[24], 1, 11_000_000) // mixed bids: Before unknown
	var writes []yandexdirecttest.WriteEvent
	e.fake.OnWrite(func(w yandexdirecttest.WriteEvent) { writes = append(writes, w) })
	c := e.client(t, nil)
	var actions []adpacer.Action
	for i, id := range ids {
		actions = append(actions, adpacer.Action{Key: adpacer.ActionKey(fmt.Sprint("bid", i)), Campaign: cid(id), Kind: adpacer.SetBid, Value: micros(15_000_000)})
	}
	actions = append(actions,
		adpacer.Action{Key: "p", Campaign: cid(ids[0]), Kind: adpacer.Pause},
		adpacer.Action{Key: "r", Campaign: cid(ids[1]), Kind: adpacer.Resume})
	res, err := c.Apply(context.Background(), actions, pacing.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("keywordbids.set"); n != 3 {
		t.Fatalf("keywordbids.set calls = %d, want 3 (10 campaigns per call)", n)
	}
	if n := e.fake.Calls("keywordbids.get"); n != 3 {
		t.Fatalf("keywordbids.get calls = %d, want 3", n)
	}
	for i := 0; i < 25; i++ {
		if res[i].State != adpacer.ActionApplied {
			t.Fatalf("bid %d: %+v", i, res[i])
		}
	}
	if res[24].Before != nil || *res[0].Before != 10_000_000 {
		t.Fatalf("Before: %v %v", res[24].Before, res[0].Before)
	}
	for _, b := range e.fake.KeywordBids(ids[24]) {
		if b != 15_000_000 {
			t.Fatalf("bids %v", e.fake.KeywordBids(ids[24]))
		}
	}
	if res[25].State != adpacer.ActionApplied || res[26].State != adpacer.ActionNoop {
		t.Fatalf("pause/resume: %+v %+v", res[25], res[26])
	}
	if got, _ := e.fake.Campaign(ids[0]); got.State != "SUSPENDED" {
		t.Fatalf("state %s", got.State)
	}
	if e.fake.Calls("campaigns.resume") != 0 || len(writes) != 26 {
		t.Fatalf("resume calls %d, writes %d", e.fake.Calls("campaigns.resume"), len(writes))
	}
	res, _ = c.Apply(context.Background(), []adpacer.Action{{Key: "r2", Campaign: cid(ids[0]), Kind: adpacer.Resume}}, pacing.ApplyOptions{})
	if res[0].State != adpacer.ActionApplied {
		t.Fatalf("resume: %+v", res[0])
	}
}

func TestApplyUnifiedCampaignGoesThroughV501(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	id := e.fake.AddCampaign(login, yandexdirecttest.Campaign{Type: "UNIFIED_CAMPAIGN", DailyBudget: &yandexdirecttest.DailyBudget{Amount: 500_000_000, Mode: "STANDARD"}})
	c := e.client(t, nil)
	res, err := c.Apply(context.Background(), []adpacer.Action{{Key: "u", Campaign: cid(id), Kind: adpacer.SetDailyBudget, Value: micros(900_005_000)}}, pacing.ApplyOptions{})
	if err != nil || res[0].State != adpacer.ActionApplied {
		t.Fatalf("%v %+v", err, res)
	}
	// The target is floored to whole kopecks.
	if got, _ := e.fake.Campaign(id); got.DailyBudget.Amount != 900_000_000 {
		t.Fatalf("amount %d", got.DailyBudget.Amount)
	}
}

// 3 edits a day per campaign (Moscow day): the client refuses the 4th
// itself, and maps a platform 8305 (edits it did not see) per item.
func TestBudgetEditLimit(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	ids := e.addCampaigns(2, 0)
	c := e.client(t, nil)
	apply := func(c *yandexdirect.Client, id int64, v int64) pacing.Result {
		res, err := c.Apply(context.Background(), []adpacer.Action{{Key: "k", Campaign: cid(id), Kind: adpacer.SetDailyBudget, Value: micros(v)}}, pacing.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	for i := int64(1); i <= 3; i++ {
		if r := apply(c, ids[0], 1000_000_000+i*100_000_000); r.State != adpacer.ActionApplied {
			t.Fatalf("edit %d: %+v", i, r)
		}
	}
	e.fake.ResetCalls()
	r := apply(c, ids[0], 2000_000_000)
	if r.State != adpacer.ActionFailed || !errors.Is(r.Err, yandexdirect.ErrBudgetEditLimit) || !adpacer.IsTerminal(r.Err) || e.fake.Calls("campaigns.update") != 0 {
		t.Fatalf("4th edit: %+v, update calls %d", r, e.fake.Calls("campaigns.update"))
	}
	obs, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(ids[0])})
	if err != nil || obs[cid(ids[0])].BudgetEditsToday != 3 {
		t.Fatalf("observe: %v %+v", err, obs)
	}
	// A fresh client (restart without a persisted ledger) hits the platform's 8305.
	c2 := e.client(t, nil)
	r = apply(c2, ids[0], 2000_000_000)
	if r.State != adpacer.ActionFailed || !errors.Is(r.Err, yandexdirect.ErrBudgetEditLimit) || !adpacer.IsTerminal(r.Err) {
		t.Fatalf("8305: %+v", r)
	}
	e.fake.ResetCalls()
	if r := apply(c2, ids[0], 2100_000_000); r.State != adpacer.ActionFailed || e.fake.Calls("campaigns.update") != 0 {
		t.Fatalf("after 8305 the client must not retry today: %+v", r)
	}
	e.clock.Advance(14 * time.Hour) // next Moscow day
	if r := apply(c2, ids[0], 2100_000_000); r.State != adpacer.ActionApplied {
		t.Fatalf("next day: %+v", r)
	}
}

func TestApplyRejectsBadActions(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	ids := e.addCampaigns(1, 0)
	c := e.client(t, nil)
	res, err := c.Apply(context.Background(), []adpacer.Action{
		{Key: "g", Campaign: "google_ads:1", Kind: adpacer.Pause},
		{Key: "nv", Campaign: cid(ids[0]), Kind: adpacer.SetDailyBudget},
		{Key: "unknown", Campaign: cid(424242), Kind: adpacer.SetDailyBudget, Value: micros(1000_000_000)},
		{Key: "low", Campaign: cid(ids[0]), Kind: adpacer.SetDailyBudget, Value: micros(100_000_000)},
		{Key: "dup", Campaign: cid(ids[0]), Kind: adpacer.SetDailyBudget, Value: micros(900_000_000)},
	}, pacing.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.State != adpacer.ActionFailed || r.Err == nil || !adpacer.IsTerminal(r.Err) {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if !strings.Contains(res[3].Err.Error(), "5005") {
		t.Fatalf("platform item error not surfaced: %v", res[3].Err)
	}
}

// Done-when: with 20% of calls failing (506, 1000-1002, timeouts) a sync
// completes with the same data as a clean one.
func TestSyncSurvivesTwentyPercentFailures(t *testing.T) {
	// A report answering 500 twice stops the pull (api-notes §1.9: restart
	// once, then stop and alert) and the daemon's next cycle pulls again;
	// with 20% random faults that happens for some seeds, so each seed
	// gets up to three pulls, as three cycles would.
	const maxPulls = 3
	build := func(seed uint64, faults bool) (adpacer.AdBatch, map[string]int, int) {
		e := newEnv(t, yandexdirecttest.Options{Seed: seed, DailyUnits: 1_000_000})
		ids := e.addCampaigns(300, 2)
		e.seedSpend(ids, 10)
		if faults {
			e.fake.SetFaults(yandexdirecttest.Faults{ErrorRate: 0.17, Codes: []int{506, 1000, 1001, 1002}, HangRate: 0.03, Hang: 1500 * time.Millisecond})
		}
		c := e.client(t, func(c *yandexdirect.Config) { c.Timeout = 700 * time.Millisecond; c.Goals = []int64{555} })
		var b adpacer.AdBatch
		var err error
		pulls := 0
		for pulls < maxPulls {
			pulls++
			if b, err = c.Pull(context.Background(), pullReq(10)); err == nil {
				break
			}
			t.Logf("seed %d pull %d: %v", seed, pulls, err)
		}
		if err != nil {
			t.Fatalf("seed %d faults=%v: no complete sync in %d pulls: %v", seed, faults, maxPulls, err)
		}
		for i := range b.Campaigns {
			b.Campaigns[i].UpdatedAt = time.Time{}
		}
		for i := range b.Snapshots {
			b.Snapshots[i].At = time.Time{}
		}
		for i := range b.Ads {
			b.Ads[i].At = time.Time{}
		}
		return b, e.fake.CallCounts(), pulls
	}
	total := func(m map[string]int) int { return m["ads.get"] + m["campaigns.get"] + m["reports.get"] }
	for _, seed := range []uint64{1, 7, 11} {
		clean, cleanCalls, _ := build(seed, false)
		faulty, calls, pulls := build(seed, true)
		if fmt.Sprint(clean) != fmt.Sprint(faulty) {
			t.Fatalf("seed %d: data differs between the clean and the faulty sync", seed)
		}
		// Every failed request is repeated, so the extra requests count the
		// injected failures: at least 12% of all requests (20% expected).
		if extra := total(calls) - total(cleanCalls); extra*100 < total(calls)*12 {
			t.Fatalf("seed %d: only %d of %d requests failed: %v", seed, extra, total(calls), calls)
		}
		t.Logf("seed %d: %d pull(s), calls with faults: %v", seed, pulls, calls)
	}
}

// Done-when: with error 152 the client stops, waits for the accrual on the
// injected clock and resumes, without hammering.
func TestPointsExhaustedWaitsForAccrual(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.addCampaigns(5, 1)
	c := e.client(t, func(c *yandexdirect.Config) { c.PointsReserve = 1 })
	e.clock.Advance(10 * time.Minute)
	e.fake.SetUnits(login, 5, 2400) // accrual every hour from now: +100
	start := e.clock.Now()
	obs, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(100001)})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 1 {
		t.Fatalf("observe %v", obs)
	}
	calls := e.fake.Calls("campaigns.get")
	waited := e.clock.Now().Sub(start)
	// Official delays 6, 9, 12, 15, 18 min: the accrual at +60 min is met
	// by the 6th call at +60 min.
	if calls > 6 || waited < time.Hour {
		t.Fatalf("campaigns.get calls = %d over %s; want <= 6 and a wait of at least an hour", calls, waited)
	}
	if v := metricValue(t, e, "adpacer_yandex_points_waits_total"); v != 5 {
		t.Fatalf("points waits metric = %v, want 5", v)
	}
	if v := metricValue(t, e, "adpacer_yandex_points_remaining"); v <= 0 {
		t.Fatalf("points remaining gauge = %v", v)
	}
	// Second exhaustion: the accrual schedule was learnt from the Units
	// headers, so one wait lands just past the next tick.
	e.clock.Advance(5 * time.Minute)
	e.fake.SetRemaining(login, 5)
	e.fake.ResetCalls()
	start = e.clock.Now()
	if _, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(100001)}); err != nil {
		t.Fatal(err)
	}
	if n, w := e.fake.Calls("campaigns.get"), e.clock.Now().Sub(start); n != 2 || w > 56*time.Minute {
		t.Fatalf("second exhaustion: %d calls over %s, want 2 calls within the hour", n, w)
	}
	// A bounded wait gives up with a typed, non-terminal error.
	c2 := e.client(t, func(c *yandexdirect.Config) { c.MaxPointsWait = 10 * time.Minute })
	e.fake.SetUnits(login, 5, 2400)
	e.fake.ResetCalls()
	_, err = c2.Observe(context.Background(), []adpacer.CampaignID{cid(100001)})
	var pe *yandexdirect.PointsError
	if !errors.Is(err, yandexdirect.ErrPointsExhausted) || !errors.As(err, &pe) || adpacer.IsTerminal(err) || e.fake.Calls("campaigns.get") != 2 {
		t.Fatalf("err = %v, calls %d", err, e.fake.Calls("campaigns.get"))
	}
}

func metricValue(t *testing.T, e *env, name string) float64 {
	return metricSum(t, e, name, func([]string) bool { return true })
}

// metricLabelled sums a counter's series that carry value among their
// label values.
func metricLabelled(t *testing.T, e *env, name, value string) float64 {
	return metricSum(t, e, name, func(labels []string) bool { return slices.Contains(labels, value) })
}

// metricSum sums the counter and gauge series of name whose label values
// keep accepts.
func metricSum(t *testing.T, e *env, name string, keep func(labels []string) bool) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			if !keep(labels) {
				continue
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// Error 53: terminal, an alert, no loop, and the token never leaks into
// errors or logs.
func TestRevokedTokenIsTerminalWithAlert(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.addCampaigns(2, 1)
	c := e.client(t, nil)
	e.fake.RevokeToken(token)
	_, err := c.Pull(context.Background(), pullReq(3))
	if !adpacer.IsTerminal(err) || !errors.Is(err, yandexdirect.ErrTokenRevoked) {
		t.Fatalf("err = %v", err)
	}
	if n := metricValue(t, e, "adpacer_yandex_requests_total"); n != 1 {
		t.Fatalf("requests sent = %v, want 1 (no retry loop)", n)
	}
	alerts := c.Alerts()
	if len(alerts) != 1 || alerts[0].Severity != adpacer.SeverityCritical || !strings.Contains(alerts[0].Key, "yandex-bank") {
		t.Fatalf("alerts %+v", alerts)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", alerts)} {
		if strings.Contains(s, token) || strings.Contains(s, login) && strings.Contains(s, "Key") {
			t.Fatalf("secret or login leaked: %s", s)
		}
	}
	if strings.Contains(err.Error(), token) {
		t.Fatal("token in error")
	}
}

func TestAgencyWithoutClientLoginIsTerminal(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	c := e.client(t, func(c *yandexdirect.Config) { c.ClientLogin = "stranger" })
	_, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(1)})
	if !adpacer.IsTerminal(err) || !errors.Is(err, yandexdirect.ErrNoAccess) || len(c.Alerts()) != 1 {
		t.Fatalf("err = %v, alerts %v", err, c.Alerts())
	}
}

// A transient error (1002) on Campaigns.get, the pull's first call, is
// retried and the pull completes.
func TestCampaignsGetTransientErrorIsRetried(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	ids := e.addCampaigns(2, 0)
	e.seedSpend(ids, 2)
	c := e.client(t, nil)
	e.fake.FailNext(1, 1002)
	b, err := c.Pull(context.Background(), pullReq(2))
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("campaigns.get"); n != 2 {
		t.Fatalf("campaigns.get calls = %d, want 2 (the failed one and its retry)", n)
	}
	if len(b.Stats) != 4 || b.Stats[0].Cost == 0 {
		t.Fatalf("stats %+v", b.Stats)
	}
}

// onReport lets a test act on the fake between two report requests.
type onReport struct {
	next http.RoundTripper
	fn   func(name string, status int)
}

func (o onReport) RoundTrip(req *http.Request) (*http.Response, error) {
	var name string
	if strings.HasSuffix(req.URL.Path, "/reports") && req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			var p struct {
				Params struct{ ReportName string } `json:"params"`
			}
			_ = json.NewDecoder(b).Decode(&p)
			name = p.Params.ReportName
		}
	}
	resp, err := o.next.RoundTrip(req)
	if err == nil && name != "" {
		o.fn(name, resp.StatusCode)
	}
	return resp, err
}

// Reports 500 (api-notes §1.9): the build failed; the client starts the
// report again from step 1 exactly once and succeeds. Every report request
// the fake sees is one the client's report loop sent (no hidden transport
// resends).
func TestReportServerErrorIsRestartedOnce(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{ReportPolls: 2})
	ids := e.addCampaigns(2, 0)
	e.seedSpend(ids, 10)
	var seen []int
	failed := false
	c := e.clientWith(t, nil, func(o *yandexdirect.Options) {
		o.Transport = onReport{http.DefaultTransport, func(name string, status int) {
			if !strings.HasPrefix(name, "adpacer-stats-") {
				return
			}
			seen = append(seen, status)
			// The build fails while queued: after the first 201.
			if status == http.StatusCreated && !failed {
				failed = true
				e.fake.FailReports("adpacer-stats-", 1)
			}
		}}
	})
	// 10 closed days: an offline report (201 -> 202 -> 202 -> 200).
	b, err := c.Pull(context.Background(), pullReq(10))
	if err != nil {
		t.Fatal(err)
	}
	if want := "[201 500 201 202 202 200]"; fmt.Sprint(seen) != want {
		t.Fatalf("stats report answers %v, want %s (one restart from step 1)", seen, want)
	}
	// The TODAY report is built online: one request.
	if n, sent := e.fake.Calls("reports.get"), metricLabelled(t, e, "adpacer_yandex_requests_total", "reports"); n != 7 || sent != 7 {
		t.Fatalf("fake saw %d report requests, client sent %v; want 7 each", n, sent)
	}
	if len(b.Stats) != 20 || b.Stats[0].Cost == 0 || len(c.Alerts()) != 0 {
		t.Fatalf("stats %d, alerts %v", len(b.Stats), c.Alerts())
	}
}

// A 500 on the restart too: the client stops with a clear error and an
// alert after exactly two requests instead of looping, and the next pull
// (the server healthy again) succeeds and clears the alert.
func TestReportRepeatedServerErrorStops(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{ReportPolls: 2})
	ids := e.addCampaigns(2, 0)
	e.seedSpend(ids, 10)
	c := e.client(t, nil)
	e.fake.FailReports("adpacer-stats-", 2)
	_, err := c.Pull(context.Background(), pullReq(10))
	var apiErr *yandexdirect.APIError
	if err == nil || !errors.As(err, &apiErr) || apiErr.HTTPStatus != 500 || !strings.Contains(err.Error(), "after one restart") || adpacer.IsTerminal(err) {
		t.Fatalf("err = %v; want a non-terminal error naming the failed restart and wrapping the HTTP 500", err)
	}
	if n := e.fake.Calls("reports.get"); n != 2 {
		t.Fatalf("%d report requests, want 2 (the request and one restart)", n)
	}
	alerts := c.Alerts()
	if len(alerts) != 1 || alerts[0].Kind != "connector_report_failed" || !strings.Contains(alerts[0].Detail, apiErr.RequestID) {
		t.Fatalf("alerts %+v", alerts)
	}
	if _, err := c.Pull(context.Background(), pullReq(10)); err != nil {
		t.Fatalf("next pull: %v", err)
	}
	if len(c.Alerts()) != 0 {
		t.Fatalf("alert not cleared: %+v", c.Alerts())
	}
}

func TestNewValidatesConfig(t *testing.T) {
	ts := oauth2StaticForTest()
	cases := []yandexdirect.Config{
		{},
		{ID: "x", BaseURL: "ftp://nope"},
		{ID: "x", Language: "de"},
		{ID: "x", MaxInFlight: 6},
		{ID: "x", AttributionModel: "XX"},
		{ID: "x", ReportZone: "Mars/Olympus"},
		{ID: "x", Goals: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	}
	for i, cfg := range cases {
		if _, err := yandexdirect.New(cfg, ts, yandexdirect.Options{}); err == nil {
			t.Fatalf("case %d: config %+v accepted", i, cfg)
		}
	}
	if _, err := yandexdirect.New(yandexdirect.Config{ID: "x"}, nil, yandexdirect.Options{}); err == nil {
		t.Fatal("nil token source accepted")
	}
}
