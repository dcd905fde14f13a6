// Package cycle runs adpacer's control loop: pull from connectors into the
// store, build the engine's snapshot, decide, record decisions in the
// ledger before anything leaves, apply them exactly once, and keep alert
// cards in step with what is firing. Each step is a method the scheduler
// calls as its own job; RunOnce runs them in order (demo, tests).
package cycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/internal/httpx"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
)

// ErrNotLeader: this replica does not hold the leader epoch (never had it,
// or lost it during the run); nothing is recorded or sent.
var ErrNotLeader = errors.New("not the leader: another replica holds the epoch")

// Mode says how far the daemon may act for a budget line.
type Mode string

// Modes, from the most cautious.
const (
	Observe Mode = "observe" // sync and alerts only
	DryRun  Mode = "dry-run" // plan, record and show; no write (Google validates only)
	Approve Mode = "approve" // large changes wait for a Trello approval
	Apply   Mode = "apply"   // write
)

// ParseMode validates a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Observe, DryRun, Approve, Apply:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q: want observe, dry-run, approve or apply", s)
}

// AdInstance is one configured ad-platform account.
type AdInstance struct {
	ID       string // connector instance id from the config
	Platform adpacer.Platform
	Account  string // platform account id as campaigns carry it (AccountID)
	Source   connectors.AdSource
	Actuator pacing.Actuator
	Breaker  *httpx.Breaker // nil: no circuit breaking
	// StallShare: a silent gap in the source's data is a reporting stall
	// when its campaigns spent at least this share of a day's spend in the
	// same hours yesterday (see detectStall); 0 disables the check.
	StallShare float64
}

// BoardInstance is one configured Trello connection.
type BoardInstance struct {
	ID     string
	Source connectors.BoardSource
}

// TimeInstance is one configured Everhour connection.
type TimeInstance struct {
	ID         string
	Source     connectors.TimeSource
	RereadDays int // re-read window for edited/deleted records (default 7)
	// Location is the zone whose calendar dates Everhour records carry (the
	// agency's; nil: Europe/Moscow). The re-read window and the month start
	// are counted in it.
	Location *time.Location
}

// Decision is a manager's verdict on an approval card.
type Decision struct {
	Key      adpacer.ActionKey
	Approved bool // false: rejected or expired
	Expired  bool
	By       string
	At       time.Time
}

// Approver puts large changes up for approval on the board.
type Approver interface {
	Request(ctx context.Context, a adpacer.Action, detail string) error
	Decisions(ctx context.Context) ([]Decision, error)
	Close(ctx context.Context, key adpacer.ActionKey, outcome string) error
}

// Options configure a Runner.
type Options struct {
	Store      store.Store
	Now        func() time.Time
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	// Lines returns the budget lines in force at now.
	Lines  func(now time.Time) ([]pacing.Line, error)
	Policy pacing.Policy
	// Mode is the global mode; LineModes overrides it per line id.
	Mode      Mode
	LineModes map[string]Mode
	Ads       []AdInstance
	Boards    []BoardInstance
	Times     []TimeInstance
	Sink      pacing.AlertSink // nil: alerts are only logged and counted
	Approvals Approver         // nil: approve mode holds large changes without a card
	// Epoch returns the caller's leader epoch; every ledger write is fenced
	// with it.
	Epoch func() int64
	// MinBid and MaxBid bound every bid the engine sets (nil: engine policy).
	MinBid, MaxBid *adpacer.Micros
	// HistoryDays of stats read for the delivery profile (default 35).
	HistoryDays int
	// RestatementDays re-read on every pull (default 3).
	RestatementDays int
	// ConversionDays re-read by the first pull of each UTC day (default
	// twice the policy's p95 conversion delay, at least RestatementDays):
	// the platforms attribute a conversion to its click's day, so a day's
	// conversions keep arriving long after its spend has settled.
	ConversionDays int
	// PendingMaxAge: a planned action not sent within it is superseded and
	// re-planned from fresh data rather than sent late (default 1h).
	PendingMaxAge time.Duration
	// ExtraAlerts adds alerts of other subsystems (paid-hours burn).
	ExtraAlerts func(ctx context.Context, now time.Time) ([]adpacer.Alert, error)
}

// Runner executes the cycle's jobs. Its methods are safe for concurrent
// use; the scheduler runs each job at most once at a time.
type Runner struct {
	opt Options
	log *zap.Logger
	m   *metrics

	// ledger serializes Apply with the step of Pace that supersedes held
	// approvals: the store lets an outcome be recorded from claimed, so
	// without it Pace could reject an approved action Apply has just
	// claimed and is sending. A channel, so waiting honours the context.
	ledger chan struct{}

	// stats holds the pace job's settled stats between cycles.
	stats statsCache

	mu           sync.Mutex
	cardMissing  map[adpacer.ActionKey]bool // held approvals whose card request failed
	lastPlan     pacing.Plan
	lastLines    []pacing.Line
	lastPaceAt   time.Time
	sourceAlerts map[string]adpacer.Alert // by source id: terminal failures
	// lastOrphanSweep is when Apply last read the board's decisions.
	lastOrphanSweep time.Time
	history         map[string][]Point // by line id, for the status page
}

// Point is one line's spend against plan at a pacing cycle.
type Point struct {
	At      time.Time
	Spent   adpacer.Micros
	Planned adpacer.Micros
}

// maxHistory bounds the per-line history; when full, every other point is
// dropped, so memory stays flat however long the daemon runs.
const maxHistory = 2048

