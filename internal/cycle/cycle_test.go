package cycle_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/connectors/trello"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/internal/daemon"
	"github.com/adpacer/adpacer/internal/httpx"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/sqlite"
)

const (
	token = "tok-cycle"
	login = "bank-client"
)

// t0 is 12:00 Moscow on Monday 16 November 2026.
var t0 = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)

type recordingSink struct {
	mu    sync.Mutex
	calls [][]adpacer.Alert
}

func (s *recordingSink) Sync(_ context.Context, firing []adpacer.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, append([]adpacer.Alert(nil), firing...))
	return nil
}

func (s *recordingSink) last() []adpacer.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		return nil
	}
	return s.calls[len(s.calls)-1]
}

type world struct {
	fake   *yandexdirecttest.Server
	clock  *yandexdirecttest.ManualClock
	spend  *yandexdirecttest.MemorySpend
	store  *sqlite.Store
	runner *cycle.Runner
	client *yandexdirect.Client
	lines  []pacing.Line
	reg    *prometheus.Registry
	sink   *recordingSink
	ids    []int64
}

// newWorld builds a Yandex fake with two campaigns whose daily budgets are
// far below what their line needs, a SQLite store and a runner in mode.
func newWorld(t *testing.T, mode cycle.Mode, opts ...func(*cycle.Options)) *world {
	t.Helper()
	w := &world{clock: yandexdirecttest.NewManualClock(t0), spend: yandexdirecttest.NewMemorySpend(), sink: &recordingSink{}}
	w.fake = yandexdirecttest.New(yandexdirecttest.Options{Clock: w.clock, Spend: w.spend, ModerationDelay: time.Minute})
	t.Cleanup(w.fake.Close)
	w.fake.AddAdvertiser(login, token)
	for i := 0; i < 2; i++ {
		id := w.fake.AddCampaign(login, yandexdirecttest.Campaign{
			Name: "retail-" + strconv.Itoa(i), DailyBudget: &yandexdirecttest.DailyBudget{Amount: 20_000_000_000, Mode: "STANDARD"},
			Keywords: 3, SearchBid: 20_000_000,
		})
		w.ids = append(w.ids, id)
		// Half a month of steady history: each spends its whole 20,000 RUB
		// daily budget, while the line needs about 80,000 a day each.
		for d := 1; d < 16; d++ {
			day := time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			w.spend.SetDay(id, day, yandexdirecttest.Spend{CostMicros: 20_000_000_000, Clicks: 800, Impressions: 20000})
		}
	}
	client, err := yandexdirect.New(yandexdirect.Config{ID: "yandex-main", BaseURL: w.fake.URL(), ClientLogin: login},
		oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}),
		yandexdirect.Options{Clock: w.clock, Registerer: prometheus.NewRegistry(), Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "adpacer.db"), sqlite.Options{Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.store = st
	var camps []adpacer.CampaignID
	for _, id := range w.ids {
		camps = append(camps, adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(id, 10)))
	}
	line := pacing.Line{ID: "retail-moscow", Name: "Retail loans, Moscow", Directorate: "retail", Owner: "anna",
		TimeZone: "Europe/Moscow", Period: pacing.Period{Start: "2026-11-01", End: "2026-11-30"},
		Budget: adpacer.FromUnits(3_000_000), Currency: "RUB", Campaigns: camps}
	epoch, err := st.BumpEpoch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.reg = prometheus.NewRegistry()
	o := cycle.Options{
		Store: st, Now: w.clock.Now, Registerer: w.reg,
		Lines:  func(time.Time) ([]pacing.Line, error) { return []pacing.Line{line}, nil },
		Policy: pacing.DefaultPolicy(), Mode: mode,
		Ads:   []cycle.AdInstance{{ID: "yandex-main", Platform: adpacer.YandexDirect, Account: login, Source: client, Actuator: client}},
		Sink:  w.sink,
		Epoch: func() int64 { return epoch },
	}
	for _, f := range opts {
		f(&o)
	}
	r, err := cycle.New(o)
	if err != nil {
		t.Fatal(err)
	}
	w.runner = r
	w.client = client
	w.lines = []pacing.Line{line}
	return w
}

