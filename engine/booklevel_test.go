package engine

import (
	"testing"

	"github.com/paperperps/exchange/orderbook"
)

// With Config.BookLevelEvents, a mirror of every book that applies the
// EventBookLevel events in order equals the books after every command of
// the liquidation simulation (orders of every kind, amends, cancels,
// stops, reduce-only cuts, liquidation orders, the fund's unwinds); and the
// events change nothing else: the state hash is the one of an engine
// without them.
func TestBookLevelEventsMirrorTheBooks(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BookLevelEvents = true
	s := newLiqSim(t, cfg, 3, 200)
	plain := newLiqSim(t, DefaultConfig(), 3, 200)
	type key struct {
		m     MarketID
		side  orderbook.Side
		price int64
	}
	mirror := map[key]int64{}
	levels := 0
	var depth []orderbook.Level
	n := 30_000
	if testing.Short() {
		n = 5_000
	}
	for i := range n {
		s.step()
		plain.step()
		for _, x := range s.ev {
			if x.Kind != EventBookLevel {
				continue
			}
			levels++
			if k := (key{x.Market, x.Side, x.PriceTicks}); x.QtyLots == 0 {
				delete(mirror, k)
			} else {
				mirror[k] = x.QtyLots
			}
		}
		if i%10 != 0 {
			continue
		}
		count := 0
		for m := range s.e.markets {
			for _, side := range []orderbook.Side{orderbook.Buy, orderbook.Sell} {
				depth = s.e.markets[m].book.Depth(side, 1<<30, depth[:0])
				for _, l := range depth {
					if got := mirror[key{MarketID(m), side, l.PriceTicks}]; got != l.TotalLots {
						t.Fatalf("command %d (%v): market %d %s %d: mirror %d, book %d", i, s.lastCmd.Kind, m, side, l.PriceTicks, got, l.TotalLots)
					}
				}
				count += len(depth)
			}
		}
		if count != len(mirror) {
			t.Fatalf("command %d: mirror has %d levels, the books %d", i, len(mirror), count)
		}
	}
	if s.e.StateHash() != plain.e.StateHash() {
		t.Fatal("the level events changed the state")
	}
	if levels < n/2 || s.liquidations == 0 {
		t.Fatalf("too little exercised: %d level events, %d liquidations", levels, s.liquidations)
	}
}
