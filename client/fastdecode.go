package client

import (
	"encoding/json"

	"github.com/shopspring/decimal"
)

// The answer to every order a bot places or cancels is an OrderResult,
// and encoding/json's reflection over it (and its decimals'
// UnmarshalJSON) was about a fifth of a WebSocket bot's CPU. The server
// writes it by hand, always in one shape; decodeOrderResult reads exactly
// that shape and leaves anything else (another key order, escapes,
// spaces) to encoding/json, so that the two agree on every input the fast
// path takes (FuzzDecodeOrderResult).

// unmarshalOrderResult decodes an order answer.
func unmarshalOrderResult(b []byte, out *OrderResult) error {
	var r OrderResult
	if decodeOrderResult(b, &r) {
		*out = r
		return nil
	}
	return json.Unmarshal(b, out)
}

// decodeOrderResult reads the server's shape of an OrderResult:
//
//	{"orderId":N[,"clientOrderId":S],"symbol":S,"side":S,"status":S[,"price":D],
//	 "quantity":D,"executedQty":D[,"avgPrice":D][,"cancelReason":S],
//	 "fills":null|[{"price":D,"qty":D,"fee":D,"makerOrderId":N},...],"seq":N}
//
// with no spaces; false if b is anything else.
func decodeOrderResult(b []byte, r *OrderResult) bool {
	s := scanner{b: b}
	return s.orderResult(r) && s.i == len(b)
}

// orderResult reads an OrderResult in the server's shape from the
// scanner's position; false (r untouched) if it is not one.
func (s *scanner) orderResult(r *OrderResult) bool {
	var id, seq uint64
	var sym, side, status, cancel, clientID string
	var price, qty, exec, avg decimal.Decimal
	ok := s.lit(`{"orderId":`) && s.uint(&id)
	if ok && s.lit(`,"clientOrderId":`) {
		ok = s.str(&clientID)
	}
	ok = ok && s.lit(`,"symbol":`) && s.str(&sym) && s.lit(`,"side":`) && s.str(&side) &&
		s.lit(`,"status":`) && s.str(&status)
	if ok && s.lit(`,"price":`) {
		ok = s.dec(&price)
	}
	ok = ok && s.lit(`,"quantity":`) && s.dec(&qty) && s.lit(`,"executedQty":`) && s.dec(&exec)
	if ok && s.lit(`,"avgPrice":`) {
		ok = s.dec(&avg)
	}
	if ok && s.lit(`,"cancelReason":`) {
		ok = s.str(&cancel)
	}
	var fills []OrderFill
	ok = ok && s.lit(`,"fills":`)
	if ok && !s.lit("null") {
		ok = s.lit("[")
		fills = []OrderFill{}
		for ok && !s.lit("]") {
			if len(fills) > 0 {
				ok = s.lit(",")
			}
			var f OrderFill
			var maker uint64
			ok = ok && s.lit(`{"price":`) && s.dec(&f.Price) && s.lit(`,"qty":`) && s.dec(&f.Qty) &&
				s.lit(`,"fee":`) && s.dec(&f.Fee) && s.lit(`,"makerOrderId":`) && s.uint(&maker) && s.lit("}")
			f.MakerOrderID = OrderID(maker)
			fills = append(fills, f)
		}
	}
	ok = ok && s.lit(`,"seq":`) && s.uint(&seq) && s.lit("}")
	if !ok {
		return false
	}
	*r = OrderResult{OrderID: OrderID(id), ClientOrderID: clientID, Symbol: sym, Side: Side(side), Status: OrderStatus(status),
		Price: price, Quantity: qty, ExecutedQty: exec, AvgPrice: avg, CancelReason: CancelReason(cancel), Fills: fills, Seq: seq}
	return true
}

// scanner reads a byte slice front to back.
type scanner struct {
	b []byte
	i int
}

// lit consumes l if it comes next, and reports whether it did.
func (s *scanner) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

// str reads a JSON string without escapes or control characters (any
// other is left to encoding/json).
func (s *scanner) str(v *string) bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			*v = string(s.b[s.i+1 : j])
			s.i = j + 1
			return true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return false
		}
	}
	return false
}

// uint reads a JSON number that is a uint64: digits, no leading zero.
func (s *scanner) uint(v *uint64) bool {
	j, n := s.i, uint64(0)
	for ; j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9'; j++ {
		d := uint64(s.b[j] - '0')
		if n > (1<<64-1-d)/10 {
			return false
		}
		n = n*10 + d
	}
	if j == s.i || (s.b[s.i] == '0' && j-s.i > 1) {
		return false
	}
	if j < len(s.b) && (s.b[j] == '.' || s.b[j] == 'e' || s.b[j] == 'E') {
		return false
	}
	*v, s.i = n, j
	return true
}

// dec reads a decimal as the server writes it: a quoted plain number.
func (s *scanner) dec(v *decimal.Decimal) bool {
	var t string
	if !s.str(&t) || t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c < '0' || c > '9') && c != '.' && !(c == '-' && i == 0) {
			return false
		}
	}
	d, err := decimal.NewFromString(t)
	if err != nil {
		return false
	}
	*v = d
	return true
}

// decodeOrderAnswers reads a WebSocket message that is nothing but answers
// to order ops, as the server writes them: {"id":N,"result":R}, or an
// array of those, R an OrderResult in the server's shape. It hands fn
// each message, with its result's bytes, only once the whole message has
// been read; false (fn not called) for anything else.
//
// The results are decoded into one slice per message (they go to their
// callers by pointer), not one allocation each.
func decodeOrderAnswers(b []byte, fn func(serverMessage)) bool {
	type span struct {
		id         uint64
		start, end int
		order      *OrderResult
	}
	var buf [64]span
	spans := buf[:0]
	var orders []OrderResult
	s := scanner{b: b}
	batch := s.lit("[")
	for {
		var sp span
		if !s.lit(`{"id":`) || !s.uint(&sp.id) || !s.lit(`,"result":`) {
			return false
		}
		sp.start = s.i
		if len(orders) == cap(orders) {
			// A new slice when this one is full: the pointers already
			// taken keep the old one.
			orders = make([]OrderResult, 0, max(8, min(2*cap(orders), 1024)))
		}
		orders = orders[:len(orders)+1]
		sp.order = &orders[len(orders)-1]
		if !s.orderResult(sp.order) {
			return false
		}
		sp.end = s.i
		if !s.lit("}") {
			return false
		}
		spans = append(spans, sp)
		if !batch || !s.lit(",") {
			break
		}
	}
	if (batch && !s.lit("]")) || s.i != len(b) {
		return false
	}
	for _, sp := range spans {
		fn(serverMessage{ID: sp.id, Result: json.RawMessage(b[sp.start:sp.end:sp.end]), order: sp.order})
	}
	return true
}
