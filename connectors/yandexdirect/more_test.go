package yandexdirect_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/oauth2"
)

// A full offline queue (5 reports) answers 400/56; the client backs off on
// the injected clock until the queue drains instead of failing or
// hammering.
func TestReportQueueFullBacksOff(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{ReportPolls: 1, RetryIn: 5})
	ids := e.addCampaigns(2, 0)
	e.seedSpend(ids, 10)
	for i := 0; i < 5; i++ {
		r := post(t, e.fake.URL()+"/json/v5/reports", map[string]string{"Authorization": "Bearer " + token, "Client-Login": login, "processingMode": "offline"},
			`{"params":{"SelectionCriteria":{},"FieldNames":["Date","Clicks"],"ReportName":"other-`+fmtInt(int64(i))+`","ReportType":"CUSTOM_REPORT","DateRangeType":"YESTERDAY","Format":"TSV","IncludeVAT":"NO"}}`)
		if r.status != 201 {
			t.Fatalf("filling the queue: %d %s", r.status, r.body)
		}
	}
	c := e.client(t, nil)
	start := e.clock.Now()
	b, err := c.Pull(context.Background(), pullReq(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Stats) != 20 || e.clock.Now().Sub(start) < 10*time.Second {
		t.Fatalf("%d stats after %s", len(b.Stats), e.clock.Now().Sub(start))
	}
	if n := e.fake.Calls("reports.get"); n > 10 {
		t.Fatalf("%d report requests: hammering", n)
	}
}

// The client's semaphore keeps at most 5 requests in flight per
// advertiser: with slow responses and 30 Ads.get calls it never provokes
// a 506.
func TestClientNeverExceedsFiveInFlight(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.addCampaigns(300, 1)
	e.fake.SetFaults(yandexdirecttest.Faults{Latency: 15 * time.Millisecond})
	c := e.client(t, nil)
	if _, err := c.Pull(context.Background(), pullReq(2)); err != nil {
		t.Fatal(err)
	}
	if p := e.fake.PeakInFlight(login); p != 5 {
		t.Fatalf("peak in flight = %d, want exactly 5 (parallel but within the limit)", p)
	}
	if v := metricValue(t, e, "adpacer_yandex_errors_total"); v != 0 {
		t.Fatalf("%v error envelopes (506?)", v)
	}
}

// The OAuth token never reaches logs or errors, even at debug level with
// retries and terminal errors.
func TestTokenNeverLogged(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{Seed: 3})
	e.addCampaigns(30, 1)
	core, logs := observer.New(zapcore.DebugLevel)
	c, err := yandexdirect.New(yandexdirect.Config{ID: "yandex-bank", BaseURL: e.fake.URL(), ClientLogin: login},
		oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}),
		yandexdirect.Options{Clock: e.clock, Logger: zap.New(core), Registerer: e.reg})
	if err != nil {
		t.Fatal(err)
	}
	e.fake.SetFaults(yandexdirecttest.Faults{ErrorRate: 0.3, Codes: []int{506, 1002}, HTTP5xxRate: 0.1, MalformedRate: 0.1})
	_, _ = c.Pull(context.Background(), pullReq(2))
	e.fake.SetFaults(yandexdirecttest.Faults{})
	e.fake.RevokeToken(token)
	_, perr := c.Pull(context.Background(), pullReq(2))
	if perr == nil || strings.Contains(perr.Error(), token) {
		t.Fatalf("error %v", perr)
	}
	if logs.Len() == 0 {
		t.Fatal("no logs captured: the test would prove nothing")
	}
	for _, entry := range logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += " " + k + "=" + toString(v)
		}
		if strings.Contains(line, "CANARY") {
			t.Fatalf("token in log: %s", line)
		}
	}
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		if strings.Contains(mf.String(), "CANARY") || strings.Contains(mf.String(), login) {
			t.Fatalf("token or login in metric %s", mf.GetName())
		}
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}

