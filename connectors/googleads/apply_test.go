package googleads_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/pacing"
)

func budgetActions(n int, amount string) []adpacer.Action {
	acts := make([]adpacer.Action, n)
	for i := range acts {
		acts[i] = adpacer.Action{Key: adpacer.ActionKey(fmt.Sprintf("k%d", i+1)), Campaign: gid(i + 1), Kind: adpacer.SetDailyBudget, Value: micros(amount)}
	}
	return acts
}

// Statistics for n campaigns over 35 days: 2 active hours per day per
// campaign (70 rows per campaign), enough to span several 10,000-row
// batches at 1,000 campaigns.
func seedSpend(e *env, n int) {
	start := time.Date(2026, 10, 6, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		for d := 0; d < 35; d++ {
			date := start.AddDate(0, 0, d).Format(time.DateOnly)
			e.spend.Set(cid, int64(i), date, 9, googleadstest.Metrics{CostMicros: 1_230_000, Clicks: 3, Impressions: 40, Conversions: 0.5})
			e.spend.Set(cid, int64(i), date, 18, googleadstest.Metrics{CostMicros: 4_560_000, Clicks: 5, Impressions: 90})
		}
	}
}

// A full sync costs the same number of search operations at 10 and 1,000
// campaigns: the count does not depend on rows.
func TestPullOperationsConstant(t *testing.T) {
	counts := map[int]int{}
	for _, n := range []int{10, 1000} {
		e := newEnv(t, googleadstest.Options{})
		e.seed(n)
		seedSpend(e, n)
		c := e.client(nil)
		b, err := pull(c, e, "2026-10-06")
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		for _, s := range b.Stats {
			if s.Cost > 0 {
				rows++
			}
		}
		if len(b.Campaigns) != n || rows != n*70 || len(b.Ads) != n {
			t.Fatalf("n=%d: %d campaigns, %d non-zero hours, %d ads", n, len(b.Campaigns), rows, len(b.Ads))
		}
		calls := e.fake.Calls()
		counts[n] = calls.Search + calls.SearchStream
		if counts[n] != c.Budget().Used() || counts[n] != e.fake.QuotaUsed() {
			t.Fatalf("n=%d: fake saw %d queries, client counted %d, fake quota %d", n, counts[n], c.Budget().Used(), e.fake.QuotaUsed())
		}
		t.Logf("full sync of %d campaigns x 35 days hourly: %d search operations, %d stats", n, counts[n], len(b.Stats))
	}
	if counts[10] != counts[1000] || counts[10] != 4 {
		t.Fatalf("search operations: %v, want 4 at both sizes", counts)
	}
}

