package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
	"github.com/paperperps/exchange/orderbook"
	"github.com/shopspring/decimal"
)

// TestLiquidationSimulation drives the engine with liquidations on: a
// seeded stream (LIQ_SIM_COMMANDS, default 1,000,000, 100,000 under
// -short; LIQ_SIM_SEED) from LIQ_SIM_ACCOUNTS (default 600) traders at
// random leverage up to the bracket maximum in both margin modes, a few
// market makers quoting around the marks, an index that drifts and now and
// then jumps by up to 50%, deposits, withdrawals, isolated margin moves,
// cancels and funding.
//
// After every command it checks, with a naive scan of every account that
// shares no code with the engine's index: money is conserved to the unit
// and long open interest equals short (CheckConservation); the insurance
// fund is not negative; nothing waits to be checked or liquidated (the
// budget is never reached here); no account is liquidatable, so the index
// missed nobody; no account without an open cross position has a negative
// wallet; and (every fifth command) every pool the naive scan finds at the
// margin-call level has had
// its margin call, and a pool the engine holds as called is at the
// re-arming level (or is a cross pool in several markets, whose re-arming
// waits for the next check of the account). Every 100,000 commands the state survives a
// snapshot round trip.
// TestLiquidationBudget covers commands that leave work for the next.
func TestLiquidationSimulation(t *testing.T) {
	n := liqSimEnv(t, "LIQ_SIM_COMMANDS", 1_000_000)
	if testing.Short() && os.Getenv("LIQ_SIM_COMMANDS") == "" {
		n = 100_000
	}
	s := newLiqSim(t, DefaultConfig(), liqSimEnv(t, "LIQ_SIM_SEED", 1), liqSimEnv(t, "LIQ_SIM_ACCOUNTS", 600))
	for i := 0; i < n; i++ {
		s.step()
		s.check(true)
		if (i+1)%100_000 == 0 {
			s.roundTrip()
		}
	}
	t.Logf("%d commands: %d margin calls, %d liquidations (%d with ADL), %d ADL fills, %d shocks; insurance fund %s USDT, bad debt %s USDT",
		n, s.calls, s.liquidations, s.withADL, s.adls, s.shocks, fixed.QuoteAmount(s.e.ledger.InsuranceFundQuote()), fixed.QuoteAmount(s.e.ledger.BadDebtQuote()))
	if s.liquidations < 100 || s.withADL == 0 || s.calls < 100 {
		t.Errorf("the run exercised too little: %d liquidations, %d with ADL, %d margin calls", s.liquidations, s.withADL, s.calls)
	}
}

// TestLiquidationSimulationRebate runs the simulation on markets whose
// maker rate is a rebate as large as the taker fee (the most a market may
// give), so that the fee account holds only what liquidation fills leave
// it: they pay their makers no rebate, since their taker pays no fee
// (before that rule the fee account went below 0, and a snapshot of it
// would not restore).
func TestLiquidationSimulationRebate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Markets = marketsWithMakerFee(t, func(m MarketSpec) decimal.Decimal { return m.TakerFeeRate.Neg() })
	s := newLiqSim(t, cfg, 5, 300)
	for range 40_000 {
		s.step()
		s.check(true)
	}
	s.roundTrip()
	if err := s.e.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if s.liquidations < 10 {
		t.Errorf("the run liquidated only %d accounts", s.liquidations)
	}
	t.Logf("%d liquidations; fee account %s USDT", s.liquidations, fixed.QuoteAmount(s.e.ledger.FeeAccountQuote()))
}

