package yandexdirecttest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
)

// modResults decodes the per-item results of a BidModifiers call: the
// first error code of each item (0 when it succeeded).
func modResults(t *testing.T, r rawResp, name string) (codes []int, ids [][]int64) {
	t.Helper()
	if r.code() != 0 {
		t.Fatalf("request error %d: %s", r.code(), r.body)
	}
	var items []struct {
		ID     *int64  `json:"Id"`
		IDs    []int64 `json:"Ids"`
		Errors []struct{ Code int }
	}
	if err := json.Unmarshal(r.env.Result[name], &items); err != nil {
		t.Fatalf("%s: %v (%s)", name, err, r.body)
	}
	for _, it := range items {
		code := 0
		if len(it.Errors) > 0 {
			code = it.Errors[0].Code
		}
		if (code == 0) != (it.ID != nil || len(it.IDs) > 0) {
			t.Fatalf("item %+v: an id must be present exactly when there is no error (%s)", it, r.body)
		}
		codes = append(codes, code)
		all := it.IDs
		if it.ID != nil {
			all = append(all, *it.ID)
		}
		ids = append(ids, all)
	}
	return codes, ids
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Checklist 6.1.5: a regional adjustment outside 10..1300 is item error
// 5005, on add and on set; the other items of the call still apply.
func TestFakeBidModifiersRegionalRange(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	camp := e.addCampaigns(1, 0)[0]
	url := e.fake.URL() + "/json/v5/bidmodifiers"
	region := func(id int64, v string) string {
		return `{"CampaignId":` + fmtInt(camp) + `,"RegionalAdjustments":[{"RegionId":` + fmtInt(id) + `,"BidModifier":` + v + `}]}`
	}
	r := post(t, url, authHdr(), `{"method":"add","params":{"BidModifiers":[`+
		region(213, "9")+`,`+region(2, "10")+`,`+region(54, "1300")+`,`+region(65, "1301")+`,`+region(11, "0")+`]}}`)
	codes, ids := modResults(t, r, "AddResults")
	if want := []int{5005, 0, 0, 5005, 5005}; !equalInts(codes, want) {
		t.Fatalf("add codes = %v, want %v (%s)", codes, want, r.body)
	}
	mods := e.fake.BidModifiers(camp)
	if len(mods) != 2 || mods[0].RegionID != 2 || mods[0].Value != 10 || mods[1].RegionID != 54 || mods[1].Value != 1300 ||
		mods[0].ID != ids[1][0] || mods[1].ID != ids[2][0] || mods[0].Level != "CAMPAIGN" || mods[0].Type != "REGIONAL_ADJUSTMENT" {
		t.Fatalf("stored adjustments %+v, ids %v", mods, ids)
	}
	spbID, ekbID := mods[0].ID, mods[1].ID

	// set: the boundaries, per item, in one call.
	set := func(id int64, v string) string { return `{"Id":` + fmtInt(id) + `,"BidModifier":` + v + `}` }
	r = post(t, url, authHdr(), `{"method":"set","params":{"BidModifiers":[`+set(spbID, "1301")+`,`+set(ekbID, "10")+`]}}`)
	if codes, _ := modResults(t, r, "SetResults"); !equalInts(codes, []int{5005, 0}) {
		t.Fatalf("set codes = %v (%s)", codes, r.body)
	}
	// 10 per call + 3 per changed object + 20 per failed object.
	if got := r.header.Get("Units"); !strings.HasPrefix(got, "33/") {
		t.Fatalf("Units = %q, want 33 spent (10 + 3 + 20 for the failed item)", got)
	}
	for _, tc := range []struct {
		v    string
		code int
		want int64
	}{{"9", 5005, 1300}, {"10", 0, 10}, {"1300", 0, 1300}, {"1301", 5005, 1300}, {"-5", 5005, 1300}, {"150", 0, 150}} {
		r := post(t, url, authHdr(), `{"method":"set","params":{"BidModifiers":[`+set(spbID, "1300")+`]}}`)
		if codes, _ := modResults(t, r, "SetResults"); codes[0] != 0 {
			t.Fatalf("reset: %s", r.body)
		}
		r = post(t, url, authHdr(), `{"method":"set","params":{"BidModifiers":[`+set(spbID, tc.v)+`]}}`)
		if codes, _ := modResults(t, r, "SetResults"); codes[0] != tc.code {
			t.Fatalf("set %s: code %d, want %d (%s)", tc.v, codes[0], tc.code, r.body)
		}
		if got := e.fake.BidModifiers(camp)[0].Value; got != tc.want {
			t.Fatalf("set %s: stored %d, want %d", tc.v, got, tc.want)
		}
	}
}

// Other types have their own ranges (api-notes §1.8): 0 is valid for device
// and demographic adjustments (it turns impressions off), not for smart ads
// (20..1300) nor SERP layout (1..1300).
func TestFakeBidModifiersTypeRanges(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	camp := e.addCampaigns(1, 0)[0]
	url := e.fake.URL() + "/json/v5/bidmodifiers"
	cases := []struct {
		typ  string
		v    int64
		code int
	}{
		{"MOBILE_ADJUSTMENT", 0, 0},
		{"MOBILE_ADJUSTMENT", 1301, 5005},
		{"DEMOGRAPHICS_ADJUSTMENT", 0, 0},
		{"RETARGETING_ADJUSTMENT", 1300, 0},
		{"SMART_AD_ADJUSTMENT", 19, 5005},
		{"SMART_AD_ADJUSTMENT", 20, 0},
		{"SERP_LAYOUT_ADJUSTMENT", 0, 5005},
		{"SERP_LAYOUT_ADJUSTMENT", 1, 0},
		{"INCOME_GRADE_ADJUSTMENT", 0, 5005},
		{"REGIONAL_ADJUSTMENT", 10, 0},
		{"REGIONAL_ADJUSTMENT", 9, 5005},
	}
	for _, tc := range cases {
		id := e.fake.AddBidModifier(yandexdirecttest.BidModifier{CampaignID: camp, Type: tc.typ, Value: 100})
		r := post(t, url, authHdr(), `{"method":"set","params":{"BidModifiers":[{"Id":`+fmtInt(id)+`,"BidModifier":`+fmtInt(tc.v)+`}]}}`)
		if codes, _ := modResults(t, r, "SetResults"); codes[0] != tc.code {
			t.Fatalf("%s = %d: code %d, want %d (%s)", tc.typ, tc.v, codes[0], tc.code, r.body)
		}
	}
}

// What else BidModifiers rejects: re-adding (9801), duplicates in one
// request (9800) or one item (9802), regional at group level, unknown and
// foreign objects (8800), more than 1000 set items (9300), get without
// Levels or with Limit + Offset over 120,000 (9301).
func TestFakeBidModifiersRejections(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	camp := e.addCampaigns(1, 0)[0]
	e.fake.AddAdvertiser("other", "tok-other")
	foreign := e.fake.AddCampaign("other", yandexdirecttest.Campaign{})
	group := e.fake.AddAd(yandexdirecttest.Ad{CampaignID: camp})
	grp, _ := e.fake.Ad(group)
	url := e.fake.URL() + "/json/v5/bidmodifiers"
	add := func(items ...string) rawResp {
		return post(t, url, authHdr(), `{"method":"add","params":{"BidModifiers":[`+strings.Join(items, ",")+`]}}`)
	}
	region := `{"CampaignId":` + fmtInt(camp) + `,"RegionalAdjustments":[{"RegionId":213,"BidModifier":120}]}`
	if codes, _ := modResults(t, add(region), "AddResults"); codes[0] != 0 {
		t.Fatal("first add refused")
	}
	r := add(region,
		`{"CampaignId":`+fmtInt(camp)+`,"DemographicsAdjustments":[{"Gender":"GENDER_MALE","Age":"AGE_25_34","BidModifier":80},{"Gender":"GENDER_MALE","Age":"AGE_25_34","BidModifier":90}]}`,
		`{"CampaignId":`+fmtInt(camp)+`,"RegionalAdjustments":[{"RegionId":2,"BidModifier":120}]}`,
		`{"CampaignId":`+fmtInt(camp)+`,"RegionalAdjustments":[{"RegionId":2,"BidModifier":130}]}`,
		`{"AdGroupId":`+fmtInt(grp.AdGroupID)+`,"RegionalAdjustments":[{"RegionId":54,"BidModifier":120}]}`,
		`{"AdGroupId":`+fmtInt(grp.AdGroupID)+`,"DemographicsAdjustments":[{"Age":"AGE_55","BidModifier":0}]}`,
		`{"CampaignId":999,"RegionalAdjustments":[{"RegionId":54,"BidModifier":120}]}`,
		`{"CampaignId":`+fmtInt(foreign)+`,"RegionalAdjustments":[{"RegionId":54,"BidModifier":120}]}`,
		`{"CampaignId":`+fmtInt(camp)+`,"AdGroupId":`+fmtInt(grp.AdGroupID)+`,"RegionalAdjustments":[{"RegionId":54,"BidModifier":120}]}`,
		`{"CampaignId":`+fmtInt(camp)+`}`,
		`{"CampaignId":`+fmtInt(camp)+`,"DemographicsAdjustments":[{"Gender":"GENDER_OTHER","BidModifier":50}]}`,
	)
	codes, _ := modResults(t, r, "AddResults")
	if want := []int{9801, 9802, 0, 9800, 3500, 0, 8800, 8800, 4004, 4003, 5005}; !equalInts(codes, want) {
		t.Fatalf("add codes = %v, want %v (%s)", codes, want, r.body)
	}
	mods := e.fake.BidModifiers(camp)
	if len(mods) != 3 || mods[2].Level != "AD_GROUP" || mods[2].AdGroupID != grp.AdGroupID || mods[2].Age != "AGE_55" || mods[2].Value != 0 {
		t.Fatalf("stored %+v", mods)
	}

	var many []string
	for i := 0; i < 1001; i++ {
		many = append(many, `{"Id":`+fmtInt(mods[0].ID)+`,"BidModifier":100}`)
	}
	if r := post(t, url, authHdr(), `{"method":"set","params":{"BidModifiers":[`+strings.Join(many, ",")+`]}}`); r.code() != 9300 {
		t.Fatalf("1001 set items: code %d, want 9300", r.code())
	}
	r = post(t, url, authHdr(), `{"method":"set","params":{"BidModifiers":[{"Id":999,"BidModifier":100},{"Id":`+fmtInt(mods[0].ID)+`,"BidModifier":100},{"Id":`+fmtInt(mods[0].ID)+`,"BidModifier":110}]}}`)
	if codes, _ := modResults(t, r, "SetResults"); !equalInts(codes, []int{8800, 0, 9800}) {
		t.Fatalf("set codes %v (%s)", codes, r.body)
	}
	otherMod := e.fake.AddBidModifier(yandexdirecttest.BidModifier{CampaignID: foreign, Type: "REGIONAL_ADJUSTMENT", RegionID: 1, Value: 100})
	r = post(t, url, authHdr(), `{"method":"set","params":{"BidModifiers":[{"Id":`+fmtInt(otherMod)+`,"BidModifier":200}]}}`)
	if codes, _ := modResults(t, r, "SetResults"); codes[0] != 8800 {
		t.Fatalf("another advertiser's adjustment: %s", r.body)
	}

	get := func(sel, extra string) rawResp {
		return post(t, url, authHdr(), `{"method":"get","params":{"SelectionCriteria":`+sel+`,"FieldNames":["Id","CampaignId","AdGroupId","Level","Type"],"RegionalAdjustmentFieldNames":["RegionId","BidModifier","Enabled"]`+extra+`}}`)
	}
	if r := get(`{"CampaignIds":[`+fmtInt(camp)+`]}`, ""); r.code() != 8000 {
		t.Fatalf("get without Levels: %d %s", r.code(), r.body)
	}
	if r := get(`{"Levels":["CAMPAIGN"]}`, ""); r.code() != 4001 {
		t.Fatalf("get without ids: %d %s", r.code(), r.body)
	}
	if r := get(`{"CampaignIds":[`+fmtInt(camp)+`],"Levels":["CAMPAIGN"]}`, `,"Page":{"Limit":10000,"Offset":110001}`); r.code() != 9301 {
		t.Fatalf("Limit+Offset over 120000: %d %s", r.code(), r.body)
	}
	r = get(`{"CampaignIds":[`+fmtInt(camp)+`,`+fmtInt(foreign)+`],"Levels":["CAMPAIGN"],"Types":["REGIONAL_ADJUSTMENT"]}`, "")
	want := `[{"AdGroupId":null,"CampaignId":` + fmtInt(camp) + `,"Id":` + fmtInt(mods[0].ID) + `,"Level":"CAMPAIGN","RegionalAdjustment":{"BidModifier":100,"Enabled":"YES","RegionId":213},"Type":"REGIONAL_ADJUSTMENT"},` +
		`{"AdGroupId":null,"CampaignId":` + fmtInt(camp) + `,"Id":` + fmtInt(mods[1].ID) + `,"Level":"CAMPAIGN","RegionalAdjustment":{"BidModifier":120,"Enabled":"YES","RegionId":2},"Type":"REGIONAL_ADJUSTMENT"}]`
	if got := string(r.env.Result["BidModifiers"]); got != want {
		t.Fatalf("get:\n%s\nwant\n%s", got, want)
	}

	r = post(t, url, authHdr(), `{"method":"delete","params":{"SelectionCriteria":{"Ids":[`+fmtInt(mods[1].ID)+`,999]}}}`)
	if codes, _ := modResults(t, r, "DeleteResults"); !equalInts(codes, []int{0, 8800}) || len(e.fake.BidModifiers(camp)) != 2 {
		t.Fatalf("delete: %v (%s)", codes, r.body)
	}
	if r := post(t, url, authHdr(), `{"method":"toggle","params":{}}`); r.code() != 55 {
		t.Fatalf("toggle is not modelled and must say so: %d", r.code())
	}
}
