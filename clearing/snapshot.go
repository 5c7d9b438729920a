package clearing

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/snapshot"
)

// ErrBadSnapshot is wrapped by every error Restore returns.
var ErrBadSnapshot = errors.New("clearing: bad snapshot")

// snapshotVersion is the first byte of every snapshot. Any change to the
// layout below, or to what a field means, takes a new version.
const snapshotVersion = 2

// AppendSnapshot appends the ledger's state to dst and returns the extended
// slice. The encoding holds exactly what decides the ledger's future
// results and reports, and nothing incidental (slab indices, slot table
// sizes, the order records were created in, flat cross records), so two
// ledgers with the same observable state give the same bytes whatever path
// led to it, and a hash of the bytes is a state hash.
//
// Layout (uvarint and varint are encoding/binary's unsigned and zigzag
// varints, always in their shortest form; every quote amount is a varint):
//
//	version              1 byte, snapshotVersion
//	config               uvarint MaxAccounts, uvarint MaxMarkets
//	fee account          varint
//	insurance fund       varint
//	bad debt             varint
//	deposits             varint
//	withdrawals          varint
//	insurance deposits   varint
//	unmatched fills      varint (0 between commands)
//	accounts             uvarint n, then n wallets (varint), by account id
//	markets              uvarint n, then per market, by market id:
//	  spec               varint QuotePerTickLot, MakerFeeRatePpm, TakerFeeRatePpm
//	  open positions     uvarint n, then n positions in funding order
//	                     (the order they opened in), each:
//	    account          uvarint
//	    mode             1 byte (Cross 0, Isolated 1)
//	    isolated margin  varint, only if the mode is Isolated
//	    size             varint, never 0
//	    entry value      varint, signed like size
//	  idle positions     uvarint n, then n flat positions that keep a mode
//	                     other than Cross, by ascending account, each:
//	    account, mode, isolated margin as above
//
// A flat cross record is left out: it behaves exactly as no record (both
// read as a flat cross position, and every request treats them alike). A
// flat isolated one is kept, margin or not, because the mode survives a
// flat position. Open interest, list links and counts are not written;
// Restore recomputes them from the positions.
//
// Call it between commands. A snapshot taken between the two Fill calls of
// one trade holds a non-zero unmatched sum, which Restore rejects as not
// conserving money.
func (l *Ledger) AppendSnapshot(dst []byte) []byte {
	dst = append(dst, snapshotVersion)
	dst = binary.AppendUvarint(dst, uint64(l.cfg.MaxAccounts))
	dst = binary.AppendUvarint(dst, uint64(l.cfg.MaxMarkets))
	for _, v := range [...]int64{
		l.feeAccountQuote, l.insuranceFundQuote, l.badDebtQuote, l.depositsQuote, l.withdrawalsQuote,
		l.insuranceDepositsQuote, l.unmatchedQuote,
	} {
		dst = binary.AppendVarint(dst, v)
	}
	dst = binary.AppendUvarint(dst, uint64(len(l.wallets)))
	for _, w := range l.wallets {
		dst = binary.AppendVarint(dst, w)
	}
	dst = binary.AppendUvarint(dst, uint64(len(l.markets)))
	for m := range l.markets {
		mk := &l.markets[m]
		dst = binary.AppendVarint(dst, mk.spec.QuotePerTickLot)
		dst = binary.AppendVarint(dst, mk.spec.MakerFeeRatePpm)
		dst = binary.AppendVarint(dst, mk.spec.TakerFeeRatePpm)
		dst = binary.AppendUvarint(dst, uint64(mk.open))
		for i := mk.head; i != 0; i = l.links[i].next {
			p := &l.pos[i]
			dst = appendRecord(dst, p)
			dst = binary.AppendVarint(dst, p.sizeLots)
			dst = binary.AppendVarint(dst, p.entryValueQuote)
		}
		// The slot table is indexed by account, so walking it gives the
		// idle records in account order without sorting or allocating.
		idle := 0
		for _, i := range mk.slot {
			if i != 0 && idleRecord(&l.pos[i]) {
				idle++
			}
		}
		dst = binary.AppendUvarint(dst, uint64(idle))
		for _, i := range mk.slot {
			if i != 0 && idleRecord(&l.pos[i]) {
				dst = appendRecord(dst, &l.pos[i])
			}
		}
	}
	return dst
}

