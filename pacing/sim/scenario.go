package sim

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
	"gopkg.in/yaml.v3"

	// Scenario zones must resolve on machines without a zoneinfo database.
	_ "time/tzdata"
)

// TickLength is the simulation step.
const TickLength = 15 * time.Minute

const ticksPerHour = 4
const ticksPerDay = 96

//go:embed scenarios/*.yaml
var builtin embed.FS

// BuiltinScenarios lists the shipped scenario names (S0..S10).
func BuiltinScenarios() []string {
	entries, _ := fs.ReadDir(builtin, "scenarios")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Slice(out, func(i, j int) bool { return scenarioOrder(out[i]) < scenarioOrder(out[j]) })
	return out
}

func scenarioOrder(name string) string {
	if len(name) == 2 {
		return name[:1] + "0" + name[1:]
	}
	return name
}

// LoadScenario reads a scenario from a file path, or a built-in scenario by
// name ("S0".."S10").
func LoadScenario(nameOrPath string) (*Scenario, error) {
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		b, berr := builtin.ReadFile("scenarios/" + nameOrPath + ".yaml")
		if berr != nil {
			return nil, fmt.Errorf("scenario %q: %w (built-in scenarios: %s)", nameOrPath, err, strings.Join(BuiltinScenarios(), ", "))
		}
		data = b
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", filepath.Base(nameOrPath), err)
	}
	return sc, nil
}

// ParseScenario decodes and validates a scenario document.
func ParseScenario(data []byte) (*Scenario, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var spec ScenarioSpec
	if err := decodeStrict(&root, reflect.ValueOf(&spec).Elem(), ""); err != nil {
		return nil, err
	}
	return Compile(&spec)
}

// Platform indexes.
const (
	pYandex = iota
	pGoogle
	pVK
	numPlatforms
)

var platformOf = [numPlatforms]adpacer.Platform{adpacer.YandexDirect, adpacer.GoogleAds, adpacer.VKAds}

func platformIndex(p adpacer.Platform) int {
	for i, q := range platformOf {
		if q == p {
			return i
		}
	}
	return -1
}

// PlatformParams are the resolved emulator parameters of one platform.
type PlatformParams struct {
	Platform        adpacer.Platform
	LagMin, LagMax  time.Duration
	OutagePerDay    float64
	OutageLength    time.Duration
	RestateDays     int
	RestateMean     float64 // fraction
	RestateSD       float64 // fraction
	WriteFailure    float64 // probability per write
	Throttle        float64 // probability per write
	MinDailyBudget  adpacer.Micros
	MaxBudgetEdits  int // per platform day; 0 = unlimited
	DayCapFactor    float64
	MonthCapFactor  float64
	KappaMin        float64
	KappaMax        float64
	WorstCase       bool
	dayZoneOverride string
}

// MarketParams are the resolved market parameters.
type MarketParams struct {
	TickNoiseSD, DayNoiseSD, DayNoiseRho, CPCNoiseSD float64
	HolidayFactor                                    float64
	Holidays                                         map[string]bool
	DelayMu, DelaySigma                              float64 // log-normal of the conversion delay in hours
	SettleTicks                                      int
}

// Region is a compiled region.
type Region struct {
	Name    string
	Zone    int
	Weight  float64
	curve   [ticksPerDay]float64 // by local tick of day, mean 1
	weekday [7]float64           // by time.Weekday, mean 1
}

// Line is a compiled budget line.
type Line struct {
	ID, Name, Directorate string
	TimeZone              string
	Zone                  int
	Start, End            time.Time
	StartTick, EndTick    int
	Budget                adpacer.Micros // at the start
	TargetCPA             *adpacer.Micros
	Campaigns             []int
	// Changes of the budget during the period, in time order.
	Changes []BudgetChange
}

// BudgetChange sets a line's budget from Tick on.
type BudgetChange struct {
	Tick   int
	Budget adpacer.Micros
}

// BudgetAt returns the line budget in force at tick k.
func (l *Line) BudgetAt(k int) adpacer.Micros {
	b := l.Budget
	for _, c := range l.Changes {
		if k >= c.Tick {
			b = c.Budget
		}
	}
	return b
}

// FinalBudget is the budget at the end of the period.
func (l *Line) FinalBudget() adpacer.Micros { return l.BudgetAt(math.MaxInt32) }

// Campaign is a compiled campaign.
type Campaign struct {
	ID                  adpacer.CampaignID
	Platform            adpacer.Platform
	pidx                int
	Line                int
	Region              int
	DayZone             int    // zone of the platform day
	TimeZone            string // zone reported in the snapshot
	DailyBudget, Bid    adpacer.Micros
	MinBid, MaxBid      adpacer.Micros
	AuctionsPerHour     float64
	CTR, Mu, Sigma, CVR float64 // Mu/Sigma: log-normal market price in currency units
}

type window struct{ from, to int } // ticks, [from, to)

