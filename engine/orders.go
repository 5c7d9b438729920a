package engine

import (
	"fmt"
	"math"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/margin"
	"github.com/paperperps/exchange/orderbook"
)

// Tags the engine gives book orders (orderbook.Order.Tag), so that only the
// ends of orders that have a client order id or are reduce-only cost a
// lookup.
const (
	tagClientID    uint8 = 1 << iota // registered in cids
	tagReduceOnly                    // kept within the position (fitReduceOnly)
	tagLiquidation                   // a liquidation order: no taker fee, fills marked
)

// place takes a new order: a conditional one waits in the stop index, any
// other enters the book now.
func (e *Engine) place(cmd *Command, ev []Event) ([]Event, Reason) {
	if !cmd.ClientOrderID.IsZero() {
		if !cmd.ClientOrderID.valid() {
			return ev, ReasonInvalidClientOrderID
		}
		if _, dup := e.cids.get(cidKey{cmd.Account, cmd.ClientOrderID}); dup {
			return ev, ReasonDuplicateClientOrderID
		}
	}
	if cmd.Trigger != TriggerNone {
		return e.placeStop(cmd, ev)
	}
	return e.enter(cmd, ev, 0)
}

// checkOrderFields checks what the market's limits and the book's rules say
// about an order's fields alone.
func (e *Engine) checkOrderFields(cmd *Command) Reason {
	ms := &e.markets[cmd.Market]
	switch {
	case cmd.Side != orderbook.Buy && cmd.Side != orderbook.Sell,
		cmd.Type != orderbook.Limit && cmd.Type != orderbook.Market,
		cmd.TIF < orderbook.GTC || cmd.TIF > orderbook.PostOnly,
		cmd.Type == orderbook.Market && (cmd.TIF == orderbook.GTC || cmd.TIF == orderbook.PostOnly),
		cmd.STP > orderbook.STPCancelBoth:
		return ReasonInvalidOrder
	case cmd.QtyLots < ms.MinQtyLots:
		return ReasonBelowMinQty
	case cmd.QtyLots > ms.MaxQtyLots:
		return ReasonAboveMaxQty
	case cmd.PriceTicks < 0 || (cmd.Type == orderbook.Limit && cmd.PriceTicks == 0) ||
		cmd.PriceTicks > ms.book.MaxPriceTicks():
		return ReasonInvalidPrice
	}
	return ReasonNone
}

// reduceOnlyReason says whether a reduce-only order on side may be placed
// against position size: there must be a position, and the order must
// close it.
func reduceOnlyReason(size int64, side orderbook.Side) Reason {
	switch {
	case size == 0:
		return ReasonReduceOnlyNoPosition
	case (size > 0) == (side == orderbook.Buy):
		return ReasonReduceOnlyWouldIncrease
	}
	return ReasonNone
}

