package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
	"github.com/paperperps/exchange/orderbook"
)

// Liquidation, the insurance fund and auto-deleveraging. See
// docs/ARCHITECTURE.md, "Liquidation", for the rules; the code follows them
// in order:
//
//   - every change of an account's money or positions touches it (touch);
//     at the end of the command each touched account is checked exactly
//     and either queued for liquidation or indexed again (watch);
//   - a mark change reaches the index (collectDue): only entries the mark
//     has crossed come out, and their accounts are checked exactly;
//   - queued accounts are liquidated one pool at a time (liquidate), within
//     Config.LiquidationsPerCommand per command; what is left waits, in
//     order, for the next command, and so does the rest of the insurance
//     fund's deleveraging past Config.FundDeleveragesPerCommand.

// A margin pool: the cross pool of an account, or one isolated position.
// health reads as "liquidatable" when the pool's margin balance is at or
// below its maintenance margin, the test margin.Liquidatable makes and
// margin.LiquidationPrice solves.

// accountPositions reads all of account a's positions into the scratch
// buffer and returns it (one entry per market).
func (e *Engine) accountPositions(a AccountID) []clearing.Position {
	ps := e.accBuf[:len(e.markets)]
	for m := range ps {
		e.ledger.ReadPosition(a, MarketID(m), &ps[m])
	}
	return ps
}

// figuresAt are position p's unrealized PnL and maintenance margin with its
// market's price at priceTicks.
func (e *Engine) figuresAt(p *clearing.Position, priceTicks int64) (upnl, maint int64, err error) {
	return e.figuresIn(p, priceTicks, e.markets[p.Market].Brackets)
}

// figuresIn is figuresAt with the maintenance rates of br (the market's, or
// its margin-call rates).
func (e *Engine) figuresIn(p *clearing.Position, priceTicks int64, br margin.Brackets) (upnl, maint int64, err error) {
	if p.SizeLots == 0 {
		return 0, 0, nil
	}
	if upnl, err = p.UnrealizedPnLQuote(priceTicks); err != nil {
		return 0, 0, err
	}
	n, err := notionalAt(absInt(p.SizeLots), priceTicks, p.QuotePerTickLot)
	if err != nil {
		return 0, 0, err
	}
	maint, err = br.MaintenanceMargin(n)
	return upnl, maint, err
}

// crossLiquidatable reports whether account a's cross pool (positions ps,
// wallet w) is liquidatable at the marks. A pool with no position is not.
// An amount beyond int64 (impossible within the market limits) counts as
// liquidatable: the procedure then closes what it can.
func (e *Engine) crossLiquidatable(ps []clearing.Position, w int64) bool {
	var upnl, maint int64
	n := 0
	for m := range ps {
		p := &ps[m]
		if p.SizeLots == 0 || p.Mode != clearing.Cross {
			continue
		}
		n++
		u, mm, err := e.figuresAt(p, e.markets[m].markTicks)
		if err != nil {
			return true
		}
		var err1, err2 error
		upnl, err1 = fixed.Add(upnl, u)
		maint, err2 = fixed.Add(maint, mm)
		if err1 != nil || err2 != nil {
			return true
		}
	}
	return n > 0 && margin.Liquidatable(w, upnl, maint)
}

// isolatedLiquidatable reports whether isolated position p is liquidatable
// at its mark.
func (e *Engine) isolatedLiquidatable(p *clearing.Position) bool {
	if p.SizeLots == 0 || p.Mode != clearing.Isolated {
		return false
	}
	u, mm, err := e.figuresAt(p, e.markets[p.Market].markTicks)
	return err != nil || margin.Liquidatable(p.IsolatedMarginQuote, u, mm)
}

// liqPriceIn is position p's liquidation price under the maintenance rates
// of br, with wallet (the pool's balance) and the other cross positions'
// maintenance and unrealized PnL; see margin.LiquidationPrice for ok and
// the rounding. Under the margin-call rates it is the margin-call price.
func (e *Engine) liqPriceIn(p *clearing.Position, br margin.Brackets, wallet, otherMaint, otherUnrealized int64) (int64, bool, error) {
	side, size, entry := margin.Long, p.SizeLots, p.EntryValueQuote
	if p.SizeLots < 0 {
		side, size, entry = margin.Short, -p.SizeLots, -p.EntryValueQuote
	}
	var in margin.LiqInput // by fields: a literal is built in a temporary and copied
	in.Side, in.SizeLots, in.EntryValueQuote, in.QuotePerTickLot = side, size, entry, p.QuotePerTickLot
	in.WalletQuote, in.OtherMaintQuote, in.OtherUnrealizedQuote = wallet, otherMaint, otherUnrealized
	in.Brackets = br
	return in.LiquidationPrice()
}

// trigger is one index entry watch is about to add.
type trigger struct {
	m     MarketID
	d     int
	price int64
}

// appendTrigger adds the entry that fires when position p's market reaches
// the liquidation side of lp (see margin.LiquidationPrice: a long is
// liquidatable below lp, a short above it). due reports that the mark is
// there already.
func (e *Engine) appendTrigger(buf []trigger, p *clearing.Position, lp int64, ok bool) (_ []trigger, due bool) {
	if !ok {
		return buf, false // no price liquidates it
	}
	mark := e.markets[p.Market].markTicks
	if p.SizeLots > 0 {
		if lp-1 < 1 {
			return buf, false // no tick is below lp
		}
		return append(buf, trigger{p.Market, dirFalls, lp - 1}), mark <= lp-1
	}
	return append(buf, trigger{p.Market, dirRises, lp + 1}), mark >= lp+1
}

