package cycle

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
)

// Memory is what the daemon remembers per campaign between cycles and hands
// to the pure engine: edits and the highest budget of the current platform
// day, and the last bid and budget changes (cooldowns).
type Memory struct {
	BudgetEditsToday    int
	MaxDailyBudgetToday *adpacer.Micros
	LastBidChange       *time.Time
	LastBudgetChange    *time.Time
	// PausedByEngine: the last state change adpacer applied was a pause,
	// so the engine may resume it; a person's pause is left alone.
	PausedByEngine bool
	lastState      time.Time
}

// AppliedChange is an applied ledger entry as far as Memory cares.
type AppliedChange struct {
	Campaign adpacer.CampaignID
	Kind     adpacer.ActionKind
	Value    *adpacer.Micros
	At       time.Time
}

// PlatformDayStart returns the start of the platform day containing now for
// a campaign: Moscow for Yandex Direct and VK Ads, the account zone for
// Google Ads. An unknown zone falls back to UTC (the config validator
// rejects unknown zones, so this only guards against bad upstream data).
func PlatformDayStart(p adpacer.Platform, accountZone string, now time.Time) time.Time {
	return platformDayStart(zones{}, p, accountZone, now)
}

func platformDayStart(z zones, p adpacer.Platform, accountZone string, now time.Time) time.Time {
	zone := p.PlatformDayZone()
	if zone == "" {
		zone = accountZone
	}
	loc, err := z.load(zone)
	if err != nil {
		loc = time.UTC
	}
	l := now.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

// dayStartOf returns the start of a campaign's platform day given as
// YYYY-MM-DD: Moscow for Yandex and VK, the account zone (accountZone)
// for Google; false when the zone or the date cannot be read.
func dayStartOf(z zones, accountZone func(adpacer.CampaignID) string) func(adpacer.CampaignID, string) (time.Time, bool) {
	return func(id adpacer.CampaignID, day string) (time.Time, bool) {
		zn := id.Platform().PlatformDayZone()
		if zn == "" {
			zn = accountZone(id)
		}
		loc, err := z.load(zn)
		if err != nil {
			return time.Time{}, false
		}
		t, err := time.ParseInLocation(time.DateOnly, day, loc)
		return t, err == nil
	}
}

// zones resolves IANA zone names once per use: time.LoadLocation opens and
// parses the tzdata file on every call, and a cycle asks for the same few
// zones for every campaign and every audit entry (it was 3% of the demo's
// CPU). A value lives for one cycle, so nothing is shared between
// goroutines.
type zones map[string]*time.Location

func (z zones) load(name string) (*time.Location, error) {
	if loc, ok := z[name]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	z[name] = loc
	return loc, nil
}

// BuildMemory derives Memory from applied changes: budget edits counted in
// the campaign's current platform day.
func BuildMemory(now time.Time, camps []adpacer.Campaign, changes []AppliedChange) map[adpacer.CampaignID]Memory {
	// Each campaign's platform day starts at one instant for the whole
	// call: computed once, not once per change.
	dayStart := make(map[adpacer.CampaignID]time.Time, len(camps))
	z := zones{}
	for _, c := range camps {
		dayStart[c.ID] = platformDayStart(z, c.ID.Platform(), c.TimeZone, now)
	}
	mem := make(map[adpacer.CampaignID]Memory, len(camps))
	for _, ch := range changes {
		today, ok := dayStart[ch.Campaign]
		if !ok {
			continue
		}
		m := mem[ch.Campaign]
		at := ch.At
		switch ch.Kind {
		case adpacer.SetDailyBudget:
			if m.LastBudgetChange == nil || at.After(*m.LastBudgetChange) {
				m.LastBudgetChange = &at
			}
			if !at.Before(today) {
				m.BudgetEditsToday++
				if ch.Value != nil && (m.MaxDailyBudgetToday == nil || *ch.Value > *m.MaxDailyBudgetToday) {
					v := *ch.Value
					m.MaxDailyBudgetToday = &v
				}
			}
		case adpacer.SetBid:
			if m.LastBidChange == nil || at.After(*m.LastBidChange) {
				m.LastBidChange = &at
			}
		case adpacer.Pause, adpacer.Resume:
			if !at.Before(m.lastState) {
				m.lastState = at
				m.PausedByEngine = ch.Kind == adpacer.Pause
			}
		}
		mem[ch.Campaign] = m
	}
	return mem
}

// DeriveIntraday turns cumulative spend snapshots of a platform day into
// interval stats: [day start, first snapshot), then between successive
// snapshots. Days already covered by a reported stat are skipped, so closed
// days are never counted twice. A snapshot lower than its predecessor (a
// platform correction) yields no negative interval; the next delta is taken
// from the corrected value.
func DeriveIntraday(snaps []adpacer.SpendSnapshot, dayStart func(adpacer.CampaignID, string) (time.Time, bool), covered func(adpacer.CampaignID, time.Time) bool) []adpacer.Stat {
	sorted := append([]adpacer.SpendSnapshot(nil), snaps...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Campaign != b.Campaign {
			return a.Campaign < b.Campaign
		}
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		return a.At.Before(b.At)
	})
	var out []adpacer.Stat
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].Campaign == sorted[i].Campaign && sorted[j].Day == sorted[i].Day {
			j++
		}
		start, ok := dayStart(sorted[i].Campaign, sorted[i].Day)
		if ok && !covered(sorted[i].Campaign, start) {
			prevAt, prevCost := start, adpacer.Micros(0)
			for _, s := range sorted[i:j] {
				if !s.At.After(prevAt) {
					continue
				}
				d := s.Cost - prevCost
				if d < 0 {
					d = 0
				}
				if d > 0 {
					out = append(out, adpacer.Stat{Campaign: s.Campaign, Start: prevAt, End: s.At, Cost: d})
				}
				prevAt, prevCost = s.At, s.Cost
			}
		}
		i = j
	}
	return out
}

