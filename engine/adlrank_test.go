package engine

import (
	"testing"

	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

// Ten shorts of the same size and entry at leverage 1..10 against one
// long: in profit after a fall, the more leveraged rank higher; the top
// fifth is rank 5, the bottom fifth rank 1.
func TestADLRank(t *testing.T) {
	e, apply := stopFixture(t, DefaultConfig()) // account 0, mark 100,000
	for i := range 10 {
		apply(Command{Kind: CmdCreateAccount})
		a := AccountID(1 + i)
		apply(Command{Kind: CmdDeposit, Account: a, AmountQuote: 200_000 * fixed.QuoteUnitsPerWhole / int64(1+i)})
		apply(Command{Kind: CmdSetLeverage, Account: a, Leverage: int64(1 + i)})
		apply(Command{Kind: CmdPlaceOrder, Account: a, Side: orderbook.Sell, Type: orderbook.Limit, TIF: orderbook.GTC,
			PriceTicks: 1_000_000, QtyLots: 1_000})
	}
	apply(Command{Kind: CmdPlaceOrder, Account: 0, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.IOC,
		PriceTicks: 1_000_000, QtyLots: 10_000})
	apply(Command{Kind: CmdSetIndexPrice, PriceTicks: 990_000})
	for i := range 10 {
		a := AccountID(1 + i)
		rank, ok := e.ADLRank(a, 0)
		if want := 1 + i/2; !ok || rank != want {
			t.Errorf("account %d (leverage %d): rank %d %v, want %d", a, 1+i, rank, ok, want)
		}
	}
	if _, ok := e.ADLRank(11, 0); ok {
		t.Error("an unknown account has a rank")
	}
	if r, ok := e.ADLRank(0, 0); !ok || r != 5 {
		t.Errorf("the only long: rank %d %v, want 5", r, ok)
	}
}
