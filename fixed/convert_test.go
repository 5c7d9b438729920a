package fixed_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paperperps/exchange/fixed"
)

// dec parses a decimal literal. The decimal package refuses to parse
// exponents beyond ±10000, but such values can still be built in code and
// must be rejected quickly, so "1e-999999999" is assembled by hand.
func dec(s string) decimal.Decimal {
	if d, err := decimal.NewFromString(s); err == nil {
		return d
	}
	mantissa, exp, found := strings.Cut(s, "e")
	e, err := strconv.ParseInt(exp, 10, 32)
	if !found || err != nil {
		panic("bad test literal " + s)
	}
	m := decimal.RequireFromString(mantissa)
	return decimal.NewFromBigInt(m.Coefficient(), m.Exponent()+int32(e))
}

func TestNewGrid(t *testing.T) {
	tests := []struct {
		tick, lot       string
		quotePerTickLot int64
		errContains     string // empty: valid
	}{
		{tick: "0.1", lot: "0.001", quotePerTickLot: 100},      // BTCUSDT
		{tick: "0.01", lot: "0.001", quotePerTickLot: 10},      // ETHUSDT
		{tick: "0.010", lot: "1.000", quotePerTickLot: 10_000}, // trailing zeros are harmless
		{tick: "0.00001", lot: "1", quotePerTickLot: 10},       // low-priced perpetual
		{tick: "0.000001", lot: "1", quotePerTickLot: 1},       // smallest notional step
		{tick: "0.0001", lot: "0.01", quotePerTickLot: 1},
		{tick: "5", lot: "100", quotePerTickLot: 500_000_000},
		{tick: "0.000000000001", lot: "1000000", quotePerTickLot: 1},
		// The largest tick times 10^6 is exactly MaxInt64 quote units.
		{tick: "9223372.036854775807", lot: "1000000", quotePerTickLot: maxI},
		{tick: "0", lot: "0.001", errContains: "tick size 0 must be positive"},
		{tick: "-0.1", lot: "0.001", errContains: "tick size -0.1 must be positive"},
		{tick: "0.1", lot: "0", errContains: "lot size 0 must be positive"},
		{tick: "0.1", lot: "-1", errContains: "lot size -1 must be positive"},
		{tick: "0.0000000000001", lot: "1000000", errContains: "tick size 0.0000000000001 has more than 12 decimal places"},
		{tick: "10000000", lot: "1", errContains: "tick size 10000000 is above 9223372.036854775807"},
		{tick: "1e-999999999", lot: "1", errContains: "tick size 1e-999999999 has more than 12 decimal places"},
		// Finer than the quote unit: refused, not rounded.
		{tick: "0.0000001", lot: "1", errContains: "tick size 0.0000001 × lot size 1 = 0.0000001 is not a whole number of quote units (0.000001), so notionals would need rounding"},
		{tick: "0.0000001", lot: "0.01", errContains: "tick size 0.0000001 × lot size 0.01 = 0.000000001 is not a whole number of quote units"},
		{tick: "0.000000000001", lot: "10000", errContains: "= 0.00000001 is not a whole number of quote units"},
		{tick: "0.000003", lot: "0.001", errContains: "is not a whole number of quote units"},
		// Coarser than the quote unit but not a multiple of it.
		{tick: "0.0000015", lot: "1", errContains: "= 0.0000015 is not a whole number of quote units"},
		// 2^62 × 10^-12 × 2 × 10^6 is 2^63 quote units, one more than fits.
		{tick: "4611686.018427387904", lot: "2000000", errContains: "is more quote units than fit in int64"},
		{tick: "9000000", lot: "9000000", errContains: "tick size 9000000 × lot size 9000000 = 81000000000000 is more quote units than fit in int64"},
	}
	for _, tt := range tests {
		desc := fmt.Sprintf("NewGrid(%s, %s)", tt.tick, tt.lot)
		g, err := fixed.NewGrid(dec(tt.tick), dec(tt.lot))
		if tt.errContains != "" {
			checkResult(t, desc, 0, err, 0, fixed.ErrBadGrid, tt.errContains)
			continue
		}
		checkResult(t, desc, g.QuotePerTickLot(), err, tt.quotePerTickLot, nil, "")
		if !g.TickSize().Equal(dec(tt.tick)) || !g.LotSize().Equal(dec(tt.lot)) {
			t.Errorf("%s: grid holds tick %s lot %s", desc, g.TickSize(), g.LotSize())
		}
	}
	equalString(t, fixed.MustNewGrid("0.1", "0.001").String(), "tick 0.1 lot 0.001")
	mustPanic(t, "MustNewGrid with lot 0", nil, func() { fixed.MustNewGrid("0.1", "0") })
}

