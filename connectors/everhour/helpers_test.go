package everhour_test

import (
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/connectors/everhour/everhourtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// canaryKey is the API key of every test: no error, log line or metric may
// contain it.
const canaryKey = "evh-CANARY-7f3a9c"

type env struct {
	clock  *everhourtest.Clock
	fake   *everhourtest.Server
	client *everhour.Client
	logs   *observer.ObservedLogs
}

// newEnv starts a fake and a client sharing one virtual clock (rate limit
// waits and retry back-off advance it instantly).
func newEnv(t *testing.T, start time.Time, cfg everhour.Config, fo everhourtest.Options) *env {
	t.Helper()
	clock := everhourtest.NewClock(start)
	fo.APIKey = canaryKey
	fo.Now = clock.Now
	fake := everhourtest.NewServer(fo)
	t.Cleanup(fake.Close)
	if cfg.APIKey == "" {
		cfg.APIKey = canaryKey
	}
	cfg.BaseURL = fake.URL()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	core, logs := observer.New(zapcore.DebugLevel)
	c, err := everhour.New(cfg, everhour.Deps{Logger: zap.New(core), Transport: tr, Clock: clock, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{clock: clock, fake: fake, client: c, logs: logs}
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
