package server

import (
	"context"
	"testing"

	"github.com/paperperps/exchange/engine"
	"github.com/shopspring/decimal"
)

// Two accounts trade through the API on a real exchange over loopback: the
// answers, the positions and the balances agree with the engine's own
// figures, in both margin modes; an admin price move liquidates the
// leveraged side; after a restart on the same directory everything is
// where it was.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	te := startExchange(t, dir, nil)
	alice, bob := te.account(3), te.account(4)

	var health map[string]string
	te.must(nil, "GET", "/healthz", "", nil, &health)
	var markets []MarketInfo
	te.must(nil, "GET", "/v1/markets", "", nil, &markets)
	if len(markets) != 3 || markets[0].Symbol != "BTCUSDT" || markets[0].TickSize.String() != "0.1" {
		t.Fatalf("markets %+v", markets)
	}
	te.must(te.admin(), "POST", "/v1/admin/index", "", map[string]string{"symbol": "BTCUSDT", "price": "100000"}, nil)
	te.must(te.admin(), "POST", "/v1/admin/index", "", map[string]string{"symbol": "ETHUSDT", "price": "3000"}, nil)

	// Cross: Alice sells 2 BTC at 100,000 to Bob's market buy.
	var rest OrderResult
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "BTCUSDT", "side": "sell", "type": "limit",
		"price": "100000", "quantity": "2", "clientOrderId": "a-1"}, &rest)
	if rest.Status != OrderStatusNew || rest.ClientOrderID != "a-1" || rest.OrderID == 0 {
		t.Fatalf("resting order %+v", rest)
	}
	var depth Depth
	te.must(nil, "GET", "/v1/depth", "symbol=BTCUSDT&limit=5", nil, &depth)
	if len(depth.Asks) != 1 || !depth.Asks[0][0].Equal(decimal.NewFromInt(100_000)) || !depth.Asks[0][1].Equal(decimal.NewFromInt(2)) {
		t.Fatalf("depth %+v", depth)
	}
	var take OrderResult
	te.must(&bob, "POST", "/v1/order", "", map[string]any{"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "2"}, &take)
	if take.Status != OrderStatusFilled || len(take.Fills) != 1 || !take.ExecutedQty.Equal(decimal.NewFromInt(2)) ||
		take.AvgPrice == nil || !take.AvgPrice.Equal(decimal.NewFromInt(100_000)) || !take.Fills[0].Fee.Equal(decimal.NewFromInt(100)) {
		t.Fatalf("taker result %+v", take)
	}

	// Isolated: Bob trades ETH at 10x in isolated mode against Alice.
	te.must(&bob, "POST", "/v1/margin-mode", "", map[string]string{"symbol": "ETHUSDT", "marginMode": "isolated"}, nil)
	var set Settings
	te.must(&bob, "POST", "/v1/leverage", "", map[string]any{"symbol": "ETHUSDT", "leverage": 10}, &set)
	if set.Leverage != 10 || set.MarginMode != "isolated" {
		t.Fatalf("settings %+v", set)
	}
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "limit",
		"price": "3000", "quantity": "5"}, nil)
	te.must(&bob, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "sell", "type": "limit",
		"price": "3000", "quantity": "5", "timeInForce": "ioc"}, nil)
	var added IsolatedMarginResult
	te.must(&bob, "POST", "/v1/isolated-margin", "", map[string]string{"symbol": "ETHUSDT", "amount": "250"}, &added)

	// The API's figures are the engine's.
	check := func(c Credentials, a engine.AccountID) AccountInfo {
		t.Helper()
		var got AccountInfo
		te.must(&c, "GET", "/v1/account", "", nil, &got)
		var v engine.AccountView
		if err := te.x.srv.read(context.Background(), func(e *engine.Engine) { v, _, _ = e.Account(a, nil) }); err != nil {
			t.Fatal(err)
		}
		want := AccountInfo{Account: a, Positions: []PositionInfo{}}
		want.Wallet, want.Available = decimal.New(v.WalletQuote, -6), decimal.New(v.AvailableQuote, -6)
		if got.Account != a || !got.Wallet.Equal(want.Wallet) || !got.Available.Equal(want.Available) || len(got.Positions) != len(v.Positions) {
			t.Fatalf("account %d: API %+v, engine %+v", a, got, v)
		}
		for i, p := range got.Positions {
			ep := v.Positions[i]
			m := te.x.srv.markets[ep.Market]
			if p.Market != m.Symbol || !p.Size.Equal(m.Grid.Qty(ep.SizeLots)) || p.MarginMode != ep.Mode.String() ||
				!p.IsolatedMargin.Equal(decimal.New(ep.IsolatedMarginQuote, -6)) || (ep.LiqPriceTicks == 0) != (p.LiquidationPrice == nil) ||
				(p.LiquidationPrice != nil && !p.LiquidationPrice.Equal(m.Grid.Price(ep.LiqPriceTicks))) {
				t.Fatalf("account %d position %d: API %+v, engine %+v", a, i, p, ep)
			}
		}
		return got
	}
	ai, bi := check(alice, 3), check(bob, 4)
	if len(bi.Positions) != 2 || bi.Positions[0].Size.String() != "2" || bi.Positions[1].Size.String() != "-5" ||
		bi.Positions[1].MarginMode != "isolated" || len(ai.Positions) != 2 {
		t.Fatalf("positions: alice %+v, bob %+v", ai.Positions, bi.Positions)
	}
	// ETH at 10x: 5 × 3,000 / 10 = 1,500 moved in, less the taker fee
	// 0.05% of 15,000 = 7.5, plus the 250 added.
	if !bi.Positions[1].IsolatedMargin.Equal(decimal.RequireFromString("1742.5")) || !added.IsolatedMargin.Equal(bi.Positions[1].IsolatedMargin) {
		t.Fatalf("isolated margin %s (added: %+v)", bi.Positions[1].IsolatedMargin, added)
	}

	// A price move liquidates Carol, a new account with a 1 BTC long on
	// 5,200 USDT (about 19x; liquidation near 95,300). The mark is a
	// median that includes the last trade, so the index alone does not
	// move it: a trade at the new price (Alice with herself) does.
	var carolAcct NewAccount
	te.must(te.admin(), "POST", "/v1/admin/accounts", "", map[string]string{"deposit": "5200"}, &carolAcct)
	carol := carolAcct.Credentials
	if carolAcct.Account != 5 || !carolAcct.Wallet.Equal(decimal.NewFromInt(5200)) {
		t.Fatalf("new account %+v", carolAcct)
	}
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "BTCUSDT", "side": "sell", "type": "limit",
		"price": "100000", "quantity": "1"}, nil)
	te.must(&carol, "POST", "/v1/leverage", "", map[string]any{"symbol": "BTCUSDT", "leverage": 50}, nil)
	te.must(&carol, "POST", "/v1/order", "", map[string]any{"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "1"}, nil)
	te.must(te.admin(), "POST", "/v1/admin/index", "", map[string]string{"symbol": "BTCUSDT", "price": "95000"}, nil)
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "BTCUSDT", "side": "buy", "type": "limit",
		"price": "95000", "quantity": "0.01"}, nil)
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "BTCUSDT", "side": "sell", "type": "market",
		"quantity": "0.01"}, nil)
	var mark MarkInfo
	te.must(nil, "GET", "/v1/mark", "symbol=BTCUSDT", nil, &mark)
	if mark.MarkPrice.GreaterThan(decimal.NewFromInt(95_300)) {
		t.Fatalf("mark %+v", mark)
	}
	var pos []PositionInfo
	te.must(&carol, "GET", "/v1/positions", "symbol=BTCUSDT", nil, &pos)
	if len(pos) != 0 {
		t.Fatalf("carol's position after the liquidation: %+v", pos)
	}
	var liqs []Liquidation
	te.must(nil, "GET", "/v1/liquidations", "symbol=BTCUSDT", nil, &liqs)
	if len(liqs) == 0 {
		t.Fatal("no liquidation listed")
	}

	// Restart: the same state, the same credentials.
	before := check(alice, 3)
	if err := te.stop(); err != nil {
		t.Fatal(err)
	}
	te2 := startExchange(t, dir, nil)
	if c := te2.account(3); c != alice {
		t.Fatalf("credentials changed over a restart: %+v %+v", c, alice)
	}
	te = te2
	after := check(alice, 3)
	if !after.Wallet.Equal(before.Wallet) || len(after.Positions) != len(before.Positions) {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
}
