package googleads_test

import (
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/pacing"
)

// TestCycleOperations measures the operations of one pacing cycle (a pull
// and an apply) from the fake's quota counter, at 180 and 1,000 campaigns,
// and asserts the figures of the closing note: a pull is 4 search
// operations and an apply's reconcile read 2, whatever the campaigns or
// rows; each changed budget is one mutate operation and each changed ad
// group bid one, all in one mutate request; the client's own daily budget
// counts exactly what Google counts; and what that leaves of the Explorer
// (2,880/day) and Basic (15,000/day) allowances at a 15-minute cycle. The
// table is logged for the note.
func TestCycleOperations(t *testing.T) {
	const (
		cyclesPerDay   = 96 // a 15-minute cycle
		pullOps        = 4  // campaigns, ad groups, hourly stats, ad policy
		applyReads     = 2  // reconcile read: campaigns, ad groups
		opsPerBudget   = 1  // one campaignBudgets update per changed budget
		opsPerAdGroup  = 1  // one adGroups update per ad group (2 per campaign here)
		readOpsPerDay  = (pullOps + applyReads) * cyclesPerDay
		adGroupsPerCmp = 2
	)
	// What a read-only day leaves for writes; the same at 180 and 1,000
	// campaigns because reads do not grow with campaigns.
	levels := []struct {
		name                 string
		limit                int
		spareDay, spareCycle int
		// Budget changes per campaign per day the spare allowance pays for,
		// in tenths (integer, to assert exactly).
		changesPerCampaignDay10 map[int]int
	}{
		{"explorer", 2_880, 2_304, 24, map[int]int{180: 128, 1000: 23}},
		{"basic", 15_000, 14_424, 150, map[int]int{180: 801, 1000: 144}},
	}
	if readOpsPerDay != 576 {
		t.Fatalf("read ops/day %d", readOpsPerDay)
	}
	for _, n := range []int{180, 1000} {
		e := newEnv(t, googleadstest.Options{DailyOperations: 1_000_000})
		e.seed(n)
		seedSpend(e, n)
		c := e.client(nil)
		// step measures one call: operations Google counted, mutate
		// requests sent, and that the client's budget counted the same.
		step := func(name string, run func() error) (ops, mutates int) {
			t.Helper()
			q, m := e.fake.QuotaUsed(), e.fake.Calls().Mutate
			if err := run(); err != nil {
				t.Fatalf("n=%d %s: %v", n, name, err)
			}
			ops, mutates = e.fake.QuotaUsed()-q, e.fake.Calls().Mutate-m
			if used := c.Budget().Used(); used != e.fake.QuotaUsed() {
				t.Fatalf("n=%d after %s: the client's operation budget counts %d, Google counted %d", n, name, used, e.fake.QuotaUsed())
			}
			return ops, mutates
		}
		applyAll := func(acts []adpacer.Action) func() error {
			return func() error {
				res, err := c.Apply(ctx, acts, pacing.ApplyOptions{})
				for _, r := range res {
					if r.Err != nil {
						return r.Err
					}
				}
				return err
			}
		}
		pulled, _ := step("pull", func() error { _, err := pull(c, e, "2026-11-08"); return err })
		// Worst case: every campaign's budget changes this cycle.
		allBudgets, budgetRequests := step("apply every budget", applyAll(budgetActions(n, "1100")))
		// Quiet cycle: everything already at target, reads only.
		quiet, quietRequests := step("quiet apply", applyAll(budgetActions(n, "1100")))
		// A bid change touches every ad group.
		bids := make([]adpacer.Action, n)
		for i := range bids {
			bids[i] = adpacer.Action{Key: adpacer.ActionKey(fmt.Sprint("bid", i)), Campaign: gid(i + 1), Kind: adpacer.SetBid, Value: micros("9")}
		}
		allBids, bidRequests := step("apply every bid", applyAll(bids))
		if pulled != pullOps || quiet != applyReads || quietRequests != 0 ||
			allBudgets != applyReads+opsPerBudget*n || budgetRequests != 1 ||
			allBids != applyReads+opsPerAdGroup*adGroupsPerCmp*n || bidRequests != 1 {
			t.Fatalf("n=%d: pull %d ops (want %d), quiet apply %d ops/%d requests (want %d/0), every budget %d ops/%d requests (want %d/1), every bid %d ops/%d requests (want %d/1)",
				n, pulled, pullOps, quiet, quietRequests, applyReads, allBudgets, budgetRequests, applyReads+opsPerBudget*n,
				allBids, bidRequests, applyReads+opsPerAdGroup*adGroupsPerCmp*n)
		}
		reads := (pulled + quiet) * cyclesPerDay
		t.Logf("%d campaigns: pull %d ops + apply reads %d = %d ops/cycle read-only (%d/day at %d cycles); "+
			"+%d ops when every budget changes (%d/cycle, %d/day); bids on %d ad groups each +%d",
			n, pulled, quiet, pulled+quiet, reads, cyclesPerDay, n, pulled+allBudgets, (pulled+allBudgets)*cyclesPerDay, adGroupsPerCmp, adGroupsPerCmp*n)
		for _, lvl := range levels {
			spare := lvl.limit - reads
			perCycle := spare / cyclesPerDay
			changes10 := spare * 10 / n
			t.Logf("  %s %d/day: reads use %d, leaving %d mutate ops/day = %d per cycle = %.1f budget changes per campaign per day",
				lvl.name, lvl.limit, reads, spare, perCycle, float64(spare)/float64(n))
			if spare != lvl.spareDay || perCycle != lvl.spareCycle || changes10 != lvl.changesPerCampaignDay10[n] {
				t.Fatalf("n=%d %s: spare %d/day, %d/cycle, %d.%d changes per campaign per day; the closing note says %d, %d, %d.%d",
					n, lvl.name, spare, perCycle, changes10/10, changes10%10, lvl.spareDay, lvl.spareCycle,
					lvl.changesPerCampaignDay10[n]/10, lvl.changesPerCampaignDay10[n]%10)
			}
			// Changing every budget every cycle never fits: the engine's
			// step cap and hold rules must keep writes sparse.
			if (pulled+allBudgets)*cyclesPerDay <= lvl.limit {
				t.Fatalf("n=%d %s: every budget every cycle fits (%d/day); the note says it does not", n, lvl.name, (pulled+allBudgets)*cyclesPerDay)
			}
		}
	}
}

