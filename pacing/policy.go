package pacing

import (
	"time"

	"github.com/adpacer/adpacer"
)

// Policy holds the tunables of the engine. The zero value is not useful;
// start from DefaultPolicy and override. JSON names are part of the snapshot
// contract (docs/plan-format.md).
type Policy struct {
	// MaxDataAge: a campaign whose data_as_of is older than this is held.
	MaxDataAge Duration `json:"max_data_age"`
	// ReservePct of the line budget is never planned (safety margin for
	// reporting lag and restatements), in percent.
	ReservePct float64 `json:"reserve_pct"`
	// TolerancePct: no budget/bid action when the new value is within this
	// percentage of the current one.
	TolerancePct float64 `json:"tolerance_pct"`
	// MaxBidStepPct caps one bid change, in percent of the current bid.
	MaxBidStepPct float64 `json:"max_bid_step_pct"`
	// BidCooldown is the minimum time between two bid changes of a campaign.
	BidCooldown Duration `json:"bid_cooldown"`
	// ReportingLag per platform: spend not yet visible in stats.
	ReportingLag map[adpacer.Platform]Duration `json:"reporting_lag,omitempty"`
	// Overdelivery per platform: worst-case day spend as a multiple of the
	// daily budget (Google 2.0, Yandex 1.3, VK configurable).
	Overdelivery map[adpacer.Platform]float64 `json:"overdelivery,omitempty"`
	// ApprovalThresholdPct: changes larger than this (percent of the current
	// value) need approval when the line is in approve mode. 0 disables.
	ApprovalThresholdPct float64 `json:"approval_threshold_pct"`
	// MinDailyBudget per currency unit floor a platform accepts (Yandex: 300 RUB).
	MinDailyBudget map[adpacer.Platform]adpacer.Micros `json:"min_daily_budget,omitempty"`
	// CPABreachPct raises a CPA alert when CPA exceeds target by more than this.
	CPABreachPct float64 `json:"cpa_breach_pct"`

	// Optional tunables added with the engine; zero means the default.

	// MaxBudgetStepPct caps one daily-budget change, in percent of the
	// current budget, except when the overdelivery invariant needs a cut.
	MaxBudgetStepPct float64 `json:"max_budget_step_pct,omitempty"`
	// BudgetShiftPct bounds how far a campaign's share of its line may move
	// away from its delivery share toward lower CPA, in percent.
	BudgetShiftPct float64 `json:"budget_shift_pct,omitempty"`
	// MinConversions: CPA-driven bid and share moves need at least this many
	// (delay-corrected) conversions in the CPA window.
	MinConversions float64 `json:"min_conversions,omitempty"`
	// ConversionDelayMedian and ConversionDelayP95 describe the log-normal
	// delay between a click and its reported conversion; recent days'
	// conversions are scaled up by the share not yet reported.
	ConversionDelayMedian Duration `json:"conversion_delay_median,omitempty"`
	ConversionDelayP95    Duration `json:"conversion_delay_p95,omitempty"`
}

// withDefaults fills the optional tunables and any platform missing from
// the per-platform maps from DefaultPolicy.
func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.MaxBudgetStepPct == 0 {
		p.MaxBudgetStepPct = d.MaxBudgetStepPct
	}
	if p.BudgetShiftPct == 0 {
		p.BudgetShiftPct = d.BudgetShiftPct
	}
	if p.MinConversions == 0 {
		p.MinConversions = d.MinConversions
	}
	if p.ConversionDelayMedian == 0 {
		p.ConversionDelayMedian = d.ConversionDelayMedian
	}
	if p.ConversionDelayP95 == 0 {
		p.ConversionDelayP95 = d.ConversionDelayP95
	}
	p.ReportingLag = mergePlatformMap(p.ReportingLag, d.ReportingLag)
	p.Overdelivery = mergePlatformMap(p.Overdelivery, d.Overdelivery)
	p.MinDailyBudget = mergePlatformMap(p.MinDailyBudget, d.MinDailyBudget)
	return p
}

func mergePlatformMap[V any](m, def map[adpacer.Platform]V) map[adpacer.Platform]V {
	out := make(map[adpacer.Platform]V, len(def))
	for k, v := range def {
		out[k] = v
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// DefaultPolicy returns the defaults documented in docs/plan-format.md.
func DefaultPolicy() Policy {
	return Policy{
		MaxDataAge:    Duration(3 * time.Hour),
		ReservePct:    0.15,
		TolerancePct:  5,
		MaxBidStepPct: 20,
		BidCooldown:   Duration(24 * time.Hour), // a bid change needs a day of data before the next
		ReportingLag: map[adpacer.Platform]Duration{
			adpacer.YandexDirect: Duration(time.Hour),
			adpacer.GoogleAds:    Duration(3 * time.Hour),
			adpacer.VKAds:        Duration(time.Hour),
		},
		Overdelivery: map[adpacer.Platform]float64{
			adpacer.YandexDirect: 1.3,
			adpacer.GoogleAds:    2.0,
			adpacer.VKAds:        1.3, // unknown (pacing-notes 2.3); the simulator draws 1.0..1.3
		},
		ApprovalThresholdPct: 50,
		MinDailyBudget: map[adpacer.Platform]adpacer.Micros{
			adpacer.YandexDirect: adpacer.FromUnits(300),
			adpacer.VKAds:        adpacer.FromUnits(300), // budget_limit_day minimum (api-notes, VK Ads)
			// Google refuses a budget below its currency floor; without one
			// here the invariant's deepest cut was a token 0.01 budget, which
			// is refused, so the worst case stayed (a pause is what works).
			adpacer.GoogleAds: adpacer.FromUnits(1),
		},
		CPABreachPct:          20,
		MaxBudgetStepPct:      30,
		BudgetShiftPct:        25,
		MinConversions:        5,
		ConversionDelayMedian: Duration(24 * time.Hour),
		ConversionDelayP95:    Duration(7 * 24 * time.Hour),
	}
}

// Duration is a time.Duration written as Go duration text ("90m") in JSON
// and YAML.
type Duration time.Duration

// MarshalText writes "1h30m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses Go duration text.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
