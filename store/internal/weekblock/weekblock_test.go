package weekblock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
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
	if data[0] != version2 {
		t.Fatalf("Encode wrote version %d, want %d", data[0], version2)
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

// TestRoundTripWidths covers every column width (0..8 bytes) and both
// conversions encodings, each at the edge of its range.
func TestRoundTripWidths(t *testing.T) {
	for w := 0; w <= 8; w++ {
		top := int64(math.MaxInt64)
		if w < 8 {
			top = int64(1)<<(8*w) - 1
		}
		for _, conv := range []float64{0, 1, float64(top), 0.25, 1 << 62, math.MaxFloat64} {
			var b Block
			b.Set(3, Slot{Cost: top, Clicks: top / 2, Impressions: top, Conversions: conv})
			b.Set(4, Slot{})
			b.Set(100, Slot{Cost: top / 3, Clicks: top, Impressions: 0, Conversions: 0})
			data, err := b.Encode(nil)
			if err != nil {
				t.Fatal(err)
			}
			var got Block
			if err := got.Decode(data); err != nil {
				t.Fatalf("width %d conv %v: %v", w, conv, err)
			}
			if got != b {
				t.Fatalf("width %d conv %v: round trip differs: %+v", w, conv, got.Slots[3])
			}
			checkDense(t, &b, data)
		}
	}
}

func TestEmptyBlock(t *testing.T) {
	var b Block
	data, err := b.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got Block
	got.Set(1, Slot{Cost: 5})
	if err := got.Decode(data); err != nil || got != (Block{}) {
		t.Fatalf("empty block: %v %+v", err, got.Present)
	}
	if err := got.Decode(nil); err != nil || got != (Block{}) {
		t.Fatalf("no data: %v", err)
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

func TestEncodeAppends(t *testing.T) {
	var b Block
	b.Set(9, Slot{Cost: 42, Clicks: 1})
	want, _ := b.Encode(nil)
	got, err := b.Encode([]byte("prefix"))
	if err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("Encode(prefix) = %x, %v", got, err)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	var b Block
	b.Set(1, Slot{Cost: 300, Conversions: 0.5})
	b.Set(2, Slot{Cost: 1 << 20, Clicks: 7})
	data, _ := b.Encode(nil)
	with := func(i int, v byte) []byte {
		c := bytes.Clone(data)
		c[i] = v
		return c
	}
	signed := b
	signed.Set(1, Slot{Cost: math.MaxInt64})
	big, _ := signed.Encode(nil)
	big[headerV2+7] |= 0x80 // hour 1's cost above MaxInt64
	for name, bad := range map[string][]byte{
		"unknown version":  {3},
		"v1 version only":  {version1},
		"short header":     data[:10],
		"truncated":        data[:len(data)-1],
		"trailing byte":    append(bytes.Clone(data), 0),
		"width 9":          with(bitmapEnd, 9),
		"conv float not 8": with(bitmapEnd+3, floatConv|4),
		"extra hour":       with(1, data[1]|1<<5),
		"cost sign bit":    big,
	} {
		if err := b.Decode(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Decode(%x) = %v, want ErrCorrupt", name, bad, err)
		}
		if err := DecodeDense(bad, 0, newDense(Hours)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: DecodeDense = %v, want ErrCorrupt", name, err)
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

func newDense(n int) Dense[int64] {
	return Dense[int64]{Cost: make([]int64, n), Clicks: make([]int64, n), Conversions: make([]float64, n), Present: make([]uint64, (n+63)/64)}
}

// checkDense decodes data at offsets that clip the block on either side
// and compares every hour with b.
func checkDense(t *testing.T, b *Block, data []byte) {
	t.Helper()
	for _, tc := range []struct{ off, n int }{{0, 180}, {10, 180}, {-20, 180}, {200, 180}, {-170, 180}, {-5, 30}, {-100, 61}, {0, Hours}, {3, 1}} {
		d := newDense(tc.n)
		if err := DecodeDense(data, tc.off, d); err != nil {
			t.Fatalf("off %d n %d: %v", tc.off, tc.n, err)
		}
		for x := 0; x < tc.n; x++ {
			h := x - tc.off
			want := h >= 0 && h < Hours && b.Has(h)
			got := d.Present[x>>6]&(1<<(uint(x)&63)) != 0
			if got != want {
				t.Fatalf("off %d hour %d present %v want %v", tc.off, x, got, want)
			}
			if want && (d.Cost[x] != b.Slots[h].Cost || d.Clicks[x] != b.Slots[h].Clicks || d.Conversions[x] != b.Slots[h].Conversions) {
				t.Fatalf("off %d hour %d: %d %d %v want %+v", tc.off, x, d.Cost[x], d.Clicks[x], d.Conversions[x], b.Slots[h])
			}
			if !want && (d.Cost[x] != 0 || d.Clicks[x] != 0 || d.Conversions[x] != 0) {
				t.Fatalf("off %d hour %d: absent hour written", tc.off, x)
			}
		}
	}
}

func randomBlock(r *rand.Rand, density float64) Block {
	var b Block
	scale := []int64{0, 1 << 7, 1 << 15, 1 << 23, 1 << 31, 1 << 39, 1 << 47, 1 << 55, math.MaxInt64}[r.IntN(9)]
	for h := 0; h < Hours; h++ {
		if r.Float64() >= density {
			continue
		}
		upTo := func(max int64) int64 {
			if max == math.MaxInt64 {
				return r.Int64()
			}
			return r.Int64N(max + 1)
		}
		s := Slot{Cost: upTo(scale), Clicks: r.Int64N(200), Impressions: upTo(scale / 2), Conversions: float64(r.IntN(4))}
		if r.IntN(10) == 0 {
			s.Conversions = r.Float64() * 3
		}
		b.Set(h, s)
	}
	return b
}

func TestDecodeDenseMatchesBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		b := randomBlock(r, []float64{0, 0.05, 0.5, 0.95, 1}[i%5])
		data, err := b.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got Block
		if err := got.Decode(data); err != nil || got != b {
			t.Fatalf("block %d: round trip %v", i, err)
		}
		checkDense(t, &b, data)
	}
}

// encodeV1 is the version 1 encoder adpacer used before version 2, kept
// here to prove that blocks already in a database stay readable.
func encodeV1(b *Block) []byte {
	dst := []byte{version1}
	var bm [21]byte
	for h := 0; h < Hours; h++ {
		if b.Has(h) {
			bm[h>>3] |= 1 << (uint(h) & 7)
		}
	}
	dst = append(dst, bm[:]...)
	for h := 0; h < Hours; h++ {
		if !b.Has(h) {
			continue
		}
		s := b.Slots[h]
		dst = binary.AppendUvarint(dst, uint64(s.Cost))
		dst = binary.AppendUvarint(dst, uint64(s.Clicks))
		dst = binary.AppendUvarint(dst, uint64(s.Impressions))
		if c := s.Conversions; c == math.Trunc(c) && c < 1<<62 {
			dst = binary.AppendUvarint(dst, uint64(c)<<1)
		} else {
			dst = binary.AppendUvarint(dst, 1)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(c))
		}
	}
	return dst
}

func TestVersion1StillReadable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100; i++ {
		b := randomBlock(r, []float64{0.05, 0.5, 1}[i%3])
		old := encodeV1(&b)
		var got Block
		if err := got.Decode(old); err != nil || got != b {
			t.Fatalf("block %d: version 1 decode %v", i, err)
		}
		checkDense(t, &b, old)
		// A write after the upgrade rewrites the block as version 2.
		again, err := got.Encode(nil)
		if err != nil || again[0] != version2 {
			t.Fatalf("re-encode: %v", err)
		}
	}
	var b Block
	b.Set(1, Slot{Cost: 300, Conversions: 0.5})
	data := encodeV1(&b)
	for _, bad := range [][]byte{data[:10], data[:len(data)-1], append(bytes.Clone(data), 0)} {
		if err := b.Decode(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode(%x) = %v, want ErrCorrupt", bad, err)
		}
		if err := DecodeDense(bad, 0, newDense(Hours)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeDense(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func TestDecodeDenseRejectsOverlongVarint(t *testing.T) {
	data := make([]byte, 22)
	data[0] = version1
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

// FuzzDecode: any bytes either fail with ErrCorrupt or decode the same
// through Walk and DecodeDense, and never panic.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 8; i++ {
		b := randomBlock(r, 0.7)
		data, _ := b.Encode(nil)
		f.Add(data)
		f.Add(encodeV1(&b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Block
		err := b.Decode(data)
		d := newDense(Hours)
		derr := DecodeDense(data, 0, d)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode: %v", err)
			}
			if derr == nil {
				t.Fatalf("DecodeDense accepted a block Decode refused: %v", err)
			}
			return
		}
		if derr != nil {
			t.Fatalf("DecodeDense refused a block Decode accepted: %v", derr)
		}
		for h := 0; h < Hours; h++ {
			has := d.Present[h>>6]&(1<<(uint(h)&63)) != 0
			s := b.Slots[h]
			if has != b.Has(h) || d.Cost[h] != s.Cost || d.Clicks[h] != s.Clicks || math.Float64bits(d.Conversions[h]) != math.Float64bits(s.Conversions) {
				t.Fatalf("hour %d: dense %v %d %d %v, walk %+v", h, has, d.Cost[h], d.Clicks[h], d.Conversions[h], s)
			}
		}
	})
}

// go test -run '^$' -bench . -benchmem ./store/internal/weekblock/
func benchBlock() Block {
	var blk Block
	for h := 0; h < Hours; h++ {
		blk.Set(h, Slot{Cost: 1_000_000_000 + int64(h)*12_345_678, Clicks: int64(h%17 + 1), Impressions: int64(100 + h%50), Conversions: float64(h % 3)})
	}
	return blk
}

func BenchmarkDecodeDense(b *testing.B) {
	blk := benchBlock()
	for _, tc := range []struct {
		name string
		data []byte
	}{{"v1", encodeV1(&blk)}, {"v2", must(blk.Encode(nil))}} {
		b.Run(tc.name, func(b *testing.B) {
			n := 35 * 24
			d := newDense(n)
			b.SetBytes(int64(len(tc.data)))
			b.ReportMetric(float64(len(tc.data)), "block-bytes")
			for i := 0; b.Loop(); i++ {
				if err := DecodeDense(tc.data, (i%5)*Hours, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	blk := benchBlock()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = blk.Encode(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	blk := benchBlock()
	data := must(blk.Encode(nil))
	var got Block
	for b.Loop() {
		if err := got.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func must(data []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return data
}

func BenchmarkEncodeV1(b *testing.B) {
	blk := benchBlock()
	for b.Loop() {
		encodeV1(&blk)
	}
}

func BenchmarkDecodeV1(b *testing.B) {
	blk := benchBlock()
	data := encodeV1(&blk)
	var got Block
	for b.Loop() {
		if err := got.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
