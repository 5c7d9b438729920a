package engine

import (
	"cmp"

	"github.com/emirpasic/gods/v2/trees/redblacktree"
	"github.com/paperperps/exchange/orderbook"
)

// This file holds what the engine keeps about orders beyond the book:
// conditional (stop and take-profit) orders waiting for their trigger,
// client order ids, and the rule that keeps resting reduce-only orders
// within the position.

// stopOrder is a conditional order waiting for its trigger: the order it
// becomes, and when.
type stopOrder struct {
	id           orderbook.OrderID
	account      AccountID
	market       MarketID
	side         orderbook.Side
	typ          orderbook.OrderType
	tif          orderbook.TimeInForce
	stp          orderbook.STP
	reduceOnly   bool
	trigger      Trigger
	by           TriggerPrice
	priceTicks   int64
	qtyLots      int64
	triggerTicks int64
	cid          ClientOrderID
}

// ownerKey orders conditional orders by account, market and id: cancel by
// id and cancel-all find them there, and snapshots list them in that order.
type ownerKey struct {
	account AccountID
	market  MarketID
	id      orderbook.OrderID
}

type stopTree = redblacktree.Tree[ownerKey, *stopOrder]

func newStopTree() *stopTree { return redblacktree.NewWith[ownerKey, *stopOrder](compareOwner) }

func compareOwner(x, y ownerKey) int {
	if c := cmp.Compare(x.account, y.account); c != 0 {
		return c
	}
	if c := cmp.Compare(x.market, y.market); c != 0 {
		return c
	}
	return cmp.Compare(x.id, y.id)
}

// triggerKey orders one trigger tree: the next order to fire first, and
// among orders with the same trigger the older one.
type triggerKey struct {
	ticks int64
	id    orderbook.OrderID
}

// triggerIndex holds a market's waiting conditional orders by the price
// they watch (mark, last) and the direction that fires them (rising to the
// trigger, falling to it). The leftmost order of each tree is the next to
// fire, so a price change that fires nothing costs four O(log n) looks, and
// one that fires k orders O(k log n): nothing is scanned.
type triggerIndex struct {
	trees [2][2]*redblacktree.Tree[triggerKey, *stopOrder] // [by-1][0: rises, 1: falls]
	n     int                                              // orders in the trees: 0 lets a command skip them
}

func (x *triggerIndex) put(s *stopOrder) {
	x.tree(s).Put(triggerKey{s.triggerTicks, s.id}, s)
	x.n++
}

func (x *triggerIndex) remove(s *stopOrder) {
	x.tree(s).Remove(triggerKey{s.triggerTicks, s.id})
	x.n--
}

func newTriggerIndex() triggerIndex {
	var x triggerIndex
	for by := range x.trees {
		x.trees[by][0] = redblacktree.NewWith[triggerKey, *stopOrder](func(a, b triggerKey) int {
			if c := cmp.Compare(a.ticks, b.ticks); c != 0 {
				return c // rising: the lowest trigger fires first
			}
			return cmp.Compare(a.id, b.id)
		})
		x.trees[by][1] = redblacktree.NewWith[triggerKey, *stopOrder](func(a, b triggerKey) int {
			if c := cmp.Compare(b.ticks, a.ticks); c != 0 {
				return c // falling: the highest trigger fires first
			}
			return cmp.Compare(a.id, b.id)
		})
	}
	return x
}

func (x *triggerIndex) tree(s *stopOrder) *redblacktree.Tree[triggerKey, *stopOrder] {
	dir := 1
	if s.trigger.rises(s.side) {
		dir = 0
	}
	return x.trees[s.by-1][dir]
}

func (x *triggerIndex) len() int {
	n := 0
	for by := range x.trees {
		n += x.trees[by][0].Size() + x.trees[by][1].Size()
	}
	return n
}

// watchedTicks is the price a conditional order watches, 0 if there is none
// yet (no trade for the last price).
func (ms *marketState) watchedTicks(by TriggerPrice) int64 {
	if by == TriggerByLast {
		return ms.lastTradeTicks
	}
	return ms.markTicks
}

