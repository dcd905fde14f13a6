package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as Go duration text ("90s", "15m",
// "2h") in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String prints Go duration text without zero tails: "10m", "1h30m", "25s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalYAML writes Go duration text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML parses Go duration text. Errors are yaml.TypeErrors so the
// decoder keeps going and every problem in the file is reported at once.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a duration such as 90s, 15m or 2h, got a %s", n.Line, kindName(n))}}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: invalid duration %q: write Go duration text such as 90s, 15m or 2h", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// Money is an exact decimal amount in currency units ("1500000", "2500.50"),
// held as adpacer.Micros so no float ever touches it.
type Money adpacer.Micros

// Micros returns the amount.
func (m Money) Micros() adpacer.Micros { return adpacer.Micros(m) }

// microsPtr is an optional amount as the engine takes it: nil stays nil.
func (m *Money) microsPtr() *adpacer.Micros {
	if m == nil {
		return nil
	}
	v := m.Micros()
	return &v
}

// MarshalYAML writes exact decimal text.
func (m Money) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: adpacer.Micros(m).String()}, nil
}

// UnmarshalYAML parses a YAML number or string exactly.
func (m *Money) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want an amount such as 1500000 or 2500.50, got a %s", n.Line, kindName(n))}}
	}
	v, err := adpacer.ParseMicros(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: invalid amount %q: write a plain decimal number with at most 6 decimals and no thousands separators, such as 1500000 or 2500.50", n.Line, n.Value)}}
	}
	*m = Money(v)
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}

// Modes of operation, from least to most authority.
const (
	ModeObserve = "observe" // pull data and plan; never write to platforms
	ModeDryRun  = "dry-run" // plan and record what would be written; no writes
	ModeApprove = "approve" // write only after a human approves on Trello
	ModeApply   = "apply"   // write within policy limits
)

// Config is the whole daemon configuration: one YAML file.
type Config struct {
	// Mode is the global mode; budget lines may lower (never raise) it.
	Mode string `yaml:"mode"`
	// InstanceName appears in logs, alert cards and the leader lock.
	InstanceName    string     `yaml:"instance_name"`
	Store           Store      `yaml:"store"`
	HTTP            HTTP       `yaml:"http"`
	Log             Log        `yaml:"log"`
	ShutdownTimeout Duration   `yaml:"shutdown_timeout"`
	Jobs            Jobs       `yaml:"jobs"`
	Connectors      Connectors `yaml:"connectors"`
	Pacing          Pacing     `yaml:"pacing"`

	// file is the path the config was read from; lines maps a field path
	// ("connectors.trello[0].key_file") to its line, so validation errors
	// can point at the line to fix.
	file  string
	lines map[string]int
}

// File returns the path the configuration was loaded from ("" when built in
// code).
func (c *Config) File() string { return c.file }

// Store selects and configures the persistence backend.
type Store struct {
	Driver         string   `yaml:"driver"` // sqlite | postgres
	SQLite         SQLite   `yaml:"sqlite"`
	Postgres       Postgres `yaml:"postgres"`
	MigrateOnStart bool     `yaml:"migrate_on_start"`
}

// SQLite configures the embedded single-machine store.
type SQLite struct {
	Path string `yaml:"path"`
}

// Postgres configures the shared store for several replicas.
type Postgres struct {
	DSN     Secret `yaml:"dsn,omitempty"`
	DSNFile string `yaml:"dsn_file,omitempty"`
	DSNEnv  string `yaml:"dsn_env,omitempty"`
}

// DSNSource says where the DSN lives.
func (p Postgres) DSNSource() SecretSource { return SecretSource{File: p.DSNFile, Env: p.DSNEnv} }

// HTTP configures the telemetry and status server.
type HTTP struct {
	Listen          string `yaml:"listen"`
	StatusToken     Secret `yaml:"status_token,omitempty"`
	StatusTokenFile string `yaml:"status_token_file,omitempty"`
	StatusTokenEnv  string `yaml:"status_token_env,omitempty"`
}

// StatusTokenSource says where the bearer token for non-probe endpoints lives.
func (h HTTP) StatusTokenSource() SecretSource {
	return SecretSource{File: h.StatusTokenFile, Env: h.StatusTokenEnv}
}

// Log configures the zap logger.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // auto | json | console
}

// Jobs configures the daemon's own scheduled work.
type Jobs struct {
	Pace   Job `yaml:"pace"`
	Apply  Job `yaml:"apply"`
	Alerts Job `yaml:"alerts"`
}

