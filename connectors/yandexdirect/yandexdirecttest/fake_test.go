package yandexdirecttest_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
)

// Checklist 6.1 item 1: envelope, routing and auth errors.
func TestFakeRejectsBadEnvelopeAndAuth(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.fake.AddAdvertiser("other", "tok-other")
	get := `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"]}}`
	url := e.fake.URL() + "/json/v5/campaigns"
	cases := []struct {
		name string
		url  string
		hdr  map[string]string
		body string
		code int
	}{
		{"no token", url, map[string]string{"Client-Login": login}, get, 8000},
		{"not bearer", url, map[string]string{"Authorization": "OAuth x", "Client-Login": login}, get, 8000},
		{"bad token", url, map[string]string{"Authorization": "Bearer nope", "Client-Login": login}, get, 53},
		{"agency without Client-Login", url, map[string]string{"Authorization": "Bearer " + token}, get, 8000},
		{"foreign login", url, map[string]string{"Authorization": "Bearer " + token, "Client-Login": "other"}, get, 8800},
		{"bad json", url, authHdr(), `{"method":`, 8000},
		{"missing method", url, authHdr(), `{"params":{}}`, 8000},
		{"unknown method", url, authHdr(), `{"method":"fly","params":{}}`, 55},
		{"unknown param", url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"],"Bogus":1}}`, 8000},
		{"unknown field name", url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Nope"]}}`, 8000},
		{"unified fields on v5", url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"],"UnifiedCampaignFieldNames":["BiddingStrategy"]}}`, 8000},
		{"bad page", url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"],"Page":{"Limit":10001}}}`, 4002},
		{"unknown path", e.fake.URL() + "/json/v4/campaigns", authHdr(), get, 8000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, tc.url, tc.hdr, tc.body)
			if r.code() != tc.code {
				t.Fatalf("error code = %d, want %d (body %s)", r.code(), tc.code, r.body)
			}
		})
	}
	r := post(t, url, authHdr(), get)
	if r.code() != 0 || r.header.Get("Units") == "" || r.header.Get("RequestId") == "" || r.header.Get("Units-Used-Login") != login {
		t.Fatalf("valid call: code %d, headers %v", r.code(), r.header)
	}
}

// Checklist 6.1 item 2: Units on every response, costs, 152 without state
// change, hourly refill on the injected clock.
func TestFakeUnitsAccountingAndRefill(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	ids := e.addCampaigns(3, 0)
	e.fake.SetUnits(login, 1000, 2400) // refill 100 per hour
	r := post(t, e.fake.URL()+"/json/v5/campaigns", authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"]}}`)
	if got := r.header.Get("Units"); got != "13/987/2400" {
		t.Fatalf("Units = %q, want 13/987/2400 (10 per call + 1 per campaign)", got)
	}
	r = post(t, e.fake.URL()+"/json/v5/campaigns", authHdr(), `{"method":"fly","params":{}}`)
	if got := r.header.Get("Units"); got != "20/967/2400" {
		t.Fatalf("error Units = %q, want 20/967/2400", got)
	}
	e.fake.SetUnits(login, 12, 2400) // an update of one campaign costs 13
	upd := `{"method":"update","params":{"Campaigns":[{"Id":` + itoa(ids[0]) + `,"DailyBudget":{"Amount":2000000000,"Mode":"STANDARD"}}]}}`
	r = post(t, e.fake.URL()+"/json/v5/campaigns", authHdr(), upd)
	if r.code() != 152 {
		t.Fatalf("code = %d, want 152", r.code())
	}
	if c, _ := e.fake.Campaign(ids[0]); c.DailyBudget.Amount != 1000_000_000 {
		t.Fatalf("152 changed state: budget %d", c.DailyBudget.Amount)
	}
	e.clock.Advance(59 * time.Minute)
	if u := e.fake.Units(login); u.Remaining != 12 {
		t.Fatalf("refilled before the hour: %d", u.Remaining)
	}
	e.clock.Advance(time.Minute)
	if u := e.fake.Units(login); u.Remaining != 112 {
		t.Fatalf("after one hour remaining = %d, want 112", u.Remaining)
	}
	e.clock.Advance(48 * time.Hour)
	if u := e.fake.Units(login); u.Remaining != 2400 {
		t.Fatalf("refill must cap at the daily limit, got %d", u.Remaining)
	}
	r = post(t, e.fake.URL()+"/json/v5/campaigns", authHdr(), upd)
	if r.code() != 0 {
		t.Fatalf("after refill: %s", r.body)
	}
}

// sixthConcurrent sends six slow requests at once and returns the
// answers: the 6th starts only once five are in flight.
func sixthConcurrent(t *testing.T, e *env) []rawResp {
	t.Helper()
	e.fake.SetFaults(yandexdirecttest.Faults{Latency: time.Second})
	var wg sync.WaitGroup
	out := make([]rawResp, 6)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 5 {
				// Wait until the first five are in flight (no sleep-and-hope:
				// on a loaded machine goroutines start late).
				for deadline := time.Now().Add(10 * time.Second); e.fake.PeakInFlight(login) < 5 && time.Now().Before(deadline); {
					time.Sleep(5 * time.Millisecond)
				}
			}
			out[i] = post(t, e.fake.URL()+"/json/v5/campaigns", authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"]}}`)
		}()
	}
	wg.Wait()
	return out
}

// Checklist 6.1 item 3: the 6th simultaneous request gets 506, and the
// refusal is charged as an error: 20 points (api-notes §1.4).
func TestFakeConcurrencyLimit(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.fake.SetUnits(login, 1000, 64000)
	resp := sixthConcurrent(t, e)
	for i, r := range resp[:5] {
		if r.code() != 0 {
			t.Fatalf("request %d: code %d, want success", i, r.code())
		}
	}
	if resp[5].code() != 506 {
		t.Fatalf("6th request: code %d, want 506", resp[5].code())
	}
	if u := resp[5].header.Get("Units"); !strings.HasPrefix(u, "20/") {
		t.Fatalf("506 Units = %q, want 20 spent", u)
	}
	// Five gets of no campaigns at 10 each, and the 506 at 20.
	if got := e.fake.Units(login).Remaining; got != 1000-5*10-20 {
		t.Fatalf("remaining %d, want %d", got, 1000-5*10-20)
	}
}

// ConcurrencyErrorCost makes the 506 price configurable (the figure is
// from third-party notes).
func TestFakeConcurrencyErrorCostOption(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{ConcurrencyErrorCost: -1})
	e.fake.SetUnits(login, 1000, 64000)
	resp := sixthConcurrent(t, e)
	if resp[5].code() != 506 || !strings.HasPrefix(resp[5].header.Get("Units"), "0/") || e.fake.Units(login).Remaining != 1000-5*10 {
		t.Fatalf("free 506: code %d, Units %q, remaining %d", resp[5].code(), resp[5].header.Get("Units"), e.fake.Units(login).Remaining)
	}
}

// Checklist 6.1 items 4 and 5: per-item results and limits.
func TestFakePerItemResultsAndLimits(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	ids := e.addCampaigns(12, 0)
	uni := e.fake.AddCampaign(login, yandexdirecttest.Campaign{Type: "UNIFIED_CAMPAIGN", DailyBudget: &yandexdirecttest.DailyBudget{Amount: 500_000_000, Mode: "STANDARD"}})
	url := e.fake.URL() + "/json/v5/campaigns"
	item := func(id int64, amount string) string {
		return `{"Id":` + fmtInt(id) + `,"DailyBudget":{"Amount":` + amount + `,"Mode":"STANDARD"}}`
	}
	r := post(t, url, authHdr(), `{"method":"update","params":{"Campaigns":[`+item(ids[0], "2000000000")+`,`+item(999, "2000000000")+`,`+item(ids[1], "100")+`,`+item(uni, "2000000000")+`]}}`)
	var res struct {
		UpdateResults []struct {
			Id     *int64
			Errors []struct{ Code int }
		}
	}
	if err := jsonUnmarshal(r.env.Result["UpdateResults"], &res.UpdateResults); err != nil || r.status != 200 {
		t.Fatalf("update: %v %s", err, r.body)
	}
	want := []int{0, 8800, 5005, 3500}
	for i, w := range want {
		got := 0
		if len(res.UpdateResults[i].Errors) > 0 {
			got = res.UpdateResults[i].Errors[0].Code
		}
		if got != w || (w == 0) != (res.UpdateResults[i].Id != nil) {
			t.Fatalf("item %d: code %d, want %d (%s)", i, got, w, r.body)
		}
	}
	if c, _ := e.fake.Campaign(ids[0]); c.DailyBudget.Amount != 2000_000_000 {
		t.Fatal("the good item was not applied")
	}
	var many []string
	for _, id := range ids[:11] {
		many = append(many, item(id, "2000000000"))
	}
	if r := post(t, url, authHdr(), `{"method":"update","params":{"Campaigns":[`+strings.Join(many, ",")+`]}}`); r.code() != 9300 {
		t.Fatalf("11 campaigns: code %d, want 9300", r.code())
	}
	// 3 edits a day, the 4th is 8305 per item.
	for i, amount := range []string{"3000000000", "4000000000", "5000000000"} {
		r := post(t, url, authHdr(), `{"method":"update","params":{"Campaigns":[`+item(ids[2], amount)+`]}}`)
		if strings.Contains(string(r.body), "Errors") {
			t.Fatalf("edit %d refused: %s", i+1, r.body)
		}
	}
	r = post(t, url, authHdr(), `{"method":"update","params":{"Campaigns":[`+item(ids[2], "6000000000")+`]}}`)
	if !strings.Contains(string(r.body), `"Code":8305`) {
		t.Fatalf("4th edit: %s", r.body)
	}
	e.clock.Advance(14 * time.Hour) // past Moscow midnight
	r = post(t, url, authHdr(), `{"method":"update","params":{"Campaigns":[`+item(ids[2], "6000000000")+`]}}`)
	if strings.Contains(string(r.body), "Errors") {
		t.Fatalf("edit on the next Moscow day refused: %s", r.body)
	}
	kb := e.fake.URL() + "/json/v5/keywordbids"
	if r := post(t, kb, authHdr(), `{"method":"set","params":{"KeywordBids":[{"CampaignId":`+fmtInt(ids[0])+`,"SearchBid":20000000},{"KeywordId":1,"SearchBid":20000000}]}}`); r.code() != 4005 {
		t.Fatalf("mixed id kinds: code %d, want 4005", r.code())
	}
	var camps []string
	for _, id := range ids[:11] {
		camps = append(camps, `{"CampaignId":`+fmtInt(id)+`,"SearchBid":20000000}`)
	}
	if r := post(t, kb, authHdr(), `{"method":"set","params":{"KeywordBids":[`+strings.Join(camps, ",")+`]}}`); r.code() != 9300 {
		t.Fatalf("11 campaigns in KeywordBids.set: code %d, want 9300", r.code())
	}
	e.fake.AddCampaign(login, yandexdirecttest.Campaign{ID: 777, SearchStrategy: "WB_MAXIMUM_CLICKS", Keywords: 1, SearchBid: 1_000_000})
	r = post(t, kb, authHdr(), `{"method":"set","params":{"KeywordBids":[{"CampaignId":777,"SearchBid":20000000},{"CampaignId":`+fmtInt(ids[0])+`,"SearchBid":1}]}}`)
	if !strings.Contains(string(r.body), `"Code":9600`) || !strings.Contains(string(r.body), `"Code":5005`) {
		t.Fatalf("strategy mismatch / bid range: %s", r.body)
	}
}

// Checklist 6.1 items 6 and 7: paging with LimitedBy, unknown ids dropped,
// money as integers, null DailyBudget.
func TestFakePaging(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.addCampaigns(5, 0)
	e.fake.AddCampaign(login, yandexdirecttest.Campaign{ID: 42})
	url := e.fake.URL() + "/json/v5/campaigns"
	r := post(t, url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id","DailyBudget"],"Page":{"Limit":4,"Offset":0}}}`)
	if string(r.env.Result["LimitedBy"]) != "4" {
		t.Fatalf("LimitedBy = %s, want 4 (%s)", r.env.Result["LimitedBy"], r.body)
	}
	r = post(t, url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id","DailyBudget"],"Page":{"Limit":4,"Offset":4}}}`)
	if _, ok := r.env.Result["LimitedBy"]; ok || !strings.Contains(string(r.body), `"DailyBudget":null`) || !strings.Contains(string(r.body), `"Amount":1000000000`) {
		t.Fatalf("last page: %s", r.body)
	}
	r = post(t, url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{"Ids":[42,999999]},"FieldNames":["Id"]}}`)
	if string(r.env.Result["Campaigns"]) != `[{"Id":42}]` {
		t.Fatalf("unknown ids must be dropped silently: %s", r.body)
	}
	r = post(t, url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"],"Page":{"Limit":4,"Offset":100}}}`)
	if string(r.env.Result["Campaigns"]) != `[]` {
		t.Fatalf("past the end: %s", r.body)
	}
}

// Checklist 6.1 item 8: reports lifecycle, queue and rate limits, 8312.
func TestFakeReportsLifecycle(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{ReportPolls: 2, RetryIn: 7})
	ids := e.addCampaigns(2, 0)
	e.spend.SetDay(ids[0], "2026-11-20", yandexdirecttest.Spend{CostMicros: 48_000_000, Clicks: 12, Impressions: 1000, Conversions: map[int64]int64{555: 2}})
	url := e.fake.URL() + "/json/v5/reports"
	body := func(name, typ string, goals bool) string {
		g := ""
		if goals {
			g = `"Goals":["555","556"],"AttributionModels":["LC"],`
		}
		return `{"params":{"SelectionCriteria":{"DateFrom":"2026-11-01","DateTo":"2026-11-27"},"FieldNames":["Date","CampaignId","Impressions","Clicks","Cost","Conversions"],` + g +
			`"ReportName":"` + name + `","ReportType":"` + typ + `","DateRangeType":"CUSTOM_DATE","Format":"TSV","IncludeVAT":"YES"}}`
	}
	b := body("r1", "CAMPAIGN_PERFORMANCE_REPORT", false)
	r := post(t, url, authHdr(), b)
	if r.status != 201 || len(r.body) != 0 || r.header.Get("retryIn") != "7" || r.header.Get("reportsInQueue") != "1" {
		t.Fatalf("first: %d %q %v", r.status, r.body, r.header)
	}
	for i := 0; i < 2; i++ {
		if r := post(t, url, authHdr(), b); r.status != 202 {
			t.Fatalf("poll %d: %d", i, r.status)
		}
	}
	r = post(t, url, authHdr(), b)
	want := "r1 (2026-11-01 - 2026-11-27)\nDate\tCampaignId\tImpressions\tClicks\tCost\tConversions\n2026-11-20\t" + fmtInt(ids[0]) + "\t1000\t12\t48000000\t--\nTotal rows: 1\n"
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("ready: %d\n%q\nwant\n%q", r.status, r.body, want)
	}
	hdr := authHdr()
	hdr["processingMode"] = "online"
	hdr["skipReportHeader"] = "true"
	hdr["skipReportSummary"] = "true"
	hdr["returnMoneyInMicros"] = "false"
	r = post(t, url, hdr, strings.Replace(body("r2", "CAMPAIGN_PERFORMANCE_REPORT", true), "2026-11-01", "2026-11-20", 1))
	want = "Date\tCampaignId\tImpressions\tClicks\tCost\tConversions_555_LC\tConversions_556_LC\n2026-11-20\t" + fmtInt(ids[0]) + "\t1000\t12\t48.00\t2\t--\n"
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("online with goals: %d\n%q\nwant\n%q", r.status, r.body, want)
	}
	if r := post(t, url, hdr, body("r3", "SEARCH_QUERY_PERFORMANCE_REPORT", false)); r.status != 400 || r.code() != 8312 {
		t.Fatalf("offline-only online: %d %s", r.status, r.body)
	}
	if r := post(t, url, authHdr(), strings.Replace(b, "2026-11-27", "2026-11-26", 1)); r.status != 400 || r.code() != 4000 {
		t.Fatalf("same name, other params: %d %s", r.status, r.body)
	}
	e.clock.Advance(11 * time.Second)
	for i := 0; i < 5; i++ {
		if r := post(t, url, authHdr(), body("q"+fmtInt(int64(i)), "CAMPAIGN_PERFORMANCE_REPORT", false)); r.status != 201 {
			t.Fatalf("queue %d: %d", i, r.status)
		}
	}
	if r := post(t, url, authHdr(), body("q6", "CAMPAIGN_PERFORMANCE_REPORT", false)); r.status != 400 {
		t.Fatalf("6th queued: %d %s", r.status, r.body)
	}
	e.clock.Advance(11 * time.Second)
	for i := 0; i < 20; i++ {
		post(t, url, authHdr(), body("q0", "CAMPAIGN_PERFORMANCE_REPORT", false))
	}
	if r := post(t, url, authHdr(), body("q0", "CAMPAIGN_PERFORMANCE_REPORT", false)); r.status != 400 || r.code() != 56 {
		t.Fatalf("21st request in 10 s: %d %s", r.status, r.body)
	}
	e.clock.Advance(11 * time.Second)
	if r := post(t, url, authHdr(), `{"method":"get","params":{}}`); r.status != 400 || r.code() != 8000 {
		t.Fatalf("method in a report body: %d %s", r.status, r.body)
	}
}

