package trellotest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const maxText = 16384 // Trello's limit on names, descriptions and comments

var labelColors = map[string]bool{"green": true, "yellow": true, "orange": true, "red": true, "purple": true,
	"blue": true, "sky": true, "lime": true, "pink": true, "black": true}

// route dispatches one API request; callers hold s.mu.
func (s *Server) route(r *http.Request, path, memberID string) response {
	seg := strings.Split(path, "/")
	q := r.URL.Query()
	m := r.Method
	switch {
	case seg[0] == "batch" && len(seg) == 1:
		if m != http.MethodGet {
			return bad("batch only supports GET")
		}
		return s.batch(q.Get("urls"), memberID)
	case seg[0] == "boards":
		return s.routeBoards(m, seg, q, memberID)
	case seg[0] == "lists":
		return s.routeLists(m, seg, q, memberID)
	case seg[0] == "cards":
		return s.routeCards(r, m, seg, q, memberID)
	case seg[0] == "labels" && len(seg) == 2 && m == http.MethodGet:
		l := s.labels[seg[1]]
		if l == nil {
			return notFound()
		}
		return ok(s.labelJSON(l, labelDefault))
	case seg[0] == "members" && len(seg) == 2 && m == http.MethodGet:
		id := seg[1]
		if id == "me" {
			id = memberID
		}
		mb := s.lookupMember(id)
		if mb == nil {
			return notFound()
		}
		return ok(s.memberJSON(mb, append(memberFields, memberExtra...)))
	case seg[0] == "customFields" && len(seg) == 2 && m == http.MethodGet:
		f := s.fields[seg[1]]
		if f == nil {
			return notFound()
		}
		return ok(s.fieldJSON(f))
	case seg[0] == "webhooks" && len(seg) == 2:
		return s.routeWebhook(m, seg[1], q)
	case seg[0] == "tokens" && len(seg) == 3 && seg[2] == "webhooks" && m == http.MethodGet:
		return s.listWebhooks(seg[1])
	}
	return notFound()
}

func (s *Server) routeBoards(m string, seg []string, q url.Values, memberID string) response {
	if len(seg) == 1 {
		if m != http.MethodPost {
			return notFound()
		}
		name := q.Get("name")
		if name == "" || len(name) > maxText {
			return invalid("name")
		}
		b := s.newBoard(name, memberID)
		return ok(s.boardJSON(b, boardDefault))
	}
	b, er := s.getBoard(seg[1])
	if er != nil {
		return *er
	}
	if len(seg) == 2 && m == http.MethodGet {
		f, okf := pickFields(q.Get("fields"), boardDefault, boardExtra)
		if !okf {
			return invalid("fields")
		}
		return ok(s.boardJSON(b, f))
	}
	if len(seg) < 3 {
		return notFound()
	}
	switch seg[2] {
	case "lists":
		if m != http.MethodGet {
			break
		}
		f, okf := pickFields(q.Get("fields"), listDefault, listExtra)
		if !okf {
			return invalid("fields")
		}
		filter := q.Get("filter")
		out := []map[string]any{}
		for _, id := range b.Lists {
			l := s.lists[id]
			if keep(filter, l.Closed) {
				out = append(out, s.listJSON(l, f))
			}
		}
		return ok(out)
	case "labels":
		switch m {
		case http.MethodGet:
			f, okf := pickFields(q.Get("fields"), labelDefault, labelExtra)
			if !okf {
				return invalid("fields")
			}
			out := []map[string]any{}
			for _, id := range b.Labels {
				out = append(out, s.labelJSON(s.labels[id], f))
			}
			return ok(out)
		case http.MethodPost:
			name, color := q.Get("name"), q.Get("color")
			if len(name) > maxText {
				return invalid("name")
			}
			if color == "null" {
				color = ""
			}
			if color != "" && !labelColors[color] {
				return invalid("color")
			}
			l := &label{ID: s.newID(), BoardID: b.ID, Name: name, Color: color}
			s.labels[l.ID] = l
			b.Labels = append(b.Labels, l.ID)
			return ok(s.labelJSON(l, labelDefault))
		}
	case "members":
		if m != http.MethodGet {
			break
		}
		out := []map[string]any{}
		for _, id := range b.Members {
			out = append(out, s.memberJSON(s.members[id], memberFields))
		}
		return ok(out)
	case "customFields":
		if m != http.MethodGet {
			break
		}
		out := []map[string]any{}
		for _, id := range b.Fields {
			out = append(out, s.fieldJSON(s.fields[id]))
		}
		return ok(out)
	case "cards":
		if m != http.MethodGet {
			break
		}
		filter := q.Get("filter")
		if len(seg) == 4 {
			filter = seg[3]
		}
		return s.boardCards(b, filter, q)
	case "actions":
		if m != http.MethodGet {
			break
		}
		return s.actionsOf(func(a *action) bool { return a.BoardID == b.ID }, q, "all")
	}
	return notFound()
}

