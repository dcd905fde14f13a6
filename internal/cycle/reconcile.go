package cycle

import (
	"context"
	"fmt"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

// outcome is a ledger outcome decided without sending anything.
type outcome struct {
	action adpacer.Action
	state  adpacer.ActionState
	before *adpacer.Micros
	detail string
}

// reconcileSuperseded decides what became of actions that an earlier run
// claimed (and so may have sent before it crashed) and that a newer
// decision for the same setting now supersedes. It reads the platform's
// current settings once and finishes each one applied when the platform
// shows its target (the write landed before the crash; the change is real
// and must be in the audit log and count as a Yandex edit), otherwise
// rejected. Nothing is sent: the newer decision is what goes out.
//
// When several of them target one setting (more than one crash in a row),
// the platform's value can be the work of only one: the earliest whose
// target it shows is credited, the others are rejected.
func reconcileSuperseded(ctx context.Context, act pacing.Actuator, sup []supersededAction) ([]outcome, error) {
	ids := make([]adpacer.CampaignID, 0, len(sup))
	seen := map[adpacer.CampaignID]bool{}
	for _, s := range sup {
		if !seen[s.old.Campaign] {
			seen[s.old.Campaign] = true
			ids = append(ids, s.old.Campaign)
		}
	}
	live, err := act.Observe(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read the platform before superseding actions left claimed: %w", err)
	}
	credited := map[string]adpacer.ActionKey{} // setting -> action credited with the live value
	out := make([]outcome, 0, len(sup))
	for _, s := range sup {
		a := s.old
		o := outcome{action: a, state: adpacer.ActionRejected}
		c, ok := live[a.Campaign]
		if !ok {
			o.detail = fmt.Sprintf("superseded by %s, a newer decision for the same setting; the platform no longer lists the campaign", s.by)
			out = append(out, o)
			continue
		}
		cur := currentValue(a.Kind, c)
		landed := showsTarget(a, c)
		if landed {
			if k, dup := credited[settingOf(a)]; dup {
				o.before = cur
				o.detail = fmt.Sprintf("superseded by %s, a newer decision for the same setting; the platform shows this target, credited to %s", s.by, k)
				out = append(out, o)
				continue
			}
			credited[settingOf(a)] = a.Key
			// Before is the value the decision was made from: the read
			// that preceded the lost write was never recorded.
			o.state, o.before = adpacer.ActionApplied, a.Previous
			o.detail = fmt.Sprintf("landed before a crash: the platform showed this target when %s superseded it", s.by)
			out = append(out, o)
			continue
		}
		o.before = cur
		o.detail = fmt.Sprintf("superseded by %s, a newer decision for the same setting; the platform did not show this target", s.by)
		out = append(out, o)
	}
	return out, nil
}

// settingOf names the campaign setting an action writes; pause and resume
// write the same one.
func settingOf(a adpacer.Action) string {
	k := string(a.Kind)
	if a.Kind == adpacer.Pause || a.Kind == adpacer.Resume {
		k = "state"
	}
	return string(a.Campaign) + "|" + k
}

// currentValue is the live value an action of kind would change (nil for
// state changes and unknown values).
func currentValue(kind adpacer.ActionKind, c adpacer.Campaign) *adpacer.Micros {
	switch kind {
	case adpacer.SetDailyBudget:
		return c.DailyBudget
	case adpacer.SetBid:
		return c.Bid
	}
	return nil
}

// showsTarget reports whether the live campaign c carries a's target.
// Platforms floor a money target to their smallest unit (Yandex kopecks,
// Google the currency's minor unit, at most one whole unit for JPY and the
// like) and never round up, so a live value up to one unit below the
// target is the target as sent. A live value equal to the one the
// decision was made from means nothing changed.
func showsTarget(a adpacer.Action, c adpacer.Campaign) bool {
	switch a.Kind {
	case adpacer.Pause:
		return c.State == adpacer.StatePaused
	case adpacer.Resume:
		return c.State == adpacer.StateOn
	}
	v := currentValue(a.Kind, c)
	if v == nil || a.Value == nil {
		return false
	}
	if a.Previous != nil && *a.Previous == *v {
		return false
	}
	return *v <= *a.Value && *a.Value-*v < adpacer.MicrosPerUnit
}