// New validates opts.
func New(opts Options) (*Runner, error) {
	var problems []string
	if opts.Store == nil {
		problems = append(problems, "Store is nil")
	}
	if opts.Lines == nil {
		problems = append(problems, "Lines is nil")
	}
	if opts.Epoch == nil {
		problems = append(problems, "Epoch is nil")
	}
	if _, err := ParseMode(string(opts.Mode)); err != nil {
		problems = append(problems, "Mode: "+err.Error())
	}
	for id, m := range opts.LineModes {
		if _, err := ParseMode(string(m)); err != nil {
			problems = append(problems, fmt.Sprintf("LineModes[%s]: %v", id, err))
		}
	}
	seen := map[string]bool{}
	for i, a := range opts.Ads {
		if a.ID == "" || a.Source == nil || a.Actuator == nil || !a.Platform.Valid() {
			problems = append(problems, fmt.Sprintf("Ads[%d]: id, platform, source and actuator are required", i))
		}
		if seen[a.ID] {
			problems = append(problems, fmt.Sprintf("Ads[%d]: duplicate id %q", i, a.ID))
		}
		seen[a.ID] = true
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cycle: %s", strings.Join(problems, "; "))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.HistoryDays == 0 {
		opts.HistoryDays = 35
	}
	if opts.RestatementDays == 0 {
		opts.RestatementDays = 3
	}
	if opts.ConversionDays == 0 {
		p95 := time.Duration(opts.Policy.ConversionDelayP95)
		if p95 <= 0 {
			p95 = time.Duration(pacing.DefaultPolicy().ConversionDelayP95)
		}
		opts.ConversionDays = int((2*p95 + 24*time.Hour - 1) / (24 * time.Hour))
	}
	opts.ConversionDays = max(opts.ConversionDays, opts.RestatementDays)
	if opts.PendingMaxAge == 0 {
		opts.PendingMaxAge = time.Hour
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Runner{opt: opts, log: opts.Logger, m: m, ledger: make(chan struct{}, 1), cardMissing: map[adpacer.ActionKey]bool{},
		sourceAlerts: map[string]adpacer.Alert{}, history: map[string][]Point{}}, nil
}

// lockLedger takes the ledger lock or gives up with ctx.
func (r *Runner) lockLedger(ctx context.Context) error {
	select {
	case r.ledger <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runner) unlockLedger() { <-r.ledger }

func (r *Runner) modeOf(line string) Mode {
	if m, ok := r.opt.LineModes[line]; ok {
		return m
	}
	return r.opt.Mode
}

// PullAds pulls one ad-platform instance and stores the batch with its
// cursor in one transaction.
func (r *Runner) PullAds(ctx context.Context, id string) error {
	inst, ok := r.adInstance(id)
	if !ok {
		return fmt.Errorf("pull %s: no such ad connector instance", id)
	}
	now := r.opt.Now()
	cur, err := r.opt.Store.Cursor(ctx, id)
	if err != nil {
		return fmt.Errorf("pull %s: read cursor: %w", id, err)
	}
	from := now.UTC().AddDate(0, 0, -r.opt.HistoryDays)
	if last, err := time.Parse(time.DateOnly, cur.Value); err == nil {
		back := r.opt.RestatementDays
		if last.Before(now.UTC().Truncate(24 * time.Hour)) {
			// The first pull of a day also re-reads the conversion window:
			// without it the conversions arriving after RestatementDays
			// were never stored (12% of them in the demo) and the engine
			// read every CPA that much too high.
			back = r.opt.ConversionDays
		}
		if f := last.AddDate(0, 0, -back); f.After(from) {
			from = f
		}
	}
	if inst.Breaker != nil {
		if err := inst.Breaker.Allow(); err != nil {
			r.m.sourcePulls.WithLabelValues(id, "skipped").Inc()
			return fmt.Errorf("pull %s: %w", id, err)
		}
	}
	batch, err := inst.Source.Pull(ctx, connectors.AdPullRequest{Now: now, StatsFrom: from.Format(time.DateOnly)})
	if inst.Breaker != nil {
		inst.Breaker.Record(err)
	}
	if err != nil {
		r.m.sourcePulls.WithLabelValues(id, "error").Inc()
		if adpacer.IsTerminal(err) {
			r.setSourceAlert(id, adpacer.Alert{
				Key: "source_failed:" + id, Severity: adpacer.SeverityCritical, Kind: "source_failed",
				Title:  fmt.Sprintf("%s connector %s stopped: it needs a person", inst.Platform, id),
				Detail: fmt.Sprintf("Pulling from %s failed with an error that retrying cannot fix:\n\n%v\n\nPacing of its campaigns is held until it works again. What to do: fix the credential or permission named above and restart adpacer.", id, err),
			})
		}
		return fmt.Errorf("pull %s: %w", id, err)
	}
	r.clearSourceAlert(id)
	if err := r.opt.Store.SaveAdBatch(ctx, id, batch, adpacer.Cursor{Value: now.UTC().Format(time.DateOnly), UpdatedAt: now}); err != nil {
		r.m.sourcePulls.WithLabelValues(id, "error").Inc()
		return fmt.Errorf("pull %s: store batch: %w", id, err)
	}
	r.m.sourcePulls.WithLabelValues(id, "success").Inc()
	r.m.sourceSuccess.WithLabelValues(id).Set(float64(now.Unix()))
	return nil
}

// PullBoards pulls one Trello instance.
func (r *Runner) PullBoards(ctx context.Context, id string) error {
	for _, b := range r.opt.Boards {
		if b.ID != id {
			continue
		}
		now := r.opt.Now()
		batches, err := b.Source.PullBoards(ctx)
		if err != nil {
			r.m.sourcePulls.WithLabelValues(id, "error").Inc()
			return fmt.Errorf("pull %s: %w", id, err)
		}
		for _, bb := range batches {
			if err := r.opt.Store.SaveBoardBatch(ctx, id, bb, adpacer.Cursor{Value: now.UTC().Format(time.RFC3339), UpdatedAt: now}); err != nil {
				r.m.sourcePulls.WithLabelValues(id, "error").Inc()
				// The source advanced its cursors when it returned the
				// batches; the changes they held are not stored, and an
				// incremental pull would not read them again until its next
				// full pull (up to a day). Forgetting makes the next pull
				// full. Batches stored before this one are in the store
				// already; reading them again is an idempotent upsert.
				if f, ok := b.Source.(cursorForgetter); ok {
					f.ForgetCursors()
				}
				return fmt.Errorf("pull %s: store board %s: %w", id, bb.Board.ID, err)
			}
		}
		r.m.sourcePulls.WithLabelValues(id, "success").Inc()
		r.m.sourceSuccess.WithLabelValues(id).Set(float64(now.Unix()))
		return nil
	}
	return fmt.Errorf("pull %s: no such trello instance", id)
}

// cursorForgetter is a board source with incremental cursors kept in
// memory (trello.BoardSync): the cycle resets them when the batches they
// produced could not be stored.
type cursorForgetter interface{ ForgetCursors() }

// PullTime pulls one Everhour instance over its re-read window, so edited
// and deleted records are reconciled.
func (r *Runner) PullTime(ctx context.Context, id string) error {
	for _, t := range r.opt.Times {
		if t.ID != id {
			continue
		}
		now := r.opt.Now()
		days := t.RereadDays
		if days <= 0 {
			days = 7
		}
		// Everhour dates are calendar dates in the agency's zone: today
		// and the past `days` days there. The window always reaches back
		// to the start of that month, so the month's hours report is
		// complete after any pull.
		from, to := everhour.ReReadWindow(now, timeLocation(t.Location), days+1)
		if ms := to[:len("2006-01-")] + "01"; ms < from {
			from = ms
		}
		batch, err := t.Source.PullTime(ctx, from, to)
		if err != nil {
			r.m.sourcePulls.WithLabelValues(id, "error").Inc()
			return fmt.Errorf("pull %s: %w", id, err)
		}
		if err := r.opt.Store.SaveTimeBatch(ctx, id, batch, adpacer.Cursor{Value: batch.To, UpdatedAt: now}); err != nil {
			r.m.sourcePulls.WithLabelValues(id, "error").Inc()
			return fmt.Errorf("pull %s: store: %w", id, err)
		}
		r.m.sourcePulls.WithLabelValues(id, "success").Inc()
		r.m.sourceSuccess.WithLabelValues(id).Set(float64(now.Unix()))
		return nil
	}
	return fmt.Errorf("pull %s: no such everhour instance", id)
}

// timeLocation is loc, or Europe/Moscow (the agency's zone) when nil.
func timeLocation(loc *time.Location) *time.Location {
	if loc != nil {
		return loc
	}
	if msk, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return msk
	}
	// No tzdata on the host: Moscow has been UTC+3 without DST since 2014.
	return time.FixedZone("MSK", 3*3600)
}

func (r *Runner) adInstance(id string) (AdInstance, bool) {
	for _, a := range r.opt.Ads {
		if a.ID == id {
			return a, true
		}
	}
	return AdInstance{}, false
}

// route finds the instance that owns a campaign: the only instance of its
// platform, or the one whose account matches.
func (r *Runner) route(c adpacer.Campaign) (AdInstance, bool) {
	var match []AdInstance
	p := c.ID.Platform()
	for _, a := range r.opt.Ads {
		if a.Platform != p {
			continue
		}
		if a.Account != "" && c.AccountID != "" && a.Account == c.AccountID {
			return a, true
		}
		match = append(match, a)
	}
	if len(match) == 1 {
		return match[0], true
	}
	return AdInstance{}, false
}

func (r *Runner) setSourceAlert(id string, a adpacer.Alert) {
	a.Fingerprint = fingerprint(a.Key, a.Severity, a.Detail)
	r.mu.Lock()
	r.sourceAlerts[id] = a
	r.mu.Unlock()
}

func (r *Runner) clearSourceAlert(id string) {
	r.mu.Lock()
	delete(r.sourceAlerts, id)
	r.mu.Unlock()
}

// Pace builds the snapshot from the store, runs the engine and records its
// decisions according to each line's mode. Nothing leaves the process here
// except Google validateOnly calls in dry-run.
func (r *Runner) Pace(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			r.m.cycles.WithLabelValues("error").Inc()
		}
	}()
	now := r.opt.Now()
	lines, err := r.opt.Lines(now)
	if err != nil {
		return fmt.Errorf("pace: budget lines: %w", err)
	}
	camps, err := r.opt.Store.Campaigns(ctx)
	if err != nil {
		return fmt.Errorf("pace: campaigns: %w", err)
	}
	ids := memberIDs(lines)
	from := now.AddDate(0, 0, -r.opt.HistoryDays)
	for _, l := range lines {
		if ps, err := time.Parse(time.DateOnly, l.Period.Start); err == nil && ps.Add(-14*time.Hour).Before(from) {
			from = ps.Add(-14 * time.Hour) // earliest zone offset east of UTC is +14
		}
	}
	stats, err := r.stats.read(ctx, r.opt.Store, ids, from, now, r.settledFrontier(now))
	if err != nil {
		return fmt.Errorf("pace: stats: %w", err)
	}
	intraday, err := r.intraday(ctx, now, camps, ids, stats)
	if err != nil {
		return err
	}
	// Memory comes from the audit log: two days cover today's edits and the
	// cooldowns; when a campaign is paused, the whole history window is read
	// so an engine pause of last week is still known as the engine's.
	since := now.Add(-48 * time.Hour)
	for _, c := range camps {
		if c.State == adpacer.StatePaused {
			since = now.AddDate(0, 0, -r.opt.HistoryDays)
			break
		}
	}
	audit, err := r.opt.Store.Audit(ctx, since, 0)
	if err != nil {
		return fmt.Errorf("pace: audit: %w", err)
	}
	var changes []AppliedChange
	for _, e := range audit {
		// A budget action found already in place (noop) is nearly always
		// the replay of our own write that landed before a crash or a
		// hand-over recorded it: the platform counted that edit.
		if e.Outcome == string(adpacer.ActionApplied) ||
			(e.Outcome == string(adpacer.ActionNoop) && e.Kind == string(adpacer.SetDailyBudget)) {
			changes = append(changes, AppliedChange{Campaign: e.Campaign, Kind: adpacer.ActionKind(e.Kind), Value: e.After, At: e.At})
		}
	}
	// A claimed budget action may already be on the platform (its sender
	// crashed or was fenced out mid-write) until its replay records the
	// outcome; counting it keeps Yandex's edit rules (one raise a day)
	// across the hand-over instead of deciding a second raise.
	pending, err := r.opt.Store.PendingActions(ctx)
	if err != nil {
		return fmt.Errorf("pace: pending actions: %w", err)
	}
	for _, p := range pending {
		if p.State == adpacer.ActionClaimed && p.Kind == adpacer.SetDailyBudget {
			changes = append(changes, AppliedChange{Campaign: p.Campaign, Kind: p.Kind, Value: p.Value, At: p.UpdatedAt})
		}
	}
	asOf, stalls, err := r.freshness(ctx, now, camps, ids, stats, intraday)
	if err != nil {
		return err
	}
	pol := r.opt.Policy
	complete, missing := r.splitMissing(ctx, lines, camps)
	snap := BuildSnapshot(SnapshotInput{
		Now: now, Policy: &pol, Lines: complete, Campaigns: camps, Stats: stats, Intraday: intraday,
		Memory: BuildMemory(now, camps, changes), MinBid: r.opt.MinBid, MaxBid: r.opt.MaxBid, DataAsOf: asOf,
	})
	plan, err := pacing.Decide(snap)
	if err != nil {
		return fmt.Errorf("pace: engine: %w", err)
	}
	plan.Alerts = r.collapseStale(plan.Alerts, camps, stalls)
	for _, m := range missing {
		for _, l := range m.lines {
			plan.Lines = append(plan.Lines, pacing.LineStatus{ID: l, Status: pacing.StatusHeld})
		}
		plan.Alerts = append(plan.Alerts, m.alert())
	}
	if err := r.record(ctx, now, plan, camps); err != nil {
		return err
	}
	r.mu.Lock()
	r.lastPlan, r.lastLines, r.lastPaceAt = plan, lines, now
	for _, ls := range plan.Lines {
		h := append(r.history[ls.ID], Point{At: now, Spent: ls.Spent, Planned: ls.PlannedToDate})
		if len(h) > maxHistory {
			thin := h[:0]
			for i := range h {
				if i%2 == 1 || i == len(h)-1 {
					thin = append(thin, h[i])
				}
			}
			h = thin
		}
		r.history[ls.ID] = h
	}
	r.mu.Unlock()
	held := 0
	for _, c := range snap.Campaigns {
		if now.Sub(c.DataAsOf) > time.Duration(pol.MaxDataAge) {
			held++
		}
	}
	r.exportPlan(plan, lines, held)
	result := "success"
	for _, ls := range plan.Lines {
		if ls.Status == pacing.StatusHeld {
			result = "held"
		}
	}
	r.m.cycles.WithLabelValues(result).Inc()
	r.m.lastSuccess.Set(float64(now.Unix()))
	return nil
}

