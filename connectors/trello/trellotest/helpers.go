package trellotest

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Helpers that seed and inspect the fake directly (tests and the demo).
// They record actions exactly as the API routes do, so "who moved the card"
// is visible to clients reading actions.

func (s *Server) newBoard(name, creatorID string) *board {
	b := &board{ID: s.newID(), Name: name, LastActivity: s.now()}
	if creatorID != "" {
		b.Members = append(b.Members, creatorID)
	}
	s.boards[b.ID] = b
	return b
}

func (s *Server) newList(b *board, name string) *list {
	pos := 16384.0
	for _, id := range b.Lists {
		if p := s.lists[id].Pos; p >= pos {
			pos = p + 16384
		}
	}
	l := &list{ID: s.newID(), BoardID: b.ID, Name: name, Pos: pos}
	s.lists[l.ID] = l
	b.Lists = append(b.Lists, l.ID)
	return l
}

// AddMember creates a member and returns its id.
func (s *Server) AddMember(username, fullName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &member{ID: s.newID(), Username: username, FullName: fullName}
	s.members[m.ID] = m
	return m.ID
}

// BoardSpec describes a board to seed.
type BoardSpec struct {
	Name    string
	Lists   []string
	Labels  map[string]string // name -> colour
	Members []string          // usernames (created when unknown); the token's member is always added
}

// Board is what CreateBoard returns: ids by name.
type Board struct {
	ID      string
	Lists   map[string]string
	Labels  map[string]string
	Members map[string]string
}

// CreateBoard seeds a board with lists, labels and members.
func (s *Server) CreateBoard(spec BoardSpec) Board {
	s.mu.Lock()
	defer s.mu.Unlock()
	bot := s.tokens[s.opts.Token].memberID
	b := s.newBoard(spec.Name, bot)
	out := Board{ID: b.ID, Lists: map[string]string{}, Labels: map[string]string{}, Members: map[string]string{}}
	for _, name := range spec.Lists {
		out.Lists[name] = s.newList(b, name).ID
	}
	names := make([]string, 0, len(spec.Labels))
	for n := range spec.Labels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l := &label{ID: s.newID(), BoardID: b.ID, Name: n, Color: spec.Labels[n]}
		s.labels[l.ID] = l
		b.Labels = append(b.Labels, l.ID)
		out.Labels[n] = l.ID
	}
	for _, u := range spec.Members {
		m := s.lookupMember(u)
		if m == nil {
			m = &member{ID: s.newID(), Username: u, FullName: u}
			s.members[m.ID] = m
		}
		if !slices.Contains(b.Members, m.ID) {
			b.Members = append(b.Members, m.ID)
		}
		out.Members[u] = m.ID
	}
	return out
}

// AddCustomField defines a custom field on a board; options only for "list".
func (s *Server) AddCustomField(boardID, name, typ string, options ...string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boards[boardID]
	if b == nil {
		return "", fmt.Errorf("trellotest: no board %q", boardID)
	}
	switch typ {
	case "text", "number", "date", "checkbox", "list":
	default:
		return "", fmt.Errorf("trellotest: custom field type %q (want text, number, date, checkbox or list)", typ)
	}
	f := &customField{ID: s.newID(), BoardID: b.ID, Name: name, Type: typ}
	for _, o := range options {
		f.Options = append(f.Options, cfOption{ID: s.newID(), Text: o, Color: "none"})
	}
	s.fields[f.ID] = f
	b.Fields = append(b.Fields, f.ID)
	return f.ID, nil
}

// OptionID returns the id of a list custom field's option.
func (s *Server) OptionID(fieldID, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.fields[fieldID]; f != nil {
		for _, o := range f.Options {
			if o.Text == text {
				return o.ID
			}
		}
	}
	return ""
}