// keep applies Trello's open/closed/all filter.
func keep(filter string, closed bool) bool {
	switch filter {
	case "all":
		return true
	case "closed":
		return closed
	}
	return !closed
}

func (s *Server) boardCards(b *board, filter string, q url.Values) response {
	switch filter {
	case "", "all", "open", "closed", "visible":
	default:
		return invalid("filter")
	}
	f, okf := pickFields(q.Get("fields"), cardDefault, cardExtra)
	if !okf {
		return invalid("fields")
	}
	withItems := q.Get("customFieldItems") == "true"
	before := q.Get("before")
	limit := s.opts.CardsPageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.opts.CardsPageLimit {
			return invalid("limit")
		}
		limit = n
	}
	// Newest first, so paging with before=<earliest id seen> walks back.
	ids := slices.Clone(b.Cards)
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	out := []map[string]any{}
	for _, id := range ids {
		c := s.cards[id]
		if before != "" && id >= before {
			continue
		}
		if !keep(filter, c.Closed) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, s.cardJSON(c, f, withItems))
	}
	return ok(out)
}

// actionsOf lists actions newest first with Trello's filter/since/before/limit.
func (s *Server) actionsOf(match func(*action) bool, q url.Values, defFilter string) response {
	filter := q.Get("filter")
	if filter == "" {
		filter = defFilter
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return invalid("limit")
		}
		limit = n
	}
	since, okS := s.actionBound(q.Get("since"))
	before, okB := s.actionBound(q.Get("before"))
	if !okS {
		return invalid("since")
	}
	if !okB {
		return invalid("before")
	}
	wants := strings.Split(filter, ",")
	out := []map[string]any{}
	for i := len(s.actions) - 1; i >= 0 && len(out) < limit; i-- {
		a := s.actions[i]
		if !match(a) || !filterMatch(wants, a) {
			continue
		}
		if !since.IsZero() && !a.Date.After(since) {
			continue
		}
		if !before.IsZero() && !a.Date.Before(before) {
			continue
		}
		out = append(out, s.actionJSON(a))
	}
	return ok(out)
}

