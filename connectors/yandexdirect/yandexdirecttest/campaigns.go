package yandexdirecttest

import (
	"encoding/json"
	"strconv"
)

var campaignFields = map[string]bool{
	"Id": true, "Name": true, "Type": true, "State": true, "Status": true,
	"StatusPayment": true, "StatusClarification": true, "TimeZone": true,
	"Currency": true, "DailyBudget": true, "StartDate": true, "EndDate": true,
}

// Type-specific field names; the ones the fake does not model are returned
// as null, as the real API does for fields without a value.
var typedCampaignFields = map[string]bool{
	"BiddingStrategy": true, "Settings": true, "CounterIds": true,
	"PriorityGoals": true, "AttributionModel": true,
}

type campaignsGetParams struct {
	SelectionCriteria *struct {
		Ids      []int64  `json:"Ids"`
		Types    []string `json:"Types"`
		States   []string `json:"States"`
		Statuses []string `json:"Statuses"`
	} `json:"SelectionCriteria"`
	FieldNames                []string `json:"FieldNames"`
	TextCampaignFieldNames    []string `json:"TextCampaignFieldNames"`
	UnifiedCampaignFieldNames []string `json:"UnifiedCampaignFieldNames"`
	Page                      *page    `json:"Page"`
}

func (s *Server) campaignsGet(version, login string, raw json.RawMessage) (handled, *apiErr) {
	var p campaignsGetParams
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	if version == "v5" && p.UnifiedCampaignFieldNames != nil {
		return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "UnifiedCampaignFieldNames is available in API v501 only"}
	}
	if p.SelectionCriteria == nil {
		return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "Parameter SelectionCriteria is required"}
	}
	if e := checkFields(p.FieldNames, campaignFields, "FieldNames", true); e != nil {
		return handled{}, e
	}
	if e := checkFields(p.TextCampaignFieldNames, typedCampaignFields, "TextCampaignFieldNames", false); e != nil {
		return handled{}, e
	}
	if e := checkFields(p.UnifiedCampaignFieldNames, typedCampaignFields, "UnifiedCampaignFieldNames", false); e != nil {
		return handled{}, e
	}
	sc := p.SelectionCriteria
	ids := idSet(sc.Ids)
	types, states, statuses := strSet(sc.Types), strSet(sc.States), strSet(sc.Statuses)
	var matched []*campaign
	for _, id := range s.order {
		c := s.campaigns[id]
		// Ids of other advertisers or unknown ids are silently ignored.
		if c.Login != login || (len(ids) > 0 && !ids[id]) ||
			(types != nil && !types[c.Type]) || (states != nil && !states[c.State]) ||
			(statuses != nil && !statuses[c.Status]) {
			continue
		}
		matched = append(matched, c)
	}
	from, to, limitedBy, e := pageOf(p.Page, len(matched))
	if e != nil {
		return handled{}, e
	}
	items := make([]map[string]any, 0, to-from)
	for _, c := range matched[from:to] {
		items = append(items, campaignItem(c, p))
	}
	res := map[string]any{"Campaigns": items}
	if limitedBy > 0 {
		res["LimitedBy"] = limitedBy
	}
	return handled{result: res, objects: int64(len(items))}, nil
}

