package trello

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/adlio/trello"
)

// ListNames are the lists adpacer works with on its board; missing ones are
// created.
type ListNames struct {
	Alerts, Resolved, Approvals, Approved, Rejected string
}

func (n ListNames) withDefaults() ListNames {
	def := func(v, d string) string {
		if strings.TrimSpace(v) == "" {
			return d
		}
		return v
	}
	return ListNames{
		Alerts: def(n.Alerts, "Alerts"), Resolved: def(n.Resolved, "Resolved"),
		Approvals: def(n.Approvals, "Approvals"), Approved: def(n.Approved, "Approved"), Rejected: def(n.Rejected, "Rejected"),
	}
}

func (n ListNames) all() []string {
	return []string{n.Alerts, n.Resolved, n.Approvals, n.Approved, n.Rejected}
}

func (n ListNames) validate() error {
	seen := map[string]bool{}
	for _, v := range n.all() {
		if seen[v] {
			return fmt.Errorf("trello: list name %q is used twice (Alerts, Resolved, Approvals, Approved and Rejected must differ)", v)
		}
		seen[v] = true
	}
	return nil
}

// Label names and colours adpacer creates once per board.
const (
	LabelCritical = "critical"
	LabelWarning  = "warning"
	LabelInfo     = "info"
)

// boardKit resolves list, label and member ids of one board, creating the
// lists and labels adpacer needs the first time. Safe for concurrent use.
type boardKit struct {
	c       *Client
	boardID string
	lists   []string          // lists to ensure
	labels  map[string]string // name -> colour to ensure

	mu        sync.Mutex
	ready     bool
	listIDs   map[string]string // name -> id
	labelIDs  map[string]string // name -> id
	members   map[string]string // username -> id
	usernames map[string]string // id -> username
	membersAt time.Time
}

// newBoardKit ensures lists and labels on boardID. AlertSink and Approvals
// ensure disjoint sets, so two of them starting at once on one board cannot
// both create the same list or label.
func newBoardKit(c *Client, boardID string, lists []string, labels map[string]string) *boardKit {
	return &boardKit{c: c, boardID: boardID, lists: lists, labels: labels}
}

// setup fetches lists, labels and members once and creates what is missing.
func (k *boardKit) setup(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ready {
		return nil
	}
	lists, err := k.c.board(ctx, k.boardID).GetLists(trello.Arguments{"filter": "open"})
	if err != nil {
		return k.c.wrap(fmt.Sprintf("lists of board %q", k.boardID), err)
	}
	k.listIDs = map[string]string{}
	for _, l := range lists {
		if _, dup := k.listIDs[l.Name]; !dup {
			k.listIDs[l.Name] = l.ID
		}
	}
	for _, name := range k.lists {
		if _, ok := k.listIDs[name]; ok {
			continue
		}
		l, err := k.c.api(ctx).CreateList(&trello.Board{ID: k.boardID}, name, trello.Arguments{"pos": "bottom"})
		if err != nil {
			return k.c.wrap(fmt.Sprintf("create list %q on board %q", name, k.boardID), err)
		}
		k.listIDs[name] = l.ID
	}
	labels, err := k.c.board(ctx, k.boardID).GetLabels()
	if err != nil {
		return k.c.wrap(fmt.Sprintf("labels of board %q", k.boardID), err)
	}
	k.labelIDs = map[string]string{}
	for _, l := range labels {
		if _, dup := k.labelIDs[l.Name]; !dup && l.Name != "" {
			k.labelIDs[l.Name] = l.ID
		}
	}
	for name, color := range k.labels {
		if _, ok := k.labelIDs[name]; ok {
			continue
		}
		l := &trello.Label{Name: name, Color: color}
		if err := k.c.board(ctx, k.boardID).CreateLabel(l); err != nil {
			return k.c.wrap(fmt.Sprintf("create label %q on board %q", name, k.boardID), err)
		}
		k.labelIDs[name] = l.ID
	}
	if err := k.loadMembersLocked(ctx); err != nil {
		return err
	}
	k.ready = true
	return nil
}

