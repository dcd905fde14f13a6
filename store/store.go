// Package store is adpacer's persistence contract: everything connectors
// pull, the pacing engine reads, the action ledger that makes platform writes
// exactly-once, alert-card state, OAuth tokens and the audit log.
//
// Two backends implement Store and are proved by one behaviour suite
// (store/storetest): store/sqlite (embedded, the default, one machine) and
// store/postgres (several replicas with leader election). Callers decide on
// errors with errors.Is against ErrNotFound, ErrConflict and ErrInvalid.
//
// Times are stored as integer microseconds since the Unix epoch and come back
// in UTC; money is stored as integer micros.
//
// Hourly stats (one whole UTC hour) are packed per campaign and week into a
// compact block (store/internal/weekblock): restating an hour rewrites its
// slot, and the pacing read of 10,000 campaigns x 35 days reads ~60,000 rows
// instead of 8.4 million. Stats of any other interval (daily reports, zones
// with half-hour offsets) are plain rows. Both come back from Stats.
//
// The action ledger makes platform writes exactly-once:
//
//	PlanAction      -> planned           (duplicate key: ErrConflict)
//	ClaimAction     planned|held -> claimed  (durable before the write is sent)
//	FinishAction    claimed -> applied|noop|failed
//	FinishAction    planned|claimed|held -> held|rejected
//
// The batch forms (PlanActions, ClaimActions, FinishActions) do the same
// for many actions in one transaction, with the audit entries of what they
// record, so a cycle pays one durable commit per step instead of one per
// action and per audit line. ClaimActions is as durable as ClaimAction:
// every claim of the batch is committed before anything of it is sent.
//
// After a crash, PendingActions returns what was planned, claimed or held.
// A claimed action may or may not have reached the platform: the applier
// reads the platform's current value (reconcile before write) and finishes
// it as applied or noop, or sends it again. Every ledger write carries the
// caller's leader epoch and fails with ErrConflict when BumpEpoch has moved
// on, so a paused former leader cannot write (call BumpEpoch when taking
// leadership; on SQLite, once at start).
package store

import (
	"context"
	"time"

	"github.com/adpacer/adpacer"
)

