package trellotest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

type member struct {
	ID, Username, FullName string
}

type board struct {
	ID, Name, Desc string
	Closed         bool
	LastActivity   time.Time
	Members        []string
	// Ordered by creation.
	Lists, Labels, Cards, Fields []string
	nextShort                    int
}

type list struct {
	ID, BoardID, Name string
	Closed            bool
	Pos               float64
}

type label struct {
	ID, BoardID, Name, Color string
}

type card struct {
	ID, BoardID, ListID, Name, Desc string
	Pos                             float64
	IDShort                         int
	Labels, Members                 []string
	Due                             *time.Time
	DueComplete, Closed             bool
	LastActivity                    time.Time
	Items                           map[string]*cfItem // custom field id -> item
}

type cfItem struct {
	ID, IDCustomField, IDValue string
	Value                      map[string]string // text|number|date|checked -> value
}

type cfOption struct {
	ID, Text, Color string
}

type customField struct {
	ID, BoardID, Name, Type string // text, number, date, checkbox, list
	Options                 []cfOption
}

type action struct {
	ID, Type, MemberID, BoardID, CardID string
	Date                                time.Time
	Data                                map[string]any
	// old holds the field names an updateCard changed (for "updateCard:idList" filters).
	old []string

	// Subject is the member an add/removeMemberToCard action is about,
	// sent as the action's top-level "member".
	Subject string
}

const trelloTime = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(trelloTime) }

func shortLink(id string) string {
	h := sha1.Sum([]byte(id))
	return hex.EncodeToString(h[:])[:8]
}

// response is what a route produces; written after the lock is released.
type response struct {
	code int
	body any    // JSON
	text string // plain text when body is nil
}

func (r response) write(w http.ResponseWriter) {
	if r.body == nil {
		plain(w, r.code, r.text)
		return
	}
	b, err := json.Marshal(r.body)
	if err != nil {
		plain(w, http.StatusInternalServerError, "encode: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(r.code)
	_, _ = w.Write(b)
}

func ok(v any) response             { return response{code: http.StatusOK, body: v} }
func bad(msg string) response       { return response{code: http.StatusBadRequest, text: msg} }
func invalid(field string) response { return bad("invalid value for " + field) }
func notFound() response {
	return response{code: http.StatusNotFound, text: "The requested resource was not found."}
}

// Field sets. The default sets equal the key sets of adlio/trello's
// fixtures (testdata/boards/cI66RoQS.json, lists/list-archived.json,
// cards/57f4355472c5b142db8b5e45.json, labels/labels-api-example.json,
// actions/card-actions-with-member.json); the extra names are accepted
// in `fields=`.
var (
	boardDefault = []string{"closed", "desc", "descData", "id", "idOrganization", "labelNames", "name", "pinned", "prefs", "shortUrl", "url"}
	boardExtra   = []string{"dateLastActivity", "shortLink", "starred", "subscribed"}
	listDefault  = []string{"closed", "id", "idBoard", "name", "pos"}
	listExtra    = []string{"subscribed"}
	cardDefault  = []string{"badges", "checkItemStates", "closed", "dateLastActivity", "desc", "descData", "due", "dueComplete", "email", "id", "idAttachmentCover", "idBoard", "idChecklists", "idLabels", "idList", "idMembers", "idShort", "labels", "manualCoverAttachment", "name", "pos", "shortUrl", "url"}
	cardExtra    = []string{"shortLink", "subscribed", "idMembersVoted", "start"}
	labelDefault = []string{"color", "id", "idBoard", "name"}
	labelExtra   = []string{"uses"}
	memberFields = []string{"fullName", "id", "username"}
	memberExtra  = []string{"avatarHash", "initials"}
)

// cardLabelFields are the fields of the labels embedded in a card (adlio's
// cards/card-create.json, the fixture of a card with labels).
var cardLabelFields = []string{"color", "id", "idBoard", "name", "uses"}

// pickFields resolves a `fields` parameter: "" or "all" gives the default
// set; otherwise every name must be known, and id is always returned.
func pickFields(param string, def, extra []string) ([]string, bool) {
	if param == "" || param == "all" {
		return def, true
	}
	known := map[string]bool{}
	for _, f := range def {
		known[f] = true
	}
	for _, f := range extra {
		known[f] = true
	}
	out := []string{"id"}
	for _, f := range strings.Split(param, ",") {
		f = strings.TrimSpace(f)
		if !known[f] {
			return nil, false
		}
		if f != "id" {
			out = append(out, f)
		}
	}
	return out, true
}

func project(all map[string]any, fields []string) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		out[f] = all[f]
	}
	return out
}