func TestApplyModeWritesOnceAndRecords(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, cycle.Apply)
	if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	// Two pace runs in the same window decide the same keys: the ledger
	// records each decision once.
	for i := 0; i < 2; i++ {
		if err := w.runner.Pace(ctx); err != nil {
			t.Fatal(err)
		}
	}
	planned, err := w.store.Actions(ctx, store.ActionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(planned) == 0 {
		t.Fatal("a line underfunded by its daily budgets produced no action")
	}
	if len(planned) != len(w.runner.LastStatus().Plan.Actions) {
		t.Fatalf("ledger holds %d actions for a plan of %d", len(planned), len(w.runner.LastStatus().Plan.Actions))
	}
	if err := w.runner.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	acts, err := w.store.Actions(ctx, store.ActionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, a := range acts {
		if !a.State.Terminal() {
			t.Errorf("action %s left %s after apply", a.Key, a.State)
		}
		if a.State == adpacer.ActionApplied && a.Kind == adpacer.SetDailyBudget {
			applied++
			_, ext, _ := a.Campaign.Split()
			id, _ := strconv.ParseInt(ext, 10, 64)
			c, _ := w.fake.Campaign(id)
			if c.DailyBudget == nil || adpacer.Micros(c.DailyBudget.Amount) != *a.Value {
				t.Errorf("%s: platform budget %v, ledger says applied %s", a.Campaign, c.DailyBudget, a.Value)
			}
		}
	}
	if applied == 0 {
		t.Fatalf("no budget applied; ledger: %+v", acts)
	}
	audit, err := w.store.Audit(ctx, time.Time{}, 0)
	if err != nil || len(audit) < 2*len(acts) {
		t.Fatalf("audit has %d entries for %d actions (decision and outcome each) (%v)", len(audit), len(acts), err)
	}
	// Applying again sends nothing: every entry is finished.
	writes := w.fake.MutatingCalls()
	if err := w.runner.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.fake.MutatingCalls(); got != writes {
		t.Fatalf("a second apply sent %d more mutating calls", got-writes)
	}
}

func TestDryRunAndObserveSendNoWrites(t *testing.T) {
	for _, mode := range []cycle.Mode{cycle.DryRun, cycle.Observe} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, mode)
			for i := 0; i < 3; i++ {
				if err := w.runner.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				w.clock.Advance(15 * time.Minute)
			}
			if n := w.fake.MutatingCalls(); n != 0 {
				t.Fatalf("%s mode sent %d mutating calls", mode, n)
			}
			acts, _ := w.store.Actions(ctx, store.ActionFilter{})
			for _, a := range acts {
				if a.State == adpacer.ActionApplied || a.State == adpacer.ActionClaimed {
					t.Fatalf("%s mode left action %s %s", mode, a.Key, a.State)
				}
			}
			if mode == cycle.DryRun && len(acts) == 0 {
				t.Fatal("dry-run recorded nothing: it must record what would change")
			}
			if mode == cycle.Observe && len(acts) != 0 {
				t.Fatalf("observe recorded %d actions", len(acts))
			}
		})
	}
}

