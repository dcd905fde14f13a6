package daemon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
)

// The world of the crash test and the full-cycle benchmark: fake Yandex
// Direct, Google Ads and Trello servers on loopback with deterministic
// spend, a config file and secret files that point the real daemon at
// them, exactly as an operator would write them.

const (
	worldLogin       = "bank-crash"
	worldYandexToken = "tok-yandex-crash"
	worldGoogleCID   = "7770000001"
	worldRefresh     = "google-refresh-crash"
	worldTrelloKey   = "trello-key-crash"
	worldTrelloToken = "trello-token-crash"
	worldGoal        = 1
)

// worldSpec sizes a world.
type worldSpec struct {
	Yandex, Google int // campaigns per platform
	Lines          int // budget lines; campaigns are dealt round-robin
	// Period of every line (dates, inclusive) and the line budget.
	PeriodStart, PeriodEnd string
	LineBudgetRUB          int64
	// DailySpendRUB is what each campaign spends a day (static demand,
	// far below what its line needs), DailyBudgetRUB its starting budget.
	DailySpendRUB, DailyBudgetRUB int64
	// Start is the clock's first reading.
	Start time.Time
	// Policy lines appended under pacing.policy (YAML, two-space indent).
	Policy string
	Mode   string
	// AdsPerCampaign on Yandex (default 1), all accepted at the start.
	AdsPerCampaign int
	// RejectedAds: the first ad of this many Yandex campaigns starts
	// rejected by moderation (one alert card each).
	RejectedAds int
	// Schedule, when set, is the cron spec of every connector and job
	// (the idle measurement runs the binary on its own scheduler).
	Schedule string
}

// world is the set of running fakes.
type world struct {
	spec   worldSpec
	clock  *worldClock
	yandex *yandexdirecttest.Server
	ysrv   *httptest.Server
	google *googleadstest.Server
	trello *trellotest.Server
	board  trellotest.Board

	yandexIDs []int64
	googleIDs []int64

	// writeLatency is added (wall time) to every mutating Yandex request,
	// half before the fake applies it and half after, so a kill can land
	// while a write is in flight both before and after it took effect.
	writeLatency atomic.Int64
	// yandexReads counts non-mutating Yandex requests (a pull has begun).
	yandexReads atomic.Int64
	// googleWrites counts applied Google Ads mutates that changed a field.
	googleWrites   atomic.Int64
	writesInFlight atomic.Int64
	// onWriteArrival, when set, is told of every mutating request as it
	// arrives (before it is applied).
	arrivalMu      sync.Mutex
	onWriteArrival func()

	mu      sync.Mutex
	writes  []taggedWrite
	tag     int             // incarnation the parent is running
	budgets map[int64]int64 // campaign -> daily budget (micros) now on the platform
}

// taggedWrite is one applied Yandex change and the incarnation that was
// running when it landed.
type taggedWrite struct {
	yandexdirecttest.WriteEvent
	Incarnation int
}

// worldClock is the fakes' clock: set by the test between runs.
type worldClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *worldClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *worldClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// spendOf is the deterministic spend of campaign n on a day: demand of
// DailySpendRUB with a small per-campaign, per-day wobble, capped by the
// campaign's daily budget on the platform, as a platform caps it (a
// consistent world: the engine raises budgets because they bind).
func (w *world) spendOf(n int64, day string) int64 {
	d, _ := time.Parse(time.DateOnly, day)
	wobble := (n*7 + int64(d.YearDay())*13) % 21 // 0..20 %
	demand := w.spec.DailySpendRUB * 1_000_000 * (90 + wobble) / 100
	w.mu.Lock()
	budget, ok := w.budgets[n]
	w.mu.Unlock()
	if ok && budget < demand {
		return budget
	}
	return demand
}

func (w *world) setBudget(id int64, micros string) {
	v, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return
	}
	w.mu.Lock()
	w.budgets[id] = v
	w.mu.Unlock()
}

// yandexSpend serves reports from spendOf, spread evenly over the hours.
type yandexSpend struct{ w *world }

