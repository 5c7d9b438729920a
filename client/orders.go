package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/shopspring/decimal"
)

// OrderRequest is a new order. Build one with Limit or Market and the
// chained setters, or fill the fields in directly:
//
//	req := client.Limit("BTCUSDT", client.Buy, price, qty).PostOnly().ClientID("mm-1")
//
// Zero fields are left out of the request and take the server's defaults
// (time in force gtc for a limit order, ioc for a market order; no
// self-trade prevention). The server checks everything; the SDK neither
// rounds nor second-guesses a value.
type OrderRequest struct {
	Symbol   string
	Side     Side
	Type     OrderType
	Quantity decimal.Decimal // base asset, on the market's lot grid
	// Price is a limit order's price, or a market order's protection
	// price (the worst it may fill at); zero: none.
	Price               decimal.Decimal
	TimeInForce         TimeInForce
	ReduceOnly          bool
	ClientOrderID       string // 1 to 36 of A-Z a-z 0-9 . _ : / -
	SelfTradePrevention STP
	// Trigger, TriggerBy and TriggerPrice make the order conditional.
	Trigger      Trigger
	TriggerBy    TriggerBy
	TriggerPrice decimal.Decimal
}

// Limit is a limit order (good till cancelled unless a setter says
// otherwise).
func Limit(symbol string, side Side, price, qty decimal.Decimal) OrderRequest {
	return OrderRequest{Symbol: symbol, Side: side, Type: TypeLimit, Price: price, Quantity: qty}
}

// Market is a market order: it fills against the book up to the price
// band's edge, and the rest is cancelled.
func Market(symbol string, side Side, qty decimal.Decimal) OrderRequest {
	return OrderRequest{Symbol: symbol, Side: side, Type: TypeMarket, Quantity: qty}
}

// The setters return a changed copy, so a template can be reused.

// GTC makes the order rest until filled or cancelled.
func (o OrderRequest) GTC() OrderRequest { o.TimeInForce = GTC; return o }

// IOC cancels what does not fill at once.
func (o OrderRequest) IOC() OrderRequest { o.TimeInForce = IOC; return o }

// FOK fills the order in full at once or cancels it whole.
func (o OrderRequest) FOK() OrderRequest { o.TimeInForce = FOK; return o }

// PostOnly has the order refused (ErrPostOnlyWouldTake) if it would trade
// on arrival.
func (o OrderRequest) PostOnly() OrderRequest { o.TimeInForce = PostOnly; return o }

// Reduce makes the order reduce-only: it may only shrink the position,
// and is cut to it.
func (o OrderRequest) Reduce() OrderRequest { o.ReduceOnly = true; return o }

// ClientID sets the client order id, by which the order can be cancelled,
// amended and looked up (ByClientID). With one, an order whose answer was
// lost can be found again instead of placed twice.
func (o OrderRequest) ClientID(id string) OrderRequest { o.ClientOrderID = id; return o }

// STP sets the self-trade prevention mode.
func (o OrderRequest) STP(mode STP) OrderRequest { o.SelfTradePrevention = mode; return o }

// WorstPrice sets a market order's protection price: it fills no worse.
func (o OrderRequest) WorstPrice(p decimal.Decimal) OrderRequest { o.Price = p; return o }

// Stop makes the order a stop: it waits outside the book until the price
// it watches moves against it to triggerPrice (up for a buy, down for a
// sell), then enters the book as the order it describes.
func (o OrderRequest) Stop(by TriggerBy, triggerPrice decimal.Decimal) OrderRequest {
	o.Trigger, o.TriggerBy, o.TriggerPrice = Stop, by, triggerPrice
	return o
}

// TakeProfit makes the order a take-profit: it waits until the price it
// watches moves in its favour to triggerPrice.
func (o OrderRequest) TakeProfit(by TriggerBy, triggerPrice decimal.Decimal) OrderRequest {
	o.Trigger, o.TriggerBy, o.TriggerPrice = TakeProfit, by, triggerPrice
	return o
}

// orderWire is the request's JSON: decimals as strings written here, not
// by decimal's MarshalJSON, whose output a package-level switch
// (decimal.MarshalJSONWithoutQuotes) can turn into numbers the API
// refuses.
type orderWire struct {
	Symbol              string      `json:"symbol"`
	Side                Side        `json:"side"`
	Type                OrderType   `json:"type"`
	Price               string      `json:"price,omitempty"`
	Quantity            string      `json:"quantity"`
	TimeInForce         TimeInForce `json:"timeInForce,omitempty"`
	ReduceOnly          bool        `json:"reduceOnly,omitempty"`
	ClientOrderID       string      `json:"clientOrderId,omitempty"`
	SelfTradePrevention STP         `json:"selfTradePrevention,omitempty"`
	Trigger             Trigger     `json:"trigger,omitempty"`
	TriggerBy           TriggerBy   `json:"triggerBy,omitempty"`
	TriggerPrice        string      `json:"triggerPrice,omitempty"`
}

