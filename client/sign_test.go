package client_test

import (
	"math/rand/v2"
	"testing"

	"github.com/paperperps/exchange/client"
	"github.com/paperperps/exchange/server"
)

// The worked examples of docs/API.md, computed there by server.SignRequest.
func TestSignDocExamples(t *testing.T) {
	const secret, ts = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "1767225600000"
	for _, tc := range []struct{ method, path, query, body, want string }{
		{"POST", "/v1/order", "", `{"symbol":"BTCUSDT","side":"buy","type":"limit","price":"95000.5","quantity":"0.01","clientOrderId":"bot-1"}`,
			"0ea8f2d86eea506339df2b26c830179ca5f21f98603e8772133cd545341f8d04"},
		{"GET", "/v1/orders/open", "symbol=BTCUSDT", "", "bb67f99f031d53204ece7cdd1a8e921d14a105ad0b0a9d734a4aaf162b4be214"},
		{"DELETE", "/v1/order", "symbol=BTCUSDT&clientOrderId=bot-1", "", "5a4b3e3f88f5d9ed98c85c8c0452e6e1af44f107ccec045f575f7302def52495"},
	} {
		if got := client.Sign(secret, ts, tc.method, tc.path, tc.query, []byte(tc.body)); got != tc.want {
			t.Errorf("%s %s?%s: %s, want %s", tc.method, tc.path, tc.query, got, tc.want)
		}
	}
}

// Sign agrees with the server's SignRequest on random inputs, newlines,
// percent signs and non-ASCII bytes included.
func TestSignMatchesServer(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const alphabet = "abcdefABCDEF0123456789/?&=%+-_.~ \n\t\x00\xff{}\":,é"
	str := func(max int) string {
		b := make([]byte, rng.IntN(max+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	for i := range 5000 {
		secret, ts, path, q := str(80), str(16), str(40), str(60)
		var body []byte
		if i%3 != 0 {
			body = []byte(str(300))
		}
		m := methods[rng.IntN(len(methods))]
		if got, want := client.Sign(secret, ts, m, path, q, body), server.SignRequest(secret, ts, m, path, q, body); got != want {
			t.Fatalf("Sign(%q, %q, %q, %q, %q, %q) = %s, server %s", secret, ts, m, path, q, body, got, want)
		}
	}
}
