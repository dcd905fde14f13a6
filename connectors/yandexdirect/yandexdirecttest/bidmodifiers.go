package yandexdirecttest

import (
	"encoding/json"
	"sort"
	"strconv"
)

// BidModifiers (api-notes §1.8, checklist 6.1.5): campaign- and
// group-level bid adjustments. The fake models add, set, get and delete
// for regional and demographic adjustments (the two whose add shape the
// notes give); other types can be created with AddBidModifier to exercise
// set's per-type ranges. toggle is not modelled and answers 55.

// BidModifier is one adjustment. Value is the integer percent the bid is
// multiplied by (100 = no change).
type BidModifier struct {
	ID         int64
	CampaignID int64
	// AdGroupID is set for AD_GROUP-level adjustments, 0 for CAMPAIGN.
	AdGroupID int64
	Level     string // CAMPAIGN | AD_GROUP
	Type      string // REGIONAL_ADJUSTMENT, DEMOGRAPHICS_ADJUSTMENT, MOBILE_ADJUSTMENT, ...
	RegionID  int64  // REGIONAL_ADJUSTMENT
	Gender    string // DEMOGRAPHICS_ADJUSTMENT: GENDER_MALE | GENDER_FEMALE (empty: any)
	Age       string // DEMOGRAPHICS_ADJUSTMENT: AGE_18_24, ... (empty: any)
	Value     int64
	Enabled   bool
}

// modifierRanges are the allowed BidModifier values per type, inclusive,
// from the bidmodifiers/set page (api-notes §1.8): 0-1300 for device,
// gender/age and retargeting, 10-1300 for regional, 20-1300 for smart ads,
// 1-1300 for SERP layout, income and ad-group adjustments.
var modifierRanges = map[string][2]int64{
	"MOBILE_ADJUSTMENT":       {0, 1300},
	"TABLET_ADJUSTMENT":       {0, 1300},
	"DESKTOP_ADJUSTMENT":      {0, 1300},
	"DESKTOP_ONLY_ADJUSTMENT": {0, 1300},
	"DEMOGRAPHICS_ADJUSTMENT": {0, 1300},
	"RETARGETING_ADJUSTMENT":  {0, 1300},
	"REGIONAL_ADJUSTMENT":     {10, 1300},
	"SMART_AD_ADJUSTMENT":     {20, 1300},
	"SERP_LAYOUT_ADJUSTMENT":  {1, 1300},
	"INCOME_GRADE_ADJUSTMENT": {1, 1300},
	"AD_GROUP_ADJUSTMENT":     {1, 1300},
	// The notes give no range for video adjustments; the fake accepts the
	// widest documented one rather than refuse a value the service may take.
	"VIDEO_ADJUSTMENT": {0, 1300},
}

const (
	maxModifierSet    = 1000   // items per BidModifiers.set
	maxModifierWindow = 120000 // Limit + Offset of BidModifiers.get
)

func modifierRangeError(typ string, v int64) *actionResult {
	r, ok := modifierRanges[typ]
	if !ok || (v >= r[0] && v <= r[1]) {
		return nil
	}
	res := errResult(CodeBadValue, "Invalid value",
		"BidModifier "+strconv.FormatInt(v, 10)+" is outside "+strconv.FormatInt(r[0], 10)+".."+strconv.FormatInt(r[1], 10)+" for "+typ)
	return &res
}

// AddBidModifier creates an adjustment directly (test setup) and returns
// its id. Level defaults from AdGroupID, Enabled is forced on.
func (s *Server) AddBidModifier(m BidModifier) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.ID == 0 {
		s.nextID++
		m.ID = s.nextID
	}
	if m.Level == "" {
		m.Level = "CAMPAIGN"
		if m.AdGroupID != 0 {
			m.Level = "AD_GROUP"
		}
	}
	m.Enabled = true
	if _, exists := s.modifiers[m.ID]; !exists {
		s.modOrder = append(s.modOrder, m.ID)
	}
	cp := m
	s.modifiers[m.ID] = &cp
	return m.ID
}

// BidModifiers returns copies of a campaign's adjustments (both levels) in
// creation order.
func (s *Server) BidModifiers(campaignID int64) []BidModifier {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []BidModifier
	for _, id := range s.modOrder {
		if m := s.modifiers[id]; m != nil && m.CampaignID == campaignID {
			out = append(out, *m)
		}
	}
	return out
}

