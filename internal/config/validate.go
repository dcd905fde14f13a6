package config

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
	"github.com/robfig/cron/v3"
)

// LinesParser parses a budget-lines CSV file (pacing.ParseLinesCSV).
type LinesParser func(r io.Reader) ([]pacing.Line, error)

// ValidateOptions tune Validate.
type ValidateOptions struct {
	// ParseLinesCSV checks the contents of pacing.budget_lines_file. When nil
	// Validate only checks that the file can be read.
	ParseLinesCSV LinesParser
}

// Validate checks the whole configuration and reports every problem at once
// as an *Error. It also loads every configured secret into its Secret field
// (checking that a secret file is readable and non-empty means reading it),
// so a validated Config is ready to build clients from.
func (c *Config) Validate() error {
	return c.ValidateWith(ValidateOptions{ParseLinesCSV: linesCSVParser()})
}

// linesCSVParser is the budget-lines CSV parser owned by package pacing.
func linesCSVParser() LinesParser { return pacing.ParseLinesCSV }

// ValidateWith is Validate with options.
func (c *Config) ValidateWith(opts ValidateOptions) error {
	v := &validator{c: c}
	v.top()
	v.store()
	v.http()
	v.jobs()
	v.connectors()
	v.pacing(opts)
	if len(v.problems) == 0 {
		return nil
	}
	return &Error{File: c.file, Problems: v.problems}
}

type validator struct {
	c        *Config
	problems []Problem
}

// stallShare checks a source's reporting-stall share: a share of a day's
// spend, so within 0..1 (0 turns the check off).
func (v *validator) stallShare(path string, share *float64) {
	if share != nil && (math.IsNaN(*share) || *share < 0 || *share > 1) {
		v.add(path, "%v is out of range: use a share of a day's spend from 0 (no stall check) to 1, e.g. 0.05", *share)
	}
}

