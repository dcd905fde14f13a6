package yandexdirecttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	reportQueueLimit  = 5
	reportRateLimit   = 20
	reportRateWindow  = 10 * time.Second
	reportRetention   = 5 * time.Hour
	reportHistoryDays = 3 * 366
)

// report is a queued or finished offline report.
type report struct {
	params    string
	queued    bool
	pollsLeft int
	buildBy   time.Time // the report finishes by then even if nobody polls
	readyAt   time.Time
}

// flexID accepts a goal id as a JSON string or number.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("goal id must be a string or an integer")
	}
	*f = flexID(n.String())
	return nil
}

type reportParams struct {
	SelectionCriteria *struct {
		DateFrom string `json:"DateFrom,omitempty"`
		DateTo   string `json:"DateTo,omitempty"`
		Filter   []struct {
			Field    string   `json:"Field"`
			Operator string   `json:"Operator"`
			Values   []string `json:"Values"`
		} `json:"Filter,omitempty"`
	} `json:"SelectionCriteria"`
	FieldNames        []string `json:"FieldNames"`
	Goals             []flexID `json:"Goals,omitempty"`
	AttributionModels []string `json:"AttributionModels,omitempty"`
	ReportName        string   `json:"ReportName"`
	ReportType        string   `json:"ReportType"`
	DateRangeType     string   `json:"DateRangeType"`
	Format            string   `json:"Format"`
	IncludeVAT        string   `json:"IncludeVAT"`
	IncludeDiscount   string   `json:"IncludeDiscount,omitempty"`
	Page              *struct {
		Limit int64 `json:"Limit"`
	} `json:"Page,omitempty"`
	OrderBy []struct {
		Field     string `json:"Field"`
		SortOrder string `json:"SortOrder,omitempty"`
	} `json:"OrderBy,omitempty"`
}

var reportFields = map[string]bool{
	"Date": true, "CampaignId": true, "CampaignName": true, "Impressions": true,
	"Clicks": true, "Cost": true, "Conversions": true, "Ctr": true, "AvgCpc": true,
}

var reportTypes = map[string]bool{
	"ACCOUNT_PERFORMANCE_REPORT": true, "CAMPAIGN_PERFORMANCE_REPORT": true, "CUSTOM_REPORT": true,
	"ADGROUP_PERFORMANCE_REPORT": true, "AD_PERFORMANCE_REPORT": true,
	"CRITERIA_PERFORMANCE_REPORT": true, "SEARCH_QUERY_PERFORMANCE_REPORT": true,
}

var attributionModels = map[string]bool{
	"FC": true, "LC": true, "LSC": true, "LYDC": true, "FCCD": true, "LSCCD": true, "LYDCCD": true, "AUTO": true,
}

func reportError(w http.ResponseWriter, status int, reqID string, e apiErr) {
	writeError(w, status, reqID, e)
}

