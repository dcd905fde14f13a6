package httpx

import (
	"errors"
	"sync"
	"time"
)

// ErrOpen is returned by Breaker.Allow while the circuit is open. Callers
// hold pacing for campaigns of that source rather than estimating.
var ErrOpen = errors.New("circuit open")

// BreakerState is the state of a Breaker.
type BreakerState int

// Breaker states, in the values exported by adpacer_circuit_state.
const (
	Closed BreakerState = iota
	HalfOpen
	Open
)

func (s BreakerState) String() string {
	switch s {
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "closed"
}

// Breaker is a consecutive-failure circuit breaker for one upstream: it opens
// after Threshold failures in a row, lets one probe through after Cooldown,
// and closes on the probe's success.
type Breaker struct {
	name      string
	threshold int
	cooldown  time.Duration
	now       func() time.Time
	m         *Metrics

	mu       sync.Mutex
	state    BreakerState
	failures int
	openedAt time.Time
	probing  bool
}

// NewBreaker builds a breaker; threshold defaults to 5 and cooldown to 60s.
// m may be nil; now nil means time.Now.
func NewBreaker(name string, threshold int, cooldown time.Duration, now func() time.Time, m *Metrics) *Breaker {
	if threshold <= 0 {
		threshold = 5
	}
	if cooldown <= 0 {
		cooldown = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	b := &Breaker{name: name, threshold: threshold, cooldown: cooldown, now: now, m: m}
	b.export()
	return b
}

// Allow reports whether a call may go out now.
func (b *Breaker) Allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if b.now().Sub(b.openedAt) < b.cooldown {
			return ErrOpen
		}
		b.state = HalfOpen
		b.probing = true
		b.export()
		return nil
	case HalfOpen:
		if b.probing {
			return ErrOpen
		}
		b.probing = true
	}
	return nil
}

// Record reports the outcome of an allowed call.
func (b *Breaker) Record(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if err == nil {
		b.failures = 0
		b.state = Closed
		b.export()
		return
	}
	b.failures++
	if b.state == HalfOpen || b.failures >= b.threshold {
		b.state = Open
		b.openedAt = b.now()
	}
	b.export()
}

// State returns the current state.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && b.now().Sub(b.openedAt) >= b.cooldown {
		return HalfOpen
	}
	return b.state
}

func (b *Breaker) export() {
	if b.m != nil {
		b.m.breaker.WithLabelValues(b.name).Set(float64(b.state))
	}
}
