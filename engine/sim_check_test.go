package engine_test

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
	"github.com/paperperps/exchange/orderbook"
)

// The checks of TestSimulation. They use the engine's exported queries, the
// ledger's and the margin package's formulas, and a mirror of wallets and
// positions kept from the events alone; nothing of the engine's own risk
// code.

func (s *sim) addAccount() {
	s.nAccounts++
	s.wallets = append(s.wallets, 0)
	s.swept = append(s.swept, 0)
	for range s.nm {
		s.pos = append(s.pos, simPos{})
		s.lev = append(s.lev, s.defaultLeverage)
		s.lastPosEv = append(s.lastPosEv, 0)
	}
}

func (s *sim) knownAccount(a engine.AccountID) {
	if int(a) >= s.nAccounts {
		s.fail("event for account %d, which does not exist", a)
	}
}

// checkEvents walks the command's events in order: it checks each one's
// shape and figures against the mirror at that point of the stream and
// keeps the mirror in step. It reports whether the command was refused.
func (s *sim) checkEvents(cmd *engine.Command, x simExpect, crossings, marksBefore [simMaxMarkets]int64, sizeBefore int64) bool {
	for _, k := range s.touched {
		s.lastPosEv[k] = 0
	}
	s.touched = s.touched[:0]
	s.resetTaker()
	s.in, s.ended = simIncoming{}, s.ended[:0]
	clear(s.makerFilled)
	switch {
	case cmd.Kind == engine.CmdPlaceOrder && cmd.Trigger == engine.TriggerNone:
		s.in = simIncoming{cmd: *cmd, sizeBefore: sizeBefore}
	case cmd.Kind == engine.CmdAmendOrder && s.amendFound:
		o := s.amendBefore
		s.in = simIncoming{placed: o.ID, amend: true, cmd: engine.Command{Kind: engine.CmdPlaceOrder, Account: cmd.Account,
			Market: cmd.Market, Side: o.Side, Type: orderbook.Limit, TIF: o.TIF, STP: o.STP, PriceTicks: cmd.PriceTicks, QtyLots: cmd.QtyLots}}
		if int(cmd.Account) < s.nAccounts {
			s.in.sizeBefore = s.pos[s.slot(cmd.Account, cmd.Market)].size
		}
	}
	openBefore := s.openPos
	var fundings [simMaxMarkets]int
	marks := marksBefore // as the mark events so far left them
	rejected, others, stopPlaced := false, false, false
	fillsSinceMark, markEvents := 0, 0
	for i := range s.ev {
		ev := &s.ev[i]
		if ev.Seq != cmd.Seq {
			s.fail("event %d has seq %d", i, ev.Seq)
		}
		if rejected {
			s.fail("events after the rejection")
		}
		if s.side != sideNone && ev.Kind != engine.EventPosition && !(ev.Kind == engine.EventBalance && ev.Cause == engine.CauseTrade) {
			s.fail("a fill's maker side must be reported (balance, position) right after it")
		}
		if ev.Kind != engine.EventFunding {
			others = true
		} else if others {
			s.fail("funding after the command's own events: what falls due must happen first")
		}
		switch ev.Kind {
		case engine.EventRejected:
			rejected = true
			if int(ev.Reason) < len(s.stats.rejections) {
				s.stats.rejections[ev.Reason]++
			}
			if ev.Command != cmd.Kind {
				s.fail("rejection names command %v", ev.Command)
			}
			if x.accept {
				s.fail("a valid command was refused: %v\n%+v", ev.Reason, *cmd)
			}
			if x.reject && x.reasons != 0 && (ev.Reason >= 64 || x.reasons&(1<<ev.Reason) == 0) {
				s.fail("refused for %v, want %s\n%+v", ev.Reason, reasonSet(x.reasons), *cmd)
			}
		case engine.EventAccountCreated:
			if cmd.Kind != engine.CmdCreateAccount || int(ev.Account) != s.nAccounts {
				s.fail("account %d created (%d exist)", ev.Account, s.nAccounts)
			}
			s.addAccount()
		case engine.EventBalance:
			s.checkBalance(cmd, ev)
		case engine.EventSettings:
			s.knownAccount(ev.Account)
			if cmd.Kind != engine.CmdSetLeverage && cmd.Kind != engine.CmdSetMarginMode ||
				ev.Account != cmd.Account || ev.Market != cmd.Market {
				s.fail("settings event for another command")
			}
			k := s.slot(ev.Account, ev.Market)
			if cmd.Kind == engine.CmdSetLeverage && ev.Leverage != cmd.Leverage ||
				cmd.Kind == engine.CmdSetMarginMode && (ev.Mode != cmd.Mode || ev.Leverage != s.lev[k]) {
				s.fail("settings %d/%v, asked for %d/%v", ev.Leverage, ev.Mode, cmd.Leverage, cmd.Mode)
			}
			if ev.Mode != s.pos[k].mode {
				s.stats.modeSwitches++
			}
			if cmd.Kind == engine.CmdSetLeverage {
				s.checkLeverage(cmd, s.lev[k])
			}
			s.lev[k], s.pos[k].mode = ev.Leverage, ev.Mode
			if ev.Mode == clearing.Cross && s.pos[k].iso != 0 {
				s.fail("switched to cross keeping %d of isolated margin", s.pos[k].iso)
			}
		case engine.EventOrderAccepted:
			if cmd.Kind != engine.CmdPlaceOrder || s.in.placed != 0 || stopPlaced || ev.Account != cmd.Account || ev.Market != cmd.Market ||
				ev.Side != cmd.Side || ev.ClientOrderID != cmd.ClientOrderID {
				s.fail("order accepted for another command")
			}
			if ev.OrderID <= s.lastID {
				s.fail("order id %d after %d: ids must increase", ev.OrderID, s.lastID)
			}
			s.lastID = ev.OrderID
			if cmd.Trigger != engine.TriggerNone {
				if ev.Trigger != cmd.Trigger || ev.TriggerBy != cmd.TriggerBy || ev.TriggerTicks != cmd.TriggerTicks || ev.QtyLots != cmd.QtyLots {
					s.fail("conditional order accepted as %v", ev)
				}
				s.stops[ev.OrderID] = *cmd
				stopPlaced = true
			} else {
				s.in.placed, s.in.acceptedQty = ev.OrderID, ev.QtyLots
			}
			s.stats.accepted++
		case engine.EventOrderTriggered:
			s.endIncoming()
			st, ok := s.stops[ev.OrderID]
			if !ok || ev.Market != cmd.Market || ev.Account != st.Account || ev.ClientOrderID != st.ClientOrderID {
				s.fail("triggered order %d is not a waiting conditional order of this market", ev.OrderID)
			}
			delete(s.stops, ev.OrderID)
			if rises := st.Trigger == engine.TriggerStop == (st.Side == orderbook.Buy); rises && ev.PriceTicks < st.TriggerTicks ||
				!rises && ev.PriceTicks > st.TriggerTicks {
				s.fail("conditional order %d (%v %v, trigger %d) fired at %d", ev.OrderID, st.Trigger, st.Side, st.TriggerTicks, ev.PriceTicks)
			}
			c := st
			c.Trigger, c.TriggerBy, c.TriggerTicks = engine.TriggerNone, 0, 0
			size := s.pos[s.slot(c.Account, c.Market)].size
			qty := c.QtyLots
			if c.ReduceOnly && size != 0 {
				qty = min(qty, abs64(size))
			}
			if ev.QtyLots != qty {
				s.fail("conditional order %d of %d lots (reduce-only %t, position %d) triggered with %d", ev.OrderID, c.QtyLots, c.ReduceOnly, size, ev.QtyLots)
			}
			s.in = simIncoming{cmd: c, placed: ev.OrderID, acceptedQty: qty, sizeBefore: size, triggered: true}
			s.stats.triggered++
		case engine.EventOrderCancelled:
			if int(ev.Reason) < len(s.stats.cancelled) {
				s.stats.cancelled[ev.Reason]++
			}
			if ev.Reason == engine.ReasonFOKNotFilled && (ev.OrderID != s.in.placed || s.in.filled != 0) {
				s.fail("FOK order cancelled after fills")
			}
			if _, ok := s.stops[ev.OrderID]; ok {
				delete(s.stops, ev.OrderID)
				if cmd.Kind != engine.CmdCancelOrder && cmd.Kind != engine.CmdCancelAll {
					s.fail("conditional order %d cancelled by a %v", ev.OrderID, cmd.Kind)
				}
			}
			if s.in.triggered && ev.OrderID == s.in.placed && s.in.filled == 0 && !s.in.refused && ev.QtyLots == s.in.cmd.QtyLots &&
				ev.Reason != engine.ReasonUnfilledRemainder && ev.Reason != engine.ReasonFOKNotFilled && ev.Reason != engine.ReasonSelfTrade &&
				ev.Reason != engine.ReasonReduceOnly {
				s.in.refused = true // refused as it triggered: it never entered the book
			}
			if ev.Reason == engine.ReasonReduceOnly && (!s.roOrders[ev.OrderID] && ev.OrderID != s.in.placed || ev.Account != s.in.cmd.Account) {
				s.fail("order %d of account %d cancelled as reduce-only", ev.OrderID, ev.Account)
			}
			delete(s.roOrders, ev.OrderID)
		case engine.EventOrderAmended:
			switch {
			case ev.Reason == engine.ReasonReduceOnly:
				if !s.roOrders[ev.OrderID] && ev.OrderID != s.in.placed || ev.Account != s.in.cmd.Account {
					s.fail("order %d of account %d cut as reduce-only", ev.OrderID, ev.Account)
				}
				s.stats.roCuts++
			case cmd.Kind != engine.CmdAmendOrder || ev.OrderID != s.in.placed || ev.PriceTicks != cmd.PriceTicks || ev.QtyLots > cmd.QtyLots:
				s.fail("amended event %v for %+v", ev, *cmd)
			}
		case engine.EventFill:
			s.checkFill(&s.in.cmd, ev, s.in.placed)
			s.in.filled += ev.QtyLots
			s.makerFilled[ev.MakerOrderID] += ev.QtyLots
			fillsSinceMark++
			if s.takerDone {
				// The engine reported the taker's fills so far because
				// another balance event of its account was due (a
				// self-trade, or isolated margin moved in): the fills
				// that follow form a new window.
				s.takerFees, s.takerFills, s.takerDone, s.takerMixed = 0, 0, false, false
			}
			s.fill, s.side, s.tradeBal = ev, sideMaker, 0
			s.fillMakerRO = s.roOrders[ev.MakerOrderID]
			if ev.Account == ev.MakerAccount {
				s.side = sideSelf
				s.takerMixed = s.takerMixed || s.takerFills > 0
			} else {
				s.takerFees += ev.FeeQuote
				s.takerFills++
			}
		case engine.EventPosition:
			if cmd.Kind != engine.CmdAdjustIsolatedMargin {
				s.checkTradeSide(&s.in.cmd, ev)
			}
			s.checkPosition(cmd, i, ev)
		case engine.EventMarkPrice:
			// A new index moves the mark; so does a trade (the last price
			// is one of its components), reported after the trades of
			// each incoming order.
			switch {
			case ev.Market != cmd.Market || ev.PriceTicks < 1:
				s.fail("mark event %d in market %d", ev.PriceTicks, ev.Market)
			case cmd.Kind == engine.CmdSetIndexPrice && markEvents == 0:
				if ev.IndexTicks != cmd.PriceTicks {
					s.fail("mark event with index %d for index %d", ev.IndexTicks, cmd.PriceTicks)
				}
			case fillsSinceMark == 0:
				s.fail("mark event without a new index or a trade before it")
			case ev.PriceTicks == marks[ev.Market]:
				s.fail("mark event after a trade that did not move the mark")
			}
			marks[ev.Market], fillsSinceMark = ev.PriceTicks, 0
			markEvents++
		case engine.EventFunding:
			s.checkFunding(ev, marksBefore)
			fundings[ev.Market]++
		default:
			s.fail("unknown event kind %v", ev.Kind)
		}
	}
	s.endIncoming()
	for i := range s.ended {
		s.checkRests(&s.ended[i])
	}
	if cmd.Kind == engine.CmdSetIndexPrice && !rejected && markEvents == 0 {
		s.fail("a new index without a mark event")
	}
	if int(cmd.Market) < s.nm {
		if _, mark := s.e.Mark(cmd.Market); mark != marks[cmd.Market] {
			s.fail("the mark moved from %d to %d without an event", marks[cmd.Market], mark)
		}
	}
	switch {
	case x.reject && !rejected:
		s.fail("an invalid command was accepted (want %s)\n%+v", reasonSet(x.reasons), *cmd)
	case x.reject:
		s.stats.invalidRefused++
	case x.accept:
		s.stats.validAccepted++
	}
	s.checkFundingDue(crossings, marksBefore, openBefore, fundings)
	return rejected
}