// watch indexes account a again after an exact check found it healthy,
// and reports false if a trigger is due already (the account is then
// liquidatable, which the caller's check should have found).
//
// Isolated positions and a lone cross position get their exact liquidation
// price. Cross positions in several markets depend on each other's marks;
// each gets a conservative trigger: its liquidation price with every other
// cross position valued at a mark moved against it by Config.CrossBandPpm.
// So that the assumption holds, each other position also gets a refresh
// entry at that adverse price in its own market: when a mark gets beyond
// it, the account is checked again and re-indexed around the new marks.
// A trigger that fires early only costs a check. If the band's trigger is
// due already at the current marks, the band is narrowed to 0: every
// trigger is then exact given the others' current marks, and any adverse
// tick elsewhere refreshes it.
func (e *Engine) watch(a AccountID) bool {
	e.unwatch(a)
	ps := e.accountPositions(a)
	buf := e.trigBuf[:0]
	nCross, lone := 0, -1
	for m := range ps {
		p := &ps[m]
		k := e.slot(a, MarketID(m))
		if p.SizeLots == 0 {
			e.slots[k].isoCalled = false
			continue
		}
		if p.Mode == clearing.Cross {
			e.slots[k].isoCalled = false
			nCross++
			lone = m
			continue
		}
		lp, ok, hit := e.memoLiqPrice(a, MarketID(m))
		if !hit {
			var err error
			if lp, ok, err = e.liqPriceIn(p, e.markets[m].Brackets, p.IsolatedMarginQuote, 0, 0); err != nil {
				return false
			}
		}
		var due bool
		n := len(buf)
		if buf, due = e.appendTrigger(buf, p, lp, ok); due {
			return false
		}
		if buf, ok = e.callTrigger(buf, n, p, p.IsolatedMarginQuote, &e.slots[k].isoCalled); !ok {
			return false
		}
	}
	switch {
	case nCross == 0:
		e.accts[a].crossCalled = false
	case nCross == 1:
		// Alone in the cross pool: its prices are exact.
		p := &ps[lone]
		w, _ := e.ledger.Wallet(a)
		lp, ok, hit := e.memoLiqPrice(a, MarketID(lone))
		if !hit {
			var err error
			if lp, ok, err = e.liqPriceIn(p, e.markets[lone].Brackets, w, 0, 0); err != nil {
				return false
			}
		}
		var due bool
		n := len(buf)
		if buf, due = e.appendTrigger(buf, p, lp, ok); due {
			return false
		}
		if buf, ok = e.callTrigger(buf, n, p, w, &e.accts[a].crossCalled); !ok {
			return false
		}
	default:
		w, _ := e.ledger.Wallet(a)
		// Called, the pool stays so while it is at the re-arming level;
		// otherwise it is called when it reaches the call level.
		was := e.accts[a].crossCalled
		level := func(ms *marketState) margin.Brackets { return ms.callBrackets }
		if was {
			level = func(ms *marketState) margin.Brackets { return ms.rearmBrackets }
		}
		called, err := e.crossCalledNow(ps, w, level)
		if err != nil {
			return false
		}
		if called && !was {
			e.calls = append(e.calls, callNote{a, 0, true})
		}
		e.accts[a].crossCalled = called
		n := len(buf)
		band := e.cfg.CrossBandPpm
		for {
			var ok bool
			buf, ok = e.crossTriggers(buf[:n], ps, w, band, called)
			if ok {
				break
			}
			if band == 0 {
				return false
			}
			band = 0
		}
	}
	for _, t := range buf {
		e.addEntry(a, t.m, t.d, t.price)
	}
	e.trigBuf = buf
	return true
}

// callNote is a pool that has just crossed the margin-call level: its event
// is due (marginCheck).
type callNote struct {
	acct  AccountID
	m     MarketID // the isolated position's market
	cross bool
}

// callTrigger decides whether position p, alone in its pool with balance
// wallet, is margin-called now (updating *called, and noting a new call),
// and appends the entry that fires at the next change: toward the call
// price while it is not called, back past the re-arming price once it is.
// ok is false on an overflow.
//
// buf[liq:] holds the position's liquidation trigger (if it has one).
// While the pool is not called, the call trigger takes its place: the
// call rates are the maintenance rates divided by the level, never lower,
// so every liquidatable price is a called one and the call trigger fires
// no later. When it fires, the check indexes the pool again, then called,
// with both. One entry instead of two keeps the heaps half as large.
func (e *Engine) callTrigger(buf []trigger, liq int, p *clearing.Position, wallet int64, called *bool) (_ []trigger, ok bool) {
	ms := &e.markets[p.Market]
	n := len(buf)
	if *called {
		// Called: it stays so while it is at the re-arming level (a long
		// at lpr-1 and below, a short at lpr+1 and above), and is
		// re-armed, for the call level's test below, once it is not.
		lpr, okr, err := e.liqPriceIn(p, ms.rearmBrackets, wallet, 0, 0)
		if err != nil {
			return buf, false
		}
		var still bool
		buf, still = e.appendTrigger(buf, p, lpr, okr)
		if buf = buf[:n]; still {
			return append(buf, rearmTrigger(p, lpr)), true
		}
		*called = false
	}
	lpc, okc, err := e.liqPriceIn(p, ms.callBrackets, wallet, 0, 0)
	if err != nil {
		return buf, false
	}
	var due bool
	buf, due = e.appendTrigger(buf, p, lpc, okc)
	if !due {
		if len(buf) > n {
			buf = append(buf[:liq], buf[n:]...)
		}
		return buf, true
	}
	buf = buf[:n]
	e.calls = append(e.calls, callNote{p.Account, p.Market, p.Mode == clearing.Cross})
	*called = true
	// Called now: it is at the call level, so at the re-arming level too
	// (a lower ratio); the entry back is at the re-arming price.
	lpr, okr, err := e.liqPriceIn(p, ms.rearmBrackets, wallet, 0, 0)
	if err != nil {
		return buf, false
	}
	if !okr {
		return buf, true // unreachable: the call level's price exists
	}
	return append(buf, rearmTrigger(p, lpr)), true
}

