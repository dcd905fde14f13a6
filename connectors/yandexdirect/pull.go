package yandexdirect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/internal/httpx"
	"go.uber.org/zap"
)

const pageLimit = 10000

// apiCampaign is a Campaigns.get item (money in micros).
type apiCampaign struct {
	ID          int64  `json:"Id"`
	Name        string `json:"Name"`
	Type        string `json:"Type"`
	State       string `json:"State"`
	Status      string `json:"Status"`
	TimeZone    string `json:"TimeZone"`
	Currency    string `json:"Currency"`
	DailyBudget *struct {
		Amount int64  `json:"Amount"`
		Mode   string `json:"Mode"`
	} `json:"DailyBudget"`
	TextCampaign    *typedCampaign `json:"TextCampaign"`
	UnifiedCampaign *typedCampaign `json:"UnifiedCampaign"`
}

type typedCampaign struct {
	BiddingStrategy *struct {
		Search  *struct{ BiddingStrategyType string } `json:"Search"`
		Network *struct{ BiddingStrategyType string } `json:"Network"`
	} `json:"BiddingStrategy"`
}

func (a apiCampaign) searchStrategy() string {
	for _, t := range []*typedCampaign{a.TextCampaign, a.UnifiedCampaign} {
		if t != nil && t.BiddingStrategy != nil && t.BiddingStrategy.Search != nil {
			return t.BiddingStrategy.Search.BiddingStrategyType
		}
	}
	return ""
}

func (a apiCampaign) strategy() string {
	s := a.searchStrategy()
	if s != "" && s != "SERVING_OFF" {
		return s
	}
	for _, t := range []*typedCampaign{a.TextCampaign, a.UnifiedCampaign} {
		if t != nil && t.BiddingStrategy != nil && t.BiddingStrategy.Network != nil {
			return t.BiddingStrategy.Network.BiddingStrategyType
		}
	}
	return s
}

// getCampaigns reads campaigns (all when ids is empty) with paging: one
// call per 10,000 campaigns. It uses v501 so unified campaigns come back
// with their strategy block.
func (c *Client) getCampaigns(ctx context.Context, ids []int64) ([]apiCampaign, error) {
	var out []apiCampaign
	chunks := [][]int64{nil}
	if len(ids) > 0 {
		chunks = slices.Collect(slices.Chunk(ids, pageLimit))
	}
	for _, ch := range chunks {
		sel := map[string]any{}
		if ch != nil {
			sel["Ids"] = ch
		}
		offset := int64(0)
		for {
			params := map[string]any{
				"SelectionCriteria":         sel,
				"FieldNames":                []string{"Id", "Name", "Type", "State", "Status", "TimeZone", "Currency", "DailyBudget"},
				"TextCampaignFieldNames":    []string{"BiddingStrategy"},
				"UnifiedCampaignFieldNames": []string{"BiddingStrategy"},
				"Page":                      map[string]int64{"Limit": pageLimit, "Offset": offset},
			}
			var res struct {
				Campaigns []apiCampaign `json:"Campaigns"`
				LimitedBy int64         `json:"LimitedBy"`
			}
			if err := c.call(ctx, v501, "campaigns", "get", params, &res); err != nil {
				return nil, err
			}
			out = append(out, res.Campaigns...)
			if res.LimitedBy <= offset {
				break
			}
			offset = res.LimitedBy
		}
	}
	return out, nil
}

// mapState maps Yandex State/Status to adpacer's serving state. OFF means
// the campaign cannot serve for a reason adpacer did not cause (no funds,
// draft, moderation), hence "rejected"; SUSPENDED is a pause.
func mapState(state, status string) adpacer.CampaignState {
	switch state {
	case "ON":
		if status == "REJECTED" {
			return adpacer.StateRejected
		}
		return adpacer.StateOn
	case "SUSPENDED":
		return adpacer.StatePaused
	case "ENDED", "ARCHIVED", "CONVERTED":
		return adpacer.StateEnded
	}
	return adpacer.StateRejected
}

func (c *Client) toCampaign(ctx context.Context, a apiCampaign, now time.Time) (adpacer.Campaign, error) {
	id := adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(a.ID, 10))
	out := adpacer.Campaign{
		ID: id, AccountID: c.cfg.ClientLogin, Name: a.Name, TimeZone: a.TimeZone, Currency: a.Currency,
		State: mapState(a.State, a.Status), Strategy: a.strategy(), UpdatedAt: now,
	}
	if a.DailyBudget != nil {
		m := adpacer.Micros(a.DailyBudget.Amount)
		out.DailyBudget = &m
	}
	n, err := c.edits.BudgetEdits(ctx, id, c.platformDay(now))
	if err != nil {
		return out, fmt.Errorf("yandexdirect %s: read budget edit count of %s: %w", c.cfg.ID, id, err)
	}
	out.BudgetEditsToday = n
	return out, nil
}

