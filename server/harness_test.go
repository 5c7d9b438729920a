package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

// testExchange is a real exchange on loopback over a temporary data
// directory: no feed, no makers unless the test asks, two demo accounts
// (ids 3 and 4 after the three makers' accounts).
type testExchange struct {
	t      testing.TB
	x      *Exchange
	base   string
	creds  credentialsList
	cancel context.CancelFunc
	done   chan error
}

func startExchange(t testing.TB, dir string, edit func(*Config)) *testExchange {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Data, cfg.Listen = dir, "127.0.0.1:0"
	// No prices and no clock ticks: the tests' commands are the only ones.
	cfg.Feed.Mode, cfg.Feed.ClockInterval, cfg.Makers.Enabled, cfg.DemoAccounts = "off", 0, false, 2
	if edit != nil {
		edit(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	x, err := Open(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	te := &testExchange{t: t, x: x, base: "http://" + x.Addr(), done: make(chan error, 1)}
	b, err := os.ReadFile(x.CredentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &te.creds); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	te.cancel = cancel
	go func() { te.done <- x.Run(ctx) }()
	t.Cleanup(func() { te.stop() })
	return te
}

// stop shuts the exchange down (once) and reports Run's error.
func (te *testExchange) stop() error {
	if te.cancel == nil {
		return nil
	}
	te.cancel()
	te.cancel = nil
	select {
	case err := <-te.done:
		return err
	case <-time.After(30 * time.Second):
		te.t.Error("exchange did not stop")
		return nil
	}
}

// account returns the credentials of account a from the credentials file.
func (te *testExchange) account(a int) Credentials {
	for _, c := range te.creds.Accounts {
		if int(c.Account) == a {
			return c.Credentials
		}
	}
	te.t.Fatalf("no credentials for account %d", a)
	return Credentials{}
}

// call sends a request, signed with c unless c is nil, and decodes a 2xx
// answer into out (when not nil). It returns the status and the body.
func (te *testExchange) call(c *Credentials, method, path, rawQuery string, body any, out any) (int, []byte) {
	te.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			te.t.Fatal(err)
		}
	}
	url := te.base + path
	if rawQuery != "" {
		url += "?" + rawQuery
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(raw))
	if err != nil {
		te.t.Fatal(err)
	}
	if c != nil {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		req.Header.Set("PP-API-KEY", c.APIKey)
		req.Header.Set("PP-TIMESTAMP", ts)
		req.Header.Set("PP-SIGNATURE", SignRequest(c.Secret, ts, method, path, rawQuery, raw))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		te.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		te.t.Fatal(err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(got, out); err != nil {
			te.t.Fatalf("%s %s: %v in %s", method, path, err, got)
		}
	}
	return resp.StatusCode, got
}

// must is call that fails the test on a non-2xx answer.
func (te *testExchange) must(c *Credentials, method, path, rawQuery string, body any, out any) {
	te.t.Helper()
	if status, got := te.call(c, method, path, rawQuery, body, out); status/100 != 2 {
		te.t.Fatalf("%s %s?%s: %d %s", method, path, rawQuery, status, got)
	}
}

func (te *testExchange) admin() *Credentials { c := te.creds.Admin; return &c }

func (te *testExchange) String() string { return fmt.Sprintf("exchange at %s", te.base) }
