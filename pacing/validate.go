package pacing

import (
	"fmt"
	"math"
	"slices"
	"time"

	_ "time/tzdata" // zones resolve the same on every machine, with or without a system tz database

	"github.com/adpacer/adpacer"
)

// Line modes (Line.Mode).
const (
	ModeObserve = "observe"
	ModeDryRun  = "dry-run"
	ModeApprove = "approve"
	ModeApply   = "apply"
)

const (
	dateLayout = "2006-01-02"
	// maxStatLength: stats intervals are at most a day (hourly preferred).
	maxStatLength = 24 * time.Hour
	// maxPeriodDays bounds a budget period; a year covers every real plan.
	maxPeriodDays = 366
)

// index is what validation learns about a snapshot and the engine reuses:
// campaign positions, line membership and resolved zones.
type index struct {
	campaign map[adpacer.CampaignID]int // campaign id -> position in Snapshot.Campaigns
	lineOf   []int                      // campaign position -> line position, -1 when in no line
	lineLoc  []*time.Location
	campLoc  []*time.Location // zone of the campaign's platform day
	start    []time.Time      // line period start instant (inclusive)
	end      []time.Time      // line period end instant (exclusive)
	policy   Policy
}

// Validate checks every field of a snapshot and returns a *SnapshotError
// naming the first problem. Decide runs the same checks.
func Validate(s *Snapshot) error {
	ix, err := buildIndex(s)
	if err != nil {
		return err
	}
	var sc statChecker
	sc.init(len(s.Campaigns))
	for i := range s.Stats {
		if _, err := sc.check(s, ix, i); err != nil {
			return err
		}
	}
	return sc.finish(s)
}

