package engine_test

import (
	"fmt"
	"math"
	"time"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/orderbook"
)

// The command generator. It reads the engine only through its exported
// queries (marks, books) and the mirror, so the same seed gives the same
// commands exactly when the engine is deterministic.

const usdt = 1_000_000 // quote units per USDT

// next returns the next command: a queued step first, then the start-up
// (an index for every market, the accounts), then the random mix.
func (s *sim) next() (engine.Command, simExpect) {
	if len(s.queue) > 0 {
		step := s.queue[0]
		s.queue = s.queue[1:]
		return step()
	}
	if s.n < s.nm {
		c := s.cmd(engine.CmdSetIndexPrice, 0, engine.MarketID(s.n))
		c.PriceTicks = s.index[s.n]
		return c, mustAccept
	}
	if s.nAccounts < simAccounts || (s.nAccounts < simMaxAccounts && s.rng.IntN(4_000) == 0) {
		s.queueAccount()
		return s.next()
	}
	resting := 0
	for m := range s.nm {
		resting += s.e.Book(engine.MarketID(m)).Len()
	}
	s.stats.maxResting = max(s.stats.maxResting, resting)
	// Cancels keep the books a few hundred orders deep, not filling up
	// with orders the price has left behind.
	cancelShare := 200
	switch {
	case resting < 300:
		cancelShare = 60
	case resting > 1_500:
		cancelShare = 380
	}
	switch r := s.rng.IntN(1000); {
	case r < 25:
		return s.genIndex()
	case r < 35:
		c := s.cmd(engine.CmdClockTick, 0, 0)
		step := s.rng.Int64N(int64(2 * time.Minute))
		if s.rng.IntN(20) == 0 {
			step = s.rng.Int64N(int64(time.Hour))
		}
		s.now += step
		c.TsNanos = s.now
		return c, mustAccept
	case r < 55:
		c := s.cmd(engine.CmdDeposit, s.randAccount(), 0)
		c.AmountQuote = s.randUSDT(2, 5)
		return c, mustAccept
	case r < 70:
		return s.genWithdraw()
	case r < 80:
		m := s.randMarket()
		c := s.cmd(engine.CmdSetLeverage, s.randAccount(), m)
		c.Leverage = s.randLeverage(m)
		return c, mayReject
	case r < 87:
		a, m := s.randAccount(), s.randMarket()
		c := s.cmd(engine.CmdSetMarginMode, a, m)
		c.Mode = clearing.MarginMode(s.rng.IntN(2))
		return c, s.expectMode(a, m)
	case r < 90:
		s.queueModeSwitch()
		return s.next()
	case r < 110:
		return s.genAdjust()
	case r < 115:
		return s.cmd(engine.CmdCancelAll, s.randAccount(), s.randMarket()), mustAccept
	case r < 125:
		return s.genInvalid()
	case r < 165:
		if c, ok := s.genAmend(); ok {
			return c, mayReject
		}
	case r < 190:
		if c, ok := s.genStop(); ok {
			return c, mayReject
		}
	case r < 190+cancelShare:
		if c, ok := s.genCancel(); ok {
			return c, mustAccept
		}
	}
	return s.genPlace()
}

// newCID is a client order id never used before.
func (s *sim) newCID() engine.ClientOrderID {
	s.nextCID++
	c, err := engine.ParseClientOrderID(fmt.Sprintf("sim-%d", s.nextCID))
	if err != nil {
		s.fail("%v", err)
	}
	return c
}

// genAmend moves a resting order to a new price (mostly passive, sometimes
// across the book) and size, named by its id or its client order id.
func (s *sim) genAmend() (engine.Command, bool) {
	m := s.randMarket()
	list := s.resting[m]
	if len(list) == 0 {
		return engine.Command{}, false
	}
	o := list[s.rng.IntN(len(list))]
	ro, ok := s.e.Book(m).Order(o.id)
	if !ok || ro.Account != orderbook.AccountID(o.account) {
		return engine.Command{}, false
	}
	c := s.cmd(engine.CmdAmendOrder, o.account, m)
	c.OrderID = o.id
	if !o.cid.IsZero() && s.rng.IntN(2) == 0 {
		c.OrderID, c.ClientOrderID = 0, o.cid
		s.stats.byClientID++
	}
	_, mark := s.e.Mark(m)
	sign := int64(1)
	if ro.Side == orderbook.Sell {
		sign = -1
	}
	switch r := s.rng.IntN(10); {
	case r < 3:
		c.PriceTicks = ro.PriceTicks // size only
	case r < 8:
		c.PriceTicks = s.passive(mark, sign)
	default:
		c.PriceTicks = s.aggressive(mark, sign)
	}
	c.QtyLots = max(1, ro.QtyLots*(1+s.rng.Int64N(30))/16)
	s.stats.amends++
	return c, true
}

