package pacing

import (
	"math"
	"time"

	"github.com/adpacer/adpacer"
)

// Test snapshots are built from small specs so every golden case states its
// intent in Go and its snapshot.json stays reproducible (go test -gen).

type lineSpec struct {
	id, tz, start, end string
	budget             float64
	target             float64 // 0: no target CPA
	mode               string
	minBid, maxBid     float64 // 0: no line bound
}

type campSpec struct {
	id           string
	line         string
	tz           string // account zone
	state        adpacer.CampaignState
	budget       float64 // <0: null
	bid          float64 // <0: null
	edits        int
	dataAge      time.Duration
	maxToday     float64 // 0: absent
	pausedByUs   bool
	dailySpend   float64 // history: spend per day (RUB)
	historyDays  int
	cpa          float64 // history: cost per conversion (0: no conversions)
	cpc          float64
	lag          time.Duration // stats end this long before now
	rampFromDays int           // spend only in the last N days of history (0: all)
	budgetAgo    time.Duration // last budget change this long before now (0: none)
}

type caseSpec struct {
	now       string
	lines     []lineSpec
	campaigns []campSpec
	policy    *Policy
}

// diurnal is a double-hump local-hour curve (midday and evening peaks).
func diurnal(h int) float64 {
	x := float64(h)
	return 0.15 + math.Exp(-(x-12)*(x-12)/8) + 0.8*math.Exp(-(x-20)*(x-20)/6)
}

func money(v float64) adpacer.Micros { return adpacer.FromFloat(v).FloorTo(kopeck) }

func moneyPtr(v float64) *adpacer.Micros {
	if v < 0 {
		return nil
	}
	m := money(v)
	return &m
}

func (cs caseSpec) build() *Snapshot {
	now, err := time.Parse(time.RFC3339, cs.now)
	if err != nil {
		panic(err)
	}
	s := &Snapshot{Version: 1, Now: now, Policy: cs.policy, Stats: []Stat{}}
	members := map[string][]adpacer.CampaignID{}
	for _, c := range cs.campaigns {
		members[c.line] = append(members[c.line], adpacer.CampaignID(c.id))
	}
	zoneOf := map[string]string{}
	for _, l := range cs.lines {
		zoneOf[l.id] = l.tz
		ln := Line{ID: l.id, Name: "Line " + l.id, Directorate: "retail", Client: "bank", TimeZone: l.tz,
			Period: Period{Start: l.start, End: l.end}, Budget: money(l.budget), Currency: "RUB",
			Campaigns: members[l.id], Mode: l.mode}
		if l.target > 0 {
			ln.TargetCPA = moneyPtr(l.target)
		}
		if l.minBid > 0 {
			ln.MinBid = moneyPtr(l.minBid)
		}
		if l.maxBid > 0 {
			ln.MaxBid = moneyPtr(l.maxBid)
		}
		s.Lines = append(s.Lines, ln)
	}
	for _, c := range cs.campaigns {
		id := adpacer.CampaignID(c.id)
		state := c.state
		if state == "" {
			state = adpacer.StateOn
		}
		camp := Campaign{ID: id, Platform: id.Platform(), TimeZone: c.tz, Currency: "RUB", State: state,
			DailyBudget: moneyPtr(c.budget), Bid: moneyPtr(c.bid), BudgetEditsToday: c.edits,
			DataAsOf: now.Add(-c.dataAge), PausedByEngine: c.pausedByUs}
		if c.bid > 0 {
			camp.MinBid, camp.MaxBid = moneyPtr(3), moneyPtr(200)
		}
		if c.maxToday > 0 {
			camp.MaxDailyBudgetToday = moneyPtr(c.maxToday)
		}
		if c.budgetAgo > 0 {
			t := now.Add(-c.budgetAgo)
			camp.LastBudgetChange = &t
		}
		s.Campaigns = append(s.Campaigns, camp)
		if c.historyDays == 0 {
			continue
		}
		loc, err := time.LoadLocation(zoneOf[c.line])
		if err != nil {
			panic(err)
		}
		lag := c.lag
		if lag == 0 {
			lag = time.Hour
		}
		end := now.Add(-lag).Truncate(time.Hour)
		var norm float64
		for h := 0; h < 24; h++ {
			norm += diurnal(h)
		}
		for t := end.Add(-time.Duration(c.historyDays) * 24 * time.Hour); t.Before(end); t = t.Add(time.Hour) {
			if c.rampFromDays > 0 && t.Before(end.Add(-time.Duration(c.rampFromDays)*24*time.Hour)) {
				continue
			}
			share := diurnal(t.In(loc).Hour()) / norm
			cost := money(c.dailySpend * share)
			if cost == 0 {
				continue
			}
			st := Stat{Campaign: id, Start: t, End: t.Add(time.Hour), Cost: cost, Impressions: int64(cost.Float() * 3)}
			if c.cpc > 0 {
				st.Clicks = int64(math.Round(cost.Float() / c.cpc))
			}
			if c.cpa > 0 {
				st.Conversions = math.Round(cost.Float()/c.cpa*100) / 100
			}
			s.Stats = append(s.Stats, st)
		}
	}
	return s
}

