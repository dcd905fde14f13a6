// Package status serves the daemon's status page and JSON: per budget line
// spend against plan as a chart, recent actions with reasons, open alerts,
// and a link to the Trello board where the cards are. It carries business
// data, so the daemon mounts it behind the telemetry server's bearer token
// whenever it listens beyond loopback.
package status

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
)

//go:embed page.html.tmpl
var pageFS embed.FS

// Reader is the part of the store the page reads.
type Reader interface {
	Actions(ctx context.Context, f store.ActionFilter) ([]store.ActionRecord, error)
	ListAlerts(ctx context.Context) ([]adpacer.AlertState, error)
}

// Options configure the handler.
type Options struct {
	Status func() cycle.Status
	Store  Reader
	// BoardURL links to the Trello board that holds alert and approval cards;
	// CardURL, when set, links one card by id.
	BoardURL string
	CardURL  func(cardID string) string
	Title    string
}

type handler struct {
	opt  Options
	tmpl *template.Template
}

// Handler builds the status page handler serving "/" and "/api/status".
func Handler(opt Options) (http.Handler, error) {
	if opt.Status == nil || opt.Store == nil {
		return nil, fmt.Errorf("status: Status and Store are required")
	}
	if opt.Title == "" {
		opt.Title = "adpacer"
	}
	t, err := template.New("page.html.tmpl").Funcs(template.FuncMap{"money": money}).ParseFS(pageFS, "page.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("status: template: %w", err)
	}
	h := &handler{opt: opt, tmpl: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("GET /api/status", h.json)
	// Authentication is the telemetry server's (HandlePrivate): the page
	// is mounted behind its bearer token whenever it listens beyond loopback.
	return mux, nil
}

// LineView is one line as shown.
type LineView struct {
	ID, Name, Directorate, Status string
	Budget, Spent, Planned        adpacer.Micros
	Projected, Remaining          adpacer.Micros
	Currency                      string
	Chart                         template.HTML
}

// ActionView is one recent action.
type ActionView struct {
	At                      time.Time
	Campaign, Kind, State   string
	Value, Previous, Reason string
	Detail                  string
}

// AlertView is one open alert.
type AlertView struct {
	Key, Severity, CardID, CardURL string
	OpenedAt                       time.Time
}

// View is the page's data, also served as JSON.
type View struct {
	Title    string
	At       time.Time
	BoardURL string
	Lines    []LineView
	Actions  []ActionView
	Alerts   []AlertView
}

func (h *handler) view(ctx context.Context) (View, error) {
	st := h.opt.Status()
	v := View{Title: h.opt.Title, At: st.At, BoardURL: h.opt.BoardURL}
	statusOf := map[string]int{}
	for i, ls := range st.Plan.Lines {
		statusOf[ls.ID] = i
	}
	for _, l := range st.Lines {
		lv := LineView{ID: l.ID, Name: l.Name, Directorate: l.Directorate, Budget: l.Budget, Currency: l.Currency}
		if i, ok := statusOf[l.ID]; ok {
			ls := st.Plan.Lines[i]
			lv.Status, lv.Spent, lv.Planned, lv.Projected, lv.Remaining = ls.Status, ls.Spent, ls.PlannedToDate, ls.Projected, ls.Remaining
		}
		lv.Chart = chart(st.History[l.ID], l.Budget, periodBounds(l))
		v.Lines = append(v.Lines, lv)
	}
	acts, err := h.opt.Store.Actions(ctx, store.ActionFilter{Limit: 50})
	if err != nil {
		return v, fmt.Errorf("recent actions: %w", err)
	}
	for _, a := range acts {
		av := ActionView{At: a.UpdatedAt, Campaign: string(a.Campaign), Kind: string(a.Kind), State: string(a.State), Reason: a.Reason, Detail: a.Detail}
		if a.Value != nil {
			av.Value = a.Value.String()
		}
		if a.Previous != nil {
			av.Previous = a.Previous.String()
		}
		v.Actions = append(v.Actions, av)
	}
	alerts, err := h.opt.Store.ListAlerts(ctx)
	if err != nil {
		return v, fmt.Errorf("alerts: %w", err)
	}
	for _, a := range alerts {
		if a.Status == adpacer.AlertResolved {
			continue
		}
		av := AlertView{Key: a.Key, Severity: string(a.Severity), CardID: a.CardID, OpenedAt: a.OpenedAt, CardURL: h.opt.BoardURL}
		if h.opt.CardURL != nil && a.CardID != "" {
			av.CardURL = h.opt.CardURL(a.CardID)
		}
		v.Alerts = append(v.Alerts, av)
	}
	sort.Slice(v.Alerts, func(i, j int) bool {
		if v.Alerts[i].Severity != v.Alerts[j].Severity {
			return adpacer.Severity(v.Alerts[i].Severity).Rank() > adpacer.Severity(v.Alerts[j].Severity).Rank()
		}
		return v.Alerts[i].Key < v.Alerts[j].Key
	})
	return v, nil
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	v, err := h.view(r.Context())
	if err != nil {
		http.Error(w, "status unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := h.tmpl.Execute(w, v); err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
	}
}

func (h *handler) json(w http.ResponseWriter, r *http.Request) {
	v, err := h.view(r.Context())
	if err != nil {
		http.Error(w, "status unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	for i := range v.Lines {
		v.Lines[i].Chart = ""
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func money(m adpacer.Micros) string {
	s := m.FloorTo(10_000).String()
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteRune('\u202f')
		}
		b.WriteRune(r)
	}
	out := b.String() + "." + (frac + "00")[:2]
	if neg {
		out = "-" + out
	}
	return out
}

// periodBounds returns the line's period as instants (end exclusive), or
// zero times when the period does not parse.
func periodBounds(l pacing.Line) [2]time.Time {
	loc, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		return [2]time.Time{}
	}
	start, err1 := time.ParseInLocation(time.DateOnly, l.Period.Start, loc)
	end, err2 := time.ParseInLocation(time.DateOnly, l.Period.End, loc)
	if err1 != nil || err2 != nil {
		return [2]time.Time{}
	}
	return [2]time.Time{start, end.AddDate(0, 0, 1)}
}

// chart draws cumulative spend (solid) against plan to date (dashed) and
// the budget (top rule) as an inline SVG; the x axis spans the whole
// period when known, so the month's progress reads at a glance.
func chart(pts []cycle.Point, budget adpacer.Micros, period [2]time.Time) template.HTML {
	const w, h, pad = 420.0, 120.0, 4.0
	if len(pts) == 0 || budget <= 0 {
		return template.HTML(`<svg class="chart" width="420" height="120" role="img" aria-label="no data yet"><text x="8" y="60">no cycles yet</text></svg>`)
	}
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	if !period[0].IsZero() && period[1].After(period[0]) {
		t0, t1 = period[0], period[1]
	}
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	top := float64(budget) * 1.1
	for _, p := range pts {
		if float64(p.Spent) > top {
			top = float64(p.Spent) * 1.05
		}
	}
	x := func(t time.Time) float64 { return pad + (w-2*pad)*t.Sub(t0).Seconds()/span }
	y := func(m adpacer.Micros) float64 { return h - pad - (h-2*pad)*float64(m)/top }
	var spent, plan strings.Builder
	for i, p := range pts {
		sep := " "
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&spent, "%s%.1f,%.1f", sep, x(p.At), y(p.Spent))
		fmt.Fprintf(&plan, "%s%.1f,%.1f", sep, x(p.At), y(p.Planned))
	}
	by := y(budget)
	return template.HTML(fmt.Sprintf(`<svg class="chart" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="spend against plan">`+
		`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c0392b" stroke-width="1"/>`+
		`<polyline fill="none" stroke="#7f8c8d" stroke-dasharray="4 3" stroke-width="1.5" points="%s"/>`+
		`<polyline fill="none" stroke="#2471a3" stroke-width="2" points="%s"/></svg>`,
		w, h, w, h, pad, by, w-pad, by, plan.String(), spent.String()))
}
