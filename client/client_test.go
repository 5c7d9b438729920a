package client_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/paperperps/exchange/client"
	"github.com/paperperps/exchange/server"
	"github.com/shopspring/decimal"
)

// The tests trade BTCUSDT (index 100,000): see main_test.go.
const btc = "BTCUSDT"

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// cleanup cancels c's BTCUSDT orders when the test ends.
func cleanup(t *testing.T, c *client.Client) {
	t.Cleanup(func() {
		if _, err := c.CancelAll(context.Background(), btc); err != nil {
			t.Error(err)
		}
	})
}

func eq(t *testing.T, what string, got, want decimal.Decimal) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func TestNewOptions(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://host", "http://", "http://host/?q=1", "http://u:p@host"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q): no error", bad)
		}
	}
	if _, err := client.New(baseURL, client.WithCredentials("", "x")); err == nil {
		t.Error("empty key: no error")
	}
	if _, err := client.New(baseURL, client.WithHTTPClient(nil)); err == nil {
		t.Error("nil HTTP client: no error")
	}
	c := must[*client.Client](t)(client.New(baseURL+"/", client.WithClockOffset(3*time.Second), client.WithUserAgent("t/1")))
	if c.BaseURL() != baseURL || c.ClockOffset() != 3*time.Second {
		t.Errorf("BaseURL %q, offset %s", c.BaseURL(), c.ClockOffset())
	}
	// Without credentials, private calls fail before sending.
	if _, err := c.Account(context.Background()); !errors.Is(err, client.ErrNoCredentials) {
		t.Errorf("Account without credentials: %v", err)
	}
}

func TestPublic(t *testing.T) {
	ctx := context.Background()
	pub := must[*client.Client](t)(client.New(baseURL))
	now := must[time.Time](t)(pub.Time(ctx))
	if d := time.Since(now); d > time.Second || d < -time.Second {
		t.Errorf("server time %v is %v away", now, d)
	}
	markets := must[[]client.MarketInfo](t)(pub.Markets(ctx))
	if len(markets) != 3 || markets[0].Symbol != btc || markets[0].FundingInterval != 8*time.Hour || len(markets[0].Brackets) == 0 {
		t.Fatalf("markets: %+v", markets)
	}
	m := markets[0]
	eq(t, "tick", m.TickSize, d("0.1"))
	eq(t, "lot", m.LotSize, d("0.001"))
	eq(t, "RoundPrice", m.RoundPrice(d("100000.19")), d("100000.1"))
	eq(t, "RoundQty", m.RoundQty(d("0.0129")), d("0.012"))
	if m.Brackets[0].MaxLeverage != 125 {
		t.Errorf("bracket 1: %+v", m.Brackets[0])
	}

	// A trade: a maker's ask taken by a market order.
	maker, taker := bot(t), bot(t)
	cleanup(t, maker)
	must[client.OrderResult](t)(maker.PlaceOrder(ctx, client.Limit(btc, client.Sell, d("100100"), d("0.02"))))
	must[client.OrderResult](t)(maker.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("99900"), d("0.01"))))
	res := must[client.OrderResult](t)(taker.PlaceOrder(ctx, client.Market(btc, client.Buy, d("0.005"))))
	if res.Status != client.StatusFilled {
		t.Fatalf("market order: %+v", res)
	}

	depth := must[client.Depth](t)(pub.Depth(ctx, btc, 5))
	if depth.Symbol != btc || depth.UpdateID == 0 || len(depth.Bids) != 1 || len(depth.Asks) != 1 {
		t.Fatalf("depth: %+v", depth)
	}
	eq(t, "best bid", depth.Bids[0].Price, d("99900"))
	eq(t, "best ask qty", depth.Asks[0].Qty, d("0.015"))

	trades := must[[]client.Trade](t)(pub.Trades(ctx, btc, 1))
	if len(trades) != 1 || trades[0].TakerSide != client.Buy || trades[0].IsBuyerMaker || trades[0].Time == 0 {
		t.Fatalf("trades: %+v", trades)
	}
	eq(t, "trade price", trades[0].Price, d("100100"))
	eq(t, "trade quote", trades[0].QuoteQty, d("500.5"))

	klines := must[[]client.Kline](t)(pub.Klines(ctx, btc, client.Interval1m, client.KlineQuery{Limit: 10}))
	if len(klines) == 0 {
		t.Fatal("no klines")
	}
	k := klines[len(klines)-1]
	eq(t, "close", k.Close, d("100100"))
	if k.CloseTime != k.OpenTime+60_000-1 || k.Count < 1 {
		t.Errorf("kline: %+v", k)
	}
	// A range that ends before the trade has nothing.
	if ks := must[[]client.Kline](t)(pub.Klines(ctx, btc, client.Interval1h, client.KlineQuery{Start: time.UnixMilli(1), End: time.UnixMilli(2)})); len(ks) != 0 {
		t.Errorf("klines in 1970: %+v", ks)
	}

	tick := must[client.Ticker](t)(pub.Ticker(ctx, btc))
	eq(t, "ticker last", tick.LastPrice, d("100100"))
	if tick.Symbol != btc || tick.Count < 1 {
		t.Errorf("ticker: %+v", tick)
	}
	mark := must[client.MarkInfo](t)(pub.Mark(ctx, btc))
	eq(t, "index", mark.IndexPrice, d("100000"))
	if !mark.MarkPrice.IsPositive() || mark.NextFundingTime == 0 {
		t.Errorf("mark: %+v", mark)
	}
	if liqs := must[[]client.Liquidation](t)(pub.Liquidations(ctx, btc, 0)); len(liqs) != 0 {
		t.Errorf("liquidations: %+v", liqs)
	}
	fund := must[client.InsuranceFund](t)(pub.InsuranceFund(ctx))
	if fund.Balance.IsNegative() {
		t.Errorf("fund: %+v", fund)
	}
	// A bad parameter is the server's to refuse.
	if _, err := pub.Depth(ctx, "NOPE", 0); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("unknown market: %v", err)
	}
}

