package googleads

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/googleads/gaql"
)

var _ connectors.AdSource = (*Client)(nil)

// manualBidStrategies are the bidding strategies under which ad group CPC
// bids are what Google bids; under automated strategies they are ignored.
var manualBidStrategies = map[string]bool{"MANUAL_CPC": true, "ENHANCED_CPC": true}

type adGroupState struct {
	resourceName string
	id           int64
	status       string
	cpc          int64
}

// campaignState is what the connector knows of a campaign: the domain
// view plus what writes need (budget resource, sharing, ad groups).
type campaignState struct {
	id           int64
	name         string
	status       string
	strategy     string
	resourceName string
	budgetName   string
	budgetMicros int64
	budgetShared bool
	budgetRefs   int64
	adGroups     []adGroupState
}

type accountState struct {
	timeZone string
	currency string
	loc      *time.Location
	byID     map[int64]*campaignState
	order    []int64
}

func campaignState2domain(cid string, a *accountState, cs *campaignState, at time.Time) adpacer.Campaign {
	c := adpacer.Campaign{
		ID:        adpacer.NewCampaignID(adpacer.GoogleAds, strconv.FormatInt(cs.id, 10)),
		AccountID: cid,
		Name:      cs.name,
		TimeZone:  a.timeZone,
		Currency:  a.currency,
		State:     campaignStateOf(cs.status),
		Strategy:  cs.strategy,
		UpdatedAt: at,
	}
	if cs.budgetName != "" {
		b := adpacer.Micros(cs.budgetMicros)
		c.DailyBudget = &b
	}
	if bid, ok := cs.bid(); ok {
		c.Bid = &bid
	}
	return c
}

func campaignStateOf(status string) adpacer.CampaignState {
	switch status {
	case "ENABLED":
		return adpacer.StateOn
	case "REMOVED":
		return adpacer.StateEnded
	}
	// PAUSED, and any status this version does not know: not serving as
	// far as adpacer can tell.
	return adpacer.StatePaused
}

// bid is the campaign-level max CPC adpacer reports: the highest CPC of
// the enabled ad groups (paused ones when none is enabled), only under a
// manual bidding strategy.
func (cs *campaignState) bid() (adpacer.Micros, bool) {
	if !manualBidStrategies[cs.strategy] {
		return 0, false
	}
	var best int64
	found := false
	for _, pass := range []string{"ENABLED", "PAUSED"} {
		for _, g := range cs.adGroups {
			if g.status == pass && (!found || g.cpc > best) {
				best, found = g.cpc, true
			}
		}
		if found {
			break
		}
	}
	return adpacer.Micros(best), found
}

func parseCampaignIDs(ids []adpacer.CampaignID) ([]int64, error) {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		p, ext, err := id.Split()
		if err != nil {
			return nil, err
		}
		if p != adpacer.GoogleAds {
			return nil, fmt.Errorf("campaign %s belongs to %s, not google_ads", id, p)
		}
		n, err := strconv.ParseInt(ext, 10, 64)
		if err != nil || n <= 0 || !idRe.MatchString(ext) {
			return nil, fmt.Errorf("campaign %s: the Google Ads id must be a positive integer", id)
		}
		out = append(out, n)
	}
	return out, nil
}

func idValues(ids []int64) []gaql.Value {
	vs := make([]gaql.Value, len(ids))
	for i, id := range ids {
		vs[i] = gaql.Int(id)
	}
	return vs
}

