package fixed

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/shopspring/decimal"
)

// Conversion errors are wrapped with the value and the grid it was checked
// against, because they reach people (config files, API rejections of
// malformed requests) who need to see which number was wrong.
var (
	// ErrOffGrid means a value is not a whole number of its unit (tick, lot,
	// quote unit, ppm). Such values are rejected, never rounded: rounding a
	// user's price or quantity would trade something they did not ask for.
	ErrOffGrid = errors.New("fixed: off grid")
	// ErrOutOfRange means a value, in units, does not fit in an int64 or lies
	// outside the bounds the caller allowed.
	ErrOutOfRange = errors.New("fixed: out of range")
	// ErrNotPositive means zero or a negative value where only positive
	// values make sense (prices, quantities, and any range whose minimum is
	// above zero).
	ErrNotPositive = errors.New("fixed: not positive")
	// ErrBadGrid means a market's tick and lot sizes cannot be used; it is a
	// configuration error and is reported before any order is converted.
	ErrBadGrid = errors.New("fixed: invalid grid")
)

const (
	// QuoteDecimals is the number of decimal places of the quote unit: quote
	// amounts (balances, margin, PnL, fees) are int64 counts of 10^-6 of the
	// quote asset (USDT). Six places because:
	//   - it is USDT's own precision on its main chains (Ethereum, Tron), so
	//     no real deposit or withdrawal is finer;
	//   - tick size × lot size is a whole number of quote units for the
	//     markets we list (BTC 0.1 × 0.001 = 100 units, ETH 0.01 × 0.001 =
	//     10 units), so a notional is exact;
	//   - an int64 of 10^-6 holds about 9.2e12 USDT, so the money-conservation
	//     sum over every balance stays in range even for a million accounts
	//     of a million USDT each (1e12 USDT). Eight places would cap it at
	//     9.2e10 USDT, below a million accounts of 100,000 USDT.
	// A market whose tick × lot is finer than 10^-6 USDT would need rounding
	// on every fill, so NewGrid refuses it rather than round.
	QuoteDecimals = 6
	// QuoteUnitsPerWhole is the number of quote units in one whole quote
	// asset (1 USDT).
	QuoteUnitsPerWhole = 1_000_000
	// GridDecimals bounds the precision of tick and lot sizes: both must be
	// whole multiples of 10^-12 and at most MaxInt64 × 10^-12 (about 9.2
	// million). Real markets are far inside this; the bound keeps hostile or
	// mistyped configs from producing numbers whose conversions or printed
	// forms are unboundedly large.
	GridDecimals = 12
	// ppmDecimals equals QuoteDecimals only by coincidence; it is kept
	// separate so that changing the quote unit never changes what a rate
	// means.
	ppmDecimals = 6
)

var (
	quoteUnit = decimal.New(1, -QuoteDecimals)
	ppmUnit   = decimal.New(1, -ppmDecimals)
	gridUnit  = decimal.New(1, -GridDecimals)
)

// Grid is one market's tick size and lot size. It is built by NewGrid, which
// checks it once so that every later conversion and notional is exact; the
// zero Grid is unusable on purpose.
type Grid struct {
	tickSize        decimal.Decimal
	lotSize         decimal.Decimal
	quotePerTickLot int64
	// The steps as int64 coefficient and exponent, for the conversions
	// of text (TicksText, AppendPrice, ...) that skip big.Int; a zero
	// coefficient (a step whose coefficient does not fit) turns them off.
	tick, lot step
}

// step is a grid step coef·10^exp.
type step struct {
	coef int64
	exp  int32
}

func newStep(d decimal.Decimal) step {
	c := d.Coefficient()
	if !c.IsInt64() {
		return step{}
	}
	return step{coef: c.Int64(), exp: d.Exponent()}
}

