package client_test

import (
	"context"
	"testing"

	"github.com/paperperps/exchange/client"
)

func BenchmarkSign(b *testing.B) {
	const secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	body := []byte(`{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"95000.5","quantity":"0.01","clientOrderId":"bot-1"}`)
	b.ReportAllocs()
	for b.Loop() {
		client.Sign(secret, "1767225600000", "POST", "/v1/order", "", body)
	}
}

// A place and a cancel over loopback per iteration, one goroutine: the
// SDK's share of a REST round trip (the server's included).
func BenchmarkPlaceCancel(b *testing.B) {
	ctx := context.Background()
	c := bot(b)
	o := client.Limit(btc, client.Buy, d("95000"), d("0.002"))
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.PlaceOrder(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.CancelOrder(ctx, btc, res.Ref()); err != nil {
			b.Fatal(err)
		}
	}
}
