package server

import (
	"slices"
	"sync"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// Order statuses, as OrderInfo.Status reports them.
const (
	// OrderStatusUntriggered: a stop or take-profit order waiting outside
	// the book for its trigger. When it fires it enters the book in the
	// same command and goes on as any order (OrderInfo.Triggered says it
	// fired); a group is applied whole, so no read sees it in between.
	OrderStatusUntriggered = "untriggered"
	// OrderStatusNew: in the book, nothing filled.
	OrderStatusNew = "new"
	// OrderStatusPartiallyFilled: in the book, part filled.
	OrderStatusPartiallyFilled = "partially-filled"
	// OrderStatusFilled: ended, filled in full (or amended down to what had
	// filled).
	OrderStatusFilled = "filled"
	// OrderStatusCancelled: ended before it filled in full;
	// OrderInfo.CancelReason says why (the engine's reason names: "user",
	// "unfilled-remainder" for what an IOC or market order could not fill,
	// "fok-not-filled", "self-trade", "cancel-all", "reduce-only",
	// "liquidation", or a refusal's reason for a triggered order the engine
	// refused as it fired).
	OrderStatusCancelled = "cancelled"
)

// AllMarkets, as the market of OrderHistory or Fills, selects every market.
const AllMarkets engine.MarketID = 1<<16 - 1

// DefaultHistoryPerAccount is how many ended orders and how many fills
// History keeps per account when NewHistory is given 0.
const DefaultHistoryPerAccount = 500

// maxHistoryPerAccount bounds what a config may ask for.
const maxHistoryPerAccount = 100_000

type histStatus uint8

const (
	histUntriggered histStatus = iota
	histNew
	histPartiallyFilled
	histFilled
	histCancelled
)

var histStatusNames = [...]string{histUntriggered: OrderStatusUntriggered, histNew: OrderStatusNew,
	histPartiallyFilled: OrderStatusPartiallyFilled, histFilled: OrderStatusFilled, histCancelled: OrderStatusCancelled}

// OrderInfo is an order as the private API shows it.
type OrderInfo struct {
	OrderID       uint64 `json:"orderId"`
	ClientOrderID string `json:"clientOrderId,omitempty"`
	Symbol        string `json:"symbol"`
	Side          string `json:"side"`        // "buy" or "sell"
	Type          string `json:"type"`        // "limit" or "market"
	TimeInForce   string `json:"timeInForce"` // "gtc", "ioc", "fok" or "post-only"
	ReduceOnly    bool   `json:"reduceOnly"`
	// SelfTradePrevention is "none", "cancel-taker", "cancel-maker" or
	// "cancel-both".
	SelfTradePrevention string `json:"selfTradePrevention"`
	// Price is the limit price; for a market order its protection price,
	// 0 if none.
	Price decimal.Decimal `json:"price"`
	// OrigQty is the order's quantity: as placed, as last amended, or as
	// the engine cut a reduce-only order to the position.
	OrigQty     decimal.Decimal `json:"origQty"`
	ExecutedQty decimal.Decimal `json:"executedQty"`
	// CumQuote is the filled notional (USDT), AvgPrice CumQuote divided by
	// ExecutedQty, rounded half away from zero to 8 places (0 if nothing
	// filled).
	CumQuote decimal.Decimal `json:"cumQuote"`
	AvgPrice decimal.Decimal `json:"avgPrice"`
	// Status is one of the OrderStatus values; CancelReason is set when it
	// is "cancelled".
	Status       string `json:"status"`
	CancelReason string `json:"cancelReason,omitempty"`
	// A stop or take-profit order: TriggerType "stop" or "take-profit",
	// TriggerBy the price it watches ("mark" or "last"), StopPrice its
	// trigger; Triggered and TriggerTime once it fired.
	TriggerType string          `json:"triggerType,omitempty"`
	TriggerBy   string          `json:"triggerBy,omitempty"`
	StopPrice   decimal.Decimal `json:"stopPrice"`
	Triggered   bool            `json:"triggered"`
	TriggerTime int64           `json:"triggerTime,omitempty"` // unix ms
	// Liquidation marks an order the engine placed to close a liquidated
	// position (an IOC limit order at the bankruptcy price), or the
	// insurance fund's order unwinding a position it took over.
	Liquidation bool  `json:"liquidation"`
	Time        int64 `json:"time"`       // placed, unix ms
	UpdateTime  int64 `json:"updateTime"` // last change, unix ms
}

// FillInfo is one fill seen from one account: a trade of one of its
// orders, or a position closed off the book by a liquidation or
// auto-deleveraging. Both sides of a self-trade are listed.
type FillInfo struct {
	// TradeID is the trade's id on the market's public tape (MarketData's
	// Trade.ID); 0 for fills off the book (insurance fund takeovers and
	// auto-deleveraging), which are not on the tape.
	TradeID int64  `json:"tradeId"`
	OrderID uint64 `json:"orderId"` // 0 off the book
	Symbol  string `json:"symbol"`
	// Side is this account's: "buy" or "sell".
	Side     string          `json:"side"`
	Price    decimal.Decimal `json:"price"`
	Qty      decimal.Decimal `json:"qty"`
	QuoteQty decimal.Decimal `json:"quoteQty"`
	// Fee is what this account paid (USDT; negative: a rebate).
	Fee   decimal.Decimal `json:"fee"`
	Maker bool            `json:"maker"`
	// Cause is "" for an ordinary trade, "liquidation" when the taker was a
	// liquidation order or the fund took a position over, "adl" for
	// auto-deleveraging.
	Cause string `json:"cause,omitempty"`
	Time  int64  `json:"time"` // unix ms
}

// History is the private read model: each account's orders (open, and its
// latest ended ones) and fills, fed with durable events by Apply
// (wal.SequencerOptions.OnCommit, beside MarketData) and read by any number
// of goroutines.
//
// Memory is bounded: open orders are held until they end (the engine
// bounds them per account and market), and each account keeps its last
// perAccount ended orders and perAccount fills in rings that grow only
// as far as it uses them. Nothing is persisted: after a restart the
// history starts from the events since then, and orders opened before it
// are unknown here (the engine still knows them).
type History struct {
	mu         sync.RWMutex
	markets    []engine.Market
	perAccount int
	open       map[orderbook.OrderID]histOrder
	// openCIDs finds an open order by its client order id; an ended order's
	// id is free again for a new order, as in the engine.
	openCIDs map[histCIDKey]orderbook.OrderID
	accounts map[engine.AccountID]*histAccount
	// tradeIDs counts each market's trades on the tape, as MarketData does,
	// so a fill names its public trade.
	tradeIDs []int64
}

type histCIDKey struct {
	account engine.AccountID
	cid     engine.ClientOrderID
}

type histAccount struct {
	open   []orderbook.OrderID // increasing, as the engine assigns ids
	closed boundedRing[histOrder]
	fills  boundedRing[histFill]
}

// histOrder is an order's running state, written field by field from the
// events.
type histOrder struct {
	id                                 orderbook.OrderID
	priceTicks, qtyLots, filledLots    int64
	cumQuote, triggerTicks             int64
	createdNs, updatedNs, triggeredNs  int64
	account                            engine.AccountID
	market                             engine.MarketID
	side                               orderbook.Side
	typ                                orderbook.OrderType
	tif                                orderbook.TimeInForce
	stp                                orderbook.STP
	trigger                            engine.Trigger
	triggerBy                          engine.TriggerPrice
	status                             histStatus
	reason                             engine.Reason
	reduceOnly, liquidation, triggered bool
	cid                                engine.ClientOrderID
}

type histFill struct {
	tradeID                             int64
	orderID                             orderbook.OrderID
	priceTicks, qtyLots, feeQuote, tsNs int64
	market                              engine.MarketID
	side                                orderbook.Side
	cause                               engine.BalanceCause
	maker                               bool
}

// NewHistory makes an empty history of markets (indexed by their ids)
// keeping perAccount ended orders and fills per account
// (DefaultHistoryPerAccount if perAccount ≤ 0; at most 100,000).
func NewHistory(markets []engine.Market, perAccount int) *History {
	if perAccount <= 0 {
		perAccount = DefaultHistoryPerAccount
	}
	return &History{markets: markets, perAccount: min(perAccount, maxHistoryPerAccount),
		open: map[orderbook.OrderID]histOrder{}, openCIDs: map[histCIDKey]orderbook.OrderID{},
		accounts: map[engine.AccountID]*histAccount{}, tradeIDs: make([]int64, len(markets))}
}

// Apply takes a durable group: results[i] holds the events of cmds[i]. It
// is meant for wal.SequencerOptions.OnCommit and keeps neither slice.
func (h *History) Apply(cmds []engine.Command, results []wal.Result) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range min(len(cmds), len(results)) {
		if results[i].Err != nil {
			continue // not journaled: it never happened
		}
		cmd := &cmds[i]
		own := false // whether the command's own new order was seen
		evs := results[i].Events
		for k := range evs {
			ev := &evs[k]
			if int(ev.Market) >= len(h.markets) {
				continue
			}
			switch ev.Kind {
			case engine.EventOrderAccepted:
				// An order enters only by its own placement or by the
				// engine's liquidation machinery, within any command (the
				// risk checks run before and after each one). Its type,
				// time in force and reduce-only flag are only in the
				// placing command.
				isOwn := !own && histOwnOrder(cmd, ev)
				own = own || isOwn
				h.accept(cmd, ev, isOwn)
			case engine.EventOrderTriggered:
				if o, ok := h.open[ev.OrderID]; ok {
					// ev.PriceTicks is the watched price that fired it,
					// not the order's limit.
					o.status, o.qtyLots, o.triggered, o.triggeredNs, o.updatedNs = histNew, ev.QtyLots, true, cmd.TsNanos, cmd.TsNanos
					h.open[ev.OrderID] = o
				}
			case engine.EventOrderAmended:
				if o, ok := h.open[ev.OrderID]; ok {
					o.priceTicks, o.qtyLots, o.updatedNs = ev.PriceTicks, ev.QtyLots, cmd.TsNanos
					h.open[ev.OrderID] = o
				}
			case engine.EventOrderCancelled:
				if o, ok := h.open[ev.OrderID]; ok {
					o.updatedNs = cmd.TsNanos
					if ev.Reason == engine.ReasonAmendedToFilled {
						// Amended down to what had filled: nothing is left
						// to fill, and the order is complete.
						o.status, o.qtyLots = histFilled, o.filledLots
					} else {
						o.status, o.reason = histCancelled, ev.Reason
					}
					h.close(&o)
				}
			case engine.EventFill:
				h.fill(cmd, ev)
			}
		}
	}
}

