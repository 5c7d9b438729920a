package client

import (
	"encoding/json"
	"strconv"

	"github.com/shopspring/decimal"
)

// Orders are written by appending, not by encoding/json: a bot sends
// them as fast as it can, and reflection over a map or a struct for each
// cost more than the rest of the SDK's work on an order. The bytes are
// those encoding/json writes (MarshalJSON of OrderRequest, the maps of
// the WebSocket's requests); a string that would need escaping goes
// through encoding/json.

// appendOrder appends o as MarshalJSON writes it; ok false if a string
// needs encoding/json.
func appendOrder(b []byte, o *OrderRequest) ([]byte, bool) {
	ok := true
	str := func(b []byte, key, s string, omitEmpty bool) []byte {
		if omitEmpty && s == "" {
			return b
		}
		if !plainJSON(s) {
			ok = false
		}
		return append(append(append(append(b, key...), '"'), s...), '"')
	}
	dec := func(b []byte, key string, d decimal.Decimal, omitZero bool) []byte {
		if omitZero && d.IsZero() {
			return b
		}
		return append(append(append(append(b, key...), '"'), d.String()...), '"')
	}
	b = str(b, `{"symbol":`, o.Symbol, false)
	b = str(b, `,"side":`, string(o.Side), false)
	b = str(b, `,"type":`, string(o.Type), false)
	b = dec(b, `,"price":`, o.Price, true)
	b = dec(b, `,"quantity":`, o.Quantity, false)
	b = str(b, `,"timeInForce":`, string(o.TimeInForce), true)
	if o.ReduceOnly {
		b = append(b, `,"reduceOnly":true`...)
	}
	b = str(b, `,"clientOrderId":`, o.ClientOrderID, true)
	b = str(b, `,"selfTradePrevention":`, string(o.SelfTradePrevention), true)
	b = str(b, `,"trigger":`, string(o.Trigger), true)
	b = str(b, `,"triggerBy":`, string(o.TriggerBy), true)
	b = dec(b, `,"triggerPrice":`, o.TriggerPrice, true)
	return append(b, '}'), ok
}

// appendRef appends a cancel's order object as refWire's map is written
// (keys sorted); ok as for appendOrder.
func appendRef(b []byte, symbol string, ref OrderRef) ([]byte, bool) {
	b = append(b, '{')
	ok := plainJSON(symbol) && plainJSON(ref.ClientOrderID)
	if ref.ClientOrderID != "" {
		b = append(append(append(b, `"clientOrderId":"`...), ref.ClientOrderID...), `",`...)
	}
	if ref.OrderID != 0 {
		b = append(strconv.AppendUint(append(b, `"orderId":`...), uint64(ref.OrderID), 10), ',')
	}
	b = append(append(append(b, `"symbol":"`...), symbol...), `"}`...)
	return b, ok
}

// plainJSON: encoding/json writes s as it is between quotes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendOrderMessage appends the WebSocket request {"id","op","order"}
// as encoding/json writes the map (keys sorted), order appending the order
// object's JSON.
func appendOrderMessage(b []byte, id uint64, op string, order func([]byte) ([]byte, error)) ([]byte, error) {
	b = append(strconv.AppendUint(append(b, `{"id":`...), id, 10), `,"op":"`...)
	b, err := order(append(append(b, op...), `","order":`...))
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendOrderJSON appends o's JSON: by hand (appendOrder) when it can,
// otherwise as encoding/json writes it.
func appendOrderJSON(b []byte, o *OrderRequest) ([]byte, error) {
	if w, ok := appendOrder(b, o); ok {
		return w, nil
	}
	m, err := json.Marshal(*o)
	return append(b, m...), err
}

var _ json.Marshaler = OrderRequest{}
