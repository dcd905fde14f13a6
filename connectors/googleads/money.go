package googleads

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
)

// MinorUnitMicros maps ISO 4217 codes to the smallest amount Google accepts
// for budgets and bids, in micros. Budgets must be multiples of it
// (api-notes §2.4: IDR needs multiples of 1,000,000 micros). Currencies not
// listed use hundredths (10,000 micros: RUB kopecks, USD cents, EUR cents).
var MinorUnitMicros = map[string]adpacer.Micros{
	"JPY": 1_000_000, "KRW": 1_000_000, "IDR": 1_000_000, "VND": 1_000_000,
	"CLP": 1_000_000, "ISK": 1_000_000, "UGX": 1_000_000, "PYG": 1_000_000,
}

// MinorUnit returns the minimum unit of currency in micros.
func MinorUnit(currency string) adpacer.Micros {
	if u, ok := MinorUnitMicros[strings.ToUpper(currency)]; ok {
		return u
	}
	return 10_000
}

var (
	digitsRe = regexp.MustCompile(`^[0-9]{10}$`)
	idRe     = regexp.MustCompile(`^[0-9]{1,19}$`)
)

// NormalizeCustomerID accepts "123-456-7890", "1234567890",
// "customers/1234567890" (and surrounding spaces) and returns the ten
// digits the API wants in URLs and headers.
func NormalizeCustomerID(s string) (string, error) {
	orig := s
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "customers/")
	s = strings.ReplaceAll(s, "-", "")
	if !digitsRe.MatchString(s) {
		return "", fmt.Errorf("customer id %q: want 10 digits, optionally written as 123-456-7890", orig)
	}
	return s, nil
}

// localHourStart is the earliest instant whose wall clock in loc reads
// date h:00; ok is false when that hour does not exist (spring-forward gap).
func localHourStart(loc *time.Location, y int, m time.Month, d, h int) (time.Time, bool) {
	t := time.Date(y, m, d, h, 0, 0, 0, loc)
	if t.Hour() != h || t.Day() != d {
		return t, false
	}
	// In a fall-back overlap Go may pick the second occurrence; the hour as
	// Google reports it starts at the first.
	if p := t.Add(-time.Hour); p.Hour() == h && p.Day() == d {
		t = p
	}
	return t, true
}

// hourSpan converts an account-local date and hour to the UTC interval it
// covers: one hour on normal days, two hours for the repeated hour of a
// fall-back day (Google reports it once), and ok=false for the hour that
// does not exist on a spring-forward day.
func hourSpan(loc *time.Location, day time.Time, h int) (start, end time.Time, ok bool) {
	y, m, d := day.Date()
	start, ok = localHourStart(loc, y, m, d, h)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	end = start.Add(time.Hour)
	for {
		l := end.In(loc)
		if l.Hour() != h || l.Day() != d {
			break
		}
		end = end.Add(time.Hour)
	}
	return start.UTC(), end.UTC(), true
}
