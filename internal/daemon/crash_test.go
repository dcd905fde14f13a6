package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/sqlite"
)

// Child mode: the test binary re-executed by TestCrashSafety runs the real
// daemon against the parent's fakes and is killed with SIGKILL.
const (
	envChild  = "ADPACER_CRASH_CHILD"
	envConfig = "ADPACER_CRASH_CONFIG"
	envNow    = "ADPACER_CRASH_NOW"
	envCycles = "ADPACER_CRASH_CYCLES"
	envSeed   = "ADPACER_CRASH_SEED"
)

// crashChild runs cycles of the daemon at the instant the parent chose and
// prints each phase as it starts ("phase apply"), unbuffered, so the parent
// knows where its kill landed. It returns the exit code.
func crashChild() int {
	now, err := time.Parse(time.RFC3339Nano, os.Getenv(envNow))
	if err != nil {
		fmt.Fprintf(os.Stderr, "crash child: %s: %v\n", envNow, err)
		return 2
	}
	cycles, err := strconv.Atoi(os.Getenv(envCycles))
	if err != nil || cycles < 1 {
		fmt.Fprintf(os.Stderr, "crash child: %s must be a positive integer\n", envCycles)
		return 2
	}
	ctx := context.Background()
	fmt.Fprintln(os.Stdout, "phase start")
	l, err := openDaemon(ctx, os.Getenv(envConfig), &stepClock{t: now})
	if err != nil {
		fmt.Fprintf(os.Stderr, "crash child: %v\n", err)
		return 1
	}
	code := 0
	for i := 0; i < cycles; i++ {
		pt, err := l.runCycle(ctx, func(p string) { fmt.Fprintln(os.Stdout, "phase "+p) })
		fmt.Fprintf(os.Stdout, "applytime %d\n", pt.Apply)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crash child: cycle %d: %v\n", i, err)
			code = 1
		}
	}
	if err := l.close(); err != nil {
		fmt.Fprintf(os.Stderr, "crash child: close: %v\n", err)
		code = 1
	}
	return code
}

// crashSpec is the crash world: 20 Yandex campaigns in 4 lines whose daily
// budgets bind (demand is far above them) while the lines need much more,
// so every day the engine raises budgets, in small steps so the raises go
// on for the whole test; the clock moves one day per incarnation so each
// run has fresh decisions to apply.
var crashSpec = worldSpec{
	Yandex: 20, Lines: 4, AdsPerCampaign: 5,
	PeriodStart: "2026-09-01", PeriodEnd: "2027-08-31", LineBudgetRUB: 200_000_000,
	DailySpendRUB: 150_000, DailyBudgetRUB: 1_000,
	// 00:20 Moscow: the first hours of the platform day, when the engine
	// sets the day's budgets.
	Start:  time.Date(2026, 9, 30, 21, 20, 0, 0, time.UTC),
	Policy: "    bid_cooldown: 1h\n    max_budget_step_pct: 6\n    tolerance_pct: 2\n",
}

const (
	minApplyKills = 50
	maxChildRuns  = 200
)

// TestCrashSafety re-executes the test binary as the daemon, kills it with
// SIGKILL at seeded random points (most inside the apply phase, while
// Yandex writes are in flight), restarts it, lets a last run finish, and
// checks that no decided action was applied twice, every write the
// platform saw belongs to a decision, no alert card is duplicated and the
// database is intact.
func TestCrashSafety(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the crash test sends SIGKILL to a child process: Linux only")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(envSeed); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", envSeed, s)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("crash test seed %d: rerun with %s=%d go test -race -run TestCrashSafety ./internal/daemon/", seed, envSeed, seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, crashSpec)
	dir := t.TempDir()
	cfgPath := w.writeConfig(t, dir)

	kills, applyKills, clean := 0, 0, 0
	byPhase := map[string]int{}
	applyWindow := 100 * time.Millisecond // learned from runs that finish apply
	inc := 0
	started := time.Now()
	for ; applyKills < minApplyKills; inc++ {
		if inc >= maxChildRuns {
			t.Fatalf("only %d of %d kills landed in apply after %d runs", applyKills, minApplyKills, inc)
		}
		w.writeLatency.Store(int64(time.Duration(10+rng.IntN(50)) * time.Millisecond))
		res := runChild(t, exe, w, cfgPath, inc, 1, rng, applyWindow)
		t.Logf("incarnation %d: killed=%v last phase %q apply %v", inc, res.killed, res.lastPhase, res.applyTime)
		if res.killed {
			kills++
			byPhase[res.lastPhase]++
			if res.lastPhase == "apply" {
				applyKills++
			}
		} else {
			clean++
		}
		// Aim at the apply phases seen lately (a moving average).
		if res.applyTime > 0 {
			applyWindow = (3*applyWindow + res.applyTime) / 4
		}
	}
	// The last run (same window as the last killed one, then one more
	// cycle) replays whatever the kills left claimed and must finish.
	final := runChild(t, exe, w, cfgPath, inc-1, 3, nil, 0)
	if final.killed {
		t.Fatal("the final run was killed")
	}
	t.Logf("seed %d: %d runs, %d kills (%v), %d clean runs, apply window %v, %v",
		seed, inc+1, kills, byPhase, clean, applyWindow, time.Since(started).Round(time.Millisecond))

	checkCrashInvariants(t, w, filepath.Join(dir, "adpacer.db"))
}

