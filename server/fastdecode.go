package server

// The fast decoders of the hot requests: an order's placement, cancel and
// amend (REST bodies and WebSocket messages). They read the usual form of
// those messages, a flat JSON object of plain strings, unsigned integers
// and booleans, with a scan and no reflection, straight into the request
// structs, and leave the numbers as text for the grid's int64 conversion
// (fixed.Grid.TicksText). They never refuse anything: whatever they do not
// read with certainty (an unknown or repeated key, an escape, a null, a
// wrong type, a number that is not a plain decimal, malformed JSON) goes
// to decodeBody, which decides and words the error as always. So the
// rules stay in one place, and FuzzFastDecode checks that what the fast
// path accepts the strict path decodes the same.

type flatKind byte

const (
	flatString flatKind = iota + 1 // a string without escapes, ASCII only
	flatUint                       // digits, no leading zero, at most 19
	flatBool
	flatObject // a nested flat object (scanFlat's nested only)
)

// scanFlat reads b as one flat JSON object, nothing but whitespace after
// it, calling fn with each member (a string value without its quotes); it
// returns false at anything else, or when fn does. With nested, a value
// may also be a flat object (passed whole, braces included).
func scanFlat(b []byte, nested bool, fn func(key, val []byte, kind flatKind) bool) bool {
	end, ok := scanFlatAt(b, skipSpace(b, 0), nested, fn)
	return ok && skipSpace(b, end) == len(b)
}

func scanFlatAt(b []byte, i int, nested bool, fn func(key, val []byte, kind flatKind) bool) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return 0, false
		}
		var val []byte
		var kind flatKind
		switch c := b[i]; {
		case c == '"':
			if val, j, ok = plainString(b, i); !ok {
				return 0, false
			}
			kind = flatString
		case c >= '0' && c <= '9':
			j = i
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			if val = b[i:j]; len(val) > 19 || len(val) > 1 && val[0] == '0' {
				return 0, false
			}
			kind = flatUint
		case c == 't' && len(b)-i >= 4 && string(b[i:i+4]) == "true":
			val, j, kind = b[i:i+4], i+4, flatBool
		case c == 'f' && len(b)-i >= 5 && string(b[i:i+5]) == "false":
			val, j, kind = b[i:i+5], i+5, flatBool
		case c == '{' && nested:
			if j, ok = scanFlatAt(b, i, false, func(_, _ []byte, _ flatKind) bool { return true }); !ok {
				return 0, false
			}
			val, kind = b[i:j], flatObject
		default:
			return 0, false
		}
		if !fn(key, val, kind) {
			return 0, false
		}
		i = skipSpace(b, j)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// plainString reads the string at b[i] when it has only printable ASCII
