package googleads_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/internal/oauthx"
	"github.com/adpacer/adpacer/internal/oauthx/oauthxtest"
)

// Contract tests: the real client against the fake, one per item of
// api-notes checklist §6.2.

var ctx = context.Background()

func pull(c *googleads.Client, e *env, from string) (adpacer.AdBatch, error) {
	return c.Pull(ctx, connectors.AdPullRequest{Now: e.clk.Now(), StatsFrom: from})
}

func apiError(t *testing.T, err error) *googleads.APIError {
	t.Helper()
	var ae *googleads.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an *APIError, got %v", err)
	}
	return ae
}

// 6.2.1 Auth headers.
func TestContractAuthHeaders(t *testing.T) {
	const canary = "canary-secret-7f3a"
	t.Run("invalid bearer is terminal and never echoed", func(t *testing.T) {
		e := newEnv(t, googleadstest.Options{})
		e.seed(1)
		c := e.client(func(o *googleads.Options) {
			o.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: canary})
			o.DeveloperToken = canary + "-dev"
		})
		_, err := pull(c, e, "2026-11-09")
		if !adpacer.IsTerminal(err) || apiError(t, err).Kind() != googleads.KindAuth {
			t.Fatalf("want terminal auth error, got %v", err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Fatalf("secret leaked into error: %v", err)
		}
	})
	t.Run("expired token with a caching source: retryable, not terminal", func(t *testing.T) {
		e := newEnv(t, googleadstest.Options{})
		e.seed(1)
		c := e.client(nil)
		e.fake.ExpireAccessTokens()
		_, err := pull(c, e, "2026-11-09")
		if err == nil || adpacer.IsTerminal(err) || !strings.Contains(err.Error(), "same token") || !apiError(t, err).Has("authenticationError", "OAUTH_TOKEN_EXPIRED") {
			t.Fatalf("want a retryable same-token error, got %v", err)
		}
	})
	t.Run("expired token with an invalidating source: one fresh token, success", func(t *testing.T) {
		e := newEnv(t, googleadstest.Options{})
		e.seed(1)
		src := &invalidatingSource{fake: e.fake}
		c := e.client(func(o *googleads.Options) { o.TokenSource = src })
		if _, err := pull(c, e, "2026-11-09"); err != nil {
			t.Fatal(err)
		}
		e.fake.ExpireAccessTokens()
		if _, err := pull(c, e, "2026-11-09"); err != nil || src.invalidated != 1 {
			t.Fatalf("after expiry: %v, invalidated %d", err, src.invalidated)
		}
	})
	t.Run("developer token sent only when configured", func(t *testing.T) {
		e := newEnv(t, googleadstest.Options{DeveloperTokenMode: googleadstest.DevTokenRequire, DeveloperToken: "dev-ok"})
		e.seed(1)
		if _, err := pull(e.client(nil), e, "2026-11-09"); !adpacer.IsTerminal(err) || !apiError(t, err).Has("authenticationError", "DEVELOPER_TOKEN_INVALID") {
			t.Fatalf("missing developer token: %v", err)
		}
		if _, err := pull(e.client(func(o *googleads.Options) { o.DeveloperToken = "dev-ok" }), e, "2026-11-09"); err != nil {
			t.Fatalf("configured developer token: %v", err)
		}
		r := newEnv(t, googleadstest.Options{DeveloperTokenMode: googleadstest.DevTokenReject})
		r.seed(1)
		if _, err := pull(r.client(nil), r, "2026-11-09"); err != nil {
			t.Fatalf("unconfigured token must not be sent to a version that rejects it: %v", err)
		}
	})
	t.Run("login-customer-id for manager-linked accounts", func(t *testing.T) {
		e := newEnv(t, googleadstest.Options{})
		must(t, e.fake.AddCustomer(googleadstest.Customer{ID: "2222222222", Manager: "3333333333", TimeZone: "Asia/Vladivostok"}))
		must(t, e.fake.AddCampaign("2222222222", googleadstest.Campaign{ID: 5}))
		direct := e.client(func(o *googleads.Options) { o.CustomerID = "222-222-2222" })
		if _, err := pull(direct, e, "2026-11-09"); !adpacer.IsTerminal(err) || !apiError(t, err).Has("authorizationError", "USER_PERMISSION_DENIED") {
			t.Fatalf("without login-customer-id: %v", err)
		}
		via := e.client(func(o *googleads.Options) { o.CustomerID = "222-222-2222"; o.LoginCustomerID = "333-333-3333" })
		b, err := pull(via, e, "2026-11-09")
		if err != nil || len(b.Campaigns) != 1 || b.Campaigns[0].TimeZone != "Asia/Vladivostok" {
			t.Fatalf("through the manager: %v %+v", err, b.Campaigns)
		}
	})
}

