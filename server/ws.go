package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/wal"
)

// The WebSocket endpoint, GET /v1/ws (docs/WEBSOCKET.md): one connection
// carries market streams, after a signed login the account's user stream,
// and order entry. Every client message is a JSON object with an "op";
// every answer to one carries its "id".

// wsRequest is a client message. Fields an op does not use must be absent.
type wsRequest struct {
	ID        uint64          `json:"id"`
	Op        string          `json:"op"`
	Streams   []string        `json:"streams"`
	Since     uint64          `json:"since"`
	APIKey    string          `json:"apiKey"`
	Timestamp string          `json:"timestamp"`
	Signature string          `json:"signature"`
	Order     json.RawMessage `json:"order"`
}

// Limits of a connection: its message size, its queue of outgoing
// messages (a client that falls this far behind is cut off), its streams.
const (
	wsMaxMessage = 64 << 10
	wsQueue      = 16 << 10
	wsMaxStreams = 200
	// wsLoginPayload is what a login signs as its body, with method GET,
	// path /v1/ws and an empty query.
	wsLoginPayload = "login"
)

// parseWSRequest decodes one client message strictly (the fuzzed entry).
func parseWSRequest(b []byte) (wsRequest, error) {
	var r wsRequest
	// An order op in the usual form is read by a scan (fastdecode.go);
	// anything else, and every error, by the strict decoder.
	if err := decodeOrder(b, &r, fastWSRequest(b, &r)); err != nil {
		return r, err
	}
	switch r.Op {
	case "subscribe", "unsubscribe":
		if len(r.Streams) == 0 || len(r.Streams) > wsMaxStreams {
			return r, apiErr(http.StatusBadRequest, codeInvalidParam, "streams: want 1 to %d stream names", wsMaxStreams)
		}
	case "login":
		if r.APIKey == "" || r.Timestamp == "" || r.Signature == "" {
			return r, apiErr(http.StatusBadRequest, codeMissingParam, "login needs apiKey, timestamp and signature")
		}
	case "order.place", "order.cancel", "order.amend":
		if len(r.Order) == 0 {
			return r, apiErr(http.StatusBadRequest, codeMissingParam, "%s needs an order object", r.Op)
		}
	case "ping":
	default:
		return r, apiErr(http.StatusBadRequest, codeInvalidParam, "op %q is not one of subscribe, unsubscribe, login, order.place, order.cancel, order.amend, ping", r.Op)
	}
	return r, nil
}

// wsConn is one WebSocket connection.
type wsConn struct {
	s   *Server
	ws  *websocket.Conn
	out chan wsOut
	// replyBufs holds written replies' buffers, for the next replies.
	replyBufs chan []byte
	ctx       context.Context
	cancel    context.CancelFunc
	once      sync.Once
	dead      atomic.Bool
	// who is set by a successful login (the reader's).
	who    *principal
	key    string
	orders chan wsOrder
	nsubs  int
	// host is the client's address without its port: what failed logins
	// count against, as failed REST requests do.
	host string
	// spans is batch's scratch: where each request of a batch lies.
	spans [][2]int
	// userOn: the connection is on account userAcct's user stream.
	userOn   bool
	userAcct engine.AccountID
}

// on reports whether c is on stream name.
func (c *wsConn) on(name string) bool {
	if name == "user" {
		return c.userOn
	}
	return c.s.hub.subscribed(c, name)
}

// wsOrder is one order op waiting for its turn at the sequencer.
type wsOrder struct {
	id  uint64
	op  string
	cmd engine.Command
	m   *engine.Market
}

// wsOut is a queued message. own marks a buffer of the connection's own
// (a reply), which the writer recycles once it is written; a stream's
// messages are shared with other connections.
type wsOut struct {
	msg []byte
	own bool
}

// send queues msg; a full queue cuts the connection off (slow consumer).
// It never blocks, so the hub can call it under its lock.
func (c *wsConn) send(msg []byte) bool {
	return c.queue(wsOut{msg: msg})
}

func (c *wsConn) queue(m wsOut) bool {
	if c.dead.Load() {
		return false
	}
	select {
	case c.out <- m:
		return true
	default:
		c.kill(websocket.StatusPolicyViolation, fmt.Sprintf("slow consumer: %d messages behind", wsQueue))
		return false
	}
}

