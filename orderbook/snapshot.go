package orderbook

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/paperperps/exchange/snapshot"
)

// ErrBadSnapshot is wrapped by every error Restore returns.
var ErrBadSnapshot = errors.New("orderbook: bad snapshot")

// snapshotVersion is the first byte of every snapshot. Any change to the
// layout below, or to what a field means, takes a new version.
const snapshotVersion = 2

// AppendSnapshot appends the book's state to dst and returns the extended
// slice. The encoding holds exactly what decides the book's future
// behaviour (config, last accepted id, reference price, update id and the
// resting orders in their queues) and nothing incidental (slab slots, free
// list, id index sizes, pages, command stamps, the last command's Changes),
// so two books with the same observable state give the same bytes whatever
// path led to it, and a hash of the bytes is a state hash.
//
// Layout (uvarint = encoding/binary's unsigned varint, always in its
// shortest form):
//
//	version            1 byte, snapshotVersion
//	config             8 uvarints: MaxPriceTicks, MaxOrderLots,
//	                   MaxRestingOrders, MaxOrdersPerAccount, MaxPriceLevels,
//	                   MaxAccounts, PriceBandTicks, PriceBandPpm
//	lastID             uvarint
//	reference price    uvarint (0 = none)
//	updateID           uvarint
//	bids, then asks:
//	  levels           uvarint, then per level from the best price:
//	    price          uvarint: the first level's price; after it the
//	                   distance (≥ 1) from the previous level's price,
//	                   towards worse prices
//	    orders         uvarint (≥ 1), then per order, oldest first:
//	      lastID - id  uvarint
//	      account      uvarint
//	      flags        1 byte: time in force in bits 0-3, STP in bits 4-7
//	      tag          1 byte: Order.Tag
//	      quantity     uvarint: total ordered, as last amended
//	      filled       uvarint: quantity - remaining
//
// The band's state is not written: it is a function of the config and the
// reference price, and Restore recomputes it with the code that set it.
//
// Each account's list of orders (CancelAccount's order, "the order they
// first rested") is not written either, because it is always ascending by
// id: an order first rests during its own Place, never later (Amend moves it
// between levels but not within its account's list), Place only accepts ids
// above every id accepted before, and PlaceReserved inserts its lower id in
// order. Restore rebuilds the lists in id
// order; encoding checks the premise as it goes and panics if a list is ever
// out of id order, since a snapshot that silently dropped the order would
// restore a different book.
//
// Call it between commands (as everything else on the book, from the one
// goroutine that owns it).
func (b *Book) AppendSnapshot(dst []byte) []byte {
	c := &b.cfg
	dst = append(dst, snapshotVersion)
	for _, v := range [...]int64{
		c.MaxPriceTicks, c.MaxOrderLots, int64(c.MaxRestingOrders), int64(c.MaxOrdersPerAccount),
		int64(c.MaxPriceLevels), int64(c.MaxAccounts), c.PriceBandTicks, c.PriceBandPpm,
	} {
		dst = binary.AppendUvarint(dst, uint64(v))
	}
	dst = binary.AppendUvarint(dst, uint64(b.lastID))
	dst = binary.AppendUvarint(dst, uint64(b.refPriceTicks))
	dst = binary.AppendUvarint(dst, b.updateID)
	for s := range b.ladders {
		l := &b.ladders[s]
		dst = binary.AppendUvarint(dst, uint64(l.levels))
		var prev int64
		for p := l.best; p != 0; p = l.next(p) {
			switch {
			case prev == 0:
				dst = binary.AppendUvarint(dst, uint64(p))
			case l.side == Buy:
				dst = binary.AppendUvarint(dst, uint64(prev-p))
			default:
				dst = binary.AppendUvarint(dst, uint64(p-prev))
			}
			prev = p
			lvl := l.level(p)
			n := 0
			for i := lvl.head; i != 0; i = b.orders[i].next {
				n++
			}
			dst = binary.AppendUvarint(dst, uint64(n))
			for i := lvl.head; i != 0; i = b.orders[i].next {
				o := &b.orders[i]
				if o.acctPrev != 0 && b.orders[o.acctPrev].id >= o.id {
					panic(fmt.Errorf("%w: account %d lists order %d after %d: the snapshot would restore another order",
						ErrInvariant, o.account, o.id, b.orders[o.acctPrev].id))
				}
				dst = binary.AppendUvarint(dst, uint64(b.lastID-o.id))
				dst = binary.AppendUvarint(dst, uint64(o.account))
				dst = append(dst, byte(o.tif)|byte(o.stp)<<4, o.tag)
				dst = binary.AppendUvarint(dst, uint64(o.qtyLots))
				dst = binary.AppendUvarint(dst, uint64(o.qtyLots-o.remaining))
			}
		}
	}
	return dst
}

