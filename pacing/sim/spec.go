package sim

import (
	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

// ScenarioSpec is the YAML form of a scenario (docs/simulation.md documents
// every field). It is decoded strictly: unknown fields and impossible values
// are errors naming the field path.
type ScenarioSpec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Month is the budget month, YYYY-MM, used for lines without a period.
	Month string `yaml:"month"`
	// TimeZone is the zone of dates in shocks and the default line zone
	// (default Europe/Moscow, where the bank's budget month is assumed to run).
	TimeZone string `yaml:"timezone"`
	// Targets selects the target column of pacing-notes 6.4: nominal (S0) or
	// stress (S1..S10).
	Targets   string        `yaml:"targets"`
	Engine    EngineSpec    `yaml:"engine"`
	Baselines BaselineSpec  `yaml:"baselines"`
	Platforms PlatformsSpec `yaml:"platforms"`
	Market    MarketSpec    `yaml:"market"`
	// Regions replaces the built-in region table when given.
	Regions   []RegionSpec   `yaml:"regions"`
	Generate  *GenerateSpec  `yaml:"generate"`
	Lines     []LineSpec     `yaml:"lines"`
	Campaigns []CampaignSpec `yaml:"campaigns"`
	Shocks    []ShockSpec    `yaml:"shocks"`
}

// EngineSpec configures how the engine policy is driven.
type EngineSpec struct {
	// Interval between engine decisions (default 1h, a multiple of 15m).
	Interval pacing.Duration `yaml:"interval"`
	// HourlyStatsDays: the snapshot carries hourly rows for this many most
	// recent days and line-day rows before (default 3).
	HourlyStatsDays int `yaml:"hourly_stats_days"`
}

// BaselineSpec tunes baseline B3 (the PI controller).
type BaselineSpec struct {
	// Interval between B3 updates (default 1h).
	Interval pacing.Duration `yaml:"interval"`
	// KP and KI are the PI gains on the cumulative error in units of the
	// line budget (defaults 10 and 2 per day).
	KP *float64 `yaml:"kp"`
	KI *float64 `yaml:"ki"`
	// PriorWeeks of history the baselines learn weekday/hour profiles from
	// (default 8).
	PriorWeeks int `yaml:"prior_weeks"`
}

// PlatformsSpec holds per-platform emulator parameters.
type PlatformsSpec struct {
	Yandex PlatformSpec `yaml:"yandex_direct"`
	Google PlatformSpec `yaml:"google_ads"`
	VK     PlatformSpec `yaml:"vk_ads"`
}

// PlatformSpec parameterises one platform emulator; absent fields take the
// defaults of pacing-notes 6.1.
type PlatformSpec struct {
	ReportLagMin    *pacing.Duration `yaml:"report_lag_min"`
	ReportLagMax    *pacing.Duration `yaml:"report_lag_max"`
	OutagePerDay    *float64         `yaml:"outage_per_day"`
	OutageLength    *pacing.Duration `yaml:"outage_length"`
	RestateDays     *int             `yaml:"restate_days"`
	RestateMeanPct  *float64         `yaml:"restate_mean_pct"`
	RestateSDPct    *float64         `yaml:"restate_sd_pct"`
	WriteFailurePct *float64         `yaml:"write_failure_pct"`
	ThrottlePct     *float64         `yaml:"throttle_pct"`
	MinDailyBudget  *adpacer.Micros  `yaml:"min_daily_budget"`
	MaxBudgetEdits  *int             `yaml:"max_budget_edits_per_day"`
	// DayCapFactor: Yandex 1.3 (single day vs setting), Google 2.0.
	DayCapFactor *float64 `yaml:"day_cap_factor"`
	// MonthCapFactor: Google's monthly charging limit, 30.4 x daily budget.
	MonthCapFactor *float64 `yaml:"month_cap_factor"`
	// OverdeliveryMin/Max: VK's unknown overdelivery factor, drawn uniformly
	// once per run.
	OverdeliveryMin *float64 `yaml:"overdelivery_min"`
	OverdeliveryMax *float64 `yaml:"overdelivery_max"`
	// WorstCaseOverdelivery: on every day with above-average traffic the
	// platform spends its full allowance (S10).
	WorstCaseOverdelivery bool `yaml:"worst_case_overdelivery"`
}

// MarketSpec holds traffic noise and conversion parameters.
type MarketSpec struct {
	TickNoiseSD    *float64         `yaml:"tick_noise_sd"`
	DayNoiseSD     *float64         `yaml:"day_noise_sd"`
	DayNoiseRho    *float64         `yaml:"day_noise_rho"`
	CPCNoiseSD     *float64         `yaml:"cpc_noise_sd"`
	Holidays       []string         `yaml:"holidays"`
	HolidayFactor  *float64         `yaml:"holiday_factor"`
	ConvDelayMed   *pacing.Duration `yaml:"conversion_delay_median"`
	ConvDelayP95   *pacing.Duration `yaml:"conversion_delay_p95"`
	SettleAfterEnd *pacing.Duration `yaml:"settle_after_end"`
}

