package yandexdirect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

// Batch limits of the write methods (api-notes §1.6, §1.7).
const (
	updatePerCall  = 10   // Campaigns.update
	bidsPerCall    = 10   // KeywordBids.set with CampaignId items
	bidReadPerCall = 10   // KeywordBids.get SelectionCriteria.CampaignIds
	statePerCall   = 1000 // Campaigns.suspend/resume SelectionCriteria.Ids
	budgetEditCap  = 3
	// kopeck: daily budgets are whole kopecks; targets are floored so
	// rounding never lifts a cap.
	kopeck = adpacer.Micros(10_000)
)

// Observe implements pacing.Actuator: live settings of the campaigns,
// including the campaign-level search bid when every keyword of a
// manual-strategy campaign has the same bid.
func (c *Client) Observe(ctx context.Context, ids []adpacer.CampaignID) (map[adpacer.CampaignID]adpacer.Campaign, error) {
	ext := make([]int64, 0, len(ids))
	for _, id := range ids {
		n, err := externalID(id)
		if err != nil {
			return nil, fmt.Errorf("yandexdirect %s: observe: %w", c.cfg.ID, err)
		}
		ext = append(ext, n)
	}
	out := map[adpacer.CampaignID]adpacer.Campaign{}
	if len(ext) == 0 {
		return out, nil
	}
	raw, err := c.getCampaigns(ctx, ext)
	if err != nil {
		return nil, fmt.Errorf("yandexdirect %s: observe campaigns: %w", c.cfg.ID, err)
	}
	now := c.clock.Now()
	var manual []int64
	for _, a := range raw {
		camp, err := c.toCampaign(ctx, a, now)
		if err != nil {
			return nil, err
		}
		out[camp.ID] = camp
		if a.searchStrategy() == "HIGHEST_POSITION" {
			manual = append(manual, a.ID)
		}
	}
	bids, err := c.campaignBids(ctx, manual)
	if err != nil {
		return nil, fmt.Errorf("yandexdirect %s: observe bids: %w", c.cfg.ID, err)
	}
	for id, b := range bids {
		cid := adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(id, 10))
		camp := out[cid]
		if b.uniform {
			v := b.bid
			camp.Bid = &v
		}
		out[cid] = camp
	}
	return out, nil
}

func externalID(id adpacer.CampaignID) (int64, error) {
	p, ext, err := id.Split()
	if err != nil {
		return 0, err
	}
	if p != adpacer.YandexDirect {
		return 0, fmt.Errorf("campaign %s belongs to %s, not yandex_direct", id, p)
	}
	n, err := strconv.ParseInt(ext, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("campaign %s: Yandex Direct ids are positive integers", id)
	}
	return n, nil
}

type campaignBid struct {
	bid     adpacer.Micros
	uniform bool
}

// campaignBids reads keyword search bids, 10 campaigns per KeywordBids.get.
func (c *Client) campaignBids(ctx context.Context, ids []int64) (map[int64]campaignBid, error) {
	out := map[int64]campaignBid{}
	seen := map[int64]bool{}
	for ch := range slices.Chunk(ids, bidReadPerCall) {
		offset := int64(0)
		for {
			params := map[string]any{
				"SelectionCriteria": map[string]any{"CampaignIds": ch},
				"FieldNames":        []string{"KeywordId", "CampaignId"},
				"SearchFieldNames":  []string{"Bid"},
				"Page":              map[string]int64{"Limit": pageLimit, "Offset": offset},
			}
			var res struct {
				KeywordBids []struct {
					CampaignID int64 `json:"CampaignId"`
					Search     *struct {
						Bid *int64 `json:"Bid"`
					} `json:"Search"`
				} `json:"KeywordBids"`
				LimitedBy int64 `json:"LimitedBy"`
			}
			if err := c.call(ctx, v5, "keywordbids", "get", params, &res); err != nil {
				return nil, err
			}
			for _, k := range res.KeywordBids {
				if k.Search == nil || k.Search.Bid == nil {
					out[k.CampaignID] = campaignBid{}
					seen[k.CampaignID] = true
					continue
				}
				b := adpacer.Micros(*k.Search.Bid)
				prev, ok := out[k.CampaignID]
				switch {
				case !seen[k.CampaignID]:
					out[k.CampaignID] = campaignBid{bid: b, uniform: true}
				case ok && prev.uniform && prev.bid != b:
					out[k.CampaignID] = campaignBid{}
				}
				seen[k.CampaignID] = true
			}
			if res.LimitedBy <= offset {
				break
			}
			offset = res.LimitedBy
		}
	}
	return out, nil
}

// pending is an action that passed reconciliation and must be sent.
type pending struct {
	idx      int
	id       int64
	value    adpacer.Micros
	mode     string
	unified  bool
	campaign adpacer.CampaignID
}

