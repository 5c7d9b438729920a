package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/orderbook"
	"github.com/shopspring/decimal"
)

// An order's life through the private endpoints: placed with a client
// order id, amended, found by either id, listed open, cancelled by client
// id, then in the history; a stop order waits untriggered; cancel-all
// ends the rest; fills list both sides of a trade.
func TestOrderLifecycle(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	alice, bob := te.account(3), te.account(4)
	te.must(te.admin(), "POST", "/v1/admin/index", "", map[string]string{"symbol": "ETHUSDT", "price": "3000"}, nil)

	var placed OrderResult
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "limit",
		"price": "2990.5", "quantity": "1.5", "clientOrderId": "grid-7", "timeInForce": "post-only"}, &placed)
	var amended OrderResult
	te.must(&alice, "PUT", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "clientOrderId": "grid-7",
		"price": "2991", "quantity": "2"}, &amended)
	if amended.OrderID != placed.OrderID || !amended.Price.Equal(decimal.RequireFromString("2991")) ||
		!amended.Quantity.Equal(decimal.NewFromInt(2)) {
		t.Fatalf("amended %+v (placed %+v)", amended, placed)
	}
	var byID, byCID OrderInfo
	te.must(&alice, "GET", "/v1/order", "symbol=ETHUSDT&orderId="+jsonNum(placed.OrderID), nil, &byID)
	te.must(&alice, "GET", "/v1/order", "symbol=ETHUSDT&clientOrderId=grid-7", nil, &byCID)
	if byID.OrderID != placed.OrderID || byCID.OrderID != placed.OrderID || byID.Status != OrderStatusNew ||
		!byID.OrigQty.Equal(decimal.NewFromInt(2)) || byID.TimeInForce != "post-only" {
		t.Fatalf("queries: %+v %+v", byID, byCID)
	}
	// Bob cannot see it.
	if status, body := te.call(&bob, "GET", "/v1/order", "symbol=ETHUSDT&orderId="+jsonNum(placed.OrderID), nil, nil); status != 404 ||
		!strings.Contains(string(body), `"unknown-order"`) {
		t.Fatalf("another account's order: %d %s", status, body)
	}
	var stop OrderResult
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "market",
		"quantity": "0.5", "trigger": "stop", "triggerBy": "mark", "triggerPrice": "3100"}, &stop)
	if stop.Status != OrderStatusUntriggered {
		t.Fatalf("stop %+v", stop)
	}
	var open []OrderInfo
	te.must(&alice, "GET", "/v1/orders/open", "symbol=ETHUSDT", nil, &open)
	if len(open) != 2 || open[0].OrderID != placed.OrderID || open[1].Status != OrderStatusUntriggered || open[1].TriggerType != "stop" {
		t.Fatalf("open orders %+v", open)
	}
	var cancelled OrderResult
	te.must(&alice, "DELETE", "/v1/order", "symbol=ETHUSDT&clientOrderId=grid-7", nil, &cancelled)
	if cancelled.Status != OrderStatusCancelled || cancelled.CancelReason != "user" || cancelled.OrderID != placed.OrderID {
		t.Fatalf("cancelled %+v", cancelled)
	}
	var all CancelAllResult
	te.must(&alice, "DELETE", "/v1/orders", "symbol=ETHUSDT", nil, &all)
	if len(all.Cancelled) != 1 || all.Cancelled[0] != stop.OrderID {
		t.Fatalf("cancel-all %+v", all)
	}
	var hist []OrderInfo
	te.must(&alice, "GET", "/v1/orders/history", "symbol=ETHUSDT", nil, &hist)
	if len(hist) != 2 || hist[0].Status != OrderStatusCancelled || hist[1].Status != OrderStatusCancelled {
		t.Fatalf("history %+v", hist)
	}

	// A trade, seen from both sides.
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "sell", "type": "limit",
		"price": "3000", "quantity": "1"}, nil)
	te.must(&bob, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "limit",
		"price": "3000", "quantity": "1", "timeInForce": "fok"}, nil)
	var af, bf []FillInfo
	te.must(&alice, "GET", "/v1/fills", "", nil, &af)
	te.must(&bob, "GET", "/v1/fills", "symbol=ETHUSDT&limit=10", nil, &bf)
	if len(af) != 1 || len(bf) != 1 || !af[0].Maker || bf[0].Maker || af[0].Side != "sell" || bf[0].Side != "buy" ||
		!af[0].Fee.Equal(decimal.RequireFromString("0.6")) || !bf[0].Fee.Equal(decimal.RequireFromString("1.5")) {
		t.Fatalf("fills: alice %+v, bob %+v", af, bf)
	}
	var trades []Trade
	te.must(nil, "GET", "/v1/trades", "symbol=ETHUSDT", nil, &trades)
	if len(trades) != 1 || trades[0].ID != af[0].TradeID {
		t.Fatalf("trades %+v", trades)
	}
	var ticker Ticker
	te.must(nil, "GET", "/v1/ticker", "symbol=ETHUSDT", nil, &ticker)
	if !ticker.LastPrice.Equal(decimal.NewFromInt(3000)) || !ticker.Volume.Equal(decimal.NewFromInt(1)) {
		t.Fatalf("ticker %+v", ticker)
	}
	var klines []Kline
	te.must(nil, "GET", "/v1/klines", "symbol=ETHUSDT&interval=1m", nil, &klines)
	if len(klines) != 1 || !klines[0].Close.Equal(decimal.NewFromInt(3000)) {
		t.Fatalf("klines %+v", klines)
	}
}

