package clearing

import (
	"errors"
	"fmt"
	"math"

	"github.com/paperperps/exchange/fixed"
)

// Hard ceilings. Config.Validate enforces them.
const (
	// MaxAccountsLimit bounds account ids; it matches the order book's
	// ceiling.
	MaxAccountsLimit = 1 << 26
	// MaxMarketsLimit is the number of MarketID values.
	MaxMarketsLimit = 1 << 16
	// MaxFeeRatePpm bounds fee rates at 10%: a higher rate is a config typo,
	// not a fee.
	MaxFeeRatePpm = 100_000
)

// Config holds the ledger's limits. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// MaxAccounts bounds account ids: an id must be below it. Default 2^24,
	// as in the order book.
	MaxAccounts int
	// MaxMarkets bounds market ids. Default 1024.
	MaxMarkets int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{MaxAccounts: 1 << 24, MaxMarkets: 1024}
}

// Validate reports every problem of the config at once.
func (c Config) Validate() error {
	var errs []error
	if c.MaxAccounts < 1 || c.MaxAccounts > MaxAccountsLimit {
		errs = append(errs, fmt.Errorf("%w: MaxAccounts %d not in [1, %d]", ErrInvalidConfig, c.MaxAccounts, MaxAccountsLimit))
	}
	if c.MaxMarkets < 1 || c.MaxMarkets > MaxMarketsLimit {
		errs = append(errs, fmt.Errorf("%w: MaxMarkets %d not in [1, %d]", ErrInvalidConfig, c.MaxMarkets, MaxMarketsLimit))
	}
	return errors.Join(errs...)
}

// MarketSpec is what the ledger needs to know about a market.
type MarketSpec struct {
	// QuotePerTickLot is the market grid's fixed.Grid.QuotePerTickLot: the
	// notional of a fill is priceTicks × qtyLots × QuotePerTickLot quote
	// units, exactly.
	QuotePerTickLot int64
	// MakerFeeRatePpm is charged on the maker side's notional. It may be
	// negative (a rebate paid from the fee account) but not below
	// -TakerFeeRatePpm, so that every trade pays the fee account at least as
	// much as it rebates and the fee account never goes negative.
	MakerFeeRatePpm int64
	// TakerFeeRatePpm is charged on the taker side's notional; 0 to
	// MaxFeeRatePpm.
	TakerFeeRatePpm int64
}

func (s MarketSpec) validate() error {
	var errs []error
	if s.QuotePerTickLot < 1 {
		errs = append(errs, fmt.Errorf("%w: QuotePerTickLot %d must be at least 1", ErrInvalidMarket, s.QuotePerTickLot))
	}
	if s.TakerFeeRatePpm < 0 || s.TakerFeeRatePpm > MaxFeeRatePpm {
		errs = append(errs, fmt.Errorf("%w: TakerFeeRatePpm %d not in [0, %d]", ErrInvalidMarket, s.TakerFeeRatePpm, MaxFeeRatePpm))
	}
	if s.MakerFeeRatePpm < -s.TakerFeeRatePpm || s.MakerFeeRatePpm > MaxFeeRatePpm {
		errs = append(errs, fmt.Errorf("%w: MakerFeeRatePpm %d not in [-TakerFeeRatePpm %d, %d]", ErrInvalidMarket, s.MakerFeeRatePpm, -s.TakerFeeRatePpm, MaxFeeRatePpm))
	}
	return errors.Join(errs...)
}