// and no escapes (so its bytes are its value); j is the index after it.
func plainString(b []byte, i int) (s []byte, j int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j = i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// flatUint64 is the value of a flatUint (at most 19 digits: no overflow).
func flatUint64(v []byte) uint64 {
	var n uint64
	for _, c := range v {
		n = n*10 + uint64(c-'0')
	}
	return n
}

// flatNumber reads a Number's string; false if it is not a plain decimal
// (Number.UnmarshalJSON words the error).
func flatNumber(val []byte, kind flatKind, n *Number) bool {
	if kind != flatString || !plainDecimal(val) {
		return false
	}
	*n = Number{set: true, text: string(val)}
	return true
}

// flatText is string(val) without an allocation for the enumerations'
// usual values.
func flatText(val []byte) string {
	switch string(val) {
	case "buy":
		return "buy"
	case "sell":
		return "sell"
	case "limit":
		return "limit"
	case "market":
		return "market"
	case "gtc":
		return "gtc"
	case "ioc":
		return "ioc"
	case "post-only":
		return "post-only"
	case "BTCUSDT":
		return "BTCUSDT"
	case "ETHUSDT":
		return "ETHUSDT"
	case "SOLUSDT":
		return "SOLUSDT"
	}
	return string(val)
}

// seen marks field f as read; false if it was already.
func seen(mask *uint32, f int) bool {
	if *mask&(1<<f) != 0 {
		return false
	}
	*mask |= 1 << f
	return true
}

// decodeOrder decodes a hot request into v: fast is what its fast reader
// (fastPlace, fastRef, fastAmend: the usual flat form) returned for b and
// v. What it declined, or half-read, is decoded again from zero by
// decodeBody, the one place that validates and words the errors, into a
// value of its own (decodeBody's reflection keeps what it is given on the
// heap) that is then copied: so the caller's v stays on its stack, one
// allocation less per order. (The fast reader is called at the call site
// for the same reason: through a function value, v escaped.)
func decodeOrder[T any](b []byte, v *T, fast bool) error {
	if fast {
		return nil
	}
	w := new(T)
	err := decodeBody(b, w)
	*v = *w
	return err
}

func fastPlace(b []byte, p *placeRequest) bool {
	var mask uint32
	return scanFlat(b, false, func(key, val []byte, kind flatKind) bool {
		switch string(key) {
		case "symbol":
			p.Market = flatText(val)
			return kind == flatString && seen(&mask, 0)
		case "side":
			p.Side = flatText(val)
			return kind == flatString && seen(&mask, 1)
		case "type":
			p.Type = flatText(val)
			return kind == flatString && seen(&mask, 2)
		case "timeInForce":
			p.TimeInForce = flatText(val)
			return kind == flatString && seen(&mask, 3)
		case "price":
			return flatNumber(val, kind, &p.Price) && seen(&mask, 4)
		case "quantity":
			return flatNumber(val, kind, &p.Quantity) && seen(&mask, 5)
		case "reduceOnly":
			p.ReduceOnly = string(val) == "true"
			return kind == flatBool && seen(&mask, 6)
		case "clientOrderId":
			p.ClientOrderID = string(val)
			return kind == flatString && seen(&mask, 7)
		case "selfTradePrevention":
			p.SelfTradePrevention = flatText(val)
			return kind == flatString && seen(&mask, 8)
		case "trigger":
			p.Trigger = flatText(val)
			return kind == flatString && seen(&mask, 9)
		case "triggerBy":
			p.TriggerBy = flatText(val)
			return kind == flatString && seen(&mask, 10)
		case "triggerPrice":
			return flatNumber(val, kind, &p.TriggerPrice) && seen(&mask, 11)
		}
		return false
	})
}

// refMember reads a member of an orderRef; ok false: not one, or not in
// the fast form.
func refMember(r *orderRef, mask *uint32, key, val []byte, kind flatKind) (isRef, ok bool) {
	switch string(key) {
	case "symbol":
		r.Market = flatText(val)
		return true, kind == flatString && seen(mask, 0)
	case "orderId":
		r.OrderID = flatUint64(val)
		return true, kind == flatUint && seen(mask, 1)
	case "clientOrderId":
		r.ClientOrderID = string(val)
		return true, kind == flatString && seen(mask, 2)
	}
	return false, false
}

func fastRef(b []byte, r *orderRef) bool {
	var mask uint32
	return scanFlat(b, false, func(key, val []byte, kind flatKind) bool {
		_, ok := refMember(r, &mask, key, val, kind)
		return ok
	})
}

func fastAmend(b []byte, a *amendRequest) bool {
	var mask uint32
	return scanFlat(b, false, func(key, val []byte, kind flatKind) bool {
		if isRef, ok := refMember(&a.orderRef, &mask, key, val, kind); isRef {
			return ok
		}
		switch string(key) {
		case "price":
			return flatNumber(val, kind, &a.Price) && seen(&mask, 3)
		case "quantity":
			return flatNumber(val, kind, &a.Quantity) && seen(&mask, 4)
		}
		return false
	})
}

// fastWSRequest reads an order op's message ({"id", "op", "order"}) in the
// fast form; false: parseWSRequest decodes it strictly.
func fastWSRequest(b []byte, r *wsRequest) bool {
	var mask uint32
	return scanFlat(b, true, func(key, val []byte, kind flatKind) bool {
		switch string(key) {
		case "id":
			r.ID = flatUint64(val)
			return kind == flatUint && seen(&mask, 0)
		case "op":
			r.Op = flatText(val)
			return kind == flatString && seen(&mask, 1)
		case "order":
			r.Order = val
			return kind == flatObject && seen(&mask, 2)
		}
		return false
	})
}
