package adpacer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Micros is an amount of money in millionths of the currency unit (the unit
// Yandex Direct and Google Ads use on the wire). Money never travels as a
// float inside adpacer: decimal text is parsed exactly into Micros and
// printed back exactly.
type Micros int64

// MicrosPerUnit is the number of micros in one currency unit.
const MicrosPerUnit = 1_000_000

// ErrBadAmount is wrapped by every money parsing error.
var ErrBadAmount = errors.New("bad money amount")

// ParseMicros parses a decimal amount such as "1500000.00", "-3.5" or "12"
// exactly. More than six fractional digits, exponents and overflow are errors,
// never silent rounding.
func ParseMicros(s string) (Micros, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrBadAmount)
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%w: %q has no digits", ErrBadAmount, orig)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("%w: %q has more than 6 decimal places", ErrBadAmount, orig)
	}
	for _, part := range []string{intPart, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, fmt.Errorf("%w: %q is not a plain decimal number", ErrBadAmount, orig)
			}
		}
	}
	var units int64
	if intPart != "" {
		u, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || u > math.MaxInt64/MicrosPerUnit-1 {
			return 0, fmt.Errorf("%w: %q is out of range", ErrBadAmount, orig)
		}
		units = u
	}
	var fr int64
	if frac != "" {
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		fr = f
	}
	v := units*MicrosPerUnit + fr
	if neg {
		v = -v
	}
	return Micros(v), nil
}

// MustMicros is ParseMicros for constants in tests and examples; it panics on
// bad input, so never call it on data from outside the program.
func MustMicros(s string) Micros {
	m, err := ParseMicros(s)
	if err != nil {
		panic(err)
	}
	return m
}

// FromUnits converts a whole number of currency units.
func FromUnits(u int64) Micros { return Micros(u * MicrosPerUnit) }

// String prints the amount as exact decimal text with at least two
// decimals: 1500000.00, 25.5 -> "25.50", 0.000001 -> "0.000001".
func (m Micros) String() string {
	neg := m < 0
	v := int64(m)
	if neg {
		v = -v
	}
	units, frac := v/MicrosPerUnit, v%MicrosPerUnit
	fs := fmt.Sprintf("%06d", frac)
	fs = strings.TrimRight(fs, "0")
	for len(fs) < 2 {
		fs += "0"
	}
	s := strconv.FormatInt(units, 10) + "." + fs
	if neg {
		s = "-" + s
	}
	return s
}

// Float returns the amount in currency units as a float64. Use it only for
// ratios and statistics (CPA multipliers, profiles), never to store money.
func (m Micros) Float() float64 { return float64(m) / MicrosPerUnit }

// FromFloat converts a float amount of currency units, rounding half away
// from zero to the micro. It exists for controllers that compute in floats;
// their results are rounded once, here.
func FromFloat(f float64) Micros { return Micros(math.Round(f * MicrosPerUnit)) }

// RoundTo rounds to a multiple of step micros (half away from zero); a step
// of 10_000 rounds to kopecks/cents. step <= 0 returns m unchanged.
func (m Micros) RoundTo(step Micros) Micros {
	if step <= 0 {
		return m
	}
	q, r := m/step, m%step
	if r*2 >= step {
		q++
	} else if r*2 <= -step {
		q--
	}
	return q * step
}

// FloorTo rounds toward negative infinity to a multiple of step; budgets
// are floored so rounding never lifts a cap.
func (m Micros) FloorTo(step Micros) Micros {
	if step <= 0 {
		return m
	}
	q := m / step
	if m%step != 0 && m < 0 {
		q--
	}
	return q * step
}

// MarshalJSON writes the amount as a JSON number in currency units with exact
// decimals (never through float64).
func (m Micros) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON accepts a JSON number or a string holding a decimal number.
func (m *Micros) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return fmt.Errorf("%w: null where an amount is required", ErrBadAmount)
	}
	if len(s) >= 2 && s[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("%w: %v", ErrBadAmount, err)
		}
		s = str
	}
	v, err := ParseMicros(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalText/UnmarshalText let Micros appear in YAML and CSV as decimal text.
func (m Micros) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses decimal text.
func (m *Micros) UnmarshalText(b []byte) error {
	v, err := ParseMicros(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
