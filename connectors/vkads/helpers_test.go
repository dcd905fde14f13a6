package vkads_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/vkads"
	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
	"github.com/adpacer/adpacer/internal/oauthx/oauthxtest"
)

// Canary credentials: no error, log line or metric may contain them.
const (
	clientID     = "vk-client-1"
	clientSecret = "vk-secret-CANARY-91c4"
	account      = "bank"
)

// t0 is 2026-12-01 10:00 Moscow time: yesterday is 30 November, so a
// pull from 28 November crosses the month boundary.
var t0 = time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)

type env struct {
	fake   *vkadstest.Server
	clock  *vkadstest.ManualClock
	spend  *vkadstest.MemorySpend
	tokens *oauthxtest.MemStore
	reg    *prometheus.Registry
}

func newEnv(t testing.TB, opts vkadstest.Options) *env {
	t.Helper()
	clock := vkadstest.NewManualClock(t0)
	spend := vkadstest.NewMemorySpend()
	opts.Clock, opts.Spend = clock, spend
	if opts.Limits.RPS == 0 {
		// Most tests are about something else than the per-second limit.
		opts.Limits.RPS = 1000
	}
	f := vkadstest.New(opts)
	t.Cleanup(f.Close)
	f.AddAdvertiser(account, clientID, clientSecret)
	return &env{fake: f, clock: clock, spend: spend, tokens: &oauthxtest.MemStore{}, reg: prometheus.NewRegistry()}
}

func (e *env) config() vkads.Config {
	return vkads.Config{ID: "vk-main", BaseURL: e.fake.URL(), ClientID: clientID, ClientSecret: clientSecret}
}

func (e *env) client(t testing.TB, mod func(*vkads.Config), modOpts func(*vkads.Options)) *vkads.Client {
	t.Helper()
	cfg := e.config()
	if mod != nil {
		mod(&cfg)
	}
	opts := vkads.Options{Clock: e.clock, Registerer: e.reg, Rand: func() float64 { return 0.5 }, Tokens: e.tokens, Logger: zap.NewNop()}
	if modOpts != nil {
		modOpts(&opts)
	}
	c, err := vkads.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cid(id int64) adpacer.CampaignID {
	return adpacer.NewCampaignID(adpacer.VKAds, strconv.FormatInt(id, 10))
}

func rub(units int64) int64 { return units * 1_000_000 }

func micros(v adpacer.Micros) *adpacer.Micros { return &v }

// counter sums a metric family's counters (and gauges) whose labels match.
func counter(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			ok := true
			for k, v := range labels {
				ok = ok && got[k] == v
			}
			if ok {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
