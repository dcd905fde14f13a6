package vkads_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/vkads"
	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
	"github.com/adpacer/adpacer/pacing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	_ connectors.AdSource = (*vkads.Client)(nil)
	_ pacing.Actuator     = (*vkads.Client)(nil)
)

func msk(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, vkadstest.Moscow())
}

// Pull end to end: campaigns with exact budgets and mapped states, one Stat
// per plan and closed Moscow day across the November/December boundary,
// and today's running total as a snapshot.
func TestPullEndToEnd(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	active := e.fake.AddAdPlan(account, vkadstest.AdPlan{Name: "Ипотека Москва", BudgetLimitDay: rub(1000)})
	blocked := e.fake.AddAdPlan(account, vkadstest.AdPlan{Name: "Cards", Status: "blocked"})
	deleted := e.fake.AddAdPlan(account, vkadstest.AdPlan{Name: "Old", Status: "deleted", BudgetLimitDay: 500_500_000})
	e.spend.SetDay(active, "2026-11-29", vkadstest.Spend{SpentMicros: 812_340_000, Shows: 4000, Clicks: 40, Goals: 3})
	e.spend.SetDay(active, "2026-11-30", vkadstest.Spend{SpentMicros: 999_990_000, Shows: 5000, Clicks: 51, Goals: 4})
	e.spend.SetDay(blocked, "2026-11-28", vkadstest.Spend{SpentMicros: 10_000, Shows: 1})
	// Today: 120 rubles in each of hours 0..9 (closed at 10:00 MSK) and 60
	// in hour 10, a quarter of which has passed at 10:15.
	for h := 0; h < 10; h++ {
		e.spend.AddHour(active, "2026-12-01", h, vkadstest.Spend{SpentMicros: rub(120), Shows: 100, Clicks: 1})
	}
	e.spend.AddHour(active, "2026-12-01", 10, vkadstest.Spend{SpentMicros: rub(60), Shows: 40})
	e.clock.Advance(15 * time.Minute)
	now := e.clock.Now()

	c := e.client(t, nil, nil)
	b, err := c.Pull(context.Background(), connectors.AdPullRequest{Now: now, StatsFrom: "2026-11-28"})
	if err != nil {
		t.Fatal(err)
	}
	// An own-account client: campaigns carry its client_id as the account.
	acct := c.Account()
	if acct != "vk-client-1" {
		t.Fatalf("account %q, want the client_id vk-client-1", acct)
	}
	wantCamps := []adpacer.Campaign{
		{ID: cid(active), AccountID: acct, Name: "Ипотека Москва", TimeZone: "Europe/Moscow", Currency: "RUB", State: adpacer.StateOn, DailyBudget: micros(adpacer.FromUnits(1000)), UpdatedAt: now},
		{ID: cid(blocked), AccountID: acct, Name: "Cards", TimeZone: "Europe/Moscow", Currency: "RUB", State: adpacer.StatePaused, UpdatedAt: now},
		{ID: cid(deleted), AccountID: acct, Name: "Old", TimeZone: "Europe/Moscow", Currency: "RUB", State: adpacer.StateEnded, DailyBudget: micros(500_500_000), UpdatedAt: now},
	}
	if diff := cmp.Diff(wantCamps, b.Campaigns); diff != "" {
		t.Errorf("campaigns mismatch (-want +got):\n%s", diff)
	}
	if len(b.Stats) != 9 {
		t.Fatalf("%d stats, want 3 plans x 3 closed days (28, 29, 30 November)", len(b.Stats))
	}
	got := map[string]adpacer.Stat{}
	for _, s := range b.Stats {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		got[string(s.Campaign)+"@"+s.Start.In(vkadstest.Moscow()).Format(time.DateOnly)] = s
	}
	last := got[string(cid(active))+"@2026-11-30"]
	if !last.Start.Equal(msk(2026, 11, 30)) || !last.End.Equal(msk(2026, 12, 1)) {
		t.Errorf("30 November stat spans %s..%s, want Moscow midnights across the month boundary", last.Start, last.End)
	}
	if last.Cost != 999_990_000 || last.Clicks != 51 || last.Impressions != 5000 || last.Conversions != 4 {
		t.Errorf("30 November stat %+v", last)
	}
	if s := got[string(cid(active))+"@2026-11-29"]; s.Cost != 812_340_000 || s.Conversions != 3 {
		t.Errorf("29 November stat %+v", s)
	}
	if s, ok := got[string(cid(active))+"@2026-11-28"]; !ok || s.Cost != 0 {
		t.Errorf("a day without spend must be a zero stat (a restated day that fell to zero overwrites): %+v %v", s, ok)
	}
	if s := got[string(cid(blocked))+"@2026-11-28"]; s.Cost != 10_000 || s.Impressions != 1 {
		t.Errorf("blocked plan's stat %+v", s)
	}
	if len(b.Snapshots) != 3 {
		t.Fatalf("snapshots %+v", b.Snapshots)
	}
	snap := b.Snapshots[0]
	want := adpacer.SpendSnapshot{Campaign: cid(active), Day: "2026-12-01", At: now, Cost: adpacer.FromUnits(10*120 + 15)}
	if diff := cmp.Diff(want, snap); diff != "" {
		t.Errorf("today's snapshot mismatch (-want +got):\n%s", diff)
	}
	if n := e.fake.Calls(vkadstest.RouteStatistics); n != 1 {
		t.Errorf("statistics calls = %d, want one for closed days and today together", n)
	}
}