// 6.2.2 Token endpoint, through the lead's oauthx source.
func TestContractTokenEndpoint(t *testing.T) {
	// Tokens live 90s: inside oauthx's 2-minute early-expiry window, so
	// every call goes to the token endpoint (oauth2 computes expiry on the
	// real clock, which the injected one cannot move).
	e := newEnv(t, googleadstest.Options{RotateRefreshTokens: true, AccessTokenTTL: 90 * time.Second})
	e.seed(2)
	e.fake.AddRefreshToken("1//initial")
	st := &oauthxtest.MemStore{}
	src, err := oauthx.New(oauthx.Config{
		Name: "google_ads", ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret(),
		TokenURL: e.fake.TokenURL(), RefreshToken: "1//initial", Store: st,
		HTTPClient: e.fake.Client(), // Now: the real clock, which oauth2 uses for Expiry
	})
	must(t, err)
	c := e.client(func(o *googleads.Options) { o.TokenSource = src })
	if _, err := pull(c, e, "2026-11-09"); err != nil {
		t.Fatalf("pull with refreshed token: %v", err)
	}
	saved, _ := st.LoadToken(ctx, "google_ads")
	if saved.RefreshToken == "1//initial" || !e.fake.RefreshTokenValid(saved.RefreshToken) {
		t.Fatalf("rotated refresh token not persisted: %+v", saved)
	}
	e.fake.RevokeRefreshToken(saved.RefreshToken)
	before := e.fake.Calls().Token
	for i := 0; i < 3; i++ {
		_, err = pull(c, e, "2026-11-09")
		if !adpacer.IsTerminal(err) || !errors.Is(err, oauthx.ErrTokenRevoked) {
			t.Fatalf("revoked grant: want terminal ErrTokenRevoked, got %v", err)
		}
	}
	// oauthx tries the stored token and the configured one once, then stops.
	if n := e.fake.Calls().Token - before; n > 2 {
		t.Fatalf("token endpoint called %d times after revocation; must not loop", n)
	}
}

// 6.2.3 Search paging and 6.2.5 JSON typing (through Search).
func TestContractSearchPaging(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(2)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for d := 0; d < 220; d++ {
		for h := 0; h < 24; h++ {
			date := start.AddDate(0, 0, d).Format(time.DateOnly)
			e.spend.Set(cid, 1, date, h, googleadstest.Metrics{CostMicros: 10_000, Clicks: 1})
			e.spend.Set(cid, 2, date, h, googleadstest.Metrics{Impressions: 3})
		}
	}
	c := e.client(nil)
	var rows, withCost int
	err := c.Search(ctx, "SELECT campaign.id, segments.date, segments.hour, metrics.cost_micros, metrics.impressions FROM campaign WHERE segments.date BETWEEN '2026-03-01' AND '2026-10-06'",
		func(raw json.RawMessage) error {
			rows++
			if strings.Contains(string(raw), `"costMicros":"10000"`) {
				withCost++
			}
			return nil
		})
	if err != nil || rows != 10_560 || withCost != 5_280 {
		t.Fatalf("search: %v, %d rows, %d with cost", err, rows, withCost)
	}
	calls := e.fake.Calls()
	if calls.Search != 1 || calls.SearchPages != 1 || c.Budget().Used() != 1 || e.fake.QuotaUsed() != 1 {
		t.Fatalf("paging: %+v, client counted %d, fake %d", calls, c.Budget().Used(), e.fake.QuotaUsed())
	}
}

// 6.2.4 SearchStream framing, mid-stream errors and malformed bodies.
func TestContractStreamFraming(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(3)
	e.spend.Set(cid, 1, "2026-11-09", 10, googleadstest.Metrics{CostMicros: 5_000_000})
	c := e.client(nil)
	e.fake.SetFaults(googleadstest.Faults{MidStreamErrorNext: 1})
	b, err := pull(c, e, "2026-11-09")
	if err == nil || adpacer.IsTerminal(err) || !apiError(t, err).MidStream || len(b.Campaigns) != 0 {
		t.Fatalf("mid-stream error: want a retryable error and no partial batch, got %v, %d campaigns", err, len(b.Campaigns))
	}
	e.fake.SetFaults(googleadstest.Faults{MalformedNext: 1})
	if _, err := pull(c, e, "2026-11-09"); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("malformed body: %v", err)
	}
	b, err = pull(c, e, "2026-11-09")
	if err != nil || len(b.Campaigns) != 3 {
		t.Fatalf("clean pull: %v", err)
	}
}