// idleRecord: a flat record that differs from no record at all. Cross
// positions hold no isolated margin (CheckInvariants), so the mode alone
// decides; a ledger that broke that rule would lose the margin here and its
// snapshot would fail Restore's conservation check rather than restore
// quietly.
func idleRecord(p *position) bool { return p.sizeLots == 0 && p.mode != Cross }

func appendRecord(dst []byte, p *position) []byte {
	dst = binary.AppendUvarint(dst, uint64(p.account))
	dst = append(dst, byte(p.mode))
	if p.mode == Isolated {
		dst = binary.AppendVarint(dst, p.isolatedMarginQuote)
	}
	return dst
}

// Restore rebuilds a ledger from data that starts with a snapshot written by
// AppendSnapshot, and returns it with the bytes after the snapshot (so that
// several parts can be stored back to back). Restored, the ledger gives the
// same results, reports and funding order as the one that wrote the
// snapshot, and snapshots to the same bytes.
//
// Restore trusts nothing: it checks the version, that every varint is in
// its shortest form, the config (Validate) and each market spec, account
// counts against MaxAccounts and markets against MaxMarkets, that every
// position names a known account at most once per market, has a valid mode
// and a non-negative isolated margin (none in cross), that an open
// position's entry value is signed like its size and at least |size| ×
// QuotePerTickLot (what fills at prices of one tick or more always leave),
// that idle positions are flat, not cross and in ascending account order,
// that the money totals that only grow are not negative and that open
// interest fits, and finally CheckInvariants, which runs CheckConservation
// first: money conserved to the unit, nothing unmatched, long == short.
// Every error wraps ErrBadSnapshot (and the sentinel of the check that
// failed, such as ErrConservation or ErrInvalidMarket); on error the ledger
// and the remaining bytes are nil. Restore never panics. It allocates in
// proportion to data, except that each market's slot table spans the
// highest account id holding a position there, as in the ledger that wrote
// the snapshot.
func Restore(data []byte) (*Ledger, []byte, error) {
	r := snapshot.NewReader(data, ErrBadSnapshot)
	if v := r.Byte("version"); r.Err() == nil && v != snapshotVersion {
		r.Fail("version %d, want %d", v, snapshotVersion)
	}
	var cfg Config
	cfg.MaxAccounts = int(r.Upto("MaxAccounts", MaxAccountsLimit))
	cfg.MaxMarkets = int(r.Upto("MaxMarkets", MaxMarketsLimit))
	if r.Err() != nil {
		return nil, nil, r.Err()
	}
	l, err := New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	l.feeAccountQuote = r.Varint("fee account")
	l.insuranceFundQuote = r.Varint("insurance fund")
	l.badDebtQuote = r.Varint("bad debt")
	l.depositsQuote = r.Varint("deposits")
	l.withdrawalsQuote = r.Varint("withdrawals")
	l.insuranceDepositsQuote = r.Varint("insurance deposits")
	l.unmatchedQuote = r.Varint("unmatched fills")
	if r.Err() == nil && (l.depositsQuote < 0 || l.withdrawalsQuote < 0 || l.insuranceDepositsQuote < 0 ||
		l.insuranceFundQuote < 0 || l.badDebtQuote < 0) {
		r.Fail("negative running total: deposits %d, withdrawals %d, insurance deposits %d, insurance fund %d, bad debt %d",
			l.depositsQuote, l.withdrawalsQuote, l.insuranceDepositsQuote, l.insuranceFundQuote, l.badDebtQuote)
	}

	// Every wallet takes at least one byte: a count beyond the bytes left
	// is garbage, and is refused before it sizes an allocation.
	n := r.Count("accounts", uint64(cfg.MaxAccounts), 1)
	if r.Err() != nil {
		return nil, nil, r.Err()
	}
	l.wallets = make([]int64, n)
	for a := range l.wallets {
		l.wallets[a] = r.Varint("wallet")
	}
	// A market takes at least 5 bytes: its spec and two counts.
	nMarkets := r.Count("markets", uint64(cfg.MaxMarkets), 5)
	if r.Err() != nil {
		return nil, nil, r.Err()
	}
	for m := range nMarkets {
		spec := MarketSpec{
			QuotePerTickLot: r.Varint("QuotePerTickLot"),
			MakerFeeRatePpm: r.Varint("MakerFeeRatePpm"),
			TakerFeeRatePpm: r.Varint("TakerFeeRatePpm"),
		}
		if r.Err() != nil {
			return nil, nil, r.Err()
		}
		if err := l.AddMarket(MarketID(m), spec); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
		}
		r.SetPrefix(fmt.Sprintf("market %d: ", m))
		l.restoreMarket(&r, MarketID(m))
		if r.Err() != nil {
			return nil, nil, r.Err()
		}
	}
	if err := l.CheckInvariants(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	return l, r.Rest(), nil
}

