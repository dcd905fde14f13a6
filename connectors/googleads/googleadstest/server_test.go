package googleadstest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const cid = "1234567890"

type fixture struct {
	t     *testing.T
	s     *Server
	clk   *clock
	token string
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 10, 12, 30, 0, 0, time.UTC)}
	opts.Now = clk.Now
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	must(t, s.AddCustomer(Customer{ID: cid, TimeZone: "Europe/Moscow", Currency: "RUB"}))
	must(t, s.AddCampaign(cid, Campaign{ID: 11, Name: "Brand", BiddingStrategyType: "MANUAL_CPC"}))
	must(t, s.AddCampaign(cid, Campaign{ID: 12, Name: "Generic", Status: "PAUSED"}))
	must(t, s.AddAdGroup(cid, AdGroup{ID: 101, CampaignID: 11, CPCBidMicros: 1_500_000}))
	must(t, s.AddAd(cid, Ad{ID: 1001, AdGroupID: 101}))
	return &fixture{t: t, s: s, clk: clk, token: s.IssueAccessToken(72 * time.Hour)}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) post(path string, body any, hdr map[string]string) (int, map[string]any, []byte) {
	f.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.s.URL()+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := f.s.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw
}

// errorCode digs {"error":{"details":[{"errors":[{"errorCode":{...}}]}]}}.
func errorCode(m map[string]any) map[string]any {
	e, _ := m["error"].(map[string]any)
	d, _ := e["details"].([]any)
	if len(d) == 0 {
		return nil
	}
	errs, _ := d[0].(map[string]any)["errors"].([]any)
	if len(errs) == 0 {
		return nil
	}
	ec, _ := errs[0].(map[string]any)["errorCode"].(map[string]any)
	return ec
}

func search(q string) map[string]any { return map[string]any{"query": q} }

