package cycle

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/sqlite"
)

// boardApprover adapts trello.Approvals as internal/daemon does (daemon
// imports this package, so its adapter cannot be used here).
type boardApprover struct{ a *trello.Approvals }

func (p boardApprover) Request(ctx context.Context, a adpacer.Action, detail string) error {
	return p.a.Request(ctx, a, detail)
}

func (p boardApprover) Decisions(ctx context.Context) ([]Decision, error) {
	ds, err := p.a.Decisions(ctx)
	var out []Decision
	for _, d := range ds {
		out = append(out, Decision{Key: d.Key, Approved: d.Verdict == trello.VerdictApproved, Expired: d.Verdict == trello.VerdictExpired, By: d.By, At: d.At})
	}
	return out, err
}

func (p boardApprover) Close(ctx context.Context, key adpacer.ActionKey, outcome string) error {
	return p.a.Close(ctx, key, outcome)
}

// approvalRig is a runner in approve mode over a Yandex fake with one
// campaign, a SQLite store and a Trello board with the approval lists.
type approvalRig struct {
	ctx   context.Context
	clock *yandexdirecttest.ManualClock
	fake  *yandexdirecttest.Server
	yid   int64
	st    *sqlite.Store
	epoch int64
	tf    *trellotest.Server
	board trellotest.Board
	r     *Runner
	camps []adpacer.Campaign
	cid   adpacer.CampaignID
}

