// Package adpacer holds the domain vocabulary shared by every part of the
// daemon: campaigns and their live settings, spend statistics, planned
// actions, alerts, and the project-management records pulled from Trello and
// Everhour. It depends on the standard library only, so connectors, the
// store, the pacing engine and the simulator can all speak it without
// importing each other.
package adpacer

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Platform names an ad platform. The string values appear in campaign ids,
// configs, snapshots and metrics labels.
type Platform string

// Supported ad platforms.
const (
	YandexDirect Platform = "yandex_direct"
	GoogleAds    Platform = "google_ads"
	VKAds        Platform = "vk_ads"
)

// Valid reports whether p is a known platform.
func (p Platform) Valid() bool {
	switch p {
	case YandexDirect, GoogleAds, VKAds:
		return true
	}
	return false
}

// PlatformDayZone is the zone in which the platform counts a "day" for its
// daily budget when it does not use the account's zone: Yandex Direct and VK
// Ads count days on Moscow time; Google Ads counts them in the account zone,
// so it returns "" for Google.
func (p Platform) PlatformDayZone() string {
	switch p {
	case YandexDirect, VKAds:
		return "Europe/Moscow"
	}
	return ""
}

// CampaignID identifies a campaign across platforms as "<platform>:<external id>",
// for example "yandex_direct:123" or "google_ads:456".
type CampaignID string

// NewCampaignID joins a platform and the platform's own campaign id.
func NewCampaignID(p Platform, external string) CampaignID {
	return CampaignID(string(p) + ":" + external)
}

// Split returns the platform and the platform's own id.
func (c CampaignID) Split() (Platform, string, error) {
	p, ext, ok := strings.Cut(string(c), ":")
	if !ok || ext == "" {
		return "", "", fmt.Errorf("campaign id %q: want <platform>:<id>, for example yandex_direct:123", string(c))
	}
	if !Platform(p).Valid() {
		return "", "", fmt.Errorf("campaign id %q: unknown platform %q (want yandex_direct, google_ads or vk_ads)", string(c), p)
	}
	return Platform(p), ext, nil
}

// Platform returns the platform part of the id, or "" when malformed.
func (c CampaignID) Platform() Platform {
	p, _, err := c.Split()
	if err != nil {
		return ""
	}
	return p
}

// CampaignState is the serving state adpacer controls.
type CampaignState string

// Campaign states.
const (
	StateOn       CampaignState = "on"
	StatePaused   CampaignState = "paused"   // suspended by adpacer or a person
	StateEnded    CampaignState = "ended"    // finished or archived on the platform
	StateRejected CampaignState = "rejected" // cannot serve: moderation or account problem
)

// Campaign is an ad campaign with its live settings as last read from the
// platform.
type Campaign struct {
	ID          CampaignID
	AccountID   string // platform account (Yandex client login, Google customer id)
	Name        string
	TimeZone    string // IANA zone of the account/campaign
	Currency    string // ISO 4217
	State       CampaignState
	DailyBudget *Micros // nil when the campaign has no daily budget
	Bid         *Micros // campaign-level max CPC, nil when the strategy sets bids
	Strategy    string  // platform strategy name, e.g. HIGHEST_POSITION, MAXIMIZE_CONVERSIONS
	// BudgetEditsToday counts daily-budget edits in the platform's day
	// (Yandex Direct allows 3).
	BudgetEditsToday int
	UpdatedAt        time.Time // when adpacer read these settings
}

// Stat is spend and performance of one campaign over [Start, End). Cost is
// exact micros. Platforms restate past intervals; the store overwrites by
// (Campaign, Start, End).
type Stat struct {
	Campaign    CampaignID
	Start, End  time.Time
	Cost        Micros
	Clicks      int64
	Impressions int64
	Conversions float64 // Google reports fractional conversions
}

// Validate rejects values no platform can report.
func (s Stat) Validate() error {
	switch {
	case s.Campaign == "":
		return errors.New("stat: campaign is empty")
	case !s.End.After(s.Start):
		return fmt.Errorf("stat %s: end %s is not after start %s", s.Campaign, s.End.Format(time.RFC3339), s.Start.Format(time.RFC3339))
	case s.Cost < 0:
		return fmt.Errorf("stat %s at %s: negative cost %s", s.Campaign, s.Start.Format(time.RFC3339), s.Cost)
	case s.Clicks < 0 || s.Impressions < 0 || s.Conversions < 0:
		return fmt.Errorf("stat %s at %s: negative clicks, impressions or conversions", s.Campaign, s.Start.Format(time.RFC3339))
	}
	return nil
}

