package orderbook

import "math/bits"

// idIndex maps order ids to slab slots. It is an open-addressing table with
// linear probing and backward-shift deletion: no tombstones, so a table that
// sees endless inserts and deletes never degrades or rehashes in place, and
// lookups touch one or two cache lines. Go's map would cost two to three
// times as much per operation on the hot path of every place and cancel.
type idIndex struct {
	slots []idSlot
	shift uint // 64 - log2(len(slots))
	mask  uint64
	n     int
}

type idSlot struct {
	id   OrderID // 0 marks an empty slot; the book never stores id 0
	slot uint32
}

const idIndexMinSize = 1024

func newIDIndex() idIndex {
	var x idIndex
	x.resize(idIndexMinSize)
	return x
}

func (x *idIndex) resize(size int) {
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
func (x *idIndex) home(id OrderID) uint64 {
	return (uint64(id) * 0x9E3779B97F4A7C15) >> x.shift
}

func (x *idIndex) get(id OrderID) (uint32, bool) {
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
func (x *idIndex) insert(id OrderID, slot uint32) {
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
func (x *idIndex) remove(id OrderID) {
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