// Checklist 6.1 item 9: moderation transitions on the test clock.
func TestFakeModeration(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{ModerationDelay: 10 * time.Minute})
	ids := e.addCampaigns(1, 0)
	ad := e.fake.AddAd(yandexdirecttest.Ad{CampaignID: ids[0]})
	const why = "Ad rejected: the interest rate must be accompanied by the full cost of credit disclaimer"
	e.fake.SetVerdict(ad, "REJECTED", why)
	r := post(t, e.fake.URL()+"/json/v5/ads", authHdr(), `{"method":"moderate","params":{"SelectionCriteria":{"Ids":[`+fmtInt(ad)+`]}}}`)
	if !strings.Contains(string(r.body), `"ModerateResults":[{"Id"`) {
		t.Fatalf("moderate: %s", r.body)
	}
	if a, _ := e.fake.Ad(ad); a.Status != "MODERATION" {
		t.Fatalf("status %s, want MODERATION", a.Status)
	}
	e.clock.Advance(10 * time.Minute)
	if a, _ := e.fake.Ad(ad); a.Status != "REJECTED" || a.StatusClarification != why || a.State != "OFF" {
		t.Fatalf("after delay: %+v", a)
	}
	e.fake.SetVerdict(ad, "ACCEPTED", "")
	e.fake.SubmitAd(ad)
	e.clock.Advance(10 * time.Minute)
	if a, _ := e.fake.Ad(ad); a.Status != "ACCEPTED" || a.State != "ON" {
		t.Fatalf("accepted: %+v", a)
	}
	// An edited accepted ad keeps serving while the new version is checked.
	e.fake.SubmitAd(ad)
	if a, _ := e.fake.Ad(ad); a.Status != "MODERATION" || a.State != "ON" {
		t.Fatalf("edited: %+v", a)
	}
	if r := post(t, e.fake.URL()+"/json/v5/ads", authHdr(), `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"]}}`); r.code() != 4001 {
		t.Fatalf("Ads.get without selection: %d", r.code())
	}
	if r := post(t, e.fake.URL()+"/json/v5/ads", authHdr(), `{"method":"get","params":{"SelectionCriteria":{"CampaignIds":[1,2,3,4,5,6,7,8,9,10,11]},"FieldNames":["Id"]}}`); r.code() != 4001 {
		t.Fatalf("Ads.get with 11 campaigns: %d", r.code())
	}
}

