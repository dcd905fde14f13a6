package googleadstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type rowCtx struct {
	a        *account
	budget   *Budget
	campaign *Campaign
	adGroup  *AdGroup
	ad       *Ad
	date     string
	hour     int
	m        Metrics
	refs     map[int64]int // budget id -> referencing campaigns
}

// Field kinds, after proto3 JSON: int64 renders as a string, int32 and
// double as numbers.
const (
	kInt64  = 'I'
	kInt32  = 'i'
	kDouble = 'd'
	kString = 's'
	kEnum   = 'e'
	kBool   = 'b'
	kTopics = 't'
)

type fieldDef struct {
	kind byte
	res  string // owning resource: customer, campaign, campaign_budget, ad_group, ad_group_ad, segments, metrics
	get  func(*rowCtx) any
}

func rn(a *account, coll string, id string) string {
	return "customers/" + a.ID + "/" + coll + "/" + id
}
func itoa(i int64) string { return strconv.FormatInt(i, 10) }

var catalog = map[string]fieldDef{
	"customer.resource_name":    {kString, "customer", func(r *rowCtx) any { return "customers/" + r.a.ID }},
	"customer.id":               {kInt64, "customer", func(r *rowCtx) any { n, _ := strconv.ParseInt(r.a.ID, 10, 64); return n }},
	"customer.descriptive_name": {kString, "customer", func(r *rowCtx) any { return r.a.Name }},
	"customer.currency_code":    {kString, "customer", func(r *rowCtx) any { return r.a.Currency }},
	"customer.time_zone":        {kString, "customer", func(r *rowCtx) any { return r.a.TimeZone }},
	"customer.manager":          {kBool, "customer", func(r *rowCtx) any { return false }},

	"campaign.resource_name":            {kString, "campaign", func(r *rowCtx) any { return rn(r.a, "campaigns", itoa(r.campaign.ID)) }},
	"campaign.id":                       {kInt64, "campaign", func(r *rowCtx) any { return r.campaign.ID }},
	"campaign.name":                     {kString, "campaign", func(r *rowCtx) any { return r.campaign.Name }},
	"campaign.status":                   {kEnum, "campaign", func(r *rowCtx) any { return r.campaign.Status }},
	"campaign.campaign_budget":          {kString, "campaign", func(r *rowCtx) any { return rn(r.a, "campaignBudgets", itoa(r.campaign.BudgetID)) }},
	"campaign.bidding_strategy_type":    {kEnum, "campaign", func(r *rowCtx) any { return r.campaign.BiddingStrategyType }},
	"campaign.advertising_channel_type": {kEnum, "campaign", func(r *rowCtx) any { return r.campaign.ChannelType }},

	"campaign_budget.resource_name":     {kString, "campaign_budget", func(r *rowCtx) any { return rn(r.a, "campaignBudgets", itoa(r.budget.ID)) }},
	"campaign_budget.id":                {kInt64, "campaign_budget", func(r *rowCtx) any { return r.budget.ID }},
	"campaign_budget.name":              {kString, "campaign_budget", func(r *rowCtx) any { return r.budget.Name }},
	"campaign_budget.amount_micros":     {kInt64, "campaign_budget", func(r *rowCtx) any { return r.budget.AmountMicros }},
	"campaign_budget.explicitly_shared": {kBool, "campaign_budget", func(r *rowCtx) any { return r.budget.ExplicitlyShared }},
	"campaign_budget.status":            {kEnum, "campaign_budget", func(r *rowCtx) any { return r.budget.Status }},
	"campaign_budget.reference_count":   {kInt64, "campaign_budget", func(r *rowCtx) any { return int64(r.refs[r.budget.ID]) }},

	"ad_group.resource_name":  {kString, "ad_group", func(r *rowCtx) any { return rn(r.a, "adGroups", itoa(r.adGroup.ID)) }},
	"ad_group.id":             {kInt64, "ad_group", func(r *rowCtx) any { return r.adGroup.ID }},
	"ad_group.name":           {kString, "ad_group", func(r *rowCtx) any { return r.adGroup.Name }},
	"ad_group.status":         {kEnum, "ad_group", func(r *rowCtx) any { return r.adGroup.Status }},
	"ad_group.cpc_bid_micros": {kInt64, "ad_group", func(r *rowCtx) any { return r.adGroup.CPCBidMicros }},
	"ad_group.campaign":       {kString, "ad_group", func(r *rowCtx) any { return rn(r.a, "campaigns", itoa(r.adGroup.CampaignID)) }},

	"ad_group_ad.resource_name": {kString, "ad_group_ad", func(r *rowCtx) any {
		return rn(r.a, "adGroupAds", itoa(r.ad.AdGroupID)+"~"+itoa(r.ad.ID))
	}},
	"ad_group_ad.status":                              {kEnum, "ad_group_ad", func(r *rowCtx) any { return r.ad.Status }},
	"ad_group_ad.ad_group":                            {kString, "ad_group_ad", func(r *rowCtx) any { return rn(r.a, "adGroups", itoa(r.ad.AdGroupID)) }},
	"ad_group_ad.ad.id":                               {kInt64, "ad_group_ad", func(r *rowCtx) any { return r.ad.ID }},
	"ad_group_ad.ad.resource_name":                    {kString, "ad_group_ad", func(r *rowCtx) any { return rn(r.a, "ads", itoa(r.ad.ID)) }},
	"ad_group_ad.policy_summary.approval_status":      {kEnum, "ad_group_ad", func(r *rowCtx) any { return r.ad.Approval }},
	"ad_group_ad.policy_summary.review_status":        {kEnum, "ad_group_ad", func(r *rowCtx) any { return r.ad.Review }},
	"ad_group_ad.policy_summary.policy_topic_entries": {kTopics, "ad_group_ad", func(r *rowCtx) any { return r.ad.Topics }},

	"segments.date": {kString, "segments", func(r *rowCtx) any { return r.date }},
	"segments.hour": {kInt32, "segments", func(r *rowCtx) any { return int64(r.hour) }},

	"metrics.cost_micros": {kInt64, "metrics", func(r *rowCtx) any { return r.m.CostMicros }},
	"metrics.clicks":      {kInt64, "metrics", func(r *rowCtx) any { return r.m.Clicks }},
	"metrics.impressions": {kInt64, "metrics", func(r *rowCtx) any { return r.m.Impressions }},
	"metrics.conversions": {kDouble, "metrics", func(r *rowCtx) any { return r.m.Conversions }},
}

