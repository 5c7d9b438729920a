package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/shopspring/decimal"
)

// Stream is a WebSocket connection to the exchange (docs/WEBSOCKET.md)
// that looks after itself: when the connection drops it dials again with
// backoff, logs in again, resubscribes every stream, resumes the user
// stream where it stopped (or says it cannot, with a UserReset), and takes
// a fresh depth snapshot for every local book. Market data and user events
// arrive on channels; orders sent through it are pipelined.
//
// Read the channels you asked for: a Stream delivers every message in
// order and waits for a full channel, and a connection that falls behind
// is cut off by the server (the Stream then reconnects and resumes).
type Stream struct {
	c      *Client
	url    string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	ws     *websocket.Conn // nil while disconnected
	subs   map[string]*subscription
	books  map[string]*OrderBook
	user   chan UserEvent
	userN  uint64 // the last user message delivered
	nextID atomic.Uint64
	// pending answers by request id, and the requests queued for the
	// writer, which sends everything waiting as one batch.
	pending map[uint64]chan answer
	queue   [][]byte
	wake    chan struct{}
	// bufs holds request buffers the writer has sent, for the next
	// requests to write into; chans holds answer channels that have
	// delivered their answer (handle takes a channel out of pending
	// before it sends, so nothing else holds it). Both only save
	// allocations: when empty, new ones are made.
	bufs  chan []byte
	chans chan chan answer

	// Reconnects counts the connections after the first.
	reconnects atomic.Int64
}

// subscription is a market stream and where its messages go.
type subscription struct {
	name    string
	deliver func(json.RawMessage) error
}

type answer struct {
	result json.RawMessage
	order  *OrderResult // result, already decoded by the fast path (result is then nil)
	err    error
}

// ErrDisconnected: the connection dropped before a request's answer came.
// An order may or may not have been taken: look it up by client order id.
var ErrDisconnected = errors.New("client: WebSocket disconnected before the answer")

// ErrStreamClosed: the Stream was closed.
var ErrStreamClosed = errors.New("client: stream closed")

// Connect opens a Stream. With credentials it logs in (and order entry and
// the user stream are available). It returns once the first connection is
// up; later drops are repaired in the background until ctx ends or Close.
func (c *Client) Connect(ctx context.Context) (*Stream, error) {
	u := *c.base
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += "/v1/ws"
	sctx, cancel := context.WithCancel(ctx)
	s := &Stream{c: c, url: u.String(), ctx: sctx, cancel: cancel, done: make(chan struct{}),
		subs: map[string]*subscription{}, books: map[string]*OrderBook{}, pending: map[uint64]chan answer{},
		bufs: make(chan []byte, 1024), chans: make(chan chan answer, 1024)}
	ws, err := s.dial(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	s.attach(ws)
	go s.run(ws)
	return s, nil
}

// Close ends the Stream: its channels are closed and waiting calls fail
// with ErrStreamClosed.
func (s *Stream) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Reconnects is how many times the Stream has connected again.
func (s *Stream) Reconnects() int { return int(s.reconnects.Load()) }

// dial connects and, with credentials, logs in (before any other request,
// so the user stream and orders can follow at once).
func (s *Stream) dial(ctx context.Context) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, s.url, &websocket.DialOptions{HTTPClient: s.c.http})
	if err != nil {
		return nil, fmt.Errorf("client: WebSocket: %w", err)
	}
	ws.SetReadLimit(64 << 20)
	if s.c.apiKey == "" {
		return ws, nil
	}
	ts := strconv.FormatInt(s.c.now().UnixMilli(), 10)
	login, _ := json.Marshal(map[string]any{"id": 0, "op": "login", "apiKey": s.c.apiKey, "timestamp": ts,
		"signature": Sign(s.c.secret, ts, http.MethodGet, "/v1/ws", "", []byte("login"))})
	if err := ws.Write(dctx, websocket.MessageText, login); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("client: WebSocket login: %w", err)
	}
	// The login's answer comes first: nothing else was asked yet.
	_, b, err := ws.Read(dctx)
	if err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("client: WebSocket login: %w", err)
	}
	var m serverMessage
	if err := decodeServerMessages(b, func(x serverMessage) { m = x }); err != nil {
		ws.CloseNow()
		return nil, err
	}
	if m.Error != nil {
		ws.CloseNow()
		return nil, m.Error.apiError()
	}
	return ws, nil
}

