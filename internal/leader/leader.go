// Package leader elects one active writer among adpacer replicas that share
// a PostgreSQL store (ops-notes 4.5), with a lease row rather than a session
// advisory lock so it works through any pooler and can be watched with a
// SELECT.
//
// Safety rests on two independent fences:
//
//  1. Locally, a replica counts itself leader only while less than TTL has
//     passed, on the monotonic clock, since the start of its last
//     successful acquire or renew. The server started counting the lease
//     after that instant, so the replica gives up no later than the server
//     lets anyone else take over. A process paused past its lease therefore
//     wakes up a follower: IsLeader and Epoch answer false and 0 before its
//     renew loop has even run. A failed or erroring renew drops leadership
//     at once.
//  2. In the store, taking the lease over bumps the leader epoch in the same
//     transaction, and every ledger write (plan, claim, finish) carries the
//     writer's epoch and fails with store.ErrConflict when it is stale. That
//     stops a former leader whose write was already under way when it lost.
//
// Hand-over after a leader dies without releasing takes at most TTL after
// its last renew when the store tells followers when the lease runs out
// (LeaseWatcher; the PostgreSQL store does), else TTL plus RenewEvery (the
// followers' retry period); a leader that stops cleanly releases the lease
// and hands over within RenewEvery.
package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// LeaseStore is the lease a replica must hold to lead; store/postgres and
// store/sqlite implement it. AcquireLease returns the leader epoch of the
// term (bumped in the same transaction when the term is new); RenewLease
// extends only the holder's live term of that epoch; ReleaseLease ends it.
type LeaseStore interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (epoch int64, ok bool, err error)
	RenewLease(ctx context.Context, name, holder string, epoch int64, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string, epoch int64) error
}

// LeaseWatcher is optional for a LeaseStore: how long the current term of
// the lease has left on the store's clock (0 when none is live). A follower
// that knows it wakes just after the lease runs out instead of at its next
// RenewEvery tick, so a dead leader is replaced within TTL of its last
// renew, not TTL plus up to one retry period.
type LeaseWatcher interface {
	LeaseRemaining(ctx context.Context, name string) (time.Duration, error)
}

// expirySlack is how long after the store says a lease ends a follower
// retries: the store's clock decides expiry, and a retry a hair early
// would find the lease still live and sleep again.
const expirySlack = 25 * time.Millisecond

// Defaults (ops-notes 4.5: 15s leases are the common Kubernetes choice).
const (
	DefaultName = "adpacer"
	DefaultTTL  = 15 * time.Second
)

// Options configure New.
type Options struct {
	// Store holds the lease (required).
	Store LeaseStore
	// Name of the lease; every replica of one deployment uses the same
	// (default "adpacer").
	Name string
	// Holder names this process in the lease, unique per process
	// (default DefaultHolder(): hostname-pid-random).
	Holder string
	// TTL is how long a lease lasts without renewal (default 15s).
	TTL time.Duration
	// RenewEvery is how often the leader renews and a follower retries
	// (default TTL/3; at most TTL/2 so one slow renew does not end a term).
	RenewEvery time.Duration
	// Now is the clock; it must carry Go's monotonic reading (time.Now
	// does) so a wall-clock step cannot stretch a term. Default time.Now.
	Now func() time.Time
	// Logger (default: none).
	Logger *zap.Logger
	// Registerer receives adpacer_leader, adpacer_leader_epoch,
	// adpacer_leader_transitions_total and
	// adpacer_leader_lease_errors_total (nil: not exported).
	Registerer prometheus.Registerer
}

// term is one leadership term as this replica knows it.
type term struct {
	epoch      int64
	renewedAt  time.Time // start of the last successful acquire or renew
	validUntil time.Time // renewedAt + TTL: the local end of the term
}

// Elector takes part in the election; Run drives it, IsLeader and Epoch
// answer from any goroutine.
type Elector struct {
	store      LeaseStore
	name       string
	holder     string
	ttl        time.Duration
	renewEvery time.Duration
	now        func() time.Time
	log        *zap.Logger

	term    atomic.Pointer[term] // nil while a follower
	running atomic.Bool

	transitions prometheus.Counter
	leaseErrors *prometheus.CounterVec
}

