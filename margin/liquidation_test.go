package margin_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
)

// btcQPTL is BTCUSDT's quote units per tick-lot: tick 0.1 × lot 0.001.
var btcQPTL = fixed.MustNewGrid("0.1", "0.001").QuotePerTickLot()

// singleTier is the issue's bracket: 0.4% and amount 0 at every notional.
var singleTier = margin.MustNewBrackets([]margin.TierSpec{{0, math.MaxInt64, 125, 4_000}})

// liqRef is the engine's liquidation test at priceTicks, computed with big
// integers from first principles: margin balance <= other maintenance +
// this position's rounded-up maintenance at its tier.
func liqRef(in margin.LiqInput, priceTicks int64) bool {
	n := new(big.Int).Mul(bi(priceTicks), bi(in.SizeLots))
	n.Mul(n, bi(in.QuotePerTickLot))
	tier := in.Brackets.Tier(n.Int64()) // callers keep the notional in int64
	mm := ceilDiv(new(big.Int).Mul(n, bi(tier.MaintRatePpm)), bi(1_000_000))
	mm.Sub(mm, bi(tier.MaintAmountQuote))
	if mm.Sign() < 0 {
		mm.SetInt64(0)
	}
	mm.Add(mm, bi(in.OtherMaintQuote))
	pnl := new(big.Int).Sub(n, bi(in.EntryValueQuote))
	pnl.Mul(pnl, bi(int64(in.Side)))
	mb := new(big.Int).Add(bi(in.WalletQuote), bi(in.OtherUnrealizedQuote))
	mb.Add(mb, pnl)
	return mb.Cmp(mm) <= 0
}

// liqEngine is the same test through the package's own int64 functions,
// as the engine will run it; ok is false where a sum leaves int64 (the
// engine's inputs stay far inside).
func liqEngine(in margin.LiqInput, priceTicks int64) (liq, ok bool) {
	pnl, err := margin.UnrealizedPnL(in.Side, in.SizeLots, priceTicks, in.EntryValueQuote, in.QuotePerTickLot)
	if err != nil {
		return false, false
	}
	upnl, err1 := fixed.Add(in.OtherUnrealizedQuote, pnl)
	notional, err2 := fixed.Mul(priceTicks, in.SizeLots*in.QuotePerTickLot)
	mm, err3 := in.Brackets.MaintenanceMargin(notional)
	total, err4 := fixed.Add(in.OtherMaintQuote, mm)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return false, false
	}
	return margin.Liquidatable(in.WalletQuote, upnl, total), true
}

// formulaTicks is the venue formula in exact rationals, in ticks, with the
// rate and cum of tier: (WB − TMM₁ + UPNL₁ + cum − side·E) / (Q'·(rate − side)).
func formulaTicks(in margin.LiqInput, tier margin.Tier) *big.Rat {
	s := int64(in.Side)
	num := new(big.Int).Add(bi(in.WalletQuote), bi(in.OtherUnrealizedQuote))
	num.Sub(num, bi(in.OtherMaintQuote))
	num.Add(num, bi(tier.MaintAmountQuote))
	num.Sub(num, new(big.Int).Mul(bi(s), bi(in.EntryValueQuote)))
	num.Mul(num, bi(1_000_000))
	den := new(big.Int).Mul(bi(in.SizeLots*in.QuotePerTickLot), bi(tier.MaintRatePpm-s*1_000_000))
	return new(big.Rat).SetFrac(num, den)
}

