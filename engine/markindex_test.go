package engine_test

import (
	"testing"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

// With Config.MarkFromIndex the mark is the index whatever trades: the
// same trade moves the default mark (a median with the last trade).
func TestMarkFromIndex(t *testing.T) {
	marks := map[bool]int64{}
	for _, fromIndex := range []bool{false, true} {
		cfg := engine.DefaultConfig()
		cfg.MarkFromIndex = fromIndex
		e, err := engine.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var ev []engine.Event
		ts := int64(1_700_000_000_000_000_000)
		for _, c := range []engine.Command{
			{Kind: engine.CmdSetIndexPrice, PriceTicks: 1_000_000},
			{Kind: engine.CmdCreateAccount},
			{Kind: engine.CmdDeposit, AmountQuote: 1_000_000 * fixed.QuoteUnitsPerWhole},
			{Kind: engine.CmdPlaceOrder, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 960_000, QtyLots: 10},
			{Kind: engine.CmdPlaceOrder, Side: orderbook.Sell, Type: orderbook.Market, TIF: orderbook.IOC, QtyLots: 10},
			{Kind: engine.CmdSetIndexPrice, PriceTicks: 990_000},
		} {
			ts++
			c.TsNanos = ts
			ev = e.Apply(&c, ev[:0])
			for _, x := range ev {
				if x.Kind == engine.EventRejected {
					t.Fatalf("%v: %s", c.Kind, x)
				}
			}
		}
		_, marks[fromIndex] = e.Mark(0)
	}
	if marks[true] != 990_000 || marks[false] == 990_000 {
		t.Fatalf("marks: from the index %d (want 990,000), default %d (want the trade to move it)", marks[true], marks[false])
	}
}
