package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/orderbook"
	"github.com/shopspring/decimal"
)

// wsClient is a test's WebSocket connection.
type wsClient struct {
	t        *testing.T
	ws       *websocket.Conn
	id       uint64
	pending  []wsMsg // the rest of a batch
	maxFrame int     // the largest message read
}

func (te *testExchange) dialWS(t *testing.T) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(te.base, "http")+"/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 24)
	t.Cleanup(func() { ws.CloseNow() })
	return &wsClient{t: t, ws: ws}
}

// request sends op with fields and returns its id.
func (c *wsClient) request(op string, fields map[string]any) uint64 {
	c.t.Helper()
	c.id++
	msg := map[string]any{"id": c.id, "op": op}
	for k, v := range fields {
		msg[k] = v
	}
	b, _ := json.Marshal(msg)
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
	return c.id
}

// wsMsg is any server message.
type wsMsg struct {
	ID     uint64          `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *APIError       `json:"error"`
	Stream string          `json:"stream"`
	N      uint64          `json:"n"`
	Seq    uint64          `json:"seq"`
	Data   json.RawMessage `json:"data"`
}

// next returns the next server message, taking a batch (a JSON array of
// messages) apart.
func (c *wsClient) next() wsMsg {
	c.t.Helper()
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	c.maxFrame = max(c.maxFrame, len(b))
	if b[0] == '[' {
		if err := json.Unmarshal(b, &c.pending); err != nil || len(c.pending) == 0 {
			c.t.Fatalf("batch %v: %s", err, b)
		}
		return c.next()
	}
	var m wsMsg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("%v: %s", err, b)
	}
	return m
}

// answer reads until the answer to id, handing stream messages to onStream.
func (c *wsClient) answer(id uint64, onStream func(wsMsg)) wsMsg {
	c.t.Helper()
	for {
		m := c.next()
		if m.Stream != "" {
			if onStream != nil {
				onStream(m)
			}
			continue
		}
		if m.ID == id {
			return m
		}
	}
}

func (c *wsClient) login(cr Credentials) {
	c.t.Helper()
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	id := c.request("login", map[string]any{"apiKey": cr.APIKey, "timestamp": ts,
		"signature": SignRequest(cr.Secret, ts, "GET", "/v1/ws", "", []byte("login"))})
	if m := c.answer(id, nil); m.Error != nil {
		c.t.Fatalf("login: %+v", m.Error)
	}
}

// Streams over one connection: a depth snapshot, then diffs that chain
// and keep a local book equal to the REST depth; trades; order entry with
// answers; the user stream with the account's orders and fills, resumed
// after a reconnect without loss.
func TestWebSocket(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	alice, bob := te.account(3), te.account(4)
	te.must(te.admin(), "POST", "/v1/admin/index", "", map[string]string{"symbol": "ETHUSDT", "price": "3000"}, nil)

	md := te.dialWS(t)
	sub := md.request("subscribe", map[string]any{"streams": []string{"depth:ETHUSDT", "trades:ETHUSDT", "mark:ETHUSDT"}})
	if m := md.answer(sub, nil); m.Error != nil {
		t.Fatalf("subscribe: %+v", m.Error)
	}
	book := map[string]map[string]decimal.Decimal{"bids": {}, "asks": {}}
	var last uint64
	trades := 0
	apply := func(m wsMsg) {
		switch {
		case m.Stream == "depth:ETHUSDT":
			var d depthMessage
			if err := json.Unmarshal(m.Data, &d); err != nil {
				t.Fatal(err)
			}
			if !d.Snapshot && d.FirstUpdateID != last+1 {
				t.Fatalf("gap: diff from %d after %d", d.FirstUpdateID, last)
			}
			last = d.UpdateID
			for side, ls := range map[string][][2]decimal.Decimal{"bids": d.Bids, "asks": d.Asks} {
				for _, l := range ls {
					if l[1].IsZero() {
						delete(book[side], l[0].String())
					} else {
						book[side][l[0].String()] = l[1]
					}
				}
			}
		case m.Stream == "trades:ETHUSDT":
			trades++
		}
	}

	ow := te.dialWS(t)
	ow.login(alice)
	us := ow.request("subscribe", map[string]any{"streams": []string{"user"}})
	if m := ow.answer(us, nil); m.Error != nil {
		t.Fatalf("user subscribe: %+v", m.Error)
	}
	// Pipelined orders: ten resting asks, then answers in order.
	var ids []uint64
	for i := range 10 {
		ids = append(ids, ow.request("order.place", map[string]any{"order": map[string]any{"symbol": "ETHUSDT", "side": "sell",
			"type": "limit", "price": strconv.Itoa(3001 + i), "quantity": "1", "clientOrderId": "ask-" + strconv.Itoa(i)}}))
	}
	var userMsgs []wsMsg
	for _, id := range ids {
		m := ow.answer(id, func(m wsMsg) { userMsgs = append(userMsgs, m) })
		var res OrderResult
		if m.Error != nil || json.Unmarshal(m.Result, &res) != nil || res.Status != OrderStatusNew {
			t.Fatalf("order %d: %+v %s", id, m.Error, m.Result)
		}
	}
	// Bob takes 2.5 over REST; a refusal over WebSocket comes back as an error.
	te.must(&bob, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "market", "quantity": "2.5"}, nil)
	bad := ow.request("order.place", map[string]any{"order": map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "limit",
		"price": "3005", "quantity": "1", "timeInForce": "post-only"}})
	if m := ow.answer(bad, func(m wsMsg) { userMsgs = append(userMsgs, m) }); m.Error == nil || m.Error.Code != "post-only-would-take" {
		t.Fatalf("post-only over WebSocket: %+v", m)
	}
	cancel := ow.request("order.cancel", map[string]any{"order": map[string]any{"symbol": "ETHUSDT", "clientOrderId": "ask-9"}})
	if m := ow.answer(cancel, func(m wsMsg) { userMsgs = append(userMsgs, m) }); m.Error != nil {
		t.Fatalf("cancel: %+v", m.Error)
	}

	// The market connection: read until the depth matches REST.
	var rest Depth
	te.must(nil, "GET", "/v1/depth", "symbol=ETHUSDT&limit=1000", nil, &rest)
	deadline := time.Now().Add(10 * time.Second)
	for last < rest.UpdateID {
		if time.Now().After(deadline) {
			t.Fatalf("depth stream at %d, REST at %d", last, rest.UpdateID)
		}
		apply(md.next())
	}
	if last != rest.UpdateID || len(book["asks"]) != len(rest.Asks) || len(book["bids"]) != len(rest.Bids) {
		t.Fatalf("local book at %d (%d asks), REST at %d (%d asks)", last, len(book["asks"]), rest.UpdateID, len(rest.Asks))
	}
	for _, l := range rest.Asks {
		if q := book["asks"][l[0].String()]; !q.Equal(l[1]) {
			t.Fatalf("ask %s: local %s, REST %s", l[0], q, l[1])
		}
	}
	if trades != 3 {
		t.Fatalf("%d trades streamed, want 3", trades)
	}

	// The user stream: accepted orders, fills as maker, the cancel.
	kinds := map[string]int{}
	var lastN uint64
	for _, m := range userMsgs {
		var d struct{ Type, Event string }
		json.Unmarshal(m.Data, &d)
		kinds[d.Type+"/"+d.Event]++
		if m.N != lastN+1 {
			t.Fatalf("user message %d after %d", m.N, lastN)
		}
		lastN = m.N
	}
	if kinds["order/accepted"] != 10 || kinds["fill/"] != 3 || kinds["order/cancelled"] != 1 {
		t.Fatalf("user stream: %v", kinds)
	}

	// Reconnect and resume from the last message seen: nothing is lost.
	ow.ws.CloseNow()
	te.must(&bob, "POST", "/v1/order", "", map[string]any{"symbol": "ETHUSDT", "side": "buy", "type": "market", "quantity": "1"}, nil)
	again := te.dialWS(t)
	again.login(alice)
	again.request("subscribe", map[string]any{"streams": []string{"user"}, "since": lastN})
	got := 0
	for got < 2 { // the fill and the position it changed
		m := again.next()
		if m.Stream != "user" {
			continue
		}
		if m.N != lastN+1 {
			t.Fatalf("resumed at %d after %d", m.N, lastN)
		}
		lastN = m.N
		got++
	}
}

// Errors over WebSocket: malformed messages, unknown ops and streams,
// orders before login, a forged login; a slow consumer is cut off.
func TestWebSocketErrors(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	c := te.dialWS(t)
	for _, tc := range []struct{ msg, code string }{
		{`{"id":1,"op":"subscribe","streams":["depth:NOPE"]}`, codeInvalidParam},
		{`{"id":2,"op":"fly"}`, codeInvalidParam},
		{`{"id":3,"op":"subscribe","streams":["user"]}`, codeUnauthorized},
		{`{"id":4,"op":"order.place","order":{"symbol":"BTCUSDT"}}`, codeUnauthorized},
		{`{"id":5,"op":"login","apiKey":"pp3-000000000000000000000000","timestamp":"1","signature":"x"}`, codeUnauthorized},
		{`{"id":6,"op":"subscribe","streams":["trades:BTCUSDT"],"bogus":1}`, codeUnknownField},
		{`not json`, codeMalformed},
	} {
		if err := c.ws.Write(context.Background(), websocket.MessageText, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		m := c.next()
		if m.Error == nil || m.Error.Code != tc.code {
			t.Fatalf("%s: %+v", tc.msg, m)
		}
	}
	alice := te.account(3)
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	c.request("login", map[string]any{"apiKey": alice.APIKey, "timestamp": ts,
		"signature": SignRequest(alice.Secret, ts, "GET", "/v1/ws", "", []byte("not login"))})
	if m := c.next(); m.Error == nil || m.Error.Code != codeBadSignature {
		t.Fatalf("forged login: %+v", m)
	}
}

func FuzzParseWSRequest(f *testing.F) {
	for _, s := range []string{`{"id":1,"op":"subscribe","streams":["depth:BTCUSDT"]}`, `{"op":"login","apiKey":"a","timestamp":"1","signature":"s"}`,
		`{"id":9,"op":"order.place","order":{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"1","quantity":"1"}}`, `[]`, `{"op":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseWSRequest(b)
		if err == nil && r.Op == "" {
			t.Fatalf("accepted a message without an op: %q", b)
		}
	})
}

