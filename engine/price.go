package engine

import (
	"fmt"
	"math"

	"github.com/paperperps/exchange/margin"
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
	// The best bid and ask stand in for the impact prices (the prices at
	// which a fixed notional would fill): a thin book then moves the
	// premium less than venues' impact walks would.
	bid, _, okBid := ms.book.BestBid()
	ask, _, okAsk := ms.book.BestAsk()
	if okBid && okAsk {
		_ = ms.basis.Add(bid, ask, ms.indexTicks)
	}
	if !okBid {
		bid = 0
	}
	if !okAsk {
		ask = 0
	}
	if p, err := margin.PremiumIndexPpm(bid, ask, ms.indexTicks); err == nil {
		_ = ms.premium.Add(p)
	}
	return e.markEvent(cmd, ev, ms), ReasonNone
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
	if err != nil || mark < 1 {
		mark = ms.indexTicks
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
		ev = append(ev, Event{Kind: EventFunding, Seq: cmd.Seq, Account: p.Account, Market: ms.ID, RatePpm: rate,
			AmountQuote: p.AmountQuote, BalanceQuote: p.BalanceQuote, Mode: p.Mode})
	}
	return ev
}
