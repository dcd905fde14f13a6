package googleads

import (
	"errors"
	"fmt"
	"github.com/adpacer/adpacer/internal/promreg"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AccessLevel is the Google Ads API access level of the Google Cloud project
// (api-notes §2.6). It fixes the daily operations allowance.
type AccessLevel string

// Access levels.
const (
	AccessTest     AccessLevel = "test"     // 15,000/day, test accounts only
	AccessExplorer AccessLevel = "explorer" // 2,880/day on production accounts
	AccessBasic    AccessLevel = "basic"    // 15,000/day
	AccessStandard AccessLevel = "standard" // unlimited
)

// DailyOperations is the allowance per rolling 24 hours; 0 means unlimited.
func (l AccessLevel) DailyOperations() (int, error) {
	switch l {
	case AccessTest, AccessBasic:
		return 15_000, nil
	case AccessExplorer:
		return 2_880, nil
	case AccessStandard:
		return 0, nil
	}
	return 0, fmt.Errorf("access level %q: want test, explorer, basic or standard", string(l))
}

// ErrOperationBudget means a call would exceed the day's operation
// allowance; the caller holds (actions are reported as held, pulls fail)
// until the rolling window frees operations.
var ErrOperationBudget = errors.New("google ads: daily operation allowance of the access level would be exceeded; holding until the 24-hour window frees operations")

// Operation kinds counted against the allowance (and metric labels).
const (
	OpSearch   = "search"   // one per Search or SearchStream query, whatever the rows or pages
	OpMutate   = "mutate"   // one per mutate operation
	OpValidate = "validate" // one per validateOnly operation (counted: conservative)
)

// OperationBudget tracks operations in a rolling 24-hour window, as Google
// counts them. The allowance belongs to the Google Cloud project, so one
// budget must be shared by every Client using the same OAuth client.
type OperationBudget struct {
	limit int
	now   func() time.Time

	mu      sync.Mutex
	entries []budgetEntry
	used    int

	ops       *prometheus.CounterVec
	remaining prometheus.Gauge
}

type budgetEntry struct {
	at time.Time
	n  int
}

// NewOperationBudget builds a budget of limit operations per rolling 24h
// (0 = unlimited). reg may be nil; otherwise it receives
// adpacer_google_ads_operations_total{kind} and
// adpacer_google_ads_operations_remaining (an existing registration is
// reused, so several budgets can share a registry only if they are the
// same budget; give each project its own registry or share the budget).
func NewOperationBudget(limit int, now func() time.Time, reg prometheus.Registerer) (*OperationBudget, error) {
	if limit < 0 {
		return nil, fmt.Errorf("google ads: daily operation limit %d must be >= 0 (0 = unlimited)", limit)
	}
	if now == nil {
		now = time.Now
	}
	b := &OperationBudget{
		limit: limit,
		now:   now,
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adpacer_google_ads_operations_total",
			Help: "Google Ads API operations spent (search queries, mutate and validateOnly operations) by kind.",
		}, []string{"kind"}),
		remaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "adpacer_google_ads_operations_remaining",
			Help: "Google Ads API operations left in the rolling 24-hour allowance of the access level (+Inf when unlimited).",
		}),
	}
	for _, k := range []string{OpSearch, OpMutate, OpValidate} {
		b.ops.WithLabelValues(k)
	}
	if reg != nil {
		var err error
		if b.ops, err = promreg.Register(reg, b.ops); err != nil {
			return nil, fmt.Errorf("google ads: register operations metric: %w", err)
		}
		if b.remaining, err = promreg.Register(reg, b.remaining); err != nil {
			return nil, fmt.Errorf("google ads: register remaining metric: %w", err)
		}
	}
	b.mu.Lock()
	b.exportLocked()
	b.mu.Unlock()
	return b, nil
}

func (b *OperationBudget) pruneLocked() {
	cut := b.now().Add(-24 * time.Hour)
	i := 0
	for i < len(b.entries) && !b.entries[i].at.After(cut) {
		b.used -= b.entries[i].n
		i++
	}
	b.entries = b.entries[i:]
}

func (b *OperationBudget) exportLocked() {
	if b.limit == 0 {
		b.remaining.Set(math.Inf(1))
		return
	}
	b.remaining.Set(float64(b.limit - b.used))
}

// Reserve counts n operations of kind, or returns ErrOperationBudget
// without counting when they do not fit.
func (b *OperationBudget) Reserve(kind string, n int) error {
	if n <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked()
	if b.limit > 0 && b.used+n > b.limit {
		b.exportLocked()
		return fmt.Errorf("%w (%d needed, %d of %d left)", ErrOperationBudget, n, b.limit-b.used, b.limit)
	}
	b.entries = append(b.entries, budgetEntry{at: b.now(), n: n})
	b.used += n
	b.ops.WithLabelValues(kind).Add(float64(n))
	b.exportLocked()
	return nil
}

// Remaining is the number of operations left (math.MaxInt when unlimited).
func (b *OperationBudget) Remaining() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked()
	b.exportLocked()
	if b.limit == 0 {
		return math.MaxInt
	}
	return b.limit - b.used
}

// Used is the number of operations counted in the last 24 hours.
func (b *OperationBudget) Used() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked()
	return b.used
}

// BudgetEntry is a timestamped number of operations, the unit the budget
// is persisted in.
type BudgetEntry struct {
	At time.Time `json:"at"`
	N  int       `json:"n"`
}

// Entries returns the operations counted in the last 24 hours, oldest
// first. With Restore it is the persistence hook of the budget: Google keeps
// counting across a restart, so a daemon that forgets the day's operations
// would spend past the allowance and meet RESOURCE_EXHAUSTED for the rest
// of the window. The caller saves the JSON of the slice (its shape,
// [{"at":RFC 3339,"n":count}], is pinned by a test) after each job that
// called Google and on shutdown, and hands it to Restore on start-up. One
// entry is kept per search call or mutate request: at a 15-minute cycle a
// day holds under a thousand, a few tens of kilobytes.
func (b *OperationBudget) Entries() []BudgetEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked()
	out := make([]BudgetEntry, len(b.entries))
	for i, e := range b.entries {
		out[i] = BudgetEntry{At: e.at, N: e.n}
	}
	return out
}

// Restore adds persisted entries (those older than 24 hours are ignored),
// once at start-up right after NewOperationBudget and before any Client
// charges the budget: the entries are added to what is already counted, so
// restoring the same entries twice counts them twice. Negative counts are
// errors and restore nothing.
func (b *OperationBudget) Restore(entries []BudgetEntry) error {
	for _, e := range entries {
		if e.N < 0 {
			return fmt.Errorf("google ads: restore operation budget: entry at %s has negative count %d", e.At.Format(time.RFC3339), e.N)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range entries {
		b.entries = append(b.entries, budgetEntry{at: e.At, n: e.N})
		b.used += e.N
	}
	sort.SliceStable(b.entries, func(i, j int) bool { return b.entries[i].at.Before(b.entries[j].at) })
	b.pruneLocked()
	b.exportLocked()
	return nil
}