type childResult struct {
	killed    bool
	lastPhase string
	applyTime time.Duration
}

// runChild starts one incarnation of the daemon at the incarnation's
// instant and, when rng is set, kills it at a random point: mostly inside
// apply (a random delay into the phase, or just after the k-th write
// reached the platform), sometimes in alerts or anywhere.
func runChild(t *testing.T, exe string, w *world, cfgPath string, inc, cycles int, rng *rand.Rand, applyWindow time.Duration) childResult {
	t.Helper()
	now := crashSpec.Start.Add(time.Duration(inc) * 24 * time.Hour)
	w.clock.Set(now)
	w.setTag(inc)
	// Moderation rejects one more known ad a day and accepts yesterday's
	// again, so runs open and resolve alert cards and a kill in the alerts
	// phase can land between creating a card and recording it. Each ad is
	// rejected at most once, so one card per alert key is the rule.
	if n := len(w.yandexIDs) * crashSpec.AdsPerCampaign; inc < n {
		w.clock.Set(now.Add(-2 * time.Minute)) // the verdict is in by now
		adOf := func(i int) int64 {
			return w.yandexIDs[i%len(w.yandexIDs)]*100 + int64(i/len(w.yandexIDs))
		}
		w.yandex.SetVerdict(adOf(inc), "REJECTED", "The ad does not state the full cost of credit (38-FZ art. 28).")
		w.yandex.SubmitAd(adOf(inc))
		if inc > 0 {
			w.yandex.SetVerdict(adOf(inc-1), "ACCEPTED", "")
			w.yandex.SubmitAd(adOf(inc - 1))
		}
		w.clock.Set(now)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1", envConfig+"="+cfgPath, envNow+"="+now.Format(time.RFC3339Nano),
		envCycles+"="+strconv.Itoa(cycles))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	writeArrived := make(chan struct{}, 64)
	w.arrivalMu.Lock()
	w.onWriteArrival = func() {
		select {
		case writeArrived <- struct{}{}:
		default:
		}
	}
	w.arrivalMu.Unlock()
	defer func() {
		w.arrivalMu.Lock()
		w.onWriteArrival = nil
		w.arrivalMu.Unlock()
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	phases := make(chan string, 16)
	lines := make(chan []string, 1)
	go func() {
		var all []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			all = append(all, sc.Text())
			if p, ok := strings.CutPrefix(sc.Text(), "phase "); ok {
				select {
				case phases <- p:
				default:
				}
			}
		}
		close(phases)
		lines <- all
	}()

	// A child that hangs is killed after a minute and fails the test.
	hung := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Signal(syscall.SIGQUIT) })
	defer hung.Stop()
	killed, applyTook := false, time.Duration(0)
	if rng != nil {
		killed, applyTook = aimAndKill(cmd, phases, writeArrived, rng, applyWindow)
	}
	// Drain so the reader finishes (the channel closes at EOF).
	for range phases {
	}
	all := <-lines
	werr := cmd.Wait()
	w.waitWritesDrained(t)

	res := childResult{killed: killed, applyTime: applyTook}
	for _, l := range all {
		if p, ok := strings.CutPrefix(l, "phase "); ok {
			res.lastPhase = p
		}
		if v, ok := strings.CutPrefix(l, "applytime "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			res.applyTime = time.Duration(n)
		}
	}
	if killed {
		// A kill that came after the child finished is no kill.
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			res.killed = false
		}
	}
	if !res.killed && werr != nil {
		t.Fatalf("incarnation %d (now %s) failed: %v\nstdout:\n%s\nstderr:\n%s", inc, now.Format(time.RFC3339), werr,
			strings.Join(all, "\n"), stderr.String())
	}
	return res
}

