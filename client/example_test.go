package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/paperperps/exchange/client"
	"github.com/shopspring/decimal"
)

// The examples run against the exchange TestMain starts (baseURL, with
// ETHUSDT's index at 3000), each from new accounts of its own.

// newClient is a Client of a new account holding 100,000 USDT.
func newClient() *client.Client {
	apiKey, secret := newAccount()
	c, err := client.New(baseURL, client.WithCredentials(apiKey, secret))
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// dec is a decimal from its text.
func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// A bot quotes, and takes its quote back.
func Example() {
	ctx := context.Background()
	apiKey, secret := newAccount() // an account's key and secret, e.g. from credentials.json
	c, err := client.New(baseURL, client.WithCredentials(apiKey, secret))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.SyncClock(ctx); err != nil { // signed requests carry the server's time
		log.Fatal(err)
	}
	res, err := c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("2990"), dec("0.1")).PostOnly().ClientID("quote-1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Side, res.Quantity, "at", res.Price)
	res, err = c.CancelOrder(ctx, "ETHUSDT", client.ByClientID("quote-1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.CancelReason)
	// Output:
	// new buy 0.1 at 2990
	// cancelled user
}

func ExampleNew() {
	c, err := client.New("http://127.0.0.1:8080",
		client.WithCredentials("pp3-7654205f08b0dd5a4b15901e", "…the account's 64 hex digits…"),
		client.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		client.WithRetry(client.RetryPolicy{Attempts: 3}), // reads only; orders are never retried
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = c
}

func ExampleClient_PlaceOrder() {
	ctx := context.Background()
	maker, taker := newClient(), newClient()
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Sell, dec("3000"), dec("0.5"))); err != nil {
		log.Fatal(err)
	}
	res, err := taker.PlaceOrder(ctx, client.Market("ETHUSDT", client.Buy, dec("0.5")).ClientID("take-1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.ExecutedQty, "at", res.AvgPrice)
	for _, f := range res.Fills {
		fmt.Println("fill", f.Qty, "at", f.Price, "fee", f.Fee)
	}
	// Output:
	// filled 0.5 at 3000
	// fill 0.5 at 3000 fee 0.75
}

// Refusals are *APIErrors that errors.Is tells apart.
func ExampleClient_PlaceOrder_refused() {
	ctx := context.Background()
	maker, c := newClient(), newClient()
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Sell, dec("3010"), dec("0.1"))); err != nil {
		log.Fatal(err)
	}
	_, err := c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("3010"), dec("0.1")).PostOnly())
	fmt.Println(errors.Is(err, client.ErrPostOnlyWouldTake))
	_, err = c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("3000"), dec("1000")))
	fmt.Println(errors.Is(err, client.ErrInsufficientMargin))
	_, err = c.PlaceOrder(ctx, client.Market("ETHUSDT", client.Sell, dec("0.1")).Reduce())
	fmt.Println(errors.Is(err, client.ErrReduceOnlyRejected))
	_, err = c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("2999.999"), dec("0.1")))
	var ae *client.APIError
	if errors.As(err, &ae) {
		fmt.Println(ae.Status, ae.Code, errors.Is(err, client.ErrInvalidRequest))
	}
	if _, err := maker.CancelAll(ctx, "ETHUSDT"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// true
	// true
	// true
	// 400 invalid-parameter true
}

// A stop-market order that closes a long if the mark falls to 2850.
func ExampleClient_PlaceOrder_stop() {
	ctx := context.Background()
	maker, c := newClient(), newClient()
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Sell, dec("3000"), dec("1"))); err != nil {
		log.Fatal(err)
	}
	if _, err := c.PlaceOrder(ctx, client.Market("ETHUSDT", client.Buy, dec("1"))); err != nil {
		log.Fatal(err)
	}
	res, err := c.PlaceOrder(ctx, client.Market("ETHUSDT", client.Sell, dec("1")).Reduce().Stop(client.ByMark, dec("2850")))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status)
	o, err := c.Order(ctx, "ETHUSDT", res.Ref())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(o.TriggerType, o.TriggerBy, o.StopPrice, o.ReduceOnly)
	if _, err := c.CancelAll(ctx, "ETHUSDT"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// untriggered
	// stop mark 2850 true
}