func (s *Server) serveReports(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	s.reqSeq++
	reqID := strconv.FormatInt(8695244274068608439+s.reqSeq, 10)
	adv, op, aerr := s.authenticate(r)
	if aerr != nil {
		s.mu.Unlock()
		reportError(w, http.StatusBadRequest, reqID, *aerr)
		return
	}
	s.calls.Add("reports.get")
	now := s.clock.Now()
	// 20 requests per 10 seconds per advertiser.
	keep := adv.reportLog[:0]
	for _, t := range adv.reportLog {
		if now.Sub(t) < reportRateWindow {
			keep = append(keep, t)
		}
	}
	adv.reportLog = keep
	if len(adv.reportLog) >= reportRateLimit {
		s.mu.Unlock()
		reportError(w, http.StatusBadRequest, reqID, apiErr{CodeRateLimited, "Request limit exceeded", "At most 20 report requests per 10 seconds"})
		return
	}
	adv.reportLog = append(adv.reportLog, now)
	var forced int
	if len(s.failNext) > 0 {
		forced, s.failNext = s.failNext[0], s.failNext[1:]
	} else if s.faults.ErrorRate > 0 && len(s.faults.Codes) > 0 && s.rnd.Float64() < s.faults.ErrorRate {
		forced = s.faults.Codes[s.rnd.IntN(len(s.faults.Codes))]
	}
	hang := forced == 0 && s.faults.HangRate > 0 && s.rnd.Float64() < s.faults.HangRate
	hangFor := s.faults.Hang
	s.mu.Unlock()
	if hang {
		sleepCtx(r, hangFor)
	}
	if forced != 0 || hang {
		status := http.StatusBadRequest
		code := forced
		if hang || code == CodeAuthUnavailable || (code >= 1000 && code <= 1002) {
			status = http.StatusInternalServerError
			if hang {
				code = CodeOperationError
			}
		}
		reportError(w, status, reqID, apiErr{code, "Forced error", "Injected by the fake's fault hooks"})
		return
	}

	var env struct {
		Params json.RawMessage `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		reportError(w, http.StatusBadRequest, reqID, apiErr{CodeInvalidRequest, "Invalid request", "Report request body must be JSON {\"params\": {...}} without 'method': " + err.Error()})
		return
	}
	var p reportParams
	if e := decodeParams(env.Params, &p); e != nil {
		reportError(w, http.StatusBadRequest, reqID, *e)
		return
	}
	from, to, e := s.validateReport(&p, now)
	if e != nil {
		reportError(w, http.StatusBadRequest, reqID, *e)
		return
	}
	mode := r.Header.Get("processingMode")
	switch mode {
	case "":
		mode = "auto"
	case "online", "offline", "auto":
	default:
		reportError(w, http.StatusBadRequest, reqID, apiErr{CodeInvalidRequest, "Invalid request", "processingMode must be online, offline or auto"})
		return
	}
	offlineOnly := p.ReportType == "SEARCH_QUERY_PERFORMANCE_REPORT"
	if mode == "online" && offlineOnly {
		reportError(w, http.StatusBadRequest, reqID, apiErr{CodeOfflineOnly, "Report cannot be built online", "Use processingMode offline or auto"})
		return
	}
	days := int(to.Sub(from)/(24*time.Hour)) + 1
	offline := mode == "offline" || (mode == "auto" && (offlineOnly || days > s.opts.OnlineMaxDays))
	canon, _ := json.Marshal(p)

	s.mu.Lock()
	if s.takeReportFailure(p.ReportName) {
		delete(adv.reports, p.ReportName)
		s.mu.Unlock()
		reportError(w, http.StatusInternalServerError, reqID, apiErr{CodeOperationError, "Report build failed", "Request the report again"})
		return
	}
	for name, rep := range adv.reports {
		if rep.queued && !now.Before(rep.buildBy) {
			// Built in the background: it leaves the queue.
			rep.queued, rep.pollsLeft, rep.readyAt = false, 0, rep.buildBy
		}
		if !rep.queued && now.Sub(rep.readyAt) > reportRetention {
			delete(adv.reports, name)
		}
	}
	rep := adv.reports[p.ReportName]
	if rep != nil && rep.params != string(canon) {
		s.mu.Unlock()
		reportError(w, http.StatusBadRequest, reqID, apiErr{CodeBadParams, "Invalid request parameters", "A report named " + strconv.Quote(p.ReportName) + " already exists with other parameters; use a new ReportName"})
		return
	}
	if rep == nil && offline {
		queued := 0
		for _, x := range adv.reports {
			if x.queued {
				queued++
			}
		}
		if queued >= reportQueueLimit {
			s.mu.Unlock()
			reportError(w, http.StatusBadRequest, reqID, apiErr{CodeRateLimited, "Offline report queue is full", "At most 5 reports in the queue; wait for queued reports to finish"})
			return
		}
		adv.reports[p.ReportName] = &report{params: string(canon), queued: true, pollsLeft: s.opts.ReportPolls,
			buildBy: now.Add(time.Duration(s.opts.ReportPolls+1) * time.Duration(s.opts.RetryIn) * time.Second)}
		n := queued + 1
		s.mu.Unlock()
		s.offlineHeaders(w, reqID, op, n)
		w.WriteHeader(http.StatusCreated)
		return
	}
	if rep != nil && rep.queued {
		if rep.pollsLeft > 0 {
			rep.pollsLeft--
			queued := 0
			for _, x := range adv.reports {
				if x.queued {
					queued++
				}
			}
			s.mu.Unlock()
			s.offlineHeaders(w, reqID, op, queued)
			w.WriteHeader(http.StatusAccepted)
			return
		}
		rep.queued = false
		rep.readyAt = now
	}
	spend := s.spend
	rows := s.reportRows(adv.login, &p, from, to, now, spend)
	units := fmt.Sprintf("0/%d/%d", op.balance, op.limit)
	s.mu.Unlock()

	money := !strings.EqualFold(r.Header.Get("returnMoneyInMicros"), "false")
	var buf bytes.Buffer
	if !strings.EqualFold(r.Header.Get("skipReportHeader"), "true") {
		fmt.Fprintf(&buf, "%s (%s - %s)\n", p.ReportName, from.Format("2006-01-02"), to.Format("2006-01-02"))
	}
	cols := reportColumns(&p)
	if !strings.EqualFold(r.Header.Get("skipColumnHeader"), "true") {
		buf.WriteString(strings.Join(cols, "\t") + "\n")
	}
	for _, row := range rows {
		buf.WriteString(strings.Join(row.cells(cols, money), "\t") + "\n")
	}
	if !strings.EqualFold(r.Header.Get("skipReportSummary"), "true") {
		fmt.Fprintf(&buf, "Total rows: %d\n", len(rows))
	}
	w.Header().Set("RequestId", reqID)
	w.Header().Set("Units", units)
	w.Header().Set("Content-Type", "text/tab-separated-values; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) offlineHeaders(w http.ResponseWriter, reqID string, op *account, inQueue int) {
	w.Header().Set("RequestId", reqID)
	w.Header().Set("retryIn", strconv.Itoa(s.opts.RetryIn))
	w.Header().Set("reportsInQueue", strconv.Itoa(inQueue))
	s.mu.Lock()
	w.Header().Set("Units", fmt.Sprintf("0/%d/%d", op.balance, op.limit))
	s.mu.Unlock()
}

// validateReport checks the required params and resolves the date range
// (Moscow days, inclusive).
func (s *Server) validateReport(p *reportParams, now time.Time) (from, to time.Time, e *apiErr) {
	bad := func(detail string) (time.Time, time.Time, *apiErr) {
		return time.Time{}, time.Time{}, &apiErr{CodeInvalidRequest, "Invalid request", detail}
	}
	switch {
	case p.SelectionCriteria == nil:
		return bad("SelectionCriteria is required")
	case len(p.FieldNames) == 0:
		return bad("FieldNames is required")
	case p.ReportName == "":
		return bad("ReportName is required")
	case !reportTypes[p.ReportType]:
		return bad("ReportType is missing or unknown")
	case p.Format != "TSV":
		return bad("Format must be TSV")
	case p.IncludeVAT != "YES" && p.IncludeVAT != "NO":
		return bad("IncludeVAT must be YES or NO")
	case len(p.Goals) > 10:
		return bad("At most 10 Goals")
	}
	if e := checkFields(p.FieldNames, reportFields, "FieldNames", true); e != nil {
		return time.Time{}, time.Time{}, e
	}
	for _, m := range p.AttributionModels {
		if !attributionModels[m] {
			return bad("Unknown AttributionModels value " + strconv.Quote(m))
		}
	}
	for _, g := range p.Goals {
		if _, err := strconv.ParseInt(string(g), 10, 64); err != nil {
			return bad("Goals must be integer Metrica goal ids")
		}
	}
	for _, f := range p.SelectionCriteria.Filter {
		if f.Field != "CampaignId" || (f.Operator != "IN" && f.Operator != "EQUALS") || len(f.Values) == 0 {
			return bad("the fake models Filter on CampaignId with IN or EQUALS only")
		}
	}
	today := now.In(moscow)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, moscow)
	day := 24 * time.Hour
	switch p.DateRangeType {
	case "CUSTOM_DATE":
		var err1, err2 error
		from, err1 = time.ParseInLocation("2006-01-02", p.SelectionCriteria.DateFrom, moscow)
		to, err2 = time.ParseInLocation("2006-01-02", p.SelectionCriteria.DateTo, moscow)
		if err1 != nil || err2 != nil {
			return bad("CUSTOM_DATE needs DateFrom and DateTo as YYYY-MM-DD")
		}
		if to.Before(from) {
			return bad("DateTo is before DateFrom")
		}
		if today.Sub(from) > reportHistoryDays*day {
			return bad("Statistics are kept for three years")
		}
	case "TODAY":
		from, to = today, today
	case "YESTERDAY":
		from, to = today.Add(-day), today.Add(-day)
	case "LAST_7_DAYS":
		from, to = today.Add(-7*day), today.Add(-day)
	case "LAST_30_DAYS":
		from, to = today.Add(-30*day), today.Add(-day)
	default:
		return bad("DateRangeType is missing or not modelled by the fake (CUSTOM_DATE, TODAY, YESTERDAY, LAST_7_DAYS, LAST_30_DAYS)")
	}
	if p.DateRangeType != "CUSTOM_DATE" && (p.SelectionCriteria.DateFrom != "" || p.SelectionCriteria.DateTo != "") {
		return bad("DateFrom/DateTo are allowed with CUSTOM_DATE only")
	}
	return from, to, nil
}

func reportColumns(p *reportParams) []string {
	var cols []string
	models := p.AttributionModels
	if len(models) == 0 {
		models = []string{"AUTO"}
	}
	for _, f := range p.FieldNames {
		if f == "Conversions" && len(p.Goals) > 0 {
			for _, g := range p.Goals {
				for _, m := range models {
					cols = append(cols, "Conversions_"+string(g)+"_"+m)
				}
			}
			continue
		}
		cols = append(cols, f)
	}
	return cols
}

type reportRow struct {
	date     string
	campaign *campaign
	spend    Spend
	goals    bool
}

func (r reportRow) cells(cols []string, micros bool) []string {
	out := make([]string, len(cols))
	money := func(v int64) string {
		if micros {
			return strconv.FormatInt(v, 10)
		}
		k := (v + kopeck/2) / kopeck
		return fmt.Sprintf("%d.%02d", k/100, k%100)
	}
	for i, c := range cols {
		switch {
		case c == "Date":
			out[i] = r.date
		case c == "CampaignId":
			out[i] = strconv.FormatInt(r.campaign.ID, 10)
		case c == "CampaignName":
			out[i] = r.campaign.Name
		case c == "Impressions":
			out[i] = strconv.FormatInt(r.spend.Impressions, 10)
		case c == "Clicks":
			out[i] = strconv.FormatInt(r.spend.Clicks, 10)
		case c == "Cost":
			out[i] = money(r.spend.CostMicros)
		case c == "Ctr":
			if r.spend.Impressions == 0 {
				out[i] = "--"
			} else {
				bp := r.spend.Clicks * 10000 / r.spend.Impressions
				out[i] = fmt.Sprintf("%d.%02d", bp/100, bp%100)
			}
		case c == "AvgCpc":
			if r.spend.Clicks == 0 {
				out[i] = "--"
			} else {
				out[i] = money(r.spend.CostMicros / r.spend.Clicks)
			}
		case c == "Conversions":
			// Without goals conversions are not applicable.
			out[i] = "--"
		case strings.HasPrefix(c, "Conversions_"):
			parts := strings.Split(c, "_")
			g, _ := strconv.ParseInt(parts[1], 10, 64)
			if v := r.spend.Conversions[g]; v > 0 {
				out[i] = strconv.FormatInt(v, 10)
			} else {
				out[i] = "--"
			}
		}
	}
	return out
}

func (s *Server) reportRows(login string, p *reportParams, from, to, now time.Time, src SpendSource) []reportRow {
	filter := map[int64]bool{}
	for _, f := range p.SelectionCriteria.Filter {
		for _, v := range f.Values {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil {
				filter[id] = true
			}
		}
	}
	byDate := false
	for _, f := range p.FieldNames {
		if f == "Date" {
			byDate = true
		}
	}
	today := now.In(moscow).Format("2006-01-02")
	var rows []reportRow
	for _, id := range s.order {
		c := s.campaigns[id]
		if c.Login != login || (len(filter) > 0 && !filter[id]) {
			continue
		}
		var total Spend
		for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
			day := d.Format("2006-01-02")
			var sp Spend
			switch {
			case day == today:
				sp = src.CampaignSpendUntil(id, day, now)
			case day < today:
				sp = src.CampaignSpend(id, day)
			}
			if byDate {
				if !sp.zero() {
					rows = append(rows, reportRow{date: day, campaign: c, spend: sp, goals: len(p.Goals) > 0})
				}
			} else {
				total = total.Add(sp)
			}
		}
		if !byDate && !total.zero() {
			rows = append(rows, reportRow{campaign: c, spend: total, goals: len(p.Goals) > 0})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].date < rows[j].date })
	return rows
}
