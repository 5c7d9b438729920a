package engine

import (
	"fmt"
	"math"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/margin"
	"github.com/paperperps/exchange/orderbook"
)

// place checks an order against the market's limits, reduce-only rules and
// the account's margin, then hands it to the book and settles its fills.
func (e *Engine) place(cmd *Command, ev []Event) ([]Event, Reason) {
	a, m := cmd.Account, cmd.Market
	ms := &e.markets[m]
	e.preload(a, m)
	if ms.markTicks == 0 {
		return ev, ReasonNoPrice
	}
	qty := cmd.QtyLots
	switch {
	case cmd.Side != orderbook.Buy && cmd.Side != orderbook.Sell,
		cmd.Type != orderbook.Limit && cmd.Type != orderbook.Market:
		return ev, ReasonInvalidOrder
	case qty < ms.MinQtyLots:
		return ev, ReasonBelowMinQty
	case qty > ms.MaxQtyLots:
		return ev, ReasonAboveMaxQty
	case cmd.PriceTicks < 0 || (cmd.Type == orderbook.Limit && cmd.PriceTicks == 0):
		return ev, ReasonInvalidPrice
	}
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
	if cmd.ReduceOnly {
		p, _ := e.ledger.Position(a, m)
		switch {
		case p.SizeLots == 0:
			return ev, ReasonReduceOnlyNoPosition
		case (p.SizeLots > 0) == (cmd.Side == orderbook.Buy):
			return ev, ReasonReduceOnlyWouldIncrease
		case cmd.TIF == orderbook.GTC || cmd.TIF == orderbook.PostOnly:
			// A resting reduce-only order would have to shrink with the
			// position; until that is tracked, reduce-only orders are
			// immediate only.
			return ev, ReasonReduceOnlyMustNotRest
		}
		qty = min(qty, absInt(p.SizeLots))
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
		o := e.open[e.slot(a, m)]
		before := o
		if cmd.Side == orderbook.Buy {
			o.buyLots += qty
			o.buyValueQuote += valueQuote
		} else {
			o.sellLots += qty
			o.sellValueQuote += valueQuote
		}
		if r := e.checkOrders(a, m, before, o); r != ReasonNone {
			return ev, r
		}
	}
	id := e.nextOrderID + 1
	e.bookEv = ms.book.Place(orderbook.Order{ID: id, Account: orderbook.AccountID(a), Side: cmd.Side, Type: cmd.Type,
		TIF: cmd.TIF, STP: cmd.STP, PriceTicks: cmd.PriceTicks, QtyLots: qty}, e.bookEv[:0])
	if e.bookEv[0].Kind == orderbook.EventRejected {
		return ev, bookReason(e.bookEv[0].Reason)
	}
	e.nextOrderID = id
	return e.trade(cmd, ev, id), ReasonNone
}

// checkOrders decides whether account a may change its resting orders in
// m from before to after. A change that does not add to the exposure the
// orders could reach needs nothing; otherwise the reached position must be
// allowed the account's leverage by its bracket (or it would be
// liquidatable as it opens), and free collateral must stay non-negative
// with the new orders' margin and fees held back.
func (e *Engine) checkOrders(a AccountID, m MarketID, before, after openOrders) Reason {
	var p clearing.Position
	e.ledger.ReadPosition(a, m, &p)
	was, reached, err := e.exposureChange(&p, before, after)
	if err != nil {
		return ReasonInsufficientMargin
	}
	if reached <= was {
		return ReasonNone
	}
	if e.leverage[e.slot(a, m)] > e.markets[m].Brackets.MaxLeverage(reached) {
		return ReasonLeverageAboveBracket
	}
	if free, err := e.freeCollateralWith(a, &p, after, reached); err != nil || free < 0 {
		return ReasonInsufficientMargin
	}
	return ReasonNone
}

