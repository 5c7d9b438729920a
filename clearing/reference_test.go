package clearing_test

import (
	"fmt"
	"math/big"

	"github.com/paperperps/exchange/clearing"
)

// refLedger is the naive reference. Every computation is done in math/big
// (no overflow to think about, floor and ceiling spelled out), each rule is
// written the way a trader would say it rather than in the ledger's signed
// form, and beside the ledger's rounded numbers it keeps the exact rational
// basis and realized PnL of every position. Balances are stored as int64
// (fit panics if one leaves the range), which keeps the comparison after
// every operation cheap.
type refLedger struct {
	specs   []clearing.MarketSpec
	wallet  []int64
	pos     [][]refPos // [account][market]
	fee     int64
	fund    int64
	badDebt int64 // what the fund could not cover
	deposit int64 // deposits − withdrawals + insurance deposits

	// Realized PnL of every position life (open to full close) that has
	// ended, as the ledger rounded it and exactly; they must be equal.
	closedRealized *big.Int
	closedExact    *big.Rat
	maxLag         *big.Rat // the largest exact − rounded seen during a life
	openSeq        uint64   // counts openings from flat
	stamp          uint64   // counts compare calls
}

type refPos struct {
	size  int64
	basis int64 // cost (long) or minus proceeds (short), as the ledger rounds it
	iso   int64
	mode  clearing.MarginMode

	exactBasis   *big.Rat
	lifeRealized *big.Int // realized since the position (last) opened
	lifeExact    *big.Rat
	reductions   int    // partial reductions since it opened
	openSeq      uint64 // when it last opened from flat: funding's order
	stamp        uint64 // compare's mark: the ledger has a record of it
}

func newRef(specs []clearing.MarketSpec) *refLedger {
	return &refLedger{specs: specs, closedRealized: new(big.Int), closedExact: new(big.Rat), maxLag: new(big.Rat)}
}

func (r *refLedger) addAccount() {
	r.wallet = append(r.wallet, 0)
	ps := make([]refPos, len(r.specs))
	for m := range ps {
		ps[m] = refPos{exactBasis: new(big.Rat), lifeRealized: new(big.Int), lifeExact: new(big.Rat)}
	}
	r.pos = append(r.pos, ps)
}

func bi(v int64) *big.Int { return big.NewInt(v) }

// fit returns b as an int64; the reference never holds a balance that the
// ledger could not.
func fit(b *big.Int) int64 {
	if !b.IsInt64() {
		panic("reference: amount out of int64 range: " + b.String())
	}
	return b.Int64()
}

func add(a, b int64) int64 { return fit(new(big.Int).Add(bi(a), bi(b))) }

// floorDiv and ceilDiv for a positive divisor.
func floorDiv(a, b *big.Int) *big.Int {
	q, _ := new(big.Int).DivMod(a, b, new(big.Int)) // Euclidean: the remainder is >= 0, so q is the floor for b > 0
	return q
}

func ceilDiv(a, b *big.Int) *big.Int {
	return new(big.Int).Neg(floorDiv(new(big.Int).Neg(a), b))
}