func TestLiquidationPriceIssueExample(t *testing.T) {
	// Isolated long 1 BTC (1,000 lots) entered at 100,000 with 10,000 USDT
	// of margin, 0.4% and amount 0.
	in := margin.LiqInput{
		Side: margin.Long, SizeLots: 1_000, EntryValueQuote: 100_000 * usdt,
		WalletQuote: 10_000 * usdt, QuotePerTickLot: btcQPTL, Brackets: singleTier,
	}
	if btcQPTL != 100 {
		t.Fatalf("BTC grid: %d quote units per tick-lot", btcQPTL)
	}
	exact := formulaTicks(in, singleTier.TierAt(0)) // 9,036,144.578… tenths = 90,361.4458… USDT
	if got := exact.FloatString(4); got != "903614.4578" {
		t.Errorf("formula: %s ticks", got)
	}
	lp, ok, err := margin.LiquidationPrice(in)
	if err != nil || !ok || lp != 903_615 {
		t.Fatalf("LP = %d %v %v, want 903615 (90,361.5)", lp, ok, err)
	}
	if liqRef(in, lp) || !liqRef(in, lp-1) {
		t.Errorf("at 90,361.5 the long must be safe and at 90,361.4 liquidatable")
	}
	// At LP: balance 361.5 > maintenance 361.446; one tick lower: 361.4 <= 361.4456.
	pnl, _ := margin.UnrealizedPnL(margin.Long, 1_000, lp, 100_000*usdt, btcQPTL)
	mm, _ := singleTier.MaintenanceMargin(lp * 1_000 * btcQPTL)
	if pnl != -9_638_500_000 || mm != 361_446_000 || margin.Liquidatable(10_000*usdt, pnl, mm) {
		t.Errorf("at LP: pnl %d mm %d", pnl, mm)
	}

	// The same trade with BTC's real brackets lands in tier 2 (0.5%, 50):
	// (10,000 + 50 − 100,000) / (0.005 − 1) = 90,402.0100… → 90,402.1.
	in.Brackets = margin.DefaultBTC()
	if lp, ok, err := margin.LiquidationPrice(in); err != nil || !ok || lp != 904_021 {
		t.Errorf("BTC brackets: LP = %d %v %v, want 904021", lp, ok, err)
	}
}

// The design brief's example: 15,000 USDT, a BTC long with 5,000 initial
// margin. Isolated, the liquidation loses at most the 5,000; cross, the
// position survives that price and its own LP is lower.
func TestLiquidationPriceIsolatedVersusCross(t *testing.T) {
	base := margin.LiqInput{Side: margin.Long, SizeLots: 1_000, EntryValueQuote: 100_000 * usdt,
		QuotePerTickLot: btcQPTL, Brackets: margin.DefaultBTC()}
	iso := base
	iso.WalletQuote = 5_000 * usdt
	isoLP, ok, err := margin.LiquidationPrice(iso)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	cross := base
	cross.WalletQuote = 15_000 * usdt
	crossLP, ok, err := margin.LiquidationPrice(cross)
	if err != nil || !ok || crossLP >= isoLP {
		t.Fatalf("cross LP %d, isolated %d", crossLP, isoLP)
	}
	// (5,000 + 50 − 100,000) / −0.995 = 95,427.13…; (15,000 + 50 − 100,000) / −0.995 = 85,376.88…
	if isoLP != 954_272 || crossLP != 853_769 {
		t.Errorf("isolated %d, cross %d", isoLP, crossLP)
	}
	// At the isolated LP − 1 tick the isolated position is liquidated with
	// its margin nearly spent (the account keeps its other 10,000), while
	// the cross account is nowhere near liquidation there.
	if !liqRef(iso, isoLP-1) || liqRef(cross, isoLP-1) {
		t.Errorf("isolated must be liquidatable and cross not at %d", isoLP-1)
	}
	// Cross with another position: its maintenance and loss bring the LP up.
	other := cross
	other.OtherMaintQuote = 300 * usdt
	other.OtherUnrealizedQuote = -2_000 * usdt
	otherLP, ok, err := margin.LiquidationPrice(other)
	// (15,000 − 300 − 2,000 + 50 − 100,000) / −0.995 = 87,688.44… → 87,688.5
	if err != nil || !ok || otherLP != 876_885 {
		t.Errorf("cross with others: LP %d %v %v, want 876885", otherLP, ok, err)
	}
}

func TestLiquidationPriceShort(t *testing.T) {
	// Isolated short 1 BTC at 100,000 with 10,000: (10,000 + 0 + 100,000) /
	// (0.004 + 1) = 109,561.752988… → rounded down to 109,561.7.
	in := margin.LiqInput{Side: margin.Short, SizeLots: 1_000, EntryValueQuote: 100_000 * usdt,
		WalletQuote: 10_000 * usdt, QuotePerTickLot: btcQPTL, Brackets: singleTier}
	lp, ok, err := margin.LiquidationPrice(in)
	if err != nil || !ok || lp != 1_095_617 {
		t.Fatalf("short LP %d %v %v, want 1095617", lp, ok, err)
	}
	if liqRef(in, lp) || !liqRef(in, lp+1) {
		t.Errorf("short must be safe at LP and liquidatable one tick above")
	}
	// Cross short with another position's loss and maintenance.
	in.Brackets = margin.DefaultBTC()
	in.WalletQuote = 20_000 * usdt
	in.OtherMaintQuote = 1_000 * usdt
	in.OtherUnrealizedQuote = 2_500 * usdt
	lp, ok, err = margin.LiquidationPrice(in)
	// (20,000 − 1,000 + 2,500 + 50 + 100,000) / 1.005 = 120,945.27… → 120,945.2
	if err != nil || !ok || lp != 1_209_452 {
		t.Errorf("cross short LP %d %v %v, want 1209452", lp, ok, err)
	}
}