// trade turns the book's events of a command in which order id may trade as
// taker into the engine's, then counts what of it rests and moves the mark
// if it traded.
func (e *Engine) trade(cmd *Command, ev []Event, id orderbook.OrderID) []Event {
	ms := &e.markets[cmd.Market]
	lastTrade := ms.lastTradeTicks
	e.taker, e.incomingID = takerTally{}, id
	ev = e.bookEvents(cmd, ev)
	ev = e.flushTaker(cmd, ev, cmd.Account)
	e.incomingID = 0
	if side, priceTicks, lots, ok := ms.book.Resting(id); ok {
		e.addOpen(cmd.Account, cmd.Market, side, lots, priceTicks)
	}
	if ms.lastTradeTicks != lastTrade {
		// The last price is one of the mark's three components: a trade
		// moves the mark at once, not at the next index price.
		ev = e.markEvent(cmd, ev, ms)
	}
	return ev
}

// amend changes a resting order through the book. The order is checked like
// a new one would be, with its old quantity taken out of the account's open
// orders first; it may then trade if its new price crosses.
func (e *Engine) amend(cmd *Command, ev []Event) ([]Event, Reason) {
	a, m := cmd.Account, cmd.Market
	ms := &e.markets[m]
	old, ok := ms.book.Order(cmd.OrderID)
	if !ok || AccountID(old.Account) != a {
		return ev, ReasonUnknownOrder
	}
	switch {
	case cmd.QtyLots < ms.MinQtyLots:
		return ev, ReasonBelowMinQty
	case cmd.QtyLots > ms.MaxQtyLots:
		return ev, ReasonAboveMaxQty
	case cmd.PriceTicks < 1:
		return ev, ReasonInvalidPrice
	}
	k := e.slot(a, m)
	before := e.open[k]
	o := before
	oldValue := old.RemainingLots * old.PriceTicks * ms.Grid.QuotePerTickLot()
	if old.Side == orderbook.Buy {
		o.buyLots, o.buyValueQuote = o.buyLots-old.RemainingLots, o.buyValueQuote-oldValue
	} else {
		o.sellLots, o.sellValueQuote = o.sellLots-old.RemainingLots, o.sellValueQuote-oldValue
	}
	if remaining := cmd.QtyLots - old.FilledLots; remaining > 0 {
		value, err := notionalAt(remaining, cmd.PriceTicks, ms.Grid.QuotePerTickLot())
		if err != nil {
			return ev, ReasonAboveMaxQty
		}
		if old.Side == orderbook.Buy {
			o.buyLots, o.buyValueQuote = o.buyLots+remaining, o.buyValueQuote+value
		} else {
			o.sellLots, o.sellValueQuote = o.sellLots+remaining, o.sellValueQuote+value
		}
		if r := e.checkOrders(a, m, before, o); r != ReasonNone {
			return ev, r
		}
	}
	e.bookEv = ms.book.Amend(cmd.OrderID, orderbook.AccountID(a), cmd.PriceTicks, cmd.QtyLots, e.bookEv[:0])
	if e.bookEv[0].Kind == orderbook.EventRejected {
		return ev, bookReason(e.bookEv[0].Reason)
	}
	// The order's old quantity leaves the open sums here; trade adds back
	// whatever rests at the end.
	e.addOpen(a, m, old.Side, -old.RemainingLots, old.PriceTicks)
	return e.trade(cmd, ev, cmd.OrderID), ReasonNone
}

func (e *Engine) cancel(cmd *Command, ev []Event) ([]Event, Reason) {
	ms := &e.markets[cmd.Market]
	e.bookEv = ms.book.Cancel(cmd.OrderID, orderbook.AccountID(cmd.Account), e.bookEv[:0])
	if e.bookEv[0].Kind == orderbook.EventRejected {
		return ev, bookReason(e.bookEv[0].Reason)
	}
	return e.bookEvents(cmd, ev), ReasonNone
}

// cancelAll cancels the account's orders in one market.
func (e *Engine) cancelAll(cmd *Command, ev []Event) ([]Event, Reason) {
	e.bookEv = e.markets[cmd.Market].book.CancelAccount(orderbook.AccountID(cmd.Account), e.bookEv[:0])
	return e.bookEvents(cmd, ev), ReasonNone
}

