package engine

import (
	"errors"
	"fmt"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/margin"
	"github.com/paperperps/exchange/orderbook"
)

// ErrInvalidConfig is wrapped by every problem Config.Validate reports.
var ErrInvalidConfig = errors.New("engine: invalid config")

// Config holds the engine's limits and markets.
type Config struct {
	Markets []Market
	// MaxAccounts bounds account ids. Default 1,000,000.
	MaxAccounts int
	// DefaultLeverage is an account's leverage in a market until it sets
	// one. Default 20, as on large venues.
	DefaultLeverage int64
	// Book is the template of every market's book config; the engine sets
	// MaxOrderLots from the market and the band from PriceBandPpm.
	Book orderbook.Config
	// MaxStopOrders bounds an account's conditional orders waiting in one
	// market. Default 10, as on large venues.
	MaxStopOrders int
	// LiquidationsPerCommand bounds the accounts one command liquidates;
	// the rest wait, in order, for the next command. Default 10,000.
	LiquidationsPerCommand int
	// FundDeleveragesPerCommand bounds the counterparties the insurance
	// fund's own auto-deleveraging reaches in one command (see
	// deleverageFund); the rest waits for the next command. A fund left
	// bankrupt by a cascade can hold the other side of a large part of the
	// market, and closing it in one command would make that command's
	// events (six per counterparty) and its latency without bound.
	// Default 100,000.
	FundDeleveragesPerCommand int
	// CrossBandPpm is how far (ppm of the mark) the index assumes the other
	// markets' marks may move against an account with cross positions in
	// several markets before it re-checks it (see watch). Default 20,000
	// (2%).
	CrossBandPpm int64
	// MarginCallPpm is the margin ratio (maintenance margin over margin
	// balance, ppm) at which a pool gets a margin call. It must lie above
	// every market's highest maintenance rate and below 100%. Default
	// 800,000 (80%).
	MarginCallPpm int64
	// MarginCallRearmPpm is the margin ratio a called pool must fall below
	// before it can be called again: the hysteresis that keeps a mark
	// bouncing between the bid and the ask from sending a call on every
	// trade (and re-indexing the pool each time). It must lie above every
	// market's highest maintenance rate and below MarginCallPpm. Default
	// 600,000 (60%).
	MarginCallRearmPpm int64
	// DisableLiquidation turns the liquidation engine off: no account is
	// checked, indexed or liquidated, and losses beyond a pool's margin fall
	// to the ledger's backstop (a cross wallet goes negative, an isolated
	// shortfall is taken from the insurance fund). It exists for tests of
	// the trading mechanics alone and for research runs comparing an
	// exchange without liquidations; a live exchange never sets it.
	DisableLiquidation bool
	// MarkFromIndex makes every mark the index alone, ignoring the book
	// and the last trade: for research runs that compare a cascade whose
	// mark the book's prices feed back into with one where they do not.
	// A live exchange never sets it.
	MarkFromIndex bool
	// BookLevelEvents adds an EventBookLevel for each price level a book
	// operation changes: what a server needs to publish depth diffs. Off
	// by default (the benchmarks and the journal do not need them).
	BookLevelEvents bool
}