// A position whose notional at the LP lies in another tier than its entry
// notional: the answer comes from the LP's tier, and the entry tier's
// formula would have been wrong.
func TestLiquidationPriceTierRecomputation(t *testing.T) {
	btc := margin.DefaultBTC()
	// Long 40 BTC at 100,000: entry notional 4M (tier 4: 1%, 11,450). With
	// 1.2M margin the LP is near 70,000, notional 2.8M: tier 3 (0.65%, 950).
	long := margin.LiqInput{Side: margin.Long, SizeLots: 40_000, EntryValueQuote: 4_000_000 * usdt,
		WalletQuote: 1_200_000 * usdt, QuotePerTickLot: btcQPTL, Brackets: btc}
	lp, ok, err := margin.LiquidationPrice(long)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	tier := btc.Tier(lp * 40_000 * btcQPTL)
	if tier.Number != 3 || btc.Tier(long.EntryValueQuote).Number != 4 {
		t.Fatalf("LP %d in tier %d", lp, tier.Number)
	}
	want := ratCeil(formulaTicks(long, tier)).Int64()           // (1.2M + 950 − 4M) / (40 × (0.0065 − 1))
	wrong := ratCeil(formulaTicks(long, btc.TierAt(3))).Int64() // with tier 4's figures
	// (1,200,000 + 950 − 4,000,000) / (40 × −0.9935) = 70,434.07… → 70,434.1
	if lp != want || lp == wrong || lp != 704_341 {
		t.Errorf("LP %d, want %d (tier 4 would give %d)", lp, want, wrong)
	}
	if liqRef(long, lp) || !liqRef(long, lp-1) {
		t.Errorf("long not consistent at its LP")
	}

	// Short 5 BTC at 100,000 (500,000: tier 2) with 200,000 margin: the LP
	// near 139,000 is a notional of 695,000, in tier 3.
	short := margin.LiqInput{Side: margin.Short, SizeLots: 5_000, EntryValueQuote: 500_000 * usdt,
		WalletQuote: 200_000 * usdt, QuotePerTickLot: btcQPTL, Brackets: btc}
	lp, ok, err = margin.LiquidationPrice(short)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	tier = btc.Tier((lp + 1) * 5_000 * btcQPTL)
	want = ratFloor(formulaTicks(short, tier)).Int64()
	// (200,000 + 950 + 500,000) / (5 × 1.0065) = 139,284.65… → 139,284.6
	if tier.Number != 3 || lp != want || lp != 1_392_846 {
		t.Errorf("short LP %d in tier %d, want %d", lp, tier.Number, want)
	}
	if liqRef(short, lp) || !liqRef(short, lp+1) {
		t.Errorf("short not consistent at its LP")
	}

	// A boundary: choose the margin so that the long's formula root in
	// tier 2 is exactly the tier floor 50,000 USDT (1 BTC at 50,000).
	// Tier 2 there: 50,000 × 0.5% − 50 = 200; tier 1 at 49,999.9 asks
	// 199.9996 → 200 (rounded up). Balance at 50,000 = WB − 50,000.
	edge := margin.LiqInput{Side: margin.Long, SizeLots: 1_000, EntryValueQuote: 100_000 * usdt,
		WalletQuote: 50_200 * usdt, QuotePerTickLot: btcQPTL, Brackets: btc}
	lp, ok, err = margin.LiquidationPrice(edge)
	// At 50,000.0: balance 200 <= 200 → liquidatable; at 50,000.1: 200.1 > 200.0005→200.001 → safe.
	if err != nil || !ok || lp != 500_001 || !liqRef(edge, 500_000) || liqRef(edge, 500_001) {
		t.Errorf("boundary LP %d %v %v, want 500001", lp, ok, err)
	}
}