type convCase struct {
	in       string
	maxUnits int64
	want     int64
	err      error
	msg      string // substring of the error message
}

func runConv(t *testing.T, name string, conv func(decimal.Decimal, int64) (int64, error), tests []convCase) {
	t.Helper()
	for _, tt := range tests {
		desc := fmt.Sprintf("%s(%s, max %d)", name, tt.in, tt.maxUnits)
		got, err := conv(dec(tt.in), tt.maxUnits)
		checkResult(t, desc, got, err, tt.want, tt.err, tt.msg)
		// Even absurd inputs give a message a person can read.
		if err != nil && len(err.Error()) > 300 {
			t.Errorf("%s: error message is %d bytes long", desc, len(err.Error()))
		}
	}
}

func TestTicks(t *testing.T) {
	btc := fixed.MustNewGrid("0.1", "0.001")
	runConv(t, "Ticks", btc.Ticks, []convCase{
		{in: "100000.5", maxUnits: maxI, want: 1_000_005},
		{in: "0.1", maxUnits: maxI, want: 1},
		{in: "100", maxUnits: 1000, want: 1000},
		{in: "100.0000000000000000000000000000000000", maxUnits: maxI, want: 1000},
		{in: "1e3", maxUnits: maxI, want: 10_000},
		{in: "922337203685477580.7", maxUnits: maxI, want: maxI},
		{in: "100.05", maxUnits: maxI, err: fixed.ErrOffGrid, msg: "fixed: off grid: price 100.05 is not a multiple of tick size 0.1"},
		{in: "0.05", maxUnits: maxI, err: fixed.ErrOffGrid, msg: "price 0.05 is not a multiple of tick size 0.1"},
		{in: "100.0000000000000000000000000000000001", maxUnits: maxI, err: fixed.ErrOffGrid, msg: "not a multiple of tick size 0.1"},
		{in: "1e-999999999", maxUnits: maxI, err: fixed.ErrOffGrid, msg: "price 1e-999999999 is not a multiple"},
		{in: "0", maxUnits: maxI, err: fixed.ErrNotPositive, msg: "fixed: not positive: price 0 must be positive"},
		{in: "-0.000", maxUnits: maxI, err: fixed.ErrNotPositive, msg: "price 0 must be positive"},
		{in: "-100", maxUnits: maxI, err: fixed.ErrNotPositive, msg: "price -100 must be positive"},
		{in: "-100.05", maxUnits: maxI, err: fixed.ErrNotPositive, msg: "price -100.05"},
		{in: "100.1", maxUnits: 1000, err: fixed.ErrOutOfRange, msg: "fixed: out of range: price 100.1 is outside [0.1, 100] (tick size 0.1)"},
		{in: "100", maxUnits: 0, err: fixed.ErrOutOfRange, msg: "outside [0.1, 0]"},
		{in: "922337203685477580.8", maxUnits: maxI, err: fixed.ErrOutOfRange, msg: "price 922337203685477580.8 is outside [0.1, 922337203685477580.7]"},
		{in: "999999999999999999.9", maxUnits: maxI, err: fixed.ErrOutOfRange, msg: "outside"},
		{in: "1e30", maxUnits: maxI, err: fixed.ErrOutOfRange, msg: "price 1000000000000000000000000000000 is outside"},
		{in: "1e999999999", maxUnits: maxI, err: fixed.ErrOutOfRange, msg: "price 1e999999999 is outside"},
		{in: "123456789012345678901234567890.5", maxUnits: maxI, err: fixed.ErrOutOfRange, msg: "outside"},
	})
}

func TestLots(t *testing.T) {
	eth := fixed.MustNewGrid("0.01", "0.001")
	runConv(t, "Lots", eth.Lots, []convCase{
		{in: "0.25", maxUnits: maxI, want: 250},
		{in: "0.001", maxUnits: maxI, want: 1},
		{in: "9223372036854775.807", maxUnits: maxI, want: maxI},
		{in: "0.0005", maxUnits: maxI, err: fixed.ErrOffGrid, msg: "quantity 0.0005 is not a multiple of lot size 0.001"},
		{in: "1.2345", maxUnits: maxI, err: fixed.ErrOffGrid, msg: "quantity 1.2345"},
		{in: "0", maxUnits: maxI, err: fixed.ErrNotPositive, msg: "quantity 0 must be positive"},
		{in: "-0.5", maxUnits: maxI, err: fixed.ErrNotPositive, msg: "quantity -0.5 must be positive"},
		{in: "1000.001", maxUnits: 1_000_000, err: fixed.ErrOutOfRange, msg: "quantity 1000.001 is outside [0.001, 1000] (lot size 0.001)"},
		{in: "9223372036854775.808", maxUnits: maxI, err: fixed.ErrOutOfRange, msg: "outside"},
	})
}