func TestAuthRules(t *testing.T) {
	f := newFixture(t, Options{})
	q := search("SELECT campaign.id FROM campaign")
	path := "/v26/customers/" + cid + "/googleAds:search"
	tests := []struct {
		name   string
		hdr    map[string]string
		path   string
		status int
		code   map[string]any
	}{
		{"no bearer", map[string]string{"Authorization": ""}, path, 401, map[string]any{"authenticationError": "OAUTH_TOKEN_HEADER_INVALID"}},
		{"unknown token", map[string]string{"Authorization": "Bearer nope"}, path, 401, map[string]any{"authenticationError": "OAUTH_TOKEN_INVALID"}},
		{"developer token ignored", map[string]string{"developer-token": "anything"}, path, 200, nil},
		{"bad customer id", nil, "/v26/customers/123-456-7890/googleAds:search", 400, map[string]any{"requestError": "INVALID_CUSTOMER_ID"}},
		{"unknown customer", nil, "/v26/customers/9999999999/googleAds:search", 403, map[string]any{"authorizationError": "USER_PERMISSION_DENIED"}},
		{"login id of a non-manager", map[string]string{"login-customer-id": "5555555555"}, path, 403, map[string]any{"authorizationError": "USER_PERMISSION_DENIED"}},
		{"hyphenated login id", map[string]string{"login-customer-id": "555-555-5555"}, path, 400, map[string]any{"requestError": "INVALID_CUSTOMER_ID"}},
		{"unsupported version", nil, "/v20/customers/" + cid + "/googleAds:search", 400, map[string]any{"requestError": "UNSUPPORTED_VERSION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, raw := f.post(tt.path, q, tt.hdr)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, raw)
			}
			if tt.code != nil {
				got := errorCode(body)
				for k, v := range tt.code {
					if got[k] != v {
						t.Fatalf("errorCode %v, want %v: %s", got, tt.code, raw)
					}
				}
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		f.s.ExpireAccessTokens()
		status, body, raw := f.post(path, q, nil)
		if status != 401 || errorCode(body)["authenticationError"] != "OAUTH_TOKEN_EXPIRED" {
			t.Fatalf("got %d %s", status, raw)
		}
	})
}

func TestManagerNeedsLoginCustomerID(t *testing.T) {
	f := newFixture(t, Options{})
	must(t, f.s.AddCustomer(Customer{ID: "2222222222", Manager: "3333333333"}))
	path := "/v26/customers/2222222222/googleAds:search"
	if status, _, raw := f.post(path, search("SELECT campaign.id FROM campaign"), nil); status != 403 {
		t.Fatalf("without login-customer-id: %d %s", status, raw)
	}
	if status, _, raw := f.post(path, search("SELECT campaign.id FROM campaign"), map[string]string{"login-customer-id": "3333333333"}); status != 200 {
		t.Fatalf("with login-customer-id: %d %s", status, raw)
	}
}

func TestDeveloperTokenModes(t *testing.T) {
	f := newFixture(t, Options{DeveloperTokenMode: DevTokenRequire, DeveloperToken: "dev-123"})
	path := "/v26/customers/" + cid + "/googleAds:search"
	if status, body, _ := f.post(path, search("SELECT campaign.id FROM campaign"), nil); status != 401 || errorCode(body)["authenticationError"] != "DEVELOPER_TOKEN_INVALID" {
		t.Fatalf("missing developer token accepted: %d", status)
	}
	if status, _, raw := f.post(path, search("SELECT campaign.id FROM campaign"), map[string]string{"developer-token": "dev-123"}); status != 200 {
		t.Fatalf("valid developer token refused: %d %s", status, raw)
	}
	g := newFixture(t, Options{DeveloperTokenMode: DevTokenReject})
	if status, _, _ := g.post(path, search("SELECT campaign.id FROM campaign"), map[string]string{"developer-token": "dev-123"}); status != 400 {
		t.Fatalf("reject mode accepted a developer token: %d", status)
	}
}

func TestTokenEndpoint(t *testing.T) {
	f := newFixture(t, Options{RotateRefreshTokens: true})
	f.s.AddRefreshToken("1//refresh")
	form := func(v url.Values) (int, map[string]any) {
		resp, err := f.s.Client().PostForm(f.s.TokenURL(), v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	good := url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "refresh_token": {"1//refresh"}}
	status, m := form(good)
	if status != 200 || m["expires_in"] != float64(3599) || m["token_type"] != "Bearer" || m["access_token"] == "" {
		t.Fatalf("refresh: %d %v", status, m)
	}
	rotated, _ := m["refresh_token"].(string)
	if rotated == "" || f.s.RefreshTokenValid("1//refresh") || !f.s.RefreshTokenValid(rotated) {
		t.Fatalf("rotation: new %q, old valid %v", rotated, f.s.RefreshTokenValid("1//refresh"))
	}
	f.token = m["access_token"].(string)
	if status, _, raw := f.post("/v26/customers/"+cid+"/googleAds:search", search("SELECT campaign.id FROM campaign"), nil); status != 200 {
		t.Fatalf("issued token refused: %s", raw)
	}
	if status, m := form(good); status != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("old refresh token after rotation: %d %v", status, m)
	}
	bad := url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID}, "client_secret": {"wrong"}, "refresh_token": {rotated}}
	if status, m := form(bad); status != 401 || m["error"] != "invalid_client" {
		t.Fatalf("bad secret: %d %v", status, m)
	}
	grant := url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}
	if status, m := form(grant); status != 400 || m["error"] != "unsupported_grant_type" {
		t.Fatalf("password grant: %d %v", status, m)
	}
	f.s.RevokeRefreshToken(rotated)
	good.Set("refresh_token", rotated)
	if status, m := form(good); status != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("revoked: %d %v", status, m)
	}
}