// rearmTrigger is the entry that fires when called position p's mark gets
// back past its re-arming price lpr: a long's at lpr and above, a short's
// at lpr and below.
func rearmTrigger(p *clearing.Position, lpr int64) trigger {
	if p.SizeLots > 0 {
		return trigger{p.Market, dirRises, lpr}
	}
	return trigger{p.Market, dirFalls, lpr}
}

// crossCalledNow reports whether the cross pool of positions ps (wallet w)
// is at the level whose rates level gives (the call or the re-arming
// level) at the marks.
func (e *Engine) crossCalledNow(ps []clearing.Position, w int64, level func(*marketState) margin.Brackets) (bool, error) {
	var upnl, maint int64
	for m := range ps {
		p := &ps[m]
		if p.SizeLots == 0 || p.Mode != clearing.Cross {
			continue
		}
		u, mm, err := e.figuresIn(p, e.markets[m].markTicks, level(&e.markets[m]))
		if err != nil {
			return false, err
		}
		var err1, err2 error
		upnl, err1 = fixed.Add(upnl, u)
		maint, err2 = fixed.Add(maint, mm)
		if err1 != nil || err2 != nil {
			return false, errors.Join(err1, err2)
		}
	}
	return margin.Liquidatable(w, upnl, maint), nil
}

// crossTriggers appends the triggers of the cross positions in ps (wallet
// w) with the other positions valued band ppm against them, and their
// refresh entries; ok is false if a trigger is due already or a figure
// overflows.
//
// While the pool is not margin-called, each position also gets a call
// trigger computed the same way; once it is called, it is re-armed by the
// next check of the account (a refresh entry, a change, or a liquidation
// trigger), not by a price.
func (e *Engine) crossTriggers(buf []trigger, ps []clearing.Position, w, band int64, called bool) (_ []trigger, ok bool) {
	// Each cross position's price against it, and its figures there.
	// (nCross > 1: a lone cross position is exact, see watch.)
	adverse := e.advBuf[:len(ps)]
	var sumU, sumMM, sumCall int64
	for m := range ps {
		p := &ps[m]
		adverse[m] = adverseFigures{}
		if p.SizeLots == 0 || p.Mode != clearing.Cross {
			continue
		}
		ms := &e.markets[m]
		price := ms.markTicks
		move := (price*band + 999_999) / 1_000_000 // bounded: price ≤ the book's max, band ≤ 50%
		if p.SizeLots > 0 {
			price = max(1, price-move)
		} else {
			price = min(ms.book.MaxPriceTicks(), price+move)
		}
		u, mm, err := e.figuresAt(p, price)
		_, mmc, errc := e.figuresIn(p, price, ms.callBrackets)
		if err != nil || errc != nil {
			return buf, false
		}
		adverse[m] = adverseFigures{price: price, upnl: u, maint: mm, callMaint: mmc}
		var err1, err2, err3 error
		sumU, err1 = fixed.Add(sumU, u)
		sumMM, err2 = fixed.Add(sumMM, mm)
		sumCall, err3 = fixed.Add(sumCall, mmc)
		if err1 != nil || err2 != nil || err3 != nil {
			return buf, false
		}
	}
	for m := range ps {
		p := &ps[m]
		if p.SizeLots == 0 || p.Mode != clearing.Cross {
			continue
		}
		f := adverse[m]
		lp, ok, err := e.liqPriceIn(p, e.markets[m].Brackets, w, sumMM-f.maint, sumU-f.upnl)
		if err != nil {
			return buf, false
		}
		var due bool
		if buf, due = e.appendTrigger(buf, p, lp, ok); due {
			return buf, false
		}
		if !called {
			lpc, okc, err := e.liqPriceIn(p, e.markets[m].callBrackets, w, sumCall-f.callMaint, sumU-f.upnl)
			if err != nil {
				return buf, false
			}
			if buf, due = e.appendTrigger(buf, p, lpc, okc); due {
				return buf, false
			}
		}
		// The refresh entry: fires once this market's mark is beyond the
		// price the other positions' triggers assumed.
		if p.SizeLots > 0 {
			if f.price > 1 {
				buf = append(buf, trigger{p.Market, dirFalls, f.price - 1})
			}
		} else {
			buf = append(buf, trigger{p.Market, dirRises, f.price + 1})
		}
	}
	return buf, true
}

type adverseFigures struct {
	price, upnl, maint, callMaint int64
}

// settleRisk runs after every command: it checks the touched accounts,
// takes what the marks have reached out of the index and liquidates the
// queued accounts, until nothing is left or the command's budget is spent.
// Liquidations move prices and touch their counterparties, so this loops
// until the cascade is over.
func (e *Engine) settleRisk(cmd *Command, ev []Event) []Event {
	unwound := false
	if e.hasFund {
		if w, _ := e.ledger.Wallet(e.fundAcct); w != 0 {
			ev = e.sweepFund(cmd, ev) // funding paid or charged its positions
		}
	}
	for {
		e.collectDue()
		for i := 0; i < len(e.touched); i++ {
			a := e.touched[i]
			e.accts[a].touched = false
			if e.accts[a].pending {
				continue
			}
			ev = e.marginCheck(cmd, ev, a)
		}
		e.touched = e.touched[:0]
		if e.pendHead == len(e.pending) {
			// Quiet: the insurance fund's turn (fund.go). Its trades may
			// move prices and touch accounts again, hence the loop; it
			// unwinds once per command, and is deleveraged whenever its
			// equity is below 0 (which closes all it holds).
			if e.hasFund {
				if e.fundEquity() < 0 {
					if e.fundBudget <= 0 {
						// The fund's deleveraging goes on next command.
						e.pending, e.pendHead = e.pending[:0], 0
						return ev
					}
					ev = e.deleverageFund(cmd, ev)
					continue
				}
				if !unwound {
					unwound = true
					ev = e.unwindFund(cmd, ev)
					continue
				}
			}
			e.pending, e.pendHead = e.pending[:0], 0
			return ev
		}
		if e.budget <= 0 {
			return ev
		}
		a := e.pending[e.pendHead]
		e.pendHead++
		e.accts[a].pending = false
		e.budget--
		ev = e.liquidate(cmd, ev, a)
	}
}

