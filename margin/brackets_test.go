package margin_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
)

const usdt = fixed.QuoteUnitsPerWhole

// The published maintenance amounts (reference-markets.md), whole USDT.
var (
	publishedCumBTC = []int64{0, 50, 950, 11_450, 131_450, 481_450, 2_981_450, 14_481_450,
		26_481_450, 41_481_450, 121_481_450, 421_481_450}
	publishedCumSOL = []int64{0, 30, 380, 8_380, 28_380, 228_380, 2_228_380, 4_228_380,
		16_728_380, 66_728_380}
)

func TestDefaultsMatchPublishedMaintenanceAmounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    margin.Brackets
		cum  []int64
	}{{"BTC", margin.DefaultBTC(), publishedCumBTC}, {"SOL", margin.DefaultSOL(), publishedCumSOL}} {
		if tc.b.Len() != len(tc.cum) {
			t.Fatalf("%s: %d tiers, want %d", tc.name, tc.b.Len(), len(tc.cum))
		}
		for i, want := range tc.cum {
			tier := tc.b.TierAt(i)
			if tier.MaintAmountQuote != want*usdt || tier.MaintAmountRoundedDown || tier.Number != i+1 {
				t.Errorf("%s tier %d: cum %s (rounded %v, number %d), want %d exactly",
					tc.name, i+1, fixed.QuoteAmount(tier.MaintAmountQuote), tier.MaintAmountRoundedDown, tier.Number, want)
			}
		}
	}
	btc, eth := margin.DefaultBTC(), margin.DefaultETH()
	if eth.Len() != 12 {
		t.Fatalf("ETH: %d tiers, want 12", eth.Len())
	}
	// The first five tiers share floors, leverage, rates and so amounts;
	// tier 5's cap already differs (50M for ETH, 70M for BTC).
	for i := range 5 {
		e, b := eth.TierAt(i), btc.TierAt(i)
		if i == 4 {
			if e.CapQuote != 50_000_000*usdt || b.CapQuote != 70_000_000*usdt {
				t.Errorf("tier 5 caps: ETH %d BTC %d", e.CapQuote, b.CapQuote)
			}
			e.CapQuote = b.CapQuote
		}
		if e != b {
			t.Errorf("tier %d: ETH %+v differs from BTC %+v", i+1, e, b)
		}
	}
	if eth.TierAt(5) == btc.TierAt(5) {
		t.Errorf("tier 6 of ETH and BTC should differ (caps 65M vs 100M)")
	}
}

// checkCumDerivation recomputes every maintenance amount from the formula
// with big integers and the same rounding (down).
func checkCumDerivation(t *testing.T, name string, b margin.Brackets) {
	t.Helper()
	cum := new(big.Int)
	for i := range b.Len() {
		tier := b.TierAt(i)
		rounded := false
		if i > 0 {
			step := bi(tier.FloorQuote)
			step.Mul(step, bi(tier.MaintRatePpm-b.TierAt(i-1).MaintRatePpm))
			q, m := new(big.Int).DivMod(step, bi(1_000_000), new(big.Int))
			cum.Add(cum, q)
			rounded = m.Sign() != 0
		}
		if !cum.IsInt64() || cum.Int64() != tier.MaintAmountQuote || rounded != tier.MaintAmountRoundedDown {
			t.Errorf("%s tier %d: cum %d rounded %v, want %s rounded %v", name, i+1,
				tier.MaintAmountQuote, tier.MaintAmountRoundedDown, cum, rounded)
		}
	}
}

func TestDefaultsTables(t *testing.T) {
	for _, tc := range []struct {
		name      string
		b         margin.Brackets
		lev       []int64
		lastCap   int64
		firstRate int64
	}{
		{"BTC", margin.DefaultBTC(), []int64{125, 100, 75, 50, 25, 20, 10, 5, 4, 3, 2, 1}, 1_800_000_000, 4_000},
		{"ETH", margin.DefaultETH(), []int64{125, 100, 75, 50, 25, 20, 10, 5, 4, 3, 2, 1}, 1_200_000_000, 4_000},
		{"SOL", margin.DefaultSOL(), []int64{100, 75, 50, 25, 20, 10, 5, 4, 2, 1}, 400_000_000, 5_000},
	} {
		checkCumDerivation(t, tc.name, tc.b)
		if tc.b.Len() != len(tc.lev) {
			t.Fatalf("%s: %d tiers", tc.name, tc.b.Len())
		}
		for i, l := range tc.lev {
			if got := tc.b.TierAt(i).MaxLeverage; got != l {
				t.Errorf("%s tier %d: leverage %d, want %d", tc.name, i+1, got, l)
			}
		}
		if got := tc.b.TierAt(tc.b.Len() - 1).CapQuote; got != tc.lastCap*usdt {
			t.Errorf("%s: last cap %d", tc.name, got)
		}
		if got := tc.b.TierAt(0).MaintRatePpm; got != tc.firstRate {
			t.Errorf("%s: first rate %d", tc.name, got)
		}
	}
	// ETH's own amounts from tier 6 on, by hand: 50M × 0.5% + 131,450.
	if got := margin.DefaultETH().TierAt(5).MaintAmountQuote; got != 381_450*usdt {
		t.Errorf("ETH tier 6 cum %s, want 381450", fixed.QuoteAmount(got))
	}
}

