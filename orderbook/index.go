package orderbook

import "math/bits"

// idHash maps order ids to slab slots. It is an open-addressing table with
// linear probing and backward-shift deletion: no tombstones, so a table that
// sees endless inserts and deletes never degrades or rehashes in place, and
// lookups touch one or two cache lines. Go's map would cost two to three
// times as much per operation on the hot path of every place and cancel.
type idHash struct {
	slots []idSlot
	shift uint // 64 - log2(len(slots))
	mask  uint64
	n     int
}

type idSlot struct {
	id   OrderID // 0 marks an empty slot; the book never stores id 0
	slot uint32
}

const idHashMinSize = 64

func newIDHash() idHash {
	var x idHash
	x.resize(idHashMinSize)
	return x
}

func (x *idHash) resize(size int) {
	old := x.slots
	x.slots = make([]idSlot, size)
	x.mask = uint64(size - 1)
	x.shift = uint(64 - bits.TrailingZeros64(uint64(size)))
	x.n = 0
	for _, s := range old {
		if s.id != 0 {
			x.insert(s.id, s.slot)
		}
	}
}

// home spreads ids over the table by Fibonacci hashing (the top bits of
// id × 2^64/φ). Placing consecutive ids in consecutive slots would make
// inserts cache-friendly, but the run of recent, still-resting ids then
// forms one long cluster that lookups of older ids must probe through.
func (x *idHash) home(id OrderID) uint64 {
	return (uint64(id) * 0x9E3779B97F4A7C15) >> x.shift
}

func (x *idHash) get(id OrderID) (uint32, bool) {
	for i := x.home(id); ; i = (i + 1) & x.mask {
		s := &x.slots[i]
		if s.id == id {
			return s.slot, true
		}
		if s.id == 0 {
			return 0, false
		}
	}
}

// insert adds id, which must not be present. The table is kept at most half
// full so probe sequences stay short.
func (x *idHash) insert(id OrderID, slot uint32) {
	if 2*(x.n+1) > len(x.slots) {
		x.resize(2 * len(x.slots))
	}
	i := x.home(id)
	for x.slots[i].id != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = idSlot{id: id, slot: slot}
	x.n++
}

// remove deletes id, which must be present, and shifts back the entries of
// its probe run so that no lookup ever has to step over a hole.
func (x *idHash) remove(id OrderID) {
	i := x.home(id)
	for x.slots[i].id != id {
		i = (i + 1) & x.mask
	}
	for {
		x.slots[i] = idSlot{}
		j := i
		for {
			j = (j + 1) & x.mask
			if x.slots[j].id == 0 {
				x.n--
				return
			}
			// The entry at j may move to the hole at i only if its home is
			// not cyclically within (i, j]: otherwise a lookup starting at
			// its home would stop at the hole before reaching it.
			h := x.home(x.slots[j].id)
			if (j-h)&x.mask >= (j-i)&x.mask {
				break
			}
		}
		x.slots[i] = x.slots[j]
		i = j
	}
}

// idIndex maps the ids of resting orders to their slots. Order ids increase
// (the book refuses any other), so the ring, indexed by id modulo its size,
// receives new ids in sequence and its inserts hit a cache line that is
// already hot; an id is found with one ring read plus the read of the order
// itself, which the caller needs anyway. An order still resting when a newer
// id claims its ring entry moves to the hash table old, where it stays until
// it leaves the book. The ring doubles when more than 1/32 of a window of
// len(ring) inserts evicted an order: it grows with the number of orders
// that outlive len(ring) newer ids, not with the long-lived ones already in
// old, and never shrinks. On flow F1 (about 5,000 resting orders) the ring
// settles at 32,768 entries (128 KB) with a few percent of the orders in
// old; a larger ring was slower again, as it spills out of the cache.
type idIndex struct {
	ring []uint32 // slot of the order whose id ≡ index (mod len), 0 = none
	mask uint64
	old  idHash
	// inserts and evictions count the current window of len(ring) inserts.
	inserts, evictions int
}

const (
	idRingMinSize = 4096
	// idRingMaxSize is 32 entries per order at MaxRestingOrdersLimit.
	idRingMaxSize = 32 * MaxRestingOrdersLimit
)

func newIDIndex() idIndex {
	return idIndex{ring: make([]uint32, idRingMinSize), mask: idRingMinSize - 1, old: newIDHash()}
}

func (x *idIndex) get(id OrderID, orders []order) (uint32, bool) {
	if s := x.ring[uint64(id)&x.mask]; s != 0 && orders[s].id == id {
		return s, true
	}
	if x.old.n == 0 {
		return 0, false
	}
	return x.old.get(id)
}

func (x *idIndex) insert(id OrderID, slot uint32, orders []order) {
	r := &x.ring[uint64(id)&x.mask]
	if *r != 0 {
		x.old.insert(orders[*r].id, *r)
		x.evictions++
	}
	*r = slot
	x.inserts++
	if x.inserts == len(x.ring) {
		// Judge the ring once per len(ring) inserts: grow it if more than
		// 1/32 of them evicted a resting order.
		if x.evictions > len(x.ring)/32 && len(x.ring) < idRingMaxSize {
			x.grow(orders)
		}
		x.inserts, x.evictions = 0, 0
	}
}

func (x *idIndex) remove(id OrderID, slot uint32) {
	if r := &x.ring[uint64(id)&x.mask]; *r == slot {
		*r = 0
		return
	}
	x.old.remove(id)
}

// grow doubles the ring and places every indexed order again.
func (x *idIndex) grow(orders []order) {
	oldRing, oldHash := x.ring, x.old
	x.ring = make([]uint32, 2*len(oldRing))
	x.mask = uint64(len(x.ring) - 1)
	x.old = newIDHash()
	for _, s := range oldRing {
		if s != 0 {
			x.place(orders[s].id, s, orders)
		}
	}
	for _, e := range oldHash.slots {
		if e.id != 0 {
			x.place(e.id, e.slot, orders)
		}
	}
}

// place puts an id into the ring, keeping the newer of two colliding ids
// there (a later insert would otherwise evict it anyway).
func (x *idIndex) place(id OrderID, slot uint32, orders []order) {
	r := &x.ring[uint64(id)&x.mask]
	switch {
	case *r == 0:
		*r = slot
	case orders[*r].id < id:
		x.old.insert(orders[*r].id, *r)
		*r = slot
	default:
		x.old.insert(id, slot)
	}
}

// len returns the number of indexed ids.
func (x *idIndex) len() int {
	n := x.old.n
	for _, s := range x.ring {
		if s != 0 {
			n++
		}
	}
	return n
}
