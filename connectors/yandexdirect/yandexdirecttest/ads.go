package yandexdirecttest

import (
	"encoding/json"
	"sort"
	"strconv"
)

var adFields = map[string]bool{
	"Id": true, "CampaignId": true, "AdGroupId": true, "Status": true, "State": true,
	"StatusClarification": true, "Type": true, "Subtype": true, "AdCategories": true, "AgeLabel": true,
}

func (s *Server) adsGet(login string, raw json.RawMessage) (handled, *apiErr) {
	var p struct {
		SelectionCriteria *struct {
			Ids         []int64  `json:"Ids"`
			AdGroupIds  []int64  `json:"AdGroupIds"`
			CampaignIds []int64  `json:"CampaignIds"`
			States      []string `json:"States"`
			Statuses    []string `json:"Statuses"`
			Types       []string `json:"Types"`
		} `json:"SelectionCriteria"`
		FieldNames       []string `json:"FieldNames"`
		TextAdFieldNames []string `json:"TextAdFieldNames"`
		Page             *page    `json:"Page"`
	}
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	sc := p.SelectionCriteria
	switch {
	case sc == nil || (len(sc.Ids) == 0 && len(sc.AdGroupIds) == 0 && len(sc.CampaignIds) == 0):
		return handled{}, &apiErr{CodeBadSelection, "Invalid SelectionCriteria", "One of Ids, AdGroupIds or CampaignIds is required"}
	case len(sc.Ids) > 10000 || len(sc.AdGroupIds) > 1000 || len(sc.CampaignIds) > 10:
		return handled{}, &apiErr{CodeBadSelection, "Invalid SelectionCriteria", "At most 10000 Ids, 1000 AdGroupIds or 10 CampaignIds"}
	}
	if e := checkFields(p.FieldNames, adFields, "FieldNames", true); e != nil {
		return handled{}, e
	}
	ids, gids, cids := idSet(sc.Ids), idSet(sc.AdGroupIds), idSet(sc.CampaignIds)
	states, statuses, types := strSet(sc.States), strSet(sc.Statuses), strSet(sc.Types)
	var matched []*ad
	candidates := s.adOrder
	switch {
	case len(sc.Ids) > 0:
		// Selecting by id walks only those ids: unknown ids (never
		// created, deleted, or another advertiser's) match nothing and are
		// no error, as with every v5 get.
		candidates = nil
		for _, idv := range sortedIDs(ids) {
			if s.ads[idv] != nil {
				candidates = append(candidates, idv)
			}
		}
	case len(sc.CampaignIds) > 0:
		// Selecting by campaign walks only those campaigns' ads (keeps
		// the fake fast for simulator-sized accounts); the order is the
		// order of creation either way.
		candidates = nil
		for _, cidv := range sortedIDs(cids) {
			candidates = append(candidates, s.adsByCamp[cidv]...)
		}
		sort.Slice(candidates, func(i, j int) bool { return candidates[i] < candidates[j] })
	}
	for _, id := range candidates {
		a := s.ads[id]
		c := s.campaigns[a.CampaignID]
		if c == nil || c.Login != login {
			continue
		}
		s.advanceAd(a)
		if (len(ids) > 0 && !ids[a.ID]) || (len(gids) > 0 && !gids[a.AdGroupID]) || (len(cids) > 0 && !cids[a.CampaignID]) ||
			(states != nil && !states[a.State]) || (statuses != nil && !statuses[a.Status]) || (types != nil && !types[a.Type]) {
			continue
		}
		matched = append(matched, a)
	}
	from, to, limitedBy, e := pageOf(p.Page, len(matched))
	if e != nil {
		return handled{}, e
	}
	items := make([]map[string]any, 0, to-from)
	for _, a := range matched[from:to] {
		m := map[string]any{}
		for _, f := range p.FieldNames {
			switch f {
			case "Id":
				m[f] = a.ID
			case "CampaignId":
				m[f] = a.CampaignID
			case "AdGroupId":
				m[f] = a.AdGroupID
			case "Status":
				m[f] = a.Status
			case "State":
				m[f] = a.State
			case "StatusClarification":
				m[f] = a.StatusClarification
			case "Type":
				m[f] = a.Type
			default:
				m[f] = nil
			}
		}
		items = append(items, m)
	}
	res := map[string]any{"Ads": items}
	if limitedBy > 0 {
		res["LimitedBy"] = limitedBy
	}
	return handled{result: res, objects: int64(len(items))}, nil
}

func (s *Server) adsModerate(login string, raw json.RawMessage, apply bool) (handled, *apiErr) {
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
		return handled{}, &apiErr{CodeBadSelection, "Invalid SelectionCriteria", "SelectionCriteria.Ids is required"}
	case len(p.SelectionCriteria.Ids) > 10000:
		return handled{}, &apiErr{CodeTooManyObjects, "Too many objects in request", "At most 10000 ids per call"}
	}
	var h handled
	results := make([]actionResult, 0, len(p.SelectionCriteria.Ids))
	for _, id := range p.SelectionCriteria.Ids {
		a := s.ads[id]
		var r actionResult
		switch {
		case a == nil || s.campaigns[a.CampaignID] == nil || s.campaigns[a.CampaignID].Login != login:
			r = errResult(CodeNotFound, "Object not found", "Ad "+strconv.FormatInt(id, 10)+" not found")
		case a.Status != "DRAFT":
			r = errResult(CodeBadState, "Cannot perform operation", "Only DRAFT ads can be sent to moderation")
		default:
			r = okResult(id)
			if apply {
				s.submit(a)
			}
		}
		if r.Errors != nil {
			h.failed++
		}
		results = append(results, r)
	}
	h.result = map[string]any{"ModerateResults": results}
	return h, nil
}

// DeleteAd removes an ad as deleting it in the web interface does: Ads.get
// no longer returns it by any selection. It reports whether the ad existed.
func (s *Server) DeleteAd(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ads[id]
	if a == nil {
		return false
	}
	delete(s.ads, id)
	s.adOrder = without(s.adOrder, id)
	s.adsByCamp[a.CampaignID] = without(s.adsByCamp[a.CampaignID], id)
	return true
}

// ArchiveAd moves an ad to State ARCHIVED: it is still returned by Ads.get,
// but not to a selection filtered on the serving States.
func (s *Server) ArchiveAd(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ads[id]
	if a == nil {
		return false
	}
	a.State = "ARCHIVED"
	return true
}

func without(ids []int64, id int64) []int64 {
	out := ids[:0:0]
	for _, v := range ids {
		if v != id {
			out = append(out, v)
		}
	}
	return out
}