// run serves connections until the Stream ends: read, and on a drop fail
// the waiting requests, dial again with backoff and restore the streams
// (Connect attached the first).
func (s *Stream) run(ws *websocket.Conn) {
	defer close(s.done)
	defer s.shutdown()
	backoff := 50 * time.Millisecond
	for {
		start := time.Now()
		s.read(ws)
		s.detach(ws)
		if s.ctx.Err() != nil {
			return
		}
		if time.Since(start) > 10*time.Second {
			backoff = 50 * time.Millisecond
		}
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			var err error
			if ws, err = s.dial(s.ctx); err == nil {
				s.reconnects.Add(1)
				break
			}
		}
		s.attach(ws)
	}
}

// attach makes ws the live connection and restores every subscription:
// market streams, books (each gets a new snapshot), and the user stream
// from the last message delivered.
func (s *Stream) attach(ws *websocket.Conn) {
	s.mu.Lock()
	s.ws = ws
	// A wake channel per connection: a writer of a dropped connection
	// must not take the new one's signals.
	s.wake = make(chan struct{}, 1)
	wake := s.wake
	var names []string
	for name := range s.subs {
		names = append(names, name)
	}
	for _, b := range s.books {
		b.invalidate()
		names = append(names, "depth:"+b.symbol)
	}
	user := s.user
	since := s.userN
	s.mu.Unlock()
	go s.writer(ws, wake)
	if len(names) > 0 {
		s.sendAsync(map[string]any{"op": "subscribe", "streams": names})
	}
	if user != nil {
		s.sendAsync(map[string]any{"op": "subscribe", "streams": []string{"user"}, "since": since})
		if since == 0 {
			// Nothing delivered yet, so nothing to resume after: since 0
			// asks for no kept messages, and any sent while disconnected
			// are lost. Say so, before the new connection's messages.
			select {
			case user <- &UserReset{}:
			case <-s.ctx.Done():
			}
		}
	}
}

// detach fails the requests waiting on a dropped connection.
func (s *Stream) detach(ws *websocket.Conn) {
	ws.CloseNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ws = nil
	s.queue = nil
	// The dropped connection's writer wakes, sees it is not the current
	// one and returns. Nothing sends on wake any more: requests are
	// queued only while a connection is attached, and attach makes a new
	// channel.
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
	for id, ch := range s.pending {
		ch <- answer{err: ErrDisconnected}
		delete(s.pending, id)
	}
}

// shutdown closes the channels once the Stream ends.
func (s *Stream) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ch := range s.pending {
		ch <- answer{err: ErrStreamClosed}
		delete(s.pending, id)
	}
	for _, sub := range s.subs {
		sub.deliver(nil)
	}
	if s.user != nil {
		close(s.user)
	}
	for _, b := range s.books {
		b.close()
	}
}

// writer sends the queued requests, all that wait as one batch.
func (s *Stream) writer(ws *websocket.Conn, wake <-chan struct{}) {
	var buf []byte     // a batch's frame, reused
	var spare [][]byte // the queue's other half
	for {
		select {
		case <-wake:
		case <-s.ctx.Done():
			return
		}
		// Let the goroutines that are about to send queue their requests
		// too: one frame and one write for all of them.
		runtime.Gosched()
		s.mu.Lock()
		if s.ws != ws {
			s.mu.Unlock()
			return
		}
		// The queue and spare trade places: neither is regrown.
		q := s.queue
		s.queue = spare[:0]
		s.mu.Unlock()
		for rest := q; len(rest) > 0; {
			n := min(len(rest), 1000)
			msg := rest[0]
			if n > 1 {
				buf = append(buf[:0], '[')
				for i, m := range rest[:n] {
					if i > 0 {
						buf = append(buf, ',')
					}
					buf = append(buf, m...)
				}
				msg = append(buf, ']')
			}
			if err := ws.Write(s.ctx, websocket.MessageText, msg); err != nil {
				ws.CloseNow() // the reader sees it and reconnects
				return
			}
			for _, m := range rest[:n] {
				s.recycleBuf(m) // written: Write keeps nothing of msg
			}
			rest = rest[n:]
		}
		clear(q)
		spare = q
	}
}