// compatible lists the resources whose fields may be selected FROM a
// resource in this fake.
var compatible = map[string]map[string]bool{
	"customer":        {"customer": true},
	"campaign_budget": {"campaign_budget": true, "customer": true},
	"campaign":        {"campaign": true, "campaign_budget": true, "customer": true, "segments": true, "metrics": true},
	"ad_group":        {"ad_group": true, "campaign": true, "campaign_budget": true, "customer": true},
	"ad_group_ad":     {"ad_group_ad": true, "ad_group": true, "campaign": true, "customer": true},
}

var resourceNameField = map[string]string{
	"customer": "customer.resource_name", "campaign": "campaign.resource_name",
	"campaign_budget": "campaign_budget.resource_name", "ad_group": "ad_group.resource_name",
	"ad_group_ad": "ad_group_ad.resource_name",
}

func camel(path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		segs := strings.Split(p, "_")
		for j := 1; j < len(segs); j++ {
			if segs[j] != "" {
				segs[j] = strings.ToUpper(segs[j][:1]) + segs[j][1:]
			}
		}
		parts[i] = strings.Join(segs, "")
	}
	return strings.Join(parts, ".")
}

// plan is a validated query.
type plan struct {
	pq        *parsedQuery
	selected  map[string]bool
	render    *node
	fieldMask string
	segmented bool // a segment is selected: zero-metric rows are dropped
	metrics   bool
	dateLo    time.Time
	dateHi    time.Time
	hasDates  bool
	dateSet   map[string]bool // IN / = lists, nil when a range
}

