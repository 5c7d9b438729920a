package engine

import (
	"fmt"
	"math"

	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
	"github.com/paperperps/exchange/orderbook"
)

// maxFundingRatePpm caps the funding rate of one interval at 0.75%.
const maxFundingRatePpm = 7_500

// maxTsNanos is the latest command time the engine takes (the year 2200):
// far enough for any run, and far enough below 2^63 that funding times
// computed from it cannot overflow.
const maxTsNanos = 7_258_118_400_000_000_000

// setIndex takes a new index price for a market, samples the book against
// it (for the mark's basis and the funding premium), recomputes the mark and
// re-centres the book's price band on it.
func (e *Engine) setIndex(cmd *Command, ev []Event) ([]Event, Reason) {
	ms := &e.markets[cmd.Market]
	if cmd.PriceTicks < 1 || cmd.PriceTicks > ms.book.Config().MaxPriceTicks {
		return ev, ReasonInvalidPrice
	}
	ms.indexTicks = cmd.PriceTicks
	// The mark's basis samples the mid of the best bid and ask, and only
	// a two-sided book has one: while a side is empty the average keeps
	// its earlier samples (and with none, the mark leans on the index and
	// the last trade; see margin.MarkPrice).
	bid, _, okBid := ms.book.BestBid()
	ask, _, okAsk := ms.book.BestAsk()
	if okBid && okAsk {
		_ = ms.basis.Add(bid, ask, ms.indexTicks)
	}
	// The funding premium samples the impact prices: what the impact
	// notional would fetch on each side, so that a thin quote at the top
	// of the book cannot set funding.
	impactBid := e.impactPrice(ms, orderbook.Buy)
	impactAsk := e.impactPrice(ms, orderbook.Sell)
	if p, err := margin.PremiumIndexPpm(impactBid, impactAsk, ms.indexTicks); err == nil {
		_ = ms.premium.Add(p)
	}
	return e.markEvent(cmd, ev, ms), ReasonNone
}

// impactPrice is the average price, in ticks, at which the market's impact
// notional would fill against side of the book (the bids for the impact
// bid), or 0 if that side cannot absorb it. The last level takes only the
// notional still missing, so with Σ the lots × quote per tick-lot of the
// levels before it, r the notional missing and p its price, the lots are
// Σ/qptl + r/(p·qptl) and the average is notional·p / (Σ·p + r): exact,
// rounded away from the book's middle (down for bids, up for asks), which
// can only shrink the premium.
func (e *Engine) impactPrice(ms *marketState, side orderbook.Side) int64 {
	need, qptl := ms.ImpactNotionalQuote, ms.Grid.QuotePerTickLot()
	rounding := fixed.RoundDown
	if side == orderbook.Sell {
		rounding = fixed.RoundUp
	}
	for n := 16; ; n *= 4 {
		e.depthBuf = ms.book.DepthLots(side, n, e.depthBuf[:0])
		var filled, lotsQuote int64 // notional of the whole levels, and their lots × qptl
		for _, l := range e.depthBuf {
			v, err := notionalAt(l.TotalLots, l.PriceTicks, qptl)
			if err != nil || v >= need-filled {
				// This level completes the notional (a level too large for
				// int64 certainly does).
				den, err1 := fixed.Mul(lotsQuote, l.PriceTicks)
				if err1 == nil {
					den, err1 = fixed.Add(den, need-filled)
				}
				p, err2 := fixed.MulDiv(need, l.PriceTicks, den, rounding)
				if err1 != nil || err2 != nil {
					return 0
				}
				return p
			}
			filled += v // below need: no overflow
			lq, err := fixed.Mul(l.TotalLots, qptl)
			if err != nil {
				return 0
			}
			lotsQuote += lq // ≤ filled
		}
		if len(e.depthBuf) < n {
			return 0 // the whole side is thinner than the impact notional
		}
	}
}

// markEvent recomputes the mark and reports it if it moved (or on a new
// index, which the event also carries).
func (e *Engine) markEvent(cmd *Command, ev []Event, ms *marketState) []Event {
	old := ms.markTicks
	e.updateMark(ms, cmd.TsNanos)
	if ms.markTicks == old && cmd.Kind != CmdSetIndexPrice {
		return ev
	}
	ev, x := push(ev)
	x.Kind, x.Seq, x.Market, x.IndexTicks, x.PriceTicks = EventMarkPrice, cmd.Seq, ms.ID, ms.indexTicks, ms.markTicks
	return ev
}

