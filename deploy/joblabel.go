package deploy

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// The scheduler exports its metrics with a label named job (the job's name:
// pace, apply, pull_<id>). Prometheus attaches its own target label job (the
// scrape job) to every scraped series, and with the default honor_labels:
// false it keeps the target's job and renames the daemon's to exported_job.
// So in PromQL, on those metrics, job is the scrape job and exported_job is
// the daemon's job name. A query that groups by job or selects job="pace"
// silently answers about the wrong label: one series per installation
// instead of one per job, or nothing at all.
//
// JobLabelProblems finds such uses in text (a PromQL expression, a rule, an
// alert description or a legend) for the metrics in ownJob, the metric
// families the daemon exports with a job label of its own. The only job
// matcher it allows on them is job=~"$job", the dashboard's variable of
// scrape jobs (label_values(adpacer_build_info, job)), which does mean the
// scrape job. Each problem names the metric, the offending text and the fix.
func JobLabelProblems(text string, ownJob map[string]bool) []string {
	var problems []string
	uses := false
	for _, loc := range metricToken.FindAllStringIndex(text, -1) {
		name := familyOf(text[loc[0]:loc[1]], ownJob)
		if !ownJob[name] {
			continue
		}
		uses = true
		rest := text[loc[1]:]
		if !strings.HasPrefix(rest, "{") {
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			problems = append(problems, fmt.Sprintf("%s: unterminated label matchers in %q", name, text))
			continue
		}
		for _, m := range labelMatcher.FindAllStringSubmatch(rest[1:end], -1) {
			label, op, value := m[1], m[2], m[3]
			if label != "job" {
				continue
			}
			if op == "=~" && value == "$job" {
				continue // the dashboard's scrape-job variable
			}
			problems = append(problems, fmt.Sprintf("%s{job%s%q}: after a scrape, job is the scrape job; the daemon's job label is exported_job (write exported_job%s%q)",
				name, op, value, op, value))
		}
	}
	if !uses {
		return problems
	}
	for _, m := range grouping.FindAllStringSubmatch(text, -1) {
		for _, l := range strings.Split(m[2], ",") {
			if strings.TrimSpace(l) == "job" {
				problems = append(problems, fmt.Sprintf("%s (%s) in %q: job is the scrape job after a scrape; the daemon's job name is exported_job",
					m[1], strings.TrimSpace(m[2]), text))
			}
		}
	}
	if legendJob.MatchString(text) {
		problems = append(problems, fmt.Sprintf("legend {{job}} in %q: that is the scrape job; use {{exported_job}}", text))
	}
	return problems
}

var (
	metricToken  = regexp.MustCompile(`adpacer_[a-zA-Z0-9_]+`)
	labelMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	grouping     = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	legendJob    = regexp.MustCompile(`\{\{\s*job\s*\}\}`)
)

// familyOf maps a histogram's or summary's series name (_bucket, _sum,
// _count) to its family when that family is in own.
func familyOf(name string, own map[string]bool) string {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok && own[base] {
			return base
		}
	}
	return name
}

// DashboardTexts returns, per target of the dashboard, its expression and
// its legend, for JobLabelProblems.
func DashboardTexts(d Dashboard) []string {
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			// One text per target: the legend is judged with the metrics
			// of its own expression.
			out = append(out, tg.Expr+"\n"+tg.LegendFormat)
		}
	}
	return out
}

// RuleTexts reads a Prometheus rules file and returns, per rule, its
// expression and every annotation: descriptions tell people which query to
// run, so they must name the right label too.
func RuleTexts(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `json:"alert"`
				Record      string            `json:"record"`
				Expr        string            `json:"expr"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Expr)
			for _, a := range r.Annotations {
				out = append(out, a)
			}
		}
	}
	return out, nil
}