func (s *sim) resetTaker() {
	s.fill, s.side, s.tradeBal = nil, sideNone, 0
	s.takerFees, s.takerFills, s.takerDone, s.takerMixed = 0, 0, false, false
}

// endIncoming checks what the incoming order did once its events are over
// (the command's end, or the next conditional order firing).
func (s *sim) endIncoming() {
	if s.takerFills > 0 && !s.takerDone {
		s.fail("the taker's position was not reported after its fills")
	}
	s.resetTaker()
	if in := &s.in; in.placed != 0 && !in.amend && !in.refused {
		s.checkOrder(&in.cmd, in.placed, in.acceptedQty, in.filled, in.sizeBefore)
		s.ended = append(s.ended, *in)
	}
	s.in = simIncoming{}
}

// checkLeverage: an accepted leverage is within the bracket of the
// position's notional at the mark (the engine checks the larger notional
// its orders could reach), and a lower one still leaves an isolated
// position its initial margin.
func (s *sim) checkLeverage(cmd *engine.Command, old int64) {
	p := s.pos[s.slot(cmd.Account, cmd.Market)]
	mk := &s.markets[cmd.Market]
	_, mark := s.e.Mark(cmd.Market)
	n, err := notional(abs64(p.size), mark, mk.Grid.QuotePerTickLot())
	if err != nil || cmd.Leverage > mk.Brackets.MaxLeverage(n) {
		s.fail("leverage %dx accepted for a position of %d quote units (bracket allows %dx)", cmd.Leverage, n, mk.Brackets.MaxLeverage(n))
	}
	if cmd.Leverage < old && p.mode == clearing.Isolated && p.size != 0 {
		if need, err := margin.InitialMargin(abs64(p.entry), cmd.Leverage); err != nil || need > p.iso {
			s.fail("leverage lowered to %dx: initial margin %d, isolated margin %d", cmd.Leverage, need, p.iso)
		}
	}
	s.stats.leverageChanges++
}

