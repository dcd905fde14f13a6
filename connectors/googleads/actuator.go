package googleads

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

var _ pacing.Actuator = (*Client)(nil)

// Services written by Apply.
const (
	serviceBudgets   = "campaignBudgets"
	serviceAdGroups  = "adGroups"
	serviceCampaigns = "campaigns"
)

// Observe implements pacing.Actuator: live settings of the given campaigns
// in two search operations (campaigns with budgets, then ad groups).
// Campaigns the account does not have are absent from the map.
func (c *Client) Observe(ctx context.Context, ids []adpacer.CampaignID) (map[adpacer.CampaignID]adpacer.Campaign, error) {
	nums, err := parseCampaignIDs(ids)
	if err != nil {
		return nil, fmt.Errorf("google ads %s: observe: %w", c.cid, err)
	}
	out := map[adpacer.CampaignID]adpacer.Campaign{}
	if len(nums) == 0 {
		return out, nil
	}
	a, err := c.readAccount(ctx, nums)
	if err != nil {
		return nil, err
	}
	now := c.now()
	for _, id := range a.order {
		dc := campaignState2domain(c.cid, a, a.byID[id], now)
		out[dc.ID] = dc
	}
	return out, nil
}

// pendingOp is one mutate operation and the action it serves.
type pendingOp struct {
	action int
	op     Operation
}

// Apply implements pacing.Actuator. It reads the live values first (two
// search operations), skips actions already at target (noop), checks the
// day's operation allowance, then sends budgets, ad group bids and
// campaign statuses as at most one mutate request per service per 10,000
// operations, with partialFailure so one bad operation does not sink the
// others. With opts.DryRun the same requests carry validateOnly: nothing
// changes, and validated actions come back held.
//
// Budgets are floored to the currency's minimum unit (rounding never lifts
// a cap); bids are floored too, but never below one unit. A set_bid writes
// the same CPC to every enabled or paused ad group of the campaign and is
// only accepted under a manual bidding strategy. Shared budgets are
// refused: changing one would move other campaigns.
func (c *Client) Apply(ctx context.Context, actions []adpacer.Action, opts pacing.ApplyOptions) ([]pacing.Result, error) {
	results := make([]pacing.Result, len(actions))
	var ids []int64
	seen := map[int64]bool{}
	campaignOf := make([]int64, len(actions))
	for i, act := range actions {
		results[i] = pacing.Result{Key: act.Key}
		id, err := validateAction(act)
		if err != nil {
			results[i].State, results[i].Err = adpacer.ActionFailed, adpacer.Terminal(err)
			continue
		}
		campaignOf[i] = id
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return results, nil
	}
	a, err := c.readAccount(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("google ads %s: apply: reconcile read: %w", c.cid, err)
	}
	unit := MinorUnit(a.currency)
	var pending []pendingOp
	opsOf := make([]int, len(actions))
	budgetTaken := map[string]int{}
	for i, act := range actions {
		if results[i].State != "" {
			continue
		}
		cs := a.byID[campaignOf[i]]
		fail := func(terminal bool, format string, args ...any) {
			err := fmt.Errorf("google ads %s: %s %s: %s", c.cid, act.Kind, act.Campaign, fmt.Sprintf(format, args...))
			if terminal {
				err = adpacer.Terminal(err)
			}
			results[i].State, results[i].Err = adpacer.ActionFailed, err
		}
		switch {
		case cs == nil:
			fail(true, "campaign not found in customer %s", c.cid)
			continue
		case cs.status == "REMOVED":
			fail(true, "campaign is removed")
			continue
		}
		var ops []Operation
		switch act.Kind {
		case adpacer.SetDailyBudget:
			before := adpacer.Micros(cs.budgetMicros)
			results[i].Before = &before
			target := act.Value.FloorTo(unit)
			switch {
			case cs.budgetName == "":
				fail(true, "campaign has no campaign budget")
				continue
			case cs.budgetShared || cs.budgetRefs > 1:
				fail(true, "budget %s is shared by %d campaigns; adpacer does not change shared budgets", cs.budgetName, cs.budgetRefs)
				continue
			case target <= 0:
				fail(true, "target %s is below the minimum unit %s of %s", act.Value, unit, a.currency)
				continue
			}
			if prev, dup := budgetTaken[cs.budgetName]; dup {
				fail(false, "budget %s already changed by action %s in this batch", cs.budgetName, actions[prev].Key)
				continue
			}
			budgetTaken[cs.budgetName] = i
			if target == before {
				results[i].State = adpacer.ActionNoop
				continue
			}
			ops = append(ops, Operation{UpdateMask: "amountMicros", Update: map[string]any{
				"resourceName": cs.budgetName, "amountMicros": strconv.FormatInt(int64(target), 10),
			}})
		case adpacer.SetBid:
			if b, ok := cs.bid(); ok {
				results[i].Before = &b
			}
			if !manualBidStrategies[cs.strategy] {
				fail(true, "bidding strategy %s sets bids itself; ad group CPC bids would be ignored", cs.strategy)
				continue
			}
			target := act.Value.FloorTo(unit)
			if target < unit {
				target = unit
			}
			hasGroups := false
			for _, g := range cs.adGroups {
				if g.status != "ENABLED" && g.status != "PAUSED" {
					continue
				}
				hasGroups = true
				if g.cpc == int64(target) {
					continue
				}
				ops = append(ops, Operation{UpdateMask: "cpcBidMicros", Update: map[string]any{
					"resourceName": g.resourceName, "cpcBidMicros": strconv.FormatInt(int64(target), 10),
				}})
			}
			if !hasGroups {
				fail(true, "campaign has no ad groups to bid on")
				continue
			}
			if len(ops) == 0 {
				results[i].State = adpacer.ActionNoop
				continue
			}
		case adpacer.Pause, adpacer.Resume:
			want := "PAUSED"
			if act.Kind == adpacer.Resume {
				want = "ENABLED"
			}
			if cs.status == want {
				results[i].State = adpacer.ActionNoop
				continue
			}
			ops = append(ops, Operation{UpdateMask: "status", Update: map[string]any{
				"resourceName": cs.resourceName, "status": want,
			}})
		}
		opsOf[i] = len(ops)
		for _, op := range ops {
			pending = append(pending, pendingOp{action: i, op: op})
		}
	}
	pending = c.holdOverBudget(actions, results, pending, opsOf)
	failures := map[int][]string{}
	terminal := map[int]bool{}
	groups := map[string][]pendingOp{}
	var order []string
	for _, p := range pending {
		svc := serviceOf(actions[p.action].Kind)
		if groups[svc] == nil {
			order = append(order, svc)
		}
		groups[svc] = append(groups[svc], p)
	}
	for _, svc := range order {
		ops := groups[svc]
		for start := 0; start < len(ops); start += c.maxOps {
			end := min(start+c.maxOps, len(ops))
			chunk := ops[start:end]
			body := make([]Operation, len(chunk))
			for j, p := range chunk {
				body[j] = p.op
			}
			res, err := c.Mutate(ctx, svc, body, opts.DryRun)
			if err != nil {
				for _, p := range chunk {
					failures[p.action] = append(failures[p.action], err.Error())
					if adpacer.IsTerminal(err) {
						terminal[p.action] = true
					}
					if errors.Is(err, ErrOperationBudget) {
						results[p.action].State = adpacer.ActionHeld
					}
				}
				continue
			}
			for j, errs := range res.Failures {
				act := chunk[j].action
				for _, e := range errs {
					failures[act] = append(failures[act], e.String())
				}
				terminal[act] = true // an operation the API refused fails the same way again
			}
		}
	}
	sent := map[int]bool{}
	for _, p := range pending {
		sent[p.action] = true
	}
	for i := range actions {
		if !sent[i] {
			continue // noop, failed before sending, or held by the allowance
		}
		msgs := failures[i]
		switch {
		case len(msgs) > 0:
			err := fmt.Errorf("google ads %s: %s %s: %d of %d operations failed: %s", c.cid, actions[i].Kind, actions[i].Campaign, len(msgs), opsOf[i], strings.Join(msgs, "; "))
			switch {
			case results[i].State == adpacer.ActionHeld:
				results[i].Err = fmt.Errorf("%w: %w", ErrOperationBudget, err)
			case terminal[i]:
				results[i].State, results[i].Err = adpacer.ActionFailed, adpacer.Terminal(err)
			default:
				results[i].State, results[i].Err = adpacer.ActionFailed, err
			}
		case opts.DryRun:
			results[i].State = adpacer.ActionHeld // validated by validateOnly, nothing changed
		default:
			results[i].State = adpacer.ActionApplied
		}
	}
	c.log.Debug("google ads apply",
		zap.String("customer", c.cid), zap.Int("actions", len(actions)),
		zap.Int("operations", len(pending)), zap.Bool("dry_run", opts.DryRun))
	return results, nil
}