// actionBound accepts an ISO date or an action id (its time).
func (s *Server) actionBound(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	if validID(v) {
		for _, a := range s.actions {
			if a.ID == v {
				return a.Date, true
			}
		}
		sec, err := strconv.ParseInt(v[:8], 16, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(sec, 0), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func filterMatch(wants []string, a *action) bool {
	for _, w := range wants {
		typ, field, hasField := strings.Cut(w, ":")
		switch {
		case w == "all":
			return true
		case typ != a.Type:
		case !hasField:
			return true
		case slices.Contains(a.old, field):
			return true
		}
	}
	return false
}

func (s *Server) routeLists(m string, seg []string, q url.Values, memberID string) response {
	if len(seg) == 1 && m == http.MethodPost {
		b, er := s.getBoard(q.Get("idBoard"))
		if er != nil {
			return invalid("idBoard")
		}
		name := q.Get("name")
		if name == "" || len(name) > maxText {
			return invalid("name")
		}
		l := s.newList(b, name)
		s.record("createList", memberID, b, nil, map[string]any{"list": listRef(l)})
		return ok(s.listJSON(l, listDefault))
	}
	if len(seg) < 2 {
		return notFound()
	}
	l := s.lists[seg[1]]
	if l == nil {
		return notFound()
	}
	switch {
	case len(seg) == 2 && m == http.MethodGet:
		return ok(s.listJSON(l, listDefault))
	case len(seg) == 2 && m == http.MethodPut:
		old := map[string]any{}
		if v := q.Get("closed"); v != "" && (v == "true") != l.Closed {
			old["closed"] = l.Closed
			l.Closed = v == "true"
		}
		if v := q.Get("name"); v != "" && v != l.Name {
			old["name"] = l.Name
			l.Name = v
		}
		ref := listRef(l)
		if _, changed := old["closed"]; changed {
			ref["closed"] = l.Closed // like data.card of updateCard: the new value
		}
		s.record("updateList", memberID, s.boards[l.BoardID], nil, map[string]any{"list": ref, "old": old})
		return ok(s.listJSON(l, listDefault))
	case len(seg) == 3 && seg[2] == "cards" && m == http.MethodGet:
		f, okf := pickFields(q.Get("fields"), cardDefault, cardExtra)
		if !okf {
			return invalid("fields")
		}
		out := []map[string]any{}
		for _, id := range s.boards[l.BoardID].Cards {
			c := s.cards[id]
			if c.ListID == l.ID && !c.Closed {
				out = append(out, s.cardJSON(c, f, q.Get("customFieldItems") == "true"))
			}
		}
		return ok(out)
	}
	return notFound()
}

func (s *Server) routeCards(r *http.Request, m string, seg []string, q url.Values, memberID string) response {
	if len(seg) == 1 {
		if m != http.MethodPost {
			return notFound()
		}
		return s.createCard(q, memberID)
	}
	c, er := s.getCard(seg[1])
	if er != nil {
		return *er
	}
	b := s.boards[c.BoardID]
	if len(seg) == 2 {
		switch m {
		case http.MethodGet:
			f, okf := pickFields(q.Get("fields"), cardDefault, cardExtra)
			if !okf {
				return invalid("fields")
			}
			return ok(s.cardJSON(c, f, q.Get("customFieldItems") == "true"))
		case http.MethodPut:
			if resp := s.updateCard(c, q, memberID); resp != nil {
				return *resp
			}
			return ok(s.cardJSON(c, cardDefault, false))
		case http.MethodDelete:
			delete(s.cards, c.ID)
			b.Cards = slices.DeleteFunc(b.Cards, func(id string) bool { return id == c.ID })
			s.record("deleteCard", memberID, b, nil, map[string]any{"card": map[string]any{"id": c.ID}})
			return ok(map[string]any{"limits": map[string]any{}})
		}
		return notFound()
	}
	switch {
	case seg[2] == "actions" && len(seg) == 3 && m == http.MethodGet:
		return s.actionsOf(func(a *action) bool { return a.CardID == c.ID }, q, "commentCard,updateCard:idList")
	case seg[2] == "actions" && len(seg) == 4 && seg[3] == "comments" && m == http.MethodPost:
		text := q.Get("text")
		if text == "" || len(text) > maxText {
			return invalid("text")
		}
		a := s.record("commentCard", memberID, b, c, map[string]any{"text": text})
		return ok(s.actionJSON(a))
	case seg[2] == "idLabels" && len(seg) == 3 && m == http.MethodPost:
		l := s.labels[q.Get("value")]
		if l == nil || l.BoardID != b.ID {
			return invalid("value")
		}
		if slices.Contains(c.Labels, l.ID) {
			return bad("that label is already on the card")
		}
		s.addLabel(c, l, memberID)
		return ok(nonNil(c.Labels))
	case seg[2] == "idLabels" && len(seg) == 4 && m == http.MethodDelete:
		l := s.labels[seg[3]]
		if l == nil || !slices.Contains(c.Labels, l.ID) {
			return notFound()
		}
		s.removeLabel(c, l, memberID)
		return ok(map[string]any{"_value": nil})
	case seg[2] == "idMembers" && len(seg) == 3 && m == http.MethodPost:
		mb := s.members[q.Get("value")]
		if mb == nil || !slices.Contains(b.Members, mb.ID) {
			return invalid("value")
		}
		if slices.Contains(c.Members, mb.ID) {
			return bad("member is already on the card")
		}
		c.Members = append(c.Members, mb.ID)
		s.record("addMemberToCard", memberID, b, c, map[string]any{"idMember": mb.ID}).Subject = mb.ID
		out := []map[string]any{}
		for _, id := range c.Members {
			out = append(out, s.memberJSON(s.members[id], append(memberFields, memberExtra...)))
		}
		return ok(out)
	case seg[2] == "idMembers" && len(seg) == 4 && m == http.MethodDelete:
		if !slices.Contains(c.Members, seg[3]) {
			return notFound()
		}
		c.Members = slices.DeleteFunc(c.Members, func(id string) bool { return id == seg[3] })
		s.record("removeMemberFromCard", memberID, b, c, map[string]any{"idMember": seg[3], "deactivated": false}).Subject = seg[3]
		return ok(map[string]any{"_value": nil})
	case seg[2] == "members" && len(seg) == 3 && m == http.MethodGet:
		out := []map[string]any{}
		for _, id := range c.Members {
			out = append(out, s.memberJSON(s.members[id], memberFields))
		}
		return ok(out)
	case seg[2] == "customFieldItems" && len(seg) == 3 && m == http.MethodGet:
		return ok(s.itemsJSON(c))
	case seg[2] == "customField" && len(seg) == 5 && seg[4] == "item" && m == http.MethodPut:
		return s.putItem(r, b, c, seg[3], memberID)
	}
	return notFound()
}

func splitIDs(v string) []string {
	if v == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) checkLabels(b *board, ids []string) bool {
	for _, id := range ids {
		if l := s.labels[id]; l == nil || l.BoardID != b.ID {
			return false
		}
	}
	return true
}

func (s *Server) checkMembers(b *board, ids []string) bool {
	for _, id := range ids {
		if !slices.Contains(b.Members, id) {
			return false
		}
	}
	return true
}

func parseDue(v string) (*time.Time, bool) {
	if v == "" || v == "null" {
		return nil, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, false
	}
	return &t, true
}

func (s *Server) position(b *board, listID, v string) (float64, bool) {
	maxPos, minPos := 0.0, 0.0
	first := true
	for _, id := range b.Cards {
		c := s.cards[id]
		if c.ListID != listID {
			continue
		}
		if first || c.Pos > maxPos {
			maxPos = c.Pos
		}
		if first || c.Pos < minPos {
			minPos = c.Pos
		}
		first = false
	}
	switch v {
	case "", "bottom":
		return maxPos + 16384, true
	case "top":
		return minPos / 2, true
	}
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 {
		return 0, false
	}
	if p == 0 {
		return minPos / 2, true
	}
	return p, true
}

func (s *Server) createCard(q url.Values, memberID string) response {
	l := s.lists[q.Get("idList")]
	if l == nil {
		return invalid("idList")
	}
	b := s.boards[l.BoardID]
	name, desc := q.Get("name"), q.Get("desc")
	if len(name) > maxText {
		return invalid("name")
	}
	if len(desc) > maxText {
		return invalid("desc")
	}
	labels, members := splitIDs(q.Get("idLabels")), splitIDs(q.Get("idMembers"))
	if !s.checkLabels(b, labels) {
		return invalid("idLabels")
	}
	if !s.checkMembers(b, members) {
		return invalid("idMembers")
	}
	due, okd := parseDue(q.Get("due"))
	if !okd {
		return invalid("due")
	}
	pos, okp := s.position(b, l.ID, q.Get("pos"))
	if !okp {
		return invalid("pos")
	}
	b.nextShort++
	c := &card{ID: s.newID(), BoardID: b.ID, ListID: l.ID, Name: name, Desc: desc, Pos: pos, IDShort: b.nextShort,
		Labels: labels, Members: members, Due: due, Items: map[string]*cfItem{}}
	s.cards[c.ID] = c
	b.Cards = append(b.Cards, c.ID)
	s.record("createCard", memberID, b, c, map[string]any{"list": listRef(l)})
	return ok(s.cardJSON(c, cardDefault, false))
}

// updateCard applies PUT /cards/{id}; each changed field is one updateCard
// action carrying data.old, as Trello records it.
func (s *Server) updateCard(c *card, q url.Values, memberID string) *response {
	b := s.boards[c.BoardID]
	fail := func(field string) *response { r := invalid(field); return &r }
	// Validate everything first: a rejected request changes nothing.
	var newList *list
	if q.Has("idList") {
		newList = s.lists[q.Get("idList")]
		if newList == nil || newList.BoardID != b.ID {
			return fail("idList")
		}
	}
	if q.Has("name") && (q.Get("name") == "" || len(q.Get("name")) > maxText) {
		return fail("name")
	}
	if len(q.Get("desc")) > maxText {
		return fail("desc")
	}
	for _, f := range []string{"closed", "dueComplete"} {
		if q.Has(f) && q.Get(f) != "true" && q.Get(f) != "false" {
			return fail(f)
		}
	}
	due, okd := parseDue(q.Get("due"))
	if q.Has("due") && !okd {
		return fail("due")
	}
	labels, members := splitIDs(q.Get("idLabels")), splitIDs(q.Get("idMembers"))
	if q.Has("idLabels") && !s.checkLabels(b, labels) {
		return fail("idLabels")
	}
	if q.Has("idMembers") && !s.checkMembers(b, members) {
		return fail("idMembers")
	}
	var pos float64
	if q.Has("pos") {
		var okp bool
		listID := c.ListID
		if newList != nil {
			listID = newList.ID
		}
		if pos, okp = s.position(b, listID, q.Get("pos")); !okp {
			return fail("pos")
		}
	}
	update := func(field string, old any, extra map[string]any) {
		data := map[string]any{"old": map[string]any{field: old}, "card": changedCardRef(c, field)}
		for k, v := range extra {
			data[k] = v
		}
		s.record("updateCard", memberID, b, c, data, field)
	}
	if newList != nil && newList.ID != c.ListID {
		before := s.lists[c.ListID]
		old := c.ListID
		c.ListID = newList.ID
		if !q.Has("pos") {
			pos, _ = s.position(b, newList.ID, "bottom")
		}
		c.Pos = pos
		update("idList", old, map[string]any{"listBefore": listRef(before), "listAfter": listRef(newList)})
	} else if q.Has("pos") {
		c.Pos = pos
	}
	if q.Has("name") && q.Get("name") != c.Name {
		old := c.Name
		c.Name = q.Get("name")
		update("name", old, map[string]any{"list": listRef(s.lists[c.ListID])})
	}
	if q.Has("desc") && q.Get("desc") != c.Desc {
		old := c.Desc
		c.Desc = q.Get("desc")
		update("desc", old, map[string]any{"list": listRef(s.lists[c.ListID])})
	}
	if q.Has("closed") && (q.Get("closed") == "true") != c.Closed {
		old := c.Closed
		c.Closed = !c.Closed
		update("closed", old, map[string]any{"list": listRef(s.lists[c.ListID])})
	}
	if q.Has("dueComplete") && (q.Get("dueComplete") == "true") != c.DueComplete {
		old := c.DueComplete
		c.DueComplete = !c.DueComplete
		update("dueComplete", old, nil)
	}
	if q.Has("due") && !sameDue(due, c.Due) {
		var old any
		if c.Due != nil {
			old = fmtTime(*c.Due)
		}
		c.Due = due
		update("due", old, nil)
	}
	if q.Has("idLabels") {
		for _, id := range slices.Clone(c.Labels) {
			if !slices.Contains(labels, id) {
				s.removeLabel(c, s.labels[id], memberID)
			}
		}
		for _, id := range labels {
			if !slices.Contains(c.Labels, id) {
				s.addLabel(c, s.labels[id], memberID)
			}
		}
	}
	if q.Has("idMembers") {
		c.Members = members
		update("idMembers", nil, nil)
	}
	return nil
}

func sameDue(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func (s *Server) addLabel(c *card, l *label, memberID string) {
	c.Labels = append(c.Labels, l.ID)
	s.record("addLabelToCard", memberID, s.boards[c.BoardID], c,
		map[string]any{"label": map[string]any{"id": l.ID, "name": l.Name, "color": l.Color}, "text": l.Name})
}

func (s *Server) removeLabel(c *card, l *label, memberID string) {
	c.Labels = slices.DeleteFunc(c.Labels, func(id string) bool { return id == l.ID })
	s.record("removeLabelFromCard", memberID, s.boards[c.BoardID], c,
		map[string]any{"label": map[string]any{"id": l.ID, "name": l.Name, "color": l.Color}, "text": l.Name})
}

// putItem sets a custom field value from a JSON body (api-notes §4.4).
func (s *Server) putItem(r *http.Request, b *board, c *card, fieldID, memberID string) response {
	f := s.fields[fieldID]
	if f == nil || f.BoardID != b.ID {
		return notFound()
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		return bad("could not read body")
	}
	var body struct {
		Value   json.RawMessage `json:"value"`
		IDValue *string         `json:"idValue"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return bad("invalid JSON body")
	}
	clear := func() response {
		delete(c.Items, f.ID)
		s.record("updateCustomFieldItem", memberID, b, c, map[string]any{"customField": map[string]any{"id": f.ID, "name": f.Name, "type": f.Type}})
		return ok(map[string]any{"id": "", "idCustomField": f.ID, "idModel": c.ID, "modelType": "card"})
	}
	it := &cfItem{ID: s.newID(), IDCustomField: f.ID}
	if old := c.Items[f.ID]; old != nil {
		it.ID = old.ID
	}
	if f.Type == "list" {
		if body.IDValue == nil {
			return invalid("idValue")
		}
		if *body.IDValue == "" {
			return clear()
		}
		found := false
		for _, o := range f.Options {
			found = found || o.ID == *body.IDValue
		}
		if !found {
			return invalid("idValue")
		}
		it.IDValue = *body.IDValue
	} else {
		if string(body.Value) == `""` {
			return clear()
		}
		var v map[string]string
		if err := json.Unmarshal(body.Value, &v); err != nil || len(v) != 1 {
			return invalid("value")
		}
		want := map[string]string{"text": "text", "number": "number", "date": "date", "checkbox": "checked"}[f.Type]
		val, has := v[want]
		if !has {
			return invalid("value")
		}
		switch f.Type {
		case "number":
			if _, err := strconv.ParseFloat(val, 64); err != nil {
				return invalid("value")
			}
		case "date":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return invalid("value")
			}
			val = fmtTime(t)
		case "checkbox":
			if val != "true" && val != "false" {
				return invalid("value")
			}
		}
		it.Value = map[string]string{want: val}
	}
	c.Items[f.ID] = it
	s.record("updateCustomFieldItem", memberID, b, c, map[string]any{"customField": map[string]any{"id": f.ID, "name": f.Name, "type": f.Type}})
	m := map[string]any{"id": it.ID, "idCustomField": f.ID, "idModel": c.ID, "modelType": "card"}
	if it.IDValue != "" {
		m["idValue"] = it.IDValue
	} else {
		m["value"] = it.Value
	}
	return ok(m)
}

// splitRoutes splits /batch's urls parameter; each route's own query is
// percent-encoded inside it, so its commas survive as %2C.
func splitRoutes(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// batch runs up to 10 GET routes (api-notes §4.5): an array in request order
// of {"<status>": body}; one failing route does not fail the batch.
func (s *Server) batch(urls, memberID string) response {
	routes := splitRoutes(urls)
	if len(routes) == 0 {
		return invalid("urls")
	}
	if len(routes) > maxBatchRoutes {
		return bad("Too many urls in batch, max is 10")
	}
	out := make([]map[string]any, 0, len(routes))
	for _, rt := range routes {
		u, err := url.Parse(rt)
		if err != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "/1/") || strings.HasPrefix(u.Path, "/batch") {
			out = append(out, map[string]any{"400": "invalid url"})
			continue
		}
		req := &http.Request{Method: http.MethodGet, URL: u}
		resp := s.route(req, strings.Trim(u.Path, "/"), memberID)
		var body any = resp.body
		if resp.body == nil {
			body = resp.text
		}
		out = append(out, map[string]any{strconv.Itoa(resp.code): body})
	}
	return ok(out)
}