func TestZeroGrid(t *testing.T) {
	var g fixed.Grid
	got, err := g.Ticks(dec("1"), maxI)
	checkResult(t, "zero Grid Ticks", got, err, 0, fixed.ErrBadGrid, "with the zero Grid")
	got, err = g.Lots(dec("1"), maxI)
	checkResult(t, "zero Grid Lots", got, err, 0, fixed.ErrBadGrid, "with the zero Grid")
	got, err = g.NotionalQuote(1, 1)
	checkResult(t, "zero Grid NotionalQuote", got, err, 0, fixed.ErrBadGrid, "")
	mustPanic(t, "zero Grid Price", nil, func() { g.Price(1) })
	mustPanic(t, "zero Grid Qty", nil, func() { g.Qty(1) })
}

func TestPriceQtyNotional(t *testing.T) {
	btc := fixed.MustNewGrid("0.1", "0.001")
	equalString(t, btc.Price(1_000_005).String(), "100000.5")
	equalString(t, btc.Qty(-250).String(), "-0.25")
	equalString(t, btc.Price(maxI).String(), "922337203685477580.7")
	equalString(t, btc.Qty(minI).String(), "-9223372036854775.808")

	// 0.25 BTC at 100,000.5 USDT = 25,000.125 USDT.
	n, err := btc.NotionalQuote(1_000_005, 250)
	checkResult(t, "long notional", n, err, 25_000_125_000, nil, "")
	equalString(t, fixed.QuoteAmount(n).String(), "25000.125")
	n, err = btc.NotionalQuote(1_000_005, -250)
	checkResult(t, "short notional", n, err, -25_000_125_000, nil, "")
	// Fits in ticks × lots but not once scaled to quote units.
	n, err = btc.NotionalQuote(1<<40, 1<<20)
	checkResult(t, "notional above int64", n, err, 0, fixed.ErrOverflow, "")
	n, err = btc.NotionalQuote(maxI, 2)
	checkResult(t, "ticks × lots above int64", n, err, 0, fixed.ErrOverflow, "")
	n, err = btc.NotionalQuote(0, minI)
	checkResult(t, "zero price", n, err, 0, nil, "")

	// BTC's 100 quote units per tick-lot put the exact boundary at
	// floor(MaxInt64/100) ticks × lots, on both signs.
	n, err = btc.NotionalQuote(92_233_720_368_547_758, 1)
	checkResult(t, "largest long notional", n, err, 9_223_372_036_854_775_800, nil, "")
	n, err = btc.NotionalQuote(92_233_720_368_547_759, 1)
	checkResult(t, "long notional one tick above int64", n, err, 0, fixed.ErrOverflow, "")
	n, err = btc.NotionalQuote(92_233_720_368_547_758, -1)
	checkResult(t, "largest short notional", n, err, -9_223_372_036_854_775_800, nil, "")
	n, err = btc.NotionalQuote(92_233_720_368_547_759, -1)
	checkResult(t, "short notional one tick below int64", n, err, 0, fixed.ErrOverflow, "")
	// With one quote unit per tick-lot the whole int64 range is reachable.
	unit := fixed.MustNewGrid("0.000001", "1")
	n, err = unit.NotionalQuote(maxI, 1)
	checkResult(t, "MaxInt64 notional", n, err, maxI, nil, "")
	n, err = unit.NotionalQuote(1, minI)
	checkResult(t, "MinInt64 notional", n, err, minI, nil, "")
}