// kill closes the connection with code and reason, once.
func (c *wsConn) kill(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		c.dead.Store(true)
		c.cancel()
		go c.ws.Close(code, reason) // the closing handshake waits for the peer
	})
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	host := remoteHost(r)
	if !s.addrs.allow(host) {
		writeError(w, apiErr(http.StatusTooManyRequests, codeRateLimited, "rate limit: %g requests per second", s.cfg.RateLimit))
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept answered the request
	}
	ws.SetReadLimit(wsMaxMessage)
	ctx, cancel := context.WithCancel(context.Background())
	c := &wsConn{s: s, ws: ws, out: make(chan wsOut, wsQueue), replyBufs: make(chan []byte, 64), ctx: ctx, cancel: cancel, orders: make(chan wsOrder, 4096), host: host}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.writer() }()
	go func() { defer wg.Done(); c.submitter() }()
	c.reader()
	c.kill(websocket.StatusNormalClosure, "")
	s.hub.drop(c)
	close(c.orders)
	wg.Wait()
}

// wsCoalesce bounds the messages the writer joins into one batch.
const wsCoalesce = 256

// writer sends the queued messages. When several wait, it sends them as
// one batch (a JSON array of the messages, at most wsCoalesce entries and,
// past one message, at most wsMaxMessage bytes, as docs/WEBSOCKET.md
// promises): one frame and one system call instead of one each, which is
// what keeps a pipelining bot's answers and a busy stream cheap.
func (c *wsConn) writer() {
	var buf []byte
	var carry wsOut
	for {
		m := carry
		carry = wsOut{}
		if m.msg == nil {
			select {
			case m = <-c.out:
			case <-c.ctx.Done():
				return
			}
		}
		msg := m.msg
		if n := len(c.out); n > 0 {
			// An entry that is a batch already (broadcastBatches) joins
			// with its elements, not as an array inside the array.
			buf = append(append(buf[:0], '['), unbatch(m.msg)...)
			c.recycle(m) // copied
			for range min(n, wsCoalesce-1) {
				next := <-c.out
				if len(buf)+len(next.msg)+1 > wsMaxMessage {
					carry = next // the next frame's first
					break
				}
				buf = append(append(buf, ','), unbatch(next.msg)...)
				c.recycle(next)
			}
			msg, m = append(buf, ']'), wsOut{}
		}
		wctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		err := c.ws.Write(wctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			c.kill(websocket.StatusGoingAway, "write failed")
			return
		}
		c.recycle(m) // written: Write keeps nothing of msg
	}
}

// replyBuf returns an empty buffer for a reply: a recycled one if any.
func (c *wsConn) replyBuf() []byte {
	select {
	case b := <-c.replyBufs:
		return b[:0]
	default:
		return make([]byte, 0, 320)
	}
}

// recycle keeps a written reply's buffer for replyBuf (not a stream's
// message, which other connections share, nor an outsized one): at most
// 64 of 1 KiB per connection.
func (c *wsConn) recycle(m wsOut) {
	if !m.own || cap(m.msg) > 1024 {
		return
	}
	select {
	case c.replyBufs <- m.msg:
	default:
	}
}

// unbatch returns a queued message for a batch: a batch's elements
// without its brackets, any other message as it is.
func unbatch(msg []byte) []byte {
	if len(msg) >= 2 && msg[0] == '[' && msg[len(msg)-1] == ']' {
		return msg[1 : len(msg)-1]
	}
	return msg
}

func (c *wsConn) reader() {
	// Each message is read into one buffer, reused: a request is handled
	// (decoded, and an order's command built) before the next is read,
	// and nothing keeps its bytes (the decoders copy what they keep).
	var buf bytes.Buffer
	for {
		typ, b, err := c.read(&buf)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				c.kill(websocket.StatusMessageTooBig, "message too big")
			}
			return
		}
		if typ != websocket.MessageText {
			c.reply(0, nil, apiErr(http.StatusBadRequest, codeMalformed, "send JSON text messages"))
			continue
		}
		if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '[' {
			// A batch: its requests in order, as if sent one by one.
			if err := c.batch(t); err != nil {
				c.reply(0, nil, err)
			}
			continue
		}
		c.request(b)
	}
}

// wsMaxBatch bounds the requests of one batch message.
const wsMaxBatch = 1000