func TestLiquidationPriceNone(t *testing.T) {
	// A fully funded long (1x) cannot be liquidated above 0: ok is false.
	in := margin.LiqInput{Side: margin.Long, SizeLots: 1_000, EntryValueQuote: 100_000 * usdt,
		WalletQuote: 100_000 * usdt, QuotePerTickLot: btcQPTL, Brackets: margin.DefaultBTC()}
	if lp, ok, err := margin.LiquidationPrice(in); err != nil || ok || lp != 0 {
		t.Errorf("fully funded long: %d %v %v", lp, ok, err)
	}
	if liqRef(in, 1) {
		t.Errorf("fully funded long liquidatable at 1 tick")
	}
	// Just enough that the lowest tick is still liquidatable: LP 2. At 1
	// tick (notional 0.1 USDT) the balance is 400 units and the
	// maintenance 0.4% of 100,000 units = 400.
	in.WalletQuote = 100_000*usdt - 100_000 + 400
	if lp, ok, err := margin.LiquidationPrice(in); err != nil || !ok || lp != 2 {
		t.Errorf("long liquidatable only at 1 tick: %d %v %v", lp, ok, err)
	}

	// A short with absurd margin and profit elsewhere: the LP, near
	// (3 × MaxInt64) / 1.5 ticks, lies beyond int64 notionals.
	short := margin.LiqInput{Side: margin.Short, SizeLots: 1, EntryValueQuote: math.MaxInt64, WalletQuote: math.MaxInt64,
		OtherUnrealizedQuote: math.MaxInt64, QuotePerTickLot: 1, Brackets: margin.DefaultBTC()}
	if lp, ok, err := margin.LiquidationPrice(short); err != nil || ok || lp != 0 {
		t.Errorf("unliquidatable short: %d %v %v", lp, ok, err)
	}
	// A short whose account is underwater at every price: LP 0 with ok.
	short = margin.LiqInput{Side: margin.Short, SizeLots: 1, EntryValueQuote: 100_000, WalletQuote: -1_000_000 * usdt,
		QuotePerTickLot: 1, Brackets: margin.DefaultBTC()}
	if lp, ok, err := margin.LiquidationPrice(short); err != nil || !ok || lp != 0 {
		t.Errorf("underwater short: %d %v %v", lp, ok, err)
	}
	if !liqRef(short, 1) {
		t.Errorf("underwater short safe at 1 tick")
	}
	// A long liquidatable up to the largest representable price.
	long := margin.LiqInput{Side: margin.Long, SizeLots: 1, EntryValueQuote: math.MaxInt64, WalletQuote: math.MinInt64,
		OtherMaintQuote: math.MaxInt64, OtherUnrealizedQuote: math.MinInt64, QuotePerTickLot: 1, Brackets: singleTier}
	_, _, err := margin.LiquidationPrice(long)
	wantErr(t, "long liquidatable everywhere", err, margin.ErrOverflow, "every price")
}

func TestLiquidationPriceInvalid(t *testing.T) {
	good := margin.LiqInput{Side: margin.Long, SizeLots: 1, EntryValueQuote: 100, WalletQuote: 10,
		QuotePerTickLot: 1, Brackets: singleTier}
	for _, tc := range []struct {
		name   string
		mutate func(*margin.LiqInput)
		target error
		msg    string
	}{
		{"side", func(in *margin.LiqInput) { in.Side = 0 }, margin.ErrInvalidInput, "side"},
		{"size", func(in *margin.LiqInput) { in.SizeLots = 0 }, margin.ErrInvalidInput, "size must be positive"},
		{"negative size", func(in *margin.LiqInput) { in.SizeLots = -5 }, margin.ErrInvalidInput, "size must be positive"},
		{"entry", func(in *margin.LiqInput) { in.EntryValueQuote = -1 }, margin.ErrInvalidInput, "entry value"},
		{"other maint", func(in *margin.LiqInput) { in.OtherMaintQuote = -1 }, margin.ErrInvalidInput, "maintenance margin of other"},
		{"qptl", func(in *margin.LiqInput) { in.QuotePerTickLot = 0 }, margin.ErrInvalidInput, "quote per tick-lot"},
		{"brackets", func(in *margin.LiqInput) { in.Brackets = margin.Brackets{} }, margin.ErrInvalidBrackets, "zero Brackets"},
		{"huge size", func(in *margin.LiqInput) { in.SizeLots, in.QuotePerTickLot = 1<<40, 1<<30 }, margin.ErrOverflow, "size × quote"},
	} {
		in := good
		tc.mutate(&in)
		_, ok, err := margin.LiquidationPrice(in)
		if ok {
			t.Errorf("%s: ok", tc.name)
		}
		wantErr(t, tc.name, err, tc.target, tc.msg)
	}
	if _, _, err := margin.LiquidationPrice(good); err != nil {
		t.Errorf("good input: %v", err)
	}
}