func TestOrderLifecycle(t *testing.T) {
	ctx := context.Background()
	c, other := bot(t), bot(t)
	cleanup(t, c)
	cleanup(t, other)

	res := must[client.OrderResult](t)(c.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("99000"), d("0.01")).ClientID("life-1").STP(client.STPCancelTaker)))
	if res.Status != client.StatusNew || res.ClientOrderID != "life-1" || res.Side != client.Buy || res.OrderID == 0 || res.Seq == 0 {
		t.Fatalf("place: %+v", res)
	}
	eq(t, "price", res.Price, d("99000"))
	eq(t, "qty", res.Quantity, d("0.01"))

	byID := must[client.Order](t)(c.Order(ctx, btc, res.Ref()))
	byCID := must[client.Order](t)(c.Order(ctx, btc, client.ByClientID("life-1")))
	if byID.OrderID != res.OrderID || byCID.OrderID != res.OrderID || byID.Type != client.TypeLimit || byID.TimeInForce != client.GTC ||
		byID.SelfTradePrevention != client.STPCancelTaker || byID.Status != client.StatusNew || byID.Time == 0 {
		t.Fatalf("order: %+v / %+v", byID, byCID)
	}
	open := must[[]client.Order](t)(c.OpenOrders(ctx, btc))
	if len(open) != 1 || open[0].OrderID != res.OrderID {
		t.Fatalf("open: %+v", open)
	}
	if all := must[[]client.Order](t)(c.OpenOrders(ctx, "")); len(all) != 1 {
		t.Fatalf("open, all markets: %+v", all)
	}

	// Amend by client id: a new price and a larger total.
	am := must[client.OrderResult](t)(c.AmendOrder(ctx, btc, client.ByClientID("life-1"), d("99100"), d("0.02")))
	if am.OrderID != res.OrderID || am.Status != client.StatusNew {
		t.Fatalf("amend: %+v", am)
	}
	eq(t, "amended price", am.Price, d("99100"))
	eq(t, "amended qty", am.Quantity, d("0.02"))

	// Another account sells into it: half fills.
	hit := must[client.OrderResult](t)(other.PlaceOrder(ctx, client.Limit(btc, client.Sell, d("99100"), d("0.01")).IOC()))
	if hit.Status != client.StatusFilled || len(hit.Fills) != 1 || hit.Fills[0].MakerOrderID != res.OrderID {
		t.Fatalf("taker: %+v", hit)
	}
	eq(t, "avg", hit.AvgPrice, d("99100"))
	eq(t, "taker fee", hit.Fills[0].Fee, d("0.4955")) // 991 × 0.05%

	// Cancel by id: the totals are the order's.
	cx := must[client.OrderResult](t)(c.CancelOrder(ctx, btc, client.ByID(res.OrderID)))
	if cx.Status != client.StatusCancelled || cx.CancelReason != client.ReasonUser {
		t.Fatalf("cancel: %+v", cx)
	}
	eq(t, "cancelled executed", cx.ExecutedQty, d("0.01"))
	if _, err := c.CancelOrder(ctx, btc, client.ByID(res.OrderID)); !errors.Is(err, client.ErrUnknownOrder) {
		t.Errorf("second cancel: %v", err)
	}

	fills := must[[]client.Fill](t)(c.Fills(ctx, btc, 10))
	if len(fills) != 1 || !fills[0].Maker || fills[0].Side != client.Buy || fills[0].Cause != client.CauseTrade || fills[0].OrderID != res.OrderID {
		t.Fatalf("fills: %+v", fills)
	}
	eq(t, "maker fee", fills[0].Fee, d("0.1982"))
	pos := must[[]client.Position](t)(c.Positions(ctx, btc))
	if len(pos) != 1 || pos[0].Side() != client.Buy || pos[0].MarginMode != client.Cross {
		t.Fatalf("positions: %+v", pos)
	}
	eq(t, "size", pos[0].Size, d("0.01"))
	acct := must[client.Account](t)(c.Account(ctx))
	if len(acct.Positions) != 1 || acct.Account == 0 || !acct.Available.IsPositive() {
		t.Fatalf("account: %+v", acct)
	}

	// A stop order waits; CancelAll ends it with a resting one.
	stop := must[client.OrderResult](t)(c.PlaceOrder(ctx, client.Market(btc, client.Sell, d("0.01")).Reduce().Stop(client.ByMark, d("95000"))))
	if stop.Status != client.StatusUntriggered {
		t.Fatalf("stop: %+v", stop)
	}
	so := must[client.Order](t)(c.Order(ctx, btc, stop.Ref()))
	if so.TriggerType != client.Stop || so.TriggerBy != client.ByMark || !so.ReduceOnly {
		t.Errorf("stop order: %+v", so)
	}
	eq(t, "stop price", so.StopPrice, d("95000"))
	tp := must[client.OrderResult](t)(c.PlaceOrder(ctx, client.Limit(btc, client.Sell, d("104000"), d("0.01")).Reduce().TakeProfit(client.ByMark, d("103000"))))
	rest := must[client.OrderResult](t)(c.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("98000"), d("0.002")).PostOnly()))
	ca := must[client.CancelAllResult](t)(c.CancelAll(ctx, btc))
	if len(ca.Cancelled) != 3 || ca.Symbol != btc {
		t.Fatalf("cancel all: %+v (stop %d, tp %d, rest %d)", ca, stop.OrderID, tp.OrderID, rest.OrderID)
	}
	hist := must[[]client.Order](t)(c.OrderHistory(ctx, btc, 10))
	if len(hist) != 4 || hist[0].OrderID != rest.OrderID || hist[0].CancelReason != client.ReasonCancelAll || hist[3].Status != client.StatusCancelled {
		t.Fatalf("history: %+v", hist)
	}
	if h := must[[]client.Order](t)(c.OrderHistory(ctx, "", 1)); len(h) != 1 {
		t.Fatalf("history limit 1: %+v", h)
	}

	// Close the position: a FOK market order, which fills against other's
	// resting bid.
	must[client.OrderResult](t)(other.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("99050"), d("0.01"))))
	cl := must[client.OrderResult](t)(c.PlaceOrder(ctx, client.Market(btc, client.Sell, d("0.01")).FOK().Reduce().WorstPrice(d("99000"))))
	if cl.Status != client.StatusFilled {
		t.Fatalf("close: %+v", cl)
	}
	if pos := must[[]client.Position](t)(c.Positions(ctx, btc)); len(pos) != 0 {
		t.Fatalf("positions after close: %+v", pos)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	c, maker := bot(t), bot(t)
	cleanup(t, maker)
	s := must[client.Settings](t)(c.SetLeverage(ctx, btc, 10))
	if s.Symbol != btc || s.Leverage != 10 || s.MarginMode != client.Cross {
		t.Fatalf("leverage: %+v", s)
	}
	s = must[client.Settings](t)(c.SetMarginMode(ctx, btc, client.Isolated))
	if s.Leverage != 10 || s.MarginMode != client.Isolated {
		t.Fatalf("margin mode: %+v", s)
	}
	if _, err := c.SetLeverage(ctx, btc, 126); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("leverage 126: %v", err)
	}
	// An isolated long of 0.01 BTC at 100,000: 100 USDT of margin at 10x.
	must[client.OrderResult](t)(maker.PlaceOrder(ctx, client.Limit(btc, client.Sell, d("100000"), d("0.01"))))
	must[client.OrderResult](t)(c.PlaceOrder(ctx, client.Market(btc, client.Buy, d("0.01"))))
	im := must[client.IsolatedMarginResult](t)(c.AdjustIsolatedMargin(ctx, btc, d("50")))
	if im.Symbol != btc || im.IsolatedMargin.LessThan(d("140")) {
		t.Fatalf("add margin: %+v", im)
	}
	back := must[client.IsolatedMarginResult](t)(c.AdjustIsolatedMargin(ctx, btc, d("-25.5")))
	eq(t, "margin after removing", back.IsolatedMargin, im.IsolatedMargin.Sub(d("25.5")))
	eq(t, "wallet after removing", back.Wallet, im.Wallet.Add(d("25.5")))
	if _, err := c.SetMarginMode(ctx, btc, client.Cross); err == nil {
		t.Error("margin mode change with a position: no error")
	} else if ae := (*client.APIError)(nil); !errors.As(err, &ae) || ae.Code != "position-or-orders-open" || !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("margin mode change with a position: %v", err)
	}
	// Close it.
	must[client.OrderResult](t)(maker.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("99900"), d("0.01"))))
	must[client.OrderResult](t)(c.PlaceOrder(ctx, client.Market(btc, client.Sell, d("0.01")).Reduce()))
}