// enter checks an order against the market's limits, reduce-only rules and
// the account's margin, then hands it to the book and settles its fills.
// reserved is the id of a triggered conditional order (its client order id
// is registered already), 0 for a new order.
func (e *Engine) enter(cmd *Command, ev []Event, reserved orderbook.OrderID) ([]Event, Reason) {
	a, m := cmd.Account, cmd.Market
	ms := &e.markets[m]
	var p clearing.Position
	e.preload(a, m, &p)
	if ms.markTicks == 0 {
		return ev, ReasonNoPrice
	}
	if r := e.checkOrderFields(cmd); r != ReasonNone {
		return ev, r
	}
	qty := cmd.QtyLots
	// A limit order is valued at its price. A market order may fill as far
	// as the band's upper edge above the mark (a buy no higher than its
	// protection price), and a higher price means a larger notional either
	// way, so it is valued there.
	priceForValue := cmd.PriceTicks
	if cmd.Type == orderbook.Market {
		priceForValue = ms.markTicks + ms.markTicks*ms.PriceBandPpm/1_000_000
		if cmd.Side == orderbook.Buy && cmd.PriceTicks > 0 {
			priceForValue = min(priceForValue, cmd.PriceTicks)
		}
	}
	var tag uint8
	if cmd.ReduceOnly {
		if r := reduceOnlyReason(p.SizeLots, cmd.Side); r != ReasonNone {
			return ev, r
		}
		// At most the position; if what rests of it and the account's
		// other closing orders could then overshoot, fitReduceOnly cuts it
		// after the trade.
		qty = min(qty, absInt(p.SizeLots))
		tag |= tagReduceOnly
	}
	valueQuote, err := notionalAt(qty, priceForValue, ms.Grid.QuotePerTickLot())
	if err != nil {
		return ev, ReasonAboveMaxQty
	}
	if valueQuote < ms.MinNotionalQuote && !cmd.ReduceOnly {
		return ev, ReasonBelowMinNotional
	}
	if !cmd.ReduceOnly {
		// The order is checked as if it rested in full: the position the
		// account would reach if every order on that side filled, plus the
		// taker fees on them. An order that does not add to that exposure
		// (it only closes) needs no new margin.
		o := e.slots[e.slot(a, m)].open
		before := o
		if cmd.Side == orderbook.Buy {
			o.buyLots += qty
			o.buyValueQuote += valueQuote
		} else {
			o.sellLots += qty
			o.sellValueQuote += valueQuote
		}
		if r := e.checkOrders(&p, before, o); r != ReasonNone {
			return ev, r
		}
	}
	if !cmd.ClientOrderID.IsZero() {
		tag |= tagClientID
	}
	// The order is written field by field and handed over by pointer: a
	// literal passed by value is copied with 16-byte loads that stall on
	// the stores that just built it.
	id := reserved
	if reserved == 0 {
		id = e.nextOrderID + 1
	}
	var order orderbook.Order
	order.ID, order.Account, order.Side, order.Type = id, orderbook.AccountID(a), cmd.Side, cmd.Type
	order.TIF, order.STP, order.PriceTicks, order.QtyLots, order.Tag = cmd.TIF, cmd.STP, cmd.PriceTicks, qty, tag
	if reserved == 0 {
		e.bookEv = ms.book.PlaceFrom(&order, e.bookEv[:0])
	} else {
		e.bookEv = ms.book.PlaceReservedFrom(&order, e.bookEv[:0])
	}
	if e.bookEv[0].Kind == orderbook.EventRejected {
		return ev, bookReason(e.bookEv[0].Reason)
	}
	if reserved == 0 {
		e.nextOrderID = id
		if tag&tagClientID != 0 {
			e.registerCID(a, cmd.ClientOrderID, id)
		}
	}
	ev = e.trade(cmd, ev, id, tag)
	return e.fitReduceOnly(cmd, ev, a, m), ReasonNone
}

// checkOrders decides whether account a may change its resting orders in
// m from before to after. A change that does not add to the exposure the
// orders could reach needs nothing; otherwise the reached position must be
// allowed the account's leverage by its bracket (or it would be
// liquidatable as it opens), and free collateral must stay non-negative
// with the new orders' margin and fees held back.
func (e *Engine) checkOrders(p *clearing.Position, before, after openOrders) Reason {
	a, m := p.Account, p.Market
	was, reached, err := e.exposureChange(p, before, after)
	if err != nil {
		return ReasonInsufficientMargin
	}
	if reached <= was {
		return ReasonNone
	}
	if e.slots[e.slot(a, m)].leverage > e.markets[m].Brackets.MaxLeverage(reached) {
		return ReasonLeverageAboveBracket
	}
	if free, err := e.freeCollateralWith(a, p, after, reached); err != nil || free < 0 {
		return ReasonInsufficientMargin
	}
	return ReasonNone
}