func (w window) has(k int) bool { return k >= w.from && k < w.to }

type demandShock struct {
	window
	factor float64
	camps  []bool
}

type outageShock struct {
	window
	pidx  int
	delay int // ticks, reporting_delay only
}

type restateShock struct {
	from, to time.Time // platform days starting in [from, to)
	pct      float64
	camps    []bool
}

type moderationShock struct {
	window
	camps []bool
}

// Scenario is a compiled, validated scenario.
type Scenario struct {
	Name, Description string
	Targets           string
	Start             time.Time // first tick, UTC
	Ticks             int
	EngineInterval    int // ticks
	BaselineInterval  int // ticks
	HourlyStatsDays   int
	KP, KI            float64
	PriorWeeks        int
	Platforms         [numPlatforms]PlatformParams
	Market            MarketParams
	ZoneNames         []string
	zones             []*time.Location
	Regions           []Region
	Lines             []Line
	Campaigns         []Campaign
	lineIdx           map[string]int
	campIdx           map[adpacer.CampaignID]int

	demand     []demandShock
	price      []demandShock
	repOutage  []outageShock
	repDelay   []outageShock
	writeOut   []outageShock
	restate    []restateShock
	moderation []moderationShock

	// per zone, per tick: local day number (days since 1970-01-01 local),
	// local tick of day, local weekday.
	zoneDay     [][]int32
	zoneTickDay [][]int16
	zoneWday    [][]int8
}

// TickTime returns the start of tick k.
func (s *Scenario) TickTime(k int) time.Time { return s.Start.Add(time.Duration(k) * TickLength) }

// TickOf returns the tick containing t (may be out of range).
func (s *Scenario) TickOf(t time.Time) int {
	d := t.Sub(s.Start)
	k := int(d / TickLength)
	if d < 0 && d%TickLength != 0 {
		k--
	}
	return k
}

// End is the end of the simulated window.
func (s *Scenario) End() time.Time { return s.TickTime(s.Ticks) }

func (s *Scenario) zoneIndex(name string) (int, error) {
	for i, n := range s.ZoneNames {
		if n == name {
			return i, nil
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return 0, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Moscow or Asia/Vladivostok)", name)
	}
	// Hourly report rows and restatement by platform day assume whole-hour
	// offsets (true of every Russian zone).
	for _, t := range []time.Time{time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)} {
		if _, off := t.In(loc).Zone(); off%3600 != 0 {
			return 0, fmt.Errorf("time zone %q has a UTC offset that is not a whole number of hours; the simulator needs whole hours", name)
		}
	}
	s.ZoneNames = append(s.ZoneNames, name)
	s.zones = append(s.zones, loc)
	return len(s.zones) - 1, nil
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func durOr(p *pacingDuration, def time.Duration) time.Duration {
	if p == nil {
		return def
	}
	return time.Duration(*p)
}