func (v *validator) add(path, format string, args ...any) {
	line := 0
	if v.c.lines != nil {
		// The closest known ancestor gives the line of a defaulted field.
		for p := path; p != ""; p = parentPath(p) {
			if l, ok := v.c.lines[p]; ok {
				line = l
				break
			}
		}
	}
	v.problems = append(v.problems, Problem{Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

var (
	reID       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	reCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
	reAPIVer   = regexp.MustCompile(`^v[0-9]+$`)
	reCustomer = regexp.MustCompile(`^[0-9]{10}$`)
)

func modeRank(m string) int {
	switch m {
	case ModeObserve:
		return 1
	case ModeDryRun:
		return 2
	case ModeApprove:
		return 3
	case ModeApply:
		return 4
	}
	return 0
}

func (v *validator) top() {
	c := v.c
	if modeRank(c.Mode) == 0 {
		v.add("mode", "unknown mode %q: use observe, dry-run, approve or apply", c.Mode)
	}
	if strings.TrimSpace(c.InstanceName) == "" {
		v.add("instance_name", "is empty: name this daemon, e.g. bank-prod")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", "unknown level %q: use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		v.add("log.format", "unknown format %q: use auto, json or console", c.Log.Format)
	}
	if d := c.ShutdownTimeout.D(); d < time.Second || d > 10*time.Minute {
		v.add("shutdown_timeout", "%s is out of range: use 1s to 10m, below the service manager's stop timeout (systemd TimeoutStopSec, Kubernetes terminationGracePeriodSeconds)", d)
	}
}

func (v *validator) store() {
	s := &v.c.Store
	switch s.Driver {
	case "sqlite":
		if strings.TrimSpace(s.SQLite.Path) == "" {
			v.add("store.sqlite.path", "is empty: set the database file path, e.g. %s", DefaultSQLitePath)
		}
	case "postgres":
		v.secret("store.postgres.dsn", s.Postgres.DSNSource(), true, &s.Postgres.DSN)
	default:
		v.add("store.driver", "unknown driver %q: use sqlite (one machine) or postgres (several replicas)", s.Driver)
	}
}

// secret loads one secret into dst, reporting a problem under path_file or
// path_env.
func (v *validator) secret(path string, src SecretSource, required bool, dst *Secret) {
	if !src.IsSet() {
		if required {
			v.add(path+"_file", "is required: point it at a file holding the secret (or set %s_env to an environment variable name)", lastSegment(path))
		}
		return
	}
	key := path + "_file"
	if src.File == "" {
		key = path + "_env"
	}
	if src.File != "" && src.Env != "" {
		v.add(path+"_env", "both %s_file and %s_env are set: keep one", lastSegment(path), lastSegment(path))
		return
	}
	if v.c.file != "" {
		src.Dir = filepath.Dir(v.c.file)
	}
	s, err := src.Load()
	if err != nil {
		v.add(key, "%v", err)
		return
	}
	*dst = s
}

func lastSegment(p string) string {
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (v *validator) http() {
	h := &v.c.HTTP
	host, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		v.add("http.listen", "%q is not host:port: use e.g. %s", h.Listen, DefaultListen)
		return
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		v.add("http.listen", "port %q is not a port number: use e.g. %s", port, DefaultListen)
		return
	}
	if !IsLoopback(host) {
		v.secret("http.status_token", h.StatusTokenSource(), true, &h.StatusToken)
		if !h.StatusTokenSource().IsSet() {
			return
		}
	} else if h.StatusTokenSource().IsSet() {
		v.secret("http.status_token", h.StatusTokenSource(), false, &h.StatusToken)
	}
}

// IsLoopback reports whether host (from a listen address) only accepts
// local connections. An empty host or 0.0.0.0 listens everywhere.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron spec the way the scheduler does: five fields
// or a descriptor (@hourly, @every 15m).
func ParseSchedule(spec string) (cron.Schedule, error) { return cronParser.Parse(spec) }

func (v *validator) schedule(path, spec string) {
	if strings.TrimSpace(spec) == "" {
		v.add(path, "is empty: use a cron spec such as \"*/15 * * * *\" or \"@every 15m\"")
		return
	}
	if _, err := ParseSchedule(spec); err != nil {
		v.add(path, "invalid cron spec %q (%v): use five fields (minute hour day month weekday) such as \"*/15 * * * *\", or a descriptor such as \"@every 15m\" or \"@hourly\"", spec, err)
	}
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration such as 30s or 5m")
	}
}

func (v *validator) jobs() {
	for _, j := range []struct {
		name string
		job  Job
	}{{"pace", v.c.Jobs.Pace}, {"apply", v.c.Jobs.Apply}, {"alerts", v.c.Jobs.Alerts}} {
		p := "jobs." + j.name
		v.schedule(p+".schedule", j.job.Schedule)
		v.positive(p+".timeout", j.job.Timeout)
		if j.job.Jitter < 0 || j.job.Jitter.D() > time.Hour {
			v.add(p+".jitter", "%s is out of range: use 0 to 1h", j.job.Jitter)
		}
	}
}

func (v *validator) baseURL(path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(path, "%q is not an http(s) URL: use e.g. https://api.example.com", raw)
		return
	}
	if u.User != nil {
		v.add(path, "must not carry credentials: use the *_file keys for secrets")
	}
}

func (v *validator) connectors() {
	seen := map[string]string{}
	id := func(path, id string) {
		if id == "" {
			v.add(path+".id", "is empty: give every connector instance a unique id such as yandex-main")
			return
		}
		if !reID.MatchString(id) {
			v.add(path+".id", "%q is not a valid id: use lowercase letters, digits, - and _ (at most 63)", id)
			return
		}
		if prev, dup := seen[id]; dup {
			v.add(path+".id", "duplicate id %q (also used by %s): ids must be unique across all connectors", id, prev)
			return
		}
		seen[id] = path
	}
	cs := &v.c.Connectors
	for i := range cs.YandexDirect {
		y := &cs.YandexDirect[i]
		p := fmt.Sprintf("connectors.yandex_direct[%d]", i)
		id(p, y.ID)
		v.baseURL(p+".base_url", y.BaseURL)
		switch y.AcceptLanguage {
		case "en", "ru", "tr":
		default:
			v.add(p+".accept_language", "unknown language %q: use en, ru or tr", y.AcceptLanguage)
		}
		v.oauth(p+".oauth", &y.OAuth, true)
		v.schedule(p+".schedule", y.Schedule)
		v.positive(p+".timeout", y.Timeout)
		if y.MaxInFlight < 1 || y.MaxInFlight > DefaultYandexMaxInFlight {
			v.add(p+".max_in_flight", "%d is out of range: use 1 to 5 (Yandex Direct answers 506 above 5 concurrent requests per advertiser)", y.MaxInFlight)
		}
		for j, g := range y.Goals {
			if g <= 0 {
				v.add(fmt.Sprintf("%s.goals[%d]", p, j), "goal id %d must be positive: copy it from Yandex Metrica", g)
			}
		}
		v.stallShare(p+".stall_share", y.StallShare)
	}
	for i := range cs.GoogleAds {
		g := &cs.GoogleAds[i]
		p := fmt.Sprintf("connectors.google_ads[%d]", i)
		id(p, g.ID)
		v.baseURL(p+".base_url", g.BaseURL)
		if !reAPIVer.MatchString(g.APIVersion) {
			v.add(p+".api_version", "%q is not an API version: use e.g. %s", g.APIVersion, DefaultGoogleAPIVersion)
		}
		if !reCustomer.MatchString(g.CustomerID) {
			v.add(p+".customer_id", "%q is not a customer id: use the 10 digits shown in Google Ads, e.g. 123-456-7890", g.CustomerID)
		}
		if g.LoginCustomerID != "" && !reCustomer.MatchString(g.LoginCustomerID) {
			v.add(p+".login_customer_id", "%q is not a customer id: use the manager account's 10 digits, e.g. 123-456-7890", g.LoginCustomerID)
		}
		v.secret(p+".developer_token", g.DeveloperTokenSource(), false, &g.DeveloperToken)
		v.oauth(p+".oauth", &g.OAuth, false)
		switch g.AccessLevel {
		case "explorer", "basic", "standard":
		default:
			v.add(p+".access_level", "unknown access level %q: use explorer, basic or standard", g.AccessLevel)
		}
		v.schedule(p+".schedule", g.Schedule)
		v.positive(p+".timeout", g.Timeout)
		v.stallShare(p+".stall_share", g.StallShare)
	}
	for i := range cs.VKAds {
		x := &cs.VKAds[i]
		p := fmt.Sprintf("connectors.vk_ads[%d]", i)
		id(p, x.ID)
		v.baseURL(p+".base_url", x.BaseURL)
		if strings.TrimSpace(x.ClientID) == "" {
			v.add(p+".client_id", "is empty: copy the client_id of the API access from VK Ads (Settings, API access)")
		}
		v.secret(p+".client_secret", x.ClientSecretSource(), true, &x.ClientSecret)
		if x.AgencyClientName != strings.TrimSpace(x.AgencyClientName) {
			v.add(p+".agency_client_name", "%q has leading or trailing spaces: write the client's login exactly", x.AgencyClientName)
		}
		v.schedule(p+".schedule", x.Schedule)
		v.positive(p+".timeout", x.Timeout)
		v.stallShare(p+".stall_share", x.StallShare)
	}
	for i := range cs.Trello {
		t := &cs.Trello[i]
		p := fmt.Sprintf("connectors.trello[%d]", i)
		id(p, t.ID)
		v.baseURL(p+".base_url", t.BaseURL)
		v.secret(p+".key", t.KeySource(), true, &t.Key)
		v.secret(p+".token", t.TokenSource(), true, &t.Token)
		if len(t.Boards) == 0 && t.Alerts.Board == "" {
			v.add(p+".boards", "is empty: list the ids of the boards to pull (or set alerts.board)")
		}
		for j, b := range t.Boards {
			if strings.TrimSpace(b) == "" {
				v.add(fmt.Sprintf("%s.boards[%d]", p, j), "is empty: use the board id from the board's URL")
			}
		}
		v.schedule(p+".schedule", t.Schedule)
		v.positive(p+".timeout", t.Timeout)
		a := &t.Alerts
		ap := p + ".alerts"
		names := map[string]string{}
		for _, l := range []struct{ key, val string }{
			{"alerts", a.Lists.Alerts}, {"resolved", a.Lists.Resolved}, {"approvals", a.Lists.Approvals},
			{"approved", a.Lists.Approved}, {"rejected", a.Lists.Rejected},
		} {
			if strings.TrimSpace(l.val) == "" {
				v.add(ap+".lists."+l.key, "is empty: name the list on the alert board")
				continue
			}
			if other, dup := names[l.val]; dup {
				v.add(ap+".lists."+l.key, "list name %q is also used for %s: each role needs its own list", l.val, other)
			}
			names[l.val] = l.key
		}
		for sev := range a.Labels {
			if adpacer.Severity(sev).Rank() == 0 {
				v.add(ap+".labels."+sev, "unknown severity %q: use critical, warning or info", sev)
			}
		}
		if a.MaxNewCardsPerCycle < 1 {
			v.add(ap+".max_new_cards_per_cycle", "must be at least 1 (beyond the cap one roll-up card is opened)")
		}
		if a.ResolveAfterHealthyCycles < 1 {
			v.add(ap+".resolve_after_healthy_cycles", "must be at least 1")
		}
		v.positive(ap+".comment_interval", a.CommentInterval)
		v.positive(ap+".reopen_window", a.ReopenWindow)
		v.positive(ap+".approval_expiry", a.ApprovalExpiry)
		w := &t.Webhook
		if w.Enabled {
			v.secret(p+".webhook.secret", w.SecretSource(), true, &w.Secret)
			u, err := url.Parse(w.CallbackURL)
			if w.CallbackURL == "" || err != nil || u.Scheme != "https" || u.Host == "" {
				v.add(p+".webhook.callback_url", "%q is not an https URL: Trello calls back only public https URLs, e.g. https://adpacer.example.com/webhooks/trello", w.CallbackURL)
			}
		} else if w.SecretSource().IsSet() {
			v.secret(p+".webhook.secret", w.SecretSource(), false, &w.Secret)
		}
	}
	for i := range cs.Everhour {
		e := &cs.Everhour[i]
		p := fmt.Sprintf("connectors.everhour[%d]", i)
		id(p, e.ID)
		v.baseURL(p+".base_url", e.BaseURL)
		v.secret(p+".api_key", e.APIKeySource(), true, &e.APIKey)
		v.schedule(p+".schedule", e.Schedule)
		v.positive(p+".timeout", e.Timeout)
		if e.RereadDays < 1 || e.RereadDays > 62 {
			v.add(p+".reread_days", "%d is out of range: use 1 to 62", e.RereadDays)
		}
		if _, err := time.LoadLocation(e.TimeZone); err != nil || e.TimeZone == "Local" {
			v.add(p+".timezone", "unknown time zone %q: use the agency's IANA zone, e.g. Europe/Moscow", e.TimeZone)
		}
		if e.MonthlyHours < 0 {
			v.add(p+".monthly_hours", "%g must not be negative", e.MonthlyHours)
		}
		projects := map[string]bool{}
		for j, b := range e.Projects {
			bp := fmt.Sprintf("%s.projects[%d]", p, j)
			if b.Project == "" {
				v.add(bp+".project", "is empty: use the Everhour project id, e.g. tr:abc123")
			} else if projects[b.Project] {
				v.add(bp+".project", "project %q is listed twice: keep one entry", b.Project)
			}
			projects[b.Project] = true
			if b.MonthlyHours <= 0 {
				v.add(bp+".monthly_hours", "must be positive: the hours the client pays for per month")
			}
		}
		prev := 0.0
		for j, t := range e.ThresholdsPct {
			if t <= prev || t > 1000 {
				v.add(fmt.Sprintf("%s.thresholds_pct[%d]", p, j), "%g is out of order or range: list increasing percentages above 0, e.g. [80, 100]", t)
			}
			prev = t
		}
		switch e.HolidayCalendar {
		case "ru", "none":
		default:
			v.add(p+".holiday_calendar", "unknown calendar %q: use ru (Russian production calendar) or none (Monday to Friday)", e.HolidayCalendar)
		}
	}
}

func (v *validator) oauth(path string, o *OAuth, accessTokenAlone bool) {
	if accessTokenAlone && o.AccessTokenSource().IsSet() && !o.RefreshTokenSource().IsSet() {
		// A long-lived token (Yandex issues year-long ones) needs nothing else.
		v.secret(path+".access_token", o.AccessTokenSource(), true, &o.AccessToken)
		return
	}
	if o.ClientID == "" {
		if accessTokenAlone {
			v.add(path+".client_id", "is empty: set client_id, client_secret_file and refresh_token_file (or only access_token_file for a long-lived token)")
		} else {
			v.add(path+".client_id", "is empty: set the OAuth client id of your Google Cloud project")
		}
	}
	v.secret(path+".client_secret", o.ClientSecretSource(), true, &o.ClientSecret)
	v.secret(path+".refresh_token", o.RefreshTokenSource(), true, &o.RefreshToken)
	v.secret(path+".access_token", o.AccessTokenSource(), false, &o.AccessToken)
	v.baseURL(path+".token_url", o.TokenURL)
}

func (v *validator) pacing(opts ValidateOptions) {
	pc := &v.c.Pacing
	po := &pc.Policy
	pct := func(path string, p *float64, lo, hi float64, loOpen bool) {
		if p == nil {
			return
		}
		if *p < lo || *p > hi || (loOpen && *p == lo) {
			v.add("pacing.policy."+path, "%g is out of range: use a percentage in %s%g, %g]", *p, map[bool]string{true: "(", false: "["}[loOpen], lo, hi)
		}
	}
	pct("reserve_pct", po.ReservePct, 0, 50, false)
	pct("tolerance_pct", po.TolerancePct, 0, 100, false)
	pct("max_bid_step_pct", po.MaxBidStepPct, 0, 100, true)
	pct("approval_threshold_pct", po.ApprovalThresholdPct, 0, 1000, false)
	pct("cpa_breach_pct", po.CPABreachPct, 0, 1000, true)
	pct("max_budget_step_pct", po.MaxBudgetStepPct, 0, 100, true)
	pct("budget_shift_pct", po.BudgetShiftPct, 0, 100, false)
	if po.MinConversions != nil && *po.MinConversions < 0 {
		v.add("pacing.policy.min_conversions", "%g must not be negative", *po.MinConversions)
	}
	if po.ConversionDelayMedian != nil {
		v.positive("pacing.policy.conversion_delay_median", *po.ConversionDelayMedian)
	}
	if po.ConversionDelayP95 != nil {
		v.positive("pacing.policy.conversion_delay_p95", *po.ConversionDelayP95)
	}
	if po.ConversionDelayMedian != nil && po.ConversionDelayP95 != nil && *po.ConversionDelayP95 < *po.ConversionDelayMedian {
		v.add("pacing.policy.conversion_delay_p95", "%s is below conversion_delay_median %s: the 95th percentile cannot be below the median", *po.ConversionDelayP95, *po.ConversionDelayMedian)
	}
	if po.MaxDataAge != nil {
		v.positive("pacing.policy.max_data_age", *po.MaxDataAge)
	}
	if po.BidCooldown != nil && *po.BidCooldown < 0 {
		v.add("pacing.policy.bid_cooldown", "must not be negative")
	}
	for _, p := range sortedPlatforms(po.ReportingLag) {
		if !p.Valid() {
			v.add("pacing.policy.reporting_lag."+string(p), "unknown platform %q: use yandex_direct, google_ads or vk_ads", p)
		} else if po.ReportingLag[p] < 0 {
			v.add("pacing.policy.reporting_lag."+string(p), "must not be negative")
		}
	}
	for _, p := range sortedPlatforms(po.Overdelivery) {
		if !p.Valid() {
			v.add("pacing.policy.overdelivery."+string(p), "unknown platform %q: use yandex_direct, google_ads or vk_ads", p)
		} else if po.Overdelivery[p] < 1 {
			v.add("pacing.policy.overdelivery."+string(p), "%g is below 1: it is the worst-case day spend as a multiple of the daily budget", po.Overdelivery[p])
		}
	}
	for _, p := range sortedPlatforms(po.MinDailyBudget) {
		if !p.Valid() {
			v.add("pacing.policy.min_daily_budget."+string(p), "unknown platform %q: use yandex_direct, google_ads or vk_ads", p)
		} else if po.MinDailyBudget[p] < 0 {
			v.add("pacing.policy.min_daily_budget."+string(p), "must not be negative")
		}
	}

	if len(pc.BudgetLines) > 0 && pc.BudgetLinesFile != "" {
		v.add("pacing.budget_lines_file", "both budget_lines and budget_lines_file are set: keep one source of budget lines")
	}
	var csvLines []pacing.Line
	if pc.BudgetLinesFile != "" {
		f, err := os.Open(v.c.resolve(pc.BudgetLinesFile))
		if err != nil {
			v.add("pacing.budget_lines_file", "cannot open %s (%v): fix the path (relative paths are resolved against the config file's directory)", v.c.resolve(pc.BudgetLinesFile), unwrapPathErr(err))
		} else {
			if opts.ParseLinesCSV != nil {
				lines, err := opts.ParseLinesCSV(f)
				if err != nil {
					v.add("pacing.budget_lines_file", "%v", err)
				}
				csvLines = lines
			}
			f.Close()
		}
	}

	lc := lineChecker{v: v, ids: map[string]bool{}, owner: map[adpacer.CampaignID]string{}, platforms: map[adpacer.Platform]bool{}}
	if len(v.c.Connectors.YandexDirect) > 0 {
		lc.platforms[adpacer.YandexDirect] = true
	}
	if len(v.c.Connectors.GoogleAds) > 0 {
		lc.platforms[adpacer.GoogleAds] = true
	}
	if len(v.c.Connectors.VKAds) > 0 {
		lc.platforms[adpacer.VKAds] = true
	}
	for i := range pc.BudgetLines {
		l := &pc.BudgetLines[i]
		p := fmt.Sprintf("pacing.budget_lines[%d]", i)
		in := lineInput{ID: l.ID, TimeZone: l.TimeZone, Budget: l.Budget.Micros(), Currency: l.Currency, Mode: l.Mode, Campaigns: l.Campaigns}
		if l.Period != nil {
			in.Period = &pacing.Period{Start: l.Period.Start, End: l.Period.End}
		}
		in.TargetCPA, in.MinBid, in.MaxBid = l.TargetCPA.microsPtr(), l.MinBid.microsPtr(), l.MaxBid.microsPtr()
		lc.check(in, func(field, format string, args ...any) { v.add(p+"."+field, format, args...) })
	}
	for i, l := range csvLines {
		row := i + 2 // the header is row 1
		in := lineInput{ID: l.ID, TimeZone: l.TimeZone, Period: &l.Period, Budget: l.Budget, Currency: l.Currency, TargetCPA: l.TargetCPA,
			MinBid: l.MinBid, MaxBid: l.MaxBid, Mode: l.Mode, Campaigns: l.Campaigns}
		lc.check(in, func(field, format string, args ...any) {
			v.add("pacing.budget_lines_file", "row %d, column %s: "+format, append([]any{row, strings.SplitN(field, ".", 2)[0]}, args...)...)
		})
	}
}

// lineInput is a budget line from either source, for the shared checks.
type lineInput struct {
	ID, TimeZone, Currency, Mode string
	Period                       *pacing.Period
	Budget                       adpacer.Micros
	TargetCPA, MinBid, MaxBid    *adpacer.Micros
	Campaigns                    []adpacer.CampaignID
}

type lineChecker struct {
	v         *validator
	ids       map[string]bool
	owner     map[adpacer.CampaignID]string
	platforms map[adpacer.Platform]bool
}

func (lc *lineChecker) check(l lineInput, add func(field, format string, args ...any)) {
	global := lc.v.c.Mode
	switch {
	case l.ID == "":
		add("id", "is empty: give every budget line a unique id such as retail-msk")
	case lc.ids[l.ID]:
		add("id", "duplicate budget line id %q: ids must be unique", l.ID)
	}
	lc.ids[l.ID] = true
	if l.TimeZone == "" {
		add("timezone", "is empty: use an IANA zone such as Europe/Moscow or Asia/Vladivostok")
	} else if _, err := time.LoadLocation(l.TimeZone); err != nil {
		add("timezone", "unknown time zone %q: use an IANA zone such as Europe/Moscow or Asia/Vladivostok", l.TimeZone)
	}
	if l.Period != nil {
		s, err1 := time.ParseInLocation(time.DateOnly, l.Period.Start, time.UTC)
		e, err2 := time.ParseInLocation(time.DateOnly, l.Period.End, time.UTC)
		if err1 != nil {
			add("period.start", "%q is not a date: use YYYY-MM-DD", l.Period.Start)
		}
		if err2 != nil {
			add("period.end", "%q is not a date: use YYYY-MM-DD", l.Period.End)
		}
		if err1 == nil && err2 == nil && e.Before(s) {
			add("period.end", "%s is before start %s: swap them", l.Period.End, l.Period.Start)
		}
	}
	if l.Budget <= 0 {
		add("budget", "must be positive: the amount for the period in currency units, e.g. 1500000")
	}
	if !reCurrency.MatchString(l.Currency) {
		add("currency", "%q is not a currency code: use ISO 4217, e.g. RUB", l.Currency)
	}
	if l.TargetCPA != nil && *l.TargetCPA <= 0 {
		add("target_cpa", "must be positive, or left out when the line has no CPA target")
	}
	if l.MinBid != nil && *l.MinBid <= 0 {
		add("min_bid", "must be positive (the lowest bid the engine may set, in the line's currency), or left out")
	}
	if l.MaxBid != nil && *l.MaxBid <= 0 {
		add("max_bid", "must be positive (the highest bid the engine may set, in the line's currency), or left out")
	}
	if l.MinBid != nil && l.MaxBid != nil && *l.MaxBid > 0 && *l.MinBid > *l.MaxBid {
		add("max_bid", "%s is below min_bid %s: raise max_bid or lower min_bid", *l.MaxBid, *l.MinBid)
	}
	if l.Mode != "" {
		if modeRank(l.Mode) == 0 {
			add("mode", "unknown mode %q: use observe, dry-run, approve or apply", l.Mode)
		} else if modeRank(l.Mode) > modeRank(global) && modeRank(global) > 0 {
			add("mode", "%s is above the global mode %s: a line may only lower the mode; raise the global mode first", l.Mode, global)
		}
	}
	if len(l.Campaigns) == 0 {
		add("campaigns", "is empty: list the campaigns whose spend counts against this budget, e.g. yandex_direct:123")
	}
	for j, cid := range l.Campaigns {
		field := fmt.Sprintf("campaigns[%d]", j)
		plat, _, err := cid.Split()
		if err != nil {
			add(field, "%v", err)
			continue
		}
		if !lc.platforms[plat] {
			add(field, "no %s connector is configured: add one under connectors.%s or remove the campaign", plat, plat)
		}
		if prev, dup := lc.owner[cid]; dup {
			add(field, "campaign %s already belongs to budget line %q: a campaign's spend can count against one line only", cid, prev)
			continue
		}
		lc.owner[cid] = l.ID
	}
}

func sortedPlatforms[V any](m map[adpacer.Platform]V) []adpacer.Platform {
	out := make([]adpacer.Platform, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// resolve makes a relative path relative to the config file's directory.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.file == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.file), p)
}