// Ledger holds every account's money and positions. It is not safe for
// concurrent use: the engine's single thread owns it.
type Ledger struct {
	cfg     Config
	markets []market
	// wallets[a] is account a's cross wallet balance in quote units. It may
	// be negative: a cross loss beyond the wallet is a debt the engine's
	// liquidation must cover.
	wallets []int64
	// pos is a slab of position records, one per (account, market) pair
	// the ledger has been told about. Records are never freed, so that a
	// flat position keeps its margin mode. Index 0 is unused so that 0 can
	// mean "none" in market.slot and in the list links.
	pos []position
	// links[i] are record i's links in its market's list of open
	// positions. They live beside pos, not in it: only an opening or a
	// closing moves them, and without them a record is 32 bytes, so every
	// read of a position is one cache line.
	links []posLink

	feeAccountQuote    int64
	insuranceFundQuote int64 // never negative
	// badDebtQuote is what losses took beyond the insurance fund: paid by
	// nobody, the exchange's loss (>= 0).
	badDebtQuote int64

	// Money that crossed the ledger's boundary; the right-hand side of the
	// conservation identity.
	depositsQuote          int64
	withdrawalsQuote       int64
	insuranceDepositsQuote int64
	// unmatchedQuote is the sum of the signed fill values of every fill
	// settled so far. The two sides of a trade carry opposite values, so it
	// is zero whenever every trade has both sides settled; between the two
	// Fill calls of one trade it is that fill's value.
	unmatchedQuote int64
}

type market struct {
	spec MarketSpec
	// slot[a] is the index in Ledger.pos of account a's position in this
	// market, 0 if it has none. It grows (amortized) to the highest account
	// id that ever had one.
	slot []uint32
	// Open (non-zero) positions form a doubly linked list through
	// Ledger.links, in the order they were opened: a position joins at
	// the tail when it opens (again), leaves when it closes, and keeps its
	// place when it flips. Funding and OpenPositions walk it, so their order
	// depends only on the sequence of commands.
	head, tail uint32
	open       int
	// longLots and shortLots are the sums of the positive sizes and of the
	// magnitudes of the negative ones; they are equal once every trade is
	// settled on both sides.
	longLots, shortLots int64
}

type position struct {
	sizeLots            int64
	entryValueQuote     int64
	isolatedMarginQuote int64
	account             AccountID
	market              MarketID
	mode                MarginMode
}

// posLink links an open position to the previous and next ones of its
// market (indexes in Ledger.pos, 0 for none).
type posLink struct {
	prev, next uint32
}

// New returns an empty ledger with no markets and no accounts.
func New(cfg Config) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Ledger{cfg: cfg, pos: make([]position, 1, 64), links: make([]posLink, 1, 64)}, nil
}

// AddMarket registers market id, which must be NumMarkets() (ids are
// dense). Errors wrap ErrInvalidMarket: markets come from configuration, so
// a bad one is a config mistake, not a refused request.
func (l *Ledger) AddMarket(id MarketID, spec MarketSpec) error {
	if int(id) != len(l.markets) {
		return fmt.Errorf("%w: market id %d, next is %d", ErrInvalidMarket, id, len(l.markets))
	}
	if len(l.markets) >= l.cfg.MaxMarkets {
		return fmt.Errorf("%w: already %d markets (MaxMarkets)", ErrInvalidMarket, len(l.markets))
	}
	if err := spec.validate(); err != nil {
		return fmt.Errorf("market %d: %w", id, err)
	}
	l.markets = append(l.markets, market{spec: spec})
	return nil
}

// AddAccount creates account id with an empty wallet. Ids are dense: id
// must be NumAccounts() and below Config.MaxAccounts.
func (l *Ledger) AddAccount(id AccountID) Reason {
	if uint64(id) >= uint64(l.cfg.MaxAccounts) {
		return ReasonTooManyAccounts
	}
	if uint64(id) != uint64(len(l.wallets)) {
		return ReasonAccountIDNotNext
	}
	l.wallets = append(l.wallets, 0)
	return ReasonNone
}

// NumAccounts is the number of accounts, and the next account id.
func (l *Ledger) NumAccounts() int { return len(l.wallets) }

// NumMarkets is the number of markets, and the next market id.
func (l *Ledger) NumMarkets() int { return len(l.markets) }

// Market returns market m's spec.
func (l *Ledger) Market(m MarketID) (MarketSpec, bool) {
	if int(m) >= len(l.markets) {
		return MarketSpec{}, false
	}
	return l.markets[m].spec, true
}

