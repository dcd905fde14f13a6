// Package daemon builds the running daemon from a validated configuration:
// the store, one connector per configured instance (with its persisting OAuth
// source), the pacing cycle, the scheduled jobs and the HTTP handlers. It is
// the only place that knows every concrete type; cmd/adpacer calls it, and
// so does `adpacer demo` with the in-repo fakes behind the same config.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/trello"
	"github.com/adpacer/adpacer/connectors/vkads"
	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/internal/httpx"
	"github.com/adpacer/adpacer/internal/oauthx"
	"github.com/adpacer/adpacer/internal/schedule"
	"github.com/adpacer/adpacer/internal/status"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/postgres"
	"github.com/adpacer/adpacer/store/sqlite"
)

// Default OAuth token endpoints.
const (
	YandexTokenURL = "https://oauth.yandex.ru/token"
	GoogleTokenURL = "https://oauth2.googleapis.com/token"
)

// OpenStore opens the store the configuration names, without migrating,
// with the daemon's clock stamping its bookkeeping (an injected clock in
// tests and the demo). SQLite takes the exclusive process lock unless shared.
func OpenStore(ctx context.Context, cfg *config.Config, now func() time.Time, shared bool) (store.Store, error) {
	switch cfg.Store.Driver {
	case "sqlite", "":
		return sqlite.Open(ctx, cfg.Store.SQLite.Path, sqlite.Options{Now: now, NoProcessLock: shared})
	case "postgres":
		return postgres.Open(ctx, cfg.Store.Postgres.DSN.Reveal(), postgres.Options{Now: now})
	}
	return nil, fmt.Errorf("store.driver %q: want sqlite or postgres", cfg.Store.Driver)
}

// Options are what Build needs besides the configuration.
type Options struct {
	Config   *config.Config
	Store    store.Store
	Logger   *zap.Logger
	Registry prometheus.Registerer
	// Now is the daemon's clock (demo: accelerated); nil is time.Now.
	Now func() time.Time
	// Clock drives connector back-off and waits; nil is the system clock.
	Clock httpx.Clock
	// Epoch returns this replica's leader epoch (fences ledger writes).
	Epoch func() int64
	// Transport under every connector (tests); nil is the default.
	Transport http.RoundTripper
	// StaticLeader exports adpacer_leader 1: this process is the only
	// writer (SQLite). With leader election the elector exports it.
	StaticLeader bool
}

// Daemon is the wired daemon.
type Daemon struct {
	Runner  *cycle.Runner
	cfg     *config.Config
	st      store.Store
	log     *zap.Logger
	jobs    []schedule.Job
	status  http.Handler
	webhook http.Handler
	// trigger runs the applier when a webhook reports a manager's move of
	// an approval card, instead of leaving it to the next apply run.
	trigger applyTrigger
	// BoardURL and CardURL link the status page to the alert board and cards.
	BoardURL string
	CardURL  func(cardID string) string
}

