package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// cascadeStart is the scenario's simulated start: just after a funding
// time, so no funding falls in a run of minutes.
const cascadeStart = f1StartNanos

// startPrices are the markets' index prices before the shock (USDT).
var startPrices = map[string]string{"BTCUSDT": "100000", "ETHUSDT": "3500", "SOLUSDT": "150"}

// cascadeRun is one run's state.
type cascadeRun struct {
	o       CascadeOptions
	markets []engine.Market
	rng     *rand.Rand
	eng     *engine.Engine // without the WAL; with it the sequencer owns it
	seq     *wal.Sequencer
	journal *wal.Log
	srv     *serverRun // through the server (CascadeOptions.Server)
	tmp     string     // a temporary journal directory to remove
	next    engine.AccountID

	lps, retail []engine.AccountID
	makers      []engine.AccountID
	makerPos    []int64 // each maker's position (lots), from the events
	bgOrders    int     // background orders placed, each with client order id "bg<n>"
	pipeline    []pendingStep
	inFlight    int     // the pipeline's commands
	start       []int64 // index ticks before the shock
	// index is the index the driver last sent (what the commands are
	// built from); seenIndex, mark and last come from the events.
	index, seenIndex, mark []int64
	last                   []int64
	ev                     []engine.Event

	// measurements
	series           *CascadeSeries
	shockStart       time.Duration
	rounds           int
	lastLiq          time.Duration // the last step with a liquidation (-1: none)
	sampleLiqs       int
	nextSample       time.Duration
	commands         int
	refused          int // commands the engine refused
	liquidations     int
	partial          int
	adl              int
	fund, fundMin    int64
	badDebt          int64
	stepLiqs         int
	lat              []latSample
	idxMin, idxMax   int64
	markMin, markMax int64
	lastMin, lastMax int64
	liqT, liqPrice   []float64
	maxHeap          uint64
	cascadeWallStart time.Time
	lastLiqWall      time.Time
	// acks: when each group commit was released (its last sequence
	// number), recorded by the sequencer's OnCommit, so that a batch's
	// ack latency ends when its results were handed out, not when the
	// run got round to reading them.
	acksMu sync.Mutex
	acks   []ackMark
}

type ackMark struct {
	last uint64
	at   time.Time
}

// ackedAt is when the group holding seq was released.
func (r *cascadeRun) ackedAt(seq uint64) time.Time {
	r.acksMu.Lock()
	defer r.acksMu.Unlock()
	i, _ := slices.BinarySearchFunc(r.acks, seq, func(m ackMark, s uint64) int { return cmp.Compare(m.last, s) })
	at := time.Now()
	if i < len(r.acks) {
		at = r.acks[i].at
	}
	// What is before seq's group is read: let it go.
	r.acks = r.acks[:copy(r.acks, r.acks[i:])]
	return at
}

type latSample struct {
	t time.Duration // the step's simulated time
	d time.Duration
	n int // commands it stands for
}

// RunCascade runs the scenario and returns its report and series;
// progress, if set, is called with the simulated time done and the
// planned total (which may grow while the cascade goes on).
func RunCascade(ctx context.Context, o CascadeOptions, progress func(done, total time.Duration)) (CascadeReport, *CascadeSeries, error) {
	if err := o.Validate(); err != nil {
		return CascadeReport{}, nil, err
	}
	r := &cascadeRun{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0xCA5CADE))}
	if err := r.open(); err != nil {
		return CascadeReport{}, nil, err
	}
	defer r.close()
	wallStart := time.Now()
	if err := r.setup(); err != nil {
		return CascadeReport{}, nil, err
	}
	setupWall := time.Since(wallStart)
	oiBefore := r.openInterest()
	rep, series, err := r.run(ctx, progress)
	if err != nil {
		return rep, nil, err
	}
	rep.SetupWallSec = setupWall.Seconds()
	rep.OpenInterestBefore = oiBefore
	return rep, series, r.finish(&rep)
}

