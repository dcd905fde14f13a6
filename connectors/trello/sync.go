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
// deleteCard and moveCardFromBoard name cards that left the board: they are
// read like the others, and a 404 or another board's id marks them gone.
const cardActionTypes = "createCard,copyCard,convertToCardFromCheckItem,emailCard,moveCardToBoard,updateCard," +
	"addLabelToCard,removeLabelFromCard,addMemberToCard,removeMemberFromCard,updateCustomFieldItem," +
	"deleteCard,moveCardFromBoard"

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
	// KnownCards returns the cards the store holds for a board (the
	// daemon passes store.Store's Cards). The store only upserts, so a
	// card Trello deleted, or moved to a board this sync does not pull,
	// would stay open there forever: with KnownCards, every full pull (and
	// an incremental one that sees such a card) sends the store's copy of
	// each such card back with Closed=true. Without it, archived cards are
	// still learned (a full pull reads open and closed cards) but deleted
	// and moved-away ones are not.
	KnownCards func(ctx context.Context, boardID string) ([]adpacer.Card, error)
	Logger     *zap.Logger
}

// BoardSync pulls boards incrementally and implements connectors.BoardSource.
// A board whose dateLastActivity has not moved costs nothing beyond one
// /batch route per cycle; a changed board costs its lists, labels, members
// and custom-field definitions plus only the cards named by its actions
// since the last pull. Cursors are kept in memory: after a restart the
// first pull of each board is full. A full pull reads closed cards too, so
// a card archived while the daemon was down is stored closed; see
// SyncOptions.KnownCards for cards deleted or moved away.
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
	var gone [][]adpacer.Card // per batch in out
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
		batch, left, wasFull, err := s.pullBoard(ctx, head, cur, full)
		if err != nil {
			return nil, err
		}
		nc := boardCursor{lastActivity: head.DateLastActivity, lastFull: cur.lastFull}
		if wasFull {
			nc.lastFull = now
		}
		next[id] = nc
		out = append(out, batch)
		gone = append(gone, left)
	}
	// A card that left one pulled board for another is in that board's
	// batch: closing it here too would undo the move when the batches are
	// stored in order.
	pulled := map[string]bool{}
	for _, b := range out {
		for _, c := range b.Cards {
			pulled[c.ID] = true
		}
	}
	for i := range out {
		for _, c := range gone[i] {
			if !pulled[c.ID] {
				out[i].Cards = append(out[i].Cards, c)
			}
		}
		sort.Slice(out[i].Cards, func(a, b int) bool { return out[i].Cards[a].ID < out[i].Cards[b].ID })
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

// pullBoard reads one board. gone are the store's copies, closed, of cards
// that left the board (deleted or moved to another board); PullBoards adds
// them to the batch unless another board's batch holds them.
func (s *BoardSync) pullBoard(ctx context.Context, head boardHead, cur boardCursor, full bool) (batch adpacer.BoardBatch, gone []adpacer.Card, wasFull bool, err error) {
	b := func() *trello.Board { return s.c.board(ctx, head.ID) }
	batch = adpacer.BoardBatch{Board: adpacer.Board{ID: head.ID, Name: head.Name, Closed: head.Closed}}

	lists, err := b().GetLists(trello.Arguments{"filter": "all"})
	if err != nil {
		return batch, nil, false, s.c.wrap(fmt.Sprintf("lists of board %q", head.ID), err)
	}
	for _, l := range lists {
		batch.Lists = append(batch.Lists, adpacer.List{ID: l.ID, BoardID: head.ID, Name: l.Name, Closed: l.Closed, Pos: float64(l.Pos)})
	}
	labels, err := b().GetLabels()
	if err != nil {
		return batch, nil, false, s.c.wrap(fmt.Sprintf("labels of board %q", head.ID), err)
	}
	for _, l := range labels {
		batch.Labels = append(batch.Labels, adpacer.Label{ID: l.ID, BoardID: head.ID, Name: l.Name, Color: l.Color})
	}
	members, err := b().GetMembers()
	if err != nil {
		return batch, nil, false, s.c.wrap(fmt.Sprintf("members of board %q", head.ID), err)
	}
	for _, m := range members {
		batch.Members = append(batch.Members, adpacer.Member{ID: m.ID, Username: m.Username, FullName: m.FullName})
	}
	defs, err := b().GetCustomFields()
	if err != nil {
		return batch, nil, false, s.c.wrap(fmt.Sprintf("custom fields of board %q", head.ID), err)
	}

	var cards []*rawCard
	var left []string // ids of cards that left the board
	if !full {
		ids, complete, err := s.changedCards(ctx, head.ID, cur.lastActivity)
		if err != nil {
			return batch, nil, false, err
		}
		if complete && len(ids) <= s.opts.MaxChangedCards {
			cards, left, err = s.fetchCards(ctx, head.ID, ids)
			if err != nil {
				return batch, nil, false, err
			}
		} else {
			full = true
		}
	}
	if full {
		if cards, err = s.allCards(ctx, head.ID); err != nil {
			return batch, nil, false, err
		}
	}
	seen := make(map[string]bool, len(cards))
	for _, c := range cards {
		batch.Cards = append(batch.Cards, toCard(head.ID, c, defs))
		seen[c.ID] = true
	}
	sort.Slice(batch.Cards, func(i, j int) bool { return batch.Cards[i].ID < batch.Cards[j].ID })
	if full || len(left) > 0 {
		if gone, err = s.goneCards(ctx, head.ID, full, seen, left); err != nil {
			return batch, nil, false, err
		}
	}
	return batch, gone, full, nil
}

// goneCards returns the store's open cards of the board that left it, as
// the store holds them but closed: after a full pull, every one the pull
// did not list (it listed open and closed cards, so only deleted and
// moved-away cards are missing); after an incremental pull, those in left.
// The store's copy is sent rather than an id alone because the store
// upserts whole cards: a bare {ID, Closed} would blank the name and list
// the hours report still shows for time logged on the card.
func (s *BoardSync) goneCards(ctx context.Context, boardID string, full bool, seen map[string]bool, left []string) ([]adpacer.Card, error) {
	if s.opts.KnownCards == nil {
		return nil, nil
	}
	known, err := s.opts.KnownCards(ctx, boardID)
	if err != nil {
		return nil, fmt.Errorf("trello: stored cards of board %q: %w", boardID, err)
	}
	leftSet := make(map[string]bool, len(left))
	for _, id := range left {
		leftSet[id] = true
	}
	var out []adpacer.Card
	for _, c := range known {
		if c.Closed || (c.BoardID != "" && c.BoardID != boardID) || seen[c.ID] {
			continue
		}
		if full || leftSet[c.ID] {
			c.Closed, c.BoardID = true, boardID
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		s.opts.Logger.Info("cards left the board; closing them in the store",
			zap.String("board", boardID), zap.Int("cards", len(out)), zap.Bool("full", full))
	}
	return out, nil
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

// fetchCards reads cards ten per /batch request. left names the cards that
// are no longer on the board: deleted (404; Trello deletes are final) or
// moved to a board this sync does not pull. A card moved to a pulled board
// is that board's to report.
func (s *BoardSync) fetchCards(ctx context.Context, boardID string, ids []string) (out []*rawCard, left []string, err error) {
	routes := make([]string, len(ids))
	for i, id := range ids {
		routes[i] = "/cards/" + url.PathEscape(id) + "?customFieldItems=true&fields=" + cardFields
	}
	res, err := s.c.Batch(ctx, routes)
	if err != nil {
		return nil, nil, fmt.Errorf("trello: changed cards of board %q: %w", boardID, err)
	}
	for i, r := range res {
		switch r.Status {
		case http.StatusOK:
		case http.StatusNotFound:
			s.opts.Logger.Debug("changed card is gone", zap.String("board", boardID), zap.String("card", ids[i]))
			left = append(left, ids[i])
			continue
		default:
			return nil, nil, fmt.Errorf("trello: card %q of board %q: HTTP %d: %s", ids[i], boardID, r.Status, s.c.scrub(string(r.Body)))
		}
		var c rawCard
		if err := json.Unmarshal(r.Body, &c); err != nil {
			return nil, nil, fmt.Errorf("trello: decode card %q of board %q: %w", ids[i], boardID, err)
		}
		if c.IDBoard != "" && c.IDBoard != boardID {
			if !s.pulls(c.IDBoard) {
				left = append(left, c.ID)
			}
			continue
		}
		out = append(out, &c)
	}
	return out, left, nil
}

// pulls reports whether boardID is one of the boards this sync pulls.
func (s *BoardSync) pulls(boardID string) bool {
	for _, id := range s.opts.Boards {
		if id == boardID {
			return true
		}
	}
	return false
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

// allCards pages through a board's cards, open and archived: the store only
// upserts, so a card archived while no incremental pull saw it (the daemon
// was down, or the action feed was cut) is marked closed only if a full
// pull returns it. Archived cards cost pages (1000 per request), not
// requests per card.
func (s *BoardSync) allCards(ctx context.Context, boardID string) ([]*rawCard, error) {
	q := url.Values{"fields": {cardFields}, "customFieldItems": {"true"}, "filter": {"all"}}
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
