package engine_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/orderbook"
	"github.com/shopspring/decimal"
)

// TestSimulation drives the engine with a seeded random stream of commands
// (ENGINE_SIM_COMMANDS, default 1,000,000, 100,000 under -short;
// ENGINE_SIM_SEED, default 1) from ~200 funded accounts in both margin
// modes on every default market: limit, market, IOC, FOK, post-only and
// reduce-only orders near a drifting index with occasional large jumps,
// cancels, cancel-alls, deposits, withdrawals, leverage and mode changes,
// isolated margin transfers, clock ticks across many 8-hour funding times,
// and commands that must be refused.
//
// After every command it checks, from outside the engine (its exported API
// only, none of its risk code):
//   - the ledger's money identity (CheckConservation) and long == short open
//     interest in every market;
//   - a mirror of every wallet and position rebuilt from the events alone
//     equals the ledger, so the events describe every change; isolated
//     margins are never negative and an isolated position's trades never
//     take money from the wallet; each fill side's wallet or isolated margin
//     moves by its realized PnL less its fee;
//   - a refused command carries exactly one EventRejected, preceded by
//     nothing but the funding that fell due, and changed nothing: a
//     fingerprint of the fee account, insurance fund, books, marks, open
//     interest and sampled accounts is the same before and after, and every
//     wallet and position still equals the mirror; a command built to be
//     invalid is refused for the right reason, one built to be valid is not;
//   - every EventPosition's liquidation price equals a recomputation with
//     margin.LiquidationPrice from the state at that point of the event
//     stream (and the last one of each position from the ledger after the
//     command), and has the defining property: liquidatable one tick beyond
//     it and not at it, with the other markets' marks held fixed;
//   - fills charge the configured fees and respect limit prices, FOK fills
//     all or nothing, post-only never takes, reduce-only never increases or
//     flips, accepted leverage fits the bracket, withdrawals and isolated
//     margin removals leave what the rules require; a mark event comes with
//     every mark change; funding falls due exactly when the clock passes a
//     funding time, once per open position, each payment size × mark × rate
//     rounded against the holder.
//
// Then it runs the first simDeterminismCommands commands again from the same
// seed and requires the identical event stream and final state.
//
// To investigate a failure: ENGINE_SIM_TRACE=from-to logs those commands
// and their events; ENGINE_SIM_FULL_SWEEP=1 compares every account after
// every command instead of the touched ones and a rotating few (slower, but
// names the first command whose change no event reported).
func TestSimulation(t *testing.T) {
	seed := simEnvUint(t, "ENGINE_SIM_SEED", 1)
	n := int(simEnvUint(t, "ENGINE_SIM_COMMANDS", 1_000_000))
	if testing.Short() && os.Getenv("ENGINE_SIM_COMMANDS") == "" {
		n = 100_000
	}
	detN := min(n, simDeterminismCommands)

	start := time.Now()
	rec := &simRecording{upTo: detN}
	s := newSim(t, seed, rec)
	s.run(n)
	elapsed := time.Since(start)
	t.Logf("seed %d: %d commands in %v (%.1f µs per command, checks included)", seed, n,
		elapsed.Round(time.Millisecond), float64(elapsed.Nanoseconds())/1e3/float64(n))
	s.logSummary()

	// Determinism: the same seed again, compared event by event.
	start = time.Now()
	again := newSim(t, seed, &simRecording{compare: rec})
	again.run(detN)
	if got := again.fingerprint(); got != rec.fingerprint {
		t.Fatalf("seed %d: the same %d commands left different states:\nfirst:  %x\nsecond: %x", seed, detN, rec.fingerprint, got)
	}
	t.Logf("determinism: %d commands replayed from seed %d with identical events and state in %v",
		detN, seed, time.Since(start).Round(time.Millisecond))
}

const (
	simDeterminismCommands = 50_000
	simSnapshotEvery       = 100_000                              // commands between snapshot round trips
	simAccounts            = 200                                  // created at the start
	simMaxAccounts         = 230                                  // a few more appear later
	simMaxMarkets          = 4                                    // fixed arrays in fingerprints
	simStart               = int64(1_767_225_600) * 1_000_000_000 // 2026-01-01T00:00:00Z
)