func (y yandexSpend) CampaignSpend(id int64, day string) yandexdirecttest.Spend {
	c := y.w.spendOf(id, day)
	return yandexdirecttest.Spend{CostMicros: c, Clicks: c / 20_000_000, Impressions: c / 1_000_000,
		Conversions: map[int64]int64{worldGoal: c / 1_500_000_000}}
}

func (y yandexSpend) CampaignSpendUntil(id int64, day string, now time.Time) yandexdirecttest.Spend {
	start, err := time.ParseInLocation(time.DateOnly, day, yandexdirecttest.Moscow())
	if err != nil || !now.After(start) {
		return yandexdirecttest.Spend{}
	}
	frac := int64(now.Sub(start) / time.Second)
	if frac > 86400 {
		frac = 86400
	}
	c := y.w.spendOf(id, day) * frac / 86400
	return yandexdirecttest.Spend{CostMicros: c, Clicks: c / 20_000_000, Impressions: c / 1_000_000,
		Conversions: map[int64]int64{worldGoal: c / 1_500_000_000}}
}

// googleSpend serves the same shape by account-local hour; hours that have
// not ended yet are empty.
func (w *world) googleSpend(loc *time.Location) googleadstest.SpendFunc {
	return func(_ string, id int64, date string) [24]googleadstest.Metrics {
		var out [24]googleadstest.Metrics
		start, err := time.ParseInLocation(time.DateOnly, date, loc)
		if err != nil {
			return out
		}
		per := w.spendOf(id, date) / 24
		now := w.clock.Now()
		for h := 0; h < 24; h++ {
			if start.Add(time.Duration(h+1) * time.Hour).After(now) {
				break
			}
			out[h] = googleadstest.Metrics{CostMicros: per, Clicks: per / 20_000_000, Impressions: per / 1_000_000,
				Conversions: float64(per) / 1_500_000_000}
		}
		return out
	}
}

