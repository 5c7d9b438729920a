package clearing

import "github.com/paperperps/exchange/fixed"

// Position is a copy of one account's position in one market.
type Position struct {
	Account AccountID
	Market  MarketID
	Mode    MarginMode
	// SizeLots is positive for a long, negative for a short, 0 when flat.
	SizeLots int64
	// EntryValueQuote is the cost basis: the exact sum of price × quantity ×
	// QuotePerTickLot of the fills that built the position, less what
	// reductions took out of it. Signed like SizeLots. Because every fill
	// price is at least one tick, |EntryValueQuote| >= |SizeLots| ×
	// QuotePerTickLot, so the entry price's denominator always fits.
	EntryValueQuote int64
	// IsolatedMarginQuote is the margin moved out of the wallet into this
	// position; always 0 in Cross mode, never negative.
	IsolatedMarginQuote int64
	// QuotePerTickLot is the market's, copied so that the price methods
	// below need nothing else.
	QuotePerTickLot int64
}

// EntryPrice returns the average entry price in ticks as the exact
// fraction numQuote / denQuotePerTick = EntryValueQuote / (SizeLots ×
// QuotePerTickLot). Both carry the position's sign, so the quotient is
// positive; a flat position gives 0/1. The error (fixed.ErrOverflow) is only
// possible for a Position not read from a Ledger.
func (p Position) EntryPrice() (numQuote, denQuotePerTick int64, err error) {
	if p.SizeLots == 0 {
		return 0, 1, nil
	}
	den, err := fixed.Mul(p.SizeLots, p.QuotePerTickLot)
	if err != nil {
		return 0, 0, err
	}
	if den == 0 {
		return 0, 0, fixed.ErrDivideByZero
	}
	return p.EntryValueQuote, den, nil
}

// EntryPriceTicks is the average entry price rounded to the nearest tick,
// halves up, for display. Margin and PnL never use it: they use
// EntryValueQuote, which is exact.
func (p Position) EntryPriceTicks() (int64, error) {
	num, den, err := p.EntryPrice()
	if err != nil {
		return 0, err
	}
	// round half up = floor((floor(2·num/den) + 1) / 2); the quotient is
	// non-negative, and MulDiv keeps 2·num in 128 bits.
	twice, err := fixed.MulDiv(num, 2, den, fixed.RoundDown)
	if err != nil {
		return 0, err
	}
	return twice/2 + twice%2, nil
}

// UnrealizedPnLQuote is what closing the whole position at markTicks would
// realize: SizeLots × markTicks × QuotePerTickLot − EntryValueQuote, exactly
// (a full close involves no rounding). The error is fixed.ErrOverflow.
func (p Position) UnrealizedPnLQuote(markTicks int64) (int64, error) {
	v, err := fixed.Mul(p.SizeLots, markTicks)
	if err != nil {
		return 0, err
	}
	if v, err = fixed.Mul(v, p.QuotePerTickLot); err != nil {
		return 0, err
	}
	return fixed.Sub(v, p.EntryValueQuote)
}

func (l *Ledger) export(p *position) Position {
	return Position{
		Account:             p.account,
		Market:              p.market,
		Mode:                p.mode,
		SizeLots:            p.sizeLots,
		EntryValueQuote:     p.entryValueQuote,
		IsolatedMarginQuote: p.isolatedMarginQuote,
		QuotePerTickLot:     l.markets[p.market].spec.QuotePerTickLot,
	}
}

// Position returns account a's position in market m: a flat cross position
// if it never had one, ok false if the account or market is unknown.
func (l *Ledger) Position(a AccountID, m MarketID) (p Position, ok bool) {
	ok = l.ReadPosition(a, m, &p)
	return p, ok
}

// ReadPosition is Position writing into *p (left untouched when ok is
// false), for hot paths. A Position has too many fields to stay in
// registers: a returned one is stored by the caller and copied with 16-byte
// loads, which stall on the narrower stores that have just written it. The
// engine reads positions several times per fill, so it reads them in place.
func (l *Ledger) ReadPosition(a AccountID, m MarketID, p *Position) (ok bool) {
	if !l.knownAccount(a) || int(m) >= len(l.markets) {
		return false
	}
	p.Account, p.Market, p.Mode = a, m, Cross
	p.SizeLots, p.EntryValueQuote, p.IsolatedMarginQuote = 0, 0, 0
	p.QuotePerTickLot = l.markets[m].spec.QuotePerTickLot
	if i := l.lookup(a, m); i != 0 {
		r := &l.pos[i]
		p.Mode, p.SizeLots, p.EntryValueQuote, p.IsolatedMarginQuote = r.mode, r.sizeLots, r.entryValueQuote, r.isolatedMarginQuote
	}
	return true
}

// OpenPositions appends market m's open positions to buf, in the order they
// were opened (the order funding settles them in), and returns it. Reusing
// buf makes it allocation-free.
func (l *Ledger) OpenPositions(m MarketID, buf []Position) []Position {
	if int(m) >= len(l.markets) {
		return buf
	}
	for i := l.markets[m].head; i != 0; i = l.links[i].next {
		buf = append(buf, l.export(&l.pos[i]))
	}
	return buf
}

// AccountPositions appends account a's positions that are open or hold
// isolated margin to buf, in market id order, and returns it. It costs
// O(markets).
func (l *Ledger) AccountPositions(a AccountID, buf []Position) []Position {
	if !l.knownAccount(a) {
		return buf
	}
	for m := range l.markets {
		if i := l.lookup(a, MarketID(m)); i != 0 {
			if p := &l.pos[i]; p.sizeLots != 0 || p.isolatedMarginQuote != 0 {
				buf = append(buf, l.export(p))
			}
		}
	}
	return buf
}