func (r *cascadeRun) open() error {
	specs := engine.DefaultMarkets()
	var chosen []engine.MarketSpec
	for _, name := range r.o.Markets {
		found := false
		for _, s := range specs {
			if s.Symbol == name {
				chosen, found = append(chosen, s), true
			}
		}
		if !found {
			return fmt.Errorf("bench: cascade: unknown market %q", name)
		}
	}
	ms, err := engine.Compile(chosen)
	if err != nil {
		return err
	}
	r.markets = ms
	cfg := engine.DefaultConfig()
	cfg.Markets = ms
	cfg.MaxAccounts = r.o.Accounts + r.o.Accounts/100 + backgroundTraders(r.o.BackgroundRate) + 1_000
	cfg.MarkFromIndex = r.o.MarkMode == "index"
	cfg.LiquidationsPerCommand, cfg.FundDeleveragesPerCommand = r.o.LiquidationsPerCommand, r.o.FundDeleveragesPerCommand
	n := len(ms)
	r.start, r.index, r.seenIndex, r.mark, r.last = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	r.idxMin, r.markMin, r.lastMin = math.MaxInt64, math.MaxInt64, math.MaxInt64
	if r.o.Server {
		return r.openServer()
	}
	eng, err := engine.New(cfg)
	if err != nil {
		return err
	}
	if !r.o.WAL {
		r.eng = eng
		return nil
	}
	dir := r.o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "exchange-cascade-"); err != nil {
			return err
		}
		r.tmp = dir
	}
	if r.journal, err = wal.Open(wal.Options{Dir: dir}); err != nil {
		return err
	}
	if r.journal.LastSeq() != 0 {
		return fmt.Errorf("bench: cascade: %s already holds a journal", dir)
	}
	r.seq = wal.NewSequencer(eng, r.journal, wal.SequencerOptions{Stamped: true,
		SnapshotEvery: 1 << 62, OnCommit: func(cmds []engine.Command, _ []wal.Result) {
			if len(cmds) == 0 {
				return
			}
			now := time.Now()
			r.acksMu.Lock()
			r.acks = append(r.acks, ackMark{cmds[len(cmds)-1].Seq, now})
			r.acksMu.Unlock()
		}})
	return nil
}

func (r *cascadeRun) close() {
	if r.srv != nil {
		r.srv.close()
	}
	if r.seq != nil {
		r.seq.Close()
		r.journal.Close()
	}
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

// flight is a batch of commands on its way through the sequencer.
type flight struct {
	cmds  []engine.Command
	res   <-chan []wal.Result
	start time.Time
}

// pendingStep is a step's batches, processed in order once durable.
type pendingStep struct {
	t       time.Duration // simulated, from the run's start
	flights []flight
}

// send applies a step's commands, stamped with its simulated time: with
// the WAL in batches of up to 1,024 sent at once (drain processes their
// results later, in order), without it at once.
func (r *cascadeRun) send(t time.Duration, cmds []engine.Command) error {
	ts := cascadeStart + int64(t)
	for i := range cmds {
		cmds[i].TsNanos = ts
	}
	r.commands += len(cmds)
	if r.srv != nil {
		if r.srv.begin.IsZero() {
			return r.sendServer(t, cmds)
		}
		r.commands-- // the step's clock tick: the server's own clock ticks instead
		if err := r.sendServer(t, cmds); err != nil {
			return err
		}
		r.serverStep(t)
		return nil
	}
	if r.seq == nil {
		r.stepLiqs = 0
		for i := range cmds {
			start := time.Now()
			r.ev = r.eng.Apply(&cmds[i], r.ev[:0])
			r.lat = append(r.lat, latSample{t, time.Since(start), 1})
			r.events(t, &cmds[i], r.ev)
		}
		r.stepDone(t, r.stepLiqs)
		return nil
	}
	st := pendingStep{t: t}
	r.inFlight += len(cmds)
	for len(cmds) > 0 {
		n := min(len(cmds), 1024)
		batch := slices.Clone(cmds[:n])
		start := time.Now()
		st.flights = append(st.flights, flight{batch, r.seq.SubmitAsync(context.Background(), batch), start})
		cmds = cmds[n:]
	}
	r.pipeline = append(r.pipeline, st)
	return nil
}

// drain processes finished steps in order until at most keep wait
// (through the server, keep 0 reads the makers' positions, and waits for
// every order sent only at the setup and past the planned end: in the
// run the load goes on in real time).
func (r *cascadeRun) drain(keep int) error {
	if r.srv != nil {
		if keep != 0 {
			return nil
		}
		if r.srv.begin.IsZero() || r.srv.hold {
			r.srv.wg.Wait()
		}
		if r.srv.begin.IsZero() {
			return nil
		}
		return r.serverMakerPositions()
	}
	for len(r.pipeline) > keep {
		if err := r.drainStep(); err != nil {
			return err
		}
	}
	return nil
}

// drainTo processes finished steps in order until at most n commands are
// in flight.
func (r *cascadeRun) drainTo(n int) error {
	for r.srv == nil && r.inFlight > n && len(r.pipeline) > 0 {
		if err := r.drainStep(); err != nil {
			return err
		}
	}
	return nil
}

// drainStep waits for the oldest step in flight and processes its results.
func (r *cascadeRun) drainStep() error {
	st := r.pipeline[0]
	r.pipeline = r.pipeline[1:]
	r.stepLiqs = 0
	for _, f := range st.flights {
		r.inFlight -= len(f.cmds)
		res := <-f.res
		acked := time.Now()
		if len(res) > 0 && res[len(res)-1].Err == nil {
			acked = r.ackedAt(res[len(res)-1].Seq)
		}
		r.lat = append(r.lat, latSample{st.t, acked.Sub(f.start), len(f.cmds)})
		for i := range res {
			if res[i].Err != nil {
				return res[i].Err
			}
			r.events(st.t, &f.cmds[i], res[i].Events)
		}
	}
	r.stepDone(st.t, r.stepLiqs)
	return nil
}

// events takes one command's events into the measurements.
func (r *cascadeRun) events(at time.Duration, c *engine.Command, evs []engine.Event) {
	t := at.Seconds()
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case engine.EventRejected:
			r.refused++
		case engine.EventLiquidation:
			r.liquidations++
			r.stepLiqs++
			if ev.SizeLots > 0 || ev.RemainingLots > 0 {
				r.partial++
			}
			if ev.Market == 0 {
				r.liqT = append(r.liqT, t)
				r.liqPrice = append(r.liqPrice, r.price(0, ev.PriceTicks))
			}
		case engine.EventADL:
			r.adl++
		case engine.EventInsuranceFund:
			r.fund = ev.BalanceQuote
			r.fundMin = min(r.fundMin, r.fund)
			r.badDebt += ev.BadDebtQuote
		case engine.EventMarkPrice:
			r.seenIndex[ev.Market], r.mark[ev.Market] = ev.IndexTicks, ev.PriceTicks
			if ev.Market == 0 {
				r.idxMin, r.idxMax = min(r.idxMin, ev.IndexTicks), max(r.idxMax, ev.IndexTicks)
				r.markMin, r.markMax = min(r.markMin, ev.PriceTicks), max(r.markMax, ev.PriceTicks)
			}
		case engine.EventPosition:
			if int(ev.Market) < len(r.makers) && ev.Account == r.makers[ev.Market] {
				r.makerPos[ev.Market] = ev.SizeLots
			}
		case engine.EventFill:
			if ev.MakerOrderID != 0 {
				r.last[ev.Market] = ev.PriceTicks
				if ev.Market == 0 {
					r.lastMin, r.lastMax = min(r.lastMin, ev.PriceTicks), max(r.lastMax, ev.PriceTicks)
				}
			}
		}
	}
}