// placeStop checks a conditional order and stores it. It reserves no
// margin, as on venues: the order is checked like any other when it
// triggers, and ends with the reason if it fails then.
func (e *Engine) placeStop(cmd *Command, ev []Event) ([]Event, Reason) {
	a, m := cmd.Account, cmd.Market
	ms := &e.markets[m]
	if ms.markTicks == 0 {
		return ev, ReasonNoPrice
	}
	if r := e.checkOrderFields(cmd); r != ReasonNone {
		return ev, r
	}
	if (cmd.Trigger != TriggerStop && cmd.Trigger != TriggerTakeProfit) ||
		(cmd.TriggerBy != TriggerByMark && cmd.TriggerBy != TriggerByLast) ||
		cmd.TriggerTicks < 1 || cmd.TriggerTicks > ms.book.Config().MaxPriceTicks {
		return ev, ReasonInvalidTrigger
	}
	price := ms.watchedTicks(cmd.TriggerBy)
	if price == 0 {
		return ev, ReasonNoPrice
	}
	if rises := cmd.Trigger.rises(cmd.Side); rises && price >= cmd.TriggerTicks || !rises && price <= cmd.TriggerTicks {
		return ev, ReasonWouldTriggerImmediately
	}
	if cmd.ReduceOnly {
		p, _ := e.ledger.Position(a, m)
		if r := reduceOnlyReason(p.SizeLots, cmd.Side); r != ReasonNone {
			return ev, r
		}
	} else {
		// The minimum notional at the price the order will trade near: its
		// limit, or for a market order its trigger.
		at := cmd.PriceTicks
		if cmd.Type == orderbook.Market {
			at = cmd.TriggerTicks
		}
		v, err := notionalAt(cmd.QtyLots, at, ms.Grid.QuotePerTickLot())
		if err != nil {
			return ev, ReasonAboveMaxQty
		}
		if v < ms.MinNotionalQuote {
			return ev, ReasonBelowMinNotional
		}
	}
	if e.stopCount(a, m) >= e.cfg.MaxStopOrders {
		return ev, ReasonTooManyStopOrders
	}
	e.nextOrderID++
	s := &stopOrder{id: e.nextOrderID, account: a, market: m, side: cmd.Side, typ: cmd.Type, tif: cmd.TIF,
		stp: cmd.STP, reduceOnly: cmd.ReduceOnly, trigger: cmd.Trigger, by: cmd.TriggerBy,
		priceTicks: cmd.PriceTicks, qtyLots: cmd.QtyLots, triggerTicks: cmd.TriggerTicks, cid: cmd.ClientOrderID}
	e.addStop(s)
	ev, x := push(ev)
	x.Kind, x.Seq, x.Account, x.Market, x.OrderID = EventOrderAccepted, cmd.Seq, a, m, s.id
	x.Side, x.PriceTicks, x.QtyLots, x.ClientOrderID = s.side, s.priceTicks, s.qtyLots, s.cid
	x.Trigger, x.TriggerBy, x.TriggerTicks = s.trigger, s.by, s.triggerTicks
	return ev, ReasonNone
}

// addStop indexes a conditional order and registers its client order id.
func (e *Engine) addStop(s *stopOrder) {
	e.stops.Put(ownerKey{s.account, s.market, s.id}, s)
	e.markets[s.market].triggers.put(s)
	if !s.cid.IsZero() {
		e.registerCID(s.account, s.cid, s.id)
	}
}

// removeStop takes a conditional order out of both indexes; its client
// order id stays registered (a triggered order keeps it).
func (e *Engine) removeStop(s *stopOrder) {
	e.stops.Remove(ownerKey{s.account, s.market, s.id})
	e.markets[s.market].triggers.remove(s)
}

// stopCount is the number of a's conditional orders waiting in m: at most
// MaxStopOrders, so counting them is cheap.
func (e *Engine) stopCount(a AccountID, m MarketID) int {
	n := 0
	node, ok := e.stops.Ceiling(ownerKey{a, m, 0})
	if !ok {
		return 0
	}
	for it := e.stops.IteratorAt(node); it.Key().account == a && it.Key().market == m; {
		n++
		if !it.Next() {
			break
		}
	}
	return n
}