func memberIDs(lines []pacing.Line) []adpacer.CampaignID {
	seen := map[adpacer.CampaignID]bool{}
	var ids []adpacer.CampaignID
	for _, l := range lines {
		for _, id := range l.Campaigns {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// intraday derives today's interval stats from cumulative spend snapshots
// for platform days the reported stats do not cover yet.
func (r *Runner) intraday(ctx context.Context, now time.Time, camps []adpacer.Campaign, ids []adpacer.CampaignID, stats []adpacer.Stat) ([]adpacer.Stat, error) {
	zone := campaignZones(camps)
	z := zones{}
	// earliest is the first instant of any platform day read below: only
	// stats ending after it can cover one of those days.
	snaps, earliest, err := r.daySnapshots(ctx, now, z, zone, ids, 0)
	if err != nil {
		return nil, err
	}
	if len(snaps) == 0 {
		return nil, nil
	}
	// A snapshot's day is a date read in another campaign's zone, so in
	// this campaign's zone it can begin up to 26 hours (UTC-12 to UTC+14)
	// before earliest: stats ending two days before earliest cannot cover
	// any of them, and a month of hourly stats need not be indexed to
	// answer for today.
	horizon := earliest.Add(-48 * time.Hour)
	covered := map[adpacer.CampaignID][]adpacer.Stat{}
	for _, s := range stats {
		if s.End.After(horizon) {
			covered[s.Campaign] = append(covered[s.Campaign], s)
		}
	}
	dayStart := dayStartOf(z, func(id adpacer.CampaignID) string { return zone[id] })
	isCovered := func(id adpacer.CampaignID, start time.Time) bool {
		end := start.AddDate(0, 0, 1)
		for _, s := range covered[id] {
			if s.Start.Before(end) && s.End.After(start) {
				return true
			}
		}
		return false
	}
	return DeriveIntraday(snaps, dayStart, isCovered), nil
}

// freshness is each campaign's data age: the last successful pull of the
// instance that owns it, an open breaker making it stale at once; and when
// the source's reports stopped advancing although it answers (detectStall),
// the frontier of its data plus the platform's usual lag. It returns the
// stalled sources' verdicts for the stale-data card.
func (r *Runner) freshness(ctx context.Context, now time.Time, camps []adpacer.Campaign, ids []adpacer.CampaignID, stats, intraday []adpacer.Stat) (map[adpacer.CampaignID]time.Time, map[string]stallVerdict, error) {
	asOf := map[adpacer.CampaignID]time.Time{}
	pulled := map[string]time.Time{}
	for _, a := range r.opt.Ads {
		cur, err := r.opt.Store.Cursor(ctx, a.ID)
		if err != nil {
			continue
		}
		t := cur.UpdatedAt
		if a.Breaker != nil && a.Breaker.State() == httpx.Open {
			t = time.Unix(0, 0).UTC()
		}
		pulled[a.ID] = t
	}
	bySource := map[string][]adpacer.Campaign{}
	for _, c := range camps {
		if inst, ok := r.route(c); ok {
			bySource[inst.ID] = append(bySource[inst.ID], c)
		}
	}
	// Yesterday's intervals are read once, and only if a frontier is late.
	var earlier []adpacer.Stat
	var earlierErr error
	read := false
	yesterday := func() ([]adpacer.Stat, error) {
		if !read {
			earlier, earlierErr = r.yesterdayIntervals(ctx, now, camps, ids)
			read = true
		}
		return earlier, earlierErr
	}
	z := zones{}
	stalls := map[string]stallVerdict{}
	for _, a := range r.opt.Ads {
		src := bySource[a.ID]
		t := pulled[a.ID]
		if a.StallShare > 0 && len(src) > 0 && !t.IsZero() {
			in := stallCheck{now: now, maxAge: time.Duration(r.opt.Policy.MaxDataAge), lag: time.Duration(r.opt.Policy.ReportingLag[a.Platform]),
				share: a.StallShare, camps: src, dayStart: map[adpacer.CampaignID]time.Time{},
				rows: [][]adpacer.Stat{stats, intraday}, earlier: yesterday}
			for _, c := range src {
				in.dayStart[c.ID] = platformDayStart(z, c.ID.Platform(), c.TimeZone, now)
			}
			v, err := detectStall(in)
			if err != nil {
				return nil, nil, err
			}
			if v.stalled {
				stalls[a.ID] = v
				if f := v.frontier.Add(in.lag); f.Before(t) {
					t = f
				}
			}
		}
		if !t.IsZero() {
			r.m.sourceAge.WithLabelValues(a.ID).Set(now.Sub(t).Seconds())
		}
		for _, c := range src {
			asOf[c.ID] = t
		}
	}
	return asOf, stalls, nil
}

// yesterdayIntervals are the intervals between the TODAY totals of each
// campaign's previous platform day: a closed-day row has replaced them in
// the engine's input, but they tell in which hours yesterday's spend fell.
func (r *Runner) yesterdayIntervals(ctx context.Context, now time.Time, camps []adpacer.Campaign, ids []adpacer.CampaignID) ([]adpacer.Stat, error) {
	zone := campaignZones(camps)
	z := zones{}
	snaps, _, err := r.daySnapshots(ctx, now, z, zone, ids, 1)
	if err != nil {
		return nil, err
	}
	dayStart := dayStartOf(z, func(id adpacer.CampaignID) string { return zone[id] })
	return DeriveIntraday(snaps, dayStart, func(adpacer.CampaignID, time.Time) bool { return false }), nil
}

// campaignZones maps each campaign to its account zone.
func campaignZones(camps []adpacer.Campaign) map[adpacer.CampaignID]string {
	zone := make(map[adpacer.CampaignID]string, len(camps))
	for _, c := range camps {
		zone[c.ID] = c.TimeZone
	}
	return zone
}

// daySnapshots reads the TODAY snapshots of ids for each campaign's
// platform day back days before the one containing now (0: today), and
// earliest, the first instant of those days. A snapshot taken after now
// was saved by another replica (or a pull) while this one was paused
// between reading the clock and the store; the cycle decides as of now
// and leaves it to the next one.
func (r *Runner) daySnapshots(ctx context.Context, now time.Time, z zones, zone map[adpacer.CampaignID]string, ids []adpacer.CampaignID, back int) ([]adpacer.SpendSnapshot, time.Time, error) {
	days := map[string]bool{}
	var earliest time.Time
	for _, id := range ids {
		start := platformDayStart(z, id.Platform(), zone[id], now).AddDate(0, 0, -back)
		days[start.Format(time.DateOnly)] = true
		if earliest.IsZero() || start.Before(earliest) {
			earliest = start
		}
	}
	var snaps []adpacer.SpendSnapshot
	for d := range days {
		s, err := r.opt.Store.SpendSnapshots(ctx, ids, d)
		if err != nil {
			return nil, earliest, fmt.Errorf("pace: spend snapshots %s: %w", d, err)
		}
		for _, sn := range s {
			if !sn.At.After(now) {
				snaps = append(snaps, sn)
			}
		}
	}
	return snaps, earliest, nil
}

// collapseStale replaces the engine's per-campaign stale-data alerts with one
// alert per source, so an outage is one card that says why; a source whose
// reports stalled (stalls) gets that reason and its own fix.
func (r *Runner) collapseStale(alerts []pacing.Alert, camps []adpacer.Campaign, stalls map[string]stallVerdict) []pacing.Alert {
	byID := map[adpacer.CampaignID]adpacer.Campaign{}
	for _, c := range camps {
		byID[c.ID] = c
	}
	type group struct {
		lines map[string]bool
		camps []string
	}
	groups := map[string]*group{}
	var out []pacing.Alert
	for _, a := range alerts {
		if a.Kind != "stale_data" {
			out = append(out, a)
			continue
		}
		src := "unknown source"
		if c, ok := byID[a.Campaign]; ok {
			if inst, ok := r.route(c); ok {
				src = inst.ID
			}
		} else if a.Campaign != "" {
			src = string(a.Campaign.Platform())
		}
		g := groups[src]
		if g == nil {
			g = &group{lines: map[string]bool{}}
			groups[src] = g
		}
		if a.Line != "" {
			g.lines[a.Line] = true
		}
		if a.Campaign != "" {
			g.camps = append(g.camps, string(a.Campaign))
		}
	}
	srcs := make([]string, 0, len(groups))
	for s := range groups {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	for _, s := range srcs {
		g := groups[s]
		ls := make([]string, 0, len(g.lines))
		for l := range g.lines {
			ls = append(ls, l)
		}
		sort.Strings(ls)
		sort.Strings(g.camps)
		why := fmt.Sprintf("Data from %s is older than the policy allows (%s)", s, time.Duration(r.opt.Policy.MaxDataAge))
		fix := "What to do: check the connector's errors in the logs and the source freshness panel; pacing resumes by itself when fresh data arrives."
		if v, ok := stalls[s]; ok {
			why = fmt.Sprintf("%s answers, but its reports stopped advancing: the newest spend on record ends at %s UTC, while the same campaigns spent %s in those hours yesterday (%.0f%% of a day). Pacing on it would mean guessing the spend since then",
				s, v.frontier.UTC().Format("2006-01-02 15:04"), adpacer.Micros(v.expected), 100*float64(v.expected)/float64(max(v.day, 1)))
			fix = "What to do: check the platform's statistics in its own interface and its status page; if the campaigns are really not serving (stopped by moderation or the account), fix that there. Pacing resumes by itself when the reports move again."
		}
		detail := fmt.Sprintf("%s, so adpacer holds every change to its campaigns rather than pace on old spend.\n\nHeld lines: %s\nHeld campaigns (%d): %s\n\n%s",
			why, strings.Join(ls, ", "), len(g.camps), truncateList(g.camps, 20), fix)
		a := pacing.Alert{Key: "stale:" + s, Severity: adpacer.SeverityCritical, Kind: "stale_data",
			Title:  fmt.Sprintf("Pacing held: data from %s is stale", s),
			Detail: detail}
		a.Fingerprint = fingerprint(a.Key, a.Severity, strings.Join(ls, ","))
		out = append(out, a)
	}
	return out
}

// missingGroup is the line campaigns absent from the store, per source.
type missingGroup struct {
	source    string // connector instance id, or the platform when none owns it
	pulled    bool   // the source has completed a pull: the campaign is not on it
	lines     []string
	campaigns []string
}

func (m missingGroup) alert() pacing.Alert {
	sev, title := adpacer.SeverityCritical, fmt.Sprintf("Pacing held: %d campaign(s) of the budget lines are unknown to %s", len(m.campaigns), m.source)
	why := fmt.Sprintf("%s has been pulled, and it did not list these campaigns", m.source)
	fix := "What to do: correct each campaign id in pacing.budget_lines (platform:id as the platform shows it), or remove it from its line, or give the connector access to its account; then restart adpacer (or wait for the next pull if access was the problem)."
	if !m.pulled {
		sev, title = adpacer.SeverityWarning, fmt.Sprintf("Pacing held: waiting for the first pull of %s", m.source)
		why = fmt.Sprintf("%s has not completed a pull yet, so adpacer knows nothing of these campaigns", m.source)
		fix = "What to do: usually nothing: the lines are paced after the connector's first successful pull. If this card stays open, check the connector's errors in the logs; if a campaign id is wrong, correct it in pacing.budget_lines."
	}
	detail := fmt.Sprintf("%s. A line's budget is shared by its campaigns, and spend adpacer cannot see would be overspent, so every change to these lines is held (their other campaigns too).\n\nHeld lines: %s\nUnknown campaigns (%d): %s\n\n%s",
		why, strings.Join(m.lines, ", "), len(m.campaigns), truncateList(m.campaigns, 20), fix)
	a := pacing.Alert{Key: "campaign_missing:" + m.source, Severity: sev, Kind: "campaign_missing", Title: title, Detail: detail}
	if len(m.lines) == 1 {
		a.Line = m.lines[0]
	}
	a.Fingerprint = fingerprint(a.Key, a.Severity, strings.Join(m.lines, ",")+"|"+strings.Join(m.campaigns, ","))
	return a
}

// splitMissing separates the lines whose every campaign is in the store
// from those with a campaign the store has never seen (its connector has
// not pulled yet, or the id is wrong). The engine refuses a snapshot that
// names an unknown campaign, and one such campaign must not stop the pacing
// of every other line; nor may its line be paced without it, since its
// spend counts against the shared budget. So those lines are held whole,
// with one alert per source that names the campaigns and the fix.
func (r *Runner) splitMissing(ctx context.Context, lines []pacing.Line, camps []adpacer.Campaign) ([]pacing.Line, []missingGroup) {
	known := make(map[adpacer.CampaignID]bool, len(camps))
	for _, c := range camps {
		known[c.ID] = true
	}
	complete := lines[:0:0]
	groups := map[string]*missingGroup{}
	for _, l := range lines {
		held := false
		for _, id := range l.Campaigns {
			if known[id] {
				continue
			}
			src, pulled := string(id.Platform()), false
			if inst, ok := r.route(adpacer.Campaign{ID: id}); ok {
				src = inst.ID
				if cur, err := r.opt.Store.Cursor(ctx, inst.ID); err == nil && !cur.UpdatedAt.IsZero() {
					pulled = true
				}
			}
			g := groups[src]
			if g == nil {
				g = &missingGroup{source: src, pulled: pulled}
				groups[src] = g
			}
			if n := len(g.lines); n == 0 || g.lines[n-1] != l.ID {
				g.lines = append(g.lines, l.ID)
			}
			held = true
			g.campaigns = append(g.campaigns, string(id))
		}
		if !held {
			complete = append(complete, l)
		}
	}
	out := make([]missingGroup, 0, len(groups))
	for _, g := range groups {
		sort.Strings(g.lines)
		sort.Strings(g.campaigns)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].source < out[j].source })
	return complete, out
}

func truncateList(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

// record writes the plan's actions to the ledger per mode, with their
// audit entries, in one transaction. The ledger key makes recording
// idempotent: an action decided in an earlier run of the same window is
// not recorded twice (nor audited twice).
func (r *Runner) record(ctx context.Context, now time.Time, plan pacing.Plan, camps []adpacer.Campaign) error {
	epoch := r.opt.Epoch()
	if epoch == 0 && len(plan.Actions) > 0 {
		return ErrNotLeader
	}
	byID := map[adpacer.CampaignID]adpacer.Campaign{}
	for _, c := range camps {
		byID[c.ID] = c
	}
	items := make([]store.PlanItem, 0, len(plan.Actions))
	for _, pa := range plan.Actions {
		a := adpacer.Action{Key: pa.Key, Campaign: pa.Campaign, Line: pa.Line, Kind: pa.Kind, Value: pa.Value, Previous: pa.Previous, Reason: pa.Reason}
		mode := r.modeOf(pa.Line)
		if mode == Observe {
			r.m.actions.WithLabelValues(string(a.Kind), "observed").Inc()
			continue
		}
		it := store.PlanItem{Action: a, Audit: &store.AuditEntry{At: now, Actor: "engine", ActionKey: a.Key, Campaign: a.Campaign,
			Kind: string(a.Kind), Before: a.Previous, After: a.Value, Detail: a.Reason, Outcome: "planned"}}
		switch {
		case mode == DryRun:
			it.State, it.Before, it.Detail, it.Audit.Outcome = adpacer.ActionHeld, a.Previous, "dry-run: not sent", "dry_run"
		case mode == Approve && pa.NeedsApproval:
			it.State, it.Before, it.Detail, it.Audit.Outcome = adpacer.ActionHeld, a.Previous, awaitingApproval, "awaiting_approval"
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil
	}
	if err := r.lockLedger(ctx); err != nil {
		return fmt.Errorf("pace: wait for the applier: %w", err)
	}
	items, superseded, retry, err := r.settleAwaiting(ctx, now, items, epoch)
	var recorded []adpacer.ActionKey
	if err == nil && len(items) > 0 {
		recorded, err = r.opt.Store.PlanActions(ctx, items, epoch)
		if err != nil {
			if errors.Is(err, store.ErrConflict) {
				// Keys already in the ledger are skipped, so a conflict is
				// the fence: another replica took over with a newer epoch.
				err = fmt.Errorf("pace: record %d actions: %w: %w", len(items), ErrNotLeader, err)
			} else {
				err = fmt.Errorf("pace: record %d actions: %w", len(items), err)
			}
		}
	}
	r.unlockLedger()
	if err != nil {
		return err
	}
	// The superseded cards are closed once their rejection is durable, and
	// before the newer card goes up, so the board never shows two pending
	// approvals for one setting for longer than these calls take.
	for _, s := range superseded {
		r.m.actions.WithLabelValues(string(s.old.Kind), string(adpacer.ActionRejected)).Inc()
		if r.opt.Approvals == nil {
			continue
		}
		if err := r.opt.Approvals.Close(ctx, s.old.Key, s.why); err != nil {
			r.log.Warn("closing superseded approval card failed", zap.String("action", string(s.old.Key)), zap.Error(err))
		}
	}
	for _, a := range retry {
		r.requestApproval(ctx, a)
	}
	isNew := make(map[adpacer.ActionKey]bool, len(recorded))
	for _, k := range recorded {
		isNew[k] = true
	}
	dry := map[string][]adpacer.Action{}
	for _, it := range items {
		a := it.Action
		if !isNew[a.Key] {
			continue
		}
		r.m.actions.WithLabelValues(string(a.Kind), "planned").Inc()
		switch it.Audit.Outcome {
		case "dry_run":
			if inst, ok := r.route(byID[a.Campaign]); ok {
				dry[inst.ID] = append(dry[inst.ID], a)
			}
			r.m.actions.WithLabelValues(string(a.Kind), "dry_run").Inc()
		case "awaiting_approval":
			// The card goes up once the held state is durable.
			r.requestApproval(ctx, a)
			r.m.actions.WithLabelValues(string(a.Kind), "held_approval").Inc()
		}
	}
	// Dry-run on platforms that can validate (Google validateOnly) still
	// checks the change; the result goes to the log only.
	for id, acts := range dry {
		inst, _ := r.adInstance(id)
		res, err := inst.Actuator.Apply(ctx, acts, pacing.ApplyOptions{DryRun: true})
		if err != nil {
			r.log.Warn("dry-run validation failed", zap.String("source", id), zap.Error(err))
			continue
		}
		for _, x := range res {
			if x.Err != nil {
				r.log.Info("dry-run: platform would refuse", zap.String("action", string(x.Key)), zap.Error(x.Err))
			}
		}
	}
	return nil
}

// awaitingApproval is the ledger detail of an action held for a manager.
const awaitingApproval = "awaiting approval"

// supersededApproval is a held approval replaced by a newer proposal.
type supersededApproval struct {
	old adpacer.Action
	why string
}

// settleAwaiting keeps at most one pending approval per campaign setting.
// The engine decides each cycle from fresh spend, so a change it wants
// approved comes back every cycle a few roubles different, under a new
// key (the key carries the value and the hour); recorded as is, each
// would be a new held action and a new card, and the manager would face a
// dozen cards for one change. A proposal within the policy's tolerance of
// the pending one is that same change: it is dropped and the pending one
// (its card, its value) stays. Any other newer decision for the setting
// (a material change, or one small enough to need no approval) replaces
// it: the pending action is rejected here, and its card closed by the
// caller. Called with the ledger lock held, so the applier cannot claim an
// approved action between this read and the rejection. It returns the
// items left to record, the approvals superseded, and kept approvals whose
// card request failed earlier and is retried.
func (r *Runner) settleAwaiting(ctx context.Context, now time.Time, items []store.PlanItem, epoch int64) ([]store.PlanItem, []supersededApproval, []adpacer.Action, error) {
	pending, err := r.opt.Store.PendingActions(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pace: pending actions: %w", err)
	}
	// Oldest first: the last held approval of a setting is the pending one;
	// an earlier one can only be left by a crash between superseding and
	// recording, and goes with the first newer decision.
	awaiting := map[string][]adpacer.Action{}
	for _, p := range pending {
		if p.State == adpacer.ActionHeld && p.Detail == awaitingApproval {
			awaiting[settingOf(p.Action)] = append(awaiting[settingOf(p.Action)], p.Action)
		}
	}
	if len(awaiting) == 0 {
		return items, nil, nil, nil
	}
	tol := r.opt.Policy.TolerancePct / 100
	keep := items[:0:0]
	var sup []supersededAction
	var retry []adpacer.Action
	for _, it := range items {
		held := awaiting[settingOf(it.Action)]
		if len(held) == 0 {
			keep = append(keep, it)
			continue
		}
		cur := held[len(held)-1]
		for _, old := range held[:len(held)-1] {
			sup = append(sup, supersededAction{old: old, by: cur.Key})
		}
		awaiting[settingOf(it.Action)] = held[len(held)-1:]
		if it.State == adpacer.ActionHeld && it.Detail == awaitingApproval && (cur.Key == it.Action.Key || sameChange(cur, it.Action, tol)) {
			r.m.actions.WithLabelValues(string(it.Action.Kind), "approval_kept").Inc()
			r.mu.Lock()
			if r.cardMissing[cur.Key] {
				retry = append(retry, cur)
			}
			r.mu.Unlock()
			continue
		}
		sup = append(sup, supersededAction{old: cur, by: it.Action.Key})
		delete(awaiting, settingOf(it.Action))
		keep = append(keep, it)
	}
	if len(sup) == 0 {
		return keep, nil, retry, nil
	}
	fs := make([]store.FinishItem, 0, len(sup))
	out := make([]supersededApproval, 0, len(sup))
	for _, s := range sup {
		why := fmt.Sprintf("superseded by a newer proposal (action %s); a manager's approval of this card no longer applies", s.by)
		fs = append(fs, store.FinishItem{Key: s.old.Key, State: adpacer.ActionRejected, Detail: why,
			Audit: &store.AuditEntry{At: now, Actor: "engine", ActionKey: s.old.Key, Campaign: s.old.Campaign, Kind: string(s.old.Kind),
				Before: s.old.Previous, After: s.old.Value, Outcome: string(adpacer.ActionRejected), Detail: why}})
		out = append(out, supersededApproval{old: s.old, why: why})
	}
	if err := r.opt.Store.FinishActions(ctx, fs, epoch); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = fmt.Errorf("%w: %w", ErrNotLeader, err)
		}
		return nil, nil, nil, fmt.Errorf("pace: supersede %d held approvals: %w", len(fs), err)
	}
	r.mu.Lock()
	for _, s := range sup {
		delete(r.cardMissing, s.old.Key)
	}
	r.mu.Unlock()
	return keep, out, retry, nil
}

// sameChange reports whether b proposes what a does, within tol (a
// fraction) of a's value: the same kind, and values that differ by no more
// than the engine's own tolerance for acting at all.
func sameChange(a, b adpacer.Action, tol float64) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Value == nil || b.Value == nil {
		return a.Value == nil && b.Value == nil
	}
	d := int64(*a.Value - *b.Value)
	if d < 0 {
		d = -d
	}
	base := int64(*a.Value)
	if base < 0 {
		base = -base
	}
	return float64(d) <= tol*float64(base)
}

// requestApproval puts a's card up; a failure is remembered and retried
// by the next pace while the action stays pending.
func (r *Runner) requestApproval(ctx context.Context, a adpacer.Action) {
	if r.opt.Approvals == nil {
		return
	}
	err := r.opt.Approvals.Request(ctx, a, a.Reason)
	r.mu.Lock()
	if err != nil {
		r.cardMissing[a.Key] = true
	} else {
		delete(r.cardMissing, a.Key)
	}
	r.mu.Unlock()
	if err != nil {
		r.log.Warn("approval card not created; will retry next cycle", zap.String("action", string(a.Key)), zap.Error(err))
	}
}

func (r *Runner) exportPlan(plan pacing.Plan, lines []pacing.Line, heldStale int) {
	counts := map[string]float64{pacing.StatusOnTrack: 0, pacing.StatusUnder: 0, pacing.StatusOver: 0, pacing.StatusExhausted: 0, pacing.StatusHeld: 0}
	dirOf := map[string]string{}
	for _, l := range lines {
		d := l.Directorate
		if d == "" {
			d = "unassigned"
		}
		dirOf[l.ID] = d
	}
	spent, planned := map[string]adpacer.Micros{}, map[string]adpacer.Micros{}
	for _, ls := range plan.Lines {
		counts[ls.Status]++
		spent[dirOf[ls.ID]] += ls.Spent
		planned[dirOf[ls.ID]] += ls.PlannedToDate
	}
	for s, n := range counts {
		r.m.linesByStatus.WithLabelValues(s).Set(n)
	}
	for d, p := range planned {
		if p > 0 {
			r.m.directorate.WithLabelValues(d).Set(float64(spent[d]) / float64(p))
		}
	}
	r.m.held.WithLabelValues("stale").Set(float64(heldStale))
}

// Apply sends every claimable ledger action: planned ones from this
// cycle, approved ones, and claimed ones left by a crash (the actuator reads
// the platform first, so a change that did land becomes a no-op).
func (r *Runner) Apply(ctx context.Context) error {
	now := r.opt.Now()
	epoch := r.opt.Epoch()
	if epoch == 0 {
		return ErrNotLeader
	}
	// One apply at a time with Pace's superseding of held approvals: an
	// approval read here must not be rejected by Pace while it is sent.
	if err := r.lockLedger(ctx); err != nil {
		return fmt.Errorf("apply: wait for pace: %w", err)
	}
	defer r.unlockLedger()
	pending, err := r.opt.Store.PendingActions(ctx)
	if err != nil {
		return fmt.Errorf("apply: pending actions: %w", err)
	}
	var oldest time.Time
	inFlight := 0
	for _, p := range pending {
		if p.State == adpacer.ActionPlanned || p.State == adpacer.ActionClaimed {
			inFlight++
			if oldest.IsZero() || p.PlannedAt.Before(oldest) {
				oldest = p.PlannedAt
			}
		}
	}
	r.m.pending.Set(float64(inFlight))
	if oldest.IsZero() {
		r.m.oldestPending.Set(0)
	} else {
		r.m.oldestPending.Set(float64(oldest.Unix()))
	}
	decisions := map[adpacer.ActionKey]Decision{}
	r.mu.Lock()
	sweep := now.Sub(r.lastOrphanSweep) >= orphanSweepEvery
	r.mu.Unlock()
	if r.opt.Approvals != nil && (hasAwaiting(pending) || sweep) {
		ds, err := r.opt.Approvals.Decisions(ctx)
		if err != nil {
			r.log.Warn("reading approvals failed; held actions stay held", zap.Error(err))
		}
		for _, d := range ds {
			decisions[d.Key] = d
		}
		r.mu.Lock()
		r.lastOrphanSweep = now
		r.mu.Unlock()
		r.closeOrphans(ctx, decisions, pending)
	}
	camps, err := r.opt.Store.Campaigns(ctx)
	if err != nil {
		return fmt.Errorf("apply: campaigns: %w", err)
	}
	byID := map[adpacer.CampaignID]adpacer.Campaign{}
	for _, c := range camps {
		byID[c.ID] = c
	}
	// Outcomes decided without sending (expired, rejected approvals,
	// unroutable) are recorded together before anything is claimed.
	approvedBy := map[adpacer.ActionKey]string{}
	send := map[string][]adpacer.Action{}
	// Claimed by an earlier run (may be on the platform), with the claim's
	// time: a write that landed did so soon after it.
	leftClaimed := map[adpacer.ActionKey]time.Time{}
	var early []finish
	for _, p := range pending {
		switch p.State {
		case adpacer.ActionPlanned:
			if now.Sub(p.PlannedAt) > r.opt.PendingMaxAge {
				early = append(early, r.outcome(now, p.Action, adpacer.ActionRejected, nil, "superseded: not sent in time; re-planned from fresh data", ""))
				continue
			}
		case adpacer.ActionClaimed:
			// Left claimed by a crash: replay; the actuator reconciles.
			leftClaimed[p.Key] = p.UpdatedAt
		case adpacer.ActionHeld:
			if strings.HasPrefix(p.Detail, "dry-run") {
				if now.Sub(p.PlannedAt) > r.opt.PendingMaxAge {
					early = append(early, finish{kind: p.Kind, item: store.FinishItem{Key: p.Key, State: adpacer.ActionRejected, Before: p.Before, Detail: "dry-run: expired unsent"}})
				}
				continue
			}
			d, ok := decisions[p.Key]
			if !ok {
				continue
			}
			if !d.Approved {
				why := "rejected by " + d.By
				if d.Expired {
					why = "approval expired"
				}
				f := r.outcome(now, p.Action, adpacer.ActionRejected, nil, why, d.By)
				f.card = why
				early = append(early, f)
				continue
			}
			approvedBy[p.Key] = d.By
		default:
			continue
		}
		inst, ok := r.route(byID[p.Campaign])
		if !ok {
			// Failed is the outcome of a send; one never claimed was
			// never sent, so it is rejected.
			state := adpacer.ActionRejected
			if _, ok := leftClaimed[p.Key]; ok {
				state = adpacer.ActionFailed
			}
			early = append(early, r.outcome(now, p.Action, state, nil, "no connector instance owns this campaign", approvedBy[p.Key]))
			continue
		}
		send[inst.ID] = append(send[inst.ID], p.Action)
	}
	if err := r.recordOutcomes(ctx, early, epoch); err != nil {
		return err
	}
	ids := make([]string, 0, len(send))
	for id := range send {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		inst, _ := r.adInstance(id)
		acts, err := r.supersede(ctx, now, inst, send[id], leftClaimed, approvedBy, epoch)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if acts == nil {
			continue
		}
		if acts.err != nil {
			errs = append(errs, acts.err)
		}
		// Claim what this run is about to send, in one durable commit
		// before the first byte leaves; replays are claimed already. A
		// key another replica or run claimed meanwhile is not sent here.
		var want []adpacer.ActionKey
		for _, a := range acts.kept {
			if _, replay := leftClaimed[a.Key]; !replay {
				want = append(want, a.Key)
			}
		}
		claimed, err := r.opt.Store.ClaimActions(ctx, want, epoch)
		if err != nil {
			if errors.Is(err, store.ErrConflict) {
				err = fmt.Errorf("%w: %w", ErrNotLeader, err)
			}
			return errors.Join(append(errs, fmt.Errorf("apply %s: claim %d actions: %w", id, len(want), err))...)
		}
		ours := make(map[adpacer.ActionKey]bool, len(claimed))
		for _, k := range claimed {
			ours[k] = true
		}
		batch := acts.kept[:0:0]
		for _, a := range acts.kept {
			if _, replay := leftClaimed[a.Key]; replay || ours[a.Key] {
				batch = append(batch, a)
			}
		}
		if len(batch) == 0 {
			continue
		}
		// Leadership may end during the run: nothing leaves unless this
		// replica still holds the epoch it claimed the actions with. The
		// ledger fences the records; this fences the platform writes.
		if r.opt.Epoch() != epoch {
			return errors.Join(append(errs, ErrNotLeader)...)
		}
		results, err := inst.Actuator.Apply(ctx, batch, pacing.ApplyOptions{})
		if err != nil {
			// The whole call failed: the actions stay claimed and are
			// replayed (reconciled) by the next apply run.
			errs = append(errs, fmt.Errorf("apply %s: %w", id, err))
			continue
		}
		got := map[adpacer.ActionKey]pacing.Result{}
		for _, res := range results {
			got[res.Key] = res
		}
		outcomes := make([]finish, 0, len(batch))
		for _, a := range batch {
			res, ok := got[a.Key]
			if !ok {
				// Left claimed: the next run reads the platform for it.
				errs = append(errs, fmt.Errorf("apply %s: connector returned no result for %s", id, a.Key))
				continue
			}
			detail := ""
			if res.Err != nil {
				detail = res.Err.Error()
			}
			f := r.outcome(now, a, res.State, res.Before, detail, approvedBy[a.Key])
			if by, ok := approvedBy[a.Key]; ok {
				f.card = fmt.Sprintf("%s (approved by %s)", res.State, by)
			}
			outcomes = append(outcomes, f)
		}
		// The outcomes of the whole call, with their audit entries, in one
		// commit: a crash before it leaves them claimed, and the replay
		// finds the writes in place (noop) rather than sending them again.
		if err := r.recordOutcomes(ctx, outcomes, epoch); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	return errors.Join(errs...)
}

// finish is one outcome to record, with what to do once it is recorded.
type finish struct {
	item store.FinishItem
	kind adpacer.ActionKind
	card string // closes the action's approval card with this outcome ("": no card)
}

// outcome is the applier's finish of a with its audit entry.
func (r *Runner) outcome(now time.Time, a adpacer.Action, state adpacer.ActionState, before *adpacer.Micros, detail, approvedBy string) finish {
	return finish{kind: a.Kind, item: store.FinishItem{Key: a.Key, State: state, Before: before, Detail: detail,
		Audit: &store.AuditEntry{At: now, Actor: "applier", ActionKey: a.Key, Campaign: a.Campaign, Kind: string(a.Kind),
			Before: before, After: a.Value, Outcome: string(state), Detail: detail, ApprovedBy: approvedBy}}}
}

// recordOutcomes records fs and their audit entries in one transaction,
// then counts them and closes their approval cards.
func (r *Runner) recordOutcomes(ctx context.Context, fs []finish, epoch int64) error {
	if len(fs) == 0 {
		return nil
	}
	items := make([]store.FinishItem, len(fs))
	for i, f := range fs {
		items[i] = f.item
	}
	if err := r.opt.Store.FinishActions(ctx, items, epoch); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = fmt.Errorf("%w: %w", ErrNotLeader, err)
		}
		return fmt.Errorf("apply: record %d outcomes: %w", len(fs), err)
	}
	for _, f := range fs {
		r.m.actions.WithLabelValues(string(f.kind), string(f.item.State)).Inc()
		if f.card == "" || r.opt.Approvals == nil {
			continue
		}
		if err := r.opt.Approvals.Close(ctx, f.item.Key, f.card); err != nil {
			r.log.Warn("closing approval card failed", zap.String("action", string(f.item.Key)), zap.Error(err))
		}
	}
	return nil
}