func jsonNum(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// Each key has its own bucket: past the burst a key gets 429 with
// Retry-After, another key is unaffected; /metrics shows the series.
func TestRateLimitAndMetrics(t *testing.T) {
	te := startExchange(t, t.TempDir(), func(c *Config) { c.API.RateLimit, c.API.RateBurst = 0.5, 3 })
	alice, bob := te.account(3), te.account(4)
	for i := range 3 {
		if status, body := te.call(&alice, "GET", "/v1/account", "", nil, nil); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, body := te.call(&alice, "GET", "/v1/account", "", nil, nil)
	if status != http.StatusTooManyRequests || !strings.Contains(string(body), `"rate-limited"`) {
		t.Fatalf("past the burst: %d %s", status, body)
	}
	if status, _ := te.call(&bob, "GET", "/v1/account", "", nil, nil); status != 200 {
		t.Fatalf("another key: %d", status)
	}
	resp, err := http.Get(te.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "" || resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"exchange_commands_total", "exchange_ack_latency_seconds", "exchange_wal_batch_commands",
		`exchange_open_interest{market="BTCUSDT"}`, `exchange_api_errors_total{code="rate-limited"} 1`} {
		if !strings.Contains(string(raw), name) {
			t.Errorf("metrics lack %s", name)
		}
	}
}

// Cancelling a partly filled order answers its whole quantity and what had
// filled; amending it down to what filled ends it as filled.
func TestCancelAndAmendAnswerTotals(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	alice, bob := te.account(3), te.account(4)
	te.must(te.admin(), "POST", "/v1/admin/index", "", map[string]string{"symbol": "ETHUSDT", "price": "3000"}, nil)
	for _, cid := range []string{"a", "b"} {
		te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "sell", "type": "limit",
			"price": "3000", "quantity": "1", "clientOrderId": cid}, nil)
	}
	te.must(&bob, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "market", "quantity": "1.4"}, nil)
	var cancelled OrderResult
	te.must(&alice, "DELETE", "/v1/order", "symbol=ETHUSDT&clientOrderId=b", nil, &cancelled)
	if cancelled.Status != OrderStatusCancelled || !cancelled.Quantity.Equal(decimal.NewFromInt(1)) ||
		!cancelled.ExecutedQty.Equal(decimal.RequireFromString("0.4")) || cancelled.AvgPrice == nil {
		t.Fatalf("cancelled %+v", cancelled)
	}
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "sell", "type": "limit",
		"price": "3000", "quantity": "1", "clientOrderId": "c"}, nil)
	te.must(&bob, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "market", "quantity": "0.3"}, nil)
	var amended OrderResult
	te.must(&alice, "PUT", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "clientOrderId": "c", "price": "3000", "quantity": "0.3"}, &amended)
	if amended.Status != OrderStatusFilled || !amended.ExecutedQty.Equal(decimal.RequireFromString("0.3")) {
		t.Fatalf("amended to filled %+v", amended)
	}
}

// Events of other accounts (liquidations due before the command) come
// first in a command's events: an answer is built from the caller's own.
func TestAnswersSkipOthersEvents(t *testing.T) {
	m := &engine.DefaultConfig().Markets[1]
	cmd := engine.Command{Kind: engine.CmdPlaceOrder, Account: 4, Market: 1, Side: orderbook.Buy, Type: orderbook.Limit,
		TIF: orderbook.GTC, PriceTicks: 270_000, QtyLots: 1_000}
	evs := []engine.Event{
		{Kind: engine.EventOrderAccepted, Account: 2, Market: 1, OrderID: 12, Side: orderbook.Sell, PriceTicks: 279_000, QtyLots: 1_000},
		{Kind: engine.EventOrderCancelled, Account: 2, Market: 1, OrderID: 12, Side: orderbook.Sell, QtyLots: 1_000, Reason: engine.ReasonUnfilledRemainder},
		{Kind: engine.EventOrderAccepted, Account: 4, Market: 1, OrderID: 13, Side: orderbook.Buy, PriceTicks: 270_000, QtyLots: 1_000},
	}
	res := orderResult(m, &cmd, evs, 0, 9)
	if res.OrderID != 13 || res.Status != OrderStatusNew || res.Side != "buy" || !res.Quantity.Equal(decimal.NewFromInt(1)) {
		t.Fatalf("answer %+v", res)
	}
	cid, _ := engine.ParseClientOrderID("x")
	cancel := engine.Command{Kind: engine.CmdCancelOrder, Account: 4, Market: 1, ClientOrderID: cid}
	evs = []engine.Event{
		{Kind: engine.EventOrderCancelled, Account: 2, Market: 1, OrderID: 12, Reason: engine.ReasonLiquidation},
		{Kind: engine.EventOrderCancelled, Account: 4, Market: 0, OrderID: 14, Reason: engine.ReasonLiquidation, ClientOrderID: cid},
		{Kind: engine.EventOrderCancelled, Account: 4, Market: 1, OrderID: 15, Reason: engine.ReasonCancelledByUser, ClientOrderID: cid},
	}
	if id := ownOrderID(&cancel, evs, engine.EventOrderCancelled); id != 15 {
		t.Fatalf("cancelled order %d, want 15", id)
	}
}