// Wallet returns account a's cross wallet balance. A negative balance is a
// debt (a cross loss the account could not cover).
func (l *Ledger) Wallet(a AccountID) (walletQuote int64, ok bool) {
	if uint64(a) >= uint64(len(l.wallets)) {
		return 0, false
	}
	return l.wallets[a], true
}

// FeeAccountQuote is the exchange's fee income net of maker rebates.
func (l *Ledger) FeeAccountQuote() int64 { return l.feeAccountQuote }

// InsuranceFundQuote is the insurance fund's balance, never negative: a
// shortfall larger than the fund empties it, and the rest is bad debt.
func (l *Ledger) InsuranceFundQuote() int64 { return l.insuranceFundQuote }

// BadDebtQuote is the sum of the losses the insurance fund could not cover:
// isolated shortfalls and deficits beyond its balance. Nobody paid them;
// they are the exchange's loss, and auto-deleveraging exists to keep them 0.
func (l *Ledger) BadDebtQuote() int64 { return l.badDebtQuote }

// drawFund takes amount (>= 0) from the insurance fund fund, the part
// beyond it from nobody: it returns the new fund and bad debt.
func drawFund(fund, badDebt, amount int64) (int64, int64, error) {
	take := min(fund, amount)
	bd, err := fixed.Add(badDebt, amount-take)
	return fund - take, bd, err
}

// CoverDeficit brings account a's negative wallet back to 0 from the
// insurance fund, as far as it holds, and records the rest as bad debt. It
// returns both parts; a wallet at or above 0 is left alone.
func (l *Ledger) CoverDeficit(a AccountID) (fromFundQuote, badDebtQuote int64, r Reason) {
	if !l.knownAccount(a) {
		return 0, 0, ReasonUnknownAccount
	}
	w := l.wallets[a]
	if w >= 0 {
		return 0, 0, ReasonNone
	}
	if w == math.MinInt64 {
		return 0, 0, ReasonAmountTooLarge
	}
	fund, bd, err := drawFund(l.insuranceFundQuote, l.badDebtQuote, -w)
	if err != nil {
		return 0, 0, ReasonAmountTooLarge
	}
	fromFundQuote, badDebtQuote = l.insuranceFundQuote-fund, bd-l.badDebtQuote
	l.wallets[a], l.insuranceFundQuote, l.badDebtQuote = 0, fund, bd
	return fromFundQuote, badDebtQuote, ReasonNone
}

func (l *Ledger) knownAccount(a AccountID) bool { return uint64(a) < uint64(len(l.wallets)) }

// lookup returns the index of account a's record in market m, 0 if none.
// Both ids must be known.
func (l *Ledger) lookup(a AccountID, m MarketID) uint32 {
	mk := &l.markets[m]
	if uint64(a) < uint64(len(mk.slot)) {
		return mk.slot[a]
	}
	return 0
}

// record returns the index of account a's record in market m, creating a
// flat cross record if there is none. Both ids must be known. The slab and
// the slot table grow by append, so in steady state this allocates nothing.
func (l *Ledger) record(a AccountID, m MarketID) uint32 {
	mk := &l.markets[m]
	if uint64(a) < uint64(len(mk.slot)) {
		if i := mk.slot[a]; i != 0 {
			return i
		}
	} else {
		n := int(a) + 1
		if n <= cap(mk.slot) {
			mk.slot = mk.slot[:n]
		} else {
			mk.slot = append(mk.slot[:cap(mk.slot)], make([]uint32, n-cap(mk.slot))...)
		}
	}
	if len(l.pos) >= math.MaxUint32 {
		// 2^32-1 records (about 200 GB) is beyond any real ledger, but the
		// account and market limits do not rule it out; wrapping the index
		// would silently merge positions.
		panic("clearing: position index space exhausted")
	}
	i := uint32(len(l.pos))
	l.pos = append(l.pos, position{account: a, market: m})
	l.links = append(l.links, posLink{})
	mk.slot[a] = i
	return i
}