// SpendSnapshot is the cumulative cost of a campaign's current platform day
// as observed at At (Yandex TODAY reports). Hourly spend is derived from the
// differences of successive snapshots.
type SpendSnapshot struct {
	Campaign CampaignID
	Day      string // platform day, YYYY-MM-DD
	At       time.Time
	Cost     Micros // cumulative for Day up to At
}

// ModerationStatus of an ad.
type ModerationStatus string

// Moderation statuses normalised across platforms.
const (
	ModerationAccepted ModerationStatus = "accepted"
	ModerationPending  ModerationStatus = "pending"
	ModerationRejected ModerationStatus = "rejected"
	ModerationDraft    ModerationStatus = "draft"
)

// AdStatus is the moderation state of one ad.
type AdStatus struct {
	Campaign CampaignID
	AdID     string
	Status   ModerationStatus
	Reason   string // platform's clarification, quoted on alert cards
	At       time.Time
}

// ActionKind is what an action changes.
type ActionKind string

// Action kinds emitted by the pacing engine.
const (
	SetDailyBudget ActionKind = "set_daily_budget"
	SetBid         ActionKind = "set_bid"
	Pause          ActionKind = "pause"
	Resume         ActionKind = "resume"
)

// ActionKey identifies one decided change; it is derived deterministically
// from the campaign, the kind, the pacing window and the target value, so the
// same decision made twice has the same key and the ledger refuses the second.
type ActionKey string

// Action is one change adpacer wants on a platform.
type Action struct {
	Key      ActionKey
	Campaign CampaignID
	Line     string // budget line id
	Kind     ActionKind
	Value    *Micros // target for set_* kinds, nil for pause/resume
	Previous *Micros // value the plan saw
	Reason   string
}

// ActionState is the state of an action in the ledger.
type ActionState string

// Ledger states.
const (
	ActionPlanned  ActionState = "planned"  // decided, recorded, not yet claimed for sending
	ActionClaimed  ActionState = "claimed"  // claimed by the applier; may be in flight
	ActionApplied  ActionState = "applied"  // platform confirmed the change
	ActionNoop     ActionState = "noop"     // platform was already at target
	ActionFailed   ActionState = "failed"   // platform refused; re-planned next cycle
	ActionHeld     ActionState = "held"     // not sent: stale data, approval pending, dry-run
	ActionRejected ActionState = "rejected" // a manager rejected it, or its approval expired
)

// Terminal reports whether no further transition is expected.
func (s ActionState) Terminal() bool {
	switch s {
	case ActionApplied, ActionNoop, ActionFailed, ActionRejected:
		return true
	}
	return false
}

// Severity of an alert.
type Severity string

// Alert severities.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info < warning < critical.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// Alert is something a person must know. Key is stable across cycles for the
// same condition (e.g. "overspend:retail-vladivostok"); Fingerprint changes
// when what the alert says materially changes, so sinks comment only then.
type Alert struct {
	Key         string
	Severity    Severity
	Kind        string
	Line        string
	Campaign    CampaignID
	Owner       string // Trello member (username or id) responsible for the line
	Title       string
	Detail      string
	Fingerprint string
}

// AlertStatus is the lifecycle state of an alert card.
type AlertStatus string

// Alert lifecycle.
const (
	AlertOpen     AlertStatus = "open"
	AlertResolved AlertStatus = "resolved"
	AlertSnoozed  AlertStatus = "snoozed"
)

// AlertState is what the store keeps per alert key.
type AlertState struct {
	Key           string
	CardID        string
	Fingerprint   string
	Severity      Severity
	Status        AlertStatus
	HealthyCycles int
	OpenedAt      time.Time
	UpdatedAt     time.Time // last comment/update sent to the sink
	ResolvedAt    time.Time // zero when open
	LastSeenAt    time.Time
}

// Cursor is a connector's opaque position; connectors encode what they need.
type Cursor struct {
	Value     string
	UpdatedAt time.Time
}

// OAuthToken is an OAuth2 token as persisted by the store, so a rotated
// refresh token survives restarts.
type OAuthToken struct {
	AccessToken  string
	RefreshToken string
	TokenType    string
	Expiry       time.Time
}