func simEnvUint(t *testing.T, name string, def uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

// simRecording keeps the events of a run's first upTo commands and the state
// after them; a run with compare set checks itself against another's.
type simRecording struct {
	upTo        int
	events      []engine.Event
	ends        []int // command i's events are events[ends[i-1]:ends[i]]
	fingerprint [32]byte

	compare *simRecording
}

// simPos mirrors one position, rebuilt from events only.
type simPos struct {
	size, entry, iso int64
	mode             clearing.MarginMode
}

type simOrder struct {
	id      orderbook.OrderID
	account engine.AccountID
	cid     engine.ClientOrderID
}

// simIncoming is the order that trades as taker at this point of a
// command's events: the placed order, the amended one, or a conditional
// order its trigger just entered into the book.
type simIncoming struct {
	cmd         engine.Command // as a place command (an amend's order with its new price and size)
	placed      orderbook.OrderID
	acceptedQty int64
	filled      int64
	sizeBefore  int64 // its account's position before it traded
	amend       bool
	triggered   bool
	refused     bool // a triggered order that ended before entering the book
}

// simExpect is what the generator knows of a command's outcome.
type simExpect struct {
	// reject: the command is invalid and must be refused, for one of
	// reasons (a bit set over engine.Reason) when that is not 0.
	reject  bool
	reasons uint64
	// accept: the command is valid and must not be refused.
	accept bool
}

func mustReject(reasons ...engine.Reason) simExpect {
	x := simExpect{reject: true}
	for _, r := range reasons {
		x.reasons |= 1 << r
	}
	return x
}

var (
	mustAccept = simExpect{accept: true}
	mayReject  = simExpect{}
)

// simStep is one generated command; queued steps are built when their turn
// comes, so they see the state the commands before them left.
type simStep func() (engine.Command, simExpect)

type sim struct {
	t               *testing.T
	seed            uint64
	e               *engine.Engine
	l               *clearing.Ledger
	markets         []engine.Market
	nm              int
	defaultLeverage int64
	rng             *rand.Rand
	rec             *simRecording

	seq     uint64
	now     int64 // the generator's clock
	lastTs  int64 // the last time the engine accepted
	started bool
	n       int // commands applied

	// The mirror, per account (× nm + market for positions and leverage).
	nAccounts int
	wallets   []int64
	pos       []simPos
	lev       []int64
	openPos   [simMaxMarkets]int

	// The generator's world.
	index   [simMaxMarkets]int64
	base    [simMaxMarkets]int64
	resting [simMaxMarkets][]simOrder
	queue   []simStep
	lastID  orderbook.OrderID

	ev  []engine.Event
	cur *engine.Command // the command being checked

	// Orders with features the checks follow: resting reduce-only orders
	// (their maker fills must never grow or flip a position), conditional
	// orders waiting for their trigger, and the next client order id.
	roOrders    map[orderbook.OrderID]bool
	stops       map[orderbook.OrderID]engine.Command
	nextCID     int
	ended       []simIncoming               // this command's incoming orders, checked at its end
	makerFilled map[orderbook.OrderID]int64 // lots each order traded as maker in this command
	stopIDs     []orderbook.OrderID         // ids conditional orders were given (some no longer wait)
	in          simIncoming
	amendBefore orderbook.RestingOrder // the order an amend names, before it
	amendFound  bool

	// Checking state.
	fund        int64 // the insurance fund after the last command
	swept       []int // per account: the command after which it was last compared
	traceFrom   int   // ENGINE_SIM_TRACE=from-to: log these commands and their events
	traceTo     int
	fullSweep   bool    // ENGINE_SIM_FULL_SWEEP: compare every account after every command
	lastPosEv   []int32 // per account×market: index of its last position event in this command + 1
	touched     []int   // slots with a position event in this command
	sweepNext   int
	orderBuf    []orderbook.RestingOrder
	fill        *engine.Event // the last fill
	side        int           // whose trade events are due (sideNone, ...)
	tradeBal    int64         // the trade balance change reported for that side
	takerFees   int64         // the taker's fees over its fills (not self-trades)
	takerFills  int
	takerDone   bool // the taker's summed trade events came
	takerMixed  bool // a self-trade came between the taker's fills
	fillMakerRO bool // the last fill's maker order is reduce-only

	stats simStats
}

type simStats struct {
	commands        [16]int
	rejections      [64]int
	invalidRefused  int // commands built to be invalid, refused as required
	validAccepted   int // commands built to be valid, accepted as required
	accepted        int
	rested          int
	cancelled       [64]int
	fills           int
	selfTrades      int
	fillLots        [simMaxMarkets]int64
	fillQuote       [simMaxMarkets]int64
	fundingTimes    int // market × funding time passed with a mark
	fundingPays     int
	maxOpen         int
	maxOpenMarket   [simMaxMarkets]int
	maxResting      int
	indexJumps      int
	modeSwitches    int
	fundDrops       int // commands after which the insurance fund was lower: isolated shortfalls
	liqChecked      int
	liqProperty     int
	liqNone         int
	aboveBracket    int // position events whose leverage exceeds the bracket of their entry notional
	aboveBracketEx  string
	minWallet       int64
	removals        int
	withdrawals     int
	leverageChanges int
	tradesChecked   int
	underfunded     [2]int // isolated fills (taker, maker) that left the position below its initial margin
	underfundedEx   [2]string
	triggered       int
	roRested        int
	roCuts          int
	amends          int
	stopsPlaced     int
	byClientID      int
	restores        int
}

func newSim(t *testing.T, seed uint64, rec *simRecording) *sim {
	t.Helper()
	cfg := engine.DefaultConfig()
	// This simulation checks the trading mechanics against a mirror built
	// from the events; liquidations have their own (liquidation_sim_test.go).
	cfg.DisableLiquidation = true
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Markets) > simMaxMarkets {
		t.Fatalf("%d markets: raise simMaxMarkets", len(cfg.Markets))
	}
	s := &sim{t: t, seed: seed, e: e, l: e.Ledger(), markets: cfg.Markets, nm: len(cfg.Markets), defaultLeverage: cfg.DefaultLeverage,
		rng: rand.New(rand.NewPCG(seed, 0x5eed_5eed_5eed_5eed)), rec: rec, now: simStart,
		ev: make([]engine.Event, 0, 256), fullSweep: os.Getenv("ENGINE_SIM_FULL_SWEEP") != "",
		roOrders: map[orderbook.OrderID]bool{}, stops: map[orderbook.OrderID]engine.Command{}, makerFilled: map[orderbook.OrderID]int64{}}
	if tr := os.Getenv("ENGINE_SIM_TRACE"); tr != "" {
		from, to, _ := strings.Cut(tr, "-")
		s.traceFrom, _ = strconv.Atoi(from)
		s.traceTo, _ = strconv.Atoi(to)
		s.traceTo = max(s.traceTo, s.traceFrom)
	}
	// Starting indexes: BTC 100,000, ETH 3,500, SOL 150 USDT.
	starts := []int64{100_000, 3_500, 150, 20}
	for m, mk := range s.markets {
		ticks, err := mk.Grid.Ticks(decimal.NewFromInt(starts[min(m, len(starts)-1)]), 1<<40)
		if err != nil {
			t.Fatal(err)
		}
		s.index[m], s.base[m] = ticks, ticks
	}
	return s
}

