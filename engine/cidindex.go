package engine

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"

	"github.com/paperperps/exchange/orderbook"
)

// cidIndex holds the client order ids of open orders both ways: an
// account's id to its order (a cancel or amend by client order id, the
// duplicate check of a placement) and an order to its id (the order's
// events, the id's release when the order ends).
//
// Each registered id is one entry in a slab, chained into two hash tables
// of slab indexes, one by (account, id) and one by order id. It replaces
// two Go maps whose 40-byte keys cost a hash and a compare per probe, and
// which bots that place and cancel all day fill with deleted slots that
// every probe then walks: in the liquidation-cascade benchmark the two maps
// took 13% of the process's CPU. Here an insert and a removal relink a few
// slab indexes, a freed entry is reused, and nothing is allocated once the
// tables have grown to the number of open orders.
//
// Lookups depend only on the set of entries, never on the chains' order,
// so the engine stays deterministic although the key hash is seeded at
// random (an attacker who picks client order ids cannot aim them at one
// chain). Whatever iterates the entries (snapshots) sorts them first.
type cidIndex struct {
	seed  uint64
	byKey []uint32 // chain heads by hash of the key; 0 ends a chain
	byID  []uint32 // chain heads by the order id's low bits
	ents  []cidEntry
	free  uint32 // first free entry (chained through nextKey), 0 if none
	n     int    // live entries
}

// cidEntry is one registered client order id. ents[0] is never used, so
// that 0 can end a chain.
type cidEntry struct {
	key cidKey
	// hash is the key's hash: a lookup compares it before the key, so
	// the other entries on its chain cost no 40-byte compare.
	hash            uint32
	nextKey, nextID uint32
	id              orderbook.OrderID // 0: free
}

// cidMinBuckets is the size of a new index's tables.
const cidMinBuckets = 64

func newCIDIndex() cidIndex {
	return cidIndex{
		seed:  rand.Uint64(),
		byKey: make([]uint32, cidMinBuckets),
		byID:  make([]uint32, cidMinBuckets),
		ents:  make([]cidEntry, 1, cidMinBuckets+1),
	}
}

// mix folds the 128-bit product of a and b (the step of wyhash).
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0xa0761d6478bd642f, b^0xe7037ed1a0b428db)
	return hi ^ lo
}

// keyHash hashes a key: the low bits pick its chain, all 32 are kept in
// its entry.
func (x *cidIndex) keyHash(k *cidKey) uint32 {
	c := k.cid[:]
	h := mix(x.seed^uint64(k.account), binary.LittleEndian.Uint64(c[0:]))
	h = mix(h, binary.LittleEndian.Uint64(c[8:]))
	h = mix(h, binary.LittleEndian.Uint64(c[16:]))
	h = mix(h, binary.LittleEndian.Uint64(c[24:]))
	h = mix(h, uint64(binary.LittleEndian.Uint32(c[32:])))
	return uint32(h)
}

func (x *cidIndex) keySlot(h uint32) uint32 { return h & uint32(len(x.byKey)-1) }

// idSlot picks order id's chain by its low bits. The engine hands ids out
// in sequence, so the open orders' ids are mostly a dense recent range that
// this spreads evenly, and an order placed just after another shares its
// chain head's cache line (no client chooses an id, so no hash is needed).
func (x *cidIndex) idSlot(id orderbook.OrderID) uint32 {
	return uint32(id) & uint32(len(x.byID)-1)
}

// len returns the number of registered ids.
func (x *cidIndex) len() int { return x.n }

// get returns the order account k.account's client order id k.cid names.
func (x *cidIndex) get(k cidKey) (orderbook.OrderID, bool) {
	h := x.keyHash(&k)
	for i := x.byKey[x.keySlot(h)]; i != 0; i = x.ents[i].nextKey {
		if e := &x.ents[i]; e.hash == h && e.key == k {
			return e.id, true
		}
	}
	return 0, false
}

// find returns the slab index of order id's entry, 0 if it has none.
func (x *cidIndex) find(id orderbook.OrderID) uint32 {
	for i := x.byID[x.idSlot(id)]; i != 0; i = x.ents[i].nextID {
		if x.ents[i].id == id {
			return i
		}
	}
	return 0
}

// of returns the key order id is registered under.
func (x *cidIndex) of(id orderbook.OrderID) (cidKey, bool) {
	if i := x.find(id); i != 0 {
		return x.ents[i].key, true
	}
	return cidKey{}, false
}