func TestParseTSVTolerantAndStrict(t *testing.T) {
	cases := []struct {
		name, body string
		rows       int
		ok         bool
	}{
		{"with title and summary", "r (2026-01-01 - 2026-01-02)\nDate\tCost\n2026-01-01\t1\nTotal rows: 1\n", 1, true},
		{"bare", "Date\tCost\n2026-01-01\t1\n", 1, true},
		{"crlf", "Date\tCost\r\n2026-01-01\t1\r\n", 1, true},
		{"no rows", "Date\tCost\nTotal rows: 0\n", 0, true},
		{"short row", "Date\tCost\n2026-01-01\n", 0, false},
		{"no header", "2026-01-01\t1\n", 0, false},
		{"duplicate column", "Date\tDate\n1\t2\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := yandexdirect.ParseTSV([]byte(tc.body), "Date")
			if (err == nil) != tc.ok || len(tab.Rows) != tc.rows {
				t.Fatalf("err %v rows %d", err, len(tab.Rows))
			}
		})
	}
}

// Report cells the client cannot trust fail the pull with a message naming
// the row and column, instead of storing wrong money.
func TestPullRejectsBadReportCells(t *testing.T) {
	cases := []struct{ name, tsv, want string }{
		{"decimal cost", "Date\tCampaignId\tImpressions\tClicks\tCost\tConversions\n2026-11-27\t%d\t1\t1\t48.00\t--\n", "Cost (micros)"},
		{"negative clicks", "Date\tCampaignId\tImpressions\tClicks\tCost\tConversions\n2026-11-27\t%d\t1\t-1\t1\t--\n", "Clicks"},
		{"bad date", "Date\tCampaignId\tImpressions\tClicks\tCost\tConversions\n27.11.2026\t%d\t1\t1\t1\t--\n", "Date"},
		{"missing goal column", "Date\tCampaignId\tImpressions\tClicks\tCost\tConversions\n2026-11-27\t%d\t1\t1\t1\t--\n", "Conversions_555_LC"},
		{"duplicate row", "Date\tCampaignId\tImpressions\tClicks\tCost\tConversions\n2026-11-27\t%d\t1\t1\t1\t--\n2026-11-27\t%d\t1\t1\t1\t--\n", "two rows"},
		{"row outside range", "Date\tCampaignId\tImpressions\tClicks\tCost\tConversions\n2026-10-01\t%d\t1\t1\t1\t--\n", "outside"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := yandexdirecttest.NewManualClock(t0)
			fake := yandexdirecttest.NewUnstarted(yandexdirecttest.Options{Clock: clock})
			fake.AddAgency(agency, token, login)
			id := fake.AddCampaign(login, yandexdirecttest.Campaign{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/reports") {
					_, _ = io.WriteString(w, strings.ReplaceAll(tc.tsv, "%d", fmtInt(id)))
					return
				}
				fake.ServeHTTP(w, r)
			}))
			defer srv.Close()
			goals := []int64(nil)
			if tc.name == "missing goal column" {
				goals = []int64{555}
			}
			c, err := yandexdirect.New(yandexdirect.Config{ID: "y", BaseURL: srv.URL, ClientLogin: login, Goals: goals},
				oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}), yandexdirect.Options{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Pull(context.Background(), pullReq(3))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

// Use-Operator-Units spends the agency's points, not the client's.
func TestUseOperatorUnits(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.addCampaigns(3, 0)
	c := e.client(t, func(c *yandexdirect.Config) { c.UseOperatorUnits = true })
	clientBefore, agencyBefore := e.fake.Units(login).Remaining, e.fake.Units(agency).Remaining
	if _, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(100001)}); err != nil {
		t.Fatal(err)
	}
	if e.fake.Units(login).Remaining != clientBefore || e.fake.Units(agency).Remaining != agencyBefore-11-15 {
		t.Fatalf("client %d->%d, agency %d->%d", clientBefore, e.fake.Units(login).Remaining, agencyBefore, e.fake.Units(agency).Remaining)
	}
	if rem, lim, ok := c.Points(); !ok || rem != agencyBefore-26 || lim != 64000 {
		t.Fatalf("Points() = %d/%d/%v", rem, lim, ok)
	}
}

// rotatingSource hands out a revoked token until invalidated once.
type rotatingSource struct {
	mu          sync.Mutex
	invalidated int
}

func (r *rotatingSource) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.invalidated > 0 {
		return &oauth2.Token{AccessToken: "tok-fresh"}, nil
	}
	return &oauth2.Token{AccessToken: "tok-stale"}, nil
}

