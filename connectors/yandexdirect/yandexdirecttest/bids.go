package yandexdirecttest

import (
	"encoding/json"
	"strconv"
)

var (
	keywordBidFields = map[string]bool{"KeywordId": true, "AdGroupId": true, "CampaignId": true, "ServingStatus": true, "StrategyPriority": true}
	searchBidFields  = map[string]bool{"Bid": true, "AutotargetingSearchBidIsAuto": true, "AuctionBids": true}
	networkBidFields = map[string]bool{"Bid": true, "Coverage": true}
)

// Bid range in RUB micros: 0.30 .. 25,000 RUB (currency dictionary values
// of the real service for RUB).
const (
	minBid = 300_000
	maxBid = 25_000_000_000
)

func (s *Server) keywordBidsGet(login string, raw json.RawMessage) (handled, *apiErr) {
	var p struct {
		SelectionCriteria *struct {
			KeywordIds      []int64  `json:"KeywordIds"`
			AdGroupIds      []int64  `json:"AdGroupIds"`
			CampaignIds     []int64  `json:"CampaignIds"`
			ServingStatuses []string `json:"ServingStatuses"`
		} `json:"SelectionCriteria"`
		FieldNames        []string `json:"FieldNames"`
		SearchFieldNames  []string `json:"SearchFieldNames"`
		NetworkFieldNames []string `json:"NetworkFieldNames"`
		Page              *page    `json:"Page"`
	}
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	sc := p.SelectionCriteria
	switch {
	case sc == nil || (len(sc.KeywordIds) == 0 && len(sc.AdGroupIds) == 0 && len(sc.CampaignIds) == 0):
		return handled{}, &apiErr{CodeBadSelection, "Invalid SelectionCriteria", "One of KeywordIds, AdGroupIds or CampaignIds is required"}
	case len(sc.CampaignIds) > 10 || len(sc.AdGroupIds) > 1000 || len(sc.KeywordIds) > 10000:
		return handled{}, &apiErr{CodeBadSelection, "Invalid SelectionCriteria", "At most 10 CampaignIds, 1000 AdGroupIds or 10000 KeywordIds"}
	}
	if e := checkFields(p.FieldNames, keywordBidFields, "FieldNames", true); e != nil {
		return handled{}, e
	}
	if e := checkFields(p.SearchFieldNames, searchBidFields, "SearchFieldNames", false); e != nil {
		return handled{}, e
	}
	if e := checkFields(p.NetworkFieldNames, networkBidFields, "NetworkFieldNames", false); e != nil {
		return handled{}, e
	}
	cids, gids, kids := idSet(sc.CampaignIds), idSet(sc.AdGroupIds), idSet(sc.KeywordIds)
	type row struct {
		c *campaign
		k keyword
	}
	var rows []row
	for _, id := range s.order {
		c := s.campaigns[id]
		if c.Login != login {
			continue
		}
		for _, k := range c.keywords {
			if (len(cids) > 0 && !cids[c.ID]) || (len(gids) > 0 && !gids[k.adGroup]) || (len(kids) > 0 && !kids[k.id]) {
				continue
			}
			rows = append(rows, row{c, k})
		}
	}
	from, to, limitedBy, e := pageOf(p.Page, len(rows))
	if e != nil {
		return handled{}, e
	}
	items := make([]map[string]any, 0, to-from)
	for _, r := range rows[from:to] {
		m := map[string]any{}
		for _, f := range p.FieldNames {
			switch f {
			case "KeywordId":
				m[f] = r.k.id
			case "AdGroupId":
				m[f] = r.k.adGroup
			case "CampaignId":
				m[f] = r.c.ID
			case "ServingStatus":
				m[f] = "ELIGIBLE"
			case "StrategyPriority":
				m[f] = "NORMAL"
			}
		}
		if len(p.SearchFieldNames) > 0 {
			sm := map[string]any{}
			for _, f := range p.SearchFieldNames {
				if f == "Bid" {
					sm[f] = r.k.bid
				} else {
					sm[f] = nil
				}
			}
			m["Search"] = sm
		}
		if len(p.NetworkFieldNames) > 0 {
			nm := map[string]any{}
			for _, f := range p.NetworkFieldNames {
				nm[f] = nil
			}
			m["Network"] = nm
		}
		items = append(items, m)
	}
	res := map[string]any{"KeywordBids": items}
	if limitedBy > 0 {
		res["LimitedBy"] = limitedBy
	}
	return handled{result: res, objects: int64(len(items))}, nil
}

type keywordBidItem struct {
	KeywordID        *int64  `json:"KeywordId"`
	AdGroupID        *int64  `json:"AdGroupId"`
	CampaignID       *int64  `json:"CampaignId"`
	SearchBid        *int64  `json:"SearchBid"`
	NetworkBid       *int64  `json:"NetworkBid"`
	StrategyPriority *string `json:"StrategyPriority"`
}

func (it keywordBidItem) kind() string {
	n, k := 0, ""
	if it.KeywordID != nil {
		n, k = n+1, "KeywordId"
	}
	if it.AdGroupID != nil {
		n, k = n+1, "AdGroupId"
	}
	if it.CampaignID != nil {
		n, k = n+1, "CampaignId"
	}
	if n != 1 {
		return ""
	}
	return k
}