// 6.2.5 JSON typing, hourly stats in the account zone, omitted zero fields.
func TestContractPullMapping(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(2)
	must(t, e.fake.AddBudget(cid, googleadstest.Budget{ID: 50, AmountMicros: 700_000_000, ExplicitlyShared: true}))
	must(t, e.fake.AddCampaign(cid, googleadstest.Campaign{ID: 3, Name: "Auto", Status: "PAUSED", BudgetID: 50, BiddingStrategyType: "MAXIMIZE_CONVERSIONS"}))
	must(t, e.fake.AddCampaign(cid, googleadstest.Campaign{ID: 4, Name: "Old", Status: "REMOVED", BudgetID: 50}))
	e.spend.Set(cid, 1, "2026-11-09", 13, googleadstest.Metrics{CostMicros: 2_500_000_000, Clicks: 80, Impressions: 1000, Conversions: 4.5})
	e.spend.Set(cid, 2, "2026-11-09", 0, googleadstest.Metrics{Impressions: 9})
	c := e.client(nil)
	b, err := pull(c, e, "2026-11-09")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Campaigns) != 4 {
		t.Fatalf("campaigns: %d", len(b.Campaigns))
	}
	c1, c3 := b.Campaigns[0], b.Campaigns[2]
	if c1.ID != gid(1) || c1.TimeZone != "Europe/Moscow" || c1.Currency != "RUB" || c1.State != adpacer.StateOn ||
		*c1.DailyBudget != adpacer.MustMicros("1000") || *c1.Bid != adpacer.MustMicros("10") || c1.Strategy != "MANUAL_CPC" || c1.AccountID != cid {
		t.Fatalf("campaign 1: %+v", c1)
	}
	if c3.State != adpacer.StatePaused || c3.Bid != nil || *c3.DailyBudget != adpacer.MustMicros("700") || b.Campaigns[3].State != adpacer.StateEnded {
		t.Fatalf("campaign 3/4: %+v %+v", c3, b.Campaigns[3])
	}
	// Moscow is UTC+3: 2026-11-09 13:00 local is 10:00Z.
	var hit *adpacer.Stat
	for i := range b.Stats {
		s := &b.Stats[i]
		if s.Campaign == gid(1) && s.Start.Equal(time.Date(2026, 11, 9, 10, 0, 0, 0, time.UTC)) {
			hit = s
		}
	}
	if hit == nil || hit.Cost != 2_500_000_000 || hit.Clicks != 80 || hit.Impressions != 1000 || hit.Conversions != 4.5 || hit.End.Sub(hit.Start) != time.Hour {
		t.Fatalf("hour stat: %+v", hit)
	}
	// Zero-filled: 3 live campaigns x (24 hours of the 9th + 15 started hours
	// of the 10th: 12:30Z is 15:30 in Moscow, hours 0..15).
	if want := 3 * (24 + 16); len(b.Stats) != want {
		t.Fatalf("stats: %d, want %d", len(b.Stats), want)
	}
	if len(b.Ads) != 2 || b.Ads[0].Status != adpacer.ModerationAccepted || b.Ads[0].AdID != "10~100" || b.Ads[0].Campaign != gid(1) {
		t.Fatalf("ads: %+v", b.Ads)
	}
	if got := e.fake.Calls().SearchStream; got != 4 {
		t.Fatalf("pull used %d queries, want 4", got)
	}
}