// trade turns the book's events of a command in which order id may trade as
// taker into the engine's, then counts what of it rests and moves the mark
// if it traded.
func (e *Engine) trade(cmd *Command, ev []Event, id orderbook.OrderID, tag uint8) []Event {
	ms := &e.markets[cmd.Market]
	lastTrade := ms.lastTradeTicks
	e.taker, e.incomingID = takerTally{}, id
	ev = e.bookEvents(cmd, ev)
	ev = e.flushTaker(cmd, ev, cmd.Account)
	e.incomingID = 0
	if side, priceTicks, lots, ok := ms.book.Resting(id); ok {
		e.addSums(cmd.Account, cmd.Market, side, lots, priceTicks) // addOpen, inlined
		if tag&tagReduceOnly != 0 {
			e.addRO(cmd.Account, cmd.Market, side, lots)
		}
	} else if tag&tagClientID != 0 {
		e.releaseCID(id) // filled in full on arrival: no event ended it
	}
	if ms.lastTradeTicks != lastTrade {
		// The last price is one of the mark's three components: a trade
		// moves the mark at once, not at the next index price.
		ev = e.markEvent(cmd, ev, ms)
	}
	return ev
}

// resolveOrder returns the order a cancel or amend names: OrderID, or if
// that is 0 the account's open order with ClientOrderID (0 if none).
func (e *Engine) resolveOrder(cmd *Command) orderbook.OrderID {
	if cmd.OrderID != 0 || cmd.ClientOrderID.IsZero() {
		return cmd.OrderID
	}
	id, _ := e.cids.get(cidKey{cmd.Account, cmd.ClientOrderID})
	return id
}

// amend changes a resting order through the book. The order is checked like
// a new one would be, with its old quantity taken out of the account's open
// orders first; it may then trade if its new price crosses. A reduce-only
// order needs no margin but is held within the position. Conditional
// orders are cancelled and placed again instead.
func (e *Engine) amend(cmd *Command, ev []Event) ([]Event, Reason) {
	a, m := cmd.Account, cmd.Market
	ms := &e.markets[m]
	id := e.resolveOrder(cmd)
	old, ok := ms.book.Order(id)
	if !ok || AccountID(old.Account) != a {
		if _, stop := e.stops.Get(ownerKey{a, m, id}); stop {
			return ev, ReasonStopNotAmendable
		}
		return ev, ReasonUnknownOrder
	}
	qty := cmd.QtyLots
	switch {
	case qty < ms.MinQtyLots:
		return ev, ReasonBelowMinQty
	case qty > ms.MaxQtyLots:
		return ev, ReasonAboveMaxQty
	case cmd.PriceTicks < 1:
		return ev, ReasonInvalidPrice
	}
	if old.Tag&tagReduceOnly == 0 && qty > old.FilledLots {
		// The amended order must be one a new order could be: its whole
		// quantity at the new price at least the minimum notional. (An
		// amendment to what has filled ends the order, and needs none.)
		v, err := notionalAt(qty, cmd.PriceTicks, ms.Grid.QuotePerTickLot())
		switch {
		case err != nil:
			return ev, ReasonAboveMaxQty
		case v < ms.MinNotionalQuote:
			return ev, ReasonBelowMinNotional
		}
	}
	k := e.slot(a, m)
	var p clearing.Position
	e.ledger.ReadPosition(a, m, &p)
	if old.Tag&tagReduceOnly != 0 {
		// The order may grow only into what the position leaves beyond
		// the account's other closing orders.
		if r := reduceOnlyReason(p.SizeLots, old.Side); r != ReasonNone {
			return ev, r // fitReduceOnly keeps this from happening
		}
		others := e.slots[k].open.lotsOn(old.Side) - old.RemainingLots
		qty = min(qty, old.FilledLots+absInt(p.SizeLots)-others)
	}
	before := e.slots[k].open
	o := before
	oldValue := old.RemainingLots * old.PriceTicks * ms.Grid.QuotePerTickLot()
	if old.Side == orderbook.Buy {
		o.buyLots, o.buyValueQuote = o.buyLots-old.RemainingLots, o.buyValueQuote-oldValue
	} else {
		o.sellLots, o.sellValueQuote = o.sellLots-old.RemainingLots, o.sellValueQuote-oldValue
	}
	if remaining := qty - old.FilledLots; remaining > 0 && old.Tag&tagReduceOnly == 0 {
		value, err := notionalAt(remaining, cmd.PriceTicks, ms.Grid.QuotePerTickLot())
		if err != nil {
			return ev, ReasonAboveMaxQty
		}
		if old.Side == orderbook.Buy {
			o.buyLots, o.buyValueQuote = o.buyLots+remaining, o.buyValueQuote+value
		} else {
			o.sellLots, o.sellValueQuote = o.sellLots+remaining, o.sellValueQuote+value
		}
		if r := e.checkOrders(&p, before, o); r != ReasonNone {
			return ev, r
		}
	}
	e.bookEv = ms.book.Amend(id, orderbook.AccountID(a), cmd.PriceTicks, qty, e.bookEv[:0])
	if e.bookEv[0].Kind == orderbook.EventRejected {
		return ev, bookReason(e.bookEv[0].Reason)
	}
	// The order's old quantity leaves the open sums here; trade adds back
	// whatever rests at the end.
	e.addOpen(a, m, old.Side, -old.RemainingLots, old.PriceTicks, old.Tag)
	ev = e.trade(cmd, ev, id, old.Tag)
	return e.fitReduceOnly(cmd, ev, a, m), ReasonNone
}

