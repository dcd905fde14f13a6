package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// The batch forms of the ledger: one transaction per cycle step, with the
// same rules as the one-action forms.

func auditOf(key, actor, outcome string) *store.AuditEntry {
	return &store.AuditEntry{At: day0, Actor: actor, ActionKey: adpacer.ActionKey(key), Campaign: camp1, Kind: string(adpacer.SetDailyBudget),
		Before: mp(5_000_000_000), After: mp(4_000_000_000), Outcome: outcome, Detail: "over pace"}
}

func auditKeys(t *testing.T, s store.Store) []string {
	t.Helper()
	entries, err := s.Audit(ctxT(t), time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, string(e.ActionKey)+":"+e.Outcome)
	}
	return out
}

func stateOf(t *testing.T, s store.Store, key string) adpacer.ActionState {
	t.Helper()
	r, err := s.Action(ctxT(t), adpacer.ActionKey(key))
	if err != nil {
		t.Fatalf("action %s: %v", key, err)
	}
	return r.State
}

func testLedgerBatch(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	e, err := s.BumpEpoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PlanAction(ctx, action("old"), e); err != nil {
		t.Fatal(err)
	}

	// Plan: new keys are recorded with their audit entries; a key already
	// in the ledger (decided by an earlier run) and a repeat inside the
	// batch are skipped, and so are their audit entries.
	got, err := s.PlanActions(ctx, []store.PlanItem{
		{Action: action("p1"), Audit: auditOf("p1", "engine", "planned")},
		{Action: action("old"), Audit: auditOf("old", "engine", "planned")},
		{Action: action("h1"), State: adpacer.ActionHeld, Before: mp(5_000_000_000), Detail: "dry-run: not sent", Audit: auditOf("h1", "engine", "dry_run")},
		{Action: action("p1"), Audit: auditOf("p1", "engine", "again")},
		{Action: action("p2")},
	}, e)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]adpacer.ActionKey{"p1", "h1", "p2"}, got); d != "" {
		t.Errorf("recorded keys (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"p1:planned", "h1:dry_run"}, auditKeys(t, s)); d != "" {
		t.Errorf("audit after plan (-want +got):\n%s", d)
	}
	h1, err := s.Action(ctx, "h1")
	if err != nil || h1.State != adpacer.ActionHeld || h1.Detail != "dry-run: not sent" || h1.Before == nil || *h1.Before != 5_000_000_000 || h1.Epoch != e {
		t.Errorf("held item recorded as %+v (%v)", h1, err)
	}
	if !cmp.Equal(h1.Action, action("h1")) {
		t.Errorf("held item's action %+v", h1.Action)
	}
	// A bad item refuses the whole batch, naming the item.
	bad := action("bad")
	bad.Value = nil
	_, err = s.PlanActions(ctx, []store.PlanItem{{Action: action("p3")}, {Action: bad}}, e)
	wantErr(t, err, store.ErrInvalid, "items[1].action.value")
	_, err = s.PlanActions(ctx, []store.PlanItem{{Action: action("p3"), State: adpacer.ActionApplied}}, e)
	wantErr(t, err, store.ErrInvalid, "items[0].state")
	_, err = s.PlanActions(ctx, []store.PlanItem{{Action: action("p3"), Audit: &store.AuditEntry{}}}, e)
	wantErr(t, err, store.ErrInvalid, "items[0].audit.actor")
	if _, err := s.Action(ctx, "p3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an item of a refused batch was recorded: %v", err)
	}

	// Claim: planned and held keys are claimed, in input order; a claimed
	// or finished key is left alone and absent from the result.
	if err := s.ClaimAction(ctx, "old", e); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimActions(ctx, []adpacer.ActionKey{"p2", "old", "h1", "p1", "p2"}, e)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]adpacer.ActionKey{"p2", "h1", "p1"}, claimed); d != "" {
		t.Errorf("claimed (-want +got):\n%s", d)
	}
	again, err := s.ClaimActions(ctx, []adpacer.ActionKey{"p1", "p2"}, e)
	if err != nil || len(again) != 0 {
		t.Errorf("second claim of a batch = %v, %v; want nothing claimed", again, err)
	}
	if _, err := s.PlanActions(ctx, []store.PlanItem{{Action: action("p4")}}, e); err != nil {
		t.Fatal(err)
	}
	// An unknown key refuses the whole batch: p4 stays planned.
	_, err = s.ClaimActions(ctx, []adpacer.ActionKey{"p4", "nope"}, e)
	wantErr(t, err, store.ErrNotFound, "nope")
	if st := stateOf(t, s, "p4"); st != adpacer.ActionPlanned {
		t.Errorf("p4 is %s after a refused claim batch, want planned", st)
	}

	// Finish: outcomes and their audit entries in one transaction.
	err = s.FinishActions(ctx, []store.FinishItem{
		{Key: "p1", State: adpacer.ActionApplied, Before: mp(5_000_000_000), Detail: "ok", Audit: auditOf("p1", "applier", "applied")},
		{Key: "old", State: adpacer.ActionRejected, Detail: "superseded", Audit: auditOf("old", "applier", "rejected")},
		{Key: "p4", State: adpacer.ActionRejected, Detail: "expired"},
	}, e)
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := s.Action(ctx, "p1")
	if p1.State != adpacer.ActionApplied || p1.Detail != "ok" || p1.Before == nil || *p1.Before != 5_000_000_000 {
		t.Errorf("p1 finished as %+v", p1)
	}
	if st := stateOf(t, s, "old"); st != adpacer.ActionRejected {
		t.Errorf("old is %s, want rejected", st)
	}
	// One refused transition (h1 is claimed; p1 is applied already)
	// records nothing of the batch, audit entries included.
	before := auditKeys(t, s)
	err = s.FinishActions(ctx, []store.FinishItem{
		{Key: "h1", State: adpacer.ActionNoop, Audit: auditOf("h1", "applier", "noop")},
		{Key: "p1", State: adpacer.ActionFailed, Audit: auditOf("p1", "applier", "failed")},
	}, e)
	wantErr(t, err, store.ErrConflict, "p1")
	if st := stateOf(t, s, "h1"); st != adpacer.ActionClaimed {
		t.Errorf("h1 is %s after a refused finish batch, want claimed", st)
	}
	if d := cmp.Diff(before, auditKeys(t, s)); d != "" {
		t.Errorf("a refused finish batch changed the audit log (-before +after):\n%s", d)
	}
	wantErr(t, s.FinishActions(ctx, []store.FinishItem{{Key: "h1", State: "bogus"}}, e), store.ErrInvalid, "items[0].state")
	wantErr(t, s.FinishActions(ctx, []store.FinishItem{{Key: "nope", State: adpacer.ActionRejected}}, e), store.ErrNotFound, "nope")
	if err := s.FinishActions(ctx, []store.FinishItem{{Key: "h1", State: adpacer.ActionNoop}, {Key: "p2", State: adpacer.ActionFailed, Detail: "refused"}}, e); err != nil {
		t.Fatal(err)
	}
	if pend, _ := s.PendingActions(ctx); len(pend) != 0 {
		t.Errorf("pending after finishing every action: %+v", pend)
	}
	// Empty batches are no-ops.
	if k, err := s.PlanActions(ctx, nil, e); err != nil || len(k) != 0 {
		t.Errorf("PlanActions(nil) = %v, %v", k, err)
	}
	if k, err := s.ClaimActions(ctx, nil, e); err != nil || len(k) != 0 {
		t.Errorf("ClaimActions(nil) = %v, %v", k, err)
	}
	if err := s.FinishActions(ctx, nil, e); err != nil {
		t.Errorf("FinishActions(nil) = %v", err)
	}
}