func reasonSet(bits uint64) string {
	if bits == 0 {
		return "any reason"
	}
	var names []string
	for r := range 64 {
		if bits&(1<<r) != 0 {
			names = append(names, engine.Reason(r).String())
		}
	}
	return "{" + strings.Join(names, ", ") + "}"
}

func (s *sim) checkBalance(cmd *engine.Command, ev *engine.Event) {
	a := ev.Account
	s.knownAccount(a)
	if want := s.wallets[a] + ev.AmountQuote; ev.BalanceQuote != want {
		s.fail("balance of account %d: %d + %d is not %d", a, s.wallets[a], ev.AmountQuote, ev.BalanceQuote)
	}
	s.wallets[a] = ev.BalanceQuote
	switch ev.Cause {
	case engine.CauseDeposit:
		if cmd.Kind != engine.CmdDeposit || a != cmd.Account || ev.AmountQuote != cmd.AmountQuote {
			s.fail("deposit event for another command")
		}
	case engine.CauseWithdrawal:
		if cmd.Kind != engine.CmdWithdraw || a != cmd.Account || ev.AmountQuote != -cmd.AmountQuote {
			s.fail("withdrawal event for another command")
		}
	case engine.CauseIsolatedMargin:
		k := s.slot(a, cmd.Market)
		s.pos[k].iso -= ev.AmountQuote
		if s.pos[k].iso < 0 {
			s.fail("isolated margin of account %d went to %d", a, s.pos[k].iso)
		}
		if cmd.Kind == engine.CmdAdjustIsolatedMargin && ev.AmountQuote != -cmd.AmountQuote {
			s.fail("moved %d, asked for %d", -ev.AmountQuote, cmd.AmountQuote)
		}
	case engine.CauseTrade:
		if s.fill == nil {
			s.fail("trade balance change before any fill")
		}
		if s.pos[s.slot(a, cmd.Market)].mode == clearing.Isolated && ev.AmountQuote < 0 {
			s.fail("a trade of an isolated position took %d from account %d's wallet", -ev.AmountQuote, a)
		}
		switch {
		case s.side == sideMaker && a == s.fill.MakerAccount, s.side == sideSelf && a == s.fill.Account,
			s.side == sideNone && a == s.in.cmd.Account && s.takerFills > 0 && !s.takerDone:
		default:
			s.fail("trade balance change of account %d outside its side of a fill", a)
		}
		s.tradeBal = ev.AmountQuote
	default:
		s.fail("balance change with cause %v", ev.Cause)
	}
}

func (s *sim) checkFill(cmd *engine.Command, ev *engine.Event, placed orderbook.OrderID) {
	if cmd.Kind != engine.CmdPlaceOrder || ev.OrderID != placed || ev.Account != cmd.Account ||
		ev.Market != cmd.Market || ev.Side != cmd.Side {
		s.fail("fill for another command")
	}
	s.knownAccount(ev.MakerAccount)
	if ev.QtyLots <= 0 || ev.PriceTicks <= 0 {
		s.fail("fill of %d lots at %d", ev.QtyLots, ev.PriceTicks)
	}
	if cmd.Type == orderbook.Limit || cmd.PriceTicks > 0 {
		if cmd.Side == orderbook.Buy && ev.PriceTicks > cmd.PriceTicks || cmd.Side == orderbook.Sell && ev.PriceTicks < cmd.PriceTicks {
			s.fail("fill at %d beyond the order's limit %d", ev.PriceTicks, cmd.PriceTicks)
		}
	}
	mk := &s.markets[cmd.Market]
	value, err := notional(ev.QtyLots, ev.PriceTicks, mk.Grid.QuotePerTickLot())
	if err != nil {
		s.fail("fill value: %v", err)
	}
	taker, err1 := fixed.ApplyPpm(value, mk.TakerFeePpm, fixed.RoundUp)
	maker, err2 := fixed.ApplyPpm(value, mk.MakerFeePpm, fixed.RoundUp)
	if err1 != nil || err2 != nil || ev.FeeQuote != taker || ev.MakerFeeQuote != maker {
		s.fail("fees %d/%d, want %d/%d on %d", ev.FeeQuote, ev.MakerFeeQuote, taker, maker, value)
	}
	if ev.MakerAccount == ev.Account {
		s.stats.selfTrades++
		if cmd.STP != orderbook.STPNone {
			s.fail("self-trade despite STP %v", cmd.STP)
		}
	}
	s.stats.fills++
	s.stats.fillLots[cmd.Market] += ev.QtyLots
	s.stats.fillQuote[cmd.Market] += value
}

