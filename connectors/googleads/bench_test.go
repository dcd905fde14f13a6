package googleads_test

import (
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/internal/httpx"
	"github.com/adpacer/adpacer/pacing"
)

func benchEnv(b *testing.B, campaigns int, dense bool) (*googleadstest.Server, *googleads.Client, *testClock) {
	b.Helper()
	clk := newClock()
	fake, err := googleadstest.Start(googleadstest.Options{Now: clk.Now, DailyOperations: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fake.Close)
	must(b, fake.AddCustomer(googleadstest.Customer{ID: cid, TimeZone: "Europe/Moscow", Currency: "RUB"}))
	sp := fake.Spend().(*googleadstest.MemorySpend)
	start := time.Date(2026, 10, 6, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= campaigns; i++ {
		id := int64(i)
		must(b, fake.AddBudget(cid, googleadstest.Budget{ID: id, AmountMicros: 1_000_000_000}))
		must(b, fake.AddCampaign(cid, googleadstest.Campaign{ID: id, BudgetID: id}))
		must(b, fake.AddAdGroup(cid, googleadstest.AdGroup{ID: id * 10, CampaignID: id, CPCBidMicros: 10_000_000}))
		for d := 0; d < 35; d++ {
			date := start.AddDate(0, 0, d).Format(time.DateOnly)
			for h := 0; h < 24; h++ {
				if dense || h == 9 || h == 18 {
					sp.Set(cid, id, date, h, googleadstest.Metrics{CostMicros: 1_230_000, Clicks: 3, Impressions: 40, Conversions: 0.5})
				}
			}
		}
	}
	c, err := googleads.New(googleads.Options{
		CustomerID: cid, BaseURL: fake.URL(), Now: clk.Now, AccessLevel: googleads.AccessStandard,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fake.IssueAccessToken(1000 * time.Hour)}),
		HTTP:        httpx.Options{Transport: fake.Client().Transport, Clock: clk},
	})
	if err != nil {
		b.Fatal(err)
	}
	return fake, c, clk
}

// BenchmarkPull: a full 35-day hourly sync (client and fake in one process,
// so the figure includes the fake's rendering).
func BenchmarkPull(b *testing.B) {
	for _, bc := range []struct {
		name      string
		campaigns int
		dense     bool
	}{{"180x35d_dense", 180, true}, {"1000x35d_sparse", 1000, false}} {
		b.Run(bc.name, func(b *testing.B) {
			_, c, clk := benchEnv(b, bc.campaigns, bc.dense)
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Pull(ctx, connectors.AdPullRequest{Now: clk.Now(), StatsFrom: "2026-10-06"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyBudgets: reconcile-read plus one mutate request for 1,000
// budget changes (alternating targets so every run changes every budget).
func BenchmarkApplyBudgets(b *testing.B) {
	_, c, _ := benchEnv(b, 1000, false)
	acts := [2][]adpacer.Action{budgetActions(1000, "1100"), budgetActions(1000, "1200")}
	i := 0
	for b.Loop() {
		res, err := c.Apply(ctx, acts[i%2], pacing.ApplyOptions{})
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res[0].Err)
		}
		i++
	}
}