// genStop places a stop or take-profit order, watching the mark or the
// last price, with its trigger 0.05% to 3% away on the side that does not
// fire at once: a market or limit order, reduce-only when it closes a
// position half of the time.
func (s *sim) genStop() (engine.Command, bool) {
	a, m := s.randAccount(), s.randMarket()
	c := s.cmd(engine.CmdPlaceOrder, a, m)
	_, mark := s.e.Mark(m)
	c.TriggerBy = engine.TriggerByMark
	watched := mark
	if s.rng.IntN(2) == 0 {
		c.TriggerBy, watched = engine.TriggerByLast, s.e.LastTradePrice(m)
	}
	if watched == 0 || mark == 0 {
		return engine.Command{}, false
	}
	var sign int64
	c.Side, sign = s.randSide()
	c.Trigger = engine.TriggerStop
	if s.rng.IntN(2) == 0 {
		c.Trigger = engine.TriggerTakeProfit
	}
	dist := max(1, watched*(5+s.rng.Int64N(296))/10_000)
	if c.Trigger == engine.TriggerStop == (c.Side == orderbook.Buy) {
		c.TriggerTicks = watched + dist
	} else {
		c.TriggerTicks = max(1, watched-dist)
	}
	c.QtyLots = max(1, s.randLots(m, mark)/(1+s.rng.Int64N(4)))
	c.STP = s.randSTP()
	if p := s.pos[s.slot(a, m)]; p.size != 0 && s.rng.IntN(2) == 0 {
		c.ReduceOnly, c.Side, sign = true, orderbook.Buy, 1
		if p.size > 0 {
			c.Side, sign = orderbook.Sell, -1
		}
		if c.Trigger == engine.TriggerStop == (c.Side == orderbook.Buy) {
			c.TriggerTicks = watched + dist
		} else {
			c.TriggerTicks = max(1, watched-dist)
		}
	}
	switch r := s.rng.IntN(10); {
	case r < 5:
		c.Type, c.TIF = orderbook.Market, orderbook.IOC
	case r < 8:
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.GTC, s.aggressive(c.TriggerTicks, sign)
	default:
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.IOC, s.aggressive(c.TriggerTicks, sign)
	}
	if s.rng.IntN(3) == 0 {
		c.ClientOrderID = s.newCID()
	}
	s.stopIDs = append(s.stopIDs, s.lastID+1) // its id if accepted
	s.stats.stopsPlaced++
	return c, true
}

// stamp advances the clock by 0 to 2 s (a third of the commands share a
// time), with a rare jump of up to 6 hours: about a day of simulated time
// per 50,000 commands, so a run passes many 8-hour funding times.
func (s *sim) stamp() int64 {
	if s.rng.IntN(3) != 0 {
		s.now += s.rng.Int64N(int64(2 * time.Second))
	}
	if s.rng.IntN(20_000) == 0 {
		s.now += s.rng.Int64N(int64(6 * time.Hour))
	}
	return s.now
}

func (s *sim) cmd(k engine.CommandKind, a engine.AccountID, m engine.MarketID) engine.Command {
	return engine.Command{Kind: k, TsNanos: s.stamp(), Account: a, Market: m}
}

func (s *sim) randAccount() engine.AccountID { return engine.AccountID(s.rng.IntN(s.nAccounts)) }

// randMarket weights BTC, ETH and SOL 40/35/25.
func (s *sim) randMarket() engine.MarketID {
	if s.nm != 3 {
		return engine.MarketID(s.rng.IntN(s.nm))
	}
	switch r := s.rng.IntN(100); {
	case r < 40:
		return 0
	case r < 75:
		return 1
	}
	return 2
}

// randUSDT is d × 10^k USDT in quote units, d in 1..9, k in [lo, hi].
func (s *sim) randUSDT(lo, hi int) int64 {
	v := int64(1 + s.rng.IntN(9))
	for range lo + s.rng.IntN(hi-lo+1) {
		v *= 10
	}
	return v * usdt
}