// Job is one scheduled job: a cron spec (5 fields, or a descriptor such as
// @every 15m or @hourly), a run timeout and a deterministic start jitter.
type Job struct {
	Schedule string   `yaml:"schedule"`
	Timeout  Duration `yaml:"timeout"`
	Jitter   Duration `yaml:"jitter"`
}

// Connectors lists the instances of each connector kind. Every instance has
// an id unique across all kinds; the id names the instance in logs, metrics
// and the store. Each instance's Timeout bounds one API request; the daemon
// gives the whole pull job a multiple of it.
type Connectors struct {
	YandexDirect []YandexDirect `yaml:"yandex_direct"`
	GoogleAds    []GoogleAds    `yaml:"google_ads"`
	VKAds        []VKAds        `yaml:"vk_ads"`
	Trello       []Trello       `yaml:"trello"`
	Everhour     []Everhour     `yaml:"everhour"`
}

// OAuth is an OAuth2 client with its refresh token. A connector may instead
// be given only a long-lived access token (Yandex issues year-long tokens).
type OAuth struct {
	ClientID         string `yaml:"client_id,omitempty"`
	ClientSecret     Secret `yaml:"client_secret,omitempty"`
	ClientSecretFile string `yaml:"client_secret_file,omitempty"`
	ClientSecretEnv  string `yaml:"client_secret_env,omitempty"`
	RefreshToken     Secret `yaml:"refresh_token,omitempty"`
	RefreshTokenFile string `yaml:"refresh_token_file,omitempty"`
	RefreshTokenEnv  string `yaml:"refresh_token_env,omitempty"`
	AccessToken      Secret `yaml:"access_token,omitempty"`
	AccessTokenFile  string `yaml:"access_token_file,omitempty"`
	AccessTokenEnv   string `yaml:"access_token_env,omitempty"`
	TokenURL         string `yaml:"token_url,omitempty"`
}

// ClientSecretSource says where the OAuth client secret lives.
func (o OAuth) ClientSecretSource() SecretSource {
	return SecretSource{File: o.ClientSecretFile, Env: o.ClientSecretEnv}
}

// RefreshTokenSource says where the initial refresh token lives (rotated
// tokens are persisted in the store afterwards).
func (o OAuth) RefreshTokenSource() SecretSource {
	return SecretSource{File: o.RefreshTokenFile, Env: o.RefreshTokenEnv}
}

// AccessTokenSource says where a static access token lives.
func (o OAuth) AccessTokenSource() SecretSource {
	return SecretSource{File: o.AccessTokenFile, Env: o.AccessTokenEnv}
}

// YandexDirect is one Yandex Direct advertiser (or agency client) account.
type YandexDirect struct {
	ID               string   `yaml:"id"`
	BaseURL          string   `yaml:"base_url"`
	Sandbox          bool     `yaml:"sandbox"`
	ClientLogin      string   `yaml:"client_login,omitempty"`
	UseOperatorUnits bool     `yaml:"use_operator_units"`
	AcceptLanguage   string   `yaml:"accept_language"`
	OAuth            OAuth    `yaml:"oauth"`
	Schedule         string   `yaml:"schedule"`
	Timeout          Duration `yaml:"timeout"`
	MaxInFlight      int      `yaml:"max_in_flight"`
	Goals            []int64  `yaml:"goals,omitempty"`
	// StallShare: see cycle.AdInstance.StallShare (nil: the default, 0: off).
	StallShare *float64 `yaml:"stall_share,omitempty"`
}

// GoogleAds is one Google Ads customer account.
type GoogleAds struct {
	ID                 string   `yaml:"id"`
	BaseURL            string   `yaml:"base_url"`
	APIVersion         string   `yaml:"api_version"`
	CustomerID         string   `yaml:"customer_id"`
	LoginCustomerID    string   `yaml:"login_customer_id,omitempty"`
	DeveloperToken     Secret   `yaml:"developer_token,omitempty"`
	DeveloperTokenFile string   `yaml:"developer_token_file,omitempty"`
	DeveloperTokenEnv  string   `yaml:"developer_token_env,omitempty"`
	OAuth              OAuth    `yaml:"oauth"`
	AccessLevel        string   `yaml:"access_level"`
	Schedule           string   `yaml:"schedule"`
	Timeout            Duration `yaml:"timeout"`
	StallShare         *float64 `yaml:"stall_share,omitempty"`
}

// DeveloperTokenSource says where the (optional, being sunset) developer
// token lives.
func (g GoogleAds) DeveloperTokenSource() SecretSource {
	return SecretSource{File: g.DeveloperTokenFile, Env: g.DeveloperTokenEnv}
}

