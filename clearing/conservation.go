package clearing

import (
	"fmt"

	"github.com/paperperps/exchange/fixed"
)

// Figures are the terms of the conservation identity (see the package
// comment), summed over the whole ledger:
//
//	Wallets + IsolatedMargins + FeeAccount + InsuranceFund − BadDebt − EntryValues + Unmatched
//	    = Deposits − Withdrawals + InsuranceDeposits
//
// Unmatched is 0 whenever every trade has been settled on both sides.
type Figures struct {
	WalletsQuote           int64
	IsolatedMarginsQuote   int64
	FeeAccountQuote        int64
	InsuranceFundQuote     int64
	BadDebtQuote           int64 // losses nobody covered: money the ledger's accounts hold and nobody paid in
	EntryValuesQuote       int64 // signed: + for longs, − for shorts
	UnmatchedQuote         int64 // the signed fill values of fills whose counterpart is not settled yet
	DepositsQuote          int64
	WithdrawalsQuote       int64
	InsuranceDepositsQuote int64
}

// Held is the left-hand side of the identity: the money the ledger holds,
// less the basis of the open positions, plus unmatched fill values.
func (f Figures) Held() (int64, error) {
	s, err := sum(f.WalletsQuote, f.IsolatedMarginsQuote, f.FeeAccountQuote, f.InsuranceFundQuote, f.UnmatchedQuote)
	if err != nil {
		return 0, err
	}
	if s, err = fixed.Sub(s, f.BadDebtQuote); err != nil {
		return 0, err
	}
	return fixed.Sub(s, f.EntryValuesQuote)
}

// NetInflow is the right-hand side: the money that came in from outside.
func (f Figures) NetInflow() (int64, error) {
	s, err := fixed.Sub(f.DepositsQuote, f.WithdrawalsQuote)
	if err != nil {
		return 0, err
	}
	return fixed.Add(s, f.InsuranceDepositsQuote)
}

// sum adds with overflow checks.
func sum(terms ...int64) (int64, error) {
	var s int64
	for _, t := range terms {
		var err error
		if s, err = fixed.Add(s, t); err != nil {
			return 0, err
		}
	}
	return s, nil
}

// Conservation sums the figures from scratch, walking every account and
// position record: O(accounts + positions). Errors wrap fixed.ErrOverflow.
func (l *Ledger) Conservation() (Figures, error) {
	f := Figures{
		FeeAccountQuote:        l.feeAccountQuote,
		InsuranceFundQuote:     l.insuranceFundQuote,
		BadDebtQuote:           l.badDebtQuote,
		UnmatchedQuote:         l.unmatchedQuote,
		DepositsQuote:          l.depositsQuote,
		WithdrawalsQuote:       l.withdrawalsQuote,
		InsuranceDepositsQuote: l.insuranceDepositsQuote,
	}
	var err error
	for _, w := range l.wallets {
		if f.WalletsQuote, err = fixed.Add(f.WalletsQuote, w); err != nil {
			return f, fmt.Errorf("clearing: sum of wallets: %w", err)
		}
	}
	for i := 1; i < len(l.pos); i++ {
		p := &l.pos[i]
		if f.IsolatedMarginsQuote, err = fixed.Add(f.IsolatedMarginsQuote, p.isolatedMarginQuote); err != nil {
			return f, fmt.Errorf("clearing: sum of isolated margins: %w", err)
		}
		if f.EntryValuesQuote, err = fixed.Add(f.EntryValuesQuote, p.entryValueQuote); err != nil {
			return f, fmt.Errorf("clearing: sum of entry values: %w", err)
		}
	}
	return f, nil
}

// CheckConservation verifies, exactly, that money is conserved: the
// identity of Figures holds with Unmatched = 0 (every trade settled on both
// sides), and every market's long size equals its short size, recomputed
// from the positions. It costs O(accounts + positions), so tests call it
// after every operation (the engine can, under its invariants build tag).
// Errors wrap ErrConservation, ErrOpenInterest or fixed.ErrOverflow.
func (l *Ledger) CheckConservation() error {
	f, err := l.Conservation()
	if err != nil {
		return err
	}
	held, err := f.Held()
	if err != nil {
		return fmt.Errorf("clearing: conservation sum: %w", err)
	}
	in, err := f.NetInflow()
	if err != nil {
		return fmt.Errorf("clearing: conservation sum: %w", err)
	}
	if held != in {
		return fmt.Errorf("%w: held %d != inflow %d (off by %d): %+v", ErrConservation, held, in, held-in, f)
	}
	if f.UnmatchedQuote != 0 {
		return fmt.Errorf("%w: fills worth %d quote units settled without their counterpart", ErrOpenInterest, f.UnmatchedQuote)
	}
	long := make([]int64, len(l.markets))
	short := make([]int64, len(l.markets))
	for i := 1; i < len(l.pos); i++ {
		p := &l.pos[i]
		var err error
		if p.sizeLots > 0 {
			long[p.market], err = fixed.Add(long[p.market], p.sizeLots)
		} else {
			short[p.market], err = fixed.Sub(short[p.market], p.sizeLots)
		}
		if err != nil {
			return fmt.Errorf("clearing: open interest of market %d: %w", p.market, err)
		}
	}
	for m := range l.markets {
		if long[m] != short[m] {
			return fmt.Errorf("%w: market %d: long %d lots, short %d lots", ErrOpenInterest, m, long[m], short[m])
		}
	}
	return nil
}

