package telemetry

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Heartbeat records that the daemon's main loop made progress. Liveness
// (/healthz) fails when the last beat is older than the allowed age, which
// catches a wedged scheduler without ever depending on an upstream API being
// reachable (a dead upstream must not get the pod restarted).
type Heartbeat struct {
	now  func() time.Time
	last atomic.Int64 // unix nanoseconds
}

// NewHeartbeat returns a heartbeat that counts as beaten at creation. now
// may be nil (time.Now).
func NewHeartbeat(now func() time.Time) *Heartbeat {
	if now == nil {
		now = time.Now
	}
	h := &Heartbeat{now: now}
	h.Beat()
	return h
}

// Beat records progress.
func (h *Heartbeat) Beat() { h.last.Store(h.now().UnixNano()) }

// Last returns the time of the last beat.
func (h *Heartbeat) Last() time.Time { return time.Unix(0, h.last.Load()) }

// Age returns how long ago the last beat was.
func (h *Heartbeat) Age() time.Duration { return h.now().Sub(h.Last()) }

// Readiness holds named conditions that must all hold before the daemon
// takes work (/readyz): "config_loaded", "store_migrated", and whatever
// else the daemon declares. A declared condition starts false.
type Readiness struct {
	mu    sync.Mutex
	conds map[string]condition
}

type condition struct {
	ok     bool
	reason string
}

// Condition names the daemon uses.
const (
	CondConfigLoaded  = "config_loaded"
	CondStoreMigrated = "store_migrated"
	CondRunning       = "running" // false once shutdown begins, so traffic drains first
)

// NewReadiness declares conditions, all initially false.
func NewReadiness(names ...string) *Readiness {
	r := &Readiness{conds: map[string]condition{}}
	for _, n := range names {
		r.conds[n] = condition{reason: "not yet"}
	}
	return r
}

// Set records a condition; reason explains a false one.
func (r *Readiness) Set(name string, ok bool, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conds[name] = condition{ok: ok, reason: reason}
}

// Status reports whether every condition holds and, sorted by name, the
// state of each condition.
func (r *Readiness) Status() (ready bool, conds []ConditionStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ready = true
	for n, c := range r.conds {
		conds = append(conds, ConditionStatus{Name: n, OK: c.ok, Reason: c.reason})
		if !c.ok {
			ready = false
		}
	}
	sort.Slice(conds, func(i, j int) bool { return conds[i].Name < conds[j].Name })
	return ready, conds
}

// ConditionStatus is one readiness condition as /readyz reports it.
type ConditionStatus struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}
