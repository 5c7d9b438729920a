package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperperps/exchange/client"
)

// The Stream's examples trade ETHUSDT on the TestMain exchange like the
// REST ones, each from new accounts, and leave no order resting.

// A Stream with credentials is logged in: order entry and the user
// stream work on it. A wrong key is refused before Connect returns.
func ExampleClient_Connect() {
	ctx := context.Background()
	c := newClient()
	s, err := c.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("reconnects", s.Reconnects())

	bad, err := client.New(baseURL, client.WithCredentials("pp3-000000000000000000000000", "00"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = bad.Connect(ctx)
	fmt.Println(errors.Is(err, client.ErrUnauthorized))
	// Output:
	// reconnects 0
	// true
}

// A local order book: a snapshot on subscribing, then the diffs, read
// whenever Updates signals.
func ExampleStream_Book() {
	ctx := context.Background()
	c := newClient()
	s, err := c.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	book, err := s.Book(ctx, "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range []client.OrderRequest{
		client.Limit("ETHUSDT", client.Buy, dec("2990"), dec("0.5")),
		client.Limit("ETHUSDT", client.Buy, dec("2985"), dec("1")),
		client.Limit("ETHUSDT", client.Sell, dec("3010"), dec("0.25")),
	} {
		if _, err := s.PlaceOrder(ctx, o); err != nil {
			log.Fatal(err)
		}
	}
	// The orders' answers and the book's diffs travel separately: wait
	// for the book to show them.
	for range book.Updates() {
		if d := book.Depth(0); len(d.Bids) == 2 && len(d.Asks) == 1 {
			break
		}
	}
	bid, _ := book.BestBid()
	ask, _ := book.BestAsk()
	fmt.Println("bid", bid.Qty, "at", bid.Price, "ask", ask.Qty, "at", ask.Price, "synced", book.Synced())
	if _, err := c.CancelAll(ctx, "ETHUSDT"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// bid 0.5 at 2990 ask 0.25 at 3010 synced true
}

func ExampleStream_Trades() {
	ctx := context.Background()
	maker, taker := newClient(), newClient()
	s, err := taker.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	trades, err := s.Trades(ctx, "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Sell, dec("3000"), dec("0.3"))); err != nil {
		log.Fatal(err)
	}
	if _, err := s.PlaceOrder(ctx, client.Market("ETHUSDT", client.Buy, dec("0.3"))); err != nil {
		log.Fatal(err)
	}
	t := <-trades
	fmt.Println(t.TakerSide, t.Qty, "at", t.Price, "=", t.QuoteQty)
	// Output:
	// buy 0.3 at 3000 = 900
}

// The account's own events, in the order of the commands.
func ExampleStream_User() {
	ctx := context.Background()
	maker, taker := newClient(), newClient()
	s, err := taker.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	events, err := s.User(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := maker.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("3000"), dec("0.2"))); err != nil {
		log.Fatal(err)
	}
	if _, err := s.PlaceOrder(ctx, client.Market("ETHUSDT", client.Sell, dec("0.2"))); err != nil {
		log.Fatal(err)
	}
	for ev := range events {
		switch e := ev.(type) {
		case *client.OrderUpdate:
			fmt.Println("order", e.Event, e.Side, e.Quantity)
		case *client.FillUpdate:
			fmt.Println("fill", e.Side, e.Qty, "at", e.Price, "maker", e.Maker)
		case *client.PositionUpdate:
			fmt.Println("position", e.Size, "entry", e.EntryPrice)
		case *client.BalanceUpdate:
			fmt.Println("balance", e.Cause, e.Amount)
		default:
			fmt.Printf("%T\n", ev)
		}
		if _, ok := ev.(*client.PositionUpdate); ok {
			break
		}
	}
	// Output:
	// order accepted sell 0.2
	// fill sell 0.2 at 3000 maker false
	// balance trade -0.3
	// position -0.2 entry 3000
}

// Orders from many goroutines share one connection: they are sent
// without waiting for each other's answers, in batches.
func ExampleStream_PlaceOrder() {
	ctx := context.Background()
	c := newClient()
	s, err := c.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	var resting atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				px := dec("2900").Sub(dec(fmt.Sprint(g*10 + i)))
				res, err := s.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, px, dec("0.01")).PostOnly())
				if err != nil {
					log.Print(err)
					return
				}
				if res.Status == client.StatusNew {
					resting.Add(1)
				}
			}
		})
	}
	wg.Wait()
	fmt.Println(resting.Load(), "orders resting")
	res, err := c.CancelAll(ctx, "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Cancelled), "cancelled")
	// Output:
	// 40 orders resting
	// 40 cancelled
}

func ExampleStream_CancelOrder() {
	ctx := context.Background()
	c := newClient()
	s, err := c.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	placed, err := s.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Sell, dec("3050"), dec("0.1")).ClientID("ask-1"))
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.CancelOrder(ctx, "ETHUSDT", client.ByClientID("ask-1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.CancelReason, res.OrderID == placed.OrderID)
	_, err = s.CancelOrder(ctx, "ETHUSDT", placed.Ref())
	fmt.Println(errors.Is(err, client.ErrUnknownOrder))
	// Output:
	// cancelled user true
	// true
}

func ExampleStream_AmendOrder() {
	ctx := context.Background()
	c := newClient()
	s, err := c.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	placed, err := s.PlaceOrder(ctx, client.Limit("ETHUSDT", client.Buy, dec("2950"), dec("0.2")))
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.AmendOrder(ctx, "ETHUSDT", placed.Ref(), dec("2955.5"), dec("0.3"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Quantity, "at", res.Price)
	if _, err := s.CancelOrder(ctx, "ETHUSDT", placed.Ref()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// new 0.3 at 2955.5
}

// The mark, index and funding after each change of the index (here set
// by the admin; `exchange serve` runs a price feed).
func ExampleStream_Marks() {
	ctx := context.Background()
	pub, err := client.New(baseURL) // market streams need no key
	if err != nil {
		log.Fatal(err)
	}
	s, err := pub.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	marks, err := s.Marks(ctx, "ETHUSDT")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := admin.SetIndexPrice(ctx, "ETHUSDT", dec("3000")); err != nil {
		log.Fatal(err)
	}
	m := <-marks
	fmt.Println(m.Symbol, "index", m.IndexPrice, "mark", m.MarkPrice)
	// Output:
	// ETHUSDT index 3000 mark 3000
}

// Not an example: a Stream that drops before its first user message has
// nothing to resume after (subscribing with since 0 asks for no kept
// messages), so what happens while it is away would be lost without a
// word; it says so with a UserReset.
func TestStreamUserResetBeforeFirstMessage(t *testing.T) {
	ctx := context.Background()
	c := bot(t)
	s, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events, err := s.User(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client.DropConnection(s)
	if _, err := c.SetLeverage(ctx, "BTCUSDT", 7); err != nil { // while the Stream may be away
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if _, ok := ev.(*client.UserReset); !ok {
			t.Fatalf("first event after the reconnect: %T %+v", ev, ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no UserReset after the reconnect")
	}
}
