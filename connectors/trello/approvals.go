package trello

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/adlio/trello"
	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
)

// Markers on approval cards.
const (
	ActionKeyMarker     = "adpacer-action-key"
	actionExpiresMarker = "adpacer-action-expires"
)

// Verdict is a manager's answer to an approval card.
type Verdict string

// Verdicts.
const (
	VerdictApproved Verdict = "approved"
	VerdictRejected Verdict = "rejected"
	VerdictExpired  Verdict = "expired"
)

// Decision is one answered (or expired) approval. By is the Trello username
// of the member who moved the card or added the label; empty on expiry.
type Decision struct {
	Key     adpacer.ActionKey
	Verdict Verdict
	By      string
	At      time.Time
	CardID  string
}

// ApprovalOptions configure Approvals. BoardID is required.
type ApprovalOptions struct {
	BoardID string
	Lists   ListNames
	// ApprovedLabel on a card approves it like a move to Approved (default "approved").
	ApprovedLabel string
	// Expiry: an approval not given within it expires (default 24h).
	Expiry time.Duration
	// Approvers, when set, are the only usernames whose decisions count;
	// moves by anyone else are ignored (and logged).
	Approvers []string
	Clock     func() time.Time
	Logger    *zap.Logger
}

// Approvals turns actions that need a person's consent into cards in the
// Approvals list and reads the decisions back from the board.
type Approvals struct {
	c    *Client
	opts ApprovalOptions
	kit  *boardKit
	log  *zap.Logger

	mu       sync.Mutex
	reported map[adpacer.ActionKey]Verdict // decisions already returned by Decisions
}