// Compile validates a spec and builds the scenario; every error names its
// field path.
func Compile(spec *ScenarioSpec) (*Scenario, error) {
	s := &Scenario{Name: spec.Name, Description: spec.Description, lineIdx: map[string]int{}, campIdx: map[adpacer.CampaignID]int{}}
	if s.Name == "" {
		return nil, fieldErr("name", "required")
	}
	switch spec.Targets {
	case "", "nominal":
		s.Targets = "nominal"
	case "stress":
		s.Targets = "stress"
	default:
		return nil, fieldErr("targets", "%q is not nominal or stress", spec.Targets)
	}
	tzName := spec.TimeZone
	if tzName == "" {
		tzName = "Europe/Moscow"
	}
	mainZone, err := s.zoneIndex(tzName)
	if err != nil {
		return nil, fieldErr("timezone", "%v", err)
	}
	mainLoc := s.zones[mainZone]

	s.EngineInterval, err = intervalTicks(spec.Engine.Interval, "engine.interval")
	if err != nil {
		return nil, err
	}
	s.BaselineInterval, err = intervalTicks(spec.Baselines.Interval, "baselines.interval")
	if err != nil {
		return nil, err
	}
	s.HourlyStatsDays = spec.Engine.HourlyStatsDays
	if s.HourlyStatsDays < 0 {
		return nil, fieldErr("engine.hourly_stats_days", "must be >= 0")
	}
	if s.HourlyStatsDays == 0 {
		s.HourlyStatsDays = 3
	}
	s.KP = ptrOr(spec.Baselines.KP, 10)
	s.KI = ptrOr(spec.Baselines.KI, 2)
	if s.KP < 0 || s.KI < 0 {
		return nil, fieldErr("baselines", "kp and ki must be >= 0")
	}
	s.PriorWeeks = spec.Baselines.PriorWeeks
	if s.PriorWeeks < 0 {
		return nil, fieldErr("baselines.prior_weeks", "must be >= 0")
	}
	if s.PriorWeeks == 0 {
		s.PriorWeeks = 8
	}

	if err := s.compilePlatforms(&spec.Platforms); err != nil {
		return nil, err
	}
	if err := s.compileMarket(&spec.Market); err != nil {
		return nil, err
	}
	regions := spec.Regions
	if len(regions) == 0 {
		regions = DefaultRegions()
	}
	if err := s.compileRegions(regions); err != nil {
		return nil, err
	}

	lines, camps := spec.Lines, spec.Campaigns
	if spec.Generate != nil {
		gl, gc, err := generate(spec, s, regions)
		if err != nil {
			return nil, err
		}
		lines = append(append([]LineSpec(nil), lines...), gl...)
		camps = append(append([]CampaignSpec(nil), camps...), gc...)
	}
	if len(lines) == 0 {
		return nil, fieldErr("lines", "no lines (give lines or a generate block)")
	}
	if err := s.compileLines(spec.Month, tzName, lines, len(spec.Lines)); err != nil {
		return nil, err
	}
	if err := s.compileCampaigns(camps, len(spec.Campaigns)); err != nil {
		return nil, err
	}
	for i := range s.Lines {
		if len(s.Lines[i].Campaigns) == 0 {
			return nil, fieldErr(linePath(i, len(spec.Lines)), "line %q has no campaigns", s.Lines[i].ID)
		}
	}
	// Simulated window: the union of line periods.
	start, end := s.Lines[0].Start, s.Lines[0].End
	for _, l := range s.Lines[1:] {
		if l.Start.Before(start) {
			start = l.Start
		}
		if l.End.After(end) {
			end = l.End
		}
	}
	if end.Sub(start) > 100*24*time.Hour {
		return nil, fieldErr("lines", "the line periods span %s..%s, more than 100 days; simulate them separately",
			start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	s.Start = start.UTC()
	s.Ticks = int(end.Sub(start) / TickLength)
	for i := range s.Lines {
		l := &s.Lines[i]
		l.StartTick, l.EndTick = s.TickOf(l.Start), s.TickOf(l.End)
	}
	s.buildZoneTables()
	if err := s.compileShocks(spec.Shocks, mainLoc); err != nil {
		return nil, err
	}
	return s, nil
}

type pacingDuration = pacing.Duration

func intervalTicks(d pacingDuration, path string) (int, error) {
	v := time.Duration(d)
	if v == 0 {
		v = time.Hour
	}
	if v < TickLength || v%TickLength != 0 {
		return 0, fieldErr(path, "%s is not a positive multiple of 15m", v)
	}
	return int(v / TickLength), nil
}

func (s *Scenario) compilePlatforms(ps *PlatformsSpec) error {
	type def struct {
		spec               *PlatformSpec
		name               string
		lagMin, lagMax     time.Duration
		restate            int
		minBudget          adpacer.Micros
		edits              int
		dayCap, monthCap   float64
		kappaMin, kappaMax float64
	}
	defs := [numPlatforms]def{
		{&ps.Yandex, "yandex_direct", 30 * time.Minute, 2 * time.Hour, 3, adpacer.FromUnits(300), 3, 1.3, 0, 1.3, 1.3},
		{&ps.Google, "google_ads", 30 * time.Minute, 3 * time.Hour, 30, adpacer.FromUnits(1), 0, 2.0, 30.4, 2, 2},
		{&ps.VK, "vk_ads", 30 * time.Minute, 2 * time.Hour, 3, adpacer.FromUnits(300), 0, 0, 0, 1.0, 1.3},
	}
	for i, d := range defs {
		p := d.spec
		path := "platforms." + d.name
		pp := PlatformParams{
			Platform:       platformOf[i],
			LagMin:         durOr(p.ReportLagMin, d.lagMin),
			LagMax:         durOr(p.ReportLagMax, d.lagMax),
			OutagePerDay:   ptrOr(p.OutagePerDay, 0.01),
			OutageLength:   durOr(p.OutageLength, 24*time.Hour),
			RestateDays:    ptrOr(p.RestateDays, d.restate),
			RestateMean:    ptrOr(p.RestateMeanPct, -0.1) / 100,
			RestateSD:      ptrOr(p.RestateSDPct, 0.2) / 100,
			WriteFailure:   ptrOr(p.WriteFailurePct, 0.5) / 100,
			Throttle:       ptrOr(p.ThrottlePct, 1) / 100,
			MinDailyBudget: ptrOr(p.MinDailyBudget, d.minBudget),
			MaxBudgetEdits: ptrOr(p.MaxBudgetEdits, d.edits),
			DayCapFactor:   ptrOr(p.DayCapFactor, d.dayCap),
			MonthCapFactor: ptrOr(p.MonthCapFactor, d.monthCap),
			KappaMin:       ptrOr(p.OverdeliveryMin, d.kappaMin),
			KappaMax:       ptrOr(p.OverdeliveryMax, d.kappaMax),
			WorstCase:      p.WorstCaseOverdelivery,
		}
		switch {
		case pp.LagMin < 0 || pp.LagMax < pp.LagMin:
			return fieldErr(path+".report_lag_min", "need 0 <= report_lag_min <= report_lag_max")
		case pp.OutagePerDay < 0 || pp.OutagePerDay > 1:
			return fieldErr(path+".outage_per_day", "%v is not a probability in [0, 1]", pp.OutagePerDay)
		case pp.OutageLength < 0:
			return fieldErr(path+".outage_length", "must be >= 0")
		case pp.RestateDays < 0:
			return fieldErr(path+".restate_days", "must be >= 0")
		case pp.RestateSD < 0:
			return fieldErr(path+".restate_sd_pct", "must be >= 0")
		case math.Abs(pp.RestateMean) > 0.5:
			return fieldErr(path+".restate_mean_pct", "must be within +-50")
		case pp.WriteFailure < 0 || pp.WriteFailure > 1:
			return fieldErr(path+".write_failure_pct", "must be within 0..100")
		case pp.Throttle < 0 || pp.Throttle > 1:
			return fieldErr(path+".throttle_pct", "must be within 0..100")
		case pp.MinDailyBudget < 0:
			return fieldErr(path+".min_daily_budget", "must be >= 0")
		case pp.MaxBudgetEdits < 0:
			return fieldErr(path+".max_budget_edits_per_day", "must be >= 0 (0 = unlimited)")
		case i != pVK && pp.DayCapFactor < 1:
			return fieldErr(path+".day_cap_factor", "must be >= 1")
		case i == pGoogle && pp.MonthCapFactor < 1:
			return fieldErr(path+".month_cap_factor", "must be >= 1")
		case pp.KappaMin < 1 || pp.KappaMax < pp.KappaMin:
			return fieldErr(path+".overdelivery_min", "need 1 <= overdelivery_min <= overdelivery_max")
		}
		s.Platforms[i] = pp
	}
	return nil
}

func (s *Scenario) compileMarket(m *MarketSpec) error {
	mp := MarketParams{
		TickNoiseSD:   ptrOr(m.TickNoiseSD, 0.20),
		DayNoiseSD:    ptrOr(m.DayNoiseSD, 0.10),
		DayNoiseRho:   ptrOr(m.DayNoiseRho, 0.5),
		CPCNoiseSD:    ptrOr(m.CPCNoiseSD, 0.05),
		HolidayFactor: ptrOr(m.HolidayFactor, 0.6),
		Holidays:      map[string]bool{},
	}
	switch {
	case mp.TickNoiseSD < 0 || mp.TickNoiseSD > 2:
		return fieldErr("market.tick_noise_sd", "must be within 0..2")
	case mp.DayNoiseSD < 0 || mp.DayNoiseSD > 2:
		return fieldErr("market.day_noise_sd", "must be within 0..2")
	case mp.DayNoiseRho < 0 || mp.DayNoiseRho >= 1:
		return fieldErr("market.day_noise_rho", "must be within [0, 1)")
	case mp.CPCNoiseSD < 0 || mp.CPCNoiseSD > 1:
		return fieldErr("market.cpc_noise_sd", "must be within 0..1")
	case mp.HolidayFactor <= 0 || mp.HolidayFactor > 5:
		return fieldErr("market.holiday_factor", "must be within (0, 5]")
	}
	for i, h := range m.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return fieldErr(fmt.Sprintf("market.holidays[%d]", i), "%q is not a YYYY-MM-DD date", h)
		}
		mp.Holidays[h] = true
	}
	med := durOr(m.ConvDelayMed, 24*time.Hour)
	p95 := durOr(m.ConvDelayP95, 7*24*time.Hour)
	if med <= 0 || p95 <= med {
		return fieldErr("market.conversion_delay_p95", "need 0 < conversion_delay_median < conversion_delay_p95")
	}
	mp.DelayMu = math.Log(med.Hours())
	mp.DelaySigma = (math.Log(p95.Hours()) - mp.DelayMu) / 1.6448536269514722
	settle := durOr(m.SettleAfterEnd, 7*24*time.Hour)
	if settle < 0 {
		return fieldErr("market.settle_after_end", "must be >= 0")
	}
	mp.SettleTicks = int(settle / TickLength)
	s.Market = mp
	return nil
}

