package pacing

import (
	"strings"
	"testing"

	"github.com/adpacer/adpacer"
)

func TestParseAndValidateLinesCSV(t *testing.T) {
	in := "id,name,directorate,client,timezone,month,budget,currency,target_cpa,campaigns\n" +
		"vl,Vladivostok,retail,bank,Asia/Vladivostok,2026-11,1 500 000,RUB,\"2500,00\",yandex_direct:1;google_ads:2\n" +
		"msk,Moscow,retail,bank,Europe/Moscow,2026-11,3000000.00,RUB,,vk_ads:3\n"
	lines, err := ParseLinesCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Budget != adpacer.FromUnits(1_500_000) || *lines[0].TargetCPA != adpacer.FromUnits(2500) ||
		lines[0].Period != (Period{"2026-11-01", "2026-11-30"}) || len(lines[0].Campaigns) != 2 {
		t.Fatalf("parsed %+v", lines)
	}
	camps := []Campaign{{ID: "yandex_direct:1", Currency: "RUB"}, {ID: "google_ads:2", Currency: "RUB"}, {ID: "vk_ads:3", Currency: "KZT"}}
	err = ValidateLines(lines, camps)
	if err == nil || !strings.Contains(err.Error(), `line #2 (row 3) "msk": campaign vk_ads:3 is in KZT`) {
		t.Fatalf("currency mismatch not reported: %v", err)
	}
	lines[1].Campaigns = []adpacer.CampaignID{"google_ads:2", "vk_ads:9"}
	lines[1].TimeZone = "Mars/Olympus"
	err = ValidateLines(lines, camps[:2])
	for _, want := range []string{"unknown campaign vk_ads:9", "already in line #1", `timezone "Mars/Olympus"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	_, err = ParseLinesCSV(strings.NewReader("id,timezone,month,budget,currency,campaigns,colour\nx,Europe/Moscow,2026-13,abc,RUB,vk_ads:1,red\n"))
	if err == nil || !strings.Contains(err.Error(), `row 1: unknown column "colour"`) {
		t.Fatalf("unknown column: %v", err)
	}
	_, err = ParseLinesCSV(strings.NewReader("id,timezone,month,budget,currency,campaigns\nx,Europe/Moscow,2026-13,abc,RUB,vk_ads:1\n"))
	for _, want := range []string{"row 2: month", "row 2: budget"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

// Bid bounds come from the spreadsheet as amounts and are checked like the
// other fields, with the row.
func TestLinesCSVBidBounds(t *testing.T) {
	in := "id,timezone,month,budget,currency,min_bid,max_bid,campaigns\n" +
		"vl,Asia/Vladivostok,2026-11,1500000,RUB,\"3,50\",200,yandex_direct:1\n" +
		"msk,Europe/Moscow,2026-11,3000000,RUB,,,vk_ads:3\n" +
		"spb,Europe/Moscow,2026-11,1000000,RUB,90,40,google_ads:2\n"
	lines, err := ParseLinesCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if *lines[0].MinBid != adpacer.FromFloat(3.5) || *lines[0].MaxBid != adpacer.FromUnits(200) || lines[1].MinBid != nil || lines[1].MaxBid != nil {
		t.Fatalf("parsed bounds %v %v %v %v", lines[0].MinBid, lines[0].MaxBid, lines[1].MinBid, lines[1].MaxBid)
	}
	hi := adpacer.FromUnits(2)
	camps := []Campaign{{ID: "yandex_direct:1", Currency: "RUB", MaxBid: &hi}, {ID: "google_ads:2", Currency: "RUB"}, {ID: "vk_ads:3", Currency: "RUB"}}
	err = ValidateLines(lines, camps)
	for _, want := range []string{
		`line #1 (row 2) "vl": campaign yandex_direct:1 allows bids 0..2.00 and the line 3.50..200.00: no bid fits both`,
		`line #3 (row 4) "spb": max_bid 40.00 is below min_bid 90.00`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	_, err = ParseLinesCSV(strings.NewReader("id,timezone,month,budget,currency,max_bid,campaigns\nx,Europe/Moscow,2026-11,100,RUB,lots,vk_ads:1\n"))
	if err == nil || !strings.Contains(err.Error(), "row 2: max_bid") {
		t.Fatalf("bad amount: %v", err)
	}
}

func TestRollup(t *testing.T) {
	lines := []Line{{ID: "a", Directorate: "retail", Client: "bank", Budget: 100, Currency: "RUB"},
		{ID: "b", Directorate: "sme", Client: "bank", Budget: 50, Currency: "RUB"}}
	plan := Plan{Lines: []LineStatus{{ID: "a", Spent: 10, Status: StatusOnTrack}, {ID: "b", Spent: 5, Status: StatusUnder}}}
	rows := Rollup(plan, lines)
	if len(rows) != 4 || rows[0].Name != "retail" || rows[2].Level != "client" || rows[2].Spent != 15 || rows[3].Budget != 150 {
		t.Fatalf("rollup %+v", rows)
	}
}

// TestDoNothingWithinTolerance: once a plan's budget changes are applied,
// deciding again at the same moment changes nothing; and a budget within
// tolerance of the engine's target gets no action.
func TestDoNothingWithinTolerance(t *testing.T) {
	cs := goldenCases["budget_raised_mid_month"]
	for i := range cs.campaigns {
		cs.campaigns[i].bid = -1 // bids have their own test below
	}
	s := cs.build()
	for round := 0; round < 10; round++ {
		plan, err := Decide(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Actions) == 0 {
			if round == 0 {
				t.Fatal("the case should need a change first")
			}
			break
		}
		if round == 9 {
			t.Fatalf("still acting after 9 rounds: %+v", plan.Actions)
		}
		for _, a := range plan.Actions {
			for ci := range s.Campaigns {
				if s.Campaigns[ci].ID == a.Campaign && a.Kind == adpacer.SetDailyBudget {
					v := *a.Value
					s.Campaigns[ci].DailyBudget = &v
				}
			}
		}
	}
	// Nudge one budget by 3% (inside the 5% tolerance): still nothing.
	v := adpacer.Micros(float64(*s.Campaigns[0].DailyBudget) * 1.03).FloorTo(kopeck)
	s.Campaigns[0].DailyBudget = &v
	plan, err := Decide(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Actions) != 0 {
		t.Fatalf("within tolerance but acted: %+v", plan.Actions)
	}
}

// TestIntradayWaitsForNextDay: inside a platform day a plan-following
// budget change of a line near its plan is not sent (the platform paces
// the day toward its setting); the same case at the start of the next
// platform day sends it, and a line far off its plan is corrected at once.
func TestIntradayWaitsForNextDay(t *testing.T) {
	count := func(name, now string, id adpacer.CampaignID) int {
		cs := goldenCases[name]
		for i := range cs.campaigns {
			cs.campaigns[i].bid = -1
		}
		cs.now = now
		plan, err := Decide(cs.build())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range plan.Actions {
			if a.Campaign == id && a.Kind == adpacer.SetDailyBudget {
				n++
			}
		}
		return n
	}
	// Google account on Moscow time, line within its plan band.
	if n := count("feb_28d_yekaterinburg_google_msk", "2027-02-14T07:00:00Z", "google_ads:201"); n != 0 { // 10:00 Moscow
		t.Fatalf("mid-day: %d budget changes, want 0", n)
	}
	if n := count("feb_28d_yekaterinburg_google_msk", "2027-02-14T21:30:00Z", "google_ads:201"); n != 1 { // 00:30 Moscow
		t.Fatalf("day start: %d budget changes, want 1", n)
	}
	// The budget was raised mid-month: the line is far under its new plan.
	if n := count("budget_raised_mid_month", "2026-11-16T12:00:00Z", "vk_ads:701"); n != 1 { // 15:00 Moscow
		t.Fatalf("off plan, mid-day: %d budget changes, want 1", n)
	}
}
