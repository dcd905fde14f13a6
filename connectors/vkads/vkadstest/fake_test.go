package vkadstest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
)

// t0 is 2026-12-01 10:00 Moscow time.
var t0 = time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)

type fixture struct {
	fake  *vkadstest.Server
	clock *vkadstest.ManualClock
	spend *vkadstest.MemorySpend
}

func newFixture(t *testing.T, opts vkadstest.Options) *fixture {
	t.Helper()
	clock := vkadstest.NewManualClock(t0)
	spend := vkadstest.NewMemorySpend()
	opts.Clock, opts.Spend = clock, spend
	f := vkadstest.New(opts)
	t.Cleanup(f.Close)
	f.AddAdvertiser("bank", "cid", "csecret")
	f.AddAgency("agency", "acid", "asecret", "bank-client")
	return &fixture{fake: f, clock: clock, spend: spend}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q is not {\"error\":{...}}: %v", r.body, err)
	}
	return e.Error.Code
}

func do(t *testing.T, method, u, token, ctype, body string) resp {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func (f *fixture) token(t *testing.T, form url.Values) resp {
	t.Helper()
	return do(t, http.MethodPost, f.fake.URL()+"/api/v2/oauth2/token.json", "", "application/x-www-form-urlencoded", form.Encode())
}

// Checklist 6.5.1: the three grants, expires_in as a string, 403 for a
// sixth live token of one client and user, refresh taking no new slot.
func TestTokenEndpoint(t *testing.T) {
	f := newFixture(t, vkadstest.Options{})
	own := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"csecret"}}
	r := f.token(t, own)
	if r.status != 200 {
		t.Fatalf("client_credentials: %d %s", r.status, r.body)
	}
	var tok map[string]any
	if err := json.Unmarshal(r.body, &tok); err != nil {
		t.Fatal(err)
	}
	if tok["expires_in"] != "86400" || tok["token_type"] != "bearer" || tok["access_token"] == "" || tok["refresh_token"] == "" {
		t.Fatalf("token answer %s: want expires_in as the string \"86400\", bearer, access and refresh tokens", r.body)
	}
	for i := 2; i <= 5; i++ {
		if r := f.token(t, own); r.status != 200 {
			t.Fatalf("token %d: %d %s", i, r.status, r.body)
		}
	}
	r = f.token(t, own)
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "token_limit_exceeded") {
		t.Fatalf("6th token: %d %s, want 403 token_limit_exceeded", r.status, r.body)
	}
	// Refreshing takes no new slot and replaces the access token.
	ref := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {"cid"}, "client_secret": {"csecret"}}
	r = f.token(t, ref)
	if r.status != 200 || f.fake.LiveTokens("cid", "bank") != 5 {
		t.Fatalf("refresh: %d %s, live %d", r.status, r.body, f.fake.LiveTokens("cid", "bank"))
	}
	if got := do(t, "GET", f.fake.URL()+"/api/v2/ad_plans.json", tok["access_token"].(string), "", ""); got.status != 401 {
		t.Fatalf("the access token replaced by a refresh still works: %d", got.status)
	}
	// Tokens unused for a month are deleted and free their slots.
	f.clock.Advance(31 * 24 * time.Hour)
	if r := f.token(t, own); r.status != 200 {
		t.Fatalf("after a month idle: %d %s", r.status, r.body)
	}
	// Agency client credentials by name and by id.
	ag := url.Values{"grant_type": {"agency_client_credentials"}, "client_id": {"acid"}, "client_secret": {"asecret"}, "agency_client_name": {"bank-client"}}
	if r := f.token(t, ag); r.status != 200 {
		t.Fatalf("agency_client_name: %d %s", r.status, r.body)
	}
	ag.Del("agency_client_name")
	ag.Set("agency_client_id", fmt.Sprint(f.fake.AccountID("bank-client")))
	if r := f.token(t, ag); r.status != 200 {
		t.Fatalf("agency_client_id: %d %s", r.status, r.body)
	}
	ag.Set("agency_client_id", "999999")
	if r := f.token(t, ag); r.status != http.StatusForbidden {
		t.Fatalf("foreign agency client: %d %s, want 403", r.status, r.body)
	}
	cases := []struct {
		name   string
		form   url.Values
		ctype  string
		status int
		code   string
	}{
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"nope"}}, "", 401, "invalid_client"},
		{"unknown grant", url.Values{"grant_type": {"password"}, "client_id": {"cid"}, "client_secret": {"csecret"}}, "", 400, "unsupported_grant_type"},
		{"dead refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}, "client_id": {"cid"}, "client_secret": {"csecret"}}, "", 400, "invalid_grant"},
		{"json body", nil, "application/json", 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.ctype
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r := do(t, http.MethodPost, f.fake.URL()+"/api/v2/oauth2/token.json", "", ct, tc.form.Encode())
			if r.status != tc.status || !strings.Contains(string(r.body), tc.code) {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
}

// Checklist 6.5.2: Bearer required; an agency's own token reading a
// client's plans gets 403.
func TestAuth(t *testing.T) {
	f := newFixture(t, vkadstest.Options{})
	u := f.fake.URL() + "/api/v2/ad_plans.json"
	for name, tok := range map[string]string{"missing": "", "bad": "nope"} {
		r := do(t, "GET", u, tok, "", "")
		if r.status != 401 || r.errCode(t) != vkadstest.CodeInvalidToken {
			t.Errorf("%s token: %d %s, want 401 %s", name, r.status, r.body, vkadstest.CodeInvalidToken)
		}
	}
	f.fake.AddAdPlan("bank-client", vkadstest.AdPlan{})
	agencyOwn := f.fake.IssueAccessToken("agency", true)
	if r := do(t, "GET", u, agencyOwn, "", ""); r.status != 403 || r.errCode(t) != vkadstest.CodeForbidden {
		t.Errorf("agency's own token: %d %s, want 403", r.status, r.body)
	}
	tok := f.fake.IssueAccessToken("bank", false)
	f.fake.ExpireAccessTokens()
	if r := do(t, "GET", u, tok, "", ""); r.status != 401 {
		t.Errorf("expired token: %d, want 401", r.status)
	}
	if r := do(t, "GET", f.fake.URL()+"/api/v2/nope.json", tok, "", ""); r.status != 404 {
		t.Errorf("unknown route: %d, want 404", r.status)
	}
	if r := do(t, "POST", u, tok, "", ""); r.status != 405 {
		t.Errorf("wrong method: %d, want 405", r.status)
	}
}

// Checklist 6.5.3: {count, offset, limit, items} paged by limit/offset,
// budgets as decimal strings in rubles.
func TestListPaging(t *testing.T) {
	f := newFixture(t, vkadstest.Options{})
	for i := 0; i < 5; i++ {
		f.fake.AddAdPlan("bank", vkadstest.AdPlan{BudgetLimitDay: int64(1000+i) * 1_000_000, Status: []string{"active", "blocked", "deleted"}[i%3]})
	}
	tok := f.fake.IssueAccessToken("bank", false)
	var got []map[string]any
	for offset := 0; ; offset += 2 {
		r := do(t, "GET", f.fake.URL()+"/api/v2/ad_plans.json?fields=id,status,budget_limit_day&limit=2&offset="+fmt.Sprint(offset), tok, "", "")
		var page struct {
			Count, Offset, Limit int
			Items                []map[string]any
		}
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
			t.Fatalf("%d %s %v", r.status, r.body, err)
		}
		if page.Count != 5 || page.Offset != offset || page.Limit != 2 {
			t.Fatalf("page %+v", page)
		}
		if len(page.Items) == 0 {
			break
		}
		got = append(got, page.Items...)
	}
	if len(got) != 5 || got[0]["budget_limit_day"] != "1000.00" || got[2]["status"] != "deleted" || got[0]["name"] != nil {
		t.Fatalf("items %v: want 5, budgets as \"1000.00\", only requested fields", got)
	}
	for _, q := range []string{"limit=0", "limit=251", "offset=-1", "fields=id,bogus"} {
		r := do(t, "GET", f.fake.URL()+"/api/v2/ad_plans.json?"+q, tok, "", "")
		if r.status != 400 || r.errCode(t) != vkadstest.CodeWrongParameter {
			t.Errorf("%s: %d %s, want 400 ERR_WRONG_PARAMETER", q, r.status, r.body)
		}
	}
}

// Checklist 6.5.4: rate-limit headers on every response, 429 at zero,
// throttling.json mirroring the counters, windows reopening on the clock.
func TestRateLimits(t *testing.T) {
	f := newFixture(t, vkadstest.Options{Limits: vkadstest.Limits{RPS: 3, Hourly: 100, Daily: 1000}})
	tok := f.fake.IssueAccessToken("bank", false)
	u := f.fake.URL() + "/api/v2/ad_plans.json"
	for i := 1; i <= 3; i++ {
		r := do(t, "GET", u, tok, "", "")
		if r.status != 200 || r.header.Get("X-RateLimit-RPS-Remaining") != fmt.Sprint(3-i) || r.header.Get("X-RateLimit-Hourly-Limit") != "100" || r.header.Get("X-RateLimit-Daily-Remaining") != fmt.Sprint(1000-i) {
			t.Fatalf("call %d: %d headers %v", i, r.status, r.header)
		}
	}
	r := do(t, "GET", u, tok, "", "")
	if r.status != 429 || r.errCode(t) != vkadstest.CodeLimitExceeded || r.header.Get("X-RateLimit-RPS-Remaining") != "0" {
		t.Fatalf("4th call in a second: %d %s %v", r.status, r.body, r.header)
	}
	// Errors carry the headers too.
	f.clock.Advance(time.Second)
	if r := do(t, "GET", u+"?limit=0", tok, "", ""); r.status != 400 || r.header.Get("X-RateLimit-RPS-Remaining") != "2" {
		t.Fatalf("400 answer: %d headers %v", r.status, r.header)
	}
	th := do(t, "GET", f.fake.URL()+"/api/v2/throttling.json", tok, "", "")
	if th.status != 200 || !strings.Contains(string(th.body), `"window":3600,"limit":100,"remaining":96`) || th.header.Get("X-RateLimit-Hourly-Remaining") != "96" {
		t.Fatalf("throttling: %d %s", th.status, th.body)
	}
	f.fake.SetRemaining("bank", vkadstest.RateRemaining{RPS: -1, Hourly: 0, Daily: -1})
	if r := do(t, "GET", u, tok, "", ""); r.status != 429 || r.header.Get("X-RateLimit-Hourly-Remaining") != "0" {
		t.Fatalf("hourly window spent: %d %v", r.status, r.header)
	}
	f.clock.Set(t0.Truncate(time.Hour).Add(time.Hour))
	if r := do(t, "GET", u, tok, "", ""); r.status != 200 {
		t.Fatalf("next hour: %d %s", r.status, r.body)
	}
	if n := f.fake.Calls(vkadstest.RouteAdPlans); n != 5 {
		t.Fatalf("ad_plans calls = %d, want 5 (429s are refused before the handler)", n)
	}
}

// Checklist 6.5.5: mass_action limits and 204.
func TestMassAction(t *testing.T) {
	f := newFixture(t, vkadstest.Options{Limits: vkadstest.Limits{RPS: 1000}})
	a := f.fake.AddAdPlan("bank", vkadstest.AdPlan{BudgetLimitDay: 500_000_000})
	b := f.fake.AddAdPlan("bank", vkadstest.AdPlan{BudgetLimitDay: 500_000_000})
	other := f.fake.AddAdPlan("bank-client", vkadstest.AdPlan{})
	var events []vkadstest.WriteEvent
	f.fake.OnWrite(func(e vkadstest.WriteEvent) { events = append(events, e) })
	tok := f.fake.IssueAccessToken("bank", false)
	u := f.fake.URL() + "/api/v2/ad_plans/mass_action.json"
	var big []string
	for i := 0; i < 201; i++ {
		big = append(big, fmt.Sprintf(`{"id":%d,"status":"active"}`, a))
	}
	cases := []struct {
		name, body, code string
	}{
		{"more than 200 items", "[" + strings.Join(big, ",") + "]", vkadstest.CodeWrongParameter},
		{"budget below 300", fmt.Sprintf(`[{"id":%d,"budget_limit_day":"1000.00"},{"id":%d,"budget_limit_day":"299.99"}]`, a, b), vkadstest.CodeWrongParameter},
		{"foreign plan", fmt.Sprintf(`[{"id":%d,"status":"blocked"}]`, other), vkadstest.CodeWrongAdPlans},
		{"bad status", fmt.Sprintf(`[{"id":%d,"status":"paused"}]`, a), vkadstest.CodeWrongParameter},
		{"malformed budget", fmt.Sprintf(`[{"id":%d,"budget_limit_day":"1,000"}]`, a), vkadstest.CodeWrongParameter},
		{"not an array", `{"id":1}`, vkadstest.CodeWrongParameter},
		{"nothing to change", fmt.Sprintf(`[{"id":%d}]`, a), vkadstest.CodeWrongParameter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", u, tok, "application/json", tc.body)
			if r.status != 400 || r.errCode(t) != tc.code {
				t.Fatalf("%d %s, want 400 %s", r.status, r.body, tc.code)
			}
		})
	}
	if p, _ := f.fake.AdPlan(a); p.BudgetLimitDay != 500_000_000 || len(events) != 0 {
		t.Fatalf("a refused request changed state: %+v, events %v", p, events)
	}
	r := do(t, "POST", u, tok, "application/json", fmt.Sprintf(`[{"id":%d,"budget_limit_day":"1234.50","status":"blocked"},{"id":"%d","budget_limit_day":300}]`, a, b))
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("valid mass_action: %d %s, want 204 without a body", r.status, r.body)
	}
	pa, _ := f.fake.AdPlan(a)
	pb, _ := f.fake.AdPlan(b)
	if pa.BudgetLimitDay != 1_234_500_000 || pa.Status != "blocked" || pb.BudgetLimitDay != 300_000_000 {
		t.Fatalf("after write: %+v %+v", pa, pb)
	}
	if len(events) != 3 || f.fake.MutatingCalls() != len(cases)+1 {
		t.Fatalf("events %v, mutating calls %d", events, f.fake.MutatingCalls())
	}
}

