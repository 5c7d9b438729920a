package server

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paperperps/exchange/engine"
)

// rawRequest sends a request signed with c (unless c is nil) like call
// does, then lets edit change it (headers, mostly) before it goes. The
// client follows no redirect, so a 3xx is seen as such.
func (te *testExchange) rawRequest(c *Credentials, method, path, rawQuery string, body []byte,
	edit func(r *http.Request, c *Credentials, body []byte)) (int, http.Header, []byte) {
	te.t.Helper()
	url := te.base + path
	if rawQuery != "" {
		url += "?" + rawQuery
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		te.t.Fatal(err)
	}
	if c != nil {
		signAt(req, c, time.Now().UnixMilli(), body)
	}
	if edit != nil {
		edit(req, c, body)
	}
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		te.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		te.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, got
}

// signAt sets the three auth headers for body, with the timestamp ms.
func signAt(r *http.Request, c *Credentials, ms int64, body []byte) {
	ts := strconv.FormatInt(ms, 10)
	r.Header.Set("PP-API-KEY", c.APIKey)
	r.Header.Set("PP-TIMESTAMP", ts)
	r.Header.Set("PP-SIGNATURE", SignRequest(c.Secret, ts, r.Method, r.URL.Path, r.URL.RawQuery, body))
}

// engineHashes returns the engine's state hash and the hash of its state
// without the clock (the snapshot less its version byte and the last
// command's time): a command the engine refuses still advances the clock.
func (te *testExchange) engineHashes() (full, clockless [32]byte) {
	te.t.Helper()
	var snap []byte
	if err := te.x.srv.read(context.Background(), func(e *engine.Engine) {
		full = e.StateHash()
		snap = e.AppendSnapshot(nil)
	}); err != nil {
		te.t.Fatal(err)
	}
	if sha256.Sum256(snap) != full {
		te.t.Fatal("StateHash is not the hash of AppendSnapshot")
	}
	_, n := binary.Varint(snap[1:])
	if n <= 0 {
		te.t.Fatal("snapshot does not start with a version and a time")
	}
	return full, sha256.Sum256(snap[1+n:])
}

