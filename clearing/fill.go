package clearing

import (
	"fmt"

	"github.com/paperperps/exchange/fixed"
)

// FillSide is one account's side of a trade.
type FillSide struct {
	Account AccountID
	Market  MarketID
	// QtyLots is positive for a buy, negative for a sell; never 0.
	QtyLots    int64
	PriceTicks int64
	// Maker selects the market's maker fee rate, otherwise the taker rate.
	Maker bool
}

// Trade is one fill of the book: both sides at one price and quantity.
type Trade struct {
	Market     MarketID
	PriceTicks int64
	// QtyLots is the traded quantity, positive.
	QtyLots int64
	Maker   AccountID
	Taker   AccountID
	// TakerBuys: the taker bought (and the maker sold); otherwise the
	// reverse.
	TakerBuys bool
	// TakerFeeFree and MakerFeeFree waive that side's fee: a liquidation
	// order pays the liquidation fee instead (see the engine), and an
	// auto-deleveraging trade charges neither side. A maker's rebate is
	// paid out of its trade's taker fee, so a fee-free taker waives it
	// too: the maker then pays its fee if the maker rate is positive, and
	// receives nothing if it is a rebate.
	TakerFeeFree, MakerFeeFree bool
}

// FillResult is what a fill did to its account. Balances are those after
// the fill.
type FillResult struct {
	Change Change
	// ClosedLots is how much of the previous position the fill closed: 0
	// when it opened or increased, the whole previous size when it closed or
	// flipped.
	ClosedLots int64
	// RealizedPnLQuote is the PnL realized by the closed part, rounded down
	// (see the package comment); 0 when nothing closed.
	RealizedPnLQuote int64
	// FeeQuote is the fee charged (positive) or the rebate paid (negative).
	FeeQuote int64
	// SizeLots and EntryValueQuote are the position after the fill.
	SizeLots        int64
	EntryValueQuote int64
	// IsolatedMarginQuote is the position's isolated margin after the fill
	// (0 in cross mode, and after a full close, which releases it).
	IsolatedMarginQuote int64
	// WalletQuote is the account's wallet after the fill. Negative means a
	// cross loss exceeded the wallet: a debt the engine must liquidate.
	WalletQuote int64
	// ReleasedMarginQuote is what an isolated position returned to the
	// wallet: all its margin on a close, the closed share on a partial
	// close, each with the closed part's PnL and fee settled in.
	ReleasedMarginQuote int64
	// ShortfallQuote > 0 means the isolated position was bankrupt: its loss
	// and fee exceeded its margin by this much, the margin was set to 0 and
	// the insurance fund paid the difference, as far as it held; the rest
	// became bad debt (Ledger.BadDebtQuote).
	ShortfallQuote int64
	// InsuranceFundQuote is the fund after the fill (never negative).
	InsuranceFundQuote int64
}

// TradeResult holds the two sides' results of SettleTrade.
type TradeResult struct {
	Maker FillResult
	Taker FillResult
}

// sideState is everything one fill side reads and writes. settle is a pure
// function of it, so a trade's two sides can both be computed, and every
// overflow found, before anything is stored.
type sideState struct {
	sizeLots            int64
	entryValueQuote     int64
	isolatedMarginQuote int64
	walletQuote         int64
	feeAccountQuote     int64
	insuranceFundQuote  int64
	badDebtQuote        int64
	longLots, shortLots int64
	unmatchedQuote      int64
	mode                MarginMode
}

// load reads record i's side into st field by field: st is then written by
// settle with narrow stores, and copying a whole sideState (as a returned
// value or an assignment) uses 16-byte loads that would stall on them.
func (l *Ledger) load(i uint32, st *sideState) {
	p := &l.pos[i]
	mk := &l.markets[p.market]
	st.sizeLots, st.entryValueQuote, st.isolatedMarginQuote = p.sizeLots, p.entryValueQuote, p.isolatedMarginQuote
	st.walletQuote = l.wallets[p.account]
	st.feeAccountQuote, st.insuranceFundQuote, st.badDebtQuote = l.feeAccountQuote, l.insuranceFundQuote, l.badDebtQuote
	st.longLots, st.shortLots = mk.longLots, mk.shortLots
	st.unmatchedQuote = l.unmatchedQuote
	st.mode = p.mode
}

// shared copies the ledger-wide fields of from into st: the second side of
// a trade must see the first side's fee, insurance and open-interest
// effects.
func (st *sideState) shared(from *sideState) {
	st.feeAccountQuote = from.feeAccountQuote
	st.insuranceFundQuote = from.insuranceFundQuote
	st.badDebtQuote = from.badDebtQuote
	st.longLots, st.shortLots = from.longLots, from.shortLots
	st.unmatchedQuote = from.unmatchedQuote
}

