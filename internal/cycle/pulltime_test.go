package cycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store/sqlite"
	"github.com/adpacer/adpacer/store/sqlite/sqlitetest"
)

// rangeSource records the date range PullTime asks Everhour for.
type rangeSource struct{ from, to string }

func (s *rangeSource) PullTime(_ context.Context, from, to string) (adpacer.TimeBatch, error) {
	s.from, s.to = from, to
	return adpacer.TimeBatch{From: from, To: to}, nil
}

// TestPullTimeWindowIsInTheAgencyZone: Everhour dates are calendar dates of
// the agency (Moscow by default), so at 01:00 Moscow time (22:00 UTC the
// evening before) the pull must already cover the new Moscow day, and the
// month-start floor is Moscow's month too.
func TestPullTimeWindowIsInTheAgencyZone(t *testing.T) {
	vlad, err := time.LoadLocation("Asia/Vladivostok")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	for _, tc := range []struct {
		name     string
		now      time.Time
		loc      *time.Location
		days     int
		from, to string
	}{
		// 2026-11-16 01:00 MSK: Moscow's today, back to the month start.
		{"moscow 01:00", time.Date(2026, 11, 15, 22, 0, 0, 0, time.UTC), nil, 7, "2026-11-01", "2026-11-16"},
		// 2026-12-01 01:00 MSK: today and the 7 days before it (Moscow's
		// month began today; UTC's November would reach back to Nov 1).
		{"moscow new month", time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC), nil, 7, "2026-11-24", "2026-12-01"},
		// 2026-11-03 01:00 MSK, one day re-read: the month start floor.
		{"moscow month start floor", time.Date(2026, 11, 2, 22, 0, 0, 0, time.UTC), nil, 1, "2026-11-01", "2026-11-03"},
		// 2026-11-16 08:00 in Vladivostok (UTC+10) is 22:00 UTC the day before.
		{"configured zone", time.Date(2026, 11, 15, 22, 0, 0, 0, time.UTC), vlad, 3, "2026-11-01", "2026-11-16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := sqlitetest.Open(t, sqlite.Options{Now: func() time.Time { return tc.now }})
			src := &rangeSource{}
			r, err := cycle.New(cycle.Options{Store: st, Now: func() time.Time { return tc.now }, Registerer: prometheus.NewRegistry(),
				Lines: func(time.Time) ([]pacing.Line, error) { return nil, nil }, Policy: pacing.DefaultPolicy(), Mode: cycle.Apply,
				Epoch: func() int64 { return 0 },
				Times: []cycle.TimeInstance{{ID: "eh", Source: src, RereadDays: tc.days, Location: tc.loc}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.PullTime(ctx, "eh"); err != nil {
				t.Fatal(err)
			}
			if src.from != tc.from || src.to != tc.to {
				t.Errorf("pulled [%s, %s], want [%s, %s]", src.from, src.to, tc.from, tc.to)
			}
		})
	}
}

// fromSource records the StatsFrom of each ad pull.
type fromSource struct{ froms []string }

func (s *fromSource) Platform() adpacer.Platform { return adpacer.YandexDirect }

func (s *fromSource) Pull(_ context.Context, req connectors.AdPullRequest) (adpacer.AdBatch, error) {
	s.froms = append(s.froms, req.StatsFrom)
	return adpacer.AdBatch{}, nil
}

func (s *fromSource) Observe(context.Context, []adpacer.CampaignID) (map[adpacer.CampaignID]adpacer.Campaign, error) {
	return nil, errors.New("fromSource: no campaigns")
}

func (s *fromSource) Apply(context.Context, []adpacer.Action, pacing.ApplyOptions) ([]pacing.Result, error) {
	return nil, errors.New("fromSource: no writes")
}

// TestPullAdsRereadsTheConversionWindowOncePerDay: every pull re-reads the
// restatement days, and the first pull of each UTC day goes back the
// conversion window, since conversions are attributed to their click's day
// and keep arriving for days (twice the policy's p95 delay by default).
func TestPullAdsRereadsTheConversionWindowOncePerDay(t *testing.T) {
	for _, tc := range []struct {
		name           string
		conversionDays int
		p95            time.Duration
		want           []string
	}{
		// history, same day: 3 back, next day: 14 back (p95 7 days), same day again: 3 back.
		{"default", 0, 0, []string{"2026-10-11", "2026-11-12", "2026-11-01", "2026-11-13"}},
		{"from the policy", 0, 36 * time.Hour, []string{"2026-10-11", "2026-11-12", "2026-11-12", "2026-11-13"}},
		{"configured", 10, 0, []string{"2026-10-11", "2026-11-12", "2026-11-05", "2026-11-13"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			st := sqlitetest.Open(t, sqlite.Options{Now: clock})
			pol := pacing.DefaultPolicy()
			if tc.p95 > 0 {
				pol.ConversionDelayP95 = pacing.Duration(tc.p95)
			}
			src := &fromSource{}
			r, err := cycle.New(cycle.Options{Store: st, Now: clock, Registerer: prometheus.NewRegistry(),
				Lines: func(time.Time) ([]pacing.Line, error) { return nil, nil }, Policy: pol, Mode: cycle.Apply,
				Epoch: func() int64 { return 0 }, ConversionDays: tc.conversionDays,
				Ads: []cycle.AdInstance{{ID: "y", Platform: adpacer.YandexDirect, Source: src, Actuator: src}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range []time.Duration{0, time.Hour, 14 * time.Hour, time.Hour} {
				now = now.Add(step)
				if err := r.PullAds(ctx, "y"); err != nil {
					t.Fatal(err)
				}
			}
			if len(src.froms) != len(tc.want) {
				t.Fatalf("pulls %v", src.froms)
			}
			for i := range tc.want {
				if src.froms[i] != tc.want[i] {
					t.Errorf("pull %d from %s, want %s (all: %v)", i, src.froms[i], tc.want[i], src.froms)
				}
			}
		})
	}
}
