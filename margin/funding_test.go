package margin_test

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/paperperps/exchange/margin"
)

func TestPremiumIndexPpm(t *testing.T) {
	for _, tc := range []struct{ bid, ask, index, want int64 }{
		{1_001_000, 1_002_000, 1_000_000, 1_000}, // book above the index: +0.1%
		{998_000, 999_000, 1_000_000, -1_000},    // below: −0.1%
		{999_000, 1_001_000, 1_000_000, 0},       // straddling: nothing beyond the index
		{1_000_000, 1_000_000, 1_000_000, 0},     // at the index
		{0, 999_500, 1_000_000, -500},            // no bid deep enough
		{1_000_500, 0, 1_000_000, 500},           // no ask deep enough
		{0, 0, 1_000_000, 0},                     // empty book
		{4, 2, 3, 0},                             // crossed input: +1/3 − 1/3
		{4, 3, 3, 333_333},                       // 1/3 toward zero
		{3, 2, 3, -333_333},                      // −1/3 toward zero
	} {
		got, err := margin.PremiumIndexPpm(tc.bid, tc.ask, tc.index)
		if err != nil || got != tc.want {
			t.Errorf("premium(%d, %d, %d) = %d %v, want %d", tc.bid, tc.ask, tc.index, got, err, tc.want)
		}
	}
	_, err := margin.PremiumIndexPpm(1, 1, 0)
	wantErr(t, "index", err, margin.ErrInvalidInput, "positive")
	_, err = margin.PremiumIndexPpm(-1, 1, 1)
	wantErr(t, "bid", err, margin.ErrInvalidInput, "positive")
	_, err = margin.PremiumIndexPpm(math.MaxInt64, 0, 1)
	wantErr(t, "overflow", err, margin.ErrOverflow, "premium index")
}

func TestFundingRate(t *testing.T) {
	for _, tc := range []struct{ premium, want int64 }{
		{0, 100},       // no premium: the interest rate
		{300, 100},     // within ±0.05% of the interest: still the interest
		{-400, 100},    // −0.04%: interest − premium = 0.05%, at the clamp
		{600, 100},     // +0.06%: at the other edge
		{2_000, 1_500}, // 0.2% premium: 0.2% − 0.05%
		{-1_000, -500}, // −0.1% premium: −0.1% + 0.05%
		{math.MinInt64, math.MinInt64 + 500},
	} {
		got, err := margin.FundingRate(tc.premium, margin.DefaultInterestPpm, margin.DefaultFundingClampPpm)
		if err != nil || got != tc.want {
			t.Errorf("premium %d: rate %d %v, want %d", tc.premium, got, err, tc.want)
		}
	}
	// interest − premium beyond int64 is still clamped the right way.
	if got, err := margin.FundingRate(math.MinInt64, math.MaxInt64, 500); err != nil || got != math.MinInt64+500 {
		t.Errorf("far apart: %d %v", got, err)
	}
	if got, err := margin.FundingRate(math.MaxInt64, math.MinInt64, 500); err != nil || got != math.MaxInt64-500 {
		t.Errorf("far apart: %d %v", got, err)
	}
	if got, err := margin.FundingRate(7, 100, 0); err != nil || got != 7 {
		t.Errorf("clamp 0: the premium alone: %d %v", got, err)
	}
	_, err := margin.FundingRate(0, 100, -1)
	wantErr(t, "clamp", err, margin.ErrInvalidInput, "clamp")
	if got, err := margin.FundingRate(math.MaxInt64, math.MaxInt64, 10); err != nil || got != math.MaxInt64 {
		t.Errorf("premium = interest at the limit: %d %v", got, err)
	}
	// The result lies between premium and interest: never an overflow.
	for _, tc := range []struct{ premium, interest, want int64 }{
		{math.MaxInt64 - 1, 0, math.MaxInt64 - 11},
		{math.MaxInt64 - 1, math.MaxInt64, math.MaxInt64},
		{math.MinInt64 + 5, math.MaxInt64, math.MinInt64 + 15},
		{math.MinInt64, math.MinInt64 + 3, math.MinInt64 + 3},
	} {
		if got, err := margin.FundingRate(tc.premium, tc.interest, 10); err != nil || got != tc.want {
			t.Errorf("FundingRate(%d, %d, 10) = %d %v, want %d", tc.premium, tc.interest, got, err, tc.want)
		}
	}
}

