package trello

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/adlio/trello"
	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

// AlertStore keeps one adpacer.AlertState per alert key. The real store
// implements it; GetAlert returns store.ErrNotFound when the key is absent.
type AlertStore interface {
	GetAlert(ctx context.Context, key string) (adpacer.AlertState, error)
	PutAlert(ctx context.Context, st adpacer.AlertState) error
	ListAlerts(ctx context.Context) ([]adpacer.AlertState, error)
}

// Markers written into card descriptions, so the key -> card mapping can be
// rebuilt from the board alone after the store is lost (ops-notes §7.1).
const (
	AlertKeyMarker         = "adpacer-alert-key"
	alertFingerprintMarker = "adpacer-alert-fingerprint"
	// RollupKey is the alert key of the roll-up card that lists alerts
	// beyond the per-cycle cap of new cards.
	RollupKey = "adpacer-rollup"
)

// AlertOptions configure an AlertSink. BoardID is required; the rest
// default as documented.
type AlertOptions struct {
	BoardID string
	Lists   ListNames
	// SnoozeLabel on a card silences it until the alert worsens (default "snoozed").
	SnoozeLabel string
	// CommentInterval is the least time between two update or reopen
	// comments on one card (default 1h). The resolve comment that closes an
	// episode is not held back by it.
	CommentInterval time.Duration
	// HealthyCycles an alert must be absent before its card resolves (default 3).
	HealthyCycles int
	// ReopenWindow: an alert returning within it reopens its card; later it gets a new one (default 24h).
	ReopenWindow time.Duration
	// ArchiveOnResolve archives resolved cards instead of moving them to the Resolved list.
	ArchiveOnResolve bool
	// MaxNewCards per Sync; further new alerts go on one roll-up card (default 10).
	MaxNewCards int
	// CriticalDue is the due date of critical cards, counted from opening (default 4h).
	CriticalDue time.Duration
	// OutageKinds are alert kinds that mean an upstream is down or stale
	// (default stale_data, source_down); OutageMin or more of one kind with
	// the same OutageSource collapse into one card (default 3).
	OutageKinds  []string
	OutageMin    int
	OutageSource func(adpacer.Alert) string
	// Advice maps an alert kind to the advice printed on its card (what the manager should do).
	Advice map[string]string
	// Clock defaults to the client's.
	Clock  func() time.Time
	Logger *zap.Logger
}

// AlertSink opens, updates and resolves alert cards on one board. It
// implements pacing.AlertSink and is level-based: Sync gets every alert
// firing this cycle; an open alert absent from it is healthy this cycle.
type AlertSink struct {
	c     *Client
	store AlertStore
	opts  AlertOptions
	kit   *boardKit
	log   *zap.Logger
	mu    sync.Mutex // one Sync at a time
}

var _ pacing.AlertSink = (*AlertSink)(nil)

func severityLabels() map[string]string {
	return map[string]string{LabelCritical: "red", LabelWarning: "orange", LabelInfo: "blue"}
}

