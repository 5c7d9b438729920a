package server

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/shopspring/decimal"
)

// placeRequest is a new order. Enumerations are the engine's names:
// side buy|sell, type limit|market, timeInForce gtc|ioc|fok|post-only
// (default gtc for limit, ioc for market), trigger stop|take-profit with
// triggerBy mark|last and triggerPrice, selfTradePrevention
// none|cancel-taker|cancel-maker|cancel-both (default none). A market
// order may carry a price: the worst it may fill at.
type placeRequest struct {
	Market              string `json:"symbol"`
	Side                string `json:"side"`
	Type                string `json:"type"`
	TimeInForce         string `json:"timeInForce"`
	Price               Number `json:"price"`
	Quantity            Number `json:"quantity"`
	ReduceOnly          bool   `json:"reduceOnly"`
	ClientOrderID       string `json:"clientOrderId"`
	SelfTradePrevention string `json:"selfTradePrevention"`
	Trigger             string `json:"trigger"`
	TriggerBy           string `json:"triggerBy"`
	TriggerPrice        Number `json:"triggerPrice"`
}

// enum finds s among the names of values; what names the field.
func enum[T interface {
	comparable
	String() string
}](s, field string, values ...T) (T, error) {
	var zero T
	if s == "" {
		return zero, apiErr(http.StatusBadRequest, codeMissingParam, "%s is required", field)
	}
	for _, v := range values {
		if v.String() == s {
			return v, nil
		}
	}
	names := ""
	for i, v := range values {
		if i > 0 {
			names += "|"
		}
		names += v.String()
	}
	return zero, apiErr(http.StatusBadRequest, codeInvalidParam, "%s: %q is not one of %s", field, s, names)
}

func (s *Server) placeCommand(a engine.AccountID, req *placeRequest) (engine.Command, *engine.Market, error) {
	cmd := engine.Command{Kind: engine.CmdPlaceOrder, Account: a}
	m, err := s.market(req.Market)
	if err != nil {
		return cmd, nil, err
	}
	cmd.Market = m.ID
	if cmd.Side, err = enum(req.Side, "side", orderbook.Buy, orderbook.Sell); err != nil {
		return cmd, m, err
	}
	if cmd.Type, err = enum(req.Type, "type", orderbook.Limit, orderbook.Market); err != nil {
		return cmd, m, err
	}
	tif := req.TimeInForce
	if tif == "" {
		tif = orderbook.GTC.String()
		if cmd.Type == orderbook.Market {
			tif = orderbook.IOC.String()
		}
	}
	if cmd.TIF, err = enum(tif, "timeInForce", orderbook.GTC, orderbook.IOC, orderbook.FOK, orderbook.PostOnly); err != nil {
		return cmd, m, err
	}
	if req.SelfTradePrevention != "" {
		if cmd.STP, err = enum(req.SelfTradePrevention, "selfTradePrevention", orderbook.STPNone, orderbook.STPCancelTaker,
			orderbook.STPCancelMaker, orderbook.STPCancelBoth); err != nil {
			return cmd, m, err
		}
	}
	if cmd.QtyLots, err = lots(m, req.Quantity, "quantity"); err != nil {
		return cmd, m, err
	}
	if cmd.Type == orderbook.Limit || req.Price.set {
		if cmd.PriceTicks, err = ticks(m, req.Price, "price"); err != nil {
			return cmd, m, err
		}
	}
	cmd.ReduceOnly = req.ReduceOnly
	if req.ClientOrderID != "" {
		if cmd.ClientOrderID, err = engine.ParseClientOrderID(req.ClientOrderID); err != nil {
			return cmd, m, apiErr(http.StatusBadRequest, engine.ReasonInvalidClientOrderID.String(), "clientOrderId: %v", err)
		}
	}
	if req.Trigger != "" || req.TriggerBy != "" || req.TriggerPrice.set {
		if cmd.Trigger, err = enum(req.Trigger, "trigger", engine.TriggerStop, engine.TriggerTakeProfit); err != nil {
			return cmd, m, err
		}
		if cmd.TriggerBy, err = enum(req.TriggerBy, "triggerBy", engine.TriggerByMark, engine.TriggerByLast); err != nil {
			return cmd, m, err
		}
		if cmd.TriggerTicks, err = ticks(m, req.TriggerPrice, "triggerPrice"); err != nil {
			return cmd, m, err
		}
	}
	return cmd, m, nil
}