func (r *cascadeRun) price(m engine.MarketID, ticks int64) float64 {
	f, _ := r.markets[m].Grid.Price(ticks).Float64() // for the charts only
	return f
}

// account returns the next account's id and the commands that create and
// fund it.
func (r *cascadeRun) account(cmds []engine.Command, usdt int64) ([]engine.Command, engine.AccountID) {
	a := r.next
	r.next++
	return append(cmds, engine.Command{Kind: engine.CmdCreateAccount},
		engine.Command{Kind: engine.CmdDeposit, Account: a, AmountQuote: usdt * fixed.QuoteUnitsPerWhole}), a
}

// flushEvery bounds the setup's batches.
const flushEvery = 8192

// setup sets the indexes, makes the liquidity providers that take the
// other side of every trader's position, the makers, the background
// traders and the traders with their positions, all through commands.
func (r *cascadeRun) setup() error {
	var cmds []engine.Command
	flush := func(force bool) error {
		if len(cmds) < flushEvery && !force {
			return nil
		}
		if err := r.send(0, cmds); err != nil {
			return err
		}
		cmds = cmds[:0]
		return r.drain(4)
	}
	for m, mk := range r.markets {
		p, err := mk.Grid.Ticks(decimal.RequireFromString(startPrices[mk.Symbol]), math.MaxInt64)
		if err != nil {
			return err
		}
		r.start[m], r.index[m], r.seenIndex[m], r.mark[m] = p, p, p, p
		cmds = append(cmds, engine.Command{Kind: engine.CmdSetIndexPrice, Market: engine.MarketID(m), PriceTicks: p})
	}
	// One liquidity provider per 100 traders, well funded and cross: the
	// traders' counterparties (and so auto-deleveraging's).
	for range max(1, r.o.Accounts/100) {
		var a engine.AccountID
		cmds, a = r.account(cmds, 200_000_000)
		r.lps = append(r.lps, a)
	}
	for range r.markets {
		var a engine.AccountID
		cmds, a = r.account(cmds, 2_000_000_000)
		r.makers = append(r.makers, a)
	}
	r.makerPos = make([]int64, len(r.markets))
	for range backgroundTraders(r.o.BackgroundRate) {
		var a engine.AccountID
		cmds, a = r.account(cmds, 1_000_000)
		r.retail = append(r.retail, a)
	}
	if err := flush(true); err != nil {
		return err
	}
	for i := range r.o.Accounts {
		var err error
		if cmds, err = r.trader(cmds, r.lps[i%len(r.lps)]); err != nil {
			return err
		}
		if err := flush(false); err != nil {
			return err
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	if err := r.drain(0); err != nil {
		return err
	}
	if r.refused > 0 {
		return fmt.Errorf("bench: cascade: the engine refused %d of the setup's commands", r.refused)
	}
	return nil
}

// trader appends the commands that make one trader and open its
// positions against lp.
func (r *cascadeRun) trader(cmds []engine.Command, lp engine.AccountID) ([]engine.Command, error) {
	o := &r.o
	// Log-uniform collateral: many small accounts, a few large.
	lo, hi := math.Log(float64(o.CollateralMin)), math.Log(float64(o.CollateralMax))
	collateral := int64(math.Exp(lo + r.rng.Float64()*(hi-lo)))
	lev := o.LeverageMin + r.rng.Int64N(o.LeverageMax-o.LeverageMin+1)
	long := r.rng.IntN(1000) < o.LongPerMille
	isolated := r.rng.IntN(1000) < o.IsolatedPerMille
	multi := !isolated && len(r.markets) > 1 && r.rng.IntN(1000) < o.MultiMarketPerMille
	var a engine.AccountID
	cmds, a = r.account(cmds, collateral)
	markets := 1
	if multi {
		markets = len(r.markets)
	}
	for m := range markets {
		mk := &r.markets[m]
		id := engine.MarketID(m)
		// The notional N the collateral C carries at leverage l, split
		// over the markets: the initial margin N/l and the taker fee N·f
		// must fit, N ≤ 0.99·C / (1/l + f); l capped by the bracket of N.
		c := collateral * fixed.QuoteUnitsPerWhole / int64(markets)
		l := lev
		notional := func(l int64) (int64, error) {
			return fixed.MulDiv(c*99/100, l*1_000_000, 1_000_000+l*mk.TakerFeePpm, fixed.RoundDown)
		}
		n, err := notional(l)
		for err == nil && l > 1 && mk.Brackets.MaxLeverage(n) < l {
			l--
			n, err = notional(l)
		}
		if err != nil {
			return cmds, fmt.Errorf("bench: cascade: sizing a position of %d USDT at %dx: %w", collateral, l, err)
		}
		qty := n / (r.start[m] * mk.Grid.QuotePerTickLot())
		if qty < mk.MinQtyLots || qty*r.start[m]*mk.Grid.QuotePerTickLot() < mk.MinNotionalQuote {
			continue // too small for the market: it stays flat there
		}
		if isolated {
			cmds = append(cmds, engine.Command{Kind: engine.CmdSetMarginMode, Account: a, Market: id, Mode: clearing.Isolated})
		}
		cmds = append(cmds, engine.Command{Kind: engine.CmdSetLeverage, Account: a, Market: id, Leverage: l})
		side, other := orderbook.Buy, orderbook.Sell
		if !long {
			side, other = orderbook.Sell, orderbook.Buy
		}
		cmds = append(cmds,
			engine.Command{Kind: engine.CmdPlaceOrder, Account: lp, Market: id, Side: other, Type: orderbook.Limit, TIF: orderbook.GTC,
				PriceTicks: r.start[m], QtyLots: qty},
			engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Market: id, Side: side, Type: orderbook.Limit, TIF: orderbook.IOC,
				PriceTicks: r.start[m], QtyLots: qty})
	}
	return cmds, nil
}

// sampleEvery is the series' interval of simulated time.
const sampleEvery = 100 * time.Millisecond

// stepDone records a processed step: its liquidations (a round when
// after the shock's start) and, every sampleEvery, a sample of the series.
func (r *cascadeRun) stepDone(t time.Duration, liqs int) {
	if liqs > 0 && t >= r.shockStart {
		r.rounds++
		r.lastLiq = t
		r.lastLiqWall = time.Now()
	}
	r.sampleLiqs += liqs
	if r.series == nil || t < r.nextSample {
		return
	}
	r.nextSample = t + sampleEvery
	s := r.series
	s.T = append(s.T, t.Seconds())
	s.Index = append(s.Index, r.price(0, r.seenIndex[0]))
	s.Mark = append(s.Mark, r.price(0, r.mark[0]))
	last := math.NaN()
	if r.last[0] > 0 {
		last = r.price(0, r.last[0])
	}
	s.Last = append(s.Last, last)
	s.Liquidations = append(s.Liquidations, float64(r.sampleLiqs))
	r.sampleLiqs = 0
	f, _ := fixed.QuoteAmount(r.fund).Float64() // for the chart only
	s.Fund = append(s.Fund, f)
	var ds []time.Duration
	for i := len(r.lat) - 1; i >= 0 && r.lat[i].t > t-sampleEvery; i-- {
		ds = append(ds, r.lat[i].d)
	}
	slices.Sort(ds)
	ms := func(q float64) float64 {
		if len(ds) == 0 {
			return math.NaN()
		}
		return float64(quantile(ds, q).Microseconds()) / 1000
	}
	s.LatencyP50, s.LatencyP99, s.LatencyP999 = append(s.LatencyP50, ms(0.5)), append(s.LatencyP99, ms(0.99)), append(s.LatencyP999, ms(0.999))
	if m := memHeap(); m > r.maxHeap {
		r.maxHeap = m
	}
}

func memHeap() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// run drives the scenario from the end of the setup: warm-up, shock,
// settle, a step of simulated time at a time.
func (r *cascadeRun) run(ctx context.Context, progress func(done, total time.Duration)) (CascadeReport, *CascadeSeries, error) {
	o := &r.o
	path, err := r.readPath()
	if err != nil {
		return CascadeReport{}, nil, err
	}
	r.shockStart = o.Warmup
	shockLen := o.ShockOver
	if len(path) > 0 {
		shockLen = path[len(path)-1].t
	}
	shockEnd := r.shockStart + shockLen
	planned := shockEnd + o.Settle
	r.lastLiq = -1
	r.lat = r.lat[:0] // the setup's batches are not the load
	r.read(func(e *engine.Engine) { r.fund = e.Ledger().InsuranceFundQuote() })
	fundStart := r.fund
	r.fundMin = r.fund
	r.series = &CascadeSeries{Interval: sampleEvery.Seconds(), ShockStart: r.shockStart.Seconds(), ShockEnd: shockEnd.Seconds(),
		Symbol: r.markets[0].Symbol}
	setupCommands, setupRefused := r.commands, r.refused
	if r.srv != nil {
		if err := r.watchServer(); err != nil {
			return CascadeReport{}, nil, err
		}
	}
	wallStart := time.Now()
	bgCarry := 0.0
	lastRefresh := -o.MakerRefresh
	var cmds []engine.Command
	t := time.Duration(0)
	for ; ; t += o.Step {
		if err := ctx.Err(); err != nil {
			return CascadeReport{}, nil, err
		}
		cmds = cmds[:0]
		// The index ticks every step, as a feed does: each tick also
		// samples the book for the mark's basis.
		for m := range r.markets {
			r.index[m] = r.shockPrice(m, t, r.shockStart, path)
			cmds = append(cmds, engine.Command{Kind: engine.CmdSetIndexPrice, Market: engine.MarketID(m), PriceTicks: r.index[m]})
		}
		if o.MakerLevels > 0 && o.MakerLevelUSDT > 0 && t-lastRefresh >= o.MakerRefresh {
			lastRefresh = t
			if o.MakerSkewBps != 0 {
				// The skew reads the makers' positions: every step
				// before this one must be in, so that they depend on
				// the seed alone.
				if err := r.drain(0); err != nil {
					return CascadeReport{}, nil, err
				}
			}
			for m := range r.markets {
				cmds = r.makerQuotes(cmds, m)
			}
		}
		for bgCarry += float64(o.BackgroundRate) * o.Step.Seconds(); bgCarry >= 1; bgCarry-- {
			cmds = r.background(cmds)
		}
		cmds = append(cmds, engine.Command{Kind: engine.CmdClockTick})
		if t == r.shockStart {
			if err := r.drain(0); err != nil {
				return CascadeReport{}, nil, err
			}
			r.cascadeWallStart = time.Now()
		}
		if err := r.send(t, cmds); err != nil {
			return CascadeReport{}, nil, err
		}
		if err := r.drainTo(o.InFlight); err != nil {
			return CascadeReport{}, nil, err
		}
		if progress != nil && t%(100*o.Step) == 0 {
			progress(t, planned)
		}
		if t < planned {
			continue
		}
		// Past the planned end: stop once nothing waits and no position
		// was liquidated for a second (or at the cap).
		if r.srv != nil {
			r.srv.hold = true
		}
		if err := r.drain(0); err != nil {
			return CascadeReport{}, nil, err
		}
		waiting := 0
		r.read(func(e *engine.Engine) { waiting = e.LiquidationsWaiting() })
		if (waiting == 0 && t-r.lastLiq >= time.Second) || t >= shockEnd+o.MaxSettle {
			break
		}
	}
	if err := r.drain(0); err != nil {
		return CascadeReport{}, nil, err
	}
	if progress != nil {
		progress(t, t)
	}
	wall := time.Since(wallStart)
	if r.srv != nil {
		if err := r.srv.settle(r); err != nil {
			return CascadeReport{}, nil, err
		}
	}
	rep := CascadeReport{Accounts: o.Accounts, Seed: o.Seed, Markets: o.Markets, MarkMode: o.MarkMode, ShockPercent: o.ShockPercent, Server: o.Server,
		Liquidations: r.liquidations, PartialLiquidations: r.partial, ADLEvents: r.adl, CascadeRounds: r.rounds,
		Commands: r.commands - setupCommands, Refused: r.refused - setupRefused, WallSec: wall.Seconds()}
	rep.CommandsPerSec = float64(rep.Commands) / wall.Seconds()
	quiet := r.shockStart
	if r.lastLiq >= 0 {
		quiet = r.lastLiq + o.Step
		rep.ShockToQuiescenceSec = (quiet - r.shockStart).Seconds()
	}
	if r.lastLiq >= 0 {
		// The cascade's commands, from the shock to quiescence, over the
		// wall time they took.
		n := 0
		for _, l := range r.lat {
			if l.t >= r.shockStart && l.t <= r.lastLiq {
				n += l.n
			}
		}
		rep.CascadeCommandsPerSec = float64(n) / max(r.lastLiqWall.Sub(r.cascadeWallStart).Seconds(), 1e-9)
	}
	q := func(d int64) string { return fixed.QuoteAmount(d).String() }
	rep.InsuranceFundStart, rep.InsuranceFundMin, rep.InsuranceFundEnd = q(fundStart), q(r.fundMin), q(r.fund)
	rep.BadDebtUSDT = q(r.badDebt)
	g := r.markets[0].Grid
	px := func(lo, hi int64) (string, string) {
		if lo == math.MaxInt64 {
			return "", ""
		}
		return g.Price(lo).String(), g.Price(hi).String()
	}
	rep.IndexMin, rep.IndexMax = px(r.idxMin, r.idxMax)
	rep.MarkMin, rep.MarkMax = px(r.markMin, r.markMax)
	rep.LastMin, rep.LastMax = px(r.lastMin, r.lastMax)
	rep.Before = r.latency(func(t time.Duration) bool { return t < r.shockStart })
	rep.During = r.latency(func(t time.Duration) bool { return t >= r.shockStart && t < max(quiet, r.shockStart+o.Step) })
	rep.After = r.latency(func(t time.Duration) bool { return t >= max(quiet, r.shockStart+o.Step) })
	rep.MaxHeapMiB = float64(r.maxHeap) / (1 << 20)
	r.series.LiqT, r.series.LiqPrice = r.liqT, r.liqPrice
	return rep, r.series, nil
}

// latency is the percentiles of the commands whose step's time keep
// accepts (each sample stands for its batch's commands).
func (r *cascadeRun) latency(keep func(time.Duration) bool) LatencyFigures {
	var ds []time.Duration
	for _, l := range r.lat {
		if keep(l.t) {
			for range l.n {
				ds = append(ds, l.d)
			}
		}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return LatencyFigures{Samples: len(ds), P50: ms(quantile(ds, 0.5)), P99: ms(quantile(ds, 0.99)), P999: ms(quantile(ds, 0.999))}
}

// finish checks, from the engine's own figures, that money is conserved
// and open interest balanced, and takes the end's open interest.
func (r *cascadeRun) finish(rep *CascadeReport) error {
	var conservation error
	balanced := true
	if err := r.read(func(e *engine.Engine) {
		conservation = e.Ledger().CheckConservation()
		for m := range r.markets {
			long, short := e.Ledger().OpenInterest(engine.MarketID(m))
			balanced = balanced && long == short
		}
	}); err != nil {
		return err
	}
	rep.MoneyConserved, rep.OpenInterestBalanced = conservation == nil, balanced
	rep.OpenInterestAfter = r.openInterest()
	if conservation != nil || !balanced {
		return fmt.Errorf("bench: cascade: the engine's figures do not balance: %v, open interest balanced %v", conservation, balanced)
	}
	return nil
}

// read runs fn on the engine (through the sequencer with the WAL).
func (r *cascadeRun) read(fn func(*engine.Engine)) error {
	switch {
	case r.srv != nil:
		return r.srv.x.Read(context.Background(), fn)
	case r.seq == nil:
		fn(r.eng)
		return nil
	}
	return r.seq.Read(context.Background(), fn)
}

// openInterest is the markets' open interest, "SYMBOL=qty" joined.
func (r *cascadeRun) openInterest() string {
	var parts []string
	r.read(func(e *engine.Engine) {
		for m := range r.markets {
			long, _ := e.Ledger().OpenInterest(engine.MarketID(m))
			parts = append(parts, r.markets[m].Symbol+"="+r.markets[m].Grid.Qty(long).String())
		}
	})
	return strings.Join(parts, " ")
}

// shockPrice is market m's index at simulated time t (from the run's
// start) on the shock's path.
func (r *cascadeRun) shockPrice(m int, t, shockStart time.Duration, path []pathPoint) int64 {
	frac := 0.0
	switch {
	case t < shockStart:
	case len(path) > 0:
		return r.pathPrice(m, t-shockStart, path)
	case r.o.ShockOver == 0 || t >= shockStart+r.o.ShockOver:
		frac = 1
	default:
		frac = float64(t-shockStart) / float64(r.o.ShockOver)
	}
	// The path's price is drawn in float64 and enters as whole ticks.
	p := int64(math.Round(float64(r.start[m]) * (1 + r.o.ShockPercent/100*frac)))
	return max(p, 1)
}

// pathPoint is one row of a shock CSV: seconds after the shock's start,
// and the first market's index as a multiple of its start price.
type pathPoint struct {
	t     time.Duration
	ratio float64
}

func (r *cascadeRun) pathPrice(m int, t time.Duration, path []pathPoint) int64 {
	ratio := path[len(path)-1].ratio
	for i := 1; i < len(path); i++ {
		if t < path[i].t {
			a, b := path[i-1], path[i]
			ratio = a.ratio + (b.ratio-a.ratio)*float64(t-a.t)/float64(b.t-a.t)
			break
		}
	}
	return max(int64(math.Round(float64(r.start[m])*ratio)), 1)
}

// readPath reads a shock CSV: "seconds,price" rows (a header allowed),
// prices of the first market; it returns ratios to its start price.
func (r *cascadeRun) readPath() ([]pathPoint, error) {
	if r.o.ShockCSV == "" {
		return nil, nil
	}
	b, err := os.ReadFile(r.o.ShockCSV)
	if err != nil {
		return nil, err
	}
	start, _ := r.markets[0].Grid.Price(r.start[0]).Float64()
	var path []pathPoint
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ts, ps, ok := strings.Cut(line, ",")
		sec, err1 := strconv.ParseFloat(strings.TrimSpace(ts), 64)
		px, err2 := strconv.ParseFloat(strings.TrimSpace(ps), 64)
		if !ok || err1 != nil || err2 != nil {
			if n == 0 {
				continue // a header
			}
			return nil, fmt.Errorf("bench: cascade: %s line %d: want seconds,price", r.o.ShockCSV, n+1)
		}
		if sec < 0 || px <= 0 || (len(path) > 0 && time.Duration(sec*1e9) <= path[len(path)-1].t) {
			return nil, fmt.Errorf("bench: cascade: %s line %d: times must rise from 0 and prices be positive", r.o.ShockCSV, n+1)
		}
		path = append(path, pathPoint{time.Duration(sec * 1e9), px / start})
	}
	if len(path) == 0 {
		return nil, fmt.Errorf("bench: cascade: %s has no rows", r.o.ShockCSV)
	}
	return path, nil
}

// makerQuotes appends market m's maker's new quotes: cancel all, then
// MakerLevels post-only levels a side around the mark.
func (r *cascadeRun) makerQuotes(cmds []engine.Command, m int) []engine.Command {
	o := &r.o
	a, id, mk := r.makers[m], engine.MarketID(m), &r.markets[m]
	cmds = append(cmds, engine.Command{Kind: engine.CmdCancelAll, Account: a, Market: id})
	// Around the index, what the maker sees of the fair price, leaning
	// against its inventory (read from the results of every earlier step,
	// so the commands still depend on the seed alone).
	mid := r.index[m] - r.makerSkew(m)
	for k := 1; k <= o.MakerLevels; k++ {
		off := mid * o.MakerSpacingBps * int64(k) / 10_000
		for _, side := range []orderbook.Side{orderbook.Buy, orderbook.Sell} {
			p := mid - off
			if side == orderbook.Sell {
				p = mid + off
			}
			if p < 1 {
				continue
			}
			qty := o.MakerLevelUSDT * fixed.QuoteUnitsPerWhole / (p * mk.Grid.QuotePerTickLot())
			if qty < mk.MinQtyLots {
				continue
			}
			cmds = append(cmds, engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Market: id, Side: side, Type: orderbook.Limit,
				TIF: orderbook.PostOnly, PriceTicks: p, QtyLots: qty})
		}
	}
	return cmds
}