// DefaultConfig returns the defaults with the built-in markets.
func DefaultConfig() Config {
	ms, err := Compile(DefaultMarkets())
	if err != nil {
		panic(err) // the built-in markets are tested to compile
	}
	return Config{Markets: ms, MaxAccounts: 1_000_000, DefaultLeverage: 20, Book: orderbook.DefaultConfig(), MaxStopOrders: 10,
		LiquidationsPerCommand: 10_000, FundDeleveragesPerCommand: 100_000, CrossBandPpm: 20_000, MarginCallPpm: 800_000,
		MarginCallRearmPpm: 600_000}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if len(c.Markets) == 0 || len(c.Markets) > MaxMarkets {
		bad("%d markets, want 1 to %d", len(c.Markets), MaxMarkets)
	}
	for i, m := range c.Markets {
		if m.ID != MarketID(i) {
			bad("market %s has id %d at index %d", m.Symbol, m.ID, i)
		}
	}
	if c.MaxAccounts < 1 || c.MaxAccounts > clearing.MaxAccountsLimit {
		bad("MaxAccounts %d not in [1, %d]", c.MaxAccounts, clearing.MaxAccountsLimit)
	}
	if c.DefaultLeverage < 1 || c.DefaultLeverage > 125 {
		bad("DefaultLeverage %d not in [1, 125]", c.DefaultLeverage)
	}
	if c.MaxStopOrders < 0 || c.MaxStopOrders > 1000 {
		bad("MaxStopOrders %d not in [0, 1000]", c.MaxStopOrders)
	}
	if c.LiquidationsPerCommand < 1 || c.LiquidationsPerCommand > 1_000_000 {
		bad("LiquidationsPerCommand %d not in [1, 1000000]", c.LiquidationsPerCommand)
	}
	if c.FundDeleveragesPerCommand < 1 || c.FundDeleveragesPerCommand > 10_000_000 {
		bad("FundDeleveragesPerCommand %d not in [1, 10000000]", c.FundDeleveragesPerCommand)
	}
	if c.CrossBandPpm < 0 || c.CrossBandPpm > 500_000 {
		bad("CrossBandPpm %d not in [0, 500000]", c.CrossBandPpm)
	}
	// The margin-call levels: below 100%, the re-arming one below the call
	// one, and each giving every market valid rates.
	for _, l := range []struct {
		name       string
		ppm, below int64
	}{{"MarginCallPpm", c.MarginCallPpm, 1_000_000}, {"MarginCallRearmPpm", c.MarginCallRearmPpm, c.MarginCallPpm}} {
		if l.ppm < 1 || l.ppm >= l.below {
			bad("%s %d not in [1, %d)", l.name, l.ppm, l.below)
			continue
		}
		for _, m := range c.Markets {
			if _, err := callBrackets(m.Brackets, l.ppm); err != nil {
				bad("market %s: %s %d: %v", m.Symbol, l.name, l.ppm, err)
			}
		}
	}
	if err := c.Book.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: book: %w", ErrInvalidConfig, err))
	}
	return errors.Join(errs...)
}

