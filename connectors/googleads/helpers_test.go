package googleads_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/internal/httpx"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testClock is the shared injected clock: the fake's "now", the client's
// "today" and budget window, and httpx's sleeps (recorded, not slept).
type testClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

var _ httpx.Clock = (*testClock)(nil)

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 10, 12, 30, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return ctx.Err()
}
func (c *testClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

const cid = "1234567890"

type env struct {
	t     *testing.T
	clk   *testClock
	fake  *googleadstest.Server
	spend *googleadstest.MemorySpend
}

func newEnv(t *testing.T, fo googleadstest.Options) *env {
	t.Helper()
	clk := newClock()
	fo.Now = clk.Now
	fake, err := googleadstest.Start(fo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	if err := fake.AddCustomer(googleadstest.Customer{ID: cid, Name: "Bank", TimeZone: "Europe/Moscow", Currency: "RUB"}); err != nil {
		t.Fatal(err)
	}
	sp, _ := fake.Spend().(*googleadstest.MemorySpend)
	return &env{t: t, clk: clk, fake: fake, spend: sp}
}

// client builds a client against the fake with a static valid token.
func (e *env) client(mod func(*googleads.Options)) *googleads.Client {
	e.t.Helper()
	opts := googleads.Options{
		CustomerID:  "123-456-7890",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.fake.IssueAccessToken(1000 * time.Hour), TokenType: "Bearer"}),
		BaseURL:     e.fake.URL(),
		Now:         e.clk.Now,
		HTTP: httpx.Options{
			Transport: e.fake.Client().Transport,
			Clock:     e.clk,
			Rand:      func() float64 { return 0.5 },
		},
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := googleads.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// seed creates n MANUAL_CPC campaigns (ids 1..n) with their own budget of
// 1,000 RUB, two ad groups at 10 RUB and one approved ad each.
func (e *env) seed(n int) {
	e.t.Helper()
	for i := 1; i <= n; i++ {
		id := int64(i)
		must(e.t, e.fake.AddBudget(cid, googleadstest.Budget{ID: id, AmountMicros: 1_000_000_000}))
		must(e.t, e.fake.AddCampaign(cid, googleadstest.Campaign{ID: id, Name: fmt.Sprintf("City %d", i), BudgetID: id, BiddingStrategyType: "MANUAL_CPC"}))
		must(e.t, e.fake.AddAdGroup(cid, googleadstest.AdGroup{ID: id * 10, CampaignID: id, CPCBidMicros: 10_000_000}))
		must(e.t, e.fake.AddAdGroup(cid, googleadstest.AdGroup{ID: id*10 + 1, CampaignID: id, CPCBidMicros: 10_000_000}))
		must(e.t, e.fake.AddAd(cid, googleadstest.Ad{ID: id * 100, AdGroupID: id * 10, Approval: "APPROVED", Review: "REVIEWED"}))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func micros(s string) *adpacer.Micros {
	m := adpacer.MustMicros(s)
	return &m
}

func gid(id int) adpacer.CampaignID {
	return adpacer.NewCampaignID(adpacer.GoogleAds, fmt.Sprint(id))
}