// TestLiquidationBudget runs the simulation with at most two liquidations,
// and two counterparties of the fund's deleveraging, per command: leftover
// work waits in order, after every command the accounts the naive scan finds
// liquidatable are exactly those the engine knows of (queued, or indexed
// with a trigger the marks have reached), and the fund's equity is below 0
// only while its deleveraging waits for the next command.
func TestLiquidationBudget(t *testing.T) {
	cfg := DefaultConfig()
	cfg.LiquidationsPerCommand, cfg.FundDeleveragesPerCommand = 2, 2
	s := newLiqSim(t, cfg, 7, 300)
	waited, fundWaited := 0, 0
	for range 100_000 {
		s.step()
		s.check(false)
		if s.e.pendHead < len(s.e.pending) {
			waited++
		}
		// The fund's equity stays below 0 only while its deleveraging
		// waits: for its own budget, which this command spent, or behind
		// the liquidations still queued.
		if s.e.hasFund && s.e.fundEquity() < 0 {
			if (s.e.fundBudget > 0 && s.e.pendHead == len(s.e.pending)) || s.e.LiquidationsWaiting() == 0 {
				t.Fatalf("command %d: the fund's equity is %d with %d of its budget left and %d waiting",
					s.seq, s.e.fundEquity(), s.e.fundBudget, s.e.LiquidationsWaiting())
			}
			if s.e.fundBudget <= 0 {
				fundWaited++
			}
		}
	}
	t.Logf("%d commands left liquidations for the next, %d the fund's deleveraging", waited, fundWaited)
	if waited == 0 || fundWaited == 0 {
		t.Error("no command left liquidations, or the fund's deleveraging, for the next")
	}
}