// Engine is the exchange's state machine. Apply is its only mutator; it
// reads no clock, starts no goroutine, does no I/O and draws no randomness,
// so the same commands always give the same events and the same state.
type Engine struct {
	cfg     Config
	markets []marketState
	ledger  *clearing.Ledger

	// The engine's own state of each account (accts) and of each (account,
	// market), indexed by account×len(markets)+market (slots); see
	// acctState and slotState.
	accts []acctState
	slots []slotState
	// ro, per (account, market), is the reduce-only share of its resting
	// lots (fitReduceOnly); ordinary orders never read it.
	ro []roLots
	// roResting counts the resting reduce-only lots of every account: while
	// it is 0, no order needs fitReduceOnly's look.
	roResting int64

	nextOrderID orderbook.OrderID
	lastTs      int64
	// fundingDueNanos is the earliest funding time of any market, 0 until
	// the first command sets them (see settleDueFunding); derived state.
	fundingDueNanos int64

	bookEv []orderbook.Event // scratch
	taker  takerTally        // the incoming order's fills in this command
	// incomingID is the order that trades as taker in this command (a new
	// order, or one amended across the book), 0 if none: its own end is
	// not a resting order leaving the book.
	incomingID orderbook.OrderID
	// triggeredID is the conditional order entering the book in this
	// command, whose acceptance EventOrderTriggered already reported.
	triggeredID orderbook.OrderID
	posBuf      []clearing.Position
	fundBuf     []clearing.FundingPayment
	listBuf     []orderbook.RestingOrder
	depthBuf    []orderbook.Level
	// preloadSink keeps preload's loads; nothing reads it.
	preloadSink int64

	// The client order ids of open orders (resting or waiting for a
	// trigger), both ways.
	cids cidIndex
	// stops holds every waiting conditional order by owner; each market's
	// trigger index holds the same orders by trigger price.
	stops *stopTree

	// Liquidation (liquidation.go, liqindex.go): the accounts waiting to
	// be checked (touched) or liquidated (pending, a FIFO from pendHead).
	touched  []AccountID
	pending  []AccountID
	pendHead int
	budget   int // liquidations this command may still run
	// fundBudget: counterparties the fund's deleveraging may still reach
	// in this command.
	fundBudget int
	// marksMoved: some market's mark moved since collectDue last took
	// what was due out of the index. An entry is never due when it is
	// pushed (watch refuses due triggers), so until a mark moves there is
	// nothing to look at.
	marksMoved bool
	// The liquidation order's fills (closeInBook), and the fee cap of the
	// pool being closed (closePool).
	liqFilledLots, liqFilledValue int64
	liqFeeCap                     int64
	liqPlan                       []liqStep
	accBuf                        []clearing.Position
	trigBuf                       []trigger
	advBuf                        []adverseFigures
	badBuf                        []bool
	// adlRanks holds each market side's auto-deleveraging order for the
	// command being applied (2×market + 1 for longs); applies counts Apply
	// calls, so a ranking is never used by a later command.
	adlRanks []adlRank
	applies  uint64
	// The margin-call crossings the check in progress found.
	calls   []callNote
	flagBuf []bool
	// snapLiq and snapCalled are AppendSnapshot's lists of the liquidation
	// index and the margin-called pools, kept so that a snapshot of a
	// large book does not regrow them (about a third of its time).
	snapLiq    []liqSnapEntry
	snapCalled []callNote
	// The insurance fund's account (fund.go), once a takeover created it.
	fundAcct AccountID
	hasFund  bool
}

// acctState is the engine's state of one account. The fields of one
// account, and those of one (account, market) in slotState, sit together
// because one command reads or writes most of them for each account it
// touches: with many accounts each table of its own was a cache miss of its
// own (BenchmarkEngineF1's commands touched about ten per account).
type acctState struct {
	// watchVer is the version of the account's valid liquidation index
	// entries (liqindex.go).
	watchVer uint32
	// stamp counts the account's changes (touch), so that slotState.lp
	// knows when it is stale.
	stamp uint32
	// touched: it waits to be checked at the end of the command; pending:
	// it waits to be liquidated.
	touched, pending bool
	// crossCalled: its cross pool is at the margin-call level.
	crossCalled bool
}

// slotState is the engine's state of one account in one market: what the
// margin check of an order reads (open orders, leverage) and what the
// liquidation index keeps (lp, the valid entries per direction, the
// isolated pool's margin-call flag). It fits one 64-byte cache line.
type slotState struct {
	open     openOrders
	leverage int64
	lp       lpMemo
	watchCnt [2]uint16 // the account's valid entries in this market's heaps, by direction
	// isoCalled: the isolated position here is at the margin-call level.
	isoCalled bool
}

type cidKey struct {
	account AccountID
	cid     ClientOrderID
}

// openOrders sums an account's resting orders in one market, per side, for
// the initial-margin check: lots and value (price × lots × quote per
// tick-lot at each order's limit price).
type openOrders struct {
	buyLots, buyValueQuote   int64
	sellLots, sellValueQuote int64
}

// roLots is the reduce-only share of an account's resting lots in one
// market (fitReduceOnly). It lives apart from slotState: ordinary orders
// never touch it, and slotState stays one cache line.
type roLots struct {
	buy, sell int64
}

func (o *openOrders) lotsOn(side orderbook.Side) int64 {
	if side == orderbook.Buy {
		return o.buyLots
	}
	return o.sellLots
}

