package margin

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paperperps/exchange/fixed"
)

// liqDirectInt draws from [1, hi] with a uniform exponent.
func liqDirectInt(r *rand.Rand, hi int64) int64 {
	b := 1 + r.IntN(63)
	v := int64(1)<<(b-1) + r.Int64N(int64(1)<<(b-1))
	if v > hi || v < 1 {
		v = 1 + r.Int64N(hi)
	}
	return v
}

// TestLiquidationPriceDirect: wherever the direct walk decides (exact
// tables, every tier wider than a tick of the position, numerators in
// int64), it gives the reference walk's answer, errors and ok included;
// and on the built-in tables it decides for the positions the engine sees
// most, cross and isolated, long and short, up to a few tiers away.
func TestLiquidationPriceDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	tables := []Brackets{DefaultBTC(), DefaultETH(), DefaultSOL(),
		MustNewBrackets([]TierSpec{{0, 10, 1, 500_000}}),
		MustNewBrackets([]TierSpec{{0, 3, 1, 500_000}, {3, 10, 1, 700_000}, {10, 1 << 40, 1, 750_000}})}
	for range 20 { // exact random tables: whole-USDT floors, rates in whole ppm
		n := 1 + r.IntN(12)
		specs := make([]TierSpec, 0, n)
		var floor int64
		rate := 1 + r.Int64N(20_000)
		for i := 0; i < n && rate < 1_000_000; i++ {
			w := liqDirectInt(r, 1<<40) * fixed.QuoteUnitsPerWhole
			specs = append(specs, TierSpec{FloorQuote: floor, CapQuote: floor + w, MaxLeverage: 1, MaintRatePpm: rate})
			floor += w
			rate += 1 + r.Int64N(rate)
		}
		tables = append(tables, MustNewBrackets(specs))
	}
	decided, total := 0, 0
	for i := range 3_000_000 {
		in := LiqInput{Side: Long, Brackets: tables[r.IntN(len(tables))]}
		if r.IntN(2) == 0 {
			in.Side = Short
		}
		in.QuotePerTickLot = []int64{1, 100, 1 + r.Int64N(10_000)}[r.IntN(3)]
		in.SizeLots = liqDirectInt(r, 1<<20)
		if r.IntN(10) == 0 {
			in.SizeLots = liqDirectInt(r, math.MaxInt64/in.QuotePerTickLot)
		}
		qp := in.SizeLots * in.QuotePerTickLot
		in.EntryValueQuote = liqDirectInt(r, math.MaxInt64/4)
		if ticks := liqDirectInt(r, 1<<24); ticks <= math.MaxInt64/4/qp {
			in.EntryValueQuote = ticks*qp + r.Int64N(qp)
		}
		e := in.EntryValueQuote
		switch r.IntN(5) {
		case 0: // isolated at a leverage
			in.WalletQuote = e / (1 + r.Int64N(125))
		case 1: // a cross account's wallet, any size
			in.WalletQuote = liqDirectInt(r, math.MaxInt64/4)
		case 2: // near the entry value
			in.WalletQuote = e + r.Int64N(e/2+1) - e/4
		case 3:
			in.WalletQuote = -liqDirectInt(r, math.MaxInt64/4)
		default:
			in.WalletQuote = r.Int64N(2*e+1) - e
		}
		if r.IntN(3) == 0 {
			in.OtherMaintQuote = r.Int64N(e/10 + 1)
			in.OtherUnrealizedQuote = r.Int64N(e+1) - e/2
		}
		lp, ok, err := in.LiquidationPrice()
		wantLP, wantOK, wantErr := liquidationPriceRef(in)
		if lp != wantLP || ok != wantOK || err != wantErr {
			t.Fatalf("case %d: %+v: got %d %v %v, reference %d %v %v", i, in, lp, ok, err, wantLP, wantOK, wantErr)
		}
		// Did the direct walk decide this one?
		total++
		s := liqSolver{tiers: in.Brackets.tiers, long: in.Side == Long, qp: qp}
		s.base = i128From(in.WalletQuote).add(i128From(in.OtherUnrealizedQuote)).sub(i128From(in.OtherMaintQuote))
		if s.long {
			s.base = s.base.sub(i128From(in.EntryValueQuote))
		} else {
			s.base = s.base.add(i128From(in.EntryValueQuote))
		}
		if base, okb := s.base.int64(); okb && in.Brackets.exact && qp < in.Brackets.minWidth {
			if dlp, dok, done, derr := s.direct(base, in.Brackets.index(in.EntryValueQuote)); done {
				decided++
				if dlp != wantLP || dok != wantOK || derr != wantErr {
					t.Fatalf("case %d: %+v: direct %d %v %v, reference %d %v %v", i, in, dlp, dok, derr, wantLP, wantOK, wantErr)
				}
			}
		}
	}
	t.Logf("the direct walk decided %d of %d", decided, total)
	if decided < total/5 {
		t.Errorf("the direct walk decided only %d of %d: the test lost its point", decided, total)
	}

	// The engine's positions on BTCUSDT (0.1 USDT ticks, 0.001 BTC lots):
	// a few lots at about 10,000 USDT, cross with a 1,000,000 USDT wallet or
	// isolated at 20x.
	const qptl = 100
	for i := range 100_000 {
		in := LiqInput{Side: Long, Brackets: DefaultBTC(), QuotePerTickLot: qptl, SizeLots: 1 + r.Int64N(50)}
		if i%2 == 0 {
			in.Side = Short
		}
		in.EntryValueQuote = in.SizeLots * (95_000 + r.Int64N(10_000)) * qptl
		in.WalletQuote = 1_000_000 * fixed.QuoteUnitsPerWhole
		if i%4 >= 2 {
			in.WalletQuote = in.EntryValueQuote / 20
		}
		qp := in.SizeLots * qptl
		s := liqSolver{tiers: in.Brackets.tiers, long: in.Side == Long, qp: qp, base: i128From(in.WalletQuote)}
		if s.long {
			s.base = s.base.sub(i128From(in.EntryValueQuote))
		} else {
			s.base = s.base.add(i128From(in.EntryValueQuote))
		}
		base, _ := s.base.int64()
		dlp, dok, done, derr := s.direct(base, in.Brackets.index(in.EntryValueQuote))
		wantLP, wantOK, wantErr := liquidationPriceRef(in)
		if !done || dlp != wantLP || dok != wantOK || derr != wantErr {
			t.Fatalf("%+v: direct %d %v (done %v) %v, reference %d %v %v", in, dlp, dok, done, derr, wantLP, wantOK, wantErr)
		}
	}
}

