package margin_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/paperperps/exchange/margin"
)

func TestUnrealizedPnL(t *testing.T) {
	for _, tc := range []struct {
		side                 margin.Side
		size, mark, entry, q int64
		want                 int64
	}{
		{margin.Long, 1_000, 1_100_000, 100_000 * usdt, 100, 10_000 * usdt},
		{margin.Short, 1_000, 1_100_000, 100_000 * usdt, 100, -10_000 * usdt},
		{margin.Long, 1_000, 900_000, 100_000 * usdt, 100, -10_000 * usdt},
		{margin.Short, 1_000, 900_000, 100_000 * usdt, 100, 10_000 * usdt},
		// An entry average between ticks: 3 lots bought at 10 and 11 ticks
		// and 11: entry value 32 × q; marked at 11: 33 − 32 = 1 × q.
		{margin.Long, 3, 11, 32 * 100, 100, 100},
		{margin.Long, 0, 5, 0, 100, 0},
		{margin.Short, 1, math.MaxInt64, 0, 1, -math.MaxInt64},
		{margin.Long, 1, 1, math.MaxInt64, 1, 1 - math.MaxInt64},
	} {
		got, err := margin.UnrealizedPnL(tc.side, tc.size, tc.mark, tc.entry, tc.q)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %d %v", tc, got, err)
		}
	}
	for _, tc := range []struct {
		name                 string
		side                 margin.Side
		size, mark, entry, q int64
		target               error
		msg                  string
	}{
		{"overflow", margin.Long, math.MaxInt64, 2, 0, 1, margin.ErrOverflow, "unrealized PnL"},
		{"overflow qptl", margin.Long, 1 << 32, 1 << 30, 0, 1 << 2, margin.ErrOverflow, "unrealized PnL"},
		{"side", 0, 1, 1, 1, 1, margin.ErrInvalidInput, "side"},
		{"size", margin.Long, -1, 1, 1, 1, margin.ErrInvalidInput, "negative size"},
		{"mark", margin.Long, 1, 0, 1, 1, margin.ErrInvalidInput, "price must be positive"},
		{"entry", margin.Long, 1, 1, -1, 1, margin.ErrInvalidInput, "negative entry"},
		{"qptl", margin.Long, 1, 1, 1, 0, margin.ErrInvalidInput, "quote per tick-lot"},
	} {
		_, err := margin.UnrealizedPnL(tc.side, tc.size, tc.mark, tc.entry, tc.q)
		wantErr(t, tc.name, err, tc.target, tc.msg)
	}
}

func TestMarginBalanceAndLiquidatable(t *testing.T) {
	if b, err := margin.MarginBalance(10, -25); err != nil || b != -15 {
		t.Errorf("balance %d %v", b, err)
	}
	_, err := margin.MarginBalance(math.MaxInt64, 1)
	wantErr(t, "balance overflow", err, margin.ErrOverflow, "margin balance")

	for _, tc := range []struct {
		wallet, upnl, maint int64
		want                bool
	}{
		{100, 0, 99, false},
		{100, 0, 100, true}, // at equality: liquidated, as venues do
		{100, -1, 100, true},
		{100, 1, 100, false},
		{-5, 0, 0, true},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64, false}, // sum beyond int64: far above
		{math.MinInt64, -1, math.MinInt64, true},             // sum beyond int64 below: far below
		{math.MinInt64, math.MaxInt64, -1, true},             // -1 <= -1
	} {
		if got := margin.Liquidatable(tc.wallet, tc.upnl, tc.maint); got != tc.want {
			t.Errorf("Liquidatable(%d, %d, %d) = %v", tc.wallet, tc.upnl, tc.maint, got)
		}
	}
	// Exact for every input: compare with big integers.
	r := rand.New(rand.NewPCG(5, 6))
	for range 100_000 {
		w, u, m := int64(r.Uint64()), int64(r.Uint64()), int64(r.Uint64())
		if r.IntN(2) == 0 {
			m = w + u + r.Int64N(3) - 1 // near equality
		}
		want := new(big.Int).Add(bi(w), bi(u)).Cmp(bi(m)) <= 0
		if got := margin.Liquidatable(w, u, m); got != want {
			t.Fatalf("Liquidatable(%d, %d, %d) = %v", w, u, m, got)
		}
	}
}