// owner returns the login that owns a campaign (empty if unknown).
func (s *Server) campaignOwner(id int64) string {
	if c := s.campaigns[id]; c != nil {
		return c.Login
	}
	return ""
}

// adGroupCampaign resolves an ad group of login to its campaign: the fake's
// groups exist implicitly through keywords and ads.
func (s *Server) adGroupCampaign(login string, group int64) (int64, bool) {
	for _, cid := range s.order {
		c := s.campaigns[cid]
		if c.Login != login {
			continue
		}
		for _, k := range c.keywords {
			if k.adGroup == group {
				return c.ID, true
			}
		}
		for _, aid := range s.adsByCamp[cid] {
			if a := s.ads[aid]; a != nil && a.AdGroupID == group {
				return c.ID, true
			}
		}
	}
	return 0, false
}

type regionalAdd struct {
	RegionID    *int64 `json:"RegionId"`
	BidModifier *int64 `json:"BidModifier"`
}

type demographicsAdd struct {
	Gender      *string `json:"Gender"`
	Age         *string `json:"Age"`
	BidModifier *int64  `json:"BidModifier"`
}

type modifierAddItem struct {
	CampaignID              *int64            `json:"CampaignId"`
	AdGroupID               *int64            `json:"AdGroupId"`
	RegionalAdjustments     []regionalAdd     `json:"RegionalAdjustments"`
	DemographicsAdjustments []demographicsAdd `json:"DemographicsAdjustments"`
}

// modifierKey identifies an adjustment for the "already exists" check: one
// per campaign/group, type and region or gender-age pair.
func modifierKey(m BidModifier) string {
	return strconv.FormatInt(m.CampaignID, 10) + "/" + strconv.FormatInt(m.AdGroupID, 10) + "/" + m.Type + "/" +
		strconv.FormatInt(m.RegionID, 10) + "/" + m.Gender + "/" + m.Age
}

var (
	genders = map[string]bool{"GENDER_MALE": true, "GENDER_FEMALE": true}
	ages    = map[string]bool{"AGE_0_17": true, "AGE_18_24": true, "AGE_25_34": true, "AGE_35_44": true,
		"AGE_45_54": true, "AGE_55": true, "AGE_45": true}
)

// bidModifiersAdd creates adjustments. One item may hold several
// adjustments; the item fails as a whole when any of them is invalid. The
// result item carries Ids (one per adjustment created): a single Id cannot
// name several objects. The notes do not show add's result; the Ids shape
// follows public v5 client contracts (MultiIdsActionResult).
func (s *Server) bidModifiersAdd(login string, raw json.RawMessage, apply bool) (handled, *apiErr) {
	var p struct {
		BidModifiers []modifierAddItem `json:"BidModifiers"`
	}
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	if len(p.BidModifiers) == 0 {
		return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "Parameter BidModifiers must not be empty"}
	}
	now := s.clock.Now()
	var h handled
	type addResult struct {
		IDs      []int64  `json:"Ids,omitempty"`
		Warnings []notice `json:"Warnings,omitempty"`
		Errors   []notice `json:"Errors,omitempty"`
	}
	results := make([]addResult, 0, len(p.BidModifiers))
	inRequest := map[string]bool{}
	for _, it := range p.BidModifiers {
		mods, fail := s.modifiersOf(login, it, inRequest)
		if fail != nil {
			h.failed++
			results = append(results, addResult{Errors: fail.Errors})
			continue
		}
		var ids []int64
		for _, m := range mods {
			inRequest[modifierKey(m)] = true
			h.objects++
			if !apply {
				continue
			}
			s.nextID++
			m.ID = s.nextID
			m.Enabled = true
			cp := m
			s.modifiers[m.ID] = &cp
			s.modOrder = append(s.modOrder, m.ID)
			ids = append(ids, m.ID)
			h.writes = append(h.writes, WriteEvent{Login: login, Service: "bidmodifiers", Method: "add", Campaign: m.CampaignID,
				Field: "BidModifier", New: strconv.FormatInt(m.Value, 10), At: now})
		}
		results = append(results, addResult{IDs: ids})
	}
	h.result = map[string]any{"AddResults": results}
	return h, nil
}

