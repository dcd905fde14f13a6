package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterReusesAndRefusesClashes(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "adpacer_test_total", Help: "test"}
	a, err := Register(reg, prometheus.NewCounterVec(opts, []string{"api"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Register(reg, prometheus.NewCounterVec(opts, []string{"api"}))
	if err != nil || a != b {
		t.Fatalf("second registration: %v, same collector %v", err, a == b)
	}
	if _, err := Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "adpacer_test_total", Help: "other"})); err == nil {
		t.Fatal("a clashing collector of another type was accepted")
	}
}