func (s *sim) run(n int) {
	for s.n < n {
		cmd, x := s.next()
		s.apply(cmd, x)
	}
}

// apply stamps and applies one command and checks everything after it.
func (s *sim) apply(cmd engine.Command, x simExpect) {
	s.seq++
	cmd.Seq = s.seq
	s.cur = &cmd
	s.stats.commands[min(int(cmd.Kind), len(s.stats.commands)-1)]++
	timeBack := cmd.TsNanos < s.lastTs
	// The funding times each market passes with this command: the engine
	// settles at the multiples of the interval, once a first command has
	// set its clock.
	var crossings, marksBefore [simMaxMarkets]int64
	for m := range s.nm {
		if !timeBack && s.started {
			iv := s.markets[m].FundingIntervalNanos
			crossings[m] = cmd.TsNanos/iv - s.lastTs/iv
		}
		_, marksBefore[m] = s.e.Mark(engine.MarketID(m))
	}
	before := s.digest(cmd.Account)
	var sizeBefore int64
	if cmd.Kind == engine.CmdPlaceOrder && int(cmd.Account) < s.nAccounts && int(cmd.Market) < s.nm {
		sizeBefore = s.pos[s.slot(cmd.Account, cmd.Market)].size
	}

	s.amendFound = false
	if cmd.Kind == engine.CmdAmendOrder && int(cmd.Market) < s.nm {
		id := cmd.OrderID
		if id == 0 {
			id, _ = s.e.OrderByClientID(cmd.Account, cmd.ClientOrderID)
		}
		s.amendBefore, s.amendFound = s.e.Book(cmd.Market).Order(id)
	}
	s.ev = s.e.Apply(&cmd, s.ev[:0])
	if s.traceFrom > 0 && s.n+1 >= s.traceFrom && s.n+1 <= s.traceTo {
		s.t.Logf("#%d %+v\n%s", s.n+1, cmd, simEvents(s.ev))
	}
	if !timeBack {
		s.lastTs, s.started = cmd.TsNanos, true
	}
	s.n++
	s.record()

	rejected := s.checkEvents(&cmd, x, crossings, marksBefore, sizeBefore)
	s.checkState(&cmd, rejected)
	if rejected && !slices.ContainsFunc(s.ev, func(x engine.Event) bool { return x.Kind == engine.EventFunding }) {
		if after := s.digest(cmd.Account); after != before {
			s.fail("refused command changed the state:\nbefore %+v\nafter  %+v", before, after)
		}
	}
	s.afterCommand(&cmd, rejected)
	if s.n%16 == 0 {
		s.checkStopsWait()
	}
	if s.n%simSnapshotEvery == 0 {
		s.snapshotRoundTrip()
	}
	if r := s.rec; r != nil && r.compare == nil && s.n == r.upTo {
		r.fingerprint = s.fingerprint()
	}
}