type node struct {
	name     string
	def      *fieldDef
	children []*node
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	c := &node{name: name}
	n.children = append(n.children, c)
	return c
}

// compile validates a parsed query against the catalog and the date rules.
func compile(pq *parsedQuery, today time.Time) (*plan, *AdsError) {
	compat, ok := compatible[pq.from]
	if !ok {
		return nil, qerr("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", fmt.Sprintf("Error in query: invalid resource type %q in FROM clause.", pq.from))
	}
	p := &plan{pq: pq, selected: map[string]bool{}, render: &node{}}
	var mask []string
	resources := map[string]bool{}
	for _, f := range pq.fields {
		def, ok := catalog[f]
		if !ok {
			return nil, qerr("BAD_FIELD_NAME", fmt.Sprintf("Error in query: unrecognized field in the query: '%s'.", f))
		}
		if !compat[def.res] {
			return nil, qerr("PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE", fmt.Sprintf("Error in query: the field '%s' cannot be selected FROM %s.", f, pq.from))
		}
		if p.selected[f] {
			return nil, qerr("DUPLICATE_FIELD_IN_SELECT_CLAUSE", fmt.Sprintf("Error in query: the field '%s' is selected twice.", f))
		}
		p.selected[f] = true
		mask = append(mask, camel(f))
		switch def.res {
		case "segments":
			p.segmented = true
		case "metrics":
			p.metrics = true
		default:
			resources[def.res] = true
		}
	}
	p.fieldMask = strings.Join(mask, ",")
	// The API adds the resource name of every resource a row touches.
	fields := append([]string(nil), pq.fields...)
	var extra []string
	for res := range resources {
		if f := resourceNameField[res]; !p.selected[f] {
			extra = append(extra, f)
		}
	}
	sort.Strings(extra)
	fields = append(extra, fields...)
	for _, f := range fields {
		def := catalog[f]
		n := p.render
		for _, part := range strings.Split(camel(f), ".") {
			n = n.child(part)
		}
		d := def
		n.def = &d
	}
	for _, o := range pq.order {
		if !p.selected[o.field] {
			return nil, qerr("EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE", fmt.Sprintf("Error in query: ORDER BY field '%s' must be in the SELECT clause.", o.field))
		}
	}
	// WHERE: fields must exist and fit the resource; collect the date range.
	var lo, hi *time.Time
	dateCond := false
	for _, c := range pq.conds {
		def, ok := catalog[c.field]
		if !ok {
			return nil, qerr("BAD_FIELD_NAME", fmt.Sprintf("Error in query: unrecognized field in the query: '%s'.", c.field))
		}
		if !compat[def.res] {
			return nil, qerr("PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE", fmt.Sprintf("Error in query: the field '%s' cannot be filtered FROM %s.", c.field, pq.from))
		}
		if def.res == "segments" && c.field != "segments.date" && !p.selected[c.field] {
			return nil, qerr("EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE", fmt.Sprintf("Error in query: segment '%s' in WHERE must be in the SELECT clause.", c.field))
		}
		if c.field != "segments.date" {
			continue
		}
		dateCond = true
		dates := make([]time.Time, len(c.vals))
		for i, v := range c.vals {
			d, ok := parseDate(v.text)
			if v.kind != 's' || !ok {
				return nil, qerr("BAD_VALUE", fmt.Sprintf("Error in query: invalid date %q for segments.date; expected 'YYYY-MM-DD'.", v.text))
			}
			dates[i] = d
		}
		setLo := func(t time.Time) {
			if lo == nil || t.After(*lo) {
				lo = &t
			}
		}
		setHi := func(t time.Time) {
			if hi == nil || t.Before(*hi) {
				hi = &t
			}
		}
		switch c.op {
		case "DURING":
			if !predefinedRanges[c.during] {
				return nil, qerr("INVALID_VALUE_WITH_DURING_OPERATOR", fmt.Sprintf("Error in query: invalid value %s with DURING operator.", c.during))
			}
			a, b := duringRange(c.during, today)
			setLo(a)
			setHi(b)
		case "BETWEEN":
			setLo(dates[0])
			setHi(dates[1])
		case "=", "IN":
			min, max := dates[0], dates[0]
			set := map[string]bool{}
			for _, d := range dates {
				if d.Before(min) {
					min = d
				}
				if d.After(max) {
					max = d
				}
				set[d.Format(time.DateOnly)] = true
			}
			setLo(min)
			setHi(max)
			p.dateSet = set
		case ">=":
			setLo(dates[0])
		case ">":
			setLo(dates[0].AddDate(0, 0, 1))
		case "<=":
			setHi(dates[0])
		case "<":
			setHi(dates[0].AddDate(0, 0, -1))
		default:
			return nil, qerr("BAD_OPERATOR", fmt.Sprintf("Error in query: operator %s is not valid for segments.date.", c.op))
		}
	}
	dateSegment := false
	for _, f := range []string{"segments.date", "segments.week", "segments.month", "segments.quarter", "segments.year"} {
		if p.selected[f] {
			dateSegment = true
		}
	}
	if (dateSegment || dateCond) && (lo == nil || hi == nil) {
		return nil, qerr("EXPECTED_FILTERS_ON_DATE_RANGE", "Error in query: date segments require a finite date range filter on segments.date (both a start and an end date).")
	}
	if lo != nil && hi != nil {
		if lo.After(*hi) {
			return nil, qerr("DATE_RANGE_TOO_NARROW", "Error in query: the start date of the date range is after its end date.")
		}
		if p.selected["segments.hour"] && lo.Before(today.AddDate(0, -37, 0)) {
			e := reqErr("dateRangeError", "REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED", "Metrics with hourly segmentation are only available for the last 37 months.")
			return nil, &e
		}
		p.dateLo, p.dateHi, p.hasDates = *lo, *hi, true
	}
	if (p.metrics || p.segmented) && !p.hasDates {
		return nil, qerr("QUERY_ERROR", "googleadstest: metrics and segments need a segments.date range in this fake (the real API would aggregate over all time).")
	}
	return p, nil
}