// wsPair is a WebSocket connection on loopback: the server's end, bare
// (no exchange behind it), and the client's. Both close with the test.
func wsPair(t *testing.T) (server, client *websocket.Conn) {
	t.Helper()
	accepted := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		accepted <- ws
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.CloseNow() })
	return <-accepted, client
}

// A connection whose queue is full is cut off with a policy-violation
// close that says why, and takes no more messages.
func TestWebSocketSlowConsumer(t *testing.T) {
	server, client := wsPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := &wsConn{ws: server, out: make(chan wsOut, 2), ctx: ctx, cancel: cancel}
	for i := range 2 {
		if !c.send([]byte(`{}`)) {
			t.Fatalf("message %d refused with room in the queue", i)
		}
	}
	if c.send([]byte(`{}`)) || !c.dead.Load() || ctx.Err() == nil {
		t.Fatal("a full queue did not cut the connection off")
	}
	if c.send([]byte(`{}`)) {
		t.Fatal("a dead connection took a message")
	}
	_, _, err := client.Read(context.Background())
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "slow consumer") {
		t.Fatalf("client saw %v", err)
	}
}

// A batch message carries requests in order and is answered in order (the
// answers may come back batched too); a malformed batch is refused.
func TestWebSocketBatch(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	c := te.dialWS(t)
	c.login(te.account(3))
	te.must(te.admin(), "POST", "/v1/admin/index", "", map[string]string{"symbol": "BTCUSDT", "price": "100000"}, nil)
	batch := `[{"id":11,"op":"order.place","order":{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"99000","quantity":"0.01"}},
		{"id":12,"op":"order.place","order":{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"99000.05","quantity":"0.01"}},
		{"id":13,"op":"ping"}]`
	if err := c.ws.Write(context.Background(), websocket.MessageText, []byte(batch)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		id   uint64
		code string
	}{{12, codeInvalidParam}, {13, ""}, {11, ""}} {
		// The refusal and the ping are answered at once, the order once durable.
		m := c.next()
		if m.ID != want.id || (want.code == "") != (m.Error == nil) || (m.Error != nil && m.Error.Code != want.code) {
			t.Fatalf("want answer %d %q, got %+v", want.id, want.code, m)
		}
	}
	// A frame that is not a whole array of at most wsMaxBatch requests is
	// refused whole: none of its requests is handled (an order in it would
	// rest), and the refusal is its only answer; the ping sent after it is
	// answered next.
	place := `{"id":21,"op":"order.place","order":{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"98000","quantity":"0.01"}}`
	for _, bad := range []string{`[1,`, `[{"id":1,"op":"ping"} {"id":2,"op":"ping"}]`, `[` + place + `,{"id":22,"op":"order.pla`,
		`[` + place + `] x`, `[` + place + strings.Repeat(`,{"op":"ping"}`, wsMaxBatch) + `]`} {
		if err := c.ws.Write(context.Background(), websocket.MessageText, []byte(bad)); err != nil {
			t.Fatal(err)
		}
		if m := c.next(); m.Error == nil || m.Error.Code != codeMalformed {
			t.Fatalf("%.40s: %+v", bad, m)
		}
		if m := c.answer(c.request("ping", nil), nil); m.Error != nil || m.ID != c.id {
			t.Fatalf("%.40s: then %+v", bad, m)
		}
	}
	var open []OrderInfo
	alice := te.account(3)
	te.must(&alice, "GET", "/v1/orders/open", "symbol=BTCUSDT", nil, &open)
	if len(open) != 1 { // order 11 of the good batch
		t.Fatalf("open orders after the refused batches: %+v", open)
	}
}