// riskSettled reports that settleRisk has nothing to do: no account is
// touched or queued, no mark moved and there is no fund to tend. Most
// commands leave it so, and the test inlines where the call would not.
func (e *Engine) riskSettled() bool {
	return len(e.touched) == 0 && e.pendHead == len(e.pending) && !e.marksMoved && !e.hasFund
}

// LiquidationsWaiting is the number of accounts queued for liquidation
// that the last command's budget (Config.LiquidationsPerCommand) left for
// the next, plus one while the insurance fund's equity is below 0 (its
// deleveraging, cut short by Config.FundDeleveragesPerCommand, goes on).
func (e *Engine) LiquidationsWaiting() int {
	n := len(e.pending) - e.pendHead
	if e.fundBankrupt() {
		n++
	}
	return n
}

// marginCheck checks account a exactly: it queues it for liquidation or
// indexes it again. The check is watch's: with exact bracket tables (the
// engine accepts no others) a position's liquidation price divides the
// prices that liquidate its pool from those that do not, so a trigger due
// at the current marks is the exact test (see watch for cross positions in
// several markets).
//
// An account left with a negative wallet and no cross position to back it
// (a cross position closed by auto-deleveraging at the mark with a loss
// beyond the wallet) has its deficit covered by the fund, or as bad debt.
func (e *Engine) marginCheck(cmd *Command, ev []Event, a AccountID) []Event {
	e.calls = e.calls[:0]
	slots := e.slots[e.slot(a, 0):][:len(e.markets)]
	flags := e.flagBuf[:0]
	for m := range slots {
		flags = append(flags, slots[m].isoCalled)
	}
	e.flagBuf = flags
	crossCalled := e.accts[a].crossCalled
	if !e.watch(a) {
		// Liquidatable: the margin-call flags watch may have set before
		// it found out stay as they were (the pool's next check decides).
		for m := range slots {
			slots[m].isoCalled = flags[m]
		}
		e.accts[a].crossCalled = crossCalled
		e.unwatch(a)
		e.accts[a].pending = true
		e.pending = append(e.pending, a)
		return ev
	}
	for _, c := range e.calls {
		ev = e.marginCallEvent(cmd, ev, c)
	}
	if w, _ := e.ledger.Wallet(a); w < 0 && !e.hasCrossPosition(a) {
		ev = e.settlePool(cmd, ev, a, w, 0)
	}
	return ev
}

func (e *Engine) hasCrossPosition(a AccountID) bool {
	var p clearing.Position
	for m := range e.markets {
		if e.ledger.ReadPosition(a, MarketID(m), &p); p.SizeLots != 0 && p.Mode == clearing.Cross {
			return true
		}
	}
	return false
}

// liquidate runs the procedure on each liquidatable pool of account a.
func (e *Engine) liquidate(cmd *Command, ev []Event, a AccountID) []Event {
	if e.fundBudget > 0 && e.fundBankrupt() {
		// What the fund holds went against it since it was last tended
		// (the liquidations before this one, or a budget that ran out):
		// settle that first, before reading the account, whose positions
		// the fund's deleveraging may close.
		ev = e.deleverageFund(cmd, ev)
	}
	ps := e.accountPositions(a)
	w, _ := e.ledger.Wallet(a)
	crossBad := e.crossLiquidatable(ps, w)
	bad := e.badBuf[:len(e.markets)]
	anyBad := crossBad
	for m := range ps {
		bad[m] = e.isolatedLiquidatable(&ps[m])
		anyBad = anyBad || bad[m]
	}
	defer e.touch(a) // checked and indexed again at the end
	if !anyBad {
		return ev // the marks moved back while it waited
	}
	// 1. Cancel the pools' orders: for the cross pool every market where
	// the account trades cross, for an isolated pool its market.
	for m := range ps {
		if bad[m] || (crossBad && ps[m].Mode == clearing.Cross) {
			ev = e.cancelForLiquidation(cmd, ev, a, MarketID(m))
		}
	}
	// Resting orders hold no margin inside a pool (their initial margin is
	// held back from free collateral, outside it), so cancelling them
	// cannot restore a pool by itself. The check is repeated anyway: the
	// cancels ran the account's fitReduceOnly and nothing else, but the
	// rule is the venues', and a pool may only be closed if it is still
	// liquidatable at this point.
	ps = e.accountPositions(a)
	crossBad = e.crossLiquidatable(ps, w)
	for m := range ps {
		bad[m] = e.isolatedLiquidatable(&ps[m])
	}
	// 2-5. Close the positions, one pool at a time; settle what each pool
	// has left with the fund.
	for m := range e.markets {
		if bad[m] {
			before, _ := e.ledger.Wallet(a)
			ev = e.closePool(cmd, ev, a, MarketID(m), false)
			after, _ := e.ledger.Wallet(a)
			ev = e.settlePool(cmd, ev, a, after-before, e.liqFeeCap)
		}
	}
	if crossBad {
		ev = e.closePool(cmd, ev, a, 0, true)
		w, _ := e.ledger.Wallet(a)
		ev = e.settlePool(cmd, ev, a, w, e.liqFeeCap)
	}
	return ev
}

