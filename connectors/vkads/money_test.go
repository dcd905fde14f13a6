package vkads

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/adpacer/adpacer"
)

func TestParseRubles(t *testing.T) {
	cases := []struct {
		raw     string
		want    adpacer.Micros
		wantErr string
	}{
		{`"1000.00"`, 1_000_000_000, ""},
		{`"1000"`, 1_000_000_000, ""},
		{`"0.5"`, 500_000, ""},
		{`"12.345678"`, 12_345_678, ""},
		{`1000.5`, 1_000_500_000, ""},
		{`0`, 0, ""},
		{`" 7.10 "`, 7_100_000, ""},
		{`"abc"`, 0, `spent "abc" is not a decimal amount of rubles`},
		{`"1,000.00"`, 0, `spent "1,000.00" is not a decimal amount`},
		{`"1.2345678"`, 0, `spent "1.2345678" is not a decimal amount`},
		{`"-3"`, 0, `spent "-3" is negative`},
		{`1e3`, 0, `spent "1e3" is not a decimal amount`},
		{`""`, 0, `spent "" is not a decimal amount`},
		{`null`, 0, "spent: want a number or a decimal string"},
		{``, 0, "spent: missing"},
		{`{"a":1}`, 0, "spent: want a number or a decimal string"},
		{`"99999999999999999999"`, 0, "is not a decimal amount"},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := ParseRubles("spent", json.RawMessage(tc.raw))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrBadAmount) {
					t.Fatalf("ParseRubles(%s) = %v, %v; want ErrBadAmount containing %q", tc.raw, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseRubles(%s) = %v, %v; want %v", tc.raw, got, err, tc.want)
			}
		})
	}
}

func TestFormatRubles(t *testing.T) {
	for in, want := range map[adpacer.Micros]string{
		adpacer.FromUnits(300): "300.00",
		1_500_505_000:          "1500.50", // floored to the kopeck
		10_000:                 "0.01",
		9_999:                  "0.00",
	} {
		if got := FormatRubles(in); got != want {
			t.Errorf("FormatRubles(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestExpiresIn(t *testing.T) {
	for raw, want := range map[string]int64{`"86400"`: 86400, `86400`: 86400, ``: 0, `null`: 0} {
		got, err := expiresIn(json.RawMessage(raw))
		if err != nil || got != want {
			t.Errorf("expiresIn(%s) = %d, %v; want %d", raw, got, err, want)
		}
	}
	for _, raw := range []string{`"soon"`, `-1`, `"1.5"`, `[]`} {
		if _, err := expiresIn(json.RawMessage(raw)); err == nil || !strings.Contains(err.Error(), "expires_in") {
			t.Errorf("expiresIn(%s) err = %v, want an error naming expires_in", raw, err)
		}
	}
}

func TestDecodeAPIError(t *testing.T) {
	cases := []struct {
		endpoint, body string
		code, msg      string
	}{
		{"statistics", `{"error":{"code":"ERR_WRONG_DATE","message":"date_from is bad"}}`, "ERR_WRONG_DATE", "date_from is bad"},
		{"token", `{"error":"invalid_client","error_description":"secret xyz is wrong"}`, "invalid_client", ""},
		{"ad_plans", `<html>502</html>`, "", ""},
		{"ad_plans", `{"error":{"code":"bad code with spaces","message":"m"}}`, "", "m"},
	}
	for _, tc := range cases {
		e := decodeAPIError(tc.endpoint, 400, []byte(tc.body))
		if e.Code != tc.code || e.Message != tc.msg || e.HTTPStatus != 400 {
			t.Errorf("decodeAPIError(%s) = %+v, want code %q message %q", tc.body, e, tc.code, tc.msg)
		}
	}
}

// FuzzParseRubles: any input gives a value or an ErrBadAmount, never a
// panic, and accepted values print back to the same amount.
func FuzzParseRubles(f *testing.F) {
	for _, s := range []string{`"1000.00"`, `1000`, `"0.5"`, `"-1"`, `1e9`, `"٣"`, `null`, `"1.`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := ParseRubles("f", json.RawMessage(raw))
		if err != nil {
			if !errors.Is(err, ErrBadAmount) {
				t.Fatalf("error %v does not wrap ErrBadAmount", err)
			}
			return
		}
		if m < 0 {
			t.Fatalf("negative amount %d accepted from %q", m, raw)
		}
	})
}
