package fixed_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/shopspring/decimal"

	"github.com/paperperps/exchange/fixed"
)

// An order arrives in decimal at the API edge, is converted exactly to ticks
// and lots, and its notional and fee are computed in quote units.
func Example() {
	btc, err := fixed.NewGrid(decimal.RequireFromString("0.1"), decimal.RequireFromString("0.001"))
	if err != nil {
		panic(err)
	}
	priceTicks, _ := btc.Ticks(decimal.RequireFromString("100000.5"), 10_000_000)
	qtyLots, _ := btc.Lots(decimal.RequireFromString("0.25"), 1_000_000)
	notionalQuote, _ := btc.NotionalQuote(priceTicks, qtyLots)
	takerFeeRatePpm, _ := fixed.RatePpm(decimal.RequireFromString("0.0005"), 0, 10_000)
	// A fee is charged to the user, so it rounds up: 12.5000625 USDT is
	// 12,500,062.5 quote units and is charged as 12,500,063.
	feeQuote, _ := fixed.ApplyPpm(notionalQuote, takerFeeRatePpm, fixed.RoundUp)
	fmt.Println(priceTicks, qtyLots, fixed.QuoteAmount(notionalQuote), fixed.QuoteAmount(feeQuote))

	// Off-grid input is refused, never rounded.
	_, err = btc.Ticks(decimal.RequireFromString("100.05"), 10_000_000)
	fmt.Println(errors.Is(err, fixed.ErrOffGrid), err)
	// Output:
	// 1000005 250 25000.125 12.500063
	// true fixed: off grid: price 100.05 is not a multiple of tick size 0.1
}

// A short's notional is negative, so a requirement on it (fee, margin) is
// computed on its magnitude; rounding the signed value up would undercharge.
func ExampleAbs() {
	eth := fixed.MustNewGrid("0.01", "0.001")
	notionalQuote, _ := eth.NotionalQuote(300_001, -1) // short 0.001 ETH at 3000.01
	absNotionalQuote, _ := fixed.Abs(notionalQuote)
	feeQuote, _ := fixed.ApplyPpm(absNotionalQuote, 500, fixed.RoundUp)
	wrongQuote, _ := fixed.ApplyPpm(notionalQuote, 500, fixed.RoundUp)
	fmt.Println(notionalQuote, feeQuote, wrongQuote)
	_, err := fixed.Abs(math.MinInt64)
	fmt.Println(err)
	// Output:
	// -3000010 1501 -1500
	// fixed: overflow
}

// Rounding directions are floor and ceiling on the number line, so negative
// values round the way money code needs them to.
func ExampleMulDiv() {
	for _, a := range []int64{7, -7} {
		down, _ := fixed.MulDiv(a, 1, 2, fixed.RoundDown)
		up, _ := fixed.MulDiv(a, 1, 2, fixed.RoundUp)
		toward, _ := fixed.MulDiv(a, 1, 2, fixed.RoundTowardZero)
		fmt.Printf("%d/2: down %d, up %d, toward zero %d\n", a, down, up, toward)
	}
	// The 128-bit intermediate keeps a*b from overflowing on its own.
	q, err := fixed.MulDiv(1<<62, 1<<10, 1<<12, fixed.RoundDown)
	fmt.Println(q, err)
	_, err = fixed.MulDiv(1<<62, 4, 1, fixed.RoundDown)
	fmt.Println(err)
	// Output:
	// 7/2: down 3, up 4, toward zero 3
	// -7/2: down -4, up -3, toward zero -3
	// 1152921504606846976 <nil>
	// fixed: overflow
}

// A maker rebate is a negative rate; rounding up moves it toward zero, so
// the exchange never pays out more than the rate says.
func ExampleApplyPpm() {
	notionalQuote := int64(10_001) // 0.010001 USDT
	rebateQuote, _ := fixed.ApplyPpm(notionalQuote, -100, fixed.RoundUp)
	fmt.Println(rebateQuote)
	// Output:
	// -1
}