// goldenCases are the contract cases under testdata/<name>/.
var goldenCases = map[string]caseSpec{
	// 31-day month, first hours of December in Moscow: history is last month.
	"month_start_31d_moscow": {now: "2026-12-01T05:00:00Z",
		lines: []lineSpec{{id: "retail-moscow", tz: "Europe/Moscow", start: "2026-12-01", end: "2026-12-31", budget: 3_100_000, target: 2500}},
		campaigns: []campSpec{
			{id: "yandex_direct:101", line: "retail-moscow", tz: "Europe/Moscow", budget: 60000, bid: 30, dailySpend: 58000, historyDays: 28, cpa: 2400, cpc: 30},
			{id: "vk_ads:102", line: "retail-moscow", tz: "Europe/Moscow", budget: 40000, bid: 20, dailySpend: 39000, historyDays: 28, cpa: 2600, cpc: 20},
		}},
	// Last day of a 30-day month: the overdelivery invariant binds.
	"month_end_30d_moscow": {now: "2026-11-30T12:00:00Z",
		lines: []lineSpec{{id: "retail-moscow", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30", budget: 3_000_000}},
		campaigns: []campSpec{
			{id: "yandex_direct:111", line: "retail-moscow", tz: "Europe/Moscow", budget: 60000, bid: 30, dailySpend: 59500, historyDays: 29, cpc: 30, rampFromDays: 29},
			{id: "google_ads:112", line: "retail-moscow", tz: "Europe/Moscow", budget: 40000, bid: 25, dailySpend: 40500, historyDays: 29, cpc: 25, maxToday: 40000},
		}},
	// February (28 days) in Yekaterinburg, Google account on Moscow time.
	"feb_28d_yekaterinburg_google_msk": {now: "2027-02-14T07:00:00Z",
		lines: []lineSpec{{id: "ural", tz: "Asia/Yekaterinburg", start: "2027-02-01", end: "2027-02-28", budget: 1_400_000, target: 2000}},
		campaigns: []campSpec{
			{id: "google_ads:201", line: "ural", tz: "Europe/Moscow", budget: 30000, bid: 40, dailySpend: 24000, historyDays: 13, cpa: 1800, cpc: 40},
			{id: "yandex_direct:202", line: "ural", tz: "Asia/Yekaterinburg", budget: 25000, bid: 35, dailySpend: 25000, historyDays: 13, cpa: 2600, cpc: 35},
		}},
	// 31-day January in Kaliningrad (UTC+2), Google account on Moscow time.
	"jan_31d_kaliningrad": {now: "2027-01-20T18:30:00Z",
		lines: []lineSpec{{id: "kaliningrad", tz: "Europe/Kaliningrad", start: "2027-01-01", end: "2027-01-31", budget: 620_000}},
		campaigns: []campSpec{
			{id: "google_ads:301", line: "kaliningrad", tz: "Europe/Moscow", budget: 12000, bid: 20, dailySpend: 14500, historyDays: 19, cpc: 20},
			{id: "vk_ads:302", line: "kaliningrad", tz: "Europe/Moscow", budget: 8000, bid: 15, dailySpend: 8000, historyDays: 19, cpc: 15},
		}},
	// Vladivostok (UTC+10): the line's day starts at 17:00 MSK of the previous
	// Yandex day; Google account on Moscow time.
	"nov_30d_vladivostok": {now: "2026-11-15T09:00:00Z",
		lines: []lineSpec{{id: "retail-vladivostok", tz: "Asia/Vladivostok", start: "2026-11-01", end: "2026-11-30", budget: 1_500_000, target: 2500}},
		campaigns: []campSpec{
			{id: "yandex_direct:123", line: "retail-vladivostok", tz: "Europe/Moscow", budget: 30000, bid: 25, edits: 1, dataAge: 30 * time.Minute, dailySpend: 29000, historyDays: 14, cpa: 3100, cpc: 25},
			{id: "google_ads:456", line: "retail-vladivostok", tz: "Europe/Moscow", budget: 20000, bid: 30, dataAge: 30 * time.Minute, dailySpend: 19000, historyDays: 14, cpa: 2300, cpc: 30, lag: 3 * time.Hour},
		}},
	// Kamchatka (UTC+12) on the last local day of October with a Google
	// account in Vladivostok: the period ends at 15:00 MSK.
	"oct_31d_kamchatka_end": {now: "2026-10-31T02:00:00Z",
		lines: []lineSpec{{id: "kamchatka", tz: "Asia/Kamchatka", start: "2026-10-01", end: "2026-10-31", budget: 310_000}},
		campaigns: []campSpec{
			{id: "google_ads:401", line: "kamchatka", tz: "Asia/Vladivostok", budget: 6000, bid: 18, dailySpend: 6200, historyDays: 30, cpc: 18, maxToday: 6000},
			{id: "yandex_direct:402", line: "kamchatka", tz: "Europe/Moscow", budget: 4000, bid: 12, edits: 1, dailySpend: 4100, historyDays: 30, cpc: 12},
		}},
	// Europe/Berlin on the day DST ends (2026-10-25 has 25 hours).
	"oct_berlin_dst_end": {now: "2026-10-25T12:00:00Z",
		lines: []lineSpec{{id: "berlin", tz: "Europe/Berlin", start: "2026-10-01", end: "2026-10-31", budget: 93_000}},
		campaigns: []campSpec{
			{id: "google_ads:501", line: "berlin", tz: "Europe/Berlin", budget: 3000, bid: 2.5, dailySpend: 2600, historyDays: 24, cpc: 2.5},
		}},
	// Europe/Berlin just after DST starts (2027-03-28 has 23 hours).
	"mar_berlin_dst_start": {now: "2027-03-28T09:00:00Z",
		lines: []lineSpec{{id: "berlin", tz: "Europe/Berlin", start: "2027-03-01", end: "2027-03-31", budget: 93_000}},
		campaigns: []campSpec{
			{id: "google_ads:502", line: "berlin", tz: "Europe/Berlin", budget: 3000, bid: 2.5, dailySpend: 3300, historyDays: 27, cpc: 2.5},
		}},
	// Yandex campaigns at their third edit (no edit left) and at two edits
	// (no raise left, the last edit is kept for the evening cut).
	"yandex_third_edit": {now: "2026-11-10T09:00:00Z",
		lines: []lineSpec{{id: "volga", tz: "Europe/Samara", start: "2026-11-01", end: "2026-11-30", budget: 1_500_000}},
		campaigns: []campSpec{
			{id: "yandex_direct:601", line: "volga", tz: "Europe/Moscow", budget: 20000, bid: 20, edits: 3, dailySpend: 20000, historyDays: 9, cpc: 20},
			{id: "yandex_direct:602", line: "volga", tz: "Europe/Moscow", budget: 20000, bid: 20, edits: 2, dailySpend: 20000, historyDays: 9, cpc: 20},
			{id: "yandex_direct:603", line: "volga", tz: "Europe/Moscow", budget: 20000, bid: 20, edits: 0, dailySpend: 20000, historyDays: 9, cpc: 20},
		}},
	// The client raised the budget on the 15th: spend is behind the new plan.
	"budget_raised_mid_month": {now: "2026-11-16T10:00:00Z",
		lines: []lineSpec{{id: "siberia", tz: "Asia/Novosibirsk", start: "2026-11-01", end: "2026-11-30", budget: 1_800_000}},
		campaigns: []campSpec{
			{id: "vk_ads:701", line: "siberia", tz: "Europe/Moscow", budget: 25000, bid: 20, dailySpend: 25000, historyDays: 15, cpc: 20},
			{id: "google_ads:702", line: "siberia", tz: "Asia/Novosibirsk", budget: 25000, bid: 22, dailySpend: 25000, historyDays: 15, cpc: 22},
		}},
	// The client cut the budget on the 20th: spend is ahead of the new plan.
	"budget_cut_mid_month": {now: "2026-11-21T10:00:00Z",
		lines: []lineSpec{{id: "siberia", tz: "Asia/Novosibirsk", start: "2026-11-01", end: "2026-11-30", budget: 1_100_000}},
		campaigns: []campSpec{
			{id: "vk_ads:711", line: "siberia", tz: "Europe/Moscow", budget: 25000, bid: 20, dailySpend: 25000, historyDays: 20, cpc: 20},
			{id: "google_ads:712", line: "siberia", tz: "Asia/Novosibirsk", budget: 25000, bid: 22, dailySpend: 25000, historyDays: 20, cpc: 22},
		}},
	// One campaign's data is five hours old: it is held, the line is held,
	// and the other campaign is planned against its worst case.
	"stale_data": {now: "2026-11-12T12:00:00Z",
		lines: []lineSpec{{id: "south", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30", budget: 900_000}},
		campaigns: []campSpec{
			{id: "yandex_direct:801", line: "south", tz: "Europe/Moscow", budget: 15000, bid: 15, dataAge: 5 * time.Hour, dailySpend: 15000, historyDays: 11, cpc: 15, lag: 5 * time.Hour},
			{id: "vk_ads:802", line: "south", tz: "Europe/Moscow", budget: 15000, bid: 15, dailySpend: 14000, historyDays: 11, cpc: 15},
		}},
	// A campaign a person paused stays paused; one the brake paused is
	// resumed when the line has room again.
	"paused_campaign": {now: "2026-11-12T12:00:00Z",
		lines: []lineSpec{{id: "north", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30", budget: 900_000}},
		campaigns: []campSpec{
			{id: "yandex_direct:901", line: "north", tz: "Europe/Moscow", state: adpacer.StatePaused, budget: 15000, bid: 15, dailySpend: 15000, historyDays: 11, cpc: 15},
			{id: "vk_ads:902", line: "north", tz: "Europe/Moscow", state: adpacer.StatePaused, pausedByUs: true, budget: 15000, bid: 15, dailySpend: 15000, historyDays: 11, cpc: 15},
			{id: "vk_ads:903", line: "north", tz: "Europe/Moscow", budget: 15000, bid: 15, dailySpend: 15000, historyDays: 11, cpc: 15},
		}},
	// A new line: no history at all, one campaign without a daily budget.
	"zero_history": {now: "2026-11-03T08:00:00Z",
		lines: []lineSpec{{id: "far-east", tz: "Asia/Magadan", start: "2026-11-01", end: "2026-11-30", budget: 600_000}},
		campaigns: []campSpec{
			{id: "yandex_direct:1001", line: "far-east", tz: "Europe/Moscow", budget: 10000, bid: 10},
			{id: "google_ads:1002", line: "far-east", tz: "Asia/Magadan", budget: -1, bid: -1},
		}},
	// Approve mode: a large raise needs approval.
	"approve_mode_large_change": {now: "2026-11-20T09:00:00Z",
		lines: []lineSpec{{id: "center", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30", budget: 2_000_000, mode: ModeApprove}},
		campaigns: []campSpec{
			{id: "google_ads:1101", line: "center", tz: "Europe/Moscow", budget: 20000, bid: 20, dailySpend: 20000, historyDays: 19, cpc: 20},
		},
		policy: func() *Policy { p := DefaultPolicy(); p.ApprovalThresholdPct = 20; p.MaxBudgetStepPct = 200; return &p }()},
}