func campaignItem(c *campaign, p campaignsGetParams) map[string]any {
	m := map[string]any{}
	for _, f := range p.FieldNames {
		switch f {
		case "Id":
			m[f] = c.ID
		case "Name":
			m[f] = c.Name
		case "Type":
			m[f] = c.Type
		case "State":
			m[f] = c.State
		case "Status":
			m[f] = c.Status
		case "StatusPayment":
			m[f] = "ALLOWED"
		case "StatusClarification":
			m[f] = c.StatusClarification
		case "TimeZone":
			m[f] = c.TimeZone
		case "Currency":
			m[f] = c.Currency
		case "DailyBudget":
			if c.DailyBudget == nil {
				m[f] = nil
			} else {
				m[f] = map[string]any{"Amount": c.DailyBudget.Amount, "Mode": c.DailyBudget.Mode}
			}
		default:
			m[f] = nil
		}
	}
	typed := func(names []string) map[string]any {
		out := map[string]any{}
		for _, n := range names {
			if n == "BiddingStrategy" {
				out[n] = map[string]any{
					"Search":  map[string]any{"BiddingStrategyType": c.SearchStrategy},
					"Network": map[string]any{"BiddingStrategyType": c.NetworkStrategy},
				}
			} else {
				out[n] = nil
			}
		}
		return out
	}
	switch {
	case c.Type == "TEXT_CAMPAIGN" && len(p.TextCampaignFieldNames) > 0:
		m["TextCampaign"] = typed(p.TextCampaignFieldNames)
	case c.Type == "UNIFIED_CAMPAIGN" && len(p.UnifiedCampaignFieldNames) > 0:
		m["UnifiedCampaign"] = typed(p.UnifiedCampaignFieldNames)
	}
	return m
}

type campaignUpdateItem struct {
	ID          *int64          `json:"Id"`
	Name        *string         `json:"Name"`
	DailyBudget json.RawMessage `json:"DailyBudget"`
}

const (
	minDailyBudget = 300_000_000 // 300 RUB in micros
	kopeck         = 10_000
)

func (s *Server) campaignsUpdate(version, login string, raw json.RawMessage, apply bool) (handled, *apiErr) {
	var p struct {
		Campaigns []campaignUpdateItem `json:"Campaigns"`
	}
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	switch {
	case len(p.Campaigns) == 0:
		return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "Parameter Campaigns must hold 1..10 items"}
	case len(p.Campaigns) > 10:
		return handled{}, &apiErr{CodeTooManyObjects, "Too many objects in request", "Campaigns.update accepts at most 10 campaigns per call"}
	}
	now := s.clock.Now()
	day := now.In(moscow).Format("2006-01-02")
	var h handled
	results := make([]actionResult, 0, len(p.Campaigns))
	seen := map[int64]bool{}
	for _, it := range p.Campaigns {
		r, ev := s.updateOne(version, login, it, day, seen, apply)
		if r.Errors != nil {
			h.failed++
		} else {
			h.objects++
		}
		if ev != nil {
			ev.At = now
			h.writes = append(h.writes, *ev)
		}
		results = append(results, r)
	}
	h.result = map[string]any{"UpdateResults": results}
	return h, nil
}