// batch handles the requests of a JSON array one by one, once the whole
// array has split cleanly: a frame that is not a JSON array of at most
// wsMaxBatch values (cut short, trailing bytes, too many) is refused whole,
// none of its requests handled. It only splits the array (each request is
// decoded, strictly, on its own, and answered on its own), so a batch
// costs no extra parse.
func (c *wsConn) batch(b []byte) error {
	spans, err := splitBatch(b, c.spans[:0])
	c.spans = spans
	if err != nil {
		return err
	}
	for _, sp := range spans {
		c.request(b[sp[0]:sp[1]])
	}
	return nil
}

// splitBatch appends to spans the start and end of each value of the JSON
// array b (which starts with '['), or refuses it.
func splitBatch(b []byte, spans [][2]int) ([][2]int, error) {
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' && skipSpace(b, i+1) == len(b) {
		return spans, nil // []
	}
	for {
		end := skipValue(b, i)
		if end <= i || end > len(b) {
			return spans, apiErr(http.StatusBadRequest, codeMalformed, "a batch must be a JSON array of requests; nothing in it was handled")
		}
		if len(spans) == wsMaxBatch {
			return spans, apiErr(http.StatusBadRequest, codeMalformed, "a batch holds at most %d requests; nothing in it was handled", wsMaxBatch)
		}
		spans = append(spans, [2]int{i, end})
		i = skipSpace(b, end)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']' && skipSpace(b, i+1) == len(b):
			return spans, nil
		default:
			return spans, apiErr(http.StatusBadRequest, codeMalformed, "a batch must be a JSON array of requests; nothing in it was handled")
		}
	}
}

func (c *wsConn) request(b []byte) {
	req, err := parseWSRequest(b)
	if err == nil {
		err = c.handle(&req)
	}
	if err != nil {
		c.reply(req.ID, nil, err)
	}
}

// read reads the next message into buf, as Conn.Read does into a new
// slice each time; the bytes are buf's, valid until the next read.
func (c *wsConn) read(buf *bytes.Buffer) (websocket.MessageType, []byte, error) {
	typ, r, err := c.ws.Reader(c.ctx)
	if err != nil {
		return 0, nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return 0, nil, err
	}
	return typ, buf.Bytes(), nil
}

// replyOrder answers request id with an order's result: by hand when the
// fast writer can (by pointer: an OrderResult passed as an any is copied
// to the heap first), else as reply would.
func (c *wsConn) replyOrder(id uint64, r *OrderResult) {
	if msg, ok := appendOrderReply(c.replyBuf(), id, r); ok {
		c.queue(wsOut{msg: msg, own: true})
		return
	}
	c.reply(id, *r, nil)
}

// reply answers request id with result or err.
func (c *wsConn) reply(id uint64, result any, err error) {
	var ae *APIError
	if err != nil && !errors.As(err, &ae) {
		ae = apiErr(http.StatusInternalServerError, codeInternal, "internal error")
	}
	if ae != nil && c.s.metrics != nil {
		c.s.metrics.refused.WithLabelValues(ae.Code).Inc() // as REST's refusals are
	}
	msg, merr := json.Marshal(struct {
		ID     uint64    `json:"id"`
		Result any       `json:"result,omitempty"`
		Error  *APIError `json:"error,omitempty"`
	}{id, result, ae})
	if merr != nil {
		panic(merr)
	}
	c.send(msg)
}