func (e *Engine) cancel(cmd *Command, ev []Event) ([]Event, Reason) {
	ms := &e.markets[cmd.Market]
	id := e.resolveOrder(cmd)
	e.bookEv = ms.book.Cancel(id, orderbook.AccountID(cmd.Account), e.bookEv[:0])
	if e.bookEv[0].Kind == orderbook.EventRejected {
		if s, ok := e.stops.Get(ownerKey{cmd.Account, cmd.Market, id}); ok && id != 0 {
			return e.cancelStop(cmd, ev, s, ReasonCancelledByUser), ReasonNone
		}
		return ev, bookReason(e.bookEv[0].Reason)
	}
	return e.bookEvents(cmd, ev), ReasonNone
}

// cancelAll cancels the account's orders in one market: those in the book,
// then the conditional ones, each in id order.
func (e *Engine) cancelAll(cmd *Command, ev []Event) ([]Event, Reason) {
	e.bookEv = e.markets[cmd.Market].book.CancelAccount(orderbook.AccountID(cmd.Account), e.bookEv[:0])
	ev = e.bookEvents(cmd, ev)
	return e.cancelStops(cmd, ev, cmd.Account, cmd.Market, ReasonCancelAll), ReasonNone
}

// addOpen adds (or with negative lots removes) resting quantity to an
// account's open-order sums, and for a reduce-only order (tag) to its
// reduce-only share.
func (e *Engine) addOpen(a AccountID, m MarketID, side orderbook.Side, lots, priceTicks int64, tag uint8) {
	e.addSums(a, m, side, lots, priceTicks)
	if tag&tagReduceOnly != 0 {
		e.addRO(a, m, side, lots)
	}
}

// addSums is addOpen without the reduce-only share. It runs for every fill,
// cancel and resting order, and is kept small enough to inline: those call
// sites write addOpen out as addSums and a tag check.
func (e *Engine) addSums(a AccountID, m MarketID, side orderbook.Side, lots, priceTicks int64) {
	v := lots * priceTicks * e.markets[m].Grid.QuotePerTickLot() // bounded: the order passed the value check
	o := &e.slots[e.slot(a, m)].open
	if side == orderbook.Buy {
		o.buyLots += lots
		o.buyValueQuote += v
	} else {
		o.sellLots += lots
		o.sellValueQuote += v
	}
}

// addRO is addOpen's reduce-only share.
func (e *Engine) addRO(a AccountID, m MarketID, side orderbook.Side, lots int64) {
	e.roResting += lots
	k := e.slot(a, m)
	if side == orderbook.Buy {
		e.ro[k].buy += lots
	} else {
		e.ro[k].sell += lots
	}
}

