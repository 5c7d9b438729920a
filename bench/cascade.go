package bench

import (
	"errors"
	"fmt"
	"time"
)

// CascadeOptions describe a liquidation-cascade scenario (docs/CASCADE.md
// lists each with its default). Amounts are whole USDT, rates per mille,
// times simulated: the run's clock is the scenario's, so the same seed and
// options give the same commands, liquidations, fills and fund path; only
// the wall-clock timings differ.
type CascadeOptions struct {
	Accounts int    // leveraged traders (default 100,000)
	Seed     uint64 // default 1
	// Markets the traders open positions in: the first holds every
	// trader's position; MultiMarketPerMille of them also hold one in
	// each other market (cross). Default BTCUSDT only.
	Markets             []string
	MultiMarketPerMille int
	// Collateral is drawn log-uniformly from [CollateralMin, CollateralMax]
	// USDT; leverage uniformly from [LeverageMin, LeverageMax], capped by
	// the bracket of the position's notional.
	CollateralMin, CollateralMax int64
	LeverageMin, LeverageMax     int64
	LongPerMille                 int // share of traders that are long (default 700)
	IsolatedPerMille             int // share that trade isolated (default 300)
	// Liquidity: a maker per market quotes MakerLevels levels a side,
	// MakerSpacingBps apart starting MakerSpacingBps from the mark, each
	// MakerLevelUSDT of notional, and requotes every MakerRefresh.
	// MakerSkewBps leans its quotes against its inventory, as market
	// makers do: the centre moves MakerSkewBps of the index per level's
	// notional of position (at most 10%), down when it is long, so a maker
	// that bought the liquidations quotes lower, and the book's prices feed
	// back into the mark. 0 centres the quotes on the index.
	MakerLevels     int
	MakerSpacingBps int64
	MakerLevelUSDT  int64
	MakerRefresh    time.Duration
	MakerSkewBps    int64
	// Load: ordinary traders send orders at BackgroundRate per second
	// (limit orders near the mark, cancels, small market orders) the
	// whole run.
	BackgroundRate int
	// Shock: the first market's index moves by ShockPercent (negative:
	// down) over ShockOver (0: a step) after Warmup, as a ramp, or along
	// the CSV path ShockCSV (seconds after the shock's start, index
	// price). The run ends Settle after the shock (or once nothing is
	// left to liquidate and the mark has settled, whichever is later,
	// within MaxSettle).
	ShockPercent float64
	ShockOver    time.Duration
	ShockCSV     string
	Warmup       time.Duration
	Settle       time.Duration
	MaxSettle    time.Duration
	// MarkMode is "book" (the mark is the engine's median of index,
	// basis and last trade: the book's prices feed back into it) or
	// "index" (the mark is the index alone).
	MarkMode string
	// WAL journals the commands through the sequencer (on by default);
	// off, the commands go straight to the engine. Dir holds the journal
	// (a temporary directory if empty).
	WAL bool
	Dir string
	// Server runs the scenario through `exchange serve` in this process
	// on loopback, with SDK clients only (see serverRun): the journal is
	// always on (Dir, if set, is the server's data directory), the steps
	// go in real time, and a run is not repeatable to the fill. The
	// server's engine settings apply (LiquidationsPerCommand and
	// FundDeleveragesPerCommand do not).
	Server bool
	// Step is the simulated time one batch of commands covers.
	Step time.Duration
	// InFlight bounds the commands sent to the sequencer and not yet
	// acknowledged (with the WAL): the run is a closed loop, like clients
	// that wait for their acks, so its ack latency is what this much work
	// queued ahead costs, before and during the cascade alike.
	InFlight int
	// LiquidationsPerCommand is the engine's budget of liquidations per
	// command (engine.Config): the rest wait for the next commands, so a
	// cascade cannot stall the commands behind it for long.
	LiquidationsPerCommand int
	// FundDeleveragesPerCommand is the engine's bound on the counterparties
	// the insurance fund's own auto-deleveraging reaches in one command.
	FundDeleveragesPerCommand int
}

