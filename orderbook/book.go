package orderbook

import (
	"fmt"
	"math"
)

// Book is one market's order book. It is not safe for concurrent use: the
// engine's single sequencer goroutine owns it.
type Book struct {
	cfg     Config
	ladders [2]ladder // [0] bids, [1] asks

	// orders is the slab; slot 0 is never used so that 0 can mean "none" in
	// every link. Free slots are chained through next.
	orders   []order
	freeSlot uint32
	resting  int

	ids    idIndex
	lastID OrderID // highest id accepted
	// accounts holds the per-account order lists in chunks of
	// 1<<accountChunkBits ids, allocated when an account of the chunk first
	// rests an order: memory follows the accounts that trade here, not the
	// highest account id.
	accounts [][]accountOrders

	refPriceTicks int64
	bandOn        bool
	bandDevTicks  int64

	stamp    uint32
	changes  []LevelChange
	updateID uint64
}

type order struct {
	id         OrderID
	priceTicks int64
	qtyLots    int64 // total ordered, as last amended
	remaining  int64
	prev, next uint32 // neighbours in the level (or the free list)
	// acctPrev and acctNext chain the account's orders in the order they
	// first rested.
	acctPrev, acctNext uint32
	account            AccountID
	side               Side
	tif                TimeInForce
	stp                STP
	tag                uint8
	_                  [8]byte // pad to 64 bytes: one order, one cache line
}

type accountOrders struct {
	head, tail uint32
	count      int32
}

const accountChunkBits = 12

// account returns acct's order list, or nil if its chunk was never used.
func (b *Book) account(acct AccountID) *accountOrders {
	c := int(acct >> accountChunkBits)
	if c >= len(b.accounts) || b.accounts[c] == nil {
		return nil
	}
	return &b.accounts[c][acct&(1<<accountChunkBits-1)]
}

// New returns an empty book, or the config's problems.
func New(cfg Config) (*Book, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Book{
		cfg:     cfg,
		ladders: [2]ladder{newLadder(Buy), newLadder(Sell)},
		orders:  make([]order, 1, 1024),
		ids:     newIDIndex(),
		changes: make([]LevelChange, 0, 64),
	}, nil
}

// Config returns the book's config.
func (b *Book) Config() Config { return b.cfg }

// MaxPriceTicks returns Config().MaxPriceTicks without copying the config:
// the engine checks every order's price against it.
func (b *Book) MaxPriceTicks() int64 { return b.cfg.MaxPriceTicks }

func (b *Book) ladder(s Side) *ladder { return &b.ladders[s-1] }

// begin and end bracket every command so that Changes and UpdateID describe
// exactly that command.
func (b *Book) begin() {
	b.changes = b.changes[:0]
	b.stamp++
	if b.stamp == 0 {
		b.resetStamps()
		b.stamp = 1
	}
}

func (b *Book) end() {
	for s := range b.ladders {
		if len(b.ladders[s].emptied) > 0 {
			b.ladders[s].releaseEmpty()
		}
	}
	if len(b.changes) > 0 {
		b.updateID++
	}
	if checkEveryCommand {
		if err := b.CheckInvariants(); err != nil {
			panic(err)
		}
	}
}

// resetStamps clears every level's stamp when the 32-bit command stamp wraps,
// so a level untouched for 2^32 commands is not mistaken for a touched one.
// Recycled pages are cleared when reused.
func (b *Book) resetStamps() {
	for s := range b.ladders {
		for _, p := range b.ladders[s].pages {
			for i := range p.levels {
				p.levels[i].touched = 0
			}
		}
	}
}

// setTotal sets a level's total and records the change for this command.
func (b *Book) setTotal(lvl *level, side Side, price, total int64) {
	lvl.totalLots = total
	if lvl.touched != b.stamp {
		lvl.touched = b.stamp
		lvl.changeIdx = uint32(len(b.changes))
		b.changes = append(b.changes, LevelChange{Side: side, PriceTicks: price, TotalLots: total})
		return
	}
	b.changes[lvl.changeIdx].TotalLots = total
}