// restoreMarket reads market m's open positions, linking each at the tail
// of the market's list (so the list comes back in funding order), and then
// its idle positions.
func (l *Ledger) restoreMarket(r *snapshot.Reader, m MarketID) {
	mk := &l.markets[m] // l.markets does not grow while this runs
	// An open position takes at least 4 bytes: account, mode, size, entry.
	n := r.Count("open positions", uint64(len(l.wallets)), 4)
	for k := 0; k < n && r.Err() == nil; k++ {
		i := l.restoreRecord(r, m)
		size := r.Varint("size")
		entry := r.Varint("entry value")
		if r.Err() != nil {
			return
		}
		p := &l.pos[i]
		if size == 0 {
			r.Fail("account %d: flat position in the open list", p.account)
			return
		}
		// Each fill adds at least QuotePerTickLot per lot to the basis
		// (prices are at least one tick) and a reduction keeps that ratio,
		// so |entry| >= |size| × QuotePerTickLot, which Position.EntryPrice
		// relies on.
		floor, err := fixed.Mul(size, mk.spec.QuotePerTickLot)
		if err != nil || (size > 0 && entry < floor) || (size < 0 && entry > floor) {
			r.Fail("account %d: size %d lots with entry value %d (QuotePerTickLot %d)", p.account, size, entry, mk.spec.QuotePerTickLot)
			return
		}
		if size > 0 {
			mk.longLots, err = fixed.Add(mk.longLots, size)
		} else {
			mk.shortLots, err = fixed.Sub(mk.shortLots, size)
		}
		if err != nil {
			r.Fail("account %d: open interest out of range: %v", p.account, err)
			return
		}
		p.sizeLots, p.entryValueQuote = size, entry
		l.links[i].prev = mk.tail
		if mk.tail != 0 {
			l.links[mk.tail].next = i
		} else {
			mk.head = i
		}
		mk.tail = i
		mk.open++
	}
	// An idle position takes at least 3 bytes: account, mode, margin.
	n = r.Count("idle positions", uint64(len(l.wallets)), 3)
	last := -1
	for k := 0; k < n && r.Err() == nil; k++ {
		i := l.restoreRecord(r, m)
		if r.Err() != nil {
			return
		}
		p := &l.pos[i]
		if p.mode == Cross {
			r.Fail("account %d: idle position in cross mode (a flat cross position is not written)", p.account)
			return
		}
		if int(p.account) <= last {
			r.Fail("idle position of account %d after account %d", p.account, last)
			return
		}
		last = int(p.account)
	}
}

// restoreRecord reads the account, mode and isolated margin of a position
// and creates its record; 0 after an error.
func (l *Ledger) restoreRecord(r *snapshot.Reader, m MarketID) uint32 {
	a := r.Uvarint("account")
	mode := MarginMode(r.Byte("margin mode"))
	var iso int64
	if mode == Isolated {
		iso = r.Varint("isolated margin")
	}
	switch {
	case r.Err() != nil:
	case a >= uint64(len(l.wallets)):
		r.Fail("position of account %d, only %d accounts", a, len(l.wallets))
	case mode >= marginModeCount:
		r.Fail("account %d: %s", a, mode)
	case iso < 0:
		r.Fail("account %d: isolated margin %d", a, iso)
	case l.lookup(AccountID(a), m) != 0:
		r.Fail("account %d: two positions", a)
	case len(l.pos) >= math.MaxUint32:
		r.Fail("more position records than the index space holds")
	default:
		i := l.record(AccountID(a), m)
		l.pos[i].mode, l.pos[i].isolatedMarginQuote = mode, iso
		return i
	}
	return 0
}
