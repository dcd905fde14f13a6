package googleadstest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A minimal GAQL parser: enough to parse what real clients send for the
// resources the fake models, and to reject malformed queries with the real
// queryError codes.

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tPunct
)

type token struct {
	kind tokKind
	text string // identifier/punct text, unescaped string, number text
	pos  int
}

func qerr(code, msg string) *AdsError {
	e := reqErr("queryError", code, msg)
	return &e
}

func lex(q string) ([]token, *AdsError) {
	var out []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(q) && (q[j] == '_' || q[j] == '.' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			out = append(out, token{tIdent, q[i:j], i})
			i = j
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.') {
				j++
			}
			if _, err := strconv.ParseFloat(q[i:j], 64); err != nil {
				return nil, qerr("BAD_NUMBER", fmt.Sprintf("Error in query: unparsable number %q at position %d.", q[i:j], i))
			}
			out = append(out, token{tNumber, q[i:j], i})
			i = j
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(q) {
				if q[j] == c {
					closed = true
					j++
					break
				}
				if q[j] == '\\' {
					if j+1 >= len(q) {
						break
					}
					switch q[j+1] {
					case '\\', '\'', '"':
						b.WriteByte(q[j+1])
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					default:
						return nil, qerr("BAD_ESCAPE_SEQUENCE", fmt.Sprintf("Error in query: invalid escape sequence \\%c at position %d.", q[j+1], j))
					}
					j += 2
					continue
				}
				b.WriteByte(q[j])
				j++
			}
			if !closed {
				return nil, qerr("UNEXPECTED_END_OF_QUERY", fmt.Sprintf("Error in query: unterminated string starting at position %d.", i))
			}
			out = append(out, token{tString, b.String(), i})
			i = j
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(q) && q[i+1] == '=' {
				out = append(out, token{tPunct, q[i : i+2], i})
				i += 2
			} else if c == '!' {
				return nil, qerr("BAD_OPERATOR", fmt.Sprintf("Error in query: invalid operator at position %d.", i))
			} else {
				out = append(out, token{tPunct, q[i : i+1], i})
				i++
			}
		case c == '=' || c == ',' || c == '(' || c == ')':
			out = append(out, token{tPunct, q[i : i+1], i})
			i++
		case c >= 0x80:
			return nil, qerr("BAD_SYMBOL", fmt.Sprintf("Error in query: non-ASCII symbol outside a string at position %d.", i))
		default:
			return nil, qerr("UNEXPECTED_INPUT", fmt.Sprintf("Error in query: unexpected input %q at position %d.", string(c), i))
		}
	}
	return append(out, token{kind: tEOF, pos: len(q)}), nil
}

type pval struct {
	kind byte // 's' string, 'n' number, 'e' enum/identifier
	text string
}

type pcond struct {
	field  string
	op     string // = != < <= > >= IN, NOT IN, BETWEEN, DURING, LIKE, NOT LIKE, IS NULL, IS NOT NULL
	vals   []pval
	during string
}

type porder struct {
	field string
	desc  bool
}

