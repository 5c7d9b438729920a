package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// smallCascade is a quick scenario: 3,000 traders, 2,000 background
// orders a second, a 2 s warm-up, the shock over 3 s, 2 s to settle.
func smallCascade(seed uint64) CascadeOptions {
	o := DefaultCascadeOptions()
	o.Accounts, o.Seed, o.BackgroundRate = 3_000, seed, 2_000
	o.Warmup, o.ShockOver, o.Settle = 2*time.Second, 3*time.Second, 2*time.Second
	return o
}

func runCascadeTest(t *testing.T, o CascadeOptions) CascadeReport {
	t.Helper()
	rep, series, err := RunCascade(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.MoneyConserved || !rep.OpenInterestBalanced {
		t.Fatalf("money conserved %v, open interest balanced %v", rep.MoneyConserved, rep.OpenInterestBalanced)
	}
	if len(series.T) == 0 || len(series.T) != len(series.Fund) {
		t.Fatalf("series of %d samples, %d fund samples", len(series.T), len(series.Fund))
	}
	return rep
}

// figures are a report's outcome without its timings.
func figures(r CascadeReport) CascadeReport {
	r.CommandsPerSec, r.CascadeCommandsPerSec, r.WallSec, r.SetupWallSec, r.MaxHeapMiB = 0, 0, 0, 0, 0
	r.Before, r.During, r.After = LatencyFigures{}, LatencyFigures{}, LatencyFigures{}
	r.Before.Samples, r.During.Samples, r.After.Samples = 0, 0, 0
	return r
}

// One seed, one outcome: twice the same figures (only the timings
// differ), through the journal and without it; another seed, other
// figures.
func TestCascadeIsSeeded(t *testing.T) {
	a := runCascadeTest(t, smallCascade(1))
	b := runCascadeTest(t, smallCascade(1))
	o := smallCascade(1)
	o.WAL = false
	c := runCascadeTest(t, o)
	d := runCascadeTest(t, smallCascade(2))
	if a.Liquidations == 0 {
		t.Fatal("the scenario liquidated nobody")
	}
	if fa, fb, fc := figures(a), figures(b), figures(c); !sameFigures(fa, fb) || !sameFigures(fa, fc) {
		t.Fatalf("same seed, different figures:\n%+v\n%+v\n%+v", fa, fb, fc)
	}
	if sameFigures(figures(a), figures(d)) {
		t.Fatalf("seeds 1 and 2 gave the same figures: %+v", figures(a))
	}
}

func sameFigures(x, y CascadeReport) bool {
	return x.Liquidations == y.Liquidations && x.PartialLiquidations == y.PartialLiquidations && x.ADLEvents == y.ADLEvents &&
		x.BadDebtUSDT == y.BadDebtUSDT && x.InsuranceFundEnd == y.InsuranceFundEnd && x.InsuranceFundMin == y.InsuranceFundMin &&
		x.OpenInterestBefore == y.OpenInterestBefore && x.OpenInterestAfter == y.OpenInterestAfter && x.MarkMin == y.MarkMin &&
		x.LastMin == y.LastMin && x.CascadeRounds == y.CascadeRounds && x.ShockToQuiescenceSec == y.ShockToQuiescenceSec &&
		x.Commands == y.Commands
}

// Deep books and low leverage ride out the shock; thin books and high
// leverage cascade: the liquidations the maker buys make it lean its
// quotes down, the book's mid drags the mark's basis below the index, and
// the engine's mark liquidates more than the shock alone does with the
// mark following the index (docs/CASCADE.md).
func TestCascadeDepthAndLeverage(t *testing.T) {
	calm := smallCascade(3)
	calm.LeverageMin, calm.LeverageMax = 2, 3
	calm.MakerLevels, calm.MakerLevelUSDT, calm.MakerSpacingBps = 50, 5_000_000, 2
	calm.ShockPercent = -10
	if r := runCascadeTest(t, calm); r.Liquidations != 0 {
		t.Fatalf("deep books at 2-3x: %d liquidations", r.Liquidations)
	}
	thin := smallCascade(3)
	thin.LeverageMin, thin.LeverageMax = 20, 100
	thin.MakerLevels, thin.MakerLevelUSDT, thin.MakerSpacingBps = 3, 10_000, 20
	thin.ShockPercent = -4
	book := runCascadeTest(t, thin)
	thin.MarkMode = "index"
	index := runCascadeTest(t, thin)
	if book.Liquidations < thin.Accounts/2 || book.PartialLiquidations == 0 || book.Liquidations <= index.Liquidations ||
		!decimal.RequireFromString(book.MarkMin).LessThan(decimal.RequireFromString(book.IndexMin)) {
		t.Fatalf("thin books at 20-100x, -4%%: %d liquidations (%d partly off the book) with the book in the mark (its low %s, the index's %s), %d with the index alone",
			book.Liquidations, book.PartialLiquidations, book.MarkMin, book.IndexMin, index.Liquidations)
	}

}

// Through the server, with SDK clients on loopback: the scenario builds
// the same positions as in process, runs, liquidates, and the engine's
// figures balance at the end; the liquidation stream brought every
// liquidation the server counted (RunCascade fails otherwise).
func TestCascadeThroughServer(t *testing.T) {
	if testing.Short() {
		t.Skip("a cascade in real time through the server")
	}
	o := smallCascade(1)
	o.Accounts, o.Server, o.BackgroundRate = 1_000, true, 1_000
	// Two markets: every market's liquidations count (RunCascade checks
	// the stream's count against the server's).
	o.Markets, o.MultiMarketPerMille = []string{"BTCUSDT", "ETHUSDT"}, 500
	o.Warmup, o.ShockOver, o.Settle = time.Second, 2*time.Second, time.Second
	r := runCascadeTest(t, o)
	if !r.Server || r.Liquidations == 0 || r.During.Samples == 0 || r.Before.Samples == 0 {
		t.Fatalf("through the server: %+v", r)
	}
	// The same seed builds the same positions through the API as in
	// process: every opening trade filled whole.
	o.Server = false
	if in := runCascadeTest(t, o); in.OpenInterestBefore != r.OpenInterestBefore {
		t.Fatalf("open interest before the shock: %s through the server, %s in process", r.OpenInterestBefore, in.OpenInterestBefore)
	}
}

// Options are checked, every problem at once.
func TestCascadeOptionsValidate(t *testing.T) {
	o := DefaultCascadeOptions()
	o.Accounts, o.LeverageMin, o.MarkMode, o.MakerSkewBps, o.FundDeleveragesPerCommand, o.InFlight = 0, 0, "median", -1, 0, 0
	o.Server, o.WAL = true, false
	err := o.Validate()
	if err == nil {
		t.Fatal("bad options passed")
	}
	for _, want := range []string{"accounts", "leverage", "mark mode", "maker skew", "fund deleverages", "commands in flight", "journal is always on"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if err := DefaultCascadeOptions().Validate(); err != nil {
		t.Fatal(err)
	}
}
