package googleads_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
)

// The operation budget survives a restart through its persistence hook:
// Entries saved as JSON before the restart and handed to Restore after it
// give the same count, the same remaining gauge, and the same refusal when
// the allowance is spent, before any request reaches Google.
func TestOperationBudgetSurvivesRestart(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(3)
	const limit = 10
	before, err := googleads.NewOperationBudget(limit, e.clk.Now, prometheus.NewRegistry())
	must(t, err)
	c := e.client(func(o *googleads.Options) { o.Budget = before })
	if _, err := pull(c, e, "2026-11-09"); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(15 * time.Minute)
	if _, err := c.Observe(ctx, []adpacer.CampaignID{gid(1)}); err != nil {
		t.Fatal(err)
	}
	saved := before.Entries()
	raw, err := json.Marshal(saved)
	must(t, err)
	// The persisted shape is a contract with data already on disk.
	const want = `[{"at":"2026-11-10T12:30:00Z","n":1},{"at":"2026-11-10T12:30:00Z","n":1},{"at":"2026-11-10T12:30:00Z","n":1},{"at":"2026-11-10T12:30:00Z","n":1},{"at":"2026-11-10T12:45:00Z","n":1},{"at":"2026-11-10T12:45:00Z","n":1}]`
	if string(raw) != want {
		t.Fatalf("persisted entries:\n got %s\nwant %s", raw, want)
	}

	// Restart: a new budget and client, restored from the JSON.
	e.clk.Advance(time.Minute)
	reg := prometheus.NewRegistry()
	after, err := googleads.NewOperationBudget(limit, e.clk.Now, reg)
	must(t, err)
	var loaded []googleads.BudgetEntry
	must(t, json.Unmarshal(raw, &loaded))
	must(t, after.Restore(loaded))
	got := after.Entries()
	if len(got) != len(saved) {
		t.Fatalf("restored %d entries, saved %d", len(got), len(saved))
	}
	for i := range got {
		if !got[i].At.Equal(saved[i].At) || got[i].N != saved[i].N {
			t.Fatalf("entry %d: restored %+v, saved %+v", i, got[i], saved[i])
		}
	}
	if after.Used() != 6 || after.Remaining() != 4 || remainingGauge(t, reg) != 4 {
		t.Fatalf("after restore: used %d, remaining %d, gauge %v; want 6, 4, 4", after.Used(), after.Remaining(), remainingGauge(t, reg))
	}
	restarted := e.client(func(o *googleads.Options) { o.Budget = after })
	if _, err := pull(restarted, e, "2026-11-09"); err != nil {
		t.Fatal(err)
	}
	sent := e.fake.QuotaUsed()
	// 10 used: the allowance is spent, and a query that does not fit is
	// refused before it is sent.
	if _, err := pull(restarted, e, "2026-11-09"); !errors.Is(err, googleads.ErrOperationBudget) {
		t.Fatalf("pull past the restored allowance: %v", err)
	}
	if n := e.fake.QuotaUsed() - sent; n != 0 || after.Remaining() != 0 {
		t.Fatalf("%d operations sent past the restored allowance, %d left", n, after.Remaining())
	}

	// The window rolls as before the restart: the restored entries leave it
	// 24 hours after they were spent, not after the restore.
	e.clk.Advance(24*time.Hour - 16*time.Minute + time.Second)
	if u := after.Used(); u != 6 {
		t.Fatalf("24h after the first pull: %d used, want 6 (2 restored from 12:45, 4 spent after the restart)", u)
	}
}

func remainingGauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "adpacer_google_ads_operations_remaining" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("adpacer_google_ads_operations_remaining not registered")
	return 0
}