// VKAds is one VK Ads account, or one client of an agency account. Tokens
// come from the client credentials grant and are persisted in the store.
type VKAds struct {
	ID               string `yaml:"id"`
	BaseURL          string `yaml:"base_url"`
	ClientID         string `yaml:"client_id"`
	ClientSecret     Secret `yaml:"client_secret,omitempty"`
	ClientSecretFile string `yaml:"client_secret_file,omitempty"`
	ClientSecretEnv  string `yaml:"client_secret_env,omitempty"`
	// AgencyClientName: when the API access belongs to an agency, the
	// client account (its login) whose ad plans this instance paces.
	AgencyClientName string   `yaml:"agency_client_name,omitempty"`
	Schedule         string   `yaml:"schedule"`
	Timeout          Duration `yaml:"timeout"`
	StallShare       *float64 `yaml:"stall_share,omitempty"`
}

// ClientSecretSource says where the VK Ads client secret lives.
func (v VKAds) ClientSecretSource() SecretSource {
	return SecretSource{File: v.ClientSecretFile, Env: v.ClientSecretEnv}
}

// Trello is one Trello member's API access plus the alert board setup.
type Trello struct {
	ID        string        `yaml:"id"`
	BaseURL   string        `yaml:"base_url"`
	Key       Secret        `yaml:"key,omitempty"`
	KeyFile   string        `yaml:"key_file,omitempty"`
	KeyEnv    string        `yaml:"key_env,omitempty"`
	Token     Secret        `yaml:"token,omitempty"`
	TokenFile string        `yaml:"token_file,omitempty"`
	TokenEnv  string        `yaml:"token_env,omitempty"`
	Boards    []string      `yaml:"boards"`
	Schedule  string        `yaml:"schedule"`
	Timeout   Duration      `yaml:"timeout"`
	Alerts    TrelloAlerts  `yaml:"alerts"`
	Webhook   TrelloWebhook `yaml:"webhook"`
}

// KeySource says where the Trello API key lives.
func (t Trello) KeySource() SecretSource { return SecretSource{File: t.KeyFile, Env: t.KeyEnv} }

// TokenSource says where the Trello API token lives.
func (t Trello) TokenSource() SecretSource { return SecretSource{File: t.TokenFile, Env: t.TokenEnv} }

// TrelloAlerts configures alert and approval cards.
type TrelloAlerts struct {
	// Board is the board id alert cards go to; empty disables alert cards
	// for this instance.
	Board                     string            `yaml:"board,omitempty"`
	Lists                     TrelloLists       `yaml:"lists"`
	Labels                    map[string]string `yaml:"labels"` // severity -> label name
	MaxNewCardsPerCycle       int               `yaml:"max_new_cards_per_cycle"`
	ResolveAfterHealthyCycles int               `yaml:"resolve_after_healthy_cycles"`
	CommentInterval           Duration          `yaml:"comment_interval"`
	ReopenWindow              Duration          `yaml:"reopen_window"`
	ApprovalExpiry            Duration          `yaml:"approval_expiry"`
}

// TrelloLists names the lists on the alert board.
type TrelloLists struct {
	Alerts    string `yaml:"alerts"`
	Resolved  string `yaml:"resolved"`
	Approvals string `yaml:"approvals"`
	Approved  string `yaml:"approved"`
	Rejected  string `yaml:"rejected"`
}

// TrelloWebhook configures push notifications from Trello (optional; the
// schedule still polls).
type TrelloWebhook struct {
	Enabled     bool   `yaml:"enabled"`
	Secret      Secret `yaml:"secret,omitempty"`
	SecretFile  string `yaml:"secret_file,omitempty"`
	SecretEnv   string `yaml:"secret_env,omitempty"`
	CallbackURL string `yaml:"callback_url,omitempty"`
}

// SecretSource says where the Trello application secret that signs webhook
// payloads lives.
func (w TrelloWebhook) SecretSource() SecretSource {
	return SecretSource{File: w.SecretFile, Env: w.SecretEnv}
}