// Apply runs one command given as a value.
func (b *Book) Apply(cmd *Command, ev []Event) []Event {
	o := &cmd.Order
	b.begin()
	switch cmd.Kind {
	case CmdPlace:
		ev = b.place(o, false, ev)
	case CmdCancel:
		ev = b.cancel(o.ID, o.Account, ev)
	case CmdAmend:
		ev = b.amend(o.ID, o.Account, o.PriceTicks, o.QtyLots, ev)
	case CmdCancelAccount:
		ev = b.cancelAccount(o.Account, ev)
	case CmdCancelAll:
		ev = b.cancelAll(ev)
	case CmdSetReference:
		ev = b.setReferencePrice(o.PriceTicks, ev)
	default:
		// A command the book does not know (corrupt input, or written by a
		// newer version) must be visible, never silently dropped.
		ev = appendRejected(ev, ReasonInvalidCommand, o.ID, o.Account)
	}
	b.end()
	return ev
}

// SetReferencePrice sets the price the band is measured from (0 removes it).
func (b *Book) SetReferencePrice(priceTicks int64, ev []Event) []Event {
	b.begin()
	ev = b.setReferencePrice(priceTicks, ev)
	b.end()
	return ev
}

func (b *Book) setReferencePrice(priceTicks int64, ev []Event) []Event {
	if priceTicks < 0 || priceTicks > b.cfg.MaxPriceTicks {
		return appendRejected(ev, ReasonInvalidPrice, 0, 0)
	}
	b.refPriceTicks = priceTicks
	b.bandOn = false
	if priceTicks == 0 {
		return ev
	}
	dev := int64(math.MaxInt64)
	if b.cfg.PriceBandTicks > 0 {
		dev = b.cfg.PriceBandTicks
		b.bandOn = true
	}
	if b.cfg.PriceBandPpm > 0 {
		// Both factors are bounded by Config.Validate so the product fits.
		dev = min(dev, priceTicks*b.cfg.PriceBandPpm/1_000_000)
		b.bandOn = true
	}
	b.bandDevTicks = dev
	return ev
}

// ReferencePrice returns the band's reference price (0 = none).
func (b *Book) ReferencePrice() int64 { return b.refPriceTicks }

// Band returns the lowest and highest price an order may have now: the
// reference price's band, or 1 and MaxPriceTicks when no band is set.
func (b *Book) Band() (lo, hi int64) {
	if !b.bandOn {
		return 1, b.cfg.MaxPriceTicks
	}
	return max(1, b.refPriceTicks-b.bandDevTicks), min(b.cfg.MaxPriceTicks, b.refPriceTicks+b.bandDevTicks)
}

func (b *Book) inBand(price int64) bool {
	if !b.bandOn {
		return true
	}
	d := price - b.refPriceTicks
	return d <= b.bandDevTicks && -d <= b.bandDevTicks
}

// Place enters a new order.
func (b *Book) Place(o Order, ev []Event) []Event {
	return b.PlaceFrom(&o, ev)
}

// PlaceFrom is Place reading the order through a pointer; the book neither
// keeps nor changes *o. The engine places every order through it: an Order
// passed by value is copied to the stack with 16-byte loads, which stall on
// the narrower stores that have just built it.
func (b *Book) PlaceFrom(o *Order, ev []Event) []Event {
	b.begin()
	ev = b.place(o, false, ev)
	b.end()
	return ev
}

// PlaceReserved enters an order whose id was handed out before ids the book
// has since accepted: a stop order that the engine numbered when it was
// placed and that has now triggered, keeping the id its owner knows. The id
// may lie below the last accepted id but must not be resting. The order
// takes its account's list in id order, like every other order.
func (b *Book) PlaceReserved(o Order, ev []Event) []Event {
	return b.PlaceReservedFrom(&o, ev)
}

// PlaceReservedFrom is PlaceReserved reading the order through a pointer,
// as PlaceFrom.
func (b *Book) PlaceReservedFrom(o *Order, ev []Event) []Event {
	b.begin()
	ev = b.place(o, true, ev)
	b.end()
	return ev
}