// cancelStop ends a waiting conditional order.
func (e *Engine) cancelStop(cmd *Command, ev []Event, s *stopOrder, r Reason) []Event {
	e.removeStop(s)
	return e.endStop(cmd, ev, s, r)
}

// endStop reports the end of a conditional order already out of the
// indexes (cancelled, or refused as it fired) and frees its client order id.
func (e *Engine) endStop(cmd *Command, ev []Event, s *stopOrder, r Reason) []Event {
	if !s.cid.IsZero() {
		e.releaseCID(s.id)
	}
	ev, x := push(ev)
	x.Kind, x.Seq, x.Account, x.Market, x.OrderID = EventOrderCancelled, cmd.Seq, s.account, s.market, s.id
	x.Side, x.PriceTicks, x.QtyLots, x.Reason, x.ClientOrderID = s.side, s.priceTicks, s.qtyLots, r, s.cid
	return ev
}

// cancelStops ends a's conditional orders in m, in id order.
func (e *Engine) cancelStops(cmd *Command, ev []Event, a AccountID, m MarketID, r Reason) []Event {
	for {
		node, ok := e.stops.Ceiling(ownerKey{a, m, 0})
		if !ok || node.Key.account != a || node.Key.market != m {
			return ev
		}
		ev = e.cancelStop(cmd, ev, node.Value, r)
	}
}

// runTriggers fires the conditional orders of the command's market that
// its new mark or last price reached, one at a time, since each one's
// trades can move the prices again and fire more: a stop cascade plays out
// within the command that set it off. The order: each trigger tree fires
// in the order the price crossed its triggers (the nearest first, ties by
// age); between the trees, the older of their next orders goes first.
// Every order fires at most once, so the loop ends.
//
// Most markets have no conditional order waiting most of the time: that
// test stays small enough to inline, and the loop is in fireDue.
func (e *Engine) runTriggers(cmd *Command, ev []Event) []Event {
	if e.markets[cmd.Market].triggers.n == 0 {
		return ev
	}
	return e.fireDue(cmd, ev)
}

func (e *Engine) fireDue(cmd *Command, ev []Event) []Event {
	ms := &e.markets[cmd.Market]
	for {
		s := ms.dueStop()
		if s == nil {
			return ev
		}
		ev = e.fire(cmd, ev, s)
	}
}

// dueStop returns the next conditional order to fire (see runTriggers),
// nil if none is due.
func (ms *marketState) dueStop() *stopOrder {
	var due *stopOrder
	for by := range ms.triggers.trees {
		price := ms.watchedTicks(TriggerPrice(by + 1))
		if price == 0 {
			continue
		}
		for dir, t := range ms.triggers.trees[by] {
			if t.Size() == 0 {
				continue
			}
			n := t.Left()
			if (dir == 0 && price >= n.Key.ticks || dir == 1 && price <= n.Key.ticks) && (due == nil || n.Value.id < due.id) {
				due = n.Value
			}
		}
	}
	return due
}

// fire turns a conditional order into the order it holds, under its own id,
// checked like a new order. If it is refused it ends with the reason.
func (e *Engine) fire(cmd *Command, ev []Event, s *stopOrder) []Event {
	ms := &e.markets[s.market]
	e.removeStop(s)
	qty := s.qtyLots
	if p, _ := e.ledger.Position(s.account, s.market); s.reduceOnly && p.SizeLots != 0 {
		qty = min(qty, absInt(p.SizeLots)) // as enter cuts it (with no position it refuses)
	}
	ev, x := push(ev)
	x.Kind, x.Seq, x.Account, x.Market, x.OrderID = EventOrderTriggered, cmd.Seq, s.account, s.market, s.id
	x.Side, x.PriceTicks, x.QtyLots, x.ClientOrderID = s.side, ms.watchedTicks(s.by), qty, s.cid
	x.Trigger, x.TriggerBy, x.TriggerTicks = s.trigger, s.by, s.triggerTicks
	c := Command{Kind: CmdPlaceOrder, Seq: cmd.Seq, TsNanos: cmd.TsNanos, Account: s.account, Market: s.market,
		Side: s.side, Type: s.typ, TIF: s.tif, STP: s.stp, ReduceOnly: s.reduceOnly, PriceTicks: s.priceTicks,
		QtyLots: s.qtyLots, ClientOrderID: s.cid}
	e.triggeredID = s.id
	ev, r := e.enter(&c, ev, s.id)
	e.triggeredID = 0
	if r == ReasonNone {
		return ev
	}
	return e.endStop(cmd, ev, s, r)
}

