package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Client talks to one exchange. It holds the base URL, the HTTP client,
// the credentials (if any) and the clock offset; it is safe for concurrent
// use by any number of goroutines, and cheap to share: build one per
// exchange and key, not one per call.
//
// Calls that change state (orders, settings, admin) are never retried by
// the Client: a second POST of an order could trade twice. Reads can be
// retried with WithRetry.
type Client struct {
	base      *url.URL // scheme, host and any path prefix; no trailing slash
	http      *http.Client
	apiKey    string
	secret    string
	userAgent string
	retry     RetryPolicy
	// offsetNanos is added to the local clock for PP-TIMESTAMP; SyncClock
	// may change it while requests are signed on other goroutines.
	offsetNanos atomic.Int64
}

// Option configures a Client in New.
type Option func(*Client) error

// WithHTTPClient makes the Client send its requests through hc (its
// transport, proxy, TLS and timeout settings). The default is a client of
// its own whose transport keeps up to 64 idle connections to the
// exchange, so that many goroutines sharing a Client do not keep opening
// connections.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("client: WithHTTPClient(nil)")
		}
		c.http = hc
		return nil
	}
}

// WithCredentials sets the API key and secret that sign private (account)
// and admin requests: an account's key for trading, the admin key
// (ppadmin-...) for the admin calls.
func WithCredentials(apiKey, secret string) Option {
	return func(c *Client) error {
		if apiKey == "" || secret == "" {
			return errors.New("client: WithCredentials: empty key or secret")
		}
		c.apiKey, c.secret = apiKey, secret
		return nil
	}
}

// WithClockOffset sets how far the server's clock is ahead of the local
// one (negative: behind). It is added to the local clock for each
// request's PP-TIMESTAMP, which the server refuses outside its receive
// window (5 s by default). SyncClock measures it.
func WithClockOffset(d time.Duration) Option {
	return func(c *Client) error {
		c.offsetNanos.Store(int64(d))
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// RetryPolicy retries reads (GET requests) that were rate limited (429),
// found the server unavailable or out of time (502, 503, 504), or failed
// in the transport. Orders and every other call that changes state are
// never retried.
type RetryPolicy struct {
	// Attempts is the most tries in all, the first included; 0 or 1: no
	// retries.
	Attempts int
	// Backoff is the wait before the first retry, doubled before each
	// next one up to MaxBackoff. A Retry-After header, when longer, is
	// honoured instead. Defaults 100 ms and 5 s.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// WithRetry retries reads as p says. By default nothing is retried.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.Attempts < 0 || p.Backoff < 0 || p.MaxBackoff < 0 {
			return errors.New("client: WithRetry: negative attempts or backoff")
		}
		if p.Backoff == 0 {
			p.Backoff = 100 * time.Millisecond
		}
		if p.MaxBackoff == 0 {
			p.MaxBackoff = 5 * time.Second
		}
		c.retry = p
		return nil
	}
}

// DefaultUserAgent is the User-Agent of a Client without WithUserAgent.
const DefaultUserAgent = "paperperps-go-client/1"

// New returns a Client of the exchange at baseURL, e.g.
// "http://127.0.0.1:8080" (a path prefix, for a server behind a proxy, is
// kept: "http://host/exchange" calls "http://host/exchange/v1/...").
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http:// or https:// and a host", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("client: base URL %q: want no query, fragment or user", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{base: u, userAgent: DefaultUserAgent}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 64, 64
		c.http = &http.Client{Transport: t}
	}
	return c, nil
}

// BaseURL is the exchange's base URL as New took it (without a trailing
// slash).
func (c *Client) BaseURL() string { return c.base.String() }

// ClockOffset is the offset added to the local clock for request
// timestamps (see WithClockOffset and SyncClock).
func (c *Client) ClockOffset() time.Duration { return time.Duration(c.offsetNanos.Load()) }

// now is the server's clock as the Client estimates it.
func (c *Client) now() time.Time { return time.Now().Add(c.ClockOffset()) }

// SyncClock measures the server's clock against the local one with
// GET /v1/time, assuming the answer was stamped halfway through the round
// trip, and uses the offset for the requests that follow. It returns the
// offset. The server's time has millisecond resolution, so the offset is
// good to a millisecond plus half the round trip.
func (c *Client) SyncClock(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	server, err := c.Time(ctx)
	if err != nil {
		return c.ClockOffset(), err
	}
	rtt := time.Since(start) // monotonic
	mid := start.Add(rtt / 2)
	offset := server.Sub(mid).Round(time.Millisecond)
	c.offsetNanos.Store(int64(offset))
	return offset, nil
}

