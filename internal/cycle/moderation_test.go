package cycle

import (
	"strings"
	"testing"

	"github.com/adpacer/adpacer"
)

func TestModerationAlertsQuoteTheReasonWhileRejected(t *testing.T) {
	reason := "The ad does not state the full cost of credit (interest rate range)"
	ads := []adpacer.AdStatus{
		{Campaign: "yandex_direct:1", AdID: "11", Status: adpacer.ModerationRejected, Reason: reason},
		{Campaign: "yandex_direct:1", AdID: "12", Status: adpacer.ModerationAccepted},
		{Campaign: "google_ads:2", AdID: "21", Status: adpacer.ModerationPending},
	}
	owners := map[adpacer.CampaignID]string{"yandex_direct:1": "anna.pm"}
	lines := map[adpacer.CampaignID]string{"yandex_direct:1": "retail-msk"}
	got := ModerationAlerts(ads, owners, lines)
	if len(got) != 1 {
		t.Fatalf("%d alerts, want one for the rejected ad: %+v", len(got), got)
	}
	a := got[0]
	if a.Key != "moderation:yandex_direct:1:11" || a.Owner != "anna.pm" || a.Line != "retail-msk" || !strings.Contains(a.Detail, reason) || a.Fingerprint == "" {
		t.Fatalf("alert %+v", a)
	}
	// The same verdict keeps the same fingerprint (no new comment); a new
	// reason changes it; acceptance ends the alert (the sink resolves it).
	again := ModerationAlerts(ads, owners, lines)
	if again[0].Fingerprint != a.Fingerprint {
		t.Fatal("fingerprint changed with nothing new")
	}
	ads[0].Reason = "Another reason"
	if ModerationAlerts(ads, owners, lines)[0].Fingerprint == a.Fingerprint {
		t.Fatal("fingerprint did not change with the reason")
	}
	ads[0].Status = adpacer.ModerationAccepted
	if n := len(ModerationAlerts(ads, owners, lines)); n != 0 {
		t.Fatalf("%d alerts after acceptance", n)
	}
}
