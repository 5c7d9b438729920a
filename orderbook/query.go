package orderbook

// CancelAccount cancels every resting order of acct, in the order they first
// rested. Liquidation calls it before it closes a position.
func (b *Book) CancelAccount(acct AccountID, ev []Event) []Event {
	b.begin()
	ev = b.cancelAccount(acct, ev)
	b.end()
	return ev
}

func (b *Book) cancelAccount(acct AccountID, ev []Event) []Event {
	if int64(acct) >= int64(b.cfg.MaxAccounts) {
		return appendRejected(ev, ReasonInvalidAccount, 0, acct)
	}
	a := b.account(acct)
	if a == nil {
		return ev
	}
	for i := a.head; i != 0; {
		next := b.orders[i].acctNext
		ev = b.appendCancelled(ev, i, ReasonAccountCancelAll)
		b.remove(i)
		i = next
	}
	return ev
}

// CancelAll cancels every resting order: bids, then asks, each from the best
// price, oldest first.
func (b *Book) CancelAll(ev []Event) []Event {
	b.begin()
	ev = b.cancelAll(ev)
	b.end()
	return ev
}

func (b *Book) cancelAll(ev []Event) []Event {
	for s := range b.ladders {
		l := &b.ladders[s]
		for l.best != 0 {
			lvl := l.level(l.best)
			for i := lvl.head; ; {
				next := b.orders[i].next
				ev = b.appendCancelled(ev, i, ReasonBookCancelAll)
				b.remove(i) // the last one empties the level and moves best on
				if next == 0 {
					break
				}
				i = next
			}
		}
	}
	return ev
}

// Changes lists the levels whose total changed in the last command. The
// slice is reused by the next command.
func (b *Book) Changes() []LevelChange { return b.changes }

// UpdateID grows by one with every command that changed a level.
func (b *Book) UpdateID() uint64 { return b.updateID }

// Len returns the number of resting orders.
func (b *Book) Len() int { return b.resting }

// AccountOrderCount returns the number of resting orders of acct.
func (b *Book) AccountOrderCount(acct AccountID) int {
	if a := b.account(acct); a != nil {
		return int(a.count)
	}
	return 0
}

// BestBid returns the highest bid and its total quantity.
func (b *Book) BestBid() (priceTicks, totalLots int64, ok bool) { return b.best(Buy) }

// BestAsk returns the lowest ask and its total quantity.
func (b *Book) BestAsk() (priceTicks, totalLots int64, ok bool) { return b.best(Sell) }

func (b *Book) best(s Side) (int64, int64, bool) {
	l := b.ladder(s)
	if l.best == 0 {
		return 0, 0, false
	}
	return l.best, l.level(l.best).totalLots, true
}

// Depth appends up to n levels of side to dst, best first.
func (b *Book) Depth(side Side, n int, dst []Level) []Level {
	return b.depth(side, n, dst, true)
}

// DepthLots is Depth without the order counts (Orders is 0): what a price
// computed from the book reads after every command, without walking each
// level's orders.
func (b *Book) DepthLots(side Side, n int, dst []Level) []Level {
	return b.depth(side, n, dst, false)
}

func (b *Book) depth(side Side, n int, dst []Level, counts bool) []Level {
	if side != Buy && side != Sell {
		return dst
	}
	l := b.ladder(side)
	for p := l.best; p != 0 && n > 0; p = l.next(p) {
		lvl := l.level(p)
		count := 0
		if counts {
			for i := lvl.head; i != 0; i = b.orders[i].next {
				count++
			}
		}
		dst = append(dst, Level{PriceTicks: p, TotalLots: lvl.totalLots, Orders: count})
		n--
	}
	return dst
}

// Order returns a resting order.
func (b *Book) Order(id OrderID) (RestingOrder, bool) {
	if id == 0 {
		return RestingOrder{}, false
	}
	i, ok := b.ids.get(id, b.orders)
	if !ok {
		return RestingOrder{}, false
	}
	return b.view(i), true
}

// Resting is Order reduced to what the engine reads after every placement:
// whether the order rests, and its side, limit price and remaining lots. A
// RestingOrder is returned through memory and copied with 16-byte loads,
// which stall on the narrower stores that have just written it; these
// scalars come back in registers.
func (b *Book) Resting(id OrderID) (side Side, priceTicks, remainingLots int64, ok bool) {
	if id == 0 {
		return 0, 0, 0, false
	}
	i, ok := b.ids.get(id, b.orders)
	if !ok {
		return 0, 0, 0, false
	}
	o := &b.orders[i]
	return o.side, o.priceTicks, o.remaining, true
}

func (b *Book) view(i uint32) RestingOrder {
	o := &b.orders[i]
	return RestingOrder{ID: o.id, Account: o.account, Side: o.side, TIF: o.tif, STP: o.stp, Tag: o.tag,
		PriceTicks: o.priceTicks, QtyLots: o.qtyLots, FilledLots: o.qtyLots - o.remaining, RemainingLots: o.remaining}
}

// Orders appends every resting order of side to dst in priority order.
func (b *Book) Orders(side Side, dst []RestingOrder) []RestingOrder {
	if side != Buy && side != Sell {
		return dst
	}
	l := b.ladder(side)
	for p := l.best; p != 0; p = l.next(p) {
		for i := l.level(p).head; i != 0; i = b.orders[i].next {
			dst = append(dst, b.view(i))
		}
	}
	return dst
}

// AccountOrders appends acct's resting orders to dst in id order (the order
// CancelAccount cancels them in).
func (b *Book) AccountOrders(acct AccountID, dst []RestingOrder) []RestingOrder {
	a := b.account(acct)
	if a == nil {
		return dst
	}
	for i := a.head; i != 0; i = b.orders[i].acctNext {
		dst = append(dst, b.view(i))
	}
	return dst
}
