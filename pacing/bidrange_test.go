package pacing

import (
	"errors"
	"strings"
	"testing"

	"github.com/adpacer/adpacer"
)

// A line's bid bounds narrow its campaigns' own (3..200 in caseSpec): the
// engine never sets a bid outside the narrower range, brings a bid found
// outside it back at once, and a snapshot whose ranges cannot both hold is
// refused with the path of the campaign.
func TestLineBidRange(t *testing.T) {
	// Far behind plan and spending half its budget: the bid rule raises
	// (x sqrt 2, capped at the 20% step) when nothing else stops it.
	base := func(bid, minBid, maxBid float64) caseSpec {
		return caseSpec{now: "2026-11-15T06:00:00Z",
			lines: []lineSpec{{id: "l", tz: "Europe/Moscow", start: "2026-11-01", end: "2026-11-30", budget: 3_000_000,
				minBid: minBid, maxBid: maxBid}},
			campaigns: []campSpec{{id: "yandex_direct:1", line: "l", tz: "Europe/Moscow", budget: 1000, bid: bid,
				dailySpend: 500, historyDays: 14, cpc: 20}}}
	}
	cases := []struct {
		name           string
		cs             caseSpec
		want           float64 // 0: no bid action
		reason         string
		lastBidChanged bool
	}{
		{name: "no line bounds: the raise is one step", cs: base(30, 0, 0), want: 36, reason: "short of traffic"},
		{name: "line max caps the raise", cs: base(30, 0, 33), want: 33, reason: "short of traffic"},
		{name: "line max at the bid: no action", cs: base(30, 0, 30)},
		{name: "bid above the line max comes down at once", cs: base(60, 0, 40), want: 40, reason: "allowed range 3.00..40.00"},
		{name: "bid below the line min comes up at once", cs: base(4, 10, 0), want: 10, reason: "allowed range 10.00..200.00"},
		{name: "out of range ignores the cooldown", cs: base(60, 0, 40), want: 40, reason: "allowed range", lastBidChanged: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.cs.build()
			if tc.lastBidChanged {
				at := s.Now.Add(-2 * 60 * 60 * 1e9)
				s.Campaigns[0].LastBidChange = &at
			}
			plan, err := Decide(s)
			if err != nil {
				t.Fatal(err)
			}
			a, ok := actionsOf(plan, "yandex_direct:1")[adpacer.SetBid]
			switch {
			case tc.want == 0 && ok:
				t.Fatalf("bid action %s -> %s (%s), want none", a.Previous, a.Value, a.Reason)
			case tc.want == 0:
				return
			case !ok:
				t.Fatalf("no bid action, want %v", tc.want)
			}
			if *a.Value != adpacer.FromUnits(int64(tc.want)) || !strings.Contains(a.Reason, tc.reason) {
				t.Errorf("bid -> %s (%s), want %v with a reason naming %q", a.Value, a.Reason, tc.want, tc.reason)
			}
		})
	}

	bad := []struct {
		name     string
		min, max float64
		path     string
	}{
		{"line min above the line max", 50, 40, "$.lines[0].max_bid"},
		{"line range above the campaign's", 250, 300, "$.lines[0].campaigns[0]"},
		{"line range below the campaign's", 0, 2, "$.lines[0].campaigns[0]"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decide(base(30, tc.min, tc.max).build())
			var se *SnapshotError
			if !errors.As(err, &se) || se.Path != tc.path {
				t.Fatalf("err = %v, want a snapshot error at %s", err, tc.path)
			}
		})
	}
}
