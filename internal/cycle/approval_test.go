package cycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/internal/daemon"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
)

// A change above the approval threshold waits for the manager on the
// board; moving its card to Approved releases it, it is applied exactly
// once, and the audit log names who approved it.
func TestApprovalOnTheBoardAppliesOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, cycle.Approve)
	tf := trellotest.NewServer(trellotest.Options{Now: w.clock.Now})
	t.Cleanup(tf.Close)
	board := tf.CreateBoard(trellotest.BoardSpec{Name: "alerts", Lists: []string{"Alerts", "Approvals", "Approved", "Rejected", "Resolved"}, Members: []string{"anna.pm"}})
	tc, err := trello.New(trello.Config{Key: tf.Key(), Token: tf.Token(), BaseURL: tf.BaseURL(), Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := trello.NewApprovals(tc, trello.ApprovalOptions{BoardID: board.ID, Clock: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pol := pacing.DefaultPolicy()
	pol.ApprovalThresholdPct = 1 // every change of this test needs approval
	epoch, _ := w.store.CurrentEpoch(ctx)
	if err := w.runner.PullAds(ctx, "yandex-main"); err != nil {
		t.Fatal(err)
	}
	lines := append([]pacing.Line(nil), w.lines...)
	lines[0].Mode = "approve" // the engine marks changes above the threshold on approve lines
	r, err := cycle.New(cycle.Options{Store: w.store, Now: w.clock.Now, Registerer: prometheus.NewRegistry(),
		Lines: func(time.Time) ([]pacing.Line, error) { return lines, nil }, Policy: pol, Mode: cycle.Approve,
		Ads:       []cycle.AdInstance{{ID: "yandex-main", Platform: adpacer.YandexDirect, Account: login, Source: w.client, Actuator: w.client}},
		Approvals: daemon.Approver(ap), Epoch: func() int64 { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Pace(ctx); err != nil {
		t.Fatal(err)
	}
	held, _ := w.store.Actions(ctx, store.ActionFilter{States: []adpacer.ActionState{adpacer.ActionHeld}})
	if len(held) == 0 {
		t.Fatal("no change waits for approval")
	}
	writes := w.fake.MutatingCalls()
	if err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if w.fake.MutatingCalls() != writes {
		t.Fatal("a change was sent before its approval")
	}
	var cards []string
	for _, c := range tf.Cards(board.ID) {
		if c.ListName == "Approvals" {
			cards = append(cards, c.ID)
		}
	}
	if len(cards) != len(held) {
		t.Fatalf("%d approval cards for %d held changes", len(cards), len(held))
	}
	for _, id := range cards {
		if err := tf.MoveCard(id, "Approved", "anna.pm"); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.Advance(time.Minute)
	for i := 0; i < 3; i++ {
		if err := r.Apply(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sent := w.fake.MutatingCalls() - writes
	if sent == 0 || sent > len(held) {
		t.Fatalf("approved changes sent in %d calls for %d approvals", sent, len(held))
	}
	audit, _ := w.store.Audit(ctx, time.Time{}, 0)
	approved := map[adpacer.ActionKey]int{}
	for _, e := range audit {
		if e.Outcome == string(adpacer.ActionApplied) {
			approved[e.ActionKey]++
			if e.ApprovedBy != "anna.pm" {
				t.Errorf("applied %s without recording who approved it (%q)", e.ActionKey, e.ApprovedBy)
			}
		}
	}
	for k, n := range approved {
		if n != 1 {
			t.Errorf("%s applied %d times", k, n)
		}
	}
	if len(approved) != len(held) {
		t.Errorf("%d of %d approved changes applied", len(approved), len(held))
	}
}
