package orderbook

import (
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// The slab's layout is part of the speed budget: one order, one cache line.
func TestOrderIsOneCacheLine(t *testing.T) {
	if s := unsafe.Sizeof(order{}); s != 64 {
		t.Fatalf("order is %d bytes, want 64", s)
	}
	if s := unsafe.Sizeof(level{}); s != 24 {
		t.Fatalf("level is %d bytes, want 24", s)
	}
}

// TestIDHashAgainstMap drives the open-addressing table and a Go map with
// the same random inserts and removes, including ids with power-of-two
// strides that would pile up under a plain modulo.
func TestIDHashAgainstMap(t *testing.T) {
	for _, stride := range []uint64{1, 3, 1 << 10, 1 << 20, 1 << 40} {
		rng := rand.New(rand.NewPCG(stride, 7))
		x := newIDHash()
		ref := map[OrderID]uint32{}
		var live []OrderID
		next := uint64(1)
		for step := range 200_000 {
			if len(live) == 0 || rng.IntN(100) < 55 {
				id := OrderID(next * stride)
				next++
				x.insert(id, uint32(step))
				ref[id] = uint32(step)
				live = append(live, id)
			} else {
				k := rng.IntN(len(live))
				id := live[k]
				live[k] = live[len(live)-1]
				live = live[:len(live)-1]
				x.remove(id)
				delete(ref, id)
			}
			if step%10_000 == 0 || step == 199_999 {
				if x.n != len(ref) {
					t.Fatalf("stride %d step %d: index holds %d, map %d", stride, step, x.n, len(ref))
				}
				for id, want := range ref {
					if got, ok := x.get(id); !ok || got != want {
						t.Fatalf("stride %d step %d: get(%d) = %d,%t want %d", stride, step, id, got, ok, want)
					}
				}
				if _, ok := x.get(OrderID(next * stride)); ok {
					t.Fatalf("stride %d: found an id never inserted", stride)
				}
				// Clustering shows as long displacements from home slots.
				for i, s := range x.slots {
					if d := (uint64(i) - x.home(s.id)) & x.mask; s.id != 0 && d > 64 {
						t.Fatalf("stride %d: id %d sits %d slots from home", stride, s.id, d)
					}
				}
			}
		}
	}
}

// TestSteadyStateAllocatesNothing: once the slab, index and pages have grown
// to the working set, commands allocate nothing.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	if checkEveryCommand {
		t.Skip("built with -tags invariants: the check after every command allocates")
	}
	b, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ev := make([]Event, 0, 64)
	id := OrderID(0)
	cycle := func() {
		// Rest a ladder of asks and bids, trade through part of it, amend,
		// cancel the rest.
		first := id + 1
		for i := range 20 {
			id++
			ev = b.Place(Order{ID: id, Account: AccountID(i % 3), Side: Sell, Type: Limit, TIF: GTC, PriceTicks: 1000 + int64(i), QtyLots: 5}, ev[:0])
			id++
			ev = b.Place(Order{ID: id, Account: AccountID(i % 3), Side: Buy, Type: Limit, TIF: GTC, PriceTicks: 990 - int64(i), QtyLots: 5}, ev[:0])
		}
		id++
		ev = b.Place(Order{ID: id, Account: 9, Side: Buy, Type: Market, TIF: IOC, QtyLots: 12}, ev[:0])
		ev = b.Amend(first+5, 1, 995, 9, ev[:0])
		for k := first; k <= id; k++ {
			if o, ok := b.Order(k); ok {
				ev = b.Cancel(k, o.Account, ev[:0])
			}
		}
	}
	cycle() // grow everything once
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Fatalf("%v allocations per cycle, want 0", n)
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestIDIndexAgainstMap drives the ring index (with its overflow table)
// and a map through increasing ids, random removals and a population of
// long-lived orders, and checks that the ring grows with the churn but not
// with the orders that merely live long.
func TestIDIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := newIDIndex()
	orders := make([]order, 1, 1<<16)
	var free []uint32
	ref := map[OrderID]uint32{}
	var live []OrderID
	id := OrderID(0)
	maxLive := 0
	for step := range 400_000 {
		if rng.IntN(100) < 52 || len(live) == 0 {
			id += 1 + OrderID(rng.IntN(3))
			if rng.IntN(1000) == 0 {
				id += OrderID(rng.Uint64N(1 << 30)) // ids need not be dense
			}
			var s uint32
			if n := len(free); n > 0 {
				s, free = free[n-1], free[:n-1]
			} else {
				orders = append(orders, order{})
				s = uint32(len(orders) - 1)
			}
			orders[s].id = id
			x.insert(id, s, orders)
			ref[id] = s
			live = append(live, id)
		} else {
			// Remove mostly recent orders, so that a minority lives long.
			k := len(live) - 1 - min(len(live)-1, int(rng.ExpFloat64()*200))
			victim := live[k]
			live = append(live[:k], live[k+1:]...)
			s := ref[victim]
			x.remove(victim, s)
			delete(ref, victim)
			orders[s] = order{}
			free = append(free, s)
		}
		maxLive = max(maxLive, len(live))
		if step%20_000 == 0 || step == 399_999 {
			if x.len() != len(ref) {
				t.Fatalf("step %d: index holds %d, map %d", step, x.len(), len(ref))
			}
			for k, want := range ref {
				if got, ok := x.get(k, orders); !ok || got != want {
					t.Fatalf("step %d: get(%d) = %d,%t want %d", step, k, got, ok, want)
				}
			}
			if _, ok := x.get(id+1, orders); ok {
				t.Fatalf("step %d: found an id never inserted", step)
			}
		}
	}
	if len(x.ring) > 64*maxLive {
		t.Fatalf("ring of %d entries for at most %d live orders", len(x.ring), maxLive)
	}
	t.Logf("ring %d entries, %d in the overflow table, %d live (max %d)", len(x.ring), x.old.n, len(live), maxLive)
}

