package fixed_test

import (
	"errors"
	"fmt"

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
	// A fee is charged to the user, so it rounds up.
	feeQuote, _ := fixed.ApplyPpm(notionalQuote, takerFeeRatePpm, fixed.RoundUp)
	fmt.Println(priceTicks, qtyLots, fixed.QuoteAmount(notionalQuote), fixed.QuoteAmount(feeQuote))

	// Off-grid input is refused, never rounded.
	_, err = btc.Ticks(decimal.RequireFromString("100.05"), 10_000_000)
	fmt.Println(errors.Is(err, fixed.ErrOffGrid), err)
	// Output:
	// 1000005 250 25000.125 12.5000625
	// true fixed: off grid: price 100.05 is not a multiple of tick size 0.1
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
	notionalQuote := int64(10_001) // 0.00010001 USDT
	rebateQuote, _ := fixed.ApplyPpm(notionalQuote, -100, fixed.RoundUp)
	fmt.Println(rebateQuote)
	// Output:
	// -1
}