// closePool closes the positions of one pool of account a: the cross pool,
// or the isolated position in market iso. Every position first goes to the
// book, at its bankruptcy price (see closeInBook); then what the books did
// not take is closed by auto-deleveraging, each position at its bankruptcy
// price as it is then, so that the books' fills (which may be better than
// it) count before anyone is deleveraged. It leaves the liquidation fee
// cap of the closed notional in e.liqFeeCap.
func (e *Engine) closePool(cmd *Command, ev []Event, a AccountID, iso MarketID, cross bool) []Event {
	e.liqFeeCap = 0
	in := func(p *clearing.Position) bool {
		return p.SizeLots != 0 && (cross && p.Mode == clearing.Cross || !cross && p.Market == iso)
	}
	var p clearing.Position
	plan := e.liqPlan[:0]
	for m := range e.markets {
		e.ledger.ReadPosition(a, MarketID(m), &p)
		if !in(&p) {
			continue
		}
		var step liqStep
		ev, step = e.closeInBook(cmd, ev, &p)
		plan = append(plan, step)
	}
	for i := range plan {
		st := &plan[i]
		e.ledger.ReadPosition(a, st.m, &p)
		if p.SizeLots != 0 {
			// The bankruptcy price again: the books' fills of the pool's
			// other positions count.
			bp := e.bankruptcyPrice(&p)
			ev, st.fundLots = e.takeOver(cmd, ev, &p, bp)
			e.ledger.ReadPosition(a, st.m, &p)
			if p.SizeLots != 0 {
				st.adlLots, st.adlPrice = absInt(p.SizeLots), bp
				ev, _ = e.deleverageAt(cmd, ev, &p, bp)
			}
		}
		ms := &e.markets[st.m]
		var x *Event
		ev, x = push(ev)
		x.Kind, x.Seq, x.Account, x.Market, x.Side = EventLiquidation, cmd.Seq, a, st.m, st.side
		x.QtyLots, x.PriceTicks, x.RemainingLots, x.ADLPriceTicks = st.lots, st.bp, st.adlLots, st.adlPrice
		x.SizeLots = st.fundLots
		if st.filledLots > 0 {
			x.AvgPriceTicks = st.filledValue / st.filledLots
		}
		e.liqFeeCap = satAdd(e.liqFeeCap, liquidationFee(st.lots, st.bp, ms.Grid.QuotePerTickLot(), ms.LiquidationFeePpm))
	}
	e.liqPlan = plan
	return ev
}

// liquidationFee is the most the insurance fund takes for closing lots at
// bankruptcy price bp: the liquidation fee rate on that notional, rounded
// up like every fee (a fee is never undercharged). An amount beyond int64
// (impossible within the market limits) is MaxInt64: the pool's balance
// caps it anyway.
func liquidationFee(lots, bp, qptl, ratePpm int64) int64 {
	notional, err := notionalAt(lots, bp, qptl)
	c, err2 := fixed.ApplyPpm(notional, ratePpm, fixed.RoundUp)
	if err != nil || err2 != nil {
		return 1<<63 - 1
	}
	return c
}

// liqStep is one position's liquidation, for its event.
type liqStep struct {
	m                       MarketID
	side                    orderbook.Side
	lots, bp                int64 // the position's size and bankruptcy price when it went to the book
	filledLots, filledValue int64 // what the book took (value in ticks × lots)
	fundLots                int64 // taken over by the insurance fund
	adlLots, adlPrice       int64
}

func satAdd(x, y int64) int64 {
	s, err := fixed.Add(x, y)
	if err != nil {
		return 1<<63 - 1
	}
	return s
}

// cancelForLiquidation cancels account a's orders in market m, resting and
// conditional.
func (e *Engine) cancelForLiquidation(cmd *Command, ev []Event, a AccountID, m MarketID) []Event {
	lc := Command{Kind: cmd.Kind, Seq: cmd.Seq, TsNanos: cmd.TsNanos, Account: a, Market: m}
	e.bookEv = e.markets[m].book.CancelAccount(orderbook.AccountID(a), e.bookEv[:0])
	for i := range e.bookEv {
		if e.bookEv[i].Kind == orderbook.EventCancelled {
			e.bookEv[i].Reason = orderbook.ReasonNone // reported as ReasonLiquidation below
		}
	}
	n := len(ev)
	ev = e.bookEvents(&lc, ev)
	for i := n; i < len(ev); i++ {
		if ev[i].Kind == EventOrderCancelled {
			ev[i].Reason = ReasonLiquidation
		}
	}
	return e.cancelStops(&lc, ev, a, m, ReasonLiquidation)
}

// settlePool settles what a liquidated pool has left, left (the cross
// wallet, or what an isolated position's close returned to the wallet),
// with the insurance fund: a surplus pays the fund up to feeCap (the
// market's liquidation fee rate on the closed notional) and the rest stays
// with the account; a deficit (a cross wallet below 0) is covered by the
// fund, and what the fund cannot cover is bad debt.
func (e *Engine) settlePool(cmd *Command, ev []Event, a AccountID, left, feeCap int64) []Event {
	w, _ := e.ledger.Wallet(a)
	switch {
	case left > 0 && feeCap > 0 && w > 0:
		// (A wallet below what came back is a cross debt the released
		// margin paid down first: the fee comes only from what is there.)
		amount := min(left, feeCap, w)
		if r := e.ledger.InsuranceTransfer(a, amount); r != clearing.ReasonNone {
			panic(fmt.Errorf("engine: liquidation of account %d: moving %d to the insurance fund: %s", a, amount, ledgerReason(r)))
		}
		ev = e.balanceEvent(cmd, ev, a, CauseLiquidation, -amount)
		return e.fundEvent(cmd, ev, a, amount, 0)
	case left < 0:
		fromFund, badDebt, r := e.ledger.CoverDeficit(a)
		if r != clearing.ReasonNone {
			panic(fmt.Errorf("engine: liquidation of account %d: covering its deficit: %s", a, ledgerReason(r)))
		}
		ev = e.balanceEvent(cmd, ev, a, CauseLiquidation, fromFund+badDebt)
		return e.fundEvent(cmd, ev, a, -fromFund, badDebt)
	}
	return ev
}

