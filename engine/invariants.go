package engine

import (
	"errors"
	"fmt"

	"github.com/paperperps/exchange/orderbook"
)

// ErrInvariant is wrapped by every error CheckInvariants returns.
var ErrInvariant = errors.New("engine: invariant broken")

// CheckInvariants verifies the whole state: every book's own invariants,
// the ledger's (money conserved exactly, open interest long = short), and
// that the open-order sums behind the margin checks equal what the books
// hold. It costs O(orders + accounts × markets); tests call it, the
// command path never does.
func (e *Engine) CheckInvariants() error {
	if err := e.ledger.CheckInvariants(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvariant, err)
	}
	want := make([]openOrders, len(e.open))
	var orders []orderbook.RestingOrder
	for i := range e.markets {
		ms := &e.markets[i]
		if err := ms.book.CheckInvariants(); err != nil {
			return fmt.Errorf("%w: market %s: %w", ErrInvariant, ms.Symbol, err)
		}
		qptl := ms.Grid.QuotePerTickLot()
		for _, s := range [...]orderbook.Side{orderbook.Buy, orderbook.Sell} {
			orders = ms.book.Orders(s, orders[:0])
			for _, o := range orders {
				k := e.slot(AccountID(o.Account), MarketID(i))
				if k >= len(want) {
					return fmt.Errorf("%w: order %d of unknown account %d", ErrInvariant, o.ID, o.Account)
				}
				w := &want[k]
				if s == orderbook.Buy {
					w.buyLots += o.RemainingLots
					w.buyValueQuote += o.RemainingLots * o.PriceTicks * qptl
				} else {
					w.sellLots += o.RemainingLots
					w.sellValueQuote += o.RemainingLots * o.PriceTicks * qptl
				}
			}
		}
	}
	for k := range want {
		if want[k] != e.open[k] {
			return fmt.Errorf("%w: account %d market %d: open orders %+v, the book holds %+v",
				ErrInvariant, k/len(e.markets), k%len(e.markets), e.open[k], want[k])
		}
	}
	return nil
}