// histOwnOrder reports whether accepted event ev is the order cmd places.
// A liquidation order of the same account and market could come first in
// the same command (the risk checks before it), so every field the event
// carries must match: the side, price, client order id, trigger, and the
// quantity, which the engine may only have cut for a reduce-only order.
func histOwnOrder(cmd *engine.Command, ev *engine.Event) bool {
	if cmd.Kind != engine.CmdPlaceOrder || ev.Account != cmd.Account || ev.Market != cmd.Market || ev.Side != cmd.Side ||
		ev.PriceTicks != cmd.PriceTicks || ev.Trigger != cmd.Trigger || ev.ClientOrderID != cmd.ClientOrderID {
		return false
	}
	if ev.Trigger != engine.TriggerNone {
		return ev.TriggerBy == cmd.TriggerBy && ev.TriggerTicks == cmd.TriggerTicks && ev.QtyLots == cmd.QtyLots
	}
	return ev.QtyLots == cmd.QtyLots || cmd.ReduceOnly && ev.QtyLots < cmd.QtyLots
}

func (h *History) accept(cmd *engine.Command, ev *engine.Event, own bool) {
	var o histOrder
	o.id, o.account, o.market, o.side, o.priceTicks, o.qtyLots = ev.OrderID, ev.Account, ev.Market, ev.Side, ev.PriceTicks, ev.QtyLots
	o.cid, o.trigger, o.triggerBy, o.triggerTicks = ev.ClientOrderID, ev.Trigger, ev.TriggerBy, ev.TriggerTicks
	o.createdNs, o.updatedNs = cmd.TsNanos, cmd.TsNanos
	if own {
		o.typ, o.tif, o.stp, o.reduceOnly = cmd.Type, cmd.TIF, cmd.STP, cmd.ReduceOnly
	} else {
		// What the engine's liquidation orders are (closeInBook,
		// unwindPosition).
		o.typ, o.tif, o.liquidation = orderbook.Limit, orderbook.IOC, true
	}
	o.status = histNew
	if o.trigger != engine.TriggerNone {
		o.status = histUntriggered
	}
	h.open[o.id] = o
	if !o.cid.IsZero() {
		h.openCIDs[histCIDKey{o.account, o.cid}] = o.id
	}
	acct := h.account(o.account)
	acct.open = append(acct.open, o.id)
}