func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{`{"symbol":"BTCUSDT","side":"buy"}`, `{"a":{"b":[1,"}"]},"c":"\"x"}`, `{"symbol":1,"symbol":2}`, `{`, `{"`} {
		f.Add([]byte(s))
	}
	names := fieldsOf(reflect.TypeFor[placeRequest]())
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkKeys(b, names)
		var m map[string]json.RawMessage
		if err == nil && json.Unmarshal(b, &m) == nil {
			for k := range m {
				if !names[k] {
					t.Fatalf("key %q passed: %q", k, b)
				}
			}
		}
	})
}

// A group of more trades than the market data keeps, and than a batch
// holds, reaches a subscriber whole and in order: the hub sends them all,
// in batches, and the writer joins queued batches flat, never as arrays
// inside an array.
func TestWebSocketStreamsWholeGroups(t *testing.T) {
	te := startExchange(t, t.TempDir(), func(c *Config) { c.DemoAccounts = 7 })
	te.must(te.admin(), "POST", "/v1/admin/index", "", map[string]string{"symbol": "BTCUSDT", "price": "100000"}, nil)
	c := te.dialWS(t)
	if m := c.answer(c.request("subscribe", map[string]any{"streams": []string{"trades:BTCUSDT"}}), nil); m.Error != nil {
		t.Fatalf("subscribe: %+v", m.Error)
	}
	const n = TradesKept + 44 // resting asks of one lot, taken by one market order
	var cmds []engine.Command
	for i := range n {
		cmds = append(cmds, engine.Command{Kind: engine.CmdPlaceOrder, Account: engine.AccountID(3 + i%6), Side: orderbook.Sell,
			Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1_000_000 + int64(i/6), QtyLots: 1})
	}
	for _, r := range te.x.seq.SubmitBatch(context.Background(), cmds) {
		if r.Err != nil || len(r.Events) == 0 || r.Events[0].Kind != engine.EventOrderAccepted {
			t.Fatalf("resting ask: %v %v", r.Err, r.Events)
		}
	}
	r := te.x.seq.Submit(context.Background(), engine.Command{Kind: engine.CmdPlaceOrder, Account: 9, Side: orderbook.Buy,
		Type: orderbook.Market, TIF: orderbook.IOC, QtyLots: n})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	var prev int64
	for i := range n {
		m := c.next()
		var tr Trade
		if err := json.Unmarshal(m.Data, &tr); m.Stream != "trades:BTCUSDT" || err != nil {
			t.Fatalf("trade %d: %+v %v", i, m, err)
		}
		if i > 0 && tr.ID != prev+1 {
			t.Fatalf("trade %d: id %d after %d", i, tr.ID, prev)
		}
		prev = tr.ID
	}
	if c.maxFrame > wsMaxMessage {
		t.Fatalf("a message of %d bytes, past the documented %d", c.maxFrame, wsMaxMessage)
	}
}