// DefaultRegions is the built-in region table: Russian regions from UTC+2 to
// UTC+12 weighted by the population figures of pacing-notes 2.6.
func DefaultRegions() []RegionSpec {
	r := func(name, tz string, w, p1, p2 float64) RegionSpec {
		return RegionSpec{Name: name, TimeZone: tz, Weight: w, Peaks: []float64{p1, p2}}
	}
	return []RegionSpec{
		r("kaliningrad", "Europe/Kaliningrad", 1.0, 12, 20),
		r("moscow", "Europe/Moscow", 25, 12, 20),
		r("st-petersburg", "Europe/Moscow", 8, 13, 21),
		r("kazan", "Europe/Moscow", 6, 12, 19),
		r("samara", "Europe/Samara", 9.5, 12, 20),
		r("yekaterinburg", "Asia/Yekaterinburg", 21, 11, 20),
		r("omsk", "Asia/Omsk", 4, 12, 20),
		r("novosibirsk", "Asia/Novosibirsk", 6, 12, 21),
		r("krasnoyarsk", "Asia/Krasnoyarsk", 6.9, 11, 20),
		r("irkutsk", "Asia/Irkutsk", 2.4, 12, 20),
		r("yakutsk", "Asia/Yakutsk", 1.0, 12, 19),
		r("vladivostok", "Asia/Vladivostok", 1.9, 12, 20),
		r("magadan", "Asia/Magadan", 0.5, 12, 20),
		r("kamchatka", "Asia/Kamchatka", 0.5, 12, 20),
	}
}

