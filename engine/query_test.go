package engine_test

import (
	"testing"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

// The query views agree with the engine's own figures: an isolated long of
// 1 BTC entered at 100,000 at 10x (its taker fee paid from the isolated
// margin), the counterparty's cross short, its open orders and a waiting
// stop; another account's order is unknown.
func TestQueryViews(t *testing.T) {
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ts := int64(1_700_000_000_000_000_000)
	var ev []engine.Event
	apply := func(c engine.Command) []engine.Event {
		t.Helper()
		ts++
		c.TsNanos = ts
		ev = e.Apply(&c, ev[:0])
		for _, x := range ev {
			if x.Kind == engine.EventRejected {
				t.Fatalf("%+v refused: %s", c, x)
			}
		}
		return ev
	}
	usdt := int64(fixed.QuoteUnitsPerWhole)
	apply(engine.Command{Kind: engine.CmdSetIndexPrice, PriceTicks: 1_000_000}) // 100,000.0
	for range 2 {
		apply(engine.Command{Kind: engine.CmdCreateAccount})
	}
	apply(engine.Command{Kind: engine.CmdDeposit, Account: 0, AmountQuote: 15_000 * usdt})
	apply(engine.Command{Kind: engine.CmdDeposit, Account: 1, AmountQuote: 100_000 * usdt})
	apply(engine.Command{Kind: engine.CmdSetMarginMode, Account: 0, Mode: clearing.Isolated})
	apply(engine.Command{Kind: engine.CmdSetLeverage, Account: 0, Leverage: 10})
	apply(engine.Command{Kind: engine.CmdPlaceOrder, Account: 1, Side: orderbook.Sell, Type: orderbook.Limit, TIF: orderbook.GTC,
		PriceTicks: 1_000_000, QtyLots: 1_000})
	var liq int64 // from the taker's position event
	for _, x := range apply(engine.Command{Kind: engine.CmdPlaceOrder, Account: 0, Side: orderbook.Buy, Type: orderbook.Market,
		TIF: orderbook.IOC, QtyLots: 1_000}) {
		if x.Kind == engine.EventPosition && x.Account == 0 {
			liq = x.LiqPriceTicks
		}
	}
	cid, _ := engine.ParseClientOrderID("bid-1")
	apply(engine.Command{Kind: engine.CmdPlaceOrder, Account: 1, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC,
		PriceTicks: 990_000, QtyLots: 5, ClientOrderID: cid})
	apply(engine.Command{Kind: engine.CmdPlaceOrder, Account: 1, Side: orderbook.Buy, Type: orderbook.Market, TIF: orderbook.IOC,
		QtyLots: 1_000, ReduceOnly: true, Trigger: engine.TriggerStop, TriggerBy: engine.TriggerByMark, TriggerTicks: 1_050_000})

	v, ok, err := e.Account(0, nil)
	if !ok || err != nil || len(v.Positions) != 1 {
		t.Fatalf("account 0: %+v %v %v", v, ok, err)
	}
	p := v.Positions[0]
	// 10,000 of initial margin at 10x moved in, then the taker fee of 50
	// USDT (0.05%) paid from it; the wallet keeps 5,000.
	if p.Mode != clearing.Isolated || p.SizeLots != 1_000 || p.IsolatedMarginQuote != 9_950*usdt || v.WalletQuote != 5_000*usdt {
		t.Fatalf("isolated position %+v, wallet %d", p, v.WalletQuote)
	}
	if p.LiqPriceTicks != liq || liq == 0 {
		t.Fatalf("liquidation price %d, the position event said %d", p.LiqPriceTicks, liq)
	}
	// At the mark 100,000: notional 100,000, its bracket's maintenance,
	// initial 10,000, ratio maintenance / 9,950 rounded up.
	mm, _ := e.Config().Markets[0].Brackets.MaintenanceMargin(100_000 * usdt)
	ratio, _ := fixed.MulDiv(mm, 1_000_000, 9_950*usdt, fixed.RoundUp)
	if p.NotionalQuote != 100_000*usdt || p.MaintenanceQuote != mm || p.InitialQuote != 10_000*usdt ||
		p.UnrealizedPnLQuote != 0 || p.MarginRatioPpm != ratio || p.ADLRank < 1 || p.ADLRank > 5 {
		t.Fatalf("figures %+v, want maintenance %d, ratio %d", p, mm, ratio)
	}
	// Available: the wallet less what the position's initial margin needs
	// beyond its isolated margin (the 50 the fee took).
	if v.AvailableQuote != 4_950*usdt || v.CrossMarginRatioPpm != 0 || v.IsolatedMarginQuote != 9_950*usdt {
		t.Fatalf("account figures %+v", v)
	}

	w, _, err := e.Account(1, nil)
	if err != nil || len(w.Positions) != 1 || w.Positions[0].SizeLots != -1_000 || w.Positions[0].Mode != clearing.Cross {
		t.Fatalf("account 1: %+v %v", w, err)
	}
	if q := w.Positions[0]; q.MarginRatioPpm != w.CrossMarginRatioPpm || w.CrossMaintenanceQuote != mm ||
		w.CrossMarginBalanceQuote != w.WalletQuote || q.LiqPriceTicks <= 1_000_000 {
		t.Fatalf("cross figures %+v", w)
	}
	if lev, mode, ok := e.Settings(0, 0); !ok || lev != 10 || mode != clearing.Isolated {
		t.Fatalf("settings %d %v %v", lev, mode, ok)
	}

	orders := e.OpenOrders(1, 0, true, nil)
	if len(orders) != 2 || orders[0].PriceTicks != 990_000 || orders[0].ClientOrderID != cid || orders[0].RemainingLots != 5 ||
		orders[1].Trigger != engine.TriggerStop || orders[1].TriggerTicks != 1_050_000 || !orders[1].ReduceOnly {
		t.Fatalf("open orders %+v", orders)
	}
	for _, o := range orders {
		if got, ok := e.Order(1, o.ID); !ok || got != o {
			t.Fatalf("order %d: %+v %v", o.ID, got, ok)
		}
		if _, ok := e.Order(0, o.ID); ok {
			t.Fatalf("account 0 sees account 1's order %d", o.ID)
		}
	}
	if got := e.OpenOrders(0, 0, true, nil); len(got) != 0 {
		t.Fatalf("account 0's open orders %+v", got)
	}
	if _, ok, _ := e.Account(99, nil); ok {
		t.Fatal("unknown account has a view")
	}
}