// OrderResult is what placing, amending or cancelling an order answers:
// the order as it stands after the command, and the fills it made.
type OrderResult struct {
	OrderID       uint64           `json:"orderId"`
	ClientOrderID string           `json:"clientOrderId,omitempty"`
	Market        string           `json:"symbol"`
	Side          string           `json:"side"`
	Status        string           `json:"status"`
	Price         *decimal.Decimal `json:"price,omitempty"`
	Quantity      decimal.Decimal  `json:"quantity"`
	ExecutedQty   decimal.Decimal  `json:"executedQty"`
	AvgPrice      *decimal.Decimal `json:"avgPrice,omitempty"`
	// CancelReason is why the order ended unfilled (cancelled orders).
	CancelReason string       `json:"cancelReason,omitempty"`
	Fills        []FillResult `json:"fills"`
	Seq          uint64       `json:"seq"`
}

// FillResult is one fill of the order that was placed (as the taker).
type FillResult struct {
	Price decimal.Decimal `json:"price"`
	Qty   decimal.Decimal `json:"qty"`
	Fee   decimal.Decimal `json:"fee"`
	Maker uint64          `json:"makerOrderId"`
}

// withHistory completes res with the order's totals as History has them
// after the command (it saw the command's events before the answer):
// the events of a cancel or an amend tell only what changed, not what had
// filled before.
func (s *Server) withHistory(a engine.AccountID, res OrderResult) OrderResult {
	info, ok := s.hist.Order(a, orderbook.OrderID(res.OrderID))
	if !ok {
		return res
	}
	res.Quantity, res.ExecutedQty, res.Status, res.CancelReason = info.OrigQty, info.ExecutedQty, info.Status, info.CancelReason
	if info.ExecutedQty.IsPositive() {
		avg := info.AvgPrice
		res.AvgPrice = &avg
	}
	return res
}

// orderResult reads the command's events for order id (0: the order the
// command created).
func orderResult(m *engine.Market, cmd *engine.Command, evs []engine.Event, id orderbook.OrderID, seq uint64) OrderResult {
	res := OrderResult{Market: m.Symbol, Side: cmd.Side.String(), Status: OrderStatusNew, Fills: []FillResult{}, Seq: seq}
	var qty, filled int64
	notional := decimal.Zero // of the order's own fills, for the average
	for _, ev := range evs {
		switch ev.Kind {
		case engine.EventOrderAccepted:
			// Other accounts' events can come first (the liquidations and
			// funding due before the command), so the order placed is the
			// one whose every field matches the command.
			if id == 0 && histOwnOrder(cmd, &ev) {
				id = ev.OrderID
			}
			if id != 0 && ev.OrderID == id {
				qty = ev.QtyLots
				if ev.PriceTicks > 0 {
					p := m.Grid.Price(ev.PriceTicks)
					res.Price = &p
				}
				if ev.Trigger != engine.TriggerNone {
					res.Status = OrderStatusUntriggered
				}
				if !ev.ClientOrderID.IsZero() {
					res.ClientOrderID = ev.ClientOrderID.String()
				}
			}
		case engine.EventOrderAmended:
			if ev.OrderID == id {
				qty, filled = ev.QtyLots, ev.QtyLots-ev.RemainingLots
				p := m.Grid.Price(ev.PriceTicks)
				res.Price, res.Side = &p, ev.Side.String()
				if !ev.ClientOrderID.IsZero() {
					res.ClientOrderID = ev.ClientOrderID.String()
				}
			}
		case engine.EventOrderTriggered:
			if ev.OrderID == id {
				res.Status, qty = OrderStatusNew, ev.QtyLots
			}
		case engine.EventFill:
			if ev.OrderID == id {
				filled += ev.QtyLots
				f := FillResult{Price: m.Grid.Price(ev.PriceTicks), Qty: m.Grid.Qty(ev.QtyLots),
					Fee: fixed.QuoteAmount(ev.FeeQuote), Maker: uint64(ev.MakerOrderID)}
				notional = notional.Add(f.Price.Mul(f.Qty))
				res.Fills = append(res.Fills, f)
			} else if ev.MakerOrderID == id {
				filled += ev.QtyLots
			}
		case engine.EventOrderCancelled:
			if ev.OrderID == id {
				res.Status, res.CancelReason, res.Side = OrderStatusCancelled, ev.Reason.String(), ev.Side.String()
				if qty == 0 {
					qty = ev.QtyLots
				}
				if !ev.ClientOrderID.IsZero() {
					res.ClientOrderID = ev.ClientOrderID.String()
				}
			}
		}
	}
	res.OrderID = uint64(id)
	res.Quantity, res.ExecutedQty = m.Grid.Qty(qty), m.Grid.Qty(filled)
	if n := len(res.Fills); n > 0 {
		total := decimal.Zero
		for _, f := range res.Fills {
			total = total.Add(f.Qty)
		}
		avg := notional.DivRound(total, -m.Grid.TickSize().Exponent()+4)
		res.AvgPrice = &avg
	}
	if res.Status == OrderStatusNew && filled > 0 {
		res.Status = OrderStatusPartiallyFilled
		if filled >= qty {
			res.Status = OrderStatusFilled
		}
	}
	return res
}

