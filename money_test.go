package adpacer

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseMicros(t *testing.T) {
	tests := []struct {
		in   string
		want Micros
		bad  bool
	}{
		{"0", 0, false},
		{"1500000.00", 1_500_000_000_000, false},
		{"1234.56", 1_234_560_000, false},
		{"-3.5", -3_500_000, false},
		{"+7", 7_000_000, false},
		{".25", 250_000, false},
		{"0.000001", 1, false},
		{"0.0000001", 0, true},
		{"1e6", 0, true},
		{"", 0, true},
		{"-", 0, true},
		{".", 0, true},
		{"12,5", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseMicros(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadAmount) {
				t.Errorf("ParseMicros(%q) err = %v, want ErrBadAmount", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMicros(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestMicrosStringRoundTrip(t *testing.T) {
	for _, s := range []string{"0.00", "1.50", "-3.50", "0.000001", "1500000.00", "1234.56"} {
		m := MustMicros(s)
		if m.String() != s {
			t.Errorf("MustMicros(%q).String() = %q", s, m.String())
		}
	}
}

func TestMicrosJSON(t *testing.T) {
	var v struct {
		A Micros `json:"a"`
		B Micros `json:"b"`
	}
	if err := json.Unmarshal([]byte(`{"a": 1234.56, "b": "0.10"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 1_234_560_000 || v.B != 100_000 {
		t.Fatalf("got %d %d", v.A, v.B)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"a":1234.56,"b":0.10}` {
		t.Fatalf("marshal = %s", out)
	}
	if err := json.Unmarshal([]byte(`{"a": 1e3}`), &v); err == nil {
		t.Fatal("exponent accepted")
	}
}

func TestRounding(t *testing.T) {
	tests := []struct {
		m, step, round, floor Micros
	}{
		{1_234_567, 10_000, 1_230_000, 1_230_000},
		{1_235_000, 10_000, 1_240_000, 1_230_000},
		{-1_235_000, 10_000, -1_240_000, -1_240_000},
		{5, 0, 5, 5},
	}
	for _, tc := range tests {
		if got := tc.m.RoundTo(tc.step); got != tc.round {
			t.Errorf("%d.RoundTo(%d) = %d want %d", tc.m, tc.step, got, tc.round)
		}
		if got := tc.m.FloorTo(tc.step); got != tc.floor {
			t.Errorf("%d.FloorTo(%d) = %d want %d", tc.m, tc.step, got, tc.floor)
		}
	}
}
