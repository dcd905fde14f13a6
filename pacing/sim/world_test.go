package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
)

// testWorldYAML is a quiet, budget-limited market: no noise, no faults,
// demand far above the budgets, so the platforms' caps decide the spend.
const testWorldYAML = `
name: platform-test
month: "2026-09"
timezone: Europe/Moscow
market: {tick_noise_sd: 0, day_noise_sd: 0, cpc_noise_sd: 0}
platforms:
  yandex_direct: {worst_case_overdelivery: WORST, outage_per_day: 0, write_failure_pct: 0, throttle_pct: 0, restate_sd_pct: 0, restate_mean_pct: 0}
  google_ads: {worst_case_overdelivery: WORST, outage_per_day: 0, write_failure_pct: 0, throttle_pct: 0, restate_sd_pct: 0, restate_mean_pct: 0}
  vk_ads: {worst_case_overdelivery: WORST, outage_per_day: 0, write_failure_pct: 0, throttle_pct: 0, restate_sd_pct: 0, restate_mean_pct: 0,
           overdelivery_min: 1.2, overdelivery_max: 1.2}
regions:
  - {name: moscow, timezone: Europe/Moscow, weight: 1, weekday: [1, 1, 1, 1, 1, 1, 1]}
  - {name: vladivostok, timezone: Asia/Vladivostok, weight: 1, weekday: [1, 1, 1, 1, 1, 1, 1]}
lines:
  - {id: l1, budget: 1000000, target_cpa: 1000}
campaigns:
  - {id: "yandex_direct:1", line: l1, region: vladivostok, daily_budget: 1000, bid: 60, auctions_per_hour: 5000, ctr: 0.05, price_median: 30, price_sigma: 0.5, cvr: 0.03}
  - {id: "google_ads:2", line: l1, region: vladivostok, account_timezone: Asia/Vladivostok, daily_budget: 1000, bid: 60, auctions_per_hour: 5000, ctr: 0.05, price_median: 30, price_sigma: 0.5, cvr: 0.03}
  - {id: "vk_ads:3", line: l1, region: moscow, daily_budget: 1000, bid: 60, auctions_per_hour: 5000, ctr: 0.05, price_median: 30, price_sigma: 0.5, cvr: 0.03}
`