// platformDay is the Moscow date of t: daily budgets and their edit limit
// run on Moscow time whatever the campaign's zone.
func (c *Client) platformDay(t time.Time) string {
	return t.In(c.moscow).Format("2006-01-02")
}

// Pull implements connectors.AdSource: campaigns (ceil(n/10000)
// Campaigns.get), one report for the closed days from req.StatsFrom to
// yesterday, one TODAY report for intraday spend, and ads moderation of
// campaigns that are not ended or archived: known ads by Ids (one Ads.get
// per 10,000 ads), ads of campaigns not yet covered by CampaignIds (one
// per 10 campaigns), and a full rediscovery every AdsRediscovery (see
// pullAds).
func (c *Client) Pull(ctx context.Context, req connectors.AdPullRequest) (adpacer.AdBatch, error) {
	var b adpacer.AdBatch
	now := req.Now
	if now.IsZero() {
		now = c.clock.Now()
	}
	// Reports keeps three years of statistics.
	todayDay, from, err := req.Days(now, c.zone, c.cfg.RestatementDays, func(t time.Time) time.Time { return t.AddDate(-3, 0, 0) })
	if err != nil {
		return b, fmt.Errorf("yandexdirect %s: pull: %w", c.cfg.ID, err)
	}

	raw, err := c.getCampaigns(ctx, nil)
	if err != nil {
		return b, fmt.Errorf("yandexdirect %s: pull campaigns: %w", c.cfg.ID, err)
	}
	ids := make([]int64, 0, len(raw))
	known := map[int64]bool{}
	var manual []int64
	for _, a := range raw {
		camp, err := c.toCampaign(ctx, a, now)
		if err != nil {
			return b, err
		}
		b.Campaigns = append(b.Campaigns, camp)
		known[a.ID] = true
		// Ads of finished campaigns cannot serve: reading their moderation
		// would only spend points (15 per call + 1 per ad).
		if camp.State != adpacer.StateEnded {
			ids = append(ids, a.ID)
			if a.searchStrategy() == "HIGHEST_POSITION" {
				manual = append(manual, a.ID)
			}
		}
	}
	// The engine steers bids of manual-strategy campaigns: it needs their
	// current campaign-level bid (uniform across keywords), read hourly.
	if len(manual) > 0 {
		bids, err := c.pullBids(ctx, manual, now)
		if err != nil {
			return b, fmt.Errorf("yandexdirect %s: pull bids: %w", c.cfg.ID, err)
		}
		for i := range b.Campaigns {
			id, err := externalID(b.Campaigns[i].ID)
			if err != nil {
				continue
			}
			if bid, ok := bids[id]; ok && bid.uniform {
				v := bid.bid
				b.Campaigns[i].Bid = &v
			}
		}
	}

	yesterday := todayDay.AddDate(0, 0, -1)
	if !from.After(yesterday) {
		stats, err := c.closedDays(ctx, from, yesterday, known, now)
		if err != nil {
			return b, fmt.Errorf("yandexdirect %s: pull statistics %s..%s: %w", c.cfg.ID, from.Format("2006-01-02"), yesterday.Format("2006-01-02"), err)
		}
		b.Stats = stats
	}
	snaps, err := c.todaySpend(ctx, todayDay, known, now)
	if err != nil {
		return b, fmt.Errorf("yandexdirect %s: pull today's spend: %w", c.cfg.ID, err)
	}
	b.Snapshots = snaps

	ads, read, err := c.pullAds(ctx, ids, now)
	if err != nil {
		return b, fmt.Errorf("yandexdirect %s: pull ads: %w", c.cfg.ID, err)
	}
	if read {
		b.Ads = ads
	}
	return b, nil
}