func (b *Book) validate(o *Order, reserved bool) Reason {
	switch {
	case o.ID == 0:
		return ReasonInvalidOrderID
	case int64(o.Account) >= int64(b.cfg.MaxAccounts):
		return ReasonInvalidAccount
	case o.Side != Buy && o.Side != Sell:
		return ReasonInvalidSide
	case o.Type != Limit && o.Type != Market:
		return ReasonInvalidType
	case o.TIF < GTC || o.TIF > PostOnly || (o.Type == Market && (o.TIF == GTC || o.TIF == PostOnly)):
		return ReasonInvalidTimeInForce
	case o.STP > STPCancelBoth:
		return ReasonInvalidSTP
	case o.QtyLots <= 0:
		return ReasonInvalidQuantity
	case o.QtyLots > b.cfg.MaxOrderLots:
		return ReasonQuantityAboveMax
	case o.PriceTicks > b.cfg.MaxPriceTicks || o.PriceTicks < 0 || (o.Type == Limit && o.PriceTicks == 0):
		return ReasonInvalidPrice
	case o.Type == Limit && !b.inBand(o.PriceTicks):
		return ReasonPriceOutsideBand
	}
	if o.ID <= b.lastID {
		if !reserved {
			return ReasonOrderIDNotIncreasing
		}
		if _, resting := b.ids.get(o.ID, b.orders); resting {
			return ReasonDuplicateOrderID
		}
	}
	if o.TIF == GTC || o.TIF == PostOnly {
		if b.AccountOrderCount(o.Account) >= b.cfg.MaxOrdersPerAccount {
			return ReasonTooManyAccountOrders
		}
		if b.resting >= b.cfg.MaxRestingOrders {
			return ReasonTooManyOrders
		}
		if !b.ladder(o.Side).roomFor(o.PriceTicks, b.cfg.MaxPriceLevels) {
			return ReasonTooManyPriceLevels
		}
		if o.TIF == PostOnly && b.wouldTake(o.Side, o.PriceTicks) {
			return ReasonPostOnlyWouldTake
		}
	}
	return ReasonNone
}

// wouldTake reports whether an order at price on side would cross the book.
func (b *Book) wouldTake(side Side, price int64) bool {
	opp := b.ladder(side.Opposite()).best
	return opp != 0 && crosses(side, opp, price)
}

// limitFor returns the worst price an incoming order may trade at.
func (b *Book) limitFor(o *Order) int64 {
	if o.Type == Limit {
		return o.PriceTicks
	}
	if o.Side == Buy {
		lim := int64(math.MaxInt64)
		if o.PriceTicks > 0 {
			lim = o.PriceTicks
		}
		if b.bandOn {
			lim = min(lim, b.refPriceTicks+b.bandDevTicks)
		}
		return lim
	}
	lim := o.PriceTicks // 0 = no bound: every price is >= 0
	if b.bandOn {
		lim = max(lim, b.refPriceTicks-b.bandDevTicks)
	}
	return lim
}

// crosses reports whether a maker at price is within limit for a taker on side.
func crosses(side Side, price, limit int64) bool {
	if side == Buy {
		return price <= limit
	}
	return price >= limit
}

func (b *Book) place(o *Order, reserved bool, ev []Event) []Event {
	if r := b.validate(o, reserved); r != ReasonNone {
		return appendRejected(ev, r, o.ID, o.Account)
	}
	b.lastID = max(b.lastID, o.ID)
	ev, e := push(ev)
	e.Kind, e.OrderID, e.Account, e.Side, e.PriceTicks, e.QtyLots = EventAccepted, o.ID, o.Account, o.Side, o.PriceTicks, o.QtyLots
	e.Tag = o.Tag
	lim := b.limitFor(o)
	if o.TIF == FOK && b.fillable(o, lim) < o.QtyLots {
		return appendCancelledTaker(ev, o, o.QtyLots, ReasonFOKNotFilled)
	}
	var t incoming // assigned field by field: see push
	t.id, t.account, t.side, t.stp, t.remaining, t.tag = o.ID, o.Account, o.Side, o.STP, o.QtyLots, o.Tag
	ev = b.match(&t, lim, ev)
	switch {
	case t.remaining == 0:
	case t.selfTrade:
		ev = appendCancelledTaker(ev, o, t.remaining, ReasonSelfTrade)
	case o.TIF == GTC || o.TIF == PostOnly:
		b.rest(o, t.remaining, reserved)
	default:
		if o.TIF == FOK {
			panic(fmt.Sprintf("orderbook: FOK order %d left %d lots after the fillable check", o.ID, t.remaining))
		}
		ev = appendCancelledTaker(ev, o, t.remaining, ReasonUnfilledRemainder)
	}
	return ev
}

// push appends a zero event and returns it to be filled in place. Appending
// a composite literal instead builds the event on the stack with narrow
// stores and copies it with wide loads, which stall on store forwarding:
// that copy was the most expensive line of the F1 flow.
func push(ev []Event) ([]Event, *Event) {
	ev = append(ev, Event{})
	return ev, &ev[len(ev)-1]
}

func appendRejected(ev []Event, r Reason, id OrderID, acct AccountID) []Event {
	ev, e := push(ev)
	e.Kind, e.Reason, e.OrderID, e.Account = EventRejected, r, id, acct
	return ev
}

// appendCancelledTaker reports the end of an incoming order with qty unfilled.
func appendCancelledTaker(ev []Event, o *Order, qty int64, r Reason) []Event {
	ev, e := push(ev)
	e.Kind, e.Reason, e.OrderID, e.Account = EventCancelled, r, o.ID, o.Account
	e.Side, e.PriceTicks, e.QtyLots, e.Tag = o.Side, o.PriceTicks, qty, o.Tag
	return ev
}

// fillable returns how much of o could trade now within limit, stopping as
// soon as the whole quantity is found, with self-trade prevention applied as
// the match would apply it.
func (b *Book) fillable(o *Order, limit int64) int64 {
	opp := b.ladder(o.Side.Opposite())
	var sum int64
	for price := opp.best; price != 0 && crosses(o.Side, price, limit); price = opp.next(price) {
		lvl := opp.level(price)
		if o.STP == STPNone {
			sum += lvl.totalLots
		} else {
			for i := lvl.head; i != 0; i = b.orders[i].next {
				m := &b.orders[i]
				if m.account != o.Account {
					sum += m.remaining
				} else if o.STP != STPCancelMaker {
					return sum
				}
				if sum >= o.QtyLots {
					return sum
				}
			}
		}
		if sum >= o.QtyLots {
			return sum
		}
	}
	return sum
}

// incoming is an order while it matches: a new order, or a resting order whose
// amended price crosses the book.
type incoming struct {
	id        OrderID
	account   AccountID
	side      Side
	stp       STP
	remaining int64
	selfTrade bool // matching stopped by self-trade prevention
	tag       uint8
}

// match trades t against the opposite side within limit.
func (b *Book) match(t *incoming, limit int64, ev []Event) []Event {
	opp := b.ladder(t.side.Opposite())
	for t.remaining > 0 {
		price := opp.best
		if price == 0 || !crosses(t.side, price, limit) {
			return ev
		}
		lvl := opp.level(price)
		for t.remaining > 0 {
			mi := lvl.head
			m := &b.orders[mi]
			if m.account == t.account && t.stp != STPNone {
				if t.stp == STPCancelTaker {
					t.selfTrade = true
					return ev
				}
				ev = b.appendCancelled(ev, mi, ReasonSelfTrade)
				last := lvl.tail == mi
				b.remove(mi)
				if t.stp == STPCancelBoth {
					t.selfTrade = true
					return ev
				}
				if last {
					break // the level is empty: go on from the new best price
				}
				continue
			}
			q := min(t.remaining, m.remaining)
			t.remaining -= q
			m.remaining -= q
			done := m.remaining == 0
			var e *Event
			ev, e = push(ev)
			e.Kind, e.Side, e.OrderID, e.Account = EventFill, t.side, t.id, t.account
			e.MakerOrderID, e.MakerAccount, e.PriceTicks, e.QtyLots = m.id, m.account, price, q
			e.RemainingLots, e.MakerDone, e.Tag, e.MakerTag = m.remaining, done, t.tag, m.tag
			if !done {
				b.setTotal(lvl, opp.side, price, lvl.totalLots-q)
				break // only possible when the taker is complete
			}
			last := lvl.tail == mi
			b.removeAt(opp, lvl, mi, q)
			if last {
				break
			}
		}
	}
	return ev
}

// rest puts the remainder of a new order at the back of its level.
func (b *Book) rest(o *Order, remaining int64, reserved bool) {
	i := b.alloc()
	r := &b.orders[i] // filled field by field: see push
	r.id, r.priceTicks, r.qtyLots, r.remaining = o.ID, o.PriceTicks, o.QtyLots, remaining
	r.account, r.side, r.tif, r.stp, r.tag = o.Account, o.Side, o.TIF, o.STP, o.Tag
	b.linkLevel(i)
	b.ids.insert(o.ID, i, b.orders)
	b.linkAccount(i, reserved)
	b.resting++
}

func (b *Book) alloc() uint32 {
	if i := b.freeSlot; i != 0 {
		b.freeSlot = b.orders[i].next
		return i
	}
	b.orders = append(b.orders, order{})
	return uint32(len(b.orders) - 1)
}

