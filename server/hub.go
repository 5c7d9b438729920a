package server

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// Hub fans durable events out to WebSocket subscribers. It keeps what the
// streams need beyond MarketData and History: a mirror of each book, built
// from the engine's EventBookLevel events, whose update ids the depth
// snapshots (REST and WebSocket) and the depth diffs share, so a client
// can chain diffs onto any snapshot and see a gap; and for each account
// that has subscribed to its user stream, a ring of its latest messages,
// so a client that reconnects resumes without loss.
//
// Apply runs on the sequencer's committer goroutine (OnCommit), after
// MarketData and History took the same group. It never blocks: each
// connection has a bounded queue, and a connection whose queue is full is
// cut off as a slow consumer.
type Hub struct {
	mu      sync.Mutex
	markets []engine.Market
	md      *MarketData
	books   []mirrorBook
	streams map[string]map[*wsConn]struct{}
	users   map[engine.AccountID]*userFeed
	// userRing is how many messages an account's feed keeps for resuming.
	userRing int
}

// mirrorBook is one market's book as the events tell it.
type mirrorBook struct {
	levels   [3]map[int64]int64 // by orderbook.Side: price → lots
	updateID uint64             // commands that changed the book
	lastSeq  uint64             // the command that last changed it
	// This group's diff: the levels it changed with their final totals,
	// and the first update id it covers.
	diff    map[levelKey]int64
	firstID uint64
}

type levelKey struct {
	side  orderbook.Side
	price int64
}

// userFeed is an account's user stream: the latest messages, numbered
// from 1 since the feed was made (a restart begins anew), and the
// connections that listen.
type userFeed struct {
	next  uint64
	ring  [][]byte // message n at ring[(n-1) % len(ring)]
	conns map[*wsConn]struct{}
}

// NewHub makes a hub over md; Seed must fill the mirrors before the
// sequencer runs.
func NewHub(markets []engine.Market, md *MarketData) *Hub {
	h := &Hub{markets: markets, md: md, books: make([]mirrorBook, len(markets)), streams: map[string]map[*wsConn]struct{}{},
		users: map[engine.AccountID]*userFeed{}, userRing: 4096}
	for i := range h.books {
		for s := range h.books[i].levels {
			h.books[i].levels[s] = map[int64]int64{}
		}
		h.books[i].diff = map[levelKey]int64{}
	}
	return h
}

// Seed copies the engine's books into the mirrors (at start, with the
// engine still; update ids start at 0).
func (h *Hub) Seed(e *engine.Engine) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range h.books {
		for _, side := range []orderbook.Side{orderbook.Buy, orderbook.Sell} {
			for _, l := range e.Book(engine.MarketID(m)).Depth(side, 1<<30, nil) {
				h.books[m].levels[side][l.PriceTicks] = l.TotalLots
			}
		}
	}
}

// Depth returns up to limit levels of each side of market m's mirror, best
// first, with its update id.
func (h *Hub) Depth(m engine.MarketID, limit int) (bids, asks []orderbook.Level, updateID uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := &h.books[m]
	return sortedLevels(b.levels[orderbook.Buy], true, limit), sortedLevels(b.levels[orderbook.Sell], false, limit), b.updateID
}