type marketState struct {
	Market
	book *orderbook.Book

	indexTicks, markTicks, lastTradeTicks int64
	basis                                 margin.BasisAverage
	premium                               margin.PremiumAverage
	fundingRatePpm                        int64
	nextFundingNanos                      int64 // 0 until the first command
	triggers                              triggerIndex
	liq                                   [2]liqHeap // the liquidation index: dirFalls, dirRises
	// callBrackets are the market's brackets with every maintenance rate
	// divided by the margin-call level: a pool is at the level when its
	// margin balance is at or below the maintenance margin under them;
	// rearmBrackets the same at the re-arming level (a called pool stays
	// called while it is at that level).
	callBrackets, rearmBrackets margin.Brackets
}

// New returns an engine with no accounts.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ledger, err := clearing.New(clearing.Config{MaxAccounts: cfg.MaxAccounts, MaxMarkets: len(cfg.Markets)})
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, ledger: ledger, bookEv: make([]orderbook.Event, 0, 256),
		cids: newCIDIndex(), stops: newStopTree()}
	for _, m := range cfg.Markets {
		bc := cfg.Book
		bc.MaxOrderLots = m.MaxQtyLots
		bc.PriceBandTicks, bc.PriceBandPpm = 0, m.PriceBandPpm
		book, err := orderbook.New(bc)
		if err != nil {
			return nil, fmt.Errorf("%w: market %s: %w", ErrInvalidConfig, m.Symbol, err)
		}
		spec := clearing.MarketSpec{QuotePerTickLot: m.Grid.QuotePerTickLot(), MakerFeeRatePpm: m.MakerFeePpm, TakerFeeRatePpm: m.TakerFeePpm}
		if err := ledger.AddMarket(m.ID, spec); err != nil {
			return nil, err
		}
		cb, err := callBrackets(m.Brackets, cfg.MarginCallPpm)
		if err != nil {
			return nil, fmt.Errorf("%w: market %s: %w", ErrInvalidConfig, m.Symbol, err)
		}
		rb, err := callBrackets(m.Brackets, cfg.MarginCallRearmPpm)
		if err != nil {
			return nil, fmt.Errorf("%w: market %s: %w", ErrInvalidConfig, m.Symbol, err)
		}
		e.markets = append(e.markets, marketState{Market: m, book: book, triggers: newTriggerIndex(),
			liq: [2]liqHeap{{rises: false}, {rises: true}}, callBrackets: cb, rearmBrackets: rb})
	}
	n := len(cfg.Markets)
	e.accBuf, e.badBuf = make([]clearing.Position, n), make([]bool, n)
	e.advBuf = make([]adverseFigures, n)
	e.adlRanks = make([]adlRank, 2*n)
	return e, nil
}

// Config returns the engine's config.
func (e *Engine) Config() Config { return e.cfg }

// Ledger exposes the clearing ledger for queries; callers must not mutate it.
func (e *Engine) Ledger() *clearing.Ledger { return e.ledger }

// Book exposes a market's book for queries; callers must not mutate it.
func (e *Engine) Book(m MarketID) *orderbook.Book { return e.markets[m].book }

// Mark returns a market's index and mark price (0 before the first index).
func (e *Engine) Mark(m MarketID) (indexTicks, markTicks int64) {
	return e.markets[m].indexTicks, e.markets[m].markTicks
}

// LastTime returns the time of the last command applied (0 before the
// first): the sequencer never stamps an earlier one.
func (e *Engine) LastTime() int64 { return e.lastTs }

// LastTradePrice returns a market's last trade price (0 before the first).
func (e *Engine) LastTradePrice(m MarketID) int64 { return e.markets[m].lastTradeTicks }

// OrderByClientID returns the open order (resting or conditional) of
// account a with client order id cid.
func (e *Engine) OrderByClientID(a AccountID, cid ClientOrderID) (orderbook.OrderID, bool) {
	return e.cids.get(cidKey{a, cid})
}