// MarshalJSON writes the order as POST /v1/order takes it.
func (o OrderRequest) MarshalJSON() ([]byte, error) {
	if b, ok := appendOrder(make([]byte, 0, 160), &o); ok {
		return b, nil
	}
	return json.Marshal(orderWire{Symbol: o.Symbol, Side: o.Side, Type: o.Type, Price: optDecimal(o.Price),
		Quantity: o.Quantity.String(), TimeInForce: o.TimeInForce, ReduceOnly: o.ReduceOnly, ClientOrderID: o.ClientOrderID,
		SelfTradePrevention: o.SelfTradePrevention, Trigger: o.Trigger, TriggerBy: o.TriggerBy,
		TriggerPrice: optDecimal(o.TriggerPrice)})
}

func optDecimal(d decimal.Decimal) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// OrderRef names one of the account's orders: by the exchange's id or by
// the client order id (one of the two).
type OrderRef struct {
	OrderID       OrderID
	ClientOrderID string
}

// ByID names an order by its id.
func ByID(id OrderID) OrderRef { return OrderRef{OrderID: id} }

// ByClientID names an order by its client order id.
func ByClientID(id string) OrderRef { return OrderRef{ClientOrderID: id} }

// Ref names the order of a result by its id.
func (r *OrderResult) Ref() OrderRef { return ByID(r.OrderID) }

func (r OrderRef) params(symbol string) []string {
	id := ""
	if r.OrderID != 0 {
		id = strconv.FormatUint(uint64(r.OrderID), 10)
	}
	return []string{"symbol", symbol, "orderId", id, "clientOrderId", r.ClientOrderID}
}

// PlaceOrder places an order. An order the engine accepted and ended in
// the same command (an ioc remainder, a fok that could not fill, a
// self-trade) is a result with StatusCancelled, not an error; a refused
// one is an *APIError.
//
// PlaceOrder is never retried: after a transport error or
// ErrOutcomeUnknown the order may or may not exist. Give orders a client
// order id and look them up (Order with ByClientID) before placing again.
func (c *Client) PlaceOrder(ctx context.Context, o OrderRequest) (OrderResult, error) {
	var out OrderResult
	return out, c.post(ctx, "/v1/order", o, &out)
}

// AmendOrder changes a resting order's price and total quantity (filled
// plus remaining). A smaller quantity at the same price keeps its place in
// the queue; anything else sends it to the back. Down to what has filled,
// the order ends as filled.
func (c *Client) AmendOrder(ctx context.Context, symbol string, ref OrderRef, price, qty decimal.Decimal) (OrderResult, error) {
	body := struct {
		Symbol        string `json:"symbol"`
		OrderID       uint64 `json:"orderId,omitempty"`
		ClientOrderID string `json:"clientOrderId,omitempty"`
		Price         string `json:"price"`
		Quantity      string `json:"quantity"`
	}{symbol, uint64(ref.OrderID), ref.ClientOrderID, price.String(), qty.String()}
	var out OrderResult
	return out, c.do(ctx, request{method: http.MethodPut, path: "/v1/order", body: body, auth: signed}, &out)
}

// CancelOrder cancels one open order, resting or conditional. An order
// that is not open is ErrUnknownOrder.
func (c *Client) CancelOrder(ctx context.Context, symbol string, ref OrderRef) (OrderResult, error) {
	var out OrderResult
	return out, c.do(ctx, request{method: http.MethodDelete, path: "/v1/order", query: query(ref.params(symbol)...), auth: signed}, &out)
}

// CancelAll cancels every order of the account in a market.
func (c *Client) CancelAll(ctx context.Context, symbol string) (CancelAllResult, error) {
	var out CancelAllResult
	return out, c.do(ctx, request{method: http.MethodDelete, path: "/v1/orders", query: query("symbol", symbol), auth: signed}, &out)
}

// Order looks up one of the account's orders, open or among its latest
// ended ones. By client order id, the open order is found first, else the
// latest ended one with that id.
func (c *Client) Order(ctx context.Context, symbol string, ref OrderRef) (Order, error) {
	var out Order
	return out, c.get(ctx, signed, "/v1/order", query(ref.params(symbol)...), &out)
}

// OpenOrders lists the account's open orders (resting and conditional),
// in symbol's market only unless symbol is "".
func (c *Client) OpenOrders(ctx context.Context, symbol string) ([]Order, error) {
	var out []Order
	return out, c.get(ctx, signed, "/v1/orders/open", query("symbol", symbol), &out)
}

// OrderHistory lists the account's open orders and latest ended ones,
// newest first, in symbol's market only unless symbol is "" (limit 1 to
// 1000; 0: 100).
func (c *Client) OrderHistory(ctx context.Context, symbol string, limit int) ([]Order, error) {
	var out []Order
	return out, c.get(ctx, signed, "/v1/orders/history", query("symbol", symbol, "limit", limitParam(limit)), &out)
}