func (s *Server) keywordBidsSet(login string, raw json.RawMessage, apply bool) (handled, *apiErr) {
	var p struct {
		KeywordBids []keywordBidItem `json:"KeywordBids"`
	}
	if e := decodeParams(raw, &p); e != nil {
		return handled{}, e
	}
	if len(p.KeywordBids) == 0 {
		return handled{}, &apiErr{CodeInvalidRequest, "Invalid request", "Parameter KeywordBids must not be empty"}
	}
	kinds := map[string]int{}
	for _, it := range p.KeywordBids {
		if k := it.kind(); k != "" {
			kinds[k]++
		}
	}
	if len(kinds) > 1 {
		return handled{}, &apiErr{CodeMixedIDs, "Ids of different kinds in one request", "Use only one of KeywordId, AdGroupId or CampaignId in all items"}
	}
	if kinds["CampaignId"] > 10 || kinds["AdGroupId"] > 1000 || kinds["KeywordId"] > 10000 {
		return handled{}, &apiErr{CodeTooManyObjects, "Too many objects in request", "At most 10 campaigns, 1000 groups or 10000 keywords per call"}
	}
	now := s.clock.Now()
	var h handled
	results := make([]actionResult, 0, len(p.KeywordBids))
	idx := s.keywordIndex(login)
	for _, it := range p.KeywordBids {
		r, evs := s.setBid(login, it, idx, apply)
		if r.Errors != nil {
			h.failed++
		} else {
			h.objects++
		}
		for _, ev := range evs {
			ev.At = now
			h.writes = append(h.writes, ev)
		}
		results = append(results, r)
	}
	h.result = map[string]any{"SetResults": results}
	return h, nil
}

// keywordRef is one keyword of a campaign.
type keywordRef struct {
	c *campaign
	i int
}

// keywordIndex maps an advertiser's campaign, group and keyword ids to
// their keywords, in campaign creation then keyword order. Built once per
// KeywordBids.set: a call may name 10,000 keywords, and scanning every
// keyword per item would make the fake quadratic.
type keywordIndex struct {
	byCampaign, byGroup, byKeyword map[int64][]keywordRef
}

func (s *Server) keywordIndex(login string) keywordIndex {
	idx := keywordIndex{map[int64][]keywordRef{}, map[int64][]keywordRef{}, map[int64][]keywordRef{}}
	for _, cid := range s.order {
		c := s.campaigns[cid]
		if c.Login != login {
			continue
		}
		for i, k := range c.keywords {
			r := keywordRef{c, i}
			idx.byCampaign[c.ID] = append(idx.byCampaign[c.ID], r)
			idx.byGroup[k.adGroup] = append(idx.byGroup[k.adGroup], r)
			idx.byKeyword[k.id] = append(idx.byKeyword[k.id], r)
		}
	}
	return idx
}

func (s *Server) setBid(login string, it keywordBidItem, idx keywordIndex, apply bool) (actionResult, []WriteEvent) {
	kind := it.kind()
	if kind == "" {
		return errResult(4004, "Mutually exclusive parameters", "Give exactly one of KeywordId, AdGroupId or CampaignId"), nil
	}
	// Collect the targeted keywords.
	var targets []keywordRef
	var id int64
	switch kind {
	case "CampaignId":
		id = *it.CampaignID
		targets = idx.byCampaign[id]
	case "AdGroupId":
		id = *it.AdGroupID
		targets = idx.byGroup[id]
	default:
		id = *it.KeywordID
		targets = idx.byKeyword[id]
	}
	if len(targets) == 0 {
		return errResult(CodeNotFound, "Object not found", kind+" "+strconv.FormatInt(id, 10)+" not found"), nil
	}
	if it.SearchBid == nil && it.NetworkBid == nil && it.StrategyPriority == nil {
		return errResult(4003, "Required parameters missing", "Give SearchBid, NetworkBid or StrategyPriority"), nil
	}
	for _, b := range []*int64{it.SearchBid, it.NetworkBid} {
		if b != nil && (*b < minBid || *b > maxBid) {
			return errResult(CodeBadValue, "Invalid value", "Bid must be within 0.30..25000 RUB"), nil
		}
	}
	c := targets[0].c
	searchFits := c.SearchStrategy == "HIGHEST_POSITION"
	networkFits := c.NetworkStrategy == "MAXIMUM_COVERAGE" || c.NetworkStrategy == "MANUAL_CPM"
	var warns []notice
	applySearch := it.SearchBid != nil && searchFits
	switch {
	case it.SearchBid != nil && !searchFits && (it.NetworkBid == nil || !networkFits):
		return errResult(CodeStrategyMismatch, "Field does not fit the strategy", "SearchBid needs the manual HIGHEST_POSITION search strategy"), nil
	case it.NetworkBid != nil && !networkFits && !applySearch:
		return errResult(CodeStrategyMismatch, "Field does not fit the strategy", "NetworkBid needs MAXIMUM_COVERAGE or MANUAL_CPM in networks"), nil
	case it.SearchBid != nil && !searchFits, it.NetworkBid != nil && !networkFits:
		warns = append(warns, notice{10160, "Bid will not be applied", "The bid does not fit the current strategy"})
	}
	var evs []WriteEvent
	if apply && applySearch {
		changed := map[int64]string{}
		for _, t := range targets {
			k := &t.c.keywords[t.i]
			if _, ok := changed[t.c.ID]; !ok {
				changed[t.c.ID] = strconv.FormatInt(k.bid, 10)
			}
			k.bid = *it.SearchBid
		}
		for _, cid := range s.order {
			if old, ok := changed[cid]; ok {
				evs = append(evs, WriteEvent{Login: login, Service: "keywordbids", Method: "set", Campaign: cid,
					Field: "SearchBid", Old: old, New: strconv.FormatInt(*it.SearchBid, 10)})
			}
		}
	}
	return okResult(id, warns...), evs
}