func TestNewBracketsReportsEveryProblem(t *testing.T) {
	specs := []margin.TierSpec{
		{FloorQuote: 5, CapQuote: 100, MaxLeverage: 0, MaintRatePpm: 0},       // floor, leverage, rate
		{FloorQuote: 90, CapQuote: 80, MaxLeverage: 20, MaintRatePpm: 10_000}, // floor chain, cap<=floor, cap<=prev cap
		{FloorQuote: 80, CapQuote: 200, MaxLeverage: 30, MaintRatePpm: 5_000}, // leverage up, rate down
		{FloorQuote: 200, CapQuote: 300, MaxLeverage: 10, MaintRatePpm: 100_000},
	}
	_, err := margin.NewBrackets(specs)
	wantErr(t, "bad table", err, margin.ErrInvalidBrackets, "")
	for _, msg := range []string{
		"tier 1: floor 0.000005, want 0",
		"tier 1: max leverage 0 is below 1",
		"tier 1: maintenance rate 0 is not positive",
		"tier 2: floor 0.00009 differs from tier 1's cap 0.0001",
		"tier 2: cap 0.00008 is not above its floor 0.00009",
		"tier 2: cap 0.00008 is not above tier 1's cap 0.0001",
		"tier 3: max leverage 30 is above tier 2's 20",
		"tier 3: maintenance rate 0.005 is not above tier 2's 0.01",
		"tier 4: maintenance rate 0.1 is not below the initial margin rate 1/10 at max leverage",
	} {
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("missing %q in:\n%v", msg, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 9 {
		t.Errorf("%d problems reported, want 9:\n%v", n, err)
	}
	// Every joined error is a wrapped sentinel on its own.
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if !errors.Is(e, margin.ErrInvalidBrackets) || !strings.HasPrefix(e.Error(), "margin: invalid brackets: tier") {
			t.Errorf("problem %q not wrapped", e)
		}
	}

	_, err = margin.NewBrackets(nil)
	wantErr(t, "empty", err, margin.ErrInvalidBrackets, "no tiers")
	many := make([]margin.TierSpec, margin.MaxTiers+1)
	for i := range many {
		many[i] = margin.TierSpec{FloorQuote: int64(i) * 10, CapQuote: int64(i+1) * 10, MaxLeverage: 10, MaintRatePpm: int64(i + 1)}
	}
	_, err = margin.NewBrackets(many)
	wantErr(t, "too many", err, margin.ErrInvalidBrackets, "33 tiers, at most 32")
	if _, err = margin.NewBrackets(many[:margin.MaxTiers]); err != nil {
		t.Errorf("32 tiers: %v", err)
	}
	// Leverage so large that rate × leverage overflows is refused, not wrapped.
	_, err = margin.NewBrackets([]margin.TierSpec{{0, 10, math.MaxInt64, 2}})
	wantErr(t, "huge leverage", err, margin.ErrInvalidBrackets, "not below the initial margin rate")
	// Equal rate × leverage = 100% is refused too (maintenance must be below initial).
	_, err = margin.NewBrackets([]margin.TierSpec{{0, 10, 2, 500_000}})
	wantErr(t, "rate = 1/leverage", err, margin.ErrInvalidBrackets, "not below")
	if _, err = margin.NewBrackets([]margin.TierSpec{{0, 10, 2, 499_999}}); err != nil {
		t.Errorf("rate just below 1/leverage: %v", err)
	}

	defer func() {
		if recover() == nil {
			t.Errorf("MustNewBrackets did not panic on a bad table")
		}
	}()
	margin.MustNewBrackets(nil)
}

func TestMaintenanceAmountRoundsDown(t *testing.T) {
	// Floor 333 quote units × Δrate 0.5% = 1.665 units: rounded down to 1.
	b := margin.MustNewBrackets([]margin.TierSpec{
		{0, 333, 100, 5_000},
		{333, 1_000, 50, 10_000},
		{1_000, 1_000_000, 20, 20_000}, // 1,000 × 1% = 10, exact
	})
	checkCumDerivation(t, "rounded", b)
	if got := b.TierAt(1); got.MaintAmountQuote != 1 || !got.MaintAmountRoundedDown {
		t.Errorf("tier 2: %+v, want cum 1 rounded down", got)
	}
	if got := b.TierAt(2); got.MaintAmountQuote != 11 || got.MaintAmountRoundedDown {
		t.Errorf("tier 3: %+v, want cum 11 exact", got)
	}
	// The requirement is conservative: at the floor, tier 2 asks for at
	// least what tier 1's formula would (333 × 1% − 1 = 2.33 → 3 − 1... ).
	m332, _ := b.MaintenanceMargin(332)
	m333, _ := b.MaintenanceMargin(333)
	if m332 != 2 || m333 != 3 { // ceil(1.66) = 2; ceil(3.33) − 1 = 3
		t.Errorf("around the floor: %d, %d, want 2, 3", m332, m333)
	}
}

func TestTierBoundaries(t *testing.T) {
	btc := margin.DefaultBTC()
	for _, tc := range []struct {
		notional int64
		tier     int
		lev      int64
	}{
		{-1, 1, 125},
		{0, 1, 125},
		{50_000*usdt - 1, 1, 125},
		{50_000 * usdt, 2, 100}, // a floor belongs to its tier: [floor, cap)
		{600_000*usdt - 1, 2, 100},
		{600_000 * usdt, 3, 75},
		{1_200_000_000 * usdt, 12, 1},
		{1_800_000_000*usdt - 1, 12, 1},
		{1_800_000_000 * usdt, 12, 1}, // at and above the last cap: the last tier
		{math.MaxInt64, 12, 1},
	} {
		got := btc.Tier(tc.notional)
		if got.Number != tc.tier || btc.MaxLeverage(tc.notional) != tc.lev {
			t.Errorf("notional %d: tier %d lev %d, want %d %d", tc.notional, got.Number, got.MaxLeverage, tc.tier, tc.lev)
		}
	}
	var zero margin.Brackets
	if zero.Tier(5) != (margin.Tier{}) || zero.MaxLeverage(5) != 0 || zero.Len() != 0 {
		t.Errorf("zero Brackets: %+v", zero.Tier(5))
	}
}

func TestMaintenanceMargin(t *testing.T) {
	btc := margin.DefaultBTC()
	for _, tc := range []struct {
		notional, want int64
	}{
		{0, 0},
		{1, 1},   // 0.004 units rounds up to 1
		{250, 1}, // exactly 1
		{251, 2}, // 1.004 → 2
		{10_000 * usdt, 40 * usdt},
		{50_000*usdt - 1, 200*usdt - 0}, // ceil(199.999996) = 200 USDT
		{50_000 * usdt, 200 * usdt},     // 0.5% × 50,000 − 50 = 200: continuous
		{100_000 * usdt, 450 * usdt},    // 0.5% × 100,000 − 50
		{600_000 * usdt, 2_950 * usdt},  // 0.65% × 600,000 − 950 = 2,950 = 0.5% × 600,000 − 50
		{1_800_000_000 * usdt, 478_518_550 * usdt},
		{2_000_000_000 * usdt, 578_518_550 * usdt}, // beyond the last cap, last tier's formula
	} {
		got, err := btc.MaintenanceMargin(tc.notional)
		if err != nil || got != tc.want {
			t.Errorf("MM(%s) = %s, %v; want %s", fixed.QuoteAmount(tc.notional), fixed.QuoteAmount(got), err, fixed.QuoteAmount(tc.want))
		}
	}
	// The largest notional is computed exactly, not wrapped.
	got, err := btc.MaintenanceMargin(math.MaxInt64)
	want := ceilDiv(new(big.Int).Mul(bi(math.MaxInt64), bi(500_000)), bi(1_000_000))
	want.Sub(want, bi(421_481_450*usdt))
	if err != nil || got != want.Int64() {
		t.Errorf("MM(MaxInt64) = %d, %v; want %s", got, err, want)
	}
	_, err = btc.MaintenanceMargin(-1)
	wantErr(t, "negative", err, margin.ErrInvalidInput, "negative notional")
	_, err = margin.Brackets{}.MaintenanceMargin(1)
	wantErr(t, "zero brackets", err, margin.ErrInvalidBrackets, "zero Brackets")
}

// At every tier floor the requirement is continuous: the upper tier asks for
// exactly what the lower tier's formula gives there (exact tables), and the
// requirement never decreases as notional grows.
func TestMaintenanceMarginContinuousAndMonotone(t *testing.T) {
	for _, b := range []margin.Brackets{margin.DefaultBTC(), margin.DefaultETH(), margin.DefaultSOL()} {
		for i := 1; i < b.Len(); i++ {
			lower, upper := b.TierAt(i-1), b.TierAt(i)
			f := upper.FloorQuote
			ext := ceilDiv(new(big.Int).Mul(bi(f), bi(lower.MaintRatePpm)), bi(1_000_000)).Int64() - lower.MaintAmountQuote
			got, _ := b.MaintenanceMargin(f)
			below, _ := b.MaintenanceMargin(f - 1)
			if got != ext || below > got {
				t.Errorf("tier %d floor: MM %d, lower formula %d, one unit below %d", i+1, got, ext, below)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	b := margin.DefaultSOL()
	for range 20_000 {
		n := r.Int64N(500_000_000 * usdt)
		m0, _ := b.MaintenanceMargin(n)
		m1, _ := b.MaintenanceMargin(n + 1 + r.Int64N(1000))
		tier := b.Tier(n)
		want := ceilDiv(new(big.Int).Mul(bi(n), bi(tier.MaintRatePpm)), bi(1_000_000)).Int64() - tier.MaintAmountQuote
		if m0 != want || m1 < m0 {
			t.Fatalf("MM(%d) = %d, want %d; next %d", n, m0, want, m1)
		}
	}
}

func TestInitialMargin(t *testing.T) {
	for _, tc := range []struct{ notional, lev, want int64 }{
		{0, 1, 0},
		{100_000 * usdt, 10, 10_000 * usdt},
		{100_000 * usdt, 125, 800 * usdt},
		{7, 2, 4}, // 3.5 rounds up
		{1, 125, 1},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MaxInt64, 2, math.MaxInt64/2 + 1},
	} {
		if got, err := margin.InitialMargin(tc.notional, tc.lev); err != nil || got != tc.want {
			t.Errorf("IM(%d, %d) = %d, %v; want %d", tc.notional, tc.lev, got, err, tc.want)
		}
	}
	// The int64 ceiling against fixed's 128-bit rounding, at every scale.
	r := rand.New(rand.NewPCG(5, 6))
	for range 100_000 {
		n := int64(r.Uint64()>>1) >> r.IntN(63)
		lev := 1 + r.Int64N(125)
		if r.IntN(4) == 0 {
			lev = 1 + int64(r.Uint64()>>1)>>r.IntN(63)
		}
		want, _ := fixed.Div(n, lev, fixed.RoundUp)
		if got, err := margin.InitialMargin(n, lev); err != nil || got != want {
			t.Fatalf("IM(%d, %d) = %d, %v; want %d", n, lev, got, err, want)
		}
	}
	_, err := margin.InitialMargin(-1, 10)
	wantErr(t, "negative", err, margin.ErrInvalidInput, "negative notional")
	_, err = margin.InitialMargin(1, 0)
	wantErr(t, "leverage 0", err, margin.ErrInvalidInput, "leverage below 1")
}

func TestHotPathsAllocateNothing(t *testing.T) {
	btc := margin.DefaultBTC()
	var sink int64
	for name, f := range map[string]func(){
		"MaintenanceMargin":       func() { m, _ := btc.MaintenanceMargin(123_456_789_000); sink += m },
		"MaintenanceMargin error": func() { m, _ := btc.MaintenanceMargin(-1); sink += m },
		"InitialMargin":           func() { m, _ := margin.InitialMargin(123_456_789_000, 20); sink += m },
		"InitialMargin error":     func() { m, _ := margin.InitialMargin(1, 0); sink += m },
		"FundingPayment":          func() { m, _ := margin.FundingPayment(-1_234, 1_000_005, 100, 100); sink += m },
		"FundingPayment error":    func() { m, _ := margin.FundingPayment(math.MaxInt64, 2, 100, 100); sink += m },
		"UnrealizedPnL":           func() { m, _ := margin.UnrealizedPnL(margin.Short, 1_000, 903_615, 10_000_000_000, 100); sink += m },
		"Tier":                    func() { sink += btc.Tier(90_000_000_000).MaintAmountQuote },
		"LiquidationPrice": func() {
			p, _, _ := margin.LiquidationPrice(margin.LiqInput{Side: margin.Long, SizeLots: 40_000,
				EntryValueQuote: 4_000_000 * usdt, WalletQuote: 1_200_000 * usdt, QuotePerTickLot: 100, Brackets: btc})
			sink += p
		},
		"MarkPrice": func() {
			p, _ := margin.MarkPrice(margin.MarkInput{IndexTicks: 1_000_000, LastFundingRatePpm: 137,
				NanosToFunding: 3_600_000_000_000, FundingIntervalNanos: margin.DefaultFundingIntervalNanos,
				BasisTicks: 7, HasBasis: true, LastTradeTicks: 1_000_123})
			sink += p
		},
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
	_ = sink
}