func TestGAQLErrors(t *testing.T) {
	f := newFixture(t, Options{})
	path := "/v26/customers/" + cid + "/googleAds:search"
	tests := []struct{ q, code string }{
		{"SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date DURING LAST_90_DAYS", "INVALID_VALUE_WITH_DURING_OPERATOR"},
		{"SELECT campaign.id, segments.date, metrics.clicks FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"},
		{"SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date >= '2026-01-01'", "EXPECTED_FILTERS_ON_DATE_RANGE"},
		{"SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-02-01' AND '2026-01-01'", "DATE_RANGE_TOO_NARROW"},
		{"SELECT campaign.id FROM campaign WHERE campaign.name = 'x", "UNEXPECTED_END_OF_QUERY"},
		{"campaign.id FROM campaign", "EXPECTED_SELECT"},
		{"SELECT campaign.id campaign", "EXPECTED_FROM"},
		{"SELECT campaign.nope FROM campaign", "BAD_FIELD_NAME"},
		{"SELECT campaign.id FROM campaigns", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"},
		{"SELECT ad_group.id FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"},
		{"SELECT campaign.id FROM campaign ORDER BY campaign.name", "EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE"},
		{"SELECT campaign.id FROM campaign LIMIT 0", "BAD_LIMIT_VALUE"},
		{"SELECT campaign.id FROM campaign WHERE campaign.id ~ 3", "UNEXPECTED_INPUT"},
		{"SELECT campaign.id FROM campaign WHERE campaign.name = 'a\\q'", "BAD_ESCAPE_SEQUENCE"},
		{"SELECT campaign.id, segments.hour, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2020-01-01' AND '2020-01-02'", "REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			status, body, raw := f.post(path, search(tt.q), nil)
			if status != 400 {
				t.Fatalf("status %d: %s", status, raw)
			}
			ec := errorCode(body)
			var got string
			for _, v := range ec {
				got, _ = v.(string)
			}
			if got != tt.code {
				t.Fatalf("errorCode %v, want %s", ec, tt.code)
			}
		})
	}
	if status, _, raw := f.post(path, map[string]any{"query": "SELECT campaign.id FROM campaign", "pageSize": 100}, nil); status != 400 || !strings.Contains(string(raw), "PAGE_SIZE_NOT_SUPPORTED") {
		t.Fatalf("pageSize accepted: %d %s", status, raw)
	}
	if status, _, _ := f.post(path, map[string]any{"query": "SELECT campaign.id FROM campaign", "bogus": 1}, nil); status != 400 {
		t.Fatalf("unknown JSON field accepted: %d", status)
	}
	// A valid query with quoting, IN, LIKE, ordering and the predefined ranges.
	ok := []string{
		"SELECT campaign.id, campaign.name FROM campaign WHERE campaign.name LIKE 'Bra%' AND campaign.id IN (11, 12) ORDER BY campaign.id DESC LIMIT 1",
		"SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date DURING LAST_30_DAYS",
		"select campaign.id from campaign where campaign.status != 'REMOVED'",
		"SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date >= '20261101' AND segments.date <= '20261105'",
	}
	for _, q := range ok {
		if status, _, raw := f.post(path, search(q), nil); status != 200 {
			t.Fatalf("%s: %d %s", q, status, raw)
		}
	}
}