func (k *boardKit) loadMembersLocked(ctx context.Context) error {
	ms, err := k.c.board(ctx, k.boardID).GetMembers()
	if err != nil {
		return k.c.wrap(fmt.Sprintf("members of board %q", k.boardID), err)
	}
	k.members, k.usernames = map[string]string{}, map[string]string{}
	for _, m := range ms {
		k.members[strings.ToLower(m.Username)] = m.ID
		k.usernames[m.ID] = m.Username
	}
	k.membersAt = k.c.clock.Now()
	return nil
}

// memberID resolves a username (or a member id) to a board member id. An
// unknown name re-reads the members at most once per minute.
func (k *boardKit) memberID(ctx context.Context, owner string) (string, bool, error) {
	owner = strings.TrimPrefix(strings.TrimSpace(owner), "@")
	if owner == "" {
		return "", false, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	look := func() (string, bool) {
		if id, ok := k.members[strings.ToLower(owner)]; ok {
			return id, true
		}
		if _, ok := k.usernames[owner]; ok {
			return owner, true
		}
		return "", false
	}
	if id, ok := look(); ok {
		return id, true, nil
	}
	if k.c.clock.Now().Sub(k.membersAt) < time.Minute {
		return "", false, nil
	}
	if err := k.loadMembersLocked(ctx); err != nil {
		return "", false, err
	}
	id, ok := look()
	return id, ok, nil
}

func (k *boardKit) list(name string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.listIDs[name]
}

func (k *boardKit) label(name string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.labelIDs[name]
}

func (k *boardKit) username(id string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.usernames[id]
}

// boardCard is the part of a card the alert and approval logic reads.
type boardCard struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Desc             string     `json:"desc"`
	IDList           string     `json:"idList"`
	IDLabels         []string   `json:"idLabels"`
	IDMembers        []string   `json:"idMembers"`
	Closed           bool       `json:"closed"`
	Due              *time.Time `json:"due"`
	DateLastActivity time.Time  `json:"dateLastActivity"`
}

func (c *boardCard) hasLabel(id string) bool {
	if id == "" {
		return false
	}
	for _, l := range c.IDLabels {
		if l == id {
			return true
		}
	}
	return false
}

const boardCardFields = "name,desc,idList,idLabels,idMembers,closed,due,dateLastActivity"

// cards reads the board's cards with filter open or closed, newest first,
// paging by 1000.
func (k *boardKit) cards(ctx context.Context, filter string) ([]*boardCard, error) {
	q := url.Values{"fields": {boardCardFields}, "filter": {filter}}
	return boardCards(ctx, k.c, k.boardID, fmt.Sprintf("%s cards of board %q", filter, k.boardID), q, func(c *boardCard) string { return c.ID })
}

// card reads one card; found is false when Trello says 404.
func (k *boardKit) card(ctx context.Context, id string) (*boardCard, bool, error) {
	var c boardCard
	err := k.c.raw(ctx, fmt.Sprintf("card %q", id), http.MethodGet, "cards/"+url.PathEscape(id),
		url.Values{"fields": {boardCardFields}}, nil, 1, &c)
	if IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &c, true, nil
}

// markerValue finds "<prefix>: value" on a line of a description.
func markerValue(desc, prefix string) string {
	for _, line := range strings.Split(desc, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, prefix+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// truncate keeps text within Trello's 16384-character limit.
func truncate(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}

// update sends PUT /cards/{id} with args through adlio.
func (k *boardKit) update(ctx context.Context, cardID string, args trello.Arguments) error {
	c := &trello.Card{ID: cardID}
	c.SetClient(k.c.api(ctx))
	if err := c.Update(args); err != nil {
		return k.c.wrap(fmt.Sprintf("update card %q", cardID), err)
	}
	return nil
}

func (k *boardKit) comment(ctx context.Context, cardID, text string) error {
	c := &trello.Card{ID: cardID}
	c.SetClient(k.c.api(ctx))
	if _, err := c.AddComment(truncate(text, 16000)); err != nil {
		return k.c.wrap(fmt.Sprintf("comment on card %q", cardID), err)
	}
	return nil
}