func TestFakeFaultHooks(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	url := e.fake.URL() + "/json/v5/campaigns"
	get := `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"]}}`
	e.fake.FailNext(1, 1002)
	if r := post(t, url, authHdr(), get); r.code() != 1002 {
		t.Fatalf("FailNext: %d", r.code())
	}
	e.fake.SetFaults(yandexdirecttest.Faults{HTTP5xxRate: 1})
	if r := post(t, url, authHdr(), get); r.status != 503 {
		t.Fatalf("5xx: %d", r.status)
	}
	e.fake.SetFaults(yandexdirecttest.Faults{MalformedRate: 1})
	if r := post(t, url, authHdr(), get); r.status != 200 || r.env.Result != nil {
		t.Fatalf("malformed: %s", r.body)
	}
	e.fake.SetFaults(yandexdirecttest.Faults{})
	if r := post(t, url, authHdr(), get); r.code() != 0 {
		t.Fatalf("after clearing faults: %s", r.body)
	}
	if n := e.fake.Calls("campaigns.get"); n != 4 {
		t.Fatalf("calls = %d, want 4", n)
	}
}

// Checklist 6.1.5: KeywordBids.set takes at most 10,000 keywords (or 1000
// groups) per call; one more is request error 9300 and no bid changes.
func TestFakeKeywordBidsSetKeywordLimit(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	camp := e.fake.AddCampaign(login, yandexdirecttest.Campaign{Keywords: 10001, SearchBid: 10_000_000})
	url := e.fake.URL() + "/json/v5/keywordbids"
	var kws []int64
	for offset := 0; ; {
		r := post(t, url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{"CampaignIds":[`+fmtInt(camp)+`]},"FieldNames":["KeywordId"],"Page":{"Limit":10000,"Offset":`+fmtInt(int64(offset))+`}}}`)
		var page []struct{ KeywordId int64 }
		if err := jsonUnmarshal(r.env.Result["KeywordBids"], &page); err != nil {
			t.Fatalf("get: %v %s", err, r.body)
		}
		for _, k := range page {
			kws = append(kws, k.KeywordId)
		}
		if len(r.env.Result["LimitedBy"]) == 0 {
			break
		}
		offset += len(page)
	}
	if len(kws) != 10001 {
		t.Fatalf("read %d keywords, want 10001", len(kws))
	}
	set := func(ids []int64) rawResp {
		items := make([]string, len(ids))
		for i, id := range ids {
			items[i] = `{"KeywordId":` + fmtInt(id) + `,"SearchBid":20000000}`
		}
		return post(t, url, authHdr(), `{"method":"set","params":{"KeywordBids":[`+strings.Join(items, ",")+`]}}`)
	}
	if r := set(kws); r.code() != 9300 {
		t.Fatalf("10,001 keywords: code %d, want 9300", r.code())
	}
	for _, b := range e.fake.KeywordBids(camp) {
		if b != 10_000_000 {
			t.Fatalf("a refused call changed a bid to %d", b)
		}
	}
	groups := make([]string, 1001)
	for i := range groups {
		groups[i] = `{"AdGroupId":` + fmtInt(int64(i+1)) + `,"SearchBid":20000000}`
	}
	if r := post(t, url, authHdr(), `{"method":"set","params":{"KeywordBids":[`+strings.Join(groups, ",")+`]}}`); r.code() != 9300 {
		t.Fatalf("1001 groups: code %d, want 9300", r.code())
	}
	r := set(kws[:10000])
	if r.code() != 0 || strings.Contains(string(r.body), "Errors") {
		t.Fatalf("10,000 keywords must be accepted: %.300s", r.body)
	}
	changed := 0
	for _, b := range e.fake.KeywordBids(camp) {
		if b == 20_000_000 {
			changed++
		}
	}
	if changed != 10000 {
		t.Fatalf("%d bids changed, want 10000", changed)
	}
}

// Checklist 6.1.8 (optional item): a report answers 500 once and its build
// is dropped, so the identical request starts it anew (201) and succeeds.
func TestFakeReportFailureHook(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{ReportPolls: -1})
	url := e.fake.URL() + "/json/v5/reports"
	body := func(name string) string {
		return `{"params":{"SelectionCriteria":{"DateFrom":"2026-11-01","DateTo":"2026-11-27"},"FieldNames":["Date","Cost"],` +
			`"ReportName":"` + name + `","ReportType":"CUSTOM_REPORT","DateRangeType":"CUSTOM_DATE","Format":"TSV","IncludeVAT":"YES"}}`
	}
	if r := post(t, url, authHdr(), body("stats-1")); r.status != 201 {
		t.Fatalf("queue: %d %s", r.status, r.body)
	}
	e.fake.FailReports("stats-", 2)
	if r := post(t, url, authHdr(), body("today-1")); r.status != 201 {
		t.Fatalf("a report outside the prefix must not fail: %d %s", r.status, r.body)
	}
	for i := 0; i < 2; i++ {
		if r := post(t, url, authHdr(), body("stats-1")); r.status != 500 || r.code() != 1002 {
			t.Fatalf("failure %d: %d %s", i, r.status, r.body)
		}
	}
	// The failed build was dropped: the restart queues it again.
	if r := post(t, url, authHdr(), body("stats-1")); r.status != 201 {
		t.Fatalf("restart: %d %s", r.status, r.body)
	}
	if r := post(t, url, authHdr(), body("stats-1")); r.status != 200 {
		t.Fatalf("after restart: %d %s", r.status, r.body)
	}
}
