package orderbook

import (
	"slices"
	"testing"
)

// A stop order keeps the id it was given when it was placed: when it
// triggers, the book takes that id although newer ones rest, files it in
// its account's list in id order, and carries the owner's tag through its
// events and a snapshot.
func TestPlaceReservedAndTags(t *testing.T) {
	b, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var ev []Event
	place := func(reserved bool, o Order) []Event {
		if reserved {
			ev = b.PlaceReserved(o, ev[:0])
		} else {
			ev = b.Place(o, ev[:0])
		}
		return ev
	}
	place(false, Order{ID: 10, Account: 1, Side: Buy, Type: Limit, TIF: GTC, PriceTicks: 100, QtyLots: 5, Tag: 3})
	place(false, Order{ID: 20, Account: 1, Side: Buy, Type: Limit, TIF: GTC, PriceTicks: 99, QtyLots: 5})
	// Place keeps refusing ids that do not increase.
	if got := place(false, Order{ID: 15, Account: 1, Side: Buy, Type: Limit, TIF: GTC, PriceTicks: 98, QtyLots: 1}); got[0].Reason != ReasonOrderIDNotIncreasing {
		t.Fatalf("Place of a lower id: %v", got)
	}
	// PlaceReserved refuses an id that rests, and changes nothing.
	if got := place(true, Order{ID: 20, Account: 2, Side: Sell, Type: Limit, TIF: GTC, PriceTicks: 120, QtyLots: 1}); got[0].Reason != ReasonDuplicateOrderID {
		t.Fatalf("PlaceReserved of a resting id: %v", got)
	}
	got := place(true, Order{ID: 15, Account: 1, Side: Buy, Type: Limit, TIF: GTC, PriceTicks: 98, QtyLots: 2, Tag: 7})
	if got[0].Kind != EventAccepted || got[0].Tag != 7 {
		t.Fatalf("PlaceReserved: %v", got)
	}
	// A reserved taker trades with its tag, and the maker's tag comes back.
	got = place(true, Order{ID: 12, Account: 2, Side: Sell, Type: Limit, TIF: IOC, PriceTicks: 100, QtyLots: 1, Tag: 9})
	if len(got) != 2 || got[1].Kind != EventFill || got[1].Tag != 9 || got[1].MakerTag != 3 {
		t.Fatalf("reserved taker: %v", got)
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	ids := func(b *Book) []OrderID {
		var out []OrderID
		for _, o := range b.AccountOrders(1, nil) {
			out = append(out, o.ID)
		}
		return out
	}
	if got := ids(b); !slices.Equal(got, []OrderID{10, 15, 20}) {
		t.Fatalf("account list %v, want id order", got)
	}
	snap := b.AppendSnapshot(nil)
	r, rest, err := Restore(snap)
	if err != nil || len(rest) != 0 {
		t.Fatalf("restore: %v (%d bytes left)", err, len(rest))
	}
	if !slices.Equal(r.AppendSnapshot(nil), snap) || !slices.Equal(ids(r), ids(b)) {
		t.Fatal("restored book differs")
	}
	if o, ok := r.Order(15); !ok || o.Tag != 7 {
		t.Fatalf("restored order 15: %+v", o)
	}
	// Cancel-account goes in id order, with the tags.
	ev = r.CancelAccount(1, ev[:0])
	var order []OrderID
	for _, e := range ev {
		order = append(order, e.OrderID)
	}
	if !slices.Equal(order, []OrderID{10, 15, 20}) || ev[0].Tag != 3 || ev[1].Tag != 7 {
		t.Fatalf("cancel-account: %v", ev)
	}
	// The last accepted id stays the highest: 21 is still accepted, 20 not.
	if got := place(false, Order{ID: 21, Account: 3, Side: Sell, Type: Limit, TIF: GTC, PriceTicks: 130, QtyLots: 1}); got[0].Kind != EventAccepted {
		t.Fatalf("next id after reserved ones: %v", got)
	}
}
