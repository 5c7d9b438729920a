package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/paperperps/exchange/orderbook"
)

// TestCIDIndexAgainstMaps drives the client order id index and two plain
// maps (the naive model) with the same random registrations and removals,
// many accounts sharing a few ids, and compares every lookup both ways and
// the index's own consistency along the way, through several growths and
// back down to empty.
func TestCIDIndexAgainstMaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	x := newCIDIndex()
	byKey := map[cidKey]orderbook.OrderID{}
	byID := map[orderbook.OrderID]cidKey{}
	var open []orderbook.OrderID
	next := orderbook.OrderID(0)
	key := func() cidKey {
		c, err := ParseClientOrderID(fmt.Sprintf("c%d", rng.IntN(300)))
		if err != nil {
			t.Fatal(err)
		}
		return cidKey{AccountID(rng.IntN(50)), c}
	}
	compare := func() {
		t.Helper()
		if x.len() != len(byKey) {
			t.Fatalf("index holds %d, model %d", x.len(), len(byKey))
		}
		k := key()
		id, ok := x.get(k)
		if wid, wok := byKey[k]; id != wid || ok != wok {
			t.Fatalf("get %v: %d %v, model %d %v", k, id, ok, wid, wok)
		}
		probe := orderbook.OrderID(rng.Int64N(int64(next) + 2))
		gk, ok := x.of(probe)
		if wk, wok := byID[probe]; gk != wk || ok != wok {
			t.Fatalf("of %d: %v %v, model %v %v", probe, gk, ok, wk, wok)
		}
	}
	for step := range 200_000 {
		grow := step < 120_000
		if len(open) > 0 && (grow && rng.IntN(4) == 0 || !grow && rng.IntN(8) != 0) {
			i := rng.IntN(len(open))
			id := open[i]
			open[i] = open[len(open)-1]
			open = open[:len(open)-1]
			k, ok := x.remove(id)
			if !ok || k != byID[id] {
				t.Fatalf("remove %d: %v %v, model %v", id, k, ok, byID[id])
			}
			delete(byKey, k)
			delete(byID, id)
			if _, again := x.remove(id); again {
				t.Fatalf("order %d removed twice", id)
			}
		} else if k := key(); byKey[k] == 0 {
			next++
			x.put(k, next)
			byKey[k], byID[next] = next, k
			open = append(open, next)
		}
		compare()
		if step%5_000 == 0 {
			if err := x.check(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range open {
		if _, ok := x.remove(id); !ok {
			t.Fatalf("order %d missing", id)
		}
	}
	if err := x.check(); err != nil || x.len() != 0 {
		t.Fatalf("emptied: %d left, %v", x.len(), err)
	}
	if len(x.byKey) < 8192 {
		t.Fatalf("the run never grew the tables past %d", len(x.byKey))
	}
}

// TestCIDIndexCheckFindsDamage: the consistency check is not blind.
func TestCIDIndexCheckFindsDamage(t *testing.T) {
	x := newCIDIndex()
	for i := range 100 {
		c, _ := ParseClientOrderID(fmt.Sprint(i))
		x.put(cidKey{1, c}, orderbook.OrderID(i+1))
	}
	if err := x.check(); err != nil {
		t.Fatal(err)
	}
	x.ents[5].key.account = 2 // on a chain its hash no longer picks
	if x.check() == nil {
		t.Fatal("a moved key passed the check")
	}
	x.ents[5].key.account = 1
	x.n++
	if x.check() == nil {
		t.Fatal("a wrong count passed the check")
	}
	x.n--
	x.remove(7)
	x.free = 0 // the freed entry lost
	if x.check() == nil {
		t.Fatal("a lost free entry passed the check")
	}
}

// TestCIDIndexSteadyStateAllocatesNothing: once the tables have grown,
// registering and releasing ids allocates nothing.
func TestCIDIndexSteadyStateAllocatesNothing(t *testing.T) {
	x := newCIDIndex()
	c, _ := ParseClientOrderID("warm")
	for i := range 1000 {
		x.put(cidKey{AccountID(i), c}, orderbook.OrderID(i+1))
	}
	id := orderbook.OrderID(1000)
	allocs := testing.AllocsPerRun(1000, func() {
		id++
		x.remove(id - 1000)
		x.put(cidKey{AccountID(id), c}, id)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per put and remove", allocs)
	}
}

// TestCIDIndexKeysSharingAHash: two keys whose 32-bit hashes are equal sit
// on one chain, and each still finds its own order: the lookup compares
// the keys, not only the hashes.
func TestCIDIndexKeysSharingAHash(t *testing.T) {
	x := newCIDIndex()
	x.seed = 1
	seen := map[uint32]cidKey{}
	var a, b cidKey
	for i := 0; ; i++ {
		c, err := ParseClientOrderID(fmt.Sprint("k", i))
		if err != nil {
			t.Fatal(err)
		}
		k := cidKey{AccountID(i % 7), c}
		h := x.keyHash(&k)
		if prev, ok := seen[h]; ok {
			a, b = prev, k
			break
		}
		seen[h] = k
	}
	x.put(a, 1)
	if id, ok := x.get(b); ok {
		t.Fatalf("key %v found order %d of key %v, which shares its hash", b, id, a)
	}
	x.put(b, 2)
	for _, c := range []struct {
		k  cidKey
		id orderbook.OrderID
	}{{a, 1}, {b, 2}} {
		if id, ok := x.get(c.k); !ok || id != c.id {
			t.Fatalf("key %v: order %d %v, want %d", c.k, id, ok, c.id)
		}
	}
	if err := x.check(); err != nil {
		t.Fatal(err)
	}
	if k, ok := x.remove(1); !ok || k != a {
		t.Fatalf("remove 1: %v %v", k, ok)
	}
	if id, ok := x.get(b); !ok || id != 2 {
		t.Fatalf("after removing its neighbour, key %v: order %d %v", b, id, ok)
	}
	if _, ok := x.get(a); ok {
		t.Fatal("a removed key is still found")
	}
	if err := x.check(); err != nil {
		t.Fatal(err)
	}
}

// A refused client order id names the character that is not allowed, not
// its first byte.
func TestParseClientOrderIDNamesTheCharacter(t *testing.T) {
	_, err := ParseClientOrderID("bot-é")
	if !errors.Is(err, ErrInvalidClientOrderID) || !strings.Contains(err.Error(), "character 'é'") {
		t.Fatalf("%v", err)
	}
	if _, err := ParseClientOrderID("bot-1:a/b_c.d"); err != nil {
		t.Fatal(err)
	}
}