// checkOrder: what an accepted order did, against its type.
func (s *sim) checkOrder(cmd *engine.Command, id orderbook.OrderID, qty, filled, sizeBefore int64) {
	want := cmd.QtyLots
	if cmd.ReduceOnly {
		want = min(want, abs64(sizeBefore))
	}
	if qty != want {
		s.fail("order accepted for %d lots, want %d", qty, want)
	}
	if filled > qty {
		s.fail("order of %d lots filled %d", qty, filled)
	}
	if cmd.TIF == orderbook.FOK && filled != 0 && filled != qty {
		s.fail("FOK order of %d lots filled %d", qty, filled)
	}
	if cmd.TIF == orderbook.PostOnly && filled != 0 {
		s.fail("post-only order took %d lots", filled)
	}
	if cmd.ReduceOnly {
		after := s.pos[s.slot(cmd.Account, cmd.Market)].size
		if abs64(after) > abs64(sizeBefore) || after != 0 && (after > 0) != (sizeBefore > 0) {
			s.fail("reduce-only order took the position from %d to %d", sizeBefore, after)
		}
		if cmd.TIF == orderbook.GTC || cmd.TIF == orderbook.PostOnly {
			s.roOrders[id] = true // it may rest
		}
	}
}

// checkRests: at the command's end, an order that entered the book in it
// rests with what neither it took nor later orders took from it (a
// reduce-only order possibly cut to fit the position), or not at all.
func (s *sim) checkRests(in *simIncoming) {
	cmd, id := &in.cmd, in.placed
	ro, ok := s.e.Book(cmd.Market).Order(id)
	if !ok {
		return
	}
	if cmd.TIF != orderbook.GTC && cmd.TIF != orderbook.PostOnly {
		s.fail("a %v order rests", cmd.TIF)
	}
	left := in.acceptedQty - in.filled - s.makerFilled[id]
	if ro.RemainingLots != left && !(cmd.ReduceOnly && ro.RemainingLots < left) || ro.Account != orderbook.AccountID(cmd.Account) {
		s.fail("order %d rests with %d lots of %d after %d filled as taker and %d as maker", id, ro.RemainingLots, in.acceptedQty, in.filled, s.makerFilled[id])
	}
	s.resting[cmd.Market] = append(s.resting[cmd.Market], simOrder{id: id, account: cmd.Account, cid: cmd.ClientOrderID})
	s.stats.rested++
	if cmd.ReduceOnly {
		s.stats.roRested++
	}
}

// Which side of a fill the next trade events report.
const (
	sideNone  = iota // the taker's, once after its last fill (or nothing due)
	sideMaker        // the maker's, right after each fill
	sideSelf         // a self-trade's one account, right after the fill
)

// checkTradeSide matches a position event of a place command to the side
// of the fills it reports: each maker's right after its fill, the taker's
// once after its last fill (all its fills summed), a self-trade's once.
func (s *sim) checkTradeSide(cmd *engine.Command, ev *engine.Event) {
	switch {
	case s.side == sideMaker && ev.Account == s.fill.MakerAccount:
		if before := s.pos[s.slot(ev.Account, ev.Market)].size; s.fillMakerRO &&
			(abs64(ev.SizeLots) > abs64(before) || ev.SizeLots != 0 && (ev.SizeLots > 0) != (before > 0)) {
			s.fail("a reduce-only maker fill took the position from %d to %d", before, ev.SizeLots)
		}
		s.checkTrade(ev, s.fill.MakerFeeQuote, true, 1)
	case s.side == sideSelf && ev.Account == s.fill.Account:
		// Both sides in one position: left to the conservation check.
	case s.side == sideNone && ev.Account == cmd.Account && s.takerFills > 0 && !s.takerDone:
		s.checkTrade(ev, s.takerFees, s.takerFills == 1, 0)
		s.takerDone = true
	default:
		s.fail("position event of account %d out of its place among the fills", ev.Account)
	}
	s.side, s.tradeBal = sideNone, 0
}

