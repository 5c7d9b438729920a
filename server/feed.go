package server

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// ErrInvalidFeedConfig is wrapped by every problem NewFeed reports.
var ErrInvalidFeedConfig = errors.New("server: invalid feed config")

// The feed's modes (FeedConfig.Mode).
const (
	// FeedGBM simulates each market's index as geometric Brownian motion
	// with jumps.
	FeedGBM = "gbm"
	// FeedCSV replays index prices from a file.
	FeedCSV = "csv"
	// FeedOff sends no index prices (an operator or a test sets them);
	// clock ticks still run.
	FeedOff = "off"
)

// FeedConfig configures the simulated index prices and the clock ticks. It
// is part of the serve config file: decode the file onto
// DefaultFeedConfig(), so that what the file leaves out keeps its default.
type FeedConfig struct {
	// Mode is FeedGBM (default), FeedCSV or FeedOff.
	Mode string `json:"mode"`
	// Interval is the period of index ticks in FeedGBM mode: every tick
	// sends one index price per market. Default 250ms.
	Interval engine.Duration `json:"interval"`
	// Seed makes the simulated paths reproducible: each market draws from
	// its own stream derived from Seed and the market's id. Default 1.
	Seed uint64 `json:"seed"`
	// Default is the random walk of every market that Markets does not
	// name. Default: volatility 0.8, no drift, a jump with probability
	// 0.001 per tick of standard deviation 0.02 (2%) in log price.
	Default FeedWalk `json:"default"`
	// Markets overrides Default for the symbols it names; an entry replaces
	// Default whole (fields it omits are 0, not Default's). Defaults:
	// ETHUSDT volatility 1.0, SOLUSDT 1.2, otherwise as Default.
	Markets map[string]FeedWalk `json:"markets,omitempty"`
	// StartPrices is where each market's path starts when the engine has
	// no index for it yet (a restart continues from the engine's index).
	// Each must lie on the market's tick grid. Defaults: BTCUSDT 100000,
	// ETHUSDT 3500, SOLUSDT 150. Required for every market in FeedGBM mode.
	StartPrices map[string]decimal.Decimal `json:"startPrices"`
	// CSVFile is the file FeedCSV mode replays: rows of
	// "timestamp,symbol,price", the timestamp RFC 3339 or Unix
	// milliseconds, '#' comments, and optionally a header line (a first
	// line holding neither a time nor a price). Rows are sent
	// at the pace of their timestamps' differences (the first at once;
	// rows with equal timestamps together), not stamped with them: the
	// sequencer stamps every command with its own clock.
	CSVFile string `json:"csvFile,omitempty"`
	// ClockInterval is the period of CmdClockTick, which lets funding and
	// time-based triggers fall due while nobody trades. 0 sends none.
	// Default 1s.
	ClockInterval engine.Duration `json:"clockInterval"`
}

// FeedWalk is one market's random walk, in log price per year: ln(P)
// moves by (Drift - Volatility²/2)·dt + Volatility·√dt·Z each tick, Z
// standard normal and dt the tick interval in years of 365 days (crypto
// trades around the clock), plus, with JumpProbability per tick, a jump
// drawn from N(0, JumpSize²): Merton's jump diffusion. Merton's drift
// compensator for the jumps is left out: at the defaults it is about
// 2·10⁻⁷ per tick, far below one tick of any listed market.
type FeedWalk struct {
	// Volatility is annualized (0.8 = 80% a year).
	Volatility float64 `json:"volatility"`
	// Drift is the annualized expected log return (0: a flat trend).
	Drift float64 `json:"drift"`
	// JumpProbability is the chance of a jump on each tick, in [0, 1].
	JumpProbability float64 `json:"jumpProbability"`
	// JumpSize is the standard deviation of a jump's log return.
	JumpSize float64 `json:"jumpSize"`
}

// DefaultFeedConfig returns the documented defaults.
func DefaultFeedConfig() FeedConfig {
	d := decimal.RequireFromString
	walk := FeedWalk{Volatility: 0.8, JumpProbability: 0.001, JumpSize: 0.02}
	eth, sol := walk, walk
	eth.Volatility, sol.Volatility = 1.0, 1.2
	return FeedConfig{
		Mode:          FeedGBM,
		Interval:      engine.Duration(250 * time.Millisecond),
		Seed:          1,
		Default:       walk,
		Markets:       map[string]FeedWalk{"ETHUSDT": eth, "SOLUSDT": sol},
		StartPrices:   map[string]decimal.Decimal{"BTCUSDT": d("100000"), "ETHUSDT": d("3500"), "SOLUSDT": d("150")},
		ClockInterval: engine.Duration(time.Second),
	}
}

