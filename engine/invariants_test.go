package engine

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

// TestCheckInvariantsCatchesDrift: the open-order sums behind the margin
// checks must equal what the books hold; a drift is reported.
func TestCheckInvariantsCatchesDrift(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var ev []Event
	for _, c := range []Command{
		{Kind: CmdCreateAccount},
		{Kind: CmdDeposit, AmountQuote: 10_000 * fixed.QuoteUnitsPerWhole},
		{Kind: CmdSetIndexPrice, PriceTicks: 1_000_000},
		{Kind: CmdPlaceOrder, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 990_000, QtyLots: 10},
	} {
		ev = e.Apply(&c, ev[:0])
		if ev[0].Kind == EventRejected {
			t.Fatalf("%s refused: %s", c.Kind, ev[0].Reason)
		}
	}
	if err := e.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	e.slots[0].open.buyLots++
	if err := e.CheckInvariants(); !errors.Is(err, ErrInvariant) {
		t.Fatalf("err = %v, want ErrInvariant", err)
	}
}

// TestSlotStateSize: slotState keeps to one cache line, the reason it
// exists (see its comment).
func TestSlotStateSize(t *testing.T) {
	if n := unsafe.Sizeof(slotState{}); n != 64 {
		t.Fatalf("slotState is %d bytes, want 64", n)
	}
}
