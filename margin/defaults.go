package margin

import "github.com/paperperps/exchange/fixed"

// The built-in tables are Binance USDⓈ-M's brackets for BTCUSDT, ETHUSDT
// and SOLUSDT as published in 2024 (reference-markets.md beside the design
// brief). Only floors, caps, leverage and rates are written here; the
// maintenance amounts are derived, and the tests check them against the
// venue's published column.
var (
	defaultBTC = MustNewBrackets(chain(
		row{50_000, 125, 4_000},
		row{600_000, 100, 5_000},
		row{3_000_000, 75, 6_500},
		row{12_000_000, 50, 10_000},
		row{70_000_000, 25, 20_000},
		row{100_000_000, 20, 25_000},
		row{230_000_000, 10, 50_000},
		row{480_000_000, 5, 100_000},
		row{600_000_000, 4, 125_000},
		row{800_000_000, 3, 150_000},
		row{1_200_000_000, 2, 250_000},
		row{1_800_000_000, 1, 500_000},
	))
	defaultETH = MustNewBrackets(chain(
		row{50_000, 125, 4_000},
		row{600_000, 100, 5_000},
		row{3_000_000, 75, 6_500},
		row{12_000_000, 50, 10_000},
		row{50_000_000, 25, 20_000},
		row{65_000_000, 20, 25_000},
		row{150_000_000, 10, 50_000},
		row{320_000_000, 5, 100_000},
		row{400_000_000, 4, 125_000},
		row{530_000_000, 3, 150_000},
		row{800_000_000, 2, 250_000},
		row{1_200_000_000, 1, 500_000},
	))
	defaultSOL = MustNewBrackets(chain(
		row{20_000, 100, 5_000},
		row{100_000, 75, 6_500},
		row{800_000, 50, 10_000},
		row{4_000_000, 25, 20_000},
		row{8_000_000, 20, 25_000},
		row{40_000_000, 10, 50_000},
		row{80_000_000, 5, 100_000},
		row{100_000_000, 4, 125_000},
		row{200_000_000, 2, 250_000},
		row{400_000_000, 1, 500_000},
	))
)

// DefaultBTC is BTCUSDT's 12-tier bracket table (0.40% maintenance and 125x
// up to 50,000 USDT, ..., 50% and 1x up to 1.8 billion).
func DefaultBTC() Brackets { return defaultBTC }

// DefaultETH is ETHUSDT's 12-tier table: BTC's first five tiers, then
// lower caps.
func DefaultETH() Brackets { return defaultETH }

// DefaultSOL is SOLUSDT's 10-tier table (0.50% and 100x up to 20,000 USDT).
func DefaultSOL() Brackets { return defaultSOL }

// row is one published tier: cap in whole USDT, max leverage, rate in ppm.
type row struct{ capUSDT, maxLeverage, maintRatePpm int64 }

// chain turns published rows into TierSpecs, each floor the previous cap.
func chain(rows ...row) []TierSpec {
	specs := make([]TierSpec, len(rows))
	var floor int64
	for i, r := range rows {
		c := r.capUSDT * fixed.QuoteUnitsPerWhole
		specs[i] = TierSpec{FloorQuote: floor, CapQuote: c, MaxLeverage: r.maxLeverage, MaintRatePpm: r.maintRatePpm}
		floor = c
	}
	return specs
}
