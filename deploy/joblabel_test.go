package deploy

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer/internal/schedule"
)

func TestJobLabelProblems(t *testing.T) {
	own := map[string]bool{"adpacer_job_runs_total": true, "adpacer_job_duration_seconds": true}
	for _, tc := range []struct {
		text string
		want string // substring of the single problem; "" means none
	}{
		{`sum by (exported_job, result) (rate(adpacer_job_runs_total{job=~"$job"}[5m]))`, ""},
		{`adpacer_job_runs_total{exported_job="pace",result="error"}`, ""},
		{`sum by (job) (adpacer_leader)`, ""}, // no own-job metric: job is only the scrape job
		{`up{job="adpacer"}`, ""},
		{`sum by (job, result) (rate(adpacer_job_runs_total{job=~"$job"}[5m]))`, "by (job, result)"},
		{`sum without(job) (adpacer_job_runs_total)`, "without (job)"},
		{`adpacer_job_runs_total{job="pace"}`, `exported_job="pace"`},
		{`adpacer_job_runs_total{result="error", job != "pace"}`, `exported_job!="pace"`},
		{`adpacer_job_runs_total{job=~"pull_.*"}`, `exported_job=~"pull_.*"`},
		{`histogram_quantile(0.9, sum by (le, job) (rate(adpacer_job_duration_seconds_bucket[5m])))`, "by (le, job)"},
		{"rate(adpacer_job_runs_total[5m])\n{{job}} {{result}}", "{{exported_job}}"},
		{"Check adpacer_job_runs_total{job=\"pace\"} and the logs.", `exported_job="pace"`},
	} {
		got := JobLabelProblems(tc.text, own)
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%q: unexpected problems %q", tc.text, got)
		case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
			t.Errorf("%q: problems %q, want one mentioning %q", tc.text, got, tc.want)
		}
	}
}

// schedulerJobMetrics returns the metric families the scheduler exports
// with a job label of its own, read from a real scheduler's registry after
// one run (the demo test finds the same on the whole daemon).
func schedulerJobMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := schedule.New(schedule.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(schedule.Job{Name: "pace", Schedule: "@every 1h", Timeout: time.Second, Run: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunNow(context.Background(), "pace"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "job" {
					own[mf.GetName()] = true
				}
			}
		}
	}
	if !own["adpacer_job_runs_total"] {
		t.Fatalf("the scheduler exports no adpacer_job_runs_total with a job label; found %v", own)
	}
	return own
}

// The shipped dashboard (both copies) and alert rules read the scheduler's
// job name as exported_job, the label Prometheus gives it on scrape.
func TestShippedQueriesUseExportedJob(t *testing.T) {
	own := schedulerJobMetrics(t)
	var problems []string
	for _, path := range []string{"grafana/adpacer-overview.json", "kubernetes/base/grafana-dashboard.json"} {
		d, _, err := LoadDashboard(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range DashboardTexts(d) {
			for _, p := range JobLabelProblems(text, own) {
				problems = append(problems, path+": "+p)
			}
		}
	}
	texts, err := RuleTexts("prometheus/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The rule unit tests, line by line: input series stand for scraped
	// series and expected annotations repeat the rules'.
	raw, err := os.ReadFile("prometheus/rules_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, strings.Split(string(raw), "\n")...)
	for _, text := range texts {
		for _, p := range JobLabelProblems(text, own) {
			problems = append(problems, "prometheus: "+p)
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}
