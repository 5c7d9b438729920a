package clearing_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/paperperps/exchange/clearing"
)

// warmLedger returns a ledger with n accounts that all hold positions in
// both markets (half of them isolated in market 0), so every record and
// table exists and the steady state is reached.
func warmLedger(tb testing.TB, n int) *clearing.Ledger {
	tb.Helper()
	l := newLedger(tb, n, bigWallet)
	for a := range clearing.AccountID(n) {
		if a%2 == 0 {
			if _, r := l.SetMarginMode(a, 0, clearing.Isolated); r != clearing.ReasonNone {
				tb.Fatal(r)
			}
			if r := l.AddIsolatedMargin(a, 0, bigWallet/2, math.MaxInt64); r != clearing.ReasonNone {
				tb.Fatal(r)
			}
		}
	}
	for a := 0; a+1 < n; a += 2 {
		for m := range clearing.MarketID(2) {
			tr := clearing.Trade{Market: m, PriceTicks: 1_000_000, QtyLots: 10, Maker: clearing.AccountID(a), Taker: clearing.AccountID(a + 1), TakerBuys: a%4 == 0}
			if _, err := l.SettleTrade(tr); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return l
}

// tradeLoop returns a step that trades between pairs of accounts in a
// cycle that increases, reduces, closes, reopens and flips positions.
func tradeLoop(tb testing.TB, l *clearing.Ledger, n int) func() {
	i := 0
	qtys := [...]int64{3, -5, 2, 7, -7, -4, 4}
	return func() {
		q := qtys[i%len(qtys)]
		a := clearing.AccountID((i * 2) % n)
		tr := clearing.Trade{Market: clearing.MarketID(i & 1), PriceTicks: 999_000 + int64(i%2_000), QtyLots: max(q, -q),
			Maker: a, Taker: a + 1, TakerBuys: q > 0}
		if _, err := l.SettleTrade(tr); err != nil {
			tb.Fatal(err)
		}
		i++
	}
}

func TestAllocs(t *testing.T) {
	const n = 64
	l := warmLedger(t, n)
	trade := tradeLoop(t, l, n)
	for range 1000 {
		trade()
	}
	if a := testing.AllocsPerRun(10_000, trade); a != 0 {
		t.Errorf("SettleTrade: %v allocations per call", a)
	}
	i := 0
	fill := func() {
		q := int64(1 - 2*((i/n)&1)) // each account buys, then sells, then buys ...
		if _, err := l.Fill(clearing.FillSide{Account: clearing.AccountID(i % n), Market: 1, QtyLots: q, PriceTicks: 1_000_000 + int64(i%7), Maker: i%3 == 0}); err != nil {
			t.Fatal(err)
		}
		i++
	}
	if a := testing.AllocsPerRun(10_000, fill); a != 0 {
		t.Errorf("Fill: %v allocations per call", a)
	}
	buf := make([]clearing.FundingPayment, 0, n)
	funding := func() {
		var err error
		if buf, _, err = l.SettleFunding(0, 1_000_000, 100, buf[:0]); err != nil {
			t.Fatal(err)
		}
	}
	if a := testing.AllocsPerRun(1_000, funding); a != 0 {
		t.Errorf("SettleFunding: %v allocations per call", a)
	}
	if a := testing.AllocsPerRun(1_000, func() {
		l.Deposit(3, 1)
		l.Withdraw(3, 1, math.MaxInt64)
		l.AddIsolatedMargin(0, 0, 1, math.MaxInt64)
		l.RemoveIsolatedMargin(0, 0, 1, math.MaxInt64)
	}); a != 0 {
		t.Errorf("transfers: %v allocations per call", a)
	}
}

// BenchmarkSettleTrade cycles through pairs of accounts: with 64 accounts
// everything is in cache, with 10,000 (the engine benchmark's count) each
// trade's first record and wallet are cache misses.
func BenchmarkSettleTrade(b *testing.B) {
	for _, n := range []int{64, 10_000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			l := warmLedger(b, n)
			trade := tradeLoop(b, l, n)
			b.ReportAllocs()
			for b.Loop() {
				trade()
			}
		})
	}
}

func BenchmarkFill(b *testing.B) {
	const n = 10_000
	l := warmLedger(b, n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := int64(1 - 2*(i&1))
		if _, err := l.Fill(clearing.FillSide{Account: clearing.AccountID(i % n), Market: 1, QtyLots: q, PriceTicks: 1_000_000, Maker: i&2 == 0}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSettleFunding settles a market of 10,000 open positions; ns/op
// is per settlement.
func BenchmarkSettleFunding(b *testing.B) {
	const n = 10_000
	l := warmLedger(b, n)
	buf := make([]clearing.FundingPayment, 0, n)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = l.SettleFunding(0, 1_000_000, 100, buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