func (s *Server) postOrder(w http.ResponseWriter, r *request) error {
	var req placeRequest
	if err := decodeOrder(r.body, &req, fastPlace(r.body, &req)); err != nil {
		return err
	}
	cmd, m, err := s.placeCommand(r.who.account, &req)
	if err != nil {
		return err
	}
	evs, seq, err := s.submitSeq(r, cmd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orderResult(m, &cmd, evs, 0, seq))
	return nil
}

// submitSeq is submit that also returns the command's sequence number.
func (s *Server) submitSeq(r *request, cmd engine.Command) ([]engine.Event, uint64, error) {
	evs, err := s.submit(r.Context(), cmd)
	var seq uint64
	if len(evs) > 0 {
		seq = evs[0].Seq
	}
	return evs, seq, err
}

// ownOrderID is the id of the order a cancel or an amend by client order
// id acted on: the first event of one of kinds that is the caller's, in
// the command's market, with that client order id (other accounts' events,
// and the caller's own liquidation, can come first).
func ownOrderID(cmd *engine.Command, evs []engine.Event, kinds ...engine.EventKind) orderbook.OrderID {
	if cmd.OrderID != 0 {
		return cmd.OrderID
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Account == cmd.Account && ev.Market == cmd.Market && ev.ClientOrderID == cmd.ClientOrderID && slices.Contains(kinds, ev.Kind) {
			return ev.OrderID
		}
	}
	return 0
}

// orderRef names an existing order: by orderId, or by clientOrderId.
type orderRef struct {
	Market        string `json:"symbol"`
	OrderID       uint64 `json:"orderId"`
	ClientOrderID string `json:"clientOrderId"`
}

func (s *Server) resolveRef(ref orderRef, cmd *engine.Command) (*engine.Market, error) {
	m, err := s.market(ref.Market)
	if err != nil {
		return nil, err
	}
	cmd.Market = m.ID
	switch {
	case ref.OrderID != 0 && ref.ClientOrderID != "":
		return nil, apiErr(http.StatusBadRequest, codeInvalidParam, "give orderId or clientOrderId, not both")
	case ref.OrderID != 0:
		cmd.OrderID = orderbook.OrderID(ref.OrderID)
	case ref.ClientOrderID != "":
		if cmd.ClientOrderID, err = engine.ParseClientOrderID(ref.ClientOrderID); err != nil {
			return nil, apiErr(http.StatusBadRequest, engine.ReasonInvalidClientOrderID.String(), "clientOrderId: %v", err)
		}
	default:
		return nil, apiErr(http.StatusBadRequest, codeMissingParam, "orderId or clientOrderId is required")
	}
	return m, nil
}