// record keeps or compares this command's events for the determinism check.
func (s *sim) record() {
	r := s.rec
	if r == nil {
		return
	}
	i := s.n - 1
	if c := r.compare; c != nil {
		if i >= len(c.ends) {
			return
		}
		lo := 0
		if i > 0 {
			lo = c.ends[i-1]
		}
		if want := c.events[lo:c.ends[i]]; !slices.Equal(want, s.ev) {
			s.fail("determinism: the same seed gave different events\nfirst run:\n%s\nsecond run:\n%s",
				simEvents(want), simEvents(s.ev))
		}
		return
	}
	if i < r.upTo {
		if r.events == nil {
			r.events, r.ends = make([]engine.Event, 0, 4*r.upTo), make([]int, 0, r.upTo)
		}
		r.events = append(r.events, s.ev...)
		r.ends = append(r.ends, len(r.events))
	}
}

func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	var cmd engine.Command
	if s.cur != nil {
		cmd = *s.cur
	}
	s.t.Fatalf("seed %d, command #%d: %s\ncommand: %+v\nevents:\n%s\n(ENGINE_SIM_SEED=%d ENGINE_SIM_TRACE=%d-%d shows the commands before it)",
		s.seed, s.n, fmt.Sprintf(format, args...), cmd, simEvents(s.ev), s.seed, max(1, s.n-20), s.n)
}

func simEvents(ev []engine.Event) string {
	var b strings.Builder
	for _, x := range ev {
		fmt.Fprintf(&b, "  %v\n", x)
	}
	return b.String()
}

func (s *sim) slot(a engine.AccountID, m engine.MarketID) int { return int(a)*s.nm + int(m) }

// fingerprint hashes the whole observable state: every wallet and position,
// the money totals, marks, open interest and every resting order.
func (s *sim) fingerprint() [32]byte {
	var b []byte
	put := func(vs ...int64) {
		for _, v := range vs {
			b = binary.AppendVarint(b, v)
		}
	}
	put(int64(s.l.NumAccounts()), s.lastTs, int64(s.lastID))
	for a := range s.l.NumAccounts() {
		w, _ := s.l.Wallet(engine.AccountID(a))
		put(w)
		for m := range s.nm {
			p, _ := s.l.Position(engine.AccountID(a), engine.MarketID(m))
			put(int64(p.Mode), p.SizeLots, p.EntryValueQuote, p.IsolatedMarginQuote)
		}
	}
	f, err := s.l.Conservation()
	if err != nil {
		s.fail("%v", err)
	}
	put(f.WalletsQuote, f.IsolatedMarginsQuote, f.FeeAccountQuote, f.InsuranceFundQuote, f.EntryValuesQuote,
		f.DepositsQuote, f.WithdrawalsQuote)
	for m := range s.nm {
		id := engine.MarketID(m)
		idx, mark := s.e.Mark(id)
		long, short := s.l.OpenInterest(id)
		book := s.e.Book(id)
		put(idx, mark, long, short, int64(book.UpdateID()))
		for _, side := range []orderbook.Side{orderbook.Buy, orderbook.Sell} {
			s.orderBuf = book.Orders(side, s.orderBuf[:0])
			put(int64(len(s.orderBuf)))
			for _, o := range s.orderBuf {
				put(int64(o.ID), int64(o.Account), int64(o.TIF), int64(o.STP), o.PriceTicks, o.QtyLots, o.FilledLots, o.RemainingLots)
			}
		}
	}
	return sha256.Sum256(b)
}

