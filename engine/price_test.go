package engine

import (
	"testing"

	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

// The impact price is the exact average fill price of the impact notional,
// rounded away from the middle of the book, and 0 for a side too thin.
func TestImpactPrice(t *testing.T) {
	e, _ := stopFixture(t, DefaultConfig())
	ms := &e.markets[0] // BTCUSDT: tick 0.1, lot 0.001, impact notional 25,000 USDT
	if ms.ImpactNotionalQuote != 25_000*fixed.QuoteUnitsPerWhole {
		t.Fatalf("impact notional %d", ms.ImpactNotionalQuote)
	}
	if got := e.impactPrice(ms, orderbook.Buy); got != 0 {
		t.Fatalf("empty bids: %d", got)
	}
	var ev []Event
	rest := func(side orderbook.Side, price, lots int64) {
		c := Command{Kind: CmdPlaceOrder, TsNanos: e.lastTs, Side: side, Type: orderbook.Limit,
			TIF: orderbook.GTC, PriceTicks: price, QtyLots: lots}
		ev = e.Apply(&c, ev[:0])
		if ev[0].Kind != EventOrderAccepted {
			t.Fatalf("%v", ev)
		}
	}
	// Bids: 0.1 BTC at 99,900 (9,990 USDT), 0.1 at 99,800 (9,980), 0.2 at
	// 99,000 (19,800). 25,000 USDT takes the first two levels whole and
	// 5,030 USDT of the third: 0.2 + 5,030/99,000 BTC for 25,000 USDT,
	// 25,000 / 0.250808... = 99,677.8...; ticks of 0.1 round down.
	rest(orderbook.Buy, 999_000, 100)
	rest(orderbook.Buy, 998_000, 100)
	if got := e.impactPrice(ms, orderbook.Buy); got != 0 {
		t.Fatalf("19,970 USDT of bids: %d, want 0 (too thin)", got)
	}
	rest(orderbook.Buy, 990_000, 200)
	// need·p / (Σ·p + r) with Σ = 200 lots × 100 quote units per tick-lot
	// ... computed independently here with big-enough int64 steps.
	need, p := int64(25_000_000_000), int64(990_000)
	sigma := int64(200) * ms.Grid.QuotePerTickLot()
	r := need - (100*999_000+100*998_000)*ms.Grid.QuotePerTickLot()
	want, _ := fixed.MulDiv(need, p, sigma*p+r, fixed.RoundDown)
	if got := e.impactPrice(ms, orderbook.Buy); got != want || got < 996_770 || got > 996_790 {
		t.Fatalf("impact bid %d, want %d (≈ 99,677.8)", got, want)
	}
	// One level that absorbs it all: its own price.
	rest(orderbook.Sell, 1_010_000, 1_000)
	if got := e.impactPrice(ms, orderbook.Sell); got != 1_010_000 {
		t.Fatalf("impact ask %d, want 1,010,000", got)
	}
}