// testWorld builds the test market; worst makes every platform spend its
// full allowance, and a x3 demand surge makes every day above average.
func testWorld(t *testing.T, worst bool) *World {
	t.Helper()
	y := strings.ReplaceAll(testWorldYAML, "WORST", map[bool]string{true: "true", false: "false"}[worst])
	if worst {
		y += "shocks:\n  - {kind: demand, factor: 3}\n"
	}
	sc, err := ParseScenario([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return NewWorld(sc, 1)
}

var msk = mustLoc("Europe/Moscow")
var vlat = mustLoc("Asia/Vladivostok")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func at(loc *time.Location, day, hour int) time.Time {
	return time.Date(2026, 9, day, hour, 0, 0, 0, loc)
}

func rub(u int64) adpacer.Micros { return adpacer.FromUnits(u) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func platformCode(err error) string {
	var pe *PlatformError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// spend sums the true spend of a campaign over [from, to).
func spend(w *World, id adpacer.CampaignID, from, to time.Time) adpacer.Micros {
	ci := w.sc.campIdx[id]
	var s int64
	for k := w.sc.TickOf(from); k < w.sc.TickOf(to); k++ {
		s += w.cost[ci*w.T+k]
	}
	return adpacer.Micros(s)
}

const (
	yandexID = adpacer.CampaignID("yandex_direct:1")
	googleID = adpacer.CampaignID("google_ads:2")
	vkID     = adpacer.CampaignID("vk_ads:3")
)

func TestGoogleDayCapIsTwiceTheHighestSettingOfTheDay(t *testing.T) {
	w := testWorld(t, true)
	ci := w.sc.campIdx[googleID]
	// Google's day runs on the account zone (Vladivostok).
	w.Advance(at(vlat, 3, 0))
	must(t, w.SetDailyBudget(googleID, rub(3000)))
	must(t, w.SetDailyBudget(googleID, rub(1000)))
	if hard, _ := w.allowance(ci); hard != int64(rub(6000)) {
		t.Fatalf("hard cap after raising to 3000 and cutting to 1000 = %s, want 2 x 3000 = 6000", adpacer.Micros(hard))
	}
	w.Advance(at(vlat, 5, 0))
	if s := spend(w, googleID, at(vlat, 3, 0), at(vlat, 4, 0)); s > rub(6000) || s < rub(1900) {
		t.Errorf("spend on the edit day = %s, want within the platform target 2000 and the cap 6000", s)
	}
	// A day without edits at 1000: worst case spends up to exactly 2x.
	if s := spend(w, googleID, at(vlat, 4, 0), at(vlat, 5, 0)); s > rub(2000) || s < rub(1950) {
		t.Errorf("spend on a worst-case day at 1000 = %s, want 1950..2000 (2x cap binding)", s)
	}
}

func TestGoogleMonthCapRecomputedOnEdit(t *testing.T) {
	w := testWorld(t, true)
	ci := w.sc.campIdx[googleID]
	st := &w.camps[ci]
	if st.monthCap != int64(rub(30400)) {
		t.Fatalf("initial month cap = %s, want 30.4 x 1000", adpacer.Micros(st.monthCap))
	}
	w.Advance(at(vlat, 25, 0))
	before := st.spentMonthBefore
	must(t, w.SetDailyBudget(googleID, rub(100)))
	// Spent before today + new budget x days left including today (25..30).
	if want := before + int64(rub(600)); st.monthCap != want {
		t.Fatalf("month cap after edit on the 25th = %s, want %s + 6 x 100", adpacer.Micros(st.monthCap), adpacer.Micros(before))
	}
	w.Advance(at(msk, 30, 23))
	// Worst case would spend 2 x 100 a day; the month cap holds it at 600.
	if s := spend(w, googleID, at(vlat, 25, 0), at(vlat, 30, 23)); s > rub(600) || s < rub(500) {
		t.Errorf("spend 25..30 after the edit = %s, want <= 600 and close to it", s)
	}
}

func TestYandexFourthEditRefusedOnMoscowDay(t *testing.T) {
	w := testWorld(t, false)
	w.Advance(at(msk, 2, 10))
	for _, v := range []int64{1100, 1200, 1300} {
		must(t, w.SetDailyBudget(yandexID, rub(v)))
	}
	err := w.SetDailyBudget(yandexID, rub(1400))
	if platformCode(err) != "8305" {
		t.Fatalf("4th edit: err = %v, want Yandex 8305", err)
	}
	if tried := w.camps[w.sc.campIdx[yandexID]].attemptsToday; tried != 4 {
		t.Errorf("edits tried = %d, want 4 (D1 counts the refused try)", tried)
	}
	// Setting the current value is a no-op, not an edit.
	must(t, w.SetDailyBudget(yandexID, rub(1300)))
	// 23:45 Moscow is already the next day in Vladivostok (the campaign's
	// region) but Yandex counts Moscow days.
	w.Advance(time.Date(2026, 9, 2, 23, 45, 0, 0, msk))
	if err := w.SetDailyBudget(yandexID, rub(1400)); platformCode(err) != "8305" {
		t.Fatalf("edit at 23:45 MSK: err = %v, want 8305 (still the same Moscow day)", err)
	}
	w.Advance(at(msk, 3, 0))
	must(t, w.SetDailyBudget(yandexID, rub(1400)))
	if c, _ := w.Campaign(yandexID); c.BudgetEditsToday != 1 {
		t.Errorf("edits on the new Moscow day = %d, want 1", c.BudgetEditsToday)
	}
}

func TestYandexCutEffectiveNextDayRaiseImmediate(t *testing.T) {
	w := testWorld(t, true)
	ci := w.sc.campIdx[yandexID]
	w.Advance(at(msk, 8, 1)) // Tuesday
	must(t, w.SetDailyBudget(yandexID, rub(500)))
	c, _ := w.Campaign(yandexID)
	if *c.DailyBudget != rub(500) {
		t.Errorf("API shows %s after the cut, want 500", *c.DailyBudget)
	}
	if w.camps[ci].eff != rub(1000) {
		t.Errorf("in force after a cut = %s, want the old 1000 until the next Moscow day", w.camps[ci].eff)
	}
	w.Advance(at(msk, 9, 0))
	if w.camps[ci].eff != rub(500) {
		t.Errorf("in force the next day = %s, want 500", w.camps[ci].eff)
	}
	if s := spend(w, yandexID, at(msk, 8, 0), at(msk, 9, 0)); s <= rub(650) {
		t.Errorf("spend on the cut day = %s, want above 1.3 x 500 (the cut waits for tomorrow)", s)
	}
	w.Advance(at(msk, 10, 0))
	if s := spend(w, yandexID, at(msk, 9, 0), at(msk, 10, 0)); s > rub(650) {
		t.Errorf("spend the day after the cut = %s, want <= 1.3 x 500", s)
	}
	must(t, w.SetDailyBudget(yandexID, rub(2000)))
	if w.camps[ci].eff != rub(2000) {
		t.Errorf("a raise is in force at once, got %s", w.camps[ci].eff)
	}
}

func TestYandexWeeklyAverageAndDayCap(t *testing.T) {
	w := testWorld(t, true)
	// 7 Sep 2026 is a Monday; worst case every day.
	w.Advance(at(msk, 14, 0))
	var week adpacer.Micros
	for d := 7; d < 14; d++ {
		s := spend(w, yandexID, at(msk, d, 0), at(msk, d+1, 0))
		if s > rub(1300) {
			t.Errorf("day %d spend %s above 1.3 x 1000", d, s)
		}
		week += s
	}
	if week > rub(7000) || week < rub(6900) {
		t.Errorf("week spend %s, want <= 7 x 1000 and close to it", week)
	}
	if s := spend(w, yandexID, at(msk, 7, 0), at(msk, 8, 0)); s < rub(1250) {
		t.Errorf("Monday spend %s, want the 1.3x day cap used (~1300)", s)
	}
}

func TestVKOverdeliveryFactor(t *testing.T) {
	w := testWorld(t, true)
	w.Advance(at(msk, 5, 0))
	for d := 2; d < 5; d++ {
		if s := spend(w, vkID, at(msk, d, 0), at(msk, d+1, 0)); s > rub(1200) || s < rub(1150) {
			t.Errorf("VK day %d spend %s, want 1150..1200 (kappa 1.2)", d, s)
		}
	}
	w2 := testWorld(t, false)
	w2.Advance(at(msk, 5, 0))
	if s := spend(w2, vkID, at(msk, 2, 0), at(msk, 3, 0)); s > rub(1050) || s < rub(950) {
		t.Errorf("VK day spend without worst case = %s, want about the setting", s)
	}
}

func TestDayBoundariesMoscowVersusAccountZone(t *testing.T) {
	w := testWorld(t, false)
	day := func(id adpacer.CampaignID) string {
		s, err := w.TodaySpend(id)
		must(t, err)
		return s.Day
	}
	w.Advance(time.Date(2026, 9, 10, 13, 45, 0, 0, time.UTC))
	if g := day(googleID); g != "2026-09-10" {
		t.Errorf("Google (Vladivostok account) at 23:45 VLAT: day %s", g)
	}
	w.Advance(time.Date(2026, 9, 10, 14, 0, 0, 0, time.UTC))
	if g := day(googleID); g != "2026-09-11" {
		t.Errorf("Google at 00:00 VLAT: day %s, want 2026-09-11", g)
	}
	if y := day(yandexID); y != "2026-09-10" {
		t.Errorf("Yandex (Vladivostok region) at 17:00 MSK: day %s, want 2026-09-10 (Moscow day)", y)
	}
	w.Advance(time.Date(2026, 9, 10, 21, 0, 0, 0, time.UTC))
	if y := day(yandexID); y != "2026-09-11" {
		t.Errorf("Yandex at 00:00 MSK: day %s, want 2026-09-11", y)
	}
}

func TestReportsLagAndModerationRefusesResume(t *testing.T) {
	y := strings.ReplaceAll(testWorldYAML, "WORST", "false") + `shocks:
  - {kind: moderation, campaigns: ["vk_ads:3"], from: "2026-09-03", to: "2026-09-04"}
  - {kind: reporting_outage, platform: google_ads, from: "2026-09-05", to: "2026-09-06"}
`
	sc, err := ParseScenario([]byte(y))
	must(t, err)
	w := NewWorld(sc, 1)
	w.Advance(at(msk, 3, 12))
	must(t, w.Pause(vkID))
	if err := w.Resume(vkID); platformCode(err) != "8300" {
		t.Errorf("resume under moderation: err = %v, want 8300", err)
	}
	if c, _ := w.Campaign(vkID); c.State != adpacer.StateRejected {
		t.Errorf("state under moderation = %s", c.State)
	}
	if s := spend(w, vkID, at(msk, 3, 0), at(msk, 3, 12)); s != 0 {
		t.Errorf("spend under moderation = %s", s)
	}
	w.Advance(at(msk, 4, 1))
	must(t, w.Resume(vkID))
	// Reports lag: never ahead of the clock, at most the configured lag.
	asOf := w.DataAsOf(adpacer.YandexDirect)
	if lag := w.Now().Sub(asOf); lag < 30*time.Minute || lag > 2*time.Hour {
		t.Errorf("Yandex report lag %s, want 30m..2h", lag)
	}
	w.Advance(at(msk, 5, 23))
	if asOf := w.DataAsOf(adpacer.GoogleAds); asOf.After(at(msk, 5, 0)) {
		t.Errorf("Google reports frozen from the 5th, but complete to %s", asOf)
	}
	st, err := w.ReportedStat(googleID, at(msk, 4, 0), at(msk, 6, 0))
	must(t, err)
	truth := spend(w, googleID, at(msk, 4, 0), w.DataAsOf(adpacer.GoogleAds))
	if st.Cost != truth || truth == 0 {
		t.Errorf("reported Google cost while frozen = %s, want exactly the spend up to the frozen frontier %s", st.Cost, truth)
	}
}

func TestLockedWorldSharedByServers(t *testing.T) {
	lw := NewLockedWorld(testWorld(t, false))
	done := make(chan error, 2)
	for _, id := range []adpacer.CampaignID{yandexID, vkID} {
		go func() {
			done <- lw.Do(func(w *World) error {
				w.Advance(at(msk, 2, 0))
				return w.SetDailyBudget(id, rub(2000))
			})
		}()
	}
	for range 2 {
		must(t, <-done)
	}
	must(t, lw.Do(func(w *World) error {
		if got := w.CampaignsOf(adpacer.GoogleAds); len(got) != 1 || got[0] != googleID {
			t.Errorf("CampaignsOf(google) = %v", got)
		}
		for _, id := range []adpacer.CampaignID{yandexID, vkID} {
			c, err := w.Campaign(id)
			if err != nil || *c.DailyBudget != rub(2000) {
				t.Errorf("%s: %v %v", id, c.DailyBudget, err)
			}
		}
		return nil
	}))
}

// SettledConversions counts the conversions of clicks so far including
// those not yet reported (the delay), so it leads ReportedStat, which
// catches up as the delay passes.
func TestSettledConversionsLeadReported(t *testing.T) {
	w := testWorld(t, false)
	id := adpacer.CampaignID("vk_ads:3")
	start := w.Scenario().Start
	w.Advance(start.Add(5 * 24 * time.Hour))
	settled, err := w.SettledConversions(id)
	must(t, err)
	rep, err := w.ReportedStat(id, start, w.Now())
	must(t, err)
	if settled <= rep.Conversions || rep.Conversions <= 0 {
		t.Fatalf("settled %v, reported %v: want settled above a positive reported count", settled, rep.Conversions)
	}
	// Without new clicks the reports catch up with the settled count.
	must(t, w.Pause(id))
	w.Advance(w.Now().Add(20 * 24 * time.Hour))
	later, err := w.SettledConversions(id)
	must(t, err)
	rep2, err := w.ReportedStat(id, start, w.Now())
	must(t, err)
	if later != settled || rep2.Conversions < 0.95*settled {
		t.Fatalf("after the delay: settled %v (was %v), reported %v", later, settled, rep2.Conversions)
	}
	if _, err := w.SettledConversions("vk_ads:404"); err == nil {
		t.Fatal("unknown campaign accepted")
	}
}