func TestPremiumAverage(t *testing.T) {
	var a margin.PremiumAverage
	if _, ok := a.Ppm(); ok {
		t.Fatal("empty average has a value")
	}
	for _, p := range []int64{10, 20, 30} {
		if err := a.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	// (1·10 + 2·20 + 3·30) / 6 = 23.3 → 23: later samples weigh more.
	if p, ok := a.Ppm(); !ok || p != 23 || a.Len() != 3 {
		t.Errorf("weighted average %d", p)
	}
	a.Reset()
	for _, p := range []int64{-10, -20, -30} {
		_ = a.Add(p)
	}
	if p, _ := a.Ppm(); p != -23 {
		t.Errorf("negative average %d, want −23 (toward zero)", p)
	}
	// Against exact rationals on random samples.
	r := rand.New(rand.NewPCG(15, 16))
	a.Reset()
	num, den := new(big.Int), new(big.Int)
	for i := int64(1); i <= 6_000; i++ {
		p := r.Int64N(20_001) - 10_000
		_ = a.Add(p)
		num.Add(num, bi(i*p))
		den.Add(den, bi(i))
		want := new(big.Int).Quo(num, den) // Quo truncates toward zero
		if got, _ := a.Ppm(); got != want.Int64() {
			t.Fatalf("after %d samples: %d, want %s", i, got, want)
		}
	}
	snap, _ := a.AppendBinary(nil)
	var b margin.PremiumAverage
	if err := b.UnmarshalBinary(snap); err != nil || b != a {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range [][]byte{nil, {2}, {1}, {1, 0}, append(bytes.Clone(snap), 0), {1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if err := b.UnmarshalBinary(bad); err == nil {
			t.Errorf("%v accepted", bad)
		} else {
			wantErr(t, "bad snapshot", err, margin.ErrInvalidInput, "snapshot")
		}
	}
	if b != a {
		t.Errorf("a failed restore changed the accumulator")
	}
	var c margin.PremiumAverage
	_ = c.Add(math.MaxInt64)
	wantErr(t, "overflow", c.Add(math.MaxInt64), margin.ErrOverflow, "premium average")
	if c.Len() != 1 {
		t.Errorf("a rejected sample was counted")
	}
}

func TestFundingPayment(t *testing.T) {
	for _, tc := range []struct{ size, mark, rate, q, want int64 }{
		{1_000, 1_000_000, 100, 100, 10_000_000},   // long 1 BTC at 100,000, 0.01%: pays 10 USDT
		{-1_000, 1_000_000, 100, 100, -10_000_000}, // the short receives 10
		{1_000, 1_000_000, -100, 100, -10_000_000}, // negative rate: the long receives
		{-1_000, 1_000_000, -100, 100, 10_000_000}, // and the short pays
		{1, 1, 1, 1, 1},         // 10^-6 of a unit: the payer pays a whole unit
		{-1, 1, 1, 1, 0},        // the receiver gets nothing of it
		{3, 1, 500_000, 1, 2},   // 1.5 → 2 paid
		{-3, 1, 500_000, 1, -1}, // 1.5 → 1 received
		{0, 5, 100, 100, 0},
	} {
		got, err := margin.FundingPayment(tc.size, tc.mark, tc.rate, tc.q)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %d %v", tc, got, err)
		}
	}
	for _, tc := range []struct {
		name                string
		size, mark, rate, q int64
		target              error
		msg                 string
	}{
		{"notional overflow", math.MaxInt64, 2, 100, 1, margin.ErrOverflow, "funding payment"},
		{"qptl overflow", 1 << 40, 1 << 20, 100, 1 << 10, margin.ErrOverflow, "funding payment"},
		{"short overflow", math.MinInt64, 1, 1, 2, margin.ErrOverflow, "funding payment"},
		{"rate overflow", 1 << 40, 1 << 20, math.MaxInt64, 1, margin.ErrOverflow, "funding payment"},
		{"mark", 1, 0, 1, 1, margin.ErrInvalidInput, "price must be positive"},
		{"qptl", 1, 1, 1, 0, margin.ErrInvalidInput, "quote per tick-lot"},
	} {
		_, err := margin.FundingPayment(tc.size, tc.mark, tc.rate, tc.q)
		wantErr(t, tc.name, err, tc.target, tc.msg)
	}
}

// Funding never mints money: over positions that balance long against
// short, the payments sum to >= 0 and to less than one unit per position,
// and each one is the exact amount rounded up.
func TestFundingPaymentsNeverMint(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for range 20_000 {
		q := []int64{1, 10, 100, 1 + r.Int64N(1_000)}[r.IntN(4)]
		mark := logUniform(r, 1, 1<<30)
		rate := r.Int64N(20_001) - 10_000
		var sizes []int64
		var open int64
		for range 1 + r.IntN(10) {
			s := logUniform(r, 1, 1<<20)
			if r.IntN(2) == 0 {
				s = -s
			}
			sizes = append(sizes, s)
			open += s
		}
		sizes = append(sizes, -open) // the other side of the open interest
		var sum int64
		for _, s := range sizes {
			paid, err := margin.FundingPayment(s, mark, rate, q)
			if err != nil {
				t.Fatal(err)
			}
			exact := new(big.Int).Mul(bi(s), bi(mark))
			exact.Mul(exact, bi(q)).Mul(exact, bi(rate))
			if want := ceilDiv(exact, bi(1_000_000)); paid != want.Int64() {
				t.Fatalf("size %d mark %d rate %d q %d: paid %d, want %s", s, mark, rate, q, paid, want)
			}
			sum += paid
		}
		if sum < 0 || sum >= int64(len(sizes)) {
			t.Fatalf("payments sum to %d over %d positions", sum, len(sizes))
		}
	}
}
