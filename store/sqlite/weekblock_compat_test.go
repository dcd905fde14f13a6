package sqlite

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/adpacer/adpacer"
)

// encodeV1 writes hours (slot -> cost, clicks, impressions, whole
// conversions) in week-block format 1, the varint rows adpacer stored
// before format 2.
func encodeV1(hours map[int][4]int64) []byte {
	out := make([]byte, 22)
	out[0] = 1
	for h := range hours {
		out[1+h/8] |= 1 << (h % 8)
	}
	for h := 0; h < 168; h++ {
		v, ok := hours[h]
		if !ok {
			continue
		}
		out = binary.AppendUvarint(out, uint64(v[0]))
		out = binary.AppendUvarint(out, uint64(v[1]))
		out = binary.AppendUvarint(out, uint64(v[2]))
		out = binary.AppendUvarint(out, uint64(v[3])<<1)
	}
	return out
}

// A database written before week-block format 2 keeps its hourly stats:
// both reads decode format 1 blocks, and a restatement rewrites the block
// in format 2 without losing the hours it does not touch.
func TestWeekBlockFormat1StillReadable(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, filepath.Join(t.TempDir(), "old.db"), Options{})
	defer s.Close()
	// Blocks cover weeks counted from the Unix epoch (a Thursday).
	week := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).Unix() / (168 * 3600)
	base := time.Unix(week*168*3600, 0).UTC()
	id := adpacer.NewCampaignID(adpacer.YandexDirect, "42")
	camp := adpacer.Campaign{ID: id, TimeZone: "Europe/Moscow", Currency: "RUB", State: adpacer.StateOn}
	if err := s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Campaigns: []adpacer.Campaign{camp}}, adpacer.Cursor{}); err != nil {
		t.Fatal(err)
	}
	var key int64
	if err := s.Writer().QueryRowContext(ctx, `SELECT key FROM campaigns WHERE id = ?`, string(id)).Scan(&key); err != nil {
		t.Fatal(err)
	}
	old := map[int][4]int64{0: {1_500_000, 3, 40, 1}, 1: {0, 0, 0, 0}, 30: {987_654_321_000, 70, 9000, 2}}
	if _, err := s.Writer().ExecContext(ctx, `INSERT INTO stats_hourly (wk, week, campaign_key, data) VALUES (?, ?, ?, ?)`,
		week<<32|key, week, key, encodeV1(old)); err != nil {
		t.Fatal(err)
	}
	stat := func(h int, v [4]int64) adpacer.Stat {
		start := base.Add(time.Duration(h) * time.Hour)
		return adpacer.Stat{Campaign: id, Start: start, End: start.Add(time.Hour), Cost: adpacer.Micros(v[0]), Clicks: v[1], Impressions: v[2], Conversions: float64(v[3])}
	}
	want := []adpacer.Stat{stat(0, old[0]), stat(1, old[1]), stat(30, old[30])}
	check := func(want []adpacer.Stat) {
		t.Helper()
		got, err := s.Stats(ctx, nil, base, base.Add(7*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("Stats (-want +got):\n%s", d)
		}
		h, err := s.PacingHistory(ctx, nil, base, base.Add(7*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		c := &h.Campaigns[0]
		n := 0
		for i := 0; i < h.Hours; i++ {
			if c.Has(i) {
				n++
			}
		}
		for _, st := range want {
			i := int(st.Start.Sub(base) / time.Hour)
			if !c.Has(i) || c.Cost[i] != st.Cost || c.Clicks[i] != st.Clicks || c.Conversions[i] != st.Conversions {
				t.Fatalf("PacingHistory hour %d: has=%v %d %d %v, want %+v", i, c.Has(i), c.Cost[i], c.Clicks[i], c.Conversions[i], st)
			}
		}
		if n != len(want) {
			t.Fatalf("PacingHistory has %d hours, want %d", n, len(want))
		}
	}
	check(want)

	restated := stat(1, [4]int64{250_000, 1, 10, 0})
	restated.Conversions = 0.5
	if err := s.SaveAdBatch(ctx, "src", adpacer.AdBatch{Stats: []adpacer.Stat{restated}}, adpacer.Cursor{}); err != nil {
		t.Fatal(err)
	}
	var data []byte
	if err := s.Writer().QueryRowContext(ctx, `SELECT data FROM stats_hourly WHERE wk = ?`, week<<32|key).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if data[0] != 2 {
		t.Fatalf("block after restatement is format %d, want 2", data[0])
	}
	check([]adpacer.Stat{want[0], restated, want[2]})
}
