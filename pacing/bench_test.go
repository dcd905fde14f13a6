package pacing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
)

// benchSnapshot builds nLines lines of campsPerLine campaigns with days of
// hourly stats each, across Russian zones and all three platforms.
func benchSnapshot(nLines, campsPerLine, days int) *Snapshot {
	r := rand.New(rand.NewPCG(7, 7))
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := &Snapshot{Version: 1, Now: now}
	platforms := []adpacer.Platform{adpacer.YandexDirect, adpacer.GoogleAds, adpacer.VKAds}
	nStats := nLines * campsPerLine * days * 24
	s.Stats = make([]Stat, 0, nStats)
	end := now.Add(-time.Hour).Truncate(time.Hour)
	for l := range nLines {
		tz := propZones[l%len(propZones)]
		line := Line{ID: fmt.Sprintf("line-%d", l), TimeZone: tz, Period: Period{Start: "2026-11-01", End: "2026-11-30"},
			Budget: adpacer.FromUnits(int64(500_000 + r.IntN(2_000_000))), Currency: "RUB"}
		if l%2 == 0 {
			t := adpacer.FromUnits(2000)
			line.TargetCPA = &t
		}
		for k := range campsPerLine {
			p := platforms[(l+k)%3]
			id := adpacer.NewCampaignID(p, fmt.Sprint(l*campsPerLine+k))
			line.Campaigns = append(line.Campaigns, id)
			b, bid := adpacer.FromUnits(int64(5000+r.IntN(20000))), adpacer.FromUnits(int64(10+r.IntN(50)))
			mn, mx := adpacer.FromUnits(3), adpacer.FromUnits(200)
			s.Campaigns = append(s.Campaigns, Campaign{ID: id, Platform: p, TimeZone: "Europe/Moscow", Currency: "RUB",
				State: adpacer.StateOn, DailyBudget: &b, Bid: &bid, MinBid: &mn, MaxBid: &mx, DataAsOf: now.Add(-30 * time.Minute)})
			daily := float64(b) * (0.6 + 0.6*r.Float64())
			for t := end.Add(-time.Duration(days) * 24 * time.Hour); t.Before(end); t = t.Add(time.Hour) {
				cost := adpacer.Micros(daily * diurnal(t.Hour()) / 14).FloorTo(kopeck)
				s.Stats = append(s.Stats, Stat{Campaign: id, Start: t, End: t.Add(time.Hour), Cost: cost,
					Clicks: int64(cost / adpacer.FromUnits(20)), Impressions: int64(cost / adpacer.FromUnits(1)), Conversions: float64(cost/adpacer.FromUnits(2000)) / 1})
			}
		}
		s.Lines = append(s.Lines, line)
	}
	return s
}

// BenchmarkDecide10k is the target: 10,000 campaigns in 2,000 lines
// with 35 days of hourly stats (8.4 M rows), decoding excluded.
func BenchmarkDecide10k(b *testing.B) {
	s := benchSnapshot(2000, 5, 35)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decide(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSnapshot1k measures the JSON path on a tenth of the
// target (1,000 campaigns, 840 k stat rows); it scales linearly in rows.
func BenchmarkDecodeSnapshot1k(b *testing.B) {
	s := benchSnapshot(200, 5, 35)
	data, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := DecodeSnapshot(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
