package engine

import (
	"errors"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
)

// valuationTicks is the price positions are valued at: the mark, or before
// the first index price nothing (positions cannot exist then: orders need a
// price).
func (e *Engine) valuationTicks(m MarketID) int64 { return e.markets[m].markTicks }

// unrealized is a position's unrealized PnL at the mark.
func (e *Engine) unrealized(p clearing.Position) (int64, error) {
	if p.SizeLots == 0 {
		return 0, nil
	}
	return p.UnrealizedPnLQuote(e.valuationTicks(p.Market))
}

// preload reads account a's position in market m into p, for the order
// check, and touches the other records the check is about to read: its
// open orders and leverage, and its wallet. With many accounts each is
// likely a cache miss, and the check reaches them one after another
// through dependent steps; read together at the start of the command, the
// misses are in flight at the same time (about 8 ns per command on
// BenchmarkEngineF1's 10,000 accounts). Go has no prefetch instruction, so
// the values go into preloadSink to keep the loads. It changes nothing
// else; a and m must be known.
func (e *Engine) preload(a AccountID, m MarketID, p *clearing.Position) {
	k := e.slot(a, m)
	e.ledger.ReadPosition(a, m, p)
	w, _ := e.ledger.Wallet(a)
	e.preloadSink += p.SizeLots + e.slots[k].leverage + w + e.slots[k].open.buyLots
}

// exposureQuote is the notional of the position the account would reach in
// market m if every resting order on one side filled, the larger of the two
// sides: the position valued at the mark, the orders at their limit prices.
// Orders that would only reduce the position add nothing, so they need no
// margin.
func (e *Engine) exposureQuote(p clearing.Position, o openOrders) (int64, error) {
	qptl := p.QuotePerTickLot
	mark := e.valuationTicks(p.Market)
	buys, err := reachedValue(p.SizeLots, o.buyLots, o.buyValueQuote, mark, qptl)
	if err != nil {
		return 0, err
	}
	sells, err := reachedValue(-p.SizeLots, o.sellLots, o.sellValueQuote, mark, qptl)
	if err != nil {
		return 0, err
	}
	return max(buys, sells), nil
}

// reachedValue is the notional after orders of lots (worth valueQuote)
// filled into a position of size (signed so that the orders' direction is
// positive): they first close any opposite position, then open.
func reachedValue(size, lots, valueQuote, mark, qptl int64) (int64, error) {
	reached := size + lots
	switch {
	case size >= 0: // the orders add to the position
		pos, err := notionalAt(size, mark, qptl)
		if err != nil {
			return 0, err
		}
		return fixed.Add(pos, valueQuote)
	case reached <= 0: // the orders only reduce it
		return notionalAt(-reached, mark, qptl)
	default: // they close it and open reached lots, valued pro rata
		return fixed.MulDiv(valueQuote, reached, lots, fixed.RoundUp)
	}
}

func notionalAt(lots, priceTicks, qptl int64) (int64, error) {
	v, err := fixed.Mul(lots, priceTicks)
	if err != nil {
		return 0, err
	}
	return fixed.Mul(v, qptl)
}

// exposureChange is exposureQuote of p with the resting orders before and
// after a change. A change touches one side, so the side it leaves alone is
// valued once for both; since the result fails when any side's valuation
// does, that is the same answer as two calls of exposureQuote.
func (e *Engine) exposureChange(p *clearing.Position, before, after openOrders) (was, reached int64, err error) {
	qptl := p.QuotePerTickLot
	mark := e.valuationTicks(p.Market)
	buysBefore, err := reachedValue(p.SizeLots, before.buyLots, before.buyValueQuote, mark, qptl)
	if err != nil {
		return 0, 0, err
	}
	buysAfter := buysBefore
	if after.buyLots != before.buyLots || after.buyValueQuote != before.buyValueQuote {
		if buysAfter, err = reachedValue(p.SizeLots, after.buyLots, after.buyValueQuote, mark, qptl); err != nil {
			return 0, 0, err
		}
	}
	sellsBefore, err := reachedValue(-p.SizeLots, before.sellLots, before.sellValueQuote, mark, qptl)
	if err != nil {
		return 0, 0, err
	}
	sellsAfter := sellsBefore
	if after.sellLots != before.sellLots || after.sellValueQuote != before.sellValueQuote {
		if sellsAfter, err = reachedValue(-p.SizeLots, after.sellLots, after.sellValueQuote, mark, qptl); err != nil {
			return 0, 0, err
		}
	}
	return max(buysBefore, sellsBefore), max(buysAfter, sellsAfter), nil
}

// requirementQuote is what position p with resting orders o holds back:
// the initial margin of its exposure, plus the taker fees the larger side's
// orders would pay if they filled.
func (e *Engine) requirementQuote(p clearing.Position, o openOrders) (int64, error) {
	x, err := e.exposureQuote(p, o)
	if err != nil {
		return 0, err
	}
	return e.requirementAt(&p, o, x)
}

