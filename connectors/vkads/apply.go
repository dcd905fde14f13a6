package vkads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

var _ pacing.Actuator = (*Client)(nil)

// Observe implements pacing.Actuator: live settings of the given campaigns
// (one list call per PageLimit plans; the notes document no id filter).
// Campaigns the account does not have are absent from the map.
func (c *Client) Observe(ctx context.Context, ids []adpacer.CampaignID) (map[adpacer.CampaignID]adpacer.Campaign, error) {
	want := map[int64]bool{}
	for _, id := range ids {
		n, err := externalID(id)
		if err != nil {
			return nil, fmt.Errorf("vk ads %s: observe: %w", c.cfg.ID, err)
		}
		want[n] = true
	}
	out := map[adpacer.CampaignID]adpacer.Campaign{}
	if len(want) == 0 {
		return out, nil
	}
	plans, err := c.listPlans(ctx)
	if err != nil {
		return nil, fmt.Errorf("vk ads %s: observe: %w", c.cfg.ID, err)
	}
	now := c.clock.Now()
	for _, p := range plans {
		if want[p.id] {
			camp := c.toCampaign(p, now)
			out[camp.ID] = camp
		}
	}
	return out, nil
}

func externalID(id adpacer.CampaignID) (int64, error) {
	p, ext, err := id.Split()
	if err != nil {
		return 0, err
	}
	if p != adpacer.VKAds {
		return 0, fmt.Errorf("campaign %s belongs to %s, not vk_ads", id, p)
	}
	n, err := strconv.ParseInt(ext, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("campaign %s: VK Ads ad plan ids are positive integers", id)
	}
	return n, nil
}

// massItem is one element of a mass_action body. Money goes as a decimal
// string, the form VK prints it in.
type massItem struct {
	ID             int64   `json:"id"`
	Status         string  `json:"status,omitempty"`
	BudgetLimitDay *string `json:"budget_limit_day,omitempty"`
}

// pendingItem is one ad plan's change and the actions it serves (a budget
// and a pause of the same plan travel in one item).
type pendingItem struct {
	item    massItem
	actions []int
}

// Apply implements pacing.Actuator. It checks the actions, reads the ad
// plans (reconcile before write), skips actions already at target (noop)
// and sends the rest through mass_action, at most MaxBatch plans per call.
// VK has no validate-only flag, so with opts.DryRun no write is sent and
// would-be writes come back held. VK bids live on ad groups: set_bid fails
// as terminal.
func (c *Client) Apply(ctx context.Context, actions []adpacer.Action, opts pacing.ApplyOptions) ([]pacing.Result, error) {
	results := make([]pacing.Result, len(actions))
	ext := make([]int64, len(actions))
	seen := map[string]int{}
	toRead := 0
	for i, a := range actions {
		results[i] = pacing.Result{Key: a.Key}
		fail := func(format string, args ...any) {
			results[i].State = adpacer.ActionFailed
			results[i].Err = adpacer.Terminal(fmt.Errorf("vk ads %s: action %s (%s %s): %s", c.cfg.ID, a.Key, a.Kind, a.Campaign, fmt.Sprintf(format, args...)))
		}
		n, err := externalID(a.Campaign)
		if err != nil {
			fail("%v", err)
			continue
		}
		switch a.Kind {
		case adpacer.SetDailyBudget:
			if a.Value == nil || *a.Value <= 0 {
				fail("Value must be a positive amount")
				continue
			}
		case adpacer.Pause, adpacer.Resume:
		case adpacer.SetBid:
			fail("VK Ads sets bids per ad group, not per ad plan; adpacer steers VK campaigns by daily budget and pause/resume only (remove min_bid/max_bid from lines holding VK campaigns)")
			continue
		default:
			fail("kind %q is not supported (want set_daily_budget, pause or resume)", a.Kind)
			continue
		}
		// One write per plan and field per Apply: two budgets (or a pause
		// and a resume) for one plan contradict each other.
		k := string(a.Campaign) + "|budget"
		if a.Kind != adpacer.SetDailyBudget {
			k = string(a.Campaign) + "|status"
		}
		if j, dup := seen[k]; dup {
			fail("duplicates action %s for the same ad plan", actions[j].Key)
			continue
		}
		seen[k] = i
		ext[i] = n
		toRead++
	}
	if toRead == 0 {
		return results, nil
	}
	plans, err := c.listPlans(ctx)
	if err != nil {
		return nil, fmt.Errorf("vk ads %s: apply: reconcile read: %w", c.cfg.ID, err)
	}
	current := make(map[int64]plan, len(plans))
	for _, p := range plans {
		current[p.id] = p
	}
	var items []*pendingItem
	byPlan := map[int64]*pendingItem{}
	for i, a := range actions {
		if results[i].State != "" {
			continue
		}
		fail := func(format string, args ...any) {
			results[i].State = adpacer.ActionFailed
			results[i].Err = adpacer.Terminal(fmt.Errorf("vk ads %s: %s %s: %s", c.cfg.ID, a.Kind, a.Campaign, fmt.Sprintf(format, args...)))
		}
		p, ok := current[ext[i]]
		switch {
		case !ok:
			fail("ad plan not found in the account (deleted, or it belongs to another agency client: check agency_client_name)")
			continue
		case p.status == "deleted":
			fail("ad plan is deleted; it cannot be changed")
			continue
		}
		var set func(*massItem)
		switch a.Kind {
		case adpacer.SetDailyBudget:
			target := a.Value.FloorTo(kopeck)
			if p.daily != nil {
				before := *p.daily
				results[i].Before = &before
			}
			if target < c.cfg.MinDailyBudget {
				fail("daily budget %s RUB is below VK Ads' minimum of %s RUB (net of VAT): raise pacing.policy.min_daily_budget.vk_ads to at least %s, or let adpacer pause the campaign instead",
					target, c.cfg.MinDailyBudget, c.cfg.MinDailyBudget)
				continue
			}
			if p.daily != nil && *p.daily == target {
				results[i].State = adpacer.ActionNoop
				continue
			}
			s := FormatRubles(target)
			set = func(m *massItem) { m.BudgetLimitDay = &s }
		case adpacer.Pause, adpacer.Resume:
			want := "blocked"
			if a.Kind == adpacer.Resume {
				want = "active"
			}
			if p.status == want {
				results[i].State = adpacer.ActionNoop
				continue
			}
			if p.status != "active" && p.status != "blocked" {
				fail("ad plan status %q is neither active nor blocked; adpacer does not change it", p.status)
				continue
			}
			set = func(m *massItem) { m.Status = want }
		}
		if opts.DryRun {
			results[i].State = adpacer.ActionHeld
			continue
		}
		it := byPlan[p.id]
		if it == nil {
			it = &pendingItem{item: massItem{ID: p.id}}
			byPlan[p.id] = it
			items = append(items, it)
		}
		set(&it.item)
		it.actions = append(it.actions, i)
	}
	calls := 0
	for ch := range slices.Chunk(items, MaxBatch) {
		calls += c.send(ctx, actions, ch, results)
	}
	c.log.Debug("vk ads apply", zap.Int("actions", len(actions)), zap.Int("items", len(items)),
		zap.Int("mass_action_calls", calls), zap.Bool("dry_run", opts.DryRun))
	return results, nil
}