func (s *Scenario) compileRegions(regions []RegionSpec) error {
	seen := map[string]bool{}
	for i, r := range regions {
		path := fmt.Sprintf("regions[%d]", i)
		if r.Name == "" {
			return fieldErr(path+".name", "required")
		}
		if seen[r.Name] {
			return fieldErr(path+".name", "region %q given twice", r.Name)
		}
		seen[r.Name] = true
		z, err := s.zoneIndex(r.TimeZone)
		if err != nil {
			return fieldErr(path+".timezone", "%v", err)
		}
		if r.Weight < 0 {
			return fieldErr(path+".weight", "must be >= 0")
		}
		peaks := r.Peaks
		if len(peaks) == 0 {
			peaks = []float64{12, 20}
		}
		if len(peaks) != 2 {
			return fieldErr(path+".peaks", "want two local hours [midday, evening]")
		}
		for j, p := range peaks {
			if p < 0 || p >= 24 {
				return fieldErr(fmt.Sprintf("%s.peaks[%d]", path, j), "%v is not an hour in [0, 24)", p)
			}
		}
		ratio, width, trough := ptrOr(r.EveningRatio, 0.8), ptrOr(r.Width, 3.0), ptrOr(r.Trough, 0.04)
		if ratio < 0 || width <= 0 || width > 12 || trough < 0 {
			return fieldErr(path, "need evening_ratio >= 0, 0 < width <= 12, trough >= 0")
		}
		wd := r.Weekday
		if len(wd) == 0 {
			wd = []float64{1.05, 1.12, 1.08, 1.04, 0.98, 0.86, 0.78}
		}
		if len(wd) != 7 {
			return fieldErr(path+".weekday", "want 7 factors, Monday to Sunday")
		}
		reg := Region{Name: r.Name, Zone: z, Weight: r.Weight}
		var sum float64
		for j, f := range wd {
			if f <= 0 {
				return fieldErr(fmt.Sprintf("%s.weekday[%d]", path, j), "must be > 0")
			}
			sum += f
		}
		for j, f := range wd {
			reg.weekday[(j+1)%7] = f * 7 / sum // Monday is time.Weekday 1
		}
		sum = 0
		for k := range ticksPerDay {
			h := (float64(k) + 0.5) / ticksPerHour
			v := trough + hump(h, peaks[0], width) + ratio*hump(h, peaks[1], width)
			reg.curve[k] = v
			sum += v
		}
		if sum <= 0 {
			return fieldErr(path, "demand curve is zero everywhere")
		}
		for k := range reg.curve {
			reg.curve[k] *= ticksPerDay / sum
		}
		s.Regions = append(s.Regions, reg)
	}
	return nil
}

func hump(h, peak, width float64) float64 {
	d := math.Abs(h - peak)
	if d > 12 {
		d = 24 - d
	}
	return math.Exp(-d * d / (2 * width * width))
}

func linePath(i, explicit int) string {
	if i < explicit {
		return fmt.Sprintf("lines[%d]", i)
	}
	return fmt.Sprintf("generate.lines[%d]", i-explicit)
}

func campPath(i, explicit int) string {
	if i < explicit {
		return fmt.Sprintf("campaigns[%d]", i)
	}
	return fmt.Sprintf("generate.campaigns[%d]", i-explicit)
}