// NewAlertSink validates opts and builds an AlertSink.
func NewAlertSink(c *Client, st AlertStore, opts AlertOptions) (*AlertSink, error) {
	if c == nil || st == nil {
		return nil, errors.New("trello: alert sink needs a client and an alert store")
	}
	if strings.TrimSpace(opts.BoardID) == "" {
		return nil, errors.New("trello: alerts board id is empty (set the id of the board alert cards go to)")
	}
	opts.Lists = opts.Lists.withDefaults()
	if err := opts.Lists.validate(); err != nil {
		return nil, err
	}
	if opts.SnoozeLabel == "" {
		opts.SnoozeLabel = "snoozed"
	}
	if opts.CommentInterval == 0 {
		opts.CommentInterval = time.Hour
	}
	if opts.HealthyCycles == 0 {
		opts.HealthyCycles = 3
	}
	if opts.ReopenWindow == 0 {
		opts.ReopenWindow = 24 * time.Hour
	}
	if opts.MaxNewCards == 0 {
		opts.MaxNewCards = 10
	}
	if opts.CriticalDue == 0 {
		opts.CriticalDue = 4 * time.Hour
	}
	if opts.OutageKinds == nil {
		opts.OutageKinds = []string{"stale_data", "source_down"}
	}
	if opts.OutageMin == 0 {
		opts.OutageMin = 3
	}
	switch {
	case opts.CommentInterval < 0:
		return nil, fmt.Errorf("trello: alerts comment interval %s must be positive", opts.CommentInterval)
	case opts.HealthyCycles < 1:
		return nil, fmt.Errorf("trello: alerts healthy cycles %d must be at least 1", opts.HealthyCycles)
	case opts.ReopenWindow < 0:
		return nil, fmt.Errorf("trello: alerts reopen window %s must be positive", opts.ReopenWindow)
	case opts.MaxNewCards < 1:
		return nil, fmt.Errorf("trello: alerts max new cards %d must be at least 1", opts.MaxNewCards)
	case opts.CriticalDue < 0:
		return nil, fmt.Errorf("trello: alerts critical due %s must be positive", opts.CriticalDue)
	case opts.OutageMin < 2:
		return nil, fmt.Errorf("trello: alerts outage min %d must be at least 2", opts.OutageMin)
	}
	if opts.OutageSource == nil {
		opts.OutageSource = defaultOutageSource
	}
	if opts.Clock == nil {
		opts.Clock = c.clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	labels := severityLabels()
	labels[opts.SnoozeLabel] = "purple"
	return &AlertSink{c: c, store: st, opts: opts, log: opts.Logger,
		kit: newBoardKit(c, opts.BoardID, []string{opts.Lists.Alerts, opts.Lists.Resolved}, labels)}, nil
}

// defaultOutageSource groups by platform of the campaign, else by budget line.
func defaultOutageSource(a adpacer.Alert) string {
	if p := a.Campaign.Platform(); p != "" {
		return string(p)
	}
	if a.Line != "" {
		return a.Line
	}
	return "unknown"
}

// cycle is the working set of one Sync.
type cycle struct {
	now          time.Time
	open         map[string]*boardCard   // open cards by id
	byMarker     map[string][]*boardCard // open cards by alert key
	closedLoaded bool
	closedByKey  map[string][]*boardCard
	created      int
}

// Sync reconciles the board with the alerts firing now.
func (s *AlertSink) Sync(ctx context.Context, firing []adpacer.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.kit.setup(ctx); err != nil {
		return err
	}
	alerts, covered, badInput := s.group(firing)
	states, err := s.store.ListAlerts(ctx)
	if err != nil {
		return fmt.Errorf("trello: list alert states: %w", err)
	}
	byKey := make(map[string]adpacer.AlertState, len(states))
	for _, st := range states {
		byKey[st.Key] = st
	}
	cyc := &cycle{now: s.opts.Clock().UTC(), open: map[string]*boardCard{}, byMarker: map[string][]*boardCard{}}
	openCards, err := s.kit.cards(ctx, "open")
	if err != nil {
		return err
	}
	for _, c := range openCards {
		cyc.open[c.ID] = c
		if k := markerValue(c.Desc, AlertKeyMarker); k != "" {
			cyc.byMarker[k] = append(cyc.byMarker[k], c)
		}
	}
	rollup := byKey[RollupKey]

	errs := []error{badInput}
	var overflow []adpacer.Alert
	firingKeys := map[string]bool{}
	for _, a := range alerts {
		firingKeys[a.Key] = true
		st, has := byKey[a.Key]
		stored := has
		if !has {
			st, has, err = s.adopt(ctx, cyc, a.Key)
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if has && st.Status == adpacer.AlertResolved && cyc.now.Sub(st.ResolvedAt) > s.opts.ReopenWindow {
			has = false // too long ago: a new card, as jiralert does after reopen_duration
		}
		if has && st.Status == adpacer.AlertResolved && st.CardID != "" && st.CardID == rollup.CardID {
			has = false // it was only a line on the roll-up card
		}
		if !has {
			if cyc.created >= s.opts.MaxNewCards {
				overflow = append(overflow, a)
				continue
			}
			next, err := s.create(ctx, cyc, a)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			errs = append(errs, s.put(ctx, st, next, false))
			continue
		}
		prev := st
		if st.CardID != "" && st.CardID == rollup.CardID && rollup.CardID != "" {
			next, promoted, err := s.firingInRollup(ctx, cyc, a, st)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !promoted {
				overflow = append(overflow, a) // syncRollup records its state
				continue
			}
			errs = append(errs, s.put(ctx, prev, next, stored))
			continue
		}
		next, err := s.firing(ctx, cyc, a, st)
		if err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, s.put(ctx, prev, next, stored))
	}

	// Alerts not firing (and not folded into an outage card) are healthy.
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st := byKey[k]
		if k == RollupKey || firingKeys[k] || covered[k] {
			continue
		}
		next, err := s.healthy(ctx, cyc, st, rollup.CardID)
		if err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, s.put(ctx, st, next, true))
	}
	errs = append(errs, s.syncRollup(ctx, cyc, rollup, overflow, byKey))
	return errors.Join(errs...)
}

// lastSeenGranularity: a state whose only change is LastSeenAt is written
// at most this often, so a steady cycle with hundreds of firing alerts does
// not rewrite every row (LastSeenAt only feeds the reopen window).
const lastSeenGranularity = 10 * time.Minute