// Bounds of the config, wide enough for any simulation and narrow enough
// that a mistyped value (a volatility of 80 meaning 80%) is caught.
const (
	feedMinInterval   = time.Millisecond
	feedMaxInterval   = time.Hour
	feedMaxVolatility = 10.0 // 1000% a year
	feedMaxDrift      = 10.0
	feedMaxJumpSize   = 1.0
	feedYear          = 365 * 24 * time.Hour
	// feedMaxCSVErrors bounds the problems of a CSV file reported at once:
	// a file in the wrong format would otherwise give one per line.
	feedMaxCSVErrors = 20
)

// Feed sends index prices and clock ticks to the engine as ordinary
// commands through a Submitter, so the journal replays them exactly. The
// engine never sees a float: a simulated price is drawn in float64 (the
// walk runs in log space) and enters the system only as a whole number of
// ticks, rounded once per tick.
type Feed struct {
	cfg     FeedConfig
	markets []engine.Market
	sub     Submitter
	log     *slog.Logger

	paused atomic.Bool
	// wake tells Run that Resume was called, so a tick that fell due while
	// paused is sent at once rather than at the next one.
	wake chan struct{}

	// Run's (or a test's) alone: the state Step advances.
	walks   []feedWalker
	rows    []feedRow
	nextRow int
}

// feedWalker is one market's path: its log price in ticks, so that the
// conversion to ticks needs no tick size.
type feedWalker struct {
	market   engine.MarketID
	rng      *rand.Rand
	logTicks float64
	maxTicks int64
	// Per tick: the deterministic part of the log return, the scale of its
	// normal part, and the jumps.
	drift, diffusion  float64
	jumpP, jumpStdDev float64
}

// feedRow is one CSV row, checked and converted.
type feedRow struct {
	line       int
	tsNanos    int64
	market     engine.MarketID
	priceTicks int64
}