// Deposit credits amountQuote to account a's wallet.
func (l *Ledger) Deposit(a AccountID, amountQuote int64) Reason {
	if !l.knownAccount(a) {
		return ReasonUnknownAccount
	}
	if amountQuote <= 0 {
		return ReasonInvalidAmount
	}
	w, err1 := fixed.Add(l.wallets[a], amountQuote)
	d, err2 := fixed.Add(l.depositsQuote, amountQuote)
	if err1 != nil || err2 != nil {
		return ReasonAmountTooLarge
	}
	l.wallets[a], l.depositsQuote = w, d
	return ReasonNone
}

// Withdraw debits amountQuote from account a's wallet. The engine passes
// freeQuote, the account's free collateral after its margin requirements;
// the ledger checks, in this order, that the amount is positive, that the
// wallet holds it, and that it is not above freeQuote.
func (l *Ledger) Withdraw(a AccountID, amountQuote, freeQuote int64) Reason {
	if !l.knownAccount(a) {
		return ReasonUnknownAccount
	}
	if amountQuote <= 0 {
		return ReasonInvalidAmount
	}
	if l.wallets[a] < amountQuote {
		return ReasonInsufficientBalance
	}
	if amountQuote > freeQuote {
		return ReasonExceedsFreeCollateral
	}
	w, err := fixed.Add(l.withdrawalsQuote, amountQuote)
	if err != nil {
		return ReasonAmountTooLarge
	}
	l.wallets[a] -= amountQuote // wallet >= amount > 0: no overflow
	l.withdrawalsQuote = w
	return ReasonNone
}

// InsuranceDeposit adds amountQuote of outside money to the insurance fund
// (the exchange seeding it).
func (l *Ledger) InsuranceDeposit(amountQuote int64) Reason {
	if amountQuote <= 0 {
		return ReasonInvalidAmount
	}
	f, err1 := fixed.Add(l.insuranceFundQuote, amountQuote)
	d, err2 := fixed.Add(l.insuranceDepositsQuote, amountQuote)
	if err1 != nil || err2 != nil {
		return ReasonAmountTooLarge
	}
	l.insuranceFundQuote, l.insuranceDepositsQuote = f, d
	return ReasonNone
}

// InsuranceTransfer moves amountQuote from account a's wallet to the
// insurance fund, or with a negative amount from the fund to the wallet:
// the liquidation fee a liquidated account pays from what its pool had left,
// and the fund covering a bankrupt account's deficit. The source must hold
// the amount (the fund never goes below zero this way, and a wallet only
// when it covers a deficit... which it cannot: a positive amount needs the
// wallet to hold it).
func (l *Ledger) InsuranceTransfer(a AccountID, amountQuote int64) Reason {
	if !l.knownAccount(a) {
		return ReasonUnknownAccount
	}
	switch {
	case amountQuote == 0 || amountQuote == math.MinInt64:
		return ReasonInvalidAmount
	case amountQuote > 0 && l.wallets[a] < amountQuote,
		amountQuote < 0 && l.insuranceFundQuote < -amountQuote:
		return ReasonInsufficientBalance
	}
	w, err1 := fixed.Sub(l.wallets[a], amountQuote)
	f, err2 := fixed.Add(l.insuranceFundQuote, amountQuote)
	if err1 != nil || err2 != nil {
		return ReasonAmountTooLarge
	}
	l.wallets[a], l.insuranceFundQuote = w, f
	return ReasonNone
}

