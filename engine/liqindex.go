package engine

// The liquidation index: per market, two binary heaps of trigger prices, one
// for prices that fire as the mark falls (longs) and one for those that fire
// as it rises (shorts). An entry names an account and carries the account's
// index version when it was pushed; re-indexing an account bumps its version,
// which makes all its older entries stale at once. Stale entries are dropped
// when they reach the top of a heap, or all together when a heap holds more
// than four times its valid entries (plus 4,096), so an update costs an
// O(1)-average push and the removal of old entries is amortized.
//
// A heap orders its entries totally, by price (the next to fire first) and
// then by account, so the order in which due accounts are found depends only
// on the set of valid entries, never on the heap's layout: an engine
// restored from a snapshot finds them in the same order.

const (
	dirFalls = 0 // fires when the mark is at or below the price
	dirRises = 1 // fires when the mark is at or above the price
)

type liqEntry struct {
	price int64
	acct  AccountID
	ver   uint32
}

type liqHeap struct {
	e     []liqEntry
	rises bool
	live  int // valid entries
}

// first reports whether x fires before y.
func (h *liqHeap) first(x, y *liqEntry) bool {
	if x.price != y.price {
		return (x.price < y.price) == h.rises
	}
	if x.acct != y.acct {
		return x.acct < y.acct
	}
	return x.ver < y.ver
}

// due reports whether an entry at price fires at mark.
func (h *liqHeap) due(price, mark int64) bool {
	if h.rises {
		return mark >= price
	}
	return mark <= price
}

func (h *liqHeap) push(x liqEntry) {
	h.e = append(h.e, x)
	h.up(len(h.e) - 1)
}

func (h *liqHeap) pop() {
	n := len(h.e) - 1
	h.e[0] = h.e[n]
	h.e = h.e[:n]
	if n > 0 {
		h.down(0)
	}
}

func (h *liqHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.first(&h.e[i], &h.e[p]) {
			return
		}
		h.e[i], h.e[p] = h.e[p], h.e[i]
		i = p
	}
}

func (h *liqHeap) down(i int) {
	n := len(h.e)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && h.first(&h.e[c+1], &h.e[c]) {
			c++
		}
		if !h.first(&h.e[c], &h.e[i]) {
			return
		}
		h.e[i], h.e[c] = h.e[c], h.e[i]
		i = c
	}
}

// compact drops the stale entries (valid reports which are not) and
// restores the heap order in O(n).
func (h *liqHeap) compact(valid func(*liqEntry) bool) {
	kept := h.e[:0]
	for i := range h.e {
		if valid(&h.e[i]) {
			kept = append(kept, h.e[i])
		}
	}
	h.e = kept
	for i := len(h.e)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// validEntry reports whether x is one of its account's current entries.
func (e *Engine) validEntry(x *liqEntry) bool { return x.ver == e.accts[x.acct].watchVer }

// unwatch makes all of account a's index entries stale.
func (e *Engine) unwatch(a AccountID) {
	e.accts[a].watchVer++
	slots := e.slots[e.slot(a, 0):][:len(e.markets)]
	for m := range slots {
		for d, c := range slots[m].watchCnt {
			if c != 0 {
				e.markets[m].liq[d].live -= int(c)
			}
		}
		slots[m].watchCnt = [2]uint16{}
	}
}

// addEntry indexes account a at price in market m's heap d.
func (e *Engine) addEntry(a AccountID, m MarketID, d int, price int64) {
	h := &e.markets[m].liq[d]
	h.push(liqEntry{price: price, acct: a, ver: e.accts[a].watchVer})
	h.live++
	e.slots[e.slot(a, m)].watchCnt[d]++
	if len(h.e) > 4*h.live+4096 {
		h.compact(e.validEntry)
	}
}

// collectDue takes every valid entry the marks have reached out of the
// index and marks its account for a re-check.
func (e *Engine) collectDue() {
	if !e.marksMoved {
		return // nothing came due since the last look
	}
	e.marksMoved = false
	for m := range e.markets {
		ms := &e.markets[m]
		if ms.markTicks == 0 {
			continue
		}
		for d := range ms.liq {
			h := &ms.liq[d]
			for len(h.e) > 0 {
				top := h.e[0]
				if !e.validEntry(&top) {
					h.pop()
					continue
				}
				if !h.due(top.price, ms.markTicks) {
					break
				}
				h.pop()
				h.live--
				e.slots[e.slot(top.acct, MarketID(m))].watchCnt[d]--
				e.touch(top.acct)
			}
		}
	}
}

// touch marks account a for a re-check at the end of the command: its
// money or positions changed, or an index entry of it came due.
//
// It also moves the account's stamp on, which makes the liquidation prices
// remembered for it (lpMemo) stale.
func (e *Engine) touch(a AccountID) {
	if e.hasFund && a == e.fundAcct {
		return // the fund is tended, not indexed (fund.go)
	}
	if e.accts[a].stamp++; e.accts[a].stamp == 0 {
		e.accts[a].stamp = 1 // 0 is a memo never written
	}
	if !e.accts[a].touched && !e.cfg.DisableLiquidation {
		e.accts[a].touched = true
		e.touched = append(e.touched, a)
	}
}

// lpMemo remembers the liquidation price a position event computed for a
// position alone in its pool (isolated, or cross with no other cross
// position), valid while the account's stamp is unchanged: watch then
// needs not solve it again.
type lpMemo struct {
	stamp uint32
	ok    bool
	lp    int64
}

// memoLiqPrice returns the remembered liquidation price of account a's
// position in m, if still valid.
func (e *Engine) memoLiqPrice(a AccountID, m MarketID) (lp int64, ok, hit bool) {
	c := &e.slots[e.slot(a, m)].lp
	if c.stamp != e.accts[a].stamp {
		return 0, false, false
	}
	return c.lp, c.ok, true
}