// TestBadRequests sends bad requests of every kind, each answered with its
// 4xx status and code in a JSON error, and none changing the engine's
// state. Requests refused by the API never reach the engine: the state
// hash stays exactly equal. Requests the engine itself refuses (marked
// engine) are journaled as refusals: they move nothing but the engine's
// clock.
func TestBadRequests(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	alice, bob := te.account(3), te.account(4)
	adm := te.admin()

	te.must(adm, "POST", "/v1/admin/index", "", map[string]string{"symbol": "BTCUSDT", "price": "100000"}, nil)
	var rest OrderResult
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "BTCUSDT", "side": "sell", "type": "limit",
		"price": "101000", "quantity": "0.01", "clientOrderId": "alice-1"}, &rest)
	if rest.OrderID == 0 || rest.Status != OrderStatusNew {
		t.Fatalf("alice's resting order %+v", rest)
	}
	var stop OrderResult
	te.must(&alice, "POST", "/v1/order", "", map[string]any{"symbol": "BTCUSDT", "side": "sell", "type": "limit",
		"price": "95000", "quantity": "0.01", "trigger": "stop", "triggerBy": "mark", "triggerPrice": "95000"}, &stop)
	if stop.Status != OrderStatusUntriggered {
		t.Fatalf("alice's stop order %+v", stop)
	}
	aliceOrder := strconv.FormatUint(rest.OrderID, 10)
	unknownOrder := strconv.FormatUint(rest.OrderID+1000, 10)

	// Credentials that must not pass.
	tampered := alice // the key's tag with its last hex digit changed
	if last := alice.APIKey[len(alice.APIKey)-1]; last == '0' {
		tampered.APIKey = alice.APIKey[:len(alice.APIKey)-1] + "1"
	} else {
		tampered.APIKey = alice.APIKey[:len(alice.APIKey)-1] + "0"
	}
	ghost := te.x.srv.keys.Account(99)      // a well-formed key of an account that does not exist
	foreign := NewKeys([32]byte{1}).Admin() // an admin key of another exchange
	unknownKey := Credentials{APIKey: "ppx-000000000000000000000000", Secret: alice.Secret}
	nonCanonical := alice
	nonCanonical.APIKey = "pp0" + strings.TrimPrefix(alice.APIKey, "pp") // "pp03-<tag>"

	order := func(fields string) string {
		return `{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"99000","quantity":"0.01"` + fields + `}`
	}
	// orderWith is the order with one of its five fields set to the
	// JSON value (null when empty).
	orderWith := func(field, value string) string {
		var b strings.Builder
		for i, k := range []string{"symbol", "side", "type", "price", "quantity"} {
			v := map[string]string{"symbol": `"BTCUSDT"`, "side": `"buy"`, "type": `"limit"`, "price": `"99000"`, "quantity": `"0.01"`}[k]
			if k == field {
				v = cmp.Or(value, "null")
			}
			fmt.Fprintf(&b, "%s%q:%s", map[bool]string{true: "{", false: ","}[i == 0], k, v)
		}
		return b.String() + "}"
	}
	without := func(field string) string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(order("")), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, field)
		b, _ := json.Marshal(m)
		return string(b)
	}
	now := func() int64 { return time.Now().UnixMilli() }
	resign := func(ms func() int64) func(*http.Request, *Credentials, []byte) {
		return func(r *http.Request, c *Credentials, body []byte) { signAt(r, c, ms(), body) }
	}
	header := func(k, v string) func(*http.Request, *Credentials, []byte) {
		return func(r *http.Request, _ *Credentials, _ []byte) {
			if v == "" {
				r.Header.Del(k)
			} else {
				r.Header.Set(k, v)
			}
		}
	}
	oversized := `{"symbol":"` + strings.Repeat("A", 65<<10) + `"}`

	const (
		malformed = codeMalformed
		unknownF  = codeUnknownField
		invalid   = codeInvalidParam
		missing   = codeMissingParam
	)
	type row struct {
		name                string
		creds               *Credentials
		method, path, query string
		body                string
		edit                func(r *http.Request, c *Credentials, body []byte)
		status              int
		code                string
		engine              bool // refused by the engine, not the API
	}
	const bad, unauth, notFound = http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound
	rows := []row{
		// The body's JSON.
		{name: "malformed JSON", creds: &bob, method: "POST", path: "/v1/order", body: `{"symbol" "BTCUSDT"}`, status: bad, code: malformed},
		{name: "truncated JSON", creds: &bob, method: "POST", path: "/v1/order", body: `{"symbol":"BTCUSDT",`, status: bad, code: malformed},
		{name: "not JSON", creds: &bob, method: "POST", path: "/v1/order", body: `symbol=BTCUSDT`, status: bad, code: malformed},
		{name: "trailing object", creds: &bob, method: "POST", path: "/v1/order", body: order("") + `{}`, status: bad, code: malformed},
		{name: "trailing garbage", creds: &bob, method: "POST", path: "/v1/order", body: order("") + ` x`, status: bad, code: malformed},
		{name: "empty body", creds: &bob, method: "POST", path: "/v1/order", body: ``, status: bad, code: malformed},
		{name: "blank body", creds: &bob, method: "POST", path: "/v1/order", body: " \n\t", status: bad, code: malformed},
		{name: "unknown field", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"leverage":"10"`), status: bad, code: unknownF},
		{name: "field name in another case", creds: &bob, method: "POST", path: "/v1/order", body: strings.Replace(order(""), `"symbol"`, `"SYMBOL"`, 1), status: bad, code: unknownF},
		{name: "field given twice", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"symbol":"ETHUSDT"`), status: bad, code: malformed},
		{name: "array body", creds: &bob, method: "POST", path: "/v1/order", body: `[]`, status: bad, code: malformed},
		{name: "null body", creds: te.admin(), method: "POST", path: "/v1/admin/accounts", body: `null`, status: bad, code: malformed},
		{name: "query on a body endpoint", creds: &bob, method: "POST", path: "/v1/order", query: "timeInForce=ioc", body: order(""), status: bad, code: unknownF},
		{name: "query on a body endpoint, no key", method: "POST", path: "/v1/order", query: "timeInForce=ioc", body: order(""), status: http.StatusUnauthorized, code: codeUnauthorized},
		{name: "unclean path", method: "GET", path: "/v1//depth", query: "symbol=BTCUSDT", status: notFound, code: codeNotFound},
		// Types.
		{name: "number for a price", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `99000`), status: bad, code: invalid},
		{name: "number for a quantity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `0.01`), status: bad, code: invalid},
		{name: "bool for side", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("side", `true`), status: bad, code: invalid},
		{name: "number for symbol", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("symbol", `1`), status: bad, code: invalid},
		{name: "string for reduceOnly", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"reduceOnly":"true"`), status: bad, code: invalid},
		{name: "object for price", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `{"v":"1"}`), status: bad, code: invalid},
		{name: "string for leverage", creds: &bob, method: "POST", path: "/v1/leverage", body: `{"symbol":"BTCUSDT","leverage":"10"}`, status: bad, code: invalid},
		{name: "fraction for leverage", creds: &bob, method: "POST", path: "/v1/leverage", body: `{"symbol":"BTCUSDT","leverage":10.5}`, status: bad, code: invalid},
		{name: "string for orderId", creds: &bob, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":"` + aliceOrder + `","price":"99000","quantity":"0.01"}`, status: bad, code: invalid},
		{name: "negative orderId", creds: &bob, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":-1,"price":"99000","quantity":"0.01"}`, status: bad, code: invalid},
		// Numbers: decimal strings in plain notation only.
		{name: "NaN", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"NaN"`), status: bad, code: invalid},
		{name: "Infinity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"Infinity"`), status: bad, code: invalid},
		{name: "-Infinity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"-Infinity"`), status: bad, code: invalid},
		{name: "exponent", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"1e5"`), status: bad, code: invalid},
		{name: "negative exponent", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"1E-2"`), status: bad, code: invalid},
		{name: "plus sign", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"+1"`), status: bad, code: invalid},
		{name: "leading point", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `".5"`), status: bad, code: invalid},
		{name: "trailing point", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"1."`), status: bad, code: invalid},
		{name: "hex", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"0x10"`), status: bad, code: invalid},
		{name: "leading space", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `" 1"`), status: bad, code: invalid},
		{name: "thousands separator", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"99,000"`), status: bad, code: invalid},
		{name: "empty number", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `""`), status: bad, code: invalid},
		{name: "41 digits", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"`+strings.Repeat("1", 41)+`"`), status: bad, code: invalid},
		{name: "too many decimals", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"0.0100000001"`), status: bad, code: invalid},
		// Grids and ranges.
		{name: "off-grid price", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"100000.05"`), status: bad, code: invalid},
		{name: "off-grid quantity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"0.0105"`), status: bad, code: invalid},
		{name: "zero quantity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"0"`), status: bad, code: invalid},
		{name: "negative quantity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"-0.01"`), status: bad, code: invalid},
		{name: "zero price", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"0"`), status: bad, code: invalid},
		{name: "negative zero price", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"-0"`), status: bad, code: invalid},
		{name: "negative price", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"-99000"`), status: bad, code: invalid},
		{name: "absurd quantity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"99999999999999999999999"`), status: bad, code: invalid},
		{name: "absurd price", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"99999999999999999999999"`), status: bad, code: invalid},
		{name: "off-grid trigger price", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"trigger":"stop","triggerBy":"mark","triggerPrice":"98000.01"`), status: bad, code: invalid},
		// Markets, enumerations, required fields.
		{name: "unknown symbol", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("symbol", `"DOGEUSDT"`), status: bad, code: "unknown-market"},
		{name: "symbol in lower case", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("symbol", `"btcusdt"`), status: bad, code: "unknown-market"},
		{name: "missing symbol", creds: &bob, method: "POST", path: "/v1/order", body: without("symbol"), status: bad, code: missing},
		{name: "missing quantity", creds: &bob, method: "POST", path: "/v1/order", body: without("quantity"), status: bad, code: missing},
		{name: "missing side", creds: &bob, method: "POST", path: "/v1/order", body: without("side"), status: bad, code: missing},
		{name: "missing type", creds: &bob, method: "POST", path: "/v1/order", body: without("type"), status: bad, code: missing},
		{name: "marginMode missing", creds: &bob, method: "POST", path: "/v1/margin-mode", body: `{"symbol":"BTCUSDT"}`, status: bad, code: missing},
		{name: "limit without price", creds: &bob, method: "POST", path: "/v1/order", body: without("price"), status: bad, code: missing},
		{name: "null quantity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", ``), status: bad, code: invalid},
		{name: "side long", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("side", `"long"`), status: bad, code: invalid},
		{name: "side in upper case", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("side", `"BUY"`), status: bad, code: invalid},
		{name: "type stop", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("type", `"stop"`), status: bad, code: invalid},
		{name: "timeInForce day", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"timeInForce":"day"`), status: bad, code: invalid},
		{name: "unknown selfTradePrevention", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"selfTradePrevention":"expire-maker"`), status: bad, code: invalid},
		{name: "trigger price without trigger", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"triggerPrice":"98000"`), status: bad, code: missing},
		{name: "trigger without its price", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"trigger":"stop","triggerBy":"mark"`), status: bad, code: missing},
		{name: "marginMode portfolio", creds: &bob, method: "POST", path: "/v1/margin-mode", body: `{"symbol":"BTCUSDT","marginMode":"portfolio"}`, status: bad, code: invalid},
		{name: "leverage 0", creds: &bob, method: "POST", path: "/v1/leverage", body: `{"symbol":"BTCUSDT","leverage":0}`, status: bad, code: invalid},
		{name: "leverage 1000", creds: &bob, method: "POST", path: "/v1/leverage", body: `{"symbol":"BTCUSDT","leverage":1000}`, status: bad, code: invalid},
		{name: "leverage -5", creds: &bob, method: "POST", path: "/v1/leverage", body: `{"symbol":"BTCUSDT","leverage":-5}`, status: bad, code: invalid},
		{name: "leverage missing", creds: &bob, method: "POST", path: "/v1/leverage", body: `{"symbol":"BTCUSDT"}`, status: bad, code: invalid},
		{name: "isolated margin zero", creds: &bob, method: "POST", path: "/v1/isolated-margin", body: `{"symbol":"BTCUSDT","amount":"0"}`, status: bad, code: invalid},
		{name: "isolated margin 7 decimals", creds: &bob, method: "POST", path: "/v1/isolated-margin", body: `{"symbol":"BTCUSDT","amount":"0.0000001"}`, status: bad, code: invalid},
		// Client order ids.
		{name: "client order id too long", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"clientOrderId":"` + strings.Repeat("a", 37) + `"`), status: bad, code: "invalid-client-order-id"},
		{name: "client order id with a space", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"clientOrderId":"a b"`), status: bad, code: "invalid-client-order-id"},
		{name: "client order id not ASCII", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"clientOrderId":"ordre-\u00e9"`), status: bad, code: "invalid-client-order-id"},
		// Orders by reference.
		{name: "cancel: both ids", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&orderId=" + aliceOrder + "&clientOrderId=alice-1", status: bad, code: invalid},
		{name: "cancel: no id", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT", status: bad, code: missing},
		{name: "cancel: orderId 0", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&orderId=0", status: bad, code: invalid},
		{name: "cancel: orderId not a number", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&orderId=1e3", status: bad, code: invalid},
		{name: "cancel: orderId negative", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&orderId=-1", status: bad, code: invalid},
		{name: "cancel: bad client order id", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&clientOrderId=a%20b", status: bad, code: "invalid-client-order-id"},
		{name: "cancel: unknown symbol", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=XBTUSD&orderId=" + aliceOrder, status: bad, code: "unknown-market"},
		{name: "amend: both ids", creds: &bob, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":` + aliceOrder + `,"clientOrderId":"alice-1","price":"99000","quantity":"0.01"}`, status: bad, code: invalid},
		{name: "amend: off-grid price", creds: &alice, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":` + aliceOrder + `,"price":"101000.01","quantity":"0.01"}`, status: bad, code: invalid},
		{name: "amend: zero quantity", creds: &alice, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":` + aliceOrder + `,"price":"101000","quantity":"0"}`, status: bad, code: invalid},
		{name: "amend: no price", creds: &alice, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":` + aliceOrder + `,"quantity":"0.01"}`, status: bad, code: missing},
		{name: "query: both ids", creds: &bob, method: "GET", path: "/v1/order", query: "symbol=BTCUSDT&orderId=" + aliceOrder + "&clientOrderId=alice-1", status: bad, code: invalid},
		// Another account's order is indistinguishable from no order.
		{name: "cancel another's order", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&orderId=" + aliceOrder, status: notFound, code: "unknown-order", engine: true},
		{name: "cancel an unknown order", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&orderId=" + unknownOrder, status: notFound, code: "unknown-order", engine: true},
		{name: "cancel another's client order id", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&clientOrderId=alice-1", status: notFound, code: "unknown-order", engine: true},
		{name: "cancel an unknown client order id", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&clientOrderId=nobody-1", status: notFound, code: "unknown-order", engine: true},
		{name: "amend another's order", creds: &bob, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":` + aliceOrder + `,"price":"101000","quantity":"0.02"}`, status: notFound, code: "unknown-order", engine: true},
		{name: "amend an unknown order", creds: &bob, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":` + unknownOrder + `,"price":"101000","quantity":"0.02"}`, status: notFound, code: "unknown-order", engine: true},
		{name: "query another's order", creds: &bob, method: "GET", path: "/v1/order", query: "symbol=BTCUSDT&orderId=" + aliceOrder, status: notFound, code: "unknown-order"},
		{name: "query an unknown order", creds: &bob, method: "GET", path: "/v1/order", query: "symbol=BTCUSDT&orderId=" + unknownOrder, status: notFound, code: "unknown-order"},
		{name: "query another's client order id", creds: &bob, method: "GET", path: "/v1/order", query: "symbol=BTCUSDT&clientOrderId=alice-1", status: notFound, code: "unknown-order"},
		{name: "query an unknown client order id", creds: &bob, method: "GET", path: "/v1/order", query: "symbol=BTCUSDT&clientOrderId=nobody-1", status: notFound, code: "unknown-order"},
		{name: "query own order in another market", creds: &alice, method: "GET", path: "/v1/order", query: "symbol=ETHUSDT&orderId=" + aliceOrder, status: notFound, code: "unknown-order"},
		// Other refusals of the engine.
		{name: "duplicate client order id", creds: &alice, method: "POST", path: "/v1/order", body: order(`,"clientOrderId":"alice-1"`), status: bad, code: "duplicate-client-order-id", engine: true},
		{name: "reduce-only without a position", creds: &bob, method: "POST", path: "/v1/order", body: order(`,"reduceOnly":true`), status: bad, code: "reduce-only-no-position", engine: true},
		{name: "price outside the band", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("price", `"50000"`), status: bad, code: "price-outside-band", engine: true},
		{name: "below min notional", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"0.001"`), status: bad, code: "below-min-notional", engine: true},
		{name: "above max quantity", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"1001"`), status: bad, code: "above-max-qty", engine: true},
		{name: "insufficient margin", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"500"`), status: bad, code: "insufficient-margin", engine: true},
		{name: "market order, gtc", creds: &bob, method: "POST", path: "/v1/order", body: `{"symbol":"BTCUSDT","side":"buy","type":"market","quantity":"0.01","timeInForce":"gtc"}`, status: bad, code: "invalid-order", engine: true},
		{name: "market order, post-only", creds: &bob, method: "POST", path: "/v1/order", body: `{"symbol":"BTCUSDT","side":"buy","type":"market","quantity":"0.01","timeInForce":"post-only"}`, status: bad, code: "invalid-order", engine: true},
		{name: "market order without a price", creds: &bob, method: "POST", path: "/v1/order", body: `{"symbol":"ETHUSDT","side":"buy","type":"market","quantity":"0.01"}`, status: bad, code: "no-price", engine: true},
		{name: "amend a stop order", creds: &alice, method: "PUT", path: "/v1/order", body: `{"symbol":"BTCUSDT","orderId":` + strconv.FormatUint(stop.OrderID, 10) + `,"price":"94000","quantity":"0.01"}`, status: bad, code: "stop-not-amendable", engine: true},
		{name: "margin mode with an open order", creds: &alice, method: "POST", path: "/v1/margin-mode", body: `{"symbol":"BTCUSDT","marginMode":"isolated"}`, status: bad, code: "position-or-orders-open", engine: true},
		{name: "isolated margin in cross mode", creds: &bob, method: "POST", path: "/v1/isolated-margin", body: `{"symbol":"BTCUSDT","amount":"100"}`, status: bad, code: "not-isolated", engine: true},
		{name: "leverage above the market's", creds: &bob, method: "POST", path: "/v1/leverage", body: `{"symbol":"SOLUSDT","leverage":125}`, status: bad, code: "invalid-leverage", engine: true},
		// Query strings.
		{name: "unknown query parameter", method: "GET", path: "/v1/depth", query: "symbol=BTCUSDT&depth=5", status: bad, code: unknownF},
		{name: "unknown query parameter (private)", creds: &bob, method: "GET", path: "/v1/account", query: "recvWindow=5000", status: bad, code: unknownF},
		{name: "repeated query parameter", method: "GET", path: "/v1/depth", query: "symbol=BTCUSDT&symbol=ETHUSDT", status: bad, code: invalid},
		{name: "malformed query", method: "GET", path: "/v1/depth", query: "symbol=BTC%zzUSDT", status: bad, code: malformed},
		{name: "semicolon in query", method: "GET", path: "/v1/depth", query: "symbol=BTCUSDT;limit=5", status: bad, code: malformed},
		{name: "limit 0", method: "GET", path: "/v1/depth", query: "symbol=BTCUSDT&limit=0", status: bad, code: invalid},
		{name: "limit 1001", method: "GET", path: "/v1/trades", query: "symbol=BTCUSDT&limit=1001", status: bad, code: invalid},
		{name: "limit not a number", method: "GET", path: "/v1/depth", query: "symbol=BTCUSDT&limit=ten", status: bad, code: invalid},
		{name: "limit beyond int64", method: "GET", path: "/v1/depth", query: "symbol=BTCUSDT&limit=99999999999999999999999", status: bad, code: invalid},
		{name: "depth without symbol", method: "GET", path: "/v1/depth", status: bad, code: missing},
		{name: "depth of an unknown symbol", method: "GET", path: "/v1/depth", query: "symbol=DOGEUSDT", status: bad, code: "unknown-market"},
		{name: "klines bad interval", method: "GET", path: "/v1/klines", query: "symbol=BTCUSDT&interval=7m", status: bad, code: invalid},
		{name: "klines without interval", method: "GET", path: "/v1/klines", query: "symbol=BTCUSDT", status: bad, code: missing},
		{name: "klines negative start", method: "GET", path: "/v1/klines", query: "symbol=BTCUSDT&interval=1m&startTime=-1", status: bad, code: invalid},
		{name: "time with a parameter", method: "GET", path: "/v1/time", query: "x=1", status: bad, code: unknownF},
		{name: "cancel-all without symbol", creds: &bob, method: "DELETE", path: "/v1/orders", status: bad, code: missing},
		// Size, method, path.
		{name: "oversized body", creds: &bob, method: "POST", path: "/v1/order", body: oversized, status: http.StatusRequestEntityTooLarge, code: codeTooLarge},
		{name: "oversized body, unsigned", method: "POST", path: "/v1/order", body: oversized, status: http.StatusRequestEntityTooLarge, code: codeTooLarge},
		{name: "wrong method", creds: &bob, method: "PATCH", path: "/v1/order", body: order(""), status: http.StatusMethodNotAllowed, code: codeMethod},
		{name: "POST on a GET endpoint", method: "POST", path: "/v1/depth", query: "symbol=BTCUSDT", status: http.StatusMethodNotAllowed, code: codeMethod},
		{name: "GET on an admin endpoint", creds: adm, method: "GET", path: "/v1/admin/deposit", status: http.StatusMethodNotAllowed, code: codeMethod},
		{name: "unknown path", method: "GET", path: "/v1/nope", status: notFound, code: codeNotFound},
		{name: "unknown version", creds: &bob, method: "POST", path: "/v2/order", body: order(""), status: notFound, code: codeNotFound},
		{name: "trailing slash", creds: &bob, method: "POST", path: "/v1/order/", body: order(""), status: notFound, code: codeNotFound},
		// Authentication.
		{name: "no API key", method: "GET", path: "/v1/account", status: unauth, code: codeUnauthorized},
		{name: "unknown API key", creds: &unknownKey, method: "GET", path: "/v1/account", status: unauth, code: codeUnauthorized},
		{name: "tampered key tag", creds: &tampered, method: "POST", path: "/v1/order", body: order(""), status: unauth, code: codeUnauthorized},
		{name: "non-canonical account id", creds: &nonCanonical, method: "GET", path: "/v1/account", status: unauth, code: codeUnauthorized},
		{name: "key of no account", creds: &ghost, method: "POST", path: "/v1/order", body: order(""), status: unauth, code: codeUnauthorized},
		{name: "missing signature", creds: &bob, method: "POST", path: "/v1/order", body: order(""), edit: header("PP-SIGNATURE", ""), status: unauth, code: codeBadSignature},
		{name: "wrong signature", creds: &bob, method: "POST", path: "/v1/order", body: order(""), edit: header("PP-SIGNATURE", strings.Repeat("0", 64)), status: unauth, code: codeBadSignature},
		{name: "signature in upper case", creds: &bob, method: "GET", path: "/v1/account", edit: func(r *http.Request, _ *Credentials, _ []byte) {
			r.Header.Set("PP-SIGNATURE", strings.ToUpper(r.Header.Get("PP-SIGNATURE")))
		}, status: unauth, code: codeBadSignature},
		{name: "signature over another body", creds: &bob, method: "POST", path: "/v1/order", body: orderWith("quantity", `"0.02"`), edit: func(r *http.Request, c *Credentials, _ []byte) {
			signAt(r, c, now(), []byte(orderWith("quantity", `"0.01"`)))
		}, status: unauth, code: codeBadSignature},
		{name: "signature over another query", creds: &bob, method: "DELETE", path: "/v1/order", query: "symbol=BTCUSDT&orderId=" + aliceOrder, edit: func(r *http.Request, c *Credentials, body []byte) {
			q := r.URL.RawQuery
			r.URL.RawQuery = "symbol=BTCUSDT&orderId=" + unknownOrder
			signAt(r, c, now(), body)
			r.URL.RawQuery = q
		}, status: unauth, code: codeBadSignature},
		{name: "signature with another secret", creds: &bob, method: "GET", path: "/v1/account", edit: func(r *http.Request, _ *Credentials, body []byte) {
			c := Credentials{APIKey: bob.APIKey, Secret: alice.Secret}
			signAt(r, &c, now(), body)
		}, status: unauth, code: codeBadSignature},
		{name: "stale timestamp", creds: &bob, method: "POST", path: "/v1/order", body: order(""), edit: resign(func() int64 { return now() - 60_000 }), status: unauth, code: codeStaleTimestamp},
		{name: "future timestamp", creds: &bob, method: "POST", path: "/v1/order", body: order(""), edit: resign(func() int64 { return now() + 60_000 }), status: unauth, code: codeStaleTimestamp},
		{name: "timestamp in seconds", creds: &bob, method: "GET", path: "/v1/account", edit: resign(func() int64 { return now() / 1000 }), status: unauth, code: codeStaleTimestamp},
		{name: "non-numeric timestamp", creds: &bob, method: "GET", path: "/v1/account", edit: header("PP-TIMESTAMP", "yesterday"), status: unauth, code: codeStaleTimestamp},
		{name: "missing timestamp", creds: &bob, method: "GET", path: "/v1/account", edit: header("PP-TIMESTAMP", ""), status: unauth, code: codeStaleTimestamp},
		{name: "admin key on a trading endpoint", creds: adm, method: "POST", path: "/v1/order", body: order(""), status: http.StatusForbidden, code: codeForbidden},
		{name: "account key on an admin endpoint", creds: &bob, method: "POST", path: "/v1/admin/deposit", body: `{"account":4,"amount":"1000000"}`, status: http.StatusForbidden, code: codeForbidden},
		{name: "account key creating an account", creds: &bob, method: "POST", path: "/v1/admin/accounts", body: `{"deposit":"1000"}`, status: http.StatusForbidden, code: codeForbidden},
		{name: "another exchange's admin key", creds: &foreign, method: "POST", path: "/v1/admin/deposit", body: `{"account":4,"amount":"1000"}`, status: unauth, code: codeUnauthorized},
		{name: "admin key, wrong secret", creds: adm, method: "POST", path: "/v1/admin/index", body: `{"symbol":"BTCUSDT","price":"50000"}`, edit: func(r *http.Request, _ *Credentials, body []byte) {
			c := Credentials{APIKey: adm.APIKey, Secret: foreign.Secret}
			signAt(r, &c, now(), body)
		}, status: unauth, code: codeBadSignature},
		// Admin requests.
		{name: "deposit: negative amount", creds: adm, method: "POST", path: "/v1/admin/deposit", body: `{"account":4,"amount":"-100"}`, status: bad, code: invalid},
		{name: "deposit: zero amount", creds: adm, method: "POST", path: "/v1/admin/deposit", body: `{"account":4,"amount":"0"}`, status: bad, code: invalid},
		{name: "deposit: absurd amount", creds: adm, method: "POST", path: "/v1/admin/deposit", body: `{"account":4,"amount":"99999999999999999999999"}`, status: bad, code: invalid},
		{name: "deposit: 7 decimals", creds: adm, method: "POST", path: "/v1/admin/deposit", body: `{"account":4,"amount":"1.0000001"}`, status: bad, code: invalid},
		{name: "deposit: unknown account", creds: adm, method: "POST", path: "/v1/admin/deposit", body: `{"account":99,"amount":"100"}`, status: bad, code: "unknown-account"},
		{name: "deposit: account as a string", creds: adm, method: "POST", path: "/v1/admin/deposit", body: `{"account":"4","amount":"100"}`, status: bad, code: invalid},
		{name: "deposit: no account", creds: adm, method: "POST", path: "/v1/admin/deposit", body: `{"amount":"100"}`, status: bad, code: missing},
		{name: "deposit: no amount", creds: adm, method: "POST", path: "/v1/admin/deposit", body: `{"account":4}`, status: bad, code: missing},
		{name: "withdraw more than the wallet", creds: adm, method: "POST", path: "/v1/admin/withdraw", body: `{"account":4,"amount":"100000.000001"}`, status: bad, code: "insufficient-balance", engine: true},
		{name: "withdraw more than free collateral", creds: adm, method: "POST", path: "/v1/admin/withdraw", body: `{"account":3,"amount":"100000"}`, status: bad, code: "insufficient-margin", engine: true},
		{name: "new account: negative deposit", creds: adm, method: "POST", path: "/v1/admin/accounts", body: `{"deposit":"-5"}`, status: bad, code: invalid},
		{name: "new account: unknown field", creds: adm, method: "POST", path: "/v1/admin/accounts", body: `{"deposit":"5","name":"x"}`, status: bad, code: unknownF},
		{name: "index: off-grid price", creds: adm, method: "POST", path: "/v1/admin/index", body: `{"symbol":"BTCUSDT","price":"100000.05"}`, status: bad, code: invalid},
		{name: "index: zero price", creds: adm, method: "POST", path: "/v1/admin/index", body: `{"symbol":"BTCUSDT","price":"0"}`, status: bad, code: invalid},
		{name: "index: unknown symbol", creds: adm, method: "POST", path: "/v1/admin/index", body: `{"symbol":"DOGEUSDT","price":"1"}`, status: bad, code: "unknown-market"},
		{name: "feed: paused as a string", creds: adm, method: "POST", path: "/v1/admin/feed", body: `{"paused":"yes"}`, status: bad, code: invalid},
		{name: "feed: nothing", creds: adm, method: "POST", path: "/v1/admin/feed", body: `{}`, status: bad, code: missing},
	}

	full0, clockless0 := te.engineHashes()
	start := clockless0
	bodies := map[string][]byte{}
	engineRows := 0
	for _, tc := range rows {
		status, hdr, got := te.rawRequest(tc.creds, tc.method, tc.path, tc.query, []byte(tc.body), tc.edit)
		bodies[tc.name] = got
		var e struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		}
		dec := json.NewDecoder(bytes.NewReader(got))
		dec.DisallowUnknownFields()
		derr := dec.Decode(&e)
		switch {
		case status != tc.status || derr != nil || e.Code == nil || *e.Code != tc.code:
			t.Errorf("%s: %s %s?%.60s %.80q: got %d %.200s, want %d %s", tc.name, tc.method, tc.path, tc.query, tc.body, status, got, tc.status, tc.code)
		case e.Message == nil || *e.Message == "":
			t.Errorf("%s: no message in %s", tc.name, got)
		case hdr.Get("Content-Type") != "application/json":
			t.Errorf("%s: Content-Type %q", tc.name, hdr.Get("Content-Type"))
		}
		full, clockless := te.engineHashes()
		if clockless != clockless0 {
			t.Errorf("%s: the request changed the engine's state (%d %s)", tc.name, status, got)
			clockless0 = clockless // so that the next rows are judged on their own
		}
		if tc.engine {
			engineRows++
			if full == full0 {
				t.Errorf("%s: the engine's clock did not move: the request did not reach the engine", tc.name)
			}
		} else if full != full0 {
			t.Errorf("%s: refused by the API, but the engine's clock moved: the request reached the sequencer", tc.name)
		}
		full0 = full
	}

	// Another account's order and no order at all get the same answer.
	for _, p := range [][2]string{
		{"cancel another's order", "cancel an unknown order"},
		{"cancel another's client order id", "cancel an unknown client order id"},
		{"amend another's order", "amend an unknown order"},
		{"query another's order", "query an unknown order"},
		{"query another's client order id", "query an unknown client order id"},
	} {
		if !bytes.Equal(bodies[p[0]], bodies[p[1]]) {
			t.Errorf("%s answers %s, %s answers %s", p[0], bodies[p[0]], p[1], bodies[p[1]])
		}
	}
	if _, clockless := te.engineHashes(); clockless != start {
		t.Fatal("the engine's state changed")
	}
	// Alice's order is where it was, and nobody got a new account.
	var open []OrderInfo
	te.must(&alice, "GET", "/v1/orders/open", "symbol=BTCUSDT", nil, &open)
	if len(open) != 2 || open[0].OrderID != rest.OrderID || open[0].ClientOrderID != "alice-1" || open[1].OrderID != stop.OrderID {
		t.Fatalf("alice's open orders %+v", open)
	}
	if te.x.srv.accounts.has(5) {
		t.Fatal("a refused request created an account")
	}
	t.Logf("%d bad requests, %d of them refused by the engine", len(rows), engineRows)
}

// A body declared larger than the limit is refused at once, before the
// server waits for it (it waited for the read timeout, 30 s, then
// answered 400).
func TestDeclaredOversizedBodyRefusedAtOnce(t *testing.T) {
	te := startExchange(t, t.TempDir(), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(te.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "POST /v1/order HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", 1<<30); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), codeTooLarge) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// A wrongly typed field is named as the client sent it, not by its Go
// path (orderId sits in a struct embedded in the amend request).
func TestTypeErrorNamesTheField(t *testing.T) {
	var am amendRequest
	err := decodeBody([]byte(`{"symbol":"BTCUSDT","orderId":"5","price":"99000","quantity":"0.01"}`), &am)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != codeInvalidParam || !strings.HasPrefix(ae.Message, "orderId: ") {
		t.Fatalf("%v", err)
	}
}
