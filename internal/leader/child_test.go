package leader

// Child processes for the PostgreSQL HA tests: the test binary re-executes
// itself with ADPACER_LEADER_CHILD set, and TestMain hands over to
// childMain before running any test. A child reports on stdout, one event a
// line ("leader 7", "follower", "stalled k17", "done", "fenced ..."), so
// the parent can kill it with SIGKILL at a chosen moment.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/postgres"
)

const (
	envChild      = "ADPACER_LEADER_CHILD" // elector | worker | pausable
	envChildDSN   = "ADPACER_LEADER_CHILD_DSN"
	envChildTTL   = "ADPACER_LEADER_CHILD_TTL"
	envChildRenew = "ADPACER_LEADER_CHILD_RENEW"
	envChildKeys  = "ADPACER_LEADER_CHILD_KEYS"  // worker: how many action keys
	envChildStall = "ADPACER_LEADER_CHILD_STALL" // worker: key to stall at after the platform write
)

// childMain runs a child role and exits when ADPACER_LEADER_CHILD is set;
// it returns false in the parent test process.
func childMain() bool {
	role := os.Getenv(envChild)
	if role == "" {
		return false
	}
	if err := runChild(role); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	os.Exit(0)
	return true
}

// out serializes event lines from several goroutines.
type out struct{ mu sync.Mutex }

