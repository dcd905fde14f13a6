package yandexdirect

import (
	"context"
	"sync"

	"github.com/adpacer/adpacer"
)

// EditLedger counts daily-budget edits per campaign and Moscow day, so the
// client never sends a fourth edit (error 8305). It is owned here and
// implemented by the store in the daemon, so the count survives restarts.
type EditLedger interface {
	BudgetEdits(ctx context.Context, campaign adpacer.CampaignID, day string) (int, error)
	SetBudgetEdits(ctx context.Context, campaign adpacer.CampaignID, day string, n int) error
}

// MemoryEditLedger is an in-process EditLedger.
type MemoryEditLedger struct {
	mu sync.Mutex
	m  map[ledgerKey]int
}

type ledgerKey struct {
	campaign adpacer.CampaignID
	day      string
}

// NewMemoryEditLedger returns an empty ledger.
func NewMemoryEditLedger() *MemoryEditLedger {
	return &MemoryEditLedger{m: map[ledgerKey]int{}}
}

// BudgetEdits implements EditLedger.
func (l *MemoryEditLedger) BudgetEdits(_ context.Context, campaign adpacer.CampaignID, day string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[ledgerKey{campaign, day}], nil
}

// SetBudgetEdits implements EditLedger. Days other than the newest are
// dropped so the map does not grow without bound.
func (l *MemoryEditLedger) SetBudgetEdits(_ context.Context, campaign adpacer.CampaignID, day string, n int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.m {
		if k.day < day {
			delete(l.m, k)
		}
	}
	l.m[ledgerKey{campaign, day}] = n
	return nil
}