// sendable is what one instance may send this run after superseding.
type sendable struct {
	kept []adpacer.Action
	err  error // the platform could not be read for some superseded actions
}

// supersede keeps one action per campaign setting and records the outcome
// of the others. When a crash left an older action claimed and pace has
// since decided a newer one for the same setting, the newer one (decided
// from fresher data) is sent and the older is superseded, never sent late:
// actuators refuse two writes to one setting in a call, so both in one
// batch would send the older (first) value and fail the newer. An older
// action that was claimed before this run may have reached the platform
// before the crash, so its outcome is read from the platform, not assumed:
// the audit log and the Yandex edit count (which reads it) must see a
// change that landed. A nil result means nothing is left to send.
func (r *Runner) supersede(ctx context.Context, now time.Time, inst AdInstance, acts []adpacer.Action, leftClaimed map[adpacer.ActionKey]time.Time, approvedBy map[adpacer.ActionKey]string, epoch int64) (*sendable, error) {
	kept, superseded := newestPerSetting(acts)
	out := &sendable{kept: kept}
	var fs []finish
	var earlier []supersededAction
	for _, s := range superseded {
		if _, ok := leftClaimed[s.old.Key]; ok {
			earlier = append(earlier, s)
			continue
		}
		why := fmt.Sprintf("superseded by %s, a newer decision for the same setting", s.by)
		f := r.outcome(now, s.old, adpacer.ActionRejected, nil, why, approvedBy[s.old.Key])
		if _, ok := approvedBy[s.old.Key]; ok {
			f.card = why
		}
		fs = append(fs, f)
	}
	if len(earlier) > 0 {
		outcomes, err := reconcileSuperseded(ctx, inst.Actuator, earlier)
		if err != nil {
			// Whether the older write landed is unknown: it stays
			// claimed, and the newer decision waits with it for a read
			// that works (both come back next run).
			out.err = fmt.Errorf("apply %s: %w", inst.ID, err)
			waiting := map[adpacer.ActionKey]bool{}
			for _, s := range earlier {
				waiting[s.by] = true
			}
			out.kept = slices.DeleteFunc(out.kept, func(a adpacer.Action) bool { return waiting[a.Key] })
		}
		for _, o := range outcomes {
			f := r.outcome(now, o.action, o.state, o.before, o.detail, approvedBy[o.action.Key])
			if at := leftClaimed[o.action.Key]; o.state == adpacer.ActionApplied && !at.IsZero() {
				// Dated when it was claimed, as near as the ledger knows
				// to when it landed: Yandex counts edits per day of the
				// write, and the pacing memory's cooldowns start there.
				f.item.Audit.At = at
			}
			if _, ok := approvedBy[o.action.Key]; ok {
				f.card = fmt.Sprintf("%s: %s", o.state, o.detail)
			}
			fs = append(fs, f)
		}
	}
	if err := r.recordOutcomes(ctx, fs, epoch); err != nil {
		return nil, err
	}
	if len(out.kept) == 0 && out.err == nil {
		return nil, nil
	}
	return out, nil
}

