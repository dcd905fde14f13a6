package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// CommandOptions are the flags of `adpacer simulate`.
type CommandOptions struct {
	// Scenarios are files or built-in names (S0..S10); "all" runs the suite.
	Scenarios []string
	Seeds     int
	Policies  []string
	JSON      bool
	// PlotDir, when set, receives SVG charts of cumulative spend against
	// plan per line (first seed).
	PlotDir string
	Workers int
	// Progress is where the progress bar goes (stderr); it is drawn only
	// when Progress is a terminal.
	Progress io.Writer
	Engine   EngineOptions
}

// RunCommand runs `adpacer simulate`: every scenario with every policy and
// seed, then a table (or JSON) of the metrics and target checks.
func RunCommand(ctx context.Context, opts CommandOptions, out io.Writer) error {
	if len(opts.Scenarios) == 0 {
		return fmt.Errorf("simulate: --scenario is required (a file, a built-in name such as S0, or all)")
	}
	if opts.Seeds <= 0 {
		return fmt.Errorf("simulate: --seeds must be at least 1, got %d", opts.Seeds)
	}
	var names []string
	for _, s := range opts.Scenarios {
		if s == "all" {
			names = append(names, BuiltinScenarios()...)
		} else {
			names = append(names, s)
		}
	}
	scs := make([]*Scenario, len(names))
	for i, n := range names {
		sc, err := LoadScenario(n)
		if err != nil {
			return err
		}
		scs[i] = sc
	}
	bar := newProgress(opts.Progress)
	var all []*Results
	for _, sc := range scs {
		start := time.Now()
		res, err := RunWith(ctx, sc, opts.Policies, Seeds(opts.Seeds), RunOptions{
			Workers: opts.Workers, Engine: opts.Engine,
			Progress: func(done, total int) { bar.update(sc.Name, done, total, time.Since(start)) },
		})
		bar.finish()
		if err != nil {
			return fmt.Errorf("simulate %s: %w", sc.Name, err)
		}
		if opts.PlotDir != "" {
			if err := WritePlots(opts.PlotDir, sc, res); err != nil {
				return err
			}
		}
		all = append(all, res)
	}
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Results []*Results `json:"results"`
		}{all})
	}
	for _, res := range all {
		if err := WriteTable(out, res); err != nil {
			return err
		}
	}
	return nil
}

// progress draws a one-line bar with \r on a terminal and nothing elsewhere.
type progress struct {
	mu  sync.Mutex
	w   io.Writer
	on  bool
	any bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && f != nil {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *progress) update(name string, done, total int, elapsed time.Duration) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	const width = 30
	fill := done * width / max(1, total)
	fmt.Fprintf(p.w, "\r%-4s [%s%s] %d/%d simulations %s", name, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		done, total, elapsed.Round(time.Second))
	p.any = true
}

func (p *progress) finish() {
	if p.on && p.any {
		fmt.Fprint(p.w, "\r\033[K")
		p.any = false
	}
}

// WriteTable prints the metrics (median over seeds, with p5..p95 when there
// are several) and the target checks of one scenario.
func WriteTable(out io.Writer, res *Results) error {
	fmt.Fprintf(out, "== %s (%s targets): %d lines, %d campaigns, %.0f days, %d seed(s); %d lines with a feasible CPA target\n",
		res.Scenario, res.Targets, res.Lines, res.Campaigns, res.Days, len(res.Seeds), len(res.FeasibleLines))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "metric\t"
	for _, p := range res.Policies {
		header += p.Policy + "\t"
	}
	fmt.Fprintln(tw, header)
	multi := len(res.Seeds) > 1
	for mi, d := range metricDefs {
		row := d.label + "\t"
		for _, p := range res.Policies {
			s := p.Summary[mi]
			if multi && s.P5 != s.P95 {
				row += fmt.Sprintf("%s [%s..%s]\t", fmtNum(s.Median), fmtNum(s.P5), fmtNum(s.P95))
			} else {
				row += fmtNum(s.Median) + "\t"
			}
		}
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "check\ttarget\t"+strings.Join(policyNames(res), "\t")+"\t")
	ids := []string{}
	targets := map[string]string{}
	for _, p := range res.Policies {
		for _, c := range p.Checks {
			if _, ok := targets[c.ID]; !ok {
				ids = append(ids, c.ID)
				targets[c.ID] = c.Target
			}
		}
	}
	for _, id := range ids {
		row := id + "\t" + targets[id] + "\t"
		for _, p := range res.Policies {
			cell := "-"
			for _, c := range p.Checks {
				if c.ID == id {
					verdict := "FAIL"
					if c.Pass {
						verdict = "pass"
					}
					cell = verdict + " " + fmtNum(c.Value)
				}
			}
			row += cell + "\t"
		}
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	return nil
}

func policyNames(res *Results) []string {
	out := make([]string, len(res.Policies))
	for i, p := range res.Policies {
		out[i] = p.Policy
	}
	return out
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e6:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.4f", v)
	}
}