func (s *sim) randLeverage(m engine.MarketID) int64 {
	choices := [...]int64{1, 2, 3, 5, 10, 15, 20, 25, 50, 75, 100, 125}
	top := s.markets[m].Brackets.TierAt(0).MaxLeverage
	for {
		if l := choices[s.rng.IntN(len(choices))]; l <= top {
			return l
		}
	}
}

// randLots is an order size worth 10 USDT to 900,000 USDT at the mark,
// mostly 100 to 10,000.
func (s *sim) randLots(m engine.MarketID, mark int64) int64 {
	k := 1
	switch r := s.rng.IntN(100); {
	case r < 5:
		k = 1
	case r < 40:
		k = 2
	case r < 75:
		k = 3
	case r < 95:
		k = 4
	default:
		k = 5
	}
	notional := s.randUSDT(k, k)
	mk := s.markets[m]
	lots := notional / max(1, mark*mk.Grid.QuotePerTickLot())
	return min(max(lots, 1), mk.MaxQtyLots)
}

func (s *sim) randSide() (orderbook.Side, int64) {
	if s.rng.IntN(2) == 0 {
		return orderbook.Buy, 1
	}
	return orderbook.Sell, -1
}

// passive is a limit price on the order's own side of the mark, 0 to 40
// basis points away, sometimes a few points across it.
func (s *sim) passive(mark, sign int64) int64 {
	bp := s.rng.Int64N(44) - 4
	return max(1, mark-sign*mark*bp/10_000)
}

// aggressive is a limit price across the mark by 0 to 60 basis points.
func (s *sim) aggressive(mark, sign int64) int64 {
	bp := s.rng.Int64N(60)
	return max(1, mark+sign*mark*bp/10_000)
}

func (s *sim) randSTP() orderbook.STP {
	if s.rng.IntN(5) < 3 {
		return orderbook.STPNone
	}
	return orderbook.STP(1 + s.rng.IntN(3))
}

func (s *sim) genPlace() (engine.Command, simExpect) {
	if s.rng.IntN(100) < 8 {
		if c, ok := s.genReduceOnly(); ok {
			return c, mayReject
		}
	}
	a, m := s.randAccount(), s.randMarket()
	c := s.cmd(engine.CmdPlaceOrder, a, m)
	_, mark := s.e.Mark(m)
	var sign int64
	c.Side, sign = s.randSide()
	c.QtyLots = s.randLots(m, mark)
	c.STP = s.randSTP()
	taker := func() { // takers trade smaller sizes, so the books stay deep
		c.QtyLots = max(1, c.QtyLots/(1+s.rng.Int64N(5)))
	}
	switch r := s.rng.IntN(100); {
	case r < 50:
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.GTC, s.passive(mark, sign)
	case r < 65:
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.PostOnly, s.passive(mark, sign)
	case r < 75:
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.IOC, s.aggressive(mark, sign)
		taker()
	case r < 80:
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.FOK, s.aggressive(mark, sign)
		taker()
	case r < 95:
		taker()
		c.Type, c.TIF = orderbook.Market, orderbook.IOC
		if s.rng.IntN(4) == 0 {
			c.PriceTicks = s.aggressive(mark, sign) // protection price
		}
	default:
		taker()
		c.Type, c.TIF = orderbook.Market, orderbook.FOK
	}
	if s.rng.IntN(4) == 0 {
		c.ClientOrderID = s.newCID()
	}
	return c, mayReject
}

// findPosition looks for an account with an open position (or, with
// flat, without one) in a few random tries.
func (s *sim) findPosition(flat bool) (engine.AccountID, engine.MarketID, simPos, bool) {
	for range 12 {
		a, m := s.randAccount(), s.randMarket()
		if p := s.pos[s.slot(a, m)]; (p.size == 0) == flat {
			return a, m, p, true
		}
	}
	return 0, 0, simPos{}, false
}

func (s *sim) findMode(mode clearing.MarginMode) (engine.AccountID, engine.MarketID, bool) {
	for range 12 {
		a, m := s.randAccount(), s.randMarket()
		if s.pos[s.slot(a, m)].mode == mode {
			return a, m, true
		}
	}
	return 0, 0, false
}