// modifiersOf validates one add item and expands it into adjustments.
func (s *Server) modifiersOf(login string, it modifierAddItem, inRequest map[string]bool) ([]BidModifier, *actionResult) {
	fail := func(code int, msg, details string) ([]BidModifier, *actionResult) {
		r := errResult(code, msg, details)
		return nil, &r
	}
	var base BidModifier
	switch {
	case (it.CampaignID == nil) == (it.AdGroupID == nil):
		return fail(4004, "Mutually exclusive parameters", "Give exactly one of CampaignId or AdGroupId")
	case it.CampaignID != nil:
		if s.campaignOwner(*it.CampaignID) != login {
			return fail(CodeNotFound, "Object not found", "Campaign "+strconv.FormatInt(*it.CampaignID, 10)+" not found")
		}
		base = BidModifier{CampaignID: *it.CampaignID, Level: "CAMPAIGN"}
	default:
		cid, ok := s.adGroupCampaign(login, *it.AdGroupID)
		if !ok {
			return fail(CodeNotFound, "Object not found", "Ad group "+strconv.FormatInt(*it.AdGroupID, 10)+" not found")
		}
		base = BidModifier{CampaignID: cid, AdGroupID: *it.AdGroupID, Level: "AD_GROUP"}
		if len(it.RegionalAdjustments) > 0 {
			// Regional adjustments are campaign-level only (api-notes §1.8).
			// The notes give no code for it; 3500 "not supported" is the
			// closest of the documented ones.
			return fail(CodeNotSupported, "Not supported", "Regional adjustments can be set at campaign level only")
		}
	}
	if len(it.RegionalAdjustments) == 0 && len(it.DemographicsAdjustments) == 0 {
		return fail(4003, "Required parameters missing", "Give RegionalAdjustments or DemographicsAdjustments")
	}
	var out []BidModifier
	seen := map[string]bool{}
	for _, r := range it.RegionalAdjustments {
		if r.RegionID == nil || *r.RegionID <= 0 || r.BidModifier == nil {
			return fail(CodeInvalidRequest, "Invalid request", "RegionalAdjustments items need RegionId and BidModifier")
		}
		m := base
		m.Type, m.RegionID, m.Value = "REGIONAL_ADJUSTMENT", *r.RegionID, *r.BidModifier
		out = append(out, m)
	}
	for _, d := range it.DemographicsAdjustments {
		// Gender or Age may be omitted (any); the exact shape is an
		// inference of the notes, so the fake only needs one of them.
		if d.BidModifier == nil || (d.Gender == nil && d.Age == nil) {
			return fail(CodeInvalidRequest, "Invalid request", "DemographicsAdjustments items need BidModifier and Gender or Age")
		}
		m := base
		m.Type, m.Value = "DEMOGRAPHICS_ADJUSTMENT", *d.BidModifier
		if d.Gender != nil {
			if !genders[*d.Gender] {
				return fail(CodeBadValue, "Invalid value", "Unknown Gender "+strconv.Quote(*d.Gender))
			}
			m.Gender = *d.Gender
		}
		if d.Age != nil {
			if !ages[*d.Age] {
				return fail(CodeBadValue, "Invalid value", "Unknown Age "+strconv.Quote(*d.Age))
			}
			m.Age = *d.Age
		}
		out = append(out, m)
	}
	for _, m := range out {
		if r := modifierRangeError(m.Type, m.Value); r != nil {
			return nil, r
		}
		k := modifierKey(m)
		switch {
		case seen[k]:
			return fail(CodeDuplicateElement, "Duplicate list element", "The same adjustment appears twice in the item")
		case inRequest[k]:
			return fail(CodeDuplicateObject, "Duplicate object", "The same adjustment appears twice in the request")
		}
		seen[k] = true
		for _, id := range s.modOrder {
			if x := s.modifiers[id]; x != nil && modifierKey(*x) == k {
				return fail(CodeAlreadyExists, "Object already exists", "Adjustment "+strconv.FormatInt(id, 10)+" already exists; change it with set")
			}
		}
	}
	return out, nil
}