// checkTrade: one side's fills moved money as its balance and position
// events say. A cross position's realized PnL less its fees moves the
// wallet, exactly. An isolated position's moves its isolated margin, which
// cannot go below 0 (the insurance fund pays the rest) and which a close
// returns to the wallet: exactly so for one fill; for a taker's several
// fills (a close between them releases margin the wallet reports only at
// the end) the wallet and margin together gain at least that.
func (s *sim) checkTrade(ev *engine.Event, fee int64, single bool, role int) {
	before := s.pos[s.slot(ev.Account, ev.Market)]
	net := ev.RealizedPnLQuote - fee
	if before.mode == clearing.Isolated && single && !(role == 0 && s.takerMixed) {
		s.checkFunded(ev, before, fee, role)
	}
	switch {
	case role == 0 && s.takerMixed:
		// A self-trade between the taker's fills: the engine reports the
		// taker's fills before it, so this cannot happen; kept as a guard
		// on the cross wallet should the reporting order change.
		if before.mode == clearing.Cross && s.tradeBal != net {
			s.fail("account %d (cross) realized %d and paid %d in fees: wallet moved %d", ev.Account, ev.RealizedPnLQuote, fee, s.tradeBal)
		}
		return
	case before.mode == clearing.Cross:
		if s.tradeBal != net || ev.IsolatedMarginQuote != 0 {
			s.fail("account %d (cross) realized %d and paid %d in fees: wallet moved %d", ev.Account, ev.RealizedPnLQuote, fee, s.tradeBal)
		}
	case single:
		wantWallet, wantIso := int64(0), max(0, before.iso+net)
		if ev.SizeLots == 0 {
			wantWallet, wantIso = wantIso, 0
		} else if (ev.SizeLots > 0) == (before.size > 0) && abs64(ev.SizeLots) < abs64(before.size) {
			// A partial close releases the closed share of the margin
			// (rounded down), net of the closed part's PnL and fee.
			closed := abs64(before.size) - abs64(ev.SizeLots)
			share := new(big.Int).Div(new(big.Int).Mul(big.NewInt(before.iso), big.NewInt(closed)), big.NewInt(abs64(before.size))).Int64()
			if d := net + share; d > 0 {
				wantWallet, wantIso = d, before.iso-share
			} else {
				wantIso = max(0, before.iso-share+d)
			}
		}
		if s.tradeBal != wantWallet || ev.IsolatedMarginQuote != wantIso {
			s.fail("account %d (isolated, margin %d before) realized %d and paid %d: wallet moved %d, isolated margin now %d; want %d and %d",
				ev.Account, before.iso, ev.RealizedPnLQuote, fee, s.tradeBal, ev.IsolatedMarginQuote, wantWallet, wantIso)
		}
	default:
		if s.tradeBal+ev.IsolatedMarginQuote-before.iso < net || ev.SizeLots == 0 && ev.IsolatedMarginQuote != 0 {
			s.fail("account %d (isolated, margin %d before) realized %d and paid %d over several fills: wallet moved %d, isolated margin now %d",
				ev.Account, before.iso, ev.RealizedPnLQuote, fee, s.tradeBal, ev.IsolatedMarginQuote)
		}
	}
	s.stats.tradesChecked++
}

// checkFunded counts isolated positions a fill opened, grew or flipped
// without their initial margin: the wallet could not fund it. Without
// liquidation (not built yet) an account can lose its wallet to cross
// losses after its order was accepted; this is an observation, not a
// failure.
func (s *sim) checkFunded(ev *engine.Event, before simPos, fee int64, role int) {
	grew := abs64(ev.EntryValueQuote) > abs64(before.entry) || before.size != 0 && (ev.SizeLots > 0) != (before.size > 0)
	if ev.SizeLots == 0 || !grew {
		return
	}
	lev := s.lev[s.slot(ev.Account, ev.Market)]
	need, err := margin.InitialMargin(abs64(ev.EntryValueQuote), lev)
	if err != nil || ev.IsolatedMarginQuote+fee-ev.RealizedPnLQuote >= need {
		return
	}
	s.stats.underfunded[role]++
	if s.stats.underfundedEx[role] == "" {
		s.stats.underfundedEx[role] = fmt.Sprintf("command #%d: account %d %s: isolated margin %s USDT after the fill (fees %s, realized %s), initial margin %s USDT at %dx; wallet %s USDT",
			s.n, ev.Account, s.markets[ev.Market].Symbol, fixed.QuoteAmount(ev.IsolatedMarginQuote), fixed.QuoteAmount(fee),
			fixed.QuoteAmount(ev.RealizedPnLQuote), fixed.QuoteAmount(need), lev, fixed.QuoteAmount(s.wallets[ev.Account]))
	}
}

func (s *sim) checkPosition(cmd *engine.Command, i int, ev *engine.Event) {
	s.knownAccount(ev.Account)
	if ev.Market != cmd.Market {
		s.fail("position event in market %d for a command in %d", ev.Market, cmd.Market)
	}
	k := s.slot(ev.Account, ev.Market)
	p := &s.pos[k]
	if ev.Mode != p.mode {
		s.fail("position event in mode %v, the account's is %v", ev.Mode, p.mode)
	}
	wasOpen := p.size != 0
	p.size, p.entry, p.iso = ev.SizeLots, ev.EntryValueQuote, ev.IsolatedMarginQuote
	switch {
	case p.iso < 0:
		s.fail("negative isolated margin")
	case p.mode == clearing.Cross && p.iso != 0:
		s.fail("a cross position holds isolated margin")
	case p.size == 0 && p.entry != 0, p.size > 0 && p.entry <= 0, p.size < 0 && p.entry >= 0:
		s.fail("size %d with entry value %d", p.size, p.entry)
	}
	if isOpen := p.size != 0; isOpen != wasOpen {
		d := 1
		if !isOpen {
			d = -1
		}
		s.openPos[ev.Market] += d
		total := 0
		for m := range s.nm {
			total += s.openPos[m]
		}
		s.stats.maxOpen = max(s.stats.maxOpen, total)
		s.stats.maxOpenMarket[ev.Market] = max(s.stats.maxOpenMarket[ev.Market], s.openPos[ev.Market])
	}
	if s.lastPosEv[k] == 0 {
		s.touched = append(s.touched, k)
	}
	s.lastPosEv[k] = int32(i + 1)

	// The liquidation price from the state at this point of the stream:
	// this position as the event shows it, the wallet as the balance
	// events before it left it, the other positions as mirrored.
	var ps [simMaxMarkets]simPos
	copy(ps[:], s.pos[int(ev.Account)*s.nm:])
	in, err := s.liqInput(int(ev.Market), s.wallets[ev.Account], &ps)
	s.checkLiq("event", ev, in, err)

	if p.size != 0 {
		mk := &s.markets[ev.Market]
		if lev := s.lev[k]; lev > mk.Brackets.MaxLeverage(abs64(p.entry)) {
			s.stats.aboveBracket++
			if s.stats.aboveBracketEx == "" {
				s.stats.aboveBracketEx = fmt.Sprintf("command #%d: account %d %s %v size %s entry value %s USDT at %dx (bracket allows %dx)",
					s.n, ev.Account, mk.Symbol, p.mode, mk.Grid.Qty(p.size), fixed.QuoteAmount(p.entry), lev, mk.Brackets.MaxLeverage(abs64(p.entry)))
			}
		}
	}
}

