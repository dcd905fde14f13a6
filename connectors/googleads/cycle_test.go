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
// and checks them against the access levels at a 15-minute cycle.
func TestCycleOperations(t *testing.T) {
	const cyclesPerDay = 96
	for _, n := range []int{180, 1000} {
		e := newEnv(t, googleadstest.Options{DailyOperations: 1_000_000})
		e.seed(n)
		seedSpend(e, n)
		c := e.client(nil)
		if _, err := pull(c, e, "2026-11-08"); err != nil {
			t.Fatal(err)
		}
		pullOps := e.fake.QuotaUsed()
		// Worst case: every campaign's budget changes this cycle.
		if _, err := c.Apply(ctx, budgetActions(n, "1100"), pacing.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		allChanged := e.fake.QuotaUsed() - pullOps
		// Quiet cycle: everything already at target.
		before := e.fake.QuotaUsed()
		if _, err := c.Apply(ctx, budgetActions(n, "1100"), pacing.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		quiet := e.fake.QuotaUsed() - before
		// A bid change touches every ad group (2 per campaign here).
		before = e.fake.QuotaUsed()
		bids := make([]adpacer.Action, n)
		for i := range bids {
			bids[i] = adpacer.Action{Key: adpacer.ActionKey(fmt.Sprint("bid", i)), Campaign: gid(i + 1), Kind: adpacer.SetBid, Value: micros("9")}
		}
		if _, err := c.Apply(ctx, bids, pacing.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		bidOps := e.fake.QuotaUsed() - before
		if pullOps != 4 || quiet != 2 || allChanged != 2+n || bidOps != 2+2*n {
			t.Fatalf("n=%d: pull %d, quiet apply %d, all budgets %d, all bids %d", n, pullOps, quiet, allChanged, bidOps)
		}
		reads := (pullOps + quiet) * cyclesPerDay
		t.Logf("%d campaigns: pull %d ops + apply reads %d = %d ops/cycle read-only (%d/day at 96 cycles); "+
			"+%d ops when every budget changes (%d/cycle, %d/day); bids on 2 ad groups each +%d",
			n, pullOps, quiet, pullOps+quiet, reads, n, pullOps+allChanged, (pullOps+allChanged)*cyclesPerDay, 2*n)
		for _, lvl := range []struct {
			name  string
			limit int
		}{{"explorer", 2880}, {"basic", 15000}} {
			spare := lvl.limit - reads
			t.Logf("  %s %d/day: reads use %d, leaving %d mutate ops/day = %d per cycle = %.1f budget changes per campaign per day",
				lvl.name, lvl.limit, reads, spare, spare/cyclesPerDay, float64(spare)/float64(n))
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