// randomBrackets builds a valid table of 1 to 12 tiers. With whole-USDT
// floors every maintenance amount is exact; with arbitrary floors most are
// rounded down.
func randomBrackets(r *rand.Rand, wholeFloors bool) margin.Brackets {
	n := 1 + r.IntN(12)
	specs := make([]margin.TierSpec, 0, n)
	var floor int64
	rate := 1 + r.Int64N(20_000)
	lev := int64(1_000_000-1) / rate
	lev = max(1, min(lev, 1+r.Int64N(200)))
	for i := 0; i < n && rate < 1_000_000; i++ {
		width := int64(1) << (10 + r.IntN(36))
		width += r.Int64N(width)
		if wholeFloors {
			width = max(usdt, width/usdt*usdt)
		}
		spec := margin.TierSpec{FloorQuote: floor, CapQuote: floor + width, MaxLeverage: lev, MaintRatePpm: rate}
		specs = append(specs, spec)
		floor = spec.CapQuote
		rate += 1 + r.Int64N(max(1, rate))
		lev = max(1, min(lev-r.Int64N(lev/2+1), (1_000_000-1)/max(rate, 1)))
	}
	if last := &specs[len(specs)-1]; r.IntN(4) == 0 {
		last.CapQuote = math.MaxInt64
	}
	return margin.MustNewBrackets(specs)
}

// logUniform draws from [lo, hi] with a uniform exponent, so that every
// magnitude is exercised.
func logUniform(r *rand.Rand, lo, hi int64) int64 {
	bitsLo, bitsHi := 64-leadingZeros(lo), 64-leadingZeros(hi)
	b := bitsLo + r.IntN(bitsHi-bitsLo+1)
	v := int64(1) << (b - 1)
	v += r.Int64N(v)
	return min(max(v, lo), hi)
}

func leadingZeros(x int64) int {
	n := 0
	for u := uint64(x); u&(1<<63) == 0 && n < 64; u <<= 1 {
		n++
	}
	return n
}

// randomLiqInput draws a position: a random table or a default one, a grid
// from 1 to 10,000 quote units per tick-lot, sizes and prices across many
// magnitudes, a non-tick entry average, margin from far too little to far
// too much, and other cross positions some of the time.
func randomLiqInput(r *rand.Rand, tables []margin.Brackets) margin.LiqInput {
	in := margin.LiqInput{Side: margin.Long, Brackets: tables[r.IntN(len(tables))]}
	if r.IntN(2) == 0 {
		in.Side = margin.Short
	}
	in.QuotePerTickLot = []int64{1, 10, 100, 1_000, 1 + r.Int64N(10_000)}[r.IntN(5)]
	for {
		in.SizeLots = logUniform(r, 1, 1<<30)
		entryTicks := logUniform(r, 1, 1<<40)
		qp := in.SizeLots * in.QuotePerTickLot
		if qp > math.MaxInt64/(entryTicks+1)/4 {
			continue
		}
		in.EntryValueQuote = entryTicks*qp + r.Int64N(qp) // average entry between ticks
		break
	}
	e := in.EntryValueQuote
	switch r.IntN(4) {
	case 0: // around a leverage
		in.WalletQuote = e / (1 + r.Int64N(125))
	case 1:
		in.WalletQuote = r.Int64N(e/2 + 1)
	case 2:
		in.WalletQuote = e + r.Int64N(e/2+1)
	default:
		in.WalletQuote = r.Int64N(2*e+1) - e // may be negative
	}
	if r.IntN(3) == 0 {
		in.OtherMaintQuote = r.Int64N(e/10 + 1)
		in.OtherUnrealizedQuote = r.Int64N(e+1) - e/2
	}
	return in
}