type supersededAction struct {
	old adpacer.Action
	by  adpacer.ActionKey
}

// newestPerSetting keeps, for each campaign setting (budget, bid, state),
// the last action of acts (PendingActions lists oldest first) and returns
// the earlier ones with the key that supersedes them.
func newestPerSetting(acts []adpacer.Action) ([]adpacer.Action, []supersededAction) {
	newest := map[string]adpacer.ActionKey{}
	for _, a := range acts {
		newest[settingOf(a)] = a.Key
	}
	kept := acts[:0:0]
	var sup []supersededAction
	for _, a := range acts {
		if by := newest[settingOf(a)]; by != a.Key {
			sup = append(sup, supersededAction{old: a, by: by})
			continue
		}
		kept = append(kept, a)
	}
	return kept, sup
}

// orphanSweepEvery is how often Apply reads the board's decisions when no
// action awaits approval, to close orphaned approval cards.
const orphanSweepEvery = time.Hour

// closeOrphans closes the approval cards whose decision (or expiry) names
// an action that no longer awaits it: rejected or superseded, its outcome
// durable, but the process stopped before the card was closed (a crash, a
// hand-over). Left open, such a card keeps asking the manager, and an
// approval on it would change nothing. The card is closed with the
// recorded outcome; an action the store never knew is said so.
func (r *Runner) closeOrphans(ctx context.Context, decisions map[adpacer.ActionKey]Decision, pending []store.ActionRecord) {
	held := map[adpacer.ActionKey]bool{}
	for _, p := range pending {
		held[p.Key] = true
	}
	keys := make([]adpacer.ActionKey, 0, len(decisions))
	for k := range decisions {
		if !held[k] {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		rec, err := r.opt.Store.Action(ctx, k)
		outcome := ""
		switch {
		case errors.Is(err, store.ErrNotFound):
			outcome = "adpacer has no record of this action: nothing was or will be applied from this card"
		case err != nil:
			r.log.Warn("reading an orphaned approval's action failed", zap.String("action", string(k)), zap.Error(err))
			continue
		case rec.State == adpacer.ActionPlanned || rec.State == adpacer.ActionClaimed:
			continue // approved and on its way: Apply closes the card with the result
		default:
			outcome = fmt.Sprintf("already %s before this decision was read (%s); this card changes nothing", rec.State, rec.Detail)
		}
		if err := r.opt.Approvals.Close(ctx, k, outcome); err != nil {
			r.log.Warn("closing orphaned approval card failed", zap.String("action", string(k)), zap.Error(err))
			continue
		}
		r.log.Info("closed an orphaned approval card", zap.String("action", string(k)), zap.String("outcome", outcome))
	}
}

func hasAwaiting(p []store.ActionRecord) bool {
	for _, x := range p {
		if x.State == adpacer.ActionHeld && !strings.HasPrefix(x.Detail, "dry-run") {
			return true
		}
	}
	return false
}

// Alerts hands the complete firing set to the sink: the last plan's alerts,
// rejected ads, failed sources and other subsystems' alerts.
func (r *Runner) Alerts(ctx context.Context) error {
	now := r.opt.Now()
	r.mu.Lock()
	plan, lines := r.lastPlan, r.lastLines
	var firing []adpacer.Alert
	for _, a := range r.sourceAlerts {
		firing = append(firing, a)
	}
	r.mu.Unlock()
	owner := map[string]string{}
	ownerOf := map[adpacer.CampaignID]string{}
	lineOf := map[adpacer.CampaignID]string{}
	for _, l := range lines {
		owner[l.ID] = l.Owner
		for _, c := range l.Campaigns {
			ownerOf[c] = l.Owner
			lineOf[c] = l.ID
		}
	}
	for _, a := range plan.Alerts {
		// With approvals on the board, the approval card itself is the
		// notice; an alert card as well would say the same thing twice.
		if a.Kind == "approval_needed" && r.opt.Approvals != nil {
			continue
		}
		firing = append(firing, adpacer.Alert{Key: a.Key, Severity: a.Severity, Kind: a.Kind, Line: a.Line, Campaign: a.Campaign,
			Owner: owner[a.Line], Title: a.Title, Detail: a.Detail, Fingerprint: a.Fingerprint})
	}
	ads, err := r.opt.Store.AdStatuses(ctx)
	if err != nil {
		return fmt.Errorf("alerts: ad statuses: %w", err)
	}
	firing = append(firing, ModerationAlerts(ads, ownerOf, lineOf)...)
	if r.opt.ExtraAlerts != nil {
		extra, err := r.opt.ExtraAlerts(ctx, now)
		if err != nil {
			r.log.Warn("extra alerts failed", zap.Error(err))
		}
		firing = append(firing, extra...)
	}
	sort.Slice(firing, func(i, j int) bool { return firing[i].Key < firing[j].Key })
	sev := map[adpacer.Severity]float64{adpacer.SeverityInfo: 0, adpacer.SeverityWarning: 0, adpacer.SeverityCritical: 0}
	for _, a := range firing {
		sev[a.Severity]++
	}
	for s, n := range sev {
		r.m.alertsFiring.WithLabelValues(string(s)).Set(n)
	}
	if r.opt.Sink == nil {
		return nil
	}
	if err := r.opt.Sink.Sync(ctx, firing); err != nil {
		return fmt.Errorf("alerts: sink: %w", err)
	}
	return nil
}

// RunOnce runs every pull, then pace, apply and alerts, in order. A failed
// pull does not stop the cycle: its campaigns go stale and are held.
func (r *Runner) RunOnce(ctx context.Context) error {
	var errs []error
	for _, a := range r.opt.Ads {
		if err := r.PullAds(ctx, a.ID); err != nil {
			errs = append(errs, err)
		}
	}
	for _, b := range r.opt.Boards {
		if err := r.PullBoards(ctx, b.ID); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range r.opt.Times {
		if err := r.PullTime(ctx, t.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.Pace(ctx); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := r.Apply(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := r.Alerts(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Status is what the status page shows.
type Status struct {
	At      time.Time
	Plan    pacing.Plan
	Lines   []pacing.Line
	History map[string][]Point
}

// LastStatus returns the last pacing result and a copy of the history.
func (r *Runner) LastStatus() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := make(map[string][]Point, len(r.history))
	for k, v := range r.history {
		h[k] = append([]Point(nil), v...)
	}
	return Status{At: r.lastPaceAt, Plan: r.lastPlan, Lines: r.lastLines, History: h}
}