// refFromQuery reads an order reference from the query string.
func refFromQuery(r *request) (orderRef, error) {
	q, err := parseQuery(r.Request, "symbol", "orderId", "clientOrderId")
	if err != nil {
		return orderRef{}, err
	}
	ref := orderRef{Market: q.str("symbol"), ClientOrderID: q.str("clientOrderId")}
	if q.has("orderId") {
		id, err := strconv.ParseUint(q.str("orderId"), 10, 64)
		if err != nil || id == 0 {
			return ref, apiErr(http.StatusBadRequest, codeInvalidParam, "orderId: want a positive integer")
		}
		ref.OrderID = id
	}
	return ref, nil
}

func (s *Server) deleteOrder(w http.ResponseWriter, r *request) error {
	ref, err := refFromQuery(r)
	if err != nil {
		return err
	}
	cmd := engine.Command{Kind: engine.CmdCancelOrder, Account: r.who.account}
	m, err := s.resolveRef(ref, &cmd)
	if err != nil {
		return err
	}
	evs, seq, err := s.submitSeq(r, cmd)
	if err != nil {
		return err
	}
	id := ownOrderID(&cmd, evs, engine.EventOrderCancelled)
	writeJSON(w, http.StatusOK, s.withHistory(r.who.account, orderResult(m, &cmd, evs, id, seq)))
	return nil
}

// amendRequest changes an order's price and total quantity.
type amendRequest struct {
	orderRef
	Price    Number `json:"price"`
	Quantity Number `json:"quantity"`
}

func (s *Server) putOrder(w http.ResponseWriter, r *request) error {
	var req amendRequest
	if err := decodeOrder(r.body, &req, fastAmend(r.body, &req)); err != nil {
		return err
	}
	cmd := engine.Command{Kind: engine.CmdAmendOrder, Account: r.who.account}
	m, err := s.resolveRef(req.orderRef, &cmd)
	if err != nil {
		return err
	}
	if cmd.PriceTicks, err = ticks(m, req.Price, "price"); err != nil {
		return err
	}
	if cmd.QtyLots, err = lots(m, req.Quantity, "quantity"); err != nil {
		return err
	}
	evs, seq, err := s.submitSeq(r, cmd)
	if err != nil {
		return err
	}
	// Amended, or ended by the amend (down to what had filled).
	id := ownOrderID(&cmd, evs, engine.EventOrderAmended, engine.EventOrderCancelled)
	writeJSON(w, http.StatusOK, s.withHistory(r.who.account, orderResult(m, &cmd, evs, id, seq)))
	return nil
}

// CancelAllResult lists the orders a cancel-all ended.
type CancelAllResult struct {
	Market    string   `json:"symbol"`
	Cancelled []uint64 `json:"cancelled"`
	Seq       uint64   `json:"seq"`
}