// checkLiq verifies the documented property of one LiquidationPrice
// result against the reference test, and against the engine's int64 test.
func checkLiq(t *testing.T, r *rand.Rand, in margin.LiqInput, exact bool) {
	t.Helper()
	lp, ok, err := margin.LiquidationPrice(in)
	qp := in.SizeLots * in.QuotePerTickLot
	maxTick := math.MaxInt64 / qp
	liq := func(p int64) bool {
		ref := liqRef(in, p)
		if got, fits := liqEngine(in, p); fits && got != ref {
			t.Fatalf("%+v at %d: engine test %v, reference %v", in, p, got, ref)
		}
		return ref
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%+v -> LP %d ok %v err %v: "+format, append([]any{in, lp, ok, err}, args...)...)
	}
	if err != nil {
		if in.Side != margin.Long || !errors.Is(err, margin.ErrOverflow) || !liq(maxTick) {
			fail("unexpected error")
		}
		return
	}
	// Random ticks on either side of the LP, near and far.
	below := func(top int64) int64 { return max(1, top-logUniform(r, 1, max(1, top))+1) }
	above := func(bottom int64) int64 { return min(maxTick, bottom+logUniform(r, 1, maxTick)-1) }
	if in.Side == margin.Long {
		if !ok {
			if liq(1) || liq(above(1)) {
				fail("no LP, but liquidatable")
			}
			return
		}
		if lp < 2 || lp > maxTick || !liq(lp-1) || liq(lp) {
			fail("not liquidatable at LP-1 or liquidatable at LP")
		}
		if p := above(lp); liq(p) || liq(maxTick) {
			fail("liquidatable above LP at %d", p)
		}
		if p := below(lp - 1); exact && !liq(p) {
			fail("safe below LP at %d", p)
		}
		tier := in.Brackets.Tier((lp - 1) * qp)
		if tier == in.Brackets.Tier(lp*qp) {
			// Within one tier: LP = ceil(formula + 1/(Q'(1 − rate))).
			x := formulaTicks(in, tier)
			x.Add(x, big.NewRat(1_000_000, 1).Quo(big.NewRat(1_000_000, 1), new(big.Rat).SetInt(new(big.Int).Mul(bi(qp), bi(1_000_000-tier.MaintRatePpm)))))
			if ratCeil(x).Int64() != lp {
				fail("formula + offset gives %s", x.FloatString(6))
			}
		}
		return
	}
	if !ok {
		if liq(maxTick) {
			fail("no LP, but liquidatable at the top")
		}
		return
	}
	if lp < 0 || lp >= maxTick || !liq(lp+1) || (lp >= 1 && liq(lp)) {
		fail("not liquidatable at LP+1 or liquidatable at LP")
	}
	if p := above(lp + 1); !liq(p) || !liq(maxTick) {
		fail("safe above LP at %d", p)
	}
	if lp >= 1 {
		if p := below(lp); liq(p) || liq(1) {
			fail("liquidatable below LP at %d", p)
		}
		tier := in.Brackets.Tier((lp + 1) * qp)
		if tier == in.Brackets.Tier(lp*qp) {
			// Within one tier: LP = floor(formula − 1/(Q'(1 + rate))).
			x := formulaTicks(in, tier)
			x.Sub(x, big.NewRat(1_000_000, 1).Quo(big.NewRat(1_000_000, 1), new(big.Rat).SetInt(new(big.Int).Mul(bi(qp), bi(1_000_000+tier.MaintRatePpm)))))
			if ratFloor(x).Int64() != lp {
				fail("formula − offset gives %s", x.FloatString(6))
			}
		}
	}
}