// CheckInvariants runs CheckConservation and then verifies the ledger's
// structure: each market's open-position list holds exactly its open
// positions, in consistent links, and its running long and short totals
// match them; the slot tables point at the right records; flat positions
// have no basis; isolated margin is never negative and cross positions hold
// none; the fee account is not negative (maker rebates never exceed taker
// fees). Errors wrap ErrInvariant or those of CheckConservation.
func (l *Ledger) CheckInvariants() error {
	if err := l.CheckConservation(); err != nil {
		return err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvariant}, args...)...)
	}
	if len(l.pos) == 0 || l.pos[0] != (position{}) || l.links[0] != (posLink{}) {
		return fail("record 0 is not the unused sentinel")
	}
	if len(l.links) != len(l.pos) {
		return fail("%d records, %d links", len(l.pos), len(l.links))
	}
	if l.feeAccountQuote < 0 {
		return fail("fee account %d < 0", l.feeAccountQuote)
	}
	open := make([]int, len(l.markets))
	for i := 1; i < len(l.pos); i++ {
		p := &l.pos[i]
		if int(p.market) >= len(l.markets) || !l.knownAccount(p.account) || p.mode >= marginModeCount {
			return fail("record %d: account %d market %d mode %d", i, p.account, p.market, p.mode)
		}
		if l.lookup(p.account, p.market) != uint32(i) {
			return fail("record %d: slot of account %d in market %d is %d", i, p.account, p.market, l.lookup(p.account, p.market))
		}
		if p.isolatedMarginQuote < 0 || (p.mode == Cross && p.isolatedMarginQuote != 0) {
			return fail("account %d market %d: %s position with isolated margin %d", p.account, p.market, p.mode, p.isolatedMarginQuote)
		}
		if p.sizeLots == 0 && p.entryValueQuote != 0 {
			return fail("account %d market %d: flat with entry value %d", p.account, p.market, p.entryValueQuote)
		}
		if p.sizeLots != 0 && (p.entryValueQuote > 0) != (p.sizeLots > 0) {
			return fail("account %d market %d: size %d with entry value %d", p.account, p.market, p.sizeLots, p.entryValueQuote)
		}
		if k := l.links[i]; p.sizeLots == 0 && k != (posLink{}) {
			return fail("account %d market %d: flat but linked (%d, %d)", p.account, p.market, k.prev, k.next)
		}
		if p.sizeLots != 0 {
			open[p.market]++
		}
	}
	for m := range l.markets {
		mk := &l.markets[m]
		var long, short int64
		n, prev := 0, uint32(0)
		for i := mk.head; i != 0; i = l.links[i].next {
			p := &l.pos[i]
			if n++; n > mk.open || int(i) >= len(l.pos) {
				return fail("market %d: open list longer than %d or corrupt", m, mk.open)
			}
			if l.links[i].prev != prev || int(p.market) != m || p.sizeLots == 0 {
				return fail("market %d: record %d: prev %d want %d, market %d, size %d", m, i, l.links[i].prev, prev, p.market, p.sizeLots)
			}
			if p.sizeLots > 0 {
				long += p.sizeLots
			} else {
				short -= p.sizeLots
			}
			prev = i
		}
		// Every linked record is open and distinct (the links are
		// consistent and the walk is bounded), so equal counts mean every
		// open record is linked.
		if n != mk.open || n != open[m] || mk.tail != prev {
			return fail("market %d: %d linked, %d counted open, %d open records, tail %d want %d", m, n, mk.open, open[m], mk.tail, prev)
		}
		if long != mk.longLots || short != mk.shortLots {
			return fail("market %d: linked long %d short %d, running long %d short %d", m, long, short, mk.longLots, mk.shortLots)
		}
	}
	return nil
}
