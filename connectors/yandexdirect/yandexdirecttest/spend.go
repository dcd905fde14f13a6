package yandexdirecttest

import (
	"time"

	"github.com/adpacer/adpacer/internal/fakespend"
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

// Add is s and o together (a new value: the conversions map is not shared).
func (s Spend) Add(o Spend) Spend {
	out := Spend{CostMicros: s.CostMicros + o.CostMicros, Clicks: s.Clicks + o.Clicks, Impressions: s.Impressions + o.Impressions}
	if len(s.Conversions)+len(o.Conversions) > 0 {
		out.Conversions = make(map[int64]int64, len(s.Conversions)+len(o.Conversions))
		for g, v := range s.Conversions {
			out.Conversions[g] += v
		}
		for g, v := range o.Conversions {
			out.Conversions[g] += v
		}
	}
	return out
}

// Part is the share frac/3600 of a running hour (integer arithmetic).
func (s Spend) Part(frac int64) Spend {
	part := Spend{CostMicros: s.CostMicros * frac / 3600, Clicks: s.Clicks * frac / 3600, Impressions: s.Impressions * frac / 3600}
	for g, v := range s.Conversions {
		if part.Conversions == nil {
			part.Conversions = map[int64]int64{}
		}
		part.Conversions[g] = v * frac / 3600
	}
	return part
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
// hourly buckets (fakespend.Book: SetDay, AddHour). Closed days report the
// sum of all buckets; today reports the buckets whose hour has ended plus
// the running hour pro rata, so the TODAY report grows between polls like
// the real one.
type MemorySpend struct {
	*fakespend.Book[Spend]
}

// NewMemorySpend returns an empty source.
func NewMemorySpend() *MemorySpend {
	return &MemorySpend{fakespend.New[Spend](moscow)}
}

// CampaignSpend implements SpendSource.
func (m *MemorySpend) CampaignSpend(campaignID int64, day string) Spend {
	return m.Day(campaignID, day)
}

// CampaignSpendUntil implements SpendSource.
func (m *MemorySpend) CampaignSpendUntil(campaignID int64, day string, now time.Time) Spend {
	return m.Until(campaignID, day, now)
}