func (l *Ledger) commit(i uint32, st *sideState) {
	p := &l.pos[i]
	mk := &l.markets[p.market]
	wasOpen := p.sizeLots != 0
	p.sizeLots = st.sizeLots
	p.entryValueQuote = st.entryValueQuote
	p.isolatedMarginQuote = st.isolatedMarginQuote
	switch isOpen := st.sizeLots != 0; {
	case isOpen && !wasOpen:
		l.links[i] = posLink{prev: mk.tail}
		if mk.tail != 0 {
			l.links[mk.tail].next = i
		} else {
			mk.head = i
		}
		mk.tail = i
		mk.open++
	case wasOpen && !isOpen:
		k := l.links[i]
		if k.prev != 0 {
			l.links[k.prev].next = k.next
		} else {
			mk.head = k.next
		}
		if k.next != 0 {
			l.links[k.next].prev = k.prev
		} else {
			mk.tail = k.prev
		}
		l.links[i] = posLink{}
		mk.open--
	}
	mk.longLots, mk.shortLots = st.longLots, st.shortLots
	l.wallets[p.account] = st.walletQuote
	l.feeAccountQuote = st.feeAccountQuote
	l.insuranceFundQuote = st.insuranceFundQuote
	l.badDebtQuote = st.badDebtQuote
	l.unmatchedQuote = st.unmatchedQuote
}

// settle applies a fill of qtyLots (signed) at priceTicks to st and
// describes it in res. st is written only at the end, when nothing can fail
// any more; on error res may be partly filled and the caller drops both.
// See the package comment for the rules; the comments here say why each
// rounding goes the way it does.
func settle(st *sideState, res *FillResult, qtyLots, priceTicks, qptl, feeRatePpm int64) error {
	// The fill value: + for a buy (money out for the goods), − for a sell.
	fillQuote, err := notional(priceTicks, qtyLots, qptl)
	if err != nil {
		return err
	}
	absNotional, err := fixed.Abs(fillQuote)
	if err != nil {
		return err
	}
	fee, err := feeQuote(absNotional, feeRatePpm)
	if err != nil {
		return err
	}
	oldSize := st.sizeLots
	size, entry := st.sizeLots, st.entryValueQuote
	var realized int64
	switch {
	case size == 0:
		res.Change = ChangeOpened
		size, entry = qtyLots, fillQuote
	case (size > 0) == (qtyLots > 0):
		res.Change = ChangeIncreased
		if size, err = fixed.Add(size, qtyLots); err != nil {
			return err
		}
		// Exact VWAP: the basis is the plain sum of fill values.
		if entry, err = fixed.Add(entry, fillQuote); err != nil {
			return err
		}
	default:
		absSize, err1 := fixed.Abs(size)
		absQty, err2 := fixed.Abs(qtyLots)
		if err1 != nil || err2 != nil {
			return fixed.ErrOverflow
		}
		// realized = −(closing fill value + basis of the closed part):
		// for a long, proceeds − cost; for a short, proceeds at entry (−basis)
		// − cost of buying back.
		switch {
		case absQty < absSize:
			res.Change = ChangeReduced
			res.ClosedLots = absQty
			// The closed part's basis is entry × closed/|size|. Rounding it
			// up rounds the realized PnL down (a credit to the user). The
			// rounded amount is what leaves the basis, so the remaining
			// basis carries the remainder and the full close settles it.
			closedBasis, err := fixed.MulDiv(entry, absQty, absSize, fixed.RoundUp)
			if err != nil {
				return err
			}
			if realized, err = negSum(fillQuote, closedBasis); err != nil {
				return err
			}
			if entry, err = fixed.Sub(entry, closedBasis); err != nil {
				return err
			}
			size += qtyLots // |qty| < |size|: no overflow
		case absQty == absSize:
			res.Change = ChangeClosed
			res.ClosedLots = absSize
			if realized, err = negSum(fillQuote, entry); err != nil {
				return err
			}
			size, entry = 0, 0
		default:
			res.Change = ChangeFlipped
			res.ClosedLots = absSize
			// Close the whole position at the fill price, then open the
			// rest; the two fill values add up to fillQuote exactly.
			closeQuote, err := notional(priceTicks, -size, qptl)
			if err != nil {
				return err
			}
			if realized, err = negSum(closeQuote, entry); err != nil {
				return err
			}
			if entry, err = fixed.Sub(fillQuote, closeQuote); err != nil {
				return err
			}
			size += qtyLots // opposite signs: no overflow
		}
	}

	delta, err := fixed.Sub(realized, fee)
	if err != nil {
		return err
	}
	wallet, iso, fund, badDebt := st.walletQuote, st.isolatedMarginQuote, st.insuranceFundQuote, st.badDebtQuote
	if st.mode == Isolated {
		if res.Change == ChangeReduced {
			// A partial close hands the wallet the closed share of the
			// margin, rounded down (the position keeps the remainder), as
			// venues release isolated margin pro rata: the part that
			// stays open keeps its margin ratio. The closed part's PnL and
			// fee settle against that share first; a loss beyond it falls
			// on the rest of the margin below, never on the wallet.
			//
			// The share is MulDiv(iso, ClosedLots, |oldSize|, RoundDown).
			// Every partial close asks, and the product nearly always fits
			// in an int64: then, all three being non-negative (p ≥ 0 with
			// ClosedLots > 0 means iso ≥ 0), Go's truncating division is
			// that floor, without the 128-bit division and its call.
			absOld := max(oldSize, -oldSize)
			share, err := fixed.Mul(iso, res.ClosedLots)
			if err != nil || share < 0 || res.ClosedLots <= 0 || absOld <= 0 {
				share, err = fixed.MulDiv(iso, res.ClosedLots, absOld, fixed.RoundDown)
				if err != nil {
					return err
				}
			} else {
				share /= absOld
			}
			iso -= share
			if delta, err = fixed.Add(delta, share); err != nil {
				return err
			}
			if delta > 0 {
				res.ReleasedMarginQuote = delta
				if wallet, err = fixed.Add(wallet, delta); err != nil {
					return err
				}
				delta = 0
			}
		}
		if iso, err = fixed.Add(iso, delta); err != nil {
			return err
		}
		if iso < 0 {
			// Bankrupt: the loss is never taken from the wallet. The fund
			// pays the part beyond the margin; liquidation (in the engine)
			// is meant to close positions before this happens.
			if res.ShortfallQuote, err = fixed.Sub(0, iso); err != nil {
				return err
			}
			iso = 0
			if fund, badDebt, err = drawFund(fund, badDebt, res.ShortfallQuote); err != nil {
				return err
			}
		}
		if size == 0 && iso > 0 {
			res.ReleasedMarginQuote = iso
			if wallet, err = fixed.Add(wallet, iso); err != nil {
				return err
			}
			iso = 0
		}
	} else if wallet, err = fixed.Add(wallet, delta); err != nil {
		return err
	}
	feeAccount, err := fixed.Add(st.feeAccountQuote, fee)
	if err != nil {
		return err
	}
	long, short, err := openInterest(st.longLots, st.shortLots, oldSize, size)
	if err != nil {
		return err
	}
	unmatched, err := fixed.Add(st.unmatchedQuote, fillQuote)
	if err != nil {
		return err
	}

	st.sizeLots, st.entryValueQuote, st.isolatedMarginQuote = size, entry, iso
	st.walletQuote, st.insuranceFundQuote, st.badDebtQuote, st.feeAccountQuote = wallet, fund, badDebt, feeAccount
	st.longLots, st.shortLots, st.unmatchedQuote = long, short, unmatched
	res.RealizedPnLQuote = realized
	res.FeeQuote = fee
	res.SizeLots, res.EntryValueQuote = size, entry
	res.IsolatedMarginQuote = iso
	res.WalletQuote = wallet
	res.InsuranceFundQuote = fund
	return nil
}

