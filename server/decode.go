package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/shopspring/decimal"
)

// Number is a decimal sent as a JSON string in plain notation: an optional
// minus, digits, and an optional fraction ("0.001", "-12.5"). Exponents,
// "NaN", "Infinity", leading "+" or ".", and bare JSON numbers are refused:
// a JSON number goes through float64 in most clients, and a price that
// changes on its way is worse than an error.
type Number struct {
	decimal.Decimal
	set bool
	// text is the number as sent, a plain decimal. The fast decoders
	// (fastdecode.go) set only it and leave Decimal to dec.
	text   string
	parsed bool
}

// dec is the number as a decimal.
func (n *Number) dec() decimal.Decimal {
	if !n.parsed && n.text != "" {
		n.Decimal, _ = decimal.NewFromString(n.text) // plainDecimal checked it
		n.parsed = true
	}
	return n.Decimal
}

// maxNumberLen bounds a number's text; the largest meaningful value (an
// int64 of 10^-6 USDT) has 20 digits.
const maxNumberLen = 40

func (n *Number) UnmarshalJSON(b []byte) error {
	// The error is a json.UnmarshalTypeError so that encoding/json fills
	// in the field's name; Value carries the reason.
	bad := func(reason string) error {
		return &json.UnmarshalTypeError{Value: reason, Type: reflect.TypeFor[Number]()}
	}
	if len(b) == 0 || b[0] != '"' {
		return bad("not a decimal string such as \"0.5\"")
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return bad("not a decimal string")
	}
	d, err := parseNumber(s)
	if err != nil {
		return bad(err.Error())
	}
	n.Decimal, n.set, n.text, n.parsed = d, true, s, true
	return nil
}

func parseNumber(s string) (decimal.Decimal, error) {
	if len(s) == 0 || len(s) > maxNumberLen {
		return decimal.Decimal{}, errors.New("want a decimal string of 1 to 40 characters")
	}
	switch numberForm(s) {
	case badChar:
		return decimal.Decimal{}, errors.New("want a plain decimal such as \"0.5\" (no exponent, sign or spaces)")
	case noDigits:
		return decimal.Decimal{}, errors.New("want a plain decimal such as \"0.5\"")
	}
	return decimal.NewFromString(s)
}

// The forms of a number's text, as parseNumber judges them.
const (
	plain = iota
	badChar
	noDigits
)

func numberForm[T string | []byte](s T) int {
	digits, frac := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' && i == 0:
		case c == '.' && !frac && digits > 0 && i < len(s)-1:
			frac = true
		default:
			return badChar
		}
	}
	if digits == 0 {
		return noDigits
	}
	return plain
}

// plainDecimal: parseNumber accepts s.
func plainDecimal(s []byte) bool {
	return len(s) > 0 && len(s) <= maxNumberLen && numberForm(s) == plain
}

// decodeBody reads r's JSON body into v strictly: one object whose keys
// are v's fields spelt exactly (encoding/json would match them in any
// case) and each given once, nothing after it, at most maxBody bytes
// (http.MaxBytesReader is set by the middleware). A wrong type names its
// field.
func decodeBody(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return apiErr(http.StatusBadRequest, codeMalformed, "the request needs a JSON body")
	}
	if trimmed[0] != '{' {
		return apiErr(http.StatusBadRequest, codeMalformed, "the body must be a JSON object")
	}
	if err := checkKeys(body, fieldsOf(reflect.TypeOf(v).Elem())); err != nil {
		return err
	}
	// checkKeys has refused every key that is not a field's exact name,
	// and Unmarshal refuses data after the object.
	if err := json.Unmarshal(body, v); err != nil {
		return jsonError(err)
	}
	return nil
}

// fields caches jsonFields by type: requests decode into a few types, and
// reflecting on each for every order would cost more than the decoding.
var fields sync.Map // reflect.Type → map[string]bool

func fieldsOf(t reflect.Type) map[string]bool {
	if f, ok := fields.Load(t); ok {
		return f.(map[string]bool)
	}
	f := jsonFields(t)
	fields.Store(t, f)
	return f
}

// jsonField is the field an encoding/json error names, without the Go
// path to it: a field of an embedded struct (orderRef in an amend) comes
// as "orderRef.orderId", and the client sent "orderId". The bodies are
// flat objects, so the last name is the field.
func jsonField(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apiErr(http.StatusBadRequest, codeMalformed, "malformed JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ) && typ.Type == reflect.TypeFor[Number]():
		return apiErr(http.StatusBadRequest, codeInvalidParam, "%s: %s", jsonField(typ.Field), typ.Value)
	case errors.As(err, &typ):
		return apiErr(http.StatusBadRequest, codeInvalidParam, "%s: want %s, got JSON %s", jsonField(typ.Field), jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apiErr(http.StatusBadRequest, codeUnknownField, "%s", strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apiErr(http.StatusBadRequest, codeMalformed, "truncated JSON")
	}
	// Number.UnmarshalJSON's own errors come wrapped with the field's path.
	return apiErr(http.StatusBadRequest, codeInvalidParam, "%v", err)
}

// jsonKind names a Go type as a JSON client knows it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// jsonFields lists the JSON names of struct type t's fields, those of
// embedded structs included.
func jsonFields(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct:
			for k := range jsonFields(f.Type) {
				names[k] = true
			}
		case tag != "" && tag != "-":
			names[tag] = true
		}
	}
	return names
}

