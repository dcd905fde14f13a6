package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/adpacer/adpacer/store/storetest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/store/postgres"
)

// The world of the HA test: one fake Yandex Direct and one fake Trello on
// loopback, on the real clock (the daemons run on it too), and a fresh
// PostgreSQL schema. Each daemon process reaches Yandex through its own
// front (a second loopback listener on the same fake), so every platform
// write is tagged with the process that sent it; everything else in their
// configs is the same.

// envPostgresDSN enables the test (the same variable as the store tests).
const envPostgresDSN = "ADPACER_TEST_POSTGRES_DSN"

const (
	haLogin       = "bank-ha"
	haYandexToken = "tok-yandex-ha"
	haTrelloKey   = "trello-key-ha"
	haTrelloToken = "trello-token-ha"
	haGoal        = 1
	haCampaigns   = 20
	haLines       = 4
)

// haWrite is one mutating Yandex request's effect as the fake applied it,
// with the process whose front it came through.
type haWrite struct {
	yandexdirecttest.WriteEvent
	Proc string
	// Arrived is when the request reached the front (before the fake
	// applied it).
	Arrived time.Time
}

type haWorld struct {
	yandex *yandexdirecttest.Server
	trello *trellotest.Server
	board  trellotest.Board
	ids    []int64

	// writeMu serialises mutating requests across the fronts, so the fake's
	// write callback knows which front the current one came through.
	writeMu sync.Mutex
	cur     string
	arrived time.Time

	mu      sync.Mutex
	writes  []haWrite
	budgets map[int64]int64
	// onArrival, when set, sees every mutating request as it reaches a
	// front, before the fake applies it.
	onArrival func(proc string)
}

func newHAWorld(t *testing.T) *haWorld {
	t.Helper()
	w := &haWorld{budgets: map[int64]int64{}}
	w.yandex = yandexdirecttest.NewUnstarted(yandexdirecttest.Options{Spend: haSpend{w}, ReportPolls: -1,
		DailyUnits: 100_000_000, MaxInFlight: 10, Seed: 1})
	w.yandex.AddAdvertiser(haLogin, haYandexToken)
	w.yandex.OnWrite(func(ev yandexdirecttest.WriteEvent) {
		// Called under writeMu (the front holds it while the fake serves).
		w.mu.Lock()
		w.writes = append(w.writes, haWrite{WriteEvent: ev, Proc: w.cur, Arrived: w.arrived})
		if ev.Field == "DailyBudget" {
			if v, err := strconv.ParseInt(ev.New, 10, 64); err == nil {
				w.budgets[ev.Campaign] = v
			}
		}
		w.mu.Unlock()
	})
	for i := 0; i < haCampaigns; i++ {
		id := int64(1000 + i)
		// Every campaign starts suspended by the account's manager, so the
		// engine leaves it alone; the test resumes batches of them (as the
		// manager would in the web interface) when it wants the leader of
		// the moment to have work. Demand (150,000 RUB a day) is above the
		// 100,000 budget and the lines are far behind their plan, so a
		// resumed campaign gets one budget raise: Yandex's edit rules allow
		// one raise per campaign and Moscow day, and ledger keys make the
		// engine decide a setting once per hour, so without the batches
		// all the work would be done in the first seconds.
		w.yandex.AddCampaign(haLogin, yandexdirecttest.Campaign{ID: id, Name: fmt.Sprintf("Loans HA %d", i), State: "SUSPENDED",
			DailyBudget: &yandexdirecttest.DailyBudget{Amount: 100_000 * 1_000_000, Mode: "STANDARD"},
			Keywords:    3, SearchBid: 15_000_000})
		ad := yandexdirecttest.Ad{ID: id * 100, CampaignID: id, Status: "ACCEPTED", State: "ON"}
		if i < 2 {
			ad.Status, ad.StatusClarification = "REJECTED", "The ad does not state the full cost of credit (38-FZ art. 28)."
		}
		w.yandex.AddAd(ad)
		w.ids = append(w.ids, id)
		w.budgets[id] = 100_000 * 1_000_000
	}
	w.trello = trellotest.NewServer(trellotest.Options{Key: haTrelloKey, Token: haTrelloToken, Username: "adpacer-bot",
		TokenLimit: 1_000_000, KeyLimit: 1_000_000})
	t.Cleanup(w.trello.Close)
	w.board = w.trello.CreateBoard(trellotest.BoardSpec{Name: "Bank — budget alerts",
		Lists: []string{"Alerts", "Approvals", "Approved", "Rejected", "Resolved"}, Members: []string{"anna.pm"}})
	return w
}

