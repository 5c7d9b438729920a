package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
	"github.com/shopspring/decimal"
)

// ErrInvalidMarket is wrapped by every problem ParseMarkets and Compile report.
var ErrInvalidMarket = errors.New("engine: invalid market config")

// MaxMarkets bounds the markets of one exchange: market ids are dense and
// index per-market tables.
const MaxMarkets = 256

// MarketSpec is a linear perpetual settled in USDT, as written in a config
// file or an API response: decimals, not ticks. Rates are fractions
// ("0.0002" is 0.02%).
type MarketSpec struct {
	Symbol      string          `json:"symbol"`
	TickSize    decimal.Decimal `json:"tickSize"`
	LotSize     decimal.Decimal `json:"lotSize"`
	MinQty      decimal.Decimal `json:"minQty"`
	MaxQty      decimal.Decimal `json:"maxQty"`
	MinNotional decimal.Decimal `json:"minNotional"`
	// MakerFeeRate may be negative (a rebate) but never larger than the
	// taker rate: the exchange must not pay out more on a trade than it
	// collects.
	MakerFeeRate       decimal.Decimal `json:"makerFeeRate"`
	TakerFeeRate       decimal.Decimal `json:"takerFeeRate"`
	LiquidationFeeRate decimal.Decimal `json:"liquidationFeeRate"`
	FundingInterval    Duration        `json:"fundingInterval"`
	// FundingInterestRate is the interest component per funding interval
	// and FundingClamp the band around it that the premium is clamped to.
	FundingInterestRate decimal.Decimal `json:"fundingInterestRate"`
	FundingClamp        decimal.Decimal `json:"fundingClamp"`
	// PriceBand refuses limit prices further than this fraction from the
	// mark price.
	PriceBand decimal.Decimal `json:"priceBand"`
	// ImpactNotional (USDT) is the size whose average fill price on each
	// side of the book (the impact bid and ask) measures the premium that
	// sets funding. Zero takes Binance's rule: 200 USDT at the first
	// bracket's maximum leverage (25,000 USDT for a 125x contract).
	ImpactNotional decimal.Decimal `json:"impactNotional,omitempty"`
	Brackets       []BracketSpec   `json:"brackets"`
}

// BracketSpec is one notional tier: from NotionalFloor up to NotionalCap
// (USDT) a position may use at most MaxLeverage and needs MaintenanceRate of
// its notional as maintenance margin. The maintenance amount that keeps the
// requirement continuous across tiers is derived, not configured.
type BracketSpec struct {
	NotionalFloor   decimal.Decimal `json:"notionalFloor"`
	NotionalCap     decimal.Decimal `json:"notionalCap"`
	MaxLeverage     int64           `json:"maxLeverage"`
	MaintenanceRate decimal.Decimal `json:"maintenanceRate"`
}

// Duration is a time.Duration written as "8h" in config files.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"8h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Market is a compiled MarketSpec: everything in the engine's fixed-point
// units.
type Market struct {
	ID     MarketID
	Symbol string
	Grid   fixed.Grid

	MinQtyLots, MaxQtyLots int64
	MinNotionalQuote       int64
	MakerFeePpm            int64
	TakerFeePpm            int64
	LiquidationFeePpm      int64
	FundingIntervalNanos   int64
	FundingInterestPpm     int64
	FundingClampPpm        int64
	PriceBandPpm           int64
	ImpactNotionalQuote    int64
	Brackets               margin.Brackets
}

// MarketID is a market's dense index, in config order.
type MarketID = clearing.MarketID

// Limits of the values a market config may hold; they keep every product
// of the engine inside int64.
const (
	maxQtyLotsLimit  = int64(1) << 40
	maxFeePpm        = 100_000 // 10%
	maxLiqFeePpm     = 100_000
	minFundingPeriod = time.Minute
	maxFundingPeriod = 7 * 24 * time.Hour
)