// New validates opts and returns an elector that is a follower until Run
// acquires the lease.
func New(opts Options) (*Elector, error) {
	if opts.Store == nil {
		return nil, errors.New("leader: Options.Store is nil; pass the PostgreSQL store (it implements LeaseStore)")
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Holder == "" {
		opts.Holder = DefaultHolder()
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.TTL < 10*time.Millisecond {
		return nil, fmt.Errorf("leader: ttl %v is too short; use seconds, e.g. 15s", opts.TTL)
	}
	if opts.RenewEvery == 0 {
		opts.RenewEvery = opts.TTL / 3
	}
	if opts.RenewEvery <= 0 || opts.RenewEvery > opts.TTL/2 {
		return nil, fmt.Errorf("leader: renew_every %v must be positive and at most half the ttl %v, so one slow renew does not end the term", opts.RenewEvery, opts.TTL)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	e := &Elector{
		store: opts.Store, name: opts.Name, holder: opts.Holder, ttl: opts.TTL, renewEvery: opts.RenewEvery,
		now: opts.Now, log: opts.Logger.With(zap.String("lease", opts.Name), zap.String("holder", opts.Holder)),
		transitions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adpacer_leader_transitions_total",
			Help: "Times this replica became leader or stopped being leader.",
		}),
		leaseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_leader_lease_errors_total",
			Help: "Lease store calls that failed, by operation (acquire, renew, release).",
		}, []string{"operation"}),
	}
	for _, op := range []string{"acquire", "renew", "release"} {
		e.leaseErrors.WithLabelValues(op)
	}
	if reg := opts.Registerer; reg != nil {
		cs := []prometheus.Collector{
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "adpacer_leader",
				Help: "1 while this replica is the leader (runs the jobs and writes), else 0.",
			}, func() float64 {
				if e.IsLeader() {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "adpacer_leader_epoch",
				Help: "Leader epoch of this replica's current term; 0 while a follower.",
			}, func() float64 { return float64(e.Epoch()) }),
			e.transitions, e.leaseErrors,
		}
		for _, c := range cs {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("leader: register metrics: %w", err)
			}
		}
	}
	return e, nil
}

// DefaultHolder is hostname-pid-random: unique per process even when a
// restarted pod keeps its hostname and pid 1.
func DefaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Holder returns this process's name in the lease.
func (e *Elector) Holder() string { return e.holder }

// IsLeader reports whether this replica leads now: it holds a term whose
// local end has not passed. Use it as the scheduler's leader gate and check
// it again right before any write that leaves the process.
func (e *Elector) IsLeader() bool {
	_, ok := e.current()
	return ok
}

// Epoch returns the leader epoch to pass to ledger writes, or 0 when this
// replica does not lead (0 never matches a bumped epoch, so such a write is
// refused by the store).
func (e *Elector) Epoch() int64 {
	t, ok := e.current()
	if !ok {
		return 0
	}
	return t.epoch
}

func (e *Elector) current() (*term, bool) {
	t := e.term.Load()
	if t == nil || !e.now().Before(t.validUntil) {
		return nil, false
	}
	return t, true
}

// Run takes part in the election until ctx ends: a follower tries to
// acquire the lease every RenewEvery; the leader renews every RenewEvery and
// becomes a follower at once when a renew fails, errs, or does not succeed
// within the term. When ctx ends a leader releases the lease (so a
// successor need not wait for it to expire); call that only after every
// leader-only job has stopped. Store errors are logged and retried; Run
// returns nil once ctx ends. Run may be called once at a time.
func (e *Elector) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("leader: Run is already running for this elector")
	}
	defer e.running.Store(false)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	wait := func(d time.Duration) bool {
		if d <= 0 {
			return ctx.Err() == nil
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			if !timer.Stop() {
				<-timer.C
			}
			return false
		case <-timer.C:
			return true
		}
	}
	for ctx.Err() == nil {
		t := e.term.Load()
		if t == nil {
			if e.acquire(ctx) {
				continue
			}
			if !wait(e.followerWait(ctx)) {
				break
			}
			continue
		}
		next := t.renewedAt.Add(e.renewEvery)
		if t.validUntil.Before(next) {
			next = t.validUntil
		}
		if !wait(next.Sub(e.now())) {
			break
		}
		if !e.now().Before(t.validUntil) {
			// Paused or starved past the term: the server may already have
			// handed the lease over.
			e.stepDown(t, "the term ended before it could be renewed (process paused or starved)", nil)
			continue
		}
		e.renew(ctx, t)
	}
	e.release()
	return nil
}