func (s *Scenario) compileLines(month, defZone string, lines []LineSpec, explicit int) error {
	for i, ls := range lines {
		path := linePath(i, explicit)
		if ls.ID == "" {
			return fieldErr(path+".id", "required")
		}
		if _, dup := s.lineIdx[ls.ID]; dup {
			return fieldErr(path+".id", "line %q given twice", ls.ID)
		}
		tz := ls.TimeZone
		if tz == "" {
			tz = defZone
		}
		z, err := s.zoneIndex(tz)
		if err != nil {
			return fieldErr(path+".timezone", "%v", err)
		}
		loc := s.zones[z]
		var start, end time.Time
		if ls.Period != nil {
			a, err := time.ParseInLocation(time.DateOnly, ls.Period.Start, loc)
			if err != nil {
				return fieldErr(path+".period.start", "%q is not a YYYY-MM-DD date", ls.Period.Start)
			}
			b, err := time.ParseInLocation(time.DateOnly, ls.Period.End, loc)
			if err != nil {
				return fieldErr(path+".period.end", "%q is not a YYYY-MM-DD date", ls.Period.End)
			}
			if b.Before(a) {
				return fieldErr(path+".period.end", "%s is before the start %s", ls.Period.End, ls.Period.Start)
			}
			start, end = a, b.AddDate(0, 0, 1)
		} else {
			if month == "" {
				return fieldErr(path+".period", "required when the scenario has no month")
			}
			m, err := time.ParseInLocation("2006-01", month, loc)
			if err != nil {
				return fieldErr("month", "%q is not YYYY-MM", month)
			}
			start, end = m, m.AddDate(0, 1, 0)
		}
		if end.Sub(start) > 93*24*time.Hour {
			return fieldErr(path+".period", "longer than 93 days")
		}
		if ls.Budget <= 0 {
			return fieldErr(path+".budget", "must be positive, got %s", ls.Budget)
		}
		if ls.TargetCPA != nil && *ls.TargetCPA <= 0 {
			return fieldErr(path+".target_cpa", "must be positive when given, got %s", *ls.TargetCPA)
		}
		s.lineIdx[ls.ID] = len(s.Lines)
		s.Lines = append(s.Lines, Line{ID: ls.ID, Name: ls.Name, Directorate: ls.Directorate, TimeZone: tz, Zone: z,
			Start: start, End: end, Budget: ls.Budget, TargetCPA: ls.TargetCPA})
	}
	return nil
}

func (s *Scenario) regionIndex(name string) int {
	for i, r := range s.Regions {
		if r.Name == name {
			return i
		}
	}
	return -1
}

func (s *Scenario) compileCampaigns(camps []CampaignSpec, explicit int) error {
	if len(camps) == 0 {
		return fieldErr("campaigns", "no campaigns (give campaigns or a generate block)")
	}
	for i, cs := range camps {
		path := campPath(i, explicit)
		id := adpacer.CampaignID(cs.ID)
		p, _, err := id.Split()
		if err != nil {
			return fieldErr(path+".id", "%v", err)
		}
		if _, dup := s.campIdx[id]; dup {
			return fieldErr(path+".id", "campaign %q given twice", cs.ID)
		}
		li, ok := s.lineIdx[cs.Line]
		if !ok {
			return fieldErr(path+".line", "unknown line %q", cs.Line)
		}
		ri := s.regionIndex(cs.Region)
		if ri < 0 {
			return fieldErr(path+".region", "unknown region %q", cs.Region)
		}
		pidx := platformIndex(p)
		c := Campaign{ID: id, Platform: p, pidx: pidx, Line: li, Region: ri}
		regionZone := s.ZoneNames[s.Regions[ri].Zone]
		switch pidx {
		case pGoogle:
			tz := cs.AccountTimeZone
			if tz == "" {
				tz = regionZone
			}
			z, err := s.zoneIndex(tz)
			if err != nil {
				return fieldErr(path+".account_timezone", "%v", err)
			}
			c.DayZone, c.TimeZone = z, tz
		default:
			if cs.AccountTimeZone != "" {
				return fieldErr(path+".account_timezone", "only Google Ads campaigns have an account zone; %s days run on Moscow time", p)
			}
			z, err := s.zoneIndex(p.PlatformDayZone())
			if err != nil {
				return fieldErr(path, "%v", err)
			}
			c.DayZone, c.TimeZone = z, regionZone
		}
		pp := s.Platforms[pidx]
		c.DailyBudget, c.Bid = cs.DailyBudget, cs.Bid
		switch {
		case cs.DailyBudget < pp.MinDailyBudget || cs.DailyBudget <= 0:
			return fieldErr(path+".daily_budget", "%s is below the %s minimum %s", cs.DailyBudget, p, pp.MinDailyBudget)
		case cs.Bid <= 0:
			return fieldErr(path+".bid", "must be positive, got %s", cs.Bid)
		case cs.AuctionsPerHour <= 0:
			return fieldErr(path+".auctions_per_hour", "must be positive")
		case cs.CTR <= 0 || cs.CTR > 1:
			return fieldErr(path+".ctr", "%v is not a rate in (0, 1]", cs.CTR)
		case cs.CVR < 0 || cs.CVR > 1:
			return fieldErr(path+".cvr", "%v is not a rate in [0, 1]", cs.CVR)
		case cs.PriceMedian <= 0:
			return fieldErr(path+".price_median", "must be positive")
		case cs.PriceSigma <= 0 || cs.PriceSigma > 3:
			return fieldErr(path+".price_sigma", "%v is not within (0, 3]", cs.PriceSigma)
		}
		c.MinBid = ptrOr(cs.MinBid, adpacer.Micros(10_000))
		c.MaxBid = ptrOr(cs.MaxBid, cs.Bid*10)
		if c.MinBid <= 0 || c.MaxBid < c.MinBid || cs.Bid < c.MinBid || cs.Bid > c.MaxBid {
			return fieldErr(path+".bid", "need 0 < min_bid <= bid <= max_bid")
		}
		c.AuctionsPerHour, c.CTR, c.CVR = cs.AuctionsPerHour, cs.CTR, cs.CVR
		c.Mu, c.Sigma = math.Log(cs.PriceMedian.Float()), cs.PriceSigma
		s.campIdx[id] = len(s.Campaigns)
		s.Lines[li].Campaigns = append(s.Lines[li].Campaigns, len(s.Campaigns))
		s.Campaigns = append(s.Campaigns, c)
	}
	return nil
}