// reportFields are the columns adpacer reads.
func (c *Client) reportParams(name, rangeType string, from, to time.Time) map[string]any {
	sel := map[string]any{}
	if rangeType == "CUSTOM_DATE" {
		sel["DateFrom"] = from.Format("2006-01-02")
		sel["DateTo"] = to.Format("2006-01-02")
	}
	p := map[string]any{
		"SelectionCriteria": sel,
		"FieldNames":        []string{"Date", "CampaignId", "Impressions", "Clicks", "Cost", "Conversions"},
		"ReportName":        name,
		"ReportType":        "CAMPAIGN_PERFORMANCE_REPORT",
		"DateRangeType":     rangeType,
		"Format":            "TSV",
		"IncludeVAT":        "YES",
		"IncludeDiscount":   "NO",
	}
	if len(c.cfg.Goals) > 0 {
		goals := make([]string, len(c.cfg.Goals))
		for i, g := range c.cfg.Goals {
			goals[i] = strconv.FormatInt(g, 10)
		}
		p["Goals"] = goals
		p["AttributionModels"] = []string{c.cfg.AttributionModel}
	}
	return p
}

// reportName is unique per parameters and per hour: a repeated request
// within the hour polls the same offline report; the next hour asks anew
// so restated numbers are picked up. Only ids and dates go in, never the
// login.
func (c *Client) reportName(kind string, from, to, now time.Time) string {
	h := sha256.Sum256([]byte(c.cfg.ID + "|" + c.cfg.ClientLogin + "|" + kind + "|" + fmt.Sprint(c.cfg.Goals) + c.cfg.AttributionModel))
	stamp := now.UTC().Format("2006010215")
	if kind == "today" {
		// TODAY is re-read every pull: a cached copy would be stale.
		stamp = now.UTC().Format("20060102150405")
	}
	return fmt.Sprintf("adpacer-%s-%s-%s-%s-%s", kind, from.Format("20060102"), to.Format("20060102"), stamp, hex.EncodeToString(h[:4]))
}

type reportRow struct {
	day         string
	campaign    int64
	impressions int64
	clicks      int64
	cost        adpacer.Micros
	conversions float64
}

// parseStats turns a report table into rows; "--" cells are zero and the
// per-goal columns Conversions_<goal>_<model> are summed.
func (c *Client) parseStats(t Table) ([]reportRow, error) {
	idx := func(col string) int { return t.Index(col) }
	iDate, iCamp, iImp, iClk, iCost := idx("Date"), idx("CampaignId"), idx("Impressions"), idx("Clicks"), idx("Cost")
	for col, i := range map[string]int{"Date": iDate, "CampaignId": iCamp, "Impressions": iImp, "Clicks": iClk, "Cost": iCost} {
		if i < 0 {
			return nil, fmt.Errorf("report has no %s column (columns: %s)", col, strings.Join(t.Columns, ","))
		}
	}
	var conv []int
	for _, g := range c.cfg.Goals {
		col := "Conversions_" + strconv.FormatInt(g, 10) + "_" + c.cfg.AttributionModel
		i := idx(col)
		if i < 0 {
			return nil, fmt.Errorf("report has no %s column for configured goal %d", col, g)
		}
		conv = append(conv, i)
	}
	rows := make([]reportRow, 0, len(t.Rows))
	for n, cells := range t.Rows {
		var r reportRow
		r.day = cells[iDate]
		if _, err := time.Parse("2006-01-02", r.day); err != nil {
			return nil, fmt.Errorf("row %d: Date %q is not YYYY-MM-DD", n+1, r.day)
		}
		id, err := strconv.ParseInt(cells[iCamp], 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("row %d: CampaignId %q is not a positive integer", n+1, cells[iCamp])
		}
		r.campaign = id
		if r.impressions, err = intCell(cells[iImp]); err != nil {
			return nil, fmt.Errorf("row %d: Impressions: %w", n+1, err)
		}
		if r.clicks, err = intCell(cells[iClk]); err != nil {
			return nil, fmt.Errorf("row %d: Clicks: %w", n+1, err)
		}
		cost, err := intCell(cells[iCost])
		if err != nil {
			return nil, fmt.Errorf("row %d: Cost (micros): %w", n+1, err)
		}
		r.cost = adpacer.Micros(cost)
		for _, i := range conv {
			v := cells[i]
			if v == "--" || v == "" {
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f != f {
				return nil, fmt.Errorf("row %d: %s %q is not a non-negative number", n+1, t.Columns[i], v)
			}
			r.conversions += f
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// intCell parses a non-negative integer cell; "--" means no value (0).
func intCell(v string) (int64, error) {
	if v == "--" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative integer (money must be in micros: do not send returnMoneyInMicros: false)", v)
	}
	return n, nil
}

func (c *Client) closedDays(ctx context.Context, from, to time.Time, known map[int64]bool, now time.Time) ([]adpacer.Stat, error) {
	name := c.reportName("stats", from, to, now)
	body, err := c.report(ctx, name, c.reportParams(name, "CUSTOM_DATE", from, to))
	if err != nil {
		return nil, err
	}
	t, err := ParseTSV(body, "Date")
	if err != nil {
		return nil, err
	}
	rows, err := c.parseStats(t)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, err)
	}
	type key struct {
		day string
		id  int64
	}
	got := map[key]reportRow{}
	for _, r := range rows {
		if r.day < from.Format("2006-01-02") || r.day > to.Format("2006-01-02") {
			return nil, fmt.Errorf("report %s: row dated %s outside %s..%s", name, r.day, from.Format("2006-01-02"), to.Format("2006-01-02"))
		}
		k := key{r.day, r.campaign}
		if _, dup := got[k]; dup {
			return nil, fmt.Errorf("report %s: two rows for campaign %d on %s", name, r.campaign, r.day)
		}
		got[k] = r
		// A campaign in the report but not in Campaigns.get (deleted since)
		// still gets its statistics.
		known[r.campaign] = known[r.campaign] || false
	}
	ids := make([]int64, 0, len(known))
	for id := range known {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var stats []adpacer.Stat
	// Every campaign gets a Stat for every day read, zero when the report
	// has no row (Reports omits rows without impressions, clicks or cost):
	// a restated day that fell to zero must overwrite the stored value.
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		day := d.Format("2006-01-02")
		for _, id := range ids {
			r := got[key{day, id}]
			stats = append(stats, adpacer.Stat{
				Campaign: adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(id, 10)),
				Start:    d, End: d.AddDate(0, 0, 1),
				Cost: r.cost, Clicks: r.clicks, Impressions: r.impressions, Conversions: r.conversions,
			})
		}
	}
	return stats, nil
}