func buildIndex(s *Snapshot) (*index, error) {
	if s == nil {
		return nil, snapErr("$", "snapshot is nil")
	}
	if s.Version != SnapshotVersion {
		return nil, snapErr("$.version", "unsupported version %d; this engine reads version %d", s.Version, SnapshotVersion)
	}
	if s.Now.IsZero() {
		return nil, snapErr("$.now", "is required (RFC 3339 time of the decision)")
	}
	pol := DefaultPolicy()
	if s.Policy != nil {
		pol = *s.Policy
		if err := validatePolicy(&pol); err != nil {
			return nil, err
		}
	}
	pol = pol.withDefaults()
	ix := &index{
		campaign: make(map[adpacer.CampaignID]int, len(s.Campaigns)),
		lineOf:   make([]int, len(s.Campaigns)),
		campLoc:  make([]*time.Location, len(s.Campaigns)),
		lineLoc:  make([]*time.Location, len(s.Lines)),
		start:    make([]time.Time, len(s.Lines)),
		end:      make([]time.Time, len(s.Lines)),
		policy:   pol,
	}
	zones := map[string]*time.Location{}
	loadZone := func(path, name string) (*time.Location, error) {
		if loc, ok := zones[name]; ok {
			return loc, nil
		}
		if name == "" {
			return nil, snapErr(path, "is required (an IANA zone such as Europe/Moscow)")
		}
		loc, err := time.LoadLocation(name)
		if err != nil || name == "Local" {
			return nil, snapErr(path, "unknown time zone %q (want an IANA zone such as Asia/Vladivostok)", name)
		}
		zones[name] = loc
		return loc, nil
	}

	for i := range s.Campaigns {
		c := &s.Campaigns[i]
		p := fmt.Sprintf("$.campaigns[%d]", i)
		ix.lineOf[i] = -1
		plat, _, err := c.ID.Split()
		if err != nil {
			return nil, snapErr(p+".id", "%v", err)
		}
		if _, dup := ix.campaign[c.ID]; dup {
			return nil, snapErr(p+".id", "campaign %s is listed twice", c.ID)
		}
		ix.campaign[c.ID] = i
		if c.Platform != plat {
			return nil, snapErr(p+".platform", "is %q but the id %s says %q", c.Platform, c.ID, plat)
		}
		loc, err := loadZone(p+".timezone", c.TimeZone)
		if err != nil {
			return nil, err
		}
		if z := plat.PlatformDayZone(); z != "" {
			loc, err = loadZone(p+".platform", z)
			if err != nil {
				return nil, err
			}
		}
		ix.campLoc[i] = loc
		if !validCurrency(c.Currency) {
			return nil, snapErr(p+".currency", "%q is not an ISO 4217 code such as RUB", c.Currency)
		}
		switch c.State {
		case adpacer.StateOn, adpacer.StatePaused, adpacer.StateEnded, adpacer.StateRejected:
		default:
			return nil, snapErr(p+".state", "%q is not one of on, paused, ended, rejected", c.State)
		}
		if c.DailyBudget != nil && *c.DailyBudget < 0 {
			return nil, snapErr(p+".daily_budget", "is negative (%s)", *c.DailyBudget)
		}
		if c.MaxDailyBudgetToday != nil && *c.MaxDailyBudgetToday < 0 {
			return nil, snapErr(p+".max_daily_budget_today", "is negative (%s)", *c.MaxDailyBudgetToday)
		}
		if c.Bid != nil && *c.Bid <= 0 {
			return nil, snapErr(p+".bid", "must be positive or null, got %s", *c.Bid)
		}
		if err := checkBidBounds(p, c.MinBid, c.MaxBid); err != nil {
			return nil, err
		}
		if c.BudgetEditsToday < 0 {
			return nil, snapErr(p+".budget_edits_today", "is negative (%d)", c.BudgetEditsToday)
		}
		if c.DataAsOf.IsZero() {
			return nil, snapErr(p+".data_as_of", "is required (RFC 3339 time the campaign's data was last complete)")
		}
	}

	lineIDs := make(map[string]int, len(s.Lines))
	for i := range s.Lines {
		l := &s.Lines[i]
		p := fmt.Sprintf("$.lines[%d]", i)
		if l.ID == "" {
			return nil, snapErr(p+".id", "is required")
		}
		if j, dup := lineIDs[l.ID]; dup {
			return nil, snapErr(p+".id", "line %q is already defined at $.lines[%d]", l.ID, j)
		}
		lineIDs[l.ID] = i
		loc, err := loadZone(p+".timezone", l.TimeZone)
		if err != nil {
			return nil, err
		}
		ix.lineLoc[i] = loc
		start, end, perr := periodBounds(l.Period, loc)
		if perr != nil {
			perr.Path = p + ".period" + perr.Path
			return nil, perr
		}
		ix.start[i], ix.end[i] = start, end
		if l.Budget <= 0 {
			return nil, snapErr(p+".budget", "must be positive, got %s", l.Budget)
		}
		if !validCurrency(l.Currency) {
			return nil, snapErr(p+".currency", "%q is not an ISO 4217 code such as RUB", l.Currency)
		}
		if l.TargetCPA != nil && *l.TargetCPA <= 0 {
			return nil, snapErr(p+".target_cpa", "must be positive or absent, got %s", *l.TargetCPA)
		}
		if err := checkBidBounds(p, l.MinBid, l.MaxBid); err != nil {
			return nil, err
		}
		switch l.Mode {
		case "", ModeObserve, ModeDryRun, ModeApprove, ModeApply:
		default:
			return nil, snapErr(p+".mode", "%q is not one of observe, dry-run, approve, apply", l.Mode)
		}
		if len(l.Campaigns) == 0 {
			return nil, snapErr(p+".campaigns", "is empty; a line needs at least one campaign")
		}
		for j, id := range l.Campaigns {
			cp := fmt.Sprintf("%s.campaigns[%d]", p, j)
			ci, ok := ix.campaign[id]
			if !ok {
				return nil, snapErr(cp, "unknown campaign %s (add it to $.campaigns)", id)
			}
			if other := ix.lineOf[ci]; other >= 0 {
				return nil, snapErr(cp, "campaign %s is already in line %q; a campaign belongs to one line", id, s.Lines[other].ID)
			}
			ix.lineOf[ci] = i
			c := &s.Campaigns[ci]
			if c.Currency != l.Currency {
				return nil, snapErr(cp, "campaign %s is in %s but the line budget is in %s", id, c.Currency, l.Currency)
			}
			if lo, hi := bidRange(c, l); lo > hi {
				return nil, snapErr(cp, "campaign %s allows bids %s..%s and its line %s..%s: no bid fits both (narrow one range so they overlap)",
					id, fmtBound(c.MinBid, "0"), fmtBound(c.MaxBid, "any"), fmtBound(l.MinBid, "0"), fmtBound(l.MaxBid, "any"))
			}
		}
	}
	return ix, nil
}