// Hourly stats on DST days: 23 and 25-hour days in the account zone.
func TestContractPullDST(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	const ny = "4444444444"
	must(t, e.fake.AddCustomer(googleadstest.Customer{ID: ny, TimeZone: "America/New_York", Currency: "USD"}))
	must(t, e.fake.AddCampaign(ny, googleadstest.Campaign{ID: 9}))
	var total int64
	for _, d := range []string{"2026-03-08", "2026-11-01"} {
		for h := 0; h < 24; h++ {
			e.spend.Set(ny, 9, d, h, googleadstest.Metrics{CostMicros: int64(h+1) * 10_000})
			if !(d == "2026-03-08" && h == 2) { // that hour does not exist; the fake drops it
				total += int64(h+1) * 10_000
			}
		}
	}
	c := e.client(func(o *googleads.Options) { o.CustomerID = ny })
	b, err := pull(c, e, "2026-03-07")
	if err != nil {
		t.Fatal(err)
	}
	ny5, _ := time.LoadLocation("America/New_York")
	dayLen := map[string]time.Duration{}
	var got int64
	for _, s := range b.Stats {
		day := s.Start.In(ny5).Format(time.DateOnly)
		dayLen[day] += s.End.Sub(s.Start)
		got += int64(s.Cost)
		if !s.Start.Equal(s.Start.Truncate(time.Hour)) {
			t.Fatalf("stat not on an hour boundary: %v", s.Start)
		}
	}
	if dayLen["2026-03-08"] != 23*time.Hour || dayLen["2026-11-01"] != 25*time.Hour || dayLen["2026-06-01"] != 24*time.Hour {
		t.Fatalf("day lengths: spring %v, fall %v, summer %v", dayLen["2026-03-08"], dayLen["2026-11-01"], dayLen["2026-06-01"])
	}
	if got != total {
		t.Fatalf("cost %d, want %d (no hour lost or doubled)", got, total)
	}
	for _, s := range b.Stats {
		if s.Start.Equal(time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)) {
			if s.End.Sub(s.Start) != 2*time.Hour || s.Cost != 20_000 {
				t.Fatalf("repeated 01:00 hour: %+v", s)
			}
		}
	}
}

// 6.2.6 GAQL date rules: the client surfaces the API's rejection as terminal.
func TestContractGAQLDateRules(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(1)
	c := e.client(nil)
	err := c.Search(ctx, "SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date DURING LAST_90_DAYS", func(json.RawMessage) error { return nil })
	if !adpacer.IsTerminal(err) || !apiError(t, err).Has("queryError", "INVALID_VALUE_WITH_DURING_OPERATOR") {
		t.Fatalf("DURING LAST_90_DAYS: %v", err)
	}
	err = c.SearchStream(ctx, "SELECT campaign.id, segments.date, metrics.clicks FROM campaign", func(json.RawMessage) error { return nil })
	if !adpacer.IsTerminal(err) || !apiError(t, err).Has("queryError", "EXPECTED_FILTERS_ON_DATE_RANGE") {
		t.Fatalf("no date filter: %v", err)
	}
	if _, err := pull(c, e, "2026-11-11"); err == nil || !strings.Contains(err.Error(), "after today") {
		t.Fatalf("StatsFrom in the future: %v", err)
	}
	if _, err := pull(c, e, "11/09/2026"); err == nil || !strings.Contains(err.Error(), "StatsFrom") {
		t.Fatalf("bad StatsFrom: %v", err)
	}
}

// 6.2.8 Quota: daily cap (by errorCode even with HTTP 400) and bursts.
func TestContractQuota(t *testing.T) {
	for _, status := range []int{429, 400} {
		e := newEnv(t, googleadstest.Options{DailyOperations: 2, QuotaHTTPStatus: status})
		e.seed(1)
		c := e.client(nil)
		_, err := pull(c, e, "2026-11-09")
		ae := apiError(t, err)
		if adpacer.IsTerminal(err) || ae.Kind() != googleads.KindQuota || ae.HTTPStatus != status || ae.RetryDelay() != 24*time.Hour {
			t.Fatalf("HTTP %d quota: kind %s, terminal %v: %v", status, ae.Kind(), adpacer.IsTerminal(err), err)
		}
	}
	e := newEnv(t, googleadstest.Options{})
	e.seed(1)
	c := e.client(nil)
	e.fake.SetFaults(googleadstest.Faults{BurstNext: 2, BurstRetryDelay: 3 * time.Second})
	if _, err := pull(c, e, "2026-11-09"); err != nil {
		t.Fatalf("burst not absorbed by retries: %v", err)
	}
	slept := e.clk.Slept()
	if len(slept) < 2 || slept[0] != 3*time.Second || slept[1] != 3*time.Second {
		t.Fatalf("retryDelay not honoured: slept %v", slept)
	}
}

