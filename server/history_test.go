package server

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
)

func histCID(t *testing.T, s string) engine.ClientOrderID {
	t.Helper()
	c, err := engine.ParseClientOrderID(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// histWant is what a test expects of an order.
type histWant struct {
	status, reason string
	origLots       int64
	filledLots     int64
}

func histCheck(t *testing.T, hist *History, g fixed.Grid, a engine.AccountID, id orderbook.OrderID, w histWant) OrderInfo {
	t.Helper()
	o, ok := hist.Order(a, id)
	if !ok {
		t.Fatalf("order %d of account %d not found", id, a)
	}
	if o.OrderID != uint64(id) || o.Status != w.status || o.CancelReason != w.reason || !o.OrigQty.Equal(g.Qty(w.origLots)) ||
		!o.ExecutedQty.Equal(g.Qty(w.filledLots)) {
		t.Fatalf("order %d: %+v\nwant %+v", id, o, w)
	}
	return o
}

func TestHistoryOrderLifecycle(t *testing.T) {
	h := newMDHarness(t)
	markets := h.e.Config().Markets
	g := markets[mdBTC].Grid
	hist := NewHistory(markets, 0)
	a1, a2, a3 := h.account(1_000_000), h.account(1_000_000), h.account(1_000_000)
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	h.flush(hist)
	p := int64(100_000 * mdTicksPerUSD)

	// An ask with a client order id rests.
	ask := mdAccepted(t, h.do(engine.Command{Kind: engine.CmdPlaceOrder, Account: a1, Market: mdBTC, Side: orderbook.Sell,
		Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: p, QtyLots: 1000, ClientOrderID: histCID(t, "ask1")}), a1)
	h.flush(hist)
	o := histCheck(t, hist, g, a1, ask, histWant{status: OrderStatusNew, origLots: 1000})
	if o.ClientOrderID != "ask1" || o.Type != "limit" || o.TimeInForce != "gtc" || o.Side != "sell" || o.Symbol != "BTCUSDT" ||
		!o.Price.Equal(g.Price(p)) || o.Time != h.ts/1_000_000 || o.Liquidation || o.TriggerType != "" {
		t.Fatalf("ask: %+v", o)
	}
	if byCID, ok := hist.OrderByClientID(a1, "ask1"); !ok || byCID.OrderID != uint64(ask) {
		t.Fatalf("by client id: %+v %v", byCID, ok)
	}
	if _, ok := hist.Order(a2, ask); ok {
		t.Fatal("another account's order was found")
	}

	// A market buy of 0.4 fills in full against it.
	h.ts += int64(time.Second)
	mkt := h.market(a2, orderbook.Buy, 400)
	h.flush(hist)
	o = histCheck(t, hist, g, a2, mkt, histWant{status: OrderStatusFilled, origLots: 400, filledLots: 400})
	if o.Type != "market" || o.TimeInForce != "ioc" || !o.AvgPrice.Equal(g.Price(p)) || !o.CumQuote.Equal(fixed.QuoteAmount(40_000_000_000)) {
		t.Fatalf("market order: %+v", o)
	}
	histCheck(t, hist, g, a1, ask, histWant{status: OrderStatusPartiallyFilled, origLots: 1000, filledLots: 400})

	// Amended to 0.6 in all (0.2 left), then an IOC for 0.5 takes the 0.2:
	// the ask is filled, the IOC ends with its remainder cancelled.
	h.do(engine.Command{Kind: engine.CmdAmendOrder, Account: a1, Market: mdBTC, OrderID: ask, PriceTicks: p, QtyLots: 600})
	h.flush(hist)
	histCheck(t, hist, g, a1, ask, histWant{status: OrderStatusPartiallyFilled, origLots: 600, filledLots: 400})
	ioc := mdAccepted(t, h.do(engine.Command{Kind: engine.CmdPlaceOrder, Account: a2, Market: mdBTC, Side: orderbook.Buy,
		Type: orderbook.Limit, TIF: orderbook.IOC, PriceTicks: p, QtyLots: 500}), a2)
	h.flush(hist)
	histCheck(t, hist, g, a1, ask, histWant{status: OrderStatusFilled, origLots: 600, filledLots: 600})
	histCheck(t, hist, g, a2, ioc, histWant{status: OrderStatusCancelled, reason: "unfilled-remainder", origLots: 500, filledLots: 200})

	// The client order id is free again: a new order takes it, and is the
	// one found by it until it ends too.
	again := mdAccepted(t, h.do(engine.Command{Kind: engine.CmdPlaceOrder, Account: a1, Market: mdBTC, Side: orderbook.Sell,
		Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 101_000 * mdTicksPerUSD, QtyLots: 100, ClientOrderID: histCID(t, "ask1")}), a1)
	h.flush(hist)
	if byCID, ok := hist.OrderByClientID(a1, "ask1"); !ok || byCID.OrderID != uint64(again) || byCID.Status != OrderStatusNew {
		t.Fatalf("by client id after reuse: %+v", byCID)
	}
	h.do(engine.Command{Kind: engine.CmdCancelOrder, Account: a1, Market: mdBTC, ClientOrderID: histCID(t, "ask1")})
	h.flush(hist)
	histCheck(t, hist, g, a1, again, histWant{status: OrderStatusCancelled, reason: "user", origLots: 100})
	if byCID, ok := hist.OrderByClientID(a1, "ask1"); !ok || byCID.OrderID != uint64(again) {
		t.Fatalf("by client id after the cancel: %+v", byCID)
	}
	if _, ok := hist.OrderByClientID(a1, "no such id!"); ok {
		t.Fatal("an invalid client order id was found")
	}

	// A fill-or-kill with nothing to fill it; a refused order leaves no
	// trace.
	fok := mdAccepted(t, h.do(engine.Command{Kind: engine.CmdPlaceOrder, Account: a2, Market: mdBTC, Side: orderbook.Buy,
		Type: orderbook.Limit, TIF: orderbook.FOK, PriceTicks: p, QtyLots: 5000}), a2)
	h.try(engine.Command{Kind: engine.CmdPlaceOrder, Account: a2, Market: mdBTC, Side: orderbook.Buy,
		Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: p, QtyLots: 1_000_000_000})
	h.flush(hist)
	histCheck(t, hist, g, a2, fok, histWant{status: OrderStatusCancelled, reason: "fok-not-filled", origLots: 5000})

	// A stop-loss on the last price: it waits, then a trade at 99,000
	// fires it, and it sells the whole long (0.6) into a1's bid.
	h.ts += int64(time.Second)
	stop := mdAccepted(t, h.do(engine.Command{Kind: engine.CmdPlaceOrder, Account: a2, Market: mdBTC, Side: orderbook.Sell,
		Type: orderbook.Market, TIF: orderbook.IOC, ReduceOnly: true, QtyLots: 600, Trigger: engine.TriggerStop,
		TriggerBy: engine.TriggerByLast, TriggerTicks: 99_000 * mdTicksPerUSD, ClientOrderID: histCID(t, "sl")}), a2)
	h.flush(hist)
	o = histCheck(t, hist, g, a2, stop, histWant{status: OrderStatusUntriggered, origLots: 600})
	if o.TriggerType != "stop" || o.TriggerBy != "last" || !o.StopPrice.Equal(g.Price(99_000*mdTicksPerUSD)) || o.Triggered ||
		!o.ReduceOnly || o.Type != "market" {
		t.Fatalf("waiting stop: %+v", o)
	}
	bid := h.limit(a1, orderbook.Buy, 99_000*mdTicksPerUSD, 1000)
	h.ts += int64(time.Second)
	h.market(a3, orderbook.Sell, 10)
	h.flush(hist)
	o = histCheck(t, hist, g, a2, stop, histWant{status: OrderStatusFilled, origLots: 600, filledLots: 600})
	if !o.Triggered || o.TriggerTime != h.ts/1_000_000 || o.ClientOrderID != "sl" {
		t.Fatalf("fired stop: %+v", o)
	}
	histCheck(t, hist, g, a1, bid, histWant{status: OrderStatusPartiallyFilled, origLots: 1000, filledLots: 610})
	h.do(engine.Command{Kind: engine.CmdCancelAll, Account: a1, Market: mdBTC})
	h.flush(hist)
	histCheck(t, hist, g, a1, bid, histWant{status: OrderStatusCancelled, reason: "cancel-all", origLots: 1000, filledLots: 610})

	// The order lists, newest first.
	histIDs := func(os []OrderInfo) []uint64 {
		var ids []uint64
		for _, o := range os {
			ids = append(ids, o.OrderID)
		}
		return ids
	}
	if got, want := histIDs(hist.OrderHistory(a2, AllMarkets, 0)), []uint64{uint64(stop), uint64(fok), uint64(ioc), uint64(mkt)}; !slices.Equal(got, want) {
		t.Fatalf("a2's orders %v, want %v", got, want)
	}
	if got, want := histIDs(hist.OrderHistory(a1, mdBTC, 2)), []uint64{uint64(bid), uint64(again)}; !slices.Equal(got, want) {
		t.Fatalf("a1's latest two orders %v, want %v", got, want)
	}
	if got := hist.OrderHistory(a1, 1, 0); len(got) != 0 {
		t.Fatalf("a1's ETHUSDT orders: %+v", got)
	}

	// Fills, newest first, each from its account's side; the trade ids
	// are the tape's.
	fills := hist.Fills(a2, AllMarkets, 0)
	if len(fills) != 3 {
		t.Fatalf("a2's fills: %+v", fills)
	}
	for i, w := range []struct {
		order   orderbook.OrderID
		tradeID int64
		side    string
		lots    int64
		price   int64
	}{{stop, 4, "sell", 600, 99_000 * mdTicksPerUSD}, {ioc, 2, "buy", 200, p}, {mkt, 1, "buy", 400, p}} {
		f := fills[i]
		if f.OrderID != uint64(w.order) || f.TradeID != w.tradeID || f.Side != w.side || !f.Qty.Equal(g.Qty(w.lots)) ||
			!f.Price.Equal(g.Price(w.price)) || f.Maker || f.Cause != "" || f.Symbol != "BTCUSDT" {
			t.Fatalf("a2's fill %d: %+v, want %+v", i, f, w)
		}
		// Taker fee 0.05% of the notional.
		q, _ := g.NotionalQuote(w.price, w.lots)
		if !f.Fee.Equal(fixed.QuoteAmount(q*5/10_000)) || !f.QuoteQty.Equal(fixed.QuoteAmount(q)) {
			t.Fatalf("a2's fill %d: fee %s quote %s, notional %d", i, f.Fee, f.QuoteQty, q)
		}
	}
	fills = hist.Fills(a1, mdBTC, 0)
	if len(fills) != 4 || !fills[0].Maker || fills[0].Side != "buy" || fills[0].OrderID != uint64(bid) || fills[0].TradeID != 4 ||
		fills[3].Side != "sell" || fills[3].OrderID != uint64(ask) || fills[3].TradeID != 1 {
		t.Fatalf("a1's fills: %+v", fills)
	}
	q, _ := g.NotionalQuote(p, 400)
	if !fills[3].Fee.Equal(fixed.QuoteAmount(q * 2 / 10_000)) {
		t.Fatalf("maker fee %s, want 0.02%% of %d", fills[3].Fee, q)
	}
	if got := hist.Fills(a1, mdBTC, 1); len(got) != 1 || got[0].TradeID != 4 {
		t.Fatalf("a1's latest fill: %+v", got)
	}
	if got := hist.Fills(99, AllMarkets, 0); got == nil || len(got) != 0 {
		t.Fatalf("an unknown account's fills: %#v", got)
	}

	// Executed quantities agree with the fills of every order.
	byOrder := map[uint64]int64{}
	for _, a := range []engine.AccountID{a1, a2, a3} {
		for _, f := range hist.Fills(a, AllMarkets, 0) {
			lots, _ := g.Lots(f.Qty, 1<<40)
			byOrder[f.OrderID] += lots
		}
		for _, o := range hist.OrderHistory(a, AllMarkets, 0) {
			if !o.ExecutedQty.Equal(g.Qty(byOrder[o.OrderID])) {
				t.Fatalf("order %d executed %s, its fills %d lots", o.OrderID, o.ExecutedQty, byOrder[o.OrderID])
			}
		}
	}
}

func TestHistoryLiquidation(t *testing.T) {
	h := newMDHarness(t)
	markets := h.e.Config().Markets
	g := markets[mdBTC].Grid
	hist := NewHistory(markets, 0)
	a := mdLiquidationScenario(h)
	h.flush(hist)

	// Account 0's liquidation order (9) went to the book within account
	// 1's order (8) and found no bid.
	o := histCheck(t, hist, g, a[0], 9, histWant{status: OrderStatusCancelled, reason: "unfilled-remainder", origLots: 1000})
	if !o.Liquidation || o.Type != "limit" || o.TimeInForce != "ioc" || o.Side != "sell" || !o.Price.Equal(g.Price(98_010*mdTicksPerUSD)) {
		t.Fatalf("liquidation order: %+v", o)
	}
	o = histCheck(t, hist, g, a[1], 8, histWant{status: OrderStatusFilled, origLots: 10, filledLots: 10})
	if o.Liquidation || o.TimeInForce != "gtc" {
		t.Fatalf("the order that set off the liquidation: %+v", o)
	}
	histCheck(t, hist, g, a[0], 4, histWant{status: OrderStatusFilled, origLots: 1000, filledLots: 1000})

	// The fund took the position over off the book, then was deleveraged
	// against account 3 (among others).
	fills := hist.Fills(a[0], mdBTC, 0)
	if len(fills) != 4 || fills[0].Cause != "liquidation" || fills[0].OrderID != 0 || fills[0].TradeID != 0 ||
		fills[0].Side != "sell" || !fills[0].Qty.Equal(g.Qty(1000)) || !fills[0].Price.Equal(g.Price(98_010*mdTicksPerUSD)) ||
		!fills[0].Fee.IsZero() {
		t.Fatalf("account 0's fills: %+v", fills)
	}
	fills = hist.Fills(a[3], mdBTC, 0)
	if len(fills) != 2 || fills[0].Cause != "adl" || fills[0].Side != "buy" || !fills[0].Qty.Equal(g.Qty(400)) ||
		!fills[0].Price.Equal(g.Price(97_860*mdTicksPerUSD)) || !fills[0].Maker {
		t.Fatalf("account 3's fills: %+v", fills)
	}
	if fund := hist.Fills(6, mdBTC, 0); len(fund) != 4 || fund[3].Cause != "liquidation" || fund[3].Side != "buy" || fund[0].Cause != "adl" {
		t.Fatalf("the fund account's fills: %+v", fund)
	}
}

func TestHistoryRingsDropOldest(t *testing.T) {
	h := newMDHarness(t)
	markets := h.e.Config().Markets
	hist := NewHistory(markets, 5)
	a1, a2 := h.account(1_000_000), h.account(1_000_000)
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	var ended []orderbook.OrderID
	for i := range 8 {
		id := h.limit(a1, orderbook.Sell, (100_000+int64(i))*mdTicksPerUSD, 1)
		h.do(engine.Command{Kind: engine.CmdCancelOrder, Account: a1, Market: mdBTC, OrderID: id})
		ended = append(ended, id)
		h.trade(a1, a2, orderbook.Buy, 100_000*mdTicksPerUSD, 1)
	}
	open := h.limit(a1, orderbook.Sell, 101_000*mdTicksPerUSD, 1)
	h.flush(hist)
	got := hist.OrderHistory(a1, AllMarkets, 0)
	// The open order and the last five that ended (the cancelled ones and
	// the filled asks alternate).
	if len(got) != 6 || got[0].OrderID != uint64(open) || got[0].Status != OrderStatusNew {
		t.Fatalf("a1's orders: %+v", got)
	}
	if _, ok := hist.Order(a1, ended[0]); ok {
		t.Fatal("the oldest ended order is still kept")
	}
	if _, ok := hist.Order(a1, ended[7]); !ok {
		t.Fatal("the newest cancelled order is gone")
	}
	if fills := hist.Fills(a1, AllMarkets, 0); len(fills) != 5 || fills[0].TradeID != 8 || fills[4].TradeID != 4 {
		t.Fatalf("a1's fills: %+v", fills)
	}
	if fills := hist.Fills(a2, AllMarkets, 3); len(fills) != 3 || fills[0].TradeID != 8 {
		t.Fatalf("a2's latest fills: %+v", fills)
	}
	if got := NewHistory(markets, 0).perAccount; got != DefaultHistoryPerAccount {
		t.Fatalf("default per account %d", got)
	}
}

func TestHistoryConcurrentReaders(t *testing.T) {
	h := newMDHarness(t)
	markets := h.e.Config().Markets
	hist := NewHistory(markets, 50)
	md := NewMarketData(markets)
	type group struct {
		cmds    []engine.Command
		results []wal.Result
	}
	var groups []group
	capture := mdApplierFunc(func(c []engine.Command, r []wal.Result) {
		groups = append(groups, group{append([]engine.Command(nil), c...), append([]wal.Result(nil), r...)})
	})
	mdRandomTrades(h, rand.New(rand.NewPCG(5, 6)), 500, time.Minute, capture)
	mdLiquidationScenario(h)
	h.flush(capture)

	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				a := engine.AccountID(i % 9)
				hist.OrderHistory(a, AllMarkets, 20)
				hist.Fills(a, mdBTC, 20)
				hist.Order(a, orderbook.OrderID(i%1000))
				hist.OrderByClientID(a, "x")
				md.Ticker(mdBTC)
				md.Trades(mdBTC, 5)
			}
		}()
	}
	for _, g := range groups {
		md.Apply(g.cmds, g.results)
		hist.Apply(g.cmds, g.results)
	}
	close(done)
	wg.Wait()
	// Accounts 0 and 1 traded 500 times each; 50 fills are kept.
	if got := hist.Fills(0, AllMarkets, 0); len(got) != 50 {
		t.Fatalf("%d fills kept, want 50", len(got))
	}
	if got := hist.OrderHistory(0, AllMarkets, 0); len(got) != 50 {
		t.Fatalf("%d orders kept, want 50", len(got))
	}
}
