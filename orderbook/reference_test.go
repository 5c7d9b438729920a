package orderbook

import (
	"slices"
)

// refBook is the naive reference model of the book that the differential
// and fuzz tests compare the optimized Book against. It is written from the
// package documentation alone and trades every bit of speed for being
// obviously correct: each side is one slice kept in priority order, every
// lookup is a linear scan, and Changes is found by diffing the aggregated
// levels before and after a command instead of being tracked.
type refBook struct {
	cfg Config

	// bids: highest price first; asks: lowest price first. Within a price
	// the order with the smaller seq (it joined the level earlier) comes
	// first.
	bids []*refOrder
	asks []*refOrder

	refPrice int64   // 0 = no reference price, so no band
	lastID   OrderID // highest id accepted: a new order's id must exceed it
	seq      uint64  // source of seq and firstSeq

	updateID uint64
	changes  []LevelChange

	// Scratch for the level diff; reused so that a long run does not churn.
	before [2][]Level
	after  [2][]Level
}

type refOrder struct {
	RestingOrder
	seq      uint64 // place in the queue of its level: re-drawn when it loses priority
	firstSeq uint64 // when it first rested: CancelAccount's order, never re-drawn
}

func newRefBook(cfg Config) *refBook {
	return &refBook{cfg: cfg}
}

func (r *refBook) sideSlice(s Side) *[]*refOrder {
	if s == Buy {
		return &r.bids
	}
	return &r.asks
}

// refSitsBefore reports whether a resting order at price a of side s stands
// ahead of one at price b only because of its price.
func refSitsBefore(s Side, a, b int64) bool {
	if s == Buy {
		return a > b
	}
	return a < b
}

// rest puts o at the back of its price level with a fresh seq.
func (r *refBook) rest(o *refOrder) {
	r.seq++
	o.seq = r.seq
	if o.firstSeq == 0 {
		o.firstSeq = r.seq
	}
	list := r.sideSlice(o.Side)
	i := 0
	// Skip every order whose price is at least as good: o is the newest.
	for i < len(*list) && !refSitsBefore(o.Side, o.PriceTicks, (*list)[i].PriceTicks) {
		i++
	}
	*list = slices.Insert(*list, i, o)
}

func (r *refBook) remove(o *refOrder) {
	list := r.sideSlice(o.Side)
	i := slices.Index(*list, o)
	if i < 0 {
		panic("refBook: removing an order that is not resting")
	}
	*list = slices.Delete(*list, i, i+1)
}