func testLedgerBatchFencing(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	old, _ := s.BumpEpoch(ctx)
	if _, err := s.PlanActions(ctx, []store.PlanItem{{Action: action("f1")}, {Action: action("f2")}}, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimActions(ctx, []adpacer.ActionKey{"f2"}, old); err != nil {
		t.Fatal(err)
	}
	cur, _ := s.BumpEpoch(ctx)
	n0 := len(auditKeys(t, s))
	_, err := s.PlanActions(ctx, []store.PlanItem{{Action: action("f3"), Audit: auditOf("f3", "engine", "planned")}}, old)
	wantErr(t, err, store.ErrConflict, "stale")
	_, err = s.ClaimActions(ctx, []adpacer.ActionKey{"f1"}, old)
	wantErr(t, err, store.ErrConflict, "stale")
	err = s.FinishActions(ctx, []store.FinishItem{{Key: "f2", State: adpacer.ActionApplied, Audit: auditOf("f2", "applier", "applied")}}, old)
	wantErr(t, err, store.ErrConflict, "stale")
	if _, err := s.Action(ctx, "f3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a fenced plan was recorded: %v", err)
	}
	if st := stateOf(t, s, "f1"); st != adpacer.ActionPlanned {
		t.Errorf("f1 is %s after a fenced claim", st)
	}
	if st := stateOf(t, s, "f2"); st != adpacer.ActionClaimed {
		t.Errorf("f2 is %s after a fenced finish", st)
	}
	if n := len(auditKeys(t, s)); n != n0 {
		t.Errorf("fenced batches appended %d audit entries", n-n0)
	}
	got, err := s.ClaimActions(ctx, []adpacer.ActionKey{"f1"}, cur)
	if err != nil || len(got) != 1 {
		t.Fatalf("the new leader's claim = %v, %v", got, err)
	}
	if r, _ := s.Action(ctx, "f1"); r.Epoch != cur {
		t.Errorf("epoch recorded %d, want %d", r.Epoch, cur)
	}
}