// readAccount reads campaigns with budgets and the account zone/currency,
// then their ad groups: two search operations whatever the number of
// campaigns. ids nil means all campaigns.
func (c *Client) readAccount(ctx context.Context, ids []int64) (*accountState, error) {
	q := gaql.Select("customer.time_zone", "customer.currency_code",
		"campaign.id", "campaign.name", "campaign.status", "campaign.bidding_strategy_type",
		"campaign.campaign_budget", "campaign_budget.amount_micros",
		"campaign_budget.explicitly_shared", "campaign_budget.reference_count").
		From("campaign")
	if ids != nil {
		q.Where(gaql.In("campaign.id", idValues(ids)...))
	}
	query, err := q.Build()
	if err != nil {
		return nil, err
	}
	a := &accountState{byID: map[int64]*campaignState{}}
	err = c.SearchStream(ctx, query, func(raw json.RawMessage) error {
		var r row
		if err := decodeRow(raw, &r); err != nil {
			return err
		}
		id := int64(r.Campaign.ID)
		if id <= 0 {
			return fmt.Errorf("%w: campaign row without campaign.id: %.200s", errBadRow, string(raw))
		}
		if a.timeZone == "" {
			a.timeZone, a.currency = r.Customer.TimeZone, r.Customer.CurrencyCode
		}
		if _, dup := a.byID[id]; !dup {
			a.order = append(a.order, id)
		}
		a.byID[id] = &campaignState{
			id: id, name: r.Campaign.Name, status: r.Campaign.Status,
			strategy: r.Campaign.BiddingStrategyType, resourceName: r.Campaign.ResourceName,
			budgetName: r.Campaign.CampaignBudget, budgetMicros: int64(r.CampaignBudget.AmountMicros),
			budgetShared: r.CampaignBudget.ExplicitlyShared, budgetRefs: int64(r.CampaignBudget.ReferenceCount),
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("google ads %s: read campaigns: %w", c.cid, err)
	}
	if len(a.byID) == 0 {
		return a, nil
	}
	if a.timeZone == "" {
		return nil, fmt.Errorf("google ads %s: campaign rows carry no customer.time_zone; cannot place statistics in time", c.cid)
	}
	if a.loc, err = time.LoadLocation(a.timeZone); err != nil {
		return nil, fmt.Errorf("google ads %s: account time zone %q: %w", c.cid, a.timeZone, err)
	}
	gq := gaql.Select("campaign.id", "ad_group.id", "ad_group.status", "ad_group.cpc_bid_micros").
		From("ad_group").Where(gaql.Neq("ad_group.status", gaql.Enum("REMOVED")))
	if ids != nil {
		gq.Where(gaql.In("campaign.id", idValues(ids)...))
	}
	if query, err = gq.Build(); err != nil {
		return nil, err
	}
	err = c.SearchStream(ctx, query, func(raw json.RawMessage) error {
		var r row
		if err := decodeRow(raw, &r); err != nil {
			return err
		}
		cs := a.byID[int64(r.Campaign.ID)]
		if cs == nil {
			return nil // ad group of a campaign created since the first query
		}
		cs.adGroups = append(cs.adGroups, adGroupState{
			resourceName: r.AdGroup.ResourceName, id: int64(r.AdGroup.ID),
			status: r.AdGroup.Status, cpc: int64(r.AdGroup.CpcBidMicros),
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("google ads %s: read ad groups: %w", c.cid, err)
	}
	return a, nil
}

// Pull implements connectors.AdSource with four search operations whatever
// the number of campaigns or rows: campaigns, ad groups, hourly statistics
// from req.StatsFrom to today (account zone), and ad policy status. The
// batch is returned only when every query succeeded, so a mid-stream error
// never yields a partial restatement.
//
// Stats are hourly in the account's zone converted to UTC instants: the
// repeated hour of a fall-back day spans two hours, the missing hour of a
// spring-forward day does not exist. Every started hour of the window is
// reported for each non-removed campaign, zero when Google omits the row,
// so a restatement down to zero overwrites what the store had.
func (c *Client) Pull(ctx context.Context, req connectors.AdPullRequest) (adpacer.AdBatch, error) {
	now := req.Now
	if now.IsZero() {
		now = c.now()
	}
	from, err := time.Parse(time.DateOnly, req.StatsFrom)
	if err != nil {
		return adpacer.AdBatch{}, fmt.Errorf("google ads %s: AdPullRequest.StatsFrom %q: want YYYY-MM-DD in the account zone", c.cid, req.StatsFrom)
	}
	a, err := c.readAccount(ctx, nil)
	if err != nil {
		return adpacer.AdBatch{}, err
	}
	var batch adpacer.AdBatch
	if len(a.byID) == 0 {
		return batch, nil
	}
	for _, id := range a.order {
		batch.Campaigns = append(batch.Campaigns, campaignState2domain(c.cid, a, a.byID[id], now))
	}
	lt := now.In(a.loc)
	today := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
	if from.After(today) {
		return adpacer.AdBatch{}, fmt.Errorf("google ads %s: AdPullRequest.StatsFrom %s is after today (%s in %s)", c.cid, req.StatsFrom, today.Format(time.DateOnly), a.timeZone)
	}
	if batch.Stats, err = c.pullStats(ctx, a, from, today, now); err != nil {
		return adpacer.AdBatch{}, err
	}
	if batch.Ads, err = c.pullAds(ctx, a, now); err != nil {
		return adpacer.AdBatch{}, err
	}
	return batch, nil
}

// span is one account-local hour of the statistics window.
type span struct {
	start, end time.Time
	started    bool // began before now: reported, zero if Google omits it
}

func (c *Client) pullStats(ctx context.Context, a *accountState, from, today, now time.Time) ([]adpacer.Stat, error) {
	query, err := gaql.Select("campaign.id", "segments.date", "segments.hour",
		"metrics.cost_micros", "metrics.clicks", "metrics.impressions", "metrics.conversions").
		From("campaign").
		Where(gaql.DateBetween("segments.date", from.Format(time.DateOnly), today.Format(time.DateOnly))).
		Build()
	if err != nil {
		return nil, err
	}
	// The hours of the window are the same for every campaign: compute
	// them once. slot[day*24+h] is the span index of that local hour, -1
	// for the hour a spring-forward day skips.
	days := int(today.Sub(from).Hours()/24) + 1
	var spans []span
	slot := make([]int, days*24)
	for di := 0; di < days; di++ {
		d := from.AddDate(0, 0, di)
		for h := 0; h < 24; h++ {
			start, end, ok := hourSpan(a.loc, d, h)
			if !ok {
				slot[di*24+h] = -1
				continue
			}
			slot[di*24+h] = len(spans)
			spans = append(spans, span{start: start, end: end, started: start.Before(now)})
		}
	}
	type metrics struct {
		cost, clicks, impressions int64
		conversions               float64
		seen                      bool
	}
	type series struct{ m []metrics }
	byCampaign := map[int64]*series{}
	var extra []int64 // campaigns seen only in statistics
	get := func(id int64) *series {
		s := byCampaign[id]
		if s == nil {
			s = &series{m: make([]metrics, len(spans))}
			byCampaign[id] = s
			if a.byID[id] == nil {
				extra = append(extra, id)
			}
		}
		return s
	}
	err = c.SearchStream(ctx, query, func(raw json.RawMessage) error {
		var r row
		if err := decodeRow(raw, &r); err != nil {
			return err
		}
		id := int64(r.Campaign.ID)
		day, err := time.Parse(time.DateOnly, r.Segments.Date)
		di := int(day.Sub(from).Hours() / 24)
		if err != nil || di < 0 || di >= days || r.Segments.Hour < 0 || r.Segments.Hour > 23 || id <= 0 {
			return fmt.Errorf("%w: stats row outside the requested window: campaign %d, date %q, hour %d", errBadRow, id, r.Segments.Date, r.Segments.Hour)
		}
		m := r.Metrics
		if m.CostMicros < 0 || m.Clicks < 0 || m.Impressions < 0 || m.Conversions < 0 {
			return fmt.Errorf("%w: negative metrics for campaign %d at %s %02d:00", errBadRow, id, r.Segments.Date, r.Segments.Hour)
		}
		i := slot[di*24+r.Segments.Hour]
		if i < 0 {
			// An hour that does not exist on a spring-forward day: keep the
			// money by folding it into the next hour rather than dropping it.
			c.log.Warn("google ads reported a non-existent local hour; folding it into the next hour",
				zap.String("customer", c.cid), zap.Int64("campaign", id),
				zap.String("date", r.Segments.Date), zap.Int("hour", r.Segments.Hour))
			if k := di*24 + r.Segments.Hour + 1; k < len(slot) && slot[k] >= 0 {
				i = slot[k]
			} else {
				return fmt.Errorf("%w: hour %d of %s does not exist in %s", errBadRow, r.Segments.Hour, r.Segments.Date, a.timeZone)
			}
		}
		x := &get(id).m[i]
		x.seen = true
		x.cost += int64(m.CostMicros)
		x.clicks += int64(m.Clicks)
		x.impressions += int64(m.Impressions)
		x.conversions += m.Conversions
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("google ads %s: read hourly statistics: %w", c.cid, err)
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	ids := append(append([]int64(nil), a.order...), extra...)
	// Every started hour of a live campaign is reported, zero when Google
	// omits the row, so a restatement to zero overwrites the store.
	keep := func(id int64, s *series, i int) bool {
		cs := a.byID[id]
		live := cs != nil && cs.status != "REMOVED"
		return (s != nil && s.m[i].seen) || (live && spans[i].started)
	}
	n := 0
	for _, id := range ids {
		s := byCampaign[id]
		for i := range spans {
			if keep(id, s, i) {
				n++
			}
		}
	}
	out := make([]adpacer.Stat, 0, n)
	for _, id := range ids {
		s := byCampaign[id]
		campaign := adpacer.NewCampaignID(adpacer.GoogleAds, strconv.FormatInt(id, 10))
		for i, sp := range spans {
			if !keep(id, s, i) {
				continue
			}
			st := adpacer.Stat{Campaign: campaign, Start: sp.start, End: sp.end}
			if s != nil {
				x := s.m[i]
				st.Cost, st.Clicks, st.Impressions, st.Conversions = adpacer.Micros(x.cost), x.clicks, x.impressions, x.conversions
			}
			if err := st.Validate(); err != nil {
				return nil, fmt.Errorf("google ads %s: %w", c.cid, err)
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// moderation maps a policy summary to adpacer's status. The most severe
// approval wins (Google already reduces several entries to one); values
// this version does not know are pending, never accepted.
func moderation(approval, review string) adpacer.ModerationStatus {
	switch approval {
	case "DISAPPROVED":
		return adpacer.ModerationRejected
	case "APPROVED", "APPROVED_LIMITED", "AREA_OF_INTEREST_ONLY":
		if review == "REVIEW_IN_PROGRESS" {
			return adpacer.ModerationPending
		}
		return adpacer.ModerationAccepted
	}
	return adpacer.ModerationPending
}

func (c *Client) pullAds(ctx context.Context, a *accountState, now time.Time) ([]adpacer.AdStatus, error) {
	query, err := gaql.Select("campaign.id", "ad_group.id", "ad_group_ad.ad.id", "ad_group_ad.status",
		"ad_group_ad.policy_summary.approval_status", "ad_group_ad.policy_summary.review_status",
		"ad_group_ad.policy_summary.policy_topic_entries").
		From("ad_group_ad").Where(gaql.Neq("ad_group_ad.status", gaql.Enum("REMOVED"))).Build()
	if err != nil {
		return nil, err
	}
	var out []adpacer.AdStatus
	err = c.SearchStream(ctx, query, func(raw json.RawMessage) error {
		var r row
		if err := decodeRow(raw, &r); err != nil {
			return err
		}
		if r.Campaign.ID <= 0 || r.AdGroupAd.Ad.ID <= 0 {
			return fmt.Errorf("%w: ad row without campaign.id or ad id: %.200s", errBadRow, string(raw))
		}
		ps := r.AdGroupAd.PolicySummary
		var topics []string
		for _, t := range ps.PolicyTopicEntries {
			s := t.Topic
			if t.Type != "" {
				s += " (" + t.Type + ")"
			}
			topics = append(topics, s)
		}
		reason := strings.Join(topics, "; ")
		st := moderation(ps.ApprovalStatus, ps.ReviewStatus)
		if st == adpacer.ModerationPending && ps.ApprovalStatus != "" && ps.ApprovalStatus != "UNKNOWN" &&
			moderation(ps.ApprovalStatus, "REVIEWED") == adpacer.ModerationPending {
			reason = strings.TrimPrefix(reason+"; unrecognised approval status "+ps.ApprovalStatus, "; ")
		}
		if ps.ReviewStatus == "UNDER_APPEAL" {
			reason = strings.TrimPrefix(reason+"; under appeal", "; ")
		}
		out = append(out, adpacer.AdStatus{
			Campaign: adpacer.NewCampaignID(adpacer.GoogleAds, strconv.FormatInt(int64(r.Campaign.ID), 10)),
			AdID:     strconv.FormatInt(int64(r.AdGroup.ID), 10) + "~" + strconv.FormatInt(int64(r.AdGroupAd.Ad.ID), 10),
			Status:   st,
			Reason:   reason,
			At:       now,
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("google ads %s: read ad policy status: %w", c.cid, err)
	}
	return out, nil
}