// Apply implements pacing.Actuator. It validates the actions, reads the
// current values (one Campaigns.get per 10,000 campaigns, KeywordBids.get
// per 10 campaigns for bid actions), skips actions already at target
// (noop), and sends the rest batched: Campaigns.update 10 per call,
// KeywordBids.set 10 campaigns per call, suspend/resume 1000 per call. In
// DryRun no mutating call is made; would-be writes come back held.
func (c *Client) Apply(ctx context.Context, actions []adpacer.Action, opts pacing.ApplyOptions) ([]pacing.Result, error) {
	results := make([]pacing.Result, len(actions))
	ids := map[int64]bool{}
	var bidIDs []int64
	ext := make([]int64, len(actions))
	seen := map[string]int{}
	for i, a := range actions {
		results[i] = pacing.Result{Key: a.Key, State: adpacer.ActionFailed}
		n, err := externalID(a.Campaign)
		if err != nil {
			results[i].Err = adpacer.Terminal(err)
			continue
		}
		switch a.Kind {
		case adpacer.SetDailyBudget, adpacer.SetBid:
			if a.Value == nil || *a.Value <= 0 {
				results[i].Err = adpacer.Terminal(fmt.Errorf("action %s: %s needs a positive Value", a.Key, a.Kind))
				continue
			}
		case adpacer.Pause, adpacer.Resume:
		default:
			results[i].Err = adpacer.Terminal(fmt.Errorf("action %s: kind %q is not supported by Yandex Direct", a.Key, a.Kind))
			continue
		}
		// One write per campaign and kind per Apply: a second would be a
		// duplicate object (9800) or a wasted budget edit.
		k := string(a.Campaign) + "|" + string(a.Kind)
		if a.Kind == adpacer.Pause || a.Kind == adpacer.Resume {
			k = string(a.Campaign) + "|state"
		}
		if j, dup := seen[k]; dup {
			results[i].Err = adpacer.Terminal(fmt.Errorf("action %s: duplicates action %s for the same campaign", a.Key, actions[j].Key))
			continue
		}
		seen[k] = i
		ext[i] = n
		results[i].State = "" // decided below
		if a.Kind == adpacer.SetBid {
			bidIDs = append(bidIDs, n)
		} else {
			ids[n] = true
		}
	}

	current := map[int64]apiCampaign{}
	if len(ids) > 0 {
		list := make([]int64, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		raw, err := c.getCampaigns(ctx, list)
		if err != nil {
			return nil, fmt.Errorf("yandexdirect %s: apply: read campaigns: %w", c.cfg.ID, err)
		}
		for _, a := range raw {
			current[a.ID] = a
		}
	}
	var bids map[int64]campaignBid
	if len(bidIDs) > 0 {
		var err error
		if bids, err = c.campaignBids(ctx, bidIDs); err != nil {
			return nil, fmt.Errorf("yandexdirect %s: apply: read bids: %w", c.cfg.ID, err)
		}
	}

	day := c.platformDay(c.clock.Now())
	var budgetV5, budgetV501, bidSet, suspend, resume []pending
	for i, a := range actions {
		if results[i].State != "" {
			continue
		}
		id := ext[i]
		p := pending{idx: i, id: id, campaign: a.Campaign}
		switch a.Kind {
		case adpacer.SetDailyBudget:
			cur, ok := current[id]
			if !ok {
				c.fail(&results[i], adpacer.Terminal(fmt.Errorf("campaign %s not found in the account", a.Campaign)))
				continue
			}
			p.value = a.Value.FloorTo(kopeck)
			p.mode = "STANDARD"
			if cur.DailyBudget != nil {
				before := adpacer.Micros(cur.DailyBudget.Amount)
				results[i].Before = &before
				p.mode = cur.DailyBudget.Mode
				if before == p.value {
					results[i].State = adpacer.ActionNoop
					continue
				}
			}
			n, err := c.edits.BudgetEdits(ctx, a.Campaign, day)
			if err != nil {
				return nil, fmt.Errorf("yandexdirect %s: apply: read budget edit count: %w", c.cfg.ID, err)
			}
			if n >= budgetEditCap {
				c.fail(&results[i], adpacer.Terminal(fmt.Errorf("campaign %s: %w", a.Campaign, ErrBudgetEditLimit)))
				continue
			}
			if opts.DryRun {
				results[i].State = adpacer.ActionHeld
				continue
			}
			if cur.Type == "UNIFIED_CAMPAIGN" {
				p.unified = true
				budgetV501 = append(budgetV501, p)
			} else {
				budgetV5 = append(budgetV5, p)
			}
		case adpacer.SetBid:
			p.value = *a.Value
			b, ok := bids[id]
			if !ok {
				c.fail(&results[i], adpacer.Terminal(fmt.Errorf("campaign %s has no keywords to bid on (or is not in the account)", a.Campaign)))
				continue
			}
			if b.uniform {
				before := b.bid
				results[i].Before = &before
				if before == p.value {
					results[i].State = adpacer.ActionNoop
					continue
				}
			}
			if opts.DryRun {
				results[i].State = adpacer.ActionHeld
				continue
			}
			bidSet = append(bidSet, p)
		case adpacer.Pause, adpacer.Resume:
			cur, ok := current[id]
			if !ok {
				c.fail(&results[i], adpacer.Terminal(fmt.Errorf("campaign %s not found in the account", a.Campaign)))
				continue
			}
			switch {
			case cur.State == "ARCHIVED" || cur.State == "ENDED" || cur.State == "CONVERTED":
				c.fail(&results[i], adpacer.Terminal(fmt.Errorf("campaign %s is %s; it cannot be paused or resumed", a.Campaign, cur.State)))
				continue
			case a.Kind == adpacer.Pause && cur.State == "SUSPENDED",
				a.Kind == adpacer.Resume && cur.State != "SUSPENDED":
				results[i].State = adpacer.ActionNoop
				continue
			}
			if opts.DryRun {
				results[i].State = adpacer.ActionHeld
				continue
			}
			if a.Kind == adpacer.Pause {
				suspend = append(suspend, p)
			} else {
				resume = append(resume, p)
			}
		}
	}

	for _, group := range []struct {
		version string
		items   []pending
	}{{v5, budgetV5}, {v501, budgetV501}} {
		for ch := range slices.Chunk(group.items, updatePerCall) {
			c.sendBudgets(ctx, group.version, ch, day, results)
		}
	}
	for ch := range slices.Chunk(bidSet, bidsPerCall) {
		c.sendBids(ctx, ch, results)
	}
	for ch := range slices.Chunk(suspend, statePerCall) {
		c.sendState(ctx, "suspend", ch, results)
	}
	for ch := range slices.Chunk(resume, statePerCall) {
		c.sendState(ctx, "resume", ch, results)
	}
	return results, nil
}

func (c *Client) fail(r *pacing.Result, err error) {
	r.State = adpacer.ActionFailed
	r.Err = err
}

// applyItems maps ActionResults back to the actions, in order. A
// request-level failure fails every item of the call; whether re-planning
// can help is carried by adpacer.IsTerminal.
func (c *Client) applyItems(ch []pending, items []actionResult, callErr error, results []pacing.Result, onOK func(pending), onErr func(pending, error)) {
	if callErr == nil && len(items) != len(ch) {
		callErr = fmt.Errorf("%w: %d results for %d items", ErrMalformed, len(items), len(ch))
	}
	for i, p := range ch {
		r := &results[p.idx]
		if callErr != nil {
			c.fail(r, callErr)
			continue
		}
		if err := items[i].err(); err != nil {
			var ie *ItemError
			if errors.As(err, &ie) && ie.Code >= 4000 {
				// Validation and state errors: re-sending the same payload
				// cannot succeed (api-notes §1.4).
				err = adpacer.Terminal(err)
			}
			if onErr != nil {
				onErr(p, err)
			}
			c.fail(r, fmt.Errorf("campaign %s: %w", p.campaign, err))
			continue
		}
		r.State = adpacer.ActionApplied
		if onOK != nil {
			onOK(p)
		}
	}
}

func (c *Client) sendBudgets(ctx context.Context, version string, ch []pending, day string, results []pacing.Result) {
	items := make([]map[string]any, len(ch))
	for i, p := range ch {
		items[i] = map[string]any{"Id": p.id, "DailyBudget": map[string]any{"Amount": int64(p.value), "Mode": p.mode}}
	}
	var res struct {
		UpdateResults []actionResult `json:"UpdateResults"`
	}
	err := c.call(ctx, version, "campaigns", "update", map[string]any{"Campaigns": items}, &res)
	c.applyItems(ch, res.UpdateResults, err, results,
		func(p pending) {
			n, _ := c.edits.BudgetEdits(ctx, p.campaign, day)
			if err := c.edits.SetBudgetEdits(ctx, p.campaign, day, n+1); err != nil {
				c.log.Warn("cannot record budget edit")
			}
		},
		func(p pending, err error) {
			if errors.Is(err, ErrBudgetEditLimit) {
				// The platform counted edits we did not see (a person in
				// the UI): no more tries today.
				_ = c.edits.SetBudgetEdits(ctx, p.campaign, day, budgetEditCap)
			}
		})
}

func (c *Client) sendBids(ctx context.Context, ch []pending, results []pacing.Result) {
	items := make([]map[string]any, len(ch))
	for i, p := range ch {
		items[i] = map[string]any{"CampaignId": p.id, "SearchBid": int64(p.value)}
	}
	var res struct {
		SetResults []actionResult `json:"SetResults"`
	}
	err := c.call(ctx, v5, "keywordbids", "set", map[string]any{"KeywordBids": items}, &res)
	c.applyItems(ch, res.SetResults, err, results, func(p pending) { c.noteBid(p.id, p.value) }, nil)
}

func (c *Client) sendState(ctx context.Context, method string, ch []pending, results []pacing.Result) {
	ids := make([]int64, len(ch))
	for i, p := range ch {
		ids[i] = p.id
	}
	var res map[string][]actionResult
	err := c.call(ctx, v5, "campaigns", method, map[string]any{"SelectionCriteria": map[string]any{"Ids": ids}}, &res)
	key := "SuspendResults"
	if method == "resume" {
		key = "ResumeResults"
	}
	c.applyItems(ch, res[key], err, results, nil, nil)
}