// genReduceOnly closes part, all or (capped by the engine) more than all of
// a position with an immediate order, or rests a reduce-only order.
func (s *sim) genReduceOnly() (engine.Command, bool) {
	a, m, p, ok := s.findPosition(false)
	if !ok {
		return engine.Command{}, false
	}
	c := s.cmd(engine.CmdPlaceOrder, a, m)
	c.ReduceOnly = true
	_, mark := s.e.Mark(m)
	sign := int64(1)
	c.Side = orderbook.Buy
	if p.size > 0 {
		c.Side, sign = orderbook.Sell, -1
	}
	size := abs64(p.size)
	c.QtyLots = min(1+s.rng.Int64N(size+size/2), s.markets[m].MaxQtyLots)
	c.STP = s.randSTP()
	switch r := s.rng.IntN(10); {
	case r < 3:
		c.Type, c.TIF = orderbook.Market, orderbook.IOC
	case r < 4:
		c.Type, c.TIF = orderbook.Market, orderbook.FOK
	case r < 6:
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.IOC, s.aggressive(mark, sign)
	case r < 9: // a resting take-profit
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.GTC, s.passive(mark, sign)
		c.QtyLots = max(1, c.QtyLots/(1+s.rng.Int64N(3)))
	default:
		c.Type, c.TIF, c.PriceTicks = orderbook.Limit, orderbook.PostOnly, s.passive(mark, sign)
	}
	if s.rng.IntN(3) == 0 {
		c.ClientOrderID = s.newCID()
	}
	return c, true
}

func (s *sim) genCancel() (engine.Command, bool) {
	if n := len(s.stopIDs); n > 0 && s.rng.IntN(8) == 0 {
		// A conditional order, if the one picked still waits.
		i := s.rng.IntN(n)
		id := s.stopIDs[i]
		s.stopIDs[i] = s.stopIDs[n-1]
		s.stopIDs = s.stopIDs[:n-1]
		if st, ok := s.stops[id]; ok {
			c := s.cmd(engine.CmdCancelOrder, st.Account, st.Market)
			c.OrderID = id
			if !st.ClientOrderID.IsZero() && s.rng.IntN(2) == 0 {
				c.OrderID, c.ClientOrderID = 0, st.ClientOrderID
			}
			return c, true
		}
	}
	m := s.randMarket()
	for range 4 {
		list := s.resting[m]
		if len(list) == 0 {
			return engine.Command{}, false
		}
		i := s.rng.IntN(len(list))
		o := list[i]
		list[i] = list[len(list)-1]
		s.resting[m] = list[:len(list)-1]
		if ro, ok := s.e.Book(m).Order(o.id); ok && ro.Account == orderbook.AccountID(o.account) {
			c := s.cmd(engine.CmdCancelOrder, o.account, m)
			c.OrderID = o.id
			if !o.cid.IsZero() && s.rng.IntN(2) == 0 {
				c.OrderID, c.ClientOrderID = 0, o.cid
				s.stats.byClientID++
			}
			return c, true
		}
	}
	return engine.Command{}, false
}

// genIndex moves a market's index by up to ±0.2%, or one time in 150 jumps
// it by 2 to 12%, pulled back when it strays far from where it started.
func (s *sim) genIndex() (engine.Command, simExpect) {
	m := s.randMarket()
	idx, base := s.index[m], s.base[m]
	var d int64
	if s.rng.IntN(150) == 0 {
		d = idx * (2 + s.rng.Int64N(11)) / 100
		if s.rng.IntN(2) == 0 {
			d = -d
		}
		s.stats.indexJumps++
	} else {
		d = idx * (s.rng.Int64N(41) - 20) / 10_000
	}
	if (idx > base*3/2 && d > 0) || (idx < base*2/3 && d < 0) {
		d = -d
	}
	s.index[m] = max(idx+d, 1)
	c := s.cmd(engine.CmdSetIndexPrice, 0, m)
	c.PriceTicks = s.index[m]
	return c, mustAccept
}

func (s *sim) genWithdraw() (engine.Command, simExpect) {
	a := s.randAccount()
	c := s.cmd(engine.CmdWithdraw, a, 0)
	w := s.wallets[a]
	if w > 0 && s.rng.IntN(4) != 0 {
		c.AmountQuote = max(1, w*(1+s.rng.Int64N(100))/100)
	} else {
		c.AmountQuote = s.randUSDT(0, 4)
	}
	if c.AmountQuote > w {
		return c, mustReject(engine.ReasonInsufficientBalance)
	}
	return c, mayReject
}