// bookEvents turns the book's events of one command into the engine's,
// settling every fill and keeping the open-order sums in step.
func (e *Engine) bookEvents(cmd *Command, ev []Event) []Event {
	m := cmd.Market
	for i := range e.bookEv {
		be := &e.bookEv[i]
		switch be.Kind {
		case orderbook.EventAccepted:
			if be.OrderID == e.triggeredID {
				continue // EventOrderTriggered said it
			}
			var x *Event
			ev, x = push(ev)
			x.Kind, x.Seq, x.Account, x.Market = EventOrderAccepted, cmd.Seq, AccountID(be.Account), m
			x.OrderID, x.Side, x.PriceTicks, x.QtyLots = be.OrderID, be.Side, be.PriceTicks, be.QtyLots
			if be.Tag&tagClientID != 0 {
				if be.OrderID == e.incomingID && !cmd.ClientOrderID.IsZero() {
					x.ClientOrderID = cmd.ClientOrderID // what registerCID just took: no lookup
				} else {
					k, _ := e.cids.of(be.OrderID)
					x.ClientOrderID = k.cid
				}
			}
		case orderbook.EventAmended:
			var x *Event
			ev, x = push(ev)
			x.Kind, x.Seq, x.Account, x.Market, x.OrderID = EventOrderAmended, cmd.Seq, AccountID(be.Account), m, be.OrderID
			x.Side, x.PriceTicks, x.QtyLots, x.RemainingLots = be.Side, be.PriceTicks, be.QtyLots, be.RemainingLots
			if be.Tag&tagClientID != 0 {
				k, _ := e.cids.of(be.OrderID)
				x.ClientOrderID = k.cid
			}
		case orderbook.EventCancelled:
			if be.OrderID != e.incomingID {
				// A resting order left the book (the incoming order's own
				// remainder never rested).
				e.addSums(AccountID(be.Account), m, be.Side, -be.QtyLots, be.PriceTicks) // addOpen, inlined
				if be.Tag&tagReduceOnly != 0 {
					e.addRO(AccountID(be.Account), m, be.Side, -be.QtyLots)
				}
			}
			var x *Event
			ev, x = push(ev)
			x.Kind, x.Seq, x.Account, x.Market, x.OrderID = EventOrderCancelled, cmd.Seq, AccountID(be.Account), m, be.OrderID
			x.Side, x.PriceTicks, x.QtyLots, x.Reason = be.Side, be.PriceTicks, be.QtyLots, bookReason(be.Reason)
			if be.Tag&tagClientID != 0 {
				x.ClientOrderID = e.releaseCID(be.OrderID)
			}
		case orderbook.EventFill:
			ev = e.settleFill(cmd, ev, be)
			if be.MakerDone && be.MakerTag&tagClientID != 0 {
				e.releaseCID(be.MakerOrderID)
			}
		}
	}
	if e.cfg.BookLevelEvents {
		ev = e.levelEvents(cmd, ev)
	}
	return ev
}

// levelEvents appends an EventBookLevel for each level the book operation
// that just ran changed (Book.Changes: each level once, with its new
// total).
func (e *Engine) levelEvents(cmd *Command, ev []Event) []Event {
	for _, c := range e.markets[cmd.Market].book.Changes() {
		var x *Event
		ev, x = push(ev)
		x.Kind, x.Seq, x.Market, x.Side, x.PriceTicks, x.QtyLots = EventBookLevel, cmd.Seq, cmd.Market, c.Side, c.PriceTicks, c.TotalLots
	}
	return ev
}