// requirementAt is requirementQuote with the exposure x already valued.
func (e *Engine) requirementAt(p *clearing.Position, o openOrders, x int64) (int64, error) {
	im, err := margin.InitialMargin(x, e.slots[e.slot(p.Account, p.Market)].leverage)
	if err != nil {
		return 0, err
	}
	fees, err := fixed.ApplyPpm(max(o.buyValueQuote, o.sellValueQuote), e.markets[p.Market].TakerFeePpm, fixed.RoundUp)
	if err != nil {
		return 0, err
	}
	return fixed.Add(im, fees)
}

// freeCollateral is what the account's wallet can still commit: the wallet
// plus unrealized losses of cross positions (profits are not spendable until
// realized), less every cross requirement, less what isolated requirements
// need beyond their isolated margin.
func (e *Engine) freeCollateral(a AccountID) (int64, error) {
	return e.freeCollateralWith(a, nil, openOrders{}, 0)
}

// freeCollateralWith is freeCollateral with the resting orders of market
// known.Market replaced by o: "what if this order rested too". The caller
// has read that market's position (known) and valued o's exposure (x)
// already, so neither is done again. A nil known replaces nothing.
func (e *Engine) freeCollateralWith(a AccountID, known *clearing.Position, o openOrders, x int64) (int64, error) {
	free, _ := e.ledger.Wallet(a)
	var other clearing.Position
	for m := range e.markets {
		var (
			p   *clearing.Position
			req int64
			err error
		)
		if known != nil && known.Market == MarketID(m) {
			p = known
			if p.SizeLots == 0 && o == (openOrders{}) {
				continue
			}
			req, err = e.requirementAt(p, o, x)
		} else {
			orders := e.slots[e.slot(a, MarketID(m))].open
			p = &other
			e.ledger.ReadPosition(a, MarketID(m), p)
			if p.SizeLots == 0 && orders == (openOrders{}) {
				continue
			}
			req, err = e.requirementQuote(*p, orders)
		}
		if err != nil {
			return 0, err
		}
		if p.Mode == clearing.Isolated {
			req = max(0, req-p.IsolatedMarginQuote)
		} else {
			upnl, err := e.unrealized(*p)
			if err != nil {
				return 0, err
			}
			if free, err = fixed.Add(free, min(upnl, 0)); err != nil {
				return 0, err
			}
		}
		if free, err = fixed.Sub(free, req); err != nil {
			return 0, err
		}
	}
	return free, nil
}

// liquidationPrice of position p, 0 when it has none: from the isolated
// margin alone, or for cross from the wallet and the other cross positions'
// maintenance and unrealized PnL at their marks.
//
// It runs for every position event. The input is assembled in scalars,
// written once and read in place by LiqInput.LiquidationPrice: passed by
// value it was copied with 16-byte loads that stall on the narrower stores
// just made.
func (e *Engine) liquidationPrice(p *clearing.Position) int64 {
	lp, ok, _, err := e.liqPriceOf(p)
	if err != nil || !ok {
		return 0
	}
	return lp
}

// liqPriceOf is liquidationPrice with margin.LiquidationPrice's ok and
// error, and alone: whether no other cross position entered it (an
// isolated position, or a cross position alone in its pool).
func (e *Engine) liqPriceOf(p *clearing.Position) (lp int64, ok, alone bool, err error) {
	a, m := p.Account, p.Market
	if p.SizeLots == 0 {
		return 0, false, true, nil
	}
	side, size, entry, wallet := margin.Long, p.SizeLots, p.EntryValueQuote, p.IsolatedMarginQuote
	if p.SizeLots < 0 {
		side, size, entry = margin.Short, -p.SizeLots, -p.EntryValueQuote
	}
	var otherUnrealized, otherMaint int64
	alone = true
	if p.Mode == clearing.Cross {
		wallet, _ = e.ledger.Wallet(a)
		var q clearing.Position
		for o := range e.markets {
			if MarketID(o) == m {
				continue
			}
			e.ledger.ReadPosition(a, MarketID(o), &q)
			if q.SizeLots == 0 || q.Mode != clearing.Cross {
				continue
			}
			alone = false
			upnl, err1 := e.unrealized(q)
			n, err2 := notionalAt(absInt(q.SizeLots), e.valuationTicks(q.Market), q.QuotePerTickLot)
			mm, err3 := e.markets[o].Brackets.MaintenanceMargin(n)
			if err1 != nil || err2 != nil || err3 != nil {
				return 0, false, false, errors.Join(err1, err2, err3)
			}
			otherUnrealized += upnl
			otherMaint += mm
		}
	}
	var in margin.LiqInput // by fields: a literal is built in a temporary and copied
	in.Side, in.SizeLots, in.EntryValueQuote, in.QuotePerTickLot = side, size, entry, p.QuotePerTickLot
	in.WalletQuote, in.OtherMaintQuote, in.OtherUnrealizedQuote = wallet, otherMaint, otherUnrealized
	in.Brackets = e.markets[m].Brackets
	lp, ok, err = in.LiquidationPrice()
	return lp, ok, alone, err
}