// TestLiquidationPriceRandom checks, on 150,000 random positions, the exact
// property LiquidationPrice documents, using a big-integer recomputation of
// the engine's liquidation test:
//   - long: liquidatable at LP−1, not at LP nor at random ticks above it
//     (nor at the highest representable tick); with exact brackets also
//     liquidatable at random ticks below LP; no LP means safe everywhere;
//   - short: liquidatable at LP+1 and above, not at LP nor below; no LP
//     means safe even at the highest representable tick;
//   - within one tier, LP equals the venue formula in exact rationals
//     shifted by the rounding offset and rounded to the safe side.
func TestLiquidationPriceRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	exactTables := []margin.Brackets{margin.DefaultBTC(), margin.DefaultETH(), margin.DefaultSOL(), singleTier}
	for range 8 {
		exactTables = append(exactTables, randomBrackets(r, true))
	}
	var roundedTables []margin.Brackets
	for len(roundedTables) < 8 {
		b := randomBrackets(r, false)
		for i := range b.Len() {
			if b.TierAt(i).MaintAmountRoundedDown {
				roundedTables = append(roundedTables, b)
				break
			}
		}
	}
	counts := map[string]int{}
	for i := range 150_000 {
		exact := i%4 != 0
		tables := exactTables
		if !exact {
			tables = roundedTables
		}
		in := randomLiqInput(r, tables)
		lp, ok, _ := margin.LiquidationPrice(in)
		switch {
		case !ok:
			counts[in.Side.String()+" none"]++
		case lp == 0:
			counts["short at 0"]++
		case in.Brackets.Tier(lp*in.SizeLots*in.QuotePerTickLot).Number != in.Brackets.Tier(in.EntryValueQuote).Number:
			counts[in.Side.String()+" other tier"]++
		default:
			counts[in.Side.String()]++
		}
		checkLiq(t, r, in, exact)
	}
	t.Logf("cases: %v", counts)
	for _, k := range []string{"long", "short", "long none", "short at 0", "long other tier", "short other tier"} {
		if counts[k] < 100 {
			t.Errorf("only %d cases of %q", counts[k], k)
		}
	}
}

// On small tables and tiny positions every tick can be tried: the LP must
// be exactly 1 + the highest liquidatable tick (long) or the lowest − 1
// (short). The rounded table makes a long's liquidatable ticks
// non-contiguous in some cases; the exact one never does.
func TestLiquidationPriceBruteForce(t *testing.T) {
	exact := margin.MustNewBrackets([]margin.TierSpec{
		{0, 100, 50, 10_000}, {100, 300, 20, 20_000}, {300, 600, 10, 50_000}, {600, 1 << 40, 2, 100_000},
	})
	// Tier 2's amount is 3 × 20% = 0.6 rounded to 0: going from 2 to 3
	// quote units of notional the requirement jumps from ceil(1.0) = 1 to
	// ceil(2.1) = 3, by more than the balance gains in one tick of a
	// one-unit position. Its liquidatable ticks can be {1, 3}.
	rounded := margin.MustNewBrackets([]margin.TierSpec{
		{0, 3, 1, 500_000}, {3, 10, 1, 700_000}, {10, 1 << 40, 1, 750_000},
	})
	// Here a one-unit long can be safe at the lowest tick of tier 2 and
	// liquidatable again at the lowest of tier 4, so a walk from a low tier
	// that stops at the first safe tier would miss the highest liquidatable
	// ticks; rounded tables are therefore searched from the top tier down.
	deep := margin.MustNewBrackets([]margin.TierSpec{
		{0, 5, 1, 600_000}, {5, 6, 1, 720_000}, {6, 7, 1, 780_000}, {7, 1 << 40, 1, 880_000},
	})
	in := margin.LiqInput{Side: margin.Long, SizeLots: 1, QuotePerTickLot: 1, EntryValueQuote: 1, WalletQuote: 1, Brackets: deep}
	if lp, ok, err := margin.LiquidationPrice(in); lp != 9 || !ok || err != nil || liqRef(in, 5) || !liqRef(in, 8) || liqRef(in, 9) {
		t.Errorf("deep table: LP %d %v %v, want 9 (safe at 5, liquidatable at 8)", lp, ok, err)
	}

	const top = 1_000
	gaps := 0
	for _, b := range []margin.Brackets{exact, rounded, deep} {
		for _, side := range []margin.Side{margin.Long, margin.Short} {
			for qp := int64(1); qp <= 3; qp++ {
				for entry := int64(1); entry <= 40; entry += 7 {
					for wallet := int64(-40); wallet <= 80; wallet++ {
						in := margin.LiqInput{Side: side, SizeLots: 1, QuotePerTickLot: qp, EntryValueQuote: entry * qp,
							WalletQuote: wallet, OtherMaintQuote: wallet & 3, OtherUnrealizedQuote: wallet % 5, Brackets: b}
						lp, ok, err := margin.LiquidationPrice(in)
						if err != nil {
							t.Fatal(err)
						}
						var first, last int64 = -1, -1
						count := int64(0)
						for p := int64(1); p <= top; p++ {
							if l, _ := liqEngine(in, p); l {
								if first < 0 {
									first = p
								}
								last = p
								count++
							}
						}
						if side == margin.Long && last >= 0 && count != last {
							gaps++
							if b.TierAt(1).MaintAmountRoundedDown == false {
								t.Errorf("exact table: long's liquidatable ticks not contiguous: %+v", in)
							}
						}
						var want int64
						wantOK := first >= 0
						if side == margin.Long {
							if liqRef(in, top) {
								t.Fatalf("long liquidatable at the top of the brute-force range: %+v", in)
							}
							want = last + 1
						} else {
							want = first - 1
							if !liqRef(in, top) {
								t.Fatalf("short safe at the top of the brute-force range: %+v", in)
							}
						}
						if !wantOK {
							want = 0
						}
						if lp != want || ok != wantOK {
							t.Fatalf("%+v: LP %d %v, brute force %d %v", in, lp, ok, want, wantOK)
						}
					}
				}
			}
		}
	}
	if gaps == 0 {
		t.Errorf("the rounded table never produced non-contiguous liquidatable ticks; the test lost its point")
	}
	t.Logf("%d longs with non-contiguous liquidatable ticks", gaps)
}

