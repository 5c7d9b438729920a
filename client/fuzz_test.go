package client

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The Stream's decoders of what the server sends must refuse garbage
// with an error, never panic.
func FuzzDecodeServerMessages(f *testing.F) {
	for _, s := range []string{`{"id":1,"result":{"account":3}}`, `{"id":2,"error":{"code":"unknown-order","message":"x"}}`,
		`[{"stream":"trades:BTCUSDT","data":{"id":1}},{"id":3,"result":"pong"}]`, `{"stream":"user","n":4,"seq":9,"data":{"type":"fill"}}`, `[`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		if err := decodeServerMessages(b, func(m serverMessage) {
			n++
			if m.Error != nil {
				_ = m.Error.apiError().Error()
			}
		}); err == nil && n == 0 && json.Valid(b) && b[0] != '[' {
			t.Fatalf("no message from %q", b)
		}
	})
}

func FuzzDecodeUserEvent(f *testing.F) {
	for _, s := range []string{`{"type":"order","event":"accepted","orderId":1,"price":"1.5","quantity":"2"}`,
		`{"type":"liquidation","qty":"1","bankruptcyPrice":"97000"}`, `{"type":"reset","next":7}`, `{"type":"new-kind"}`, `{"type":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeUserEvent(UserMeta{N: 1}, b)
		if err == nil && ev == nil {
			t.Fatalf("no event and no error from %q", b)
		}
	})
}

// A depth message that does not chain is a gap, and the book waits for
// a snapshot; garbage is an error.
func TestOrderBookGap(t *testing.T) {
	b := &OrderBook{symbol: "X", bids: map[string]Level{}, asks: map[string]Level{}, updates: make(chan uint64, 1)}
	for i, tc := range []struct {
		msg string
		gap bool
		id  uint64
	}{
		{`{"symbol":"X","snapshot":true,"updateId":5,"bids":[["10","1"]],"asks":[["11","2"]]}`, false, 5},
		{`{"symbol":"X","firstUpdateId":6,"updateId":7,"bids":[["10","0"],["9","3"]],"asks":[]}`, false, 7},
		{`{"symbol":"X","firstUpdateId":9,"updateId":9,"bids":[],"asks":[["11","0"]]}`, true, 7},
		{`{"symbol":"X","firstUpdateId":10,"updateId":10,"bids":[],"asks":[]}`, false, 7}, // ignored until a snapshot
		{`{"symbol":"X","snapshot":true,"updateId":10,"bids":[],"asks":[["12","1"]]}`, false, 10},
	} {
		err := b.apply(json.RawMessage(tc.msg))
		if (err == errGap) != tc.gap || b.UpdateID() != tc.id {
			t.Fatalf("message %d: err %v, id %d", i, err, b.UpdateID())
		}
	}
	d := b.Depth(0)
	if len(d.Bids) != 0 || len(d.Asks) != 1 || d.Asks[0].Price.String() != "12" || b.Resyncs() != 1 || !b.Synced() {
		t.Fatalf("book %+v, resyncs %d", d, b.Resyncs())
	}
	if b.apply(json.RawMessage(`{"bids":"x"}`)) == nil {
		t.Fatal("garbage applied")
	}
}

// orderResultSamples are order answers in the shape the server writes.
var orderResultSamples = []string{
	`{"orderId":17,"clientOrderId":"bot-1","symbol":"BTCUSDT","side":"buy","status":"new","price":"99000.5","quantity":"0.01","executedQty":"0","fills":null,"seq":42}`,
	`{"orderId":18,"symbol":"ETHUSDT","side":"sell","status":"filled","quantity":"2","executedQty":"2","avgPrice":"3000.25","fills":[{"price":"3000.5","qty":"1","fee":"1.20","makerOrderId":3},{"price":"3000","qty":"1","fee":"-0.3","makerOrderId":4}],"seq":43}`,
	`{"orderId":19,"symbol":"BTCUSDT","side":"buy","status":"cancelled","price":"1","quantity":"5","executedQty":"0","cancelReason":"user","fills":[],"seq":18446744073709551615}`,
}

// The fast path takes the server's shape, and agrees with encoding/json
// on whatever it takes.
func TestDecodeOrderResult(t *testing.T) {
	for _, s := range orderResultSamples {
		var fast, slow OrderResult
		if !decodeOrderResult([]byte(s), &fast) {
			t.Fatalf("fast path refused %s", s)
		}
		if err := json.Unmarshal([]byte(s), &slow); err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%s:\nfast %+v\njson %+v (%v)", s, fast, slow, err)
		}
	}
	for _, s := range []string{
		`{"orderId":01,"symbol":"X","side":"buy","status":"new","quantity":"1","executedQty":"0","fills":null,"seq":1}`,
		`{"orderId":1,"symbol":"X\n","side":"buy","status":"new","quantity":"1","executedQty":"0","fills":null,"seq":1}`,
		`{"orderId":1,"symbol":"X","side":"buy","status":"new","quantity":"1e3","executedQty":"0","fills":null,"seq":1}`,
		`{"orderId":1,"symbol":"X","side":"buy","status":"new","quantity":"1","executedQty":"0","fills":null,"seq":1} `,
		`{"orderId":1, "symbol":"X","side":"buy","status":"new","quantity":"1","executedQty":"0","fills":null,"seq":1}`,
		`{"orderId":18446744073709551616,"symbol":"X","side":"buy","status":"new","quantity":"1","executedQty":"0","fills":null,"seq":1}`,
		`{"orderId":1,"symbol":"X","side":"buy","status":"new","quantity":"1","executedQty":"0","fills":[{"price":"1","qty":"1","fee":"0","makerOrderId":2},],"seq":1}`,
	} {
		var r OrderResult
		if decodeOrderResult([]byte(s), &r) {
			t.Errorf("fast path took %s", s)
		}
	}
}

func FuzzDecodeOrderResult(f *testing.F) {
	for _, s := range orderResultSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, slow OrderResult
		if !decodeOrderResult(b, &fast) {
			return
		}
		if err := json.Unmarshal(b, &slow); err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast %+v\njson %+v (%v)", b, fast, slow, err)
		}
	})
}

// Order answers, alone or batched, take the fast path, and it hands out
// the messages encoding/json would.
func TestDecodeOrderAnswers(t *testing.T) {
	one := `{"id":7,"result":` + orderResultSamples[0] + `}`
	batch := `[` + one + `,{"id":8,"result":` + orderResultSamples[1] + `}]`
	for _, s := range []string{one, batch} {
		if !checkOrderAnswers(t, []byte(s)) {
			t.Fatalf("fast path refused %s", s)
		}
	}
	for _, s := range []string{`{"id":7,"result":"pong"}`, `[` + one + `,]`, `[` + one + `]x`, `{"id":7,"result":` + orderResultSamples[0] + `,"n":1}`} {
		if checkOrderAnswers(t, []byte(s)) {
			t.Errorf("fast path took %s", s)
		}
	}
}

// checkOrderAnswers runs the fast path on b and, if it takes b, compares
// what it hands out with encoding/json's reading.
func checkOrderAnswers(t *testing.T, b []byte) bool {
	var fast []serverMessage
	if !decodeOrderAnswers(b, func(m serverMessage) { fast = append(fast, m) }) {
		if len(fast) > 0 {
			t.Fatalf("%q: refused after handing out %d messages", b, len(fast))
		}
		return false
	}
	var slow []serverMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("%q: fast path took what encoding/json refuses: %v", b, err)
		}
	} else {
		var m serverMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%q: fast path took what encoding/json refuses: %v", b, err)
		}
		slow = append(slow, m)
	}
	for i := range fast {
		// The fast path hands out each result decoded too: as
		// encoding/json reads its bytes.
		var want OrderResult
		if err := json.Unmarshal(fast[i].Result, &want); err != nil || fast[i].order == nil || !reflect.DeepEqual(*fast[i].order, want) {
			t.Fatalf("%q: message %d decoded as %+v, encoding/json reads %+v (%v)", b, i, fast[i].order, want, err)
		}
		fast[i].order = nil
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q:\nfast %+v\njson %+v", b, fast, slow)
	}
	return true
}

func FuzzDecodeOrderAnswers(f *testing.F) {
	one := `{"id":7,"result":` + orderResultSamples[0] + `}`
	f.Add([]byte(one))
	f.Add([]byte(`[` + one + `,{"id":8,"result":` + orderResultSamples[2] + `}]`))
	f.Fuzz(func(t *testing.T, b []byte) { checkOrderAnswers(t, b) })
}
