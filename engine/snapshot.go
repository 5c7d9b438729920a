package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/snapshot"
)

// ErrBadSnapshot is wrapped by every error Restore returns.
var ErrBadSnapshot = errors.New("engine: bad snapshot")

const snapshotVersion = 3

// AppendSnapshot appends the engine's whole state to dst in a canonical
// binary form: two engines whose observable state is the same give the same
// bytes, whatever path led there. Derived state (the open-order sums) is
// not written; Restore recomputes it from the books.
//
// Layout: version, last time, next order id, the market symbols (so a
// snapshot is never restored under another market config), each market's
// price state and book, the per-account leverage table, the conditional
// orders (by account, market and id), the client order ids of resting
// orders (by order id), the liquidation index's valid entries (by market,
// direction, price and account) and the accounts waiting to be checked and
// to be liquidated (in their order), then the ledger.
func (e *Engine) AppendSnapshot(dst []byte) []byte {
	dst = append(dst, snapshotVersion)
	dst = binary.AppendVarint(dst, e.lastTs)
	dst = binary.AppendUvarint(dst, uint64(e.nextOrderID))
	dst = binary.AppendUvarint(dst, uint64(len(e.markets)))
	for i := range e.markets {
		ms := &e.markets[i]
		dst = snapshot.AppendBlob(dst, ms.Symbol)
		for _, v := range [...]int64{ms.indexTicks, ms.markTicks, ms.lastTradeTicks, ms.fundingRatePpm, ms.nextFundingNanos} {
			dst = binary.AppendVarint(dst, v)
		}
		// The averages encode themselves without a length: prefix one.
		basis, _ := ms.basis.AppendBinary(nil)
		premium, _ := ms.premium.AppendBinary(nil)
		for _, blob := range [...][]byte{basis, premium} {
			dst = snapshot.AppendBlob(dst, blob)
		}
		dst = ms.book.AppendSnapshot(dst)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.slots)))
	for i := range e.slots {
		dst = binary.AppendUvarint(dst, uint64(e.slots[i].leverage))
	}
	dst = binary.AppendUvarint(dst, uint64(e.stops.Size()))
	for it := e.stops.Iterator(); it.Next(); {
		st := it.Value()
		dst = binary.AppendUvarint(dst, uint64(st.account))
		dst = binary.AppendUvarint(dst, uint64(st.market))
		dst = binary.AppendUvarint(dst, uint64(st.id))
		ro := byte(0)
		if st.reduceOnly {
			ro = 1
		}
		dst = append(dst, byte(st.side), byte(st.typ), byte(st.tif), byte(st.stp), ro, byte(st.trigger), byte(st.by))
		for _, v := range [...]int64{st.priceTicks, st.qtyLots, st.triggerTicks} {
			dst = binary.AppendUvarint(dst, uint64(v))
		}
	}
	// Client order ids, of resting and conditional orders alike, by id.
	ids := make([]orderbook.OrderID, 0, e.cids.len())
	e.cids.each(func(_ cidKey, id orderbook.OrderID) { ids = append(ids, id) })
	slices.Sort(ids)
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		k, _ := e.cids.of(id)
		dst = binary.AppendUvarint(dst, uint64(id))
		dst = binary.AppendUvarint(dst, uint64(k.account))
		dst = snapshot.AppendBlob(dst, k.cid.String())
	}
	dst = e.appendLiquidationState(dst)
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
	r := snapshot.NewReader(data, ErrBadSnapshot)
	if v := r.Byte("version"); r.Err() == nil && v != snapshotVersion {
		return bad("version %d, want %d", v, snapshotVersion)
	}
	e.lastTs = r.Varint("last time")
	e.nextOrderID = orderbook.OrderID(r.Uvarint("next order id"))
	if n := r.Uvarint("market count"); r.Err() == nil && n != uint64(len(e.markets)) {
		return bad("%d markets, the config has %d", n, len(e.markets))
	}
	if r.Err() != nil {
		return nil, r.Err()
	}
	for i := range e.markets {
		ms := &e.markets[i]
		if sym := string(r.Blob("symbol")); r.Err() == nil && sym != ms.Symbol {
			return bad("market %d is %q, the config has %q", i, sym, ms.Symbol)
		}
		r.SetPrefix("market " + ms.Symbol + ": ")
		for _, p := range [...]*int64{&ms.indexTicks, &ms.markTicks, &ms.lastTradeTicks, &ms.fundingRatePpm, &ms.nextFundingNanos} {
			*p = r.Varint("price state")
		}
		basis, premium := r.Blob("basis average"), r.Blob("premium average")
		if r.Err() != nil {
			return nil, r.Err()
		}
		err := ms.basis.UnmarshalBinary(basis)
		if err == nil {
			err = ms.premium.UnmarshalBinary(premium)
		}
		if err != nil {
			return bad("market %s averages: %v", ms.Symbol, err)
		}
		book, rest, err := orderbook.Restore(r.Rest())
		if err != nil {
			return bad("market %s book: %v", ms.Symbol, err)
		}
		if book.Config() != ms.book.Config() {
			return bad("market %s: the book's limits differ from the config's", ms.Symbol)
		}
		ms.book = book
		r.Skip("book", r.Len()-len(rest))
	}
	r.SetPrefix("")
	n := r.Uvarint("leverage table size")
	if r.Err() != nil {
		return nil, r.Err()
	}
	if n%uint64(len(e.markets)) != 0 || n > uint64(cfg.MaxAccounts)*uint64(len(e.markets)) {
		return bad("leverage table of %d entries", n)
	}
	if n > uint64(r.Len()) { // each entry takes at least one byte
		return bad("leverage table of %d entries in %d bytes", n, r.Len())
	}
	e.slots = make([]slotState, n)
	for i := range e.slots {
		v := r.Uvarint("leverage")
		if r.Err() != nil {
			return nil, r.Err()
		}
		if v < 1 || v > 125 {
			return bad("leverage %d", v)
		}
		e.slots[i].leverage = int64(v)
	}
	nStops := r.Uvarint("conditional orders")
	if r.Err() == nil && nStops > uint64(r.Len()) {
		return bad("%d conditional orders in %d bytes", nStops, r.Len())
	}
	var stops []*stopOrder
	for i := uint64(0); i < nStops && r.Err() == nil; i++ {
		st := &stopOrder{}
		st.account = AccountID(r.Upto("stop account", uint64(cfg.MaxAccounts-1)))
		st.market = MarketID(r.Upto("stop market", uint64(len(e.markets)-1)))
		st.id = orderbook.OrderID(r.Uvarint("stop id"))
		st.side, st.typ, st.tif = orderbook.Side(r.Byte("stop side")), orderbook.OrderType(r.Byte("stop type")), orderbook.TimeInForce(r.Byte("stop tif"))
		st.stp = orderbook.STP(r.Byte("stop stp"))
		ro := r.Byte("stop reduce-only")
		st.reduceOnly = ro == 1
		st.trigger, st.by = Trigger(r.Byte("trigger")), TriggerPrice(r.Byte("trigger price"))
		st.priceTicks = int64(r.Upto("stop price", math.MaxInt64))
		st.qtyLots = int64(r.Upto("stop quantity", math.MaxInt64))
		st.triggerTicks = int64(r.Upto("trigger ticks", math.MaxInt64))
		if r.Err() != nil {
			break
		}
		c := Command{Account: st.account, Market: st.market, Side: st.side, Type: st.typ, TIF: st.tif, STP: st.stp,
			PriceTicks: st.priceTicks, QtyLots: st.qtyLots}
		switch {
		case ro > 1, e.checkOrderFields(&c) != ReasonNone,
			st.trigger != TriggerStop && st.trigger != TriggerTakeProfit,
			st.by != TriggerByMark && st.by != TriggerByLast,
			st.triggerTicks < 1 || st.triggerTicks > e.markets[st.market].book.Config().MaxPriceTicks:
			return bad("conditional order %d: invalid fields", st.id)
		case st.id == 0 || st.id > e.nextOrderID:
			return bad("conditional order id %d not in 1..%d", st.id, e.nextOrderID)
		case len(stops) > 0 && !stopBefore(stops[len(stops)-1], st):
			return bad("conditional order %d out of order", st.id)
		}
		stops = append(stops, st)
	}
	nCIDs := r.Uvarint("client order ids")
	if r.Err() == nil && nCIDs > uint64(r.Len()) {
		return bad("%d client order ids in %d bytes", nCIDs, r.Len())
	}
	var prevID orderbook.OrderID
	for i := uint64(0); i < nCIDs && r.Err() == nil; i++ {
		id := orderbook.OrderID(r.Uvarint("client order id's order"))
		a := AccountID(r.Upto("client order id's account", uint64(cfg.MaxAccounts-1)))
		s := string(r.Blob("client order id"))
		if r.Err() != nil {
			break
		}
		cid, err := ParseClientOrderID(s)
		switch {
		case err != nil:
			return bad("order %d: %v", id, err)
		case id <= prevID || id > e.nextOrderID:
			return bad("client order id of order %d out of order", id)
		}
		if _, dup := e.cids.get(cidKey{a, cid}); dup {
			return bad("account %d has client order id %q twice", a, s)
		}
		prevID = id
		e.registerCID(a, cid, id)
	}
	liq := e.readLiquidationState(&r, cfg)
	if r.Err() != nil {
		return nil, r.Err()
	}
	for _, st := range stops {
		if k, ok := e.cids.of(st.id); ok {
			if k.account != st.account {
				return bad("conditional order %d: client order id of account %d", st.id, k.account)
			}
			st.cid = k.cid
		}
		e.stops.Put(ownerKey{st.account, st.market, st.id}, st)
		e.markets[st.market].triggers.put(st)
	}
	ledger, rest, err := clearing.Restore(r.Rest())
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
	e.ro = make([]roLots, n)
	if err := e.restoreLiquidationState(liq); err != nil {
		return bad("%v", err)
	}
	var orders []orderbook.RestingOrder
	for i := range e.markets {
		for _, s := range [...]orderbook.Side{orderbook.Buy, orderbook.Sell} {
			orders = e.markets[i].book.Orders(s, orders[:0])
			for _, o := range orders {
				if uint64(o.Account) >= uint64(ledger.NumAccounts()) {
					return bad("order %d of unknown account %d", o.ID, o.Account)
				}
				if o.ID > e.nextOrderID {
					return bad("order %d rests above the next order id %d", o.ID, e.nextOrderID)
				}
				if o.Tag&^(tagClientID|tagReduceOnly) != 0 {
					return bad("order %d has tag %#x", o.ID, o.Tag)
				}
				if k, ok := e.cids.of(o.ID); ok != (o.Tag&tagClientID != 0) || ok && k.account != AccountID(o.Account) {
					return bad("order %d: tag %#x and client order ids disagree", o.ID, o.Tag)
				}
				e.addOpen(AccountID(o.Account), MarketID(i), o.Side, o.RemainingLots, o.PriceTicks, o.Tag)
			}
		}
	}
	if err := e.CheckInvariants(); err != nil {
		return bad("%v", err)
	}
	return e, nil
}