func (r *rotatingSource) Invalidate() {
	r.mu.Lock()
	r.invalidated++
	r.mu.Unlock()
}

// Error 53 with a source that can refresh: one refresh, one repeat,
// success and no alert; a second 53 after the refresh is terminal.
func TestError53RefreshesOnce(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.addCampaigns(1, 0)
	e.fake.AddAgency(agency, "tok-fresh", login)
	e.fake.AddAgency(agency, "tok-stale", login)
	e.fake.RevokeToken("tok-stale")
	src := &rotatingSource{}
	c, err := yandexdirect.New(yandexdirect.Config{ID: "y", BaseURL: e.fake.URL(), ClientLogin: login}, src, yandexdirect.Options{Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(100001)})
	if err != nil || len(obs) != 1 || src.invalidated != 1 || len(c.Alerts()) != 0 {
		t.Fatalf("err %v, %d campaigns, invalidated %d, alerts %v", err, len(obs), src.invalidated, c.Alerts())
	}
	e.fake.RevokeToken("tok-fresh")
	c2, _ := yandexdirect.New(yandexdirect.Config{ID: "y", BaseURL: e.fake.URL(), ClientLogin: login}, &rotatingSource{}, yandexdirect.Options{Clock: e.clock})
	_, err = c2.Observe(context.Background(), []adpacer.CampaignID{cid(100001)})
	if !errors.Is(err, yandexdirect.ErrTokenRevoked) || !adpacer.IsTerminal(err) || len(c2.Alerts()) != 1 {
		t.Fatalf("second 53: %v, alerts %v", err, c2.Alerts())
	}
}

