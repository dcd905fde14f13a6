package yandexdirect

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// Table is a parsed Reports TSV body.
type Table struct {
	Title   string // the report-name line, when present
	Columns []string
	Rows    [][]string
	Summary string // the "Total rows" line, when present
}

// ParseTSV parses a Reports body. It tolerates the optional title line
// (report name and period, no tabs) and summary line ("Total rows: N")
// whether or not the skip* headers were honoured, requires the column
// line, and rejects rows whose cell count differs from the columns.
// Cells are returned raw; "--" (no value) is interpreted by the callers.
func ParseTSV(body []byte, wantColumns ...string) (Table, error) {
	var t Table
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var lines []string
	for sc.Scan() {
		l := strings.TrimSuffix(sc.Text(), "\r")
		if l == "" {
			continue
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return t, fmt.Errorf("yandexdirect: report TSV: %w", err)
	}
	if n := len(lines); n > 0 && strings.HasPrefix(lines[n-1], "Total rows:") {
		t.Summary = lines[n-1]
		lines = lines[:n-1]
	}
	// The column line is the first line that names a wanted column (or,
	// when none are given, the first line holding a tab).
	hdr := -1
	for i, l := range lines {
		cells := strings.Split(l, "\t")
		if len(wantColumns) > 0 && contains(cells, wantColumns[0]) || len(wantColumns) == 0 && len(cells) > 1 {
			hdr = i
			break
		}
		if i > 0 {
			break
		}
	}
	if hdr < 0 {
		if len(lines) == 0 {
			return t, fmt.Errorf("yandexdirect: report TSV: empty body (no column line); do not send skipColumnHeader")
		}
		return t, fmt.Errorf("yandexdirect: report TSV: no column line among the first two lines")
	}
	if hdr == 1 {
		t.Title = lines[0]
	}
	t.Columns = strings.Split(lines[hdr], "\t")
	seen := map[string]bool{}
	for _, c := range t.Columns {
		if c == "" || seen[c] {
			return t, fmt.Errorf("yandexdirect: report TSV: empty or duplicate column %q", c)
		}
		seen[c] = true
	}
	for _, w := range wantColumns {
		if !seen[w] {
			return t, fmt.Errorf("yandexdirect: report TSV: column %q missing (have %s)", w, strings.Join(t.Columns, ","))
		}
	}
	for i, l := range lines[hdr+1:] {
		cells := strings.Split(l, "\t")
		if len(cells) != len(t.Columns) {
			return t, fmt.Errorf("yandexdirect: report TSV: row %d has %d cells, want %d", i+1, len(cells), len(t.Columns))
		}
		t.Rows = append(t.Rows, cells)
	}
	return t, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Index returns the position of a column or -1.
func (t Table) Index(col string) int {
	for i, c := range t.Columns {
		if c == col {
			return i
		}
	}
	return -1
}