// aimAndKill picks the kill point and sends SIGKILL; false when the child
// exited first. When it saw a whole apply phase go by it reports how long
// that took, so the next aim at a random instant inside apply is better.
func aimAndKill(cmd *exec.Cmd, phases <-chan string, writeArrived <-chan struct{}, rng *rand.Rand, applyWindow time.Duration) (bool, time.Duration) {
	var applyStart time.Time
	var applyTook time.Duration
	waitPhase := func(want string) bool {
		for p := range phases {
			switch {
			case p == "apply":
				applyStart = time.Now()
			case !applyStart.IsZero() && applyTook == 0:
				applyTook = time.Since(applyStart)
			}
			if p == want {
				return true
			}
		}
		return false
	}
	kill := func(after time.Duration) bool {
		if after > 0 {
			time.Sleep(after)
		}
		return cmd.Process.Signal(syscall.SIGKILL) == nil
	}
	switch r := rng.Float64(); {
	case r < 0.45: // a random instant inside apply
		if !waitPhase("apply") {
			return false, 0
		}
		return kill(time.Duration(rng.Int64N(int64(applyWindow)))), 0
	case r < 0.75: // while the k-th write of this run is in flight
		if !waitPhase("apply") {
			return false, 0
		}
		k := 1 + rng.IntN(2) // 20 budget raises are two Campaigns.update calls
		for i := 0; i < k; {
			select {
			case <-writeArrived:
				i++
			case p, ok := <-phases:
				if !ok {
					return false, 0
				}
				if p != "apply" { // apply ended with fewer writes
					return kill(0), time.Since(applyStart)
				}
			}
		}
		return kill(time.Duration(rng.Int64N(int64(40 * time.Millisecond)))), 0
	case r < 0.95: // while alert cards are being written
		if !waitPhase("alerts") {
			return false, applyTook
		}
		return kill(time.Duration(rng.Int64N(int64(40 * time.Millisecond)))), applyTook
	default: // anywhere: start-up, pull, pace
		return kill(time.Duration(rng.Int64N(int64(time.Second)))), 0
	}
}