// send writes one chunk and records the outcome of its actions, returning
// the calls made. When VK refuses a chunk of several plans as invalid, each
// plan is resent alone, so one bad item fails only its own actions (VK
// answers one error for the whole request). Resending is safe: items set
// absolute values.
func (c *Client) send(ctx context.Context, actions []adpacer.Action, ch []*pendingItem, results []pacing.Result) int {
	body := make([]massItem, len(ch))
	for i, it := range ch {
		body[i] = it.item
	}
	err := c.massAction(ctx, body)
	var apiErr *APIError
	if err != nil && len(ch) > 1 && adpacer.IsTerminal(err) && errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusBadRequest {
		calls := 1
		for _, it := range ch {
			calls += c.send(ctx, actions, []*pendingItem{it}, results)
		}
		return calls
	}
	for _, it := range ch {
		for _, i := range it.actions {
			r := &results[i]
			if err == nil {
				r.State = adpacer.ActionApplied
				continue
			}
			a := actions[i]
			r.State = adpacer.ActionFailed
			r.Err = fmt.Errorf("%s %s: VK refused the change%s: %w", a.Kind, a.Campaign, fixHint(a.Kind, err), err)
		}
	}
	return 1
}

// fixHint tells a person what to do about a refused write.
func fixHint(kind adpacer.ActionKind, err error) string {
	var apiErr *APIError
	var rl *RateLimitError
	switch {
	case errors.As(err, &rl):
		return " (rate limit; the next cycle retries)"
	case !errors.As(err, &apiErr):
		return ""
	case apiErr.HTTPStatus == http.StatusForbidden:
		return " (the token may not change this account: check agency_client_name)"
	case apiErr.Code == "ERR_WRONG_ADPLANS":
		return " (the ad plan is not in this account: check agency_client_name)"
	case kind == adpacer.SetDailyBudget && strings.Contains(apiErr.Message, "budget_limit_day"):
		return " (VK refuses daily budgets below its minimum, 300 RUB net of VAT: raise pacing.policy.min_daily_budget.vk_ads or pause the campaign instead)"
	}
	return ""
}

func (c *Client) massAction(ctx context.Context, items []massItem) error {
	body, err := json.Marshal(items)
	if err != nil {
		return fmt.Errorf("vk ads %s: encode mass_action: %w", c.cfg.ID, err)
	}
	return c.call(ctx, endpointMassAction, http.MethodPost, "/api/v2/ad_plans/mass_action.json", nil, body, nil)
}
