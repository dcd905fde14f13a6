// Package gaql builds Google Ads Query Language statements. Every query the
// googleads connector sends is built here, so quoting, identifier checks and
// the date rule live in one place instead of in scattered string
// concatenation.
//
// The date rule (api-notes §2.3): a query that selects a date segment
// (segments.date, segments.week, segments.month, segments.quarter,
// segments.year) must restrict segments.date to a finite range in WHERE:
// BETWEEN two literal dates, DURING a predefined range, = or IN literal
// dates, or both a lower (>, >=) and an upper (<, <=) bound. DURING accepts
// only the predefined literals; LAST_90_DAYS and friends are rejected by the
// API with queryError INVALID_VALUE_WITH_DURING_OPERATOR, so the builder
// rejects them first.
package gaql

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error Build returns.
var ErrInvalid = errors.New("gaql: invalid query")

var (
	fieldRe    = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
	resourceRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	enumRe     = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

// DateSegments are the fields that trigger the date rule when selected.
var DateSegments = []string{"segments.date", "segments.week", "segments.month", "segments.quarter", "segments.year"}

// PredefinedRanges are the literals DURING accepts (Google Ads "date ranges"
// page). Anything else, e.g. LAST_90_DAYS, is an API error.
var PredefinedRanges = []string{
	"TODAY", "YESTERDAY", "LAST_7_DAYS", "LAST_BUSINESS_WEEK", "THIS_MONTH", "LAST_MONTH",
	"LAST_14_DAYS", "LAST_30_DAYS", "THIS_WEEK_SUN_TODAY", "THIS_WEEK_MON_TODAY",
	"LAST_WEEK_SUN_SAT", "LAST_WEEK_MON_SUN",
}

// IsPredefinedRange reports whether s is a literal DURING accepts.
func IsPredefinedRange(s string) bool {
	for _, r := range PredefinedRanges {
		if r == s {
			return true
		}
	}
	return false
}

// Value is a literal in a condition. Construct it with String, Int, Enum or
// Date; the zero Value is invalid.
type Value struct {
	text string // rendered literal
	kind byte   // 's' string, 'i' integer, 'e' enum, 'd' date
	err  error
}

// String is a quoted string literal; quotes and backslashes are escaped.
func String(s string) Value {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return Value{text: b.String(), kind: 's'}
}

// Int is an integer literal (ids, micros).
func Int(i int64) Value { return Value{text: strconv.FormatInt(i, 10), kind: 'i'} }

// Enum is an enum constant such as ENABLED; it must be UPPER_SNAKE.
func Enum(e string) Value {
	if !enumRe.MatchString(e) {
		return Value{err: fmt.Errorf("enum constant %q: want UPPER_SNAKE_CASE such as ENABLED", e)}
	}
	return Value{text: e, kind: 'e'}
}

// Date is a 'YYYY-MM-DD' literal; the date must exist on the calendar.
func Date(d string) Value {
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return Value{err: fmt.Errorf("date %q: want an existing calendar date as YYYY-MM-DD", d)}
	}
	return Value{text: "'" + d + "'", kind: 'd'}
}

func (v Value) check() error {
	if v.err != nil {
		return v.err
	}
	if v.kind == 0 {
		return errors.New("empty value: construct it with gaql.String, Int, Enum or Date")
	}
	return nil
}

// Condition is one WHERE predicate; conditions are joined with AND (GAQL has
// no OR).
type Condition struct {
	field  string
	op     string
	values []Value
	during string
}

func cond(field, op string, vs ...Value) Condition {
	return Condition{field: field, op: op, values: vs}
}

// Eq is field = v.
func Eq(field string, v Value) Condition { return cond(field, "=", v) }

// Neq is field != v.
func Neq(field string, v Value) Condition { return cond(field, "!=", v) }

// Gt is field > v.
func Gt(field string, v Value) Condition { return cond(field, ">", v) }

// Gte is field >= v.
func Gte(field string, v Value) Condition { return cond(field, ">=", v) }

// Lt is field < v.
func Lt(field string, v Value) Condition { return cond(field, "<", v) }

// Lte is field <= v.
func Lte(field string, v Value) Condition { return cond(field, "<=", v) }

// In is field IN (v1, v2, ...); the list must not be empty.
func In(field string, vs ...Value) Condition { return cond(field, "IN", vs...) }

// NotIn is field NOT IN (...).
func NotIn(field string, vs ...Value) Condition { return cond(field, "NOT IN", vs...) }

// Between is field BETWEEN from AND to (both inclusive). For dates use
// DateBetween, which also checks from <= to.
func Between(field string, from, to Value) Condition { return cond(field, "BETWEEN", from, to) }

// DateBetween restricts a date field to [from, to], both YYYY-MM-DD and
// inclusive; from after to is an error (the API answers DATE_RANGE_TOO_NARROW).
func DateBetween(field, from, to string) Condition {
	return cond(field, "BETWEEN", Date(from), Date(to))
}

// During restricts a date field to a predefined range such as LAST_7_DAYS.
func During(field, rangeLiteral string) Condition {
	return Condition{field: field, op: "DURING", during: rangeLiteral}
}

