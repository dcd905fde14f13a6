package yandexdirecttest

import (
	"time"

	"github.com/adpacer/adpacer/internal/clock"
)

// Clock is the fake's time source. *ManualClock implements it (and also
// httpx.Clock, so a test can hand the same clock to the client and the fake
// and have back-off sleeps move the fake's points refill forward).
type Clock = clock.Clock

// ManualClock is a test clock: Now is fixed until Advance, Set or Sleep
// moves it. Sleep advances the clock instead of blocking, so an hour of
// points back-off costs no wall time (internal/clock, shared by every fake).
type ManualClock = clock.Manual

// NewManualClock starts a clock at t.
func NewManualClock(t time.Time) *ManualClock { return clock.NewManual(t) }
