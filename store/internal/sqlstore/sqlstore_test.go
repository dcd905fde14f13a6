package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRebind(t *testing.T) {
	pg := New(Config{Dialect: Postgres})
	lite := New(Config{Dialect: SQLite})
	q := `SELECT a FROM t WHERE x = ? AND y IN (?, ?)`
	if got := pg.q(q); got != `SELECT a FROM t WHERE x = $1 AND y IN ($2, $3)` {
		t.Errorf("postgres: %s", got)
	}
	if got := lite.q(q); got != q {
		t.Errorf("sqlite: %s", got)
	}
}

func TestLastWins(t *testing.T) {
	type r struct{ K, V int }
	got := lastWins([]r{{1, 1}, {2, 1}, {1, 2}, {3, 1}, {2, 2}}, func(x r) int { return x.K })
	if d := cmp.Diff([]r{{1, 2}, {2, 2}, {3, 1}}, got); d != "" {
		t.Error(d)
	}
}

func TestValidCurrencyAndDate(t *testing.T) {
	for c, want := range map[string]bool{"RUB": true, "USD": true, "rub": false, "RU": false, "RUBL": false, "": false, "R1B": false} {
		if validCurrency(c) != want {
			t.Errorf("validCurrency(%q) != %v", c, want)
		}
	}
	for d, want := range map[string]bool{"2026-02-28": true, "2026-02-29": false, "2028-02-29": true, "2026-13-01": false, "26-01-01": false} {
		if validDate(d) != want {
			t.Errorf("validDate(%q) != %v", d, want)
		}
	}
}