// NewFeed checks cfg against the markets, reporting every problem at once
// (each wraps ErrInvalidFeedConfig), and in FeedCSV mode reads and checks
// the whole file. log may be nil.
func NewFeed(cfg FeedConfig, markets []engine.Market, sub Submitter, log *slog.Logger) (*Feed, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidFeedConfig}, args...)...))
	}
	if len(markets) == 0 {
		bad("no markets")
	}
	if sub == nil {
		bad("no submitter")
	}
	switch cfg.Mode {
	case FeedGBM, FeedCSV, FeedOff:
	default:
		bad("mode %q: want %q, %q or %q", cfg.Mode, FeedGBM, FeedCSV, FeedOff)
	}
	if iv := time.Duration(cfg.Interval); cfg.Mode == FeedGBM && (iv < feedMinInterval || iv > feedMaxInterval) {
		bad("interval %v not in [%v, %v]", iv, feedMinInterval, feedMaxInterval)
	}
	if ci := time.Duration(cfg.ClockInterval); ci != 0 && (ci < feedMinInterval || ci > feedMaxInterval) {
		bad("clockInterval %v not in [%v, %v] (0 sends no clock ticks)", ci, feedMinInterval, feedMaxInterval)
	}
	symbols := map[string]bool{}
	for _, m := range markets {
		symbols[m.Symbol] = true
	}
	walkProblems := func(name string, w FeedWalk) {
		check := func(field string, v, lo, hi float64) {
			if math.IsNaN(v) || v < lo || v > hi {
				bad("%s: %s %v not in [%v, %v]", name, field, v, lo, hi)
			}
		}
		check("volatility", w.Volatility, 0, feedMaxVolatility)
		check("drift", w.Drift, -feedMaxDrift, feedMaxDrift)
		check("jumpProbability", w.JumpProbability, 0, 1)
		check("jumpSize", w.JumpSize, 0, feedMaxJumpSize)
	}
	f := &Feed{cfg: cfg, markets: markets, sub: sub, log: log, wake: make(chan struct{}, 1)}
	if cfg.Mode == FeedGBM {
		walkProblems("default walk", cfg.Default)
		for _, sym := range sortedKeys(cfg.Markets) {
			if !symbols[sym] {
				// Not an error: the defaults name markets a custom market
				// list may not have.
				log.Warn("feed: walk parameters for a symbol that is no market", "symbol", sym)
				continue
			}
			walkProblems("market "+sym, cfg.Markets[sym])
		}
		for _, sym := range sortedKeys(cfg.StartPrices) {
			if !symbols[sym] {
				log.Warn("feed: start price for a symbol that is no market", "symbol", sym)
			}
		}
		dt := time.Duration(cfg.Interval).Seconds() / feedYear.Seconds()
		for _, m := range markets {
			w, ok := cfg.Markets[m.Symbol]
			if !ok {
				w = cfg.Default
			}
			start, ok := cfg.StartPrices[m.Symbol]
			var startTicks int64
			if !ok {
				bad("market %s has no start price (startPrices has %s)", m.Symbol, strings.Join(sortedKeys(cfg.StartPrices), ", "))
			} else if t, err := m.Grid.Ticks(start, orderbook.MaxPriceTicksLimit); err != nil {
				bad("market %s: start price: %v", m.Symbol, err)
			} else {
				startTicks = t
			}
			f.walks = append(f.walks, feedWalker{
				market: m.ID, rng: rand.New(rand.NewPCG(feedMix(cfg.Seed), feedMix(uint64(m.ID)+1))),
				logTicks: math.Log(float64(max(startTicks, 1))), maxTicks: orderbook.MaxPriceTicksLimit,
				drift: (w.Drift - w.Volatility*w.Volatility/2) * dt, diffusion: w.Volatility * math.Sqrt(dt),
				jumpP: w.JumpProbability, jumpStdDev: w.JumpSize,
			})
		}
	}
	if cfg.Mode == FeedCSV {
		if cfg.CSVFile == "" {
			bad("mode %q needs csvFile", FeedCSV)
		} else if file, err := os.Open(cfg.CSVFile); err != nil {
			bad("csvFile: %v", err)
		} else {
			rows, err := parseFeedCSV(file, cfg.CSVFile, markets)
			_ = file.Close()
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidFeedConfig, err))
			}
			f.rows = rows
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// feedMix is splitmix64's finalizer. The PCG's two seed words are the
// config's seed and the market's id, each mixed, so that neighbouring
// seeds and ids start from unrelated states and adding a market leaves the
// others' paths as they were.
func feedMix(x uint64) uint64 {
	z := x + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseFeedCSV reads rows of "timestamp,symbol,price". Every problem names
// the file and line; up to feedMaxCSVErrors of them are reported together.
func parseFeedCSV(r io.Reader, name string, markets []engine.Market) ([]feedRow, error) {
	bySymbol := map[string]*engine.Market{}
	for i := range markets {
		bySymbol[markets[i].Symbol] = &markets[i]
	}
	cr := csv.NewReader(bufio.NewReader(r))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1 // checked below, with a message that says what a row holds
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	var rows []feedRow
	var errs []error
	more := 0
	bad := func(line int, format string, args ...any) {
		if len(errs) == feedMaxCSVErrors {
			more++
			return
		}
		errs = append(errs, fmt.Errorf("%s:%d: "+format, append([]any{name, line}, args...)...))
	}
	first := true
	var lastTs int64
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(pe.Line, "%v", pe.Err)
				continue
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		isFirst := first
		first = false
		if len(rec) != 3 {
			bad(line, "%d fields, want 3: timestamp,symbol,price", len(rec))
			continue
		}
		tsField, sym, priceField := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
		ts, tsErr := parseFeedTime(tsField)
		if isFirst && tsErr != nil {
			if _, err := decimal.NewFromString(priceField); err != nil {
				continue // a header: neither a time nor a price
			}
		}
		if tsErr != nil {
			bad(line, "timestamp %q: %v", tsField, tsErr)
		} else if len(rows) > 0 && ts < lastTs {
			bad(line, "timestamp %s is before the previous row's %s: rows must be in time order",
				tsField, time.Unix(0, lastTs).UTC().Format(time.RFC3339Nano))
		}
		m := bySymbol[sym]
		if m == nil {
			bad(line, "symbol %q is no market", sym)
		}
		price, pErr := decimal.NewFromString(priceField)
		if pErr != nil {
			bad(line, "price %q is not a decimal number", priceField)
		}
		if tsErr != nil || m == nil || pErr != nil {
			continue
		}
		priceTicks, err := m.Grid.Ticks(price, orderbook.MaxPriceTicksLimit)
		if err != nil {
			bad(line, "%s price: %v", sym, err)
			continue
		}
		lastTs = max(lastTs, ts)
		rows = append(rows, feedRow{line: line, tsNanos: ts, market: m.ID, priceTicks: priceTicks})
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("%s: %d more problems", name, more))
	}
	if len(errs) == 0 && len(rows) == 0 {
		errs = append(errs, fmt.Errorf("%s: no price rows", name))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rows, nil
}

