package googleadstest

import "sync"

// Metrics are one campaign's statistics for one account-local hour.
type Metrics struct {
	CostMicros  int64
	Clicks      int64
	Impressions int64
	Conversions float64
}

func (m Metrics) zero() bool {
	return m.CostMicros == 0 && m.Clicks == 0 && m.Impressions == 0 && m.Conversions == 0
}

func (m *Metrics) add(o Metrics) {
	m.CostMicros += o.CostMicros
	m.Clicks += o.Clicks
	m.Impressions += o.Impressions
	m.Conversions += o.Conversions
}

// SpendSource supplies statistics by account-local date (YYYY-MM-DD) and
// hour. Day returns the 24 hours of a date; on a DST day the hour that does
// not exist locally is ignored by the server, and the repeated hour is one
// entry (as Google reports it). The simulator implements it to drive the
// fake; implementations must be safe for concurrent use and must not call
// back into the Server (Day runs under the server's lock).
type SpendSource interface {
	Day(customerID string, campaignID int64, date string) [24]Metrics
}

type spendKey struct {
	customer string
	campaign int64
	date     string
}

// MemorySpend is the default in-memory SpendSource.
type MemorySpend struct {
	mu   sync.RWMutex
	days map[spendKey]*[24]Metrics
}

// NewMemorySpend returns an empty source.
func NewMemorySpend() *MemorySpend {
	return &MemorySpend{days: map[spendKey]*[24]Metrics{}}
}

// Set replaces the metrics of one hour (a restatement).
func (m *MemorySpend) Set(customerID string, campaignID int64, date string, hour int, v Metrics) {
	if hour < 0 || hour > 23 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	*m.hour(customerID, campaignID, date, hour) = v
}

// Add accumulates into one hour (spend arriving during the hour).
func (m *MemorySpend) Add(customerID string, campaignID int64, date string, hour int, v Metrics) {
	if hour < 0 || hour > 23 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hour(customerID, campaignID, date, hour).add(v)
}

// hour returns the metrics of one hour, creating the day; m.mu is held.
func (m *MemorySpend) hour(customerID string, campaignID int64, date string, hour int) *Metrics {
	k := spendKey{customerID, campaignID, date}
	d := m.days[k]
	if d == nil {
		d = &[24]Metrics{}
		m.days[k] = d
	}
	return &d[hour]
}

// Day implements SpendSource.
func (m *MemorySpend) Day(customerID string, campaignID int64, date string) [24]Metrics {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if d := m.days[spendKey{customerID, campaignID, date}]; d != nil {
		return *d
	}
	return [24]Metrics{}
}

// SpendFunc adapts a function (e.g. the simulator's world) to SpendSource.
type SpendFunc func(customerID string, campaignID int64, date string) [24]Metrics

// Day implements SpendSource.
func (f SpendFunc) Day(customerID string, campaignID int64, date string) [24]Metrics {
	return f(customerID, campaignID, date)
}
