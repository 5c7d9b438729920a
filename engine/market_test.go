package engine

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/paperperps/exchange/fixed"
	"github.com/shopspring/decimal"
)

func TestDefaultMarketsCompile(t *testing.T) {
	ms, err := Compile(DefaultMarkets())
	if err != nil {
		t.Fatal(err)
	}
	btc := ms[0]
	if btc.Symbol != "BTCUSDT" || btc.ID != 0 || ms[1].Symbol != "ETHUSDT" || ms[2].ID != 2 {
		t.Fatalf("markets out of order: %+v", ms)
	}
	// tick 0.1 × lot 0.001 = 0.0001 USDT = 100 quote units.
	if q := btc.Grid.QuotePerTickLot(); q != 100 {
		t.Errorf("BTC quote per tick-lot = %d, want 100", q)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"BTC min qty lots", btc.MinQtyLots, 1},
		{"BTC max qty lots", btc.MaxQtyLots, 1_000_000},
		{"BTC min notional", btc.MinNotionalQuote, 100 * fixed.QuoteUnitsPerWhole},
		{"BTC maker ppm", btc.MakerFeePpm, 200},
		{"BTC taker ppm", btc.TakerFeePpm, 500},
		{"BTC liquidation fee ppm", btc.LiquidationFeePpm, 12_500},
		{"BTC funding interval", btc.FundingIntervalNanos, 8 * 3600 * 1e9},
		{"BTC interest ppm", btc.FundingInterestPpm, 100},
		{"BTC clamp ppm", btc.FundingClampPpm, 500},
		{"BTC band ppm", btc.PriceBandPpm, 50_000},
		{"SOL quote per tick-lot", ms[2].Grid.QuotePerTickLot(), 10_000},
		{"BTC impact notional (200 USDT at 125x)", btc.ImpactNotionalQuote, 25_000 * fixed.QuoteUnitsPerWhole},
		{"ETH impact notional (200 USDT at its max leverage)", ms[1].ImpactNotionalQuote, 200 * ms[1].Brackets.TierAt(0).MaxLeverage * fixed.QuoteUnitsPerWhole},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// TestCompileReportsEveryProblem: one pass names every broken field of every
// market, so a config author fixes them all at once.
func TestCompileReportsEveryProblem(t *testing.T) {
	specs := DefaultMarkets()
	d := decimal.RequireFromString
	specs[0].TickSize = d("0")
	specs[0].MakerFeeRate = d("0.001") // above taker
	specs[1].Symbol = "BTCUSDT"        // duplicate
	specs[1].MinQty = d("0.0005")      // off the lot grid
	specs[1].FundingInterval = 0
	specs[2].Brackets[1].NotionalFloor = d("30000") // gap after tier 1's cap of 20000
	specs[2].PriceBand = d("0")
	specs[2].ImpactNotional = d("-5")
	_, err := Compile(specs)
	if !errors.Is(err, ErrInvalidMarket) {
		t.Fatalf("err = %v, want ErrInvalidMarket", err)
	}
	for _, want := range []string{
		"BTCUSDT: tick 0 / lot 0.001",
		"BTCUSDT: maker fee 0.001 must be at most the taker fee",
		"BTCUSDT: symbol appears twice",
		"BTCUSDT: minQty",
		"fundingInterval 0s",
		"SOLUSDT: brackets",
		"SOLUSDT: priceBand",
		"SOLUSDT: impactNotional -5 is negative",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseMarkets(t *testing.T) {
	data, err := json.Marshal(map[string]any{"markets": DefaultMarkets()})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := ParseMarkets(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(specs); err != nil {
		t.Fatalf("round trip of the defaults does not compile: %v", err)
	}
	if specs[0].FundingInterval != DefaultMarkets()[0].FundingInterval || !specs[1].TickSize.Equal(decimal.RequireFromString("0.01")) {
		t.Fatalf("round trip changed values: %+v", specs[0])
	}
	for _, bad := range []string{
		`{"markets": [{"symbol": "X", "tickSize": "0.1", "bogus": 1}]}`,
		`{"markets": [{"symbol": "X", "fundingInterval": "eight hours"}]}`,
		`{"markets": [{"symbol": "X", "tickSize": "abc"}]}`,
		`not json`,
	} {
		if _, err := ParseMarkets([]byte(bad)); !errors.Is(err, ErrInvalidMarket) {
			t.Errorf("%s: err = %v, want ErrInvalidMarket", bad, err)
		}
	}
}

// A bracket table whose maintenance amount would be rounded (a floor that
// is not a whole number of quote units per rate step) is refused: the
// liquidation index needs exact liquidation prices.
func TestCompileRefusesRoundedMaintenance(t *testing.T) {
	specs := DefaultMarkets()[:1]
	d := decimal.RequireFromString
	specs[0].Brackets[0].NotionalCap = d("50000.000001")
	specs[0].Brackets[1].NotionalFloor = d("50000.000001")
	_, err := Compile(specs)
	if err == nil || !strings.Contains(err.Error(), "not a whole quote unit") {
		t.Fatalf("err = %v", err)
	}
}

// The liquidation settings are validated with the rest, all at once.
func TestConfigValidatesLiquidation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.LiquidationsPerCommand = 0
	cfg.CrossBandPpm = -1
	cfg.MarginCallPpm = 1_000_000
	err := cfg.Validate()
	for _, want := range []string{"LiquidationsPerCommand 0", "CrossBandPpm -1", "MarginCallPpm 1000000"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to name %q", err, want)
		}
	}
	// A call level at or below a market's top maintenance rate (50% for
	// BTC's last tier) has no margin-call rates.
	cfg = DefaultConfig()
	cfg.MarginCallPpm = 400_000
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "margin-call rates") {
		t.Errorf("a 40%% call level: err = %v", err)
	}
	if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New: %v", err)
	}
	// The re-arming level lies below the call level and, like it, above
	// every top maintenance rate.
	for _, c := range []struct {
		rearm int64
		want  string
	}{{800_000, "MarginCallRearmPpm 800000 not in"}, {0, "MarginCallRearmPpm 0 not in"}, {400_000, "MarginCallRearmPpm 400000: margin-call rates"}} {
		cfg = DefaultConfig()
		cfg.MarginCallRearmPpm = c.rearm
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("re-arming level %d: err = %v, want %q", c.rearm, err, c.want)
		}
	}
}
