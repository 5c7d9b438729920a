package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/orderbook"
)

// ErrBadSnapshot is wrapped by every error Restore returns.
var ErrBadSnapshot = errors.New("engine: bad snapshot")

const snapshotVersion = 1

// AppendSnapshot appends the engine's whole state to dst in a canonical
// binary form: two engines whose observable state is the same give the same
// bytes, whatever path led there. Derived state (the open-order sums) is
// not written; Restore recomputes it from the books.
//
// Layout: version, last time, next order id, the market symbols (so a
// snapshot is never restored under another market config), each market's
// price state and book, the per-account leverage table, then the ledger.
func (e *Engine) AppendSnapshot(dst []byte) []byte {
	dst = append(dst, snapshotVersion)
	dst = binary.AppendVarint(dst, e.lastTs)
	dst = binary.AppendUvarint(dst, uint64(e.nextOrderID))
	dst = binary.AppendUvarint(dst, uint64(len(e.markets)))
	for i := range e.markets {
		ms := &e.markets[i]
		dst = binary.AppendUvarint(dst, uint64(len(ms.Symbol)))
		dst = append(dst, ms.Symbol...)
		for _, v := range [...]int64{ms.indexTicks, ms.markTicks, ms.lastTradeTicks, ms.fundingRatePpm, ms.nextFundingNanos} {
			dst = binary.AppendVarint(dst, v)
		}
		// The averages encode themselves without a length: prefix one.
		basis, _ := ms.basis.AppendBinary(nil)
		premium, _ := ms.premium.AppendBinary(nil)
		for _, blob := range [...][]byte{basis, premium} {
			dst = binary.AppendUvarint(dst, uint64(len(blob)))
			dst = append(dst, blob...)
		}
		dst = ms.book.AppendSnapshot(dst)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.leverage)))
	for _, l := range e.leverage {
		dst = binary.AppendUvarint(dst, uint64(l))
	}
	return e.ledger.AppendSnapshot(dst)
}

// StateHash is the SHA-256 of the snapshot: equal hashes mean equal states.
// Replaying a journal must reproduce the hash recorded with any snapshot.
func (e *Engine) StateHash() [32]byte {
	return sha256.Sum256(e.AppendSnapshot(nil))
}

// Restore rebuilds an engine from a snapshot taken under the same config.
func Restore(cfg Config, data []byte) (*Engine, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (*Engine, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
	}
	r := reader{data: data}
	if v := r.byte(); v != snapshotVersion {
		return bad("version %d, want %d", v, snapshotVersion)
	}
	e.lastTs = r.varint()
	e.nextOrderID = orderbook.OrderID(r.uvarint())
	if n := r.uvarint(); n != uint64(len(e.markets)) || r.err != nil {
		return bad("%d markets, the config has %d", n, len(e.markets))
	}
	for i := range e.markets {
		ms := &e.markets[i]
		if sym := string(r.bytes(int(r.uvarint()))); sym != ms.Symbol {
			return bad("market %d is %q, the config has %q", i, sym, ms.Symbol)
		}
		for _, p := range [...]*int64{&ms.indexTicks, &ms.markTicks, &ms.lastTradeTicks, &ms.fundingRatePpm, &ms.nextFundingNanos} {
			*p = r.varint()
		}
		if r.err != nil {
			return bad("market %s: %v", ms.Symbol, r.err)
		}
		err := ms.basis.UnmarshalBinary(r.bytes(int(min(r.uvarint(), uint64(len(r.data))))))
		if err == nil {
			err = ms.premium.UnmarshalBinary(r.bytes(int(min(r.uvarint(), uint64(len(r.data))))))
		}
		if err != nil || r.err != nil {
			return bad("market %s averages: %v", ms.Symbol, errors.Join(err, r.err))
		}
		book, rest, err := orderbook.Restore(r.data)
		if err != nil {
			return bad("market %s book: %v", ms.Symbol, err)
		}
		if book.Config() != ms.book.Config() {
			return bad("market %s: the book's limits differ from the config's", ms.Symbol)
		}
		ms.book, r.data = book, rest
	}
	n := r.uvarint()
	if r.err != nil || n%uint64(len(e.markets)) != 0 || n > uint64(cfg.MaxAccounts)*uint64(len(e.markets)) {
		return bad("leverage table of %d entries", n)
	}
	e.leverage = make([]int64, n)
	for i := range e.leverage {
		if e.leverage[i] = int64(r.uvarint()); e.leverage[i] < 1 || e.leverage[i] > 125 {
			return bad("leverage %d", e.leverage[i])
		}
	}
	if r.err != nil {
		return bad("leverage table: %v", r.err)
	}
	ledger, rest, err := clearing.Restore(r.data)
	if err != nil {
		return bad("ledger: %v", err)
	}
	if len(rest) != 0 {
		return bad("%d bytes after the end", len(rest))
	}
	if uint64(ledger.NumAccounts())*uint64(len(e.markets)) != n {
		return bad("%d accounts in the ledger, %d leverage entries", ledger.NumAccounts(), n)
	}
	for i := range e.markets {
		want, _ := e.ledger.Market(MarketID(i))
		if got, ok := ledger.Market(MarketID(i)); !ok || got != want || ledger.NumMarkets() != len(e.markets) {
			return bad("market %s: the ledger's fees or units differ from the config's", e.markets[i].Symbol)
		}
	}
	e.ledger = ledger
	e.open = make([]openOrders, n)
	var orders []orderbook.RestingOrder
	for i := range e.markets {
		for _, s := range [...]orderbook.Side{orderbook.Buy, orderbook.Sell} {
			orders = e.markets[i].book.Orders(s, orders[:0])
			for _, o := range orders {
				if uint64(o.Account) >= uint64(ledger.NumAccounts()) {
					return bad("order %d of unknown account %d", o.ID, o.Account)
				}
				e.addOpen(AccountID(o.Account), MarketID(i), o.Side, o.RemainingLots, o.PriceTicks)
			}
		}
	}
	return e, nil
}

// reader decodes the snapshot, remembering the first error.
type reader struct {
	data []byte
	err  error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or malformed %s", what)
	}
	r.data = nil
}

func (r *reader) byte() byte {
	if len(r.data) < 1 {
		r.fail("byte")
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.data)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.data = r.data[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.data)
	if n <= 0 {
		r.fail("uvarint")
		return 0
	}
	r.data = r.data[n:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.data) {
		r.fail("bytes")
		return nil
	}
	b := r.data[:n]
	r.data = r.data[n:]
	return b
}