// batchKeys plans n actions named prefix-i and returns their keys.
func batchKeys(t *testing.T, s store.Store, e int64, prefix string, n int) []adpacer.ActionKey {
	t.Helper()
	items := make([]store.PlanItem, n)
	keys := make([]adpacer.ActionKey, n)
	for i := range items {
		keys[i] = adpacer.ActionKey(fmt.Sprintf("%s-%03d", prefix, i))
		items[i] = store.PlanItem{Action: action(string(keys[i]))}
	}
	if _, err := s.PlanActions(ctxT(t), items, e); err != nil {
		t.Fatal(err)
	}
	return keys
}

// Claimers of overlapping batches, each in its own order, claim every key
// exactly once between them.
func testConcurrentBatchClaims(t *testing.T, s store.Store, _ string, _ Backend) {
	ctx := ctxT(t)
	e, _ := s.BumpEpoch(ctx)
	keys := batchKeys(t, s, e, "batch-race", 40)
	const n = 6
	type res struct {
		keys []adpacer.ActionKey
		err  error
	}
	results := make(chan res, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		mine := slices.Clone(keys)
		rand.New(rand.NewPCG(uint64(i), 7)).Shuffle(len(mine), func(a, b int) { mine[a], mine[b] = mine[b], mine[a] })
		go func() {
			<-start
			got, err := s.ClaimActions(ctx, mine, e)
			results <- res{got, err}
		}()
	}
	close(start)
	won := map[adpacer.ActionKey]int{}
	for i := 0; i < n; i++ {
		r := <-results
		if r.err != nil {
			t.Errorf("claim batch: %v", r.err)
		}
		for _, k := range r.keys {
			won[k]++
		}
	}
	for _, k := range keys {
		if won[k] != 1 {
			t.Errorf("%s claimed %d times, want exactly once", k, won[k])
		}
	}
}

// Two processes claim the same batch, in opposite orders: every key is
// claimed by exactly one of them.
func testTwoProcessBatchClaim(t *testing.T, s store.Store, addr string, _ Backend) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	ctx := ctxT(t)
	e, _ := s.BumpEpoch(ctx)
	keys := batchKeys(t, s, e, "proc-batch", 60)
	list := make([]string, len(keys))
	for i, k := range keys {
		list[i] = string(k)
	}
	rev := slices.Clone(list)
	slices.Reverse(rev)
	var ins []interface{ Write([]byte) (int, error) }
	var outs []func() string
	for _, order := range [][]string{list, rev} {
		env := []string{envChild + "=claimbatch", envAddr + "=" + addr, envKey + "=" + strings.Join(order, ","), envEpoch + "=" + fmt.Sprint(e)}
		_, in, out := StartChild(t, env...)
		if l := ReadLine(t, out); l != "READY" {
			t.Fatalf("child: %q", l)
		}
		ins = append(ins, in)
		outs = append(outs, func() string { return ReadLine(t, out) })
	}
	for _, in := range ins {
		fmt.Fprintln(in, "GO")
	}
	won := map[string]int{}
	for i, out := range outs {
		l, ok := strings.CutPrefix(out(), "CLAIMED:")
		if !ok {
			t.Fatalf("child %d did not report its claims", i)
		}
		for _, k := range strings.Split(l, ",") {
			if k != "" {
				won[k]++
			}
		}
	}
	for _, k := range list {
		if won[k] != 1 {
			t.Errorf("%s claimed by %d processes, want exactly one", k, won[k])
		}
		if st := stateOf(t, s, k); st != adpacer.ActionClaimed {
			t.Errorf("%s is %s after the race", k, st)
		}
	}
}
