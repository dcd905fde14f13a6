package yandexdirecttest

import (
	"sync"
	"time"
)

// Spend is what a campaign did over a period: cost in micros of the
// advertiser's currency, clicks, impressions and conversions per Metrica
// goal id.
type Spend struct {
	CostMicros  int64
	Clicks      int64
	Impressions int64
	Conversions map[int64]int64
}

func (s Spend) zero() bool {
	if s.CostMicros != 0 || s.Clicks != 0 || s.Impressions != 0 {
		return false
	}
	for _, v := range s.Conversions {
		if v != 0 {
			return false
		}
	}
	return true
}

func (s *Spend) add(o Spend) {
	s.CostMicros += o.CostMicros
	s.Clicks += o.Clicks
	s.Impressions += o.Impressions
	for g, v := range o.Conversions {
		if s.Conversions == nil {
			s.Conversions = map[int64]int64{}
		}
		s.Conversions[g] += v
	}
}

// SpendSource supplies the statistics the fake's reports serve, so a
// simulator can drive them. Day is a Moscow date (YYYY-MM-DD), the day the
// fake's reports are keyed by.
type SpendSource interface {
	// CampaignSpend is the campaign's total for a closed day.
	CampaignSpend(campaignID int64, day string) Spend
	// CampaignSpendUntil is the campaign's cumulative spend of day up to
	// the instant now (the intraday TODAY report).
	CampaignSpendUntil(campaignID int64, day string, now time.Time) Spend
}

// MemorySpend is the default SpendSource: per campaign and Moscow day, 24
// hourly buckets. Closed days report the sum of all buckets; today reports
// the buckets whose hour has ended (plus the running hour pro rata, so the
// TODAY report grows between polls like the real one).
type MemorySpend struct {
	mu    sync.Mutex
	loc   *time.Location
	hours map[spendKey]*[24]Spend
}

type spendKey struct {
	campaign int64
	day      string
}

// NewMemorySpend returns an empty source.
func NewMemorySpend() *MemorySpend {
	return &MemorySpend{loc: moscow, hours: map[spendKey]*[24]Spend{}}
}

// SetDay puts all of s into hour 0 of day, replacing the whole day:
// convenient for closed days where the hourly shape does not matter.
func (m *MemorySpend) SetDay(campaignID int64, day string, s Spend) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var h [24]Spend
	h[0] = s
	m.hours[spendKey{campaignID, day}] = &h
}

// AddHour adds s to one Moscow hour (0..23) of day.
func (m *MemorySpend) AddHour(campaignID int64, day string, hour int, s Spend) {
	if hour < 0 || hour > 23 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := spendKey{campaignID, day}
	h := m.hours[k]
	if h == nil {
		h = &[24]Spend{}
		m.hours[k] = h
	}
	h[hour].add(s)
}

// CampaignSpend implements SpendSource.
func (m *MemorySpend) CampaignSpend(campaignID int64, day string) Spend {
	m.mu.Lock()
	defer m.mu.Unlock()
	var total Spend
	if h := m.hours[spendKey{campaignID, day}]; h != nil {
		for _, s := range h {
			total.add(s)
		}
	}
	return total
}

// CampaignSpendUntil implements SpendSource.
func (m *MemorySpend) CampaignSpendUntil(campaignID int64, day string, now time.Time) Spend {
	start, err := time.ParseInLocation("2006-01-02", day, m.loc)
	if err != nil {
		return Spend{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var total Spend
	h := m.hours[spendKey{campaignID, day}]
	if h == nil {
		return total
	}
	for i, s := range h {
		hs := start.Add(time.Duration(i) * time.Hour)
		switch {
		case !now.Before(hs.Add(time.Hour)):
			total.add(s)
		case now.After(hs):
			// The running hour counts pro rata (integer arithmetic).
			frac := int64(now.Sub(hs) / time.Second)
			part := Spend{
				CostMicros:  s.CostMicros * frac / 3600,
				Clicks:      s.Clicks * frac / 3600,
				Impressions: s.Impressions * frac / 3600,
			}
			for g, v := range s.Conversions {
				if part.Conversions == nil {
					part.Conversions = map[int64]int64{}
				}
				part.Conversions[g] = v * frac / 3600
			}
			total.add(part)
		}
	}
	return total
}