// checkKeys refuses a top-level key of the object in body that is not
// among names exactly, or that comes twice. It scans the bytes without
// decoding (this runs for every order); malformed JSON is left to the
// decoder, which reports it with its position. A key written with escapes
// is refused as unknown: no field is spelt that way.
func checkKeys(body []byte, names map[string]bool) error {
	var seen [32][]byte
	n := 0
	return topKeys(body, func(key []byte) error {
		if !names[string(key)] {
			return apiErr(http.StatusBadRequest, codeUnknownField, "unknown field %q", key)
		}
		for _, k := range seen[:n] {
			if bytes.Equal(k, key) {
				return apiErr(http.StatusBadRequest, codeMalformed, "field %q given twice", key)
			}
		}
		if n < len(seen) {
			seen[n] = key
			n++
		}
		return nil
	})
}

// topKeys calls fn with each key of the JSON object b, top level only, as
// its raw bytes between the quotes, and returns fn's first error. It does
// not validate: on malformed input it stops quietly.
func topKeys(b []byte, fn func(key []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return nil // the end of the object, or malformed
		}
		end := skipString(b, i)
		if end > len(b) {
			return nil
		}
		if err := fn(b[i+1 : end-1]); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil
		}
		i = skipSpace(b, skipValue(b, skipSpace(b, i+1)))
		if i >= len(b) || b[i] != ',' {
			return nil
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] (a
// quote); past len(b) if it does not end.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b) + 1
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return i
		}
		i++
	}
	return i
}

// query is a request's query parameters, checked strictly: each endpoint
// names the parameters it takes, and anything else, or a repeated one, is
// refused.
type query struct {
	v url.Values
}

func parseQuery(r *http.Request, allowed ...string) (query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, apiErr(http.StatusBadRequest, codeMalformed, "malformed query: %v", err)
	}
	for k, vals := range v {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return query{}, apiErr(http.StatusBadRequest, codeUnknownField, "unknown query parameter %q", k)
		}
		if len(vals) != 1 {
			return query{}, apiErr(http.StatusBadRequest, codeInvalidParam, "query parameter %q given %d times", k, len(vals))
		}
	}
	return query{v}, nil
}

func (q query) has(k string) bool { return q.v.Has(k) }

func (q query) str(k string) string { return q.v.Get(k) }

// int parses parameter k in [lo, hi], def when absent.
func (q query) int(k string, def, lo, hi int64) (int64, error) {
	if !q.v.Has(k) {
		return def, nil
	}
	n, err := strconv.ParseInt(q.v.Get(k), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, apiErr(http.StatusBadRequest, codeInvalidParam, "%s: want an integer in [%d, %d]", k, lo, hi)
	}
	return n, nil
}

// market resolves a symbol.
func (s *Server) market(symbol string) (*engine.Market, error) {
	if symbol == "" {
		return nil, apiErr(http.StatusBadRequest, codeMissingParam, "symbol is required")
	}
	for i := range s.markets {
		if s.markets[i].Symbol == symbol {
			return &s.markets[i], nil
		}
	}
	return nil, apiErr(http.StatusBadRequest, engine.ReasonUnknownMarket.String(), "unknown symbol %q", symbol)
}

// ticks converts a price on m's tick grid; field names it in the error.
func ticks(m *engine.Market, n Number, field string) (int64, error) {
	if !n.set {
		return 0, apiErr(http.StatusBadRequest, codeMissingParam, "%s is required", field)
	}
	if t, ok := m.Grid.TicksText(n.text, maxTicks); ok {
		return t, nil
	}
	t, err := m.Grid.Ticks(n.dec(), maxTicks)
	if err != nil {
		return 0, apiErr(http.StatusBadRequest, codeInvalidParam, "%s: %v", field, err)
	}
	return t, nil
}

// lots converts a quantity on m's lot grid.
func lots(m *engine.Market, n Number, field string) (int64, error) {
	if !n.set {
		return 0, apiErr(http.StatusBadRequest, codeMissingParam, "%s is required", field)
	}
	if l, ok := m.Grid.LotsText(n.text, maxLots); ok {
		return l, nil
	}
	l, err := m.Grid.Lots(n.dec(), maxLots)
	if err != nil {
		return 0, apiErr(http.StatusBadRequest, codeInvalidParam, "%s: %v", field, err)
	}
	return l, nil
}

// quote converts a USDT amount, which must be positive.
func quote(n Number, field string) (int64, error) {
	if !n.set {
		return 0, apiErr(http.StatusBadRequest, codeMissingParam, "%s is required", field)
	}
	q, err := fixed.QuoteUnits(n.Decimal, 1, maxQuote)
	if err != nil {
		return 0, apiErr(http.StatusBadRequest, codeInvalidParam, "%s: %v", field, err)
	}
	return q, nil
}

// Bounds of what a request may carry, far beyond any real order and far
// inside int64 so that sums of them cannot overflow: 10^12 ticks or lots,
// 10^9 USDT.
const (
	maxTicks = 1_000_000_000_000
	maxLots  = 1_000_000_000_000
	maxQuote = 1_000_000_000 * fixed.QuoteUnitsPerWhole
)