func TestAdmin(t *testing.T) {
	ctx := context.Background()
	a := must[client.NewAccount](t)(admin.CreateAccount(ctx, decimal.Zero))
	if a.Account == 0 || a.APIKey == "" || len(a.APISecret) != 64 || !a.Wallet.IsZero() {
		t.Fatalf("create: %+v", a)
	}
	b := must[client.Balance](t)(admin.Deposit(ctx, a.Account, d("1000.5")))
	eq(t, "wallet after deposit", b.Wallet, d("1000.5"))
	if b.Account != a.Account || b.Seq == 0 {
		t.Errorf("deposit: %+v", b)
	}
	b = must[client.Balance](t)(admin.Withdraw(ctx, a.Account, d("0.5")))
	eq(t, "wallet after withdrawal", b.Wallet, d("1000"))
	if _, err := admin.Withdraw(ctx, a.Account, d("1000.000001")); !errors.Is(err, client.ErrInsufficientMargin) {
		t.Errorf("withdraw beyond the wallet: %v", err)
	}
	if _, err := admin.Deposit(ctx, 999_999, d("1")); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("deposit to no account: %v", err)
	}
	// The new account's credentials work.
	c := must[*client.Client](t)(client.New(baseURL, client.WithCredentials(a.APIKey, a.APISecret)))
	acct := must[client.Account](t)(c.Account(ctx))
	if acct.Account != a.Account {
		t.Errorf("account %d, want %d", acct.Account, a.Account)
	}
	eq(t, "wallet", acct.Wallet, d("1000"))

	ix := must[client.IndexResult](t)(admin.SetIndexPrice(ctx, btc, d("100000")))
	if ix.Symbol != btc || ix.Liquidations != 0 || ix.Seq == 0 {
		t.Errorf("index: %+v", ix)
	}
	eq(t, "index", ix.IndexPrice, d("100000"))
	if p := must[bool](t)(admin.PauseFeed(ctx)); !p {
		t.Error("PauseFeed: not paused")
	}
	if p := must[bool](t)(admin.ResumeFeed(ctx)); p {
		t.Error("ResumeFeed: paused")
	}
	// Admin calls need the admin key, and the admin key is not an
	// account's.
	if _, err := c.Deposit(ctx, a.Account, d("1")); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("deposit with an account's key: %v", err)
	}
	if _, err := admin.Account(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("account with the admin key: %v", err)
	}
}

