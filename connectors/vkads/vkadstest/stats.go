package vkadstest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// base is the "base" metrics group of a statistics row. Money is a decimal
// string in rubles (spent is a string in public client types; cpm and cpc
// follow it [INF]); counts are numbers.
type base struct {
	Shows  int64   `json:"shows"`
	Clicks int64   `json:"clicks"`
	Goals  int64   `json:"goals"`
	Spent  string  `json:"spent"`
	CPM    string  `json:"cpm"`
	CPC    string  `json:"cpc"`
	CTR    float64 `json:"ctr"`
}

func toBase(s Spend) base {
	b := base{Shows: s.Shows, Clicks: s.Clicks, Goals: s.Goals, Spent: formatRubles(s.SpentMicros), CPM: "0.00", CPC: "0.00"}
	if s.Shows > 0 {
		b.CPM = formatRubles(s.SpentMicros * 1000 / s.Shows)
		b.CTR = float64(s.Clicks*10000/s.Shows) / 100
	}
	if s.Clicks > 0 {
		b.CPC = formatRubles(s.SpentMicros / s.Clicks)
	}
	return b
}

// statistics implements GET /api/v2/statistics/ad_plans/day.json
// ?id=1,2&date_from=YYYY-MM-DD&date_to=YYYY-MM-DD&metrics=base: one item
// per requested plan with one row per Moscow day of the range (zero rows
// included) and totals. Today's row is the running total up to the clock's
// now. More than MaxStatsIDs ids is ERR_WRONG_PARAMETER; a malformed
// date, a reversed range, a future date_to or a date_from more than
// MaxStatsDaysBack days back is ERR_WRONG_DATE.
func (s *Server) statistics(r *http.Request, a *account, now time.Time) reply {
	q := r.URL.Query()
	rawIDs := q.Get("id")
	if rawIDs == "" {
		return errReply(http.StatusBadRequest, CodeWrongParameter, "id: give the ad plan ids, comma separated")
	}
	parts := strings.Split(rawIDs, ",")
	if len(parts) > s.opts.MaxStatsIDs {
		return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("id: %d ids, at most %d per request", len(parts), s.opts.MaxStatsIDs))
	}
	owned := map[int64]bool{}
	for _, id := range a.plans {
		owned[id] = true
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, p := range parts {
		id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || id <= 0 {
			return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("id: %q is not a positive integer", p))
		}
		if !owned[id] {
			return errReply(http.StatusBadRequest, CodeWrongAdPlans, fmt.Sprintf("id: no ad plan %d in the account", id))
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if m := q.Get("metrics"); m != "" && m != "base" {
		return errReply(http.StatusBadRequest, CodeWrongParameter, fmt.Sprintf("metrics: %q is not served by this fake (use base)", m))
	}
	today := now.In(moscow).Format(time.DateOnly)
	from, err := parseDate("date_from", q.Get("date_from"))
	if err != nil {
		return errReply(http.StatusBadRequest, CodeWrongDate, err.Error())
	}
	to, err := parseDate("date_to", q.Get("date_to"))
	if err != nil {
		return errReply(http.StatusBadRequest, CodeWrongDate, err.Error())
	}
	todayT, _ := time.ParseInLocation(time.DateOnly, today, moscow)
	switch {
	case to.Before(from):
		return errReply(http.StatusBadRequest, CodeWrongDate, "date_to is before date_from")
	case to.After(todayT):
		return errReply(http.StatusBadRequest, CodeWrongDate, fmt.Sprintf("date_to %s is in the future (today is %s in Moscow)", to.Format(time.DateOnly), today))
	case from.Before(todayT.AddDate(0, 0, -s.opts.MaxStatsDaysBack)):
		return errReply(http.StatusBadRequest, CodeWrongDate, fmt.Sprintf("date_from %s is more than %d days back", from.Format(time.DateOnly), s.opts.MaxStatsDaysBack))
	}
	type row struct {
		Date string `json:"date"`
		Base base   `json:"base"`
	}
	type total struct {
		Base base `json:"base"`
	}
	type item struct {
		ID    int64 `json:"id"`
		Rows  []row `json:"rows"`
		Total total `json:"total"`
	}
	items := make([]item, 0, len(ids))
	var all Spend
	for _, id := range ids {
		it := item{ID: id, Rows: []row{}}
		var sum Spend
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			day := d.Format(time.DateOnly)
			sp := s.spend.PlanSpend(id, day, now)
			sum = sum.Add(sp)
			it.Rows = append(it.Rows, row{Date: day, Base: toBase(sp)})
		}
		it.Total.Base = toBase(sum)
		all = all.Add(sum)
		items = append(items, it)
	}
	return reply{status: http.StatusOK, body: map[string]any{"items": items, "total": total{Base: toBase(all)}}}
}

func parseDate(field, v string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, v, moscow)
	if err != nil || t.Format(time.DateOnly) != v {
		return time.Time{}, fmt.Errorf("%s: %q is not a date YYYY-MM-DD", field, v)
	}
	return t, nil
}