// NewApprovals validates opts and builds Approvals.
func NewApprovals(c *Client, opts ApprovalOptions) (*Approvals, error) {
	if c == nil {
		return nil, errors.New("trello: approvals need a client")
	}
	if strings.TrimSpace(opts.BoardID) == "" {
		return nil, errors.New("trello: approvals board id is empty (set the id of the board approval cards go to)")
	}
	opts.Lists = opts.Lists.withDefaults()
	if err := opts.Lists.validate(); err != nil {
		return nil, err
	}
	if opts.ApprovedLabel == "" {
		opts.ApprovedLabel = "approved"
	}
	if opts.Expiry == 0 {
		opts.Expiry = 24 * time.Hour
	}
	if opts.Expiry < 0 {
		return nil, fmt.Errorf("trello: approvals expiry %s must be positive", opts.Expiry)
	}
	for i, u := range opts.Approvers {
		if strings.TrimSpace(strings.TrimPrefix(u, "@")) == "" {
			return nil, fmt.Errorf("trello: approvals approvers[%d] is empty", i)
		}
	}
	if opts.Clock == nil {
		opts.Clock = c.clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	labels := map[string]string{opts.ApprovedLabel: "green"}
	return &Approvals{c: c, opts: opts, log: opts.Logger, reported: map[adpacer.ActionKey]Verdict{},
		kit: newBoardKit(c, opts.BoardID, []string{opts.Lists.Approvals, opts.Lists.Approved, opts.Lists.Rejected}, labels)}, nil
}

func (p *Approvals) findCard(ctx context.Context, key adpacer.ActionKey, withClosed bool) (*boardCard, error) {
	filters := []string{"open"}
	if withClosed {
		filters = append(filters, "closed")
	}
	for _, f := range filters {
		cards, err := p.kit.cards(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, c := range cards {
			if markerValue(c.Desc, ActionKeyMarker) == string(key) {
				return c, nil
			}
		}
	}
	return nil, nil
}

// Request opens an approval card for a (once: a card with the same action
// key, open or archived, means it was already requested).
func (p *Approvals) Request(ctx context.Context, a adpacer.Action, detail string) error {
	if strings.TrimSpace(string(a.Key)) == "" || strings.ContainsAny(string(a.Key), "\r\n") {
		return fmt.Errorf("trello: approval request: action key %q is empty or has a line break", a.Key)
	}
	if err := p.kit.setup(ctx); err != nil {
		return err
	}
	existing, err := p.findCard(ctx, a.Key, true)
	if err != nil {
		return err
	}
	if existing != nil {
		return nil
	}
	now := p.opts.Clock().UTC()
	expires := now.Add(p.opts.Expiry)
	card := &trello.Card{
		Name:   truncate("Approve: "+proposal(a), 500),
		Desc:   p.describe(a, detail, expires),
		IDList: p.kit.list(p.opts.Lists.Approvals),
		Due:    &expires,
	}
	if err := p.c.api(ctx).CreateCard(card, trello.Arguments{"pos": "bottom"}); err != nil {
		return p.c.wrap(fmt.Sprintf("create approval card %q", a.Key), err)
	}
	return nil
}

// proposal says the change in words.
func proposal(a adpacer.Action) string {
	from := func() string {
		if a.Previous == nil {
			return ""
		}
		return " from " + a.Previous.String()
	}
	switch a.Kind {
	case adpacer.SetDailyBudget:
		return fmt.Sprintf("set daily budget of %s%s to %s", a.Campaign, from(), valueOf(a.Value))
	case adpacer.SetBid:
		return fmt.Sprintf("set bid of %s%s to %s", a.Campaign, from(), valueOf(a.Value))
	case adpacer.Pause:
		return fmt.Sprintf("pause %s", a.Campaign)
	case adpacer.Resume:
		return fmt.Sprintf("resume %s", a.Campaign)
	}
	return fmt.Sprintf("%s on %s", a.Kind, a.Campaign)
}

func valueOf(m *adpacer.Micros) string {
	if m == nil {
		return "(none)"
	}
	return m.String()
}

func (p *Approvals) describe(a adpacer.Action, detail string, expires time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Proposed change:** %s\n\n", proposal(a))
	if a.Line != "" {
		fmt.Fprintf(&b, "**Budget line:** %s\n\n", a.Line)
	}
	if r := strings.TrimSpace(a.Reason); r != "" {
		fmt.Fprintf(&b, "**Reason:** %s\n\n", r)
	}
	if d := strings.TrimSpace(detail); d != "" {
		b.WriteString(truncate(d, 12000) + "\n\n")
	}
	fmt.Fprintf(&b, "**How to decide:** move this card to \"%s\" (or add the label \"%s\") to release the change; move it to \"%s\" to discard it. Without a decision it expires at %s and is not applied.\n\n---\n",
		p.opts.Lists.Approved, p.opts.ApprovedLabel, p.opts.Lists.Rejected, expires.Format(time.RFC3339))
	fmt.Fprintf(&b, "%s: %s\n%s: %s\n", ActionKeyMarker, a.Key, actionExpiresMarker, expires.Format(time.RFC3339))
	return b.String()
}

// cardAction is a card action as Trello sends it; adlio's ActionData has no
// label, which "added the approved label" needs.
type cardAction struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	Date          time.Time `json:"date"`
	MemberCreator *struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"memberCreator"`
	Data struct {
		ListAfter *struct {
			ID string `json:"id"`
		} `json:"listAfter"`
		Label *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"label"`
	} `json:"data"`
}

