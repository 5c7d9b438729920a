package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/paperperps/exchange/client"
	"github.com/paperperps/exchange/server"
	"github.com/shopspring/decimal"
)

// The tests and examples run against real exchanges on loopback, started
// by TestMain over temporary data directories: no feed prices, no clock
// ticks, no makers, so the tests' requests are the only commands.
//
// To keep the examples' output fixed whatever the tests did before them,
// the markets are shared out: the examples trade ETHUSDT, the tests
// BTCUSDT, and the liquidation test SOLUSDT (whose index it moves). Each
// test and example trades from accounts of its own (newAccount) and
// cancels its resting orders before it returns.

var (
	baseURL string               // the main exchange
	admin   *client.Client       // its admin key
	creds   server.Credentials   // the admin's credentials
	demo    []server.Credentials // the demo accounts'
)

// testExchange is a running exchange.
type testExchange struct {
	base   string
	admin  server.Credentials
	demo   []server.Credentials
	cancel context.CancelFunc
	done   chan error
}

// startExchange opens an exchange on dir with the test settings, edit
// applied on top.
func startExchange(dir string, edit func(*server.Config)) (*testExchange, error) {
	cfg := server.DefaultConfig()
	cfg.Data, cfg.Listen = dir, "127.0.0.1:0"
	cfg.Feed.Mode, cfg.Feed.ClockInterval, cfg.Makers.Enabled, cfg.DemoAccounts = "off", 0, false, 2
	if edit != nil {
		edit(&cfg)
	}
	x, err := server.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(x.CredentialsFile)
	if err != nil {
		return nil, err
	}
	var file struct {
		Admin    server.Credentials `json:"admin"`
		Accounts []struct {
			Role string `json:"role"`
			server.Credentials
		} `json:"accounts"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, err
	}
	te := &testExchange{base: "http://" + x.Addr(), admin: file.Admin, done: make(chan error, 1)}
	for _, a := range file.Accounts {
		if a.Role == "demo" {
			te.demo = append(te.demo, a.Credentials)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	te.cancel = cancel
	go func() { te.done <- x.Run(ctx) }()
	return te, nil
}

func (te *testExchange) stop() error {
	te.cancel()
	return <-te.done
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	te, err := startExchange(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := te.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "exchange:", err)
		}
	}()
	baseURL, creds, demo = te.base, te.admin, te.demo
	if admin, err = client.New(baseURL, client.WithCredentials(creds.APIKey, creds.Secret)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Orders need a mark price: set the index of every market.
	for sym, px := range map[string]string{"BTCUSDT": "100000", "ETHUSDT": "3000", "SOLUSDT": "150"} {
		if _, err := admin.SetIndexPrice(context.Background(), sym, decimal.RequireFromString(px)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// newAccount creates an account funded with 100,000 USDT and returns its
// credentials.
func newAccount() (apiKey, secret string) {
	a, err := admin.CreateAccount(context.Background(), decimal.NewFromInt(100_000))
	if err != nil {
		panic(err)
	}
	return a.APIKey, a.APISecret
}

// bot is a Client of a new funded account, for tests.
func bot(t testing.TB, opts ...client.Option) *client.Client {
	t.Helper()
	key, secret := newAccount()
	c, err := client.New(baseURL, append([]client.Option{client.WithCredentials(key, secret)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// d is a decimal from its text.
func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }
