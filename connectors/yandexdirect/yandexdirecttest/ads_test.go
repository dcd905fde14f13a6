package yandexdirecttest_test

import (
	"strings"
	"testing"

	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
)

func idList(from, n int64) string {
	var b strings.Builder
	for i := int64(0); i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(fmtInt(from + i))
	}
	return b.String()
}

// Checklist 6.1 (api-notes §1.10): each Ads.get selection kind has its own
// limit, at most 10,000 ads come back per page, and ids that match nothing
// (unknown, deleted, another advertiser's) are dropped silently.
func TestFakeAdsSelection(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.fake.AddAdvertiser("other", "tok-other")
	ids := e.addCampaigns(2, 0)
	add := func(camp int64) int64 { return e.fake.AddAd(yandexdirecttest.Ad{CampaignID: camp, Status: "ACCEPTED"}) }
	a1, a2, b1 := add(ids[0]), add(ids[0]), add(ids[1])
	foreignCamp := e.fake.AddCampaign("other", yandexdirecttest.Campaign{})
	foreign := e.fake.AddAd(yandexdirecttest.Ad{CampaignID: foreignCamp, Status: "ACCEPTED"})
	url := e.fake.URL() + "/json/v5/ads"
	get := func(sel string) rawResp {
		return post(t, url, authHdr(), `{"method":"get","params":{"SelectionCriteria":{`+sel+`},"FieldNames":["Id","CampaignId"]}}`)
	}
	for _, tc := range []struct {
		name string
		sel  string
		code int
	}{
		{"10,000 Ids", `"Ids":[` + idList(1, 10_000) + `]`, 0},
		{"10,001 Ids", `"Ids":[` + idList(1, 10_001) + `]`, 4001},
		{"1,000 AdGroupIds", `"AdGroupIds":[` + idList(1, 1000) + `]`, 0},
		{"1,001 AdGroupIds", `"AdGroupIds":[` + idList(1, 1001) + `]`, 4001},
		{"10 CampaignIds", `"CampaignIds":[` + idList(1, 10) + `]`, 0},
		{"11 CampaignIds", `"CampaignIds":[` + idList(1, 11) + `]`, 4001},
		{"no selection", ``, 4001},
	} {
		if r := get(tc.sel); r.code() != tc.code {
			t.Errorf("%s: error code %d, want %d (%s)", tc.name, r.code(), tc.code, truncate(r.body))
		}
	}

	var res struct {
		Ads []struct{ ID, CampaignID int64 } `json:"Ads"`
	}
	adsOf := func(r rawResp) []int64 {
		t.Helper()
		res.Ads = nil
		if err := jsonUnmarshal(r.env.Result["Ads"], &res.Ads); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
		var out []int64
		for _, a := range res.Ads {
			out = append(out, a.ID)
		}
		return out
	}
	sel := `"Ids":[` + fmtInt(b1) + `,999999,` + fmtInt(a1) + `,` + fmtInt(foreign) + `,` + fmtInt(a1) + `]`
	if got := adsOf(get(sel)); len(got) != 2 || got[0] != a1 || got[1] != b1 {
		t.Fatalf("Ids selection returned %v, want [%d %d]", got, a1, b1)
	}
	if !e.fake.DeleteAd(a2) || e.fake.DeleteAd(a2) {
		t.Fatal("DeleteAd must report whether the ad existed")
	}
	if got := adsOf(get(`"Ids":[` + fmtInt(a2) + `]`)); len(got) != 0 {
		t.Fatalf("deleted ad by id: %v", got)
	}
	if got := adsOf(get(`"CampaignIds":[` + fmtInt(ids[0]) + `]`)); len(got) != 1 || got[0] != a1 {
		t.Fatalf("campaign of a deleted ad: %v", got)
	}
	e.fake.ArchiveAd(a1)
	if got := adsOf(get(`"Ids":[` + fmtInt(a1) + `],"States":["ON","OFF"]`)); len(got) != 0 {
		t.Fatalf("archived ad with serving States: %v", got)
	}
	if got := adsOf(get(`"Ids":[` + fmtInt(a1) + `]`)); len(got) != 1 {
		t.Fatalf("archived ad without a States filter: %v", got)
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// At most 10,000 ads per page, whatever the selection: 10,001 ads of one
// campaign need a second page.
func TestFakeAdsAtMostTenThousandReturned(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{DailyUnits: 1_000_000})
	ids := e.addCampaigns(1, 10_001)
	r := post(t, e.fake.URL()+"/json/v5/ads", authHdr(), `{"method":"get","params":{"SelectionCriteria":{"CampaignIds":[`+fmtInt(ids[0])+`]},"FieldNames":["Id"]}}`)
	if string(r.env.Result["LimitedBy"]) != "10000" || strings.Count(string(r.env.Result["Ads"]), `"Id"`) != 10_000 {
		t.Fatalf("LimitedBy %s, %d ads", r.env.Result["LimitedBy"], strings.Count(string(r.env.Result["Ads"]), `"Id"`))
	}
	r = post(t, e.fake.URL()+"/json/v5/ads", authHdr(), `{"method":"get","params":{"SelectionCriteria":{"CampaignIds":[`+fmtInt(ids[0])+`]},"FieldNames":["Id"],"Page":{"Limit":10001}}}`)
	if r.code() != 4002 {
		t.Fatalf("Page.Limit 10001: code %d", r.code())
	}
}