// Checklist 6.5.6: statistics rows with spent as a decimal string, today
// as the running total, 200-id and date limits.
func TestStatistics(t *testing.T) {
	f := newFixture(t, vkadstest.Options{Limits: vkadstest.Limits{RPS: 1000}})
	id := f.fake.AddAdPlan("bank", vkadstest.AdPlan{})
	f.spend.SetDay(id, "2026-11-30", vkadstest.Spend{SpentMicros: 1_234_567_890, Shows: 1000, Clicks: 10, Goals: 2})
	// Today: 100 rubles in hour 9 (finished at 10:00 MSK) and 60 in hour 10,
	// half of which has passed at 10:30.
	f.spend.AddHour(id, "2026-12-01", 9, vkadstest.Spend{SpentMicros: 100_000_000, Shows: 100, Clicks: 4})
	f.spend.AddHour(id, "2026-12-01", 10, vkadstest.Spend{SpentMicros: 60_000_000, Shows: 60, Clicks: 2})
	f.clock.Advance(30 * time.Minute)
	tok := f.fake.IssueAccessToken("bank", false)
	get := func(q string) resp {
		return do(t, "GET", f.fake.URL()+"/api/v2/statistics/ad_plans/day.json?"+q, tok, "", "")
	}
	r := get(fmt.Sprintf("id=%d&date_from=2026-11-29&date_to=2026-12-01&metrics=base", id))
	var res struct {
		Items []struct {
			ID   int64
			Rows []struct {
				Date string
				Base map[string]any
			}
			Total struct{ Base map[string]any }
		}
	}
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != 200 {
		t.Fatalf("%d %s %v", r.status, r.body, err)
	}
	rows := res.Items[0].Rows
	if len(rows) != 3 || rows[0].Base["spent"] != "0.00" || rows[1].Base["spent"] != "1234.56" || rows[1].Base["goals"] != 2.0 {
		t.Fatalf("rows %+v: want zero row, spent \"1234.56\" (floored to kopecks), goals", rows)
	}
	if rows[2].Date != "2026-12-01" || rows[2].Base["spent"] != "130.00" || rows[2].Base["shows"] != 130.0 {
		t.Fatalf("today %+v: want the running total 100 + 60/2", rows[2])
	}
	if res.Items[0].Total.Base["spent"] != "1364.56" {
		t.Fatalf("total %+v", res.Items[0].Total)
	}
	ids := make([]string, 201)
	for i := range ids {
		ids[i] = fmt.Sprint(id)
	}
	cases := []struct{ name, q, code string }{
		{"201 ids", "id=" + strings.Join(ids, ",") + "&date_from=2026-11-30&date_to=2026-11-30", vkadstest.CodeWrongParameter},
		{"no ids", "date_from=2026-11-30&date_to=2026-11-30", vkadstest.CodeWrongParameter},
		{"foreign id", "id=1&date_from=2026-11-30&date_to=2026-11-30", vkadstest.CodeWrongAdPlans},
		{"malformed date", fmt.Sprintf("id=%d&date_from=30.11.2026&date_to=2026-11-30", id), vkadstest.CodeWrongDate},
		{"reversed range", fmt.Sprintf("id=%d&date_from=2026-11-30&date_to=2026-11-29", id), vkadstest.CodeWrongDate},
		{"future date_to", fmt.Sprintf("id=%d&date_from=2026-11-30&date_to=2026-12-02", id), vkadstest.CodeWrongDate},
		{"367 days back", fmt.Sprintf("id=%d&date_from=2025-11-29&date_to=2026-11-30", id), vkadstest.CodeWrongDate},
		{"other metrics", fmt.Sprintf("id=%d&date_from=2026-11-30&date_to=2026-11-30&metrics=video", id), vkadstest.CodeWrongParameter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(tc.q)
			if r.status != 400 || r.errCode(t) != tc.code {
				t.Fatalf("%d %s, want 400 %s", r.status, r.body, tc.code)
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	f := newFixture(t, vkadstest.Options{})
	tok := f.fake.IssueAccessToken("bank", false)
	f.fake.FailNext(1, 503)
	if r := do(t, "GET", f.fake.URL()+"/api/v2/ad_plans.json", tok, "", ""); r.status != 503 || r.errCode(t) != vkadstest.CodeInternal {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := do(t, "GET", f.fake.URL()+"/api/v2/ad_plans.json", tok, "", ""); r.status != 200 {
		t.Fatalf("after the injected failure: %d", r.status)
	}
}