// NewGrid validates a market's tick and lot sizes. Both must be positive
// multiples of 10^-GridDecimals, and their product (the notional of one lot
// at a price of one tick) must be a whole number of quote units, so that
// price × quantity never needs rounding. A market finer than that (say tick
// 0.0000001 and lot 1, which is 10^-7 USDT) is refused rather than rounded.
// Errors wrap ErrBadGrid.
func NewGrid(tickSize, lotSize decimal.Decimal) (Grid, error) {
	if err := checkGridStep("tick size", tickSize); err != nil {
		return Grid{}, err
	}
	if err := checkGridStep("lot size", lotSize); err != nil {
		return Grid{}, err
	}
	product := tickSize.Mul(lotSize)
	perTickLot, kind := toUnits(product, quoteUnit, 1, math.MaxInt64)
	if kind == ErrOffGrid {
		return Grid{}, fmt.Errorf("%w: tick size %s × lot size %s = %s is not a whole number of quote units (%s), so notionals would need rounding",
			ErrBadGrid, fmtDec(tickSize), fmtDec(lotSize), fmtDec(product), quoteUnit)
	}
	if kind != nil { // the product is positive, so this is ErrOutOfRange
		return Grid{}, fmt.Errorf("%w: tick size %s × lot size %s = %s is more quote units than fit in int64",
			ErrBadGrid, fmtDec(tickSize), fmtDec(lotSize), fmtDec(product))
	}
	return Grid{tickSize: tickSize, lotSize: lotSize, quotePerTickLot: perTickLot, tick: newStep(tickSize), lot: newStep(lotSize)}, nil
}

func checkGridStep(what string, step decimal.Decimal) error {
	_, kind := toUnits(step, gridUnit, 1, math.MaxInt64)
	switch kind {
	case nil:
		return nil
	case ErrNotPositive:
		return fmt.Errorf("%w: %s %s must be positive", ErrBadGrid, what, fmtDec(step))
	case ErrOffGrid:
		return fmt.Errorf("%w: %s %s has more than %d decimal places", ErrBadGrid, what, fmtDec(step), GridDecimals)
	default:
		return fmt.Errorf("%w: %s %s is above %s", ErrBadGrid, what, fmtDec(step), gridUnit.Mul(decimal.NewFromInt(math.MaxInt64)))
	}
}

// MustNewGrid is NewGrid from literals, for built-in market defaults and
// tests where a bad grid is a bug in the source; it panics on error.
func MustNewGrid(tickSize, lotSize string) Grid {
	g, err := NewGrid(decimal.RequireFromString(tickSize), decimal.RequireFromString(lotSize))
	if err != nil {
		panic(err)
	}
	return g
}

// TickSize is the price increment the grid was built with.
func (g Grid) TickSize() decimal.Decimal { return g.tickSize }

// LotSize is the quantity increment the grid was built with.
func (g Grid) LotSize() decimal.Decimal { return g.lotSize }

// QuotePerTickLot is tick size × lot size in quote units: the factor that
// turns priceTicks × qtyLots into a quote amount. It is at least 1.
func (g Grid) QuotePerTickLot() int64 { return g.quotePerTickLot }

// String shows the grid in error messages and logs.
func (g Grid) String() string {
	return "tick " + fmtDec(g.tickSize) + " lot " + fmtDec(g.lotSize)
}

// Ticks converts a price to a whole number of ticks in [1, maxTicks]. The
// caller's maximum is the market's price band or configured limit; pass
// math.MaxInt64 for none. Errors wrap ErrNotPositive, ErrOffGrid,
// ErrOutOfRange or, for the zero Grid, ErrBadGrid.
func (g Grid) Ticks(price decimal.Decimal, maxTicks int64) (int64, error) {
	return g.convert(price, g.tickSize, "price", "tick size", maxTicks)
}

// Lots converts a quantity to a whole number of lots in [1, maxLots]. Errors
// are as for Ticks.
func (g Grid) Lots(qty decimal.Decimal, maxLots int64) (int64, error) {
	return g.convert(qty, g.lotSize, "quantity", "lot size", maxLots)
}

