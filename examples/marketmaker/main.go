// Command marketmaker keeps a two-sided quote of a few levels around a
// market's mark price, leans it against its position, and cancels its
// orders when it stops.
//
// Start an exchange, then the bot; it signs with demo account 3's key
// from the credentials file the exchange writes:
//
//	go run ./cmd/exchange serve
//	go run ./examples/marketmaker --credentials data/credentials.json --account 3
//
// (or --key and --secret; --base for another exchange). Ctrl-C stops it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/paperperps/exchange/client"
	"github.com/shopspring/decimal"
)

type config struct {
	BaseURL, APIKey, Secret, Symbol string
	Levels                          int
	Spread                          decimal.Decimal // distance between levels, and from the mark to the first, a fraction
	Size                            decimal.Decimal // of each order
	MaxPosition                     decimal.Decimal // at this position the quotes lean a whole spread
	Requote                         decimal.Decimal // a move of the mark that moves the quotes, a fraction
	Log                             *slog.Logger
}

func main() {
	cfg := config{Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	flag.StringVar(&cfg.BaseURL, "base", "http://127.0.0.1:8080", "the exchange's base URL")
	flag.StringVar(&cfg.APIKey, "key", "", "API key (default: from --credentials)")
	flag.StringVar(&cfg.Secret, "secret", "", "API secret")
	file := flag.String("credentials", "data/credentials.json", "the exchange's credentials file")
	account := flag.Int("account", 3, "the account in --credentials")
	flag.StringVar(&cfg.Symbol, "symbol", "ETHUSDT", "market")
	flag.IntVar(&cfg.Levels, "levels", 3, "levels a side")
	flag.TextVar(&cfg.Spread, "spread", decimal.RequireFromString("0.001"), "distance between levels (fraction of the mark)")
	flag.TextVar(&cfg.Size, "size", decimal.RequireFromString("0.05"), "quantity of each order")
	flag.TextVar(&cfg.MaxPosition, "max-position", decimal.RequireFromString("1"), "position at which quotes lean fully")
	flag.TextVar(&cfg.Requote, "requote", decimal.RequireFromString("0.0002"), "requote when the mark moves this fraction")
	flag.Parse()
	var err error
	if cfg.APIKey == "" {
		if cfg.APIKey, cfg.Secret, err = credentials(*file, *account); err != nil {
			cfg.Log.Error("credentials", "err", err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		cfg.Log.Error("marketmaker", "err", err)
		os.Exit(1)
	}
}

// run quotes until ctx ends, then cancels its orders.
func run(ctx context.Context, cfg config) error {
	if cfg.Levels < 1 || !cfg.Spread.IsPositive() || !cfg.Size.IsPositive() || !cfg.MaxPosition.IsPositive() {
		return errors.New("want positive levels, spread, size and max position")
	}
	c, err := client.New(cfg.BaseURL, client.WithCredentials(cfg.APIKey, cfg.Secret))
	if err != nil {
		return err
	}
	if _, err := c.SyncClock(ctx); err != nil { // orders carry the server's time
		return err
	}
	ms, err := c.Markets(ctx)
	i := slices.IndexFunc(ms, func(m client.MarketInfo) bool { return m.Symbol == cfg.Symbol })
	if i < 0 {
		return fmt.Errorf("no market %s (%v)", cfg.Symbol, err)
	}
	s, err := c.Connect(ctx) // reconnects by itself until ctx ends
	if err != nil {
		return err
	}
	defer s.Close()
	// Subscribe before reading the state, so that no change falls between.
	marks, err := s.Marks(ctx, cfg.Symbol)
	if err != nil {
		return err
	}
	events, err := s.User(ctx)
	if err != nil {
		return err
	}
	// Leave nothing resting, however run ends (ctx is done after Ctrl-C).
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		res, err := c.CancelAll(cctx, cfg.Symbol)
		cfg.Log.Info("cancelled all", "orders", len(res.Cancelled), "err", err)
	}()
	q := &quoter{config: cfg, c: c, s: s, mkt: ms[i], size: cfg.Size,
		bids: make([]slot, cfg.Levels), asks: make([]slot, cfg.Levels), stale: true} // cancel an earlier run's orders
	mark, err := c.Mark(ctx, cfg.Symbol)
	if err != nil {
		return err
	}
	for {
		if moved := mark.MarkPrice.Sub(q.fair).Abs(); moved.GreaterThan(q.fair.Mul(cfg.Requote)) {
			q.requote(ctx, mark.MarkPrice)
		}
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-marks:
			if !ok {
				return nil
			}
			mark = m
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			switch e := ev.(type) {
			case *client.FillUpdate:
				cfg.Log.Info("fill", "side", e.Side, "qty", e.Qty, "price", e.Price, "fee", e.Fee)
			case *client.PositionUpdate:
				if e.Symbol == cfg.Symbol {
					q.position, q.fair = e.Size, decimal.Zero // lean anew at once
				}
			case *client.UserReset: // events were lost: start over
				q.stale, q.fair = true, decimal.Zero
			}
		}
	}
}

// slot is one level of one side: the order resting there (none: ref zero).
type slot struct {
	ref   client.OrderRef
	price decimal.Decimal
}

type quoter struct {
	config
	c          *client.Client
	s          *client.Stream
	mkt        client.MarketInfo // tick and lot sizes
	size       decimal.Decimal
	position   decimal.Decimal
	fair       decimal.Decimal // the mark the quotes stand around; zero: requote
	bids, asks []slot
	pause      time.Time // rate limited until
	stale      bool      // orders the slots do not know of may rest
}

// reset cancels every order and reads the position.
func (q *quoter) reset(ctx context.Context) error {
	clear(q.bids)
	clear(q.asks)
	q.fair, q.stale = decimal.Zero, true
	if _, err := q.c.CancelAll(ctx, q.Symbol); err != nil {
		return err
	}
	ps, err := q.c.Positions(ctx, q.Symbol)
	if err != nil {
		return err
	}
	q.position, q.stale = decimal.Zero, false
	if len(ps) > 0 {
		q.position = ps[0].Size
	}
	return nil
}

// requote moves every level to its price around mark, leaning away from
// the position: when long, both sides move down, so selling is likelier.
func (q *quoter) requote(ctx context.Context, mark decimal.Decimal) {
	if !mark.IsPositive() || time.Now().Before(q.pause) {
		return
	}
	if q.stale {
		if err := q.reset(ctx); err != nil {
			q.Log.Warn("cancel all", "err", err)
			return
		}
	}
	q.fair = mark
	one := decimal.NewFromInt(1)
	lean := decimal.Max(one.Neg(), decimal.Min(one, q.position.Div(q.MaxPosition)))
	center := mark.Mul(one.Sub(lean.Mul(q.Spread)))
	for i := range q.Levels {
		off := q.Spread.Mul(decimal.NewFromInt(int64(i + 1)))
		bid := q.mkt.RoundPrice(center.Mul(one.Sub(off))) // on the tick grid, away from the center
		ask := q.mkt.RoundPrice(center.Mul(one.Add(off))).Add(q.mkt.TickSize)
		if !q.handle(ctx, q.quote(ctx, &q.bids[i], client.Buy, bid)) ||
			!q.handle(ctx, q.quote(ctx, &q.asks[i], client.Sell, ask)) {
			return
		}
	}
}

// quote makes a slot hold an order at px: it amends the one there, or
// places one if there is none (never placed, or filled).
func (q *quoter) quote(ctx context.Context, sl *slot, side client.Side, px decimal.Decimal) error {
	if sl.ref.OrderID != 0 && sl.price.Equal(px) {
		return nil
	}
	if sl.ref.OrderID != 0 {
		_, err := q.s.AmendOrder(ctx, q.Symbol, sl.ref, px, q.size)
		if !errors.Is(err, client.ErrUnknownOrder) {
			if err == nil {
				sl.price = px
			}
			return err
		}
	}
	*sl = slot{}
	res, err := q.s.PlaceOrder(ctx, client.Limit(q.Symbol, side, px, q.size).PostOnly())
	if err == nil && res.Status.Open() {
		*sl = slot{res.Ref(), px}
	}
	return err
}

// handle deals with an order's error; false ends this requote.
func (q *quoter) handle(ctx context.Context, err error) bool {
	switch {
	case err == nil, errors.Is(err, client.ErrPostOnlyWouldTake): // the book moved: the next requote
		return true
	case ctx.Err() != nil: // stopping
	case errors.Is(err, client.ErrRateLimited):
		q.Log.Warn("rate limited: pausing a second")
		q.pause = time.Now().Add(time.Second)
	case errors.Is(err, client.ErrInsufficientMargin):
		q.size = q.mkt.RoundQty(q.size.Div(decimal.NewFromInt(2)))
		q.Log.Warn("insufficient margin: smaller orders", "size", q.size)
	case errors.Is(err, client.ErrDisconnected): // an answer was lost: the order may rest
		q.Log.Warn("disconnected: starting over", "err", err)
		q.stale = true
	default:
		q.Log.Warn("order", "err", err)
	}
	q.fair = decimal.Zero // try again at the next event
	return false
}

// credentials reads an account's key and secret from the file
// `exchange serve` writes to its data directory.
func credentials(path string, account int) (key, secret string, err error) {
	var file struct {
		Accounts []struct {
			Account int    `json:"account"`
			APIKey  string `json:"apiKey"`
			Secret  string `json:"apiSecret"`
		} `json:"accounts"`
	}
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &file)
	}
	for _, a := range file.Accounts {
		if a.Account == account {
			return a.APIKey, a.Secret, nil
		}
	}
	return "", "", fmt.Errorf("account %d not in %s (%v)", account, path, err)
}