// makerSkew is how many ticks market m's maker moves its quotes' centre
// below the index (above when negative) for its inventory: MakerSkewBps of
// the index per level's notional held, at most a tenth of the index.
func (r *cascadeRun) makerSkew(m int) int64 {
	o, idx, pos := &r.o, r.index[m], r.makerPos[m]
	if o.MakerSkewBps == 0 || pos == 0 {
		return 0
	}
	lim := idx / 10
	edge := lim // what an overflow means: far past the bound
	if pos < 0 {
		edge = -lim
	}
	// The inventory's notional over a level's, times the skew: in
	// hundredths of a basis point, then of the index.
	perLot, err := fixed.Mul(idx, r.markets[m].Grid.QuotePerTickLot())
	if err != nil {
		return edge
	}
	notional, err := fixed.Mul(pos, perLot)
	if err != nil {
		return edge
	}
	centiBps, err := fixed.MulDiv(notional, o.MakerSkewBps*100, o.MakerLevelUSDT*fixed.QuoteUnitsPerWhole, fixed.RoundTowardZero)
	if err != nil {
		return edge
	}
	shift, err := fixed.MulDiv(idx, centiBps, 1_000_000, fixed.RoundTowardZero)
	if err != nil {
		return edge
	}
	return max(-lim, min(lim, shift))
}