func (g Grid) convert(v, step decimal.Decimal, what, stepName string, maxUnits int64) (int64, error) {
	if g.quotePerTickLot == 0 {
		return 0, fmt.Errorf("%w: converting %s %s with the zero Grid; build it with NewGrid", ErrBadGrid, what, fmtDec(v))
	}
	n, kind := toUnits(v, step, 1, maxUnits)
	if kind != nil {
		return 0, describe(kind, what, v, stepName, step, 1, maxUnits)
	}
	return n, nil
}

// Price is the exact decimal price of priceTicks. It panics on the zero Grid,
// which would otherwise print every price as 0.
func (g Grid) Price(priceTicks int64) decimal.Decimal {
	g.mustBeBuilt()
	return decimal.NewFromInt(priceTicks).Mul(g.tickSize)
}

// Qty is the exact decimal quantity of qtyLots (signed, so it also renders
// short positions). It panics on the zero Grid.
func (g Grid) Qty(qtyLots int64) decimal.Decimal {
	g.mustBeBuilt()
	return decimal.NewFromInt(qtyLots).Mul(g.lotSize)
}

// NotionalQuote is price × quantity in quote units, exact because NewGrid
// guarantees tick × lot is a whole number of quote units.
//
// The result is signed like qtyLots: positive for a long position or a buy,
// negative for a short or a sell (prices are positive). A requirement sized
// on it, such as a fee or margin, must be computed on Abs of the notional
// before rounding up: RoundUp on a negative amount moves it toward zero and
// would undercharge a short by up to one quote unit.
//
// It returns ErrOverflow if the notional does not fit in an int64 and
// ErrBadGrid, unwrapped so as not to allocate, for the zero Grid.
func (g Grid) NotionalQuote(priceTicks, qtyLots int64) (int64, error) {
	if g.quotePerTickLot == 0 {
		return 0, ErrBadGrid
	}
	// Multiplying by quotePerTickLot (>= 1) never shrinks a magnitude, so if
	// the first product overflows the notional would too.
	pq, err := Mul(priceTicks, qtyLots)
	if err != nil {
		return 0, err
	}
	return Mul(pq, g.quotePerTickLot)
}

func (g Grid) mustBeBuilt() {
	if g.quotePerTickLot == 0 {
		panic("fixed: zero Grid used; build it with NewGrid")
	}
}

// QuoteUnits converts a quote amount (e.g. "15000.5" USDT) to quote units in
// [minQuote, maxQuote]. Balances and PnL are signed, so the caller states the
// range: minQuote 1 for an amount that must be positive (reported as
// ErrNotPositive), 0 for non-negative, math.MinInt64 for any. Errors wrap
// ErrNotPositive, ErrOffGrid (more than QuoteDecimals places) or
// ErrOutOfRange.
func QuoteUnits(amount decimal.Decimal, minQuote, maxQuote int64) (int64, error) {
	n, kind := toUnits(amount, quoteUnit, minQuote, maxQuote)
	if kind != nil {
		return 0, describe(kind, "quote amount", amount, "quote unit", quoteUnit, minQuote, maxQuote)
	}
	return n, nil
}

// QuoteAmount is the exact decimal value of amountQuote quote units.
func QuoteAmount(amountQuote int64) decimal.Decimal {
	return decimal.New(amountQuote, -QuoteDecimals)
}

// RatePpm converts a rate (e.g. "0.0005" for 0.05%) to parts per million in
// [minPpm, maxPpm]. Rates may be negative (maker rebates, funding), so the
// caller states the range. A rate finer than 1 ppm ("0.00001" is 10 ppm, but
// "0.0000001" is 0.1 ppm) wraps ErrOffGrid rather than being rounded to a fee
// nobody configured. Other errors are as for QuoteUnits.
func RatePpm(rate decimal.Decimal, minPpm, maxPpm int64) (int64, error) {
	n, kind := toUnits(rate, ppmUnit, minPpm, maxPpm)
	if kind != nil {
		return 0, describe(kind, "rate", rate, "ppm", ppmUnit, minPpm, maxPpm)
	}
	return n, nil
}

