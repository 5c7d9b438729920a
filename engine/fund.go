package engine

import (
	"fmt"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/orderbook"
)

// The insurance fund takes over, at the bankruptcy price, what the book did
// not absorb of a liquidated position, as far as it can bear the loss. Its
// positions are held by a system account (created at the first takeover,
// with the next free id) whose wallet is swept into the fund after every
// trade, so the fund's equity is its balance plus the unrealized PnL of
// those positions. The fund:
//
//   - takes over only as much as keeps its equity at or above 0 at the
//     mark; the rest of the position is auto-deleveraged;
//   - unwinds its positions into the book after each command's
//     liquidations, with IOC orders at the mark (never worse) when the
//     book meets the mark, so it realizes no loss beyond what its equity
//     already counts;
//   - is auto-deleveraged itself, at its own bankruptcy prices, if its
//     equity falls below 0 (the marks moved against what it holds), and
//     settles that before it takes over more.
//
// The fund's account is never indexed, margin-called or liquidated like a
// trader's; auto-deleveraging takes it as a counterparty only last, when
// the traders' positions on its side cannot take the rest.

// FundAccount returns the insurance fund's account, if a takeover has
// created it.
func (e *Engine) FundAccount() (AccountID, bool) { return e.fundAcct, e.hasFund }

// isFund reports whether a is the insurance fund's account.
func (e *Engine) isFund(a AccountID) bool { return e.hasFund && a == e.fundAcct }

// ensureFund creates the fund's account if there is none; false if the
// ledger is full.
func (e *Engine) ensureFund() bool {
	if e.hasFund {
		return true
	}
	id := AccountID(e.ledger.NumAccounts())
	if r := e.ledger.AddAccount(id); r != clearing.ReasonNone {
		return false
	}
	e.addAccountTables()
	e.fundAcct, e.hasFund = id, true
	return true
}

// fundEquity is the fund's balance plus the unrealized PnL of its
// positions at the marks (saturating).
func (e *Engine) fundEquity() int64 {
	eq := e.ledger.InsuranceFundQuote()
	if !e.hasFund {
		return eq
	}
	var p clearing.Position
	for m := range e.markets {
		e.ledger.ReadPosition(e.fundAcct, MarketID(m), &p)
		if p.SizeLots == 0 {
			continue
		}
		u, err := p.UnrealizedPnLQuote(e.markets[m].markTicks)
		if err != nil {
			return -1 << 62
		}
		eq = satAdd(eq, u)
	}
	return eq
}

// fundBankrupt reports that the fund exists and its equity is below 0:
// its deleveraging is due (or waits for the next command's budget).
func (e *Engine) fundBankrupt() bool { return e.hasFund && e.fundEquity() < 0 }

// takeOver has the fund take as much of position p (of a liquidated
// account) at the bankruptcy price bp as its equity bears, and returns
// the lots it took.
func (e *Engine) takeOver(cmd *Command, ev []Event, p *clearing.Position, bp int64) ([]Event, int64) {
	m := p.Market
	mark := e.markets[m].markTicks
	lots := absInt(p.SizeLots)
	// The fund buys a long at bp (sells a short): it loses (bp − mark) per
	// lot-tick at once if bp is beyond the mark.
	lossPerLot := (bp - mark) * p.QuotePerTickLot
	if p.SizeLots < 0 {
		lossPerLot = -lossPerLot
	}
	// A fund below 0 (its deleveraging waits for the next command's
	// budget, see liquidate) takes nothing more.
	if eq := e.fundEquity(); eq < 0 {
		lots = 0
	} else if lossPerLot > 0 {
		lots = min(lots, eq/lossPerLot)
	}
	if lots == 0 || !e.ensureFund() {
		return ev, 0
	}
	return e.fundTrade(cmd, ev, p.Account, m, p.SizeLots < 0, lots, bp, CauseLiquidation), lots
}

// fundTrade settles a trade between account a (taker, buying if buys) and
// the fund's account at price, fee-free, reports it, and sweeps the fund
// account's wallet into the fund.
func (e *Engine) fundTrade(cmd *Command, ev []Event, a AccountID, m MarketID, buys bool, lots, price int64, cause BalanceCause) []Event {
	lc := &Command{Kind: CmdPlaceOrder, Seq: cmd.Seq, TsNanos: cmd.TsNanos, Account: a, Market: m}
	f := e.fundAcct
	takerWallet, _ := e.ledger.Wallet(a)
	makerWallet, _ := e.ledger.Wallet(f)
	var res clearing.TradeResult
	err := e.ledger.SettleTradeInto(clearing.Trade{Market: m, PriceTicks: price, QtyLots: lots, Maker: f, Taker: a,
		TakerBuys: buys, TakerFeeFree: true, MakerFeeFree: true}, &res)
	if err != nil {
		panic(fmt.Errorf("engine: insurance fund trade with account %d: %w", a, err))
	}
	side := orderbook.Sell
	if buys {
		side = orderbook.Buy
	}
	ev, x := push(ev)
	x.Kind, x.Seq, x.Market, x.Account, x.Side, x.MakerAccount = EventFill, cmd.Seq, m, a, side, f
	x.PriceTicks, x.QtyLots, x.Cause = price, lots, cause
	ev = e.tradeEvents(lc, ev, a, takerWallet, res.Taker.RealizedPnLQuote)
	ev = e.tradeEvents(lc, ev, f, makerWallet, res.Maker.RealizedPnLQuote)
	e.touch(a)
	return e.sweepFund(cmd, ev)
}