func (s *AlertSink) put(ctx context.Context, prev, next adpacer.AlertState, had bool) error {
	if had {
		same := prev
		same.LastSeenAt = next.LastSeenAt
		if same == next && next.LastSeenAt.Sub(prev.LastSeenAt) < lastSeenGranularity {
			return nil
		}
	}
	if err := s.store.PutAlert(ctx, next); err != nil {
		return fmt.Errorf("trello: save alert state %q: %w", next.Key, err)
	}
	return nil
}

// group collapses an upstream outage into one alert per (kind, source) and
// removes duplicate keys (keeping the most severe). covered holds the keys
// folded into an outage alert: they are neither firing nor healthy.
func (s *AlertSink) group(firing []adpacer.Alert) ([]adpacer.Alert, map[string]bool, error) {
	outageKind := map[string]bool{}
	for _, k := range s.opts.OutageKinds {
		outageKind[k] = true
	}
	type gk struct{ kind, source string }
	groups := map[gk][]adpacer.Alert{}
	var rest []adpacer.Alert
	covered := map[string]bool{}
	var bad []error
	for i, a := range firing {
		// A malformed alert is reported and skipped; its key (if any) is
		// neither firing nor healthy this cycle, so its card is left alone.
		switch {
		case strings.TrimSpace(a.Key) == "":
			bad = append(bad, fmt.Errorf("trello: alert %d (%q): key is empty", i, a.Title))
			continue
		case a.Key == RollupKey || strings.ContainsAny(a.Key, "\n\r"):
			bad = append(bad, fmt.Errorf("trello: alert key %q is reserved or has a line break", a.Key))
			covered[a.Key] = true
			continue
		case a.Severity.Rank() == 0:
			bad = append(bad, fmt.Errorf("trello: alert %q: severity %q (want info, warning or critical)", a.Key, a.Severity))
			covered[a.Key] = true
			continue
		}
		if outageKind[a.Kind] {
			g := gk{a.Kind, s.opts.OutageSource(a)}
			groups[g] = append(groups[g], a)
			continue
		}
		rest = append(rest, a)
	}
	for g, as := range groups {
		if len(as) < s.opts.OutageMin {
			rest = append(rest, as...)
			continue
		}
		sort.Slice(as, func(i, j int) bool { return as[i].Key < as[j].Key })
		sev := adpacer.SeverityInfo
		owners := map[string]bool{}
		var lines []string
		for i, a := range as {
			covered[a.Key] = true
			if a.Severity.Rank() > sev.Rank() {
				sev = a.Severity
			}
			owners[a.Owner] = true
			if i < 40 {
				lines = append(lines, "- "+describeSubject(a))
			}
		}
		if len(as) > 40 {
			lines = append(lines, fmt.Sprintf("- … and %d more", len(as)-40))
		}
		owner := ""
		if len(owners) == 1 {
			owner = as[0].Owner
		}
		// The fingerprint moves when severity changes or the count doubles,
		// not on every campaign that joins or leaves.
		fp := fmt.Sprintf("outage/%s/%s/%s/%d", g.kind, g.source, sev, bits.Len(uint(len(as))))
		rest = append(rest, adpacer.Alert{
			Key: "outage:" + g.kind + ":" + g.source, Severity: sev, Kind: g.kind, Owner: owner,
			Title:       fmt.Sprintf("%s: %s for %d campaigns", g.source, strings.ReplaceAll(g.kind, "_", " "), len(as)),
			Detail:      fmt.Sprintf("One upstream problem affects %d campaigns; pacing holds them until the data is fresh again.\n\n%s", len(as), strings.Join(lines, "\n")),
			Fingerprint: fp,
		})
	}
	// One entry per key, the most severe first; ties by key for stable order.
	byKey := map[string]adpacer.Alert{}
	for _, a := range rest {
		if cur, ok := byKey[a.Key]; !ok || a.Severity.Rank() > cur.Severity.Rank() {
			byKey[a.Key] = a
		}
	}
	out := make([]adpacer.Alert, 0, len(byKey))
	for _, a := range byKey {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Severity.Rank() != out[j].Severity.Rank() {
			return out[i].Severity.Rank() > out[j].Severity.Rank()
		}
		return out[i].Key < out[j].Key
	})
	return out, covered, errors.Join(bad...)
}

func describeSubject(a adpacer.Alert) string {
	parts := []string{}
	if a.Campaign != "" {
		parts = append(parts, string(a.Campaign))
	}
	if a.Line != "" {
		parts = append(parts, "line "+a.Line)
	}
	if a.Title != "" {
		parts = append(parts, a.Title)
	}
	return strings.Join(parts, " · ")
}

