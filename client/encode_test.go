package client

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

// The appended requests are the bytes encoding/json writes.
func TestOrderEncodingAsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	dec := func() decimal.Decimal {
		if rng.IntN(4) == 0 {
			return decimal.Zero
		}
		return decimal.New(rng.Int64N(2_000_000)-1_000_000, -rng.Int32N(9))
	}
	for i := range 20_000 {
		o := OrderRequest{Symbol: pick("BTCUSDT", "E<TH", "é"), Side: Side(pick("buy", "sell", "")), Type: OrderType(pick("limit", "market")),
			Quantity: dec(), Price: dec(), TimeInForce: TimeInForce(pick("", "gtc", "post-only")), ReduceOnly: rng.IntN(2) == 0,
			ClientOrderID: pick("", "mm-1", "a&b", "q\"x"), SelfTradePrevention: STP(pick("", "cancel-both")), Trigger: Trigger(pick("", "stop")),
			TriggerBy: TriggerBy(pick("", "mark")), TriggerPrice: dec()}
		want, _ := json.Marshal(orderWire{Symbol: o.Symbol, Side: o.Side, Type: o.Type, Price: optDecimal(o.Price),
			Quantity: o.Quantity.String(), TimeInForce: o.TimeInForce, ReduceOnly: o.ReduceOnly, ClientOrderID: o.ClientOrderID,
			SelfTradePrevention: o.SelfTradePrevention, Trigger: o.Trigger, TriggerBy: o.TriggerBy, TriggerPrice: optDecimal(o.TriggerPrice)})
		if got, ok := appendOrder(nil, &o); ok && string(got) != string(want) {
			t.Fatalf("%d: appendOrder\n%s\nwant\n%s", i, got, want)
		}
		if got, err := json.Marshal(o); err != nil || string(got) != string(want) {
			t.Fatalf("%d: MarshalJSON\n%s\nwant\n%s", i, got, want)
		}
		msg, _ := json.Marshal(map[string]any{"op": "order.place", "order": o, "id": uint64(i)})
		got, err := appendOrderMessage([]byte("x"), uint64(i), "order.place", func(b []byte) ([]byte, error) { return appendOrderJSON(b, &o) })
		if err != nil || string(got) != "x"+string(msg) {
			t.Fatalf("%d: message (%v)\n%s\nwant\nx%s", i, err, got, msg)
		}
		ref := OrderRef{OrderID: OrderID(rng.Uint64N(3) * rng.Uint64()), ClientOrderID: pick("", "c-1", "<")}
		wantRef, _ := json.Marshal(refWire(o.Symbol, ref, nil))
		if got, ok := appendRef(nil, o.Symbol, ref); ok && string(got) != string(wantRef) {
			t.Fatalf("%d: appendRef\n%s\nwant\n%s", i, got, wantRef)
		}
	}
}
