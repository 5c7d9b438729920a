package client

import (
	"encoding/json"
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
