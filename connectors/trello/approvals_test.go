package trello

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/store"
)

// ledger stands in for the lead's action ledger: a key applies once.
type ledger struct {
	mu      sync.Mutex
	applied map[adpacer.ActionKey]int
	audit   []string
}

func (l *ledger) apply(d Decision) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.applied[d.Key] > 0 {
		return store.ErrConflict
	}
	l.applied[d.Key]++
	l.audit = append(l.audit, string(d.Key)+" approved by "+d.By)
	return nil
}

type approvalsEnv struct {
	*env
	board trellotest.Board
	p     *Approvals
}

func newApprovalsEnv(t *testing.T, opts ApprovalOptions) *approvalsEnv {
	t.Helper()
	e := newEnv(t, trellotest.Options{})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "approvals", Members: []string{"boss", "intern"}})
	opts.BoardID = b.ID
	p, err := NewApprovals(e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &approvalsEnv{env: e, board: b, p: p}
}

func budgetAction(key string) adpacer.Action {
	prev, next := adpacer.MustMicros("100000"), adpacer.MustMicros("150000")
	return adpacer.Action{Key: adpacer.ActionKey(key), Campaign: "yandex_direct:123", Line: "retail-vladivostok", Kind: adpacer.SetDailyBudget,
		Value: &next, Previous: &prev, Reason: "underspend: 62% of plan by mid-month"}
}

func (ae *approvalsEnv) cardOf(t *testing.T, key string) trellotest.CardView {
	t.Helper()
	var out []trellotest.CardView
	for _, c := range ae.fake.Cards(ae.board.ID) {
		if markerValue(c.Desc, ActionKeyMarker) == key {
			out = append(out, c)
		}
	}
	if len(out) != 1 {
		t.Fatalf("want one approval card for %q, got %d", key, len(out))
	}
	return out[0]
}

func TestApprovalMovedToApprovedAppliesExactlyOnce(t *testing.T) {
	ae := newApprovalsEnv(t, ApprovalOptions{})
	ctx := ctxT(t)
	a := budgetAction("k1")
	for range 3 { // idempotent
		if err := ae.p.Request(ctx, a, "Plan: +50% to catch up by month end."); err != nil {
			t.Fatal(err)
		}
	}
	c := ae.cardOf(t, "k1")
	if c.ListName != "Approvals" || !strings.Contains(c.Name, "set daily budget of yandex_direct:123 from 100000.00 to 150000.00") ||
		!strings.Contains(c.Desc, "underspend: 62%") || c.Due == nil {
		t.Fatalf("approval card: list %q name %q due %v\n%s", c.ListName, c.Name, c.Due, c.Desc)
	}
	if d, err := ae.p.Decisions(ctx); err != nil || len(d) != 0 {
		t.Fatalf("undecided card reported: %v %v", d, err)
	}
	ae.clock.Advance(time.Minute)
	if err := ae.fake.MoveCard(c.ID, "Approved", "boss"); err != nil {
		t.Fatal(err)
	}
	l := &ledger{applied: map[adpacer.ActionKey]int{}}
	reported := 0
	for range 5 { // the cycle polls repeatedly
		ds, err := ae.p.Decisions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			reported++
			if d.Verdict != VerdictApproved || d.By != "boss" || d.Key != "k1" || !d.At.Equal(ae.clock.Now()) {
				t.Fatalf("decision = %+v", d)
			}
			if err := l.apply(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if reported != 1 || l.applied["k1"] != 1 || l.audit[0] != "k1 approved by boss" {
		t.Fatalf("reported %d times, applied %d times, audit %v", reported, l.applied["k1"], l.audit)
	}
	// After a restart the decision is reported again; the ledger refuses it.
	p2, err := NewApprovals(ae.c, ApprovalOptions{BoardID: ae.board.ID})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := p2.Decisions(ctx)
	if err != nil || len(ds) != 1 {
		t.Fatalf("after restart: %v %v", ds, err)
	}
	if err := l.apply(ds[0]); err != store.ErrConflict || l.applied["k1"] != 1 {
		t.Fatalf("ledger applied twice")
	}
	if err := ae.p.Close(ctx, "k1", "applied: daily budget now 150000.00"); err != nil {
		t.Fatal(err)
	}
	c = ae.cardOf(t, "k1")
	if !c.Closed || len(c.Comments) != 1 || !strings.Contains(c.Comments[0], "applied") {
		t.Fatalf("closed card: closed %v comments %v", c.Closed, c.Comments)
	}
	if err := ae.p.Close(ctx, "k1", "again"); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := ae.p.Request(ctx, a, ""); err != nil || len(ae.fake.Cards(ae.board.ID)) != 1 {
		t.Fatalf("request after close made a new card: %v", err)
	}
	if err := ae.p.Close(ctx, "nope", "x"); err == nil {
		t.Fatal("closing an unknown key succeeded")
	}
}

func TestApprovalRejectLabelExpiryAndApprovers(t *testing.T) {
	ae := newApprovalsEnv(t, ApprovalOptions{Expiry: 2 * time.Hour, Approvers: []string{"boss"}})
	ctx := ctxT(t)
	for _, k := range []string{"rej", "lab", "exp", "late", "intern"} {
		if err := ae.p.Request(ctx, budgetAction(k), ""); err != nil {
			t.Fatal(err)
		}
	}
	ae.clock.Advance(time.Minute)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ae.fake.MoveCard(ae.cardOf(t, "rej").ID, "Rejected", "boss"))
	must(ae.fake.AddLabel(ae.cardOf(t, "lab").ID, "approved", "boss"))
	must(ae.fake.MoveCard(ae.cardOf(t, "intern").ID, "Approved", "intern"))
	ae.clock.Advance(3 * time.Hour)
	must(ae.fake.MoveCard(ae.cardOf(t, "late").ID, "Approved", "boss"))

	ds, err := ae.p.Decisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[adpacer.ActionKey]Decision{}
	for _, d := range ds {
		got[d.Key] = d
	}
	want := map[adpacer.ActionKey]struct {
		v  Verdict
		by string
	}{
		"rej": {VerdictRejected, "boss"}, "lab": {VerdictApproved, "boss"}, "exp": {VerdictExpired, ""},
		"late": {VerdictExpired, "boss"}, "intern": {VerdictExpired, ""},
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g.Verdict != w.v || g.By != w.by {
			t.Errorf("%s: got %+v, want %s by %q", k, got[k], w.v, w.by)
		}
	}
	if len(ds) != len(want) {
		t.Errorf("got %d decisions, want %d", len(ds), len(want))
	}
}

func TestApprovalsValidated(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	if _, err := NewApprovals(e.c, ApprovalOptions{}); err == nil {
		t.Error("empty board accepted")
	}
	if _, err := NewApprovals(e.c, ApprovalOptions{BoardID: "b", Expiry: -time.Hour}); err == nil {
		t.Error("negative expiry accepted")
	}
	p, err := NewApprovals(e.c, ApprovalOptions{BoardID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Request(context.Background(), adpacer.Action{Key: "a\nb"}, ""); err == nil {
		t.Error("key with a line break accepted")
	}
}