// 1,000 budget updates are one mutate request; chunked at the limit.
func TestApplyBudgetsOneRequest(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(1000)
	c := e.client(nil)
	res, err := c.Apply(ctx, budgetActions(1000, "1500.005"), pacing.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.State != adpacer.ActionApplied || r.Err != nil || *r.Before != adpacer.MustMicros("1000") || r.Key != adpacer.ActionKey(fmt.Sprintf("k%d", i+1)) {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	calls := e.fake.Calls()
	if calls.Mutate != 1 || calls.MutateOperations != 1000 || calls.SearchStream != 2 {
		t.Fatalf("calls: %+v", calls)
	}
	// 1500.005 RUB floored to the kopeck.
	if b, _ := e.fake.Budget(cid, 777); b.AmountMicros != 1_500_000_000 {
		t.Fatalf("budget 777: %d", b.AmountMicros)
	}
	t.Logf("budget update of 1000 campaigns: %d mutate request(s), %d operations, %d reads", calls.Mutate, calls.MutateOperations, calls.SearchStream)

	// Same values again: reconciled to noop, no mutate request.
	e.fake.ResetCalls()
	res, err = c.Apply(ctx, budgetActions(1000, "1500.00"), pacing.ApplyOptions{})
	if err != nil || res[0].State != adpacer.ActionNoop || e.fake.Calls().Mutate != 0 {
		t.Fatalf("noop: %v %+v %+v", err, res[0], e.fake.Calls())
	}

	// With a smaller per-request limit the batch is split.
	small := e.client(func(o *googleads.Options) { o.MaxOperationsPerRequest = 300 })
	e.fake.ResetCalls()
	if _, err := small.Apply(ctx, budgetActions(1000, "1600"), pacing.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if calls := e.fake.Calls(); calls.Mutate != 4 || calls.MutateOperations != 1000 {
		t.Fatalf("chunked: %+v", calls)
	}
}

// A partial failure on 3 of 50 operations applies 47 and returns 3
// failures with their reasons.
func TestApplyPartialFailure(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(50)
	bad := map[int]bool{7: true, 23: true, 41: true}
	for id := range bad {
		must(t, e.fake.RejectOperation(cid, fmt.Sprintf("customers/%s/campaignBudgets/%d", cid, id),
			googleadstest.AdsError{Category: "campaignBudgetError", Code: "BUDGET_LOCKED_BY_POLICY", Message: "budget locked for review"}))
	}
	c := e.client(nil)
	res, err := c.Apply(ctx, budgetActions(50, "2000"), pacing.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	applied, failed := 0, 0
	for i, r := range res {
		id := i + 1
		b, _ := e.fake.Budget(cid, int64(id))
		switch {
		case bad[id]:
			failed++
			if r.State != adpacer.ActionFailed || r.Err == nil || !strings.Contains(r.Err.Error(), "BUDGET_LOCKED_BY_POLICY") ||
				!strings.Contains(r.Err.Error(), "budget locked for review") || !adpacer.IsTerminal(r.Err) || b.AmountMicros != 1_000_000_000 {
				t.Fatalf("campaign %d: %+v, budget %d", id, r, b.AmountMicros)
			}
		default:
			applied++
			if r.State != adpacer.ActionApplied || b.AmountMicros != 2_000_000_000 {
				t.Fatalf("campaign %d: %+v, budget %d", id, r, b.AmountMicros)
			}
		}
	}
	if applied != 47 || failed != 3 || e.fake.Calls().Mutate != 1 {
		t.Fatalf("applied %d, failed %d, mutate requests %d", applied, failed, e.fake.Calls().Mutate)
	}
}

// Dry run sends validateOnly: zero state-changing calls, validated
// actions held, invalid ones failed.
func TestApplyDryRun(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(5)
	must(t, e.fake.RejectOperation(cid, "customers/"+cid+"/campaignBudgets/2", googleadstest.AdsError{Category: "rangeError", Code: "TOO_HIGH", Message: "too high"}))
	var changes int
	e.fake.OnMutate(func(googleadstest.MutateEvent) { changes++ })
	c := e.client(nil)
	acts := append(budgetActions(3, "3000"),
		adpacer.Action{Key: "p", Campaign: gid(4), Kind: adpacer.Pause},
		adpacer.Action{Key: "b", Campaign: gid(5), Kind: adpacer.SetBid, Value: micros("12.5")})
	res, err := c.Apply(ctx, acts, pacing.ApplyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []adpacer.ActionState{adpacer.ActionHeld, adpacer.ActionFailed, adpacer.ActionHeld, adpacer.ActionHeld, adpacer.ActionHeld}
	for i, r := range res {
		if r.State != want[i] {
			t.Fatalf("action %d: %+v", i, r)
		}
	}
	calls := e.fake.Calls()
	if calls.Mutate != 0 || changes != 0 || calls.ValidateOnly != 3 {
		t.Fatalf("dry run: %+v, %d changes", calls, changes)
	}
	if b, _ := e.fake.Budget(cid, 1); b.AmountMicros != 1_000_000_000 {
		t.Fatal("dry run changed a budget")
	}
	if camp, _ := e.fake.Campaign(cid, 4); camp.Status != "ENABLED" {
		t.Fatal("dry run paused a campaign")
	}
}

func TestApplyBidsStatusAndRefusals(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(4)
	must(t, e.fake.AddAdGroup(cid, googleadstest.AdGroup{ID: 12, CampaignID: 1, Status: "PAUSED", CPCBidMicros: 14_000_000}))
	must(t, e.fake.AddAdGroup(cid, googleadstest.AdGroup{ID: 13, CampaignID: 1, Status: "REMOVED", CPCBidMicros: 1_000_000}))
	must(t, e.fake.AddBudget(cid, googleadstest.Budget{ID: 60, AmountMicros: 5_000_000_000}))
	must(t, e.fake.AddCampaign(cid, googleadstest.Campaign{ID: 6, BudgetID: 60, BiddingStrategyType: "TARGET_CPA"}))
	must(t, e.fake.AddCampaign(cid, googleadstest.Campaign{ID: 7, BudgetID: 60, Status: "PAUSED"}))
	must(t, e.fake.AddCampaign(cid, googleadstest.Campaign{ID: 8, Status: "REMOVED"}))
	c := e.client(nil)
	acts := []adpacer.Action{
		{Key: "bid", Campaign: gid(1), Kind: adpacer.SetBid, Value: micros("11.119")},
		{Key: "auto-bid", Campaign: gid(6), Kind: adpacer.SetBid, Value: micros("11")},
		{Key: "shared", Campaign: gid(6), Kind: adpacer.SetDailyBudget, Value: micros("100")},
		{Key: "pause", Campaign: gid(2), Kind: adpacer.Pause},
		{Key: "resume-noop", Campaign: gid(3), Kind: adpacer.Resume},
		{Key: "resume", Campaign: gid(7), Kind: adpacer.Resume},
		{Key: "removed", Campaign: gid(8), Kind: adpacer.Pause},
		{Key: "missing", Campaign: gid(99), Kind: adpacer.Pause},
		{Key: "foreign", Campaign: "yandex_direct:1", Kind: adpacer.Pause},
		{Key: "no-value", Campaign: gid(4), Kind: adpacer.SetDailyBudget},
		{Key: "kind", Campaign: gid(4), Kind: "set_magic"},
		{Key: "dup-1", Campaign: gid(4), Kind: adpacer.SetDailyBudget, Value: micros("10")},
		{Key: "dup-2", Campaign: gid(4), Kind: adpacer.SetDailyBudget, Value: micros("20")},
	}
	res, err := c.Apply(ctx, acts, pacing.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[adpacer.ActionKey]pacing.Result{}
	for _, r := range res {
		byKey[r.Key] = r
	}
	check := func(key adpacer.ActionKey, st adpacer.ActionState, terminal bool, contains string) {
		t.Helper()
		r := byKey[key]
		if r.State != st || (r.Err != nil) != (contains != "") || adpacer.IsTerminal(r.Err) != terminal ||
			(contains != "" && !strings.Contains(r.Err.Error(), contains)) {
			t.Fatalf("%s: %+v", key, r)
		}
	}
	check("bid", adpacer.ActionApplied, false, "")
	check("auto-bid", adpacer.ActionFailed, true, "TARGET_CPA")
	check("shared", adpacer.ActionFailed, true, "shared by 2 campaigns")
	check("pause", adpacer.ActionApplied, false, "")
	check("resume-noop", adpacer.ActionNoop, false, "")
	check("resume", adpacer.ActionApplied, false, "")
	check("removed", adpacer.ActionFailed, true, "removed")
	check("missing", adpacer.ActionFailed, true, "not found")
	check("foreign", adpacer.ActionFailed, true, "not google_ads")
	check("no-value", adpacer.ActionFailed, true, "positive amount")
	check("kind", adpacer.ActionFailed, true, "unknown kind")
	check("dup-1", adpacer.ActionApplied, false, "")
	check("dup-2", adpacer.ActionFailed, false, "already changed")
	if b := byKey["bid"].Before; b == nil || *b != adpacer.MustMicros("10") {
		t.Fatalf("bid before: %v", b)
	}
	for _, id := range []int64{10, 11, 12} {
		if g, _ := e.fake.AdGroup(cid, id); g.CPCBidMicros != 11_110_000 {
			t.Fatalf("ad group %d bid %d, want 11.11 RUB", id, g.CPCBidMicros)
		}
	}
	if g, _ := e.fake.AdGroup(cid, 13); g.CPCBidMicros != 1_000_000 {
		t.Fatal("removed ad group was changed")
	}
	if camp, _ := e.fake.Campaign(cid, 2); camp.Status != "PAUSED" {
		t.Fatal("pause not applied")
	}
	if camp, _ := e.fake.Campaign(cid, 7); camp.Status != "ENABLED" {
		t.Fatal("resume not applied")
	}
}

// The daily operation budget holds what would exceed it and exports metrics.
func TestOperationBudgetHolds(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(20)
	reg := prometheus.NewRegistry()
	budget, err := googleads.NewOperationBudget(10, e.clk.Now, reg)
	must(t, err)
	c := e.client(func(o *googleads.Options) { o.Budget = budget })
	res, err := c.Apply(ctx, budgetActions(20, "1234"), pacing.ApplyOptions{})
	must(t, err)
	applied, held := 0, 0
	for _, r := range res {
		switch {
		case r.State == adpacer.ActionApplied:
			applied++
		case r.State == adpacer.ActionHeld && errors.Is(r.Err, googleads.ErrOperationBudget):
			held++
		default:
			t.Fatalf("unexpected %+v", r)
		}
	}
	// 2 reads leave 8 operations.
	if applied != 8 || held != 12 || budget.Remaining() != 0 {
		t.Fatalf("applied %d, held %d, remaining %d", applied, held, budget.Remaining())
	}
	if got := opsMetric(t, reg, "mutate"); got != 8 {
		t.Fatalf("mutate metric %v", got)
	}
	if _, err := pull(c, e, "2026-11-10"); !errors.Is(err, googleads.ErrOperationBudget) || adpacer.IsTerminal(err) {
		t.Fatalf("pull over budget: %v", err)
	}
	e.clk.Advance(24*time.Hour + time.Second)
	if budget.Remaining() != 10 {
		t.Fatalf("rolling window did not free operations: %d", budget.Remaining())
	}
}

// opsMetric reads adpacer_google_ads_operations_total{kind} from reg and
// checks the remaining gauge reads 0.
func opsMetric(t *testing.T, reg *prometheus.Registry, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	value := -1.0
	for _, mf := range mfs {
		switch mf.GetName() {
		case "adpacer_google_ads_operations_remaining":
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 0 {
				t.Fatalf("remaining gauge %v, want 0", v)
			}
		case "adpacer_google_ads_operations_total":
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == kind {
					value = m.GetCounter().GetValue()
				}
			}
		}
	}
	if value < 0 {
		t.Fatalf("adpacer_google_ads_operations_total{kind=%q} not found", kind)
	}
	return value
}
