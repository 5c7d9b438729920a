package server

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shopspring/decimal"
)

// The hand-written answers are the bytes encoding/json writes: an order's
// JSON, its WebSocket reply and its REST answer.
func TestOrderResultJSONAsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dec := func() decimal.Decimal { return decimal.New(rng.Int64N(2_000_000)-1_000_000, -rng.Int32N(9)) }
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	type plain OrderResult
	for i := range 20_000 {
		r := OrderResult{OrderID: rng.Uint64(), ClientOrderID: pick("", "mm-1", "a<b", "x&y", "é", "q\"", "a\\b", "tab\t"),
			Market: pick("BTCUSDT", "ETHUSDT", "<x>"), Side: pick("buy", "sell"), Status: pick(OrderStatusNew, OrderStatusFilled, OrderStatusCancelled),
			Quantity: dec(), ExecutedQty: dec(), CancelReason: pick("", "self-trade", "ioc"), Seq: rng.Uint64()}
		if rng.IntN(2) == 0 {
			p := dec()
			r.Price = &p
		}
		if rng.IntN(2) == 0 {
			p := dec()
			r.AvgPrice = &p
		}
		if rng.IntN(5) > 0 {
			r.Fills = []FillResult{}
			for range rng.IntN(3) {
				r.Fills = append(r.Fills, FillResult{Price: dec(), Qty: dec(), Fee: dec(), Maker: rng.Uint64()})
			}
		}
		want, err := json.Marshal(plain(r))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(r)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%d: MarshalJSON\n%s\nwant\n%s", i, got, want)
		}
		// REST: writeJSON's bytes, hand-written or not, are an encoder's.
		rec := httptest.NewRecorder()
		writeJSON(rec, http.StatusOK, r)
		var enc bytes.Buffer
		if err := json.NewEncoder(&enc).Encode(plain(r)); err != nil {
			t.Fatal(err)
		}
		if rec.Body.String() != enc.String() || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%d: writeJSON\n%s\nwant\n%s", i, rec.Body, enc.String())
		}
		wantReply, _ := json.Marshal(struct {
			ID     uint64    `json:"id"`
			Result any       `json:"result,omitempty"`
			Error  *APIError `json:"error,omitempty"`
		}{uint64(i), plain(r), nil})
		if reply, ok := appendOrderReply(nil, uint64(i), &r); ok && string(reply) != string(wantReply) {
			t.Fatalf("%d: reply\n%s\nwant\n%s", i, reply, wantReply)
		}
	}
}

func BenchmarkOrderReply(b *testing.B) {
	m := &feedTestMarkets()[0]
	p, q := m.Grid.Price(1_000_005), m.Grid.Qty(2)
	r := OrderResult{OrderID: 123456, Market: m.Symbol, Side: "buy", Status: OrderStatusNew, Price: &p, Quantity: q,
		ExecutedQty: decimal.Zero, Fills: []FillResult{}, Seq: 987654}
	type plain OrderResult
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(struct {
				ID     uint64    `json:"id"`
				Result any       `json:"result,omitempty"`
				Error  *APIError `json:"error,omitempty"`
			}{7, plain(r), nil})
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = appendOrderReply(make([]byte, 0, 320), 7, &r)
		}
	})
}
