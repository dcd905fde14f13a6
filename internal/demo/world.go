package demo

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/pacing/sim"
)

// shared is the simulated world behind the fake platforms. The fakes' HTTP
// handlers read it from their own goroutines while the demo loop advances
// it, so every access takes the lock.
type shared struct {
	mu  sync.Mutex
	w   *sim.World
	msk *time.Location
	// refused counts writes the world refused (platform rules) though the
	// fake accepted them.
	refused int
}

func (s *shared) advance(to time.Time) {
	s.mu.Lock()
	s.w.Advance(to)
	s.mu.Unlock()
}

func (s *shared) reported(id adpacer.CampaignID, from, to time.Time) adpacer.Stat {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.w.Now(); to.After(now) {
		to = now
	}
	if !to.After(from) {
		return adpacer.Stat{}
	}
	st, err := s.w.ReportedStat(id, from, to)
	if err != nil {
		return adpacer.Stat{}
	}
	return st
}

// yandexSpend serves the Yandex fake's reports from the world: closed
// Moscow days as the platform reports them, today from the platform's
// own running total.
type yandexSpend struct{ s *shared }

const demoGoal = 1

func toYandex(st adpacer.Stat, cost int64) yandexdirecttest.Spend {
	return yandexdirecttest.Spend{CostMicros: cost, Clicks: st.Clicks, Impressions: st.Impressions,
		Conversions: map[int64]int64{demoGoal: int64(math.Round(st.Conversions))}}
}

func (y yandexSpend) CampaignSpend(id int64, day string) yandexdirecttest.Spend {
	from, err := time.ParseInLocation(time.DateOnly, day, y.s.msk)
	if err != nil {
		return yandexdirecttest.Spend{}
	}
	st := y.s.reported(yid(id), from, from.AddDate(0, 0, 1))
	return toYandex(st, int64(st.Cost))
}

func (y yandexSpend) CampaignSpendUntil(id int64, day string, now time.Time) yandexdirecttest.Spend {
	st, cost := y.s.dayUntil(yid(id), day, now)
	return toYandex(st, cost)
}

// dayUntil is what the platform shows for a campaign's platform day (a
// Moscow date) at now: the stats reported so far, and its cost, which for
// the current day is the platform's own running total when that runs
// ahead of the lagged report frontier (as TODAY totals do).
func (s *shared) dayUntil(id adpacer.CampaignID, day string, now time.Time) (adpacer.Stat, int64) {
	from, err := time.ParseInLocation(time.DateOnly, day, s.msk)
	if err != nil {
		return adpacer.Stat{}, 0
	}
	to := from.AddDate(0, 0, 1)
	if now.Before(to) {
		to = now
	}
	st := s.reported(id, from, to)
	cost := int64(st.Cost)
	s.mu.Lock()
	snap, err := s.w.TodaySpend(id)
	s.mu.Unlock()
	if err == nil && snap.Day == day && int64(snap.Cost) > cost {
		cost = int64(snap.Cost)
	}
	return st, cost
}

// vkSpend serves the VK fake's daily statistics from the world: closed
// Moscow days as reported, today's row as the platform's running total.
type vkSpend struct{ s *shared }

func (v vkSpend) PlanSpend(id int64, day string, now time.Time) vkadstest.Spend {
	st, cost := v.s.dayUntil(adpacer.NewCampaignID(adpacer.VKAds, strconv.FormatInt(id, 10)), day, now)
	return vkadstest.Spend{SpentMicros: cost, Shows: st.Impressions, Clicks: st.Clicks, Goals: int64(math.Round(st.Conversions))}
}

func yid(id int64) adpacer.CampaignID {
	return adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(id, 10))
}

func gid(id int64) adpacer.CampaignID {
	return adpacer.NewCampaignID(adpacer.GoogleAds, strconv.FormatInt(id, 10))
}

// googleSpend serves hourly metrics in each customer's zone.
type googleSpend struct {
	s     *shared
	zones map[string]*time.Location // customer id -> zone
}

func (g googleSpend) Day(customerID string, campaignID int64, date string) [24]googleadstest.Metrics {
	var out [24]googleadstest.Metrics
	loc := g.zones[customerID]
	if loc == nil {
		return out
	}
	day, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return out
	}
	for h := 0; h < 24; h++ {
		// Wall-clock hours: DST days have 23 or 25; the hour index is local.
		from := time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, loc)
		st := g.s.reported(gid(campaignID), from, from.Add(time.Hour))
		out[h] = googleadstest.Metrics{CostMicros: int64(st.Cost), Clicks: st.Clicks, Impressions: st.Impressions, Conversions: st.Conversions}
	}
	return out
}

// applyYandex mirrors a write the Yandex fake accepted into the world.
func (s *shared) applyYandex(ev yandexdirecttest.WriteEvent) {
	id := yid(ev.Campaign)
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch ev.Field {
	case "DailyBudget":
		if v, perr := strconv.ParseInt(ev.New, 10, 64); perr == nil {
			err = s.w.SetDailyBudget(id, adpacer.Micros(v))
		}
	case "SearchBid":
		if v, perr := strconv.ParseInt(ev.New, 10, 64); perr == nil {
			err = s.w.SetBid(id, adpacer.Micros(v))
		}
	case "State":
		if ev.New == "SUSPENDED" {
			err = s.w.Pause(id)
		} else if ev.New == "ON" {
			err = s.w.Resume(id)
		}
	}
	if err != nil {
		s.refused++
	}
}

// applyVK mirrors a change the VK fake applied into the world: a daily
// budget in rubles with kopecks, or the active/blocked status.
func (s *shared) applyVK(ev vkadstest.WriteEvent) {
	id := adpacer.NewCampaignID(adpacer.VKAds, strconv.FormatInt(ev.Plan, 10))
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch ev.Field {
	case "budget_limit_day":
		var v adpacer.Micros
		if v, err = adpacer.ParseMicros(ev.New); err == nil {
			err = s.w.SetDailyBudget(id, v)
		}
	case "status":
		if ev.New == "blocked" {
			err = s.w.Pause(id)
		} else if ev.New == "active" {
			err = s.w.Resume(id)
		}
	}
	if err != nil {
		s.refused++
	}
}

// applyGoogle mirrors accepted Google mutates into the world. Budget and
// ad group ids are derived from the campaign id (see seedGoogle).
func (s *shared) applyGoogle(ev googleadstest.MutateEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range ev.Changes {
		parts := strings.Split(ch.ResourceName, "/")
		if len(parts) < 4 {
			continue
		}
		rid, perr := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		if perr != nil {
			continue
		}
		var err error
		switch ch.Field {
		case "amountMicros":
			if v, e := strconv.ParseInt(ch.New, 10, 64); e == nil {
				err = s.w.SetDailyBudget(gid(rid), adpacer.Micros(v))
			}
		case "cpcBidMicros":
			if v, e := strconv.ParseInt(ch.New, 10, 64); e == nil {
				err = s.w.SetBid(gid(rid/10), adpacer.Micros(v))
			}
		case "status":
			if ch.New == "PAUSED" {
				err = s.w.Pause(gid(rid))
			} else if ch.New == "ENABLED" {
				err = s.w.Resume(gid(rid))
			}
		}
		if err != nil {
			s.refused++
		}
	}
}
