// Package fixed holds the exchange's money arithmetic: int64 fixed point,
// converted exactly from and to shopspring/decimal at the edges.
//
// Inside the engine every number is an int64 whose unit is in its name:
// priceTicks (multiples of a market's tick size), qtyLots (multiples of its
// lot size), marginQuote and other quote amounts (multiples of 10^-6 USDT;
// QuoteDecimals says why six places), feeRatePpm and other rates (parts per
// million). Integers keep replay byte-identical and make every rounding
// visible; decimal is used only where people and configs meet the exchange.
//
// Conversions into the grid never round: a price of 100.05 on a 0.1 tick is
// an error (ErrOffGrid), not 100.0 or 100.1, because the exchange must trade
// exactly what the user asked for or refuse. Arithmetic is checked: an
// overflow is an error (ErrOverflow), never a wrapped value, and every
// division names its Rounding so a reader can check that requirements round
// up, credits round down, and the exchange never mints money.
//
// Typical use at the edge and in the engine:
//
//	grid, err := fixed.NewGrid(decimal.RequireFromString("0.1"), decimal.RequireFromString("0.001"))
//	if err != nil {
//		return err // a bad market config
//	}
//	priceTicks, err := grid.Ticks(req.Price, maxPriceTicks) // "100000.5" -> 1000005
//	if errors.Is(err, fixed.ErrOffGrid) {
//		return rejectOffTick
//	}
//	qtyLots, err := grid.Lots(req.Qty, maxQtyLots) // "0.25" -> 250
//	...
//	fillLots := qtyLots
//	if req.Side == Sell {
//		fillLots = -qtyLots // fills and positions are signed
//	}
//	notionalQuote, err := grid.NotionalQuote(priceTicks, fillLots) // < 0 for a sell
//	// Requirements are sized on the absolute notional: rounding a sell's
//	// negative notional "up" would move it toward zero and undercharge by
//	// up to one quote unit.
//	absNotionalQuote, err := fixed.Abs(notionalQuote)
//	// Fees charged to a user round up so the exchange never gives away a
//	// fraction of a quote unit; a negative (rebate) rate also rounds up,
//	// toward zero, so a rebate is never overpaid.
//	feeQuote, err := fixed.ApplyPpm(absNotionalQuote, takerFeeRatePpm, fixed.RoundUp)
//	// Initial margin = |notional| / leverage, a requirement, so it rounds up.
//	marginQuote, err := fixed.Div(absNotionalQuote, leverage, fixed.RoundUp)
//	...
//	report.Balance = fixed.QuoteAmount(balanceQuote) // back to decimal, exactly
//
// The arithmetic functions (Add, Sub, Mul, Abs, MulDiv, Div, ApplyPpm and
// Grid.NotionalQuote) allocate nothing and return unwrapped sentinel errors,
// so they can sit on the matching and liquidation hot paths. The conversions
// allocate and wrap their errors with the offending value and grid, since
// they run once per request or config load.
//
// This package imports nothing else from the module; everything may import it.
package fixed
