package cycle_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
)

// A budget line naming a campaign the store has never seen (its connector
// has not pulled yet, or the id is wrong) holds that line only, with an
// alert that names the campaign and the fix; every other line is paced.
func TestCampaignMissingFromStoreHoldsOnlyItsLine(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, cycle.Apply)
	if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	ghost := adpacer.NewCampaignID(adpacer.YandexDirect, "999999")
	other := pacing.Line{ID: "retail-spb", Name: "Retail loans, St Petersburg", Owner: "anna", TimeZone: "Europe/Moscow",
		Period: pacing.Period{Start: "2026-11-01", End: "2026-11-30"}, Budget: adpacer.FromUnits(1_000_000), Currency: "RUB",
		Campaigns: []adpacer.CampaignID{ghost}}
	lines := []pacing.Line{w.lines[0], other}
	epoch, _ := w.store.CurrentEpoch(ctx)
	sink := &recordingSink{}
	r, err := cycle.New(cycle.Options{Store: w.store, Now: w.clock.Now, Registerer: prometheus.NewRegistry(),
		Lines: func(time.Time) ([]pacing.Line, error) { return lines, nil }, Policy: pacing.DefaultPolicy(), Mode: cycle.Apply,
		Ads:  []cycle.AdInstance{{ID: "yandex-main", Platform: adpacer.YandexDirect, Account: login, Source: w.client, Actuator: w.client}},
		Sink: sink, Epoch: func() int64 { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Pace(ctx); err != nil {
		t.Fatalf("one unknown campaign failed the whole pace: %v", err)
	}
	st := r.LastStatus()
	status := map[string]string{}
	for _, l := range st.Plan.Lines {
		status[l.ID] = l.Status
	}
	if status["retail-spb"] != pacing.StatusHeld {
		t.Errorf("line with the unknown campaign is %q, want held", status["retail-spb"])
	}
	if status["retail-moscow"] == "" || status["retail-moscow"] == pacing.StatusHeld {
		t.Errorf("the complete line is %q, want it paced", status["retail-moscow"])
	}
	acts, err := w.store.Actions(ctx, store.ActionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) == 0 {
		t.Error("the complete line (far behind plan) got no action")
	}
	for _, a := range acts {
		if a.Campaign == ghost || a.Line == "retail-spb" {
			t.Errorf("an action for the held line: %+v", a.Action)
		}
	}
	if err := r.Alerts(ctx); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, a := range sink.last() {
		if a.Kind == "campaign_missing" {
			found = true
			if !strings.Contains(a.Detail, string(ghost)) || !strings.Contains(a.Detail, "retail-spb") || !strings.Contains(a.Detail, "pacing.budget_lines") {
				t.Errorf("the alert does not name the campaign, its line and the fix:\n%s", a.Detail)
			}
			if a.Severity != adpacer.SeverityCritical {
				t.Errorf("severity %s: the source was pulled and does not have the campaign, a config error", a.Severity)
			}
		}
	}
	if !found {
		t.Fatalf("no alert for the unknown campaign; firing: %+v", sink.last())
	}
}