// addOpen adds (or with negative lots removes) resting quantity to an
// account's open-order sums.
func (e *Engine) addOpen(a AccountID, m MarketID, side orderbook.Side, lots, priceTicks int64) {
	v := lots * priceTicks * e.markets[m].Grid.QuotePerTickLot() // bounded: the order passed the value check
	o := &e.open[e.slot(a, m)]
	if side == orderbook.Buy {
		o.buyLots += lots
		o.buyValueQuote += v
	} else {
		o.sellLots += lots
		o.sellValueQuote += v
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
			var x *Event
			ev, x = push(ev)
			x.Kind, x.Seq, x.Account, x.Market = EventOrderAccepted, cmd.Seq, AccountID(be.Account), m
			x.OrderID, x.Side, x.PriceTicks, x.QtyLots = be.OrderID, be.Side, be.PriceTicks, be.QtyLots
		case orderbook.EventAmended:
			ev = append(ev, Event{Kind: EventOrderAmended, Seq: cmd.Seq, Account: AccountID(be.Account), Market: m,
				OrderID: be.OrderID, Side: be.Side, PriceTicks: be.PriceTicks, QtyLots: be.QtyLots, RemainingLots: be.RemainingLots})
		case orderbook.EventCancelled:
			if be.OrderID != e.incomingID {
				// A resting order left the book (the incoming order's own
				// remainder never rested).
				e.addOpen(AccountID(be.Account), m, be.Side, -be.QtyLots, be.PriceTicks)
			}
			var x *Event
			ev, x = push(ev)
			x.Kind, x.Seq, x.Account, x.Market = EventOrderCancelled, cmd.Seq, AccountID(be.Account), m
			x.OrderID, x.Side, x.PriceTicks, x.QtyLots, x.Reason = be.OrderID, be.Side, be.PriceTicks, be.QtyLots, bookReason(be.Reason)
		case orderbook.EventFill:
			ev = e.settleFill(cmd, ev, be)
		}
	}
	return ev
}

// settleFill books one trade into both accounts.
func (e *Engine) settleFill(cmd *Command, ev []Event, be *orderbook.Event) []Event {
	m := cmd.Market
	ms := &e.markets[m]
	taker, maker := AccountID(be.Account), AccountID(be.MakerAccount)
	e.addOpen(maker, m, be.Side.Opposite(), -be.QtyLots, be.PriceTicks)
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
	err := e.ledger.SettleTradeInto(clearing.Trade{Market: m, PriceTicks: be.PriceTicks, QtyLots: be.QtyLots,
		Maker: maker, Taker: taker, TakerBuys: be.Side == orderbook.Buy}, &res)
	if err != nil {
		// Quantities and prices are bounded by the market config, so this
		// is a broken invariant: stop rather than continue with books that
		// disagree.
		panic(fmt.Errorf("engine: settling fill of order %d: %w", be.OrderID, err))
	}
	ms.lastTradeTicks = be.PriceTicks
	ev, x := push(ev)
	x.Kind, x.Seq, x.Market, x.OrderID, x.Account, x.Side = EventFill, cmd.Seq, m, be.OrderID, taker, be.Side
	x.MakerOrderID, x.MakerAccount, x.PriceTicks, x.QtyLots = be.MakerOrderID, maker, be.PriceTicks, be.QtyLots
	x.FeeQuote, x.MakerFeeQuote = res.Taker.FeeQuote, res.Maker.FeeQuote
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
	im, err := margin.InitialMargin(value, e.leverage[e.slot(a, m)])
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
	liq := e.liquidationPrice(p)
	ev, x := push(ev)
	x.Kind, x.Seq, x.Account, x.Market, x.Mode = EventPosition, cmd.Seq, a, m, p.Mode
	x.SizeLots, x.EntryValueQuote, x.IsolatedMarginQuote = p.SizeLots, p.EntryValueQuote, p.IsolatedMarginQuote
	x.RealizedPnLQuote, x.LiqPriceTicks = realized, liq
	return ev
}
