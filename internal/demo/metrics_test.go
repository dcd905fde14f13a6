package demo

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/adpacer/adpacer/deploy"
)

var metricName = regexp.MustCompile(`adpacer_[a-z0-9_]+`)

// TestDashboardAndRulesUseExportedMetrics runs the daemon against the fakes
// and checks that every metric the Grafana dashboard and the Prometheus
// rules query is one the daemon really exports.
func TestDashboardAndRulesUseExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a simulated day")
	}
	exported := map[string]bool{}
	_, err := Run(context.Background(), Options{Days: 1, Fast: true, Out: io.Discard, Done: func(ep Endpoints) {
		resp, err := http.Get(ep.Status + "metrics")
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(body), "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
				exported[f[2]] = true
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, exprs, err := deploy.LoadDashboard("../../deploy/grafana/adpacer-overview.json")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("../../deploy/prometheus/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]string{}
	for _, e := range exprs {
		for _, n := range metricName.FindAllString(e, -1) {
			used[n] = "dashboard"
		}
	}
	for _, n := range metricName.FindAllString(string(rules), -1) {
		used[n] = "rules"
	}
	var missing []string
	for n, where := range used {
		if !exported[n] {
			missing = append(missing, n+" ("+where+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("queried but not exported by the daemon: %s", strings.Join(missing, ", "))
	}
}
