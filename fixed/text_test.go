package fixed_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/paperperps/exchange/fixed"
)

// The text conversions against the decimal ones they stand for, on grids
// from coarse to fine and on seeded random texts around them: whatever
// TicksText converts, Ticks converts to the same; whatever AppendPrice
// writes, Price(...).String() writes too.
func TestTextConversionsMatchDecimal(t *testing.T) {
	grids := []fixed.Grid{fixed.MustNewGrid("0.1", "0.001"), fixed.MustNewGrid("0.01", "0.01"), fixed.MustNewGrid("0.0001", "1"),
		fixed.MustNewGrid("0.5", "0.25"), fixed.MustNewGrid("5", "0.000001"), fixed.MustNewGrid("10", "100"), fixed.MustNewGrid("0.10", "1.000")}
	rng := rand.New(rand.NewPCG(7, 9))
	randText := func() string {
		var sb strings.Builder
		if rng.IntN(10) == 0 {
			sb.WriteByte('-')
		}
		for range 1 + rng.IntN(12) {
			sb.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(2) == 0 {
			sb.WriteByte('.')
			for range 1 + rng.IntN(10) {
				sb.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		switch rng.IntN(40) {
		case 0:
			return "." + sb.String()
		case 1:
			return sb.String() + "."
		case 2:
			return sb.String() + "e1"
		case 3:
			return "+" + sb.String()
		case 4:
			return strings.Repeat("9", 1+rng.IntN(30))
		}
		return sb.String()
	}
	for _, g := range grids {
		for range 50_000 {
			s := randText()
			for _, max := range []int64{1_000_000_000_000, math.MaxInt64} {
				n, ok := g.TicksText(s, max)
				d, err := decimal.NewFromString(s)
				if ok {
					if err != nil {
						t.Fatalf("%s: TicksText(%q) = %d, but not a decimal", g, s, n)
					}
					if want, err := g.Ticks(d, max); err != nil || want != n {
						t.Fatalf("%s: TicksText(%q) = %d, Ticks = %d, %v", g, s, n, want, err)
					}
				}
				n, ok = g.LotsText(s, max)
				if ok {
					if want, err := g.Lots(d, max); err != nil || want != n {
						t.Fatalf("%s: LotsText(%q) = %d, Lots = %d, %v", g, s, n, want, err)
					}
				}
			}
			// Exact multiples convert by text too.
			if k := rng.Int64N(1_000_000_000) + 1; true {
				p := g.Price(k).String()
				if n, ok := g.TicksText(p, math.MaxInt64); !ok || n != k {
					t.Fatalf("%s: TicksText(%q) = %d, %v; want %d", g, p, n, ok, k)
				}
				q := g.Qty(k).StringFixed(12)
				if n, ok := g.LotsText(q, math.MaxInt64); !ok || n != k {
					t.Fatalf("%s: LotsText(%q) = %d, %v; want %d", g, q, n, ok, k)
				}
			}
		}
		for _, k := range []int64{0, 1, -1, 7, 10, 100, 123456789, -123456789, math.MaxInt64, math.MinInt64, math.MaxInt64 / 10, rng.Int64(), -rng.Int64()} {
			if got, want := string(g.AppendPrice(nil, k)), g.Price(k).String(); got != want {
				t.Fatalf("%s: AppendPrice(%d) = %q, want %q", g, k, got, want)
			}
			if got, want := string(g.AppendQty([]byte("x"), k)), "x"+g.Qty(k).String(); got != want {
				t.Fatalf("%s: AppendQty(%d) = %q, want %q", g, k, got, want)
			}
			if got, want := string(fixed.AppendQuoteAmount(nil, k)), fixed.QuoteAmount(k).String(); got != want {
				t.Fatalf("AppendQuoteAmount(%d) = %q, want %q", k, got, want)
			}
		}
		for range 100_000 {
			k := rng.Int64N(1<<uint(1+rng.IntN(62))) - 1<<20
			if got, want := string(g.AppendPrice(nil, k)), g.Price(k).String(); got != want {
				t.Fatalf("%s: AppendPrice(%d) = %q, want %q", g, k, got, want)
			}
			if got, want := string(g.AppendQty(nil, k)), g.Qty(k).String(); got != want {
				t.Fatalf("%s: AppendQty(%d) = %q, want %q", g, k, got, want)
			}
			if got, want := string(fixed.AppendQuoteAmount(nil, k)), fixed.QuoteAmount(k).String(); got != want {
				t.Fatalf("AppendQuoteAmount(%d) = %q, want %q", k, got, want)
			}
		}
	}
}

func BenchmarkTicks(b *testing.B) {
	g := fixed.MustNewGrid("0.1", "0.001")
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, _ := decimal.NewFromString("100123.4")
			_, _ = g.Ticks(d, 1e12)
		}
	})
	b.Run("text", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = g.TicksText("100123.4", 1e12)
		}
	})
	b.Run("price-string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = g.Price(1001234).String()
		}
	})
	b.Run("append-price", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = g.AppendPrice(buf[:0], 1001234)
		}
	})
}
