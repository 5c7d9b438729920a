package margin_test

import (
	"fmt"

	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
)

// A bracket table from a config, its derived maintenance amounts, and the
// requirements of a 1 BTC position at 100,000 USDT.
func ExampleBrackets() {
	w := func(usdt int64) int64 { return usdt * fixed.QuoteUnitsPerWhole }
	b, err := margin.NewBrackets([]margin.TierSpec{
		{FloorQuote: 0, CapQuote: w(50_000), MaxLeverage: 125, MaintRatePpm: 4_000},          // 0.40%
		{FloorQuote: w(50_000), CapQuote: w(600_000), MaxLeverage: 100, MaintRatePpm: 5_000}, // 0.50%
		{FloorQuote: w(600_000), CapQuote: w(3_000_000), MaxLeverage: 75, MaintRatePpm: 6_500},
	})
	if err != nil {
		panic(err)
	}
	for i := range b.Len() {
		t := b.TierAt(i)
		fmt.Printf("tier %d: up to %s USDT, %dx, rate %s, amount %s\n", t.Number,
			fixed.QuoteAmount(t.CapQuote), t.MaxLeverage, fixed.Rate(t.MaintRatePpm), fixed.QuoteAmount(t.MaintAmountQuote))
	}
	notional := w(100_000)
	mm, _ := b.MaintenanceMargin(notional)
	im, _ := margin.InitialMargin(notional, 20)
	fmt.Println("max leverage", b.MaxLeverage(notional), "maintenance", fixed.QuoteAmount(mm), "initial at 20x", fixed.QuoteAmount(im))

	// A broken table reports every problem at once.
	_, err = margin.NewBrackets([]margin.TierSpec{
		{FloorQuote: 0, CapQuote: w(100), MaxLeverage: 10, MaintRatePpm: 5_000},
		{FloorQuote: w(200), CapQuote: w(300), MaxLeverage: 20, MaintRatePpm: 5_000},
	})
	fmt.Println(err)
	// Output:
	// tier 1: up to 50000 USDT, 125x, rate 0.004, amount 0
	// tier 2: up to 600000 USDT, 100x, rate 0.005, amount 50
	// tier 3: up to 3000000 USDT, 75x, rate 0.0065, amount 950
	// max leverage 100 maintenance 450 initial at 20x 5000
	// margin: invalid brackets: tier 2: floor 200 differs from tier 1's cap 100
	// margin: invalid brackets: tier 2: max leverage 20 is above tier 1's 10
	// margin: invalid brackets: tier 2: maintenance rate 0.005 is not above tier 1's 0.005
}

// The issue's example: an isolated long of 1 BTC entered at 100,000 with
// 10,000 USDT of margin, at a maintenance rate of 0.4% and amount 0. The
// venue formula gives 90,361.4458…; the position is safe at 90,361.5 and
// liquidatable one tick lower, so 90,361.5 is shown.
func ExampleLiquidationPrice() {
	grid := fixed.MustNewGrid("0.1", "0.001")
	flat := margin.MustNewBrackets([]margin.TierSpec{{FloorQuote: 0, CapQuote: 1 << 62, MaxLeverage: 125, MaintRatePpm: 4_000}})
	entryValue, _ := grid.NotionalQuote(1_000_000, 1_000) // 1 BTC at 100,000.0
	in := margin.LiqInput{
		Side:            margin.Long,
		SizeLots:        1_000,
		EntryValueQuote: entryValue,
		WalletQuote:     10_000 * fixed.QuoteUnitsPerWhole,
		QuotePerTickLot: grid.QuotePerTickLot(),
		Brackets:        flat,
	}
	lp, ok, err := margin.LiquidationPrice(in)
	fmt.Println(grid.Price(lp), ok, err)

	// The engine's own test agrees: safe at LP, liquidatable a tick below.
	for _, p := range []int64{lp, lp - 1} {
		pnl, _ := margin.UnrealizedPnL(margin.Long, 1_000, p, entryValue, grid.QuotePerTickLot())
		notional, _ := grid.NotionalQuote(p, 1_000)
		mm, _ := flat.MaintenanceMargin(notional)
		fmt.Println(grid.Price(p), "balance", fixed.QuoteAmount(in.WalletQuote+pnl), "maintenance", fixed.QuoteAmount(mm),
			"liquidatable", margin.Liquidatable(in.WalletQuote, pnl, mm))
	}

	// The same position short: rounded down, to 109,561.7.
	in.Side = margin.Short
	lp, ok, _ = margin.LiquidationPrice(in)
	fmt.Println(grid.Price(lp), ok)
	// Output:
	// 90361.5 true <nil>
	// 90361.5 balance 361.5 maintenance 361.446 liquidatable false
	// 90361.4 balance 361.4 maintenance 361.4456 liquidatable true
	// 109561.7 true
}

// The mark price is the median of the funding-carried index, the index
// plus the book's average basis, and the last trade; a wild last trade
// does not move it.
func ExampleMarkPrice() {
	var basis margin.BasisAverage
	for _, mid := range [][2]int64{{1_000_020, 1_000_022}, {1_000_030, 1_000_032}, {1_000_040, 1_000_042}} {
		_ = basis.Add(mid[0], mid[1], 1_000_000) // bid, ask, index in ticks
	}
	avg, ok := basis.Ticks()
	in := margin.MarkInput{
		IndexTicks:           1_000_000,
		LastFundingRatePpm:   100, // 0.01%
		NanosToFunding:       2 * 3_600_000_000_000,
		FundingIntervalNanos: margin.DefaultFundingIntervalNanos,
		BasisTicks:           avg,
		HasBasis:             ok,
		LastTradeTicks:       1_100_000, // a fat-finger trade 10% up
	}
	mark, _ := margin.MarkPrice(in)
	fmt.Println("basis", avg, "mark", mark)

	in.HasBasis = false // book empty: the mean of the other two
	mark, _ = margin.MarkPrice(in)
	fmt.Println("no book", mark)
	in.LastTradeTicks = 0 // and no trade either: the index
	mark, _ = margin.MarkPrice(in)
	fmt.Println("nothing", mark)
	// Output:
	// basis 31 mark 1000031
	// no book 1050012
	// nothing 1000000
}