// linkLevel appends order i to the back of the level at its price.
func (b *Book) linkLevel(i uint32) {
	o := &b.orders[i]
	l := b.ladder(o.side)
	lvl := l.levelForInsert(o.priceTicks)
	o.prev, o.next = lvl.tail, 0
	if lvl.tail == 0 {
		lvl.head = i
		lvl.tail = i
		l.markOccupied(o.priceTicks)
	} else {
		b.orders[lvl.tail].next = i
		lvl.tail = i
	}
	b.setTotal(lvl, o.side, o.priceTicks, lvl.totalLots+o.remaining)
}

// unlinkLevel takes order i out of its level's queue, emptying the level if
// it was the last; the level's total must already exclude the order.
func (b *Book) unlinkLevel(l *ladder, lvl *level, i uint32) {
	o := &b.orders[i]
	if o.prev != 0 {
		b.orders[o.prev].next = o.next
	} else {
		lvl.head = o.next
	}
	if o.next != 0 {
		b.orders[o.next].prev = o.prev
	} else {
		lvl.tail = o.prev
	}
	if lvl.head == 0 {
		l.markEmpty(o.priceTicks)
	}
}

func (b *Book) linkAccount(i uint32, reserved bool) {
	o := &b.orders[i]
	a := b.account(o.account)
	if a == nil {
		c := int(o.account >> accountChunkBits)
		if c >= len(b.accounts) {
			b.accounts = append(b.accounts, make([][]accountOrders, c+1-len(b.accounts))...)
		}
		b.accounts[c] = make([]accountOrders, 1<<accountChunkBits)
		a = b.account(o.account)
	}
	// The list is in id order. A new id goes to the tail, with stores
	// only, as before reserved ids existed; a reserved one (PlaceReserved)
	// walks back to its place.
	prev, next := a.tail, uint32(0)
	if reserved {
		for prev != 0 && b.orders[prev].id > o.id {
			prev = b.orders[prev].acctPrev
		}
		next = a.head
		if prev != 0 {
			next = b.orders[prev].acctNext
		}
	}
	o.acctPrev, o.acctNext = prev, next
	if prev == 0 {
		a.head = i
	} else {
		b.orders[prev].acctNext = i
	}
	if next == 0 {
		a.tail = i
	} else {
		b.orders[next].acctPrev = i
	}
	a.count++
}

// release frees the slot of an order that left its level: it leaves the id
// index and its account's list.
func (b *Book) release(i uint32) {
	o := &b.orders[i]
	a := b.account(o.account)
	if o.acctPrev != 0 {
		b.orders[o.acctPrev].acctNext = o.acctNext
	} else {
		a.head = o.acctNext
	}
	if o.acctNext != 0 {
		b.orders[o.acctNext].acctPrev = o.acctPrev
	} else {
		a.tail = o.acctPrev
	}
	a.count--
	b.ids.remove(o.id, i)
	b.resting--
	*o = order{}
	o.next = b.freeSlot
	b.freeSlot = i
}

// remove takes a resting order off the book entirely.
func (b *Book) remove(i uint32) {
	o := &b.orders[i]
	l := b.ladder(o.side)
	b.removeAt(l, l.level(o.priceTicks), i, o.remaining)
}

// removeAt takes order i off level lvl of l, whose total drops by lots (its
// remaining quantity, or what it just traded), and frees it.
func (b *Book) removeAt(l *ladder, lvl *level, i uint32, lots int64) {
	b.setTotal(lvl, l.side, b.orders[i].priceTicks, lvl.totalLots-lots)
	b.unlinkLevel(l, lvl, i)
	b.release(i)
}

// appendCancelled reports that resting order i is cancelled; call it before
// the order is removed.
func (b *Book) appendCancelled(ev []Event, i uint32, r Reason) []Event {
	o := &b.orders[i]
	ev, e := push(ev)
	e.Kind, e.Reason, e.OrderID, e.Account = EventCancelled, r, o.id, o.account
	e.Side, e.PriceTicks, e.QtyLots, e.Tag = o.side, o.priceTicks, o.remaining, o.tag
	return ev
}

// lookup returns the slot of a resting order of acct.
func (b *Book) lookup(id OrderID, acct AccountID) (uint32, bool) {
	if id == 0 {
		return 0, false
	}
	i, ok := b.ids.get(id, b.orders)
	if !ok || b.orders[i].account != acct {
		return 0, false
	}
	return i, true
}