func (o *out) say(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

func runChild(role string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ttl, err := time.ParseDuration(os.Getenv(envChildTTL))
	if err != nil {
		return fmt.Errorf("%s: %w", envChildTTL, err)
	}
	renew, err := time.ParseDuration(os.Getenv(envChildRenew))
	if err != nil {
		return fmt.Errorf("%s: %w", envChildRenew, err)
	}
	st, err := postgres.Open(ctx, os.Getenv(envChildDSN), postgres.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer st.Close()
	el, err := New(Options{Store: st, Name: "ha-test", TTL: ttl, RenewEvery: renew})
	if err != nil {
		return err
	}
	o := &out{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = el.Run(ctx)
	}()
	defer wg.Wait()
	switch role {
	case "elector":
		watchLeadership(ctx, el, o)
		return nil
	case "worker":
		n, err := strconv.Atoi(os.Getenv(envChildKeys))
		if err != nil {
			return fmt.Errorf("%s: %w", envChildKeys, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			watchLeadership(ctx, el, o)
		}()
		return work(ctx, st, el, o, keys(n), os.Getenv(envChildStall))
	case "pausable":
		return pausable(ctx, st, el, o)
	}
	return fmt.Errorf("unknown role %q", role)
}

// watchLeadership reports every change of IsLeader.
func watchLeadership(ctx context.Context, el *Elector, o *out) {
	was := false
	for ctx.Err() == nil {
		if is := el.IsLeader(); is != was {
			if is {
				o.say("leader %d", el.Epoch())
			} else {
				o.say("follower")
			}
			was = is
		}
		time.Sleep(time.Millisecond)
	}
}

func keys(n int) []adpacer.ActionKey {
	ks := make([]adpacer.ActionKey, n)
	for i := range ks {
		ks[i] = adpacer.ActionKey(fmt.Sprintf("k%02d", i))
	}
	return ks
}

func testAction(k adpacer.ActionKey) adpacer.Action {
	v := adpacer.FromUnits(1000)
	return adpacer.Action{Key: k, Campaign: "yandex_direct:1", Kind: adpacer.SetDailyBudget, Value: &v, Reason: "ha test"}
}

var errNotLeader = errors.New("not the leader")

// work is the daemon in miniature: while leader, take every key through the
// ledger (plan, claim, platform write, finish) with this term's epoch. The
// platform write is an "applied" audit entry, so the parent counts how many
// times each key reached the platform. An action claimed by a former leader
// is reconciled first (read the platform, here the audit log), as the real
// applier reads the platform's current value before sending again.
func work(ctx context.Context, st *postgres.Store, el *Elector, o *out, ks []adpacer.ActionKey, stall string) error {
	reported := false
	for ctx.Err() == nil {
		epoch := el.Epoch()
		if epoch == 0 {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		done := 0
		for _, k := range ks {
			finished, err := step(ctx, st, el, o, k, epoch, stall)
			if errors.Is(err, store.ErrConflict) || errors.Is(err, errNotLeader) {
				break // fenced or stepped down: back to waiting for a term
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				fmt.Fprintf(os.Stderr, "child: %s: %v\n", k, err)
				break
			}
			if finished {
				done++
			}
		}
		if done == len(ks) && !reported {
			o.say("done")
			reported = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func step(ctx context.Context, st *postgres.Store, el *Elector, o *out, k adpacer.ActionKey, epoch int64, stall string) (bool, error) {
	rec, err := st.Action(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		if err := st.PlanAction(ctx, testAction(k), epoch); err != nil {
			return false, err
		}
		rec.State = adpacer.ActionPlanned
	} else if err != nil {
		return false, err
	}
	switch rec.State {
	case adpacer.ActionApplied:
		return true, nil
	case adpacer.ActionPlanned, adpacer.ActionHeld:
		if err := st.ClaimAction(ctx, k, epoch); err != nil {
			return false, err
		}
	case adpacer.ActionClaimed:
		n, err := appliedCount(ctx, st, k)
		if err != nil {
			return false, err
		}
		if n > 0 {
			return true, st.FinishAction(ctx, k, adpacer.ActionApplied, nil, "reconciled: already on the platform", epoch)
		}
	default:
		return false, fmt.Errorf("unexpected state %s", rec.State)
	}
	// The last check before the write leaves the process.
	if !el.IsLeader() {
		return false, errNotLeader
	}
	time.Sleep(time.Millisecond) // the platform call
	if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: "applier " + el.Holder(), ActionKey: k, Campaign: "yandex_direct:1",
		Kind: string(adpacer.SetDailyBudget), Outcome: "applied"}); err != nil {
		return false, err
	}
	if string(k) == stall {
		// Crash window: on the platform, not yet finished in the ledger.
		o.say("stalled %s", k)
		<-ctx.Done()
		return false, ctx.Err()
	}
	return true, st.FinishAction(ctx, k, adpacer.ActionApplied, nil, "", epoch)
}

func appliedCount(ctx context.Context, st store.Store, k adpacer.ActionKey) (int, error) {
	entries, err := st.Audit(ctx, time.Time{}, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if e.ActionKey == k && e.Outcome == "applied" {
			n++
		}
	}
	return n, nil
}

// pausable leads, reports its epoch, then waits for a line on stdin (the
// parent SIGSTOPs and SIGCONTs it meanwhile) and tries the three ledger
// writes with the epoch it captured, as a cycle that was paused mid-run
// would, reporting how each ended.
func pausable(ctx context.Context, st *postgres.Store, el *Elector, o *out) error {
	for el.Epoch() == 0 {
		if ctx.Err() != nil {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	epoch := el.Epoch()
	o.say("leader %d", epoch)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		return err
	}
	// First thing after waking: does this replica still lead?
	o.say("awake leader=%v epoch=%d", el.IsLeader(), el.Epoch())
	ks := strings.Fields(line) // plan-key claim-key finish-key
	if len(ks) != 3 {
		return fmt.Errorf("want three keys, got %q", line)
	}
	res := []string{
		outcome(st.PlanAction(ctx, testAction(adpacer.ActionKey(ks[0])), epoch)),
		outcome(st.ClaimAction(ctx, adpacer.ActionKey(ks[1]), epoch)),
		outcome(st.FinishAction(ctx, adpacer.ActionKey(ks[2]), adpacer.ActionApplied, nil, "", epoch)),
	}
	o.say("fenced plan=%s claim=%s finish=%s", res[0], res[1], res[2])
	<-ctx.Done()
	return nil
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	default:
		return "error:" + err.Error()
	}
}