// followerWait is how long a follower sleeps before its next acquire:
// RenewEvery, or less when the store says the live lease ends sooner.
func (e *Elector) followerWait(ctx context.Context) time.Duration {
	w, ok := e.store.(LeaseWatcher)
	if !ok {
		return e.renewEvery
	}
	wctx, cancel := context.WithTimeout(ctx, e.renewEvery)
	left, err := w.LeaseRemaining(wctx, e.name)
	cancel()
	if err != nil || left < 0 || left+expirySlack >= e.renewEvery {
		return e.renewEvery
	}
	return left + expirySlack
}

func (e *Elector) acquire(ctx context.Context) bool {
	start := e.now()
	actx, cancel := context.WithTimeout(ctx, e.ttl)
	epoch, ok, err := e.store.AcquireLease(actx, e.name, e.holder, e.ttl)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			e.leaseErrors.WithLabelValues("acquire").Inc()
			e.log.Warn("acquiring the leader lease failed; staying a follower", zap.Error(err))
		}
		return false
	}
	if !ok {
		return false
	}
	e.term.Store(&term{epoch: epoch, renewedAt: start, validUntil: start.Add(e.ttl)})
	e.transitions.Inc()
	e.log.Info("became the leader", zap.Int64("epoch", epoch))
	return true
}

func (e *Elector) renew(ctx context.Context, t *term) {
	start := e.now()
	// A renew that has not answered by the term's end cannot save it.
	rctx, cancel := context.WithTimeout(ctx, t.validUntil.Sub(start))
	ok, err := e.store.RenewLease(rctx, e.name, e.holder, t.epoch, e.ttl)
	cancel()
	switch {
	case ctx.Err() != nil:
		// Shutting down: Run releases next.
	case err != nil:
		e.leaseErrors.WithLabelValues("renew").Inc()
		e.stepDown(t, "renewing the leader lease failed", err)
	case !ok:
		e.stepDown(t, "the leader lease was lost (expired, taken over, or the epoch moved on)", nil)
	default:
		e.term.Store(&term{epoch: t.epoch, renewedAt: start, validUntil: start.Add(e.ttl)})
	}
}

// stepDown ends term t locally; nothing else may run in between, so the
// next IsLeader already answers false.
func (e *Elector) stepDown(t *term, why string, err error) {
	if !e.term.CompareAndSwap(t, nil) {
		return
	}
	e.transitions.Inc()
	e.log.Warn("stopped being the leader: "+why, zap.Int64("epoch", t.epoch), zap.Error(err))
}

// release ends the term at shutdown and frees the lease for a successor.
func (e *Elector) release() {
	t := e.term.Swap(nil)
	if t == nil {
		return
	}
	e.transitions.Inc()
	// ctx has ended; the release gets its own short deadline.
	ctx, cancel := context.WithTimeout(context.Background(), min(e.ttl, 5*time.Second))
	defer cancel()
	if err := e.store.ReleaseLease(ctx, e.name, e.holder, t.epoch); err != nil {
		e.leaseErrors.WithLabelValues("release").Inc()
		e.log.Warn("releasing the leader lease failed; a successor waits for it to expire", zap.Int64("epoch", t.epoch), zap.Error(err))
		return
	}
	e.log.Info("released the leader lease", zap.Int64("epoch", t.epoch))
}
