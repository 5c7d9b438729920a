package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paperperps/exchange/bench"
)

// benchCascade runs `exchange bench cascade`: the liquidation-cascade
// scenario, with a progress bar, a summary table, DIR/report.json and the
// charts.
func benchCascade(args []string, stdout, stderr io.Writer) int {
	d := bench.DefaultCascadeOptions()
	fs := flag.NewFlagSet("bench cascade", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := d
	fs.IntVar(&o.Accounts, "accounts", d.Accounts, "leveraged traders")
	fs.Uint64Var(&o.Seed, "seed", d.Seed, "seed of the scenario")
	out := fs.String("out", "cascade-report", "directory for report.json and the charts")
	markets := fs.String("markets", strings.Join(d.Markets, ","), "markets, comma-separated; every trader holds a position in the first")
	fs.IntVar(&o.MultiMarketPerMille, "multi-market", d.MultiMarketPerMille, "per mille of the cross traders that also hold positions in the other markets")
	fs.Int64Var(&o.CollateralMin, "collateral-min", d.CollateralMin, "smallest trader collateral, USDT (log-uniform)")
	fs.Int64Var(&o.CollateralMax, "collateral-max", d.CollateralMax, "largest trader collateral, USDT")
	fs.Int64Var(&o.LeverageMin, "leverage-min", d.LeverageMin, "lowest leverage (uniform)")
	fs.Int64Var(&o.LeverageMax, "leverage-max", d.LeverageMax, "highest leverage, capped by the bracket of the position")
	fs.IntVar(&o.LongPerMille, "long", d.LongPerMille, "per mille of the traders that are long")
	fs.IntVar(&o.IsolatedPerMille, "isolated", d.IsolatedPerMille, "per mille of the traders in isolated margin")
	fs.IntVar(&o.MakerLevels, "maker-levels", d.MakerLevels, "price levels a side each market's maker quotes")
	fs.Int64Var(&o.MakerSpacingBps, "maker-spacing-bps", d.MakerSpacingBps, "basis points between the maker's levels (and from the index to the first)")
	fs.Int64Var(&o.MakerLevelUSDT, "maker-level-usdt", d.MakerLevelUSDT, "notional of each maker level, USDT (0: no maker)")
	fs.Int64Var(&o.MakerSkewBps, "maker-skew-bps", d.MakerSkewBps, "basis points the makers lean their quotes per level's notional of inventory (0: centred on the index)")
	fs.DurationVar(&o.MakerRefresh, "maker-refresh", d.MakerRefresh, "how often the makers requote (refill)")
	fs.IntVar(&o.BackgroundRate, "background-rate", d.BackgroundRate, "ordinary traders' commands per simulated second")
	fs.Float64Var(&o.ShockPercent, "shock", d.ShockPercent, "index move in percent (negative: a fall)")
	fs.DurationVar(&o.ShockOver, "shock-over", d.ShockOver, "the shock's duration (0: a step)")
	fs.StringVar(&o.ShockCSV, "shock-csv", "", "a CSV path of seconds,price for the first market's index instead of a ramp")
	fs.DurationVar(&o.Warmup, "warmup", d.Warmup, "simulated time before the shock")
	fs.DurationVar(&o.Settle, "settle", d.Settle, "simulated time after the shock")
	fs.DurationVar(&o.MaxSettle, "max-settle", d.MaxSettle, "at most this long after the shock, however long the cascade goes on")
	fs.StringVar(&o.MarkMode, "mark", d.MarkMode, "book: the mark follows the book (the realistic one); index: the mark is the index alone")
	noWAL := fs.Bool("no-wal", false, "apply the commands straight to the engine, without the journal")
	fs.BoolVar(&o.Server, "server", false, "run through `exchange serve` on loopback with SDK clients, in real time (the background rate then defaults to 5000)")
	fs.StringVar(&o.Dir, "journal", "", "directory for the journal (default: a temporary one, removed after)")
	fs.IntVar(&o.InFlight, "in-flight", d.InFlight, "commands the load keeps sent and not yet acknowledged (with the journal)")
	fs.IntVar(&o.LiquidationsPerCommand, "liquidations-per-command", d.LiquidationsPerCommand, "the engine's liquidation budget per command")
	fs.IntVar(&o.FundDeleveragesPerCommand, "fund-deleverages-per-command", d.FundDeleveragesPerCommand,
		"the engine's bound on the counterparties the insurance fund's deleveraging reaches per command")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "exchange bench cascade: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	o.Markets = strings.Split(*markets, ",")
	o.WAL = !*noWAL
	if o.Server {
		// What the API carries on this machine, with room: the steps go
		// in real time through the server.
		rateSet := false
		fs.Visit(func(f *flag.Flag) { rateSet = rateSet || f.Name == "background-rate" })
		if !rateSet {
			o.BackgroundRate = cascadeServerRate
		}
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	defer stopProfile()
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit for the garbage collector: a run of a million
		// accounts holds about 700 MiB, and its event buffers come and
		// go; without a limit the heap may grow to twice what it holds.
		debug.SetMemoryLimit(max(cascadeMemoryLimit, int64(o.Accounts)*cascadeMemoryPerAccount))
	}
	fmt.Fprintf(stderr, "building %d accounts...\n", o.Accounts)
	shown := time.Time{}
	rep, series, err := bench.RunCascade(ctx, o, func(done, total time.Duration) {
		if time.Since(shown) < 200*time.Millisecond && done < total {
			return
		}
		shown = time.Now()
		fmt.Fprint(stderr, "\r"+simBar(done, total))
	})
	fmt.Fprintln(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(*out, "report.json"), append(b, '\n'), 0o644)
	}
	if err == nil {
		err = bench.WriteCascadeCharts(*out, series)
	}
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	printCascade(stdout, &rep, *out)
	return 0
}