// WritePlots writes one SVG per line: cumulative settled spend of every
// policy (first seed) against the traffic-weighted plan, and below it the
// deviation (C - P) / B in percent.
func WritePlots(dir string, sc *Scenario, res *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("plot dir: %w", err)
	}
	for li := range sc.Lines {
		var b strings.Builder
		plotLine(&b, sc, res, li)
		name := filepath.Join(dir, fmt.Sprintf("%s-%s.svg", sc.Name, safeName(sc.Lines[li].ID)))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
	}
	return nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

var plotColors = []string{"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

func plotLine(b *strings.Builder, sc *Scenario, res *Results, li int) {
	const W, H, padL, padR, padT = 900.0, 620.0, 80.0, 150.0, 40.0
	const top, mid = 330.0, 230.0 // heights of the two panels
	l := &sc.Lines[li]
	budget := l.FinalBudget().Float()
	var plan []float64
	maxY := budget * 1.05
	maxDev := 0.01
	for _, p := range res.Policies {
		s := p.Runs[0].series[li]
		plan = s.plan
		for h, v := range s.spend {
			maxY = math.Max(maxY, v)
			maxDev = math.Max(maxDev, math.Abs(v-s.plan[h])/budget)
		}
	}
	n := float64(max(1, len(plan)-1))
	x := func(h int) float64 { return padL + float64(h)/n*(W-padL-padR) }
	y1 := func(v float64) float64 { return padT + top - v/maxY*top }
	y2 := func(d float64) float64 { return padT + top + 40 + mid/2 - d/maxDev*(mid/2) }
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(b, `<text x="%.0f" y="20" font-size="14">%s %s: cumulative settled spend vs plan (seed %d), budget %.0f</text>`+"\n",
		padL, xmlEscape(sc.Name), xmlEscape(l.ID), res.Seeds[0], budget)
	// axes and grid
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%.0f</text>`+"\n",
			padL, W-padR, y1(v), y1(v), padL-6, y1(v)+4, v)
	}
	fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="2,3"/>`+"\n", padL, W-padR, y1(budget), y1(budget))
	for _, d := range []float64{-maxDev, -maxDev / 2, 0, maxDev / 2, maxDev} {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%+.1f%%</text>`+"\n",
			padL, W-padR, y2(d), y2(d), padL-6, y2(d)+4, d*100)
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.1f">(C - P) / B</text>`+"\n", padL, y2(maxDev)-8)
	for day := 0; day*24 < len(plan); day += 5 {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">day %d</text>`+"\n", x(day*24), H-10, day+1)
	}
	poly := func(vals []float64, f func(float64) float64, color, dash string) {
		b.WriteString(`<polyline fill="none" stroke="` + color + `" stroke-width="1.5"` + dash + ` points="`)
		for h, v := range vals {
			fmt.Fprintf(b, "%.1f,%.1f ", x(h), f(v))
		}
		b.WriteString("\"/>\n")
	}
	poly(plan, y1, "#000", ` stroke-dasharray="6,4"`)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f">plan</text>`+"\n", W-padR+10, padT+12)
	for i, p := range res.Policies {
		s := p.Runs[0].series[li]
		color := plotColors[i%len(plotColors)]
		poly(s.spend, y1, color, "")
		dev := make([]float64, len(s.spend))
		for h := range dev {
			dev[h] = (s.spend[h] - s.plan[h]) / budget
		}
		poly(dev, y2, color, "")
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", W-padR+10, padT+30+float64(i)*16, color, xmlEscape(p.Policy))
	}
	b.WriteString("</svg>\n")
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