// put registers k for order id. Neither may be registered already (the
// engine checks for a duplicate before it places an order).
func (x *cidIndex) put(k cidKey, id orderbook.OrderID) {
	if 2*x.n >= len(x.byKey) {
		x.grow() // at most half full: chains stay short
	}
	i := x.free
	if i != 0 {
		x.free = x.ents[i].nextKey
	} else {
		i = uint32(len(x.ents))
		x.ents = append(x.ents, cidEntry{})
	}
	x.link(i, k, x.keyHash(&k), id)
	x.n++
}

func (x *cidIndex) link(i uint32, k cidKey, h uint32, id orderbook.OrderID) {
	ks, is := x.keySlot(h), x.idSlot(id)
	x.ents[i] = cidEntry{key: k, hash: h, id: id, nextKey: x.byKey[ks], nextID: x.byID[is]}
	x.byKey[ks], x.byID[is] = i, i
}

// remove unregisters order id's client order id and returns it.
func (x *cidIndex) remove(id orderbook.OrderID) (cidKey, bool) {
	is := x.idSlot(id)
	prev := uint32(0)
	i := x.byID[is]
	for i != 0 && x.ents[i].id != id {
		prev, i = i, x.ents[i].nextID
	}
	if i == 0 {
		return cidKey{}, false
	}
	e := &x.ents[i]
	if prev == 0 {
		x.byID[is] = e.nextID
	} else {
		x.ents[prev].nextID = e.nextID
	}
	k := e.key
	ks := x.keySlot(e.hash)
	if x.byKey[ks] == i {
		x.byKey[ks] = e.nextKey
	} else {
		j := x.byKey[ks]
		for x.ents[j].nextKey != i {
			if j = x.ents[j].nextKey; j == 0 {
				panic(fmt.Sprintf("engine: client order id index: order %d not on its key's chain", id))
			}
		}
		x.ents[j].nextKey = e.nextKey
	}
	*e = cidEntry{nextKey: x.free}
	x.free = i
	x.n--
	return k, true
}

// grow doubles both tables and chains every entry again.
func (x *cidIndex) grow() {
	n := 2 * len(x.byKey)
	x.byKey, x.byID = make([]uint32, n), make([]uint32, n)
	for i := uint32(1); i < uint32(len(x.ents)); i++ {
		if e := x.ents[i]; e.id != 0 {
			x.link(i, e.key, e.hash, e.id)
		}
	}
}

// each calls f for every registered id, in no particular order.
func (x *cidIndex) each(f func(k cidKey, id orderbook.OrderID)) {
	for i := 1; i < len(x.ents); i++ {
		if e := &x.ents[i]; e.id != 0 {
			f(e.key, e.id)
		}
	}
}

// check verifies the two tables against the slab: every live entry is on
// the chain of its key's hash and on that of its order id's, once, no chain
// holds anything else, each entry's key and order id find it, and the free
// list holds every other entry.
func (x *cidIndex) check() error {
	onKey, onID := 0, 0
	for s := range x.byKey {
		for i := x.byKey[s]; i != 0; i = x.ents[i].nextKey {
			if onKey++; onKey > x.n || x.ents[i].id == 0 || x.ents[i].hash != x.keyHash(&x.ents[i].key) || x.keySlot(x.ents[i].hash) != uint32(s) {
				return fmt.Errorf("client order id index: entry %d on the wrong key chain", i)
			}
		}
		for i := x.byID[s]; i != 0; i = x.ents[i].nextID {
			if onID++; onID > x.n || x.ents[i].id == 0 || x.idSlot(x.ents[i].id) != uint32(s) {
				return fmt.Errorf("client order id index: entry %d on the wrong order chain", i)
			}
		}
	}
	live := 0
	for i := 1; i < len(x.ents); i++ {
		e := &x.ents[i]
		if e.id == 0 {
			continue
		}
		live++
		if id, ok := x.get(e.key); !ok || id != e.id || x.find(e.id) != uint32(i) {
			return fmt.Errorf("client order id index: account %d's id %q and order %d do not find each other", e.key.account, e.key.cid, e.id)
		}
	}
	if onKey != x.n || onID != x.n || live != x.n {
		return fmt.Errorf("client order id index counts %d entries: %d live, %d on key chains, %d on order chains", x.n, live, onKey, onID)
	}
	free := 0
	for i := x.free; i != 0; i = x.ents[i].nextKey {
		if free++; free > len(x.ents)-1-x.n || x.ents[i].id != 0 {
			return fmt.Errorf("client order id index: free list reaches entry %d, live or past the %d free", i, len(x.ents)-1-x.n)
		}
	}
	if free != len(x.ents)-1-x.n {
		return fmt.Errorf("client order id index: %d entries on the free list, %d free", free, len(x.ents)-1-x.n)
	}
	return nil
}