func (h *History) account(a engine.AccountID) *histAccount {
	acct := h.accounts[a]
	if acct == nil {
		acct = &histAccount{closed: boundedRing[histOrder]{max: h.perAccount}, fills: boundedRing[histFill]{max: h.perAccount}}
		h.accounts[a] = acct
	}
	return acct
}

// close moves an ended order from the open ones to its account's ring.
func (h *History) close(o *histOrder) {
	delete(h.open, o.id)
	if !o.cid.IsZero() {
		k := histCIDKey{o.account, o.cid}
		if h.openCIDs[k] == o.id {
			delete(h.openCIDs, k)
		}
	}
	acct := h.account(o.account)
	if i, ok := slices.BinarySearch(acct.open, o.id); ok {
		acct.open = slices.Delete(acct.open, i, i+1)
	}
	*acct.closed.push() = *o
}

// fill books one EventFill into both orders and both accounts' fills.
func (h *History) fill(cmd *engine.Command, ev *engine.Event) {
	g := h.markets[ev.Market].Grid
	quote, err := g.NotionalQuote(ev.PriceTicks, ev.QtyLots)
	if err != nil {
		quote = 0 // the engine bounds every order's notional: unreachable
	}
	var tradeID int64
	if ev.MakerOrderID != 0 { // in the book (see MarketData.Apply)
		h.tradeIDs[ev.Market]++
		tradeID = h.tradeIDs[ev.Market]
	}
	h.fillOrder(ev.OrderID, ev.QtyLots, quote, cmd.TsNanos)
	h.fillOrder(ev.MakerOrderID, ev.QtyLots, quote, cmd.TsNanos)
	h.addFill(ev.Account, ev, tradeID, ev.OrderID, ev.Side, ev.FeeQuote, false, cmd.TsNanos)
	h.addFill(ev.MakerAccount, ev, tradeID, ev.MakerOrderID, ev.Side.Opposite(), ev.MakerFeeQuote, true, cmd.TsNanos)
}

