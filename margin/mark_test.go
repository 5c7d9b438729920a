package margin_test

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/paperperps/exchange/margin"
)

const hour = 3_600_000_000_000

// markOf builds an input with the default 8-hour interval.
func markOf(index, ratePpm, toFunding int64) margin.MarkInput {
	return margin.MarkInput{IndexTicks: index, LastFundingRatePpm: ratePpm, NanosToFunding: toFunding,
		FundingIntervalNanos: margin.DefaultFundingIntervalNanos}
}

func TestMarkPrice(t *testing.T) {
	with := func(in margin.MarkInput, basis int64, hasBasis bool, last int64) margin.MarkInput {
		in.BasisTicks, in.HasBasis, in.LastTradeTicks = basis, hasBasis, last
		return in
	}
	// (a) for these: 1,000,000 × (1 + 0.0001 × 4h/8h) = 1,000,050.
	a := markOf(1_000_000, 100, 4*hour)
	for _, tc := range []struct {
		name string
		in   margin.MarkInput
		want int64
	}{
		{"median is (a)", with(a, 30, true, 1_000_100), 1_000_050},
		{"median is (b)", with(a, 70, true, 1_000_100), 1_000_070},
		{"median is (c)", with(a, 90, true, 1_000_060), 1_000_060},
		{"trade far off is ignored", with(a, 40, true, 2_000_000), 1_000_050},
		{"trade crashed is ignored", with(a, 40, true, 1), 1_000_040},
		{"no book: mean of (a) and (c)", with(a, 0, false, 1_000_070), 1_000_060},
		{"no book: tie to even", with(a, 0, false, 1_000_053), 1_000_052},    // 1,000,051.5
		{"no book: tie to even up", with(a, 0, false, 1_000_055), 1_000_052}, // 1,000,052.5
		{"no trade: mean of (a) and (b)", with(a, -50, true, 0), 1_000_000},  // (1,000,050 + 999,950) / 2
		{"neither: the index alone", with(a, 0, false, 0), 1_000_000},
		{"rate 0: (a) is the index", with(markOf(1_000_000, 0, 4*hour), 30, true, 1_000_100), 1_000_030},
		{"at funding time (a) is the index", with(markOf(1_000_000, 100, 0), 30, true, 1_000_100), 1_000_030},
		{"full interval", with(markOf(1_000_000, 100, 8*hour), 30, true, 1_000_200), 1_000_100},
		{"negative rate", with(markOf(1_000_000, -100, 8*hour), -300, true, 1_000_000), 999_900},
		{"basis below the lowest price counts as 1 tick", with(markOf(10, 0, 0), -50, true, 0), 6}, // mean(10, 1) = 5.5 → 6
	} {
		got, err := margin.MarkPrice(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, got, err, tc.want)
		}
	}
}

// onlyA makes component (a) the median: (b) far above it, (c) at 1 tick.
func onlyA(in margin.MarkInput) margin.MarkInput {
	in.HasBasis, in.BasisTicks, in.LastTradeTicks = true, math.MaxInt64-in.IndexTicks, 1
	return in
}