// bidModifiersSet changes adjustment values by Id. Each value is checked
// against its type's range: a regional value outside 10..1300 is item error
// 5005 and the other items still apply (checklist 6.1.5).
func (s *Server) bidModifiersSet(login string, raw json.RawMessage, apply bool) (handled, *apiErr) {
	var p struct {
		BidModifiers []struct {
			ID          *int64 `json:"Id"`
			BidModifier *int64 `json:"BidModifier"`
		} `json:"BidModifiers"`
	}
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	switch {
	case len(p.BidModifiers) == 0:
		return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "Parameter BidModifiers must not be empty"}
	case len(p.BidModifiers) > maxModifierSet:
		return handled{}, &apiErr{CodeTooManyObjects, "Too many objects in request", "BidModifiers.set accepts at most 1000 items per call"}
	}
	now := s.clock.Now()
	var h handled
	results := make([]actionResult, 0, len(p.BidModifiers))
	seen := map[int64]bool{}
	for _, it := range p.BidModifiers {
		var r actionResult
		var m *BidModifier
		if it.ID != nil {
			m = s.modifiers[*it.ID]
		}
		switch {
		case it.ID == nil || it.BidModifier == nil:
			r = errResult(CodeInvalidRequest, "Invalid request", "Each item needs Id and BidModifier")
		case seen[*it.ID]:
			r = errResult(CodeDuplicateObject, "Duplicate object", "Adjustment "+strconv.FormatInt(*it.ID, 10)+" appears twice in the request")
		case m == nil || s.campaignOwner(m.CampaignID) != login:
			r = errResult(CodeNotFound, "Object not found", "Adjustment "+strconv.FormatInt(*it.ID, 10)+" not found")
		default:
			if bad := modifierRangeError(m.Type, *it.BidModifier); bad != nil {
				r = *bad
				break
			}
			r = okResult(*it.ID)
			if apply {
				old := m.Value
				m.Value = *it.BidModifier
				h.writes = append(h.writes, WriteEvent{Login: login, Service: "bidmodifiers", Method: "set", Campaign: m.CampaignID,
					Field: "BidModifier", Old: strconv.FormatInt(old, 10), New: strconv.FormatInt(m.Value, 10), At: now})
			}
		}
		if it.ID != nil {
			seen[*it.ID] = true
		}
		if r.Errors != nil {
			h.failed++
		} else {
			h.objects++
		}
		results = append(results, r)
	}
	h.result = map[string]any{"SetResults": results}
	return h, nil
}

// bidModifiersDelete removes adjustments by SelectionCriteria.Ids.
func (s *Server) bidModifiersDelete(login string, raw json.RawMessage, apply bool) (handled, *apiErr) {
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
	case len(p.SelectionCriteria.Ids) > maxModifierSet:
		return handled{}, &apiErr{CodeTooManyObjects, "Too many objects in request", "At most 1000 ids per call"}
	}
	now := s.clock.Now()
	var h handled
	results := make([]actionResult, 0, len(p.SelectionCriteria.Ids))
	for _, id := range p.SelectionCriteria.Ids {
		m := s.modifiers[id]
		if m == nil || s.campaignOwner(m.CampaignID) != login {
			results = append(results, errResult(CodeNotFound, "Object not found", "Adjustment "+strconv.FormatInt(id, 10)+" not found"))
			h.failed++
			continue
		}
		if apply {
			delete(s.modifiers, id)
			s.modOrder = without(s.modOrder, id)
			h.writes = append(h.writes, WriteEvent{Login: login, Service: "bidmodifiers", Method: "delete", Campaign: m.CampaignID,
				Field: "BidModifier", Old: strconv.FormatInt(m.Value, 10), At: now})
		}
		results = append(results, okResult(id))
		h.objects++
	}
	h.result = map[string]any{"DeleteResults": results}
	return h, nil
}

var (
	modifierFields     = map[string]bool{"Id": true, "CampaignId": true, "AdGroupId": true, "Level": true, "Type": true}
	regionalFields     = map[string]bool{"RegionId": true, "BidModifier": true, "Enabled": true}
	demographicsFields = map[string]bool{"Gender": true, "Age": true, "BidModifier": true, "Enabled": true}
	modifierLevels     = map[string]bool{"CAMPAIGN": true, "AD_GROUP": true}
)