func (e *Engine) updateMark(ms *marketState, tsNanos int64) {
	basis, hasBasis := ms.basis.Ticks()
	toFunding := ms.nextFundingNanos - tsNanos
	mark, err := margin.MarkPrice(margin.MarkInput{
		IndexTicks: ms.indexTicks, LastFundingRatePpm: ms.fundingRatePpm,
		NanosToFunding: max(0, min(toFunding, ms.FundingIntervalNanos)), FundingIntervalNanos: ms.FundingIntervalNanos,
		BasisTicks: basis, HasBasis: hasBasis, LastTradeTicks: ms.lastTradeTicks,
	})
	if err != nil || mark < 1 || e.cfg.MarkFromIndex {
		mark = ms.indexTicks
	}
	if mark != ms.markTicks {
		e.marksMoved = true // entries may be due (collectDue)
	}
	ms.markTicks = mark
	ms.book.SetReferencePrice(mark, e.bookEv[:0])
}

// settleDueFunding pays funding in every market whose funding time the
// command's timestamp has reached, before the command itself runs, so that a
// replay settles at exactly the same point of the command stream. Funding
// times are the multiples of the interval since the Unix epoch (00:00, 08:00
// and 16:00 UTC for 8 hours).
//
// It runs before every command and almost always finds nothing due, so that
// case is one comparison, inlined: fundingDueNanos is the earliest funding
// time of any market, 0 until they are all set (by the first command).
func (e *Engine) settleDueFunding(cmd *Command, ev []Event) []Event {
	if e.fundingDueNanos != 0 && cmd.TsNanos < e.fundingDueNanos {
		return ev
	}
	return e.settleDueFundingAll(cmd, ev)
}

func (e *Engine) settleDueFundingAll(cmd *Command, ev []Event) []Event {
	due := int64(math.MaxInt64)
	for i := range e.markets {
		ms := &e.markets[i]
		if ms.nextFundingNanos == 0 {
			ms.nextFundingNanos = (cmd.TsNanos/ms.FundingIntervalNanos + 1) * ms.FundingIntervalNanos
		} else if cmd.TsNanos >= ms.nextFundingNanos {
			// Funding is paid once even if the clock skipped several
			// funding times (the exchange was down): positions held
			// through the gap pay one interval, as on a venue that resumes.
			ev = e.settleFunding(cmd, ev, ms)
			ms.nextFundingNanos = (cmd.TsNanos/ms.FundingIntervalNanos + 1) * ms.FundingIntervalNanos
		}
		due = min(due, ms.nextFundingNanos)
	}
	e.fundingDueNanos = due
	return ev
}

// settleFunding sets the interval's rate from the average premium and pays
// it between longs and shorts at the mark.
func (e *Engine) settleFunding(cmd *Command, ev []Event, ms *marketState) []Event {
	premium, ok := ms.premium.Ppm()
	if !ok {
		premium = 0
	}
	rate, err := margin.FundingRate(premium, ms.FundingInterestPpm, ms.FundingClampPpm)
	if err != nil {
		rate = ms.FundingInterestPpm
	}
	// Venues cap the rate per interval (0.75% on the large BTC and ETH
	// contracts); a book pushed far from the index pays at most that.
	rate = max(-maxFundingRatePpm, min(rate, maxFundingRatePpm))
	ms.fundingRatePpm = rate
	ms.premium.Reset()
	if ms.markTicks == 0 {
		return ev
	}
	e.fundBuf, _, err = e.ledger.SettleFunding(ms.ID, ms.markTicks, rate, e.fundBuf[:0])
	if err != nil {
		// Sizes and marks are bounded by the market config and the rate by
		// the cap above, so this is a broken invariant: stop.
		panic(fmt.Errorf("engine: funding %s: %w", ms.Symbol, err))
	}
	for _, p := range e.fundBuf {
		e.touch(p.Account)
		ev = append(ev, Event{Kind: EventFunding, Seq: cmd.Seq, Account: p.Account, Market: ms.ID, RatePpm: rate,
			AmountQuote: p.AmountQuote, BalanceQuote: p.BalanceQuote, Mode: p.Mode})
	}
	return ev
}