func (e *Engine) fundEvent(cmd *Command, ev []Event, a AccountID, amount, badDebt int64) []Event {
	ev, x := push(ev)
	x.Kind, x.Seq, x.Account, x.AmountQuote, x.BalanceQuote = EventInsuranceFund, cmd.Seq, a, amount, e.ledger.InsuranceFundQuote()
	x.BadDebtQuote = badDebt
	return ev
}

// bankruptcyPrice is the price at which position p's pool has nothing
// left. For an isolated position that is where its margin is gone. A cross
// pool's balance (the wallet plus every cross position's unrealized PnL at
// its mark) is shared among its positions: each position's bankruptcy
// price is its mark moved by its share, against it for a positive balance
// (a long's below its mark) and for it for a deficit (a long's above its
// mark: its counterparties absorb its share). A positive balance is shared
// in proportion to the positions' notional at the marks; a deficit in
// proportion to their unrealized losses, so the market whose move made the
// loss pays it, and a position in profit closes at its mark (if no
// position is losing, by notional). Closed together at those prices, the
// pool ends at 0. Prices are rounded so the pool keeps at least 0 (up for
// a long, down for a short) and kept within [1, the book's max price].
func (e *Engine) bankruptcyPrice(p *clearing.Position) int64 {
	if p.Mode != clearing.Cross {
		return e.priceForBalance(p, p.IsolatedMarginQuote)
	}
	balance, _ := e.ledger.Wallet(p.Account)
	return e.sharedBankruptcyPrice(p, balance, func(q *clearing.Position) bool { return q.Mode == clearing.Cross })
}

// sharedBankruptcyPrice is bankruptcyPrice for position p of a pool made of
// balance and the account's positions in (those in reports true).
func (e *Engine) sharedBankruptcyPrice(p *clearing.Position, balance int64, in func(*clearing.Position) bool) int64 {
	var q clearing.Position
	var total, mine, losses, myLoss int64
	for o := range e.markets {
		e.ledger.ReadPosition(p.Account, MarketID(o), &q)
		if q.SizeLots == 0 || !in(&q) {
			continue
		}
		mark := e.markets[o].markTicks
		u, err1 := q.UnrealizedPnLQuote(mark)
		n, err2 := notionalAt(absInt(q.SizeLots), mark, q.QuotePerTickLot)
		if err1 != nil || err2 != nil {
			return e.priceForBalance(p, balance) // beyond any market's limits
		}
		balance, total = satAdd(balance, u), satAdd(total, n)
		loss := max(-u, 0)
		losses = satAdd(losses, loss)
		if MarketID(o) == p.Market {
			mine, myLoss = n, loss
		}
	}
	if balance < 0 && losses > 0 {
		total, mine = losses, myLoss
	}
	if total == 0 || mine == 0 {
		if balance < 0 && losses > 0 {
			return e.markets[p.Market].markTicks // in profit: its share of a deficit is none
		}
		return e.priceForBalance(p, balance)
	}
	// p's share of the balance, rounded toward the pool (a larger share of
	// a surplus or a smaller one of a deficit would leave it below 0).
	share, err := fixed.MulDiv(balance, mine, total, fixed.RoundDown)
	if err != nil {
		return e.priceForBalance(p, balance)
	}
	ms := &e.markets[p.Market]
	qp := absInt(p.SizeLots) * p.QuotePerTickLot // bounded by the market's max position
	mark := ms.markTicks
	var price int64
	if p.SizeLots > 0 {
		// Sold at price, the long leaves share − (mark − price)·qp ≥ 0:
		// price ≥ mark − share/qp, rounded up.
		price = mark - floorDivInt(share, qp)
	} else {
		// Bought at price, the short leaves share − (price − mark)·qp ≥ 0:
		// price ≤ mark + share/qp, rounded down.
		price = mark + floorDivInt(share, qp)
	}
	return min(max(price, 1), ms.book.MaxPriceTicks())
}

// floorDivInt is x/d rounded toward −∞ (d > 0).
func floorDivInt(x, d int64) int64 {
	q := x / d
	if x%d != 0 && x < 0 {
		q--
	}
	return q
}

// priceForBalance is the price at which position p, backed by balance
// (with everything else held fixed), leaves it at 0, rounded so it keeps at
// least 0 and kept within [1, the book's max price].
func (e *Engine) priceForBalance(p *clearing.Position, balance int64) int64 {
	ms := &e.markets[p.Market]
	qp := absInt(p.SizeLots) * p.QuotePerTickLot // bounded by the market's max position
	var price int64
	if p.SizeLots > 0 {
		// balance + price·qp − entry = 0
		num, err := fixed.Sub(p.EntryValueQuote, balance)
		switch {
		case err != nil || num <= 0:
			price = 1
		default:
			price = (num + qp - 1) / qp
		}
	} else {
		// balance + |entry| − price·qp = 0
		num, err := fixed.Add(balance, -p.EntryValueQuote)
		switch {
		case err != nil:
			price = ms.book.MaxPriceTicks()
		case num <= 0:
			price = 1
		default:
			price = num / qp
		}
	}
	return min(max(price, 1), ms.book.MaxPriceTicks())
}