func (s *Server) boardJSON(b *board, fields []string) map[string]any {
	sl := shortLink(b.ID)
	all := map[string]any{
		"id": b.ID, "name": b.Name, "desc": b.Desc, "descData": nil, "closed": b.Closed,
		"idOrganization": nil, "pinned": false,
		"url":       s.URL() + "/board/" + b.ID,
		"shortUrl":  s.URL() + "/board/" + b.ID,
		"shortLink": sl,
		"prefs": map[string]any{"permissionLevel": "private", "voting": "disabled", "comments": "members", "invitations": "members",
			"selfJoin": false, "cardCovers": true, "calendarFeedEnabled": false, "background": "blue", "backgroundImage": nil,
			"backgroundImageScaled": nil, "backgroundTile": false, "backgroundBrightness": "dark", "backgroundColor": "#0079BF",
			"canBePublic": true, "canBeOrg": true, "canBePrivate": true, "canInvite": true},
		"labelNames":       s.labelNames(b),
		"dateLastActivity": fmtTime(b.LastActivity),
		"starred":          false, "subscribed": false,
	}
	return project(all, fields)
}

// labelNames is a board's labelNames object: the name of the first label of
// each of Trello's ten colours, "" when the board has none.
func (s *Server) labelNames(b *board) map[string]string {
	out := map[string]string{}
	for c := range labelColors {
		out[c] = ""
	}
	for i := len(b.Labels) - 1; i >= 0; i-- {
		if l := s.labels[b.Labels[i]]; l.Color != "" {
			out[l.Color] = l.Name
		}
	}
	return out
}

func (s *Server) listJSON(l *list, fields []string) map[string]any {
	all := map[string]any{"id": l.ID, "name": l.Name, "idBoard": l.BoardID, "closed": l.Closed, "pos": l.Pos, "subscribed": false}
	return project(all, fields)
}

func (s *Server) labelJSON(l *label, fields []string) map[string]any {
	uses := 0
	for _, c := range s.cards {
		for _, id := range c.Labels {
			if id == l.ID {
				uses++
			}
		}
	}
	var color any = l.Color
	if l.Color == "" {
		color = nil
	}
	all := map[string]any{"id": l.ID, "idBoard": l.BoardID, "name": l.Name, "color": color, "uses": uses}
	return project(all, fields)
}

func (s *Server) memberJSON(m *member, fields []string) map[string]any {
	initials := ""
	for _, w := range strings.Fields(m.FullName) {
		initials += strings.ToUpper(string([]rune(w)[:1]))
	}
	all := map[string]any{"id": m.ID, "username": m.Username, "fullName": m.FullName, "initials": initials, "avatarHash": nil}
	return project(all, fields)
}

func (s *Server) cardJSON(c *card, fields []string, withItems bool) map[string]any {
	comments := 0
	for _, a := range s.actions {
		if a.CardID == c.ID && a.Type == "commentCard" {
			comments++
		}
	}
	labels := []map[string]any{}
	for _, id := range c.Labels {
		if l := s.labels[id]; l != nil {
			labels = append(labels, s.labelJSON(l, cardLabelFields))
		}
	}
	var due any
	if c.Due != nil {
		due = fmtTime(*c.Due)
	}
	sl := shortLink(c.ID)
	all := map[string]any{
		"id": c.ID, "idShort": c.IDShort, "name": c.Name, "desc": c.Desc, "descData": map[string]any{"emoji": map[string]any{}},
		"idBoard": c.BoardID, "idList": c.ListID, "pos": c.Pos, "closed": c.Closed,
		"idLabels": nonNil(c.Labels), "labels": labels, "idMembers": nonNil(c.Members),
		"due": due, "dueComplete": c.DueComplete, "dateLastActivity": fmtTime(c.LastActivity),
		"badges":          map[string]any{"votes": 0, "viewingMemberVoted": false, "subscribed": false, "fogbugz": "", "checkItems": 0, "checkItemsChecked": 0, "comments": comments, "attachments": 0, "description": c.Desc != "", "due": due, "dueComplete": c.DueComplete},
		"checkItemStates": []any{}, "idChecklists": []string{}, "idAttachmentCover": nil, "manualCoverAttachment": false,
		"email":          nil,
		"shortLink":      sl,
		"shortUrl":       s.URL() + "/c/" + sl,
		"url":            s.URL() + "/c/" + sl,
		"subscribed":     false,
		"idMembersVoted": []string{},
		"start":          nil,
	}
	out := project(all, fields)
	if withItems {
		out["customFieldItems"] = s.itemsJSON(c)
	}
	return out
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (s *Server) itemsJSON(c *card) []map[string]any {
	ids := make([]string, 0, len(c.Items))
	for id := range c.Items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		it := c.Items[id]
		m := map[string]any{"id": it.ID, "idCustomField": it.IDCustomField, "idModel": c.ID, "modelType": "card"}
		if it.IDValue != "" {
			m["idValue"] = it.IDValue
		} else {
			m["value"] = it.Value
		}
		out = append(out, m)
	}
	return out
}