// The soft memory limit of `exchange bench cascade` (GOMEMLIMIT overrides
// it): 1.5 GiB, or 1.5 KiB per account for larger runs (a million
// accounts hold about 700 MiB).
const (
	cascadeMemoryLimit = 1536 << 20
	// cascadeServerRate is the background rate through the server unless
	// one is given: what 200 traders, on a connection each, carry with a
	// p99 in milliseconds on a 2-core machine (about 19,000/s saturate it).
	cascadeServerRate       = 5_000
	cascadeMemoryPerAccount = 1536
)

// simBar is a progress bar over simulated time.
func simBar(done, total time.Duration) string {
	return bar(uint64(max(done, 0)), uint64(max(total, time.Millisecond))) +
		fmt.Sprintf(" %s / %s simulated", done.Round(100*time.Millisecond), total.Round(100*time.Millisecond))
}

func printCascade(w io.Writer, r *bench.CascadeReport, out string) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("accounts", r.Accounts)
	row("markets / mark", fmt.Sprintf("%s / %s", strings.Join(r.Markets, ","), r.MarkMode))
	row("shock", fmt.Sprintf("%g%%", r.ShockPercent))
	row("liquidations", fmt.Sprintf("%d (%d partly off the book), %d ADL events", r.Liquidations, r.PartialLiquidations, r.ADLEvents))
	row("insurance fund", fmt.Sprintf("%s → min %s → %s USDT, bad debt %s", r.InsuranceFundStart, r.InsuranceFundMin, r.InsuranceFundEnd, r.BadDebtUSDT))
	row("open interest", fmt.Sprintf("%s → %s", r.OpenInterestBefore, r.OpenInterestAfter))
	row("index / mark / last", fmt.Sprintf("%s-%s / %s-%s / %s-%s", r.IndexMin, r.IndexMax, r.MarkMin, r.MarkMax, r.LastMin, r.LastMax))
	row("cascade", fmt.Sprintf("%d rounds, quiet %.2f s after the shock began", r.CascadeRounds, r.ShockToQuiescenceSec))
	row("commands", fmt.Sprintf("%d at %.0f/s (during the cascade %.0f/s); %.1f s wall, setup %.1f s", r.Commands, r.CommandsPerSec,
		r.CascadeCommandsPerSec, r.WallSec, r.SetupWallSec))
	for _, l := range []struct {
		name string
		f    bench.LatencyFigures
	}{{"ack before", r.Before}, {"ack during", r.During}, {"ack after", r.After}} {
		row(l.name, fmt.Sprintf("p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  (%d)", l.f.P50, l.f.P99, l.f.P999, l.f.Samples))
	}
	row("checks", fmt.Sprintf("money conserved %v, open interest balanced %v, heap max %.0f MiB", r.MoneyConserved, r.OpenInterestBalanced, r.MaxHeapMiB))
	row("written", filepath.Join(out, "report.json")+", prices/liquidations/fund/latency .png and .svg")
	tw.Flush()
}