func TestStaleSourceHoldsWithOneCard(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, cycle.Apply)
	if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	// The token is revoked: pulls fail from now on, data ages past the policy.
	w.fake.RevokeToken(token)
	w.clock.Advance(4 * time.Hour)
	writes := w.fake.MutatingCalls()
	if err := w.runner.RunOnce(ctx); err == nil {
		t.Fatal("pull with a revoked token succeeded")
	}
	if err := w.runner.Pace(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.runner.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.runner.Alerts(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.fake.MutatingCalls(); got != writes {
		t.Fatalf("stale data: %d writes touched its campaigns", got-writes)
	}
	stale := 0
	for _, a := range w.sink.last() {
		if a.Kind == "stale_data" {
			stale++
		}
	}
	if stale != 1 {
		t.Fatalf("want exactly one stale-data alert, got %d: %+v", stale, w.sink.last())
	}
	st := w.runner.LastStatus()
	for _, l := range st.Plan.Lines {
		if l.Status != pacing.StatusHeld {
			t.Errorf("line %s status %s, want held", l.ID, l.Status)
		}
	}
	want := `
# HELP adpacer_pacing_held Campaigns held (no write) in the last cycle, by reason.
# TYPE adpacer_pacing_held gauge
adpacer_pacing_held{reason="stale"} 2
`
	if err := testutil.GatherAndCompare(w.reg, strings.NewReader(want), "adpacer_pacing_held"); err != nil {
		t.Errorf("held metric: %v", err)
	}
}

// budgetAction is a set_daily_budget of the world's first campaign, decided
// from its starting 20,000 RUB.
func budgetAction(w *world, key string, units int64) adpacer.Action {
	target, prev := adpacer.FromUnits(units), adpacer.FromUnits(20_000)
	return adpacer.Action{Key: adpacer.ActionKey(key), Campaign: adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(w.ids[0], 10)),
		Line: "retail-moscow", Kind: adpacer.SetDailyBudget, Value: &target, Previous: &prev, Reason: "test"}
}

func (w *world) platformBudget(t *testing.T) adpacer.Micros {
	t.Helper()
	c, ok := w.fake.Campaign(w.ids[0])
	if !ok || c.DailyBudget == nil {
		t.Fatalf("campaign %d has no daily budget on the fake", w.ids[0])
	}
	return adpacer.Micros(c.DailyBudget.Amount)
}

// applierAudit returns the applier's audit outcomes for key.
func (w *world) applierAudit(t *testing.T, key adpacer.ActionKey) []string {
	t.Helper()
	entries, err := w.store.Audit(context.Background(), time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.ActionKey == key && e.Actor == "applier" {
			out = append(out, e.Outcome)
		}
	}
	return out
}

func TestCrashLeftClaimedActionIsReconciled(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, cycle.Apply)
	if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	// A previous process claimed a change, sent it, and died before
	// recording the outcome: the platform already holds the new value.
	epoch, _ := w.store.CurrentEpoch(ctx)
	a := budgetAction(w, "crash-test-1", 900)
	if err := w.store.PlanAction(ctx, a, epoch); err != nil {
		t.Fatal(err)
	}
	if err := w.store.ClaimAction(ctx, a.Key, epoch); err != nil {
		t.Fatal(err)
	}
	res, err := w.client.Apply(ctx, []adpacer.Action{a}, pacing.ApplyOptions{})
	if err != nil || len(res) != 1 || res[0].State != adpacer.ActionApplied {
		t.Fatalf("the crashed process's write: %+v %v", res, err)
	}
	if got := w.platformBudget(t); got != *a.Value {
		t.Fatalf("platform budget %s after the crashed write, want %s", got, a.Value)
	}
	writes := w.fake.MutatingCalls()
	// The replay reads the platform, finds the target and sends nothing.
	if err := w.runner.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if n := w.fake.MutatingCalls() - writes; n != 0 {
		t.Fatalf("the replay of a write that had landed sent %d mutating calls", n)
	}
	rec, err := w.store.Action(ctx, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != adpacer.ActionNoop || rec.Before == nil || *rec.Before != *a.Value {
		t.Fatalf("replayed action ended %s before %v (%s), want noop with the platform's value %s", rec.State, rec.Before, rec.Detail, a.Value)
	}
	if got := w.applierAudit(t, a.Key); len(got) != 1 || got[0] != string(adpacer.ActionNoop) {
		t.Fatalf("applier audit of the replay: %v", got)
	}
	// Replaying again is a no-op: the ledger entry is finished.
	if err := w.runner.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if w.fake.MutatingCalls() != writes {
		t.Fatal("a finished action was sent again")
	}
}