// stopBefore reports whether x comes before y in the owner order.
func stopBefore(x, y *stopOrder) bool {
	return compareOwner(ownerKey{x.account, x.market, x.id}, ownerKey{y.account, y.market, y.id}) < 0
}

// liqState is the liquidation state read from a snapshot, applied once the
// ledger says how many accounts there are.
type liqState struct {
	entries          []liqSnapEntry
	touched, pending []AccountID
	called           []callNote
	hasFund          bool
	fund             AccountID
}

type liqSnapEntry struct {
	m     MarketID
	d     int
	price int64
	acct  AccountID
}

func (e *Engine) appendLiquidationState(dst []byte) []byte {
	all := e.snapLiq[:0]
	for m := range e.markets {
		for d := range e.markets[m].liq {
			for _, x := range e.markets[m].liq[d].e {
				if e.validEntry(&x) {
					all = append(all, liqSnapEntry{MarketID(m), d, x.price, x.acct})
				}
			}
		}
	}
	slices.SortFunc(all, func(x, y liqSnapEntry) int {
		switch {
		case x.m != y.m:
			return int(x.m) - int(y.m)
		case x.d != y.d:
			return x.d - y.d
		case x.price != y.price:
			if x.price < y.price {
				return -1
			}
			return 1
		}
		return int(int64(x.acct) - int64(y.acct))
	})
	dst = binary.AppendUvarint(dst, uint64(len(all)))
	for _, x := range all {
		dst = binary.AppendUvarint(dst, uint64(x.m))
		dst = append(dst, byte(x.d))
		dst = binary.AppendUvarint(dst, uint64(x.price))
		dst = binary.AppendUvarint(dst, uint64(x.acct))
	}
	for _, list := range [...][]AccountID{e.touched, e.pending[e.pendHead:]} {
		dst = binary.AppendUvarint(dst, uint64(len(list)))
		for _, a := range list {
			dst = binary.AppendUvarint(dst, uint64(a))
		}
	}
	// The pools at the margin-call level: by account, cross first (as
	// market 0 with a flag), then the isolated ones by market.
	called := e.snapCalled[:0]
	for a := range e.accts {
		if e.accts[a].crossCalled {
			called = append(called, callNote{AccountID(a), 0, true})
		}
		for m := range e.markets {
			if e.slots[e.slot(AccountID(a), MarketID(m))].isoCalled {
				called = append(called, callNote{AccountID(a), MarketID(m), false})
			}
		}
	}
	if e.hasFund {
		dst = append(dst, 1)
		dst = binary.AppendUvarint(dst, uint64(e.fundAcct))
	} else {
		dst = append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(called)))
	for _, c := range called {
		dst = binary.AppendUvarint(dst, uint64(c.acct))
		dst = binary.AppendUvarint(dst, uint64(c.m))
		b := byte(0)
		if c.cross {
			b = 1
		}
		dst = append(dst, b)
	}
	e.snapLiq, e.snapCalled = all[:0], called[:0]
	return dst
}