// checkCrashInvariants is the oracle.
func checkCrashInvariants(t *testing.T, w *world, dbPath string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{NoProcessLock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// (c) the database survived every kill.
	if err := st.IntegrityCheck(ctx); err != nil {
		t.Errorf("integrity_check after the kills: %v", err)
	}
	acts, err := st.Actions(ctx, store.ActionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[adpacer.ActionState]int{}
	why := map[string]int{} // outcome details of unapplied decisions, for the log
	// Decisions by what they would write: (campaign, field, value).
	type target struct {
		campaign int64
		field    string
		value    string
	}
	keysOf := map[target][]store.ActionRecord{}
	decided := 0
	for _, a := range acts {
		states[a.State]++
		if a.State == adpacer.ActionFailed || a.State == adpacer.ActionRejected {
			d, _, _ := strings.Cut(a.Detail, " by ") // "superseded by <key>, ..."
			why[string(a.State)+": "+d]++
		}
		if a.State == adpacer.ActionClaimed || a.State == adpacer.ActionPlanned {
			t.Errorf("action %s (%s %s) is still %s after the final run", a.Key, a.Campaign, a.Kind, a.State)
		}
		_, ext, err := a.Campaign.Split()
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseInt(ext, 10, 64)
		var tg target
		switch a.Kind {
		case adpacer.SetDailyBudget:
			tg = target{id, "DailyBudget", strconv.FormatInt(int64(a.Value.FloorTo(10_000)), 10)}
		case adpacer.SetBid:
			tg = target{id, "SearchBid", strconv.FormatInt(int64(*a.Value), 10)}
		case adpacer.Pause:
			tg = target{id, "State", "SUSPENDED"}
		default:
			tg = target{id, "State", "ON"}
		}
		keysOf[tg] = append(keysOf[tg], a)
		decided++
	}
	writes := w.writeLog()
	changed := 0
	events := map[target][]taggedWrite{} // every write, by what it set
	for _, ev := range writes {
		// A write that changed nothing still counts against its key: the
		// actuator reads first, so the daemon never sends a value the
		// platform already has unless it resent a decision.
		if ev.Old != ev.New {
			changed++
		}
		tg := target{ev.Campaign, ev.Field, ev.New}
		events[tg] = append(events[tg], ev)
	}
	// (a) Each write that changed the platform is matched to its own
	// decision made no later than the run it landed in: for every
	// (campaign, field, value), the k-th such write needs k decisions
	// planned in that run or an earlier one (Hall's condition for a
	// matching of writes to ledger keys). A key written twice, or a write
	// no decision asked for, breaks it.
	incarnationOf := func(at time.Time) int { return int(at.Sub(crashSpec.Start) / (24 * time.Hour)) }
	for tg, evs := range events {
		keys := keysOf[tg]
		sort.Slice(evs, func(i, j int) bool { return evs[i].Incarnation < evs[j].Incarnation })
		for k, ev := range evs {
			n := 0
			for _, a := range keys {
				if incarnationOf(a.PlannedAt) <= ev.Incarnation {
					n++
				}
			}
			if n < k+1 {
				t.Errorf("campaign %d %s=%s was written %d times by %s (incarnation %d) but only %d decisions asked for it: a decision was applied twice or a write was never recorded",
					tg.campaign, tg.field, tg.value, k+1, ev.At.Format(time.RFC3339), ev.Incarnation, n)
				break
			}
		}
		// Every applied decision has its write.
		applied := 0
		for _, a := range keys {
			if a.State == adpacer.ActionApplied {
				applied++
			}
		}
		if applied > len(evs) {
			t.Errorf("campaign %d %s=%s: %d decisions recorded applied, the platform saw %d writes", tg.campaign, tg.field, tg.value, applied, len(evs))
		}
	}
	for tg, keys := range keysOf {
		if len(events[tg]) > 0 {
			continue
		}
		for _, a := range keys {
			if a.State == adpacer.ActionApplied {
				t.Errorf("action %s (campaign %d %s=%s) is recorded applied but the platform never saw the write", a.Key, tg.campaign, tg.field, tg.value)
			}
		}
	}
	// (d) The ledger and the audit log tell the truth about the platform.
	checkWritesRecorded(t, keysOf, events, incarnationOf)
	audit, err := st.Audit(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomesAudited(t, acts, audit)
	// This world's platform refuses nothing the engine decides, so a
	// failure is the daemon's own doing (e.g. two writes to one setting in
	// a call after a crash replay).
	if states[adpacer.ActionFailed] > 0 {
		t.Errorf("%d actions failed: %v", states[adpacer.ActionFailed], why)
	}
	if states[adpacer.ActionApplied] < minApplyKills {
		t.Errorf("only %d actions were applied over the whole run: the world gave the kills too little to interrupt", states[adpacer.ActionApplied])
	}

	// (b) One card per alert key on the board, however many kills landed
	// between creating a card and recording it.
	perKey := map[string]int{}
	cards := w.trello.Cards(w.board.ID)
	for _, c := range cards {
		for _, line := range strings.Split(c.Desc, "\n") {
			if k, ok := strings.CutPrefix(strings.TrimSpace(line), trello.AlertKeyMarker+":"); ok {
				perKey[strings.TrimSpace(k)]++
			}
		}
	}
	for k, n := range perKey {
		if n > 1 {
			t.Errorf("alert %q has %d cards on the board", k, n)
		}
	}
	if len(perKey) == 0 {
		t.Error("no alert card was created: the test did not exercise the alert sink")
	}
	for d, n := range why {
		t.Logf("%4d x %s", n, d)
	}
	t.Logf("ledger: %d decisions %v; platform: %d writes (%d changed a value); board: %d cards for %d alert keys",
		decided, states, len(writes), changed, len(cards), len(perKey))
}

// checkWritesRecorded proves that every write that changed the platform is
// recorded in the ledger as the work of exactly one action: for each
// (campaign, field, value), the changing writes and the actions the ledger
// finished applied or noop (a replay that found its own earlier write in
// place) must admit a matching in which each changing write has its own
// applied-or-noop action decided no later than the run it landed in, and
// each applied action has its own changing write landed no earlier than
// the run it was decided in. A write the ledger records as not applied (a
// claimed action later marked rejected although it had landed) leaves a
// write without an action; an action recorded applied twice, or applied
// without a write, leaves an action without one.
//
// An action can only pair with writes at or after its decision, so the
// neighbourhoods are nested and Hall's condition reduces to counting: the
// k-th earliest changing write needs k candidate actions decided by its
// run, and the k-th latest applied action needs k changing writes from its
// run on. Both matchings existing implies one that covers both sides
// (Mendelsohn-Dulmage), since writes and actions are the two sides.
func checkWritesRecorded[T comparable](t *testing.T, keysOf map[T][]store.ActionRecord, events map[T][]taggedWrite, incarnationOf func(time.Time) int) {
	t.Helper()
	targets := map[T]bool{}
	for tg := range keysOf {
		targets[tg] = true
	}
	for tg := range events {
		targets[tg] = true
	}
	unrecorded, phantom := 0, 0
	for tg := range targets {
		var writes []int // incarnations of the changing writes
		for _, ev := range events[tg] {
			if ev.Old != ev.New {
				writes = append(writes, ev.Incarnation)
			}
		}
		var candidates, applied []int // decision incarnations
		states := map[adpacer.ActionState]int{}
		for _, a := range keysOf[tg] {
			states[a.State]++
			switch a.State {
			case adpacer.ActionApplied:
				applied = append(applied, incarnationOf(a.PlannedAt))
				candidates = append(candidates, incarnationOf(a.PlannedAt))
			case adpacer.ActionNoop:
				candidates = append(candidates, incarnationOf(a.PlannedAt))
			}
		}
		sort.Ints(writes)
		sort.Ints(candidates)
		sort.Ints(applied)
		for k, inc := range writes {
			if n := sort.SearchInts(candidates, inc+1); n < k+1 {
				unrecorded++
				if unrecorded <= 10 {
					t.Errorf("%v: %d changing writes by incarnation %d but only %d actions decided by then are recorded applied or noop (ledger states of this target: %v): a change the platform made is missing from the ledger",
						tg, k+1, inc, n, states)
				}
				break
			}
		}
		for k := len(applied) - 1; k >= 0; k-- {
			need := len(applied) - k
			if n := len(writes) - sort.SearchInts(writes, applied[k]); n < need {
				phantom++
				if phantom <= 10 {
					t.Errorf("%v: %d actions decided from incarnation %d on are recorded applied but the platform saw only %d changing writes from then on",
						tg, need, applied[k], n)
				}
				break
			}
		}
	}
	if unrecorded > 0 || phantom > 0 {
		t.Errorf("%d targets have platform writes the ledger does not record as applied or noop; %d have applied actions without a write", unrecorded, phantom)
	}
}

// checkOutcomesAudited proves that the audit log has the applier's entry
// for every action the ledger finished applied or noop, with the same
// outcome, so anything that reads the audit log (Yandex's edit count, the
// pacing memory) sees every change.
func checkOutcomesAudited(t *testing.T, acts []store.ActionRecord, audit []store.AuditEntry) {
	t.Helper()
	outcomes := map[adpacer.ActionKey][]string{}
	for _, e := range audit {
		if e.Actor == "applier" {
			outcomes[e.ActionKey] = append(outcomes[e.ActionKey], e.Outcome)
		}
	}
	missing := 0
	for _, a := range acts {
		if a.State != adpacer.ActionApplied && a.State != adpacer.ActionNoop {
			continue
		}
		got := outcomes[a.Key]
		if len(got) != 1 || got[0] != string(a.State) {
			missing++
			if missing <= 10 {
				t.Errorf("action %s is %s in the ledger; the applier's audit entries say %v", a.Key, a.State, got)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d finished actions lack their one audit entry", missing)
	}
}