func (c *Client) todaySpend(ctx context.Context, today time.Time, known map[int64]bool, now time.Time) ([]adpacer.SpendSnapshot, error) {
	name := c.reportName("today", today, today, now)
	body, err := c.report(ctx, name, c.reportParams(name, "TODAY", today, today))
	if err != nil {
		return nil, err
	}
	at := c.clock.Now()
	t, err := ParseTSV(body, "Date")
	if err != nil {
		return nil, err
	}
	rows, err := c.parseStats(t)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, err)
	}
	day := today.Format("2006-01-02")
	cost := map[int64]adpacer.Micros{}
	for _, r := range rows {
		if r.day != day {
			return nil, fmt.Errorf("report %s: TODAY row dated %s, expected %s (check ReportZone)", name, r.day, day)
		}
		cost[r.campaign] += r.cost
		known[r.campaign] = known[r.campaign] || false
	}
	ids := make([]int64, 0, len(known))
	for id := range known {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	snaps := make([]adpacer.SpendSnapshot, 0, len(ids))
	for _, id := range ids {
		snaps = append(snaps, adpacer.SpendSnapshot{
			Campaign: adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(id, 10)),
			Day:      day, At: at, Cost: cost[id],
		})
	}
	return snaps, nil
}

// report runs the Reports lifecycle: 200 returns the TSV; 201/202 wait
// retryIn and repeat the identical request; 400 with error 56 (queue or
// rate limit) backs off; 500 (the build failed) restarts the report from
// step 1 once and, if it repeats, stops with an alert (api-notes §1.9);
// other 5xx, a 500 saying the server was unavailable, transient codes and
// transport errors back off, at most MaxAttempts times. httpx does not retry report requests (see
// classifyTransport), so each count here is one request on the wire.
func (c *Client) report(ctx context.Context, name string, params map[string]any) ([]byte, error) {
	body, err := json.Marshal(map[string]any{"params": params})
	if err != nil {
		return nil, fmt.Errorf("encode report %s: %w", name, err)
	}
	start := c.clock.Now()
	restarts, busy, transient := 0, 0, 0
	for {
		status, hdr, b, err := c.reportOnce(ctx, body)
		if err != nil {
			if adpacer.IsTerminal(err) {
				return nil, err
			}
			// Transport failure (timeout, reset): the request is a read.
			transient++
			if transient >= c.cfg.MaxAttempts || ctx.Err() != nil {
				return nil, fmt.Errorf("report %s: %w", name, err)
			}
			if err := c.clock.Sleep(ctx, httpx.Backoff(transient-1, c.cfg.BaseDelay, c.cfg.MaxDelay, c.rnd)); err != nil {
				return nil, err
			}
			continue
		}
		switch status {
		case http.StatusOK:
			c.clearAlerts()
			return b, nil
		case http.StatusCreated, http.StatusAccepted:
			wait := 5 * time.Second
			if s, err := strconv.Atoi(strings.TrimSpace(hdr.Get("retryIn"))); err == nil && s > 0 {
				wait = min(time.Duration(s)*time.Second, 5*time.Minute)
			}
			if c.clock.Now().Add(wait).Sub(start) > c.cfg.MaxReportWait {
				return nil, fmt.Errorf("report %s still building after %s (MaxReportWait)", name, c.cfg.MaxReportWait)
			}
			if err := c.clock.Sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		_, apiErr, derr := DecodeEnvelope(b)
		if derr != nil {
			apiErr = &APIError{Code: 0, String: "unexpected response", Detail: truncate(string(b), 200)}
		}
		apiErr.Service, apiErr.Method, apiErr.HTTPStatus = "reports", "get", status
		if apiErr.RequestID == "" {
			apiErr.RequestID = firstNonEmpty(hdr.Get("RequestId"), hdr.Get("Request-ID"))
		}
		cls := classify(apiErr.Code)
		c.m.errors.WithLabelValues(cls.String()).Inc()
		switch {
		case cls == classAuth || cls == classNoAccess:
			c.raise(apiErr)
			return nil, adpacer.Terminal(apiErr)
		case status == http.StatusInternalServerError && !serverUnavailable(apiErr.Code):
			// The build failed and the server dropped it: the identical
			// request starts it again (step 1). "Retry once; if it
			// repeats, stop and alert" (api-notes §1.9): a build the
			// server keeps failing is not fixed by hammering it.
			restarts++
			if restarts > 1 {
				c.raiseReportFailed(apiErr)
				return nil, fmt.Errorf("report %s: the build failed again after one restart (HTTP 500 twice); stopped until the next pull: %w", name, apiErr)
			}
			if err := c.clock.Sleep(ctx, httpx.Backoff(0, c.cfg.BaseDelay, c.cfg.MaxDelay, c.rnd)); err != nil {
				return nil, err
			}
		case status >= 500 || cls == classTransient:
			// 502 (server-side timeout), 503/504 from the front, a 500
			// saying the server or the auth server was unavailable (52,
			// 1000, 1001), or a transient code in a 400: nothing was
			// built, so this is "try again later" (api-notes §1.4), not a
			// failed build; back off and repeat.
			transient++
			if transient >= c.cfg.MaxAttempts {
				return nil, fmt.Errorf("report %s: %w", name, apiErr)
			}
			if err := c.clock.Sleep(ctx, httpx.Backoff(transient-1, c.cfg.BaseDelay, c.cfg.MaxDelay, c.rnd)); err != nil {
				return nil, err
			}
		case cls == classRateLimited || cls == classConcurrency:
			busy++
			if busy >= c.cfg.MaxAttempts {
				return nil, apiErr
			}
			if err := c.clock.Sleep(ctx, 10*time.Second+time.Duration(c.rnd()*float64(10*time.Second))); err != nil {
				return nil, err
			}
		case cls == classPoints:
			if busy >= len(officialDelays) {
				return nil, apiErr
			}
			var waited time.Duration
			if err := c.pointsWait(ctx, busy, &waited); err != nil {
				return nil, err
			}
			busy++
			c.markStale()
		default:
			return nil, adpacer.Terminal(apiErr)
		}
		c.log.Debug("repeating report request", zap.String("report", name), zap.Int("status", status), zap.Int("code", apiErr.Code))
	}
}

// serverUnavailable: codes saying the request was not processed at all
// (auth server, server unavailable, service initialisation), as opposed to
// 1002 "operation error", a build that ran and failed.
func serverUnavailable(code int) bool {
	return code == 52 || code == 1000 || code == 1001
}

func (c *Client) reportOnce(ctx context.Context, body []byte) (int, http.Header, []byte, error) {
	if err := c.acquire(ctx); err != nil {
		return 0, nil, nil, err
	}
	defer c.release()
	c.m.calls.WithLabelValues("reports", "get").Inc()
	req, err := c.newRequest(context.WithValue(ctx, reportKey{}, true), c.url(v5, "reports"), body, true)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("processingMode", "auto")
	req.Header.Set("returnMoneyInMicros", "true")
	req.Header.Set("skipReportHeader", "true")
	req.Header.Set("skipReportSummary", "true")
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return 0, nil, nil, err
	}
	c.observeUnits("reports", "get", resp.Header.Get("Units"))
	b, err := httpx.ReadBody(resp, maxBody)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, b, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
