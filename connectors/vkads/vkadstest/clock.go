package vkadstest

import (
	"time"

	"github.com/adpacer/adpacer/internal/clock"
)

// Clock is the fake's time source. *ManualClock implements it (and also
// httpx.Clock, so a test can hand the same clock to the client and the fake:
// a client sleeping to the next rate-limit window moves the fake's windows
// forward without costing wall time).
type Clock = clock.Clock

// ManualClock is a test clock shared by every fake (internal/clock).
type ManualClock = clock.Manual

// NewManualClock starts a clock at t.
func NewManualClock(t time.Time) *ManualClock { return clock.NewManual(t) }

// moscow is Moscow time. Russia has had no daylight saving since 2014, so a
// fixed zone is exact for every date the fake serves and needs no tzdata.
var moscow = time.FixedZone("MSK", 3*60*60)

// Moscow returns the zone the fake counts days in (statistics dates, the
// daily rate-limit window).
func Moscow() *time.Location { return moscow }