// closeInBook sends position p's closing order to the book: IOC at the
// bankruptcy price, or at the band's edge if that is beyond it on the
// order's side (a sell below the band sells no lower than its edge).
// Beyond the band on the other side the book cannot help, and no order is
// sent. The fills never reach a price worse than the bankruptcy price, so
// the pool keeps at least 0.
func (e *Engine) closeInBook(cmd *Command, ev []Event, p *clearing.Position) ([]Event, liqStep) {
	a, m := p.Account, p.Market
	ms := &e.markets[m]
	st := liqStep{m: m, side: orderbook.Sell, lots: absInt(p.SizeLots), bp: e.bankruptcyPrice(p)}
	if p.SizeLots < 0 {
		st.side = orderbook.Buy
	}
	price := st.bp
	lo, hi := ms.book.Band()
	if st.side == orderbook.Sell {
		price = max(price, lo)
	} else {
		price = min(price, hi)
	}
	if price < lo || price > hi {
		return ev, st
	}
	lc := Command{Kind: CmdPlaceOrder, Seq: cmd.Seq, TsNanos: cmd.TsNanos, Account: a, Market: m}
	id := e.nextOrderID + 1
	order := orderbook.Order{ID: id, Account: orderbook.AccountID(a), Side: st.side, Type: orderbook.Limit,
		TIF: orderbook.IOC, PriceTicks: price, QtyLots: st.lots, Tag: tagLiquidation}
	e.bookEv = ms.book.Place(order, e.bookEv[:0])
	if e.bookEv[0].Kind == orderbook.EventRejected {
		return ev, st
	}
	e.nextOrderID = id
	e.liqFilledLots, e.liqFilledValue = 0, 0
	ev = e.trade(&lc, ev, id, tagLiquidation)
	st.filledLots, st.filledValue = e.liqFilledLots, e.liqFilledValue
	// The fills moved the last price, so the mark may have moved:
	// conditional orders may fire.
	return e.runTriggers(&lc, ev), st
}

// adlCandidate is a position auto-deleveraging may reduce.
type adlCandidate struct {
	acct  AccountID
	score int64 // ppm: PnL% × effective leverage in profit, PnL% / leverage in loss
}

// adlScore ranks position p for auto-deleveraging, higher first: its PnL
// at the mark over its entry value, times its effective leverage (notional
// over the pool's margin balance) when in profit, divided by it when in
// loss. Venues rank the same way. Figures beyond int64 saturate.
func (e *Engine) adlScore(p *clearing.Position) int64 {
	mark := e.markets[p.Market].markTicks
	upnl, err := p.UnrealizedPnLQuote(mark)
	if err != nil {
		return 0
	}
	notional, err := notionalAt(absInt(p.SizeLots), mark, p.QuotePerTickLot)
	if err != nil {
		return 0
	}
	balance := p.IsolatedMarginQuote
	if p.Mode == clearing.Cross {
		balance, _ = e.ledger.Wallet(p.Account)
		var q clearing.Position
		for o := range e.markets {
			e.ledger.ReadPosition(p.Account, MarketID(o), &q)
			if q.SizeLots != 0 && q.Mode == clearing.Cross {
				if u, err := q.UnrealizedPnLQuote(e.markets[o].markTicks); err == nil {
					balance = satAdd(balance, u)
				}
			}
		}
	} else {
		balance = satAdd(balance, upnl)
	}
	pnl, err := fixed.MulDiv(upnl, 1_000_000, absInt(p.EntryValueQuote), fixed.RoundDown)
	if err != nil {
		return 0
	}
	const maxLeverage = 1_000_000_000 // ppm of leverage 1000: a pool at or below 0
	lev := int64(maxLeverage)
	if balance > 0 {
		if l, err := fixed.MulDiv(notional, 1_000_000, balance, fixed.RoundDown); err == nil {
			lev = min(l, maxLeverage)
		}
	}
	lev = max(lev, 1)
	var score int64
	if pnl > 0 {
		score, err = fixed.MulDiv(pnl, lev, 1_000_000, fixed.RoundDown)
	} else {
		score, err = fixed.MulDiv(pnl, 1_000_000, lev, fixed.RoundDown)
	}
	if err != nil {
		return 0
	}
	return score
}

// adlRank is a market side's auto-deleveraging order, highest rank first,
// computed at the first auto-deleveraging of a command (apply) and used for
// the rest of it: next is the first candidate not used up.
type adlRank struct {
	apply uint64
	list  []adlCandidate
	next  int
}

// adlRanking returns market m's ranking of the long (true) or short
// positions, computed now if this command has none yet or fresh is set.
func (e *Engine) adlRanking(m MarketID, long, fresh bool) *adlRank {
	k := 2 * int(m)
	if long {
		k++
	}
	r := &e.adlRanks[k]
	if r.apply == e.applies && r.list != nil && !fresh {
		return r
	}
	e.posBuf = e.ledger.OpenPositions(m, e.posBuf[:0])
	c := r.list[:0]
	for i := range e.posBuf {
		p := &e.posBuf[i]
		if p.SizeLots == 0 || (p.SizeLots > 0) != long {
			continue
		}
		c = append(c, adlCandidate{acct: p.Account, score: e.adlScore(p)})
	}
	slices.SortFunc(c, func(x, y adlCandidate) int {
		if x.score != y.score {
			if x.score > y.score {
				return -1
			}
			return 1
		}
		return int(int64(x.acct) - int64(y.acct))
	})
	r.apply, r.list, r.next = e.applies, c, 0
	return r
}