// feeQuote is |notional| × ratePpm / 10^6 rounded up: a fee is never
// undercharged, and for a negative (rebate) rate up is toward zero, so a
// rebate is never overpaid. It equals fixed.ApplyPpm(..., fixed.RoundUp);
// when the product fits in 64 bits it divides by the constant 10^6, which
// the compiler turns into a multiplication, instead of a 128-bit division.
func feeQuote(absNotional, ratePpm int64) (int64, error) {
	p, err := fixed.Mul(absNotional, ratePpm)
	if err != nil {
		return fixed.ApplyPpm(absNotional, ratePpm, fixed.RoundUp)
	}
	q := p / fixed.PpmPerUnit // truncates toward zero: the ceiling when p < 0
	if p%fixed.PpmPerUnit > 0 {
		q++
	}
	return q, nil
}

// notional is priceTicks × qtyLots × qptl, checked.
func notional(priceTicks, qtyLots, qptl int64) (int64, error) {
	pq, err := fixed.Mul(priceTicks, qtyLots)
	if err != nil {
		return 0, err
	}
	return fixed.Mul(pq, qptl)
}

// negSum returns −(a + b), checked.
func negSum(a, b int64) (int64, error) {
	s, err := fixed.Add(a, b)
	if err != nil {
		return 0, err
	}
	return fixed.Sub(0, s)
}