// Build wires every configured connector into the cycle.
func Build(ctx context.Context, o Options) (*Daemon, error) {
	cfg := o.Config
	if cfg == nil || o.Store == nil || o.Epoch == nil {
		return nil, errors.New("daemon: Config, Store and Epoch are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Clock == nil {
		o.Clock = httpx.SystemClock{}
	}
	httpm, err := httpx.NewMetrics(o.Registry)
	if err != nil {
		return nil, err
	}
	expiry, err := oauthx.NewExpiryGauge(o.Registry)
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, st: o.Store, log: o.Logger}
	if o.StaticLeader {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "adpacer_leader", Help: "1 when this replica runs the jobs and writes, 0 when it follows."})
		g.Set(1)
		if err := o.Registry.Register(g); err != nil {
			return nil, fmt.Errorf("daemon: %w", err)
		}
	}
	mode, err := cycle.ParseMode(cfg.Mode)
	if err != nil {
		return nil, fmt.Errorf("mode: %w", err)
	}
	lineModes := map[string]cycle.Mode{}
	for _, l := range cfg.Pacing.BudgetLines {
		if l.Mode != "" {
			m, err := cycle.ParseMode(l.Mode)
			if err != nil {
				return nil, fmt.Errorf("pacing.budget_lines %s mode: %w", l.ID, err)
			}
			lineModes[l.ID] = m
		}
	}
	copts := cycle.Options{
		Store: o.Store, Now: o.Now, Logger: o.Logger.Named("cycle"), Registerer: o.Registry,
		Lines:  func(now time.Time) ([]pacing.Line, error) { return cfg.Lines(now, pacing.ParseLinesCSV) },
		Policy: cfg.Policy(), Mode: mode, LineModes: lineModes, Epoch: o.Epoch,
	}
	// clientAlerts are connectors' own level-based alerts (revoked token,
	// points exhausted), raised on the board with the cycle's.
	var clientAlerts []func() []adpacer.Alert
	breakerOf := func(id string) *httpx.Breaker {
		return httpx.NewBreaker(id, 5, 5*time.Minute, o.Now, httpm)
	}
	for _, y := range cfg.Connectors.YandexDirect {
		ts, err := tokenSource(y.ID, y.OAuth, YandexTokenURL, o, expiry, httpm)
		if err != nil {
			return nil, err
		}
		c, err := yandexdirect.New(yandexdirect.Config{
			ID: y.ID, BaseURL: y.BaseURL, ClientLogin: y.ClientLogin, UseOperatorUnits: y.UseOperatorUnits,
			Language: y.AcceptLanguage, Goals: y.Goals, MaxInFlight: y.MaxInFlight, Timeout: y.Timeout.D(),
			// Ads.get is most of a sync's points; moderation verdicts take
			// minutes to hours, so hourly is soon enough.
			AdsInterval: time.Hour,
		}, ts, yandexdirect.Options{Registerer: o.Registry, HTTPMetrics: httpm, Logger: o.Logger.Named("yandex_direct"),
			Transport: o.Transport, Clock: o.Clock, Edits: &auditEdits{st: o.Store, now: o.Now},
			// Known ads are read by id, 10,000 per call, after a restart too.
			KnownAds: o.Store.AdStatuses})
		if err != nil {
			return nil, fmt.Errorf("connectors.yandex_direct %s: %w", y.ID, err)
		}
		copts.Ads = append(copts.Ads, cycle.AdInstance{ID: y.ID, Platform: adpacer.YandexDirect, Account: y.ClientLogin,
			Source: c, Actuator: c, Breaker: breakerOf(y.ID), StallShare: stallShare(y.StallShare)})
		clientAlerts = append(clientAlerts, c.Alerts)
	}
	// One operation allowance per Google Cloud project: every customer's
	// client spends from the same budget.
	var googleBudget *googleads.OperationBudget
	if len(cfg.Connectors.GoogleAds) > 0 {
		level := googleads.AccessLevel(cfg.Connectors.GoogleAds[0].AccessLevel)
		if level == "" {
			level = googleads.AccessBasic
		}
		limit, err := level.DailyOperations()
		if err != nil {
			return nil, fmt.Errorf("connectors.google_ads access_level: %w", err)
		}
		if googleBudget, err = googleads.NewOperationBudget(limit, o.Now, o.Registry); err != nil {
			return nil, fmt.Errorf("connectors.google_ads: %w", err)
		}
	}
	for _, g := range cfg.Connectors.GoogleAds {
		ts, err := tokenSource(g.ID, g.OAuth, GoogleTokenURL, o, expiry, httpm)
		if err != nil {
			return nil, err
		}
		c, err := googleads.New(googleads.Options{
			CustomerID: g.CustomerID, LoginCustomerID: g.LoginCustomerID, DeveloperToken: g.DeveloperToken.Reveal(),
			TokenSource: ts, BaseURL: g.BaseURL, Version: g.APIVersion, AccessLevel: googleads.AccessLevel(g.AccessLevel), Budget: googleBudget,
			HTTP:       httpx.Options{Metrics: httpm, Timeout: g.Timeout.D(), Transport: o.Transport, Clock: o.Clock},
			Registerer: o.Registry, Logger: o.Logger.Named("google_ads"), Now: o.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("connectors.google_ads %s: %w", g.ID, err)
		}
		copts.Ads = append(copts.Ads, cycle.AdInstance{ID: g.ID, Platform: adpacer.GoogleAds, Account: strings.ReplaceAll(g.CustomerID, "-", ""),
			Source: c, Actuator: c, Breaker: breakerOf(g.ID), StallShare: stallShare(g.StallShare)})
		// A revoked grant latches the client shut; only its alert tells a
		// person, so it must reach the board like Yandex's.
		clientAlerts = append(clientAlerts, c.Alerts)
	}
	for _, x := range cfg.Connectors.VKAds {
		c, err := vkads.New(vkads.Config{ID: x.ID, BaseURL: x.BaseURL, ClientID: x.ClientID, ClientSecret: x.ClientSecret.Reveal(),
			AgencyClientName: x.AgencyClientName, Timeout: x.Timeout.D()},
			// The store keeps the token across restarts: VK allows five
			// live tokens per client and user.
			vkads.Options{Registerer: o.Registry, HTTPMetrics: httpm, Logger: o.Logger.Named("vk_ads"), Transport: o.Transport,
				Clock: o.Clock, Tokens: o.Store, TokenExpiry: expiry})
		if err != nil {
			return nil, fmt.Errorf("connectors.vk_ads %s: %w", x.ID, err)
		}
		copts.Ads = append(copts.Ads, cycle.AdInstance{ID: x.ID, Platform: adpacer.VKAds, Account: c.Account(),
			Source: c, Actuator: c, Breaker: breakerOf(x.ID), StallShare: stallShare(x.StallShare)})
	}
	for _, t := range cfg.Connectors.Trello {
		c, err := trello.New(trello.Config{Key: t.Key.Reveal(), Token: t.Token.Reveal(), BaseURL: t.BaseURL, Timeout: t.Timeout.D(),
			Metrics: httpm, Logger: o.Logger.Named("trello"), Transport: o.Transport, Clock: o.Clock})
		if err != nil {
			return nil, fmt.Errorf("connectors.trello %s: %w", t.ID, err)
		}
		if len(t.Boards) > 0 {
			// KnownCards lets a full pull close the store's copies of cards
			// deleted upstream or moved to a board not synced: the store
			// only upserts, so without it they would stay open forever.
			bs, err := trello.NewBoardSync(c, trello.SyncOptions{Boards: t.Boards, KnownCards: o.Store.Cards, Logger: o.Logger.Named("trello")})
			if err != nil {
				return nil, fmt.Errorf("connectors.trello %s: %w", t.ID, err)
			}
			copts.Boards = append(copts.Boards, cycle.BoardInstance{ID: t.ID, Source: bs})
		}
		if t.Alerts.Board == "" || copts.Sink != nil {
			continue
		}
		lists := trello.ListNames{Alerts: t.Alerts.Lists.Alerts, Resolved: t.Alerts.Lists.Resolved,
			Approvals: t.Alerts.Lists.Approvals, Approved: t.Alerts.Lists.Approved, Rejected: t.Alerts.Lists.Rejected}
		sink, err := trello.NewAlertSink(c, o.Store, trello.AlertOptions{
			BoardID: t.Alerts.Board, Lists: lists, CommentInterval: t.Alerts.CommentInterval.D(),
			HealthyCycles: t.Alerts.ResolveAfterHealthyCycles, ReopenWindow: t.Alerts.ReopenWindow.D(),
			MaxNewCards: t.Alerts.MaxNewCardsPerCycle, Clock: o.Now, Logger: o.Logger.Named("alerts"),
			OutageSource: outageSource,
		})
		if err != nil {
			return nil, fmt.Errorf("connectors.trello %s alerts: %w", t.ID, err)
		}
		copts.Sink = sink
		ap, err := trello.NewApprovals(c, trello.ApprovalOptions{BoardID: t.Alerts.Board, Lists: lists,
			Expiry: t.Alerts.ApprovalExpiry.D(), Clock: o.Now, Logger: o.Logger.Named("approvals")})
		if err != nil {
			return nil, fmt.Errorf("connectors.trello %s approvals: %w", t.ID, err)
		}
		copts.Approvals = Approver(ap)
		d.BoardURL = boardURL(t.BaseURL, t.Alerts.Board)
		d.CardURL = func(id string) string { return cardURL(t.BaseURL, id) }
		if t.Webhook.Enabled {
			board := t.Alerts.Board
			wh, err := trello.NewWebhookHandler(trello.WebhookOptions{Secret: t.Webhook.Secret.Reveal(), CallbackURL: t.Webhook.CallbackURL,
				Logger: o.Logger.Named("webhook"), Notify: func(ev trello.WebhookEvent) {
					if concernsApprovals(ev, board) {
						d.trigger.kick()
					}
				}})
			if err != nil {
				return nil, fmt.Errorf("connectors.trello %s webhook: %w", t.ID, err)
			}
			d.webhook = wh
		}
	}
	var hours []hoursSource
	var hoursMetrics *everhour.Metrics
	for _, e := range cfg.Connectors.Everhour {
		set, err := everhour.FromConfig(e)
		if err != nil {
			return nil, err
		}
		c, err := everhour.New(set.Client, everhour.Deps{Logger: o.Logger.Named("everhour"), HTTPMetrics: httpm, Transport: o.Transport, Clock: o.Clock})
		if err != nil {
			return nil, fmt.Errorf("connectors.everhour %s: %w", e.ID, err)
		}
		copts.Times = append(copts.Times, cycle.TimeInstance{ID: e.ID, Source: c, RereadDays: set.RereadDays, Location: set.Budgets.Location})
		if hoursMetrics == nil {
			if hoursMetrics, err = everhour.NewMetrics(o.Registry, 50); err != nil {
				return nil, err
			}
		}
		hours = append(hours, hoursSource{id: e.ID, budgets: set.Budgets, alerts: set.Alerts, metrics: hoursMetrics})
	}
	copts.ExtraAlerts = func(ctx context.Context, now time.Time) ([]adpacer.Alert, error) {
		var out []adpacer.Alert
		for _, f := range clientAlerts {
			out = append(out, f()...)
		}
		if len(hours) == 0 {
			return out, nil
		}
		h, err := hoursAlerts(ctx, o.Store, now, hours)
		return append(out, h...), err
	}
	r, err := cycle.New(copts)
	if err != nil {
		return nil, err
	}
	d.Runner = r
	d.trigger.mu.Lock()
	d.trigger.run, d.trigger.timeout, d.trigger.log = r.Apply, cfg.Jobs.Apply.Timeout.D(), o.Logger.Named("webhook")
	d.trigger.mu.Unlock()
	if d.jobs, err = d.buildJobs(); err != nil {
		return nil, err
	}
	h, err := status.Handler(status.Options{Status: r.LastStatus, Store: o.Store, BoardURL: d.BoardURL, CardURL: d.CardURL, Title: cfg.InstanceName})
	if err != nil {
		return nil, err
	}
	d.status = h
	return d, nil
}

