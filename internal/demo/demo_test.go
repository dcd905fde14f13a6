package demo

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/deploy"
)

// TestDemoEndToEnd runs two simulated days of the demo — the real daemon
// against every fake over HTTP — once, and checks from it: the summary, the
// metrics the dashboard and alert rules query, and (when Chromium is
// installed) the status page as a browser renders it.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two simulated days against every fake")
	}
	var out bytes.Buffer
	var metrics string
	var dom, boardDOM []byte
	sum, err := Run(context.Background(), Options{Days: 2, Fast: true, Out: &out, Done: func(ep Endpoints) {
		metrics = get(t, ep.Status+"metrics")
		if _, err := exec.LookPath("chromium"); err != nil {
			if os.Getenv("ADPACER_CI") != "" {
				// .ci/run installs it: a green CI run means the page was
				// rendered in a browser.
				t.Error("chromium is not installed but ADPACER_CI is set: the browser check of the status page must run in CI")
				return
			}
			t.Log("chromium not installed (Debian package chromium): the browser check is skipped")
			return
		}
		dom = chromium(t, "--virtual-time-budget=2000", "--dump-dom", ep.Status)
		boardDOM = chromium(t, "--dump-dom", ep.TrelloBoard)
		if shot := os.Getenv("ADPACER_SCREENSHOT"); shot != "" {
			abs, _ := filepath.Abs(shot)
			chromium(t, "--window-size=1400,2200", "--hide-scrollbars", "--screenshot="+abs, ep.Status)
			chromium(t, "--window-size=1400,1400", "--hide-scrollbars", "--screenshot="+strings.TrimSuffix(abs, ".png")+"-trello.png", ep.TrelloBoard)
		}
	}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if sum.Cycles != 2*96 || len(sum.Lines) != 6 || sum.Writes == 0 || sum.HoursLogged == 0 {
		t.Errorf("summary: %d cycles, %d lines, %d writes, %.1f hours", sum.Cycles, len(sum.Lines), sum.Writes, sum.HoursLogged)
	}
	// Every platform's campaigns are paced through its own fake.
	for _, p := range []adpacer.Platform{adpacer.YandexDirect, adpacer.GoogleAds, adpacer.VKAds} {
		if sum.WritesBy[p] == 0 {
			t.Errorf("no writes reached the %s fake in two days: %v", p, sum.WritesBy)
		}
	}
	for _, l := range sum.Lines {
		if l.Spent <= 0 || l.Spent > l.Budget {
			t.Errorf("line %s spent %s of %s", l.ID, l.Spent, l.Budget)
		}
	}
	for _, want := range []string{"status page", "Yandex Direct", "demo-yandex-token", "VK Ads", "demo-vk-client", "Summary after 2 simulated days"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	checkExportedMetrics(t, metrics)
	if dom == nil {
		return
	}
	page := string(dom)
	for _, want := range []string{"budget pacing", "retail-moscow-01", "mortgage-kazan-06", "<svg", "<polyline", "Recent actions", "set_daily_budget", "Open alerts", "/board/"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page in Chromium lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="line"`); n != 6 {
		t.Errorf("status page shows %d budget lines, want 6", n)
	}
	if !bytes.Contains(boardDOM, []byte("Alerts")) {
		t.Errorf("fake Trello board view lacks the Alerts list")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var metricName = regexp.MustCompile(`adpacer_[a-z0-9_]+`)

// checkExportedMetrics judges the real daemon's /metrics and what the
// shipped dashboard and alert rules ask of it:
//   - the exposition passes promlint (base units, _total counters...), so a
//     badly named metric fails here even when no unit test covers it;
//   - every metric the dashboard and the rules query is one the daemon
//     really exports;
//   - on metrics the daemon exports with a job label of its own, no query,
//     legend or description uses job for it: Prometheus keeps job for the
//     scrape job and renames the daemon's to exported_job.
func checkExportedMetrics(t *testing.T, exposition string) {
	t.Helper()
	problems, err := promlint.New(strings.NewReader(exposition)).Lint()
	if err != nil {
		t.Fatalf("promlint cannot parse the daemon's /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint on the daemon's /metrics: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		t.Fatalf("parse the daemon's /metrics: %v", err)
	}
	exported, ownJob := map[string]bool{}, map[string]bool{}
	for name, mf := range families {
		exported[name] = true
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "job" {
					ownJob[name] = true
				}
			}
		}
	}
	if !ownJob["adpacer_job_runs_total"] {
		t.Errorf("adpacer_job_runs_total is not exported with a job label (exported with one: %v)", ownJob)
	}
	dash, exprs, err := deploy.LoadDashboard("../../deploy/grafana/adpacer-overview.json")
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
		t.Errorf("queried but not exported by the daemon: %s", strings.Join(missing, ", "))
	}
	ruleTexts, err := deploy.RuleTexts("../../deploy/prometheus/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range append(deploy.DashboardTexts(dash), ruleTexts...) {
		for _, p := range deploy.JobLabelProblems(text, ownJob) {
			t.Errorf("job label clash: %s", p)
		}
	}
}

// chromium runs Debian's headless Chromium with the flags this machine's
// closed network needs (no background networking, no component updates).
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return out
}
