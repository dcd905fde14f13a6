package trello

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adlio/trello"
	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
)

// cardFields are the card fields adpacer keeps (plus idBoard for checks).
const cardFields = "name,desc,idList,idLabels,idMembers,due,dueComplete,dateLastActivity,closed,shortUrl,idBoard"

// cardActionTypes are the board actions that change a card adpacer keeps.
const cardActionTypes = "createCard,copyCard,convertToCardFromCheckItem,emailCard,moveCardToBoard,updateCard," +
	"addLabelToCard,removeLabelFromCard,addMemberToCard,removeMemberFromCard,updateCustomFieldItem"

// SyncOptions configure a BoardSync.
type SyncOptions struct {
	// Boards are the board ids to pull (at least one).
	Boards []string
	// FullEvery forces a full card pull this long after the last one, to
	// repair anything the action feed missed (default 24h).
	FullEvery time.Duration
	// MaxChangedCards: above this many changed cards a full pull is cheaper
	// than fetching them ten per /batch request (default 300).
	MaxChangedCards int
	Logger          *zap.Logger
}

// BoardSync pulls boards incrementally and implements connectors.BoardSource.
// A board whose dateLastActivity has not moved costs nothing beyond one
// /batch route per cycle; a changed board costs its lists, labels, members
// and custom-field definitions plus only the cards named by its actions
// since the last pull. Cursors are kept in memory: after a restart the
// first pull of each board is full.
type BoardSync struct {
	c    *Client
	opts SyncOptions

	mu      sync.Mutex
	cursors map[string]boardCursor
}

type boardCursor struct {
	lastActivity time.Time
	lastFull     time.Time
}

var _ connectors.BoardSource = (*BoardSync)(nil)

// NewBoardSync validates opts and builds a BoardSync.
func NewBoardSync(c *Client, opts SyncOptions) (*BoardSync, error) {
	if c == nil {
		return nil, errors.New("trello: board sync needs a client")
	}
	if len(opts.Boards) == 0 {
		return nil, errors.New("trello: sync boards is empty (list the ids of the boards to pull)")
	}
	seen := map[string]bool{}
	for i, id := range opts.Boards {
		if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "/?#,") {
			return nil, fmt.Errorf("trello: sync boards[%d] %q is not a board id", i, id)
		}
		if seen[id] {
			return nil, fmt.Errorf("trello: sync boards[%d] %q is listed twice", i, id)
		}
		seen[id] = true
	}
	if opts.FullEvery == 0 {
		opts.FullEvery = 24 * time.Hour
	}
	if opts.MaxChangedCards == 0 {
		opts.MaxChangedCards = 300
	}
	if opts.FullEvery < 0 || opts.MaxChangedCards < 0 {
		return nil, errors.New("trello: sync FullEvery and MaxChangedCards must not be negative")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &BoardSync{c: c, opts: opts, cursors: map[string]boardCursor{}}, nil
}

type boardHead struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Closed           bool      `json:"closed"`
	DateLastActivity time.Time `json:"dateLastActivity"`
}

// PullBoards returns one batch per board that changed since the last pull.
// It is all-or-nothing: on error it returns no batches and keeps the old
// cursors, so a failed pull is simply repeated. The cursors are kept in
// memory and advance when PullBoards succeeds; if the caller then fails to
// store the batches it must call ForgetCursors, or the changes they held
// would only come back with the next full pull.
func (s *BoardSync) PullBoards(ctx context.Context) ([]adpacer.BoardBatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	routes := make([]string, len(s.opts.Boards))
	for i, id := range s.opts.Boards {
		routes[i] = "/boards/" + url.PathEscape(id) + "?fields=name,closed,dateLastActivity"
	}
	heads, err := s.c.Batch(ctx, routes)
	if err != nil {
		return nil, fmt.Errorf("trello: read board heads: %w", err)
	}
	var out []adpacer.BoardBatch
	next := map[string]boardCursor{}
	for i, id := range s.opts.Boards {
		h := heads[i]
		if h.Status != http.StatusOK {
			return nil, fmt.Errorf("trello: read board %q: HTTP %d: %s", id, h.Status, s.c.scrub(string(h.Body)))
		}
		var head boardHead
		if err := json.Unmarshal(h.Body, &head); err != nil {
			return nil, fmt.Errorf("trello: decode board %q: %w", id, err)
		}
		now := s.c.clock.Now()
		cur, known := s.cursors[id]
		full := !known || now.Sub(cur.lastFull) >= s.opts.FullEvery
		if !full && head.DateLastActivity.Equal(cur.lastActivity) {
			continue
		}
		batch, wasFull, err := s.pullBoard(ctx, head, cur, full)
		if err != nil {
			return nil, err
		}
		nc := boardCursor{lastActivity: head.DateLastActivity, lastFull: cur.lastFull}
		if wasFull {
			nc.lastFull = now
		}
		next[id] = nc
		out = append(out, batch)
	}
	for id, c := range next {
		s.cursors[id] = c
	}
	return out, nil
}