// Decisions returns approvals decided (or expired) since the last call.
// Each decision is reported once per process; its card stays on the board
// until Close, so after a restart an unclosed decision is reported again
// and the ledger keeps the change from applying twice.
func (p *Approvals) Decisions(ctx context.Context) ([]Decision, error) {
	if err := p.kit.setup(ctx); err != nil {
		return nil, err
	}
	cards, err := p.kit.cards(ctx, "open")
	if err != nil {
		return nil, err
	}
	now := p.opts.Clock().UTC()
	approved, rejected := p.kit.list(p.opts.Lists.Approved), p.kit.list(p.opts.Lists.Rejected)
	label := p.kit.label(p.opts.ApprovedLabel)
	var out []Decision
	var errs []error
	for _, c := range cards {
		key := adpacer.ActionKey(markerValue(c.Desc, ActionKeyMarker))
		if key == "" {
			continue
		}
		p.mu.Lock()
		_, done := p.reported[key]
		p.mu.Unlock()
		if done {
			continue
		}
		expires, err := time.Parse(time.RFC3339, markerValue(c.Desc, actionExpiresMarker))
		if err != nil {
			// Someone edited the marker away: the safe reading is "not approved".
			expires = idTime(c.ID).Add(p.opts.Expiry)
		}
		var d *Decision
		if c.IDList == approved || c.IDList == rejected || c.hasLabel(label) {
			d, err = p.decided(ctx, c, key, approved, rejected, label, expires)
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if d == nil && now.After(expires) {
			d = &Decision{Key: key, Verdict: VerdictExpired, At: expires, CardID: c.ID}
		}
		if d == nil {
			continue
		}
		p.mu.Lock()
		p.reported[key] = d.Verdict
		p.mu.Unlock()
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, errors.Join(errs...)
}

// decided finds who moved the card (or labelled it) from its actions.
func (p *Approvals) decided(ctx context.Context, c *boardCard, key adpacer.ActionKey, approved, rejected, label string, expires time.Time) (*Decision, error) {
	var acts []cardAction
	q := url.Values{"filter": {"updateCard:idList,addLabelToCard"}, "limit": {"50"}}
	if err := p.c.raw(ctx, fmt.Sprintf("actions of approval card %q", c.ID), http.MethodGet,
		"cards/"+url.PathEscape(c.ID)+"/actions", q, nil, 1, &acts); err != nil {
		return nil, err
	}
	// Newest first: the latest move or label decides.
	for _, a := range acts {
		var v Verdict
		switch {
		case a.Type == "updateCard" && a.Data.ListAfter != nil && a.Data.ListAfter.ID == approved && c.IDList == approved:
			v = VerdictApproved
		case a.Type == "updateCard" && a.Data.ListAfter != nil && a.Data.ListAfter.ID == rejected && c.IDList == rejected:
			v = VerdictRejected
		case a.Type == "addLabelToCard" && a.Data.Label != nil && a.Data.Label.ID == label && c.IDList != rejected:
			v = VerdictApproved
		default:
			continue
		}
		if a.MemberCreator == nil || a.MemberCreator.Username == "" {
			continue
		}
		by := a.MemberCreator.Username
		if !p.allowed(by) {
			p.log.Warn("approval decision by a member who is not an approver ignored",
				zap.String("key", string(key)), zap.String("by", by))
			return nil, nil
		}
		if v == VerdictApproved && a.Date.After(expires) {
			return &Decision{Key: key, Verdict: VerdictExpired, By: by, At: a.Date.UTC(), CardID: c.ID}, nil
		}
		return &Decision{Key: key, Verdict: v, By: by, At: a.Date.UTC(), CardID: c.ID}, nil
	}
	p.log.Warn("approval card is in a decision list but no member's move or label was found",
		zap.String("key", string(key)), zap.String("card", c.ID))
	return nil, nil
}

func (p *Approvals) allowed(username string) bool {
	if len(p.opts.Approvers) == 0 {
		return true
	}
	for _, u := range p.opts.Approvers {
		if strings.EqualFold(strings.TrimPrefix(u, "@"), username) {
			return true
		}
	}
	return false
}

// Close comments the outcome on the approval card and archives it. Closing
// an already archived card is a no-op; an unknown key is an error.
func (p *Approvals) Close(ctx context.Context, key adpacer.ActionKey, outcome string) error {
	c, err := p.findCard(ctx, key, true)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("trello: close approval %q: no card carries this action key", key)
	}
	if c.Closed {
		return nil
	}
	if strings.TrimSpace(outcome) == "" {
		outcome = "closed"
	}
	if err := p.kit.comment(ctx, c.ID, "Outcome: "+outcome); err != nil {
		return err
	}
	return p.kit.update(ctx, c.ID, trello.Arguments{"closed": "true"})
}