// An action claimed by a crashed process is superseded when pace has since
// decided a newer one for the same setting. Whether the old one reached the
// platform is read, not assumed: a write that landed is recorded applied
// (and audited, so the Yandex edit count sees it); one that did not is
// rejected; when the platform cannot be read both wait.
func TestSupersededClaimedActionIsReconciled(t *testing.T) {
	for _, tc := range []struct {
		name       string
		landed     bool // the crashed process's write reached the platform
		unreadable bool // the platform refuses every call at replay
		wantOld    adpacer.ActionState
		wantWrites int
	}{
		{name: "landed", landed: true, wantOld: adpacer.ActionApplied, wantWrites: 1},
		{name: "not sent", wantOld: adpacer.ActionRejected, wantWrites: 1},
		{name: "platform unreadable", landed: true, unreadable: true, wantOld: adpacer.ActionClaimed, wantWrites: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, cycle.Apply)
			if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
				t.Fatal(err)
			}
			epoch, _ := w.store.CurrentEpoch(ctx)
			old, newer := budgetAction(w, "old", 900), budgetAction(w, "newer", 950)
			if err := w.store.PlanAction(ctx, old, epoch); err != nil {
				t.Fatal(err)
			}
			if err := w.store.ClaimAction(ctx, old.Key, epoch); err != nil {
				t.Fatal(err)
			}
			claim, err := w.store.Action(ctx, old.Key)
			if err != nil {
				t.Fatal(err)
			}
			if tc.landed {
				if _, err := w.client.Apply(ctx, []adpacer.Action{old}, pacing.ApplyOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			before := w.platformBudget(t)
			w.clock.Advance(time.Minute)
			if err := w.store.PlanAction(ctx, newer, epoch); err != nil {
				t.Fatal(err)
			}
			if tc.unreadable {
				w.fake.RevokeToken(token)
			}
			writes := w.fake.MutatingCalls()
			err = w.runner.Apply(ctx)
			if tc.unreadable != (err != nil) {
				t.Fatalf("apply: %v", err)
			}
			if n := w.fake.MutatingCalls() - writes; n != tc.wantWrites {
				t.Fatalf("%d mutating calls, want %d", n, tc.wantWrites)
			}
			rec, err := w.store.Action(ctx, old.Key)
			if err != nil {
				t.Fatal(err)
			}
			if rec.State != tc.wantOld {
				t.Fatalf("superseded action ended %s (%s), want %s", rec.State, rec.Detail, tc.wantOld)
			}
			audit := w.applierAudit(t, old.Key)
			nr, err := w.store.Action(ctx, newer.Key)
			if err != nil {
				t.Fatal(err)
			}
			if tc.unreadable {
				if len(audit) != 0 || nr.State.Terminal() || w.platformBudget(t) != before {
					t.Fatalf("unreadable platform: old audited %v, newer %s, platform %s (was %s)", audit, nr.State, w.platformBudget(t), before)
				}
				return
			}
			if len(audit) != 1 || audit[0] != string(tc.wantOld) {
				t.Fatalf("applier audit of the superseded action: %v, want [%s]", audit, tc.wantOld)
			}
			if tc.landed {
				if !strings.Contains(rec.Detail, "landed before a crash") {
					t.Errorf("detail %q does not say the write landed", rec.Detail)
				}
				// Dated at the claim, not at the replay a minute later:
				// Yandex counts the edit on the day it was made.
				entries, _ := w.store.Audit(ctx, time.Time{}, 0)
				for _, e := range entries {
					if e.ActionKey == old.Key && e.Actor == "applier" && !e.At.Equal(claim.UpdatedAt) {
						t.Errorf("audit of the landed write dated %s, want the claim's %s", e.At, claim.UpdatedAt)
					}
				}
			}
			if nr.State != adpacer.ActionApplied || w.platformBudget(t) != *newer.Value {
				t.Fatalf("newer action %s (%s), platform %s; want applied at %s", nr.State, nr.Detail, w.platformBudget(t), newer.Value)
			}
		})
	}
}

func TestFencedReplicaRecordsAndSendsNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, cycle.Apply)
	if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	// Another replica takes over: the epoch this runner holds goes stale.
	if _, err := w.store.BumpEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	writes := w.fake.MutatingCalls()
	if err := w.runner.Pace(ctx); !errors.Is(err, cycle.ErrNotLeader) {
		t.Fatalf("pace with a stale epoch: %v, want ErrNotLeader", err)
	}
	if acts, _ := w.store.Actions(ctx, store.ActionFilter{}); len(acts) != 0 {
		t.Fatalf("a fenced replica recorded %d actions", len(acts))
	}
	if err := w.runner.Apply(ctx); err != nil {
		t.Fatalf("apply with nothing pending: %v", err)
	}
	if w.fake.MutatingCalls() != writes {
		t.Fatal("a fenced replica wrote to the platform")
	}
	zero, err := cycle.New(cycle.Options{Store: w.store, Now: w.clock.Now, Registerer: prometheus.NewRegistry(),
		Lines: func(time.Time) ([]pacing.Line, error) { return nil, nil }, Policy: pacing.DefaultPolicy(), Mode: cycle.Apply,
		Epoch: func() int64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := zero.Apply(ctx); !errors.Is(err, cycle.ErrNotLeader) {
		t.Fatalf("apply without an epoch: %v", err)
	}
}

// A replica paused between reading its clock and reading the store finds
// spend snapshots newer than its now (another replica pulled meanwhile).
// The cycle must still decide as of its now instead of failing the engine's
// "stats describe the past" check every time the pause happens.
func TestSnapshotNewerThanNowIsLeftForTheNextCycle(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, cycle.DryRun)
	if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	id := adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(w.ids[0], 10))
	day := w.clock.Now().In(time.FixedZone("MSK", 3*3600)).Format(time.DateOnly)
	camps, err := w.store.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	future := adpacer.AdBatch{Campaigns: camps, Snapshots: []adpacer.SpendSnapshot{
		{Campaign: id, Day: day, At: w.clock.Now().Add(15 * time.Second), Cost: adpacer.FromUnits(9_000)},
	}}
	if err := w.store.SaveAdBatch(ctx, "yandex-main", future, adpacer.Cursor{Value: day, UpdatedAt: w.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := w.runner.Pace(ctx); err != nil {
		t.Fatalf("pace with a snapshot 15 s ahead of now: %v", err)
	}
	w.clock.Advance(time.Minute)
	if err := w.runner.Pace(ctx); err != nil {
		t.Fatalf("pace once the snapshot is in the past: %v", err)
	}
}

// countingStore counts the ledger and audit writes the cycle makes.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
}

func (s *countingStore) count(m string) {
	s.mu.Lock()
	s.calls[m]++
	s.mu.Unlock()
}

func (s *countingStore) PlanAction(ctx context.Context, a adpacer.Action, epoch int64) error {
	s.count("PlanAction")
	return s.Store.PlanAction(ctx, a, epoch)
}

func (s *countingStore) ClaimAction(ctx context.Context, k adpacer.ActionKey, epoch int64) error {
	s.count("ClaimAction")
	return s.Store.ClaimAction(ctx, k, epoch)
}

func (s *countingStore) FinishAction(ctx context.Context, k adpacer.ActionKey, st adpacer.ActionState, before *adpacer.Micros, detail string, epoch int64) error {
	s.count("FinishAction")
	return s.Store.FinishAction(ctx, k, st, before, detail, epoch)
}

func (s *countingStore) AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	s.count("AppendAudit")
	return s.Store.AppendAudit(ctx, e)
}

func (s *countingStore) PlanActions(ctx context.Context, items []store.PlanItem, epoch int64) ([]adpacer.ActionKey, error) {
	s.count("PlanActions")
	return s.Store.PlanActions(ctx, items, epoch)
}

func (s *countingStore) ClaimActions(ctx context.Context, keys []adpacer.ActionKey, epoch int64) ([]adpacer.ActionKey, error) {
	s.count("ClaimActions")
	return s.Store.ClaimActions(ctx, keys, epoch)
}

func (s *countingStore) FinishActions(ctx context.Context, items []store.FinishItem, epoch int64) error {
	s.count("FinishActions")
	return s.Store.FinishActions(ctx, items, epoch)
}