func newApprovalRig(t *testing.T) *approvalRig {
	t.Helper()
	g := &approvalRig{ctx: context.Background()}
	ctx := g.ctx
	start := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	g.clock = yandexdirecttest.NewManualClock(start)
	const ytoken, ylogin = "tok-spam", "bank-client"
	g.fake = yandexdirecttest.New(yandexdirecttest.Options{Clock: g.clock, Spend: yandexdirecttest.NewMemorySpend()})
	t.Cleanup(g.fake.Close)
	g.fake.AddAdvertiser(ylogin, ytoken)
	g.yid = g.fake.AddCampaign(ylogin, yandexdirecttest.Campaign{Name: "retail",
		DailyBudget: &yandexdirecttest.DailyBudget{Amount: 21_714_280_000, Mode: "STANDARD"}, Keywords: 1, SearchBid: 20_000_000})
	yc, err := yandexdirect.New(yandexdirect.Config{ID: "yandex-main", BaseURL: g.fake.URL(), ClientLogin: ylogin},
		oauth2.StaticTokenSource(&oauth2.Token{AccessToken: ytoken}),
		yandexdirect.Options{Clock: g.clock, Registerer: prometheus.NewRegistry(), Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	if g.st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "adpacer.db"), sqlite.Options{Now: g.clock.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.st.Close() })
	if err := g.st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if g.epoch, err = g.st.BumpEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	g.tf = trellotest.NewServer(trellotest.Options{Now: g.clock.Now})
	t.Cleanup(g.tf.Close)
	g.board = g.tf.CreateBoard(trellotest.BoardSpec{Name: "alerts", Lists: []string{"Alerts", "Approvals", "Approved", "Rejected", "Resolved"}, Members: []string{"anna.pm"}})
	tc, err := trello.New(trello.Config{Key: g.tf.Key(), Token: g.tf.Token(), BaseURL: g.tf.BaseURL(), Clock: g.clock})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := trello.NewApprovals(tc, trello.ApprovalOptions{BoardID: g.board.ID, Clock: g.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pol := pacing.DefaultPolicy() // tolerance 5%
	if g.r, err = New(Options{Store: g.st, Now: g.clock.Now, Policy: pol, Mode: Approve,
		Lines:     func(time.Time) ([]pacing.Line, error) { return nil, nil },
		Ads:       []AdInstance{{ID: "yandex-main", Platform: adpacer.YandexDirect, Account: ylogin, Source: yc, Actuator: yc}},
		Approvals: boardApprover{ap}, Epoch: func() int64 { return g.epoch }}); err != nil {
		t.Fatal(err)
	}
	if err := g.r.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	if g.camps, err = g.st.Campaigns(ctx); err != nil {
		t.Fatal(err)
	}
	g.cid = adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(g.yid, 10))
	return g
}

// propose records a budget proposal that needs approval (cycle i), as Pace
// would, and moves the clock on a cycle.
func (g *approvalRig) propose(t *testing.T, i int, value adpacer.Micros) adpacer.ActionKey {
	t.Helper()
	v, prev := value, adpacer.Micros(21_714_280_000)
	key := adpacer.ActionKey(fmt.Sprintf("%024x", 0xa000+i))
	plan := pacing.Plan{Actions: []pacing.Action{{Key: key, Campaign: g.cid, Line: "retail-moscow", Kind: adpacer.SetDailyBudget,
		Value: &v, Previous: &prev, Reason: "line overspends its plan", NeedsApproval: true}}}
	if err := g.r.record(g.ctx, g.clock.Now(), plan, g.camps); err != nil {
		t.Fatalf("cycle %d: %v", i, err)
	}
	g.clock.Advance(15 * time.Minute)
	return key
}

// The demo's spam: in approve mode the engine proposes the same budget cut
// every 15-minute cycle, a few roubles apart and so under a new key each
// time. The manager must see one approval card for it, a second one only
// when the proposal changes materially (closing the first), and an
// approval of the pending card applies its value exactly once.
func TestDriftingProposalsKeepOneApprovalCard(t *testing.T) {
	g := newApprovalRig(t)
	ctx, fake, yid, st, tf, board, r := g.ctx, g.fake, g.yid, g.st, g.tf, g.board, g.r
	propose := func(i int, value adpacer.Micros) adpacer.ActionKey { return g.propose(t, i, value) }
	pendingCards := func() []trellotest.CardView {
		var out []trellotest.CardView
		for _, c := range tf.Cards(board.ID) {
			if c.ListName == "Approvals" && !c.Closed {
				out = append(out, c)
			}
		}
		return out
	}
	held := func() []store.ActionRecord {
		h, err := st.Actions(ctx, store.ActionFilter{States: []adpacer.ActionState{adpacer.ActionHeld}})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	// 16427.42, 16490.86, 16497.20, ...: twelve cycles, each within 5% of
	// the first proposal.
	drift := []adpacer.Micros{16_427_420_000, 16_490_860_000, 16_497_200_000, 16_503_540_000, 16_460_000_000, 16_700_000_000,
		16_800_000_000, 16_900_000_000, 17_000_000_000, 17_100_000_000, 17_200_000_000, 16_300_000_000}
	var first adpacer.ActionKey
	for i, v := range drift {
		k := propose(i, v)
		if i == 0 {
			first = k
		}
	}
	if got := len(tf.Cards(board.ID)); got != 1 {
		t.Fatalf("12 cycles of one drifting proposal made %d approval cards, want 1", got)
	}
	if h := held(); len(h) != 1 || h[0].Key != first {
		t.Fatalf("held actions after drift = %v, want only the first proposal %s", h, first)
	}

	// A material change (12000 is 27% below the pending 16427.42)
	// replaces the pending proposal.
	second := propose(len(drift), 12_000_000_000)
	cards := tf.Cards(board.ID)
	if len(cards) != 2 {
		t.Fatalf("a material change gave %d cards in all, want 2", len(cards))
	}
	open := pendingCards()
	if len(open) != 1 || !strings.Contains(open[0].Desc, string(second)) {
		t.Fatalf("pending approval cards = %+v, want only the new proposal's", open)
	}
	old := cards[0]
	if !old.Closed || len(old.Comments) == 0 || !strings.Contains(old.Comments[len(old.Comments)-1], "superseded by a newer proposal") {
		t.Fatalf("the superseded card is not closed with a comment saying so: closed=%v comments=%q", old.Closed, old.Comments)
	}
	rec, err := st.Action(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != adpacer.ActionRejected || !strings.Contains(rec.Detail, "superseded by a newer proposal") {
		t.Fatalf("superseded action is %s (%q), want rejected as superseded", rec.State, rec.Detail)
	}
	if h := held(); len(h) != 1 || h[0].Key != second {
		t.Fatalf("held actions = %v, want only %s", h, second)
	}

	// The manager approves the pending card: its value is applied once,
	// even though the engine proposed 12,100 in between (within tolerance).
	propose(len(drift)+1, 12_100_000_000)
	if err := tf.MoveCard(open[0].ID, "Approved", "anna.pm"); err != nil {
		t.Fatal(err)
	}
	writes := fake.MutatingCalls()
	for i := 0; i < 3; i++ {
		if err := r.Apply(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.MutatingCalls() - writes; n != 1 {
		t.Fatalf("approval sent %d writes, want 1", n)
	}
	c, _ := fake.Campaign(yid)
	if c.DailyBudget == nil || c.DailyBudget.Amount != 12_000_000_000 {
		t.Fatalf("daily budget on the platform = %+v, want the approved 12000", c.DailyBudget)
	}
	audit, err := st.Audit(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, e := range audit {
		if e.Outcome == string(adpacer.ActionApplied) {
			applied++
			if e.ActionKey != second || e.ApprovedBy != "anna.pm" {
				t.Errorf("applied %s approved by %q, want %s by anna.pm", e.ActionKey, e.ApprovedBy, second)
			}
		}
	}
	if applied != 1 {
		t.Fatalf("%d applied audit entries, want 1", applied)
	}
}

// An approval card whose action was rejected (here: superseded) durably,
// but whose card was never closed because the process stopped in between,
// is an orphan. Whether the manager approves it or nobody answers until it
// expires, the next Apply changes nothing on the platform and closes the
// card with the recorded outcome, although no action awaits approval.
func TestOrphanedApprovalCardsAreClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(g *approvalRig, cardID string) error
	}{
		{"approved", func(g *approvalRig, cardID string) error { return g.tf.MoveCard(cardID, "Approved", "anna.pm") }},
		{"expired", func(g *approvalRig, _ string) error { g.clock.Advance(25 * time.Hour); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newApprovalRig(t)
			key := g.propose(t, 1, 16_000_000_000)
			cards := g.tf.Cards(g.board.ID)
			if len(cards) != 1 {
				t.Fatalf("%d approval cards, want 1", len(cards))
			}
			// The crash: the rejection is durable, the card is still open.
			if err := g.st.FinishAction(g.ctx, key, adpacer.ActionRejected, nil, "superseded by a newer proposal", g.epoch); err != nil {
				t.Fatal(err)
			}
			if err := tc.answer(g, cards[0].ID); err != nil {
				t.Fatal(err)
			}
			writes := g.fake.MutatingCalls()
			if err := g.r.Apply(g.ctx); err != nil {
				t.Fatal(err)
			}
			if n := g.fake.MutatingCalls() - writes; n != 0 {
				t.Fatalf("an orphaned card sent %d writes", n)
			}
			card := g.tf.Cards(g.board.ID)[0]
			if !card.Closed || len(card.Comments) == 0 || !strings.Contains(card.Comments[len(card.Comments)-1], "already rejected before this decision was read (superseded by a newer proposal)") {
				t.Fatalf("orphaned card: closed=%v comments=%q, want closed with the recorded outcome", card.Closed, card.Comments)
			}
			rec, err := g.st.Action(g.ctx, key)
			if err != nil || rec.State != adpacer.ActionRejected {
				t.Fatalf("orphan's action is %s (%v), want still rejected", rec.State, err)
			}
		})
	}
}