// ForgetCursors makes the next PullBoards a full pull of every board. Call
// it when the batches of the last PullBoards could not be stored.
func (s *BoardSync) ForgetCursors() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursors = map[string]boardCursor{}
}

func (s *BoardSync) pullBoard(ctx context.Context, head boardHead, cur boardCursor, full bool) (adpacer.BoardBatch, bool, error) {
	b := func() *trello.Board { return s.c.board(ctx, head.ID) }
	batch := adpacer.BoardBatch{Board: adpacer.Board{ID: head.ID, Name: head.Name, Closed: head.Closed}}

	lists, err := b().GetLists(trello.Arguments{"filter": "all"})
	if err != nil {
		return batch, false, s.c.wrap(fmt.Sprintf("lists of board %q", head.ID), err)
	}
	for _, l := range lists {
		batch.Lists = append(batch.Lists, adpacer.List{ID: l.ID, BoardID: head.ID, Name: l.Name, Closed: l.Closed, Pos: float64(l.Pos)})
	}
	labels, err := b().GetLabels()
	if err != nil {
		return batch, false, s.c.wrap(fmt.Sprintf("labels of board %q", head.ID), err)
	}
	for _, l := range labels {
		batch.Labels = append(batch.Labels, adpacer.Label{ID: l.ID, BoardID: head.ID, Name: l.Name, Color: l.Color})
	}
	members, err := b().GetMembers()
	if err != nil {
		return batch, false, s.c.wrap(fmt.Sprintf("members of board %q", head.ID), err)
	}
	for _, m := range members {
		batch.Members = append(batch.Members, adpacer.Member{ID: m.ID, Username: m.Username, FullName: m.FullName})
	}
	defs, err := b().GetCustomFields()
	if err != nil {
		return batch, false, s.c.wrap(fmt.Sprintf("custom fields of board %q", head.ID), err)
	}

	var cards []*rawCard
	if !full {
		ids, complete, err := s.changedCards(ctx, head.ID, cur.lastActivity)
		if err != nil {
			return batch, false, err
		}
		if complete && len(ids) <= s.opts.MaxChangedCards {
			cards, err = s.fetchCards(ctx, head.ID, ids)
			if err != nil {
				return batch, false, err
			}
		} else {
			full = true
		}
	}
	if full {
		if cards, err = s.allCards(ctx, head.ID); err != nil {
			return batch, false, err
		}
	}
	for _, c := range cards {
		batch.Cards = append(batch.Cards, toCard(head.ID, c, defs))
	}
	sort.Slice(batch.Cards, func(i, j int) bool { return batch.Cards[i].ID < batch.Cards[j].ID })
	return batch, full, nil
}

// changedCards lists the cards named by board actions after since. complete
// is false when the feed was cut at its 1000-action page, so the caller
// falls back to a full pull instead of missing changes.
func (s *BoardSync) changedCards(ctx context.Context, boardID string, since time.Time) ([]string, bool, error) {
	actions, err := s.c.board(ctx, boardID).GetActions(trello.Arguments{"filter": cardActionTypes, "since": since.UTC().Format(time.RFC3339Nano), "limit": "1000"})
	if err != nil {
		return nil, false, s.c.wrap(fmt.Sprintf("actions of board %q", boardID), err)
	}
	seen := map[string]bool{}
	var ids []string
	for _, a := range actions {
		if a.Data == nil || a.Data.Card == nil || a.Data.Card.ID == "" || seen[a.Data.Card.ID] {
			continue
		}
		seen[a.Data.Card.ID] = true
		ids = append(ids, a.Data.Card.ID)
	}
	sort.Strings(ids)
	return ids, len(actions) < 1000, nil
}

// fetchCards reads cards ten per /batch request. A card deleted since its
// action (404) is skipped: Trello deletes are final and the store keeps
// what it last saw.
func (s *BoardSync) fetchCards(ctx context.Context, boardID string, ids []string) ([]*rawCard, error) {
	routes := make([]string, len(ids))
	for i, id := range ids {
		routes[i] = "/cards/" + url.PathEscape(id) + "?customFieldItems=true&fields=" + cardFields
	}
	res, err := s.c.Batch(ctx, routes)
	if err != nil {
		return nil, fmt.Errorf("trello: changed cards of board %q: %w", boardID, err)
	}
	var out []*rawCard
	for i, r := range res {
		switch r.Status {
		case http.StatusOK:
		case http.StatusNotFound:
			s.opts.Logger.Debug("changed card is gone", zap.String("board", boardID), zap.String("card", ids[i]))
			continue
		default:
			return nil, fmt.Errorf("trello: card %q of board %q: HTTP %d: %s", ids[i], boardID, r.Status, s.c.scrub(string(r.Body)))
		}
		var c rawCard
		if err := json.Unmarshal(r.Body, &c); err != nil {
			return nil, fmt.Errorf("trello: decode card %q of board %q: %w", ids[i], boardID, err)
		}
		if c.IDBoard != "" && c.IDBoard != boardID {
			continue // moved to another board; that board's pull owns it now
		}
		out = append(out, &c)
	}
	return out, nil
}