// settleFill books one trade into both accounts.
func (e *Engine) settleFill(cmd *Command, ev []Event, be *orderbook.Event) []Event {
	m := cmd.Market
	ms := &e.markets[m]
	taker, maker := AccountID(be.Account), AccountID(be.MakerAccount)
	e.addSums(maker, m, be.Side.Opposite(), -be.QtyLots, be.PriceTicks) // addOpen, inlined
	if be.MakerTag&tagReduceOnly != 0 {
		e.addRO(maker, m, be.Side.Opposite(), -be.QtyLots)
	}
	var pt, pm clearing.Position
	e.ledger.ReadPosition(taker, m, &pt)
	if taker == maker || fundsIsolated(&pt, be.Side, be.QtyLots) {
		// Another balance event of the taker's account is coming: report
		// its fills so far first, so every event's balance follows from
		// the one before.
		ev = e.flushTaker(cmd, ev, taker)
	}
	ev = e.fundIsolated(cmd, ev, &pt, be.Side, be.QtyLots, be.PriceTicks)
	e.ledger.ReadPosition(maker, m, &pm) // after the taker's funding: a self-trade shares it
	ev = e.fundIsolated(cmd, ev, &pm, be.Side.Opposite(), be.QtyLots, be.PriceTicks)
	takerWallet, _ := e.ledger.Wallet(taker)
	makerWallet, _ := e.ledger.Wallet(maker)
	var res clearing.TradeResult
	liq := be.Tag&tagLiquidation != 0
	err := e.ledger.SettleTradeInto(clearing.Trade{Market: m, PriceTicks: be.PriceTicks, QtyLots: be.QtyLots,
		Maker: maker, Taker: taker, TakerBuys: be.Side == orderbook.Buy, TakerFeeFree: liq}, &res)
	if err != nil {
		// Quantities and prices are bounded by the market config, so this
		// is a broken invariant: stop rather than continue with books that
		// disagree.
		panic(fmt.Errorf("engine: settling fill of order %d: %w", be.OrderID, err))
	}
	ms.lastTradeTicks = be.PriceTicks
	e.touch(taker)
	e.touch(maker)
	ev, x := push(ev)
	x.Kind, x.Seq, x.Market, x.OrderID, x.Account, x.Side = EventFill, cmd.Seq, m, be.OrderID, taker, be.Side
	x.MakerOrderID, x.MakerAccount, x.PriceTicks, x.QtyLots = be.MakerOrderID, maker, be.PriceTicks, be.QtyLots
	x.FeeQuote, x.MakerFeeQuote = res.Taker.FeeQuote, res.Maker.FeeQuote
	if liq {
		x.Cause = CauseLiquidation
		e.liqFilledLots += be.QtyLots
		e.liqFilledValue += be.QtyLots * be.PriceTicks // bounded: the order passed the book's limits
	}
	if taker != maker {
		// The taker's balance and position are reported once, after its
		// last fill (see place); each maker's after its fill.
		w, _ := e.ledger.Wallet(taker)
		e.taker.walletDelta += w - takerWallet
		e.taker.realized += res.Taker.RealizedPnLQuote
		e.taker.filled = true
		return e.tradeEvents(cmd, ev, maker, makerWallet, res.Maker.RealizedPnLQuote)
	}
	// A self-trade settles both sides into one account: report it once.
	return e.tradeEvents(cmd, ev, maker, makerWallet, res.Maker.RealizedPnLQuote+res.Taker.RealizedPnLQuote)
}

// takerTally sums the incoming order's fills of one command.
type takerTally struct {
	walletDelta, realized int64
	filled                bool
}

// flushTaker reports the incoming order's fills summed so far.
func (e *Engine) flushTaker(cmd *Command, ev []Event, taker AccountID) []Event {
	if !e.taker.filled {
		return ev
	}
	w, _ := e.ledger.Wallet(taker)
	ev = e.tradeEvents(cmd, ev, taker, w-e.taker.walletDelta, e.taker.realized)
	e.taker = takerTally{}
	return ev
}

// fundsIsolated reports whether fundIsolated may move margin for a fill of
// lots on side into position p: it is isolated and the fill does not only
// reduce it.
func fundsIsolated(p *clearing.Position, side orderbook.Side, lots int64) bool {
	if p.Mode != clearing.Isolated {
		return false
	}
	if side == orderbook.Sell {
		lots = -lots
	}
	after := p.SizeLots + lots
	return !(absInt(after) <= absInt(p.SizeLots) && (after == 0 || (after > 0) == (p.SizeLots > 0)))
}