func liqSimEnv(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

type liqSim struct {
	t       *testing.T
	cfg     Config
	e       *Engine
	rng     *rand.Rand
	seq     uint64
	ts      int64
	traders int
	makers  []AccountID
	queue   []Command
	ev      []Event

	liquidations, withADL, adls, shocks, calls int
	cid                                        int
	lastCmd                                    Command // as applied, with Seq and time
}

func newLiqSim(t *testing.T, cfg Config, seed, traders int) *liqSim {
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &liqSim{t: t, cfg: cfg, e: e, rng: rand.New(rand.NewPCG(uint64(seed), 99)), traders: traders,
		ts: 1_767_225_600_000_000_000}
	start := map[string]string{"BTCUSDT": "100000", "ETHUSDT": "3000", "SOLUSDT": "150"}
	for m := range e.markets {
		ticks, err := e.markets[m].Grid.Ticks(decimal.RequireFromString(start[e.markets[m].Symbol]), 1<<40)
		if err != nil {
			t.Fatal(err)
		}
		s.apply(Command{Kind: CmdSetIndexPrice, Market: MarketID(m), PriceTicks: ticks})
	}
	for i := range traders + 4 {
		s.apply(Command{Kind: CmdCreateAccount})
		a := AccountID(i)
		if i >= traders {
			s.makers = append(s.makers, a)
			s.apply(Command{Kind: CmdDeposit, Account: a, AmountQuote: 50_000_000 * fixed.QuoteUnitsPerWhole})
			continue
		}
		s.apply(Command{Kind: CmdDeposit, Account: a, AmountQuote: int64(1_000+s.rng.IntN(50_000)) * fixed.QuoteUnitsPerWhole})
		for m := range e.markets {
			if s.rng.IntN(2) == 0 {
				s.apply(Command{Kind: CmdSetMarginMode, Account: a, Market: MarketID(m), Mode: clearing.Isolated})
			}
			s.apply(Command{Kind: CmdSetLeverage, Account: a, Market: MarketID(m), Leverage: s.randLeverage(MarketID(m))})
		}
	}
	for m := range e.markets {
		s.quote(MarketID(m))
	}
	return s
}

func (s *liqSim) randLeverage(m MarketID) int64 {
	maxLev := s.e.markets[m].Brackets.TierAt(0).MaxLeverage
	if s.rng.IntN(3) == 0 {
		return maxLev - int64(s.rng.IntN(int(maxLev/4)+1))
	}
	return 1 + int64(s.rng.IntN(int(maxLev)))
}

func (s *liqSim) apply(c Command) []Event {
	s.seq++
	s.ts += int64(s.rng.IntN(2_000_000_000))
	c.Seq, c.TsNanos = s.seq, s.ts
	s.lastCmd = c
	s.ev = s.e.Apply(&c, s.ev[:0])
	for i := range s.ev {
		switch x := &s.ev[i]; x.Kind {
		case EventLiquidation:
			s.liquidations++
			if x.RemainingLots > 0 {
				s.withADL++
			}
		case EventADL:
			s.adls++
		case EventMarginCall:
			s.calls++
		}
	}
	return s.ev
}

// quote has the market makers replace their quotes in m: levels every
// 0.1% to 2% from the mark on both sides.
func (s *liqSim) quote(m MarketID) {
	ms := &s.e.markets[m]
	mark := ms.markTicks
	for _, mm := range s.makers {
		s.queue = append(s.queue, Command{Kind: CmdCancelAll, Account: mm, Market: m})
		for lvl := 1; lvl <= 4; lvl++ {
			off := mark * int64(lvl*(1+s.rng.IntN(5))) / 1000
			for _, side := range [...]orderbook.Side{orderbook.Buy, orderbook.Sell} {
				price := mark - off
				if side == orderbook.Sell {
					price = mark + off
				}
				if price < 1 {
					continue
				}
				s.queue = append(s.queue, Command{Kind: CmdPlaceOrder, Account: mm, Market: m, Side: side, Type: orderbook.Limit,
					TIF: orderbook.GTC, PriceTicks: price, QtyLots: s.lots(m, price, 20_000+s.rng.Int64N(200_000))})
			}
		}
	}
}

// lots is about usdt of notional at price, at least the minimum.
func (s *liqSim) lots(m MarketID, price, usdt int64) int64 {
	ms := &s.e.markets[m]
	lots := usdt * fixed.QuoteUnitsPerWhole / (price * ms.Grid.QuotePerTickLot())
	return min(max(lots, ms.MinQtyLots), ms.MaxQtyLots)
}

func (s *liqSim) trader() AccountID { return AccountID(s.rng.IntN(s.traders)) }

func (s *liqSim) market() MarketID { return MarketID(s.rng.IntN(len(s.e.markets))) }

func (s *liqSim) step() {
	if len(s.queue) > 0 {
		c := s.queue[0]
		s.queue = s.queue[1:]
		s.apply(c)
		return
	}
	m := s.market()
	ms := &s.e.markets[m]
	mark := ms.markTicks
	side := orderbook.Side(1 + s.rng.IntN(2))
	switch r := s.rng.IntN(1000); {
	case r < 350: // a trader takes or rests an order sized from its wallet and leverage
		a := s.trader()
		w, _ := s.e.ledger.Wallet(a)
		lev := s.e.slots[s.e.slot(a, m)].leverage
		usdt := max(w/fixed.QuoteUnitsPerWhole, 1) * lev * int64(5+s.rng.IntN(60)) / 100
		c := Command{Kind: CmdPlaceOrder, Account: a, Market: m, Side: side, Type: orderbook.Market, TIF: orderbook.IOC,
			QtyLots: s.lots(m, mark, usdt)}
		if s.rng.IntN(3) == 0 {
			off := mark * int64(s.rng.IntN(15)) / 1000
			c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.GTC, mark-off
			if side == orderbook.Sell {
				c.PriceTicks = mark + off
			}
		}
		if s.rng.IntN(10) == 0 {
			if p, _ := s.e.ledger.Position(a, m); p.SizeLots != 0 {
				c.ReduceOnly, c.QtyLots = true, absInt(p.SizeLots)
				c.Side = orderbook.Sell
				if p.SizeLots < 0 {
					c.Side = orderbook.Buy
				}
			}
		}
		s.apply(c)
	case r < 500:
		s.quote(m)
	case r < 650: // the index drifts by up to ±0.5%
		move := mark * int64(s.rng.IntN(11)-5) / 1000
		s.apply(Command{Kind: CmdSetIndexPrice, Market: m, PriceTicks: max(1, ms.indexTicks+move)})
	case r < 654: // a shock of 5% to 50%
		s.shocks++
		pct := int64(5 + s.rng.IntN(46))
		price := ms.indexTicks * (100 - pct) / 100
		if s.rng.IntN(2) == 0 {
			price = ms.indexTicks * (100 + pct) / 100
		}
		s.apply(Command{Kind: CmdSetIndexPrice, Market: m, PriceTicks: min(max(1, price), ms.book.MaxPriceTicks()/2)})
		s.quote(m)
	case r < 720:
		s.apply(Command{Kind: CmdCancelAll, Account: s.trader(), Market: m})
	case r < 760:
		s.apply(Command{Kind: CmdDeposit, Account: s.trader(), AmountQuote: int64(100+s.rng.IntN(5_000)) * fixed.QuoteUnitsPerWhole})
	case r < 800:
		s.apply(Command{Kind: CmdWithdraw, Account: s.trader(), AmountQuote: int64(100+s.rng.IntN(5_000)) * fixed.QuoteUnitsPerWhole})
	case r < 830:
		amount := int64(10+s.rng.IntN(2_000)) * fixed.QuoteUnitsPerWhole
		if s.rng.IntN(2) == 0 {
			amount = -amount
		}
		s.apply(Command{Kind: CmdAdjustIsolatedMargin, Account: s.trader(), Market: m, AmountQuote: amount})
	case r < 840:
		a := s.trader()
		s.apply(Command{Kind: CmdSetLeverage, Account: a, Market: m, Leverage: s.randLeverage(m)})
	case r < 850: // a stop-loss or take-profit on a position, some with a client order id
		a := s.trader()
		p, _ := s.e.ledger.Position(a, m)
		if p.SizeLots == 0 {
			return
		}
		c := Command{Kind: CmdPlaceOrder, Account: a, Market: m, Side: orderbook.Sell, Type: orderbook.Market, TIF: orderbook.IOC,
			ReduceOnly: true, QtyLots: absInt(p.SizeLots), Trigger: TriggerStop, TriggerBy: TriggerByMark}
		off := mark * int64(10+s.rng.IntN(50)) / 1000
		c.TriggerTicks = mark - off
		if p.SizeLots < 0 {
			c.Side, c.TriggerTicks = orderbook.Buy, mark+off
		}
		if s.rng.IntN(2) == 0 { // a resting take-profit instead
			c.Trigger, c.Type, c.TIF = TriggerNone, orderbook.Limit, orderbook.GTC
			c.PriceTicks, c.TriggerTicks, c.TriggerBy = mark+off, 0, 0
			if p.SizeLots < 0 {
				c.PriceTicks = mark - off
			}
		}
		if s.rng.IntN(3) == 0 {
			s.cid++
			copy(c.ClientOrderID[:], "tp-"+strconv.Itoa(s.cid))
		}
		s.apply(c)
	case r < 860:
		mode := clearing.Cross
		if s.rng.IntN(2) == 0 {
			mode = clearing.Isolated
		}
		s.apply(Command{Kind: CmdSetMarginMode, Account: s.trader(), Market: m, Mode: mode})
	case r < 870: // a quiet hour: funding falls due now and then
		s.ts += 3600 * 1_000_000_000
		s.apply(Command{Kind: CmdClockTick})
	default: // a market maker trades, moving the last price
		a := s.makers[s.rng.IntN(len(s.makers))]
		s.apply(Command{Kind: CmdPlaceOrder, Account: a, Market: m, Side: side, Type: orderbook.Market, TIF: orderbook.IOC,
			QtyLots: s.lots(m, mark, 1_000+s.rng.Int64N(20_000))})
	}
}

// naiveLiquidatable is the reference test for one account, from the
// ledger and the brackets only.
func (s *liqSim) naiveLiquidatable(a AccountID) bool {
	return s.naive(a, func(ms *marketState) margin.Brackets { return ms.Brackets }, nil)
}

// naiveCalls reports which pools of account a are at a margin-call level
// (under the rates level gives): cross, and isolated per market.
func (s *liqSim) naiveCalls(a AccountID, level func(*marketState) margin.Brackets) (cross bool, iso []bool) {
	iso = make([]bool, len(s.e.markets))
	cross = s.naive(a, level, iso)
	return cross, iso
}

// naive applies the liquidation test with the maintenance rates br gives:
// it reports the cross pool, and the isolated pools in iso (if not nil; nil
// returns at the first isolated pool that fails).
func (s *liqSim) naive(a AccountID, br func(*marketState) margin.Brackets, iso []bool) bool {
	l := s.e.ledger
	w, _ := l.Wallet(a)
	crossU, crossMM, nCross := int64(0), int64(0), 0
	for m := range s.e.markets {
		p, _ := l.Position(a, MarketID(m))
		if p.SizeLots == 0 {
			continue
		}
		ms := &s.e.markets[m]
		u, err := p.UnrealizedPnLQuote(ms.markTicks)
		if err != nil {
			s.t.Fatal(err)
		}
		n := absInt(p.SizeLots) * ms.markTicks * p.QuotePerTickLot
		mm, err := br(ms).MaintenanceMargin(n)
		if err != nil {
			s.t.Fatal(err)
		}
		if p.Mode == clearing.Isolated {
			if p.IsolatedMarginQuote+u <= mm {
				if iso == nil {
					return true
				}
				iso[m] = true
			}
			continue
		}
		nCross++
		crossU += u
		crossMM += mm
	}
	return nCross > 0 && margin.Liquidatable(w, crossU, crossMM)
}

// engineKnows reports whether the engine has account a in hand: queued,
// waiting for a check, or indexed with a trigger the marks have reached.
func (s *liqSim) engineKnows(a AccountID) bool {
	e := s.e
	if e.accts[a].pending || e.accts[a].touched {
		return true
	}
	for m := range e.markets {
		for d := range e.markets[m].liq {
			h := &e.markets[m].liq[d]
			for _, x := range h.e {
				if x.acct == a && e.validEntry(&x) && h.due(x.price, e.markets[m].markTicks) {
					return true
				}
			}
		}
	}
	return false
}

func (s *liqSim) check(settled bool) {
	t, e := s.t, s.e
	fail := func(format string, args ...any) {
		t.Helper()
		var b bytes.Buffer
		for _, x := range s.ev {
			fmt.Fprintln(&b, "  ", x)
		}
		t.Fatalf("command %d: "+format+"\nevents:\n%s", append(append([]any{s.seq}, args...), b.String())...)
	}
	if err := e.ledger.CheckConservation(); err != nil {
		fail("%v", err)
	}
	if s.seq%50 == 0 {
		if err := e.CheckInvariants(); err != nil {
			fail("%v", err)
		}
	}
	if f := e.ledger.InsuranceFundQuote(); f < 0 {
		fail("insurance fund %d", f)
	}
	if settled && (e.pendHead < len(e.pending) || len(e.touched) > 0) {
		fail("%d accounts wait to be liquidated, %d to be checked", len(e.pending)-e.pendHead, len(e.touched))
	}
	for a := range AccountID(e.ledger.NumAccounts()) {
		if e.isFund(a) {
			if w, _ := e.ledger.Wallet(a); w != 0 {
				fail("the fund's account holds %d", w)
			}
			if settled && e.fundEquity() < 0 {
				fail("the fund's equity is %d", e.fundEquity())
			}
			continue
		}
		liq := s.naiveLiquidatable(a)
		if settled && liq {
			fail("account %d is liquidatable and the engine did not liquidate it", a)
		}
		if !settled && liq && !s.engineKnows(a) {
			fail("account %d is liquidatable and the engine does not know", a)
		}
		w, _ := e.ledger.Wallet(a)
		if w < 0 && !s.hasCross(a) {
			fail("account %d has wallet %d and no cross position", a, w)
		}
		if settled && s.seq%5 == 0 {
			// Called at the call level; called only at the re-arming level
			// (its hysteresis), except a cross pool in several markets,
			// whose re-arming waits for the next check of the account.
			cross, iso := s.naiveCalls(a, func(ms *marketState) margin.Brackets { return ms.callBrackets })
			held, isoHeld := s.naiveCalls(a, func(ms *marketState) margin.Brackets { return ms.rearmBrackets })
			if cross && !e.accts[a].crossCalled {
				fail("account %d: cross pool at the margin-call level, not called", a)
			}
			if !held && e.accts[a].crossCalled && !s.multiCross(a) {
				fail("account %d: cross pool called below the re-arming level", a)
			}
			for m := range iso {
				called := e.slots[e.slot(a, MarketID(m))].isoCalled
				if iso[m] && !called {
					fail("account %d: isolated pool in market %d at the margin-call level, not called", a, m)
				}
				if !isoHeld[m] && called {
					fail("account %d: isolated pool in market %d called below the re-arming level", a, m)
				}
			}
		}
	}
}

func (s *liqSim) multiCross(a AccountID) bool {
	n := 0
	for m := range s.e.markets {
		if p, _ := s.e.ledger.Position(a, MarketID(m)); p.SizeLots != 0 && p.Mode == clearing.Cross {
			n++
		}
	}
	return n > 1
}

func (s *liqSim) hasCross(a AccountID) bool {
	for m := range s.e.markets {
		if p, _ := s.e.ledger.Position(a, MarketID(m)); p.SizeLots != 0 && p.Mode == clearing.Cross {
			return true
		}
	}
	return false
}

func (s *liqSim) roundTrip() {
	snap := s.e.AppendSnapshot(nil)
	r, err := Restore(s.cfg, snap)
	if err != nil {
		s.t.Fatalf("command %d: restore: %v", s.seq, err)
	}
	if !bytes.Equal(r.AppendSnapshot(nil), snap) {
		s.t.Fatalf("command %d: the restored engine's snapshot differs", s.seq)
	}
	s.e = r
}

// TestLiquidationDeterminism: the same seed gives the same state, event for
// event; another seed gives another.
func TestLiquidationDeterminism(t *testing.T) {
	run := func(seed int) ([32]byte, uint64) {
		s := newLiqSim(t, DefaultConfig(), seed, 200)
		var sum uint64
		for range 30_000 {
			s.step()
			for _, x := range s.ev {
				sum = sum*1_000_003 + uint64(x.Kind)<<32 + uint64(x.Account)<<8 + uint64(x.QtyLots)
			}
		}
		if s.liquidations == 0 {
			t.Fatalf("seed %d: no liquidation", seed)
		}
		return s.e.StateHash(), sum
	}
	h1, e1 := run(3)
	h2, e2 := run(3)
	h3, _ := run(4)
	if h1 != h2 || e1 != e2 {
		t.Fatal("the same seed gave another state or other events")
	}
	if h1 == h3 {
		t.Fatal("two seeds gave the same state")
	}
}

// TestLiquidationRestoreTwin: an engine restored from a snapshot behaves
// exactly like the one that took it: the same events and the same state
// hash for every later command (liquidations, the index, the fund, margin
// calls included).
func TestLiquidationRestoreTwin(t *testing.T) {
	s := newLiqSim(t, DefaultConfig(), 11, 300)
	var twin *Engine
	var tev []Event
	for i := range 60_000 {
		if i%10_000 == 5_000 {
			var err error
			if twin, err = Restore(s.cfg, s.e.AppendSnapshot(nil)); err != nil {
				t.Fatal(err)
			}
		}
		// step, but apply the same command to the twin
		before := s.seq
		s.step()
		if twin == nil || s.seq == before {
			continue
		}
		c := s.lastCmd
		tev = twin.Apply(&c, tev[:0])
		if len(tev) != len(s.ev) {
			t.Fatalf("command %d (%s): %d events, the twin %d\n%v\n%v", c.Seq, c.Kind, len(s.ev), len(tev), s.ev, tev)
		}
		for k := range tev {
			if tev[k] != s.ev[k] {
				t.Fatalf("command %d (%s): event %d\n%v\ntwin\n%v", c.Seq, c.Kind, k, s.ev[k], tev[k])
			}
		}
		if i%997 == 0 && twin.StateHash() != s.e.StateHash() {
			t.Fatalf("command %d: state hashes differ", c.Seq)
		}
	}
}

// The liquidation fee rounds up, like every fee: 3 lots at 950,501 ticks
// of BTCUSDT (0.003 BTC at 95,050.1) are 285.1503 USDT, whose 1.25% is
// 3.56437875 USDT, 3,564,378.75 units: the fund may take 3,564,379.
func TestLiquidationFeeRoundsUp(t *testing.T) {
	if got := liquidationFee(3, 950_501, 100, 12_500); got != 3_564_379 {
		t.Fatalf("fee %d, want 3564379", got)
	}
	if got := liquidationFee(4, 950_500, 100, 12_500); got != 4_752_500 {
		t.Fatalf("exact fee %d, want 4752500", got)
	}
	if got := liquidationFee(1<<40, 1<<40, 100, 12_500); got != 1<<63-1 {
		t.Fatalf("overflowing fee %d, want MaxInt64", got)
	}
}