func (s *Server) fieldJSON(f *customField) map[string]any {
	opts := []map[string]any{}
	for i, o := range f.Options {
		opts = append(opts, map[string]any{"id": o.ID, "idCustomField": f.ID, "value": map[string]string{"text": o.Text}, "color": o.Color, "pos": (i + 1) * 1024})
	}
	m := map[string]any{"id": f.ID, "idModel": f.BoardID, "modelType": "board", "fieldGroup": shortLink(f.ID + "g"),
		"name": f.Name, "pos": 16384, "display": map[string]bool{"cardFront": true}, "type": f.Type}
	if f.Type == "list" {
		m["options"] = opts
	}
	return m
}

func (s *Server) actionJSON(a *action) map[string]any {
	m := s.members[a.MemberID]
	var creator map[string]any
	if m != nil {
		creator = s.memberJSON(m, []string{"id", "username", "fullName", "initials", "avatarHash"})
	}
	out := map[string]any{"id": a.ID, "idMemberCreator": a.MemberID, "type": a.Type, "date": fmtTime(a.Date), "data": a.Data, "memberCreator": creator}
	if sm := s.members[a.Subject]; sm != nil {
		out["member"] = s.memberJSON(sm, []string{"id", "username", "fullName", "initials", "avatarHash"})
	}
	return out
}

// Small references embedded in action data.
func (s *Server) boardRef(b *board) map[string]any {
	return map[string]any{"id": b.ID, "name": b.Name, "shortLink": shortLink(b.ID)}
}

func cardRef(c *card) map[string]any {
	return map[string]any{"id": c.ID, "name": c.Name, "idShort": c.IDShort, "shortLink": shortLink(c.ID)}
}

// changedCardRef is data.card of an updateCard action: the reference plus
// the changed field's new value, as Trello sends it (data.old holds the
// previous one).
func changedCardRef(c *card, field string) map[string]any {
	ref := cardRef(c)
	switch field {
	case "idList":
		ref[field] = c.ListID
	case "name":
		ref[field] = c.Name
	case "desc":
		ref[field] = c.Desc
	case "closed":
		ref[field] = c.Closed
	case "dueComplete":
		ref[field] = c.DueComplete
	case "due":
		var due any
		if c.Due != nil {
			due = fmtTime(*c.Due)
		}
		ref[field] = due
	case "idMembers":
		ref[field] = nonNil(c.Members)
	}
	return ref
}

// listInData are the card action types whose data names the card's list
// (adlio's action fixtures: createCard, commentCard and copyCard do; member
// changes do not); other types pass data.list themselves when Trello sends it.
var listInData = map[string]bool{"createCard": true, "commentCard": true, "copyCard": true}

func listRef(l *list) map[string]any {
	if l == nil {
		return nil
	}
	return map[string]any{"id": l.ID, "name": l.Name}
}

// record appends an action, touches the board and card, and queues
// webhook deliveries. Callers hold s.mu.
func (s *Server) record(typ, memberID string, b *board, c *card, data map[string]any, old ...string) *action {
	now := s.now()
	data["board"] = s.boardRef(b)
	a := &action{ID: s.newID(), Type: typ, MemberID: memberID, BoardID: b.ID, Date: now, Data: data, old: old}
	if c != nil {
		a.CardID = c.ID
		if _, ok := data["card"]; !ok {
			data["card"] = cardRef(c)
		}
		if _, ok := data["list"]; !ok && listInData[typ] {
			data["list"] = listRef(s.lists[c.ListID])
		}
		c.LastActivity = now
	}
	b.LastActivity = now
	s.actions = append(s.actions, a)
	s.deliv.queueFor(a)
	return a
}

func (s *Server) lookupMember(idOrName string) *member {
	if m := s.members[idOrName]; m != nil {
		return m
	}
	for _, m := range s.members {
		if m.Username == idOrName {
			return m
		}
	}
	return nil
}

func validID(id string) bool {
	if len(id) != 24 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func (s *Server) getBoard(id string) (*board, *response) {
	if !validID(id) {
		r := bad("invalid id")
		return nil, &r
	}
	b := s.boards[id]
	if b == nil {
		r := notFound()
		return nil, &r
	}
	return b, nil
}

func (s *Server) getCard(id string) (*card, *response) {
	if !validID(id) {
		r := bad("invalid id")
		return nil, &r
	}
	c := s.cards[id]
	if c == nil {
		r := notFound()
		return nil, &r
	}
	return c, nil
}

func errorf(format string, a ...any) response { return bad(fmt.Sprintf(format, a...)) }