func (e *Engine) slot(a AccountID, m MarketID) int { return int(a)*len(e.markets) + int(m) }

// Apply runs one command and appends its events to ev.
func (e *Engine) Apply(cmd *Command, ev []Event) []Event {
	reject := func(r Reason) []Event {
		return append(ev, Event{Kind: EventRejected, Reason: r, Command: cmd.Kind, Seq: cmd.Seq, Account: cmd.Account, Market: cmd.Market,
			OrderID: cmd.OrderID, ClientOrderID: cmd.ClientOrderID})
	}
	if cmd.TsNanos < e.lastTs {
		return reject(ReasonTimeWentBack)
	}
	if cmd.TsNanos > maxTsNanos {
		return reject(ReasonInvalidTime)
	}
	e.lastTs = cmd.TsNanos
	e.budget, e.fundBudget = e.cfg.LiquidationsPerCommand, e.cfg.FundDeleveragesPerCommand
	e.applies++
	// Whatever fell due by this command's time happens before it: funding,
	// then the liquidations it causes and those an earlier command left
	// (and the fund's deleveraging, past an earlier command's budget).
	ev = e.settleDueFunding(cmd, ev)
	if len(e.touched) > 0 || e.pendHead < len(e.pending) || e.fundBankrupt() {
		ev = e.settleRisk(cmd, ev)
	}
	if cmd.Kind != CmdCreateAccount && cmd.Kind != CmdSetIndexPrice && cmd.Kind != CmdClockTick && cmd.Kind != CmdInsuranceDeposit {
		if int(cmd.Account) >= e.ledger.NumAccounts() {
			return reject(ReasonUnknownAccount)
		}
	}
	if int(cmd.Market) >= len(e.markets) {
		return reject(ReasonUnknownMarket)
	}
	var r Reason
	switch cmd.Kind {
	case CmdCreateAccount:
		ev, r = e.createAccount(cmd, ev)
	case CmdDeposit:
		ev, r = e.deposit(cmd, ev)
	case CmdWithdraw:
		ev, r = e.withdraw(cmd, ev)
	case CmdSetLeverage:
		ev, r = e.setLeverage(cmd, ev)
	case CmdSetMarginMode:
		ev, r = e.setMarginMode(cmd, ev)
	case CmdAdjustIsolatedMargin:
		ev, r = e.adjustIsolatedMargin(cmd, ev)
	case CmdPlaceOrder:
		ev, r = e.place(cmd, ev)
	case CmdCancelOrder:
		ev, r = e.cancel(cmd, ev)
	case CmdAmendOrder:
		ev, r = e.amend(cmd, ev)
	case CmdCancelAll:
		ev, r = e.cancelAll(cmd, ev)
	case CmdSetIndexPrice:
		ev, r = e.setIndex(cmd, ev)
	case CmdClockTick:
	case CmdInsuranceDeposit:
		if r := e.ledger.InsuranceDeposit(cmd.AmountQuote); r != clearing.ReasonNone {
			return reject(ledgerReason(r))
		}
		var x *Event
		ev, x = push(ev)
		x.Kind, x.Seq, x.Cause, x.AmountQuote, x.BalanceQuote = EventInsuranceFund, cmd.Seq, CauseDeposit, cmd.AmountQuote, e.ledger.InsuranceFundQuote()
	default:
		r = ReasonUnknownCommand
	}
	if r != ReasonNone {
		return reject(r)
	}
	switch cmd.Kind {
	case CmdPlaceOrder, CmdAmendOrder, CmdSetIndexPrice:
		// The mark or the last price may have moved.
		ev = e.runTriggers(cmd, ev)
	}
	if e.riskSettled() {
		return ev
	}
	return e.settleRisk(cmd, ev)
}

