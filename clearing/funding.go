package clearing

import (
	"fmt"

	"github.com/paperperps/exchange/fixed"
)

// FundingPayment is one position's part in a funding settlement.
type FundingPayment struct {
	Account  AccountID
	Mode     MarginMode
	SizeLots int64
	// AmountQuote is what the position received (positive) or paid
	// (negative).
	AmountQuote int64
	// ShortfallQuote > 0: an isolated payer's margin did not cover its
	// payment; the margin went to 0 and the insurance fund paid the rest.
	ShortfallQuote int64
	// BalanceQuote is the wallet (cross) or the isolated margin (isolated)
	// after the payment. A negative cross wallet is a debt.
	BalanceQuote int64
}

// FundingTotals sums one funding settlement.
type FundingTotals struct {
	Positions int
	// PaidQuote is the sum the payers owed (rounded up each), including any
	// part the insurance fund covered; ReceivedQuote the sum paid to the
	// receivers (rounded down each).
	PaidQuote     int64
	ReceivedQuote int64
	// RemainderQuote = PaidQuote − ReceivedQuote >= 0, the rounding
	// remainder, credited to the insurance fund.
	RemainderQuote int64
	// ShortfallQuote is the sum of the isolated shortfalls the fund paid.
	ShortfallQuote int64
	// InsuranceFundQuote is the fund after the settlement.
	InsuranceFundQuote int64
}

// SettleFunding makes every open position of market m pay or receive
// funding: |size| × markTicks × QuotePerTickLot × |ratePpm| / 10^6. With a
// positive rate longs pay and shorts receive; with a negative rate the
// reverse. Payments round up, receipts round down, and the remainder goes to
// the insurance fund, so the money in the ledger is unchanged to the unit.
// Positions are settled in the order they were opened (OpenPositions'
// order), and one FundingPayment per position is appended to buf, which is
// returned; reusing buf makes the settlement allocation-free.
//
// Funding is due at times the engine decides, so there is no Reason: an
// unknown market, a mark price <= 0 or a rate beyond ±10^6 ppm wrap
// ErrInvalidFunding, a market whose long and short sizes differ wraps
// ErrOpenInterest, and an amount out of range wraps fixed.ErrOverflow. On
// error nothing changes.
func (l *Ledger) SettleFunding(m MarketID, markTicks, ratePpm int64, buf []FundingPayment) ([]FundingPayment, FundingTotals, error) {
	if int(m) >= len(l.markets) || markTicks <= 0 || ratePpm < -fixed.PpmPerUnit || ratePpm > fixed.PpmPerUnit {
		return buf, FundingTotals{}, fmt.Errorf("%w: market %d (of %d), mark %d ticks, rate %d ppm", ErrInvalidFunding, m, len(l.markets), markTicks, ratePpm)
	}
	mk := &l.markets[m]
	if mk.longLots != mk.shortLots {
		return buf, FundingTotals{}, fmt.Errorf("%w: market %d: long %d lots, short %d lots", ErrOpenInterest, m, mk.longLots, mk.shortLots)
	}
	// The first pass only computes, so that an overflow anywhere leaves
	// every balance untouched; the second, identical pass writes.
	if _, _, err := l.funding(m, markTicks, ratePpm, nil, false); err != nil {
		return buf, FundingTotals{}, fmt.Errorf("clearing: funding of market %d: %w", m, err)
	}
	buf, totals, err := l.funding(m, markTicks, ratePpm, buf, true)
	if err != nil {
		return buf, totals, fmt.Errorf("%w: funding of market %d failed after its dry run: %w", ErrInvariant, m, err)
	}
	return buf, totals, nil
}

func (l *Ledger) funding(m MarketID, markTicks, ratePpm int64, buf []FundingPayment, apply bool) ([]FundingPayment, FundingTotals, error) {
	mk := &l.markets[m]
	qptl := mk.spec.QuotePerTickLot
	absRate := ratePpm
	if absRate < 0 {
		absRate = -absRate
	}
	var t FundingTotals
	for i := mk.head; i != 0; i = l.links[i].next {
		p := &l.pos[i]
		absSize, err := fixed.Abs(p.sizeLots)
		if err != nil {
			return buf, t, err
		}
		n, err := notional(markTicks, absSize, qptl)
		if err != nil {
			return buf, t, err
		}
		pay := FundingPayment{Account: p.account, Mode: p.mode, SizeLots: p.sizeLots}
		if (p.sizeLots > 0) == (ratePpm > 0) {
			// A payer: rounds up, so the receivers are never paid from
			// money nobody paid in.
			amt, err := fixed.ApplyPpm(n, absRate, fixed.RoundUp)
			if err != nil {
				return buf, t, err
			}
			pay.AmountQuote = -amt
			if t.PaidQuote, err = fixed.Add(t.PaidQuote, amt); err != nil {
				return buf, t, err
			}
		} else {
			amt, err := fixed.ApplyPpm(n, absRate, fixed.RoundDown)
			if err != nil {
				return buf, t, err
			}
			pay.AmountQuote = amt
			if t.ReceivedQuote, err = fixed.Add(t.ReceivedQuote, amt); err != nil {
				return buf, t, err
			}
		}
		if p.mode == Isolated {
			if pay.BalanceQuote, err = fixed.Add(p.isolatedMarginQuote, pay.AmountQuote); err != nil {
				return buf, t, err
			}
			if pay.BalanceQuote < 0 {
				pay.ShortfallQuote = -pay.BalanceQuote // > MinInt64: AmountQuote = −amt with amt >= 0
				pay.BalanceQuote = 0
				if t.ShortfallQuote, err = fixed.Add(t.ShortfallQuote, pay.ShortfallQuote); err != nil {
					return buf, t, err
				}
			}
			if apply {
				p.isolatedMarginQuote = pay.BalanceQuote
			}
		} else {
			if pay.BalanceQuote, err = fixed.Add(l.wallets[p.account], pay.AmountQuote); err != nil {
				return buf, t, err
			}
			if apply {
				l.wallets[p.account] = pay.BalanceQuote
			}
		}
		t.Positions++
		if apply {
			buf = append(buf, pay)
		}
	}
	var err error
	if t.RemainderQuote, err = fixed.Sub(t.PaidQuote, t.ReceivedQuote); err != nil {
		return buf, t, err
	}
	fund, err := fixed.Add(l.insuranceFundQuote, t.RemainderQuote)
	if err != nil {
		return buf, t, err
	}
	fund, badDebt, err := drawFund(fund, l.badDebtQuote, t.ShortfallQuote)
	if err != nil {
		return buf, t, err
	}
	t.InsuranceFundQuote = fund
	if apply {
		l.insuranceFundQuote, l.badDebtQuote = fund, badDebt
	}
	return buf, t, nil
}