func sortedLevels(levels map[int64]int64, desc bool, limit int) []orderbook.Level {
	out := make([]orderbook.Level, 0, len(levels))
	for p, q := range levels {
		out = append(out, orderbook.Level{PriceTicks: p, TotalLots: q})
	}
	slices.SortFunc(out, func(a, b orderbook.Level) int {
		if desc {
			return int(b.PriceTicks - a.PriceTicks)
		}
		return int(a.PriceTicks - b.PriceTicks)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Stream names: "depth:SYM", "trades:SYM", "mark:SYM", "liquidations:SYM",
// "ticker:SYM", "kline:SYM:INTERVAL"; and "user" (after login).
func (h *Hub) validStream(name string) (engine.MarketID, bool) {
	kind, rest, _ := strings.Cut(name, ":")
	sym, iv, hasIv := strings.Cut(rest, ":")
	m := -1
	for i := range h.markets {
		if h.markets[i].Symbol == sym {
			m = i
		}
	}
	if m < 0 {
		return 0, false
	}
	switch kind {
	case "depth", "trades", "mark", "liquidations", "ticker":
		return engine.MarketID(m), !hasIv
	case "kline":
		return engine.MarketID(m), hasIv && slices.Contains(KlineIntervals(), iv)
	}
	return 0, false
}

// subscribe adds c to stream, and reports whether it was not on it
// already. For depth it first queues a snapshot, so the diffs that follow
// chain onto it, and for a mark the current one: also when c is on the
// stream already, since subscribing again is how a client that saw a gap
// in the diffs starts over.
func (h *Hub) subscribe(c *wsConn, stream string, m engine.MarketID) (added bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.streams[stream]
	if subs == nil {
		subs = map[*wsConn]struct{}{}
		h.streams[stream] = subs
	}
	if _, on := subs[c]; !on {
		subs[c], added = struct{}{}, true
	}
	switch {
	case strings.HasPrefix(stream, "mark:"):
		// The current mark first: it may not change for a while.
		c.send(streamMessage(stream, h.md.Mark(m)))
	case strings.HasPrefix(stream, "depth:"):
		b := &h.books[m]
		snap := depthMessage{Symbol: h.markets[m].Symbol, Snapshot: true, UpdateID: b.updateID,
			Bids: levels(&h.markets[m], sortedLevels(b.levels[orderbook.Buy], true, 1<<30)),
			Asks: levels(&h.markets[m], sortedLevels(b.levels[orderbook.Sell], false, 1<<30))}
		c.send(streamMessage(stream, snap))
	}
	return added
}

// subscribed reports whether c is on stream.
func (h *Hub) subscribed(c *wsConn, stream string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, on := h.streams[stream][c]
	return on
}

// unsubscribe takes c off stream, and reports whether it was on it.
func (h *Hub) unsubscribe(c *wsConn, stream string) (removed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, on := h.streams[stream][c]; on {
		delete(h.streams[stream], c)
		return true
	}
	return false
}

// subscribeUser adds c to account a's user stream and queues the kept
// messages after since (0: none). When since is older than what is kept
// (or from before a restart) the client gets a "reset" message instead:
// messages were lost to it, and it must read its state from the REST API.
func (h *Hub) subscribeUser(c *wsConn, a engine.AccountID, since uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.users[a]
	if f == nil {
		f = &userFeed{ring: make([][]byte, 0, 64), conns: map[*wsConn]struct{}{}}
		h.users[a] = f
	}
	f.conns[c] = struct{}{}
	kept := uint64(len(f.ring))
	switch {
	case since == 0:
	case since > f.next || since+kept < f.next:
		// Unknown or forgotten: everything from here on, after a reset.
		c.send(userMessage(0, 0, userReset{Type: "reset", Next: f.next + 1}))
	default:
		for n := since + 1; n <= f.next; n++ {
			if !c.send(f.ring[(n-1)%uint64(h.userRing)]) {
				return
			}
		}
	}
}

// unsubscribeUser takes c off account a's user stream.
func (h *Hub) unsubscribeUser(c *wsConn, a engine.AccountID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.users[a]; f != nil {
		delete(f.conns, c)
	}
}

// drop removes c everywhere (it closed).
func (h *Hub) drop(c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.streams {
		delete(subs, c)
	}
	for _, f := range h.users {
		delete(f.conns, c)
	}
}

// Apply takes a durable group (after MarketData and History).
func (h *Hub) Apply(cmds []engine.Command, results []wal.Result) {
	h.mu.Lock()
	defer h.mu.Unlock()
	nm := len(h.markets)
	trades, liqs := make([]int, nm), make([]int, nm)
	marks := make([]bool, nm)
	for i := range results {
		if results[i].Err != nil {
			continue
		}
		seq := cmds[i].Seq
		for k := range results[i].Events {
			ev := &results[i].Events[k]
			if int(ev.Market) < nm {
				switch ev.Kind {
				case engine.EventBookLevel:
					h.level(ev, seq)
					continue
				case engine.EventFill:
					if ev.MakerOrderID != 0 {
						trades[ev.Market]++
					}
				case engine.EventMarkPrice:
					marks[ev.Market] = true
				case engine.EventLiquidation:
					liqs[ev.Market]++
				}
			}
			if len(h.users) > 0 {
				h.userEvent(ev, seq, cmds[i].TsNanos)
			}
		}
	}
	for m := range nm {
		h.publishMarket(engine.MarketID(m), trades[m], liqs[m], marks[m])
	}
}

// level applies one level change to market ev.Market's mirror.
func (h *Hub) level(ev *engine.Event, seq uint64) {
	b := &h.books[ev.Market]
	if b.lastSeq != seq {
		b.lastSeq = seq
		b.updateID++
		if len(b.diff) == 0 {
			b.firstID = b.updateID
		}
	}
	if ev.QtyLots == 0 {
		delete(b.levels[ev.Side], ev.PriceTicks)
	} else {
		b.levels[ev.Side][ev.PriceTicks] = ev.QtyLots
	}
	b.diff[levelKey{ev.Side, ev.PriceTicks}] = ev.QtyLots
}

// publishMarket sends market m's streams what this group changed.
func (h *Hub) publishMarket(m engine.MarketID, trades, liqs int, mark bool) {
	mk := &h.markets[m]
	sym := mk.Symbol
	if b := &h.books[m]; len(b.diff) > 0 {
		if subs := h.streams["depth:"+sym]; len(subs) > 0 {
			d := depthMessage{Symbol: sym, FirstUpdateID: b.firstID, UpdateID: b.updateID, Bids: [][2]decimal.Decimal{}, Asks: [][2]decimal.Decimal{}}
			keys := make([]levelKey, 0, len(b.diff))
			for k := range b.diff {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(x, y levelKey) int { return int(x.price - y.price) })
			for _, k := range keys {
				l := [2]decimal.Decimal{mk.Grid.Price(k.price), mk.Grid.Qty(b.diff[k])}
				if k.side == orderbook.Buy {
					d.Bids = append(d.Bids, l)
				} else {
					d.Asks = append(d.Asks, l)
				}
			}
			h.broadcast(subs, streamMessage("depth:"+sym, d))
		}
		clear(b.diff)
	}
	// Trades and liquidations: all of the group's, however many (the
	// market data's history keeps the latest only).
	if subs := h.streams["trades:"+sym]; trades > 0 && len(subs) > 0 {
		ts := h.md.FreshTrades(m)
		h.broadcastBatches(subs, len(ts), func(i int) []byte { return streamMessage("trades:"+sym, ts[i]) })
	}
	if trades > 0 {
		if subs := h.streams["ticker:"+sym]; len(subs) > 0 {
			h.broadcast(subs, streamMessage("ticker:"+sym, h.md.Ticker(m)))
		}
		for _, iv := range KlineIntervals() {
			name := "kline:" + sym + ":" + iv
			if subs := h.streams[name]; len(subs) > 0 {
				if ks, err := h.md.Klines(m, iv, 0, 0, 1); err == nil && len(ks) == 1 {
					h.broadcast(subs, streamMessage(name, ks[0]))
				}
			}
		}
	}
	if mark {
		if subs := h.streams["mark:"+sym]; len(subs) > 0 {
			h.broadcast(subs, streamMessage("mark:"+sym, h.md.Mark(m)))
		}
	}
	if subs := h.streams["liquidations:"+sym]; liqs > 0 && len(subs) > 0 {
		ls := h.md.FreshLiquidations(m)
		h.broadcastBatches(subs, len(ls), func(i int) []byte { return streamMessage("liquidations:"+sym, ls[i]) })
	}
}

// broadcastBatches sends n messages (msg builds the i-th) as batches of
// up to wsCoalesce and wsMaxMessage bytes, each one entry of a
// connection's queue: a cascade's group can carry tens of thousands of
// trades or liquidations, which one by one would fill the queue of a
// client reading as fast as it can and cut it off as a slow consumer.
func (h *Hub) broadcastBatches(subs map[*wsConn]struct{}, n int, msg func(int) []byte) {
	var b []byte
	count := 0
	flush := func() {
		if count == 1 {
			h.broadcast(subs, b[1:]) // one message goes as itself
		} else if count > 1 {
			h.broadcast(subs, append(b, ']'))
		}
		b, count = nil, 0 // the queues keep it
	}
	for i := range n {
		m := msg(i)
		if count == wsCoalesce || (count > 0 && len(b)+len(m)+2 > wsMaxMessage) {
			flush()
		}
		if count == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = append(b, m...)
		count++
	}
	flush()
}

func (h *Hub) broadcast(subs map[*wsConn]struct{}, msg []byte) {
	for c := range subs {
		c.send(msg)
	}
}

// depthMessage is a depth stream's message: a snapshot (on subscribing)
// or a diff of the levels changed by updates FirstUpdateID to UpdateID,
// each with its new total ("0": gone). A diff whose FirstUpdateID is not
// the previous message's UpdateID + 1 means a gap: resubscribe.
type depthMessage struct {
	Symbol        string               `json:"symbol"`
	Snapshot      bool                 `json:"snapshot,omitempty"`
	FirstUpdateID uint64               `json:"firstUpdateId,omitempty"`
	UpdateID      uint64               `json:"updateId"`
	Bids          [][2]decimal.Decimal `json:"bids"`
	Asks          [][2]decimal.Decimal `json:"asks"`
}

// streamMessage encodes a stream's message once, for every subscriber.
func streamMessage(stream string, data any) []byte {
	b, err := json.Marshal(struct {
		Stream string `json:"stream"`
		Data   any    `json:"data"`
	}{stream, data})
	if err != nil {
		panic(err) // only our own types of decimals, strings and numbers
	}
	return b
}

// userMessage encodes message n of a user stream (0 for a reset).
func userMessage(n, seq uint64, data any) []byte {
	b, err := json.Marshal(struct {
		Stream string `json:"stream"`
		N      uint64 `json:"n,omitempty"`
		Seq    uint64 `json:"seq,omitempty"`
		Data   any    `json:"data"`
	}{"user", n, seq, data})
	if err != nil {
		panic(err)
	}
	return b
}

// userReset tells a resuming client that messages were lost to it: it
// must read its state from the REST API; Next is the number of the next
// message.
type userReset struct {
	Type string `json:"type"`
	Next uint64 `json:"next"`
}

// userEvent turns ev into the user-stream messages of the accounts it
// concerns that have a feed.
func (h *Hub) userEvent(ev *engine.Event, seq uint64, ts int64) {
	var who [2]engine.AccountID
	n := 0
	switch ev.Kind {
	case engine.EventOrderAccepted, engine.EventOrderCancelled, engine.EventOrderAmended, engine.EventOrderTriggered,
		engine.EventPosition, engine.EventBalance, engine.EventFunding, engine.EventMarginCall, engine.EventLiquidation,
		engine.EventSettings:
		who[0], n = ev.Account, 1
	case engine.EventFill:
		who[0], who[1], n = ev.Account, ev.MakerAccount, 2
	case engine.EventADL:
		who[0], n = ev.Account, 1
	default:
		return
	}
	for i := range n {
		a := who[i]
		f := h.users[a]
		if f == nil {
			continue
		}
		data := h.userData(ev, a, i == 1, ts)
		if data == nil {
			continue
		}
		f.next++
		msg := userMessage(f.next, seq, data)
		// Message n lives at (n-1) mod userRing: appended while the ring
		// grows, written over once it is full.
		if len(f.ring) < h.userRing {
			f.ring = append(f.ring, msg)
		} else {
			f.ring[(f.next-1)%uint64(h.userRing)] = msg
		}
		for c := range f.conns {
			c.send(msg)
		}
	}
}

// UserOrder is a user-stream message about one of the account's orders:
// Event is what happened (accepted, amended, triggered, cancelled).
type UserOrder struct {
	Type          string           `json:"type"` // "order"
	Event         string           `json:"event"`
	OrderID       uint64           `json:"orderId"`
	ClientOrderID string           `json:"clientOrderId,omitempty"`
	Symbol        string           `json:"symbol"`
	Side          string           `json:"side"`
	Price         *decimal.Decimal `json:"price,omitempty"`
	Quantity      decimal.Decimal  `json:"quantity"`
	RemainingQty  *decimal.Decimal `json:"remainingQty,omitempty"`
	Reason        string           `json:"reason,omitempty"`
	Trigger       string           `json:"trigger,omitempty"`
	TriggerBy     string           `json:"triggerBy,omitempty"`
	TriggerPrice  *decimal.Decimal `json:"triggerPrice,omitempty"`
	Time          int64            `json:"time"`
}

// UserFill is one of the account's fills.
type UserFill struct {
	Type    string          `json:"type"` // "fill"
	OrderID uint64          `json:"orderId"`
	Symbol  string          `json:"symbol"`
	Side    string          `json:"side"`
	Price   decimal.Decimal `json:"price"`
	Qty     decimal.Decimal `json:"qty"`
	Fee     decimal.Decimal `json:"fee"`
	Maker   bool            `json:"maker"`
	Cause   string          `json:"cause,omitempty"`
	Time    int64           `json:"time"`
}

// UserPosition is the account's position in a market after a change.
type UserPosition struct {
	Type             string           `json:"type"` // "position"
	Symbol           string           `json:"symbol"`
	MarginMode       string           `json:"marginMode"`
	Size             decimal.Decimal  `json:"size"`
	EntryPrice       decimal.Decimal  `json:"entryPrice"`
	IsolatedMargin   decimal.Decimal  `json:"isolatedMargin"`
	RealizedPnl      decimal.Decimal  `json:"realizedPnl"`
	LiquidationPrice *decimal.Decimal `json:"liquidationPrice"`
	Time             int64            `json:"time"`
}

// UserBalance is a change of the account's wallet.
type UserBalance struct {
	Type   string          `json:"type"` // "balance"
	Cause  string          `json:"cause"`
	Amount decimal.Decimal `json:"amount"`
	Wallet decimal.Decimal `json:"wallet"`
	Time   int64           `json:"time"`
}

// UserEvent is any other user-stream message: funding, margin-call,
// liquidation, adl, settings.
type UserEvent struct {
	Type            string           `json:"type"`
	Symbol          string           `json:"symbol,omitempty"`
	MarginMode      string           `json:"marginMode,omitempty"`
	Side            string           `json:"side,omitempty"`
	Qty             *decimal.Decimal `json:"qty,omitempty"`
	Price           *decimal.Decimal `json:"price,omitempty"`
	Amount          *decimal.Decimal `json:"amount,omitempty"`
	Balance         *decimal.Decimal `json:"balance,omitempty"`
	Rate            *decimal.Decimal `json:"rate,omitempty"`
	Leverage        int64            `json:"leverage,omitempty"`
	BankruptcyPrice *decimal.Decimal `json:"bankruptcyPrice,omitempty"`
	FundQty         *decimal.Decimal `json:"fundQty,omitempty"`
	ADLQty          *decimal.Decimal `json:"adlQty,omitempty"`
	Time            int64            `json:"time"`
}

func decPtr(d decimal.Decimal) *decimal.Decimal { return &d }

// userData is ev as account a sees it (maker: a is the fill's maker).
func (h *Hub) userData(ev *engine.Event, a engine.AccountID, maker bool, ts int64) any {
	ms := ts / 1_000_000
	var mk *engine.Market
	if int(ev.Market) < len(h.markets) {
		mk = &h.markets[ev.Market]
	}
	switch ev.Kind {
	case engine.EventOrderAccepted, engine.EventOrderCancelled, engine.EventOrderAmended, engine.EventOrderTriggered:
		o := UserOrder{Type: "order", Event: strings.TrimPrefix(ev.Kind.String(), "order-"), OrderID: uint64(ev.OrderID),
			Symbol: mk.Symbol, Side: ev.Side.String(), Quantity: mk.Grid.Qty(ev.QtyLots), Time: ms}
		if !ev.ClientOrderID.IsZero() {
			o.ClientOrderID = ev.ClientOrderID.String()
		}
		if ev.PriceTicks > 0 {
			o.Price = decPtr(mk.Grid.Price(ev.PriceTicks))
		}
		if ev.Kind == engine.EventOrderAmended {
			o.RemainingQty = decPtr(mk.Grid.Qty(ev.RemainingLots))
		}
		if ev.Reason != engine.ReasonNone {
			o.Reason = ev.Reason.String()
		}
		if ev.Trigger != engine.TriggerNone {
			o.Trigger, o.TriggerBy, o.TriggerPrice = ev.Trigger.String(), ev.TriggerBy.String(), decPtr(mk.Grid.Price(ev.TriggerTicks))
		}
		return o
	case engine.EventFill:
		f := UserFill{Type: "fill", OrderID: uint64(ev.OrderID), Symbol: mk.Symbol, Side: ev.Side.String(), Price: mk.Grid.Price(ev.PriceTicks),
			Qty: mk.Grid.Qty(ev.QtyLots), Fee: fixed.QuoteAmount(ev.FeeQuote), Time: ms}
		if maker {
			f.OrderID, f.Side, f.Fee, f.Maker = uint64(ev.MakerOrderID), ev.Side.Opposite().String(), fixed.QuoteAmount(ev.MakerFeeQuote), true
		}
		if ev.Cause != 0 {
			f.Cause = ev.Cause.String()
		}
		return f
	case engine.EventPosition:
		p := UserPosition{Type: "position", Symbol: mk.Symbol, MarginMode: ev.Mode.String(), Size: mk.Grid.Qty(ev.SizeLots),
			EntryPrice: entryPrice(mk, ev.SizeLots, ev.EntryValueQuote), IsolatedMargin: fixed.QuoteAmount(ev.IsolatedMarginQuote),
			RealizedPnl: fixed.QuoteAmount(ev.RealizedPnLQuote), Time: ms}
		if ev.LiqPriceTicks > 0 {
			p.LiquidationPrice = decPtr(mk.Grid.Price(ev.LiqPriceTicks))
		}
		return p
	case engine.EventBalance:
		return UserBalance{Type: "balance", Cause: ev.Cause.String(), Amount: fixed.QuoteAmount(ev.AmountQuote),
			Wallet: fixed.QuoteAmount(ev.BalanceQuote), Time: ms}
	case engine.EventFunding:
		return UserEvent{Type: "funding", Symbol: mk.Symbol, Rate: decPtr(fixed.Rate(ev.RatePpm)), Amount: decPtr(fixed.QuoteAmount(ev.AmountQuote)),
			Balance: decPtr(fixed.QuoteAmount(ev.BalanceQuote)), Time: ms}
	case engine.EventMarginCall:
		u := UserEvent{Type: "margin-call", MarginMode: ev.Mode.String(), Amount: decPtr(fixed.QuoteAmount(ev.AmountQuote)),
			Balance: decPtr(fixed.QuoteAmount(ev.BalanceQuote)), Rate: decPtr(fixed.Rate(ev.RatePpm)), Time: ms}
		if ev.Mode == clearing.Isolated { // the position's market
			u.Symbol = mk.Symbol
		}
		return u
	case engine.EventLiquidation:
		return UserEvent{Type: "liquidation", Symbol: mk.Symbol, Side: ev.Side.String(), Qty: decPtr(mk.Grid.Qty(ev.QtyLots)),
			BankruptcyPrice: decPtr(mk.Grid.Price(ev.PriceTicks)), FundQty: decPtr(mk.Grid.Qty(ev.SizeLots)),
			ADLQty: decPtr(mk.Grid.Qty(ev.RemainingLots)), Time: ms}
	case engine.EventADL:
		return UserEvent{Type: "adl", Symbol: mk.Symbol, Side: ev.Side.String(), Qty: decPtr(mk.Grid.Qty(ev.QtyLots)),
			Price: decPtr(mk.Grid.Price(ev.PriceTicks)), Time: ms}
	case engine.EventSettings:
		return UserEvent{Type: "settings", Symbol: mk.Symbol, MarginMode: ev.Mode.String(), Leverage: ev.Leverage, Time: ms}
	}
	return nil
}