// AddCards creates n cards named prefix-i in a list, as the token's member,
// without recording an action per card (seeding large boards fast).
func (s *Server) AddCards(listID, prefix string, n int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[listID]
	if l == nil {
		return nil, fmt.Errorf("trellotest: no list %q", listID)
	}
	b := s.boards[l.BoardID]
	ids := make([]string, 0, n)
	for i := range n {
		b.nextShort++
		c := &card{ID: s.newID(), BoardID: b.ID, ListID: l.ID, Name: fmt.Sprintf("%s-%d", prefix, i), Pos: float64(i+1) * 16384,
			IDShort: b.nextShort, LastActivity: s.now(), Items: map[string]*cfItem{}}
		s.cards[c.ID] = c
		b.Cards = append(b.Cards, c.ID)
		ids = append(ids, c.ID)
	}
	b.LastActivity = s.now()
	return ids, nil
}

func (s *Server) actor(username string) (*member, error) {
	m := s.lookupMember(username)
	if m == nil {
		return nil, fmt.Errorf("trellotest: no member %q", username)
	}
	return m, nil
}

// actorCard looks up the member acting and the card acted on.
func (s *Server) actorCard(cardID, username string) (*member, *card, error) {
	m, err := s.actor(username)
	if err != nil {
		return nil, nil, err
	}
	c := s.cards[cardID]
	if c == nil {
		return nil, nil, fmt.Errorf("trellotest: no card %q", cardID)
	}
	return m, c, nil
}

// boardList is b's list named (or with id) name, nil when none.
func (s *Server) boardList(b *board, name string) *list {
	for _, id := range b.Lists {
		if l := s.lists[id]; l.Name == name || l.ID == name {
			return l
		}
	}
	return nil
}

func (s *Server) cardOnList(cardID, listName string) (*card, *list, error) {
	c := s.cards[cardID]
	if c == nil {
		return nil, nil, fmt.Errorf("trellotest: no card %q", cardID)
	}
	if l := s.boardList(s.boards[c.BoardID], listName); l != nil {
		return c, l, nil
	}
	return c, nil, fmt.Errorf("trellotest: board of card %q has no list %q", cardID, listName)
}

// MoveCard moves a card to a list (by name or id) as a member, recording
// updateCard with listBefore/listAfter and memberCreator, as a person
// dragging the card in the Trello UI would.
func (s *Server) MoveCard(cardID, listName, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.actor(username)
	if err != nil {
		return err
	}
	c, l, err := s.cardOnList(cardID, listName)
	if err != nil {
		return err
	}
	before := s.lists[c.ListID]
	old := c.ListID
	c.ListID = l.ID
	s.record("updateCard", m.ID, s.boards[c.BoardID], c, map[string]any{"old": map[string]any{"idList": old},
		"card": changedCardRef(c, "idList"), "listBefore": listRef(before), "listAfter": listRef(l)}, "idList")
	return nil
}

// ArchiveCard closes a card as a member.
func (s *Server) ArchiveCard(cardID, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, err := s.actorCard(cardID, username)
	if err != nil {
		return err
	}
	c.Closed = true
	s.record("updateCard", m.ID, s.boards[c.BoardID], c, map[string]any{"old": map[string]any{"closed": false},
		"card": changedCardRef(c, "closed"), "list": listRef(s.lists[c.ListID])}, "closed")
	return nil
}

// DeleteCard deletes a card as a member, recording deleteCard on its board
// as the API route does.
func (s *Server) DeleteCard(cardID, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, err := s.actorCard(cardID, username)
	if err != nil {
		return err
	}
	b := s.boards[c.BoardID]
	delete(s.cards, c.ID)
	b.Cards = slices.DeleteFunc(b.Cards, func(id string) bool { return id == c.ID })
	s.record("deleteCard", m.ID, b, nil, map[string]any{"card": map[string]any{"id": c.ID, "idShort": c.IDShort, "shortLink": shortLink(c.ID)},
		"list": listRef(s.lists[c.ListID])})
	return nil
}