// TestLiquidationPriceDirectBoundaries puts X exactly at (and one unit
// either side of) the value a tier's most dangerous tick is compared with,
// where the direct walk's strict and non-strict comparisons decide.
func TestLiquidationPriceDirectBoundaries(t *testing.T) {
	b := DefaultBTC()
	for _, qp := range []int64{1_000_000, 3_000_000, 7} {
		for k := range b.tiers {
			tier := &b.tiers[k]
			for _, long := range []bool{true, false} {
				s := liqSolver{tiers: b.tiers, long: long, qp: qp}
				// The tick good tests and its X: P·qp·(10^6 ∓ r) = X, with B
				// = base + cum from X = (1 − B)·10^6 (long) or (B − 1)·10^6.
				var p, bigB int64
				if long {
					p = s.lo(k)
					bigB = 1 - p*qp*(fixed.PpmPerUnit-tier.MaintRatePpm)/fixed.PpmPerUnit
				} else {
					p = s.hi(k)
					if p > 1<<40 {
						continue // the last tier: X beyond int64
					}
					bigB = p*qp*(fixed.PpmPerUnit+tier.MaintRatePpm)/fixed.PpmPerUnit + 1
				}
				entry := max(1, p*qp)
				for d := int64(-2); d <= 2; d++ {
					base := bigB - tier.MaintAmountQuote + d
					in := LiqInput{Side: Long, SizeLots: qp, QuotePerTickLot: 1, EntryValueQuote: entry, Brackets: b}
					in.WalletQuote = base + entry
					if !long {
						in.Side, in.WalletQuote = Short, base-entry
					}
					lp, ok, err := in.LiquidationPrice()
					wantLP, wantOK, wantErr := liquidationPriceRef(in)
					if lp != wantLP || ok != wantOK || err != wantErr {
						t.Fatalf("tier %d, qp %d, long %v, %+d: got %d %v %v, reference %d %v %v", k, qp, long, d, lp, ok, err, wantLP, wantOK, wantErr)
					}
				}
			}
		}
	}
}