// addAccountTables extends the per-account tables for the account the
// ledger has just added.
func (e *Engine) addAccountTables() {
	for range e.markets {
		e.slots = append(e.slots, slotState{leverage: e.cfg.DefaultLeverage})
		e.ro = append(e.ro, roLots{})
	}
	e.accts = append(e.accts, acctState{stamp: 1})
}

func (e *Engine) createAccount(cmd *Command, ev []Event) ([]Event, Reason) {
	id := AccountID(e.ledger.NumAccounts())
	if r := e.ledger.AddAccount(id); r != clearing.ReasonNone {
		return ev, ledgerReason(r)
	}
	e.addAccountTables()
	return append(ev, Event{Kind: EventAccountCreated, Seq: cmd.Seq, Account: id}), ReasonNone
}

// balanceEvent reports a change of account a's wallet; every such change
// also marks the account for a margin check.
func (e *Engine) balanceEvent(cmd *Command, ev []Event, a AccountID, cause BalanceCause, amount int64) []Event {
	e.touch(a)
	w, _ := e.ledger.Wallet(a)
	ev, x := push(ev)
	x.Kind, x.Seq, x.Account, x.Cause, x.AmountQuote, x.BalanceQuote = EventBalance, cmd.Seq, a, cause, amount, w
	return ev
}

func (e *Engine) deposit(cmd *Command, ev []Event) ([]Event, Reason) {
	if r := e.ledger.Deposit(cmd.Account, cmd.AmountQuote); r != clearing.ReasonNone {
		return ev, ledgerReason(r)
	}
	return e.balanceEvent(cmd, ev, cmd.Account, CauseDeposit, cmd.AmountQuote), ReasonNone
}

func (e *Engine) withdraw(cmd *Command, ev []Event) ([]Event, Reason) {
	free, err := e.freeCollateral(cmd.Account)
	if err != nil {
		return ev, ReasonInsufficientMargin
	}
	if r := e.ledger.Withdraw(cmd.Account, cmd.AmountQuote, free); r != clearing.ReasonNone {
		return ev, ledgerReason(r)
	}
	return e.balanceEvent(cmd, ev, cmd.Account, CauseWithdrawal, -cmd.AmountQuote), ReasonNone
}

func (e *Engine) settingsEvent(cmd *Command, ev []Event) []Event {
	p, _ := e.ledger.Position(cmd.Account, cmd.Market)
	return append(ev, Event{Kind: EventSettings, Seq: cmd.Seq, Account: cmd.Account, Market: cmd.Market,
		Leverage: e.slots[e.slot(cmd.Account, cmd.Market)].leverage, Mode: p.Mode})
}

// setLeverage refuses a leverage the bracket of the position's notional does
// not allow, and a lower leverage whose larger initial margin the account
// could not cover.
func (e *Engine) setLeverage(cmd *Command, ev []Event) ([]Event, Reason) {
	ms := &e.markets[cmd.Market]
	if cmd.Leverage < 1 || cmd.Leverage > ms.Brackets.TierAt(0).MaxLeverage {
		return ev, ReasonInvalidLeverage
	}
	k := e.slot(cmd.Account, cmd.Market)
	p, _ := e.ledger.Position(cmd.Account, cmd.Market)
	exposure, err := e.exposureQuote(p, e.slots[k].open)
	if err != nil {
		return ev, ReasonInsufficientMargin
	}
	if cmd.Leverage > ms.Brackets.MaxLeverage(exposure) {
		return ev, ReasonLeverageAboveBracket
	}
	old := e.slots[k].leverage
	e.slots[k].leverage = cmd.Leverage
	if cmd.Leverage < old {
		if free, err := e.freeCollateral(cmd.Account); err != nil || free < 0 {
			e.slots[k].leverage = old
			return ev, ReasonInsufficientMargin
		}
		if p.Mode == clearing.Isolated && p.SizeLots != 0 {
			need, err := margin.InitialMargin(absInt(p.EntryValueQuote), cmd.Leverage)
			if err != nil || need > p.IsolatedMarginQuote {
				e.slots[k].leverage = old
				return ev, ReasonInsufficientMargin
			}
		}
	}
	return e.settingsEvent(cmd, ev), ReasonNone
}