func (s *sim) genAdjust() (engine.Command, simExpect) {
	a, m, ok := s.findMode(clearing.Isolated)
	if !ok {
		c := s.cmd(engine.CmdDeposit, s.randAccount(), 0)
		c.AmountQuote = s.randUSDT(2, 4)
		return c, mustAccept
	}
	c := s.cmd(engine.CmdAdjustIsolatedMargin, a, m)
	c.AmountQuote = s.randUSDT(0, 3)
	if s.rng.IntN(5) < 2 {
		c.AmountQuote = -c.AmountQuote
		if s.rng.IntN(3) == 0 { // a part of what it holds
			if iso := s.pos[s.slot(a, m)].iso; iso > 1 {
				c.AmountQuote = -(1 + s.rng.Int64N(iso/2))
			}
		}
	}
	return c, mayReject
}

// expectMode: a mode change must be refused while the account has a
// position or resting orders in the market, and accepted otherwise.
func (s *sim) expectMode(a engine.AccountID, m engine.MarketID) simExpect {
	if s.pos[s.slot(a, m)].size != 0 || s.e.Book(m).AccountOrderCount(orderbook.AccountID(a)) > 0 {
		return mustReject(engine.ReasonPositionOrOrdersOpen)
	}
	for _, st := range s.stops {
		if st.Account == a && st.Market == m {
			return mustReject(engine.ReasonPositionOrOrdersOpen) // a conditional order waits
		}
	}
	return mustAccept
}

// queueModeSwitch flattens an account in a market (cancel-all, then a
// reduce-only market order for the whole position) and then switches its
// margin mode, which succeeds if the close filled completely.
func (s *sim) queueModeSwitch() {
	a, m, p, ok := s.findPosition(false)
	if !ok {
		a, m = s.randAccount(), s.randMarket()
		p = s.pos[s.slot(a, m)]
	}
	s.queue = append(s.queue, func() (engine.Command, simExpect) {
		return s.cmd(engine.CmdCancelAll, a, m), mustAccept
	})
	if p.size != 0 {
		s.queue = append(s.queue, func() (engine.Command, simExpect) {
			c := s.cmd(engine.CmdPlaceOrder, a, m)
			c.Type, c.TIF, c.ReduceOnly = orderbook.Market, orderbook.IOC, true
			c.Side = orderbook.Buy
			if p.size > 0 {
				c.Side = orderbook.Sell
			}
			c.QtyLots = min(abs64(p.size), s.markets[m].MaxQtyLots)
			return c, mayReject
		})
	}
	s.queue = append(s.queue, func() (engine.Command, simExpect) {
		c := s.cmd(engine.CmdSetMarginMode, a, m)
		c.Mode = clearing.Isolated
		if s.pos[s.slot(a, m)].mode == clearing.Isolated {
			c.Mode = clearing.Cross
		}
		return c, s.expectMode(a, m)
	})
}

// queueAccount creates an account, funds it and maybe sets its modes and
// leverage: all valid for a new, flat account.
func (s *sim) queueAccount() {
	id := engine.AccountID(s.nAccounts)
	s.queue = append(s.queue,
		func() (engine.Command, simExpect) { return s.cmd(engine.CmdCreateAccount, 0, 0), mustAccept },
		func() (engine.Command, simExpect) {
			c := s.cmd(engine.CmdDeposit, id, 0)
			c.AmountQuote = s.randUSDT(3, 5)
			return c, mustAccept
		})
	for m := range s.nm {
		if s.rng.IntN(100) < 40 {
			s.queue = append(s.queue, func() (engine.Command, simExpect) {
				c := s.cmd(engine.CmdSetMarginMode, id, engine.MarketID(m))
				c.Mode = clearing.Isolated
				return c, mustAccept
			})
		}
		if s.rng.IntN(100) < 60 {
			lev := s.randLeverage(engine.MarketID(m))
			s.queue = append(s.queue, func() (engine.Command, simExpect) {
				c := s.cmd(engine.CmdSetLeverage, id, engine.MarketID(m))
				c.Leverage = lev
				return c, mustAccept
			})
		}
	}
}