// front starts the Yandex listener process proc talks to.
func (w *haWorld) front(t *testing.T, proc string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
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
		switch env.Method {
		case "update", "set", "suspend", "resume", "add", "delete":
		default:
			w.yandex.ServeHTTP(rw, r)
			return
		}
		arrived := time.Now()
		w.mu.Lock()
		f := w.onArrival
		w.mu.Unlock()
		if f != nil {
			f(proc)
		}
		w.writeMu.Lock()
		defer w.writeMu.Unlock()
		w.cur, w.arrived = proc, arrived
		w.yandex.ServeHTTP(rw, r)
		w.cur = ""
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// operator is the tag of changes the test makes as the account's manager.
const operator = "operator"

// resume resumes campaigns ids[from:to] through the Yandex API, as the
// account's manager would.
func (w *haWorld) resume(t *testing.T, from, to int) {
	t.Helper()
	var ids []string
	for _, id := range w.ids[from:to] {
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	body := `{"method":"resume","params":{"SelectionCriteria":{"Ids":[` + strings.Join(ids, ",") + `]}}}`
	req := httptest.NewRequest(http.MethodPost, "/json/v5/campaigns", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+haYandexToken)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	rec := httptest.NewRecorder()
	w.writeMu.Lock()
	w.cur, w.arrived = operator, time.Now()
	w.yandex.ServeHTTP(rec, req)
	w.cur = ""
	w.writeMu.Unlock()
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"Errors"`) || strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("resume campaigns %v: %d %s", ids, rec.Code, rec.Body.String())
	}
}

func (w *haWorld) setArrival(f func(proc string)) {
	w.mu.Lock()
	w.onArrival = f
	w.mu.Unlock()
}

func (w *haWorld) writeLog() []haWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]haWrite(nil), w.writes...)
}

// haSpend: demand of 150,000 RUB a day with a small per-campaign, per-day
// wobble, capped by the campaign's budget on the platform; one conversion
// per 1,500 RUB.
type haSpend struct{ w *haWorld }

func (s haSpend) day(id int64, day string) int64 {
	d, _ := time.Parse(time.DateOnly, day)
	wobble := (id*7 + int64(d.YearDay())*13) % 21
	demand := int64(150_000) * 1_000_000 * (90 + wobble) / 100
	s.w.mu.Lock()
	b := s.w.budgets[id]
	s.w.mu.Unlock()
	return min(demand, b)
}

func haStat(c int64) yandexdirecttest.Spend {
	return yandexdirecttest.Spend{CostMicros: c, Clicks: c / 20_000_000, Impressions: c / 1_000_000,
		Conversions: map[int64]int64{haGoal: c / 1_500_000_000}}
}

func (s haSpend) CampaignSpend(id int64, day string) yandexdirecttest.Spend {
	return haStat(s.day(id, day))
}

func (s haSpend) CampaignSpendUntil(id int64, day string, now time.Time) yandexdirecttest.Spend {
	start, err := time.ParseInLocation(time.DateOnly, day, yandexdirecttest.Moscow())
	if err != nil || !now.After(start) {
		return yandexdirecttest.Spend{}
	}
	sec := min(int64(now.Sub(start)/time.Second), 86400)
	return haStat(s.day(id, day) * sec / 86400)
}

// freshSchema creates a migrated schema with a random name, dropped when
// the test ends, and returns the DSN selecting it through search_path.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	addr := storetest.PostgresSchema(t, "adpacer_ha")
	st, err := postgres.Open(ctx, addr, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate the test schema: %v", err)
	}
	return addr
}

// writeConfig writes the config of one process (its Yandex front differs,
// nothing else) and returns its path.
func (w *haWorld) writeConfig(t *testing.T, dir, proc, yandexURL, dsn string) string {
	t.Helper()
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"yandex-token": haYandexToken, "trello-key": haTrelloKey,
		"trello-token": haTrelloToken, "pg-dsn": dsn} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().In(yandexdirecttest.Moscow())
	start, end := now.AddDate(0, 0, -20).Format(time.DateOnly), now.AddDate(0, 0, 340).Format(time.DateOnly)
	var b strings.Builder
	fmt.Fprintf(&b, "mode: apply\ninstance_name: adpacer-ha\n")
	fmt.Fprintf(&b, "store:\n  driver: postgres\n  postgres:\n    dsn_file: %s\n", filepath.Join(secrets, "pg-dsn"))
	fmt.Fprintf(&b, "http:\n  listen: 127.0.0.1:0\nlog:\n  level: info\n  format: json\nshutdown_timeout: 10s\n")
	fmt.Fprintf(&b, "jobs:\n")
	for _, j := range []string{"pace", "apply", "alerts"} {
		fmt.Fprintf(&b, "  %s:\n    schedule: \"@every 1s\"\n    jitter: 0s\n", j)
	}
	fmt.Fprintf(&b, "connectors:\n  yandex_direct:\n    - id: yandex-main\n      base_url: %s\n      client_login: %s\n      goals: [%d]\n      schedule: \"@every 1s\"\n      timeout: 60s\n      oauth:\n        access_token_file: %s\n",
		yandexURL, haLogin, haGoal, filepath.Join(secrets, "yandex-token"))
	fmt.Fprintf(&b, "  trello:\n    - id: trello-main\n      base_url: %s\n      key_file: %s\n      token_file: %s\n      alerts:\n        board: %s\n        max_new_cards_per_cycle: 100\n",
		w.trello.BaseURL(), filepath.Join(secrets, "trello-key"), filepath.Join(secrets, "trello-token"), w.board.ID)
	fmt.Fprintf(&b, "pacing:\n  policy:\n    max_budget_step_pct: 6\n    tolerance_pct: 2\n  budget_lines:\n")
	// Each line is far behind its plan (1,000M RUB a year, about 55M by
	// now, against 10M spent), beyond the engine's intraday band, so raises
	// are decided at any hour, not only in the first hours of the day.
	for l := 0; l < haLines; l++ {
		fmt.Fprintf(&b, "    - id: line-%d\n      name: \"Loans line %d\"\n      directorate: dir-%d\n      owner: anna.pm\n      timezone: Europe/Moscow\n      period: {start: %q, end: %q}\n      budget: 1000000000\n      currency: RUB\n      campaigns: [",
			l, l, l, start, end)
		for i := l; i < len(w.ids); i += haLines {
			if i != l {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "\"yandex_direct:%d\"", w.ids[i])
		}
		b.WriteString("]\n")
	}
	path := filepath.Join(dir, "adpacer-"+proc+".yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