// The writer recycles the buffers of the connection's own replies once
// written, never a stream's message: that one is shared with the other
// connections it was broadcast to.
func TestWriterRecyclesOnlyOwnReplies(t *testing.T) {
	server, client := wsPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &wsConn{ws: server, out: make(chan wsOut, 16), replyBufs: make(chan []byte, 16), ctx: ctx, cancel: cancel}
	shared := []byte(`{"stream":"trades:BTCUSDT","data":{}}`)
	own := append(make([]byte, 0, 320), `{"id":1,"result":{}}`...)
	// Queued before the writer starts, so the three go as one batch (the
	// copy path), then one alone (the direct path).
	c.send(shared)
	c.queue(wsOut{msg: own, own: true})
	c.send(shared)
	go c.writer()
	want := `[{"stream":"trades:BTCUSDT","data":{}},{"id":1,"result":{}},{"stream":"trades:BTCUSDT","data":{}}]`
	if _, b, err := client.Read(context.Background()); err != nil || string(b) != want {
		t.Fatalf("read %s (%v), want %s", b, err, want)
	}
	own2 := append(make([]byte, 0, 320), `{"id":2,"result":{}}`...)
	c.queue(wsOut{msg: own2, own: true})
	if _, b, err := client.Read(context.Background()); err != nil || string(b) != `{"id":2,"result":{}}` {
		t.Fatalf("read %s (%v)", b, err)
	}
	c.send(shared)
	if _, _, err := client.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for len(c.replyBufs) > 0 {
		got = append(got, <-c.replyBufs)
	}
	if len(got) != 2 || &got[0][:1][0] != &own[:1][0] || &got[1][:1][0] != &own2[:1][0] {
		t.Fatalf("recycled %d buffers, want the two replies' own", len(got))
	}
}