func (e *Engine) registerCID(a AccountID, cid ClientOrderID, id orderbook.OrderID) {
	e.cids.put(cidKey{a, cid}, id)
}

// releaseCID frees the client order id of an order that ended and returns
// it (zero if it had none).
func (e *Engine) releaseCID(id orderbook.OrderID) ClientOrderID {
	k, _ := e.cids.remove(id)
	return k.cid
}

// fitReduceOnly keeps a's resting reduce-only orders in m within its
// position, after a command of a's own that may have shrunk, closed or
// flipped it, or added to the orders on the closing side. The rule: a
// reduce-only order rests only on the side that closes the position, and
// while one does, the account's orders on that side (reduce-only or not)
// total at most the position. Then no sequence of fills can make a
// reduce-only order open or flip a position: a maker fill on the closing
// side shrinks the position and the orders on that side alike, and the
// account's own taker fills come back here. Reduce-only orders on the
// wrong side are cancelled; the excess on the closing side is cut from the
// newest reduce-only orders first (an amend down, which keeps priority, or
// a cancel), and non-reduce-only orders are never touched.
//
// The gate is all most commands see (no reduce-only order rests anywhere),
// so it stays small enough to inline and the work is in fitReduceOnlyIn.
func (e *Engine) fitReduceOnly(cmd *Command, ev []Event, a AccountID, m MarketID) []Event {
	if e.roResting == 0 {
		return ev
	}
	return e.fitReduceOnlyIn(cmd, ev, a, m)
}

func (e *Engine) fitReduceOnlyIn(cmd *Command, ev []Event, a AccountID, m MarketID) []Event {
	k := e.slot(a, m)
	if e.ro[k] == (roLots{}) {
		return ev
	}
	p, _ := e.ledger.Position(a, m)
	var closing orderbook.Side
	switch {
	case p.SizeLots > 0:
		closing = orderbook.Sell
	case p.SizeLots < 0:
		closing = orderbook.Buy
	}
	excess := int64(0)
	if closing != 0 {
		excess = e.slots[k].open.lotsOn(closing) - absInt(p.SizeLots)
	}
	ms := &e.markets[m]
	e.listBuf = ms.book.AccountOrders(orderbook.AccountID(a), e.listBuf[:0])
	for i := len(e.listBuf) - 1; i >= 0; i-- {
		o := &e.listBuf[i]
		if o.Tag&tagReduceOnly == 0 {
			continue
		}
		cut := o.RemainingLots
		if o.Side == closing {
			cut = min(max(excess, 0), o.RemainingLots)
			excess -= cut
		}
		if cut == 0 {
			continue
		}
		if cut == o.RemainingLots {
			e.bookEv = ms.book.Cancel(o.ID, o.Account, e.bookEv[:0])
		} else {
			e.bookEv = ms.book.Amend(o.ID, o.Account, o.PriceTicks, o.QtyLots-cut, e.bookEv[:0])
			e.addOpen(a, m, o.Side, -cut, o.PriceTicks, o.Tag)
		}
		// One event: the cancel (bookEvents takes it out of the open sums)
		// or the amend down. Say why.
		ev = e.bookEvents(cmd, ev)
		ev[len(ev)-1].Reason = ReasonReduceOnly
	}
	return ev
}