// liqInput describes position m of an account whose positions are ps and
// wallet is wallet, as the issue defines the liquidation price: an isolated
// position is backed by its own margin; a cross one by the wallet, less the
// other cross positions' maintenance, plus their unrealized PnL, at their
// marks.
func (s *sim) liqInput(m int, wallet int64, ps *[simMaxMarkets]simPos) (margin.LiqInput, error) {
	p := ps[m]
	mk := &s.markets[m]
	in := margin.LiqInput{Side: margin.Long, SizeLots: p.size, EntryValueQuote: p.entry,
		QuotePerTickLot: mk.Grid.QuotePerTickLot(), Brackets: mk.Brackets, WalletQuote: p.iso}
	if p.size < 0 {
		in.Side, in.SizeLots, in.EntryValueQuote = margin.Short, -p.size, -p.entry
	}
	if p.mode != clearing.Cross {
		return in, nil
	}
	in.WalletQuote = wallet
	for o := range s.nm {
		q := ps[o]
		if o == m || q.size == 0 || q.mode != clearing.Cross {
			continue
		}
		_, mark := s.e.Mark(engine.MarketID(o))
		side := margin.Long
		if q.size < 0 {
			side = margin.Short
		}
		qptl := s.markets[o].Grid.QuotePerTickLot()
		upnl, err := margin.UnrealizedPnL(side, abs64(q.size), mark, abs64(q.entry), qptl)
		if err != nil {
			return in, err
		}
		n, err := notional(abs64(q.size), mark, qptl)
		if err != nil {
			return in, err
		}
		mm, err := s.markets[o].Brackets.MaintenanceMargin(n)
		if err != nil {
			return in, err
		}
		if in.OtherUnrealizedQuote, err = fixed.Add(in.OtherUnrealizedQuote, upnl); err != nil {
			return in, err
		}
		if in.OtherMaintQuote, err = fixed.Add(in.OtherMaintQuote, mm); err != nil {
			return in, err
		}
	}
	return in, nil
}

// checkLiq compares a shown liquidation price with margin.LiquidationPrice
// of in (0 when there is none), then checks the price's defining property
// with the liquidation test itself.
func (s *sim) checkLiq(where string, ev *engine.Event, in margin.LiqInput, inErr error) {
	var want int64
	var lp int64
	var ok bool
	err := inErr
	if in.SizeLots != 0 && err == nil {
		lp, ok, err = margin.LiquidationPrice(in)
		if err == nil && ok {
			want = lp
		}
	}
	if ev.LiqPriceTicks != want {
		s.fail("%s: liquidation price shown %d, recomputed %d (ok=%v err=%v) from %s", where, ev.LiqPriceTicks, want, ok, err, liqString(in))
	}
	s.stats.liqChecked++
	if want == 0 {
		s.stats.liqNone++
	}
	if in.SizeLots == 0 || err != nil {
		return
	}
	at := func(price int64) (liq, valid bool) { return liquidatableAt(in, price) }
	bad := func(what string) {
		s.fail("%s: liquidation price %d (ok=%v): %s; input %s", where, lp, ok, what, liqString(in))
	}
	checked := false
	switch {
	case in.Side == margin.Long && ok:
		if l, v := at(lp); v {
			checked = true
			if l {
				bad("liquidatable at the price itself")
			}
		}
		if l, v := at(lp - 1); v && !l {
			bad("not liquidatable one tick below")
		}
	case in.Side == margin.Long:
		if l, v := at(1); v {
			checked = true
			if l {
				bad("no price shown, but liquidatable at 1 tick")
			}
		}
	case ok && lp > 0:
		if l, v := at(lp); v {
			checked = true
			if l {
				bad("liquidatable at the price itself")
			}
		}
		if l, v := at(lp + 1); v && !l {
			bad("not liquidatable one tick above")
		}
	case ok:
		if l, v := at(1); v {
			checked = true
			if !l {
				bad("shown as liquidatable at every price, but safe at 1 tick")
			}
		}
	}
	if checked {
		s.stats.liqProperty++
	}
}

func liqString(in margin.LiqInput) string {
	return fmt.Sprintf("{%v size=%d entry=%d wallet=%d other-maint=%d other-unrealized=%d qptl=%d}", in.Side, in.SizeLots,
		in.EntryValueQuote, in.WalletQuote, in.OtherMaintQuote, in.OtherUnrealizedQuote, in.QuotePerTickLot)
}

// liquidatableAt runs the liquidation test on in with its own market at
// price and everything else fixed; valid is false when the price is not one
// or the figures overflow.
func liquidatableAt(in margin.LiqInput, price int64) (liq, valid bool) {
	if price < 1 {
		return false, false
	}
	upnl, err := margin.UnrealizedPnL(in.Side, in.SizeLots, price, in.EntryValueQuote, in.QuotePerTickLot)
	if err != nil {
		return false, false
	}
	n, err := notional(in.SizeLots, price, in.QuotePerTickLot)
	if err != nil {
		return false, false
	}
	mm, err := in.Brackets.MaintenanceMargin(n)
	if err != nil {
		return false, false
	}
	u, err1 := fixed.Add(upnl, in.OtherUnrealizedQuote)
	t, err2 := fixed.Add(mm, in.OtherMaintQuote)
	if err1 != nil || err2 != nil {
		return false, false
	}
	return margin.Liquidatable(in.WalletQuote, u, t), true
}

func notional(lots, priceTicks, qptl int64) (int64, error) {
	v, err := fixed.Mul(lots, priceTicks)
	if err != nil {
		return 0, err
	}
	return fixed.Mul(v, qptl)
}