// auth is the key a request needs.
type auth int

const (
	public auth = iota
	signed      // an account's or the admin's key: the server tells them apart
)

// request is one API call.
type request struct {
	method string
	path   string // under the base URL, e.g. "/v1/order"
	query  url.Values
	body   any // marshalled to JSON unless nil
	auth   auth
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// do sends r and decodes a successful answer into out (a pointer). Reads
// (GET) are retried as the RetryPolicy says; nothing else is.
func (c *Client) do(ctx context.Context, r request, out any) error {
	if r.auth == signed && c.apiKey == "" {
		return fmt.Errorf("client: %s %s: %w", r.method, r.path, ErrNoCredentials)
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("client: %s %s: encoding the body: %w", r.method, r.path, err)
		}
	}
	var rawQuery string
	if len(r.query) > 0 {
		rawQuery = r.query.Encode()
	}
	attempts := 1
	if r.method == http.MethodGet && c.retry.Attempts > 1 {
		attempts = c.retry.Attempts
	}
	backoff := c.retry.Backoff
	for try := 1; ; try++ {
		err := c.send(ctx, r, rawQuery, body, out)
		if err == nil || try >= attempts || !retryable(ctx, err) {
			return err
		}
		wait := backoff
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter > wait {
			wait = ae.RetryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, c.retry.MaxBackoff)
	}
}

// retryable reports whether a read that failed with err may succeed if
// tried again.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return true // the transport: a reset or refused connection
	}
	switch ae.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// send makes one attempt: a fresh timestamp and signature each time, as a
// retry may come after the receive window of the first.
func (c *Client) send(ctx context.Context, r request, rawQuery string, body []byte, out any) error {
	u := *c.base
	u.Path += r.path
	u.RawQuery = rawQuery
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if r.auth == signed {
		ts := strconv.FormatInt(c.now().UnixMilli(), 10)
		req.Header.Set("PP-API-KEY", c.apiKey)
		req.Header.Set("PP-TIMESTAMP", ts)
		// Sign what goes on the wire: the request's own escaped path and
		// query.
		req.Header.Set("PP-SIGNATURE", Sign(c.secret, ts, r.method, req.URL.EscapedPath(), req.URL.RawQuery, body))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	defer func() {
		// Drain what is left so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}()
	if resp.StatusCode/100 != 2 {
		return apiError(resp)
	}
	if out == nil {
		return nil
	}
	if o, ok := out.(*OrderResult); ok {
		// The answer to every order: the fast path the WebSocket uses
		// (fastdecode.go), which falls back to encoding/json for any
		// other shape. Unlike the decoder below, it refuses anything
		// after the value but spaces (the server writes nothing more).
		b, err := io.ReadAll(resp.Body) // as the decoder below reads it all
		if err == nil {
			err = unmarshalOrderResult(bytes.TrimRight(b, " \t\r\n"), o)
		}
		if err != nil {
			return fmt.Errorf("client: %s %s: decoding the answer: %w", r.method, r.path, err)
		}
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: %s %s: decoding the answer: %w", r.method, r.path, err)
	}
	return nil
}

// apiError reads a refusal's body into an APIError.
func apiError(resp *http.Response) error {
	ae := &APIError{Status: resp.StatusCode}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			ae.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(s); err == nil {
			ae.RetryAfter = max(time.Until(t), 0)
		}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var wire struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	switch {
	case err != nil:
		ae.Message = "reading the error: " + err.Error()
	case json.Unmarshal(b, &wire) == nil && wire.Code != "":
		ae.Code, ae.Message = wire.Code, wire.Message
	default:
		// Not the API's JSON: a proxy's page, say. Keep a little of it.
		msg := strings.TrimSpace(string(b))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		ae.Message = msg
	}
	return ae
}

// get and the others are do with the method and auth filled in.
func (c *Client) get(ctx context.Context, a auth, path string, q url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodGet, path: path, query: q, auth: a}, out)
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, request{method: http.MethodPost, path: path, body: body, auth: signed}, out)
}

// query builds url.Values from key, value pairs, leaving out empty values
// (an optional parameter not given).
func query(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

// limitParam is a list's limit: "" (the server's default) for 0; a
// negative one is sent for the server to refuse.
func limitParam(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