// adopt rebuilds a lost state from the board: an open card carrying the
// key's marker, else (once per Sync) a recently archived one.
func (s *AlertSink) adopt(ctx context.Context, cyc *cycle, key string) (adpacer.AlertState, bool, error) {
	card := s.pick(cyc.byMarker[key])
	if card == nil {
		if !cyc.closedLoaded {
			cyc.closedLoaded = true
			cyc.closedByKey = map[string][]*boardCard{}
			closed, err := s.kit.cards(ctx, "closed")
			if err != nil {
				return adpacer.AlertState{}, false, err
			}
			for _, c := range closed {
				if k := markerValue(c.Desc, AlertKeyMarker); k != "" {
					cyc.closedByKey[k] = append(cyc.closedByKey[k], c)
				}
			}
		}
		card = s.pick(cyc.closedByKey[key])
	}
	if card == nil {
		return adpacer.AlertState{}, false, nil
	}
	st := adpacer.AlertState{
		Key: key, CardID: card.ID, Fingerprint: markerValue(card.Desc, alertFingerprintMarker),
		Severity: s.cardSeverity(card), Status: adpacer.AlertOpen,
		OpenedAt: idTime(card.ID), LastSeenAt: card.DateLastActivity,
		// The last comment time is unknown; the card's last activity is a
		// safe stand-in that cannot cause an early comment.
		UpdatedAt: card.DateLastActivity,
	}
	switch {
	case card.IDList == s.kit.list(s.opts.Lists.Resolved):
		st.Status, st.ResolvedAt = adpacer.AlertResolved, card.DateLastActivity
	case card.Closed || card.hasLabel(s.kit.label(s.opts.SnoozeLabel)):
		st.Status = adpacer.AlertSnoozed
	}
	s.log.Info("alert card adopted from its marker", zap.String("key", key), zap.String("card", card.ID), zap.String("status", string(st.Status)))
	return st, true, nil
}

// pick prefers the most recently active card outside the Resolved list.
func (s *AlertSink) pick(cards []*boardCard) *boardCard {
	var best *boardCard
	resolved := s.kit.list(s.opts.Lists.Resolved)
	score := func(c *boardCard) int {
		if c.IDList == resolved || c.Closed {
			return 0
		}
		return 1
	}
	for _, c := range cards {
		if best == nil || score(c) > score(best) || (score(c) == score(best) && c.DateLastActivity.After(best.DateLastActivity)) {
			best = c
		}
	}
	return best
}

func (s *AlertSink) cardSeverity(c *boardCard) adpacer.Severity {
	for _, sev := range []adpacer.Severity{adpacer.SeverityCritical, adpacer.SeverityWarning, adpacer.SeverityInfo} {
		if c.hasLabel(s.kit.label(string(sev))) {
			return sev
		}
	}
	return ""
}