// rawCard is a card as Trello sends it. Cards are read with raw HTTP
// rather than adlio's Card because adlio decodes custom-field numbers into
// int/float64; adpacer keeps the exact decimal string (money may live there).
type rawCard struct {
	ID               string     `json:"id"`
	IDBoard          string     `json:"idBoard"`
	IDList           string     `json:"idList"`
	Name             string     `json:"name"`
	Desc             string     `json:"desc"`
	IDLabels         []string   `json:"idLabels"`
	IDMembers        []string   `json:"idMembers"`
	Due              *time.Time `json:"due"`
	DueComplete      bool       `json:"dueComplete"`
	DateLastActivity *time.Time `json:"dateLastActivity"`
	Closed           bool       `json:"closed"`
	ShortURL         string     `json:"shortUrl"`
	CustomFieldItems []rawItem  `json:"customFieldItems"`
}

type rawItem struct {
	IDCustomField string            `json:"idCustomField"`
	IDValue       string            `json:"idValue"`
	Value         map[string]string `json:"value"`
}

// cardsPage is the page size asked of GET /boards/{id}/cards (Trello's
// maximum limit).
const cardsPage = 1000

// allCards pages through a board's open cards.
func (s *BoardSync) allCards(ctx context.Context, boardID string) ([]*rawCard, error) {
	q := url.Values{"fields": {cardFields}, "customFieldItems": {"true"}, "filter": {"open"}}
	return boardCards(ctx, s.c, boardID, fmt.Sprintf("cards of board %q", boardID), q, func(c *rawCard) string { return c.ID })
}

// boardCards pages through GET /boards/{id}/cards with query q the way
// adlio does: before = the earliest id seen, until a short page. what names
// the read in errors.
func boardCards[T any](ctx context.Context, c *Client, boardID, what string, q url.Values, id func(T) string) ([]T, error) {
	var out []T
	before := ""
	for {
		pq := url.Values{"limit": {strconv.Itoa(cardsPage)}}
		for k, v := range q {
			pq[k] = v
		}
		if before != "" {
			pq.Set("before", before)
		}
		var page []T
		if err := c.raw(ctx, what, http.MethodGet, "boards/"+url.PathEscape(boardID)+"/cards", pq, nil, 1, &page); err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return out, nil
		}
		earliest := id(page[0])
		for _, card := range page {
			if cid := id(card); cid < earliest {
				earliest = cid
			}
		}
		if before != "" && earliest >= before {
			return nil, fmt.Errorf("trello: cards of board %q: paging did not move past %q", boardID, before)
		}
		out = append(out, page...)
		if len(page) < cardsPage {
			return out, nil // a short page is the last one
		}
		before = earliest
	}
}

func toCard(boardID string, c *rawCard, defs []*trello.CustomField) adpacer.Card {
	out := adpacer.Card{
		ID: c.ID, BoardID: boardID, ListID: c.IDList, Name: c.Name, Desc: c.Desc,
		LabelIDs: c.IDLabels, MemberIDs: c.IDMembers, DueComplete: c.DueComplete, Closed: c.Closed, ShortURL: c.ShortURL,
	}
	if c.Due != nil {
		d := c.Due.UTC()
		out.Due = &d
	}
	if c.DateLastActivity != nil {
		out.LastActivity = c.DateLastActivity.UTC()
	}
	if len(c.CustomFieldItems) > 0 {
		out.CustomFields = map[string]string{}
		for _, it := range c.CustomFieldItems {
			out.CustomFields[it.IDCustomField] = itemText(it, defs)
		}
	}
	return out
}

// itemText renders a custom field value as text: the option's text for
// list fields, the exact string Trello sent otherwise.
func itemText(it rawItem, defs []*trello.CustomField) string {
	if it.IDValue != "" {
		for _, d := range defs {
			if d.ID != it.IDCustomField {
				continue
			}
			for _, o := range d.Options {
				if o.ID == it.IDValue {
					return o.Value.Text
				}
			}
		}
		return it.IDValue
	}
	for _, k := range []string{"text", "number", "date", "checked"} {
		if v, ok := it.Value[k]; ok {
			return v
		}
	}
	return ""
}