// compare orders a field value against a literal; ok is false on a type
// mismatch.
func compare(v any, lit pval) (int, bool) {
	switch x := v.(type) {
	case int64:
		f, err := strconv.ParseFloat(lit.text, 64)
		if lit.kind != 'n' || err != nil {
			return 0, false
		}
		return cmpFloat(float64(x), f), true
	case float64:
		f, err := strconv.ParseFloat(lit.text, 64)
		if lit.kind != 'n' || err != nil {
			return 0, false
		}
		return cmpFloat(x, f), true
	case bool:
		b, err := strconv.ParseBool(strings.ToLower(lit.text))
		if err != nil {
			return 0, false
		}
		if x == b {
			return 0, true
		}
		return 1, true
	case string:
		t := lit.text
		if d, ok := parseDate(t); ok && lit.kind == 's' && len(x) == 10 {
			t = d.Format(time.DateOnly)
		}
		return strings.Compare(x, t), true
	}
	return 0, false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func likeMatch(s, pattern string) bool {
	// % matches any run, _ one character; enough for name filters.
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(s[i:], pattern[1:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(s[1:], pattern[1:])
	}
	return s != "" && s[0] == pattern[0] && likeMatch(s[1:], pattern[1:])
}

func (p *plan) match(r *rowCtx, skip func(field string) bool) (bool, *AdsError) {
	for _, c := range p.pq.conds {
		if skip != nil && skip(c.field) {
			continue
		}
		if c.op == "DURING" {
			continue // resolved into the date range
		}
		v := catalog[c.field].get(r)
		if tops, ok := v.([]PolicyTopic); ok {
			_ = tops
			return false, qerr("BAD_OPERATOR", "Error in query: policy_topic_entries cannot be filtered in this fake.")
		}
		var hit bool
		switch c.op {
		case "IS NULL", "IS NOT NULL":
			empty := v == "" || v == int64(0)
			hit = empty == (c.op == "IS NULL")
		case "IN", "NOT IN":
			for _, lit := range c.vals {
				d, ok := compare(v, lit)
				if !ok {
					return false, qerr("BAD_VALUE", fmt.Sprintf("Error in query: value %q does not fit field %s.", lit.text, c.field))
				}
				if d == 0 {
					hit = true
				}
			}
			if c.op == "NOT IN" {
				hit = !hit
			}
		case "LIKE", "NOT LIKE":
			s, ok := v.(string)
			if !ok || c.vals[0].kind != 's' {
				return false, qerr("BAD_VALUE", "Error in query: LIKE applies to string fields with a string pattern.")
			}
			hit = likeMatch(s, c.vals[0].text) == (c.op == "LIKE")
		case "BETWEEN":
			a, ok1 := compare(v, c.vals[0])
			b, ok2 := compare(v, c.vals[1])
			if !ok1 || !ok2 {
				return false, qerr("BAD_VALUE", fmt.Sprintf("Error in query: BETWEEN values do not fit field %s.", c.field))
			}
			hit = a >= 0 && b <= 0
		default:
			d, ok := compare(v, c.vals[0])
			if !ok {
				return false, qerr("BAD_VALUE", fmt.Sprintf("Error in query: value %q does not fit field %s.", c.vals[0].text, c.field))
			}
			switch c.op {
			case "=":
				hit = d == 0
			case "!=":
				hit = d != 0
			case ">":
				hit = d > 0
			case ">=":
				hit = d >= 0
			case "<":
				hit = d < 0
			case "<=":
				hit = d <= 0
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

// renderRow writes one row as proto3 JSON: camelCase keys, int64 as
// strings, default values and empty messages omitted.
func renderRow(buf *bytes.Buffer, n *node, r *rowCtx) bool {
	start := buf.Len()
	buf.WriteByte('{')
	wrote := false
	for _, c := range n.children {
		mark := buf.Len()
		if wrote {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.WriteString(c.name)
		buf.WriteString(`":`)
		var ok bool
		if c.def != nil {
			ok = writeValue(buf, c.def.kind, c.def.get(r))
		} else {
			ok = renderRow(buf, c, r)
		}
		if ok {
			wrote = true
		} else {
			buf.Truncate(mark)
		}
	}
	if !wrote {
		buf.Truncate(start)
		return false
	}
	buf.WriteByte('}')
	return true
}

func writeValue(buf *bytes.Buffer, kind byte, v any) bool {
	switch kind {
	case kInt64:
		i := v.(int64)
		if i == 0 {
			return false
		}
		buf.WriteByte('"')
		buf.WriteString(strconv.FormatInt(i, 10))
		buf.WriteByte('"')
	case kInt32:
		i := v.(int64)
		if i == 0 {
			return false
		}
		buf.WriteString(strconv.FormatInt(i, 10))
	case kDouble:
		f := v.(float64)
		if f == 0 {
			return false
		}
		buf.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
	case kBool:
		if !v.(bool) {
			return false
		}
		buf.WriteString("true")
	case kString, kEnum:
		s := v.(string)
		if s == "" || s == "UNSPECIFIED" {
			return false
		}
		b, _ := json.Marshal(s)
		buf.Write(b)
	case kTopics:
		ts := v.([]PolicyTopic)
		if len(ts) == 0 {
			return false
		}
		list := make([]map[string]string, len(ts))
		for i, t := range ts {
			list[i] = map[string]string{"topic": t.Topic, "type": t.Type}
		}
		b, _ := json.Marshal(list)
		buf.Write(b)
	default:
		return false
	}
	return true
}

// execute runs a plan against an account and returns rendered rows.
func (s *Server) execute(a *account, p *plan, now time.Time) ([]json.RawMessage, *AdsError) {
	a.settleReviews(now)
	refs := map[int64]int{}
	for _, c := range a.campaigns {
		if c.Status != "REMOVED" {
			refs[c.BudgetID]++
		}
	}
	var ctxs []*rowCtx
	base := func() *rowCtx { return &rowCtx{a: a, refs: refs} }
	switch p.pq.from {
	case "customer":
		ctxs = append(ctxs, base())
	case "campaign_budget":
		for _, id := range sortedKeys(a.budgets) {
			r := base()
			r.budget = a.budgets[id]
			ctxs = append(ctxs, r)
		}
	case "campaign":
		for _, id := range sortedKeys(a.campaigns) {
			r := base()
			r.campaign = a.campaigns[id]
			r.budget = a.budgets[r.campaign.BudgetID]
			ctxs = append(ctxs, r)
		}
	case "ad_group":
		for _, id := range sortedKeys(a.adGroups) {
			r := base()
			r.adGroup = a.adGroups[id]
			r.campaign = a.campaigns[r.adGroup.CampaignID]
			r.budget = a.budgets[r.campaign.BudgetID]
			ctxs = append(ctxs, r)
		}
	case "ad_group_ad":
		for _, id := range sortedKeys(a.ads) {
			r := base()
			r.ad = a.ads[id]
			r.adGroup = a.adGroups[r.ad.AdGroupID]
			r.campaign = a.campaigns[r.adGroup.CampaignID]
			ctxs = append(ctxs, r)
		}
	}
	isSeg := func(f string) bool { return strings.HasPrefix(f, "segments.") || strings.HasPrefix(f, "metrics.") }
	var rows []*rowCtx
	for _, r := range ctxs {
		ok, err := p.match(r, isSeg)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if !p.metrics && !p.segmented {
			rows = append(rows, r)
			continue
		}
		expanded, err := s.expand(a, p, r, now)
		if err != nil {
			return nil, err
		}
		rows = append(rows, expanded...)
	}
	if len(p.pq.order) > 0 {
		sort.SliceStable(rows, func(i, j int) bool {
			for _, o := range p.pq.order {
				get := catalog[o.field].get
				var d int
				switch x := get(rows[i]).(type) {
				case int64:
					d = cmpFloat(float64(x), float64(get(rows[j]).(int64)))
				case float64:
					d = cmpFloat(x, get(rows[j]).(float64))
				case string:
					d = strings.Compare(x, get(rows[j]).(string))
				}
				if d != 0 {
					return (d < 0) != o.desc
				}
			}
			return false
		})
	}
	if p.pq.limit > 0 && len(rows) > p.pq.limit {
		rows = rows[:p.pq.limit]
	}
	out := make([]json.RawMessage, 0, len(rows))
	var buf bytes.Buffer
	for _, r := range rows {
		buf.Reset()
		if !renderRow(&buf, p.render, r) {
			buf.WriteString("{}")
		}
		out = append(out, json.RawMessage(bytes.Clone(buf.Bytes())))
	}
	return out, nil
}

// expand turns one campaign into metric rows over the date range, honouring
// the account zone: hours that do not exist locally (spring-forward) are
// skipped, hours that have not started yet are not reported.
func (s *Server) expand(a *account, p *plan, r *rowCtx, now time.Time) ([]*rowCtx, *AdsError) {
	byDate := p.selected["segments.date"]
	byHour := p.selected["segments.hour"]
	var out []*rowCtx
	var total Metrics
	var hours [24]Metrics
	for d := p.dateLo; !d.After(p.dateHi); d = d.AddDate(0, 0, 1) {
		date := d.Format(time.DateOnly)
		if p.dateSet != nil && !p.dateSet[date] {
			continue
		}
		dayStart := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, a.loc)
		if !dayStart.Before(now) {
			break
		}
		day := s.spend.Day(a.ID, r.campaign.ID, date)
		var dayTotal Metrics
		for h := 0; h < 24; h++ {
			start := time.Date(d.Year(), d.Month(), d.Day(), h, 0, 0, 0, a.loc)
			if start.Hour() != h || !start.Before(now) {
				continue
			}
			m := day[h]
			if byHour && byDate {
				row := *r
				row.date, row.hour, row.m = date, h, m
				out = append(out, &row)
				continue
			}
			hours[h].add(m)
			dayTotal.add(m)
		}
		if byDate && !byHour {
			row := *r
			row.date, row.m = date, dayTotal
			out = append(out, &row)
		}
		total.add(dayTotal)
	}
	switch {
	case byHour && !byDate:
		for h := 0; h < 24; h++ {
			row := *r
			row.hour, row.m = h, hours[h]
			out = append(out, &row)
		}
	case !byHour && !byDate:
		row := *r
		row.m = total
		out = append(out, &row)
	}
	kept := out[:0]
	for _, row := range out {
		if p.segmented && p.metrics && row.m.zero() {
			continue // segmented reports omit rows without activity
		}
		ok, err := p.match(row, func(f string) bool { return !strings.HasPrefix(f, "segments.") && !strings.HasPrefix(f, "metrics.") })
		if err != nil {
			return nil, err
		}
		if ok {
			kept = append(kept, row)
		}
	}
	return kept, nil
}

func sortedKeys[V any](m map[int64]V) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

type pageState struct {
	customer string
	query    string
	rows     []json.RawMessage
	offset   int
	mask     string
}

type searchRequest struct {
	Query                   string          `json:"query"`
	PageToken               string          `json:"pageToken,omitempty"`
	PageSize                *int            `json:"pageSize,omitempty"`
	ReturnTotalResultsCount bool            `json:"returnTotalResultsCount,omitempty"`
	SummaryRowSetting       string          `json:"summaryRowSetting,omitempty"`
	ValidateOnly            bool            `json:"validateOnly,omitempty"`
	SearchSettings          json.RawMessage `json:"searchSettings,omitempty"`
}

type streamRequest struct {
	Query             string `json:"query"`
	SummaryRowSetting string `json:"summaryRowSetting,omitempty"`
}

func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(r, 4<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, version string, a *account, stream bool) {
	var req searchRequest
	if stream {
		var sr streamRequest
		if err := decodeStrict(r.Body, &sr); err != nil {
			s.writeError(w, version, http.StatusBadRequest, "", "Invalid JSON payload received. "+err.Error())
			return
		}
		req.Query = sr.Query
	} else if err := decodeStrict(r.Body, &req); err != nil {
		s.writeError(w, version, http.StatusBadRequest, "", "Invalid JSON payload received. "+err.Error())
		return
	}
	if req.PageSize != nil {
		s.writeError(w, version, http.StatusBadRequest, "", "Request contains an invalid argument.",
			reqErr("requestError", "PAGE_SIZE_NOT_SUPPORTED", "Setting the page size is not supported. Search Responses will have fixed page size of '10000' rows."))
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		s.writeError(w, version, http.StatusBadRequest, "", "Request contains an invalid argument.",
			reqErr("queryError", "QUERY_ERROR", "Error in query: the query is empty."))
		return
	}
	body, aerr, quota := s.searchLocked(a, version, req, stream)
	switch {
	case quota:
		s.quotaExhausted(w, version)
	case aerr != nil:
		s.writeError(w, version, http.StatusBadRequest, "", "Request contains an invalid argument.", *aerr)
	default:
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

// searchLocked runs a search under the lock and renders the body.
func (s *Server) searchLocked(a *account, version string, req searchRequest, stream bool) ([]byte, *AdsError, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	if req.PageToken != "" {
		ps := s.pages[req.PageToken]
		if ps == nil || ps.customer != a.ID || ps.query != req.Query {
			e := reqErr("requestError", "INVALID_PAGE_TOKEN", "Page token is invalid or was issued for a different query.")
			return nil, &e, false
		}
		s.calls.SearchPages++
		delete(s.pages, req.PageToken)
		return s.renderPage(ps, req.ReturnTotalResultsCount), nil, false
	}
	pq, perr := parseGAQL(req.Query)
	var p *plan
	if perr == nil {
		lt := now.In(a.loc)
		p, perr = compile(pq, time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC))
	}
	if perr != nil {
		return nil, perr, false
	}
	if !s.chargeLocked(1) {
		s.calls.Rejected++
		return nil, nil, true
	}
	if stream {
		s.calls.SearchStream++
	} else {
		s.calls.Search++
	}
	rows, xerr := s.execute(a, p, now)
	if xerr != nil {
		return nil, xerr, false
	}
	if s.faults.MalformedNext > 0 {
		s.faults.MalformedNext--
		return []byte(`[{"results":[{"campaign":{"resourceName":"customers/`), nil, false
	}
	midErr := stream && s.faults.MidStreamErrorNext > 0
	if midErr {
		s.faults.MidStreamErrorNext--
	}
	s.seq++
	rid := "fake-req-" + strconv.Itoa(s.seq)
	if stream {
		return s.renderStream(version, rows, p.fieldMask, rid, midErr), nil, false
	}
	ps := &pageState{customer: a.ID, query: req.Query, rows: rows, mask: p.fieldMask}
	return s.renderPage(ps, req.ReturnTotalResultsCount), nil, false
}

// renderPage renders one 10,000-row page and keeps the rest under a token;
// called with mu held.
func (s *Server) renderPage(ps *pageState, total bool) []byte {
	end := ps.offset + PageRows
	if end > len(ps.rows) {
		end = len(ps.rows)
	}
	resp := map[string]any{"fieldMask": ps.mask}
	if end > ps.offset {
		resp["results"] = ps.rows[ps.offset:end]
	}
	if end < len(ps.rows) {
		tok := "pt-" + randomHex(10)
		s.pages[tok] = &pageState{customer: ps.customer, query: ps.query, rows: ps.rows, offset: end, mask: ps.mask}
		resp["nextPageToken"] = tok
	} else {
		resp["queryResourceConsumption"] = strconv.Itoa(len(ps.rows))
	}
	if total {
		resp["totalResultsCount"] = strconv.Itoa(len(ps.rows))
	}
	b, _ := json.Marshal(resp)
	return b
}

// renderStream writes the searchStream framing: a JSON array of batches of
// at most 10,000 rows; with midErr the array carries the first batch and
// then an error element, as the real API does when a stream fails.
func (s *Server) renderStream(version string, rows []json.RawMessage, mask, rid string, midErr bool) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	maskJSON, _ := json.Marshal(mask)
	for start := 0; start == 0 || start < len(rows); start += PageRows {
		end := start + PageRows
		if end > len(rows) {
			end = len(rows)
		}
		if start > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("{")
		if end > start {
			buf.WriteString(`"results":[`)
			for i, r := range rows[start:end] {
				if i > 0 {
					buf.WriteByte(',')
				}
				buf.Write(r)
			}
			buf.WriteString("],")
		}
		buf.WriteString(`"fieldMask":`)
		buf.Write(maskJSON)
		buf.WriteString(`,"requestId":"` + rid + `"`)
		if end >= len(rows) && !midErr {
			buf.WriteString(`,"queryResourceConsumption":"` + strconv.Itoa(len(rows)) + `"`)
		}
		buf.WriteString("}")
		if midErr {
			e := s.statusBody(version, http.StatusInternalServerError, "", "Internal error encountered.",
				[]AdsError{reqErr("internalError", "INTERNAL_ERROR", "An internal error has occurred.")}, rid)
			b, _ := json.Marshal(e)
			buf.WriteByte(',')
			buf.Write(b)
			break
		}
		if end >= len(rows) {
			break
		}
	}
	buf.WriteByte(']')
	return buf.Bytes()
}