// DefaultCascadeOptions returns the defaults.
func DefaultCascadeOptions() CascadeOptions {
	return CascadeOptions{Accounts: 100_000, Seed: 1, Markets: []string{"BTCUSDT"}, MultiMarketPerMille: 100,
		CollateralMin: 500, CollateralMax: 50_000, LeverageMin: 5, LeverageMax: 50, LongPerMille: 700, IsolatedPerMille: 300,
		MakerLevels: 20, MakerSpacingBps: 10, MakerLevelUSDT: 250_000, MakerRefresh: 500 * time.Millisecond, MakerSkewBps: 10,
		BackgroundRate: 200_000, ShockPercent: -20, ShockOver: 10 * time.Second, Warmup: 5 * time.Second, Settle: 10 * time.Second,
		MaxSettle: 120 * time.Second, MarkMode: "book", WAL: true, Step: 10 * time.Millisecond, InFlight: 4_096,
		LiquidationsPerCommand: 200, FundDeleveragesPerCommand: 5_000}
}

// Validate reports every problem at once.
func (o CascadeOptions) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("bench: cascade: "+format, args...)) }
	if o.Accounts < 1 || o.Accounts > 2_000_000 {
		bad("accounts %d not in [1, 2000000]", o.Accounts)
	}
	if len(o.Markets) == 0 || len(o.Markets) > 3 {
		bad("%d markets, want 1 to 3", len(o.Markets))
	}
	if o.CollateralMin < 10 || o.CollateralMax < o.CollateralMin || o.CollateralMax > 100_000_000 {
		bad("collateral [%d, %d] USDT: want 10 ≤ min ≤ max ≤ 100,000,000", o.CollateralMin, o.CollateralMax)
	}
	if o.LeverageMin < 1 || o.LeverageMax < o.LeverageMin || o.LeverageMax > 125 {
		bad("leverage [%d, %d]: want 1 ≤ min ≤ max ≤ 125", o.LeverageMin, o.LeverageMax)
	}
	for _, share := range []struct {
		name string
		v    int
	}{{"long share", o.LongPerMille}, {"isolated share", o.IsolatedPerMille}, {"multi-market share", o.MultiMarketPerMille}} {
		if share.v < 0 || share.v > 1000 {
			bad("%s %d per mille not in [0, 1000]", share.name, share.v)
		}
	}
	if o.MakerLevels < 0 || o.MakerLevels > 200 || o.MakerSpacingBps < 1 || o.MakerSpacingBps > 500 || o.MakerLevelUSDT < 0 ||
		o.MakerLevelUSDT > 1_000_000_000 {
		bad("maker levels %d (0-200), spacing %d bps (1-500), level %d USDT (0-1,000,000,000)", o.MakerLevels, o.MakerSpacingBps, o.MakerLevelUSDT)
	}
	if o.MakerSkewBps < 0 || o.MakerSkewBps > 1_000 {
		bad("maker skew %d bps not in [0, 1000]", o.MakerSkewBps)
	}
	if o.MakerRefresh < o.Step || o.BackgroundRate < 0 || o.BackgroundRate > 1_000_000 {
		bad("maker refresh %s (≥ step), background rate %d/s (0-1,000,000)", o.MakerRefresh, o.BackgroundRate)
	}
	if o.ShockPercent <= -95 || o.ShockPercent >= 500 || o.ShockOver < 0 || o.Warmup < 0 || o.Settle < 0 || o.MaxSettle < o.Settle {
		bad("shock %g%% over %s, warmup %s, settle %s (max %s)", o.ShockPercent, o.ShockOver, o.Warmup, o.Settle, o.MaxSettle)
	}
	if o.MarkMode != "book" && o.MarkMode != "index" {
		bad("mark mode %q: want book or index", o.MarkMode)
	}
	if o.LiquidationsPerCommand < 1 || o.LiquidationsPerCommand > 1_000_000 {
		bad("liquidations per command %d not in [1, 1000000]", o.LiquidationsPerCommand)
	}
	if o.FundDeleveragesPerCommand < 1 || o.FundDeleveragesPerCommand > 10_000_000 {
		bad("fund deleverages per command %d not in [1, 10000000]", o.FundDeleveragesPerCommand)
	}
	if o.Step < time.Millisecond || o.Step > time.Second {
		bad("step %s not in [1ms, 1s]", o.Step)
	}
	if o.InFlight < 1 || o.InFlight > 10_000_000 {
		bad("commands in flight %d not in [1, 10000000]", o.InFlight)
	}
	if o.Server && !o.WAL {
		bad("through the server the journal is always on")
	}
	return errors.Join(errs...)
}