// parseFeedTime reads Unix milliseconds (all digits) or RFC 3339.
func parseFeedTime(s string) (int64, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms > math.MaxInt64/int64(time.Millisecond) {
			return 0, errors.New("unix milliseconds out of range")
		}
		return ms * int64(time.Millisecond), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, errors.New("want RFC 3339 (2026-01-02T15:04:05Z) or unix milliseconds")
	}
	if t.Year() < 1970 || t.Year() > 2200 {
		return 0, errors.New("year outside 1970 to 2200")
	}
	return t.UnixNano(), nil
}

// Pause stops index ticks until Resume; clock ticks go on. Safe from any
// goroutine.
func (f *Feed) Pause() { f.paused.Store(true) }

// Resume restarts index ticks: in FeedGBM mode the path continues from
// where it paused, in FeedCSV mode the file from the row it had reached.
// Safe from any goroutine.
func (f *Feed) Resume() {
	f.paused.Store(false)
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Paused reports whether index ticks are paused. Safe from any goroutine.
func (f *Feed) Paused() bool { return f.paused.Load() }

// ResumeFrom starts each market's path at indexTicks[i] (the index of
// markets[i]) where that is above 0, so that a restart continues from the
// engine's index rather than jumping back to the start price; maxTicks[i]
// (0: no change) is the highest price the market's book takes. Run calls
// it with what the engine holds; it is exported for tests and simulations
// that drive Step themselves. It must not run concurrently with Step.
func (f *Feed) ResumeFrom(indexTicks, maxTicks []int64) {
	for i := range f.walks {
		w := &f.walks[i]
		if i < len(maxTicks) && maxTicks[i] > 0 {
			w.maxTicks = maxTicks[i]
		}
		if i < len(indexTicks) && indexTicks[i] > 0 {
			w.logTicks = math.Log(float64(indexTicks[i]))
		}
		w.logTicks = min(w.logTicks, math.Log(float64(w.maxTicks)))
	}
}

// Step advances the feed by one tick and returns its commands (one
// CmdSetIndexPrice per market in FeedGBM mode, the rows of the next
// timestamp in FeedCSV mode) and how long to wait before the next Step.
// It returns no commands when there is nothing to send: FeedOff, or the
// end of the CSV file. The same config and start give the same commands:
// Step reads no clock. It is not safe for concurrent use (Run calls it).
func (f *Feed) Step() (cmds []engine.Command, wait time.Duration) {
	switch f.cfg.Mode {
	case FeedGBM:
		cmds = make([]engine.Command, len(f.walks))
		for i := range f.walks {
			cmds[i] = engine.Command{Kind: engine.CmdSetIndexPrice, Market: f.walks[i].market, PriceTicks: f.walks[i].step()}
		}
		return cmds, time.Duration(f.cfg.Interval)
	case FeedCSV:
		if f.nextRow >= len(f.rows) {
			return nil, 0
		}
		ts := f.rows[f.nextRow].tsNanos
		for f.nextRow < len(f.rows) && f.rows[f.nextRow].tsNanos == ts {
			r := f.rows[f.nextRow]
			cmds = append(cmds, engine.Command{Kind: engine.CmdSetIndexPrice, Market: r.market, PriceTicks: r.priceTicks})
			f.nextRow++
		}
		if f.nextRow < len(f.rows) {
			wait = time.Duration(f.rows[f.nextRow].tsNanos - ts)
		}
		return cmds, wait
	}
	return nil, 0
}

// step draws one tick of the walk and returns the price in ticks. This is
// the one place a simulated float becomes a price: rounded to the nearest
// tick, at least 1 tick and at most the book's highest price. The log
// price is held inside the same range so that a long run against a bound
// cannot wander off beyond it and stick there.
func (w *feedWalker) step() int64 {
	x := w.drift + w.diffusion*w.rng.NormFloat64()
	// The jump's two draws are taken only when it happens: the stream
	// stays deterministic either way, as a function of the seed alone.
	if w.jumpP > 0 && w.rng.Float64() < w.jumpP {
		x += w.jumpStdDev * w.rng.NormFloat64()
	}
	w.logTicks = max(0, min(w.logTicks+x, math.Log(float64(w.maxTicks))))
	ticks := int64(math.Round(math.Exp(w.logTicks)))
	return max(1, min(ticks, w.maxTicks))
}

// Run sends index ticks and clock ticks until ctx ends, then returns nil.
// It first reads the engine's index of each market (ResumeFrom). A submit
// the sequencer refuses because it has stopped (wal.ErrStopped) ends Run
// with that error; an index the engine refuses is logged.
func (f *Feed) Run(ctx context.Context) error {
	index := make([]int64, len(f.markets))
	maxTicks := make([]int64, len(f.markets))
	err := f.sub.Read(ctx, func(e *engine.Engine) {
		for i, m := range f.markets {
			index[i], _ = e.Mark(m.ID)
			maxTicks[i] = e.Book(m.ID).MaxPriceTicks()
		}
	})
	if err != nil {
		return f.runErr(ctx, err)
	}
	f.ResumeFrom(index, maxTicks)
	f.log.Info("feed: started", "mode", f.cfg.Mode, "interval", time.Duration(f.cfg.Interval),
		"clockInterval", time.Duration(f.cfg.ClockInterval), "paused", f.Paused())

	var clock <-chan time.Time
	if ci := time.Duration(f.cfg.ClockInterval); ci > 0 {
		t := time.NewTicker(ci)
		defer t.Stop()
		clock = t.C
	}
	// The next index tick falls due at deadline; its timer is armed only
	// while there is one (not in FeedOff mode, nor after the file's end).
	timer := time.NewTimer(0)
	defer timer.Stop()
	var due <-chan time.Time = timer.C
	if f.cfg.Mode == FeedOff {
		due = nil
	}
	deadline := time.Now()
	pending := false // a tick fell due while paused
	tick := func() error {
		cmds, wait := f.Step()
		if cmds == nil {
			if f.cfg.Mode == FeedCSV {
				f.log.Info("feed: end of the CSV file; index prices stop, clock ticks go on", "file", f.cfg.CSVFile)
			}
			due = nil
			return nil
		}
		if err := f.send(ctx, cmds); err != nil {
			return err
		}
		// Regular pacing from the schedule, not from when the send
		// returned; after a stall it starts afresh rather than bursting to
		// catch up.
		now := time.Now()
		deadline = deadline.Add(wait)
		if deadline.Before(now.Add(-wait)) {
			deadline = now
		}
		timer.Reset(time.Until(deadline))
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-due:
			if f.Paused() {
				pending = true
				continue
			}
			if err := tick(); err != nil {
				return f.runErr(ctx, err)
			}
		case <-f.wake:
			if pending && !f.Paused() && due != nil {
				pending = false
				deadline = time.Now()
				if err := tick(); err != nil {
					return f.runErr(ctx, err)
				}
			}
		case <-clock:
			if err := f.send(ctx, []engine.Command{{Kind: engine.CmdClockTick}}); err != nil {
				return f.runErr(ctx, err)
			}
		}
	}
}