func (s *Scenario) buildZoneTables() {
	n := s.Ticks
	s.zoneDay = make([][]int32, len(s.zones))
	s.zoneTickDay = make([][]int16, len(s.zones))
	s.zoneWday = make([][]int8, len(s.zones))
	for z, loc := range s.zones {
		days, tods, wds := make([]int32, n), make([]int16, n), make([]int8, n)
		for k := range n {
			t := s.TickTime(k).In(loc)
			y, m, d := t.Date()
			days[k] = int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
			tods[k] = int16((t.Hour()*60 + t.Minute()) / 15)
			wds[k] = int8(t.Weekday())
		}
		s.zoneDay[z], s.zoneTickDay[z], s.zoneWday[z] = days, tods, wds
	}
}

// dayOf returns the local day number of tick k in zone z.
func (s *Scenario) dayOf(z, k int) int32 { return s.zoneDay[z][k] }

func dayString(day int32) string { return time.Unix(int64(day)*86400, 0).UTC().Format(time.DateOnly) }

func (s *Scenario) parseWhen(v, path string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fieldErr(path, "%q is neither YYYY-MM-DD nor RFC 3339", v)
}

func (s *Scenario) selectCampaigns(sh *ShockSpec, path string) ([]bool, error) {
	sel := make([]bool, len(s.Campaigns))
	regions := map[int]bool{}
	for i, r := range sh.Regions {
		ri := s.regionIndex(r)
		if ri < 0 {
			return nil, fieldErr(fmt.Sprintf("%s.regions[%d]", path, i), "unknown region %q", r)
		}
		regions[ri] = true
	}
	lines := map[int]bool{}
	for i, l := range sh.Lines {
		li, ok := s.lineIdx[l]
		if !ok {
			return nil, fieldErr(fmt.Sprintf("%s.lines[%d]", path, i), "unknown line %q", l)
		}
		lines[li] = true
	}
	camps := map[int]bool{}
	for i, c := range sh.Campaigns {
		ci, ok := s.campIdx[adpacer.CampaignID(c)]
		if !ok {
			return nil, fieldErr(fmt.Sprintf("%s.campaigns[%d]", path, i), "unknown campaign %q", c)
		}
		camps[ci] = true
	}
	pidx := -1
	if sh.Platform != "" {
		pidx = platformIndex(adpacer.Platform(sh.Platform))
		if pidx < 0 {
			return nil, fieldErr(path+".platform", "unknown platform %q (want yandex_direct, google_ads or vk_ads)", sh.Platform)
		}
	}
	matched := false
	for ci, c := range s.Campaigns {
		ok := (len(regions) == 0 || regions[c.Region]) && (len(lines) == 0 || lines[c.Line]) &&
			(len(camps) == 0 || camps[ci]) && (pidx < 0 || pidx == c.pidx)
		sel[ci] = ok
		matched = matched || ok
	}
	if !matched {
		return nil, fieldErr(path, "selects no campaign")
	}
	return sel, nil
}

