package margin_test

import (
	"testing"

	"github.com/paperperps/exchange/margin"
)

var benchSink int64

func BenchmarkMaintenanceMargin(b *testing.B) {
	btc := margin.DefaultBTC()
	for i := range b.N {
		m, _ := btc.MaintenanceMargin(int64(i&0xffff) * 1_000_000_000)
		benchSink += m
	}
}

func BenchmarkLiquidationPrice(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   margin.LiqInput
	}{
		{"isolated 1 BTC", margin.LiqInput{Side: margin.Long, SizeLots: 1_000, EntryValueQuote: 100_000 * usdt,
			WalletQuote: 10_000 * usdt, QuotePerTickLot: 100, Brackets: margin.DefaultBTC()}},
		{"cross short", margin.LiqInput{Side: margin.Short, SizeLots: 1_000, EntryValueQuote: 100_000 * usdt,
			WalletQuote: 20_000 * usdt, OtherMaintQuote: 1_000 * usdt, OtherUnrealizedQuote: 2_500 * usdt,
			QuotePerTickLot: 100, Brackets: margin.DefaultBTC()}},
		{"40 BTC, LP one tier down", margin.LiqInput{Side: margin.Long, SizeLots: 40_000, EntryValueQuote: 4_000_000 * usdt,
			WalletQuote: 1_200_000 * usdt, QuotePerTickLot: 100, Brackets: margin.DefaultBTC()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				p, _, _ := margin.LiquidationPrice(bc.in)
				benchSink += p
			}
		})
	}
}

func BenchmarkMarkPrice(b *testing.B) {
	in := margin.MarkInput{IndexTicks: 1_000_000, LastFundingRatePpm: 137, NanosToFunding: 3_600_000_000_000,
		FundingIntervalNanos: margin.DefaultFundingIntervalNanos, BasisTicks: 7, HasBasis: true, LastTradeTicks: 1_000_123}
	b.ReportAllocs()
	for range b.N {
		p, _ := margin.MarkPrice(in)
		benchSink += p
	}
}
