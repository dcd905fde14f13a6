// Package clock is the one manual clock the fakes, their tests and the demo
// share: Now is fixed until Set, Advance, AdvanceTo or Sleep move it, and
// Sleep advances instead of blocking, so a client's rate-limit waits and
// back-offs cost virtual time while the fake it talks to sees that time
// pass. It satisfies httpx.Clock.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock is what a fake reads time from: *Manual in tests and the demo,
// System otherwise.
type Clock interface {
	Now() time.Time
}

// System is the wall clock.
type System struct{}

// Now returns the wall-clock time.
func (System) Now() time.Time { return time.Now() }

// Manual is a settable clock, safe for concurrent use.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// NewManual starts a clock at t.
func NewManual(t time.Time) *Manual { return &Manual{t: t} }

// Now returns the clock's time.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t, backwards too.
func (c *Manual) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// AdvanceTo moves the clock to t unless it is already past t (a client
// slept through a back-off): simulated time never runs backwards.
func (c *Manual) AdvanceTo(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
}

// Sleep advances the clock by d and returns at once, or returns ctx.Err()
// when the context is already done.
func (c *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
	}
	return nil
}