func (s *Scenario) compileShocks(shocks []ShockSpec, loc *time.Location) error {
	for i := range shocks {
		sh := &shocks[i]
		path := fmt.Sprintf("shocks[%d]", i)
		var from, to time.Time
		var err error
		if sh.From != "" {
			if from, err = s.parseWhen(sh.From, path+".from", loc); err != nil {
				return err
			}
		} else {
			from = s.Start
		}
		if sh.To != "" {
			if to, err = s.parseWhen(sh.To, path+".to", loc); err != nil {
				return err
			}
		} else {
			to = s.End()
		}
		if !to.After(from) {
			return fieldErr(path+".to", "%s is not after from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
		}
		if from.Before(s.Start) || from.After(s.End()) {
			return fieldErr(path+".from", "%s is outside the simulated window %s..%s", from.Format(time.RFC3339), s.Start.Format(time.RFC3339), s.End().Format(time.RFC3339))
		}
		w := window{from: s.TickOf(from), to: min(s.Ticks, s.TickOf(to.Add(TickLength-1)))}
		needFactor := func() (float64, error) {
			if sh.Factor == nil {
				return 0, fieldErr(path+".factor", "required for %s", sh.Kind)
			}
			if *sh.Factor <= 0 || *sh.Factor > 100 {
				return 0, fieldErr(path+".factor", "%v is not within (0, 100]", *sh.Factor)
			}
			return *sh.Factor, nil
		}
		needPlatform := func() (int, error) {
			p := platformIndex(adpacer.Platform(sh.Platform))
			if p < 0 {
				return 0, fieldErr(path+".platform", "%q: want yandex_direct, google_ads or vk_ads", sh.Platform)
			}
			return p, nil
		}
		switch sh.Kind {
		case "demand", "competitor_price":
			f, err := needFactor()
			if err != nil {
				return err
			}
			sel, err := s.selectCampaigns(sh, path)
			if err != nil {
				return err
			}
			d := demandShock{window: w, factor: f, camps: sel}
			if sh.Kind == "demand" {
				s.demand = append(s.demand, d)
			} else {
				s.price = append(s.price, d)
			}
		case "reporting_outage", "write_outage":
			p, err := needPlatform()
			if err != nil {
				return err
			}
			o := outageShock{window: w, pidx: p}
			if sh.Kind == "write_outage" {
				s.writeOut = append(s.writeOut, o)
			} else {
				s.repOutage = append(s.repOutage, o)
			}
		case "reporting_delay":
			p, err := needPlatform()
			if err != nil {
				return err
			}
			if sh.Delay == nil || *sh.Delay <= 0 {
				return fieldErr(path+".delay", "required and positive for reporting_delay")
			}
			s.repDelay = append(s.repDelay, outageShock{window: w, pidx: p, delay: int((time.Duration(*sh.Delay) + TickLength - 1) / TickLength)})
		case "restatement":
			if sh.Pct == nil || *sh.Pct < -50 || *sh.Pct > 50 {
				return fieldErr(path+".pct", "required, within -50..50")
			}
			sel, err := s.selectCampaigns(sh, path)
			if err != nil {
				return err
			}
			s.restate = append(s.restate, restateShock{from: from, to: to, pct: *sh.Pct / 100, camps: sel})
		case "moderation":
			sel, err := s.selectCampaigns(sh, path)
			if err != nil {
				return err
			}
			s.moderation = append(s.moderation, moderationShock{window: w, camps: sel})
		case "budget_change":
			f, err := needFactor()
			if err != nil {
				return err
			}
			if len(sh.Lines) == 0 {
				return fieldErr(path+".lines", "required for budget_change")
			}
			for j, id := range sh.Lines {
				li, ok := s.lineIdx[id]
				if !ok {
					return fieldErr(fmt.Sprintf("%s.lines[%d]", path, j), "unknown line %q", id)
				}
				l := &s.Lines[li]
				nb := adpacer.FromFloat(l.BudgetAt(w.from).Float() * f).FloorTo(10_000)
				if nb <= 0 {
					return fieldErr(path+".factor", "makes line %q budget zero", id)
				}
				l.Changes = append(l.Changes, BudgetChange{Tick: w.from, Budget: nb})
			}
		case "budget_move":
			if sh.Amount == nil || *sh.Amount <= 0 {
				return fieldErr(path+".amount", "required and positive for budget_move")
			}
			if len(sh.Lines) != 1 {
				return fieldErr(path+".lines", "budget_move takes exactly one source line")
			}
			src, ok := s.lineIdx[sh.Lines[0]]
			if !ok {
				return fieldErr(path+".lines[0]", "unknown line %q", sh.Lines[0])
			}
			dst, ok := s.lineIdx[sh.ToLine]
			if !ok {
				return fieldErr(path+".to_line", "unknown line %q", sh.ToLine)
			}
			if src == dst {
				return fieldErr(path+".to_line", "same as the source line")
			}
			a := *sh.Amount
			sb := s.Lines[src].BudgetAt(w.from)
			if a >= sb {
				return fieldErr(path+".amount", "%s is not below the source budget %s", a, sb)
			}
			s.Lines[src].Changes = append(s.Lines[src].Changes, BudgetChange{Tick: w.from, Budget: sb - a})
			s.Lines[dst].Changes = append(s.Lines[dst].Changes, BudgetChange{Tick: w.from, Budget: s.Lines[dst].BudgetAt(w.from) + a})
		case "":
			return fieldErr(path+".kind", "required")
		default:
			return fieldErr(path+".kind", "%q: want demand, competitor_price, reporting_outage, reporting_delay, write_outage, restatement, budget_change, budget_move or moderation", sh.Kind)
		}
	}
	return nil
}