func ExampleClient_AmendOrder() {
	ctx := context.Background()
	c := newClient()
	if _, err := c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("2950"), dec("0.2")).ClientID("bid-1")); err != nil {
		log.Fatal(err)
	}
	res, err := c.AmendOrder(ctx, "ETHUSDT", client.ByClientID("bid-1"), dec("2955.5"), dec("0.3"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Quantity, "at", res.Price)
	if _, err := c.CancelAll(ctx, "ETHUSDT"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// new 0.3 at 2955.5
}

func ExampleClient_CancelOrder() {
	ctx := context.Background()
	c := newClient()
	placed, err := c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Sell, dec("3050"), dec("0.1")))
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.CancelOrder(ctx, "ETHUSDT", placed.Ref())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.CancelReason)
	// The order is not open any more.
	_, err = c.CancelOrder(ctx, "ETHUSDT", placed.Ref())
	fmt.Println(errors.Is(err, client.ErrUnknownOrder))
	// Output:
	// cancelled user
	// true
}

func ExampleClient_CancelAll() {
	ctx := context.Background()
	c := newClient()
	for _, px := range []string{"2900", "2910", "2920"} {
		if _, err := c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec(px), dec("0.1"))); err != nil {
			log.Fatal(err)
		}
	}
	res, err := c.CancelAll(ctx, "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Cancelled), "cancelled")
	// Output:
	// 3 cancelled
}

func ExampleClient_OpenOrders() {
	ctx := context.Background()
	c := newClient()
	if _, err := c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("2900"), dec("0.1")).ClientID("a")); err != nil {
		log.Fatal(err)
	}
	orders, err := c.OpenOrders(ctx, "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range orders {
		fmt.Println(o.ClientOrderID, o.Type, o.TimeInForce, o.Side, o.OrigQty, "at", o.Price, o.Status)
	}
	if _, err := c.CancelAll(ctx, "ETHUSDT"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// a limit gtc buy 0.1 at 2900 new
}

func ExampleClient_OrderHistory() {
	ctx := context.Background()
	c := newClient()
	// An IOC order with nothing to meet ends at once.
	if _, err := c.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("2900"), dec("0.1")).IOC()); err != nil {
		log.Fatal(err)
	}
	orders, err := c.OrderHistory(ctx, "ETHUSDT", 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range orders {
		fmt.Println(o.TimeInForce, o.Status, o.CancelReason, o.ExecutedQty)
	}
	// Output:
	// ioc cancelled unfilled-remainder 0
}

func ExampleClient_Fills() {
	ctx := context.Background()
	maker, taker := newClient(), newClient()
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("3000"), dec("0.4"))); err != nil {
		log.Fatal(err)
	}
	if _, err := taker.PlaceOrder(ctx, client.Market("ETHUSDT", client.Sell, dec("0.4"))); err != nil {
		log.Fatal(err)
	}
	fills, err := maker.Fills(ctx, "ETHUSDT", 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range fills {
		fmt.Println(f.Side, f.Qty, "at", f.Price, "maker", f.Maker, "fee", f.Fee, f.Cause)
	}
	// Output:
	// buy 0.4 at 3000 maker true fee 0.24 trade
}

func ExampleClient_Account() {
	ctx := context.Background()
	c := newClient()
	a, err := c.Account(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("wallet", a.Wallet, "available", a.Available, "positions", len(a.Positions))
	// Output:
	// wallet 100000 available 100000 positions 0
}

func ExampleClient_Positions() {
	ctx := context.Background()
	maker, c := newClient(), newClient()
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("3000"), dec("2"))); err != nil {
		log.Fatal(err)
	}
	if _, err := c.PlaceOrder(ctx, client.Market("ETHUSDT", client.Sell, dec("2"))); err != nil {
		log.Fatal(err)
	}
	ps, err := c.Positions(ctx, "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range ps {
		fmt.Println(p.Symbol, p.Side(), p.Size, "entry", p.EntryPrice, p.MarginMode, p.Leverage)
	}
	// Output:
	// ETHUSDT sell -2 entry 3000 cross 20
}

func ExampleClient_SetLeverage() {
	ctx := context.Background()
	c := newClient()
	s, err := c.SetLeverage(ctx, "ETHUSDT", 5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Symbol, s.Leverage, s.MarginMode)
	// Output:
	// ETHUSDT 5 cross
}

// An isolated position and its margin.
func ExampleClient_AdjustIsolatedMargin() {
	ctx := context.Background()
	maker, c := newClient(), newClient()
	if _, err := c.SetMarginMode(ctx, "ETHUSDT", client.Isolated); err != nil {
		log.Fatal(err)
	}
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Sell, dec("3000"), dec("1"))); err != nil {
		log.Fatal(err)
	}
	if _, err := c.PlaceOrder(ctx, client.Market("ETHUSDT", client.Buy, dec("1"))); err != nil {
		log.Fatal(err)
	}
	before, err := c.Positions(ctx, "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.AdjustIsolatedMargin(ctx, "ETHUSDT", dec("100"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(before[0].MarginMode, res.IsolatedMargin.Sub(before[0].IsolatedMargin))
	// Output:
	// isolated 100
}