// newWorld starts the fakes. Close them with w.close.
func newWorld(t testing.TB, spec worldSpec) *world {
	t.Helper()
	w := &world{spec: spec, clock: &worldClock{t: spec.Start}, budgets: map[int64]int64{}}
	w.yandex = yandexdirecttest.NewUnstarted(yandexdirecttest.Options{Clock: w.clock, Spend: yandexSpend{w},
		ReportPolls: -1, DailyUnits: 100_000_000, Seed: 1})
	w.yandex.AddAdvertiser(worldLogin, worldYandexToken)
	w.yandex.OnWrite(func(ev yandexdirecttest.WriteEvent) {
		w.mu.Lock()
		w.writes = append(w.writes, taggedWrite{WriteEvent: ev, Incarnation: w.tag})
		w.mu.Unlock()
		if ev.Field == "DailyBudget" {
			w.setBudget(ev.Campaign, ev.New)
		}
	})
	w.ysrv = httptest.NewServer(http.HandlerFunc(w.serveYandex))
	t.Cleanup(w.ysrv.Close)
	for i := 0; i < spec.Yandex; i++ {
		id := int64(1000 + i)
		w.yandex.AddCampaign(worldLogin, yandexdirecttest.Campaign{ID: id, Name: fmt.Sprintf("Loans Y%d", i),
			DailyBudget: &yandexdirecttest.DailyBudget{Amount: spec.DailyBudgetRUB * 1_000_000, Mode: "STANDARD"},
			Keywords:    3, SearchBid: 15_000_000})
		for k := 0; k < max(spec.AdsPerCampaign, 1); k++ {
			ad := yandexdirecttest.Ad{ID: id*100 + int64(k), CampaignID: id, Status: "ACCEPTED", State: "ON"}
			if k == 0 && i < spec.RejectedAds {
				ad.Status, ad.StatusClarification = "REJECTED", "The ad does not state the full cost of credit (38-FZ art. 28)."
			}
			w.yandex.AddAd(ad)
		}
		w.yandexIDs = append(w.yandexIDs, id)
		w.budgets[id] = spec.DailyBudgetRUB * 1_000_000
	}
	if spec.Google > 0 {
		msk := yandexdirecttest.Moscow()
		g, err := googleadstest.Start(googleadstest.Options{Now: w.clock.Now, Spend: w.googleSpend(msk), DailyOperations: 10_000_000})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Close)
		w.google = g
		g.AddRefreshToken(worldRefresh)
		g.OnMutate(func(ev googleadstest.MutateEvent) {
			w.googleWrites.Add(int64(len(ev.Changes)))
			for _, c := range ev.Changes {
				if c.Field != "amountMicros" {
					continue
				}
				// customers/<cid>/campaignBudgets/<id>: budget ids are the
				// campaign ids in this world.
				if i := strings.LastIndexByte(c.ResourceName, '/'); i >= 0 {
					if id, err := strconv.ParseInt(c.ResourceName[i+1:], 10, 64); err == nil {
						w.setBudget(id, c.New)
					}
				}
			}
		})
		if err := g.AddCustomer(googleadstest.Customer{ID: worldGoogleCID, Name: "Bank", TimeZone: "Europe/Moscow", Currency: "RUB", MinDailyBudgetMicros: 1_000_000}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < spec.Google; i++ {
			id := int64(5000 + i)
			steps := []error{
				g.AddBudget(worldGoogleCID, googleadstest.Budget{ID: id, Name: "Budget " + strconv.Itoa(i), AmountMicros: spec.DailyBudgetRUB * 1_000_000, Status: "ENABLED"}),
				g.AddCampaign(worldGoogleCID, googleadstest.Campaign{ID: id, Name: "Loans G" + strconv.Itoa(i), Status: "ENABLED", BudgetID: id, BiddingStrategyType: "MANUAL_CPC", ChannelType: "SEARCH"}),
				g.AddAdGroup(worldGoogleCID, googleadstest.AdGroup{ID: id * 10, CampaignID: id, Name: "Main", Status: "ENABLED", CPCBidMicros: 15_000_000}),
				g.AddAd(worldGoogleCID, googleadstest.Ad{ID: id * 100, AdGroupID: id * 10, Status: "ENABLED", Approval: "APPROVED", Review: "REVIEWED"}),
			}
			for _, err := range steps {
				if err != nil {
					t.Fatal(err)
				}
			}
			w.googleIDs = append(w.googleIDs, id)
			w.budgets[id] = spec.DailyBudgetRUB * 1_000_000
		}
	}
	w.trello = trellotest.NewServer(trellotest.Options{Now: w.clock.Now, Key: worldTrelloKey, Token: worldTrelloToken, Username: "adpacer-bot",
		TokenLimit: 1_000_000, KeyLimit: 1_000_000})
	t.Cleanup(w.trello.Close)
	w.board = w.trello.CreateBoard(trellotest.BoardSpec{Name: "Bank — budget alerts",
		Lists: []string{"Alerts", "Approvals", "Approved", "Rejected", "Resolved"}, Members: []string{"anna.pm"}})
	return w
}

// serveYandex fronts the fake: mutating requests get the write latency
// (half before, half after they are applied) and are announced.
func (w *world) serveYandex(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, "read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var env struct {
		Method string `json:"method"`
	}
	_ = json.Unmarshal(body, &env)
	if env.Method != "update" && env.Method != "set" && env.Method != "suspend" && env.Method != "resume" {
		w.yandexReads.Add(1)
		w.yandex.ServeHTTP(rw, r)
		return
	}
	w.writesInFlight.Add(1)
	defer w.writesInFlight.Add(-1)
	w.arrivalMu.Lock()
	f := w.onWriteArrival
	w.arrivalMu.Unlock()
	if f != nil {
		f()
	}
	// The wait ignores the client: a request the daemon sent before it
	// died still reaches the platform, as on a real network.
	half := time.Duration(w.writeLatency.Load()) / 2
	time.Sleep(half)
	w.yandex.ServeHTTP(rw, r)
	time.Sleep(half)
}

func (w *world) setTag(i int) {
	w.mu.Lock()
	w.tag = i
	w.mu.Unlock()
}

func (w *world) writeLog() []taggedWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]taggedWrite(nil), w.writes...)
}