func (e *Engine) readLiquidationState(r *snapshot.Reader, cfg Config) liqState {
	var st liqState
	n := r.Uvarint("liquidation index entries")
	if r.Err() == nil && n > uint64(r.Len()) {
		r.Fail("%d liquidation index entries in %d bytes", n, r.Len())
	}
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		var x liqSnapEntry
		x.m = MarketID(r.Upto("index market", uint64(len(e.markets)-1)))
		x.d = int(r.Upto("index direction", 1))
		x.price = int64(r.Upto("index price", math.MaxInt64))
		x.acct = AccountID(r.Upto("index account", uint64(cfg.MaxAccounts-1)))
		st.entries = append(st.entries, x)
	}
	for _, list := range [...]*[]AccountID{&st.touched, &st.pending} {
		n := r.Uvarint("accounts waiting")
		if r.Err() == nil && n > uint64(r.Len()) {
			r.Fail("%d accounts waiting in %d bytes", n, r.Len())
		}
		for i := uint64(0); i < n && r.Err() == nil; i++ {
			*list = append(*list, AccountID(r.Upto("waiting account", uint64(cfg.MaxAccounts-1))))
		}
	}
	if r.Upto("insurance fund account", 1) == 1 {
		st.hasFund = true
		st.fund = AccountID(r.Upto("insurance fund account", uint64(cfg.MaxAccounts-1)))
	}
	n = r.Uvarint("margin calls")
	if r.Err() == nil && n > uint64(r.Len()) {
		r.Fail("%d margin calls in %d bytes", n, r.Len())
	}
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		var c callNote
		c.acct = AccountID(r.Upto("margin call account", uint64(cfg.MaxAccounts-1)))
		c.m = MarketID(r.Upto("margin call market", uint64(len(e.markets)-1)))
		c.cross = r.Upto("margin call pool", 1) == 1
		st.called = append(st.called, c)
	}
	return st
}

