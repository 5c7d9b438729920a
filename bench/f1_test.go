package bench

import (
	"slices"
	"testing"

	"github.com/paperperps/exchange/orderbook"
)

// TestF1Flow checks the generated flow against the design brief: the mix of
// commands, that nothing is rejected, that market orders fill completely,
// that the book settles near 5,000 orders over about 150 levels, and that
// a seed always gives the same flow.
func TestF1Flow(t *testing.T) {
	const n = 200_000
	flow := f1Flow(t, n)
	again, err := GenerateF1(1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, flow[:1000]) {
		t.Fatal("GenerateF1 is not deterministic")
	}
	other, err := GenerateF1(2, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other, flow[:1000]) {
		t.Fatal("seeds 1 and 2 gave the same flow")
	}

	book, err := orderbook.New(F1Config())
	if err != nil {
		t.Fatal(err)
	}
	var limits, cancels, markets int
	var ev []orderbook.Event
	for i := range flow {
		c := &flow[i]
		switch {
		case c.Kind == orderbook.CmdCancel:
			cancels++
		case c.Order.Type == orderbook.Market:
			markets++
		default:
			limits++
		}
		ev = book.Apply(c, ev[:0])
		filled := int64(0)
		for _, e := range ev {
			switch e.Kind {
			case orderbook.EventRejected:
				t.Fatalf("command %d rejected: %s", i, e)
			case orderbook.EventCancelled:
				if e.Reason != orderbook.ReasonCancelledByUser {
					t.Fatalf("command %d: %s (market orders must fill completely)", i, e)
				}
			case orderbook.EventFill:
				filled += e.QtyLots
			}
		}
		if c.Order.Type == orderbook.Market && filled != c.Order.QtyLots {
			t.Fatalf("command %d: market order filled %d of %d", i, filled, c.Order.QtyLots)
		}
	}
	share := func(k int) float64 { return float64(k) / n }
	if s := share(limits); s < 0.58 || s > 0.64 {
		t.Errorf("limit orders are %.3f of the flow, want about 0.60", s)
	}
	if s := share(cancels); s < 0.23 || s > 0.27 {
		t.Errorf("cancels are %.3f of the flow, want about 0.25", s)
	}
	if s := share(markets); s < 0.13 || s > 0.17 {
		t.Errorf("market orders are %.3f of the flow, want about 0.15", s)
	}
	levels := len(book.Depth(orderbook.Buy, 1000, nil)) + len(book.Depth(orderbook.Sell, 1000, nil))
	if r := book.Len(); r < 3_500 || r > 6_500 || levels < 90 || levels > 200 {
		t.Errorf("book ends with %d orders on %d levels, want about 5,000 on about 150", r, levels)
	}
	if err := book.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