// runErr is what Run returns for err: a stopped sequencer is reported
// (the server must stop too); anything else after ctx has ended is only
// the submitter giving up because we did.
func (f *Feed) runErr(ctx context.Context, err error) error {
	if errors.Is(err, wal.ErrStopped) || ctx.Err() == nil {
		return err
	}
	return nil
}

// send submits cmds as one batch. It returns an error only when the
// sequencer has stopped or ctx has ended; other failures of a submit and
// the engine's refusals are logged, and the next tick tries again.
func (f *Feed) send(ctx context.Context, cmds []engine.Command) error {
	for i, res := range f.sub.SubmitBatch(ctx, cmds) {
		if res.Err != nil {
			if errors.Is(res.Err, wal.ErrStopped) || ctx.Err() != nil {
				return fmt.Errorf("feed: %s: %w", cmds[i].Kind, res.Err)
			}
			f.log.Warn("feed: submit failed", "command", cmds[i].Kind.String(), "err", res.Err)
			continue
		}
		for _, ev := range res.Events {
			if ev.Kind == engine.EventRejected {
				f.log.Warn("feed: command refused", "command", cmds[i].Kind.String(), "market", f.symbol(cmds[i].Market),
					"priceTicks", cmds[i].PriceTicks, "reason", ev.Reason.String())
			}
		}
	}
	return nil
}

func (f *Feed) symbol(id engine.MarketID) string {
	for _, m := range f.markets {
		if m.ID == id {
			return m.Symbol
		}
	}
	return strconv.Itoa(int(id))
}