func (s *sim) logSummary() {
	st := &s.stats
	var b strings.Builder
	fmt.Fprintf(&b, "commands:")
	for k, c := range st.commands {
		if c > 0 {
			fmt.Fprintf(&b, " %v=%d", engine.CommandKind(k), c)
		}
	}
	fmt.Fprintf(&b, "\naccounts %d; orders accepted %d, rested %d; fills %d (self-trades %d)", s.nAccounts, st.accepted, st.rested, st.fills, st.selfTrades)
	for m := range s.nm {
		fmt.Fprintf(&b, "; %s %s traded (%d USDT)", s.markets[m].Symbol, s.markets[m].Grid.Qty(st.fillLots[m]),
			st.fillQuote[m]/1_000_000)
	}
	fmt.Fprintf(&b, "\nconditional orders placed %d, triggered %d; amends %d; cancels and amends by client order id %d; reduce-only orders rested %d, cut %d; snapshot round trips %d",
		st.stopsPlaced, st.triggered, st.amends, st.byClientID, st.roRested, st.roCuts, st.restores)
	fmt.Fprintf(&b, "\nrejections (%d built to be invalid, all refused for the right reason; %d built to be valid, all accepted):",
		st.invalidRefused, st.validAccepted)
	for r, c := range st.rejections {
		if c > 0 {
			fmt.Fprintf(&b, " %v=%d", engine.Reason(r), c)
		}
	}
	fmt.Fprintf(&b, "\norder ends:")
	for r, c := range st.cancelled {
		if c > 0 {
			fmt.Fprintf(&b, " %v=%d", engine.Reason(r), c)
		}
	}
	fmt.Fprintf(&b, "\nfunding: %d settlements (market × funding time) over %v of simulated time, %d payments",
		st.fundingTimes, time.Duration(s.lastTs-simStart).Round(time.Minute), st.fundingPays)
	fmt.Fprintf(&b, "\npositions: at most %d open at once (per market %v); at most %d resting orders; %d successful mode switches",
		st.maxOpen, st.maxOpenMarket[:s.nm], st.maxResting, st.modeSwitches)
	fmt.Fprintf(&b, "\nprices: %d index jumps of 2-12%%; insurance fund fell (isolated shortfalls) after %d commands, now %d USDT; fee account %d USDT; lowest wallet %d USDT",
		st.indexJumps, st.fundDrops, s.l.InsuranceFundQuote()/1_000_000, s.l.FeeAccountQuote()/1_000_000, st.minWallet/1_000_000)
	fmt.Fprintf(&b, "\nfills: %d sides' wallet and isolated-margin changes checked against realized PnL and fees", st.tradesChecked)
	fmt.Fprintf(&b, "\nliquidation prices: %d checked against a recomputation (%d none), %d with the defining property checked; %d withdrawals, %d leverage changes and %d isolated-margin removals checked",
		st.liqChecked, st.liqNone, st.liqProperty, st.withdrawals, st.leverageChanges, st.removals)
	if st.aboveBracket > 0 {
		fmt.Fprintf(&b, "\nnote: %d position events had leverage above the bracket of their entry notional (the engine checks the notional at the mark when the order comes), e.g. %s", st.aboveBracket, st.aboveBracketEx)
	}
	for role, name := range []string{"taker", "maker"} {
		if st.underfunded[role] > 0 {
			fmt.Fprintf(&b, "\nnote: %d isolated %s fills left the position below its initial margin (the wallet could not fund it), e.g. %s",
				st.underfunded[role], name, st.underfundedEx[role])
		}
	}
	s.t.Log(b.String())
}