func (r *refBook) find(id OrderID) *refOrder {
	if id == 0 {
		return nil
	}
	for _, o := range r.bids {
		if o.ID == id {
			return o
		}
	}
	for _, o := range r.asks {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// band returns the maximum allowed distance from the reference price and
// whether a band applies at all.
func (r *refBook) band() (dev int64, ok bool) {
	if r.refPrice <= 0 {
		return 0, false
	}
	if r.cfg.PriceBandTicks > 0 {
		dev, ok = r.cfg.PriceBandTicks, true
	}
	if r.cfg.PriceBandPpm > 0 {
		d := r.refPrice * r.cfg.PriceBandPpm / 1_000_000
		if !ok || d < dev {
			dev = d
		}
		ok = true
	}
	return dev, ok
}

func (r *refBook) outsideBand(price int64) bool {
	dev, ok := r.band()
	if !ok {
		return false
	}
	d := price - r.refPrice
	if d < 0 {
		d = -d
	}
	return d > dev
}

// crosses reports whether a limit order of side s at price would meet the
// best opposite order.
func (r *refBook) crosses(s Side, price int64) bool {
	if s == Buy {
		return len(r.asks) > 0 && r.asks[0].PriceTicks <= price
	}
	return len(r.bids) > 0 && r.bids[0].PriceTicks >= price
}

// refTaker is an order that is matching against the book: a new order, or a
// resting order amended to a new price.
type refTaker struct {
	id       OrderID
	account  AccountID
	side     Side
	stp      STP
	isMarket bool
	price    int64 // limit price, or market protection price (0 = none)
}

// reaches reports whether the taker may trade with a maker priced at p.
func (r *refBook) reaches(t *refTaker, p int64) bool {
	if !t.isMarket {
		if t.side == Buy {
			return p <= t.price
		}
		return p >= t.price
	}
	if t.price != 0 {
		if t.side == Buy && p > t.price {
			return false
		}
		if t.side == Sell && p < t.price {
			return false
		}
	}
	if dev, ok := r.band(); ok {
		if t.side == Buy && p > r.refPrice+dev {
			return false
		}
		if t.side == Sell && p < r.refPrice-dev {
			return false
		}
	}
	return true
}

// fillable is what a FOK order could fill on arrival.
func (r *refBook) fillable(t *refTaker) int64 {
	var sum int64
	for _, m := range *r.sideSlice(t.side.Opposite()) {
		if !r.reaches(t, m.PriceTicks) {
			break
		}
		if m.Account == t.account {
			switch t.stp {
			case STPCancelMaker:
				continue
			case STPCancelTaker, STPCancelBoth:
				return sum
			}
		}
		sum += m.RemainingLots
	}
	return sum
}

// match trades t's qty against the opposite side. It returns what is left
// and whether self-trade prevention ended the taker (the caller reports
// that cancellation).
func (r *refBook) match(t *refTaker, qty int64, ev []Event) (left int64, stpEnded bool, _ []Event) {
	opp := r.sideSlice(t.side.Opposite())
	for qty > 0 && len(*opp) > 0 {
		m := (*opp)[0]
		if !r.reaches(t, m.PriceTicks) {
			break
		}
		if m.Account == t.account && t.stp != STPNone {
			if t.stp == STPCancelMaker || t.stp == STPCancelBoth {
				r.remove(m)
				ev = append(ev, refCancelled(m, m.RemainingLots, ReasonSelfTrade))
			}
			if t.stp == STPCancelTaker || t.stp == STPCancelBoth {
				return qty, true, ev
			}
			continue
		}
		q := min(qty, m.RemainingLots)
		qty -= q
		m.FilledLots += q
		m.RemainingLots -= q
		ev = append(ev, Event{
			Kind:          EventFill,
			Side:          t.side,
			OrderID:       t.id,
			Account:       t.account,
			MakerOrderID:  m.ID,
			MakerAccount:  m.Account,
			PriceTicks:    m.PriceTicks,
			QtyLots:       q,
			RemainingLots: m.RemainingLots,
			MakerDone:     m.RemainingLots == 0,
		})
		if m.RemainingLots == 0 {
			r.remove(m)
		}
	}
	return qty, false, ev
}

func refCancelled(o *refOrder, qty int64, reason Reason) Event {
	return Event{
		Kind:       EventCancelled,
		Reason:     reason,
		Side:       o.Side,
		OrderID:    o.ID,
		Account:    o.Account,
		PriceTicks: o.PriceTicks,
		QtyLots:    qty,
	}
}

func refRejected(id OrderID, acct AccountID, reason Reason) Event {
	return Event{Kind: EventRejected, Reason: reason, OrderID: id, Account: acct}
}

func (r *refBook) accountCount(acct AccountID) int {
	n := 0
	for _, o := range r.bids {
		if o.Account == acct {
			n++
		}
	}
	for _, o := range r.asks {
		if o.Account == acct {
			n++
		}
	}
	return n
}

// placeReject returns the first reason o is refused for, or ReasonNone.
func (r *refBook) placeReject(o *Order) Reason {
	switch {
	case o.ID == 0:
		return ReasonInvalidOrderID
	case int64(o.Account) >= int64(r.cfg.MaxAccounts):
		return ReasonInvalidAccount
	case o.Side != Buy && o.Side != Sell:
		return ReasonInvalidSide
	case o.Type != Limit && o.Type != Market:
		return ReasonInvalidType
	case o.TIF < GTC || o.TIF > PostOnly,
		o.Type == Market && (o.TIF == GTC || o.TIF == PostOnly):
		return ReasonInvalidTimeInForce
	case o.STP > STPCancelBoth:
		return ReasonInvalidSTP
	case o.QtyLots <= 0:
		return ReasonInvalidQuantity
	case o.QtyLots > r.cfg.MaxOrderLots:
		return ReasonQuantityAboveMax
	case o.Type == Limit && (o.PriceTicks < 1 || o.PriceTicks > r.cfg.MaxPriceTicks),
		o.Type == Market && (o.PriceTicks < 0 || o.PriceTicks > r.cfg.MaxPriceTicks):
		return ReasonInvalidPrice
	case o.Type == Limit && r.outsideBand(o.PriceTicks):
		return ReasonPriceOutsideBand
	case o.ID <= r.lastID:
		return ReasonOrderIDNotIncreasing
	}
	if o.TIF == GTC || o.TIF == PostOnly {
		if r.accountCount(o.Account) >= r.cfg.MaxOrdersPerAccount {
			return ReasonTooManyAccountOrders
		}
		if r.Len() >= r.cfg.MaxRestingOrders {
			return ReasonTooManyOrders
		}
		if r.levelOrders(o.Side, o.PriceTicks) == 0 && r.levelCount(o.Side) >= r.cfg.MaxPriceLevels {
			return ReasonTooManyPriceLevels
		}
	}
	if o.TIF == PostOnly && r.crosses(o.Side, o.PriceTicks) {
		return ReasonPostOnlyWouldTake
	}
	return ReasonNone
}

func (r *refBook) place(o Order, ev []Event) []Event {
	if reason := r.placeReject(&o); reason != ReasonNone {
		return append(ev, refRejected(o.ID, o.Account, reason))
	}
	r.lastID = o.ID
	ev = append(ev, Event{
		Kind:       EventAccepted,
		Side:       o.Side,
		OrderID:    o.ID,
		Account:    o.Account,
		PriceTicks: o.PriceTicks,
		QtyLots:    o.QtyLots,
	})
	t := refTaker{id: o.ID, account: o.Account, side: o.Side, stp: o.STP, isMarket: o.Type == Market, price: o.PriceTicks}
	// The order as it would rest; also the source of its cancel events.
	ro := &refOrder{RestingOrder: RestingOrder{
		ID: o.ID, Account: o.Account, Side: o.Side, TIF: o.TIF, STP: o.STP,
		PriceTicks: o.PriceTicks, QtyLots: o.QtyLots,
	}}
	if o.TIF == FOK && r.fillable(&t) < o.QtyLots {
		return append(ev, refCancelled(ro, o.QtyLots, ReasonFOKNotFilled))
	}
	left, stpEnded, ev := r.match(&t, o.QtyLots, ev)
	switch {
	case stpEnded:
		ev = append(ev, refCancelled(ro, left, ReasonSelfTrade))
	case left == 0:
	case o.TIF == GTC || o.TIF == PostOnly:
		ro.FilledLots = o.QtyLots - left
		ro.RemainingLots = left
		r.rest(ro)
	default:
		ev = append(ev, refCancelled(ro, left, ReasonUnfilledRemainder))
	}
	return ev
}

func (r *refBook) cancel(id OrderID, acct AccountID, ev []Event) []Event {
	o := r.find(id)
	if o == nil || o.Account != acct {
		return append(ev, refRejected(id, acct, ReasonUnknownOrder))
	}
	r.remove(o)
	return append(ev, refCancelled(o, o.RemainingLots, ReasonCancelledByUser))
}

func (r *refBook) amend(id OrderID, acct AccountID, price, qty int64, ev []Event) []Event {
	o := r.find(id)
	reject := func(reason Reason) []Event { return append(ev, refRejected(id, acct, reason)) }
	switch {
	case o == nil || o.Account != acct:
		return reject(ReasonUnknownOrder)
	case qty <= 0:
		return reject(ReasonInvalidQuantity)
	case qty > r.cfg.MaxOrderLots:
		return reject(ReasonQuantityAboveMax)
	case price < 1 || price > r.cfg.MaxPriceTicks:
		return reject(ReasonInvalidPrice)
	case price != o.PriceTicks && r.outsideBand(price):
		return reject(ReasonPriceOutsideBand)
	case price == o.PriceTicks && qty == o.QtyLots:
		return reject(ReasonNothingToAmend)
	case qty <= o.FilledLots:
		r.remove(o)
		return append(ev, refCancelled(o, o.RemainingLots, ReasonAmendedToFilled))
	case price != o.PriceTicks && o.TIF == PostOnly && r.crosses(o.Side, price):
		return reject(ReasonPostOnlyWouldTake)
	case price != o.PriceTicks && r.levelOrders(o.Side, price) == 0 &&
		r.levelCount(o.Side) >= r.cfg.MaxPriceLevels && r.levelOrders(o.Side, o.PriceTicks) > 1:
		// A new level on a full side, and leaving does not empty the old one.
		return reject(ReasonTooManyPriceLevels)
	}
	amended := func(kept bool) Event {
		return Event{
			Kind:          EventAmended,
			Side:          o.Side,
			OrderID:       o.ID,
			Account:       o.Account,
			PriceTicks:    o.PriceTicks,
			QtyLots:       o.QtyLots,
			RemainingLots: o.RemainingLots,
			KeptPriority:  kept,
		}
	}
	if price == o.PriceTicks {
		// A smaller total keeps the order's place; a larger one sends it
		// to the back of its level.
		kept := qty < o.QtyLots
		o.QtyLots = qty
		o.RemainingLots = qty - o.FilledLots
		if !kept {
			r.remove(o)
			r.rest(o)
		}
		return append(ev, amended(kept))
	}
	r.remove(o)
	o.PriceTicks = price
	o.QtyLots = qty
	o.RemainingLots = qty - o.FilledLots
	ev = append(ev, amended(false))
	t := refTaker{id: o.ID, account: o.Account, side: o.Side, stp: o.STP, price: price}
	left, stpEnded, ev := r.match(&t, o.RemainingLots, ev)
	o.FilledLots += o.RemainingLots - left
	o.RemainingLots = left
	switch {
	case stpEnded:
		ev = append(ev, refCancelled(o, left, ReasonSelfTrade))
	case left > 0:
		r.rest(o)
	}
	return ev
}

func (r *refBook) cancelAccount(acct AccountID, ev []Event) []Event {
	if int64(acct) >= int64(r.cfg.MaxAccounts) {
		return append(ev, refRejected(0, acct, ReasonInvalidAccount))
	}
	var mine []*refOrder
	for _, o := range r.bids {
		if o.Account == acct {
			mine = append(mine, o)
		}
	}
	for _, o := range r.asks {
		if o.Account == acct {
			mine = append(mine, o)
		}
	}
	slices.SortFunc(mine, func(a, b *refOrder) int {
		switch {
		case a.firstSeq < b.firstSeq:
			return -1
		case a.firstSeq > b.firstSeq:
			return 1
		}
		return 0
	})
	for _, o := range mine {
		r.remove(o)
		ev = append(ev, refCancelled(o, o.RemainingLots, ReasonAccountCancelAll))
	}
	return ev
}

func (r *refBook) cancelAll(ev []Event) []Event {
	for _, o := range r.bids {
		ev = append(ev, refCancelled(o, o.RemainingLots, ReasonBookCancelAll))
	}
	for _, o := range r.asks {
		ev = append(ev, refCancelled(o, o.RemainingLots, ReasonBookCancelAll))
	}
	r.bids, r.asks = nil, nil
	return ev
}

func (r *refBook) setReferencePrice(price int64, ev []Event) []Event {
	if price < 0 || price > r.cfg.MaxPriceTicks {
		return append(ev, refRejected(0, 0, ReasonInvalidPrice))
	}
	r.refPrice = price
	return ev
}

// Apply runs one command and records which levels it changed.
func (r *refBook) Apply(cmd *Command, ev []Event) []Event {
	r.before[0] = r.Depth(Buy, -1, r.before[0][:0])
	r.before[1] = r.Depth(Sell, -1, r.before[1][:0])
	o := cmd.Order
	switch cmd.Kind {
	case CmdPlace:
		ev = r.place(o, ev)
	case CmdCancel:
		ev = r.cancel(o.ID, o.Account, ev)
	case CmdAmend:
		ev = r.amend(o.ID, o.Account, o.PriceTicks, o.QtyLots, ev)
	case CmdCancelAccount:
		ev = r.cancelAccount(o.Account, ev)
	case CmdCancelAll:
		ev = r.cancelAll(ev)
	case CmdSetReference:
		ev = r.setReferencePrice(o.PriceTicks, ev)
	default:
		ev = append(ev, refRejected(o.ID, o.Account, ReasonInvalidCommand))
	}
	r.after[0] = r.Depth(Buy, -1, r.after[0][:0])
	r.after[1] = r.Depth(Sell, -1, r.after[1][:0])
	r.changes = r.changes[:0]
	r.changes = refDiffLevels(Buy, r.before[0], r.after[0], r.changes)
	r.changes = refDiffLevels(Sell, r.before[1], r.after[1], r.changes)
	if len(r.changes) > 0 {
		r.updateID++
	}
	return ev
}

// refDiffLevels appends the levels whose total differs between two depth
// snapshots of side s (both in the side's priority order), with the total
// they have after (0 for a level that is gone).
func refDiffLevels(s Side, before, after []Level, dst []LevelChange) []LevelChange {
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		switch {
		case j == len(after) || (i < len(before) && refSitsBefore(s, before[i].PriceTicks, after[j].PriceTicks)):
			dst = append(dst, LevelChange{Side: s, PriceTicks: before[i].PriceTicks, TotalLots: 0})
			i++
		case i == len(before) || refSitsBefore(s, after[j].PriceTicks, before[i].PriceTicks):
			dst = append(dst, LevelChange{Side: s, PriceTicks: after[j].PriceTicks, TotalLots: after[j].TotalLots})
			j++
		default: // same price
			if before[i].TotalLots != after[j].TotalLots {
				dst = append(dst, LevelChange{Side: s, PriceTicks: after[j].PriceTicks, TotalLots: after[j].TotalLots})
			}
			i++
			j++
		}
	}
	return dst
}

func (r *refBook) Place(o Order, ev []Event) []Event {
	return r.Apply(&Command{Kind: CmdPlace, Order: o}, ev)
}

func (r *refBook) Cancel(id OrderID, acct AccountID, ev []Event) []Event {
	return r.Apply(&Command{Kind: CmdCancel, Order: Order{ID: id, Account: acct}}, ev)
}

func (r *refBook) Amend(id OrderID, acct AccountID, priceTicks, qtyLots int64, ev []Event) []Event {
	return r.Apply(&Command{Kind: CmdAmend, Order: Order{ID: id, Account: acct, PriceTicks: priceTicks, QtyLots: qtyLots}}, ev)
}

func (r *refBook) CancelAccount(acct AccountID, ev []Event) []Event {
	return r.Apply(&Command{Kind: CmdCancelAccount, Order: Order{Account: acct}}, ev)
}

func (r *refBook) CancelAll(ev []Event) []Event {
	return r.Apply(&Command{Kind: CmdCancelAll}, ev)
}

func (r *refBook) SetReferencePrice(priceTicks int64, ev []Event) []Event {
	return r.Apply(&Command{Kind: CmdSetReference, Order: Order{PriceTicks: priceTicks}}, ev)
}

func (r *refBook) Changes() []LevelChange { return r.changes }

func (r *refBook) UpdateID() uint64 { return r.updateID }

func (r *refBook) best(s Side) (priceTicks, totalLots int64, ok bool) {
	list := *r.sideSlice(s)
	if len(list) == 0 {
		return 0, 0, false
	}
	p := list[0].PriceTicks
	for _, o := range list {
		if o.PriceTicks != p {
			break
		}
		totalLots += o.RemainingLots
	}
	return p, totalLots, true
}

func (r *refBook) BestBid() (priceTicks, totalLots int64, ok bool) { return r.best(Buy) }

func (r *refBook) BestAsk() (priceTicks, totalLots int64, ok bool) { return r.best(Sell) }

// Depth appends the top n levels of side s to dst; n < 0 means all.
func (r *refBook) Depth(s Side, n int, dst []Level) []Level {
	start := len(dst)
	for _, o := range *r.sideSlice(s) {
		if len(dst) > start && dst[len(dst)-1].PriceTicks == o.PriceTicks {
			dst[len(dst)-1].TotalLots += o.RemainingLots
			dst[len(dst)-1].Orders++
			continue
		}
		if n >= 0 && len(dst)-start == n {
			break
		}
		dst = append(dst, Level{PriceTicks: o.PriceTicks, TotalLots: o.RemainingLots, Orders: 1})
	}
	return dst
}

func (r *refBook) Order(id OrderID) (RestingOrder, bool) {
	if o := r.find(id); o != nil {
		return o.RestingOrder, true
	}
	return RestingOrder{}, false
}

// Orders appends side s's resting orders in priority order to dst.
func (r *refBook) Orders(s Side, dst []RestingOrder) []RestingOrder {
	for _, o := range *r.sideSlice(s) {
		dst = append(dst, o.RestingOrder)
	}
	return dst
}

func (r *refBook) Len() int { return len(r.bids) + len(r.asks) }

func (r *refBook) AccountOrderCount(acct AccountID) int { return r.accountCount(acct) }

// levelOrders counts the orders resting at price on side.
func (r *refBook) levelOrders(s Side, price int64) int {
	n := 0
	for _, o := range *r.sideSlice(s) {
		if o.PriceTicks == price {
			n++
		}
	}
	return n
}

// levelCount counts the distinct prices resting on side.
func (r *refBook) levelCount(s Side) int {
	n := 0
	var last int64 = -1
	for _, o := range *r.sideSlice(s) {
		if o.PriceTicks != last {
			n++
			last = o.PriceTicks
		}
	}
	return n
}