// idTime is the creation time encoded in a Trello id.
func idTime(id string) time.Time {
	t, err := trello.IDToTime(id)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// canComment applies CommentInterval.
func (s *AlertSink) canComment(st adpacer.AlertState, now time.Time) bool {
	return st.UpdatedAt.IsZero() || now.Sub(st.UpdatedAt) >= s.opts.CommentInterval
}

// create opens a new card for a.
func (s *AlertSink) create(ctx context.Context, cyc *cycle, a adpacer.Alert) (adpacer.AlertState, error) {
	labels := []string{}
	if id := s.kit.label(string(a.Severity)); id != "" {
		labels = append(labels, id)
	}
	card := &trello.Card{Name: cardName(a), Desc: s.describe(a, cyc.now), IDList: s.kit.list(s.opts.Lists.Alerts), IDLabels: labels}
	if id, ok, err := s.kit.memberID(ctx, a.Owner); err != nil {
		return adpacer.AlertState{}, err
	} else if ok {
		card.IDMembers = []string{id}
	} else if a.Owner != "" {
		s.log.Warn("alert owner is not a member of the alerts board", zap.String("owner", a.Owner), zap.String("key", a.Key))
	}
	if a.Severity == adpacer.SeverityCritical {
		due := cyc.now.Add(s.opts.CriticalDue)
		card.Due = &due
	}
	if err := s.c.api(ctx).CreateCard(card, trello.Arguments{"pos": "top"}); err != nil {
		return adpacer.AlertState{}, s.c.wrap(fmt.Sprintf("create alert card %q", a.Key), err)
	}
	cyc.created++
	return adpacer.AlertState{
		Key: a.Key, CardID: card.ID, Fingerprint: a.Fingerprint, Severity: a.Severity, Status: adpacer.AlertOpen,
		OpenedAt: cyc.now, UpdatedAt: cyc.now, LastSeenAt: cyc.now,
	}, nil
}

func cardName(a adpacer.Alert) string {
	name := strings.TrimSpace(a.Title)
	if name == "" {
		name = a.Kind + ": " + describeSubject(a)
	}
	return truncate(name, 500)
}

// defaultAdvice is printed when Advice has nothing for the kind.
var defaultAdvice = map[string]string{
	"overspend":   "Check the line's campaigns on the platform; adpacer has lowered bids/budgets where allowed. Approve or reject pending changes in the Approvals list.",
	"underspend":  "Check moderation, targeting and bids of the line's campaigns; adpacer raises budgets only within the configured limits.",
	"stale_data":  "The source has not delivered fresh data; pacing for the affected campaigns is held. Check the connector's status and credentials.",
	"source_down": "The upstream API is failing; pacing is held for the affected campaigns until it answers again.",
	"moderation":  "Fix the rejected ads (see the platform's reason) and resubmit them.",
	"kpi":         "The cost per application is above target; review bids and creatives of the line.",
}

// describe renders what happened, the numbers and what to do, followed by
// the marker lines.
func (s *AlertSink) describe(a adpacer.Alert, now time.Time) string {
	advice := s.opts.Advice[a.Kind]
	if advice == "" {
		advice = defaultAdvice[a.Kind]
	}
	if advice == "" {
		advice = "Look at the line's campaigns and the pacing dashboard; adpacer holds changes it is unsure about."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**What happened:** %s\n\n", strings.TrimSpace(a.Title))
	if d := strings.TrimSpace(a.Detail); d != "" {
		b.WriteString(truncate(d, 12000) + "\n\n")
	}
	b.WriteString("**Numbers**\n")
	fmt.Fprintf(&b, "- Severity: %s\n- Kind: %s\n", a.Severity, a.Kind)
	if a.Line != "" {
		fmt.Fprintf(&b, "- Budget line: %s\n", a.Line)
	}
	if a.Campaign != "" {
		fmt.Fprintf(&b, "- Campaign: %s\n", a.Campaign)
	}
	if a.Owner != "" {
		fmt.Fprintf(&b, "- Owner: @%s\n", strings.TrimPrefix(a.Owner, "@"))
	}
	fmt.Fprintf(&b, "- Updated: %s\n\n", now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "**What to do:** %s\n\n---\n", advice)
	fmt.Fprintf(&b, "%s: %s\n%s: %s\n", AlertKeyMarker, a.Key, alertFingerprintMarker, a.Fingerprint)
	return b.String()
}

// locate returns the card of st from the open set, or reads it (closed or
// gone) when it is not there.
func (s *AlertSink) locate(ctx context.Context, cyc *cycle, cardID string) (*boardCard, bool, error) {
	if c := cyc.open[cardID]; c != nil {
		return c, true, nil
	}
	return s.kit.card(ctx, cardID)
}

// humanSilenced reports whether a person took the card out of play:
// archived or deleted it, snoozed it, or moved it to Resolved while open.
func (s *AlertSink) humanSilenced(st adpacer.AlertState, c *boardCard, found bool) bool {
	if !found || c.Closed {
		return st.Status != adpacer.AlertResolved
	}
	if c.hasLabel(s.kit.label(s.opts.SnoozeLabel)) {
		return true
	}
	return st.Status == adpacer.AlertOpen && c.IDList == s.kit.list(s.opts.Lists.Resolved)
}

// firing handles an alert that fires and has a card.
func (s *AlertSink) firing(ctx context.Context, cyc *cycle, a adpacer.Alert, st adpacer.AlertState) (adpacer.AlertState, error) {
	now := cyc.now
	st.LastSeenAt, st.HealthyCycles = now, 0
	card, found, err := s.locate(ctx, cyc, st.CardID)
	if err != nil {
		return st, err
	}
	silenced := s.humanSilenced(st, card, found)
	if st.Status == adpacer.AlertSnoozed || silenced {
		if st.Status != adpacer.AlertSnoozed {
			st.Status = adpacer.AlertSnoozed
			s.log.Info("alert card silenced by a person", zap.String("key", a.Key), zap.String("card", st.CardID))
		}
		if a.Severity.Rank() <= st.Severity.Rank() {
			return st, nil // respected until it worsens
		}
		if !found {
			// The card is gone; open a fresh one for the worse alert.
			return s.create(ctx, cyc, a)
		}
		return s.wake(ctx, card, a, st, fmt.Sprintf("Worsened from %s to %s while snoozed — reopening.\n\n%s", st.Severity, a.Severity, strings.TrimSpace(a.Detail)))
	}
	if st.Status == adpacer.AlertResolved {
		if !found {
			return s.create(ctx, cyc, a)
		}
		msg := fmt.Sprintf("Firing again (resolved %s ago) — reopened.\n\n%s", now.Sub(st.ResolvedAt).Round(time.Minute), strings.TrimSpace(a.Detail))
		return s.wake(ctx, card, a, st, msg)
	}
	// Open and in play.
	if a.Severity != st.Severity {
		if err := s.relabel(ctx, card, st.Severity, a.Severity, now); err != nil {
			return st, err
		}
		worse := a.Severity.Rank() > st.Severity.Rank()
		st.Severity = a.Severity
		if worse {
			// A worse alert is news: comment now, not after the interval.
			st.UpdatedAt = time.Time{}
		}
	}
	if a.Fingerprint != st.Fingerprint && s.canComment(st, now) {
		if err := s.kit.update(ctx, card.ID, trello.Arguments{"desc": s.describe(a, now)}); err != nil {
			return st, err
		}
		if err := s.kit.comment(ctx, card.ID, "Update: "+strings.TrimSpace(a.Title)+"\n\n"+strings.TrimSpace(a.Detail)); err != nil {
			return st, err
		}
		st.Fingerprint, st.UpdatedAt = a.Fingerprint, now
	}
	return st, nil
}

// wake brings a resolved or snoozed card back into the Alerts list.
func (s *AlertSink) wake(ctx context.Context, card *boardCard, a adpacer.Alert, st adpacer.AlertState, msg string) (adpacer.AlertState, error) {
	args := trello.Arguments{"idList": s.kit.list(s.opts.Lists.Alerts), "pos": "top", "desc": s.describe(a, st.LastSeenAt)}
	if card.Closed {
		args["closed"] = "false"
	}
	labels := []string{}
	for _, l := range card.IDLabels {
		if l != s.kit.label(s.opts.SnoozeLabel) && !s.isSeverityLabel(l) {
			labels = append(labels, l)
		}
	}
	if id := s.kit.label(string(a.Severity)); id != "" {
		labels = append(labels, id)
	}
	args["idLabels"] = strings.Join(labels, ",")
	if a.Severity == adpacer.SeverityCritical && card.Due == nil {
		args["due"] = st.LastSeenAt.Add(s.opts.CriticalDue).UTC().Format(time.RFC3339)
	}
	if err := s.kit.update(ctx, card.ID, args); err != nil {
		return st, err
	}
	worse := a.Severity.Rank() > st.Severity.Rank()
	if worse || s.canComment(st, st.LastSeenAt) {
		if err := s.kit.comment(ctx, card.ID, msg); err != nil {
			return st, err
		}
		st.UpdatedAt = st.LastSeenAt
	}
	st.Status, st.Severity, st.Fingerprint, st.ResolvedAt = adpacer.AlertOpen, a.Severity, a.Fingerprint, time.Time{}
	return st, nil
}

func (s *AlertSink) isSeverityLabel(id string) bool {
	for name := range severityLabels() {
		if s.kit.label(name) == id {
			return true
		}
	}
	return false
}

// relabel swaps the severity label (and sets a due date on critical).
func (s *AlertSink) relabel(ctx context.Context, card *boardCard, from, to adpacer.Severity, now time.Time) error {
	labels := []string{}
	for _, l := range card.IDLabels {
		if !s.isSeverityLabel(l) {
			labels = append(labels, l)
		}
	}
	if id := s.kit.label(string(to)); id != "" {
		labels = append(labels, id)
	}
	args := trello.Arguments{"idLabels": strings.Join(labels, ",")}
	if to == adpacer.SeverityCritical && card.Due == nil {
		args["due"] = now.Add(s.opts.CriticalDue).UTC().Format(time.RFC3339)
	}
	card.IDLabels = labels
	return s.kit.update(ctx, card.ID, args)
}

// firingInRollup keeps a rolled-up alert on the roll-up card unless it got
// worse and this cycle still has room for a card of its own.
func (s *AlertSink) firingInRollup(ctx context.Context, cyc *cycle, a adpacer.Alert, st adpacer.AlertState) (adpacer.AlertState, bool, error) {
	st.LastSeenAt, st.HealthyCycles, st.Status = cyc.now, 0, adpacer.AlertOpen
	if a.Severity.Rank() > st.Severity.Rank() && cyc.created < s.opts.MaxNewCards {
		next, err := s.create(ctx, cyc, a)
		return next, err == nil, err
	}
	st.Severity, st.Fingerprint = a.Severity, a.Fingerprint
	return st, false, nil
}

// healthy counts a cycle without the alert and resolves after HealthyCycles.
func (s *AlertSink) healthy(ctx context.Context, cyc *cycle, st adpacer.AlertState, rollupCard string) (adpacer.AlertState, error) {
	now := cyc.now
	switch st.Status {
	case adpacer.AlertResolved:
		return st, nil
	case adpacer.AlertSnoozed:
		// A snoozed alert stays snoozed (the person's decision stands) until
		// it has been quiet for a whole reopen window.
		if now.Sub(st.LastSeenAt) > s.opts.ReopenWindow {
			st.Status, st.ResolvedAt, st.HealthyCycles = adpacer.AlertResolved, st.LastSeenAt, 0
		}
		return st, nil
	}
	st.HealthyCycles++
	if st.HealthyCycles < s.opts.HealthyCycles {
		return st, nil
	}
	if st.CardID == "" || st.CardID == rollupCard {
		st.Status, st.ResolvedAt = adpacer.AlertResolved, now
		return st, nil
	}
	card, found, err := s.locate(ctx, cyc, st.CardID)
	if err != nil {
		return st, err
	}
	if s.humanSilenced(st, card, found) {
		st.Status, st.ResolvedAt = adpacer.AlertResolved, now
		return st, nil
	}
	// The resolve comment closes the episode the card told, so it is not
	// held back by CommentInterval: an alert that cleared within the
	// interval would otherwise sit in Resolved with no word of why. It is
	// skipped only when the card's latest comment already says Resolved: a
	// flapping alert that came back within the interval was reopened
	// without a comment, and its second resolve needs none either.
	post := s.canComment(st, now)
	if !post {
		last, err := s.lastComment(ctx, card.ID)
		if err != nil {
			return st, err
		}
		post = !strings.HasPrefix(last, resolvedPrefix)
	}
	if post {
		msg := fmt.Sprintf("%s healthy for %d cycles (last seen %s).", resolvedPrefix, st.HealthyCycles, st.LastSeenAt.UTC().Format(time.RFC3339))
		if err := s.kit.comment(ctx, card.ID, msg); err != nil {
			return st, err
		}
		st.UpdatedAt = now
	}
	args := trello.Arguments{"idList": s.kit.list(s.opts.Lists.Resolved), "pos": "top", "dueComplete": "true"}
	if s.opts.ArchiveOnResolve {
		args["closed"] = "true"
	}
	if err := s.kit.update(ctx, card.ID, args); err != nil {
		return st, err
	}
	st.Status, st.ResolvedAt = adpacer.AlertResolved, now
	return st, nil
}

// resolvedPrefix starts every resolve comment.
const resolvedPrefix = "Resolved:"

// lastComment returns the text of the card's newest comment ("" when none).
func (s *AlertSink) lastComment(ctx context.Context, cardID string) (string, error) {
	var acts []struct {
		Data struct {
			Text string `json:"text"`
		} `json:"data"`
	}
	q := url.Values{"filter": {"commentCard"}, "limit": {"1"}}
	if err := s.c.raw(ctx, fmt.Sprintf("comments of alert card %q", cardID), http.MethodGet,
		"cards/"+url.PathEscape(cardID)+"/actions", q, nil, 1, &acts); err != nil {
		return "", err
	}
	if len(acts) == 0 {
		return "", nil
	}
	return acts[0].Data.Text, nil
}

// syncRollup keeps one roll-up card listing the alerts beyond the cap,
// updating its description when the set changes, never duplicating it.
func (s *AlertSink) syncRollup(ctx context.Context, cyc *cycle, st adpacer.AlertState, overflow []adpacer.Alert, known map[string]adpacer.AlertState) error {
	now := cyc.now
	had := st.Key != ""
	prev := st
	if !had {
		st = adpacer.AlertState{Key: RollupKey}
		if cards := cyc.byMarker[RollupKey]; len(cards) > 0 {
			c := s.pick(cards)
			st.CardID, st.Status, st.OpenedAt = c.ID, adpacer.AlertOpen, idTime(c.ID)
		}
	}
	if len(overflow) == 0 {
		if st.Status != adpacer.AlertOpen || st.CardID == "" {
			return nil
		}
		card, found, err := s.locate(ctx, cyc, st.CardID)
		if err != nil {
			return err
		}
		if found && !card.Closed {
			if err := s.kit.update(ctx, card.ID, trello.Arguments{"idList": s.kit.list(s.opts.Lists.Resolved), "pos": "top",
				"desc": s.rollupDesc(nil, now)}); err != nil {
				return err
			}
		}
		st.Status, st.ResolvedAt, st.Fingerprint = adpacer.AlertResolved, now, ""
		return s.put(ctx, prev, st, had)
	}
	sev := adpacer.SeverityInfo
	keys := make([]string, 0, len(overflow))
	for _, a := range overflow {
		if a.Severity.Rank() > sev.Rank() {
			sev = a.Severity
		}
		keys = append(keys, string(a.Severity)+" "+a.Key)
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	fp := hex.EncodeToString(sum[:8])
	name := fmt.Sprintf("%d more alerts (new-card cap of %d per cycle reached)", len(overflow), s.opts.MaxNewCards)
	desc := s.rollupDesc(overflow, now)

	var card *boardCard
	if st.CardID != "" {
		c, found, err := s.locate(ctx, cyc, st.CardID)
		if err != nil {
			return err
		}
		if found {
			card = c
		}
	}
	snooze := s.kit.label(s.opts.SnoozeLabel)
	silenced := card != nil && st.Status != adpacer.AlertResolved && (card.Closed || card.hasLabel(snooze))
	switch {
	case card == nil:
		labels := []string{}
		if id := s.kit.label(string(sev)); id != "" {
			labels = append(labels, id)
		}
		c := &trello.Card{Name: name, Desc: desc, IDList: s.kit.list(s.opts.Lists.Alerts), IDLabels: labels}
		if err := s.c.api(ctx).CreateCard(c, trello.Arguments{"pos": "top"}); err != nil {
			return s.c.wrap("create roll-up card", err)
		}
		st = adpacer.AlertState{Key: RollupKey, CardID: c.ID, Status: adpacer.AlertOpen, OpenedAt: now, UpdatedAt: now}
	case silenced && sev.Rank() <= st.Severity.Rank():
		// A person archived or snoozed the roll-up: it stays quiet (its
		// alerts still point at it) until the worst of them gets worse.
		st.Status, st.LastSeenAt = adpacer.AlertSnoozed, now
		if err := s.put(ctx, prev, st, had); err != nil {
			return err
		}
		return s.pointAtRollup(ctx, st.CardID, overflow, known, now)
	case silenced || st.Fingerprint != fp || st.Status != adpacer.AlertOpen || card.IDList == s.kit.list(s.opts.Lists.Resolved):
		args := trello.Arguments{"name": name, "desc": desc}
		if card.Closed {
			args["closed"] = "false"
		}
		if st.Status == adpacer.AlertResolved || silenced || card.IDList == s.kit.list(s.opts.Lists.Resolved) {
			args["idList"] = s.kit.list(s.opts.Lists.Alerts)
		}
		labels := []string{}
		for _, l := range card.IDLabels {
			if l != snooze && !s.isSeverityLabel(l) {
				labels = append(labels, l)
			}
		}
		if id := s.kit.label(string(sev)); id != "" {
			labels = append(labels, id)
		}
		args["idLabels"] = strings.Join(labels, ",")
		if err := s.kit.update(ctx, card.ID, args); err != nil {
			return err
		}
		st.UpdatedAt = now
	}
	st.Status, st.Fingerprint, st.Severity, st.LastSeenAt, st.ResolvedAt = adpacer.AlertOpen, fp, sev, now, time.Time{}
	if err := s.put(ctx, prev, st, had); err != nil {
		return err
	}
	return s.pointAtRollup(ctx, st.CardID, overflow, known, now)
}

// pointAtRollup records the roll-up card as the card of each overflowing
// alert, so they stay there (and do not each take a card next cycle) while
// they keep firing.
func (s *AlertSink) pointAtRollup(ctx context.Context, cardID string, overflow []adpacer.Alert, known map[string]adpacer.AlertState, now time.Time) error {
	var errs []error
	for _, a := range overflow {
		cur, had := known[a.Key]
		if !had {
			cur = adpacer.AlertState{Key: a.Key, OpenedAt: now}
		}
		next := cur
		next.CardID, next.Status, next.Severity, next.Fingerprint, next.LastSeenAt, next.HealthyCycles, next.ResolvedAt =
			cardID, adpacer.AlertOpen, a.Severity, a.Fingerprint, now, 0, time.Time{}
		if next.OpenedAt.IsZero() || cur.Status == adpacer.AlertResolved {
			next.OpenedAt = now
		}
		errs = append(errs, s.put(ctx, cur, next, had))
	}
	return errors.Join(errs...)
}

func (s *AlertSink) rollupDesc(overflow []adpacer.Alert, now time.Time) string {
	var b strings.Builder
	if len(overflow) == 0 {
		b.WriteString("**What happened:** every rolled-up alert has cleared.\n\n")
	} else {
		fmt.Fprintf(&b, "**What happened:** %d alerts fired beyond the cap of %d new cards per cycle. They are listed here instead of one card each, to keep the board readable.\n\n", len(overflow), s.opts.MaxNewCards)
		for i, a := range overflow {
			if i == 150 {
				fmt.Fprintf(&b, "- … and %d more (see the pacing dashboard)\n", len(overflow)-150)
				break
			}
			fmt.Fprintf(&b, "- [%s] %s\n", a.Severity, truncate(describeSubject(a), 200))
		}
		b.WriteString("\n**What to do:** start with the critical ones; look for a common cause (an upstream outage, a shared budget line).\n")
	}
	fmt.Fprintf(&b, "\nUpdated: %s\n\n---\n%s: %s\n", now.UTC().Format(time.RFC3339), AlertKeyMarker, RollupKey)
	return truncate(b.String(), 16000)
}