// waitWritesDrained waits until no mutating request is inside the fake, so
// a killed daemon's last write has landed (or not) before the next starts.
func (w *world) waitWritesDrained(t testing.TB) {
	deadline := time.Now().Add(10 * time.Second)
	for w.writesInFlight.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a Yandex write stayed in flight for 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// writeConfig writes the daemon's config and secrets into dir and returns
// the config path.
func (w *world) writeConfig(t testing.TB, dir string) string {
	t.Helper()
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"yandex-token": worldYandexToken, "google-refresh": worldRefresh,
		"google-secret": googleadstest.DefaultClientSecret, "trello-key": worldTrelloKey, "trello-token": worldTrelloToken} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mode := w.spec.Mode
	if mode == "" {
		mode = "apply"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mode: %s\ninstance_name: adpacer-crash\n", mode)
	fmt.Fprintf(&b, "store:\n  driver: sqlite\n  sqlite:\n    path: %s\n", filepath.Join(dir, "adpacer.db"))
	fmt.Fprintf(&b, "log:\n  level: warn\n  format: json\n")
	sched := ""
	if w.spec.Schedule != "" {
		sched = fmt.Sprintf("      schedule: %q\n", w.spec.Schedule)
		fmt.Fprintf(&b, "http:\n  listen: 127.0.0.1:0\njobs:\n")
		for _, j := range []string{"pace", "apply", "alerts"} {
			// Jitter 1s keeps each run's jobs together, so the rest of
			// the interval is idle time between cron runs.
			fmt.Fprintf(&b, "  %s:\n    schedule: %q\n    jitter: 1s\n", j, w.spec.Schedule)
		}
	}
	fmt.Fprintf(&b, "connectors:\n  yandex_direct:\n    - id: yandex-main\n      base_url: %s\n      client_login: %s\n      goals: [%d]\n%s      oauth:\n        access_token_file: %s\n",
		w.ysrv.URL, worldLogin, worldGoal, sched, filepath.Join(secrets, "yandex-token"))
	if w.google != nil {
		fmt.Fprintf(&b, "  google_ads:\n    - id: google-main\n      base_url: %s\n      customer_id: %q\n%s      oauth:\n        client_id: %s\n        client_secret_file: %s\n        refresh_token_file: %s\n        token_url: %s\n",
			w.google.URL(), worldGoogleCID, sched, googleadstest.DefaultClientID, filepath.Join(secrets, "google-secret"), filepath.Join(secrets, "google-refresh"), w.google.TokenURL())
	}
	fmt.Fprintf(&b, "  trello:\n    - id: trello-main\n      base_url: %s\n      key_file: %s\n      token_file: %s\n      alerts:\n        board: %s\n        max_new_cards_per_cycle: 1000\n",
		w.trello.BaseURL(), filepath.Join(secrets, "trello-key"), filepath.Join(secrets, "trello-token"), w.board.ID)
	fmt.Fprintf(&b, "pacing:\n")
	if w.spec.Policy != "" {
		fmt.Fprintf(&b, "  policy:\n%s", w.spec.Policy)
	}
	fmt.Fprintf(&b, "  budget_lines:\n")
	var camps []string
	for _, id := range w.yandexIDs {
		camps = append(camps, fmt.Sprintf("yandex_direct:%d", id))
	}
	for _, id := range w.googleIDs {
		camps = append(camps, fmt.Sprintf("google_ads:%d", id))
	}
	for l := 0; l < w.spec.Lines; l++ {
		fmt.Fprintf(&b, "    - id: line-%03d\n      name: \"Loans line %d\"\n      directorate: dir-%d\n      owner: anna.pm\n      timezone: Europe/Moscow\n      period: {start: %q, end: %q}\n      budget: %d\n      currency: RUB\n      campaigns: [",
			l, l, l%5, w.spec.PeriodStart, w.spec.PeriodEnd, w.spec.LineBudgetRUB)
		first := true
		for i := l; i < len(camps); i += w.spec.Lines {
			if !first {
				b.WriteString(", ")
			}
			first = false
			fmt.Fprintf(&b, "%q", camps[i])
		}
		b.WriteString("]\n")
	}
	path := filepath.Join(dir, "adpacer.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