// Paging and batching: 450 plans are read in pages of PageLimit and their
// statistics in requests of at most 200 ids.
func TestPullPagesAndBatches(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	for i := 0; i < 450; i++ {
		e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(300 + int64(i))})
	}
	c := e.client(t, func(c *vkads.Config) { c.PageLimit = 100 }, nil)
	b, err := c.Pull(context.Background(), connectors.AdPullRequest{Now: t0, StatsFrom: "2026-11-30"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Campaigns) != 450 || len(b.Stats) != 450 || len(b.Snapshots) != 450 {
		t.Fatalf("%d campaigns, %d stats, %d snapshots; want 450 each", len(b.Campaigns), len(b.Stats), len(b.Snapshots))
	}
	if got := e.fake.Calls(vkadstest.RouteAdPlans); got != 5 {
		t.Errorf("ad_plans calls = %d, want 5 pages of 100", got)
	}
	if got := e.fake.Calls(vkadstest.RouteStatistics); got != 3 {
		t.Errorf("statistics calls = %d, want 3 (200 + 200 + 50 ids)", got)
	}
}

func TestPullDefaultsAndBadRequests(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	e.fake.AddAdPlan(account, vkadstest.AdPlan{})
	c := e.client(t, nil, nil)
	b, err := c.Pull(context.Background(), connectors.AdPullRequest{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Stats) != 3 || !b.Stats[0].Start.Equal(msk(2026, 11, 28)) {
		t.Errorf("without StatsFrom: %d stats from %v, want the 3 restatement days", len(b.Stats), b.Stats[0].Start)
	}
	_, err = c.Pull(context.Background(), connectors.AdPullRequest{Now: t0, StatsFrom: "28.11.2026"})
	if err == nil || !strings.Contains(err.Error(), "StatsFrom") {
		t.Errorf("bad StatsFrom: %v", err)
	}
	_, err = c.Pull(context.Background(), connectors.AdPullRequest{Now: t0, StatsFrom: "2025-01-01"})
	if err == nil || !strings.Contains(err.Error(), "use 2025-11-30 or later") { // 366 days back
		t.Errorf("StatsFrom too old: %v", err)
	}
}

// stub serves a fixed ad plan list behind a working token endpoint, for
// answers the fake never gives (malformed money).
func stub(t *testing.T, plans string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v2/oauth2/token.json":
			_, _ = w.Write([]byte(`{"access_token":"at","token_type":"bearer","expires_in":86400,"refresh_token":"rt"}`))
		case "/api/v2/ad_plans.json":
			_, _ = w.Write([]byte(plans))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Budgets VK may send: decimal strings, numbers, zero or empty for "no
// daily limit"; anything else is a clear error naming the plan and field.
func TestBudgetShapes(t *testing.T) {
	cases := []struct {
		raw     string
		want    *adpacer.Micros
		wantErr string
	}{
		{`"1000.00"`, micros(adpacer.FromUnits(1000)), ""},
		{`"1000"`, micros(adpacer.FromUnits(1000)), ""},
		{`1000.5`, micros(1_000_500_000), ""},
		{`"0.5"`, micros(500_000), ""},
		{`"0"`, nil, ""},
		{`"0.00"`, nil, ""},
		{`""`, nil, ""},
		{`null`, nil, ""},
		{`"1 000,00"`, nil, `ad plan 7: vk ads: bad money amount: budget_limit_day "1 000,00" is not a decimal amount`},
		{`"-5"`, nil, `budget_limit_day "-5" is negative`},
		{`true`, nil, "budget_limit_day: want a number or a decimal string"},
		{`1e3`, nil, `budget_limit_day "1e3" is not a decimal amount`},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			srv := stub(t, `{"count":1,"offset":0,"limit":250,"items":[{"id":7,"name":"x","status":"active","budget_limit_day":`+tc.raw+`}]}`)
			c, err := vkads.New(vkads.Config{ID: "vk-main", BaseURL: srv.URL, ClientID: clientID, ClientSecret: clientSecret},
				vkads.Options{Clock: vkadstest.NewManualClock(t0)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(7)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, vkads.ErrBadAmount) || !adpacer.IsTerminal(err) {
					t.Fatalf("err = %v, want terminal ErrBadAmount containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got[cid(7)].DailyBudget); diff != "" {
				t.Fatalf("budget mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