func (c *wsConn) handle(req *wsRequest) error {
	s := c.s
	switch req.Op {
	case "ping":
		c.reply(req.ID, "pong", nil)
	case "subscribe":
		for _, name := range req.Streams {
			if name == "user" {
				if c.who == nil {
					return apiErr(http.StatusUnauthorized, codeUnauthorized, "log in before subscribing to the user stream")
				}
				continue
			}
			if _, ok := s.hub.validStream(name); !ok {
				return apiErr(http.StatusBadRequest, codeInvalidParam, "unknown stream %q", name)
			}
		}
		// Only streams the connection is not on count toward its cap: a
		// subscription again (after a gap in the depth diffs, for a new
		// snapshot) takes no more room.
		fresh := 0
		for i, name := range req.Streams {
			if !slices.Contains(req.Streams[:i], name) && !c.on(name) {
				fresh++
			}
		}
		if c.nsubs+fresh > wsMaxStreams {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "at most %d streams per connection", wsMaxStreams)
		}
		// The answer first, then the streams' first messages.
		c.reply(req.ID, req.Streams, nil)
		for i, name := range req.Streams {
			if slices.Contains(req.Streams[:i], name) {
				continue
			}
			if name == "user" {
				if !c.userOn {
					c.userOn, c.userAcct = true, c.who.account
					c.nsubs++
				}
				s.hub.subscribeUser(c, c.userAcct, req.Since)
				continue
			}
			m, _ := s.hub.validStream(name)
			if s.hub.subscribe(c, name, m) {
				c.nsubs++
			}
		}
	case "unsubscribe":
		for _, name := range req.Streams {
			switch {
			case name == "user":
				if c.userOn {
					s.hub.unsubscribeUser(c, c.userAcct)
					c.userOn = false
					c.nsubs--
				}
			case s.hub.unsubscribe(c, name):
				c.nsubs--
			}
		}
		c.reply(req.ID, req.Streams, nil)
	case "login":
		who, err := s.wsLogin(req)
		if err != nil {
			// Failed logins count against the address, as failed REST
			// requests do: guessing keys is as slow as the rate limit.
			if !s.addrs.allow(c.host) {
				return apiErr(http.StatusTooManyRequests, codeRateLimited, "rate limit: %g requests per second", s.cfg.RateLimit)
			}
			return err
		}
		c.who, c.key = &who, req.APIKey
		c.reply(req.ID, map[string]engine.AccountID{"account": who.account}, nil)
	default: // order ops
		if c.who == nil {
			return apiErr(http.StatusUnauthorized, codeUnauthorized, "log in before sending orders")
		}
		if !s.limits.allow(c.key) {
			return apiErr(http.StatusTooManyRequests, codeRateLimited, "rate limit: %g requests per second", s.cfg.RateLimit)
		}
		o, err := s.wsCommand(c.who.account, req)
		if err != nil {
			return err
		}
		select {
		case c.orders <- o:
		case <-c.ctx.Done():
		}
	}
	return nil
}

// wsLogin checks a login as a signed request would be checked: the key, an
// account that exists, the timestamp within the window, and the signature
// of (timestamp, GET, /v1/ws, no query, body "login").
func (s *Server) wsLogin(req *wsRequest) (principal, error) {
	who, ok := s.keys.parse(req.APIKey)
	switch {
	case !ok:
		return who, apiErr(http.StatusUnauthorized, codeUnauthorized, "unknown API key")
	case who.admin:
		return who, apiErr(http.StatusForbidden, codeForbidden, "the admin key has no account")
	case !s.accounts.has(who.account):
		return who, apiErr(http.StatusUnauthorized, codeUnauthorized, "no such account")
	}
	ms, err := strconv.ParseInt(req.Timestamp, 10, 64)
	window := time.Duration(s.cfg.RecvWindow).Milliseconds()
	if d := s.now().UnixMilli() - ms; err != nil || d > window || -d > window {
		return who, apiErr(http.StatusUnauthorized, codeStaleTimestamp, "timestamp outside the %s window", time.Duration(s.cfg.RecvWindow))
	}
	if !verifySignature(who.secret, req.Signature, req.Timestamp, http.MethodGet, "/v1/ws", "", []byte(wsLoginPayload)) {
		return who, apiErr(http.StatusUnauthorized, codeBadSignature, "the signature does not match the login")
	}
	return who, nil
}

// wsCommand turns an order op into its command, with the REST API's
// checks.
func (s *Server) wsCommand(a engine.AccountID, req *wsRequest) (wsOrder, error) {
	o := wsOrder{id: req.ID, op: req.Op}
	var err error
	switch req.Op {
	case "order.place":
		var p placeRequest
		if err = decodeOrder(req.Order, &p, fastPlace(req.Order, &p)); err != nil {
			return o, err
		}
		o.cmd, o.m, err = s.placeCommand(a, &p)
	case "order.cancel":
		var ref orderRef
		if err = decodeOrder(req.Order, &ref, fastRef(req.Order, &ref)); err != nil {
			return o, err
		}
		o.cmd = engine.Command{Kind: engine.CmdCancelOrder, Account: a}
		o.m, err = s.resolveRef(ref, &o.cmd)
	case "order.amend":
		var am amendRequest
		if err = decodeOrder(req.Order, &am, fastAmend(req.Order, &am)); err != nil {
			return o, err
		}
		o.cmd = engine.Command{Kind: engine.CmdAmendOrder, Account: a}
		if o.m, err = s.resolveRef(am.orderRef, &o.cmd); err != nil {
			return o, err
		}
		if o.cmd.PriceTicks, err = ticks(o.m, am.Price, "price"); err != nil {
			return o, err
		}
		o.cmd.QtyLots, err = lots(o.m, am.Quantity, "quantity")
	}
	return o, err
}