// Secrets never reach logs: a failing run at debug level with canary
// tokens leaves no trace of them.
func TestSecretsNotLogged(t *testing.T) {
	const canary = "canary-9c1e5d"
	e := newEnv(t, googleadstest.Options{})
	e.seed(2)
	core, logs := observer.New(zapcore.DebugLevel)
	// A run with retries (logged at debug) and a developer-token canary.
	ok := e.client(func(o *googleads.Options) {
		o.Logger = zap.New(core)
		o.DeveloperToken = canary + "-dev"
	})
	e.fake.SetFaults(googleadstest.Faults{FailNext: 2})
	if _, err := pull(ok, e, "2026-11-09"); err != nil {
		t.Fatal(err)
	}
	// A run whose access token is refused.
	bad := e.client(func(o *googleads.Options) {
		o.Logger = zap.New(core)
		o.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: canary + "-access"})
	})
	_, err := pull(bad, e, "2026-11-09")
	if err == nil {
		t.Fatal("want an auth error")
	}
	var all strings.Builder
	all.WriteString(err.Error())
	for _, entry := range logs.All() {
		all.WriteString(entry.Message)
		for k, v := range entry.ContextMap() {
			fmt.Fprintf(&all, " %s=%v", k, v)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("expected retry logs at debug level")
	}
	if strings.Contains(all.String(), canary) {
		t.Fatalf("secret leaked: %s", all.String())
	}
}