func TestQuoteUnits(t *testing.T) {
	tests := []struct {
		in                 string
		minQuote, maxQuote int64
		want               int64
		err                error
		msg                string
	}{
		{in: "15000", minQuote: 0, maxQuote: maxI, want: 15_000_000_000},
		{in: "0.000001", minQuote: 1, maxQuote: maxI, want: 1},
		{in: "-12.5", minQuote: minI, maxQuote: maxI, want: -12_500_000},
		{in: "0", minQuote: 0, maxQuote: maxI, want: 0},
		{in: "9223372036854.775807", minQuote: minI, maxQuote: maxI, want: maxI},
		{in: "-9223372036854.775808", minQuote: minI, maxQuote: maxI, want: minI},
		{in: "-9223372036854.775808000000000000000", minQuote: minI, maxQuote: maxI, want: minI},
		{in: "9223372036854.775808", minQuote: minI, maxQuote: maxI, err: fixed.ErrOutOfRange, msg: "quote amount 9223372036854.775808 is outside [-9223372036854.775808, 9223372036854.775807] (quote unit 0.000001)"},
		{in: "-9223372036854.775809", minQuote: minI, maxQuote: maxI, err: fixed.ErrOutOfRange, msg: "outside"},
		{in: "0.0000001", minQuote: 0, maxQuote: maxI, err: fixed.ErrOffGrid, msg: "fixed: off grid: quote amount 0.0000001 is not a multiple of quote unit 0.000001"},
		{in: "1.1234567", minQuote: minI, maxQuote: maxI, err: fixed.ErrOffGrid, msg: "quote amount 1.1234567"},
		{in: "9223372036854.7758075", minQuote: minI, maxQuote: maxI, err: fixed.ErrOffGrid, msg: "quote amount 9223372036854.7758075"},
		{in: "0", minQuote: 1, maxQuote: maxI, err: fixed.ErrNotPositive, msg: "quote amount 0 must be positive"},
		{in: "-5", minQuote: 1, maxQuote: maxI, err: fixed.ErrNotPositive, msg: "quote amount -5 must be positive"},
		{in: "-5", minQuote: 0, maxQuote: maxI, err: fixed.ErrOutOfRange, msg: "quote amount -5 is outside [0, 9223372036854.775807]"},
		{in: "0", minQuote: -10, maxQuote: -1, err: fixed.ErrOutOfRange, msg: "quote amount 0 is outside [-0.00001, -0.000001]"},
		{in: "1000001", minQuote: 0, maxQuote: 1_000_000_000_000, err: fixed.ErrOutOfRange, msg: "outside [0, 1000000]"},
	}
	for _, tt := range tests {
		got, err := fixed.QuoteUnits(dec(tt.in), tt.minQuote, tt.maxQuote)
		checkResult(t, fmt.Sprintf("QuoteUnits(%s, %d, %d)", tt.in, tt.minQuote, tt.maxQuote), got, err, tt.want, tt.err, tt.msg)
	}
	equalString(t, fixed.QuoteAmount(maxI).String(), "9223372036854.775807")
	equalString(t, fixed.QuoteAmount(minI).String(), "-9223372036854.775808")
	equalString(t, fixed.QuoteAmount(1).String(), "0.000001")
}

func TestRatePpm(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  error
		msg  string
	}{
		{in: "0.0005", want: 500},
		{in: "0.0002", want: 200},
		{in: "0.00001", want: 10}, // 0.001% is 10 ppm: on the grid
		{in: "0.000001", want: 1},
		{in: "-0.0001", want: -100}, // maker rebate
		{in: "0.5", want: 500_000},
		{in: "1", want: 1_000_000},
		{in: "0", want: 0},
		{in: "0.0000001", err: fixed.ErrOffGrid, msg: "fixed: off grid: rate 0.0000001 is not a multiple of ppm 0.000001"},
		{in: "0.0000015", err: fixed.ErrOffGrid, msg: "rate 0.0000015"},
		{in: "-0.00000001", err: fixed.ErrOffGrid, msg: "rate -0.00000001"},
		{in: "1.000001", err: fixed.ErrOutOfRange, msg: "rate 1.000001 is outside [-0.01, 1] (ppm 0.000001)"},
		{in: "-0.010001", err: fixed.ErrOutOfRange, msg: "outside [-0.01, 1]"},
	}
	for _, tt := range tests {
		got, err := fixed.RatePpm(dec(tt.in), -10_000, 1_000_000)
		checkResult(t, fmt.Sprintf("RatePpm(%s)", tt.in), got, err, tt.want, tt.err, tt.msg)
	}
	got, err := fixed.RatePpm(dec("0"), 1, 100)
	checkResult(t, "RatePpm(0, 1, 100)", got, err, 0, fixed.ErrNotPositive, "rate 0 must be positive")
	equalString(t, fixed.Rate(500).String(), "0.0005")
	equalString(t, fixed.Rate(-100).String(), "-0.0001")
}