// submitter sends the connection's orders to the sequencer: everything
// waiting goes in one batch, so a bot that pipelines orders pays the
// hand-off once per batch. Up to wsBatchesInFlight batches wait for their
// group commits at once (the sequencer keeps two groups in flight, and a
// connection with one batch at a time could fill only one); an answerer
// takes their results in order, so the answers keep the requests' order.
func (c *wsConn) submitter() {
	type inFlight struct {
		b       *wsBatch
		results <-chan []wal.Result
		start   time.Time
	}
	flights := make(chan inFlight, wsBatchesInFlight)
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		for f := range flights {
			results := <-f.results
			if c.s.metrics != nil {
				c.s.metrics.ackLatency.Observe(time.Since(f.start).Seconds())
			}
			for i := range f.b.orders {
				c.answerOrder(&f.b.orders[i], results[i])
			}
			wsBatches.put(f.b)
		}
	}()
	for o := range c.orders {
		b := wsBatches.get()
		b.orders = append(b.orders, o)
	more:
		for len(b.orders) < wsMaxOrderBatch {
			select {
			case o, ok := <-c.orders:
				if !ok {
					break more
				}
				b.orders = append(b.orders, o)
			default:
				break more
			}
		}
		for i := range b.orders { // b.cmds is empty: wsBatches.get
			b.cmds = append(b.cmds, b.orders[i].cmd)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.s.cfg.Timeout))
		flights <- inFlight{b: b, results: c.s.sub.SubmitAsync(ctx, b.cmds), start: time.Now()}
		cancel() // the batch is enqueued (or refused); its results come regardless
	}
	close(flights)
	<-answered
}

// wsBatch is a batch of a connection's orders and their commands.
type wsBatch struct {
	orders []wsOrder
	cmds   []engine.Command
}

// wsBatchPool keeps answered batches for the next ones, server-wide, so
// that what is kept follows the load, not the number of connections (a
// sync.Pool lets the collector take what a quiet spell leaves unused). A
// batch's buffers come back once it is answered: the sequencer reads a
// request's commands only while it applies them, before any result.
type wsBatchPool struct{ p sync.Pool }

var wsBatches wsBatchPool

func (bp *wsBatchPool) get() *wsBatch {
	if b, ok := bp.p.Get().(*wsBatch); ok {
		return b
	}
	return &wsBatch{orders: make([]wsOrder, 0, 64), cmds: make([]engine.Command, 0, 64)}
}

// put keeps b unless it grew past wsKeptBatch orders (a burst's).
func (bp *wsBatchPool) put(b *wsBatch) {
	if cap(b.orders) > wsKeptBatch {
		return
	}
	clear(b.orders) // the markets they point to
	b.orders, b.cmds = b.orders[:0], b.cmds[:0]
	bp.p.Put(b)
}

// wsKeptBatch bounds the batches the pool keeps.
const wsKeptBatch = 512

// wsMaxOrderBatch bounds the orders the submitter sends as one batch.
const wsMaxOrderBatch = 4096

// wsBatchesInFlight bounds a connection's batches waiting for durability.
const wsBatchesInFlight = 4

func (c *wsConn) answerOrder(o *wsOrder, res wal.Result) {
	if err := c.s.resultErr(res.Err); err != nil {
		c.reply(o.id, nil, err)
		return
	}
	for _, ev := range res.Events {
		if ev.Kind == engine.EventRejected {
			c.reply(o.id, nil, refusal(ev.Reason))
			return
		}
	}
	var out OrderResult
	switch o.op {
	case "order.place":
		out = orderResult(o.m, &o.cmd, res.Events, 0, res.Seq)
	case "order.cancel":
		out = c.s.withHistory(o.cmd.Account, orderResult(o.m, &o.cmd, res.Events, ownOrderID(&o.cmd, res.Events, engine.EventOrderCancelled), res.Seq))
	default:
		id := ownOrderID(&o.cmd, res.Events, engine.EventOrderAmended, engine.EventOrderCancelled)
		out = c.s.withHistory(o.cmd.Account, orderResult(o.m, &o.cmd, res.Events, id, res.Seq))
	}
	c.replyOrder(o.id, &out)
}