// tokenSource picks the OAuth source of a connector: a refresh token through
// the persisting oauthx source, or a static long-lived access token.
func tokenSource(id string, o config.OAuth, defaultURL string, opt Options, expiry *prometheus.GaugeVec, m *httpx.Metrics) (oauth2.TokenSource, error) {
	if o.RefreshToken.IsZero() {
		if o.AccessToken.IsZero() {
			return nil, fmt.Errorf("connector %s: no refresh_token or access_token configured", id)
		}
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: o.AccessToken.Reveal()}), nil
	}
	url := o.TokenURL
	if url == "" {
		url = defaultURL
	}
	hc, err := httpx.New(httpx.Options{Name: "oauth", Metrics: m, Timeout: 30 * time.Second, MaxAttempts: 3, Transport: opt.Transport, Clock: opt.Clock})
	if err != nil {
		return nil, err
	}
	return oauthx.New(oauthx.Config{Name: id, ClientID: o.ClientID, ClientSecret: o.ClientSecret.Reveal(), TokenURL: url,
		RefreshToken: o.RefreshToken.Reveal(), Store: opt.Store, HTTPClient: hc.HTTPClient(), Now: opt.Now, Expiry: expiry})
}

// outageSource groups outage alerts by the source named in their key
// ("stale:<source>") so an outage is one card.
func outageSource(a adpacer.Alert) string {
	if _, src, ok := strings.Cut(a.Key, ":"); ok {
		return src
	}
	return string(a.Campaign.Platform())
}