// A cycle pays one commit per step, not one per action: the decisions and
// their audit entries in one, the claims of a platform call in one before
// it is sent, its outcomes and audit entries in one after. Every write that
// reaches the platform finds its action claimed in the store already.
func TestLedgerWritesAreBatchedAndClaimedBeforeSend(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, cycle.Apply)
	cs := &countingStore{Store: w.store, calls: map[string]int{}}
	epoch, _ := w.store.CurrentEpoch(ctx)
	r, err := cycle.New(cycle.Options{
		Store: cs, Now: w.clock.Now, Registerer: prometheus.NewRegistry(),
		Lines:  func(time.Time) ([]pacing.Line, error) { return w.lines, nil },
		Policy: pacing.DefaultPolicy(), Mode: cycle.Apply,
		Ads:   []cycle.AdInstance{{ID: "yandex-main", Platform: adpacer.YandexDirect, Account: login, Source: w.client, Actuator: w.client}},
		Epoch: func() int64 { return epoch },
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var unclaimed []string
	sent := 0
	w.fake.OnWrite(func(ev yandexdirecttest.WriteEvent) {
		acts, err := w.store.Actions(ctx, store.ActionFilter{States: []adpacer.ActionState{adpacer.ActionClaimed},
			Campaign: adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(ev.Campaign, 10))})
		mu.Lock()
		defer mu.Unlock()
		sent++
		if err != nil || len(acts) == 0 {
			unclaimed = append(unclaimed, fmt.Sprintf("%d %s=%s (%v)", ev.Campaign, ev.Field, ev.New, err))
		}
	})
	if err := r.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	if err := r.Pace(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	acts, err := w.store.Actions(ctx, store.ActionFilter{States: []adpacer.ActionState{adpacer.ActionApplied}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acts) < 2 || sent != len(acts) {
		t.Fatalf("%d actions applied, %d writes seen: the test needs a batch of several", len(acts), sent)
	}
	if len(unclaimed) > 0 {
		t.Errorf("writes reached the platform with no claimed action in the store: %v", unclaimed)
	}
	want := map[string]int{"PlanActions": 1, "ClaimActions": 1, "FinishActions": 1}
	if d := cmp.Diff(want, cs.calls); d != "" {
		t.Errorf("ledger and audit writes of one cycle (-want +got):\n%s", d)
	}
}

// googleCID is the Google Ads customer of allFakesWorld.
const googleCID = "1234567890"

// allFakes is newWorld's Yandex fake plus a Google Ads fake and a Trello
// board (alert sink and approvals), all behind one runner in a mode.
type allFakes struct {
	*world
	google        *googleadstest.Server
	googleIDs     []int64
	googleChanges atomic.Int64 // fields changed by state-changing mutates (OnMutate)
	trello        *trellotest.Server
	board         trellotest.Board
	runner        *cycle.Runner
}

// newAllFakes wires every fake. The line's campaigns spend their whole
// daily budgets while the line needs far more, so every cycle decides
// budget increases on both platforms; the approval threshold is 1%, so on
// an approve line every such change would need a card.
func newAllFakes(t *testing.T, mode cycle.Mode) *allFakes {
	t.Helper()
	w := &allFakes{world: newWorld(t, mode)}
	g, err := googleadstest.Start(googleadstest.Options{Now: w.clock.Now, DailyOperations: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	w.google = g
	g.OnMutate(func(ev googleadstest.MutateEvent) { w.googleChanges.Add(int64(len(ev.Changes))) })
	if err := g.AddCustomer(googleadstest.Customer{ID: googleCID, Name: "Bank", TimeZone: "Europe/Moscow", Currency: "RUB"}); err != nil {
		t.Fatal(err)
	}
	spend, _ := g.Spend().(*googleadstest.MemorySpend)
	camps := append([]adpacer.CampaignID(nil), w.lines[0].Campaigns...)
	for i := 0; i < 2; i++ {
		id := int64(7001 + i)
		for _, err := range []error{
			g.AddBudget(googleCID, googleadstest.Budget{ID: id, Name: "Budget " + strconv.Itoa(i), AmountMicros: 20_000_000_000, Status: "ENABLED"}),
			g.AddCampaign(googleCID, googleadstest.Campaign{ID: id, Name: "retail-g" + strconv.Itoa(i), Status: "ENABLED", BudgetID: id,
				BiddingStrategyType: "MANUAL_CPC", ChannelType: "SEARCH"}),
			g.AddAdGroup(googleCID, googleadstest.AdGroup{ID: id * 10, CampaignID: id, Name: "Main", Status: "ENABLED", CPCBidMicros: 20_000_000}),
			g.AddAd(googleCID, googleadstest.Ad{ID: id * 100, AdGroupID: id * 10, Status: "ENABLED", Approval: "APPROVED", Review: "REVIEWED"}),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		// The same history as the Yandex campaigns: 20,000 RUB a day.
		for d := 1; d < 16; d++ {
			day := time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			for h := 0; h < 20; h++ {
				spend.Set(googleCID, id, day, h, googleadstest.Metrics{CostMicros: 1_000_000_000, Clicks: 40, Impressions: 1000})
			}
		}
		w.googleIDs = append(w.googleIDs, id)
		camps = append(camps, adpacer.NewCampaignID(adpacer.GoogleAds, strconv.FormatInt(id, 10)))
	}
	gc, err := googleads.New(googleads.Options{
		CustomerID:  "123-456-7890",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: g.IssueAccessToken(1000 * time.Hour), TokenType: "Bearer"}),
		BaseURL:     g.URL(), Now: w.clock.Now, Registerer: prometheus.NewRegistry(),
		HTTP: httpx.Options{Transport: g.Client().Transport, Clock: w.clock, Rand: func() float64 { return 0.5 }},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.trello = trellotest.NewServer(trellotest.Options{Now: w.clock.Now})
	t.Cleanup(w.trello.Close)
	w.board = w.trello.CreateBoard(trellotest.BoardSpec{Name: "alerts", Lists: []string{"Alerts", "Approvals", "Approved", "Rejected", "Resolved"}, Members: []string{"anna.pm"}})
	tc, err := trello.New(trello.Config{Key: w.trello.Key(), Token: w.trello.Token(), BaseURL: w.trello.BaseURL(), Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := trello.NewAlertSink(tc, w.store, trello.AlertOptions{BoardID: w.board.ID, Clock: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := trello.NewApprovals(tc, trello.ApprovalOptions{BoardID: w.board.ID, Clock: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	line := w.lines[0]
	line.Campaigns, line.Budget, line.Mode = camps, adpacer.FromUnits(6_000_000), string(mode)
	pol := pacing.DefaultPolicy()
	pol.ApprovalThresholdPct = 1
	epoch, err := w.store.CurrentEpoch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.runner, err = cycle.New(cycle.Options{
		Store: w.store, Now: w.clock.Now, Registerer: prometheus.NewRegistry(),
		Lines:  func(time.Time) ([]pacing.Line, error) { return []pacing.Line{line}, nil },
		Policy: pol, Mode: mode,
		Ads: []cycle.AdInstance{
			{ID: "yandex-main", Platform: adpacer.YandexDirect, Account: login, Source: w.client, Actuator: w.client},
			{ID: "google-main", Platform: adpacer.GoogleAds, Account: googleCID, Source: gc, Actuator: gc},
		},
		Sink: sink, Approvals: daemon.Approver(ap), Epoch: func() int64 { return epoch },
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// googleState is every budget amount and ad group bid on the Google fake.
func (w *allFakes) googleState(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, id := range w.googleIDs {
		b, ok1 := w.google.Budget(googleCID, id)
		g, ok2 := w.google.AdGroup(googleCID, id*10)
		if !ok1 || !ok2 {
			t.Fatalf("google campaign %d lost its budget or ad group", id)
		}
		out[fmt.Sprint("budget/", id)] = b.AmountMicros
		out[fmt.Sprint("adGroup/", id*10)] = g.CPCBidMicros
	}
	return out
}

// approvalCards are the board's approval cards, open or archived, wherever
// they moved.
func (w *allFakes) approvalCards() []string {
	var out []string
	for _, c := range w.trello.Cards(w.board.ID) {
		if c.ListName == "Approvals" || strings.HasPrefix(c.Name, "Approve: ") {
			out = append(out, c.ListName+": "+c.Name)
		}
	}
	return out
}

// The issue's "in dry-run and observe modes the fakes record zero mutating
// calls", on every fake at once, over cycles that would otherwise write:
//   - Yandex Direct: no call to a mutating method (Campaigns.update,
//     KeywordBids.set, suspend/resume, BidModifiers.set, ...).
//   - Google Ads: no mutate without validateOnly, no state change (no
//     OnMutate event, budgets and bids as seeded). Dry-run checks its
//     changes with validateOnly mutates, which the fake counts apart and
//     which must be the only mutates sent; observe sends none at all.
//   - Trello is not an ad platform: observe is "sync and alerts only" and
//     dry-run records and shows, so alert cards are allowed in both. What
//     must not appear is an approval card: it asks a manager to release a
//     write, and these modes never write, so there is nothing to approve.
//
// Controls run the same scenario where writes must happen, so the zero
// counts cannot pass vacuously: apply writes on Yandex and Google, and
// approve puts approval cards on the board.
func TestNoModeButApplyWritesToAnyFake(t *testing.T) {
	for _, mode := range []cycle.Mode{cycle.DryRun, cycle.Observe, cycle.Apply, cycle.Approve} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			w := newAllFakes(t, mode)
			before := w.googleState(t)
			for i := 0; i < 4; i++ {
				if err := w.runner.RunOnce(ctx); err != nil {
					t.Fatalf("cycle %d: %v", i, err)
				}
				w.clock.Advance(15 * time.Minute)
			}
			acts, err := w.store.Actions(ctx, store.ActionFilter{})
			if err != nil {
				t.Fatal(err)
			}
			planned := map[adpacer.Platform]int{}
			for _, a := range acts {
				p, _, _ := a.Campaign.Split()
				planned[p]++
			}
			yWrites, gCalls, gChanges := w.fake.MutatingCalls(), w.google.Calls(), w.googleChanges.Load()
			after, approvals := w.googleState(t), w.approvalCards()
			t.Logf("%s: ledger %v; yandex mutating calls %d; google mutates %d, validateOnly %d, changed fields %d; approval cards %d, board cards %d",
				mode, planned, yWrites, gCalls.Mutate, gCalls.ValidateOnly, gChanges, len(approvals), len(w.trello.Cards(w.board.ID)))
			switch mode {
			case cycle.DryRun, cycle.Observe:
				if yWrites != 0 {
					t.Errorf("yandex: %d mutating calls", yWrites)
				}
				if gCalls.Mutate != 0 || gChanges != 0 {
					t.Errorf("google: %d mutates without validateOnly, %d fields changed", gCalls.Mutate, gChanges)
				}
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("google state changed (-before +after):\n%s", diff)
				}
				if len(approvals) != 0 {
					t.Errorf("approval cards on the board: %q", approvals)
				}
				if mode == cycle.DryRun && (planned[adpacer.YandexDirect] == 0 || planned[adpacer.GoogleAds] == 0 || gCalls.ValidateOnly == 0) {
					t.Errorf("dry-run must record changes on both platforms and validate Google's: ledger %v, validateOnly %d", planned, gCalls.ValidateOnly)
				}
				if mode == cycle.Observe && (len(acts) != 0 || gCalls.ValidateOnly != 0) {
					t.Errorf("observe recorded %d actions and sent %d validateOnly mutates", len(acts), gCalls.ValidateOnly)
				}
			case cycle.Apply:
				if yWrites == 0 || gCalls.Mutate == 0 || gChanges == 0 || cmp.Equal(before, after) {
					t.Errorf("control: apply did not write to both platforms (yandex %d calls, google %d mutates, %d fields)", yWrites, gCalls.Mutate, gChanges)
				}
			case cycle.Approve:
				if len(approvals) == 0 {
					t.Error("control: approve mode put no approval card on the board")
				}
			}
		})
	}
}
