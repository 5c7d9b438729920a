// Command taker takes liquidity every few seconds with a market order (or
// an IOC limit order a little through the mark) on a random side, logs its
// position and PnL, and stops once its position reaches a maximum.
//
// Start an exchange (its built-in market makers quote every market), then
// the bot; it signs with demo account 4's key from the credentials file
// the exchange writes:
//
//	go run ./cmd/exchange serve
//	go run ./examples/taker --credentials data/credentials.json --account 4
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
	"math/rand/v2"
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
	Every                           time.Duration
	Size                            decimal.Decimal
	Through                         decimal.Decimal // IOC limit price this fraction through the mark; zero: market orders
	MaxPosition                     decimal.Decimal
	Seed                            uint64
	Log                             *slog.Logger
}

func main() {
	cfg := config{Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	flag.StringVar(&cfg.BaseURL, "base", "http://127.0.0.1:8080", "the exchange's base URL")
	flag.StringVar(&cfg.APIKey, "key", "", "API key (default: from --credentials)")
	flag.StringVar(&cfg.Secret, "secret", "", "API secret")
	file := flag.String("credentials", "data/credentials.json", "the exchange's credentials file")
	account := flag.Int("account", 4, "the account in --credentials")
	flag.StringVar(&cfg.Symbol, "symbol", "ETHUSDT", "market")
	flag.DurationVar(&cfg.Every, "every", 3*time.Second, "time between orders")
	flag.TextVar(&cfg.Size, "size", decimal.RequireFromString("0.05"), "quantity of each order")
	flag.TextVar(&cfg.Through, "ioc", decimal.Zero, "IOC limit orders this fraction through the mark (0: market orders)")
	flag.TextVar(&cfg.MaxPosition, "max-position", decimal.RequireFromString("1"), "stop at this position, long or short")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the random sides")
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
		cfg.Log.Error("taker", "err", err)
		os.Exit(1)
	}
}

// run takes liquidity until ctx ends or the position reaches the maximum.
func run(ctx context.Context, cfg config) error {
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
	mkt := ms[i]
	s, err := c.Connect(ctx) // orders over the WebSocket; it reconnects by itself
	if err != nil {
		return err
	}
	defer s.Close()
	marks, err := s.Marks(ctx, cfg.Symbol)
	if err != nil {
		return err
	}
	mark, err := c.Mark(ctx, cfg.Symbol)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0))
	size, backoff := cfg.Size, time.Duration(0)
	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	started := time.Now().Unix()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-marks: // read them all: a Stream waits for its slowest channel
			if !ok {
				return nil
			}
			mark = m
			continue
		case <-tick.C:
		}
		acct, err := c.Account(ctx)
		if err != nil {
			cfg.Log.Warn("account", "err", err)
			continue
		}
		pos := client.Position{Symbol: cfg.Symbol}
		if i := slices.IndexFunc(acct.Positions, func(p client.Position) bool { return p.Symbol == cfg.Symbol }); i >= 0 {
			pos = acct.Positions[i]
		}
		cfg.Log.Info("account", "position", pos.Size, "entry", pos.EntryPrice, "unrealizedPnl", pos.UnrealizedPnl, "wallet", acct.Wallet)
		if pos.Size.Abs().GreaterThanOrEqual(cfg.MaxPosition) {
			cfg.Log.Info("max position reached: stopping")
			return nil
		}
		side := client.Buy
		if rng.IntN(2) == 1 {
			side = client.Sell
		}
		order := client.Market(cfg.Symbol, side, size)
		if cfg.Through.IsPositive() {
			through := cfg.Through
			if side == client.Sell {
				through = through.Neg()
			}
			px := mkt.RoundPrice(mark.MarkPrice.Mul(decimal.NewFromInt(1).Add(through)))
			order = client.Limit(cfg.Symbol, side, px, size).IOC()
		}
		// A client order id finds the order again if its answer is lost.
		id := fmt.Sprintf("taker-%d-%d", started, n)
		res, err := s.PlaceOrder(ctx, order.ClientID(id))
		switch {
		case err == nil:
			cfg.Log.Info("took", "side", side, "qty", res.ExecutedQty, "avgPrice", res.AvgPrice, "status", res.Status)
			backoff = 0
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, client.ErrRateLimited):
			backoff = min(max(2*backoff, time.Second), time.Minute)
			cfg.Log.Warn("rate limited: backing off", "for", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
		case errors.Is(err, client.ErrInsufficientMargin):
			size = mkt.RoundQty(size.Div(decimal.NewFromInt(2)))
			cfg.Log.Warn("insufficient margin: smaller orders", "size", size)
			if size.LessThan(mkt.MinQty) {
				return errors.New("too little margin for the smallest order")
			}
		case errors.Is(err, client.ErrDisconnected): // the order may have been taken
			o, err := c.Order(ctx, cfg.Symbol, client.ByClientID(id))
			cfg.Log.Warn("disconnected: the order", "status", o.Status, "executed", o.ExecutedQty, "err", err)
		default:
			cfg.Log.Warn("order", "err", err)
		}
	}
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
