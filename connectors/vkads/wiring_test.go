package vkads_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/daemon"
)

// The daemon builds a VK Ads instance from connectors.vk_ads[]: a pull job
// on its schedule, a pull that lands campaigns and statistics in the
// store, and a token kept in the store across a restart. (This lives here
// because the VK wiring is the part of internal/daemon under test.)
func TestDaemonWiring(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, vkadstest.Options{})
	id := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	e.spend.SetDay(id, "2026-11-30", vkadstest.Spend{SpentMicros: rub(900), Shows: 10})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vk-secret"), []byte(clientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "mode: observe\nstore:\n  sqlite:\n    path: " + filepath.Join(dir, "adpacer.db") + "\nconnectors:\n  vk_ads:\n" +
		"    - id: vk-main\n      base_url: " + e.fake.URL() + "\n      client_id: " + clientID + "\n      client_secret_file: vk-secret\n      schedule: \"@every 7m\"\n"
	path := filepath.Join(dir, "adpacer.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadAndValidate(path)
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		st, err := daemon.OpenStore(ctx, cfg, e.clock.Now, false)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		m, ok := st.(interface{ Migrate(context.Context) error })
		if !ok {
			t.Fatal("store has no Migrate")
		}
		if err := m.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		epoch, err := st.BumpEpoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d, err := daemon.Build(ctx, daemon.Options{Config: cfg, Store: st, Registry: prometheus.NewRegistry(),
			Now: e.clock.Now, Clock: e.clock, Epoch: func() int64 { return epoch }})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(ctx)
		found := false
		for _, j := range d.Jobs() {
			if j.Name == "pull_vk-main" && j.Schedule == "@every 7m" && j.Timeout == 10*time.Minute {
				found = true
			}
		}
		if !found {
			t.Fatalf("no pull_vk-main job on @every 7m with a 10m deadline among %d jobs", len(d.Jobs()))
		}
		if err := d.Runner.PullAds(ctx, "vk-main"); err != nil {
			t.Fatal(err)
		}
		camps, err := st.Campaigns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(camps) != 1 || camps[0].ID != cid(id) || camps[0].DailyBudget == nil || *camps[0].DailyBudget != adpacer.FromUnits(1000) {
			t.Fatalf("stored campaigns %+v", camps)
		}
		stats, err := st.Stats(ctx, []adpacer.CampaignID{cid(id)}, msk(2026, 11, 30), msk(2026, 12, 1))
		if err != nil {
			t.Fatal(err)
		}
		if len(stats) != 1 || stats[0].Cost != adpacer.FromUnits(900) {
			t.Fatalf("stored stats %+v", stats)
		}
	}
	run()
	run() // a restart: the token comes from the store
	if n := e.fake.Calls(vkadstest.RouteToken); n != 1 {
		t.Fatalf("token requests = %d over two daemon runs, want 1 (persisted in the store)", n)
	}
}