func (h *History) fillOrder(id orderbook.OrderID, lots, quote, ts int64) {
	if id == 0 {
		return
	}
	o, ok := h.open[id]
	if !ok {
		return // placed before this history began
	}
	o.filledLots += lots
	o.cumQuote = mdSatAdd(o.cumQuote, quote)
	o.updatedNs = ts
	if o.filledLots >= o.qtyLots {
		// An order that fills in full has no end event of its own.
		o.status = histFilled
		h.close(&o)
		return
	}
	o.status = histPartiallyFilled
	h.open[id] = o
}

func (h *History) addFill(a engine.AccountID, ev *engine.Event, tradeID int64, orderID orderbook.OrderID, side orderbook.Side, fee int64, maker bool, ts int64) {
	f := h.account(a).fills.push()
	f.tradeID, f.orderID, f.priceTicks, f.qtyLots, f.feeQuote, f.tsNs = tradeID, orderID, ev.PriceTicks, ev.QtyLots, fee, ts
	f.market, f.side, f.cause, f.maker = ev.Market, side, ev.Cause, maker
}

// Order returns account a's order id, open or among its latest ended ones.
func (h *History) Order(a engine.AccountID, id orderbook.OrderID) (OrderInfo, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if o, ok := h.open[id]; ok {
		if o.account != a {
			return OrderInfo{}, false
		}
		return h.info(&o), true
	}
	return h.findClosed(a, func(o *histOrder) bool { return o.id == id })
}