func (s *Server) deleteOrders(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r.Request, "symbol")
	if err != nil {
		return err
	}
	m, err := s.market(q.str("symbol"))
	if err != nil {
		return err
	}
	evs, seq, err := s.submitSeq(r, engine.Command{Kind: engine.CmdCancelAll, Account: r.who.account, Market: m.ID})
	if err != nil {
		return err
	}
	out := CancelAllResult{Market: m.Symbol, Cancelled: []uint64{}, Seq: seq}
	for _, ev := range evs {
		if ev.Kind == engine.EventOrderCancelled && ev.Account == r.who.account && ev.Market == m.ID && ev.Reason == engine.ReasonCancelAll {
			out.Cancelled = append(out.Cancelled, uint64(ev.OrderID))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// orderInfo is an open order as the API shows it: History's record when
// it has one (it knows times, the average price, the order's type), else
// what the engine holds (an order placed before the last restart).
func (s *Server) orderInfo(o *engine.OrderView) OrderInfo {
	if info, ok := s.hist.Order(o.Account, o.ID); ok {
		return info
	}
	m := &s.markets[o.Market]
	out := OrderInfo{OrderID: uint64(o.ID), Symbol: m.Symbol, Side: o.Side.String(), Type: o.Type.String(), TimeInForce: o.TIF.String(),
		ReduceOnly: o.ReduceOnly, SelfTradePrevention: orderbook.STPNone.String(), Price: decimal.Zero, OrigQty: m.Grid.Qty(o.QtyLots),
		ExecutedQty: m.Grid.Qty(o.FilledLots), CumQuote: decimal.Zero, AvgPrice: decimal.Zero, Status: OrderStatusNew, StopPrice: decimal.Zero}
	if !o.ClientOrderID.IsZero() {
		out.ClientOrderID = o.ClientOrderID.String()
	}
	if o.PriceTicks > 0 {
		out.Price = m.Grid.Price(o.PriceTicks)
	}
	if o.FilledLots > 0 {
		out.Status = OrderStatusPartiallyFilled
	}
	if o.Trigger != engine.TriggerNone {
		out.Status, out.TriggerType, out.TriggerBy, out.StopPrice = OrderStatusUntriggered, o.Trigger.String(), o.TriggerBy.String(),
			m.Grid.Price(o.TriggerTicks)
	}
	return out
}

func (s *Server) getOpenOrders(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r.Request, "symbol")
	if err != nil {
		return err
	}
	var m *engine.Market
	if q.has("symbol") {
		if m, err = s.market(q.str("symbol")); err != nil {
			return err
		}
	}
	var views []engine.OrderView
	if err := s.read(r.Context(), func(e *engine.Engine) {
		if m == nil {
			views = e.OpenOrders(r.who.account, 0, true, nil)
		} else {
			views = e.OpenOrders(r.who.account, m.ID, false, nil)
		}
	}); err != nil {
		return err
	}
	out := make([]OrderInfo, len(views))
	for i := range views {
		out[i] = s.orderInfo(&views[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getOrder finds one of the caller's orders, open or recently ended.
func (s *Server) getOrder(w http.ResponseWriter, r *request) error {
	ref, err := refFromQuery(r)
	if err != nil {
		return err
	}
	var cmd engine.Command
	m, err := s.resolveRef(ref, &cmd)
	if err != nil {
		return err
	}
	var view engine.OrderView
	open := false
	if err := s.read(r.Context(), func(e *engine.Engine) {
		id := cmd.OrderID
		if id == 0 {
			id, _ = e.OrderByClientID(r.who.account, cmd.ClientOrderID)
		}
		if id != 0 {
			view, open = e.Order(r.who.account, id)
		}
	}); err != nil {
		return err
	}
	var info OrderInfo
	found := false
	switch {
	case open && view.Market == m.ID:
		info, found = s.orderInfo(&view), true
	case cmd.OrderID != 0:
		info, found = s.hist.Order(r.who.account, cmd.OrderID)
	default:
		info, found = s.hist.OrderByClientID(r.who.account, ref.ClientOrderID)
	}
	if !found || info.Symbol != m.Symbol {
		return apiErr(http.StatusNotFound, engine.ReasonUnknownOrder.String(), "no such order among the account's open and recent orders")
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// historyQuery reads the optional symbol and the limit of the history
// endpoints.
func (s *Server) historyQuery(r *request) (engine.MarketID, int, error) {
	q, err := parseQuery(r.Request, "symbol", "limit")
	if err != nil {
		return 0, 0, err
	}
	market := AllMarkets
	if q.has("symbol") {
		m, err := s.market(q.str("symbol"))
		if err != nil {
			return 0, 0, err
		}
		market = m.ID
	}
	limit, err := q.int("limit", 100, 1, 1000)
	return market, int(limit), err
}

func (s *Server) getOrderHistory(w http.ResponseWriter, r *request) error {
	market, limit, err := s.historyQuery(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.hist.OrderHistory(r.who.account, market, limit))
	return nil
}

func (s *Server) getFills(w http.ResponseWriter, r *request) error {
	market, limit, err := s.historyQuery(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.hist.Fills(r.who.account, market, limit))
	return nil
}
