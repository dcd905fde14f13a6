package pacing

import (
	"time"

	"github.com/adpacer/adpacer"
)

// SnapshotVersion is the snapshot/plan format version this engine reads and
// writes (docs/plan-format.md).
const SnapshotVersion = 1

// Snapshot is everything the engine needs for one decision: the public,
// versioned input of `adpacer plan` and the value the daemon builds from its
// store each cycle. Amounts are decimal currency units on the wire and exact
// micros in memory.
type Snapshot struct {
	Version   int        `json:"version"`
	Now       time.Time  `json:"now"`
	Policy    *Policy    `json:"policy,omitempty"` // nil: DefaultPolicy()
	Lines     []Line     `json:"lines"`
	Campaigns []Campaign `json:"campaigns"`
	Stats     []Stat     `json:"stats"`
}

// Period is a budget period in the line's zone; both dates are inclusive,
// formatted YYYY-MM-DD.
type Period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Line is a budget line: one monthly (by default) budget shared by campaigns
// of a directorate and city.
type Line struct {
	ID          string          `json:"id"`
	Name        string          `json:"name,omitempty"`
	Directorate string          `json:"directorate,omitempty"`
	Region      string          `json:"region,omitempty"`
	Client      string          `json:"client,omitempty"`
	Owner       string          `json:"owner,omitempty"` // Trello member responsible
	TimeZone    string          `json:"timezone"`
	Period      Period          `json:"period"`
	Budget      adpacer.Micros  `json:"budget"`
	Currency    string          `json:"currency"`
	VATIncluded bool            `json:"vat_included,omitempty"`
	TargetCPA   *adpacer.Micros `json:"target_cpa,omitempty"`
	// MinBid and MaxBid bound the bids of the line's campaigns, together
	// with each campaign's own bounds (the narrower range wins).
	MinBid    *adpacer.Micros      `json:"min_bid,omitempty"`
	MaxBid    *adpacer.Micros      `json:"max_bid,omitempty"`
	Campaigns []adpacer.CampaignID `json:"campaigns"`
	Mode      string               `json:"mode,omitempty"` // observe|dry-run|approve|apply; informative for the engine
}

// Campaign is a campaign's live settings and data freshness.
type Campaign struct {
	ID               adpacer.CampaignID    `json:"id"`
	Platform         adpacer.Platform      `json:"platform"`
	TimeZone         string                `json:"timezone"` // account zone (Google) or campaign zone
	Currency         string                `json:"currency"`
	State            adpacer.CampaignState `json:"state"`
	DailyBudget      *adpacer.Micros       `json:"daily_budget"`
	Bid              *adpacer.Micros       `json:"bid"`
	MinBid           *adpacer.Micros       `json:"min_bid,omitempty"`
	MaxBid           *adpacer.Micros       `json:"max_bid,omitempty"`
	BudgetEditsToday int                   `json:"budget_edits_today,omitempty"`
	DataAsOf         time.Time             `json:"data_as_of"`
	// Optional memory the daemon keeps for the engine (all may be absent):
	// MaxDailyBudgetToday is the highest daily budget set during the current
	// platform day (Google's 2x cap uses it).
	MaxDailyBudgetToday *adpacer.Micros `json:"max_daily_budget_today,omitempty"`
	// LastBidChange and LastBudgetChange drive cooldowns.
	LastBidChange    *time.Time `json:"last_bid_change,omitempty"`
	LastBudgetChange *time.Time `json:"last_budget_change,omitempty"`
	// PausedByEngine marks a paused campaign whose last pause was adpacer's
	// emergency brake; only such campaigns are resumed by the engine. A
	// campaign a person paused stays paused.
	PausedByEngine bool `json:"paused_by_engine,omitempty"`
}

// Stat is cost and performance of a campaign over [start, end), at most a
// day long, hourly preferred.
type Stat struct {
	Campaign    adpacer.CampaignID `json:"campaign"`
	Start       time.Time          `json:"start"`
	End         time.Time          `json:"end"`
	Cost        adpacer.Micros     `json:"cost"`
	Clicks      int64              `json:"clicks"`
	Impressions int64              `json:"impressions"`
	Conversions float64            `json:"conversions"`
}

// Plan is the engine's output and the JSON `adpacer plan` prints.
type Plan struct {
	Version int          `json:"version"`
	Now     time.Time    `json:"now"`
	Actions []Action     `json:"actions"`
	Alerts  []Alert      `json:"alerts"`
	Lines   []LineStatus `json:"lines"`
}

// Action is one change the engine wants.
type Action struct {
	Key      adpacer.ActionKey  `json:"key"`
	Campaign adpacer.CampaignID `json:"campaign"`
	Line     string             `json:"line"`
	Kind     adpacer.ActionKind `json:"kind"`
	Value    *adpacer.Micros    `json:"value"`
	Previous *adpacer.Micros    `json:"previous"`
	Reason   string             `json:"reason"`
	// NeedsApproval is set, on a line in approve mode, when the change is
	// larger than the policy's approval threshold; never on a budget cut
	// the overdelivery invariant needs, nor on a pause.
	NeedsApproval bool `json:"needs_approval,omitempty"`
}

// Alert is a condition a person must see.
type Alert struct {
	Key         string             `json:"key"`
	Severity    adpacer.Severity   `json:"severity"`
	Kind        string             `json:"kind"`
	Line        string             `json:"line,omitempty"`
	Campaign    adpacer.CampaignID `json:"campaign,omitempty"`
	Title       string             `json:"title"`
	Detail      string             `json:"detail"`
	Fingerprint string             `json:"fingerprint"`
}

// Line statuses.
const (
	StatusOnTrack   = "on_track"
	StatusUnder     = "under"
	StatusOver      = "over"
	StatusExhausted = "exhausted"
	StatusHeld      = "held"
)

// LineStatus is the per-line summary of a plan.
type LineStatus struct {
	ID            string         `json:"id"`
	Spent         adpacer.Micros `json:"spent"`
	PlannedToDate adpacer.Micros `json:"planned_to_date"`
	Projected     adpacer.Micros `json:"projected"`
	Remaining     adpacer.Micros `json:"remaining"`
	Status        string         `json:"status"`
}