// OrderByClientID returns account a's order with client order id cid: the
// open one, or else the latest ended one (an ended order's id may be used
// again).
func (h *History) OrderByClientID(a engine.AccountID, cid string) (OrderInfo, bool) {
	c, err := engine.ParseClientOrderID(cid)
	if err != nil {
		return OrderInfo{}, false
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if id, ok := h.openCIDs[histCIDKey{a, c}]; ok {
		if o, ok := h.open[id]; ok {
			return h.info(&o), true
		}
	}
	return h.findClosed(a, func(o *histOrder) bool { return o.cid == c })
}

// findClosed returns the newest of a's ended orders that match.
func (h *History) findClosed(a engine.AccountID, match func(*histOrder) bool) (OrderInfo, bool) {
	acct := h.accounts[a]
	if acct == nil {
		return OrderInfo{}, false
	}
	for i := acct.closed.size() - 1; i >= 0; i-- {
		if o := acct.closed.at(i); match(o) {
			return h.info(o), true
		}
	}
	return OrderInfo{}, false
}

// OrderHistory returns account a's open and latest ended orders in market
// (or AllMarkets), newest (highest id) first: at most limit, all kept if
// limit ≤ 0.
func (h *History) OrderHistory(a engine.AccountID, market engine.MarketID, limit int) []OrderInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	acct := h.accounts[a]
	if acct == nil {
		return []OrderInfo{}
	}
	sel := make([]*histOrder, 0, len(acct.open)+acct.closed.size())
	for _, id := range acct.open {
		if o := h.open[id]; market == AllMarkets || o.market == market {
			sel = append(sel, &o)
		}
	}
	for i := range acct.closed.size() {
		if o := acct.closed.at(i); market == AllMarkets || o.market == market {
			sel = append(sel, o)
		}
	}
	slices.SortFunc(sel, func(x, y *histOrder) int {
		switch {
		case x.id > y.id:
			return -1
		case x.id < y.id:
			return 1
		}
		return 0
	})
	sel = sel[:mdLimit(limit, len(sel))]
	out := make([]OrderInfo, len(sel))
	for i, o := range sel {
		out[i] = h.info(o)
	}
	return out
}

// Fills returns account a's latest fills in market (or AllMarkets), newest
// first: at most limit, all kept if limit ≤ 0.
func (h *History) Fills(a engine.AccountID, market engine.MarketID, limit int) []FillInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	acct := h.accounts[a]
	if acct == nil {
		return []FillInfo{}
	}
	n := mdLimit(limit, acct.fills.size())
	out := make([]FillInfo, 0, n)
	for i := acct.fills.size() - 1; i >= 0 && len(out) < n; i-- {
		f := acct.fills.at(i)
		if market != AllMarkets && f.market != market {
			continue
		}
		m := &h.markets[f.market]
		quote, err := m.Grid.NotionalQuote(f.priceTicks, f.qtyLots)
		if err != nil {
			quote = 0 // unreachable, as in fill
		}
		fi := FillInfo{TradeID: f.tradeID, OrderID: uint64(f.orderID), Symbol: m.Symbol, Side: f.side.String(),
			Price: m.Grid.Price(f.priceTicks), Qty: m.Grid.Qty(f.qtyLots), QuoteQty: fixed.QuoteAmount(quote),
			Fee: fixed.QuoteAmount(f.feeQuote), Maker: f.maker, Time: f.tsNs / 1_000_000}
		if f.cause != 0 {
			fi.Cause = f.cause.String()
		}
		out = append(out, fi)
	}
	return out
}

func (h *History) info(o *histOrder) OrderInfo {
	m := &h.markets[o.market]
	g := m.Grid
	info := OrderInfo{OrderID: uint64(o.id), Symbol: m.Symbol, Side: o.side.String(), Type: o.typ.String(),
		TimeInForce: o.tif.String(), ReduceOnly: o.reduceOnly, SelfTradePrevention: o.stp.String(),
		Price: g.Price(o.priceTicks), OrigQty: g.Qty(o.qtyLots), ExecutedQty: g.Qty(o.filledLots),
		CumQuote: fixed.QuoteAmount(o.cumQuote), Status: histStatusNames[o.status], StopPrice: g.Price(o.triggerTicks),
		Triggered: o.triggered, Liquidation: o.liquidation, Time: o.createdNs / 1_000_000, UpdateTime: o.updatedNs / 1_000_000}
	if !o.cid.IsZero() {
		info.ClientOrderID = o.cid.String()
	}
	if o.filledLots > 0 {
		info.AvgPrice = info.CumQuote.DivRound(info.ExecutedQty, 8)
	}
	if o.status == histCancelled {
		info.CancelReason = o.reason.String()
	}
	if o.trigger != engine.TriggerNone {
		info.TriggerType, info.TriggerBy = o.trigger.String(), o.triggerBy.String()
		if o.triggered {
			info.TriggerTime = o.triggeredNs / 1_000_000
		}
	}
	return info
}
