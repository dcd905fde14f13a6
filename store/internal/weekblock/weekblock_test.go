package weekblock

import (
	"errors"
	"math"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var b Block
	b.Set(0, Slot{Cost: 1_500_000_000, Clicks: 12, Impressions: 3400, Conversions: 2})
	b.Set(5, Slot{Cost: 0, Clicks: 0, Impressions: 0, Conversions: 0})
	b.Set(77, Slot{Cost: math.MaxInt64, Clicks: 1, Impressions: 2, Conversions: 0.3333333333})
	b.Set(167, Slot{Cost: 10_000, Clicks: 1 << 40, Impressions: 9, Conversions: 1e300})
	data, err := b.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got Block
	if err := got.Decode(data); err != nil {
		t.Fatal(err)
	}
	if got != b {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got.Slots[77], b.Slots[77])
	}
	for _, h := range []int{1, 4, 6, 166} {
		if got.Has(h) {
			t.Errorf("hour %d present, was never set", h)
		}
	}
	if !got.Has(5) {
		t.Error("hour 5 with zero values lost its presence")
	}
}

func TestEncodeRefusesNegative(t *testing.T) {
	var b Block
	b.Set(3, Slot{Cost: -1})
	if _, err := b.Encode(nil); err == nil {
		t.Fatal("negative cost encoded")
	}
	b.Set(3, Slot{Conversions: math.NaN()})
	if _, err := b.Encode(nil); err == nil {
		t.Fatal("NaN conversions encoded")
	}
}

func TestDecodeCorrupt(t *testing.T) {
	var b Block
	b.Set(1, Slot{Cost: 300, Conversions: 0.5})
	data, _ := b.Encode(nil)
	for _, bad := range [][]byte{{2}, data[:10], data[:len(data)-1], append(append([]byte{}, data...), 0)} {
		if err := b.Decode(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func TestLocate(t *testing.T) {
	for _, tc := range []struct {
		start int64
		week  int64
		slot  int
	}{
		{0, 0, 0},
		{3600, 0, 1},
		{Seconds - 3600, 0, 167},
		{Seconds, 1, 0},
		{-3600, -1, 167},
		{1_764_288_000, 1_764_288_000 / Seconds, int(1_764_288_000%Seconds) / 3600},
	} {
		w, s := Locate(tc.start)
		if w != tc.week || s != tc.slot {
			t.Errorf("Locate(%d) = %d,%d want %d,%d", tc.start, w, s, tc.week, tc.slot)
		}
		if WeekStart(w)+int64(s)*3600 != tc.start {
			t.Errorf("WeekStart(%d)+slot does not give back %d", w, tc.start)
		}
	}
}

func TestDecodeDenseMatchesWalk(t *testing.T) {
	var b Block
	for h := 0; h < Hours; h += 3 {
		b.Set(h, Slot{Cost: int64(h) * 1_000_003, Clicks: int64(h % 200), Impressions: 5, Conversions: float64(h%4) / 4})
	}
	data, _ := b.Encode(nil)
	for _, off := range []int{0, 10, -20, 200} {
		n := 180
		d := Dense[int64]{Cost: make([]int64, n), Clicks: make([]int64, n), Conversions: make([]float64, n), Present: make([]uint64, (n+63)/64)}
		if err := DecodeDense(data, off, d); err != nil {
			t.Fatal(err)
		}
		for x := 0; x < n; x++ {
			h := x - off
			want := h >= 0 && h < Hours && b.Has(h)
			got := d.Present[x>>6]&(1<<(uint(x)&63)) != 0
			if got != want {
				t.Fatalf("off %d hour %d present %v want %v", off, x, got, want)
			}
			if want && (d.Cost[x] != b.Slots[h].Cost || d.Clicks[x] != b.Slots[h].Clicks || d.Conversions[x] != b.Slots[h].Conversions) {
				t.Fatalf("off %d hour %d: %d %d %v", off, x, d.Cost[x], d.Clicks[x], d.Conversions[x])
			}
		}
	}
	if err := DecodeDense(data[:len(data)-1], 0, Dense[int64]{Cost: make([]int64, 1), Clicks: make([]int64, 1), Conversions: make([]float64, 1), Present: make([]uint64, 1)}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated block: %v", err)
	}
}

// go test -run '^$' -bench DecodeDense ./store/internal/weekblock/
func BenchmarkDecodeDense(b *testing.B) {
	var blk Block
	for h := 0; h < Hours; h++ {
		blk.Set(h, Slot{Cost: 1_000_000_000 + int64(h)*12_345_678, Clicks: int64(h%17 + 1), Impressions: int64(100 + h%50), Conversions: float64(h % 3)})
	}
	data, _ := blk.Encode(nil)
	n := 35 * 24
	d := Dense[int64]{Cost: make([]int64, n), Clicks: make([]int64, n), Conversions: make([]float64, n), Present: make([]uint64, (n+63)/64)}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := DecodeDense(data, (i%5)*Hours, d); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecodeDenseRejectsOverlongVarint(t *testing.T) {
	data := make([]byte, 22)
	data[0] = version
	data[1] = 1 // hour 0 present
	// An 11-byte varint for the cost.
	for i := 0; i < 10; i++ {
		data = append(data, 0xff)
	}
	data = append(data, 0x01, 0, 0, 0)
	d := Dense[int64]{Cost: make([]int64, 1), Clicks: make([]int64, 1), Conversions: make([]float64, 1), Present: make([]uint64, 1)}
	if err := DecodeDense(data, 0, d); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("overlong varint: %v", err)
	}
	if err := Walk(data, func(int, Slot) {}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Walk overlong varint: %v", err)
	}
}