// Everhour is one Everhour team.
type Everhour struct {
	ID         string   `yaml:"id"`
	BaseURL    string   `yaml:"base_url"`
	APIKey     Secret   `yaml:"api_key,omitempty"`
	APIKeyFile string   `yaml:"api_key_file,omitempty"`
	APIKeyEnv  string   `yaml:"api_key_env,omitempty"`
	Schedule   string   `yaml:"schedule"`
	Timeout    Duration `yaml:"timeout"`
	// RereadDays: time entries of this many past days are re-read every
	// pull, because people edit yesterday's timesheet.
	RereadDays int `yaml:"reread_days"`
	// MonthlyHours is the default hours the client pays for per project and
	// month; Projects overrides it per project. 0 means "use the budget set in
	// Everhour".
	MonthlyHours float64          `yaml:"monthly_hours,omitempty"`
	Projects     []EverhourBudget `yaml:"projects,omitempty"`
	// ThresholdsPct raise an alert when a project's month-to-date hours
	// cross these percentages of its budget.
	ThresholdsPct []float64 `yaml:"thresholds_pct"`
	// TimeZone is the agency's zone: Everhour records carry its calendar
	// dates, and paid-hours months and "today" are counted in it.
	TimeZone string `yaml:"timezone"`
	// HolidayCalendar names the working-day calendar used to pace hours
	// ("ru" = the Russian production calendar, "none" = Mon-Fri).
	HolidayCalendar string `yaml:"holiday_calendar"`
}

// APIKeySource says where the Everhour API key lives.
func (e Everhour) APIKeySource() SecretSource {
	return SecretSource{File: e.APIKeyFile, Env: e.APIKeyEnv}
}

// EverhourBudget overrides the monthly hours of one project.
type EverhourBudget struct {
	Project      string  `yaml:"project"` // Everhour project id, e.g. "tr:abc123"
	MonthlyHours float64 `yaml:"monthly_hours"`
}

// Pacing configures the engine: policy overrides and the budget lines.
type Pacing struct {
	Policy          PolicyOverrides `yaml:"policy"`
	BudgetLines     []BudgetLine    `yaml:"budget_lines,omitempty"`
	BudgetLinesFile string          `yaml:"budget_lines_file,omitempty"`
}

// PolicyOverrides mirrors pacing.Policy; a field left out keeps the engine
// default (pacing.DefaultPolicy).
type PolicyOverrides struct {
	MaxDataAge           *Duration                     `yaml:"max_data_age,omitempty"`
	ReservePct           *float64                      `yaml:"reserve_pct,omitempty"`
	TolerancePct         *float64                      `yaml:"tolerance_pct,omitempty"`
	MaxBidStepPct        *float64                      `yaml:"max_bid_step_pct,omitempty"`
	BidCooldown          *Duration                     `yaml:"bid_cooldown,omitempty"`
	ApprovalThresholdPct *float64                      `yaml:"approval_threshold_pct,omitempty"`
	CPABreachPct         *float64                      `yaml:"cpa_breach_pct,omitempty"`
	ReportingLag         map[adpacer.Platform]Duration `yaml:"reporting_lag,omitempty"`
	Overdelivery         map[adpacer.Platform]float64  `yaml:"overdelivery,omitempty"`
	MinDailyBudget       map[adpacer.Platform]Money    `yaml:"min_daily_budget,omitempty"`
	// Engine tunables whose zero value means "engine default".
	MaxBudgetStepPct      *float64  `yaml:"max_budget_step_pct,omitempty"`
	BudgetShiftPct        *float64  `yaml:"budget_shift_pct,omitempty"`
	MinConversions        *float64  `yaml:"min_conversions,omitempty"`
	ConversionDelayMedian *Duration `yaml:"conversion_delay_median,omitempty"`
	ConversionDelayP95    *Duration `yaml:"conversion_delay_p95,omitempty"`
}

// BudgetLine is one budget (by default monthly) shared by a set of
// campaigns, e.g. one directorate in one city.
type BudgetLine struct {
	ID          string  `yaml:"id"`
	Name        string  `yaml:"name,omitempty"`
	Directorate string  `yaml:"directorate,omitempty"`
	Region      string  `yaml:"region,omitempty"`
	Client      string  `yaml:"client,omitempty"`
	Owner       string  `yaml:"owner,omitempty"`
	TimeZone    string  `yaml:"timezone"`
	Period      *Period `yaml:"period,omitempty"`
	Budget      Money   `yaml:"budget"`
	Currency    string  `yaml:"currency"`
	VATIncluded bool    `yaml:"vat_included"`
	TargetCPA   *Money  `yaml:"target_cpa,omitempty"`
	// MinBid and MaxBid bound the bids the engine sets for the line's
	// campaigns.
	MinBid    *Money               `yaml:"min_bid,omitempty"`
	MaxBid    *Money               `yaml:"max_bid,omitempty"`
	Campaigns []adpacer.CampaignID `yaml:"campaigns"`
	Mode      string               `yaml:"mode,omitempty"`
}

// Period bounds a budget line; both dates inclusive, YYYY-MM-DD in the
// line's zone. Absent: the current calendar month.
type Period struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}