func mul(vs ...int64) *big.Int {
	p := bi(1)
	for _, v := range vs {
		p.Mul(p, bi(v))
	}
	return p
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// refFill is what the reference expects of one fill side.
type refFill struct {
	change                             clearing.Change
	closed                             int64
	realized, fee, released, shortfall int64
	sizeAfter, basisAfter, isoAfter    int64
	walletAfter, fundAfter             int64
	lagAfter                           *big.Rat // exact − rounded realized of the current life
	reductions                         int
	lifeEnded                          bool
	lifeRealizedAtEnd                  *big.Int
	lifeExactAtEnd                     *big.Rat
}

func (r *refLedger) fill(a clearing.AccountID, m clearing.MarketID, qty, price int64, maker bool) refFill {
	spec := r.specs[m]
	p := &r.pos[a][m]
	q := spec.QuotePerTickLot
	var out refFill

	// Fee on |price × qty × qptl|: a charge rounds up, a rebate (negative
	// rate) rounds toward zero, which for a negative amount is also up.
	rate := spec.TakerFeeRatePpm
	if maker {
		rate = spec.MakerFeeRatePpm
	}
	out.fee = fit(ceilDiv(new(big.Int).Mul(mul(price, abs64(qty), q), bi(rate)), bi(1_000_000)))

	wasFlat := p.size == 0
	switch {
	case p.size == 0:
		out.change = clearing.ChangeOpened
	case (p.size > 0) == (qty > 0):
		out.change = clearing.ChangeIncreased
	case abs64(qty) < abs64(p.size):
		out.change = clearing.ChangeReduced
	case abs64(qty) == abs64(p.size):
		out.change = clearing.ChangeClosed
	default:
		out.change = clearing.ChangeFlipped
	}

	rest := qty
	if p.size != 0 && (p.size > 0) != (qty > 0) {
		// Close c lots of the position.
		c := min(abs64(qty), abs64(p.size))
		out.closed = c
		absSize := abs64(p.size)
		value := mul(price, c, q)
		var taken, realized *big.Int // the basis attributed to the closed lots, and the PnL
		if p.size > 0 {
			// Long: the cost of the closed lots, rounded up so the
			// profit (proceeds − cost) rounds down.
			taken = ceilDiv(mul(p.basis, c), bi(absSize))
			realized = new(big.Int).Sub(value, taken)
		} else {
			// Short: the entry proceeds of the closed lots (−basis share),
			// rounded down so the profit (proceeds − buy-back) rounds down.
			proceeds := floorDiv(mul(-p.basis, c), bi(absSize))
			taken = new(big.Int).Neg(proceeds)
			realized = new(big.Int).Sub(proceeds, value)
		}
		out.realized = fit(realized)
		exactTaken := new(big.Rat).Mul(p.exactBasis, big.NewRat(c, absSize))
		exactRealized := new(big.Rat).SetInt(value)
		if p.size > 0 {
			exactRealized.Sub(exactRealized, exactTaken)
		} else {
			exactRealized.Neg(exactRealized).Sub(exactRealized, exactTaken)
		}
		p.basis = fit(new(big.Int).Sub(bi(p.basis), taken))
		p.exactBasis.Sub(p.exactBasis, exactTaken)
		p.lifeRealized.Add(p.lifeRealized, realized)
		p.lifeExact.Add(p.lifeExact, exactRealized)
		if p.size > 0 {
			p.size -= c
			rest += c
		} else {
			p.size += c
			rest -= c
		}
		if p.size == 0 {
			out.lifeEnded = true
			out.lifeRealizedAtEnd = new(big.Int).Set(p.lifeRealized)
			out.lifeExactAtEnd = new(big.Rat).Set(p.lifeExact)
			r.closedRealized.Add(r.closedRealized, p.lifeRealized)
			r.closedExact.Add(r.closedExact, p.lifeExact)
			p.lifeRealized.SetInt64(0)
			p.lifeExact.SetInt64(0)
			p.reductions = 0
			if p.basis != 0 || p.exactBasis.Sign() != 0 {
				panic(fmt.Sprintf("reference: closed with basis %d / %s", p.basis, p.exactBasis.RatString()))
			}
		} else {
			p.reductions++
		}
	}
	if rest != 0 {
		// Open or increase: the basis is the plain sum of fill values.
		v := mul(price, rest, q)
		p.size += rest
		p.basis = fit(new(big.Int).Add(bi(p.basis), v))
		p.exactBasis.Add(p.exactBasis, new(big.Rat).SetInt(v))
	}
	if wasFlat {
		r.openSeq++
		p.openSeq = r.openSeq
	}

	// Money: PnL and fee to the wallet (cross) or isolated margin.
	delta := fit(new(big.Int).Sub(bi(out.realized), bi(out.fee)))
	if p.mode == clearing.Isolated {
		if out.closed > 0 && p.size != 0 && rest == 0 {
			// A partial close: the closed share of the margin (rounded
			// down) goes to the wallet with the closed part's PnL and fee,
			// unless they lose more than it.
			share := fit(floorDiv(mul(p.iso, out.closed), bi(abs64(p.size)+out.closed)))
			p.iso -= share
			delta = add(delta, share)
			if delta > 0 {
				out.released = delta
				r.wallet[a] = add(r.wallet[a], delta)
				delta = 0
			}
		}
		p.iso = add(p.iso, delta)
		if p.iso < 0 {
			out.shortfall = -p.iso
			r.draw(out.shortfall)
			p.iso = 0
		}
		if p.size == 0 {
			out.released = p.iso
			r.wallet[a] = add(r.wallet[a], p.iso)
			p.iso = 0
		}
	} else {
		r.wallet[a] = add(r.wallet[a], delta)
	}
	r.fee = add(r.fee, out.fee)

	out.lagAfter = new(big.Rat).Sub(p.lifeExact, new(big.Rat).SetInt(p.lifeRealized))
	if out.lagAfter.Cmp(r.maxLag) > 0 {
		r.maxLag.Set(out.lagAfter)
	}
	out.reductions = p.reductions
	out.sizeAfter, out.basisAfter, out.isoAfter = p.size, p.basis, p.iso
	out.walletAfter, out.fundAfter = r.wallet[a], r.fund
	return out
}

func (r *refLedger) known(a clearing.AccountID) bool { return int(a) < len(r.wallet) }

func (r *refLedger) depositReq(a clearing.AccountID, amt int64) clearing.Reason {
	switch {
	case !r.known(a):
		return clearing.ReasonUnknownAccount
	case amt <= 0:
		return clearing.ReasonInvalidAmount
	}
	r.wallet[a] = add(r.wallet[a], amt)
	r.deposit = add(r.deposit, amt)
	return clearing.ReasonNone
}

func (r *refLedger) withdrawReq(a clearing.AccountID, amt, free int64) clearing.Reason {
	switch {
	case !r.known(a):
		return clearing.ReasonUnknownAccount
	case amt <= 0:
		return clearing.ReasonInvalidAmount
	case r.wallet[a] < amt:
		return clearing.ReasonInsufficientBalance
	case amt > free:
		return clearing.ReasonExceedsFreeCollateral
	}
	r.wallet[a] = add(r.wallet[a], -amt)
	r.deposit = add(r.deposit, -amt)
	return clearing.ReasonNone
}

func (r *refLedger) insuranceReq(amt int64) clearing.Reason {
	if amt <= 0 {
		return clearing.ReasonInvalidAmount
	}
	r.fund = add(r.fund, amt)
	r.deposit = add(r.deposit, amt)
	return clearing.ReasonNone
}

func (r *refLedger) setMode(a clearing.AccountID, m clearing.MarketID, mode clearing.MarginMode) (int64, clearing.Reason) {
	switch {
	case !r.known(a):
		return 0, clearing.ReasonUnknownAccount
	case int(m) >= len(r.specs):
		return 0, clearing.ReasonUnknownMarket
	case mode != clearing.Cross && mode != clearing.Isolated:
		return 0, clearing.ReasonInvalidMarginMode
	}
	p := &r.pos[a][m]
	var released int64
	if mode == clearing.Cross {
		released = p.iso
		r.wallet[a] = add(r.wallet[a], p.iso)
		p.iso = 0
	}
	p.mode = mode
	return released, clearing.ReasonNone
}

func (r *refLedger) addMargin(a clearing.AccountID, m clearing.MarketID, amt, free int64) clearing.Reason {
	switch {
	case !r.known(a):
		return clearing.ReasonUnknownAccount
	case int(m) >= len(r.specs):
		return clearing.ReasonUnknownMarket
	case amt <= 0:
		return clearing.ReasonInvalidAmount
	case r.pos[a][m].mode != clearing.Isolated:
		return clearing.ReasonNotIsolated
	case r.wallet[a] < amt:
		return clearing.ReasonInsufficientBalance
	case amt > free:
		return clearing.ReasonExceedsFreeCollateral
	}
	r.wallet[a] = add(r.wallet[a], -amt)
	r.pos[a][m].iso = add(r.pos[a][m].iso, amt)
	return clearing.ReasonNone
}

func (r *refLedger) removeMargin(a clearing.AccountID, m clearing.MarketID, amt, max int64) clearing.Reason {
	switch {
	case !r.known(a):
		return clearing.ReasonUnknownAccount
	case int(m) >= len(r.specs):
		return clearing.ReasonUnknownMarket
	case amt <= 0:
		return clearing.ReasonInvalidAmount
	case r.pos[a][m].mode != clearing.Isolated:
		return clearing.ReasonNotIsolated
	case r.pos[a][m].iso < amt:
		return clearing.ReasonInsufficientMargin
	case amt > max:
		return clearing.ReasonExceedsFreeMargin
	}
	r.wallet[a] = add(r.wallet[a], amt)
	r.pos[a][m].iso = add(r.pos[a][m].iso, -amt)
	return clearing.ReasonNone
}

// refPayment is the reference's funding result for one account.
type refPayment struct {
	amount, shortfall int64
}

// funding pays every open position of market m; the order does not matter
// to the reference, because each position's payment depends only on itself.
func (r *refLedger) funding(m clearing.MarketID, mark, rate int64) (out map[clearing.AccountID]refPayment, paid, received int64) {
	q := r.specs[m].QuotePerTickLot
	out = make(map[clearing.AccountID]refPayment)
	var shortfalls int64
	for a := range r.pos {
		p := &r.pos[a][m]
		if p.size == 0 {
			continue
		}
		exact := mul(abs64(p.size), mark, q, abs64(rate)) // × 10^-6
		longsPay := rate > 0
		var amt int64
		if (p.size > 0) == longsPay && rate != 0 {
			pay := fit(ceilDiv(exact, bi(1_000_000)))
			paid = add(paid, pay)
			amt = -pay
		} else {
			amt = fit(floorDiv(exact, bi(1_000_000)))
			received = add(received, amt)
		}
		var shortfall int64
		if p.mode == clearing.Isolated {
			p.iso = add(p.iso, amt)
			if p.iso < 0 {
				shortfall = -p.iso
				shortfalls = add(shortfalls, shortfall)
				p.iso = 0
			}
		} else {
			r.wallet[a] = add(r.wallet[a], amt)
		}
		out[clearing.AccountID(a)] = refPayment{amount: amt, shortfall: shortfall}
	}
	// The remainder comes in first, then the fund pays the shortfalls.
	r.fund = add(r.fund, add(paid, -received))
	r.draw(shortfalls)
	return out, paid, received
}

// draw pays amount from the fund, the part beyond it becoming bad debt.
func (r *refLedger) draw(amount int64) {
	take := min(r.fund, amount)
	r.fund -= take
	r.badDebt = add(r.badDebt, amount-take)
}

// compare checks every balance and position of l against the reference.
func (r *refLedger) compare(l *clearing.Ledger) error {
	if r.fee != l.FeeAccountQuote() {
		return fmt.Errorf("fee account %d, reference %d", l.FeeAccountQuote(), r.fee)
	}
	if r.fund != l.InsuranceFundQuote() || r.badDebt != l.BadDebtQuote() {
		return fmt.Errorf("insurance fund %d and bad debt %d, reference %d and %d", l.InsuranceFundQuote(), l.BadDebtQuote(), r.fund, r.badDebt)
	}
	if l.NumAccounts() != len(r.wallet) {
		return fmt.Errorf("%d accounts, reference %d", l.NumAccounts(), len(r.wallet))
	}
	for a := range r.wallet {
		w, _ := l.Wallet(clearing.AccountID(a))
		if r.wallet[a] != w {
			return fmt.Errorf("account %d: wallet %d, reference %d", a, w, r.wallet[a])
		}
	}
	// Every record the ledger has must match; every reference position the
	// ledger has no record of must be flat, cross and without margin.
	r.stamp++
	var err error
	clearing.WalkRecords(l, func(got clearing.Position) {
		if err != nil {
			return
		}
		if int(got.Account) >= len(r.pos) || int(got.Market) >= len(r.specs) {
			err = fmt.Errorf("record of unknown account or market: %+v", got)
			return
		}
		want := &r.pos[got.Account][got.Market]
		if want.stamp == r.stamp {
			err = fmt.Errorf("two records for account %d market %d", got.Account, got.Market)
			return
		}
		want.stamp = r.stamp
		if got.SizeLots != want.size || got.EntryValueQuote != want.basis || got.IsolatedMarginQuote != want.iso ||
			got.Mode != want.mode || got.QuotePerTickLot != r.specs[got.Market].QuotePerTickLot {
			err = fmt.Errorf("account %d market %d: %+v, reference size %d basis %d iso %d %s",
				got.Account, got.Market, got, want.size, want.basis, want.iso, want.mode)
		}
	})
	if err != nil {
		return err
	}
	for a := range r.pos {
		for m := range r.pos[a] {
			if p := &r.pos[a][m]; p.stamp != r.stamp && (p.size != 0 || p.basis != 0 || p.iso != 0 || p.mode != clearing.Cross) {
				return fmt.Errorf("account %d market %d: no record, reference size %d basis %d iso %d %s", a, m, p.size, p.basis, p.iso, p.mode)
			}
		}
	}
	f, err := l.Conservation()
	if err != nil {
		return err
	}
	if in, err := f.NetInflow(); err != nil || in != r.deposit {
		return fmt.Errorf("net inflow %+v (%v), reference %d", f, err, r.deposit)
	}
	return nil
}