// Absurd exponents must be rejected without computing 10^exponent.
func TestConversionOfAbsurdExponentsIsFast(t *testing.T) {
	start := time.Now()
	for _, s := range []string{"1e2147483647", "1e-2147483648", "-1e2147483647", "9.99e999999", "1.000000000000000000000001e-99999999"} {
		if _, err := fixed.QuoteUnits(dec(s), minI, maxI); err == nil {
			t.Errorf("QuoteUnits(%s) accepted", s)
		}
		if _, err := fixed.RatePpm(dec(s), minI, maxI); err == nil {
			t.Errorf("RatePpm(%s) accepted", s)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// Every in-range unit count survives a round trip through decimal.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	grids := []fixed.Grid{
		fixed.MustNewGrid("0.1", "0.001"),
		fixed.MustNewGrid("0.000001", "1"),
		fixed.MustNewGrid("25", "0.00000004"),
	}
	for i := range 20_000 {
		g := grids[i%len(grids)]
		n := randOperand(rng)
		if n == 0 {
			continue
		}
		if n > 0 {
			got, err := g.Ticks(g.Price(n), maxI)
			checkResult(t, fmt.Sprintf("%v ticks %d", g, n), got, err, n, nil, "")
			got, err = g.Lots(g.Qty(n), maxI)
			checkResult(t, fmt.Sprintf("%v lots %d", g, n), got, err, n, nil, "")
		}
		got, err := fixed.QuoteUnits(fixed.QuoteAmount(n), minI, maxI)
		checkResult(t, fmt.Sprintf("quote %d", n), got, err, n, nil, "")
		got, err = fixed.RatePpm(fixed.Rate(n), minI, maxI)
		checkResult(t, fmt.Sprintf("ppm %d", n), got, err, n, nil, "")
		if t.Failed() {
			t.FailNow()
		}
	}
}

// QuoteUnits is compared with exact rational arithmetic on random decimals
// of varied precision and magnitude, so the digit-count shortcuts and the
// exponent alignment are checked against a naive model.
func TestQuoteUnitsAgainstRat(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	unit := big.NewRat(1, fixed.QuoteUnitsPerWhole)
	var ok, off, out int
	for range 20_000 {
		coef := randOperand(rng)
		exp := int32(rng.IntN(50) - 35)
		d := decimal.New(coef, exp)
		got, err := fixed.QuoteUnits(d, minI, maxI)

		q := new(big.Rat).Quo(d.Rat(), unit)
		var wantErr error
		switch {
		case !q.IsInt():
			off++
			wantErr = fixed.ErrOffGrid
		case !q.Num().IsInt64():
			out++
			wantErr = fixed.ErrOutOfRange
		default:
			ok++
		}
		if wantErr != nil && !errors.Is(err, wantErr) || wantErr == nil && (err != nil || got != q.Num().Int64()) {
			t.Fatalf("QuoteUnits(%s) = %d, %v; want %s units (error %v)", d, got, err, q.RatString(), wantErr)
		}
	}
	// Guard the generator: every outcome must be exercised.
	if ok < 1000 || off < 1000 || out < 1000 {
		t.Errorf("generator skewed: %d ok, %d off grid, %d out of range", ok, off, out)
	}
}

func TestConstants(t *testing.T) {
	if int64(math.Pow10(fixed.QuoteDecimals)) != fixed.QuoteUnitsPerWhole {
		t.Errorf("QuoteUnitsPerWhole %d is not 10^QuoteDecimals", fixed.QuoteUnitsPerWhole)
	}
}

// The quote unit was chosen so that the money-conservation check can sum
// every balance: a million accounts of a million USDT each must fit, which
// is 100 times the simulated load of a million accounts of 100,000 USDT.
func TestQuoteHeadroomForConservationSum(t *testing.T) {
	const accounts = 1_000_000
	perAccount, err := fixed.QuoteUnits(dec("1000000"), 0, maxI)
	checkResult(t, "one million USDT", perAccount, err, 1_000_000_000_000, nil, "")
	var total int64
	for range accounts {
		if total, err = fixed.Add(total, perAccount); err != nil {
			t.Fatalf("sum of %d accounts of 1,000,000 USDT: %v", accounts, err)
		}
	}
	equalString(t, fixed.QuoteAmount(total).String(), "1000000000000")
	// The ceiling is about 9.2e12 USDT: ten times that sum would not fit.
	_, err = fixed.Mul(total, 10)
	checkResult(t, "ten million accounts", 0, err, 0, fixed.ErrOverflow, "")
}
