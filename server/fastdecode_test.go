package server

import (
	"bytes"
	"testing"
)

// What the fast decoders accept, the strict decoder decodes the same; the
// fast ones may decline anything (the strict one then answers).
func FuzzFastDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":9,"op":"order.place","order":{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"100000.5","quantity":"0.002"}}`,
		`{"id":10,"op":"order.cancel","order":{"symbol":"BTCUSDT","orderId":12}}`,
		`{"op":"order.amend","id":0,"order":{"symbol":"ETHUSDT","clientOrderId":"a-1","price":"3000","quantity":"1.50"}}`,
		`{"symbol":"BTCUSDT","side":"sell","type":"market","quantity":"1","reduceOnly":true,"timeInForce":"ioc","selfTradePrevention":"cancel-both"}`,
		`{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"-1","quantity":"00.10","trigger":"stop","triggerBy":"mark","triggerPrice":"99000","reduceOnly":false}`,
		` { "id" : 1 , "op" : "ping" } `, `{"id":1,"id":2}`, `{"price":1}`, `{"price":"1e5"}`, `{"orderId":01}`, `{}`, `{"id":1,"op":"x","order":{"a":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fw, sw wsRequest
		if fastWSRequest(b, &fw) {
			if err := decodeBody(b, &sw); err != nil {
				t.Fatalf("fast ws accepted %q, strict: %v", b, err)
			}
			if fw.ID != sw.ID || fw.Op != sw.Op || !bytes.Equal(fw.Order, sw.Order) || sw.Streams != nil || sw.Since != 0 || sw.APIKey != "" ||
				sw.Timestamp != "" || sw.Signature != "" {
				t.Fatalf("%q: fast %+v, strict %+v", b, fw, sw)
			}
		}
		var fp, sp placeRequest
		if fastPlace(b, &fp) {
			if err := decodeBody(b, &sp); err != nil {
				t.Fatalf("fast place accepted %q, strict: %v", b, err)
			}
			sameNumber(t, b, fp.Price, sp.Price)
			sameNumber(t, b, fp.Quantity, sp.Quantity)
			sameNumber(t, b, fp.TriggerPrice, sp.TriggerPrice)
			fp.Price, fp.Quantity, fp.TriggerPrice = Number{}, Number{}, Number{}
			sp.Price, sp.Quantity, sp.TriggerPrice = Number{}, Number{}, Number{}
			if fp != sp {
				t.Fatalf("%q: fast %+v, strict %+v", b, fp, sp)
			}
		}
		var fr, sr orderRef
		if fastRef(b, &fr) {
			if err := decodeBody(b, &sr); err != nil || fr != sr {
				t.Fatalf("%q: fast %+v, strict %+v, %v", b, fr, sr, err)
			}
		}
		var fa, sa amendRequest
		if fastAmend(b, &fa) {
			if err := decodeBody(b, &sa); err != nil {
				t.Fatalf("fast amend accepted %q, strict: %v", b, err)
			}
			sameNumber(t, b, fa.Price, sa.Price)
			sameNumber(t, b, fa.Quantity, sa.Quantity)
			if fa.orderRef != sa.orderRef {
				t.Fatalf("%q: fast %+v, strict %+v", b, fa, sa)
			}
		}
	})
}

func sameNumber(t *testing.T, b []byte, fast, strict Number) {
	t.Helper()
	if fast.set != strict.set || fast.text != strict.text || !fast.dec().Equal(strict.dec()) || fast.dec().Exponent() != strict.dec().Exponent() {
		t.Fatalf("%q: fast number %+v, strict %+v", b, fast, strict)
	}
}

func BenchmarkDecodeWSPlace(b *testing.B) {
	msg := []byte(`{"id":9,"op":"order.place","order":{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"100000.5","quantity":"0.002"}}`)
	s := &Server{markets: feedTestMarkets()}
	b.ReportAllocs()
	for b.Loop() {
		r, err := parseWSRequest(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.wsCommand(1, &r); err != nil {
			b.Fatal(err)
		}
	}
}
