package everhour

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed calendars/ru.yaml
var ruCalendarYAML []byte

// Calendar says which dates are working days. Dates are civil dates
// (YYYY-MM-DD); a Calendar has no zone.
type Calendar struct {
	name     string
	weekend  [7]bool
	holidays map[string]bool
	workdays map[string]bool
	years    map[int]bool
}

// calendarFile is the YAML form of a calendar.
//
//	base: ru            # ru (default) extends the built-in calendar; none starts empty
//	name: ru-agency
//	weekend: [saturday, sunday]
//	years: [2027]       # years whose holidays the file lists
//	holidays: [2027-01-01, ...]
//	workdays: [2027-...] # weekend days that are working days
type calendarFile struct {
	Base     string   `yaml:"base"`
	Name     string   `yaml:"name"`
	Weekend  []string `yaml:"weekend"`
	Years    []int    `yaml:"years"`
	Holidays []string `yaml:"holidays"`
	Workdays []string `yaml:"workdays"`
}

// DefaultCalendar is the Russian production calendar for 2025 and 2026
// (public holidays and transferred days); other years count weekends only
// (see Covers).
func DefaultCalendar() *Calendar {
	c, err := parseCalendar(bytes.NewReader(ruCalendarYAML), nil)
	if err != nil {
		// The embedded file is covered by tests; failing here is a build bug.
		panic("everhour: embedded calendar: " + err.Error())
	}
	return c
}

// LoadCalendar reads a calendar YAML file (see ParseCalendar).
func LoadCalendar(path string) (*Calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("everhour: calendar: %w", err)
	}
	defer f.Close()
	c, err := ParseCalendar(f)
	if err != nil {
		return nil, fmt.Errorf("everhour: calendar %s: %w", path, err)
	}
	return c, nil
}

// ParseCalendar reads a calendar in YAML. With `base: ru` (the default) the
// file's holidays, workdays and years are added to the built-in Russian
// calendar; with `base: none` it stands alone. Unknown keys are errors.
func ParseCalendar(r io.Reader) (*Calendar, error) {
	return parseCalendar(r, DefaultCalendar)
}

func parseCalendar(r io.Reader, base func() *Calendar) (*Calendar, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f calendarFile
	if err := dec.Decode(&f); err != nil && err != io.EOF {
		return nil, fmt.Errorf("parse calendar: %w", err)
	}
	var c *Calendar
	switch strings.ToLower(f.Base) {
	case "", "ru":
		if base != nil {
			c = base()
		}
	case "none":
	default:
		return nil, fmt.Errorf("calendar base %q: want ru or none", f.Base)
	}
	if c == nil {
		c = &Calendar{holidays: map[string]bool{}, workdays: map[string]bool{}, years: map[int]bool{}}
		c.weekend[time.Saturday], c.weekend[time.Sunday] = true, true
	}
	if f.Name != "" {
		c.name = f.Name
	}
	if len(f.Weekend) > 0 {
		var wk [7]bool
		for _, d := range f.Weekend {
			wd, ok := weekdays[strings.ToLower(d)]
			if !ok {
				return nil, fmt.Errorf("calendar weekend %q: want a weekday name such as saturday", d)
			}
			wk[wd] = true
		}
		c.weekend = wk
	}
	for _, y := range f.Years {
		if y < 1970 || y > 2200 {
			return nil, fmt.Errorf("calendar years: %d is not a plausible year", y)
		}
		c.years[y] = true
	}
	for _, d := range f.Holidays {
		if err := checkDate("calendar holidays", d); err != nil {
			return nil, err
		}
		if c.workdays[d] {
			return nil, fmt.Errorf("calendar: %s is listed both as a holiday and as a workday", d)
		}
		c.holidays[d] = true
	}
	for _, d := range f.Workdays {
		if err := checkDate("calendar workdays", d); err != nil {
			return nil, err
		}
		if c.holidays[d] {
			return nil, fmt.Errorf("calendar: %s is listed both as a holiday and as a workday", d)
		}
		c.workdays[d] = true
	}
	return c, nil
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// Name of the calendar.
func (c *Calendar) Name() string { return c.name }

// Covers reports whether the calendar lists the holidays of year; outside
// covered years only weekends are non-working.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// IsWorkday reports whether the civil date of d (its Y-M-D, zone ignored)
// is a working day.
func (c *Calendar) IsWorkday(d time.Time) bool {
	key := d.Format(time.DateOnly)
	if c.workdays[key] {
		return true
	}
	if c.holidays[key] {
		return false
	}
	return !c.weekend[d.Weekday()]
}

// Workdays counts working days in the inclusive range [from, to] of
// civil dates; 0 when to is before from.
func (c *Calendar) Workdays(from, to time.Time) int {
	from = civil(from)
	to = civil(to)
	n := 0
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if c.IsWorkday(d) {
			n++
		}
	}
	return n
}

// civil truncates to the civil date at 00:00 UTC, so date arithmetic never
// meets a DST transition.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