// restoreLiquidationState sizes the per-account liquidation tables for the
// ledger's accounts and loads the index and the queues.
func (e *Engine) restoreLiquidationState(st liqState) error {
	accounts := e.ledger.NumAccounts()
	e.accts = make([]acctState, accounts)
	for a := range e.accts {
		e.accts[a].stamp = 1
	}
	if st.hasFund && int(st.fund) >= accounts {
		return fmt.Errorf("insurance fund account %d unknown", st.fund)
	}
	e.hasFund, e.fundAcct = st.hasFund, st.fund
	// A command whose liquidation budget ran out may have left entries
	// due: the next look takes them.
	e.marksMoved = true
	for _, k := range st.called {
		switch {
		case k.cross && int(k.acct) < accounts:
			e.accts[k.acct].crossCalled = true
		case !k.cross && int(k.acct) < accounts:
			e.slots[e.slot(k.acct, k.m)].isoCalled = true
		default:
			return fmt.Errorf("margin call of unknown account %d", k.acct)
		}
	}
	for _, x := range st.entries {
		if int(x.acct) >= accounts {
			return fmt.Errorf("liquidation index entry of unknown account %d", x.acct)
		}
		e.addEntry(x.acct, x.m, x.d, x.price)
	}
	for _, a := range st.touched {
		if int(a) >= accounts || e.accts[a].touched {
			return fmt.Errorf("account %d waits to be checked: unknown or twice", a)
		}
		e.touch(a)
	}
	for _, a := range st.pending {
		if int(a) >= accounts || e.accts[a].pending {
			return fmt.Errorf("account %d waits to be liquidated: unknown or twice", a)
		}
		e.accts[a].pending = true
		e.pending = append(e.pending, a)
	}
	return nil
}