// sweepFund moves the fund account's wallet into the fund (or, negative,
// from it; beyond it, bad debt).
func (e *Engine) sweepFund(cmd *Command, ev []Event) []Event {
	f := e.fundAcct
	w, _ := e.ledger.Wallet(f)
	switch {
	case w > 0:
		if r := e.ledger.InsuranceTransfer(f, w); r != clearing.ReasonNone {
			panic(fmt.Errorf("engine: sweeping the fund account: %s", ledgerReason(r)))
		}
		ev = e.balanceEvent(cmd, ev, f, CauseLiquidation, -w)
		return e.fundEvent(cmd, ev, f, w, 0)
	case w < 0:
		fromFund, badDebt, r := e.ledger.CoverDeficit(f)
		if r != clearing.ReasonNone {
			panic(fmt.Errorf("engine: sweeping the fund account: %s", ledgerReason(r)))
		}
		ev = e.balanceEvent(cmd, ev, f, CauseLiquidation, fromFund+badDebt)
		return e.fundEvent(cmd, ev, f, -fromFund, badDebt)
	}
	return ev
}

// deleverageFund closes every position of the fund by auto-deleveraging,
// once its equity is below 0: the position with the highest unrealized PnL
// first (closing a winner first keeps the fund's balance from going below
// 0 on the way), each at its bankruptcy price, so the fund ends at 0. It
// stops after Config.FundDeleveragesPerCommand counterparties
// (deleverageAt), the rest waiting for the next command.
func (e *Engine) deleverageFund(cmd *Command, ev []Event) []Event {
	f := e.fundAcct
	var p clearing.Position
	for e.fundBudget > 0 {
		best, bestU, found := MarketID(0), int64(0), false
		for m := range e.markets {
			e.ledger.ReadPosition(f, MarketID(m), &p)
			if p.SizeLots == 0 {
				continue
			}
			u, _ := p.UnrealizedPnLQuote(e.markets[m].markTicks)
			if !found || u > bestU {
				best, bestU, found = MarketID(m), u, true
			}
		}
		if !found {
			return ev
		}
		e.ledger.ReadPosition(f, best, &p)
		ev, _ = e.deleverageAt(cmd, ev, &p, e.fundBankruptcyPrice(&p))
		ev = e.sweepFund(cmd, ev)
	}
	return ev
}

// unwindFund offers each of the fund's positions to the book.
func (e *Engine) unwindFund(cmd *Command, ev []Event) []Event {
	var p clearing.Position
	for m := range e.markets {
		e.ledger.ReadPosition(e.fundAcct, MarketID(m), &p)
		if p.SizeLots != 0 {
			ev = e.unwindPosition(cmd, ev, &p)
		}
	}
	return ev
}

// fundBankruptcyPrice is the price at which the fund's position p, closed
// with the others at theirs, leaves the fund's equity at 0.
//
// Like a cross pool's, the fund's balance is shared among its positions in
// proportion to their notional (sharedBankruptcyPrice), so each market's
// counterparties absorb that market's share of the deficit only.
func (e *Engine) fundBankruptcyPrice(p *clearing.Position) int64 {
	return e.sharedBankruptcyPrice(p, e.ledger.InsuranceFundQuote(), func(*clearing.Position) bool { return true })
}

// unwindPosition offers the fund's position p to the book: an IOC order at
// the mark, so a fill realizes no loss beyond the unrealized one the fund's
// equity counts.
func (e *Engine) unwindPosition(cmd *Command, ev []Event, p *clearing.Position) []Event {
	m := p.Market
	ms := &e.markets[m]
	side, qty := orderbook.Sell, p.SizeLots
	if p.SizeLots < 0 {
		side, qty = orderbook.Buy, -p.SizeLots
	}
	// Only when the book meets the mark: an order that could not trade
	// would only fill the event stream.
	if side == orderbook.Sell {
		if bid, _, ok := ms.book.BestBid(); !ok || bid < ms.markTicks {
			return ev
		}
	} else if ask, _, ok := ms.book.BestAsk(); !ok || ask > ms.markTicks {
		return ev
	}
	id := e.nextOrderID + 1
	order := orderbook.Order{ID: id, Account: orderbook.AccountID(p.Account), Side: side, Type: orderbook.Limit,
		TIF: orderbook.IOC, PriceTicks: ms.markTicks, QtyLots: qty, Tag: tagLiquidation}
	e.bookEv = ms.book.Place(order, e.bookEv[:0])
	if e.bookEv[0].Kind == orderbook.EventRejected {
		return ev
	}
	e.nextOrderID = id
	lc := Command{Kind: CmdPlaceOrder, Seq: cmd.Seq, TsNanos: cmd.TsNanos, Account: p.Account, Market: m}
	ev = e.trade(&lc, ev, id, tagLiquidation)
	ev = e.sweepFund(cmd, ev)
	return e.runTriggers(&lc, ev)
}
