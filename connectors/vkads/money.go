package vkads

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/adpacer/adpacer"
)

// kopeck is the step VK prints money in; budgets are floored to it so
// rounding never lifts a cap.
const kopeck = adpacer.Micros(10_000)

// ParseRubles parses a VK money field (budget_limit_day, spent) exactly
// into micros. The notes say such fields are decimal strings like "1000.00"
// but mark the type as inference, so a JSON number is accepted too and
// parsed from its text, never through a float. field names the field in
// errors. Empty, "null" and negative values are errors: callers that allow
// "no value" check for it first (see optionalRubles).
func ParseRubles(field string, raw json.RawMessage) (adpacer.Micros, error) {
	s, err := jsonScalar(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrBadAmount, field, err)
	}
	m, err := adpacer.ParseMicros(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not a decimal amount of rubles such as 1000.00", ErrBadAmount, field, s)
	}
	if m < 0 {
		return 0, fmt.Errorf("%w: %s %q is negative", ErrBadAmount, field, s)
	}
	return m, nil
}

// optionalRubles parses a budget where absent, null, "" and zero mean
// "no limit" (nil).
func optionalRubles(field string, raw json.RawMessage) (*adpacer.Micros, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" || string(t) == `""` {
		return nil, nil
	}
	m, err := ParseRubles(field, t)
	if err != nil || m == 0 {
		return nil, err
	}
	return &m, nil
}

// FormatRubles prints micros as the decimal string VK takes: whole kopecks
// ("1000.00"), floored.
func FormatRubles(m adpacer.Micros) string {
	k := int64(m.FloorTo(kopeck) / kopeck)
	return fmt.Sprintf("%d.%02d", k/100, k%100)
}

// jsonScalar returns the text of a JSON string or number.
// optionalScalar is jsonScalar for a field that may be absent or null
// (present false then).
func optionalScalar(field string, raw json.RawMessage) (s string, present bool, err error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", false, nil
	}
	if s, err = jsonScalar(t); err != nil {
		return "", true, fmt.Errorf("%s: %v", field, err)
	}
	return s, true, nil
}

func jsonScalar(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0:
		return "", fmt.Errorf("missing")
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", fmt.Errorf("malformed string %s", truncate(string(t)))
		}
		return s, nil
	case t[0] == '-' || (t[0] >= '0' && t[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(t, &n); err != nil {
			return "", fmt.Errorf("malformed number %s", truncate(string(t)))
		}
		return n.String(), nil
	}
	return "", fmt.Errorf("want a number or a decimal string, got %s", truncate(string(t)))
}

// parseCount reads a non-negative integer given as a JSON number or string.
func parseCount(field string, raw json.RawMessage) (int64, error) {
	s, present, err := optionalScalar(field, raw)
	if err != nil || !present {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q is not a non-negative integer", field, s)
	}
	return n, nil
}

// parseGoals reads conversions: a count, but tolerated as a decimal (the
// notes do not pin the type) since adpacer keeps conversions as float64.
func parseGoals(field string, raw json.RawMessage) (float64, error) {
	s, present, err := optionalScalar(field, raw)
	if err != nil || !present {
		return 0, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != f {
		return 0, fmt.Errorf("%s %q is not a non-negative number", field, s)
	}
	return f, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