// validOrder is a small passive GTC limit order that could be accepted.
func (s *sim) validOrder(a engine.AccountID, m engine.MarketID) engine.Command {
	c := s.cmd(engine.CmdPlaceOrder, a, m)
	_, mark := s.e.Mark(m)
	var sign int64
	c.Side, sign = s.randSide()
	c.Type, c.TIF = orderbook.Limit, orderbook.GTC
	c.PriceTicks = s.passive(mark, sign)
	c.QtyLots = s.randLots(m, mark)
	return c
}

// genInvalid builds a command that must be refused, and says why.
func (s *sim) genInvalid() (engine.Command, simExpect) {
	a, m := s.randAccount(), s.randMarket()
	marginOrLimits := []engine.Reason{engine.ReasonInsufficientMargin, engine.ReasonLeverageAboveBracket, engine.ReasonBelowMinNotional,
		engine.ReasonTooManyOrders, engine.ReasonTooManyPriceLevels}
	switch s.rng.IntN(25) {
	case 21: // a client order id with bytes outside the set, or after its padding
		c := s.validOrder(a, m)
		c.ClientOrderID = s.newCID()
		if s.rng.IntN(2) == 0 {
			c.ClientOrderID[s.rng.IntN(4)] = [...]byte{' ', '#', 0x80, 0xff}[s.rng.IntN(4)]
		} else {
			c.ClientOrderID[20+s.rng.IntN(16)] = 'x'
		}
		return c, mustReject(engine.ReasonInvalidClientOrderID)
	case 22: // the client order id of one of the account's open orders
		if list := s.resting[m]; len(list) > 0 {
			o := list[s.rng.IntN(len(list))]
			if _, ok := s.e.OrderByClientID(o.account, o.cid); ok && !o.cid.IsZero() {
				c := s.validOrder(o.account, m)
				c.ClientOrderID = o.cid
				return c, mustReject(engine.ReasonDuplicateClientOrderID)
			}
		}
		fallthrough
	case 23: // a conditional order its price has reached already
		c := s.validOrder(a, m)
		_, mark := s.e.Mark(m)
		c.Trigger, c.TriggerBy = engine.TriggerStop, engine.TriggerByMark
		if c.Side == orderbook.Buy {
			c.TriggerTicks = max(1, mark-s.rng.Int64N(mark/100+1))
		} else {
			c.TriggerTicks = mark + s.rng.Int64N(mark/100+1)
		}
		if s.rng.IntN(2) == 0 {
			c.Trigger = engine.TriggerTakeProfit
			c.Side = c.Side.Opposite()
		}
		return c, mustReject(engine.ReasonWouldTriggerImmediately, engine.ReasonBelowMinNotional)
	case 24: // amending a conditional order, or a bad trigger
		for _, id := range s.stopIDs[:min(len(s.stopIDs), s.rng.IntN(2)*len(s.stopIDs))] {
			if st, ok := s.stops[id]; ok {
				c := s.cmd(engine.CmdAmendOrder, st.Account, st.Market)
				c.OrderID, c.PriceTicks, c.QtyLots = id, st.TriggerTicks, st.QtyLots+1
				return c, mustReject(engine.ReasonStopNotAmendable)
			}
		}
		c := s.validOrder(a, m)
		c.Trigger, c.TriggerBy, c.TriggerTicks = engine.Trigger(1+s.rng.IntN(2)), engine.TriggerPrice(3+s.rng.IntN(200)), 1
		return c, mustReject(engine.ReasonInvalidTrigger)
	case 0: // unknown account
		kinds := [...]engine.CommandKind{engine.CmdDeposit, engine.CmdWithdraw, engine.CmdSetLeverage, engine.CmdSetMarginMode,
			engine.CmdAdjustIsolatedMargin, engine.CmdPlaceOrder, engine.CmdCancelOrder, engine.CmdCancelAll}
		var c engine.Command
		if k := kinds[s.rng.IntN(len(kinds))]; k == engine.CmdPlaceOrder {
			c = s.validOrder(a, m)
		} else {
			c = s.cmd(k, 0, m)
			c.AmountQuote, c.Leverage, c.OrderID = usdt, 10, s.lastID
		}
		c.Account = engine.AccountID(s.nAccounts + s.rng.IntN(1_000))
		if s.rng.IntN(4) == 0 {
			c.Account = math.MaxUint32 - engine.AccountID(s.rng.IntN(10))
		}
		return c, mustReject(engine.ReasonUnknownAccount)
	case 1: // unknown market
		kinds := [...]engine.CommandKind{engine.CmdSetLeverage, engine.CmdSetMarginMode, engine.CmdAdjustIsolatedMargin,
			engine.CmdPlaceOrder, engine.CmdCancelOrder, engine.CmdCancelAll, engine.CmdSetIndexPrice}
		var c engine.Command
		if k := kinds[s.rng.IntN(len(kinds))]; k == engine.CmdPlaceOrder {
			c = s.validOrder(a, m)
		} else {
			c = s.cmd(k, a, 0)
			c.AmountQuote, c.Leverage, c.OrderID, c.PriceTicks = usdt, 10, s.lastID, s.index[0]
		}
		c.Market = engine.MarketID(s.nm + s.rng.IntN(300))
		if s.rng.IntN(4) == 0 {
			c.Market = math.MaxUint16
		}
		return c, mustReject(engine.ReasonUnknownMarket)
	case 2: // bad deposit amounts: none, negative, or one that overflows the totals
		c := s.cmd(engine.CmdDeposit, a, 0)
		c.AmountQuote = -s.rng.Int64N(1_000 * usdt)
		if s.rng.IntN(3) == 0 {
			c.AmountQuote = math.MaxInt64 - s.rng.Int64N(1_000)
		}
		return c, mustReject(engine.ReasonInvalidAmount)
	case 3:
		c := s.cmd(engine.CmdWithdraw, a, 0)
		c.AmountQuote = -s.rng.Int64N(1_000 * usdt)
		return c, mustReject(engine.ReasonInvalidAmount)
	case 4: // more than the wallet holds
		c := s.cmd(engine.CmdWithdraw, a, 0)
		c.AmountQuote = max(s.wallets[a], 0) + 1 + s.rng.Int64N(1_000*usdt)
		return c, mustReject(engine.ReasonInsufficientBalance)
	case 5: // leverage outside 1..the first tier's maximum
		c := s.cmd(engine.CmdSetLeverage, a, m)
		top := s.markets[m].Brackets.TierAt(0).MaxLeverage
		c.Leverage = [...]int64{0, -1, -top, top + 1, 1_000, math.MaxInt64, math.MinInt64}[s.rng.IntN(7)]
		return c, mustReject(engine.ReasonInvalidLeverage)
	case 6: // time going back, on an otherwise valid command
		c := s.cmd(engine.CmdDeposit, a, 0)
		c.AmountQuote = usdt
		if s.rng.IntN(2) == 0 {
			c = s.validOrder(a, m)
		}
		c.TsNanos = s.lastTs - 1 - s.rng.Int64N(int64(time.Hour))
		return c, mustReject(engine.ReasonTimeWentBack)
	case 7: // mode change with an open position
		if a, m, p, ok := s.findPosition(false); ok {
			c := s.cmd(engine.CmdSetMarginMode, a, m)
			c.Mode = p.mode ^ 1
			if s.rng.IntN(4) == 0 {
				c.Mode = p.mode
			}
			return c, mustReject(engine.ReasonPositionOrOrdersOpen)
		}
		fallthrough
	case 8:
		c := s.cmd(engine.CmdSetMarginMode, a, m)
		c.Mode = clearing.MarginMode(2 + s.rng.IntN(254))
		return c, mustReject(engine.ReasonInvalidMarginMode)
	case 9:
		c := s.cmd(engine.CmdAdjustIsolatedMargin, a, m)
		return c, mustReject(engine.ReasonInvalidAmount)
	case 10: // isolated margin of a cross position
		if a, m, ok := s.findMode(clearing.Cross); ok {
			c := s.cmd(engine.CmdAdjustIsolatedMargin, a, m)
			c.AmountQuote = s.randUSDT(0, 3)
			if s.rng.IntN(2) == 0 {
				c.AmountQuote = -c.AmountQuote
			}
			return c, mustReject(engine.ReasonNotIsolated)
		}
		c := s.cmd(engine.CmdAdjustIsolatedMargin, a, m)
		return c, mustReject(engine.ReasonInvalidAmount)
	case 11: // quantities off the market's limits
		c := s.validOrder(a, m)
		if s.rng.IntN(2) == 0 {
			c.QtyLots = s.markets[m].MinQtyLots - 1 - s.rng.Int64N(3)
			return c, mustReject(engine.ReasonBelowMinQty)
		}
		c.QtyLots = s.markets[m].MaxQtyLots + 1 + s.rng.Int64N(1_000)
		return c, mustReject(engine.ReasonAboveMaxQty)
	case 12: // no such side or type
		c := s.validOrder(a, m)
		if s.rng.IntN(2) == 0 {
			c.Side = orderbook.Side([...]uint8{0, 3, 255}[s.rng.IntN(3)])
		} else {
			c.Type = orderbook.OrderType([...]uint8{0, 3, 255}[s.rng.IntN(3)])
		}
		return c, mustReject(engine.ReasonInvalidOrder)
	case 13: // a limit order without a price, or a negative one
		c := s.validOrder(a, m)
		c.PriceTicks = -s.rng.Int64N(3)
		return c, mustReject(engine.ReasonInvalidPrice)
	case 14: // reduce-only that cannot reduce
		if a, m, p, ok := s.findPosition(false); ok {
			c := s.validOrder(a, m)
			c.ReduceOnly, c.Side = true, orderbook.Sell
			if p.size > 0 {
				c.Side = orderbook.Buy
			}
			return c, mustReject(engine.ReasonReduceOnlyWouldIncrease)
		}
		if a, m, _, ok := s.findPosition(true); ok {
			c := s.validOrder(a, m)
			c.ReduceOnly, c.TIF = true, orderbook.IOC
			return c, mustReject(engine.ReasonReduceOnlyNoPosition)
		}
		fallthrough
	case 15: // cancel an order that is not there, or is another account's
		c := s.cmd(engine.CmdCancelOrder, a, m)
		c.OrderID = s.lastID + 1 + orderbook.OrderID(s.rng.IntN(1_000))
		if list := s.resting[m]; len(list) > 0 && s.rng.IntN(2) == 0 {
			o := list[s.rng.IntN(len(list))]
			c.OrderID, c.Account = o.id, o.account+1+engine.AccountID(s.rng.IntN(s.nAccounts-1))
			c.Account %= engine.AccountID(s.nAccounts)
		}
		return c, mustReject(engine.ReasonUnknownOrder)
	case 16: // an index price of zero, negative or beyond the book's range
		c := s.cmd(engine.CmdSetIndexPrice, 0, m)
		c.PriceTicks = [...]int64{0, -1, -s.index[m], s.e.Book(m).Config().MaxPriceTicks + 1, math.MaxInt64}[s.rng.IntN(5)]
		return c, mustReject(engine.ReasonInvalidPrice)
	case 17: // no such command
		c := s.cmd(engine.CommandKind([...]uint8{0, 14, 15, 99, 255}[s.rng.IntN(5)]), a, m)
		return c, mustReject(engine.ReasonUnknownCommand)
	case 18: // post-only at or through the best opposite price
		c := s.validOrder(a, m)
		c.TIF = orderbook.PostOnly
		var best int64
		var ok bool
		if c.Side == orderbook.Buy {
			best, _, ok = s.e.Book(m).BestAsk()
		} else {
			best, _, ok = s.e.Book(m).BestBid()
		}
		if !ok {
			c.QtyLots = 0
			return c, mustReject(engine.ReasonBelowMinQty)
		}
		c.PriceTicks = best
		return c, mustReject(append(marginOrLimits, engine.ReasonPostOnlyWouldTake, engine.ReasonPriceOutsideBand)...)
	case 19: // a limit price outside the band around the mark
		c := s.validOrder(a, m)
		_, mark := s.e.Mark(m)
		off := mark * (6 + s.rng.Int64N(20)) / 100
		if c.Side == orderbook.Buy {
			c.PriceTicks = mark + off
		} else {
			c.PriceTicks = mark - off
		}
		return c, mustReject(append(marginOrLimits, engine.ReasonPriceOutsideBand)...)
	default: // a market order that would rest, a bad time in force or STP mode
		c := s.validOrder(a, m)
		switch s.rng.IntN(3) {
		case 0:
			c.Type = orderbook.Market
			c.TIF = [...]orderbook.TimeInForce{orderbook.GTC, orderbook.PostOnly}[s.rng.IntN(2)]
		case 1:
			c.TIF = orderbook.TimeInForce([...]uint8{0, 5, 255}[s.rng.IntN(3)])
		default:
			c.STP = orderbook.STP(4 + s.rng.IntN(250))
		}
		return c, mustReject(append(marginOrLimits, engine.ReasonInvalidOrder)...)
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
