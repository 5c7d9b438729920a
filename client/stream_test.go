package client_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperperps/exchange/client"
	"github.com/paperperps/exchange/server"
	"github.com/shopspring/decimal"
)

// ownExchange starts an exchange of the test's own (the streams' tests
// count updates and drop connections).
func ownExchange(t *testing.T) (*testExchange, *client.Client) {
	t.Helper()
	te, err := startExchange(t.TempDir(), func(c *server.Config) { c.API.RateLimit, c.API.RateBurst = 1e6, 1e6 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { te.stop() })
	adm, err := client.New(te.base, client.WithCredentials(te.admin.APIKey, te.admin.Secret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.SetIndexPrice(context.Background(), "BTCUSDT", decimal.NewFromInt(100_000)); err != nil {
		t.Fatal(err)
	}
	return te, adm
}

func account(t *testing.T, te *testExchange, adm *client.Client, deposit int64) *client.Client {
	t.Helper()
	a, err := adm.CreateAccount(context.Background(), decimal.NewFromInt(deposit))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(te.base, client.WithCredentials(a.APIKey, a.APISecret))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The local book stays identical to the server's through 100,000 book
// updates sent over the WebSocket by several goroutines, with the
// connection dropped twice on the way; trades stream too.
func TestStreamLocalBook(t *testing.T) {
	te, adm := ownExchange(t)
	ctx := context.Background()
	watcher := account(t, te, adm, 1)
	s, err := watcher.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	book, err := s.Book(ctx, "BTCUSDT")
	if err != nil {
		t.Fatal(err)
	}
	trades, err := s.Trades(ctx, "BTCUSDT")
	if err != nil {
		t.Fatal(err)
	}
	var traded sync.WaitGroup
	traded.Add(1)
	nTrades := 0
	go func() {
		defer traded.Done()
		for range trades {
			nTrades++
		}
	}()

	const traders, perTrader = 4, 13_000 // × 2 updates (place, cancel): over 100,000
	var wg sync.WaitGroup
	for k := range traders {
		c := account(t, te, adm, 10_000_000)
		ts, err := c.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer ts.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Pipelined: 32 orders in flight, each a place then a cancel.
			sem := make(chan struct{}, 32)
			var inner sync.WaitGroup
			for i := range perTrader {
				sem <- struct{}{}
				inner.Add(1)
				go func() {
					defer inner.Done()
					defer func() { <-sem }()
					side, px := client.Buy, 99_000+int64(i%200)*5
					if (i+k)%2 == 1 {
						side, px = client.Sell, 101_000-int64(i%200)*5
					}
					if i%50 == 0 { // now and then cross the book: trades
						px = 100_000
					}
					r, err := ts.PlaceOrder(ctx, client.Limit("BTCUSDT", side, decimal.NewFromInt(px), decimal.RequireFromString("0.002")))
					if err != nil {
						t.Error(err)
						return
					}
					if r.Status == client.StatusNew || r.Status == client.StatusPartiallyFilled {
						if _, err := ts.CancelOrder(ctx, "BTCUSDT", r.Ref()); err != nil && !errors.Is(err, client.ErrUnknownOrder) {
							t.Error(err)
						}
					}
				}()
			}
			inner.Wait()
		}()
	}
	// Drop the watcher's connection twice while the orders flow.
	for range 2 {
		time.Sleep(300 * time.Millisecond)
		client.DropConnection(s)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	rest, err := adm.Depth(ctx, "BTCUSDT", 1000)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for book.UpdateID() < rest.UpdateID || !book.Synced() {
		if time.Now().After(deadline) {
			t.Fatalf("local book at %d (synced %v), server at %d", book.UpdateID(), book.Synced(), rest.UpdateID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	local := book.Depth(1000)
	if fmt.Sprint(local) != fmt.Sprint(rest) {
		t.Fatalf("local book differs from the server's:\n%v\n%v", local, rest)
	}
	if rest.UpdateID < 100_000 || s.Reconnects() != 2 || book.Resyncs() < 2 {
		t.Fatalf("updates %d, reconnects %d, resyncs %d", rest.UpdateID, s.Reconnects(), book.Resyncs())
	}
	s.Close()
	traded.Wait()
	if nTrades == 0 {
		t.Fatal("no trades streamed")
	}
}

// The user stream: orders, fills, positions and balances arrive in order;
// a reconnect in the middle loses nothing; a liquidation after an index
// move shows up with its position update.
func TestStreamUser(t *testing.T) {
	te, adm := ownExchange(t)
	ctx := context.Background()
	risky := account(t, te, adm, 2_300)
	maker := account(t, te, adm, 1_000_000)
	s, err := risky.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events, err := s.User(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := risky.SetLeverage(ctx, "BTCUSDT", 50); err != nil {
		t.Fatal(err)
	}
	if _, err := maker.PlaceOrder(ctx, client.Limit("BTCUSDT", client.Sell, decimal.NewFromInt(100_000), decimal.RequireFromString("1"))); err != nil {
		t.Fatal(err)
	}
	// 1 BTC long at 50x on 2,300 USDT: liquidated about 2% lower.
	if _, err := s.PlaceOrder(ctx, client.Market("BTCUSDT", client.Buy, decimal.RequireFromString("1"))); err != nil {
		t.Fatal(err)
	}
	client.DropConnection(s)
	// While disconnected: the index and the last price fall 3%.
	if _, err := adm.SetIndexPrice(ctx, "BTCUSDT", decimal.NewFromInt(97_000)); err != nil {
		t.Fatal(err)
	}
	if _, err := maker.PlaceOrder(ctx, client.Limit("BTCUSDT", client.Buy, decimal.NewFromInt(97_000), decimal.RequireFromString("0.01"))); err != nil {
		t.Fatal(err)
	}
	if _, err := maker.PlaceOrder(ctx, client.Market("BTCUSDT", client.Sell, decimal.RequireFromString("0.01"))); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.SetIndexPrice(ctx, "BTCUSDT", decimal.NewFromInt(97_000)); err != nil {
		t.Fatal(err)
	}
	var last uint64
	seen := map[string]bool{}
	timeout := time.After(20 * time.Second)
	for !seen["liquidation"] {
		select {
		case ev := <-events:
			if ev.Meta().N != last+1 {
				t.Fatalf("user message %d after %d (%T)", ev.Meta().N, last, ev)
			}
			last = ev.Meta().N
			seen[fmt.Sprintf("%T", ev)[len("*client."):]] = true
			if _, ok := ev.(*client.LiquidationUpdate); ok {
				seen["liquidation"] = true
			}
		case <-timeout:
			ps, _ := risky.Positions(ctx, "BTCUSDT")
			mk, _ := adm.Mark(ctx, "BTCUSDT")
			t.Fatalf("no liquidation on the user stream; saw %v; positions %+v; mark %+v", seen, ps, mk)
		}
	}
	for _, kind := range []string{"SettingsUpdate", "OrderUpdate", "FillUpdate", "PositionUpdate", "BalanceUpdate"} {
		if !seen[kind] {
			t.Errorf("no %s on the user stream (saw %v)", kind, seen)
		}
	}
	if s.Reconnects() != 1 {
		t.Fatalf("%d reconnects", s.Reconnects())
	}
}

// Order entry over the WebSocket maps refusals to the same sentinels as
// REST.
func TestStreamOrderErrors(t *testing.T) {
	te, adm := ownExchange(t)
	ctx := context.Background()
	poor := account(t, te, adm, 10)
	rich := account(t, te, adm, 1_000_000)
	s, err := poor.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := rich.PlaceOrder(ctx, client.Limit("BTCUSDT", client.Sell, decimal.NewFromInt(100_100), decimal.RequireFromString("1"))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		call func() error
	}{
		{client.ErrInsufficientMargin, func() error {
			_, err := s.PlaceOrder(ctx, client.Limit("BTCUSDT", client.Buy, decimal.NewFromInt(99_000), decimal.RequireFromString("1")))
			return err
		}},
		{client.ErrPostOnlyWouldTake, func() error {
			_, err := s.PlaceOrder(ctx, client.Limit("BTCUSDT", client.Buy, decimal.NewFromInt(100_100), decimal.RequireFromString("0.001")).PostOnly())
			return err
		}},
		{client.ErrUnknownOrder, func() error { _, err := s.CancelOrder(ctx, "BTCUSDT", client.ByID(999_999)); return err }},
		{client.ErrReduceOnlyRejected, func() error {
			_, err := s.PlaceOrder(ctx, client.Market("BTCUSDT", client.Sell, decimal.RequireFromString("0.001")).Reduce())
			return err
		}},
		{client.ErrInvalidRequest, func() error {
			_, err := s.PlaceOrder(ctx, client.Limit("BTCUSDT", client.Buy, decimal.RequireFromString("99000.05"), decimal.RequireFromString("0.001")))
			return err
		}},
	} {
		if err := tc.call(); !errors.Is(err, tc.err) {
			t.Errorf("want %v, got %v", tc.err, err)
		}
	}
	// A Stream with a bad secret does not connect.
	bad, _ := client.New(te.base, client.WithCredentials(te.admin.APIKey[:0]+"pp3-000000000000000000000000", "00"))
	if _, err := bad.Connect(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("bad key: %v", err)
	}
}

// A dropped connection's writer goroutine ends: after four reconnects one
// writer runs, the current connection's (each used to wait for good on
// its connection's wake channel, with its buffers).
func TestReconnectEndsTheOldWriter(t *testing.T) {
	te, adm := ownExchange(t)
	c := account(t, te, adm, 1000)
	s, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	writers := func() int {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		return strings.Count(string(buf[:n]), "client.(*Stream).writer(")
	}
	for i := range 4 { // the backoff doubles from 50 ms: 0.75 s in all
		client.DropConnection(s)
		for s.Reconnects() < i+1 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The old writers return as soon as they are scheduled; give them a
	// moment on a busy machine.
	deadline := time.Now().Add(10 * time.Second)
	for writers() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := writers(); n != 1 {
		t.Fatalf("%d writer goroutines after 4 reconnects, want 1", n)
	}
	// The current connection still works.
	if _, err := s.PlaceOrder(context.Background(), client.Limit("BTCUSDT", client.Buy, decimal.NewFromInt(99_000), decimal.RequireFromString("0.002"))); err != nil {
		t.Fatal(err)
	}
}