// periodBounds returns the instants [start, end) of an inclusive date period
// in loc. A DST day is as long as the zone makes it.
func periodBounds(p Period, loc *time.Location) (time.Time, time.Time, *SnapshotError) {
	sd, err := time.ParseInLocation(dateLayout, p.Start, loc)
	if err != nil {
		return time.Time{}, time.Time{}, snapErr(".start", "%q is not a date YYYY-MM-DD", p.Start)
	}
	ed, err := time.ParseInLocation(dateLayout, p.End, loc)
	if err != nil {
		return time.Time{}, time.Time{}, snapErr(".end", "%q is not a date YYYY-MM-DD", p.End)
	}
	if ed.Before(sd) {
		return time.Time{}, time.Time{}, snapErr(".end", "%s is before start %s (end is inclusive)", p.End, p.Start)
	}
	end := time.Date(ed.Year(), ed.Month(), ed.Day()+1, 0, 0, 0, 0, loc)
	if end.Sub(sd) > maxPeriodDays*24*time.Hour+2*time.Hour {
		return time.Time{}, time.Time{}, snapErr(".end", "period %s..%s is longer than %d days", p.Start, p.End, maxPeriodDays)
	}
	return sd, end, nil
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

func validatePolicy(p *Policy) error {
	const pp = "$.policy"
	pct := func(name string, v, hi float64) error {
		if math.IsNaN(v) || v < 0 || v > hi {
			return snapErr(pp+"."+name, "%v is outside 0..%v", v, hi)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		v    float64
		hi   float64
	}{
		{"reserve_pct", p.ReservePct, 50},
		{"tolerance_pct", p.TolerancePct, 50},
		{"max_bid_step_pct", p.MaxBidStepPct, 100},
		{"approval_threshold_pct", p.ApprovalThresholdPct, 1000},
		{"cpa_breach_pct", p.CPABreachPct, 1000},
		{"max_budget_step_pct", p.MaxBudgetStepPct, 1000},
		{"budget_shift_pct", p.BudgetShiftPct, 100},
		{"min_conversions", p.MinConversions, 1e6},
	} {
		if err := pct(c.name, c.v, c.hi); err != nil {
			return err
		}
	}
	if p.MaxDataAge <= 0 {
		return snapErr(pp+".max_data_age", "must be positive, e.g. \"3h\"")
	}
	if p.BidCooldown < 0 {
		return snapErr(pp+".bid_cooldown", "is negative")
	}
	if p.ConversionDelayMedian < 0 {
		return snapErr(pp+".conversion_delay_median", "is negative")
	}
	if p.ConversionDelayP95 < 0 || (p.ConversionDelayP95 > 0 && p.ConversionDelayP95 <= p.ConversionDelayMedian) {
		return snapErr(pp+".conversion_delay_p95", "must be longer than conversion_delay_median")
	}
	for _, k := range sortedKeys(p.ReportingLag) {
		if !k.Valid() {
			return snapErr(pp+".reporting_lag."+string(k), "unknown platform (want yandex_direct, google_ads or vk_ads)")
		}
		if v := p.ReportingLag[k]; v < 0 || time.Duration(v) > 48*time.Hour {
			return snapErr(pp+".reporting_lag."+string(k), "%v is outside 0..48h", time.Duration(v))
		}
	}
	for _, k := range sortedKeys(p.Overdelivery) {
		if !k.Valid() {
			return snapErr(pp+".overdelivery."+string(k), "unknown platform (want yandex_direct, google_ads or vk_ads)")
		}
		if v := p.Overdelivery[k]; math.IsNaN(v) || v < 1 || v > 10 {
			return snapErr(pp+".overdelivery."+string(k), "%v is outside 1..10 (worst-case day spend / daily budget)", v)
		}
	}
	for _, k := range sortedKeys(p.MinDailyBudget) {
		if !k.Valid() {
			return snapErr(pp+".min_daily_budget."+string(k), "unknown platform (want yandex_direct, google_ads or vk_ads)")
		}
		if p.MinDailyBudget[k] < 0 {
			return snapErr(pp+".min_daily_budget."+string(k), "is negative")
		}
	}
	return nil
}

func sortedKeys[V any](m map[adpacer.Platform]V) []adpacer.Platform {
	ks := make([]adpacer.Platform, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// statChecker validates stats in one pass: fields, membership, and that no
// two intervals of a campaign overlap (which would count spend twice). Stats
// usually arrive sorted per campaign; only campaigns that do not are sorted.
type statChecker struct {
	lastStart []time.Time
	lastEnd   []time.Time
	unsorted  []bool
	any       bool
	lastCi    int
}

func (sc *statChecker) init(n int) {
	sc.lastStart = make([]time.Time, n)
	sc.lastEnd = make([]time.Time, n)
	sc.unsorted = make([]bool, n)
	sc.lastCi = -1
}

// check validates stat i and returns its campaign's position. Stats of one
// campaign usually come together, so the last lookup is reused.
func (sc *statChecker) check(s *Snapshot, ix *index, i int) (int, error) {
	st := &s.Stats[i]
	ci := sc.lastCi
	if ci < 0 || s.Campaigns[ci].ID != st.Campaign {
		var ok bool
		ci, ok = ix.campaign[st.Campaign]
		if !ok {
			return -1, snapErr(fmt.Sprintf("$.stats[%d].campaign", i), "unknown campaign %q (add it to $.campaigns)", st.Campaign)
		}
		sc.lastCi = ci
	}
	if err := checkStatFields(st, i, s.Now); err != nil {
		return -1, err
	}
	if !sc.lastEnd[ci].IsZero() {
		if st.Start.Before(sc.lastStart[ci]) {
			sc.unsorted[ci], sc.any = true, true
		} else if st.Start.Before(sc.lastEnd[ci]) {
			return -1, snapErr(fmt.Sprintf("$.stats[%d].start", i), "interval of %s overlaps the previous one ending %s; send each period once", st.Campaign, sc.lastEnd[ci].UTC().Format(time.RFC3339))
		}
	}
	if sc.lastEnd[ci].IsZero() || !st.Start.Before(sc.lastStart[ci]) {
		sc.lastStart[ci], sc.lastEnd[ci] = st.Start, st.End
	}
	return ci, nil
}

func checkStatFields(st *Stat, i int, now time.Time) error {
	if !st.Start.IsZero() && st.End.After(st.Start) && st.End.Sub(st.Start) <= maxStatLength && st.Start.Before(now) &&
		st.Cost >= 0 && st.Clicks >= 0 && st.Impressions >= 0 && st.Conversions >= 0 && !math.IsInf(st.Conversions, 0) {
		return nil // the common case allocates nothing
	}
	p := fmt.Sprintf("$.stats[%d]", i)
	switch {
	case st.Start.IsZero():
		return snapErr(p+".start", "is required")
	case st.End.IsZero():
		return snapErr(p+".end", "is required")
	case !st.End.After(st.Start):
		return snapErr(p+".end", "%s is not after start %s", st.End.UTC().Format(time.RFC3339), st.Start.UTC().Format(time.RFC3339))
	case st.End.Sub(st.Start) > maxStatLength:
		return snapErr(p+".end", "interval is longer than a day; send hourly or daily stats")
	case !st.Start.Before(now):
		return snapErr(p+".start", "%s is not before now %s; stats describe the past", st.Start.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case st.Cost < 0:
		return snapErr(p+".cost", "is negative (%s)", st.Cost)
	case st.Clicks < 0:
		return snapErr(p+".clicks", "is negative")
	case st.Impressions < 0:
		return snapErr(p+".impressions", "is negative")
	case st.Conversions < 0 || math.IsNaN(st.Conversions) || math.IsInf(st.Conversions, 0):
		return snapErr(p+".conversions", "must be a finite number >= 0")
	}
	return nil
}

// finish checks overlaps of the campaigns whose stats were out of order.
func (sc *statChecker) finish(s *Snapshot) error {
	if !sc.any {
		return nil
	}
	unsorted := map[adpacer.CampaignID]int{}
	for ci, un := range sc.unsorted {
		if un {
			unsorted[s.Campaigns[ci].ID] = ci
		}
	}
	byCamp := map[int][]int{}
	for i := range s.Stats {
		if ci, ok := unsorted[s.Stats[i].Campaign]; ok {
			byCamp[ci] = append(byCamp[ci], i)
		}
	}
	for _, ci := range slices.Sorted(mapKeys(byCamp)) {
		idx := byCamp[ci]
		slices.SortStableFunc(idx, func(a, b int) int { return s.Stats[a].Start.Compare(s.Stats[b].Start) })
		for k := 1; k < len(idx); k++ {
			prev, cur := s.Stats[idx[k-1]], s.Stats[idx[k]]
			if cur.Start.Before(prev.End) {
				return snapErr(fmt.Sprintf("$.stats[%d].start", idx[k]), "interval of %s overlaps $.stats[%d]; send each period once", cur.Campaign, idx[k-1])
			}
		}
	}
	return nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// bidRange is the range the engine keeps a campaign's bid in: its own
// bounds and its line's, the narrower of each (a kopeck at least, no upper
// bound when neither sets one).
func bidRange(c *Campaign, l *Line) (lo, hi adpacer.Micros) {
	lo, hi = adpacer.Micros(kopeck), adpacer.Micros(math.MaxInt64)
	for _, b := range []*adpacer.Micros{c.MinBid, l.MinBid} {
		if b != nil {
			lo = max(lo, *b)
		}
	}
	for _, b := range []*adpacer.Micros{c.MaxBid, l.MaxBid} {
		if b != nil {
			hi = min(hi, *b)
		}
	}
	return lo, hi
}

func fmtBound(b *adpacer.Micros, none string) string {
	if b == nil {
		return none
	}
	return b.String()
}

// maxBound is hi as a bound, nil when it is no bound at all.
func maxBound(hi adpacer.Micros) *adpacer.Micros {
	if hi == adpacer.Micros(math.MaxInt64) {
		return nil
	}
	return &hi
}

// checkBidBounds checks the optional min_bid and max_bid under path p.
func checkBidBounds(p string, lo, hi *adpacer.Micros) *SnapshotError {
	switch {
	case lo != nil && *lo <= 0:
		return snapErr(p+".min_bid", "must be positive or absent, got %s", *lo)
	case hi != nil && *hi <= 0:
		return snapErr(p+".max_bid", "must be positive or absent, got %s", *hi)
	case lo != nil && hi != nil && *lo > *hi:
		return snapErr(p+".max_bid", "%s is below min_bid %s", *hi, *lo)
	}
	return nil
}
