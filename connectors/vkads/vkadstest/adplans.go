package vkadstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// planFields are the ad plan fields the fake can return.
var planFields = map[string]bool{"id": true, "name": true, "status": true, "budget_limit_day": true, "budget_limit": true}

// listPlans implements GET /api/v2/ad_plans.json?fields=..&limit=..&offset=..
// returning {count, offset, limit, items} with the account's plans in id
// order; only the requested fields (and id) are present.
func (s *Server) listPlans(r *http.Request, a *account, _ time.Time) reply {
	q := r.URL.Query()
	fields := []string{"id", "name", "status"}
	if v := q.Get("fields"); v != "" {
		fields = strings.Split(v, ",")
		for _, f := range fields {
			if !planFields[f] {
				return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("fields: unknown field %q", f))
			}
		}
	}
	limit, offset := 20, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.opts.MaxListLimit {
			return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("limit: %q must be 1..%d", v, s.opts.MaxListLimit))
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("offset: %q must be a non-negative integer", v))
		}
		offset = n
	}
	items := []map[string]any{}
	for i := offset; i < len(a.plans) && i < offset+limit; i++ {
		p := s.plans[a.plans[i]]
		it := map[string]any{"id": p.ID}
		for _, f := range fields {
			switch f {
			case "name":
				it["name"] = p.Name
			case "status":
				it["status"] = p.Status
			case "budget_limit_day":
				it["budget_limit_day"] = formatRubles(p.BudgetLimitDay)
			case "budget_limit":
				it["budget_limit"] = formatRubles(p.BudgetLimit)
			}
		}
		items = append(items, it)
	}
	return reply{status: http.StatusOK, body: map[string]any{"count": len(a.plans), "offset": offset, "limit": limit, "items": items}}
}

// massItem is one element of a mass_action body. Ids and budgets are
// accepted as JSON numbers or strings: the notes do not say which the API
// wants, so the fake takes both and the client sends strings.
type massItem struct {
	ID             json.RawMessage `json:"id"`
	Status         *string         `json:"status"`
	BudgetLimitDay json.RawMessage `json:"budget_limit_day"`
}

// massAction implements POST /api/v2/ad_plans/mass_action.json: a JSON
// array of at most MaxMassAction {id, status?, budget_limit_day?} items.
// The request is validated as a whole before anything changes (one bad
// item refuses all), then applied; success is 204 without a body.
func (s *Server) massAction(r *http.Request, a *account, now time.Time) reply {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return errReply(http.StatusBadRequest, CodeWrongParameter, "cannot read the body")
	}
	var items []massItem
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&items); err != nil {
		return errReply(http.StatusBadRequest, CodeWrongParameter, "body must be a JSON array of {id, status, budget_limit_day}: "+err.Error())
	}
	switch {
	case len(items) == 0:
		return errReply(http.StatusBadRequest, CodeWrongParameter, "no objects to change")
	case len(items) > s.opts.MaxMassAction:
		return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("too many objects: %d, at most %d per request", len(items), s.opts.MaxMassAction))
	}
	type change struct {
		plan   *AdPlan
		status string
		budget *int64
	}
	owned := map[int64]bool{}
	for _, id := range a.plans {
		owned[id] = true
	}
	seen := map[int64]bool{}
	changes := make([]change, 0, len(items))
	for i, it := range items {
		at := fmt.Sprintf("item %d", i)
		id, err := parseID(it.ID)
		if err != nil {
			return errReply(http.StatusBadRequest, CodeWrongParameter, at+": id: "+err.Error())
		}
		at = fmt.Sprintf("item %d (id %d)", i, id)
		if !owned[id] {
			return errReply(http.StatusBadRequest, CodeWrongAdPlans, at+": no such ad plan in the account")
		}
		if seen[id] {
			return errReply(http.StatusBadRequest, CodeWrongParameter, at+": the ad plan appears twice")
		}
		seen[id] = true
		c := change{plan: s.plans[id]}
		if c.plan.Status == "deleted" {
			return errReply(http.StatusBadRequest, CodeWrongParameter, at+": the ad plan is deleted and cannot be changed")
		}
		if it.Status != nil {
			switch *it.Status {
			case "active", "blocked", "deleted":
				c.status = *it.Status
			default:
				return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("%s: status %q must be active, blocked or deleted", at, *it.Status))
			}
		}
		if len(it.BudgetLimitDay) > 0 && string(it.BudgetLimitDay) != "null" {
			v, err := parseRubles(it.BudgetLimitDay)
			if err != nil {
				return errReply(http.StatusBadRequest, CodeWrongParameter, at+": budget_limit_day: "+err.Error())
			}
			if v != 0 && v < s.opts.MinDailyBudget {
				return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("%s: budget_limit_day %s is below the minimum %s", at, formatRubles(v), formatRubles(s.opts.MinDailyBudget)))
			}
			c.budget = &v
		}
		if c.status == "" && c.budget == nil {
			return errReply(http.StatusBadRequest, CodeWrongParameter, at+": nothing to change (give status or budget_limit_day)")
		}
		changes = append(changes, c)
	}
	var events []WriteEvent
	for _, c := range changes {
		if c.status != "" && c.status != c.plan.Status {
			events = append(events, WriteEvent{Account: a.name, Plan: c.plan.ID, Field: "status", Old: c.plan.Status, New: c.status, At: now})
			c.plan.Status = c.status
		}
		if c.budget != nil && *c.budget != c.plan.BudgetLimitDay {
			events = append(events, WriteEvent{Account: a.name, Plan: c.plan.ID, Field: "budget_limit_day",
				Old: formatRubles(c.plan.BudgetLimitDay), New: formatRubles(*c.budget), At: now})
			c.plan.BudgetLimitDay = *c.budget
		}
	}
	return reply{status: http.StatusNoContent, events: events}
}

func parseID(raw json.RawMessage) (int64, error) {
	s := strings.Trim(string(raw), `"`)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s is not a positive integer", string(raw))
	}
	return id, nil
}

// parseRubles parses a decimal amount of rubles given as a JSON number or
// string into micros, exactly (at most 6 decimals).
func parseRubles(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errors.New("malformed string")
		}
	}
	units, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if units == "" || len(frac) > 6 {
		return 0, fmt.Errorf("%q is not a decimal amount of rubles", s)
	}
	for _, part := range []string{units, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%q is not a non-negative decimal amount of rubles", s)
			}
		}
	}
	u, err := strconv.ParseInt(units, 10, 64)
	if err != nil || u > 1_000_000_000_000 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	return u*1_000_000 + f, nil
}

// formatRubles prints micros as rubles with two decimals, floored to the
// kopeck: VK prints money as decimal strings such as "1000.00".
func formatRubles(micros int64) string {
	kop := micros / 10_000
	return fmt.Sprintf("%d.%02d", kop/100, kop%100)
}