// Each sentinel from a real refusal of the server.
func TestSentinels(t *testing.T) {
	ctx := context.Background()
	c, maker := bot(t), bot(t)
	cleanup(t, maker)
	cleanup(t, c)
	must[client.OrderResult](t)(maker.PlaceOrder(ctx, client.Limit(btc, client.Sell, d("100200"), d("0.01"))))

	sentinels := []error{client.ErrInsufficientMargin, client.ErrReduceOnlyRejected, client.ErrPostOnlyWouldTake, client.ErrUnknownOrder,
		client.ErrRateLimited, client.ErrUnauthorized, client.ErrInvalidRequest, client.ErrOutcomeUnknown}
	check := func(what string, err error, want error, code string, status int) {
		t.Helper()
		var ae *client.APIError
		if !errors.As(err, &ae) {
			t.Errorf("%s: %v, want an APIError", what, err)
			return
		}
		if ae.Code != code || ae.Status != status || ae.Message == "" {
			t.Errorf("%s: %+v, want %s (%d)", what, ae, code, status)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) != (s == want) {
				t.Errorf("%s (%s): errors.Is(%v) = %v", what, code, s, !(s == want))
			}
		}
	}

	_, err := c.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("100000"), d("100")))
	check("too large", err, client.ErrInsufficientMargin, "insufficient-margin", 400)
	_, err = c.PlaceOrder(ctx, client.Market(btc, client.Sell, d("0.01")).Reduce())
	check("reduce-only, flat", err, client.ErrReduceOnlyRejected, "reduce-only-no-position", 400)
	must[client.OrderResult](t)(c.PlaceOrder(ctx, client.Market(btc, client.Buy, d("0.005"))))
	_, err = c.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("99000"), d("0.001")).Reduce())
	check("reduce-only, growing", err, client.ErrReduceOnlyRejected, "reduce-only-would-increase", 400)
	_, err = c.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("100200"), d("0.001")).PostOnly())
	check("post-only", err, client.ErrPostOnlyWouldTake, "post-only-would-take", 400)
	_, err = c.Order(ctx, btc, client.ByID(1<<40))
	check("unknown order", err, client.ErrUnknownOrder, "unknown-order", 404)
	_, err = c.AmendOrder(ctx, btc, client.ByClientID("nope"), d("99000"), d("0.001"))
	check("amend unknown", err, client.ErrUnknownOrder, "unknown-order", 404)
	_, err = c.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("99000.05"), d("0.001")))
	check("off the tick grid", err, client.ErrInvalidRequest, "invalid-parameter", 400)
	_, err = c.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("80000"), d("0.002")))
	check("outside the band", err, client.ErrInvalidRequest, "price-outside-band", 400)
	_, err = c.PlaceOrder(ctx, client.OrderRequest{Symbol: btc, Side: "BUY", Type: client.TypeLimit, Price: d("99000"), Quantity: d("0.001")})
	check("bad side", err, client.ErrInvalidRequest, "invalid-parameter", 400)

	key, _ := newAccount()
	bad := must[*client.Client](t)(client.New(baseURL, client.WithCredentials(key, "00"+key)))
	_, err = bad.Account(ctx)
	check("wrong secret", err, client.ErrUnauthorized, "invalid-signature", 401)
	late := bot(t, client.WithClockOffset(-time.Minute))
	_, err = late.OpenOrders(ctx, btc)
	check("a minute late", err, client.ErrUnauthorized, "stale-timestamp", 401)
	// SyncClock repairs it.
	if off, err := late.SyncClock(ctx); err != nil || off > time.Second || off < -time.Second {
		t.Errorf("SyncClock: %v, %v", off, err)
	}
	must[[]client.Order](t)(late.OpenOrders(ctx, btc))
	unknown := must[*client.Client](t)(client.New(baseURL, client.WithCredentials("pp999999-000000000000000000000000", "x")))
	_, err = unknown.Account(ctx)
	check("unknown key", err, client.ErrUnauthorized, "unauthorized", 401)
	_, err = admin.Positions(ctx, "")
	check("admin key on an account endpoint", err, client.ErrUnauthorized, "forbidden", 403)
}