// Cancel removes a resting order of acct.
func (b *Book) Cancel(id OrderID, acct AccountID, ev []Event) []Event {
	b.begin()
	ev = b.cancel(id, acct, ev)
	b.end()
	return ev
}

func (b *Book) cancel(id OrderID, acct AccountID, ev []Event) []Event {
	i, ok := b.lookup(id, acct)
	if !ok {
		return appendRejected(ev, ReasonUnknownOrder, id, acct)
	}
	ev = b.appendCancelled(ev, i, ReasonCancelledByUser)
	b.remove(i)
	return ev
}

// Amend changes a resting order's price and total quantity (see the package
// documentation for what keeps priority).
func (b *Book) Amend(id OrderID, acct AccountID, priceTicks, qtyLots int64, ev []Event) []Event {
	b.begin()
	ev = b.amend(id, acct, priceTicks, qtyLots, ev)
	b.end()
	return ev
}

func (b *Book) amend(id OrderID, acct AccountID, priceTicks, qtyLots int64, ev []Event) []Event {
	reject := func(r Reason) []Event {
		return appendRejected(ev, r, id, acct)
	}
	i, ok := b.lookup(id, acct)
	if !ok {
		return reject(ReasonUnknownOrder)
	}
	o := &b.orders[i]
	samePrice := priceTicks == o.priceTicks
	switch {
	case qtyLots <= 0:
		return reject(ReasonInvalidQuantity)
	case qtyLots > b.cfg.MaxOrderLots:
		return reject(ReasonQuantityAboveMax)
	case priceTicks < 1 || priceTicks > b.cfg.MaxPriceTicks:
		return reject(ReasonInvalidPrice)
	case !samePrice && !b.inBand(priceTicks):
		return reject(ReasonPriceOutsideBand)
	case samePrice && qtyLots == o.qtyLots:
		return reject(ReasonNothingToAmend)
	}
	filled := o.qtyLots - o.remaining
	if qtyLots <= filled {
		ev = b.appendCancelled(ev, i, ReasonAmendedToFilled)
		b.remove(i)
		return ev
	}
	if !samePrice && o.tif == PostOnly && b.wouldTake(o.side, priceTicks) {
		return reject(ReasonPostOnlyWouldTake)
	}
	l := b.ladder(o.side)
	lvl := l.level(o.priceTicks)
	if !samePrice && !l.roomFor(priceTicks, b.cfg.MaxPriceLevels) && (lvl.head != i || lvl.tail != i) {
		// The order would open a level on a full side without freeing its own.
		return reject(ReasonTooManyPriceLevels)
	}
	newRemaining := qtyLots - filled
	if samePrice && qtyLots < o.qtyLots {
		b.setTotal(lvl, o.side, o.priceTicks, lvl.totalLots-(o.remaining-newRemaining))
		o.qtyLots, o.remaining = qtyLots, newRemaining
		return b.appendAmended(ev, i, true)
	}
	// Everything else loses priority: take the order out of its queue, then
	// put it back at the tail of its (new) level, trading first if the new
	// price crosses.
	b.setTotal(lvl, o.side, o.priceTicks, lvl.totalLots-o.remaining)
	b.unlinkLevel(l, lvl, i)
	o.priceTicks, o.qtyLots, o.remaining = priceTicks, qtyLots, newRemaining
	ev = b.appendAmended(ev, i, false)
	if !samePrice && b.wouldTake(o.side, priceTicks) {
		var t incoming
		t.id, t.account, t.side, t.stp, t.remaining, t.tag = o.id, o.account, o.side, o.stp, o.remaining, o.tag
		ev = b.match(&t, priceTicks, ev)
		o.remaining = t.remaining
		if t.selfTrade {
			ev = b.appendCancelled(ev, i, ReasonSelfTrade)
		}
		if t.remaining == 0 || t.selfTrade {
			b.release(i)
			return ev
		}
	}
	b.linkLevel(i)
	return ev
}

func (b *Book) appendAmended(ev []Event, i uint32, kept bool) []Event {
	o := &b.orders[i]
	ev, e := push(ev)
	e.Kind, e.OrderID, e.Account, e.Side = EventAmended, o.id, o.account, o.side
	e.PriceTicks, e.QtyLots, e.RemainingLots, e.KeptPriority, e.Tag = o.priceTicks, o.qtyLots, o.remaining, kept, o.tag
	return ev
}
