package vkads_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/vkads"
	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
	"github.com/adpacer/adpacer/pacing"
)

func vkadsApplyOpts() pacing.ApplyOptions { return pacing.ApplyOptions{} }

func budget(key string, id int64, rubles adpacer.Micros) adpacer.Action {
	return adpacer.Action{Key: adpacer.ActionKey(key), Campaign: cid(id), Kind: adpacer.SetDailyBudget, Value: micros(rubles)}
}

func state(key string, id int64, kind adpacer.ActionKind) adpacer.Action {
	return adpacer.Action{Key: adpacer.ActionKey(key), Campaign: cid(id), Kind: kind}
}

func apply(t *testing.T, c *vkads.Client, opts pacing.ApplyOptions, acts ...adpacer.Action) []pacing.Result {
	t.Helper()
	res, err := c.Apply(context.Background(), acts, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(acts) {
		t.Fatalf("%d results for %d actions", len(res), len(acts))
	}
	for i, r := range res {
		if r.Key != acts[i].Key {
			t.Fatalf("result %d has key %s, want %s (results in action order)", i, r.Key, acts[i].Key)
		}
	}
	return res
}

// Do nothing: every action already at target is a noop and no write is
// sent.
func TestApplyInSyncWritesNothing(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	a := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	b := e.fake.AddAdPlan(account, vkadstest.AdPlan{Status: "blocked"})
	c := e.client(t, nil, nil)
	res := apply(t, c, pacing.ApplyOptions{},
		budget("a-budget", a, adpacer.FromUnits(1000)+9_999), // floors to the current 1000.00
		state("a-resume", a, adpacer.Resume),
		state("b-pause", b, adpacer.Pause))
	for _, r := range res {
		if r.State != adpacer.ActionNoop || r.Err != nil {
			t.Errorf("%s: %s %v, want noop", r.Key, r.State, r.Err)
		}
	}
	if res[0].Before == nil || *res[0].Before != adpacer.FromUnits(1000) {
		t.Errorf("Before = %v, want the value read first", res[0].Before)
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Fatalf("%d mass_action calls for an account already at target", n)
	}
}

// Writes land in one mass_action per plan set; a budget and a pause of one
// plan travel in one item; amounts are floored to the kopeck.
func TestApplyWrites(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	a := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	b := e.fake.AddAdPlan(account, vkadstest.AdPlan{Status: "blocked"})
	noLimit := e.fake.AddAdPlan(account, vkadstest.AdPlan{})
	var writes []string
	e.fake.OnWrite(func(w vkadstest.WriteEvent) {
		writes = append(writes, fmt.Sprintf("%d %s %s->%s", w.Plan, w.Field, w.Old, w.New))
	})
	c := e.client(t, nil, nil)
	res := apply(t, c, pacing.ApplyOptions{},
		budget("a-budget", a, 1_500_505_000),
		state("a-pause", a, adpacer.Pause),
		state("b-resume", b, adpacer.Resume),
		budget("n-budget", noLimit, adpacer.FromUnits(300)))
	for _, r := range res {
		if r.State != adpacer.ActionApplied || r.Err != nil {
			t.Fatalf("%s: %s %v, want applied", r.Key, r.State, r.Err)
		}
	}
	if res[3].Before != nil {
		t.Errorf("Before of a plan without a daily limit = %v, want nil", *res[3].Before)
	}
	pa, _ := e.fake.AdPlan(a)
	pb, _ := e.fake.AdPlan(b)
	pn, _ := e.fake.AdPlan(noLimit)
	if pa.BudgetLimitDay != 1_500_500_000 || pa.Status != "blocked" || pb.Status != "active" || pn.BudgetLimitDay != rub(300) {
		t.Fatalf("fake state %+v %+v %+v", pa, pb, pn)
	}
	if n := e.fake.MutatingCalls(); n != 1 || len(writes) != 4 {
		t.Fatalf("%d mass_action calls, writes %q; want one call with four changes", n, writes)
	}
}

// At most 200 plans per mass_action: 450 changes take three calls.
func TestApplyBatchesOf200(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	var acts []adpacer.Action
	for i := 0; i < 450; i++ {
		id := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
		acts = append(acts, budget(fmt.Sprint("k", i), id, adpacer.FromUnits(2000)))
	}
	res := apply(t, e.client(t, nil, nil), pacing.ApplyOptions{}, acts...)
	for _, r := range res {
		if r.State != adpacer.ActionApplied {
			t.Fatalf("%s: %s %v", r.Key, r.State, r.Err)
		}
	}
	if n := e.fake.MutatingCalls(); n != 3 {
		t.Fatalf("mass_action calls = %d, want 3 (200 + 200 + 50)", n)
	}
}

// DryRun: VK has no validate-only flag, so nothing is sent; would-be
// writes are held, noops stay noops.
func TestApplyDryRunSendsNothing(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	a := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	res := apply(t, e.client(t, nil, nil), pacing.ApplyOptions{DryRun: true},
		budget("raise", a, adpacer.FromUnits(1200)), state("resume", a, adpacer.Resume))
	if res[0].State != adpacer.ActionHeld || res[1].State != adpacer.ActionNoop {
		t.Fatalf("results %+v, want held and noop", res)
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Fatalf("dry run sent %d mass_action calls", n)
	}
	if p, _ := e.fake.AdPlan(a); p.BudgetLimitDay != rub(1000) {
		t.Fatal("dry run changed the budget")
	}
}

// Actions the platform cannot take fail as terminal before any write, each
// with a message naming the campaign and the fix.
func TestApplyRefusesLocally(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	a := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	gone := e.fake.AddAdPlan(account, vkadstest.AdPlan{Status: "deleted"})
	cases := []struct {
		act  adpacer.Action
		want string
	}{
		{adpacer.Action{Key: "bid", Campaign: cid(a), Kind: adpacer.SetBid, Value: micros(adpacer.FromUnits(5))}, "VK Ads sets bids per ad group"},
		{budget("low", a, adpacer.FromUnits(299)), "daily budget 299.00 RUB is below VK Ads' minimum of 300.00 RUB"},
		{budget("zero", a, 0), "Value must be a positive amount"},
		{state("deleted", gone, adpacer.Resume), "ad plan is deleted"},
		{state("missing", 999999, adpacer.Pause), "ad plan not found in the account"},
		{adpacer.Action{Key: "google", Campaign: adpacer.NewCampaignID(adpacer.GoogleAds, "1"), Kind: adpacer.Pause}, "belongs to google_ads"},
		{adpacer.Action{Key: "kind", Campaign: cid(a), Kind: "archive"}, `kind "archive" is not supported`},
	}
	acts := make([]adpacer.Action, len(cases))
	for i, tc := range cases {
		acts[i] = tc.act
	}
	res := apply(t, e.client(t, nil, nil), pacing.ApplyOptions{}, acts...)
	for i, tc := range cases {
		r := res[i]
		if r.State != adpacer.ActionFailed || !adpacer.IsTerminal(r.Err) || !strings.Contains(r.Err.Error(), tc.want) || !strings.Contains(r.Err.Error(), string(tc.act.Campaign)) {
			t.Errorf("%s: %s %v; want terminal failure naming %s and containing %q", tc.act.Key, r.State, r.Err, tc.act.Campaign, tc.want)
		}
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Fatalf("%d mass_action calls for actions refused locally", n)
	}
	dup := apply(t, e.client(t, nil, nil), pacing.ApplyOptions{}, state("p1", a, adpacer.Pause), state("r1", a, adpacer.Resume))
	if dup[0].State != adpacer.ActionApplied || dup[1].State != adpacer.ActionFailed || !strings.Contains(dup[1].Err.Error(), "duplicates action p1") {
		t.Fatalf("pause and resume of one plan: %+v", dup)
	}
}

// When VK refuses a batch (here a budget under the fake's 300-ruble minimum
// that the client was configured to let through), the plans are resent one
// by one: only the bad one fails, as terminal, with the fix; the others
// are applied.
func TestApplyIsolatesARefusedItem(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	a := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	b := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	c := e.client(t, func(c *vkads.Config) { c.MinDailyBudget = adpacer.FromUnits(1) }, nil)
	res := apply(t, c, pacing.ApplyOptions{}, budget("low", a, adpacer.FromUnits(250)), budget("ok", b, adpacer.FromUnits(1500)), state("pause", b, adpacer.Pause))
	if r := res[0]; r.State != adpacer.ActionFailed || !adpacer.IsTerminal(r.Err) ||
		!strings.Contains(r.Err.Error(), string(cid(a))) || !strings.Contains(r.Err.Error(), "min_daily_budget") || !strings.Contains(r.Err.Error(), "ERR_WRONG_PARAMETER") {
		t.Errorf("refused item: %s %v", r.State, r.Err)
	}
	if res[1].State != adpacer.ActionApplied || res[2].State != adpacer.ActionApplied {
		t.Errorf("good items: %+v %+v", res[1], res[2])
	}
	if pb, _ := e.fake.AdPlan(b); pb.BudgetLimitDay != rub(1500) || pb.Status != "blocked" {
		t.Errorf("plan b %+v", pb)
	}
	if n := e.fake.MutatingCalls(); n != 3 {
		t.Errorf("mass_action calls = %d, want 3 (the batch, then each plan alone)", n)
	}
}

// A write that keeps hitting server errors is retried (mass_action sets
// absolute values, so resending is safe) and then fails retryable, to be
// re-planned next cycle, not terminal.
func TestApplyServerErrors(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	a := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	c := e.client(t, nil, nil)
	e.fake.FailRoute(vkadstest.RouteMassAction, 1, 503)
	if r := apply(t, c, pacing.ApplyOptions{}, budget("b1", a, adpacer.FromUnits(1200)))[0]; r.State != adpacer.ActionApplied {
		t.Fatalf("after one 503: %s %v", r.State, r.Err)
	}
	e.fake.FailRoute(vkadstest.RouteMassAction, 4, 502)
	r := apply(t, c, pacing.ApplyOptions{}, budget("b2", a, adpacer.FromUnits(1300)))[0]
	if r.State != adpacer.ActionFailed || adpacer.IsTerminal(r.Err) || !strings.Contains(r.Err.Error(), string(cid(a))) {
		t.Fatalf("persistent 502: %s %v, want a retryable failure naming the campaign", r.State, r.Err)
	}
	if n := e.fake.MutatingCalls(); n != 2+4 {
		t.Fatalf("mass_action calls = %d, want 6", n)
	}
}
