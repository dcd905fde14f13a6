package pacing

import (
	"context"

	"github.com/adpacer/adpacer"
)

// Ports of the write side. They are owned by their consumer (the cycle that
// applies plans) and implemented in connectors/<platform> and
// connectors/trello.

// ApplyOptions control one Apply call.
type ApplyOptions struct {
	// DryRun: validate without changing anything. Google Ads sends
	// validateOnly; platforms without such a flag make no call at all.
	DryRun bool
}

// Result is the outcome of one action.
type Result struct {
	Key adpacer.ActionKey
	// State is applied, noop (platform already at target) or failed.
	State adpacer.ActionState
	// Before is the platform's value read just before the write (nil for
	// pause/resume or when unknown).
	Before *adpacer.Micros
	// Err explains a failed action; adpacer.IsTerminal tells whether
	// re-planning can help.
	Err error
}

// Actuator reads live settings and applies actions on one platform account.
// Apply must read the current value first and skip actions already at
// target (reconcile before write), and must batch as the platform allows.
type Actuator interface {
	Platform() adpacer.Platform
	Observe(ctx context.Context, ids []adpacer.CampaignID) (map[adpacer.CampaignID]adpacer.Campaign, error)
	Apply(ctx context.Context, actions []adpacer.Action, opts ApplyOptions) ([]Result, error)
}

// AlertSink receives the complete set of alerts firing this cycle and opens,
// updates and resolves alert cards accordingly (level-based: an alert absent
// from the set is healthy this cycle).
type AlertSink interface {
	Sync(ctx context.Context, firing []adpacer.Alert) error
}