func ExampleClient_Depth() {
	ctx := context.Background()
	c := newClient()
	for _, o := range []client.OrderRequest{
		client.Limit("ETHUSDT", client.Buy, dec("2980"), dec("0.1")),
		client.Limit("ETHUSDT", client.Buy, dec("2980"), dec("0.2")),
		client.Limit("ETHUSDT", client.Sell, dec("3020"), dec("0.3")),
	} {
		if _, err := c.PlaceOrder(ctx, o); err != nil {
			log.Fatal(err)
		}
	}
	book, err := c.Depth(ctx, "ETHUSDT", 5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bids", book.Bids)
	fmt.Println("asks", book.Asks)
	if _, err := c.CancelAll(ctx, "ETHUSDT"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// bids [{2980 0.3}]
	// asks [{3020 0.3}]
}

func ExampleClient_Trades() {
	ctx := context.Background()
	maker, taker := newClient(), newClient()
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Sell, dec("3000"), dec("0.7"))); err != nil {
		log.Fatal(err)
	}
	if _, err := taker.PlaceOrder(ctx, client.Market("ETHUSDT", client.Buy, dec("0.7"))); err != nil {
		log.Fatal(err)
	}
	trades, err := taker.Trades(ctx, "ETHUSDT", 1)
	if err != nil {
		log.Fatal(err)
	}
	t := trades[0]
	fmt.Println(t.TakerSide, t.Qty, "at", t.Price, "=", t.QuoteQty, "buyer maker", t.IsBuyerMaker)
	// Output:
	// buy 0.7 at 3000 = 2100 buyer maker false
}

func ExampleClient_Markets() {
	c, err := client.New(baseURL) // public calls need no key
	if err != nil {
		log.Fatal(err)
	}
	markets, err := c.Markets(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range markets {
		fmt.Println(m.Symbol, "tick", m.TickSize, "lot", m.LotSize, "min notional", m.MinNotional,
			"max leverage", m.Brackets[0].MaxLeverage, "funding every", m.FundingInterval)
	}
	// Output:
	// BTCUSDT tick 0.1 lot 0.001 min notional 100 max leverage 125 funding every 8h0m0s
	// ETHUSDT tick 0.01 lot 0.001 min notional 20 max leverage 125 funding every 8h0m0s
	// SOLUSDT tick 0.01 lot 1 min notional 5 max leverage 100 funding every 8h0m0s
}

func ExampleClient_Mark() {
	c, err := client.New(baseURL)
	if err != nil {
		log.Fatal(err)
	}
	m, err := c.Mark(context.Background(), "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Symbol, "index", m.IndexPrice)
	// Output:
	// ETHUSDT index 3000
}

func ExampleClient_SyncClock() {
	c := newClient()
	offset, err := c.SyncClock(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	// Here client and server share a clock.
	fmt.Println(offset.Abs() < time.Second, c.ClockOffset() == offset)
	// Output:
	// true true
}

// The admin calls take the admin key (ppadmin-..., in credentials.json).
func ExampleClient_CreateAccount() {
	ctx := context.Background()
	adm, err := client.New(baseURL, client.WithCredentials(creds.APIKey, creds.Secret))
	if err != nil {
		log.Fatal(err)
	}
	a, err := adm.CreateAccount(ctx, dec("2500"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("wallet", a.Wallet)
	b, err := adm.Deposit(ctx, a.Account, dec("500"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("wallet", b.Wallet)
	b, err = adm.Withdraw(ctx, a.Account, dec("1000.5"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("wallet", b.Wallet)
	// The new account trades with its own key.
	c, err := client.New(baseURL, client.WithCredentials(a.APIKey, a.APISecret))
	if err != nil {
		log.Fatal(err)
	}
	acct, err := c.Account(ctx)
	fmt.Println(acct.Account == a.Account, err)
	// Output:
	// wallet 2500
	// wallet 3000
	// wallet 1999.5
	// true <nil>
}

func ExampleClient_SetIndexPrice() {
	ctx := context.Background()
	adm, err := client.New(baseURL, client.WithCredentials(creds.APIKey, creds.Secret))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := adm.PauseFeed(ctx); err != nil { // so the feed does not overwrite it
		log.Fatal(err)
	}
	res, err := adm.SetIndexPrice(ctx, "ETHUSDT", dec("3000"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Symbol, res.IndexPrice, "liquidations", res.Liquidations)
	// Output:
	// ETHUSDT 3000 liquidations 0
}
