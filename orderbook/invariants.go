package orderbook

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// ErrInvariant is wrapped by every error CheckInvariants returns.
var ErrInvariant = errors.New("orderbook: invariant broken")

// CheckInvariants walks the whole book and reports the first broken
// invariant: the book is uncrossed; each level's total is the sum of its
// orders and its links are consistent; every order is in exactly one level,
// the id index and its account's list; filled plus remaining equals the
// order's quantity; the occupancy bitsets, page lists and best prices agree
// with the levels. It costs O(orders + pages), so tests call it after every
// command and production code never does.
func (b *Book) CheckInvariants() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvariant}, args...)...)
	}
	seen := make(map[uint32]bool, b.resting)
	for s := range b.ladders {
		l := &b.ladders[s]
		if len(l.pages) != len(l.active) || !slices.IsSorted(l.active) {
			return fail("%s: %d pages but %d active (sorted %t)", l.side, len(l.pages), len(l.active), slices.IsSorted(l.active))
		}
		var bestSeen int64
		levels := 0
		for _, no := range l.active {
			p := l.pages[no]
			if p == nil {
				return fail("%s: active page %d missing", l.side, no)
			}
			used := 0
			for _, w := range p.occupied {
				used += bits.OnesCount64(w)
			}
			if used != p.used || used == 0 {
				return fail("%s: page %d has %d bits set, used=%d", l.side, no, used, p.used)
			}
			for k := range p.levels {
				lvl := &p.levels[k]
				price := no<<pageBits | int64(k)
				occupied := p.occupied[k>>6]&(1<<(k&63)) != 0
				if occupied != (lvl.head != 0) || (lvl.head == 0) != (lvl.tail == 0) {
					return fail("%s %d: occupied=%t head=%d tail=%d", l.side, price, occupied, lvl.head, lvl.tail)
				}
				if !occupied {
					if lvl.totalLots != 0 {
						return fail("%s %d: empty level with total %d", l.side, price, lvl.totalLots)
					}
					continue
				}
				levels++
				if bestSeen == 0 || l.better(price, bestSeen) {
					bestSeen = price
				}
				var sum int64
				prev := uint32(0)
				for i := lvl.head; i != 0; i = b.orders[i].next {
					o := &b.orders[i]
					if seen[i] {
						return fail("order slot %d linked twice", i)
					}
					seen[i] = true
					if o.prev != prev || o.priceTicks != price || o.side != l.side {
						return fail("order %d at %s %d: prev=%d want %d, price=%d side=%s", o.id, l.side, price, o.prev, prev, o.priceTicks, o.side)
					}
					if o.remaining <= 0 || o.remaining > o.qtyLots {
						return fail("order %d: remaining %d of %d", o.id, o.remaining, o.qtyLots)
					}
					if j, ok := b.ids.get(o.id, b.orders); !ok || j != i {
						return fail("order %d: id index gives %d,%t, want slot %d", o.id, j, ok, i)
					}
					sum += o.remaining
					prev = i
				}
				if prev != lvl.tail || sum != lvl.totalLots {
					return fail("%s %d: tail %d want %d, total %d want %d", l.side, price, lvl.tail, prev, lvl.totalLots, sum)
				}
			}
		}
		if levels != l.levels {
			return fail("%s: %d levels counted, %d recorded", l.side, levels, l.levels)
		}
		if bestSeen != l.best {
			return fail("%s: best %d, levels say %d", l.side, l.best, bestSeen)
		}
	}
	if bid, ask := b.ladders[0].best, b.ladders[1].best; bid != 0 && ask != 0 && bid >= ask {
		return fail("crossed: bid %d >= ask %d", bid, ask)
	}
	if len(seen) != b.resting || b.ids.len() != b.resting {
		return fail("%d orders linked, %d indexed, resting=%d", len(seen), b.ids.len(), b.resting)
	}
	inAccounts := 0
	for c, chunk := range b.accounts {
		for k := range chunk {
			acct := AccountID(c<<accountChunkBits | k)
			acc := &chunk[k]
			n := int32(0)
			prev := uint32(0)
			for i := acc.head; i != 0; i = b.orders[i].acctNext {
				o := &b.orders[i]
				if !seen[i] || o.account != acct || o.acctPrev != prev {
					return fail("account %d list: slot %d (linked=%t, account %d, prev %d want %d)", acct, i, seen[i], o.account, o.acctPrev, prev)
				}
				prev = i
				n++
			}
			if n != acc.count || prev != acc.tail {
				return fail("account %d: %d orders listed, count %d, tail %d want %d", acct, n, acc.count, acc.tail, prev)
			}
			inAccounts += int(n)
		}
	}
	if inAccounts != b.resting {
		return fail("%d orders in account lists, resting=%d", inAccounts, b.resting)
	}
	free := 0
	for i := b.freeSlot; i != 0; i = b.orders[i].next {
		free++
		if free > len(b.orders) {
			return fail("free list loops")
		}
	}
	if free+b.resting != len(b.orders)-1 {
		return fail("%d free + %d resting != %d slots", free, b.resting, len(b.orders)-1)
	}
	return nil
}