func boardURL(base, board string) string {
	base = strings.TrimRight(base, "/")
	if base == "" || strings.Contains(base, "api.trello.com") {
		return "https://trello.com/b/" + board
	}
	// The in-repo fake serves its HTML view next to its API.
	return strings.TrimSuffix(base, "/1") + "/board/" + board
}

// Approver adapts Trello approval cards to the cycle's Approver.
func Approver(a *trello.Approvals) cycle.Approver { return approver{a} }

// cardURL links one card by id (Trello accepts ids and short links).
func cardURL(base, card string) string {
	base = strings.TrimRight(base, "/")
	if base == "" || strings.Contains(base, "api.trello.com") {
		return "https://trello.com/c/" + card
	}
	return strings.TrimSuffix(base, "/1") + "/c/" + card
}

type approver struct{ a *trello.Approvals }

func (p approver) Request(ctx context.Context, a adpacer.Action, detail string) error {
	return p.a.Request(ctx, a, detail)
}

func (p approver) Decisions(ctx context.Context) ([]cycle.Decision, error) {
	ds, err := p.a.Decisions(ctx)
	out := make([]cycle.Decision, 0, len(ds))
	for _, d := range ds {
		out = append(out, cycle.Decision{Key: d.Key, Approved: d.Verdict == trello.VerdictApproved,
			Expired: d.Verdict == trello.VerdictExpired, By: d.By, At: d.At})
	}
	return out, err
}