func (c Condition) render() (string, error) {
	if !fieldRe.MatchString(c.field) {
		return "", fmt.Errorf("where field %q: want a dotted lower_snake name such as campaign.id", c.field)
	}
	for i, v := range c.values {
		if err := v.check(); err != nil {
			return "", fmt.Errorf("where %s %s value %d: %w", c.field, c.op, i+1, err)
		}
	}
	switch c.op {
	case "DURING":
		if !IsPredefinedRange(c.during) {
			return "", fmt.Errorf("where %s DURING %q: only predefined ranges (%s) are allowed; use DateBetween for other ranges", c.field, c.during, strings.Join(PredefinedRanges, ", "))
		}
		return c.field + " DURING " + c.during, nil
	case "IN", "NOT IN":
		if len(c.values) == 0 {
			return "", fmt.Errorf("where %s %s: the value list is empty; drop the condition or pass at least one value", c.field, c.op)
		}
		parts := make([]string, len(c.values))
		for i, v := range c.values {
			parts[i] = v.text
		}
		return c.field + " " + c.op + " (" + strings.Join(parts, ", ") + ")", nil
	case "BETWEEN":
		if len(c.values) != 2 {
			return "", fmt.Errorf("where %s BETWEEN: want exactly two values", c.field)
		}
		a, b := c.values[0], c.values[1]
		if a.kind == 'd' && b.kind == 'd' && a.text > b.text {
			return "", fmt.Errorf("where %s BETWEEN %s AND %s: start is after end", c.field, a.text, b.text)
		}
		return c.field + " BETWEEN " + a.text + " AND " + b.text, nil
	default:
		if len(c.values) != 1 {
			return "", fmt.Errorf("where %s %s: want exactly one value", c.field, c.op)
		}
		return c.field + " " + c.op + " " + c.values[0].text, nil
	}
}

// Query is a GAQL statement under construction. Methods return the query so
// calls chain; errors surface from Build.
type Query struct {
	fields []string
	from   string
	where  []Condition
	order  []string
	limit  int
}

// Select starts a query with the given fields.
func Select(fields ...string) *Query {
	return &Query{fields: append([]string(nil), fields...)}
}

// From sets the resource, e.g. "campaign".
func (q *Query) From(resource string) *Query { q.from = resource; return q }

// Where adds conditions (joined with AND).
func (q *Query) Where(cs ...Condition) *Query { q.where = append(q.where, cs...); return q }

// OrderBy adds an ascending sort on field.
func (q *Query) OrderBy(field string) *Query { q.order = append(q.order, field+" ASC"); return q }

// OrderByDesc adds a descending sort on field.
func (q *Query) OrderByDesc(field string) *Query { q.order = append(q.order, field+" DESC"); return q }

// Limit caps the number of rows; n must be positive.
func (q *Query) Limit(n int) *Query { q.limit = n; return q }

// Build validates the query and renders it.
func (q *Query) Build() (string, error) {
	s, err := q.build()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s, nil
}

func (q *Query) build() (string, error) {
	if len(q.fields) == 0 {
		return "", errors.New("no fields selected: pass at least one field to Select")
	}
	seen := map[string]bool{}
	for _, f := range q.fields {
		if !fieldRe.MatchString(f) {
			return "", fmt.Errorf("select field %q: want a dotted lower_snake name such as campaign.id", f)
		}
		if seen[f] {
			return "", fmt.Errorf("select field %q appears twice", f)
		}
		seen[f] = true
	}
	if !resourceRe.MatchString(q.from) {
		return "", fmt.Errorf("from resource %q: want a lower_snake resource such as campaign", q.from)
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(q.fields, ", "))
	b.WriteString(" FROM ")
	b.WriteString(q.from)
	for i, c := range q.where {
		s, err := c.render()
		if err != nil {
			return "", err
		}
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(s)
	}
	if err := q.checkDateRule(seen); err != nil {
		return "", err
	}
	for i, o := range q.order {
		f, _, _ := strings.Cut(o, " ")
		if !seen[f] {
			return "", fmt.Errorf("order by %q: the field must also be selected", f)
		}
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(o)
	}
	if q.limit < 0 {
		return "", fmt.Errorf("limit %d: want a positive number, or no limit", q.limit)
	}
	if q.limit > 0 {
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.Itoa(q.limit))
	}
	return b.String(), nil
}

// checkDateRule enforces the finite-date-range rule described in the package
// comment.
func (q *Query) checkDateRule(selected map[string]bool) error {
	needs := false
	for _, f := range DateSegments {
		if selected[f] {
			needs = true
		}
	}
	var lower, upper, finite bool
	for _, c := range q.where {
		if c.field != "segments.date" {
			continue
		}
		switch c.op {
		case "BETWEEN", "DURING", "=", "IN":
			finite = true
		case ">", ">=":
			lower = true
		case "<", "<=":
			upper = true
		}
		needs = true
	}
	if !needs || finite || (lower && upper) {
		return nil
	}
	if lower || upper {
		return errors.New("segments.date has only one bound: add the other bound or use DateBetween")
	}
	return errors.New("a date segment is selected without a segments.date range in WHERE: add DateBetween(\"segments.date\", from, to)")
}