// Transient errors are retried with back-off; a persistent one is not terminal.
func TestContractTransient(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(1)
	c := e.client(nil)
	e.fake.SetFaults(googleadstest.Faults{FailNext: 2, FailStatus: 503})
	if _, err := pull(c, e, "2026-11-09"); err != nil {
		t.Fatalf("two 503s: %v", err)
	}
	e.fake.SetFaults(googleadstest.Faults{FailNext: 100})
	_, err := pull(c, e, "2026-11-09")
	if err == nil || adpacer.IsTerminal(err) || apiError(t, err).Kind() != googleads.KindTransient {
		t.Fatalf("persistent 500: %v", err)
	}
}

// 6.2.9 Version gate.
func TestContractVersionGate(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(1)
	c := e.client(func(o *googleads.Options) { o.Version = "v20" })
	_, err := pull(c, e, "2026-11-09")
	if !adpacer.IsTerminal(err) || !apiError(t, err).Has("requestError", "UNSUPPORTED_VERSION") {
		t.Fatalf("v20: %v", err)
	}
}

// 6.2.10 Policy status transitions, unknown enum values.
func TestContractPolicyStatus(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(1)
	must(t, e.fake.AddAd(cid, googleadstest.Ad{ID: 555, AdGroupID: 10}))
	must(t, e.fake.AddAd(cid, googleadstest.Ad{ID: 556, AdGroupID: 11, Approval: "BRAND_NEW_STATUS", Review: "REVIEWED"}))
	c := e.client(nil)
	status := func() map[string]adpacer.AdStatus {
		t.Helper()
		b, err := pull(c, e, "2026-11-10")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]adpacer.AdStatus{}
		for _, a := range b.Ads {
			m[a.AdID] = a
		}
		return m
	}
	if s := status()["10~555"]; s.Status != adpacer.ModerationPending {
		t.Fatalf("new ad: %+v", s)
	}
	must(t, e.fake.ScheduleReview(cid, 555, e.clk.Now().Add(30*time.Minute), "DISAPPROVED",
		googleadstest.PolicyTopic{Topic: "FINANCIAL_SERVICES_DISCLOSURE", Type: "PROHIBITED"}))
	e.clk.Advance(31 * time.Minute)
	m := status()
	if s := m["10~555"]; s.Status != adpacer.ModerationRejected || s.Reason != "FINANCIAL_SERVICES_DISCLOSURE (PROHIBITED)" || s.Campaign != gid(1) {
		t.Fatalf("disapproved: %+v", s)
	}
	if s := m["11~556"]; s.Status != adpacer.ModerationPending || !strings.Contains(s.Reason, "BRAND_NEW_STATUS") {
		t.Fatalf("unknown enum: %+v", s)
	}
	must(t, e.fake.ScheduleReview(cid, 555, e.clk.Now().Add(time.Minute), "APPROVED_LIMITED",
		googleadstest.PolicyTopic{Topic: "FINANCIAL_SERVICES", Type: "LIMITED"}))
	e.clk.Advance(2 * time.Minute)
	if s := status()["10~555"]; s.Status != adpacer.ModerationAccepted || s.Reason != "FINANCIAL_SERVICES (LIMITED)" {
		t.Fatalf("approved after appeal: %+v", s)
	}
}

func TestObserve(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(5)
	c := e.client(nil)
	got, err := c.Observe(ctx, []adpacer.CampaignID{gid(2), gid(4), gid(99)})
	if err != nil || len(got) != 2 || *got[gid(4)].DailyBudget != adpacer.MustMicros("1000") {
		t.Fatalf("observe: %v %+v", err, got)
	}
	if n := e.fake.Calls().SearchStream; n != 2 {
		t.Fatalf("observe used %d queries, want 2", n)
	}
	if _, err := c.Observe(ctx, []adpacer.CampaignID{"yandex_direct:1"}); err == nil {
		t.Fatal("foreign campaign id accepted")
	}
}

// invalidatingSource caches a token until Invalidate, like a refreshing
// source would.
type invalidatingSource struct {
	fake        *googleadstest.Server
	tok         string
	invalidated int
}

func (s *invalidatingSource) Token() (*oauth2.Token, error) {
	if s.tok == "" {
		s.tok = s.fake.IssueAccessToken(time.Hour)
	}
	return &oauth2.Token{AccessToken: s.tok}, nil
}

func (s *invalidatingSource) Invalidate() { s.tok = ""; s.invalidated++ }