// backgroundTraders is how many ordinary traders send the background
// flow: 200, or one per 40 commands a second at higher rates. Each
// trader's resting orders grow by about 15% of what it sends (45% of the
// flow are limit orders, 30% cancels), and an account may rest at most
// 200 (orderbook.Config.MaxOrdersPerAccount): fewer traders would soon be
// refused every placement, and their cancels would name orders that never
// rested.
func backgroundTraders(rate int) int {
	return max(200, rate/40)
}

// background appends one ordinary trader's command.
func (r *cascadeRun) background(cmds []engine.Command) []engine.Command {
	n := r.bgOrders
	a := r.retail[n%len(r.retail)]
	m := n % len(r.markets)
	mk, id := &r.markets[m], engine.MarketID(m)
	side := orderbook.Side(1 + r.rng.IntN(2))
	qty := mk.MinQtyLots * (1 + r.rng.Int64N(5))
	for qty*r.index[m]*mk.Grid.QuotePerTickLot() < mk.MinNotionalQuote {
		qty += mk.MinQtyLots
	}
	switch x := r.rng.IntN(100); {
	case x < 30 && r.bgOrders > 0:
		// One of the last 1,000 background orders, by its client order
		// id: the generator reads no results, so the commands depend on
		// the seed alone (a filled one is refused as unknown, harmlessly).
		n := r.bgOrders - 1 - r.rng.IntN(min(r.bgOrders, 1000))
		cid, _ := engine.ParseClientOrderID("bg" + strconv.Itoa(n))
		return append(cmds, engine.Command{Kind: engine.CmdCancelOrder, Account: r.retail[n%len(r.retail)], Market: engine.MarketID(n % len(r.markets)), ClientOrderID: cid})
	case x < 55:
		return append(cmds, engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Market: id, Side: side, Type: orderbook.Market,
			TIF: orderbook.IOC, QtyLots: qty})
	default:
		off := r.index[m] * (1 + r.rng.Int64N(50)) / 10_000 // 1 to 50 bps away
		p := r.index[m] - off
		if side == orderbook.Sell {
			p = r.index[m] + off
		}
		r.bgOrders++
		cid, _ := engine.ParseClientOrderID("bg" + strconv.Itoa(n))
		return append(cmds, engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Market: id, Side: side, Type: orderbook.Limit,
			TIF: orderbook.GTC, PriceTicks: max(p, 1), QtyLots: qty, ClientOrderID: cid})
	}
}
