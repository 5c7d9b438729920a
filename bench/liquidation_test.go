package bench

import (
	"runtime"
	"testing"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/orderbook"
)

// BenchmarkMarkUpdate1M: 1,000,000 accounts hold BTCUSDT positions at
// leverage 2-50x (500,000 pairs, half the accounts isolated), built before
// the timer; each iteration is one index update that moves the mark by
// ±0.5% and liquidates nobody: the liquidation index answers with a look at
// the top of its heaps, whatever the number of accounts.
func BenchmarkMarkUpdate1M(b *testing.B) {
	benchMarkUpdate(b, 500_000)
}

func benchMarkUpdate(b *testing.B, pairs int) {
	p, err := NewPopulation(PopulationSpec{Seed: 1, Longs: pairs, LongLeverage: [2]int64{2, 50}, ShortLeverage: [2]int64{2, 50},
		IsolatedPerMille: 500, SizeLots: [2]int64{1, 100}})
	if err != nil {
		b.Fatal(err)
	}
	prices := [2]int64{populationIndex * 995 / 1000, populationIndex * 1005 / 1000}
	runtime.GC()
	b.ResetTimer()
	for i := range b.N {
		if err := p.Apply(engine.Command{Kind: engine.CmdSetIndexPrice, PriceTicks: prices[i%2]}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for _, x := range p.Events() {
		if x.Kind == engine.EventLiquidation {
			b.Fatal("a mark update liquidated an account")
		}
	}
}

// TestMarkUpdateSmall runs the mark-update benchmark's setup and loop at a
// small size, so that the benchmark keeps working.
func TestMarkUpdateSmall(t *testing.T) {
	res := testing.Benchmark(func(b *testing.B) { benchMarkUpdate(b, 2_000) })
	if res.N == 0 {
		t.Fatal("the benchmark did not run")
	}
}

// BenchmarkCascade100k: 100,000 accounts long BTCUSDT at 20-50x against
// 1,000 well-funded shorts at 2x, with a market maker's bids 0.1% to 3%
// below the index; the index falls 20% in one update. Every long is
// liquidated in one cascade: into the bids while they last, then by
// auto-deleveraging against the shorts. One iteration is the fall and
// every command until nothing waits (clock ticks carry the work the
// per-command budget leaves); it reports the liquidations.
func BenchmarkCascade100k(b *testing.B) {
	benchCascade(b, 100_000)
}

func benchCascade(b *testing.B, longs int) {
	for range b.N {
		b.StopTimer()
		p, err := newCascadePopulation(longs)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		liquidations, err := runCascade(p)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if liquidations < longs {
			b.Fatalf("%d liquidations, want at least %d", liquidations, longs)
		}
		b.ReportMetric(float64(liquidations), "liquidations/op")
	}
}

// runCascade drops the index 20% and runs clock ticks until no liquidation
// waits; it returns the liquidations.
func runCascade(p *Population) (int, error) {
	liquidations := 0
	count := func() {
		for _, x := range p.Events() {
			if x.Kind == engine.EventLiquidation {
				liquidations++
			}
		}
	}
	if err := p.Apply(engine.Command{Kind: engine.CmdSetIndexPrice, PriceTicks: populationIndex * 80 / 100}); err != nil {
		return 0, err
	}
	count()
	for p.Engine.LiquidationsWaiting() > 0 {
		if err := p.Apply(engine.Command{Kind: engine.CmdClockTick}); err != nil {
			return 0, err
		}
		count()
	}
	return liquidations, nil
}

// TestCascadeSmall runs the cascade benchmark's scenario at 2,000 accounts:
// every long is liquidated and money is conserved.
func TestCascadeSmall(t *testing.T) {
	p, err := newCascadePopulation(2_000)
	if err != nil {
		t.Fatal(err)
	}
	n, err := runCascade(p)
	if err != nil {
		t.Fatal(err)
	}
	if n < 2_000 {
		t.Fatalf("%d liquidations", n)
	}
	if err := p.Engine.Ledger().CheckConservation(); err != nil {
		t.Fatal(err)
	}
}

// newCascadePopulation: longs accounts long 10 lots each at 20-50x, one
// short at 2x for every 100 of them, and a market maker's bids 0.1% to 3%
// below the index.
func newCascadePopulation(longs int) (*Population, error) {
	p, err := NewPopulation(PopulationSpec{Seed: 2, Longs: longs, LongsPerShort: 100,
		LongLeverage: [2]int64{20, 50}, ShortLeverage: [2]int64{2, 2}, SizeLots: [2]int64{10, 10}})
	if err != nil {
		return nil, err
	}
	mm := engine.AccountID(p.Engine.Ledger().NumAccounts())
	if err := p.Apply(engine.Command{Kind: engine.CmdCreateAccount}); err != nil {
		return nil, err
	}
	if err := p.Deposit(mm, 100_000_000); err != nil {
		return nil, err
	}
	for lvl := int64(1); lvl <= 30; lvl++ {
		price := populationIndex - populationIndex*lvl/1000
		if err := p.Apply(engine.Command{Kind: engine.CmdPlaceOrder, Account: mm, Side: orderbook.Buy, Type: orderbook.Limit,
			TIF: orderbook.GTC, PriceTicks: price, QtyLots: 2_000}); err != nil {
			return nil, err
		}
	}
	return p, nil
}