// Rate is the exact decimal value of ratePpm (500 ppm is 0.0005).
func Rate(ratePpm int64) decimal.Decimal {
	return decimal.New(ratePpm, -ppmDecimals)
}

// toUnits returns v/step when that is an integer in [minUnits, maxUnits], or
// the sentinel saying why not. step must be positive. The checks run in the
// order sign, grid, range, so the most basic fault is the one reported (a
// negative price is "not positive", not "off grid"), except that a value far
// too large for int64 is reported as ErrOutOfRange without checking its grid,
// which would cost work proportional to its exponent.
func toUnits(v, step decimal.Decimal, minUnits, maxUnits int64) (int64, error) {
	sign := v.Sign()
	if minUnits > 0 && sign <= 0 {
		return 0, ErrNotPositive
	}
	if sign == 0 {
		if minUnits > 0 || maxUnits < 0 {
			return 0, ErrOutOfRange
		}
		return 0, nil
	}
	// |v| is in [10^(dv+ev-1), 10^(dv+ev)) and likewise for step, so
	// |v/step| lies strictly between 10^(mag-1) and 10^(mag+1). Deciding the
	// extremes from digit counts keeps 10^exponent below from ever being
	// computed for an absurd exponent such as "1e999999999".
	dv, ev := int64(v.NumDigits()), int64(v.Exponent())
	ds, es := int64(step.NumDigits()), int64(step.Exponent())
	mag := dv + ev - ds - es
	if mag >= 20 { // |v/step| > 10^19 > MaxInt64
		return 0, ErrOutOfRange
	}
	if mag <= -1 { // 0 < |v/step| < 1
		return 0, ErrOffGrid
	}
	// v/step = cv·10^ev / (cs·10^es). Here the shift is bounded by the digit
	// counts: e < 20+ds when positive, -e <= dv-ds when negative.
	num, den := v.Coefficient(), step.Coefficient()
	if e := ev - es; e >= 0 {
		num.Mul(num, pow10(e))
	} else {
		den.Mul(den, pow10(-e))
	}
	var rem big.Int
	num.QuoRem(num, den, &rem)
	if rem.Sign() != 0 {
		return 0, ErrOffGrid
	}
	if !num.IsInt64() {
		return 0, ErrOutOfRange
	}
	n := num.Int64()
	if n < minUnits || n > maxUnits {
		return 0, ErrOutOfRange
	}
	return n, nil
}

func pow10(e int64) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(e), nil)
}

// describe wraps a conversion sentinel with the value, the unit and the
// allowed range, so the message alone says what to fix.
func describe(kind error, what string, v decimal.Decimal, stepName string, step decimal.Decimal, minUnits, maxUnits int64) error {
	switch kind {
	case ErrNotPositive:
		return fmt.Errorf("%w: %s %s must be positive", kind, what, fmtDec(v))
	case ErrOffGrid:
		return fmt.Errorf("%w: %s %s is not a multiple of %s %s", kind, what, fmtDec(v), stepName, fmtDec(step))
	default:
		lo := step.Mul(decimal.NewFromInt(minUnits))
		hi := step.Mul(decimal.NewFromInt(maxUnits))
		return fmt.Errorf("%w: %s %s is outside [%s, %s] (%s %s)", kind, what, fmtDec(v), fmtDec(lo), fmtDec(hi), stepName, fmtDec(step))
	}
}

// fmtDec prints a decimal for an error message. Decimal.String expands the
// exponent into zeros, so a hostile "1e-999999999" would build a gigabyte
// message; beyond a modest exponent the value is printed as coefficient and
// exponent instead.
func fmtDec(d decimal.Decimal) string {
	if e := d.Exponent(); e < -40 || e > 40 {
		return d.Coefficient().String() + "e" + strconv.FormatInt(int64(e), 10)
	}
	return d.String()
}