// tradeEvents reports an account's wallet change (if any) and position after
// trading.
func (e *Engine) tradeEvents(cmd *Command, ev []Event, a AccountID, walletBefore, realized int64) []Event {
	if w, _ := e.ledger.Wallet(a); w != walletBefore {
		var x *Event
		ev, x = push(ev)
		x.Kind, x.Seq, x.Account, x.Cause, x.AmountQuote, x.BalanceQuote = EventBalance, cmd.Seq, a, CauseTrade, w-walletBefore, w
	}
	return e.positionEvent(cmd, ev, a, cmd.Market, realized)
}

// fundIsolated moves margin from the wallet into an isolated position that
// a fill is about to open, increase or flip: the initial margin of the
// position after the fill, plus for a flip the loss its closing part
// realizes, so that the new side starts with its full initial margin. The
// fee is charged to that margin, as in the design brief's example: a 5,000
// USDT position of a 15,000 USDT account can lose at most its 5,000 (fee
// included) and the 10,000 stays. Only what the wallet holds can move; the
// order's check reserved it.
func (e *Engine) fundIsolated(cmd *Command, ev []Event, p *clearing.Position, side orderbook.Side, lots, priceTicks int64) []Event {
	if !fundsIsolated(p, side, lots) {
		return ev // cross, or a reduction or a close: nothing to move
	}
	a, m := p.Account, p.Market
	after := p.SizeLots + lots
	if side == orderbook.Sell {
		after = p.SizeLots - lots
	}
	fill, err := notionalAt(lots, priceTicks, p.QuotePerTickLot)
	if err != nil {
		return ev
	}
	// The entry value after the fill: grown by the fill, or for a flip the
	// new side's lots at the fill price.
	value, loss := absInt(p.EntryValueQuote)+fill, int64(0)
	if p.SizeLots != 0 && (after > 0) != (p.SizeLots > 0) {
		value, _ = notionalAt(absInt(after), priceTicks, p.QuotePerTickLot)
		closeValue, _ := notionalAt(absInt(p.SizeLots), priceTicks, p.QuotePerTickLot)
		if p.SizeLots > 0 {
			loss = max(0, absInt(p.EntryValueQuote)-closeValue)
		} else {
			loss = max(0, closeValue-absInt(p.EntryValueQuote))
		}
	}
	im, err := margin.InitialMargin(value, e.slots[e.slot(a, m)].leverage)
	if err != nil {
		return ev
	}
	need := im + loss
	w, _ := e.ledger.Wallet(a)
	amount := min(need-p.IsolatedMarginQuote, w)
	if amount <= 0 {
		return ev
	}
	if r := e.ledger.AddIsolatedMargin(a, m, amount, math.MaxInt64); r != clearing.ReasonNone {
		return ev
	}
	return e.balanceEvent(cmd, ev, a, CauseIsolatedMargin, -amount)
}

// positionEvent reports an account's position in m after a change.
func (e *Engine) positionEvent(cmd *Command, ev []Event, a AccountID, m MarketID, realized int64) []Event {
	var p clearing.Position
	e.ledger.ReadPosition(a, m, &p)
	lp, ok, alone, err := e.liqPriceOf(&p)
	if alone && err == nil && p.SizeLots != 0 {
		// The index (watch) needs the same price if nothing changes
		// before the end of the command.
		e.slots[e.slot(a, m)].lp = lpMemo{stamp: e.accts[a].stamp, lp: lp, ok: ok}
	}
	liq := lp
	if err != nil || !ok || e.isFund(a) {
		liq = 0 // the fund's positions are backed by the fund, not a wallet
	}
	ev, x := push(ev)
	x.Kind, x.Seq, x.Account, x.Market, x.Mode = EventPosition, cmd.Seq, a, m, p.Mode
	x.SizeLots, x.EntryValueQuote, x.IsolatedMarginQuote = p.SizeLots, p.EntryValueQuote, p.IsolatedMarginQuote
	x.RealizedPnLQuote, x.LiqPriceTicks = realized, liq
	return ev
}