// Opening WebSocket connections and failing to log in count against the
// client's address, as REST requests do: past the burst, a new connection
// is refused with 429, and a failed login is answered rate-limited. (The
// address's bucket was once keyed with the connection's port, so each
// connection had a fresh one, and logins were not counted at all.)
func TestWSAddressRateLimit(t *testing.T) {
	te := startExchange(t, t.TempDir(), func(c *Config) { c.API.RateLimit, c.API.RateBurst = 0.1, 3 })
	c := te.dialWS(t) // 1 of the burst
	codes := []string{}
	for range 3 { // 2 and 3 fail as unauthorized, then the limit
		id := c.request("login", map[string]any{"apiKey": "pp_nosuchkey", "timestamp": "0", "signature": "00"})
		m := c.answer(id, nil)
		if m.Error == nil {
			t.Fatalf("a bad login succeeded: %s", m.Result)
		}
		codes = append(codes, m.Error.Code)
	}
	if want := []string{codeUnauthorized, codeUnauthorized, codeRateLimited}; !slices.Equal(codes, want) {
		t.Fatalf("failed logins answered %v, want %v", codes, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(te.base, "http")+"/v1/ws", nil)
	if err == nil {
		ws.CloseNow()
		t.Fatal("a connection past the address's burst was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a connection past the burst: %v (%v)", resp, err)
	}
	// A logged-in connection's orders count against its key, not the
	// address: the same address still trades.
	alice := te.account(3)
	c.login(alice)
}

// splitBatch never panics; what it accepts splits into ordered values
// inside the array; and a valid JSON array of at most wsMaxBatch values
// is accepted with exactly its values.
func FuzzSplitBatch(f *testing.F) {
	for _, s := range []string{`[]`, `[1,`, `[{"id":1,"op":"ping"}, {"id":2}]`, `[{"a":"]"}] x`, `[ "x" , [1,[2]] ]`, `[1 2]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '[' {
			return
		}
		spans, err := splitBatch(b, nil)
		if err == nil {
			prev := 1
			for _, sp := range spans {
				if sp[0] < prev || sp[1] <= sp[0] || sp[1] > len(b)-1 {
					t.Fatalf("%q: span %v after %d", b, sp, prev)
				}
				prev = sp[1]
			}
			if len(spans) > wsMaxBatch {
				t.Fatalf("%q: %d values", b, len(spans))
			}
		}
		var vals []json.RawMessage
		if json.Valid(b) && json.Unmarshal(b, &vals) == nil && len(vals) <= wsMaxBatch {
			if err != nil || len(spans) != len(vals) {
				t.Fatalf("%q: valid array of %d split into %d (%v)", b, len(vals), len(spans), err)
			}
			for i, sp := range spans {
				if !bytes.Equal(b[sp[0]:sp[1]], vals[i]) {
					t.Fatalf("%q: value %d is %q, split %q", b, i, vals[i], b[sp[0]:sp[1]])
				}
			}
		}
	})
}

// Subscribing again to a depth stream sends a new snapshot (how a client
// that saw a gap starts over) and takes no more room under the cap; a
// stream named many times counts once; unsubscribing from the user stream
// takes the connection off it.
func TestWSResubscribe(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	c := te.dialWS(t)
	alice := te.account(3)
	c.login(alice)
	snapshots := 0
	onStream := func(m wsMsg) {
		var d struct {
			Snapshot bool `json:"snapshot"`
		}
		if m.Stream == "depth:BTCUSDT" && json.Unmarshal(m.Data, &d) == nil && d.Snapshot {
			snapshots++
		}
	}
	many := make([]string, wsMaxStreams*3/4) // twice over the cap, if each counted
	for i := range many {
		many[i] = "depth:BTCUSDT"
	}
	for range 3 {
		if m := c.answer(c.request("subscribe", map[string]any{"streams": many}), onStream); m.Error != nil {
			t.Fatalf("subscribe: %+v", m.Error)
		}
	}
	// Each snapshot follows its answer: a ping's answer comes after the last.
	c.answer(c.request("ping", nil), onStream)
	if snapshots != 3 {
		t.Fatalf("%d snapshots for three subscriptions", snapshots)
	}
	if m := c.answer(c.request("subscribe", map[string]any{"streams": []string{"user"}}), nil); m.Error != nil {
		t.Fatalf("subscribe user: %+v", m.Error)
	}
	conns := func() int {
		h := te.x.srv.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		if f := h.users[3]; f != nil {
			return len(f.conns)
		}
		return 0
	}
	if conns() != 1 {
		t.Fatalf("%d connections on the user stream", conns())
	}
	if m := c.answer(c.request("unsubscribe", map[string]any{"streams": []string{"user", "depth:BTCUSDT"}}), nil); m.Error != nil {
		t.Fatalf("unsubscribe: %+v", m.Error)
	}
	if conns() != 0 {
		t.Fatalf("%d connections on the user stream after unsubscribing", conns())
	}
}

// A refusal over the WebSocket is counted in exchange_api_errors_total,
// as a REST one is.
func TestWSRefusalsCounted(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	c := te.dialWS(t)
	for range 2 {
		if m := c.answer(c.request("order.place", map[string]any{"order": map[string]any{"symbol": "BTCUSDT"}}), nil); m.Error == nil || m.Error.Code != codeUnauthorized {
			t.Fatalf("an order before login: %+v", m)
		}
	}
	resp, err := http.Get(te.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want := `exchange_api_errors_total{code="unauthorized"} 2`; !strings.Contains(string(raw), want) {
		t.Fatalf("metrics lack %s", want)
	}
}