// TestDeterministic: two books fed the same commands, one through Apply and
// one through the typed methods, emit identical events and end identical.
func TestDeterministic(t *testing.T) {
	for _, prof := range genProfiles {
		a, errA := New(prof.cfg)
		b, errB := New(prof.cfg)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		g := newCmdGen(prof, 99, newRefBook(prof.cfg))
		var evA, evB []Event
		for i := range 20_000 {
			cmd := g.next()
			g.ref.Apply(&cmd, nil) // the generator steers by the reference's state
			evA = a.Apply(&cmd, evA[:0])
			evB = applyTyped(b, &cmd, evB[:0])
			if !slices.Equal(evA, evB) {
				t.Fatalf("%s command %d: events differ:\n%v\n%v", prof.name, i, evA, evB)
			}
			if a.UpdateID() != b.UpdateID() {
				t.Fatalf("%s command %d: update ids differ", prof.name, i)
			}
		}
		for _, s := range []Side{Buy, Sell} {
			if !slices.Equal(a.Orders(s, nil), b.Orders(s, nil)) {
				t.Fatalf("%s: final %s orders differ", prof.name, s)
			}
		}
	}
}

// Band returns the prices an order may have: the reference price's band,
// or all prices when there is none.
func TestBand(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PriceBandPpm = 50_000
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := b.Band(); lo != 1 || hi != cfg.MaxPriceTicks {
		t.Fatalf("no reference price: band [%d, %d]", lo, hi)
	}
	b.SetReferencePrice(1_000_000, nil)
	if lo, hi := b.Band(); lo != 950_000 || hi != 1_050_000 {
		t.Fatalf("band [%d, %d], want [950000, 1050000]", lo, hi)
	}
	for _, p := range []int64{950_000, 1_050_000} {
		ev := b.Place(Order{ID: OrderID(p), Account: 1, Side: Buy, Type: Limit, TIF: GTC, PriceTicks: p, QtyLots: 1}, nil)
		if ev[0].Kind == EventRejected {
			t.Errorf("price %d at the band's edge refused: %v", p, ev[0].Reason)
		}
	}
	ev := b.Place(Order{ID: 2_000_000, Account: 1, Side: Buy, Type: Limit, TIF: GTC, PriceTicks: 1_050_001, QtyLots: 1}, nil)
	if ev[0].Kind != EventRejected || ev[0].Reason != ReasonPriceOutsideBand {
		t.Errorf("beyond the band: %+v", ev[0])
	}
}