// holdOverBudget admits whole actions in order while their operations fit
// in the day's allowance and marks the rest held.
func (c *Client) holdOverBudget(actions []adpacer.Action, results []pacing.Result, pending []pendingOp, opsOf []int) []pendingOp {
	left := c.budget.Remaining()
	admitted := map[int]bool{}
	for i := range actions {
		if opsOf[i] == 0 || results[i].State != "" {
			continue
		}
		if opsOf[i] <= left {
			left -= opsOf[i]
			admitted[i] = true
			continue
		}
		results[i].State = adpacer.ActionHeld
		results[i].Err = fmt.Errorf("google ads %s: %s %s needs %d operations: %w", c.cid, actions[i].Kind, actions[i].Campaign, opsOf[i], ErrOperationBudget)
	}
	kept := pending[:0]
	for _, p := range pending {
		if admitted[p.action] {
			kept = append(kept, p)
		}
	}
	return kept
}

func serviceOf(k adpacer.ActionKind) string {
	switch k {
	case adpacer.SetDailyBudget:
		return serviceBudgets
	case adpacer.SetBid:
		return serviceAdGroups
	}
	return serviceCampaigns
}

// validateAction checks what can be checked without the platform.
func validateAction(act adpacer.Action) (int64, error) {
	ids, err := parseCampaignIDs([]adpacer.CampaignID{act.Campaign})
	if err != nil {
		return 0, fmt.Errorf("google ads: action %s: %w", act.Key, err)
	}
	switch act.Kind {
	case adpacer.SetDailyBudget, adpacer.SetBid:
		if act.Value == nil || *act.Value <= 0 {
			return 0, fmt.Errorf("google ads: action %s (%s %s): Value must be a positive amount", act.Key, act.Kind, act.Campaign)
		}
	case adpacer.Pause, adpacer.Resume:
	default:
		return 0, fmt.Errorf("google ads: action %s: unknown kind %q (want set_daily_budget, set_bid, pause or resume)", act.Key, act.Kind)
	}
	return ids[0], nil
}
