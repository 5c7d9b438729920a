// Package margin is the exchange's risk arithmetic: leverage brackets,
// initial and maintenance margin, unrealized PnL and the liquidation test,
// liquidation prices, the mark price and funding. It holds no state of its
// own beyond small value types (a bracket table, a basis moving average, a
// premium accumulator); the engine owns accounts and positions and calls
// these pure functions with int64 fixed-point values from package fixed:
// prices in ticks, sizes in lots, money in quote units (10^-6 USDT), rates
// in ppm.
//
// Every division names its rounding, chosen so the exchange never mints
// money: requirements (initial and maintenance margin, funding a position
// pays) round up; credits (funding a position receives) round down; the
// maintenance amount of a bracket rounds down, which raises the
// requirement. Products are exact (128-bit intermediates) and an overflow
// is ErrOverflow, never a wrapped value. The functions on the engine's hot
// paths (MaintenanceMargin, InitialMargin, UnrealizedPnL, FundingPayment,
// LiquidationPrice, MarkPrice) allocate nothing, errors included: they
// return pre-wrapped errors that match ErrInvalidInput or ErrOverflow with
// errors.Is.
//
// Typical use in the engine, for an isolated long on BTCUSDT:
//
//	brackets := margin.DefaultBTC()        // or margin.NewBrackets(config)
//	qptl := grid.QuotePerTickLot()         // 100 for tick 0.1 × lot 0.001
//	notional, err := grid.NotionalQuote(priceTicks, sizeLots)
//	if leverage > brackets.MaxLeverage(notional) {
//		return rejectLeverage
//	}
//	im, err := margin.InitialMargin(notional, leverage) // rounded up
//
//	// On each mark price: the liquidation test.
//	markNotional, err := grid.NotionalQuote(markTicks, sizeLots)
//	mm, err := brackets.MaintenanceMargin(markNotional)
//	upnl, err := margin.UnrealizedPnL(margin.Long, sizeLots, markTicks, entryValueQuote, qptl)
//	if margin.Liquidatable(isolatedMarginQuote, upnl, mm) {
//		// hand the position to the liquidation procedure
//	}
//
//	// For display: the price at which that test flips.
//	lp, ok, err := margin.LiquidationPrice(margin.LiqInput{
//		Side: margin.Long, SizeLots: sizeLots, EntryValueQuote: entryValueQuote,
//		WalletQuote: isolatedMarginQuote, QuotePerTickLot: qptl, Brackets: brackets,
//	})
//
// For a cross position, WalletQuote is the account's wallet and
// OtherMaintQuote / OtherUnrealizedQuote sum the account's other cross
// positions at their marks; Liquidatable is then called with the wallet,
// the unrealized PnL of all cross positions and their summed maintenance.
//
// The mark price (MarkPrice) is the median of the funding-carried index,
// the index plus a moving average of the book's basis (BasisAverage), and
// the last trade. Funding: PremiumIndexPpm samples the book against the
// index, PremiumAverage averages the samples over the interval, FundingRate
// adds the interest component and clamp, and FundingPayment charges each
// position, rounding so that the sum over all positions is never negative;
// the caller credits that remainder to the insurance fund.
//
// This package imports only fixed from the module.
package margin