// openInterest moves one position's contribution to the market's long and
// short totals from oldSize to newSize.
func openInterest(long, short, oldSize, newSize int64) (int64, int64, error) {
	if oldSize > 0 {
		long -= oldSize
	} else {
		short += oldSize
	}
	var err error
	if newSize > 0 {
		long, err = fixed.Add(long, newSize)
	} else {
		short, err = fixed.Sub(short, newSize)
	}
	return long, short, err
}

// Fill settles one side of a trade into its account. The engine normally
// calls SettleTrade; Fill exists for a side whose counterpart is settled
// separately (the two calls of one trade must both be made before the
// conservation check, which counts an unmatched side as an error).
//
// A fill has already happened in the book, so there is no Reason: an
// impossible fill (unknown ids, zero quantity, non-positive price) wraps
// ErrInvalidFill, and an amount out of the int64 range wraps
// fixed.ErrOverflow. On error nothing changes.
func (l *Ledger) Fill(f FillSide) (FillResult, error) {
	if !l.knownAccount(f.Account) || int(f.Market) >= len(l.markets) || f.QtyLots == 0 || f.PriceTicks <= 0 {
		return FillResult{}, fmt.Errorf("%w: account %d (of %d), market %d (of %d), qty %d lots, price %d ticks",
			ErrInvalidFill, f.Account, len(l.wallets), f.Market, len(l.markets), f.QtyLots, f.PriceTicks)
	}
	spec := &l.markets[f.Market].spec
	rate := spec.TakerFeeRatePpm
	if f.Maker {
		rate = spec.MakerFeeRatePpm
	}
	i := l.record(f.Account, f.Market)
	var res FillResult
	var st sideState
	l.load(i, &st)
	if err := settle(&st, &res, f.QtyLots, f.PriceTicks, spec.QuotePerTickLot, rate); err != nil {
		return FillResult{}, fmt.Errorf("clearing: fill of account %d in market %d: %w", f.Account, f.Market, err)
	}
	l.commit(i, &st)
	return res, nil
}

// SettleTrade settles both sides of a trade: the maker at the market's maker
// rate, the taker at the taker rate. Both sides are computed before either
// is stored, so on error (as for Fill) nothing changes. Maker and taker may
// be the same account (a self-trade the book allowed): the taker side then
// settles into the position the maker side left.
func (l *Ledger) SettleTrade(t Trade) (res TradeResult, err error) {
	if err := l.SettleTradeInto(t, &res); err != nil {
		return TradeResult{}, err
	}
	return res, nil
}

// SettleTradeInto is SettleTrade writing the result into *res (undefined
// on error). The engine settles every fill through it: a TradeResult
// returned by value is copied by the caller with 16-byte loads, which stall
// on the narrower stores that have just written it. For the same reason the
// maker's state is copied to the taker's only for a self-trade.
func (l *Ledger) SettleTradeInto(t Trade, res *TradeResult) error {
	*res = TradeResult{}
	if int(t.Market) >= len(l.markets) || !l.knownAccount(t.Maker) || !l.knownAccount(t.Taker) || t.QtyLots <= 0 || t.PriceTicks <= 0 {
		return fmt.Errorf("%w: trade in market %d (of %d), maker %d, taker %d (of %d), qty %d lots, price %d ticks",
			ErrInvalidFill, t.Market, len(l.markets), t.Maker, t.Taker, len(l.wallets), t.QtyLots, t.PriceTicks)
	}
	spec := &l.markets[t.Market].spec
	takerQty := t.QtyLots
	if !t.TakerBuys {
		takerQty = -takerQty
	}
	mi := l.record(t.Maker, t.Market)
	ti := l.record(t.Taker, t.Market)
	var ms, ts sideState
	l.load(mi, &ms)
	makerFee, takerFee := spec.MakerFeeRatePpm, spec.TakerFeeRatePpm
	if t.MakerFeeFree {
		makerFee = 0
	}
	if t.TakerFeeFree {
		takerFee = 0
		makerFee = max(makerFee, 0) // no taker fee to pay a rebate from
	}
	if err := settle(&ms, &res.Maker, -takerQty, t.PriceTicks, spec.QuotePerTickLot, makerFee); err != nil {
		return fmt.Errorf("clearing: trade in market %d, maker %d: %w", t.Market, t.Maker, err)
	}
	if ti != mi {
		l.load(ti, &ts)
		ts.shared(&ms)
	} else {
		ts = ms
	}
	if err := settle(&ts, &res.Taker, takerQty, t.PriceTicks, spec.QuotePerTickLot, takerFee); err != nil {
		return fmt.Errorf("clearing: trade in market %d, taker %d: %w", t.Market, t.Taker, err)
	}
	l.commit(mi, &ms)
	l.commit(ti, &ts)
	return nil
}
