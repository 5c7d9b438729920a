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
	want := make([]openOrders, len(e.slots))
	wantRO := make([]roLots, len(e.ro))
	books := 0 // book orders with a client order id
	var roTotal int64
	// Order ids are unique across every book and the conditional orders.
	ids := map[orderbook.OrderID]bool{}
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
				w, wro := &want[k], &wantRO[k]
				ro := int64(0)
				if o.Tag&tagReduceOnly != 0 {
					ro = o.RemainingLots
				}
				if s == orderbook.Buy {
					w.buyLots += o.RemainingLots
					w.buyValueQuote += o.RemainingLots * o.PriceTicks * qptl
					wro.buy += ro
				} else {
					w.sellLots += o.RemainingLots
					w.sellValueQuote += o.RemainingLots * o.PriceTicks * qptl
					wro.sell += ro
				}
				roTotal += ro
				if cid, ok := e.cids.of(o.ID); ok != (o.Tag&tagClientID != 0) || ok && cid.account != AccountID(o.Account) {
					return fmt.Errorf("%w: order %d of account %d has tag %#x, client order id %+v", ErrInvariant, o.ID, o.Account, o.Tag, cid)
				}
				if o.Tag&tagClientID != 0 {
					books++
				}
				if ids[o.ID] || o.ID > e.nextOrderID {
					return fmt.Errorf("%w: order %d rests twice or above the next id %d", ErrInvariant, o.ID, e.nextOrderID)
				}
				ids[o.ID] = true
			}
		}
	}
	if roTotal != e.roResting {
		return fmt.Errorf("%w: %d reduce-only lots counted, the books hold %d", ErrInvariant, e.roResting, roTotal)
	}
	for k := range want {
		if want[k] != e.slots[k].open || wantRO[k] != e.ro[k] {
			return fmt.Errorf("%w: account %d market %d: open orders %+v (reduce-only %+v), the book holds %+v (%+v)",
				ErrInvariant, k/len(e.markets), k%len(e.markets), e.slots[k].open, e.ro[k], want[k], wantRO[k])
		}
		if err := e.checkReduceOnly(k); err != nil {
			return err
		}
	}
	return e.checkConditional(books, ids)
}

// checkReduceOnly checks fitReduceOnly's rule for one account and market:
// reduce-only orders rest only on the closing side, and while one does, the
// orders on that side total at most the position.
func (e *Engine) checkReduceOnly(k int) error {
	o, ro := &e.slots[k].open, e.ro[k]
	if ro == (roLots{}) {
		return nil
	}
	a, m := AccountID(k/len(e.markets)), MarketID(k%len(e.markets))
	p, _ := e.ledger.Position(a, m)
	ok := p.SizeLots > 0 && ro.buy == 0 && o.sellLots <= p.SizeLots ||
		p.SizeLots < 0 && ro.sell == 0 && o.buyLots <= -p.SizeLots
	if !ok {
		return fmt.Errorf("%w: account %d market %d: orders %+v, reduce-only %+v, against position %d", ErrInvariant, a, m, *o, ro, p.SizeLots)
	}
	return nil
}

// checkConditional checks the conditional orders' two indexes against each
// other, and the client order ids against the orders: every id belongs to
// exactly one open order of its account (books of them rest, the others
// wait for a trigger).
func (e *Engine) checkConditional(books int, ids map[orderbook.OrderID]bool) error {
	if err := e.cids.check(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvariant, err)
	}
	var unknown error
	e.cids.each(func(k cidKey, _ orderbook.OrderID) {
		if int(k.account) >= e.ledger.NumAccounts() && unknown == nil {
			unknown = fmt.Errorf("%w: client order id %q of unknown account %d", ErrInvariant, k.cid, k.account)
		}
	})
	if unknown != nil {
		return unknown
	}
	indexed, withCID := 0, 0
	for i := range e.markets {
		x := &e.markets[i].triggers
		if x.n != x.len() {
			return fmt.Errorf("%w: market %d counts %d conditional orders, its trees hold %d", ErrInvariant, i, x.n, x.len())
		}
		indexed += x.n
	}
	count := map[[2]int]int{}
	for it := e.stops.Iterator(); it.Next(); {
		s, k := it.Value(), it.Key()
		if int(s.account) >= e.ledger.NumAccounts() || int(s.market) >= len(e.markets) {
			return fmt.Errorf("%w: conditional order %d of unknown account %d or market %d", ErrInvariant, s.id, s.account, s.market)
		}
		if k != (ownerKey{s.account, s.market, s.id}) {
			return fmt.Errorf("%w: conditional order %d filed under %+v", ErrInvariant, s.id, k)
		}
		if got, ok := e.markets[s.market].triggers.tree(s).Get(triggerKey{s.triggerTicks, s.id}); !ok || got != s {
			return fmt.Errorf("%w: conditional order %d missing from its trigger index", ErrInvariant, s.id)
		}
		if !s.cid.IsZero() {
			if k, _ := e.cids.of(s.id); k != (cidKey{s.account, s.cid}) {
				return fmt.Errorf("%w: conditional order %d: client order id %q not registered", ErrInvariant, s.id, s.cid)
			}
			withCID++
		}
		if ids[s.id] || s.id == 0 || s.id > e.nextOrderID {
			return fmt.Errorf("%w: conditional order %d: its id is taken, or not below the next id %d", ErrInvariant, s.id, e.nextOrderID)
		}
		ids[s.id] = true
		count[[2]int{int(s.account), int(s.market)}]++
	}
	if indexed != e.stops.Size() {
		return fmt.Errorf("%w: %d conditional orders, %d in the trigger indexes", ErrInvariant, e.stops.Size(), indexed)
	}
	if books+withCID != e.cids.len() {
		return fmt.Errorf("%w: %d client order ids, %d open orders with one", ErrInvariant, e.cids.len(), books+withCID)
	}
	for k, n := range count {
		if n > e.cfg.MaxStopOrders {
			return fmt.Errorf("%w: account %d has %d conditional orders in market %d", ErrInvariant, k[0], n, k[1])
		}
	}
	return nil
}