// setMarginMode is refused while the account has a position or resting
// orders in the market, as on venues: moving a live position between pools
// would change what backs it mid-flight.
func (e *Engine) setMarginMode(cmd *Command, ev []Event) ([]Event, Reason) {
	if cmd.Mode != clearing.Cross && cmd.Mode != clearing.Isolated {
		return ev, ReasonInvalidMarginMode
	}
	p, _ := e.ledger.Position(cmd.Account, cmd.Market)
	if p.SizeLots != 0 || e.slots[e.slot(cmd.Account, cmd.Market)].open != (openOrders{}) || e.stopCount(cmd.Account, cmd.Market) > 0 {
		return ev, ReasonPositionOrOrdersOpen
	}
	released, r := e.ledger.SetMarginMode(cmd.Account, cmd.Market, cmd.Mode)
	if r != clearing.ReasonNone {
		return ev, ledgerReason(r)
	}
	if released != 0 {
		ev = e.balanceEvent(cmd, ev, cmd.Account, CauseIsolatedMargin, released)
	}
	return e.settingsEvent(cmd, ev), ReasonNone
}

// adjustIsolatedMargin adds from the wallet's free collateral, or removes
// what lies above the position's initial margin.
func (e *Engine) adjustIsolatedMargin(cmd *Command, ev []Event) ([]Event, Reason) {
	a, m := cmd.Account, cmd.Market
	if cmd.AmountQuote == 0 {
		return ev, ReasonInvalidAmount
	}
	if cmd.AmountQuote > 0 {
		free, err := e.freeCollateral(a)
		if err != nil {
			return ev, ReasonInsufficientMargin
		}
		if r := e.ledger.AddIsolatedMargin(a, m, cmd.AmountQuote, free); r != clearing.ReasonNone {
			return ev, ledgerReason(r)
		}
	} else {
		p, _ := e.ledger.Position(a, m)
		need, err := margin.InitialMargin(absInt(p.EntryValueQuote), e.slots[e.slot(a, m)].leverage)
		if err != nil {
			return ev, ReasonInsufficientMargin
		}
		upnl, _ := e.unrealized(p)
		maxOut := p.IsolatedMarginQuote + min(upnl, 0) - need
		if r := e.ledger.RemoveIsolatedMargin(a, m, -cmd.AmountQuote, max(maxOut, 0)); r != clearing.ReasonNone {
			return ev, ledgerReason(r)
		}
	}
	ev = e.balanceEvent(cmd, ev, a, CauseIsolatedMargin, -cmd.AmountQuote)
	return e.positionEvent(cmd, ev, a, m, 0), ReasonNone
}

func absInt(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// callBrackets returns b with every maintenance rate divided by the
// margin-call level levelPpm, rounded up to the ppm (a call comes no later
// than the level), and leverage 1 (unused: only maintenance is read).
func callBrackets(b margin.Brackets, levelPpm int64) (margin.Brackets, error) {
	specs := make([]margin.TierSpec, b.Len())
	for i := range specs {
		t := b.TierAt(i)
		rate := (t.MaintRatePpm*1_000_000 + levelPpm - 1) / levelPpm // rates ≤ 10^6, levels ≥ 1: fits
		specs[i] = margin.TierSpec{FloorQuote: t.FloorQuote, CapQuote: t.CapQuote, MaxLeverage: 1, MaintRatePpm: rate}
	}
	cb, err := margin.NewBrackets(specs)
	if err != nil {
		return cb, fmt.Errorf("margin-call rates: %w", err)
	}
	if !cb.Exact() {
		return cb, errors.New("margin-call rates: a maintenance amount is not a whole quote unit")
	}
	return cb, nil
}