// Rate limits, on an exchange of their own with a tiny one.
func TestRateLimited(t *testing.T) {
	te, err := startExchange(t.TempDir(), func(cfg *server.Config) { cfg.API.RateLimit, cfg.API.RateBurst = 1, 2 })
	if err != nil {
		t.Fatal(err)
	}
	defer te.stop()
	ctx := context.Background()
	c := must[*client.Client](t)(client.New(te.base, client.WithCredentials(te.demo[0].APIKey, te.demo[0].Secret)))
	var last error
	for range 3 {
		if _, last = c.Account(ctx); last != nil {
			break
		}
	}
	var ae *client.APIError
	if !errors.Is(last, client.ErrRateLimited) || !errors.As(last, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter != time.Second {
		t.Fatalf("third request in a burst of 2: %v (%+v)", last, ae)
	}
	// Orders are not retried...
	if _, err := c.PlaceOrder(ctx, client.Limit(btc, client.Buy, d("1"), d("1"))); !errors.Is(err, client.ErrRateLimited) {
		t.Fatalf("order over the limit: %v", err)
	}
	// ...reads are, with WithRetry, after the server's Retry-After.
	r := must[*client.Client](t)(client.New(te.base, client.WithCredentials(te.demo[0].APIKey, te.demo[0].Secret),
		client.WithRetry(client.RetryPolicy{Attempts: 3, Backoff: 10 * time.Millisecond})))
	start := time.Now()
	if _, err := r.Account(ctx); err != nil {
		t.Fatalf("Account with retries: %v", err)
	}
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Errorf("retried after %v, before the Retry-After of 1s", waited)
	}
}

// Many goroutines share one Client.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	c := bot(t)
	cleanup(t, c)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 8 {
				px := decimal.NewFromInt(int64(99_000 - 10*(8*g+i)))
				res, err := c.PlaceOrder(ctx, client.Limit(btc, client.Buy, px, d("0.002")))
				if err == nil {
					_, err = c.CancelOrder(ctx, btc, res.Ref())
				}
				if err != nil {
					errs <- err
					return
				}
			}
			if _, err := c.SyncClock(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if open := must[[]client.Order](t)(c.OpenOrders(ctx, btc)); len(open) != 0 {
		t.Errorf("open orders left: %d", len(open))
	}
}

// A context ends a call with its own error, not an APIError.
func TestContext(t *testing.T) {
	c := bot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Account(ctx)
	var ae *client.APIError
	if !errors.Is(err, context.Canceled) || errors.As(err, &ae) {
		t.Errorf("cancelled: %v", err)
	}
}