// Compile checks specs and converts them to Markets, reporting every
// problem of every market at once.
func Compile(specs []MarketSpec) ([]Market, error) {
	var errs []error
	bad := func(sym, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: "+format, append([]any{ErrInvalidMarket, sym}, args...)...))
	}
	if len(specs) == 0 {
		bad("(none)", "no markets")
	}
	if len(specs) > MaxMarkets {
		bad("(all)", "%d markets, at most %d", len(specs), MaxMarkets)
	}
	seen := map[string]bool{}
	markets := make([]Market, 0, len(specs))
	for i, s := range specs {
		sym := s.Symbol
		if sym == "" {
			sym = fmt.Sprintf("market #%d", i)
			bad(sym, "symbol is empty")
		} else if seen[sym] {
			bad(sym, "symbol appears twice")
		}
		seen[sym] = true
		m := Market{ID: MarketID(i), Symbol: s.Symbol}
		g, err := fixed.NewGrid(s.TickSize, s.LotSize)
		if err != nil {
			bad(sym, "tick %s / lot %s: %v", s.TickSize, s.LotSize, err)
		} else {
			m.Grid = g
			if m.MinQtyLots, err = g.Lots(s.MinQty, maxQtyLotsLimit); err != nil {
				bad(sym, "minQty: %v", err)
			}
			if m.MaxQtyLots, err = g.Lots(s.MaxQty, maxQtyLotsLimit); err != nil {
				bad(sym, "maxQty: %v", err)
			}
			if m.MinQtyLots > m.MaxQtyLots && m.MaxQtyLots > 0 {
				bad(sym, "minQty %s above maxQty %s", s.MinQty, s.MaxQty)
			}
		}
		if m.MinNotionalQuote, err = fixed.QuoteUnits(s.MinNotional, 0, 1_000_000*fixed.QuoteUnitsPerWhole); err != nil {
			bad(sym, "minNotional: %v", err)
		}
		rate := func(name string, d decimal.Decimal, lo, hi int64) int64 {
			ppm, err := fixed.RatePpm(d, lo, hi)
			if err != nil {
				bad(sym, "%s: %v", name, err)
			}
			return ppm
		}
		m.MakerFeePpm = rate("makerFeeRate", s.MakerFeeRate, -maxFeePpm, maxFeePpm)
		m.TakerFeePpm = rate("takerFeeRate", s.TakerFeeRate, 0, maxFeePpm)
		if m.MakerFeePpm > m.TakerFeePpm || m.MakerFeePpm+m.TakerFeePpm < 0 {
			bad(sym, "maker fee %s must be at most the taker fee %s, and a rebate no larger than it", s.MakerFeeRate, s.TakerFeeRate)
		}
		m.LiquidationFeePpm = rate("liquidationFeeRate", s.LiquidationFeeRate, 0, maxLiqFeePpm)
		m.FundingInterestPpm = rate("fundingInterestRate", s.FundingInterestRate, -10_000, 10_000)
		m.FundingClampPpm = rate("fundingClamp", s.FundingClamp, 0, 100_000)
		m.PriceBandPpm = rate("priceBand", s.PriceBand, 1, 1_000_000)
		if iv := time.Duration(s.FundingInterval); iv < minFundingPeriod || iv > maxFundingPeriod {
			bad(sym, "fundingInterval %v not in [%v, %v]", iv, minFundingPeriod, maxFundingPeriod)
		}
		m.FundingIntervalNanos = int64(s.FundingInterval)
		tiers := make([]margin.TierSpec, 0, len(s.Brackets))
		for k, br := range s.Brackets {
			floor, err1 := fixed.QuoteUnits(br.NotionalFloor, 0, fixed.QuoteUnitsPerWhole*4_000_000_000_000)
			cap_, err2 := fixed.QuoteUnits(br.NotionalCap, 1, fixed.QuoteUnitsPerWhole*4_000_000_000_000)
			ppm, err3 := fixed.RatePpm(br.MaintenanceRate, 1, 1_000_000)
			if err := errors.Join(err1, err2, err3); err != nil {
				bad(sym, "bracket %d: %v", k+1, err)
				continue
			}
			tiers = append(tiers, margin.TierSpec{FloorQuote: floor, CapQuote: cap_, MaxLeverage: br.MaxLeverage, MaintRatePpm: ppm})
		}
		if len(tiers) == len(s.Brackets) {
			if m.Brackets, err = margin.NewBrackets(tiers); err != nil {
				bad(sym, "brackets: %v", err)
			} else if !m.Brackets.Exact() {
				// The liquidation index relies on a liquidation price that
				// divides liquidatable prices from safe ones, which a
				// rounded maintenance amount breaks (margin.LiquidationPrice).
				bad(sym, "brackets: a maintenance amount is not a whole quote unit (floor × rate step); use whole-USDT floors")
			}
		}
		switch {
		case s.ImpactNotional.IsNegative():
			bad(sym, "impactNotional %s is negative", s.ImpactNotional)
		case s.ImpactNotional.IsZero():
			if m.Brackets.Len() > 0 {
				m.ImpactNotionalQuote = 200 * fixed.QuoteUnitsPerWhole * m.Brackets.TierAt(0).MaxLeverage
			}
		default:
			if m.ImpactNotionalQuote, err = fixed.QuoteUnits(s.ImpactNotional, 1, 1_000_000_000*fixed.QuoteUnitsPerWhole); err != nil {
				bad(sym, "impactNotional: %v", err)
			}
		}
		markets = append(markets, m)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return markets, nil
}

// ParseMarkets reads a config file's bytes: {"markets": [MarketSpec...]}.
// Unknown fields are refused, so a misspelt setting is not silently ignored.
func ParseMarkets(data []byte) ([]MarketSpec, error) {
	var file struct {
		Markets []MarketSpec `json:"markets"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMarket, err)
	}
	return file.Markets, nil
}

// DefaultMarkets returns BTCUSDT, ETHUSDT and SOLUSDT modelled on the large
// venues' published contract specs (reference-markets.md in the design
// brief): ticks, lots, minimum notionals, 0.02%/0.05% fees, 8-hour funding
// with a 0.01% interest component clamped at ±0.05%, and their full
// leverage brackets. Choices where the brief has no figure: max order
// quantities of 1,000 BTC, 10,000 ETH and 1,000,000 SOL (venues' limit-order
// caps), a liquidation fee of 1.25% of notional (the clearance fee venues
// have charged), and a 5% price band around the mark.
func DefaultMarkets() []MarketSpec {
	d := decimal.RequireFromString
	common := func(sym, tick, lot, minQty, maxQty, minNotional string, brackets []BracketSpec) MarketSpec {
		return MarketSpec{
			Symbol: sym, TickSize: d(tick), LotSize: d(lot), MinQty: d(minQty), MaxQty: d(maxQty),
			MinNotional: d(minNotional), MakerFeeRate: d("0.0002"), TakerFeeRate: d("0.0005"),
			LiquidationFeeRate: d("0.0125"), FundingInterval: Duration(8 * time.Hour),
			FundingInterestRate: d("0.0001"), FundingClamp: d("0.0005"), PriceBand: d("0.05"),
			Brackets: brackets,
		}
	}
	// The brackets come from margin's tables of the published tiers, so
	// the figures live in one place.
	tiers := func(b margin.Brackets) []BracketSpec {
		out := make([]BracketSpec, b.Len())
		for k := range out {
			t := b.TierAt(k)
			out[k] = BracketSpec{NotionalFloor: fixed.QuoteAmount(t.FloorQuote), NotionalCap: fixed.QuoteAmount(t.CapQuote),
				MaxLeverage: t.MaxLeverage, MaintenanceRate: fixed.Rate(t.MaintRatePpm)}
		}
		return out
	}
	btc, eth, sol := tiers(margin.DefaultBTC()), tiers(margin.DefaultETH()), tiers(margin.DefaultSOL())
	return []MarketSpec{
		common("BTCUSDT", "0.1", "0.001", "0.001", "1000", "100", btc),
		common("ETHUSDT", "0.01", "0.001", "0.001", "10000", "20", eth),
		common("SOLUSDT", "0.01", "1", "1", "1000000", "5", sol),
	}
}