type parsedQuery struct {
	fields []string
	from   string
	conds  []pcond
	order  []porder
	limit  int
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) keyword(kw string) bool {
	t := p.peek()
	if t.kind == tIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

func unexpected(t token, want string) *AdsError {
	if t.kind == tEOF {
		return qerr("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query, expected "+want+".")
	}
	return qerr("UNEXPECTED_INPUT", fmt.Sprintf("Error in query: unexpected input %q at position %d, expected %s.", t.text, t.pos, want))
}

func parseGAQL(q string) (*parsedQuery, *AdsError) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	pq := &parsedQuery{}
	if !p.keyword("SELECT") {
		return nil, qerr("EXPECTED_SELECT", "Error in query: SELECT is missing at the beginning of the query.")
	}
	for {
		t := p.next()
		if t.kind != tIdent || isKeyword(t.text) {
			return nil, unexpected(t, "a field name")
		}
		pq.fields = append(pq.fields, t.text)
		if p.peek().kind == tPunct && p.peek().text == "," {
			p.next()
			continue
		}
		break
	}
	if !p.keyword("FROM") {
		return nil, qerr("EXPECTED_FROM", "Error in query: missing FROM clause.")
	}
	t := p.next()
	if t.kind != tIdent || isKeyword(t.text) {
		return nil, unexpected(t, "a resource name")
	}
	pq.from = t.text
	if p.keyword("WHERE") {
		for {
			c, err := p.condition()
			if err != nil {
				return nil, err
			}
			pq.conds = append(pq.conds, c)
			if p.keyword("AND") {
				continue
			}
			if p.peek().kind == tIdent && strings.EqualFold(p.peek().text, "OR") {
				return nil, qerr("UNEXPECTED_INPUT", "Error in query: OR is not supported in GAQL; conditions are joined with AND.")
			}
			break
		}
	}
	if p.keyword("ORDER") {
		if !p.keyword("BY") {
			return nil, qerr("EXPECTED_BY", "Error in query: expecting BY after ORDER.")
		}
		for {
			t := p.next()
			if t.kind != tIdent || isKeyword(t.text) {
				return nil, unexpected(t, "a field name")
			}
			o := porder{field: t.text}
			if p.keyword("DESC") {
				o.desc = true
			} else {
				p.keyword("ASC")
			}
			pq.order = append(pq.order, o)
			if p.peek().kind == tPunct && p.peek().text == "," {
				p.next()
				continue
			}
			break
		}
	}
	if p.keyword("LIMIT") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tNumber || err != nil || n <= 0 {
			return nil, qerr("BAD_LIMIT_VALUE", "Error in query: LIMIT must be a positive integer.")
		}
		pq.limit = n
	}
	if p.keyword("PARAMETERS") {
		for p.peek().kind != tEOF {
			p.next()
		}
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, unexpected(t, "end of query")
	}
	return pq, nil
}

var keywords = map[string]bool{"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "ORDER": true, "BY": true,
	"LIMIT": true, "IN": true, "NOT": true, "BETWEEN": true, "DURING": true, "LIKE": true, "IS": true, "NULL": true,
	"ASC": true, "DESC": true, "PARAMETERS": true}

func isKeyword(s string) bool { return keywords[strings.ToUpper(s)] }

func (p *parser) value() (pval, *AdsError) {
	t := p.next()
	switch t.kind {
	case tString:
		return pval{'s', t.text}, nil
	case tNumber:
		return pval{'n', t.text}, nil
	case tIdent:
		if !isKeyword(t.text) {
			return pval{'e', t.text}, nil
		}
	}
	return pval{}, unexpected(t, "a value")
}

func (p *parser) list() ([]pval, *AdsError) {
	if t := p.next(); t.kind != tPunct || t.text != "(" {
		return nil, qerr("EXPECTED_LIST", "Error in query: the operator requires a parenthesised list of values.")
	}
	var vs []pval
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
		t := p.next()
		if t.kind == tPunct && t.text == "," {
			continue
		}
		if t.kind == tPunct && t.text == ")" {
			return vs, nil
		}
		return nil, unexpected(t, ", or )")
	}
}