func (s *Server) updateOne(version, login string, it campaignUpdateItem, day string, seen map[int64]bool, apply bool) (actionResult, *WriteEvent) {
	if it.ID == nil {
		return errResult(CodeInvalidRequest, "Invalid request", "Id is required"), nil
	}
	id := *it.ID
	if seen[id] {
		return errResult(9800, "Duplicate object", "Campaign "+strconv.FormatInt(id, 10)+" appears twice in the request"), nil
	}
	seen[id] = true
	c := s.campaigns[id]
	if c == nil || c.Login != login {
		return errResult(CodeNotFound, "Object not found", "Campaign "+strconv.FormatInt(id, 10)+" not found"), nil
	}
	if c.Type == "UNIFIED_CAMPAIGN" && version == "v5" {
		return errResult(CodeNotSupported, "Not supported", "Unified campaigns are updated through API v501"), nil
	}
	if c.State == "ARCHIVED" {
		return errResult(CodeBadState, "Cannot perform operation", "Campaign is archived"), nil
	}
	var newBudget *DailyBudget
	budgetGiven := len(it.DailyBudget) > 0
	if budgetGiven && string(it.DailyBudget) != "null" {
		var b struct {
			Amount *int64  `json:"Amount"`
			Mode   *string `json:"Mode"`
		}
		if err := json.Unmarshal(it.DailyBudget, &b); err != nil {
			return errResult(CodeInvalidRequest, "Invalid request", "DailyBudget: "+err.Error()), nil
		}
		switch {
		case b.Amount == nil || b.Mode == nil:
			return errResult(CodeInvalidRequest, "Invalid request", "DailyBudget needs both Amount and Mode"), nil
		case *b.Mode != "STANDARD" && *b.Mode != "DISTRIBUTED":
			return errResult(CodeInvalidRequest, "Invalid request", "DailyBudget.Mode must be STANDARD or DISTRIBUTED"), nil
		case *b.Amount < minDailyBudget:
			return errResult(CodeBadValue, "Invalid value", "DailyBudget.Amount must be at least 300 RUB"), nil
		case *b.Amount%kopeck != 0:
			return errResult(CodeBadValue, "Invalid value", "DailyBudget.Amount must be a whole number of kopecks"), nil
		}
		newBudget = &DailyBudget{Amount: *b.Amount, Mode: *b.Mode}
	}
	if budgetGiven && s.edits[editKey{id, day}] >= budgetEditCap {
		return errResult(CodeBudgetEditLimit, "Cannot perform operation", "Daily budget amount changed more than 3 times a day"), nil
	}
	var ev *WriteEvent
	if apply {
		if it.Name != nil {
			c.Name = *it.Name
		}
		if budgetGiven {
			old := budgetText(c.DailyBudget)
			c.DailyBudget = newBudget
			s.edits[editKey{id, day}]++
			ev = &WriteEvent{Login: login, Service: "campaigns", Method: "update", Campaign: id,
				Field: "DailyBudget", Old: old, New: budgetText(newBudget)}
		}
	}
	return okResult(id), ev
}

func budgetText(b *DailyBudget) string {
	if b == nil {
		return ""
	}
	return strconv.FormatInt(b.Amount, 10)
}

func (s *Server) campaignsState(method, login string, raw json.RawMessage, apply bool) (handled, *apiErr) {
	var p struct {
		SelectionCriteria *struct {
			Ids []int64 `json:"Ids"`
		} `json:"SelectionCriteria"`
	}
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	switch {
	case p.SelectionCriteria == nil || len(p.SelectionCriteria.Ids) == 0:
		return handled{}, &apiErr{CodeBadSelection, "Invalid SelectionCriteria", "SelectionCriteria.Ids must hold 1..1000 ids"}
	case len(p.SelectionCriteria.Ids) > 1000:
		return handled{}, &apiErr{CodeTooManyObjects, "Too many objects in request", "At most 1000 ids per call"}
	}
	now := s.clock.Now()
	var h handled
	results := make([]actionResult, 0, len(p.SelectionCriteria.Ids))
	for _, id := range p.SelectionCriteria.Ids {
		c := s.campaigns[id]
		var r actionResult
		switch {
		case c == nil || c.Login != login:
			r = errResult(CodeNotFound, "Object not found", "Campaign "+strconv.FormatInt(id, 10)+" not found")
		case c.State == "ARCHIVED" || c.State == "ENDED" || c.State == "CONVERTED":
			r = errResult(CodeBadState, "Cannot perform operation", "Campaign is "+c.State)
		case method == "suspend" && c.State == "SUSPENDED":
			r = okResult(id, notice{10020, "Campaign already suspended", ""})
		case method == "resume" && c.State != "SUSPENDED":
			r = okResult(id, notice{10021, "Campaign not suspended", ""})
		default:
			r = okResult(id)
			if apply {
				old := c.State
				c.State = "SUSPENDED"
				if method == "resume" {
					c.State = "ON"
				}
				h.writes = append(h.writes, WriteEvent{Login: login, Service: "campaigns", Method: method,
					Campaign: id, Field: "State", Old: old, New: c.State, At: now})
			}
		}
		if r.Errors != nil {
			h.failed++
		} else {
			h.objects++
		}
		results = append(results, r)
	}
	name := "SuspendResults"
	if method == "resume" {
		name = "ResumeResults"
	}
	h.result = map[string]any{name: results}
	return h, nil
}