func (s *sim) checkFunding(ev *engine.Event, marksBefore [simMaxMarkets]int64) {
	s.knownAccount(ev.Account)
	k := s.slot(ev.Account, ev.Market)
	p := &s.pos[k]
	if p.size == 0 || ev.Mode != p.mode {
		s.fail("funding for a position of size %d in mode %v", p.size, p.mode)
	}
	paid, err := margin.FundingPayment(p.size, marksBefore[ev.Market], ev.RatePpm, s.markets[ev.Market].Grid.QuotePerTickLot())
	if err != nil || ev.AmountQuote != -paid {
		s.fail("funding of %d lots at mark %d and rate %d ppm: %d, want %d (%v)", p.size, marksBefore[ev.Market], ev.RatePpm, ev.AmountQuote, -paid, err)
	}
	if p.mode == clearing.Cross {
		s.wallets[ev.Account] += ev.AmountQuote
		if ev.BalanceQuote != s.wallets[ev.Account] {
			s.fail("funding leaves wallet %d, mirrored %d", ev.BalanceQuote, s.wallets[ev.Account])
		}
	} else {
		p.iso = max(0, p.iso+ev.AmountQuote) // a shortfall is the insurance fund's
		if ev.BalanceQuote != p.iso {
			s.fail("funding leaves isolated margin %d, mirrored %d", ev.BalanceQuote, p.iso)
		}
	}
	s.stats.fundingPays++
}

// checkFundingDue: funding is paid exactly when the command's time passes
// a funding time, by every open position, once per funding time passed;
// each settlement's payments sum to at most 0 (the rounding remainder goes
// to the insurance fund) and lose less than a unit per position.
func (s *sim) checkFundingDue(crossings, marksBefore [simMaxMarkets]int64, openBefore [simMaxMarkets]int, fundings [simMaxMarkets]int) {
	i := 0
	for m := range s.nm {
		want := 0
		if crossings[m] > 0 && marksBefore[m] > 0 {
			want = int(crossings[m]) * openBefore[m]
			s.stats.fundingTimes += int(crossings[m])
		}
		if fundings[m] != want {
			s.fail("market %d: %d funding payments, want %d (%d funding times passed, %d open positions)",
				m, fundings[m], want, crossings[m], openBefore[m])
		}
		for range crossings[m] {
			if want == 0 {
				break
			}
			var sum int64
			rate := s.ev[i].RatePpm
			for range openBefore[m] {
				if s.ev[i].Kind != engine.EventFunding || s.ev[i].Market != engine.MarketID(m) || s.ev[i].RatePpm != rate {
					s.fail("funding events out of order at %d", i)
				}
				sum += s.ev[i].AmountQuote
				i++
			}
			if sum > 0 || -sum >= int64(openBefore[m]) {
				s.fail("market %d: funding payments sum to %d over %d positions", m, sum, openBefore[m])
			}
		}
	}
}

// checkState checks the ledger and the mirror after a command.
func (s *sim) checkState(cmd *engine.Command, rejected bool) {
	if err := s.l.CheckConservation(); err != nil {
		s.fail("%v", err)
	}
	if s.n%256 == 0 {
		// The whole-state check (books, ledger, open-order sums) costs
		// O(orders), so it runs every 256 commands.
		if err := s.e.CheckInvariants(); err != nil {
			s.fail("%v", err)
		}
	}
	for m := range s.nm {
		if long, short := s.l.OpenInterest(engine.MarketID(m)); long != short {
			s.fail("market %d: open interest long %d, short %d", m, long, short)
		}
	}
	if fund := s.l.InsuranceFundQuote(); fund < s.fund {
		s.stats.fundDrops++
		s.fund = fund
	} else {
		s.fund = fund
	}
	if s.l.NumAccounts() != s.nAccounts {
		s.fail("%d accounts, mirrored %d", s.l.NumAccounts(), s.nAccounts)
	}
	// Wallets and positions against the mirror built from the events:
	// every account after a refusal (it must have changed nothing the
	// events do not show) and every 64 commands; otherwise the accounts
	// the command named or its events touched, and a rotating few. A
	// change no event reported stays in the difference until a sweep
	// finds it.
	if rejected || s.fullSweep || s.n%64 == 0 {
		for a := range s.nAccounts {
			s.sweep(engine.AccountID(a))
		}
	} else {
		s.sweepOnce(cmd.Account)
		for i := range s.ev {
			s.sweepOnce(s.ev[i].Account)
			if s.ev[i].Kind == engine.EventFill {
				s.sweepOnce(s.ev[i].MakerAccount)
			}
		}
		for range min(4, s.nAccounts) {
			s.sweepNext = (s.sweepNext + 1) % s.nAccounts
			s.sweepOnce(engine.AccountID(s.sweepNext))
		}
	}
	// The last position event of each position changed by this command
	// against a recomputation from the ledger itself.
	var ps [simMaxMarkets]simPos
	for _, k := range s.touched {
		a, m := engine.AccountID(k/s.nm), k%s.nm
		for o := range s.nm {
			p, _ := s.l.Position(a, engine.MarketID(o))
			ps[o] = simPos{size: p.SizeLots, entry: p.EntryValueQuote, iso: p.IsolatedMarginQuote, mode: p.Mode}
		}
		w, _ := s.l.Wallet(a)
		in, err := s.liqInput(m, w, &ps)
		s.checkLiq("ledger after the command", &s.ev[s.lastPosEv[k]-1], in, err)
	}
}

func (s *sim) sweepOnce(a engine.AccountID) {
	if int(a) < s.nAccounts && s.swept[a] != s.n {
		s.swept[a] = s.n
		s.sweep(a)
	}
}

func (s *sim) sweep(a engine.AccountID) {
	w, ok := s.l.Wallet(a)
	if !ok || w != s.wallets[a] {
		s.fail("account %d: wallet %d, the events say %d", a, w, s.wallets[a])
	}
	s.stats.minWallet = min(s.stats.minWallet, w)
	base := int(a) * s.nm
	for m := range s.nm {
		p, _ := s.l.Position(a, engine.MarketID(m))
		q := s.pos[base+m]
		if p.Mode != q.mode || p.SizeLots != q.size || p.EntryValueQuote != q.entry || p.IsolatedMarginQuote != q.iso {
			s.fail("account %d market %d: ledger %+v, the events say %+v", a, m, p, q)
		}
		if p.IsolatedMarginQuote < 0 || p.Mode == clearing.Cross && p.IsolatedMarginQuote != 0 {
			s.fail("account %d market %d: isolated margin %d in mode %v", a, m, p.IsolatedMarginQuote, p.Mode)
		}
	}
}