// Store is the persistence contract. Every method is safe for concurrent use.
type Store interface {
	// SaveAdBatch upserts one ad-platform pull and the source's cursor in one
	// transaction: campaigns by id, stats by (campaign, start, end) so a
	// restated interval overwrites, spend snapshots by (campaign, day, at),
	// ad statuses by (campaign, ad id). Negative amounts, stats for a
	// campaign never saved, and a campaign whose currency differs from its
	// budget line's are refused with ErrInvalid naming the field; nothing of
	// a refused batch is written. A batch with stats advances the stats
	// revision (StatsChangesSince) in the same transaction.
	SaveAdBatch(ctx context.Context, source string, b adpacer.AdBatch, cur adpacer.Cursor) error
	// SaveBoardBatch upserts one Trello board pull and the cursor.
	SaveBoardBatch(ctx context.Context, source string, b adpacer.BoardBatch, cur adpacer.Cursor) error
	// SaveTimeBatch upserts one Everhour pull and the cursor, and deletes
	// local time records dated within [b.From, b.To] that the batch lacks.
	SaveTimeBatch(ctx context.Context, source string, b adpacer.TimeBatch, cur adpacer.Cursor) error
	// Cursor returns the source's cursor, the zero value when none.
	Cursor(ctx context.Context, source string) (adpacer.Cursor, error)

	// Campaigns returns every campaign ordered by id.
	Campaigns(ctx context.Context) ([]adpacer.Campaign, error)
	// Stats returns stats overlapping [from, to) ordered by campaign and
	// start; nil ids means every campaign.
	Stats(ctx context.Context, ids []adpacer.CampaignID, from, to time.Time) ([]adpacer.Stat, error)
	// PacingHistory is the engine's bulk read: hourly cost, clicks and
	// conversions per campaign over the whole hours of [from, to) as dense
	// arrays, plus any non-hourly stats. Nil ids means every campaign.
	PacingHistory(ctx context.Context, ids []adpacer.CampaignID, from, to time.Time) (*PacingHistory, error)
	// StatsChangesSince reports the writes of stats committed after
	// revision since, so a reader can keep settled stats in memory and
	// re-read only what a later write reached. Call it before the read it
	// guards: every write it does not report was committed before it
	// returned, so that read sees it.
	StatsChangesSince(ctx context.Context, since int64) (StatsChanges, error)
	// SpendSnapshots returns the intraday snapshots of one platform day
	// (YYYY-MM-DD) ordered by campaign and time; nil ids means all.
	SpendSnapshots(ctx context.Context, ids []adpacer.CampaignID, day string) ([]adpacer.SpendSnapshot, error)
	// AdStatuses returns every ad's moderation status ordered by campaign, ad.
	AdStatuses(ctx context.Context) ([]adpacer.AdStatus, error)

	// Boards, Lists, Labels, Cards and Members return the Trello records;
	// an empty boardID means every board.
	Boards(ctx context.Context) ([]adpacer.Board, error)
	Lists(ctx context.Context, boardID string) ([]adpacer.List, error)
	Labels(ctx context.Context, boardID string) ([]adpacer.Label, error)
	Cards(ctx context.Context, boardID string) ([]adpacer.Card, error)
	Members(ctx context.Context) ([]adpacer.Member, error)

	// TimeRecords returns Everhour records dated within [from, to]
	// (inclusive, YYYY-MM-DD) ordered by date and id.
	TimeRecords(ctx context.Context, from, to string) ([]adpacer.TimeRecord, error)
	EverhourTasks(ctx context.Context) ([]adpacer.EverhourTask, error)
	EverhourProjects(ctx context.Context) ([]adpacer.EverhourProject, error)
	EverhourUsers(ctx context.Context) ([]adpacer.EverhourUser, error)

	// SaveBudgetLines upserts lines by id and replaces each saved line's
	// campaign memberships with the given ones.
	SaveBudgetLines(ctx context.Context, lines []BudgetLine) error
	// BudgetLines returns the lines whose period contains at (in the line's
	// zone) with the memberships effective at at; a zero at returns every
	// line with every membership.
	BudgetLines(ctx context.Context, at time.Time) ([]BudgetLine, error)

	// CurrentEpoch returns the leader epoch; BumpEpoch increments it and
	// returns the new value, fencing every holder of an older epoch.
	CurrentEpoch(ctx context.Context) (int64, error)
	BumpEpoch(ctx context.Context) (int64, error)

	// PlanAction records a decided action in state planned. A key already in
	// the ledger or a stale epoch gives ErrConflict.
	PlanAction(ctx context.Context, a adpacer.Action, epoch int64) error
	// ClaimAction moves a planned or held action to claimed before it is
	// sent. A second claim, a finished action or a stale epoch gives
	// ErrConflict; an unknown key ErrNotFound. The commit is durable
	// (fsynced) before it returns, so a crash never sends twice.
	ClaimAction(ctx context.Context, key adpacer.ActionKey, epoch int64) error
	// FinishAction records the outcome: applied, noop or failed (only from
	// claimed), held or rejected (from planned, claimed or held).
	FinishAction(ctx context.Context, key adpacer.ActionKey, state adpacer.ActionState, before *adpacer.Micros, detail string, epoch int64) error
	// PlanActions records the actions of one decision, each with its audit
	// entry, in one transaction. An item whose key is already in the
	// ledger is skipped with its audit entry (an earlier run of the same
	// window decided it); the keys recorded are returned in input order.
	// An invalid item gives ErrInvalid naming it and a stale epoch
	// ErrConflict; either way nothing is recorded.
	PlanActions(ctx context.Context, items []PlanItem, epoch int64) ([]adpacer.ActionKey, error)
	// ClaimActions claims every planned or held action of keys in one
	// transaction, durable before it returns, and returns the keys it
	// claimed in input order. A key that is not planned or held (another
	// process claimed it, or it is finished) is left alone and absent from
	// the result: a key is claimed once, whatever the batches. An unknown
	// key gives ErrNotFound and a stale epoch ErrConflict; either way
	// nothing is claimed.
	ClaimActions(ctx context.Context, keys []adpacer.ActionKey, epoch int64) ([]adpacer.ActionKey, error)
	// FinishActions records outcomes as FinishAction does, each with its
	// audit entry, in one transaction: one refused transition (ErrConflict,
	// ErrNotFound, ErrInvalid naming the item) records none of them.
	FinishActions(ctx context.Context, items []FinishItem, epoch int64) error
	// Action returns one ledger entry.
	Action(ctx context.Context, key adpacer.ActionKey) (ActionRecord, error)
	// Actions lists ledger entries matching f, newest first.
	Actions(ctx context.Context, f ActionFilter) ([]ActionRecord, error)
	// PendingActions lists planned, claimed and held entries, oldest first,
	// for replay after a crash.
	PendingActions(ctx context.Context) ([]ActionRecord, error)

	// GetAlert returns the state of one alert key (ErrNotFound when none).
	GetAlert(ctx context.Context, key string) (adpacer.AlertState, error)
	PutAlert(ctx context.Context, a adpacer.AlertState) error
	ListAlerts(ctx context.Context) ([]adpacer.AlertState, error)

	// LoadToken returns a persisted OAuth token (ErrNotFound when none).
	LoadToken(ctx context.Context, name string) (adpacer.OAuthToken, error)
	SaveToken(ctx context.Context, name string, t adpacer.OAuthToken) error

	// AppendAudit appends to the audit log (which refuses updates and
	// deletes at the database level) and returns the entry's sequence number.
	AppendAudit(ctx context.Context, e AuditEntry) (int64, error)
	// Audit returns entries at or after since, oldest first, at most limit
	// (0: no limit).
	Audit(ctx context.Context, since time.Time, limit int) ([]AuditEntry, error)

	// Migrate applies every embedded migration not yet applied, one
	// transaction each. MigrationStatus lists all embedded migrations.
	Migrate(ctx context.Context) error
	MigrationStatus(ctx context.Context) ([]MigrationStatus, error)
	Ping(ctx context.Context) error
	Close() error
}