// TestLiquidationPriceMatchesReference compares LiquidationPrice with the
// walk it replaced (LiquidationPriceRef, kept in a test file) on random
// positions: the documented property is tested above, and this says the
// faster walk changed no answer at all, errors and ok included. Besides
// randomLiqInput's positions it draws balances and sizes near the int64
// limits, where the bound takes the 128-bit path, maxTick is small and a
// long may have no representable price.
func TestLiquidationPriceMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	tables := []margin.Brackets{margin.DefaultBTC(), margin.DefaultETH(), margin.DefaultSOL(), singleTier,
		margin.MustNewBrackets([]margin.TierSpec{{0, 3, 1, 500_000}, {3, 10, 1, 700_000}, {10, 1 << 40, 1, 750_000}}),
		margin.MustNewBrackets([]margin.TierSpec{{0, 5, 1, 600_000}, {5, 6, 1, 720_000}, {6, 7, 1, 780_000}, {7, 1 << 40, 1, 880_000}})}
	for range 16 {
		tables = append(tables, randomBrackets(r, true), randomBrackets(r, false))
	}
	signed := func(hi int64) int64 {
		v := logUniform(r, 1, hi)
		if r.IntN(2) == 0 {
			v = -v
		}
		return v
	}
	for i := range 1_000_000 {
		in := randomLiqInput(r, tables)
		switch i % 4 {
		case 1: // balances anywhere in the int64 range
			in.WalletQuote = signed(math.MaxInt64)
			in.OtherUnrealizedQuote = signed(math.MaxInt64)
			in.OtherMaintQuote = logUniform(r, 1, math.MaxInt64)
		case 2: // positions whose notional nearly fills an int64
			in.QuotePerTickLot = logUniform(r, 1, 1<<20)
			in.SizeLots = logUniform(r, 1, math.MaxInt64/in.QuotePerTickLot)
			in.EntryValueQuote = logUniform(r, 1, math.MaxInt64)
			in.WalletQuote = signed(math.MaxInt64)
			if r.IntN(2) == 0 { // a balance near the entry value: the bound fits in int64
				in.WalletQuote = in.EntryValueQuote/2 + signed(1<<40)
			}
		case 3: // tiny positions on tiny tables
			in.SizeLots, in.QuotePerTickLot = logUniform(r, 1, 4), logUniform(r, 1, 4)
			in.EntryValueQuote = logUniform(r, 1, 1<<12)
			in.WalletQuote = signed(1 << 12)
			in.OtherUnrealizedQuote = signed(1 << 8)
			in.OtherMaintQuote = r.Int64N(1 << 8)
		}
		lp, ok, err := margin.LiquidationPrice(in)
		wantLP, wantOK, wantErr := margin.LiquidationPriceRef(in)
		if lp != wantLP || ok != wantOK || err != wantErr {
			t.Fatalf("%+v: got %d %v %v, reference %d %v %v", in, lp, ok, err, wantLP, wantOK, wantErr)
		}
	}
}