func TestJSONTypingAndOmission(t *testing.T) {
	f := newFixture(t, Options{})
	sp := f.s.Spend().(*MemorySpend)
	sp.Set(cid, 11, "2026-11-09", 13, Metrics{CostMicros: 2_500_000_000, Clicks: 80, Impressions: 1000, Conversions: 4.5})
	sp.Set(cid, 11, "2026-11-09", 14, Metrics{Impressions: 7}) // zero cost and clicks: omitted fields
	q := "SELECT campaign.id, segments.date, segments.hour, metrics.cost_micros, metrics.clicks, metrics.impressions, metrics.conversions FROM campaign WHERE segments.date BETWEEN '2026-11-09' AND '2026-11-09'"
	status, _, raw := f.post("/v26/customers/"+cid+"/googleAds:search", search(q), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	want := `{"results":[{"campaign":{"resourceName":"customers/1234567890/campaigns/11","id":"11"},"segments":{"date":"2026-11-09","hour":13},"metrics":{"costMicros":"2500000000","clicks":"80","impressions":"1000","conversions":4.5}},` +
		`{"campaign":{"resourceName":"customers/1234567890/campaigns/11","id":"11"},"segments":{"date":"2026-11-09","hour":14},"metrics":{"impressions":"7"}}],` +
		`"fieldMask":"campaign.id,segments.date,segments.hour,metrics.costMicros,metrics.clicks,metrics.impressions,metrics.conversions","queryResourceConsumption":"2"}`
	var a, b any
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal([]byte(want), &b)
	if ja, _ := json.Marshal(a); string(ja) != func() string { jb, _ := json.Marshal(b); return string(jb) }() {
		t.Fatalf("got  %s\nwant %s", raw, want)
	}
}

func TestPagingAndStreamFraming(t *testing.T) {
	f := newFixture(t, Options{})
	sp := f.s.Spend().(*MemorySpend)
	// 2 campaigns x 220 days x 24 hours = 10,560 rows: two pages/batches.
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for d := 0; d < 220; d++ {
		date := start.AddDate(0, 0, d).Format(time.DateOnly)
		for h := 0; h < 24; h++ {
			sp.Set(cid, 11, date, h, Metrics{Clicks: 1})
			sp.Set(cid, 12, date, h, Metrics{Clicks: 1})
		}
	}
	q := "SELECT campaign.id, segments.date, segments.hour, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-03-01' AND '2026-10-06'"
	path := "/v26/customers/" + cid + "/googleAds:search"
	used := f.s.QuotaUsed()
	status, p1, raw := f.post(path, search(q), nil)
	if status != 200 {
		t.Fatalf("%d %.300s", status, raw)
	}
	tok, _ := p1["nextPageToken"].(string)
	if n := len(p1["results"].([]any)); n != PageRows || tok == "" {
		t.Fatalf("page 1: %d rows, token %q", n, tok)
	}
	if status, _, raw := f.post(path, map[string]any{"query": q + " LIMIT 5", "pageToken": tok}, nil); status != 400 || !strings.Contains(string(raw), "INVALID_PAGE_TOKEN") {
		t.Fatalf("token reused with another query: %d %.300s", status, raw)
	}
	status, p2, _ := f.post(path, map[string]any{"query": q, "pageToken": tok}, nil)
	if status != 200 || len(p2["results"].([]any)) != 560 || p2["nextPageToken"] != nil {
		t.Fatalf("page 2: %d, %v rows, token %v", status, len(p2["results"].([]any)), p2["nextPageToken"])
	}
	if got := f.s.QuotaUsed() - used; got != 1 {
		t.Fatalf("paged search counted %d operations, want 1", got)
	}
	status, _, raw = f.post("/v26/customers/"+cid+"/googleAds:searchStream", search(q), nil)
	var batches []map[string]any
	if status != 200 || json.Unmarshal(raw, &batches) != nil || len(batches) != 2 {
		t.Fatalf("stream: %d, %d batches", status, len(batches))
	}
	for i, b := range batches {
		if b["fieldMask"] == nil || b["requestId"] == nil {
			t.Fatalf("batch %d lacks fieldMask/requestId", i)
		}
	}
	if len(batches[0]["results"].([]any)) != PageRows || batches[1]["queryResourceConsumption"] != "10560" {
		t.Fatalf("stream batches: %d rows first, consumption %v", len(batches[0]["results"].([]any)), batches[1]["queryResourceConsumption"])
	}
	f.s.SetFaults(Faults{MidStreamErrorNext: 1})
	_, _, raw = f.post("/v26/customers/"+cid+"/googleAds:searchStream", search(q), nil)
	batches = nil
	if json.Unmarshal(raw, &batches) != nil || len(batches) != 2 || batches[1]["error"] == nil || batches[0]["results"] == nil {
		t.Fatalf("mid-stream error framing: %.300s", raw)
	}
}

func TestDSTHoursAndFutureHours(t *testing.T) {
	f := newFixture(t, Options{})
	must(t, f.s.AddCustomer(Customer{ID: "4444444444", TimeZone: "America/New_York", Currency: "USD"}))
	must(t, f.s.AddCampaign("4444444444", Campaign{ID: 7}))
	sp := f.s.Spend().(*MemorySpend)
	for h := 0; h < 24; h++ {
		sp.Set("4444444444", 7, "2026-03-08", h, Metrics{Clicks: 1})
		sp.Set("4444444444", 7, "2026-11-10", h, Metrics{Clicks: 1})
	}
	g := *f
	q := "SELECT segments.date, segments.hour, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-03-08' AND '2026-03-08'"
	status, m, raw := g.post("/v26/customers/4444444444/googleAds:search", search(q), nil)
	if status != 200 || len(m["results"].([]any)) != 23 {
		t.Fatalf("spring-forward day: want 23 hours, got %d %.200s", status, raw)
	}
	// Now is 2026-11-10 12:30 UTC = 07:30 in New York: hours 0..7 have started.
	q = "SELECT segments.date, segments.hour, metrics.clicks FROM campaign WHERE segments.date DURING TODAY"
	status, m, raw = g.post("/v26/customers/4444444444/googleAds:search", search(q), nil)
	if status != 200 || len(m["results"].([]any)) != 8 {
		t.Fatalf("today: want 8 started hours, got %d %.300s", status, raw)
	}
}

func mutate(ops []map[string]any, partial, validate bool) map[string]any {
	return map[string]any{"operations": ops, "partialFailure": partial, "validateOnly": validate}
}

func budgetOp(id int64, amount string) map[string]any {
	return map[string]any{"updateMask": "amountMicros", "update": map[string]any{
		"resourceName": "customers/" + cid + "/campaignBudgets/" + itoa(id), "amountMicros": amount}}
}

func TestMutateSemantics(t *testing.T) {
	f := newFixture(t, Options{})
	path := "/v26/customers/" + cid + "/campaignBudgets:mutate"
	var events []MutateEvent
	f.s.OnMutate(func(e MutateEvent) { events = append(events, e) })

	// update without updateMask
	status, body, raw := f.post(path, mutate([]map[string]any{{"update": map[string]any{"resourceName": "customers/" + cid + "/campaignBudgets/11", "amountMicros": "1000000"}}}, false, false), nil)
	if status != 400 || errorCode(body)["fieldMaskError"] != "FIELD_MASK_MISSING" {
		t.Fatalf("missing updateMask: %d %s", status, raw)
	}
	// atomic: one bad op (not a multiple of a kopeck) fails all
	status, body, raw = f.post(path, mutate([]map[string]any{budgetOp(11, "5000000"), budgetOp(12, "5000001")}, false, false), nil)
	if status != 400 || errorCode(body)["campaignBudgetError"] != "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT" || !strings.Contains(string(raw), `"index":1`) {
		t.Fatalf("atomic failure: %d %s", status, raw)
	}
	if b, _ := f.s.Budget(cid, 11); b.AmountMicros != 0 {
		t.Fatalf("atomic request applied op 0: %d", b.AmountMicros)
	}
	// validateOnly: no change, empty results
	status, body, raw = f.post(path, mutate([]map[string]any{budgetOp(11, "5000000")}, false, true), nil)
	if status != 200 || body["results"] != nil {
		t.Fatalf("validateOnly: %d %s", status, raw)
	}
	if b, _ := f.s.Budget(cid, 11); b.AmountMicros != 0 || len(events) != 0 {
		t.Fatalf("validateOnly changed state: %d, events %v", b.AmountMicros, events)
	}
	// partial failure: op 1 fails, op 0 applies, result[1] is {}
	status, body, raw = f.post(path, mutate([]map[string]any{budgetOp(11, "5000000"), budgetOp(99, "5000000")}, true, false), nil)
	if status != 200 || body["partialFailureError"] == nil {
		t.Fatalf("partial: %d %s", status, raw)
	}
	res := body["results"].([]any)
	if len(res) != 2 || len(res[1].(map[string]any)) != 0 || res[0].(map[string]any)["resourceName"] != "customers/"+cid+"/campaignBudgets/11" {
		t.Fatalf("partial results: %s", raw)
	}
	if b, _ := f.s.Budget(cid, 11); b.AmountMicros != 5_000_000 {
		t.Fatalf("partial did not apply op 0: %d", b.AmountMicros)
	}
	if len(events) != 1 || events[0].Changes[0] != (Change{ResourceName: "customers/" + cid + "/campaignBudgets/11", Field: "amountMicros", Old: "0", New: "5000000"}) {
		t.Fatalf("OnMutate: %+v", events)
	}
	// too many operations
	ops := make([]map[string]any, MaxMutateOperations+1)
	for i := range ops {
		ops[i] = budgetOp(11, "1000000")
	}
	status, body, raw = f.post(path, mutate(ops, true, false), nil)
	if status != 400 || errorCode(body)["requestError"] != "TOO_MANY_MUTATE_OPERATIONS" {
		t.Fatalf("10,001 ops: %d %.300s", status, raw)
	}
	// campaigns status and removed resources
	cpath := "/v26/customers/" + cid + "/campaigns:mutate"
	status, _, raw = f.post(cpath, mutate([]map[string]any{{"updateMask": "status", "update": map[string]any{"resourceName": "customers/" + cid + "/campaigns/11", "status": "PAUSED"}}}, false, false), nil)
	if c, _ := f.s.Campaign(cid, 11); status != 200 || c.Status != "PAUSED" {
		t.Fatalf("pause: %d %s", status, raw)
	}
	status, _, _ = f.post(cpath, mutate([]map[string]any{{"updateMask": "status", "update": map[string]any{"resourceName": "customers/" + cid + "/campaigns/11", "status": "SLEEPING"}}}, false, false), nil)
	if status != 400 {
		t.Fatalf("unknown enum accepted: %d", status)
	}
	must(t, f.s.AddBudget(cid, Budget{ID: 77, Status: "REMOVED"}))
	status, body, _ = f.post(path, mutate([]map[string]any{budgetOp(77, "1000000")}, false, false), nil)
	if status != 400 || errorCode(body)["operationAccessDeniedError"] != "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE" {
		t.Fatalf("removed budget: %d %v", status, body)
	}
	// ad group bid
	gpath := "/v26/customers/" + cid + "/adGroups:mutate"
	status, _, raw = f.post(gpath, mutate([]map[string]any{{"updateMask": "cpcBidMicros", "update": map[string]any{"resourceName": "customers/" + cid + "/adGroups/101", "cpcBidMicros": "2100000"}}}, false, false), nil)
	if g, _ := f.s.AdGroup(cid, 101); status != 200 || g.CPCBidMicros != 2_100_000 {
		t.Fatalf("bid: %d %s", status, raw)
	}
	// injected rejection
	must(t, f.s.RejectOperation(cid, "customers/"+cid+"/campaignBudgets/12", AdsError{Category: "rangeError", Code: "TOO_HIGH", Message: "nope"}))
	status, body, _ = f.post(path, mutate([]map[string]any{budgetOp(12, "1000000")}, false, false), nil)
	if status != 400 || errorCode(body)["rangeError"] != "TOO_HIGH" {
		t.Fatalf("RejectOperation: %d %v", status, body)
	}
	calls := f.s.Calls()
	if calls.ValidateOnly != 1 || calls.Mutate < 5 {
		t.Fatalf("calls: %+v", calls)
	}
}

func TestQuotaBurstAndFaults(t *testing.T) {
	f := newFixture(t, Options{DailyOperations: 3, QuotaHTTPStatus: 400})
	path := "/v26/customers/" + cid + "/googleAds:search"
	q := search("SELECT campaign.id FROM campaign")
	for i := 0; i < 3; i++ {
		if status, _, raw := f.post(path, q, nil); status != 200 {
			t.Fatalf("call %d: %s", i, raw)
		}
	}
	status, body, raw := f.post(path, q, nil)
	if status != 400 || errorCode(body)["quotaError"] != "RESOURCE_EXHAUSTED" || !strings.Contains(string(raw), `"retryDelay":"86400s"`) || !strings.Contains(string(raw), `"status":"RESOURCE_EXHAUSTED"`) {
		t.Fatalf("quota: %d %s", status, raw)
	}
	f.clk.Advance(24*time.Hour + time.Second) // rolling window frees the operations
	if status, _, raw := f.post(path, q, nil); status != 200 {
		t.Fatalf("after window: %s", raw)
	}
	f.s.SetFaults(Faults{BurstNext: 1, BurstRetryDelay: 2 * time.Second})
	status, body, raw = f.post(path, q, nil)
	if status != 429 || errorCode(body)["quotaError"] != "RESOURCE_TEMPORARILY_EXHAUSTED" || !strings.Contains(string(raw), `"retryDelay":"2s"`) {
		t.Fatalf("burst: %d %s", status, raw)
	}
	f.s.SetFaults(Faults{FailNext: 1, FailStatus: 503})
	if status, body, _ := f.post(path, q, nil); status != 503 || body["error"].(map[string]any)["status"] != "UNAVAILABLE" {
		t.Fatalf("fail: %d", status)
	}
	f.s.SetFaults(Faults{MalformedNext: 1})
	if status, _, raw := f.post(path, q, nil); status != 200 || json.Valid(raw) {
		t.Fatalf("malformed: %d %s", status, raw)
	}
	f.s.SetFaults(Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	f.post(path, q, nil)
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency not injected")
	}
}

func TestPolicyTransitions(t *testing.T) {
	f := newFixture(t, Options{})
	q := search("SELECT ad_group_ad.ad.id, ad_group_ad.policy_summary.approval_status, ad_group_ad.policy_summary.review_status, ad_group_ad.policy_summary.policy_topic_entries FROM ad_group_ad")
	path := "/v26/customers/" + cid + "/googleAds:search"
	get := func() map[string]any {
		_, m, _ := f.post(path, q, nil)
		return m["results"].([]any)[0].(map[string]any)["adGroupAd"].(map[string]any)["policySummary"].(map[string]any)
	}
	if ps := get(); ps["reviewStatus"] != "REVIEW_IN_PROGRESS" || ps["approvalStatus"] != "UNKNOWN" {
		t.Fatalf("new ad: %v", ps)
	}
	must(t, f.s.ScheduleReview(cid, 1001, f.clk.Now().Add(time.Hour), "DISAPPROVED", PolicyTopic{Topic: "FINANCIAL_SERVICES_DISCLOSURE", Type: "PROHIBITED"}))
	if ps := get(); ps["reviewStatus"] != "REVIEW_IN_PROGRESS" {
		t.Fatalf("before review time: %v", ps)
	}
	f.clk.Advance(time.Hour)
	ps := get()
	if ps["reviewStatus"] != "REVIEWED" || ps["approvalStatus"] != "DISAPPROVED" || ps["policyTopicEntries"] == nil {
		t.Fatalf("after review: %v", ps)
	}
	must(t, f.s.ScheduleReview(cid, 1001, f.clk.Now().Add(time.Minute), "APPROVED"))
	f.clk.Advance(time.Minute)
	if ps := get(); ps["approvalStatus"] != "APPROVED" || ps["policyTopicEntries"] != nil {
		t.Fatalf("approved: %v", ps)
	}
}

func TestParserAndLike(t *testing.T) {
	if !likeMatch("Brand Moscow", "Brand%") || likeMatch("Generic", "Brand%") || !likeMatch("ab", "a_") {
		t.Fatal("LIKE")
	}
	pq, err := parseGAQL(`SELECT campaign.id FROM campaign WHERE campaign.name = 'it\'s' AND campaign.id NOT IN (1, 2) AND campaign.name IS NOT NULL PARAMETERS include_drafts=true`)
	if err != nil || len(pq.conds) != 3 || pq.conds[0].vals[0].text != "it's" || pq.conds[1].op != "NOT IN" || pq.conds[2].op != "IS NOT NULL" {
		t.Fatalf("parse: %+v %v", pq, err)
	}
}

func TestPluggableSpendAndListAccessible(t *testing.T) {
	calls := 0
	f := newFixture(t, Options{Spend: SpendFunc(func(customer string, campaign int64, date string) [24]Metrics {
		calls++
		var d [24]Metrics
		if campaign == 11 && date == "2026-11-09" {
			d[3] = Metrics{CostMicros: 42_000_000, Conversions: 1}
		}
		return d
	})})
	q := "SELECT campaign.id, segments.date, metrics.cost_micros, metrics.conversions FROM campaign WHERE segments.date = '2026-11-09'"
	status, _, raw := f.post("/v26/customers/"+cid+"/googleAds:search", search(q), nil)
	if status != 200 || !strings.Contains(string(raw), `"costMicros":"42000000","conversions":1`) || strings.Contains(string(raw), `"id":"12"`) || calls != 2 {
		t.Fatalf("%d %s (calls %d)", status, raw, calls)
	}
	req, _ := http.NewRequest(http.MethodGet, f.s.URL()+"/v26/customers:listAccessibleCustomers", nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ ResourceNames []string }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || len(m.ResourceNames) != 1 || m.ResourceNames[0] != "customers/"+cid {
		t.Fatalf("listAccessibleCustomers: %v %+v", err, m)
	}
}