// SnapshotInput is everything BuildSnapshot needs, already read from the
// store.
type SnapshotInput struct {
	Now       time.Time
	Policy    *pacing.Policy
	Lines     []pacing.Line
	Campaigns []adpacer.Campaign
	Stats     []adpacer.Stat
	// Intraday are today's intervals derived from spend snapshots
	// (DeriveIntraday), kept apart from Stats so neither is copied to
	// join them.
	Intraday []adpacer.Stat
	Memory   map[adpacer.CampaignID]Memory
	// Bids bounds campaigns' bids; nil bounds mean none.
	MinBid, MaxBid *adpacer.Micros
	// DataAsOf overrides a campaign's freshness (e.g. the time of the last
	// successful pull of its source); absent campaigns use UpdatedAt.
	DataAsOf map[adpacer.CampaignID]time.Time
}

// BuildSnapshot assembles the engine's input. Only campaigns that belong to
// a line are included: the engine decides per line.
func BuildSnapshot(in SnapshotInput) *pacing.Snapshot {
	member := map[adpacer.CampaignID]bool{}
	for _, l := range in.Lines {
		for _, id := range l.Campaigns {
			member[id] = true
		}
	}
	s := &pacing.Snapshot{Version: pacing.SnapshotVersion, Now: in.Now, Policy: in.Policy, Lines: in.Lines}
	for _, c := range in.Campaigns {
		if !member[c.ID] {
			continue
		}
		asOf := c.UpdatedAt
		if t, ok := in.DataAsOf[c.ID]; ok {
			asOf = t
		}
		pc := pacing.Campaign{
			ID: c.ID, Platform: c.ID.Platform(), TimeZone: c.TimeZone, Currency: c.Currency,
			State: c.State, DailyBudget: c.DailyBudget, Bid: c.Bid,
			MinBid: in.MinBid, MaxBid: in.MaxBid,
			BudgetEditsToday: c.BudgetEditsToday, DataAsOf: asOf,
		}
		if m, ok := in.Memory[c.ID]; ok {
			if m.BudgetEditsToday > pc.BudgetEditsToday {
				pc.BudgetEditsToday = m.BudgetEditsToday
			}
			pc.MaxDailyBudgetToday = m.MaxDailyBudgetToday
			if pc.MaxDailyBudgetToday != nil && c.DailyBudget != nil && *c.DailyBudget > *pc.MaxDailyBudgetToday {
				v := *c.DailyBudget
				pc.MaxDailyBudgetToday = &v
			}
			pc.LastBidChange = m.LastBidChange
			pc.LastBudgetChange = m.LastBudgetChange
			pc.PausedByEngine = m.PausedByEngine && c.State == adpacer.StatePaused
		}
		s.Campaigns = append(s.Campaigns, pc)
	}
	sort.Slice(s.Campaigns, func(i, j int) bool { return s.Campaigns[i].ID < s.Campaigns[j].ID })
	s.Stats = mergeInto(engineStats(in.Stats, member, len(in.Intraday)), engineStats(in.Intraday, member, 0))
	return s
}

// engineStats converts the stats of member campaigns to the engine's form,
// ordered by campaign and start. A month of hourly stats is thousands of
// entries: the slice is sized once, and sorted (without sort.Slice's
// reflection) only when the input is not in order already, as the store
// and DeriveIntraday return them. spare is room left for mergeInto.
func engineStats(in []adpacer.Stat, member map[adpacer.CampaignID]bool, spare int) []pacing.Stat {
	out := make([]pacing.Stat, 0, len(in)+spare)
	for _, st := range in {
		if !member[st.Campaign] {
			continue
		}
		out = append(out, pacing.Stat{Campaign: st.Campaign, Start: st.Start.UTC(), End: st.End.UTC(),
			Cost: st.Cost, Clicks: st.Clicks, Impressions: st.Impressions, Conversions: st.Conversions})
	}
	if len(out) == 0 {
		return nil // as before: an empty snapshot has no stats list
	}
	if !slices.IsSortedFunc(out, compareStats) {
		slices.SortFunc(out, compareStats)
	}
	return out
}

func compareStats(a, b pacing.Stat) int {
	if c := cmp.Compare(a.Campaign, b.Campaign); c != 0 {
		return c
	}
	return a.Start.Compare(b.Start)
}

// mergeInto merges b into a, both ordered by campaign and start, in a's
// room when it has some (engineStats leaves it); of equal keys, a's come
// first. b (today's intervals) is short and a (a month of stats) long:
// from the back, each of b's is placed by binary search and the run of a
// after it is moved whole.
func mergeInto(a, b []pacing.Stat) []pacing.Stat {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	n := len(a)
	a = slices.Grow(a, len(b))[:n+len(b)]
	hi := n // a[:hi] has not moved yet
	for j := len(b) - 1; j >= 0; j-- {
		p, _ := slices.BinarySearchFunc(a[:hi], b[j], func(e, t pacing.Stat) int {
			if compareStats(e, t) <= 0 {
				return -1 // equal keys of a go before b[j]
			}
			return 1
		})
		copy(a[p+j+1:hi+j+1], a[p:hi])
		a[p+j] = b[j]
		hi = p
	}
	return a
}