func TestMarkPriceFundingComponentRounding(t *testing.T) {
	for _, tc := range []struct{ index, rate, want int64 }{
		{5, 100_000, 6},    // 5.5 → 6 (even)
		{15, 100_000, 16},  // 16.5 → 16 (even)
		{7, 100_000, 8},    // 7.7 → 8
		{5, -100_000, 4},   // 4.5 → 4 (even)
		{15, -100_000, 14}, // 13.5 → 14 (even)
		{13, -100_000, 12}, // 11.7 → 12
		{1, -999_999, 1},   // 0.000001 → 0, but no price is below 1 tick
		{math.MaxInt64 / 2, 999_999, math.MaxInt64 - 4_611_686_018_428},
	} {
		got, err := margin.MarkPrice(onlyA(markOf(tc.index, tc.rate, margin.DefaultFundingIntervalNanos)))
		if err != nil || got != tc.want {
			t.Errorf("index %d rate %d: %d %v, want %d", tc.index, tc.rate, got, err, tc.want)
		}
	}
	// Against exact rationals: index × (1 + rate × t / T), half to even.
	r := rand.New(rand.NewPCG(11, 12))
	for range 100_000 {
		index := logUniform(r, 1, 1<<61)
		rate := r.Int64N(2*999_999+1) - 999_999
		if r.IntN(2) == 0 {
			rate = r.Int64N(20_001) - 10_000
		}
		T := logUniform(r, 1, math.MaxInt64)
		tt := r.Int64N(T + 1)
		x := new(big.Rat).SetFrac(new(big.Int).Mul(bi(rate), bi(tt)), new(big.Int).Mul(bi(1_000_000), bi(T)))
		x.Add(x, big.NewRat(1, 1)).Mul(x, new(big.Rat).SetInt64(index))
		want := roundHalfEven(x)
		if want.Cmp(bi(1)) < 0 {
			want = bi(1)
		}
		in := onlyA(margin.MarkInput{IndexTicks: index, LastFundingRatePpm: rate, NanosToFunding: tt, FundingIntervalNanos: T})
		got, err := margin.MarkPrice(in)
		if err != nil || !want.IsInt64() || got != want.Int64() {
			t.Fatalf("%+v: %d %v, want %s", in, got, err, want)
		}
	}
}

func roundHalfEven(x *big.Rat) *big.Int {
	f := ratFloor(x)
	frac := new(big.Rat).Sub(x, new(big.Rat).SetInt(f))
	switch frac.Cmp(big.NewRat(1, 2)) {
	case 1:
		f.Add(f, bi(1))
	case 0:
		if f.Bit(0) == 1 {
			f.Add(f, bi(1))
		}
	}
	return f
}

func TestMarkPriceErrors(t *testing.T) {
	ok := margin.MarkInput{IndexTicks: 100, FundingIntervalNanos: 10, NanosToFunding: 5, LastTradeTicks: 100}
	for _, tc := range []struct {
		name   string
		mutate func(*margin.MarkInput)
		target error
		msg    string
	}{
		{"index", func(in *margin.MarkInput) { in.IndexTicks = 0 }, margin.ErrInvalidInput, "index price"},
		{"interval", func(in *margin.MarkInput) { in.FundingIntervalNanos = 0 }, margin.ErrInvalidInput, "time to funding"},
		{"time negative", func(in *margin.MarkInput) { in.NanosToFunding = -1 }, margin.ErrInvalidInput, "time to funding"},
		{"time beyond interval", func(in *margin.MarkInput) { in.NanosToFunding = 11 }, margin.ErrInvalidInput, "time to funding"},
		{"rate -100%", func(in *margin.MarkInput) { in.LastFundingRatePpm = -1_000_000 }, margin.ErrInvalidInput, "funding rate"},
		{"rate +100%", func(in *margin.MarkInput) { in.LastFundingRatePpm = 1_000_000 }, margin.ErrInvalidInput, "funding rate"},
		{"last trade", func(in *margin.MarkInput) { in.LastTradeTicks = -1 }, margin.ErrInvalidInput, "last trade"},
		{"basis overflow", func(in *margin.MarkInput) { in.HasBasis, in.BasisTicks = true, math.MaxInt64 }, margin.ErrOverflow, "mark price"},
		{"funding overflow", func(in *margin.MarkInput) {
			in.IndexTicks, in.LastFundingRatePpm, in.NanosToFunding = math.MaxInt64-5, 1_000, 10
		}, margin.ErrOverflow, "mark price"},
	} {
		in := ok
		tc.mutate(&in)
		_, err := margin.MarkPrice(in)
		wantErr(t, tc.name, err, tc.target, tc.msg)
	}
	if _, err := margin.MarkPrice(ok); err != nil {
		t.Error(err)
	}
}