func (p approver) Close(ctx context.Context, key adpacer.ActionKey, outcome string) error {
	return p.a.Close(ctx, key, outcome)
}

// auditEdits counts Yandex daily-budget edits per Moscow day from the
// audit log, so the three-edits rule survives restarts without a table of
// its own. One read of the day's audit serves every campaign for a minute
// of the daemon's clock (the connector asks per campaign and per action);
// SetBudgetEdits keeps the cached count current within that minute.
type auditEdits struct {
	st  store.Store
	now func() time.Time

	mu     sync.Mutex
	day    string
	loaded time.Time
	counts map[adpacer.CampaignID]int
}

func (a *auditEdits) BudgetEdits(ctx context.Context, campaign adpacer.CampaignID, day string) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if a.counts == nil || day != a.day || now.Sub(a.loaded) > time.Minute || now.Before(a.loaded) {
		if err := a.load(ctx, day); err != nil {
			return 0, err
		}
		a.loaded = now
	}
	return a.counts[campaign], nil
}

func (a *auditEdits) load(ctx context.Context, day string) error {
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return err
	}
	start, err := time.ParseInLocation(time.DateOnly, day, msk)
	if err != nil {
		return fmt.Errorf("budget edits: day %q: %w", day, err)
	}
	end := start.AddDate(0, 0, 1)
	entries, err := a.st.Audit(ctx, start, 0)
	if err != nil {
		return err
	}
	counts := map[adpacer.CampaignID]int{}
	for _, e := range entries {
		if e.Kind != string(adpacer.SetDailyBudget) || !e.At.Before(end) {
			continue
		}
		// A noop of the applier is nearly always the replay of our own
		// write that landed before a crash recorded it: Yandex counted
		// that edit (the pacing memory counts it the same way).
		if e.Outcome == string(adpacer.ActionApplied) || (e.Outcome == string(adpacer.ActionNoop) && e.Actor == "applier") {
			counts[e.Campaign]++
		}
	}
	// A budget action left claimed by a crash (or a paused former leader)
	// may have reached Yandex without its outcome being recorded: count it,
	// erring toward fewer edits rather than a refused fourth.
	claimed, err := a.st.Actions(ctx, store.ActionFilter{States: []adpacer.ActionState{adpacer.ActionClaimed}, Since: start})
	if err != nil {
		return err
	}
	for _, c := range claimed {
		if c.Kind == adpacer.SetDailyBudget && c.PlannedAt.Before(end) {
			counts[c.Campaign]++
		}
	}
	a.day, a.counts = day, counts
	return nil
}