// deleverageAt closes position p (of a liquidated account, or of the
// fund) against the opposite positions, highest ADL rank first, at its
// bankruptcy price bp, as venues do: when the pool is bankrupt at the mark
// already, the counterparties' price is worse than the mark, and that is
// how its deficit is shared. Neither side pays a fee. The fund's own
// position stops when the command's Config.FundDeleveragesPerCommand
// counterparties are reached, partly closed: at its bankruptcy price each
// part takes its share of the deficit, and the fund's equity stays below 0
// for the next command to go on.
func (e *Engine) deleverageAt(cmd *Command, ev []Event, p *clearing.Position, bp int64) ([]Event, int64) {
	a, m := p.Account, p.Market
	lc := &Command{Kind: CmdPlaceOrder, Seq: cmd.Seq, TsNanos: cmd.TsNanos, Account: a, Market: m}
	rest := absInt(p.SizeLots)
	closerBuys := p.SizeLots < 0
	rank := e.adlRanking(m, closerBuys, false)
	refreshed := false
	var q clearing.Position
	fund := e.isFund(a)
	for rest > 0 && (!fund || e.fundBudget > 0) {
		if rank.next == len(rank.list) {
			if refreshed {
				break
			}
			// Positions opened on that side since the ranking: rank again.
			rank, refreshed = e.adlRanking(m, closerBuys, true), true
			continue
		}
		c := rank.list[rank.next]
		e.ledger.ReadPosition(c.acct, m, &q)
		if c.acct == a || e.isFund(c.acct) || q.SizeLots == 0 || (q.SizeLots > 0) != closerBuys {
			rank.next++ // closed or flipped since it was ranked
			continue
		}
		take := min(rest, absInt(q.SizeLots))
		if take == absInt(q.SizeLots) {
			rank.next++
		}
		rest -= take
		if fund {
			e.fundBudget--
		}
		takerWallet, _ := e.ledger.Wallet(a)
		makerWallet, _ := e.ledger.Wallet(c.acct)
		var res clearing.TradeResult
		err := e.ledger.SettleTradeInto(clearing.Trade{Market: m, PriceTicks: bp, QtyLots: take, Maker: c.acct, Taker: a,
			TakerBuys: closerBuys, TakerFeeFree: true, MakerFeeFree: true}, &res)
		if err != nil {
			panic(fmt.Errorf("engine: auto-deleveraging account %d against %d: %w", c.acct, a, err))
		}
		side := orderbook.Buy
		if !closerBuys {
			side = orderbook.Sell
		}
		var x *Event
		ev, x = push(ev)
		x.Kind, x.Seq, x.Market, x.Account, x.Side, x.MakerAccount = EventFill, lc.Seq, m, a, side, c.acct
		x.PriceTicks, x.QtyLots, x.Cause = bp, take, CauseADL
		ev = e.tradeEvents(lc, ev, a, takerWallet, res.Taker.RealizedPnLQuote)
		ev = e.tradeEvents(lc, ev, c.acct, makerWallet, res.Maker.RealizedPnLQuote)
		ev, x = push(ev)
		x.Kind, x.Seq, x.Market, x.Account, x.Side, x.MakerAccount = EventADL, lc.Seq, m, c.acct, side.Opposite(), a
		x.PriceTicks, x.QtyLots = bp, take
		ev = e.fitReduceOnly(lc, ev, c.acct, m)
		e.touch(c.acct)
	}
	if rest > 0 && e.hasFund && !fund {
		// The fund holds the rest of the other side: it is the last
		// counterparty (its equity is tended after the liquidations).
		e.ledger.ReadPosition(e.fundAcct, m, &q)
		if q.SizeLots != 0 && (q.SizeLots > 0) == closerBuys {
			take := min(rest, absInt(q.SizeLots))
			rest -= take
			ev = e.fundTrade(cmd, ev, a, m, closerBuys, take, bp, CauseADL)
		}
	}
	if rest != 0 && (!fund || e.fundBudget > 0) {
		panic(fmt.Errorf("engine: auto-deleveraging in market %d left %d lots of account %d: open interest out of balance", m, rest, a))
	}
	return ev, bp
}

// marginCallEvent reports that a pool crossed the margin-call level, with
// its margin balance, maintenance margin and ratio.
func (e *Engine) marginCallEvent(cmd *Command, ev []Event, c callNote) []Event {
	ps := e.accountPositions(c.acct)
	var balance, maint int64
	mode := clearing.Isolated
	if c.cross {
		mode = clearing.Cross
		balance, _ = e.ledger.Wallet(c.acct)
	}
	for m := range ps {
		p := &ps[m]
		if p.SizeLots == 0 || (c.cross && p.Mode != clearing.Cross) || (!c.cross && MarketID(m) != c.m) {
			continue
		}
		if !c.cross {
			balance = p.IsolatedMarginQuote
		}
		u, mm, err := e.figuresAt(p, e.markets[m].markTicks)
		if err != nil {
			return ev
		}
		balance, maint = satAdd(balance, u), satAdd(maint, mm)
	}
	ev, x := push(ev)
	x.Kind, x.Seq, x.Account, x.Market, x.Mode = EventMarginCall, cmd.Seq, c.acct, c.m, mode
	x.BalanceQuote, x.AmountQuote = balance, maint
	if balance > 0 {
		if r, err := fixed.MulDiv(maint, 1_000_000, balance, fixed.RoundUp); err == nil {
			x.RatePpm = r
		}
	}
	return ev
}

// ADLRank is the auto-deleveraging rank of account a's position in market
// m, as venues show it: its quintile among the positions on its side by
// the ranking score (adlScore), 5 for the top fifth (deleveraged first) to
// 1 for the bottom. ok is false without a position. It ranks every
// position on that side: O(positions), for queries, not the hot path.
func (e *Engine) ADLRank(a AccountID, m MarketID) (rank int, ok bool) {
	if int(m) >= len(e.markets) || int(a) >= e.ledger.NumAccounts() {
		return 0, false
	}
	var p clearing.Position
	e.ledger.ReadPosition(a, m, &p)
	if p.SizeLots == 0 || e.isFund(a) {
		return 0, false
	}
	mine := e.adlScore(&p)
	long := p.SizeLots > 0
	e.posBuf = e.ledger.OpenPositions(m, e.posBuf[:0])
	n, ahead := 0, 0
	for i := range e.posBuf {
		q := &e.posBuf[i]
		if q.SizeLots == 0 || (q.SizeLots > 0) != long || e.isFund(q.Account) {
			continue
		}
		n++
		// Ranked ahead: a higher score, or the same score and a lower
		// account id (the order deleverageAt walks).
		if s := e.adlScore(q); s > mine || s == mine && q.Account < a {
			ahead++
		}
	}
	// ahead of n: the top fifth (ahead < n/5) is rank 5.
	return 5 - ahead*5/n, true
}