// MoveCardToBoard moves a card to a list (by name or id) of another board
// as a member, the way Trello's "Move card" does: moveCardFromBoard is
// recorded on the old board and moveCardToBoard on the new one; labels,
// members and custom-field values that belong to the old board are dropped.
func (s *Server) MoveCardToBoard(cardID, boardID, listName, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, err := s.actorCard(cardID, username)
	if err != nil {
		return err
	}
	from, to := s.boards[c.BoardID], s.boards[boardID]
	if to == nil || to == from {
		return fmt.Errorf("trellotest: no other board %q", boardID)
	}
	dest := s.boardList(to, listName)
	if dest == nil {
		return fmt.Errorf("trellotest: board %q has no list %q", boardID, listName)
	}
	from.Cards = slices.DeleteFunc(from.Cards, func(id string) bool { return id == c.ID })
	to.Cards = append(to.Cards, c.ID)
	c.BoardID, c.ListID = to.ID, dest.ID
	c.Labels = slices.DeleteFunc(c.Labels, func(id string) bool { return s.labels[id].BoardID != to.ID })
	c.Members = slices.DeleteFunc(c.Members, func(id string) bool { return !slices.Contains(to.Members, id) })
	c.Items = map[string]*cfItem{}
	s.record("moveCardFromBoard", m.ID, from, c, map[string]any{"boardTarget": map[string]any{"id": to.ID}, "list": listRef(dest)})
	s.record("moveCardToBoard", m.ID, to, c, map[string]any{"boardSource": map[string]any{"id": from.ID}, "list": listRef(dest)})
	return nil
}

// AddLabel puts a board label (by name) on a card as a member, creating
// the label when the board lacks it.
func (s *Server) AddLabel(cardID, labelName, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, err := s.actorCard(cardID, username)
	if err != nil {
		return err
	}
	b := s.boards[c.BoardID]
	var l *label
	for _, id := range b.Labels {
		if s.labels[id].Name == labelName {
			l = s.labels[id]
		}
	}
	if l == nil {
		l = &label{ID: s.newID(), BoardID: b.ID, Name: labelName, Color: "purple"}
		s.labels[l.ID] = l
		b.Labels = append(b.Labels, l.ID)
	}
	if !slices.Contains(c.Labels, l.ID) {
		s.addLabel(c, l, m.ID)
	}
	return nil
}

// Comment adds a comment as a member.
func (s *Server) Comment(cardID, text, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, err := s.actorCard(cardID, username)
	if err != nil {
		return err
	}
	s.record("commentCard", m.ID, s.boards[c.BoardID], c, map[string]any{"text": text})
	return nil
}

// CardView is a snapshot of a card for assertions.
type CardView struct {
	ID, ListID, ListName, Name, Desc string
	Labels, Members                  []string // label names, member usernames
	Due                              *time.Time
	Closed                           bool
	Comments                         []string // oldest first
}

// Cards returns every card of a board (open and archived), oldest first.
func (s *Server) Cards(boardID string) []CardView {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boards[boardID]
	if b == nil {
		return nil
	}
	out := make([]CardView, 0, len(b.Cards))
	for _, id := range b.Cards {
		out = append(out, s.view(s.cards[id]))
	}
	return out
}

// Card returns one card's snapshot.
func (s *Server) Card(cardID string) (CardView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cards[cardID]
	if c == nil {
		return CardView{}, false
	}
	return s.view(c), true
}

func (s *Server) view(c *card) CardView {
	v := CardView{ID: c.ID, ListID: c.ListID, Name: c.Name, Desc: c.Desc, Due: c.Due, Closed: c.Closed}
	if l := s.lists[c.ListID]; l != nil {
		v.ListName = l.Name
	}
	for _, id := range c.Labels {
		v.Labels = append(v.Labels, s.labels[id].Name)
	}
	for _, id := range c.Members {
		v.Members = append(v.Members, s.members[id].Username)
	}
	for _, a := range s.actions {
		if a.CardID == c.ID && a.Type == "commentCard" {
			t, _ := a.Data["text"].(string)
			v.Comments = append(v.Comments, t)
		}
	}
	return v
}

// LabelNames returns the names of a board's labels in creation order.
func (s *Server) LabelNames(boardID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if b := s.boards[boardID]; b != nil {
		for _, id := range b.Labels {
			out = append(out, s.labels[id].Name)
		}
	}
	return out
}

// ListNames returns the names of a board's open lists in order.
func (s *Server) ListNames(boardID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if b := s.boards[boardID]; b != nil {
		for _, id := range b.Lists {
			if !s.lists[id].Closed {
				out = append(out, s.lists[id].Name)
			}
		}
	}
	return out
}