// SetBudgetEdits raises the cached count after a write the connector made;
// the audit entry the cycle writes for it is the durable count.
func (a *auditEdits) SetBudgetEdits(_ context.Context, campaign adpacer.CampaignID, day string, n int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if day == a.day && a.counts != nil && n > a.counts[campaign] {
		a.counts[campaign] = n
	}
	return nil
}

// concernsApprovals reports whether a verified webhook event may be a
// manager's verdict on an approval card: a card moved to another list or
// labelled, on the alerts board. The daemon's own card creations, comments
// and archives arrive too and are not verdicts, so they trigger nothing
// (a trigger per own action would loop the applier for nothing).
func concernsApprovals(ev trello.WebhookEvent, board string) bool {
	if ev.BoardID != "" && board != "" && ev.BoardID != board {
		return false
	}
	return ev.ListAfter != "" || ev.Label != "" || ev.Type == "addLabelToCard"
}

// applyTrigger runs an apply as soon as a webhook reports a verdict.
// Kicks never block the webhook handler and are coalesced: at most one run
// at a time, and kicks during a run cause exactly one more run after it
// (the ledger makes a run with nothing new cheap and a repeated one safe).
// Apply itself refuses on a replica that is not the leader.
type applyTrigger struct {
	run     func(ctx context.Context) error
	timeout time.Duration
	log     *zap.Logger

	mu      sync.Mutex
	running bool
	again   bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	runs    int // completed runs, for tests
}

func (t *applyTrigger) kick() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.run == nil {
		return
	}
	if t.running {
		t.again = true
		return
	}
	t.running = true
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.wg.Add(1)
	go t.loop(ctx, cancel)
}

func (t *applyTrigger) loop(ctx context.Context, cancel context.CancelFunc) {
	defer t.wg.Done()
	defer cancel()
	for {
		timeout := t.timeout
		if timeout <= 0 {
			timeout = 5 * time.Minute
		}
		rctx, rcancel := context.WithTimeout(ctx, timeout)
		err := t.run(rctx)
		rcancel()
		if err != nil {
			t.log.Warn("apply after a webhook failed; the scheduled apply retries", zap.Error(err))
		}
		t.mu.Lock()
		t.runs++
		if !t.again || t.closed {
			t.running = false
			t.mu.Unlock()
			return
		}
		t.again = false
		t.mu.Unlock()
	}
}

// Close stops the webhook trigger: no new run starts, a running one is
// cancelled and waited for until ctx ends. Call it after the scheduler has
// drained and before the store closes. A run cut short is as safe as a
// crash: the ledger replays what it left claimed.
func (d *Daemon) Close(ctx context.Context) error {
	t := &d.trigger
	t.mu.Lock()
	t.closed = true
	if t.cancel != nil {
		t.cancel()
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("daemon: webhook-triggered apply did not stop: %w", ctx.Err())
	}
}

// stallShare is a source's reporting-stall share (config.DefaultStallShare
// when the config left it out).
func stallShare(v *float64) float64 {
	if v == nil {
		return config.DefaultStallShare
	}
	return *v
}