// CascadeReport is report.json: what the cascade did and how the exchange
// held up. Figures are from the engine's own events and ledger; latencies
// and rates are wall-clock.
type CascadeReport struct {
	Accounts     int      `json:"accounts"`
	Seed         uint64   `json:"seed"`
	Markets      []string `json:"markets"`
	MarkMode     string   `json:"markMode"`
	ShockPercent float64  `json:"shockPercent"`
	// Server: the run went through the server's API with SDK clients.
	Server       bool `json:"server"`
	Liquidations int  `json:"liquidations"`
	// PartialLiquidations are liquidations the book filled only in part
	// (the rest went to the insurance fund or auto-deleveraging).
	PartialLiquidations int `json:"partialLiquidations"`
	ADLEvents           int `json:"adlEvents"`
	// Refused counts the commands of the run the engine refused (the
	// background traders' cancels of orders that had filled, post-only
	// quotes that would have taken, ...).
	Refused            int    `json:"refusedCommands"`
	BadDebtUSDT        string `json:"badDebtUSDT"`
	InsuranceFundStart string `json:"insuranceFundStartUSDT"`
	InsuranceFundMin   string `json:"insuranceFundMinUSDT"`
	InsuranceFundEnd   string `json:"insuranceFundEndUSDT"`
	OpenInterestBefore string `json:"openInterestBefore"`
	OpenInterestAfter  string `json:"openInterestAfter"`
	IndexMin           string `json:"indexMin"`
	IndexMax           string `json:"indexMax"`
	MarkMin            string `json:"markMin"`
	MarkMax            string `json:"markMax"`
	LastMin            string `json:"lastPriceMin"`
	LastMax            string `json:"lastPriceMax"`
	// CascadeRounds counts the steps (of Step simulated time) after the
	// shock began in which at least one position was liquidated.
	CascadeRounds int `json:"cascadeRounds"`
	// ShockToQuiescence is the simulated time from the shock's start to
	// the end of the last step with a liquidation (0: none happened).
	ShockToQuiescenceSec float64 `json:"shockToQuiescenceSec"`
	// Commands and rates: the whole run, and the cascade's steps alone.
	Commands              int     `json:"commands"`
	CommandsPerSec        float64 `json:"commandsPerSec"`
	CascadeCommandsPerSec float64 `json:"cascadeCommandsPerSec"`
	WallSec               float64 `json:"wallSec"`
	SetupWallSec          float64 `json:"setupWallSec"`
	// Ack latency (ms) of the commands before the shock, during the
	// cascade (shock start to quiescence) and after.
	Before LatencyFigures `json:"latencyBefore"`
	During LatencyFigures `json:"latencyDuring"`
	After  LatencyFigures `json:"latencyAfter"`
	// Checked at the end from the engine's own figures.
	MoneyConserved       bool    `json:"moneyConserved"`
	OpenInterestBalanced bool    `json:"openInterestBalanced"`
	MaxHeapMiB           float64 `json:"maxHeapMiB"`
}

// LatencyFigures are latency percentiles in milliseconds.
type LatencyFigures struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50Ms"`
	P99     float64 `json:"p99Ms"`
	P999    float64 `json:"p999Ms"`
}