// newBuf returns an empty buffer to write a request into.
func (s *Stream) newBuf() []byte {
	select {
	case b := <-s.bufs:
		return b[:0]
	default:
		return make([]byte, 0, 256)
	}
}

// recycleBuf keeps a sent request's buffer for newBuf, unless it is
// outsized or enough are kept.
func (s *Stream) recycleBuf(b []byte) {
	if cap(b) > 4096 {
		return
	}
	select {
	case s.bufs <- b:
	default:
	}
}

// enqueue queues an encoded request for the writer.
func (s *Stream) enqueue(msg []byte) {
	s.queue = append(s.queue, msg)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sendAsync queues a request whose answer nobody waits for.
func (s *Stream) sendAsync(req map[string]any) {
	req["id"] = s.nextID.Add(1)
	b, _ := json.Marshal(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws != nil {
		s.enqueue(b)
	}
}

// call sends a request and waits for its answer.
func (s *Stream) call(ctx context.Context, req map[string]any) (json.RawMessage, error) {
	a, err := s.callAnswer(ctx, func(b []byte, id uint64) ([]byte, error) {
		req["id"] = id
		m, err := json.Marshal(req)
		return append(b, m...), err
	})
	if err == nil && a.order != nil {
		// Not an answer these requests get, but one the fast path took
		// for an order's: its bytes are gone, its value is not.
		return json.Marshal(a.order)
	}
	return a.result, err
}

// callAnswer sends a request and waits for its whole answer. encode
// appends the request, given its id, to b.
func (s *Stream) callAnswer(ctx context.Context, encode func(b []byte, id uint64) ([]byte, error)) (answer, error) {
	id := s.nextID.Add(1)
	b, err := encode(s.newBuf(), id)
	if err != nil {
		return answer{}, err
	}
	var ch chan answer
	select {
	case ch = <-s.chans:
	default:
		ch = make(chan answer, 1)
	}
	s.mu.Lock()
	if s.ws == nil {
		s.mu.Unlock()
		if s.ctx.Err() != nil {
			return answer{}, ErrStreamClosed
		}
		return answer{}, ErrDisconnected
	}
	s.pending[id] = ch
	s.enqueue(b)
	s.mu.Unlock()
	select {
	case a := <-ch:
		select {
		case s.chans <- ch: // answered: no one else holds it
		default:
		}
		return a, a.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		return answer{}, ctx.Err()
	}
}

// maxKeptReadBuffer bounds the read buffer a connection keeps between
// messages.
const maxKeptReadBuffer = 1 << 20

// read handles one connection's messages until it fails. Each message is
// read into one buffer, reused: handle is done with a message before the
// next is read, and nothing it hands on keeps the bytes (the slow decoder
// copies what it keeps; a fast-path answer goes out decoded, without its
// bytes).
func (s *Stream) read(ws *websocket.Conn) {
	var buf bytes.Buffer
	for {
		_, r, err := ws.Reader(s.ctx)
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		if err := decodeServerMessages(buf.Bytes(), s.handle); err != nil {
			return // not the exchange's protocol: drop and reconnect
		}
		if buf.Cap() > maxKeptReadBuffer {
			buf = bytes.Buffer{} // a large message's (a deep snapshot): not kept
		}
	}
}

// serverMessage is any message of the server: an answer (ID, Result or
// Error) or a stream's (Stream, N, Data).
type serverMessage struct {
	ID     uint64          `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *wireError      `json:"error"`
	Stream string          `json:"stream"`
	N      uint64          `json:"n"`
	Seq    uint64          `json:"seq"`
	Data   json.RawMessage `json:"data"`

	order *OrderResult // Result, when the fast path has decoded it
}

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// apiError gives a WebSocket error the HTTP status its code has in the
// REST API, so the sentinels match as they do there.
func (w *wireError) apiError() *APIError {
	status := http.StatusBadRequest
	switch w.Code {
	case "rate-limited":
		status = http.StatusTooManyRequests
	case "unauthorized", "invalid-signature", "stale-timestamp":
		status = http.StatusUnauthorized
	case "forbidden":
		status = http.StatusForbidden
	case "unknown-order":
		status = http.StatusNotFound
	case "unavailable":
		status = http.StatusServiceUnavailable
	case "timeout":
		status = http.StatusGatewayTimeout
	case "internal":
		status = http.StatusInternalServerError
	}
	return &APIError{Status: status, Code: w.Code, Message: w.Message}
}

// decodeServerMessages calls fn for each message in b: one JSON object,
// or a batch (an array of them). It is the Stream's only decoder of what
// arrives, and fuzzed.
func decodeServerMessages(b []byte, fn func(serverMessage)) error {
	if decodeOrderAnswers(b, fn) {
		return nil
	}
	t := strings.TrimLeft(string(b[:min(len(b), 16)]), " \t\r\n")
	if strings.HasPrefix(t, "[") {
		var batch []serverMessage
		if err := json.Unmarshal(b, &batch); err != nil {
			return fmt.Errorf("client: WebSocket message: %w", err)
		}
		for _, m := range batch {
			fn(m)
		}
		return nil
	}
	var m serverMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("client: WebSocket message: %w", err)
	}
	fn(m)
	return nil
}

// handle routes one message.
func (s *Stream) handle(m serverMessage) {
	switch {
	case m.Stream == "":
		s.mu.Lock()
		ch := s.pending[m.ID]
		delete(s.pending, m.ID)
		s.mu.Unlock()
		if ch != nil {
			var err error
			if m.Error != nil {
				err = m.Error.apiError()
			}
			a := answer{result: m.Result, order: m.order, err: err}
			if a.order != nil {
				a.result = nil // the read buffer's: a fast-path answer goes out decoded
			}
			ch <- a
		}
	case m.Stream == "user":
		s.userMessage(m)
	case strings.HasPrefix(m.Stream, "depth:"):
		s.mu.Lock()
		b := s.books[strings.TrimPrefix(m.Stream, "depth:")]
		s.mu.Unlock()
		if b != nil && b.apply(m.Data) != nil {
			// A gap: take a new snapshot.
			s.sendAsync(map[string]any{"op": "unsubscribe", "streams": []string{m.Stream}})
			s.sendAsync(map[string]any{"op": "subscribe", "streams": []string{m.Stream}})
		}
	default:
		s.mu.Lock()
		sub := s.subs[m.Stream]
		s.mu.Unlock()
		if sub != nil {
			sub.deliver(m.Data)
		}
	}
}

// subscribe registers a market stream and asks for it.
func (s *Stream) subscribe(ctx context.Context, name string, deliver func(json.RawMessage) error) error {
	s.mu.Lock()
	if _, ok := s.subs[name]; ok {
		s.mu.Unlock()
		return fmt.Errorf("client: already subscribed to %s", name)
	}
	s.subs[name] = &subscription{name: name, deliver: deliver}
	s.mu.Unlock()
	if _, err := s.call(ctx, map[string]any{"op": "subscribe", "streams": []string{name}}); err != nil {
		s.mu.Lock()
		delete(s.subs, name)
		s.mu.Unlock()
		return err
	}
	return nil
}

// typedStream subscribes to name and delivers its messages decoded as T on
// a channel of size buffer, closed when the Stream ends.
func typedStream[T any](ctx context.Context, s *Stream, name string, buffer int) (<-chan T, error) {
	ch := make(chan T, buffer)
	closed := false
	err := s.subscribe(ctx, name, func(data json.RawMessage) error {
		if data == nil {
			if !closed {
				closed = true
				close(ch)
			}
			return nil
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		select {
		case ch <- v:
		case <-s.ctx.Done():
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// Trades streams a market's trades.
func (s *Stream) Trades(ctx context.Context, symbol string) (<-chan Trade, error) {
	return typedStream[Trade](ctx, s, "trades:"+symbol, 1024)
}

// Marks streams a market's mark and index prices and funding.
func (s *Stream) Marks(ctx context.Context, symbol string) (<-chan MarkInfo, error) {
	return typedStream[MarkInfo](ctx, s, "mark:"+symbol, 64)
}

// Tickers streams a market's 24-hour ticker after trades.
func (s *Stream) Tickers(ctx context.Context, symbol string) (<-chan Ticker, error) {
	return typedStream[Ticker](ctx, s, "ticker:"+symbol, 64)
}

// Klines streams a market's current kline of interval after trades.
func (s *Stream) Klines(ctx context.Context, symbol string, interval KlineInterval) (<-chan Kline, error) {
	return typedStream[Kline](ctx, s, "kline:"+symbol+":"+string(interval), 64)
}

// Liquidations streams a market's liquidations.
func (s *Stream) Liquidations(ctx context.Context, symbol string) (<-chan Liquidation, error) {
	return typedStream[Liquidation](ctx, s, "liquidations:"+symbol, 1024)
}

// PlaceOrder places an order over the WebSocket: the same answer as
// Client.PlaceOrder. Calls from many goroutines are pipelined (sent
// without waiting for each other, in batches).
func (s *Stream) PlaceOrder(ctx context.Context, o OrderRequest) (OrderResult, error) {
	return s.orderCall(ctx, "order.place", func(b []byte) ([]byte, error) { return appendOrderJSON(b, &o) })
}

// CancelOrder cancels an order over the WebSocket.
func (s *Stream) CancelOrder(ctx context.Context, symbol string, ref OrderRef) (OrderResult, error) {
	return s.orderCall(ctx, "order.cancel", func(b []byte) ([]byte, error) {
		if w, ok := appendRef(b, symbol, ref); ok {
			return w, nil
		}
		return appendJSON(b, refWire(symbol, ref, nil))
	})
}

// AmendOrder changes an order's price and total quantity over the
// WebSocket.
func (s *Stream) AmendOrder(ctx context.Context, symbol string, ref OrderRef, price, qty decimal.Decimal) (OrderResult, error) {
	return s.orderCall(ctx, "order.amend", func(b []byte) ([]byte, error) {
		return appendJSON(b, refWire(symbol, ref, map[string]any{"price": price.String(), "quantity": qty.String()}))
	})
}

// appendJSON appends v as encoding/json writes it.
func appendJSON(b []byte, v any) ([]byte, error) {
	m, err := json.Marshal(v)
	return append(b, m...), err
}

func refWire(symbol string, ref OrderRef, extra map[string]any) map[string]any {
	m := map[string]any{"symbol": symbol}
	if ref.OrderID != 0 {
		m["orderId"] = ref.OrderID
	}
	if ref.ClientOrderID != "" {
		m["clientOrderId"] = ref.ClientOrderID
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func (s *Stream) orderCall(ctx context.Context, op string, order func([]byte) ([]byte, error)) (OrderResult, error) {
	if s.c.apiKey == "" {
		return OrderResult{}, ErrNoCredentials
	}
	a, err := s.callAnswer(ctx, func(b []byte, id uint64) ([]byte, error) {
		return appendOrderMessage(b, id, op, order)
	})
	if err != nil {
		return OrderResult{}, err
	}
	if a.order != nil {
		return *a.order, nil
	}
	// Only here: what the slow decoder is given stays on the heap.
	out := new(OrderResult)
	err = unmarshalOrderResult(a.result, out)
	return *out, err
}
