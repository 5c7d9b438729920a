package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperperps/exchange/client"
	"github.com/paperperps/exchange/server"
)

// These tests use a scripted HTTP server for what a real exchange does not
// do on demand: values a newer server might send, failures of the server
// or of a proxy in front of it.

// fake serves h and returns a Client of it.
func fake(t *testing.T, h http.HandlerFunc, opts ...client.Option) *client.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return must[*client.Client](t)(client.New(srv.URL, opts...))
}

// An old SDK survives a new server: enumeration values and fields it does
// not know decode as they are.
func TestUnknownValues(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"orderId":7,"symbol":"BTCUSDT","side":"buy","type":"trailing-stop","timeInForce":"gtd",
			"selfTradePrevention":"expire-both","price":"1.5","origQty":"2","executedQty":"0","cumQuote":"0","avgPrice":"0",
			"status":"expired","cancelReason":"expired","triggerType":"trailing","triggerBy":"index","stopPrice":"0",
			"time":1,"updateTime":2,"newField":{"x":[1,2]}}]`)
	}, client.WithCredentials("pp1-x", "s"))
	orders := must[[]client.Order](t)(c.OpenOrders(context.Background(), ""))
	o := orders[0]
	if o.Type != "trailing-stop" || o.Type.Known() || o.TimeInForce != "gtd" || o.TimeInForce.Known() || o.SelfTradePrevention.Known() ||
		o.Status != "expired" || o.Status.Known() || o.Status.Open() || o.TriggerType.Known() || o.TriggerBy != "index" || !o.Side.Known() {
		t.Errorf("order: %+v", o)
	}
	eq(t, "price", o.Price, d("1.5"))
	if o.Time.Time().UnixMilli() != 1 || !client.Millis(0).Time().IsZero() {
		t.Errorf("times: %v", o.Time.Time())
	}
}

func TestEnums(t *testing.T) {
	for _, k := range []interface {
		Known() bool
		String() string
	}{client.Buy, client.Sell, client.TypeLimit, client.TypeMarket, client.GTC, client.IOC, client.FOK, client.PostOnly,
		client.STPNone, client.STPCancelTaker, client.STPCancelMaker, client.STPCancelBoth, client.Stop, client.TakeProfit,
		client.ByMark, client.ByLast, client.Cross, client.Isolated, client.StatusUntriggered, client.StatusNew,
		client.StatusPartiallyFilled, client.StatusFilled, client.StatusCancelled} {
		if !k.Known() {
			t.Errorf("%s not known", k)
		}
		// JSON is the lowercase name.
		b, _ := json.Marshal(k)
		if string(b) != `"`+k.String()+`"` {
			t.Errorf("%s marshals as %s", k, b)
		}
	}
	for _, iv := range server.KlineIntervals() {
		if k := client.KlineInterval(iv); !k.Known() || k.Duration() <= 0 {
			t.Errorf("server interval %s unknown to the SDK", iv)
		}
	}
	if client.Buy.Opposite() != client.Sell || client.Sell.Opposite() != client.Buy || client.PostOnly.String() != "post-only" {
		t.Error("Opposite or String")
	}
	if client.Interval4h.Duration() != 4*time.Hour || client.CauseTrade.String() != "trade" {
		t.Error("Duration or FillCause.String")
	}
}

// The order's JSON is what the API takes: decimal strings, defaults left
// out.
func TestOrderRequestJSON(t *testing.T) {
	for _, tc := range []struct {
		o    client.OrderRequest
		want string
	}{
		{client.Limit("BTCUSDT", client.Buy, d("95000.50"), d("0.010")).PostOnly().ClientID("bot-1"),
			`{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"95000.5","quantity":"0.01","timeInForce":"post-only","clientOrderId":"bot-1"}`},
		{client.Market("ETHUSDT", client.Sell, d("1")).Reduce().Stop(client.ByLast, d("2900")).STP(client.STPCancelBoth),
			`{"symbol":"ETHUSDT","side":"sell","type":"market","quantity":"1","reduceOnly":true,"selfTradePrevention":"cancel-both","trigger":"stop","triggerBy":"last","triggerPrice":"2900"}`},
		{client.Market("ETHUSDT", client.Buy, d("2")).FOK().WorstPrice(d("3100")).TakeProfit(client.ByMark, d("2800")),
			`{"symbol":"ETHUSDT","side":"buy","type":"market","price":"3100","quantity":"2","timeInForce":"fok","trigger":"take-profit","triggerBy":"mark","triggerPrice":"2800"}`},
		{client.Limit("SOLUSDT", client.Sell, d("1E+2"), d("3")).IOC().GTC(),
			`{"symbol":"SOLUSDT","side":"sell","type":"limit","price":"100","quantity":"3","timeInForce":"gtc"}`},
	} {
		b := must[[]byte](t)(json.Marshal(tc.o))
		if string(b) != tc.want {
			t.Errorf("got  %s\nwant %s", b, tc.want)
		}
	}
}

// Errors the API's table does not list, or that are not the API's JSON,
// still map by their status.
func TestErrorsByStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   error
	}{
		{400, `{"code":"some-new-refusal","message":"new"}`, client.ErrInvalidRequest},
		{413, `{"code":"body-too-large","message":"big"}`, client.ErrInvalidRequest},
		{401, `<html>proxy login</html>`, client.ErrUnauthorized},
		{403, ``, client.ErrUnauthorized},
		{429, `slow down`, client.ErrRateLimited},
		{504, `{"code":"timeout","message":"may still take effect"}`, client.ErrOutcomeUnknown},
		{503, `{"code":"unavailable","message":"stopped"}`, nil},
		{500, `{"code":"internal","message":"bug"}`, nil},
		{404, `{"code":"not-found","message":"no endpoint"}`, nil},
	} {
		c := fake(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		})
		_, err := c.Markets(context.Background())
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != tc.status {
			t.Errorf("%d %s: %v", tc.status, tc.body, err)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%d %s: %v is not %v", tc.status, tc.body, err, tc.want)
		}
		for _, s := range []error{client.ErrInvalidRequest, client.ErrUnauthorized, client.ErrRateLimited, client.ErrOutcomeUnknown} {
			if s != tc.want && errors.Is(err, s) {
				t.Errorf("%d %s: %v is also %v", tc.status, tc.body, err, s)
			}
		}
		if ae.Error() == "" {
			t.Error("empty Error()")
		}
	}
}

// WithRetry retries reads on 503 with backoff, and never a POST.
func TestRetry(t *testing.T) {
	var calls atomic.Int32
	var lastTS, firstTS atomic.Value
	h := func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n == 1 {
			firstTS.Store(r.Header.Get("PP-TIMESTAMP"))
		}
		lastTS.Store(r.Header.Get("PP-TIMESTAMP"))
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code":"unavailable","message":"stopped"}`)
			return
		}
		io.WriteString(w, `[]`)
	}
	opts := []client.Option{client.WithCredentials("pp1-x", "s"), client.WithRetry(client.RetryPolicy{Attempts: 3, Backoff: 20 * time.Millisecond})}
	c := fake(t, h, opts...)
	start := time.Now()
	if _, err := c.OpenOrders(context.Background(), ""); err != nil || calls.Load() != 3 {
		t.Fatalf("after %d calls: %v", calls.Load(), err)
	}
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Errorf("two backoffs of 20 and 40 ms took %v", el)
	}
	// Each attempt is signed afresh.
	if firstTS.Load() == lastTS.Load() {
		t.Error("the retry reused the first timestamp")
	}

	calls.Store(0)
	if _, err := c.PlaceOrder(context.Background(), client.Market("BTCUSDT", client.Buy, d("1"))); err == nil || calls.Load() != 1 {
		t.Errorf("order: %d calls, %v", calls.Load(), err)
	}
	// Without WithRetry nothing is retried.
	calls.Store(0)
	c = fake(t, h)
	if _, err := c.Markets(context.Background()); err == nil || calls.Load() != 1 {
		t.Errorf("no retry policy: %d calls, %v", calls.Load(), err)
	}
	// A context that ends stops the waiting.
	calls.Store(0)
	c = fake(t, h, client.WithRetry(client.RetryPolicy{Attempts: 5, Backoff: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := c.Markets(ctx)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || calls.Load() != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled wait: %d calls in %v, %v", calls.Load(), time.Since(start), err)
	}
}

// A base URL with a path prefix (a server behind a proxy) is kept, and
// the signature covers the path as sent.
func TestPathPrefix(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath() + "?" + r.URL.RawQuery
		want := server.SignRequest(secret, r.Header.Get("PP-TIMESTAMP"), r.Method, r.URL.EscapedPath(), r.URL.RawQuery, nil)
		if r.Header.Get("PP-SIGNATURE") != want || r.Header.Get("PP-API-KEY") != "pp3-k" || r.Header.Get("User-Agent") != client.DefaultUserAgent {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code":"invalid-signature","message":"no"}`)
			return
		}
		io.WriteString(w, `{"orderId":5,"symbol":"BTCUSDT","status":"cancelled","cancelReason":"user","fills":[]}`)
	}))
	defer srv.Close()
	c := must[*client.Client](t)(client.New(srv.URL+"/ex change/", client.WithCredentials("pp3-k", secret)))
	res, err := c.CancelOrder(context.Background(), "BTCUSDT", client.ByClientID("a/b:c"))
	if err != nil || res.Status != client.StatusCancelled {
		t.Fatalf("%v %+v", err, res)
	}
	if want := "/ex%20change/v1/order?clientOrderId=a%2Fb%3Ac&symbol=BTCUSDT"; got != want {
		t.Errorf("sent %s, want %s", got, want)
	}
}

// SyncClock measures a server clock an hour ahead.
func TestSyncClockOffset(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]int64{"serverTime": time.Now().Add(time.Hour).UnixMilli()})
	})
	off := must[time.Duration](t)(c.SyncClock(context.Background()))
	if off < time.Hour-time.Second || off > time.Hour+time.Second || c.ClockOffset() != off {
		t.Errorf("offset %v (stored %v)", off, c.ClockOffset())
	}
}
