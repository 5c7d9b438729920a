package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paperperps/exchange/client"
	"github.com/paperperps/exchange/server"
)

// The bots run as their users run them (built, with flags and the
// exchange's credentials file, stopped by SIGINT) against a real exchange
// with a fast price feed and no built-in makers, so that the taker can
// only trade against the market maker. A package main cannot be imported,
// so the test builds the bots instead of calling their run functions.
func TestBots(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bots")
	}
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, "./marketmaker", "./taker")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cfg := server.DefaultConfig()
	cfg.Data, cfg.Listen, cfg.DemoAccounts, cfg.Makers.Enabled = t.TempDir(), "127.0.0.1:0", 2, false
	cfg.Feed.Mode, cfg.Feed.Interval = server.FeedGBM, server.Duration(20*time.Millisecond)
	x, err := server.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error("exchange:", err)
		}
	})
	base := "http://" + x.Addr()
	maker, taker := account(t, base, x.CredentialsFile, 3), account(t, base, x.CredentialsFile, 4)

	common := []string{"--base", base, "--credentials", x.CredentialsFile, "--symbol", "ETHUSDT"}
	mm := start(t, filepath.Join(bin, "marketmaker"), append(common, "--account", "3", "--levels", "2", "--spread", "0.0005")...)
	tk := start(t, filepath.Join(bin, "taker"), append(common, "--account", "4", "--every", "100ms", "--size", "0.02", "--max-position", "100")...)

	// The maker's quotes rest: two levels a side.
	deadline := time.Now().Add(5 * time.Second)
	for {
		open, err := maker.OpenOrders(ctx, "ETHUSDT")
		if err != nil {
			t.Fatal(err)
		}
		if len(open) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the maker's orders rest\nmarketmaker:\n%s", len(open), mm.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	tk.stop(t)
	mm.stop(t)

	makerFills, err := maker.Fills(ctx, "ETHUSDT", 1000)
	if err != nil {
		t.Fatal(err)
	}
	takerFills, err := taker.Fills(ctx, "ETHUSDT", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(makerFills) == 0 || len(makerFills) != len(takerFills) {
		t.Fatalf("%d maker fills, %d taker fills\nmarketmaker:\n%s\ntaker:\n%s", len(makerFills), len(takerFills), mm.log, tk.log)
	}
	for _, f := range makerFills {
		if !f.Maker {
			t.Errorf("the market maker took liquidity: %+v", f)
		}
	}
	// Stopped by SIGINT, the market maker cancelled its quotes.
	if open, err := maker.OpenOrders(ctx, "ETHUSDT"); err != nil || len(open) != 0 {
		t.Fatalf("%d orders open after the market maker stopped (%v)", len(open), err)
	}
	t.Logf("%d fills; marketmaker:\n%s\ntaker:\n%s", len(makerFills), mm.log, tk.log)
}

// account is a Client of an account in the exchange's credentials file.
func account(t *testing.T, base, file string, id client.AccountID) *client.Client {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var creds struct {
		Accounts []struct {
			Account client.AccountID `json:"account"`
			server.Credentials
		} `json:"accounts"`
	}
	if err := json.Unmarshal(b, &creds); err != nil {
		t.Fatal(err)
	}
	for _, a := range creds.Accounts {
		if a.Account == id {
			c, err := client.New(base, client.WithCredentials(a.APIKey, a.Secret))
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatalf("no account %d in %s", id, file)
	return nil
}

// bot is a running bot and its log.
type bot struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan error
}

// logBuffer is a bot's output, read while the bot writes it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, path string, args ...string) *bot {
	t.Helper()
	b := &bot{cmd: exec.Command(path, args...), log: &logBuffer{}, done: make(chan error, 1)}
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0") // a -race build waits a second at exit
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() { b.cmd.Process.Kill() })
	return b
}

// stop interrupts the bot as Ctrl-C does and wants a clean exit.
func (b *bot) stop(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", filepath.Base(b.cmd.Path), err, b.log)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop\n%s", filepath.Base(b.cmd.Path), b.log)
	}
}