// StatsChanges is what StatsChangesSince reports.
type StatsChanges struct {
	// Revision grows by one with every committed ad batch that saved
	// stats (0 before the first): pass it as since to the next call.
	Revision int64
	// Earliest is the earliest Start among the stats saved after since;
	// zero when none were.
	Earliest time.Time
	// Complete is false when the store cannot tell what changed after
	// since: it keeps only its newest writes, or since is ahead of
	// Revision (a database restored from an older copy). The caller must
	// then take any stat as changed.
	Complete bool
}

// BudgetLine is a budget shared by campaigns (a directorate and city, by
// default monthly), with campaign membership that changes over time.
type BudgetLine struct {
	ID          string
	Name        string
	Directorate string
	Region      string
	Client      string
	Owner       string // Trello member responsible
	TimeZone    string // IANA zone the period is counted in
	PeriodStart string // YYYY-MM-DD, inclusive
	PeriodEnd   string // YYYY-MM-DD, inclusive
	Budget      adpacer.Micros
	Currency    string // ISO 4217
	VATIncluded bool
	TargetCPA   *adpacer.Micros
	Mode        string // observe|dry-run|approve|apply
	Campaigns   []Membership
}

// Membership puts a campaign in a line over [From, To); a zero To is open.
type Membership struct {
	Campaign adpacer.CampaignID
	From     time.Time
	To       time.Time
}

// Effective reports whether the membership covers at.
func (m Membership) Effective(at time.Time) bool {
	return !at.Before(m.From) && (m.To.IsZero() || at.Before(m.To))
}

// ActionRecord is an action as the ledger holds it.
type ActionRecord struct {
	adpacer.Action
	State     adpacer.ActionState
	Before    *adpacer.Micros // platform value read just before the write
	Detail    string          // outcome detail, error text of a failure
	Epoch     int64           // leader epoch of the last transition
	PlannedAt time.Time
	UpdatedAt time.Time
}

// PlanItem is one action for PlanActions.
type PlanItem struct {
	Action adpacer.Action
	// State is planned (the zero value means planned), or held for an
	// action recorded but not to be sent (dry run, awaiting approval).
	State adpacer.ActionState
	// Before and Detail are recorded with a held action.
	Before *adpacer.Micros
	Detail string
	// Audit is appended when the action is recorded (nil: no entry).
	Audit *AuditEntry
}

// FinishItem is one outcome for FinishActions.
type FinishItem struct {
	Key    adpacer.ActionKey
	State  adpacer.ActionState
	Before *adpacer.Micros
	Detail string
	// Audit is appended with the outcome (nil: no entry).
	Audit *AuditEntry
}

// ActionFilter selects ledger entries; zero fields select everything.
type ActionFilter struct {
	States   []adpacer.ActionState
	Campaign adpacer.CampaignID
	Since    time.Time // planned at or after
	Limit    int
}

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	Seq        int64 // assigned by AppendAudit
	At         time.Time
	Actor      string // "engine", "applier", a person
	ActionKey  adpacer.ActionKey
	Campaign   adpacer.CampaignID
	Kind       string
	Before     *adpacer.Micros
	After      *adpacer.Micros
	Outcome    string
	Detail     string
	ApprovedBy string
}

// MigrationStatus is one embedded migration and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}