// RegionSpec is a region with its own zone and demand curve.
type RegionSpec struct {
	Name     string  `yaml:"name"`
	TimeZone string  `yaml:"timezone"`
	Weight   float64 `yaml:"weight"`
	// Peaks are the local hours of the midday and evening humps.
	Peaks []float64 `yaml:"peaks"`
	// EveningRatio is the evening hump's height relative to midday.
	EveningRatio *float64 `yaml:"evening_ratio"`
	// Width of each hump in hours (standard deviation).
	Width *float64 `yaml:"width"`
	// Trough is the night floor relative to the midday peak.
	Trough *float64 `yaml:"trough"`
	// Weekday factors Monday..Sunday (normalised to mean 1).
	Weekday []float64 `yaml:"weekday"`
}

// PeriodSpec is an inclusive date range in the line's zone.
type PeriodSpec struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// LineSpec is a budget line.
type LineSpec struct {
	ID          string          `yaml:"id"`
	Name        string          `yaml:"name"`
	Directorate string          `yaml:"directorate"`
	TimeZone    string          `yaml:"timezone"`
	Period      *PeriodSpec     `yaml:"period"`
	Budget      adpacer.Micros  `yaml:"budget"`
	TargetCPA   *adpacer.Micros `yaml:"target_cpa"`
}

// CampaignSpec is a campaign with its starting settings and market.
type CampaignSpec struct {
	ID              string          `yaml:"id"`
	Line            string          `yaml:"line"`
	Region          string          `yaml:"region"`
	AccountTimeZone string          `yaml:"account_timezone"`
	DailyBudget     adpacer.Micros  `yaml:"daily_budget"`
	Bid             adpacer.Micros  `yaml:"bid"`
	MinBid          *adpacer.Micros `yaml:"min_bid"`
	MaxBid          *adpacer.Micros `yaml:"max_bid"`
	AuctionsPerHour float64         `yaml:"auctions_per_hour"`
	CTR             float64         `yaml:"ctr"`
	PriceMedian     adpacer.Micros  `yaml:"price_median"`
	PriceSigma      float64         `yaml:"price_sigma"`
	CVR             float64         `yaml:"cvr"`
}

// GenerateSpec expands into lines and campaigns deterministically, so a
// 180-campaign month fits in a readable file.
type GenerateSpec struct {
	Seed      uint64         `yaml:"seed"`
	Campaigns int            `yaml:"campaigns"`
	Lines     int            `yaml:"lines"`
	Platforms map[string]int `yaml:"platforms"`
	// Regions to place campaigns in (default: all, by weight; every region
	// gets at least one campaign when there are enough campaigns).
	Regions       []string       `yaml:"regions"`
	Directorates  []string       `yaml:"directorates"`
	LineBudgetMin adpacer.Micros `yaml:"line_budget_min"`
	LineBudgetMax adpacer.Micros `yaml:"line_budget_max"`
	// DemandRatioMin/Max: month demand at the starting bid over the share of
	// the budget (default 1.3..1.8).
	DemandRatioMin float64 `yaml:"demand_ratio_min"`
	DemandRatioMax float64 `yaml:"demand_ratio_max"`
	// GoogleAccountTimeZone: "region" (one account per region, default) or an
	// IANA zone shared by all Google campaigns (S9: Europe/Moscow).
	GoogleAccountTimeZone string `yaml:"google_account_timezone"`
	// InfeasibleTargetLines get a target CPA well below what the budget can
	// buy.
	InfeasibleTargetLines int `yaml:"infeasible_target_lines"`
	// Periods, when given, are assigned to lines round-robin (S1 mixes a
	// 28-day and a 31-day month).
	Periods []PeriodSpec `yaml:"periods"`
}

// ShockSpec is an event of the scenario. Times are YYYY-MM-DD (midnight in
// the scenario zone) or RFC 3339.
type ShockSpec struct {
	// Kind: demand, competitor_price, reporting_outage, reporting_delay,
	// write_outage, restatement, budget_change, budget_move, moderation.
	Kind string `yaml:"kind"`
	From string `yaml:"from"`
	To   string `yaml:"to"`
	// Factor multiplies demand, market prices or a line budget.
	Factor *float64 `yaml:"factor"`
	// Pct is the restatement of cost and clicks, in percent (-2 = -2%).
	Pct *float64 `yaml:"pct"`
	// Delay of reports during a reporting_delay.
	Delay *pacing.Duration `yaml:"delay"`
	// Amount moved by budget_move.
	Amount *adpacer.Micros `yaml:"amount"`
	// ToLine receives a budget_move.
	ToLine    string   `yaml:"to_line"`
	Platform  string   `yaml:"platform"`
	Regions   []string `yaml:"regions"`
	Lines     []string `yaml:"lines"`
	Campaigns []string `yaml:"campaigns"`
}
