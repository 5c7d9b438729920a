package server

import (
	"encoding/json"
	"strconv"

	"github.com/shopspring/decimal"
)

// The answer to an order op is written by hand, by appending: it is sent
// for every order, and encoding/json's reflection over it (and its
// decimals' MarshalJSON) cost more than building it. The bytes are those
// encoding/json writes; where they might not be (a string to escape, or
// decimal.MarshalJSONWithoutQuotes set), encoding/json writes them.

// MarshalJSON writes the result as encoding/json would without it.
func (r OrderResult) MarshalJSON() ([]byte, error) {
	if b, ok := r.appendJSON(make([]byte, 0, 256)); ok {
		return b, nil
	}
	type plain OrderResult // without this method
	return json.Marshal(plain(r))
}

// appendJSON appends r's JSON; ok false if it must be left to
// encoding/json.
func (r *OrderResult) appendJSON(b []byte) ([]byte, bool) {
	if decimal.MarshalJSONWithoutQuotes {
		return b, false
	}
	ok := true
	str := func(b []byte, s string) []byte {
		if !plainJSON(s) {
			ok = false
		}
		return append(append(append(b, '"'), s...), '"')
	}
	b = strconv.AppendUint(append(b, `{"orderId":`...), r.OrderID, 10)
	if r.ClientOrderID != "" {
		b = str(append(b, `,"clientOrderId":`...), r.ClientOrderID)
	}
	b = str(append(b, `,"symbol":`...), r.Market)
	b = str(append(b, `,"side":`...), r.Side)
	b = str(append(b, `,"status":`...), r.Status)
	if r.Price != nil {
		b = appendDecimal(append(b, `,"price":`...), *r.Price)
	}
	b = appendDecimal(append(b, `,"quantity":`...), r.Quantity)
	b = appendDecimal(append(b, `,"executedQty":`...), r.ExecutedQty)
	if r.AvgPrice != nil {
		b = appendDecimal(append(b, `,"avgPrice":`...), *r.AvgPrice)
	}
	if r.CancelReason != "" {
		b = str(append(b, `,"cancelReason":`...), r.CancelReason)
	}
	b = append(b, `,"fills":`...)
	if r.Fills == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Fills {
			f := &r.Fills[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendDecimal(append(b, `{"price":`...), f.Price)
			b = appendDecimal(append(b, `,"qty":`...), f.Qty)
			b = appendDecimal(append(b, `,"fee":`...), f.Fee)
			b = append(strconv.AppendUint(append(b, `,"makerOrderId":`...), f.Maker, 10), '}')
		}
		b = append(b, ']')
	}
	b = append(strconv.AppendUint(append(b, `,"seq":`...), r.Seq, 10), '}')
	return b, ok
}

// appendDecimal appends d as its MarshalJSON does (with quotes).
func appendDecimal(b []byte, d decimal.Decimal) []byte {
	return append(append(append(b, '"'), d.String()...), '"')
}

// plainJSON: s is written as is inside quotes by encoding/json (printable
// ASCII, nothing it escapes).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendOrderReply appends the WebSocket answer {"id":id,"result":r};
// ok false if it must be left to encoding/json.
func appendOrderReply(b []byte, id uint64, r *OrderResult) ([]byte, bool) {
	b = append(strconv.AppendUint(append(b, `{"id":`...), id, 10), `,"result":`...)
	b, ok := r.appendJSON(b)
	return append(b, '}'), ok
}