// SetMarginMode sets the margin mode of account a's position in market m.
// Whether a change is allowed (venues refuse it while the position or any
// order is open) is the engine's decision; the ledger only keeps its books
// straight: a position switched to Cross returns its isolated margin to the
// wallet (releasedQuote), and a position switched to Isolated starts with no
// isolated margin (a loss then is a shortfall at once).
func (l *Ledger) SetMarginMode(a AccountID, m MarketID, mode MarginMode) (releasedQuote int64, r Reason) {
	if !l.knownAccount(a) {
		return 0, ReasonUnknownAccount
	}
	if int(m) >= len(l.markets) {
		return 0, ReasonUnknownMarket
	}
	if mode >= marginModeCount {
		return 0, ReasonInvalidMarginMode
	}
	i := l.lookup(a, m)
	if i == 0 {
		if mode == Cross {
			return 0, ReasonNone // a missing record already reads as cross
		}
		i = l.record(a, m)
	}
	p := &l.pos[i]
	if mode == Cross && p.isolatedMarginQuote != 0 {
		w, err := fixed.Add(l.wallets[a], p.isolatedMarginQuote)
		if err != nil {
			return 0, ReasonAmountTooLarge
		}
		releasedQuote = p.isolatedMarginQuote
		l.wallets[a], p.isolatedMarginQuote = w, 0
	}
	p.mode = mode
	return releasedQuote, ReasonNone
}

// isolatedTransfer makes the checks both isolated-margin transfers start
// with, in order: known account and market, positive amount, an isolated
// position; it returns the position's record.
func (l *Ledger) isolatedTransfer(a AccountID, m MarketID, amountQuote int64) (uint32, Reason) {
	if !l.knownAccount(a) {
		return 0, ReasonUnknownAccount
	}
	if int(m) >= len(l.markets) {
		return 0, ReasonUnknownMarket
	}
	if amountQuote <= 0 {
		return 0, ReasonInvalidAmount
	}
	i := l.lookup(a, m)
	if i == 0 || l.pos[i].mode != Isolated {
		return 0, ReasonNotIsolated
	}
	return i, ReasonNone
}

// AddIsolatedMargin moves amountQuote from account a's wallet into the
// isolated margin of its position in market m. The position may be flat:
// the engine funds an isolated position this way just before the fill that
// opens it. freeQuote is the caller's limit (the wallet's free collateral);
// checks, in order: amount positive, position isolated, wallet holds the
// amount, amount not above freeQuote.
func (l *Ledger) AddIsolatedMargin(a AccountID, m MarketID, amountQuote, freeQuote int64) Reason {
	i, r := l.isolatedTransfer(a, m, amountQuote)
	if r != ReasonNone {
		return r
	}
	if l.wallets[a] < amountQuote {
		return ReasonInsufficientBalance
	}
	if amountQuote > freeQuote {
		return ReasonExceedsFreeCollateral
	}
	p := &l.pos[i]
	iso, err := fixed.Add(p.isolatedMarginQuote, amountQuote)
	if err != nil {
		return ReasonAmountTooLarge
	}
	l.wallets[a] -= amountQuote
	p.isolatedMarginQuote = iso
	return ReasonNone
}

// RemoveIsolatedMargin moves amountQuote from the isolated margin of account
// a's position in market m back to its wallet. maxQuote is the caller's
// limit (the margin above the position's initial requirement); checks, in
// order: amount positive, position isolated, margin holds the amount, amount
// not above maxQuote.
func (l *Ledger) RemoveIsolatedMargin(a AccountID, m MarketID, amountQuote, maxQuote int64) Reason {
	i, r := l.isolatedTransfer(a, m, amountQuote)
	if r != ReasonNone {
		return r
	}
	p := &l.pos[i]
	if p.isolatedMarginQuote < amountQuote {
		return ReasonInsufficientMargin
	}
	if amountQuote > maxQuote {
		return ReasonExceedsFreeMargin
	}
	w, err := fixed.Add(l.wallets[a], amountQuote)
	if err != nil {
		return ReasonAmountTooLarge
	}
	l.wallets[a] = w
	p.isolatedMarginQuote -= amountQuote
	return ReasonNone
}

// OpenInterest returns the total long and short size of market m in lots.
// They are equal whenever every trade has been settled on both sides.
func (l *Ledger) OpenInterest(m MarketID) (longLots, shortLots int64) {
	if int(m) >= len(l.markets) {
		return 0, 0
	}
	mk := &l.markets[m]
	return mk.longLots, mk.shortLots
}