func TestBasisAverage(t *testing.T) {
	var m margin.BasisAverage
	if _, ok := m.Ticks(); ok || m.Len() != 0 {
		t.Fatal("empty average has a value")
	}
	add := func(bid, ask, index int64) {
		t.Helper()
		if err := m.Add(bid, ask, index); err != nil {
			t.Fatal(err)
		}
	}
	add(100, 101, 100) // mid 100.5: +0.5
	if v, ok := m.Ticks(); !ok || v != 0 {
		t.Errorf("0.5 → %d, want 0 (tie to even)", v)
	}
	add(101, 102, 100) // +1.5; average 1.0
	if v, _ := m.Ticks(); v != 1 {
		t.Errorf("average of 0.5 and 1.5: %d", v)
	}
	add(100, 100, 103) // −3; average −1/3
	if v, _ := m.Ticks(); v != 0 {
		t.Errorf("average −1/3: %d", v)
	}
	add(98, 99, 103) // −4.5; sum −5.5 half-ticks... average of 0.5, 1.5, −3, −4.5 = −1.375
	if v, _ := m.Ticks(); v != -1 || m.Len() != 4 {
		t.Errorf("average −1.375: %d", v)
	}
	wantErr(t, "zero bid", m.Add(0, 1, 1), margin.ErrInvalidInput, "positive")
	wantErr(t, "overflow", m.Add(math.MaxInt64, 1, 1), margin.ErrOverflow, "moving average")
	if m.Len() != 4 {
		t.Errorf("a rejected sample changed the average")
	}
	m.Reset()
	if _, ok := m.Ticks(); ok {
		t.Errorf("Reset kept samples")
	}

	// Against a naive model: the last BasisWindow samples' mean, rounded
	// half to even.
	r := rand.New(rand.NewPCG(13, 14))
	var samples []int64
	for i := range 2_000 {
		index := 1_000 + r.Int64N(100)
		bid := index - 20 + r.Int64N(40)
		ask := bid + 1 + r.Int64N(10)
		add(bid, ask, index)
		samples = append(samples, bid+ask-2*index)
		window := samples[max(0, len(samples)-margin.BasisWindow):]
		var sum int64
		for _, s := range window {
			sum += s
		}
		want := roundHalfEven(big.NewRat(sum, 2*int64(len(window)))).Int64()
		if got, ok := m.Ticks(); !ok || got != want || m.Len() != len(window) {
			t.Fatalf("sample %d: %d, want %d", i, got, want)
		}
	}
	if a := testing.AllocsPerRun(100, func() { _ = m.Add(1_000, 1_001, 1_000) }); a != 0 {
		t.Errorf("Add allocates %v", a)
	}
}

func TestBasisAverageSnapshot(t *testing.T) {
	// Two averages holding the same samples at different ring positions
	// encode the same, and a restored one continues identically.
	var a, b margin.BasisAverage
	for i := range int64(margin.BasisWindow + 17) {
		_ = a.Add(100+i%7, 101+i%11, 100)
		if i >= 17 {
			_ = b.Add(100+i%7, 101+i%11, 100)
		}
	}
	ea, _ := a.AppendBinary(nil)
	eb, _ := b.AppendBinary(nil)
	if !bytes.Equal(ea, eb) {
		t.Fatalf("same samples, different encodings")
	}
	var c margin.BasisAverage
	if err := c.UnmarshalBinary(ea); err != nil {
		t.Fatal(err)
	}
	for i := range int64(50) {
		_ = a.Add(90+i, 95+i, 93)
		_ = c.Add(90+i, 95+i, 93)
		va, _ := a.Ticks()
		vc, _ := c.Ticks()
		if va != vc || a.Len() != c.Len() {
			t.Fatalf("restored average diverged: %d vs %d", va, vc)
		}
	}
	var empty margin.BasisAverage
	e0, _ := empty.AppendBinary(nil)
	if err := c.UnmarshalBinary(e0); err != nil || c.Len() != 0 {
		t.Errorf("empty round trip: %v", err)
	}
	_ = c.Add(1, 2, 1)
	for _, bad := range [][]byte{nil, {2, 0}, {1}, {1, 0xff, 0xff, 0x03}, {1, 2, 4}, append(bytes.Clone(e0), 0)} {
		if err := c.UnmarshalBinary(bad); err == nil {
			t.Errorf("%v accepted", bad)
		} else {
			wantErr(t, "bad snapshot", err, margin.ErrInvalidInput, "snapshot")
		}
	}
	if c.Len() != 1 {
		t.Errorf("a failed restore changed the average")
	}
}