// A token source that reports a revoked refresh token (oauthx's terminal
// invalid_grant) raises the alert without any API call.
func TestTerminalTokenSourceRaisesAlert(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	c, err := yandexdirect.New(yandexdirect.Config{ID: "y", BaseURL: e.fake.URL(), ClientLogin: login},
		failingSource{adpacer.Terminal(errors.New("oauth y: refresh token revoked"))}, yandexdirect.Options{Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pull(context.Background(), pullReq(2))
	if !adpacer.IsTerminal(err) || len(c.Alerts()) != 1 || len(e.fake.CallCounts()) != 0 {
		t.Fatalf("err %v alerts %v calls %v", err, c.Alerts(), e.fake.CallCounts())
	}
}

type failingSource struct{ err error }

func (f failingSource) Token() (*oauth2.Token, error) { return nil, f.err }

func TestAdsIntervalSkipsModerationReads(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.addCampaigns(3, 1)
	c := e.client(t, func(c *yandexdirect.Config) { c.AdsInterval = time.Hour })
	req := pullReq(2)
	for i, want := range []int{3, 0, 3} {
		b, err := c.Pull(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Ads) != want {
			t.Fatalf("pull %d: %d ads, want %d", i, len(b.Ads), want)
		}
		req.Now = req.Now.Add(35 * time.Minute)
	}
	if n := e.fake.Calls("ads.get"); n != 2 {
		t.Fatalf("ads.get calls = %d, want 2", n)
	}
}

// Paging with LimitedBy: more than 10,000 campaigns need two
// Campaigns.get calls, more than 10,000 ads of one chunk two Ads.get calls.
func TestPagingBeyondTenThousand(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{DailyUnits: 1_000_000})
	for i := 0; i < 10_001; i++ {
		e.fake.AddCampaign(login, yandexdirecttest.Campaign{State: "ARCHIVED"})
	}
	first := e.fake.AddCampaign(login, yandexdirecttest.Campaign{})
	for i := 0; i < 10_003; i++ {
		e.fake.AddAd(yandexdirecttest.Ad{CampaignID: first, Status: "ACCEPTED"})
	}
	c := e.client(t, func(c *yandexdirect.Config) { c.Timeout = 20 * time.Second })
	b, err := c.Pull(context.Background(), connectors.AdPullRequest{Now: t0, StatsFrom: "2026-11-28"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Campaigns) != 10_002 || len(b.Ads) != 10_003 {
		t.Fatalf("%d campaigns, %d ads", len(b.Campaigns), len(b.Ads))
	}
	if n := e.fake.Calls("campaigns.get"); n != 2 {
		t.Fatalf("campaigns.get calls = %d, want 2", n)
	}
	// Archived campaigns are skipped; the live one pages once.
	if n := e.fake.Calls("ads.get"); n != 2 {
		t.Fatalf("ads.get calls = %d, want 2", n)
	}
	seen := map[string]bool{}
	for _, a := range b.Ads {
		if seen[a.AdID] {
			t.Fatalf("ad %s twice", a.AdID)
		}
		seen[a.AdID] = true
	}
}

// Throttling before the allowance runs out: after a response whose Units
// header shows fewer points left than PointsReserve, the next call waits
// for the accrual on the injected clock instead of being sent into error
// 152.
func TestThrottleWaitsBelowReserveInsteadOf152(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	// An automatic strategy: Observe is one Campaigns.get (10 + 1 points).
	id := e.fake.AddCampaign(login, yandexdirecttest.Campaign{SearchStrategy: "WB_MAXIMUM_CLICKS"})
	c := e.client(t, func(c *yandexdirect.Config) { c.PointsReserve = 50 })
	e.fake.SetUnits(login, 15, 2400) // +100 an hour from now
	e.clock.Advance(55 * time.Minute)
	if _, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(id)}); err != nil {
		t.Fatal(err)
	}
	if rem, _, ok := c.Points(); !ok || rem != 4 {
		t.Fatalf("learnt balance %d (known %v), want 4", rem, ok)
	}
	// 4 points left, below the reserve of 50 and below this call's 11: sent
	// now, it would be refused with 152.
	start := e.clock.Now()
	if _, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(id)}); err != nil {
		t.Fatal(err)
	}
	if v := metricLabelled(t, e, "adpacer_yandex_errors_total", "points"); v != 0 {
		t.Fatalf("%v error-152 answers: the client called instead of waiting", v)
	}
	if n := e.fake.Calls("campaigns.get"); n != 2 {
		t.Fatalf("campaigns.get calls = %d, want 2", n)
	}
	// The first of the official delays (6 min) reaches the accrual at +60.
	if waited := e.clock.Now().Sub(start); waited != 6*time.Minute {
		t.Fatalf("waited %s on the clock, want 6m", waited)
	}
	if v := metricValue(t, e, "adpacer_yandex_points_waits_total"); v != 1 {
		t.Fatalf("points waits = %v, want 1", v)
	}
	if rem, _, _ := c.Points(); rem != 104-11 {
		t.Fatalf("balance after the accrual %d, want %d", rem, 104-11)
	}
}

// The per-call points histogram records the spent part of each Units
// header ("11/..." then "13/..."), labelled by service and method.
func TestPointsSpentHistogram(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	var ids []adpacer.CampaignID
	for i := 0; i < 3; i++ {
		ids = append(ids, cid(e.fake.AddCampaign(login, yandexdirecttest.Campaign{SearchStrategy: "WB_MAXIMUM_CLICKS"})))
	}
	c := e.client(t, nil)
	for _, sel := range [][]adpacer.CampaignID{ids[:1], ids} {
		if _, err := c.Observe(context.Background(), sel); err != nil {
			t.Fatal(err)
		}
	}
	const want = `
# HELP adpacer_yandex_points_spent Points charged per Yandex Direct call, by service and method.
# TYPE adpacer_yandex_points_spent histogram
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="0"} 0
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="10"} 0
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="20"} 2
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="50"} 2
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="100"} 2
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="500"} 2
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="1000"} 2
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="5000"} 2
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="10000"} 2
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="50000"} 2
adpacer_yandex_points_spent_bucket{method="get",service="campaigns",le="+Inf"} 2
adpacer_yandex_points_spent_sum{method="get",service="campaigns"} 24
adpacer_yandex_points_spent_count{method="get",service="campaigns"} 2
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), "adpacer_yandex_points_spent"); err != nil {
		t.Fatal(err)
	}
	// The histogram agrees with what the fake charged.
	if spent := 64000 - e.fake.Units(login).Remaining; spent != 24 {
		t.Fatalf("fake charged %d points, want 24", spent)
	}
}