func (p *parser) condition() (pcond, *AdsError) {
	t := p.next()
	if t.kind != tIdent || isKeyword(t.text) {
		return pcond{}, unexpected(t, "a field name")
	}
	c := pcond{field: t.text}
	op := p.next()
	switch {
	case op.kind == tPunct && op.text != "," && op.text != "(" && op.text != ")":
		c.op = op.text
		v, err := p.value()
		if err != nil {
			return c, err
		}
		c.vals = []pval{v}
	case op.kind == tIdent && strings.EqualFold(op.text, "IN"):
		c.op = "IN"
		vs, err := p.list()
		if err != nil {
			return c, err
		}
		c.vals = vs
	case op.kind == tIdent && strings.EqualFold(op.text, "NOT"):
		switch {
		case p.keyword("IN"):
			c.op = "NOT IN"
			vs, err := p.list()
			if err != nil {
				return c, err
			}
			c.vals = vs
		case p.keyword("LIKE"):
			c.op = "NOT LIKE"
			v, err := p.value()
			if err != nil {
				return c, err
			}
			c.vals = []pval{v}
		default:
			return c, qerr("BAD_OPERATOR", "Error in query: NOT must be followed by IN or LIKE.")
		}
	case op.kind == tIdent && strings.EqualFold(op.text, "LIKE"):
		c.op = "LIKE"
		v, err := p.value()
		if err != nil {
			return c, err
		}
		c.vals = []pval{v}
	case op.kind == tIdent && strings.EqualFold(op.text, "BETWEEN"):
		c.op = "BETWEEN"
		a, err := p.value()
		if err != nil {
			return c, qerr("EXPECTED_BOTH_VALUES_WITH_BETWEEN_OPERATOR", "Error in query: BETWEEN needs two values.")
		}
		if !p.keyword("AND") {
			return c, qerr("EXPECTED_AND", "Error in query: expected AND between values of BETWEEN.")
		}
		b, err := p.value()
		if err != nil {
			return c, qerr("EXPECTED_BOTH_VALUES_WITH_BETWEEN_OPERATOR", "Error in query: BETWEEN needs two values.")
		}
		c.vals = []pval{a, b}
	case op.kind == tIdent && strings.EqualFold(op.text, "DURING"):
		c.op = "DURING"
		v := p.next()
		if v.kind != tIdent {
			return c, qerr("INVALID_VALUE_WITH_DURING_OPERATOR", "Error in query: DURING takes a predefined date range such as LAST_7_DAYS.")
		}
		c.during = v.text
	case op.kind == tIdent && strings.EqualFold(op.text, "IS"):
		not := p.keyword("NOT")
		if !p.keyword("NULL") {
			return c, qerr("BAD_OPERATOR", "Error in query: IS must be followed by NULL or NOT NULL.")
		}
		c.op = "IS NULL"
		if not {
			c.op = "IS NOT NULL"
		}
	default:
		return c, qerr("BAD_OPERATOR", fmt.Sprintf("Error in query: invalid operator %q at position %d.", op.text, op.pos))
	}
	return c, nil
}

var predefinedRanges = map[string]bool{
	"TODAY": true, "YESTERDAY": true, "LAST_7_DAYS": true, "LAST_BUSINESS_WEEK": true, "THIS_MONTH": true,
	"LAST_MONTH": true, "LAST_14_DAYS": true, "LAST_30_DAYS": true, "THIS_WEEK_SUN_TODAY": true,
	"THIS_WEEK_MON_TODAY": true, "LAST_WEEK_SUN_SAT": true, "LAST_WEEK_MON_SUN": true,
}

// parseDate accepts ISO 8601 extended (YYYY-MM-DD) and basic (YYYYMMDD).
func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("20060102", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// duringRange resolves a predefined range relative to today (a date at
// midnight UTC that stands for the account-local date).
func duringRange(lit string, today time.Time) (time.Time, time.Time) {
	d := func(n int) time.Time { return today.AddDate(0, 0, n) }
	wd := int(today.Weekday())
	switch lit {
	case "TODAY":
		return today, today
	case "YESTERDAY":
		return d(-1), d(-1)
	case "LAST_7_DAYS":
		return d(-7), d(-1)
	case "LAST_14_DAYS":
		return d(-14), d(-1)
	case "LAST_30_DAYS":
		return d(-30), d(-1)
	case "THIS_MONTH":
		first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
		return first, first.AddDate(0, 1, -1)
	case "LAST_MONTH":
		first := time.Date(today.Year(), today.Month()-1, 1, 0, 0, 0, 0, time.UTC)
		return first, first.AddDate(0, 1, -1)
	case "THIS_WEEK_SUN_TODAY":
		return d(-wd), today
	case "THIS_WEEK_MON_TODAY":
		return d(-((wd + 6) % 7)), today
	case "LAST_WEEK_SUN_SAT":
		return d(-wd - 7), d(-wd - 1)
	case "LAST_WEEK_MON_SUN", "LAST_BUSINESS_WEEK":
		mon := d(-((wd + 6) % 7) - 7)
		if lit == "LAST_BUSINESS_WEEK" {
			return mon, mon.AddDate(0, 0, 4)
		}
		return mon, mon.AddDate(0, 0, 6)
	}
	return today, today
}