// bidModifiersGet reads adjustments. Levels is required and Limit + Offset
// may not exceed 120,000 (9301). The per-type block nesting
// ("RegionalAdjustment": {...}) is an inference of the notes.
func (s *Server) bidModifiersGet(login string, raw json.RawMessage) (handled, *apiErr) {
	var p struct {
		SelectionCriteria *struct {
			CampaignIds []int64  `json:"CampaignIds"`
			AdGroupIds  []int64  `json:"AdGroupIds"`
			Ids         []int64  `json:"Ids"`
			Types       []string `json:"Types"`
			Levels      []string `json:"Levels"`
		} `json:"SelectionCriteria"`
		FieldNames                       []string `json:"FieldNames"`
		RegionalAdjustmentFieldNames     []string `json:"RegionalAdjustmentFieldNames"`
		DemographicsAdjustmentFieldNames []string `json:"DemographicsAdjustmentFieldNames"`
		Page                             *page    `json:"Page"`
	}
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	sc := p.SelectionCriteria
	switch {
	case sc == nil || len(sc.Levels) == 0:
		return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "SelectionCriteria.Levels is required"}
	case len(sc.CampaignIds) == 0 && len(sc.AdGroupIds) == 0 && len(sc.Ids) == 0:
		return handled{}, &apiErr{CodeBadSelection, "Invalid SelectionCriteria", "One of CampaignIds, AdGroupIds or Ids is required"}
	}
	for _, l := range sc.Levels {
		if !modifierLevels[l] {
			return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "Unknown Levels value " + strconv.Quote(l)}
		}
	}
	for _, t := range sc.Types {
		if _, ok := modifierRanges[t]; !ok {
			return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "Unknown Types value " + strconv.Quote(t)}
		}
	}
	if e := checkFields(p.FieldNames, modifierFields, "FieldNames", true); e != nil {
		return handled{}, e
	}
	if e := checkFields(p.RegionalAdjustmentFieldNames, regionalFields, "RegionalAdjustmentFieldNames", false); e != nil {
		return handled{}, e
	}
	if e := checkFields(p.DemographicsAdjustmentFieldNames, demographicsFields, "DemographicsAdjustmentFieldNames", false); e != nil {
		return handled{}, e
	}
	if p.Page != nil && p.Page.Limit != nil && p.Page.Offset != nil && *p.Page.Limit+*p.Page.Offset > maxModifierWindow {
		return handled{}, &apiErr{CodeSelectionTooWide, "Selection too wide", "Page.Limit + Page.Offset must not exceed 120000"}
	}
	cids, gids, ids := idSet(sc.CampaignIds), idSet(sc.AdGroupIds), idSet(sc.Ids)
	levels, types := strSet(sc.Levels), strSet(sc.Types)
	var matched []*BidModifier
	for _, id := range s.modOrder {
		m := s.modifiers[id]
		if m == nil || s.campaignOwner(m.CampaignID) != login || !levels[m.Level] || (types != nil && !types[m.Type]) ||
			(len(cids) > 0 && !cids[m.CampaignID]) || (len(gids) > 0 && !gids[m.AdGroupID]) || (len(ids) > 0 && !ids[m.ID]) {
			continue
		}
		matched = append(matched, m)
	}
	sort.SliceStable(matched, func(i, j int) bool { return matched[i].ID < matched[j].ID })
	from, to, limitedBy, e := pageOf(p.Page, len(matched))
	if e != nil {
		return handled{}, e
	}
	items := make([]map[string]any, 0, to-from)
	for _, m := range matched[from:to] {
		items = append(items, modifierItem(m, p.FieldNames, p.RegionalAdjustmentFieldNames, p.DemographicsAdjustmentFieldNames))
	}
	res := map[string]any{"BidModifiers": items}
	if limitedBy > 0 {
		res["LimitedBy"] = limitedBy
	}
	return handled{result: res, objects: int64(len(items))}, nil
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func modifierItem(m *BidModifier, fields, regional, demographics []string) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		switch f {
		case "Id":
			out[f] = m.ID
		case "CampaignId":
			out[f] = m.CampaignID
		case "AdGroupId":
			if m.AdGroupID == 0 {
				out[f] = nil
			} else {
				out[f] = m.AdGroupID
			}
		case "Level":
			out[f] = m.Level
		case "Type":
			out[f] = m.Type
		}
	}
	switch {
	case m.Type == "REGIONAL_ADJUSTMENT" && len(regional) > 0:
		b := map[string]any{}
		for _, f := range regional {
			switch f {
			case "RegionId":
				b[f] = m.RegionID
			case "BidModifier":
				b[f] = m.Value
			case "Enabled":
				b[f] = yesNo(m.Enabled)
			}
		}
		out["RegionalAdjustment"] = b
	case m.Type == "DEMOGRAPHICS_ADJUSTMENT" && len(demographics) > 0:
		b := map[string]any{}
		for _, f := range demographics {
			switch f {
			case "Gender":
				b[f] = nullable(m.Gender)
			case "Age":
				b[f] = nullable(m.Age)
			case "BidModifier":
				b[f] = m.Value
			case "Enabled":
				b[f] = yesNo(m.Enabled)
			}
		}
		out["DemographicsAdjustment"] = b
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
