package vkads

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
)

var _ connectors.AdSource = (*Client)(nil)

// apiPlan is an ad plan as the list returns it. Numbers are kept raw: the
// notes do not pin whether ids and budgets are numbers or strings.
type apiPlan struct {
	ID             json.RawMessage `json:"id"`
	Name           string          `json:"name"`
	Status         string          `json:"status"`
	BudgetLimitDay json.RawMessage `json:"budget_limit_day"`
	BudgetLimit    json.RawMessage `json:"budget_limit"`
}

// plan is a decoded ad plan.
type plan struct {
	id     int64
	name   string
	status string // active | blocked | deleted (or something new)
	daily  *adpacer.Micros
}

func decodePlan(a apiPlan) (plan, error) {
	id, err := parseCount("id", a.ID)
	if err != nil || id <= 0 {
		return plan{}, fmt.Errorf("ad plan with id %s: id is not a positive integer", truncate(string(a.ID)))
	}
	daily, err := optionalRubles("budget_limit_day", a.BudgetLimitDay)
	if err != nil {
		return plan{}, fmt.Errorf("ad plan %d: %w", id, err)
	}
	return plan{id: id, name: a.Name, status: a.Status, daily: daily}, nil
}

// listPlans reads every ad plan of the account, page by page
// ({count, offset, limit, items}).
func (c *Client) listPlans(ctx context.Context) ([]plan, error) {
	byID := map[int64]plan{}
	offset := 0
	for pages := 0; ; pages++ {
		q := url.Values{
			"fields": {"id,name,status,budget_limit_day,budget_limit"},
			"limit":  {strconv.Itoa(c.cfg.PageLimit)},
			"offset": {strconv.Itoa(offset)},
		}
		var res struct {
			Count json.RawMessage `json:"count"`
			Items []apiPlan       `json:"items"`
		}
		if err := c.call(ctx, endpointAdPlans, http.MethodGet, "/api/v2/ad_plans.json", q, nil, &res); err != nil {
			return nil, err
		}
		count, err := parseCount("count", res.Count)
		if err != nil {
			return nil, fmt.Errorf("vk ads %s: ad_plans: %w: %v", c.cfg.ID, ErrMalformed, err)
		}
		for _, it := range res.Items {
			p, err := decodePlan(it)
			if err != nil {
				return nil, adpacer.Terminal(fmt.Errorf("vk ads %s: ad_plans: %w", c.cfg.ID, err))
			}
			// A plan created between pages shifts the list; the last copy
			// read wins instead of counting it twice.
			byID[p.id] = p
		}
		offset += len(res.Items)
		if len(res.Items) == 0 || int64(offset) >= count {
			break
		}
		if int64(pages) > count/int64(c.cfg.PageLimit)+10 {
			return nil, fmt.Errorf("vk ads %s: ad_plans: %w: paging did not end after %d pages (count %d)", c.cfg.ID, ErrMalformed, pages+1, count)
		}
	}
	out := make([]plan, 0, len(byID))
	for _, p := range byID {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// mapState maps an ad plan status to adpacer's serving state. A status the
// notes do not list cannot be steered safely, so it reads as "rejected"
// (cannot serve for a reason adpacer did not cause).
func mapState(status string) adpacer.CampaignState {
	switch status {
	case "active":
		return adpacer.StateOn
	case "blocked":
		return adpacer.StatePaused
	case "deleted":
		return adpacer.StateEnded
	}
	return adpacer.StateRejected
}

func campaignID(id int64) adpacer.CampaignID {
	return adpacer.NewCampaignID(adpacer.VKAds, strconv.FormatInt(id, 10))
}

func (c *Client) toCampaign(p plan, now time.Time) adpacer.Campaign {
	if mapState(p.status) == adpacer.StateRejected {
		c.log.Warn("VK Ads ad plan has a status adpacer does not know; it is treated as unable to serve", zap.Int64("ad_plan", p.id), zap.String("status", p.status))
	}
	return adpacer.Campaign{
		ID: campaignID(p.id), AccountID: c.cfg.Account(), Name: p.name,
		// VK counts days and budgets on Moscow time and in rubles.
		TimeZone: "Europe/Moscow", Currency: "RUB",
		State: mapState(p.status), DailyBudget: p.daily,
		// Bids live on ad groups in VK Ads: no campaign-level bid.
		Bid: nil, UpdatedAt: now,
	}
}

// Pull implements connectors.AdSource: every ad plan (one list call per
// PageLimit plans), then daily statistics from req.StatsFrom through today
// in one request per 200 plans. Closed Moscow days become Stats
// [day 00:00 MSK, next day 00:00 MSK); today's running total becomes a
// SpendSnapshot. VK moderation is not read.
func (c *Client) Pull(ctx context.Context, req connectors.AdPullRequest) (adpacer.AdBatch, error) {
	var b adpacer.AdBatch
	now := req.Now
	if now.IsZero() {
		now = c.clock.Now()
	}
	// VK keeps statistics MaxStatsDays back.
	today, from, err := req.Days(now, c.moscow, c.cfg.RestatementDays, func(t time.Time) time.Time { return t.AddDate(0, 0, -c.cfg.MaxStatsDays) })
	if err != nil {
		return b, fmt.Errorf("vk ads %s: pull: %w", c.cfg.ID, err)
	}
	plans, err := c.listPlans(ctx)
	if err != nil {
		return b, fmt.Errorf("vk ads %s: pull ad plans: %w", c.cfg.ID, err)
	}
	ids := make([]int64, len(plans))
	for i, p := range plans {
		b.Campaigns = append(b.Campaigns, c.toCampaign(p, now))
		ids[i] = p.id
	}
	rows, err := c.statistics(ctx, ids, from, today)
	if err != nil {
		return b, fmt.Errorf("vk ads %s: pull statistics %s..%s: %w", c.cfg.ID, from.Format(time.DateOnly), today.Format(time.DateOnly), err)
	}
	at := c.clock.Now()
	todayS := today.Format(time.DateOnly)
	// Every plan gets a Stat for every closed day read, zero when VK has
	// no row: a restated day that fell to zero must overwrite the store.
	for d := from; d.Before(today); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		for _, id := range ids {
			r := rows[rowKey{id, day}]
			b.Stats = append(b.Stats, adpacer.Stat{
				Campaign: campaignID(id), Start: d, End: d.AddDate(0, 0, 1),
				Cost: r.cost, Clicks: r.clicks, Impressions: r.shows, Conversions: r.goals,
			})
		}
	}
	for _, id := range ids {
		b.Snapshots = append(b.Snapshots, adpacer.SpendSnapshot{Campaign: campaignID(id), Day: todayS, At: at, Cost: rows[rowKey{id, todayS}].cost})
	}
	return b, nil
}

type rowKey struct {
	id  int64
	day string
}

type statRow struct {
	cost          adpacer.Micros
	clicks, shows int64
	goals         float64
}

type apiBase struct {
	Shows  json.RawMessage `json:"shows"`
	Clicks json.RawMessage `json:"clicks"`
	Goals  json.RawMessage `json:"goals"`
	Spent  json.RawMessage `json:"spent"`
}

// statistics reads day rows of ids for [from, to] (Moscow dates), at most
// MaxBatch ids per request.
func (c *Client) statistics(ctx context.Context, ids []int64, from, to time.Time) (map[rowKey]statRow, error) {
	out := map[rowKey]statRow{}
	lo, hi := from.Format(time.DateOnly), to.Format(time.DateOnly)
	for ch := range slices.Chunk(ids, MaxBatch) {
		want := map[int64]bool{}
		strs := make([]string, len(ch))
		for i, id := range ch {
			want[id] = true
			strs[i] = strconv.FormatInt(id, 10)
		}
		q := url.Values{"id": {strings.Join(strs, ",")}, "date_from": {lo}, "date_to": {hi}, "metrics": {"base"}}
		var res struct {
			Items []struct {
				ID   json.RawMessage `json:"id"`
				Rows []struct {
					Date string  `json:"date"`
					Base apiBase `json:"base"`
				} `json:"rows"`
			} `json:"items"`
		}
		if err := c.call(ctx, endpointStatistics, http.MethodGet, "/api/v2/statistics/ad_plans/day.json", q, nil, &res); err != nil {
			return nil, err
		}
		for _, it := range res.Items {
			id, err := parseCount("id", it.ID)
			if err != nil || !want[id] {
				return nil, fmt.Errorf("%w: statistics answered for ad plan %s, which was not asked for", ErrMalformed, truncate(string(it.ID)))
			}
			for _, r := range it.Rows {
				if r.Date < lo || r.Date > hi {
					return nil, fmt.Errorf("%w: ad plan %d: row dated %q outside %s..%s", ErrMalformed, id, r.Date, lo, hi)
				}
				k := rowKey{id, r.Date}
				if _, dup := out[k]; dup {
					return nil, fmt.Errorf("%w: ad plan %d: two rows for %s", ErrMalformed, id, r.Date)
				}
				sr, err := decodeRow(r.Base)
				if err != nil {
					return nil, adpacer.Terminal(fmt.Errorf("ad plan %d on %s: %w", id, r.Date, err))
				}
				out[k] = sr
			}
		}
	}
	return out, nil
}

func decodeRow(b apiBase) (statRow, error) {
	var r statRow
	var err error
	if r.shows, err = parseCount("base.shows", b.Shows); err != nil {
		return r, err
	}
	if r.clicks, err = parseCount("base.clicks", b.Clicks); err != nil {
		return r, err
	}
	if r.goals, err = parseGoals("base.goals", b.Goals); err != nil {
		return r, err
	}
	if t := strings.TrimSpace(string(b.Spent)); t != "" && t != "null" {
		if r.cost, err = ParseRubles("base.spent", b.Spent); err != nil {
			return r, err
		}
	}
	return r, nil
}