// afterCommand checks the rules of accepted withdrawals and isolated margin
// removals from the state they left.
func (s *sim) afterCommand(cmd *engine.Command, rejected bool) {
	if rejected {
		return
	}
	switch {
	case cmd.Kind == engine.CmdWithdraw:
		// Only free collateral can leave: what stays covers the initial
		// margin of every cross position at its mark, so no cross position
		// can be liquidatable (maintenance is below initial margin within
		// the bracket's leverage).
		a := cmd.Account
		s.stats.withdrawals++
		if s.wallets[a] < 0 {
			s.fail("withdrawal left wallet %d", s.wallets[a])
		}
		var upnl, mm int64
		open, within := false, true
		for m := range s.nm {
			p := s.pos[s.slot(a, engine.MarketID(m))]
			if p.size == 0 || p.mode != clearing.Cross {
				continue
			}
			open = true
			_, mark := s.e.Mark(engine.MarketID(m))
			mk := &s.markets[m]
			side := margin.Long
			if p.size < 0 {
				side = margin.Short
			}
			u, err1 := margin.UnrealizedPnL(side, abs64(p.size), mark, abs64(p.entry), mk.Grid.QuotePerTickLot())
			n, err2 := notional(abs64(p.size), mark, mk.Grid.QuotePerTickLot())
			r, err3 := mk.Brackets.MaintenanceMargin(n)
			if err1 != nil || err2 != nil || err3 != nil {
				s.fail("figures of a cross position overflow")
			}
			upnl, mm = upnl+u, mm+r
			within = within && s.lev[s.slot(a, engine.MarketID(m))] <= mk.Brackets.MaxLeverage(n)
		}
		if open && within && margin.Liquidatable(s.wallets[a], upnl, mm) {
			s.fail("withdrawal left account %d liquidatable: wallet %d, unrealized %d, maintenance %d", a, s.wallets[a], upnl, mm)
		}
	case cmd.Kind == engine.CmdAdjustIsolatedMargin && cmd.AmountQuote < 0:
		// Removing may not go below the initial margin, losses counted.
		k := s.slot(cmd.Account, cmd.Market)
		p := s.pos[k]
		s.stats.removals++
		mk := &s.markets[cmd.Market]
		need, err := margin.InitialMargin(abs64(p.entry), s.lev[k])
		var upnl int64
		if p.size != 0 {
			_, mark := s.e.Mark(cmd.Market)
			side := margin.Long
			if p.size < 0 {
				side = margin.Short
			}
			upnl, err = margin.UnrealizedPnL(side, abs64(p.size), mark, abs64(p.entry), mk.Grid.QuotePerTickLot())
		}
		if err != nil || p.iso+min(upnl, 0) < need {
			s.fail("removal left isolated margin %d with unrealized %d under the initial margin %d", p.iso, upnl, need)
		}
	}
}

// simDigest is a cheap fingerprint of what a refused command must not
// change: the fee account and insurance fund, each market's prices, open
// interest and book summary, and the wallets and positions of the
// command's account and four others. (The sweep after a refusal compares
// every wallet and position besides.)
type simDigest struct {
	fees, fund int64
	accounts   int
	markets    [simMaxMarkets]simMarketDigest
	sample     [5]simAccountDigest
}

type simMarketDigest struct {
	index, mark, oiLong, oiShort int64
	bid, bidLots, ask, askLots   int64
	orders, accountOrders        int
	update                       uint64
}

type simAccountDigest struct {
	account engine.AccountID
	wallet  int64
	pos     [simMaxMarkets]clearing.Position
}

func (s *sim) digest(a engine.AccountID) simDigest {
	d := simDigest{fees: s.l.FeeAccountQuote(), fund: s.l.InsuranceFundQuote(), accounts: s.l.NumAccounts()}
	for m := range s.nm {
		id := engine.MarketID(m)
		b := s.e.Book(id)
		x := &d.markets[m]
		x.index, x.mark = s.e.Mark(id)
		x.oiLong, x.oiShort = s.l.OpenInterest(id)
		x.bid, x.bidLots, _ = b.BestBid()
		x.ask, x.askLots, _ = b.BestAsk()
		x.orders, x.update = b.Len(), b.UpdateID()
		if int(a) < d.accounts {
			x.accountOrders = b.AccountOrderCount(orderbook.AccountID(a))
		}
	}
	if d.accounts == 0 {
		return d
	}
	h := s.seq * 0x9e3779b97f4a7c15
	sample := [5]engine.AccountID{a}
	for i := 1; i < len(sample); i++ {
		sample[i] = engine.AccountID((h >> (16 * (i - 1)) & 0xffff) % uint64(d.accounts))
	}
	for i, x := range sample {
		if int(x) >= d.accounts {
			continue
		}
		y := &d.sample[i]
		y.account = x
		y.wallet, _ = s.l.Wallet(x)
		for m := range s.nm {
			y.pos[m], _ = s.l.Position(x, engine.MarketID(m))
		}
	}
	return d
}

// checkStopsWait: no conditional order waits whose trigger its price has
// reached (they fire within the command that moves the price).
func (s *sim) checkStopsWait() {
	for id, st := range s.stops {
		_, mark := s.e.Mark(st.Market)
		price := mark
		if st.TriggerBy == engine.TriggerByLast {
			price = s.e.LastTradePrice(st.Market)
		}
		rises := st.Trigger == engine.TriggerStop == (st.Side == orderbook.Buy)
		if price > 0 && (rises && price >= st.TriggerTicks || !rises && price <= st.TriggerTicks) {
			s.fail("conditional order %d (%v %v by %v at %d) still waits at price %d", id, st.Trigger, st.Side, st.TriggerBy, st.TriggerTicks, price)
		}
	}
}

// snapshotRoundTrip restores the engine from its snapshot, requires the
// same bytes and hash back, and goes on with the restored engine, so the
// rest of the run proves that a restored engine behaves the same.
func (s *sim) snapshotRoundTrip() {
	snap := s.e.AppendSnapshot(nil)
	r, err := engine.Restore(s.e.Config(), snap)
	if err != nil {
		s.fail("restore: %v", err)
	}
	if !bytes.Equal(r.AppendSnapshot(nil), snap) || r.StateHash() != s.e.StateHash() {
		s.fail("the restored engine differs")
	}
	s.e, s.l = r, r.Ledger()
	s.stats.restores++
}