// Restore rebuilds a book from data that starts with a snapshot written by
// AppendSnapshot, and returns it with the bytes after the snapshot (so that
// several snapshots can be stored back to back). Restored, the book behaves
// exactly as the one that wrote the snapshot; only Changes starts empty, as
// it describes a command and none has run yet.
//
// Restore trusts nothing: it checks the version, the config (Validate),
// every price, quantity, flag and account, that levels come in strict price
// order and are not empty, that ids are unique, non-zero and not above the
// last accepted id, that the book is not crossed and that no limit of the
// config is exceeded, and finally CheckInvariants. Every error wraps
// ErrBadSnapshot (and ErrInvalidConfig for a bad config); on error the book
// and the remaining bytes are nil.
func Restore(data []byte) (*Book, []byte, error) {
	r := snapshot.NewReader(data, ErrBadSnapshot)
	if v := r.Byte("version"); r.Err() == nil && v != snapshotVersion {
		r.Fail("version %d, want %d", v, snapshotVersion)
	}
	var cfg Config
	// Bounds well above the config's limits keep each value safe to convert;
	// Validate then applies the real limits.
	cfg.MaxPriceTicks = int64(r.Upto("MaxPriceTicks", math.MaxInt64))
	cfg.MaxOrderLots = int64(r.Upto("MaxOrderLots", math.MaxInt64))
	cfg.MaxRestingOrders = int(r.Upto("MaxRestingOrders", math.MaxInt32))
	cfg.MaxOrdersPerAccount = int(r.Upto("MaxOrdersPerAccount", math.MaxInt32))
	cfg.MaxPriceLevels = int(r.Upto("MaxPriceLevels", math.MaxInt32))
	cfg.MaxAccounts = int(r.Upto("MaxAccounts", math.MaxInt32))
	cfg.PriceBandTicks = int64(r.Upto("PriceBandTicks", math.MaxInt64))
	cfg.PriceBandPpm = int64(r.Upto("PriceBandPpm", math.MaxInt64))
	if r.Err() != nil {
		return nil, nil, r.Err()
	}
	b, err := New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	lastID := OrderID(r.Uvarint("last order id"))
	ref := int64(r.Upto("reference price", uint64(cfg.MaxPriceTicks)))
	b.updateID = r.Uvarint("update id")
	if r.Err() != nil {
		return nil, nil, r.Err()
	}
	b.lastID = lastID
	b.setReferencePrice(ref, nil)

	// linkLevel records level changes as a command would: give it a stamp,
	// and drop the changes when done.
	b.begin()
	for s := range b.ladders {
		b.restoreSide(&r, &b.ladders[s])
		if r.Err() != nil {
			return nil, nil, r.Err()
		}
	}
	b.changes = b.changes[:0]
	if bid, ask := b.ladders[0].best, b.ladders[1].best; bid != 0 && ask != 0 && bid >= ask {
		return nil, nil, r.Errorf("crossed: best bid %d, best ask %d", bid, ask)
	}

	// Index the orders and build the account lists in id order (see
	// AppendSnapshot for why that is the order they first rested in).
	slots := make([]uint32, 0, b.resting)
	for i := 1; i < len(b.orders); i++ {
		slots = append(slots, uint32(i))
	}
	slices.SortFunc(slots, func(x, y uint32) int { return cmp.Compare(b.orders[x].id, b.orders[y].id) })
	for k, i := range slots {
		o := &b.orders[i]
		if k > 0 && b.orders[slots[k-1]].id == o.id {
			return nil, nil, r.Errorf("order %d rests twice", o.id)
		}
		b.ids.insert(o.id, i, b.orders)
		b.linkAccount(i, false) // in id order: each goes to the tail
		if n := b.AccountOrderCount(o.account); n > cfg.MaxOrdersPerAccount {
			return nil, nil, r.Errorf("account %d has more than MaxOrdersPerAccount (%d) orders", o.account, cfg.MaxOrdersPerAccount)
		}
	}
	if err := b.CheckInvariants(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	return b, r.Rest(), nil
}

// restoreSide reads one side's levels into l, linking each order at the back
// of its level. Ids are indexed and accounts linked afterwards, in id order.
func (b *Book) restoreSide(r *snapshot.Reader, l *ladder) {
	cfg := &b.cfg
	nLevels := r.Uvarint("level count")
	if nLevels > uint64(cfg.MaxPriceLevels) {
		r.Fail("%d %s levels, MaxPriceLevels %d", nLevels, l.side, cfg.MaxPriceLevels)
	}
	var prev int64
	for k := uint64(0); k < nLevels && r.Err() == nil; k++ {
		var price int64
		if k == 0 {
			price = int64(r.Upto("price", uint64(cfg.MaxPriceTicks)))
			if r.Err() == nil && price < 1 {
				r.Fail("%s level at price 0", l.side)
			}
		} else {
			d := r.Uvarint("price step")
			switch {
			case r.Err() != nil:
			case d == 0:
				r.Fail("%s level %d appears twice", l.side, prev)
			case l.side == Buy && d >= uint64(prev):
				r.Fail("%s level below %d steps %d ticks: under 1", l.side, prev, d)
			case l.side == Sell && d > uint64(cfg.MaxPriceTicks-prev):
				r.Fail("%s level above %d steps %d ticks: above MaxPriceTicks %d", l.side, prev, d, cfg.MaxPriceTicks)
			case l.side == Buy:
				price = prev - int64(d)
			default:
				price = prev + int64(d)
			}
		}
		room := uint64(cfg.MaxRestingOrders - b.resting)
		n := r.Uvarint("orders in level")
		switch {
		case r.Err() != nil:
			return
		case n == 0:
			r.Fail("%s level %d has no orders", l.side, price)
		case n > room:
			r.Fail("%s level %d: more than MaxRestingOrders (%d) orders", l.side, price, cfg.MaxRestingOrders)
		}
		for j := uint64(0); j < n && r.Err() == nil; j++ {
			b.restoreOrder(r, l.side, price)
		}
		prev = price
	}
}

func (b *Book) restoreOrder(r *snapshot.Reader, side Side, price int64) {
	cfg := &b.cfg
	back := r.Uvarint("order id")
	if r.Err() == nil && back >= uint64(b.lastID) {
		// Also catches id 0: lastID - id == lastID.
		r.Fail("%s order at %d: last id %d minus %d is not an id in 1..last id", side, price, b.lastID, back)
		return
	}
	id := b.lastID - OrderID(back)
	acct := AccountID(r.Upto("account", uint64(cfg.MaxAccounts-1)))
	flags := r.Byte("flags")
	tif, stp := TimeInForce(flags&0x0f), STP(flags>>4)
	tag := r.Byte("tag")
	if r.Err() == nil && ((tif != GTC && tif != PostOnly) || stp > STPCancelBoth) {
		r.Fail("order %d: flags %#x (time in force %s, STP %s) cannot rest", id, flags, tif, stp)
	}
	qty := int64(r.Upto("quantity", uint64(cfg.MaxOrderLots)))
	filled := r.Uvarint("filled quantity")
	switch {
	case r.Err() != nil:
		return
	case qty < 1:
		r.Fail("order %d: quantity 0", id)
		return
	case filled >= uint64(qty):
		r.Fail("order %d: filled %d of %d leaves nothing to rest", id, filled, qty)
		return
	}
	i := b.alloc()
	o := &b.orders[i]
	o.id, o.priceTicks, o.qtyLots, o.remaining = id, price, qty, qty-int64(filled)
	o.account, o.side, o.tif, o.stp, o.tag = acct, side, tif, stp, tag
	b.linkLevel(i)
	b.resting++
}
