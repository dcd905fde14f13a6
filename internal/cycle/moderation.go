package cycle

import (
	"fmt"
	"sort"

	"github.com/adpacer/adpacer"
)

// ModerationAlerts turns rejected ads into alerts, one per ad, quoting the
// platform's reason (the bank's interest-rate disclaimer case). Being
// level-based, an ad that is accepted again simply stops firing and the
// sink resolves its card.
func ModerationAlerts(ads []adpacer.AdStatus, owners map[adpacer.CampaignID]string, lineOf map[adpacer.CampaignID]string) []adpacer.Alert {
	var out []adpacer.Alert
	for _, ad := range ads {
		if ad.Status != adpacer.ModerationRejected {
			continue
		}
		reason := ad.Reason
		if reason == "" {
			reason = "the platform gave no reason"
		}
		a := adpacer.Alert{
			Key:      fmt.Sprintf("moderation:%s:%s", ad.Campaign, ad.AdID),
			Severity: adpacer.SeverityWarning,
			Kind:     "ad_rejected",
			Line:     lineOf[ad.Campaign],
			Campaign: ad.Campaign,
			Owner:    owners[ad.Campaign],
			Title:    fmt.Sprintf("Ad %s of %s rejected by moderation", ad.AdID, ad.Campaign),
			Detail: fmt.Sprintf("The platform rejected ad %s of campaign %s.\n\nPlatform's reason: %q\n\n"+
				"What to do: fix the ad text or banner (for loans: the interest-rate disclaimer must be complete and legible) and resubmit it for moderation. "+
				"This card resolves itself when the ad is accepted.", ad.AdID, ad.Campaign, reason),
		}
		a.Fingerprint = fingerprint(a.Key, a.Severity, reason)
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
