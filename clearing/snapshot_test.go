package clearing_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paperperps/exchange/clearing"
)

// TestSnapshotRandom runs the randomized test's operations (sim, checked
// against the reference after every step) and, at random points, snapshots
// the ledger, restores it, checks that the restored ledger snapshots to the
// same bytes and reports the same, and then runs the original and the
// restored ledger side by side on the same random operations, each checked
// against its own copy of the reference, comparing their funding payments
// and whole state after every step. Half of the time the main run then
// carries on with the restored ledger, so later snapshots are of restored
// ledgers too.
func TestSnapshotRandom(t *testing.T) {
	ops := 40_000
	if testing.Short() {
		ops = 10_000
	}
	a := newSim(t, 11)
	ctrl := rand.New(rand.NewPCG(11, 0xc0ffee)) // snapshot points, apart from the operations' stream
	var snaps, forkSteps, idleIsolated, openIsolated, maxLen int
	var bufA, bufB []byte
	for i := 0; i < ops; {
		for n := 1 + ctrl.IntN(300); n > 0 && i < ops; n-- {
			a.op = i
			a.step()
			i++
		}
		snap := a.l.AppendSnapshot(nil)
		l2, rest, err := clearing.Restore(snap)
		if err != nil {
			t.Fatalf("op %d: restore: %v", i, err)
		}
		if len(rest) != 0 {
			t.Fatalf("op %d: %d bytes left", i, len(rest))
		}
		if again := l2.AppendSnapshot(nil); !bytes.Equal(again, snap) {
			t.Fatalf("op %d: restored ledger snapshots to other bytes", i)
		}
		sameLedger(t, a.l, l2)
		snaps++
		maxLen = max(maxLen, len(snap))
		idle, open := countIsolated(a.l)
		idleIsolated += idle
		openIsolated += open

		b := fork(a, l2)
		for n := 1 + ctrl.IntN(300); n > 0 && i < ops; n-- {
			a.op, b.op = i, i
			a.step()
			b.step()
			i++
			forkSteps++
			if !slices.Equal(a.buf, b.buf) {
				t.Fatalf("op %d: funding payments differ:\n%+v\n%+v", i, a.buf, b.buf)
			}
			bufA, bufB = a.l.AppendSnapshot(bufA[:0]), b.l.AppendSnapshot(bufB[:0])
			if !bytes.Equal(bufA, bufB) {
				t.Fatalf("op %d: original and restored ledgers diverged", i)
			}
		}
		sameLedger(t, a.l, b.l)
		if ctrl.IntN(2) == 0 {
			a.l = b.l
		}
	}
	t.Logf("%d ops, %d snapshots (up to %d bytes), %d steps run twice; %d idle isolated and %d open isolated positions seen at snapshots",
		ops, snaps, maxLen, forkSteps, idleIsolated, openIsolated)
	if idleIsolated == 0 || openIsolated == 0 {
		t.Error("the snapshots never held an idle or an open isolated position")
	}
}

// fork returns a sim that runs the same operations as s from here on, on
// ledger l, with a deep copy of s's reference. Both get a fresh random
// stream from the same seed.
func fork(s *sim, l *clearing.Ledger) *sim {
	seed := s.rng.Uint64()
	s.rng = rand.New(rand.NewPCG(seed, 0xf0f0))
	return &sim{
		t:   s.t,
		rng: rand.New(rand.NewPCG(seed, 0xf0f0)),
		l:   l,
		ref: cloneRef(s.ref),
		mid: slices.Clone(s.mid),
		buf: slices.Clone(s.buf),
		op:  s.op,
	}
}

// cloneRef deep-copies the reference: it updates its big numbers in place.
func cloneRef(r *refLedger) *refLedger {
	c := *r
	c.wallet = slices.Clone(r.wallet)
	c.closedRealized = new(big.Int).Set(r.closedRealized)
	c.closedExact = new(big.Rat).Set(r.closedExact)
	c.maxLag = new(big.Rat).Set(r.maxLag)
	c.pos = make([][]refPos, len(r.pos))
	for a := range r.pos {
		c.pos[a] = slices.Clone(r.pos[a])
		for m := range c.pos[a] {
			p := &c.pos[a][m]
			p.exactBasis = new(big.Rat).Set(p.exactBasis)
			p.lifeRealized = new(big.Int).Set(p.lifeRealized)
			p.lifeExact = new(big.Rat).Set(p.lifeExact)
		}
	}
	return &c
}

func countIsolated(l *clearing.Ledger) (idle, open int) {
	for a := range clearing.AccountID(l.NumAccounts()) {
		for m := range clearing.MarketID(l.NumMarkets()) {
			switch p, _ := l.Position(a, m); {
			case p.Mode == clearing.Isolated && p.SizeLots == 0:
				idle++
			case p.Mode == clearing.Isolated:
				open++
			}
		}
	}
	return idle, open
}

// sameLedger compares everything two ledgers report through their API.
func sameLedger(t *testing.T, x, y *clearing.Ledger) {
	t.Helper()
	if x.NumAccounts() != y.NumAccounts() || x.NumMarkets() != y.NumMarkets() ||
		x.FeeAccountQuote() != y.FeeAccountQuote() || x.InsuranceFundQuote() != y.InsuranceFundQuote() {
		t.Fatalf("counts or balances differ: %d/%d accounts, %d/%d markets, fee %d/%d, fund %d/%d",
			x.NumAccounts(), y.NumAccounts(), x.NumMarkets(), y.NumMarkets(),
			x.FeeAccountQuote(), y.FeeAccountQuote(), x.InsuranceFundQuote(), y.InsuranceFundQuote())
	}
	fx, errX := x.Conservation()
	fy, errY := y.Conservation()
	if fx != fy || errX != nil || errY != nil {
		t.Fatalf("figures %+v (%v), %+v (%v)", fx, errX, fy, errY)
	}
	var px, py []clearing.Position
	for m := range clearing.MarketID(x.NumMarkets()) {
		sx, _ := x.Market(m)
		sy, _ := y.Market(m)
		lx, shx := x.OpenInterest(m)
		ly, shy := y.OpenInterest(m)
		if sx != sy || lx != ly || shx != shy {
			t.Fatalf("market %d: %+v %d/%d, %+v %d/%d", m, sx, lx, shx, sy, ly, shy)
		}
		px, py = x.OpenPositions(m, px[:0]), y.OpenPositions(m, py[:0])
		if !slices.Equal(px, py) {
			t.Fatalf("market %d: open positions (funding order)\n%+v\n%+v", m, px, py)
		}
	}
	for a := range clearing.AccountID(x.NumAccounts()) {
		wx, _ := x.Wallet(a)
		wy, _ := y.Wallet(a)
		px, py = x.AccountPositions(a, px[:0]), y.AccountPositions(a, py[:0])
		if wx != wy || !slices.Equal(px, py) {
			t.Fatalf("account %d: wallet %d, %d; positions\n%+v\n%+v", a, wx, wy, px, py)
		}
		for m := range clearing.MarketID(x.NumMarkets()) {
			px, _ := x.Position(a, m)
			py, _ := y.Position(a, m)
			if px != py {
				t.Fatalf("account %d market %d: position %+v, %+v", a, m, px, py)
			}
		}
	}
}

// records lists a ledger's position records in slab order.
func records(l *clearing.Ledger) []clearing.Position {
	var out []clearing.Position
	clearing.WalkRecords(l, func(p clearing.Position) { out = append(out, p) })
	return out
}

var specZeroFee = clearing.MarketSpec{QuotePerTickLot: 10}

func zeroFeeLedger(t *testing.T) *clearing.Ledger {
	t.Helper()
	l, err := clearing.New(clearing.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for m, s := range []clearing.MarketSpec{specZeroFee, specBTC} {
		if err := l.AddMarket(clearing.MarketID(m), s); err != nil {
			t.Fatal(err)
		}
	}
	for a := range clearing.AccountID(6) {
		l.AddAccount(a)
		l.Deposit(a, bigWallet)
	}
	return l
}

func mustReason(t *testing.T, r clearing.Reason) {
	t.Helper()
	if r != clearing.ReasonNone {
		t.Fatal(r)
	}
}

func mustMode(t *testing.T, l *clearing.Ledger, a clearing.AccountID, m clearing.MarketID, mode clearing.MarginMode) {
	t.Helper()
	_, r := l.SetMarginMode(a, m, mode)
	mustReason(t, r)
}

func mustTrade(t *testing.T, l *clearing.Ledger, tr clearing.Trade) {
	t.Helper()
	if _, err := l.SettleTrade(tr); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotCanonical reaches one state by two paths that leave different
// internals (records created in another order, flat cross records left by a
// mode round trip and by a round-trip trade, longer slot tables, a position
// built in one fill or two) and checks the snapshots are equal; a third
// ledger with the same positions opened in the other order (so funding
// would run in another order) must snapshot differently.
func TestSnapshotCanonical(t *testing.T) {
	const huge = math.MaxInt64
	a := zeroFeeLedger(t)
	mustMode(t, a, 5, 0, clearing.Isolated) // leaves a flat cross record
	mustMode(t, a, 4, 1, clearing.Isolated) // an idle isolated record: kept
	mustMode(t, a, 5, 0, clearing.Cross)
	mustReason(t, a.AddIsolatedMargin(4, 1, 1000, huge))
	mustReason(t, a.RemoveIsolatedMargin(4, 1, 1000, huge))
	// A round trip at one price without fees leaves flat cross records.
	mustTrade(t, a, clearing.Trade{Market: 0, PriceTicks: 100, QtyLots: 10, Maker: 1, Taker: 0, TakerBuys: true})
	mustTrade(t, a, clearing.Trade{Market: 0, PriceTicks: 100, QtyLots: 10, Maker: 0, Taker: 1, TakerBuys: true})
	mustTrade(t, a, clearing.Trade{Market: 0, PriceTicks: 120, QtyLots: 7, Maker: 2, Taker: 3, TakerBuys: true})
	mustTrade(t, a, clearing.Trade{Market: 0, PriceTicks: 130, QtyLots: 3, Maker: 2, Taker: 3, TakerBuys: true})
	mustMode(t, a, 0, 1, clearing.Isolated)
	mustReason(t, a.AddIsolatedMargin(0, 1, 5000, huge))

	b := zeroFeeLedger(t)
	mustMode(t, b, 0, 1, clearing.Isolated)
	mustReason(t, b.AddIsolatedMargin(0, 1, 2000, huge))
	mustReason(t, b.AddIsolatedMargin(0, 1, 3000, huge))
	mustTrade(t, b, clearing.Trade{Market: 0, PriceTicks: 330, QtyLots: 1, Maker: 2, Taker: 3, TakerBuys: true})
	mustTrade(t, b, clearing.Trade{Market: 0, PriceTicks: 100, QtyLots: 9, Maker: 2, Taker: 3, TakerBuys: true})
	mustMode(t, b, 5, 1, clearing.Isolated) // a longer slot table, then a flat cross record
	mustMode(t, b, 5, 1, clearing.Cross)
	mustMode(t, b, 4, 1, clearing.Isolated)

	for _, l := range []*clearing.Ledger{a, b} {
		if err := l.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	}
	if slices.Equal(records(a), records(b)) {
		t.Fatal("the two paths left the same records: the test proves nothing")
	}
	sameLedger(t, a, b)
	sa, sb := a.AppendSnapshot(nil), b.AppendSnapshot(nil)
	if !bytes.Equal(sa, sb) {
		t.Fatalf("same state, different snapshots:\n%x\n%x", sa, sb)
	}
	r, _, err := clearing.Restore(sa)
	if err != nil {
		t.Fatal(err)
	}
	sameLedger(t, a, r)
	if len(records(r)) != 4 { // 2 and 3 open in market 0, 0 and 4 idle isolated in market 1
		t.Fatalf("restored records %+v", records(r))
	}

	// The same positions opened in the other order: funding order differs,
	// so the state differs.
	c := zeroFeeLedger(t)
	mustTrade(t, c, clearing.Trade{Market: 0, PriceTicks: 330, QtyLots: 1, Maker: 3, Taker: 2, TakerBuys: false})
	mustTrade(t, c, clearing.Trade{Market: 0, PriceTicks: 100, QtyLots: 9, Maker: 3, Taker: 2, TakerBuys: false})
	mustMode(t, c, 0, 1, clearing.Isolated)
	mustReason(t, c.AddIsolatedMargin(0, 1, 5000, huge))
	mustMode(t, c, 4, 1, clearing.Isolated)
	oa, oc := a.OpenPositions(0, nil), c.OpenPositions(0, nil)
	if oa[0] != oc[1] || oa[1] != oc[0] {
		t.Fatalf("open positions %+v and %+v are not the same two in another order", oa, oc)
	}
	if bytes.Equal(sa, c.AppendSnapshot(nil)) {
		t.Fatal("a different funding order gave the same snapshot")
	}
}

// snapDesc spells out a snapshot field by field, following the layout in
// AppendSnapshot's comment; encode writes it independently of the package.
type snapDesc struct {
	version                                                           byte
	maxAccounts, maxMarkets                                           uint64
	fee, fund, badDebt, deposits, withdrawals, insDeposits, unmatched int64
	wallets                                                           []int64
	markets                                                           []snapMarket
}

type snapMarket struct {
	qptl, maker, taker int64
	open, idle         []snapPos
}

type snapPos struct {
	account     uint64
	mode        byte
	iso         int64 // written only in mode 1 (isolated)
	size, entry int64 // written only in the open list
}

func (d snapDesc) encode() []byte {
	b := []byte{d.version}
	b = binary.AppendUvarint(b, d.maxAccounts)
	b = binary.AppendUvarint(b, d.maxMarkets)
	for _, v := range []int64{d.fee, d.fund, d.badDebt, d.deposits, d.withdrawals, d.insDeposits, d.unmatched} {
		b = binary.AppendVarint(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(d.wallets)))
	for _, w := range d.wallets {
		b = binary.AppendVarint(b, w)
	}
	b = binary.AppendUvarint(b, uint64(len(d.markets)))
	for _, m := range d.markets {
		b = binary.AppendVarint(b, m.qptl)
		b = binary.AppendVarint(b, m.maker)
		b = binary.AppendVarint(b, m.taker)
		for k, list := range [][]snapPos{m.open, m.idle} {
			b = binary.AppendUvarint(b, uint64(len(list)))
			for _, p := range list {
				b = binary.AppendUvarint(b, p.account)
				b = append(b, p.mode)
				if p.mode == 1 {
					b = binary.AppendVarint(b, p.iso)
				}
				if k == 0 {
					b = binary.AppendVarint(b, p.size)
					b = binary.AppendVarint(b, p.entry)
				}
			}
		}
	}
	return b
}

// formatLedger builds the ledger that formatDesc describes.
func formatLedger(t *testing.T) *clearing.Ledger {
	l := newLedger(t, 3, 1_000_000_000)
	mustTrade(t, l, clearing.Trade{Market: 0, PriceTicks: 1000, QtyLots: 2, Maker: 1, Taker: 0, TakerBuys: true})
	mustMode(t, l, 2, 1, clearing.Isolated)
	mustReason(t, l.AddIsolatedMargin(2, 1, 5000, math.MaxInt64))
	mustMode(t, l, 1, 1, clearing.Isolated)
	mustReason(t, l.InsuranceDeposit(777))
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	return l
}

// formatDesc describes formatLedger's state, worked by hand: a fill of 2
// lots at 1000 ticks in the BTC market is worth 200,000; the maker (1)
// pays 40 in fees, the taker (0) 100.
func formatDesc() snapDesc {
	return snapDesc{
		version: 2, maxAccounts: 1 << 24, maxMarkets: 1024,
		fee: 140, fund: 777, deposits: 3_000_000_000, insDeposits: 777,
		wallets: []int64{1_000_000_000 - 100, 1_000_000_000 - 40, 1_000_000_000 - 5000},
		markets: []snapMarket{
			{qptl: 100, maker: 200, taker: 500, open: []snapPos{
				{account: 1, mode: 0, size: -2, entry: -200_000}, // the maker settles, and so opens, first
				{account: 0, mode: 0, size: 2, entry: 200_000},
			}},
			{qptl: 1, maker: -100, taker: 400, idle: []snapPos{
				{account: 1, mode: 1},
				{account: 2, mode: 1, iso: 5000},
			}},
		},
	}
}

// TestSnapshotFormat pins the layout documented on AppendSnapshot, and
// checks that Restore refuses each kind of broken snapshot with
// ErrBadSnapshot (and the specific sentinel where there is one).
func TestSnapshotFormat(t *testing.T) {
	l := formatLedger(t)
	want := formatDesc()
	snap := l.AppendSnapshot([]byte("prefix"))
	if got := want.encode(); !bytes.Equal(snap[len("prefix"):], got) {
		t.Fatalf("snapshot\n%x\nwant\n%x", snap[len("prefix"):], got)
	}
	if string(snap[:len("prefix")]) != "prefix" {
		t.Fatal("AppendSnapshot changed dst's bytes")
	}
	r, rest, err := clearing.Restore(append(want.encode(), "tail"...))
	if err != nil || string(rest) != "tail" {
		t.Fatalf("restore: %v, rest %q", err, rest)
	}
	sameLedger(t, l, r)

	nonMinimal := func(d snapDesc) []byte {
		// MaxAccounts 2^24 with a redundant zero byte at the end.
		b := d.encode()
		n := len(binary.AppendUvarint(nil, d.maxAccounts))
		out := append([]byte(nil), b[:n]...) // version byte + all but the last byte of the varint
		out = append(out, b[n]|0x80, 0)
		return append(out, b[n+1:]...)
	}
	for _, c := range []struct {
		name string
		edit func(d *snapDesc)
		raw  func(d snapDesc) []byte // instead of encode
		also error
	}{
		{name: "version", edit: func(d *snapDesc) { d.version = 1 }},
		{name: "negative bad debt", edit: func(d *snapDesc) { d.badDebt = -1; d.fund += -1 }},
		{name: "no MaxAccounts", edit: func(d *snapDesc) { d.maxAccounts = 0 }, also: clearing.ErrInvalidConfig},
		{name: "MaxAccounts too large", edit: func(d *snapDesc) { d.maxAccounts = clearing.MaxAccountsLimit + 1 }},
		{name: "MaxMarkets too large", edit: func(d *snapDesc) { d.maxMarkets = clearing.MaxMarketsLimit + 1 }},
		{name: "more accounts than MaxAccounts", edit: func(d *snapDesc) { d.maxAccounts = 2 }},
		{name: "more markets than MaxMarkets", edit: func(d *snapDesc) { d.maxMarkets = 1 }},
		{name: "bad spec", edit: func(d *snapDesc) { d.markets[1].maker = -401 }, also: clearing.ErrInvalidMarket},
		{name: "unknown account", edit: func(d *snapDesc) { d.markets[1].idle[1].account = 3 }},
		{name: "unknown mode", edit: func(d *snapDesc) { d.markets[0].open[0].mode = 2 }},
		{name: "flat in open list", edit: func(d *snapDesc) {
			d.markets[0].open[0].size, d.markets[0].open[0].entry = 0, 0
			d.markets[0].open[1].size, d.markets[0].open[1].entry = 0, 0
			d.wallets[0] += 200_000 // keep the money identity, so only the list is wrong
			d.wallets[1] -= 200_000
		}},
		{name: "entry sign", edit: func(d *snapDesc) { d.markets[0].open[0].entry = 200_000 }},
		{name: "entry below one tick", edit: func(d *snapDesc) { d.markets[0].open[0].entry, d.markets[0].open[1].entry = -199, 199 }},
		{name: "two open positions of an account", edit: func(d *snapDesc) { d.markets[0].open[1].account = 1 }},
		{name: "negative isolated margin", edit: func(d *snapDesc) { d.markets[1].idle[1].iso = -1 }},
		{name: "idle cross", edit: func(d *snapDesc) { d.markets[1].idle[0].mode = 0 }},
		{name: "idle out of order", edit: func(d *snapDesc) {
			m := &d.markets[1]
			m.idle[0], m.idle[1] = m.idle[1], m.idle[0]
		}},
		{name: "idle and open", edit: func(d *snapDesc) {
			d.markets[0].idle = []snapPos{{account: 0, mode: 1}}
		}},
		{name: "too many positions", edit: func(d *snapDesc) {
			d.markets[1].idle = append(d.markets[1].idle, snapPos{account: 2, mode: 1}, snapPos{account: 2, mode: 1})
		}},
		{name: "negative deposits", edit: func(d *snapDesc) { d.deposits, d.withdrawals = -1, -3_000_000_001 }},
		{name: "money created", edit: func(d *snapDesc) { d.wallets[2]++ }, also: clearing.ErrConservation},
		{name: "unmatched fill", edit: func(d *snapDesc) { d.unmatched, d.wallets[2] = 1, d.wallets[2]-1 }, also: clearing.ErrOpenInterest},
		{name: "open interest", edit: func(d *snapDesc) {
			d.markets[0].open[1].size = 1
			d.markets[0].open[1].entry = 100_000
			d.wallets[0] -= 100_000 // the basis fell by as much: the money identity holds
		}, also: clearing.ErrOpenInterest},
		{name: "negative fee account", edit: func(d *snapDesc) { d.fee, d.wallets[2] = -1, d.wallets[2]+141 }, also: clearing.ErrInvariant},
		{name: "truncated", raw: func(d snapDesc) []byte { b := d.encode(); return b[:len(b)-1] }},
		{name: "empty", raw: func(snapDesc) []byte { return nil }},
		{name: "non-minimal varint", raw: nonMinimal},
		{name: "varint overflow", raw: func(d snapDesc) []byte { return append([]byte{1}, bytes.Repeat([]byte{0xff}, 11)...) }},
		{name: "huge account count", raw: func(d snapDesc) []byte {
			d.wallets = nil
			d.markets = nil
			b := d.encode()
			b = b[:len(b)-2] // no account count, no market count
			return binary.AppendUvarint(b, 1<<24)
		}},
	} {
		d := formatDesc()
		var data []byte
		if c.raw != nil {
			data = c.raw(d)
		} else {
			c.edit(&d)
			data = d.encode()
		}
		l, rest, err := clearing.Restore(data)
		if !errors.Is(err, clearing.ErrBadSnapshot) || (c.also != nil && !errors.Is(err, c.also)) || l != nil || rest != nil {
			t.Errorf("%s: %v (ledger %v, rest %q)", c.name, err, l != nil, rest)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
	if n := testing.AllocsPerRun(100, func() { snap = l.AppendSnapshot(snap[:0]) }); n != 0 {
		t.Errorf("AppendSnapshot into a large enough buffer: %v allocations", n)
	}
}

// TestSnapshotConcatenated restores parts stored back to back.
func TestSnapshotConcatenated(t *testing.T) {
	x, y := formatLedger(t), randomLedger(t, 3, 2000)
	data := y.AppendSnapshot(x.AppendSnapshot(nil))
	rx, rest, err := clearing.Restore(data)
	if err != nil {
		t.Fatal(err)
	}
	ry, rest, err := clearing.Restore(rest)
	if err != nil || len(rest) != 0 {
		t.Fatalf("%v, %d bytes left", err, len(rest))
	}
	sameLedger(t, x, rx)
	sameLedger(t, y, ry)
}

// randomLedger runs n random operations on a small ledger, without a
// reference: it makes varied states for the decoder tests (the fuzz target
// cannot use sim, which needs a *testing.T).
func randomLedger(tb testing.TB, seed uint64, n int) *clearing.Ledger {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 0xbeef))
	l, err := clearing.New(clearing.Config{MaxAccounts: 1000, MaxMarkets: 8})
	if err != nil {
		tb.Fatal(err)
	}
	for m, s := range randomSpecs[:3] {
		if err := l.AddMarket(clearing.MarketID(m), s); err != nil {
			tb.Fatal(err)
		}
	}
	l.InsuranceDeposit(1e9)
	for range n {
		a := clearing.AccountID(rng.IntN(l.NumAccounts() + 1))
		m := clearing.MarketID(rng.IntN(l.NumMarkets()))
		switch k := rng.IntN(20); {
		case k == 0 || l.NumAccounts() < 2:
			if l.AddAccount(clearing.AccountID(l.NumAccounts())) == clearing.ReasonNone {
				l.Deposit(clearing.AccountID(l.NumAccounts()-1), 1e6+rng.Int64N(1e10))
			}
		case k < 12:
			maker := clearing.AccountID(rng.IntN(l.NumAccounts()))
			taker := clearing.AccountID(rng.IntN(l.NumAccounts()))
			tr := clearing.Trade{Market: m, PriceTicks: randomMids[m] + rng.Int64N(1000) - 500, QtyLots: 1 + rng.Int64N(50), Maker: maker, Taker: taker, TakerBuys: rng.IntN(2) == 0}
			if _, err := l.SettleTrade(tr); err != nil {
				tb.Fatal(err)
			}
		case k < 14:
			l.SetMarginMode(a, m, clearing.MarginMode(rng.IntN(2)))
		case k < 16:
			l.AddIsolatedMargin(a, m, 1+rng.Int64N(1e8), math.MaxInt64)
		case k < 17:
			l.RemoveIsolatedMargin(a, m, 1+rng.Int64N(1e7), math.MaxInt64)
		case k < 18:
			l.Deposit(a, 1+rng.Int64N(1e9))
		case k < 19:
			l.Withdraw(a, 1+rng.Int64N(1e8), math.MaxInt64)
		default:
			if _, _, err := l.SettleFunding(m, randomMids[m], rng.Int64N(20001)-10000, nil); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := l.CheckInvariants(); err != nil {
		tb.Fatal(err)
	}
	return l
}

// checkRestore is the decoder's contract on any input: no panic; either an
// error wrapping ErrBadSnapshot, or a ledger that passes its checks, keeps
// working, and snapshots to exactly the bytes it was read from.
func checkRestore(tb testing.TB, data []byte) bool {
	tb.Helper()
	l, rest, err := clearing.Restore(data)
	if err != nil {
		if !errors.Is(err, clearing.ErrBadSnapshot) || l != nil || rest != nil {
			tb.Fatalf("error %v, ledger %v, rest %d bytes", err, l != nil, len(rest))
		}
		return false
	}
	n := len(data) - len(rest)
	if n <= 0 || !bytes.Equal(rest, data[n:]) {
		tb.Fatalf("rest is not a suffix of the input: %d of %d bytes", len(rest), len(data))
	}
	if err := l.CheckInvariants(); err != nil {
		tb.Fatal(err)
	}
	snap := l.AppendSnapshot(nil)
	if !bytes.Equal(snap, data[:n]) {
		tb.Fatalf("restored from\n%x\nsnapshots to\n%x", data[:n], snap)
	}
	// Use it: funding and a trade on every market, then the checks again.
	// Overflow errors are allowed (they change nothing); panics are not.
	for m := range clearing.MarketID(l.NumMarkets()) {
		l.SettleFunding(m, 1_000, 500, nil)
		if l.NumAccounts() >= 2 {
			l.SettleTrade(clearing.Trade{Market: m, PriceTicks: 1_000, QtyLots: 1, Maker: 0, Taker: 1, TakerBuys: true})
		}
	}
	if err := l.CheckInvariants(); err != nil {
		tb.Fatal(err)
	}
	return true
}

// mutate applies one to three random edits to a copy of b.
func mutate(rng *rand.Rand, b []byte) []byte {
	b = slices.Clone(b)
	for k := 1 + rng.IntN(3); k > 0; k-- {
		if len(b) == 0 {
			return append(b, byte(rng.Uint32()))
		}
		i := rng.IntN(len(b))
		switch rng.IntN(7) {
		case 0:
			b[i] ^= 1 << rng.IntN(8)
		case 1:
			b[i] = byte(rng.Uint32())
		case 2:
			b[i]++
		case 3:
			b = slices.Insert(b, i, byte(rng.Uint32()))
		case 4:
			b = slices.Delete(b, i, i+1)
		case 5:
			b = b[:i]
		default:
			j := rng.IntN(len(b))
			b = slices.Insert(b, i, slices.Clone(b[j:min(len(b), j+1+rng.IntN(8))])...)
		}
	}
	return b
}

func seedSnapshots(tb testing.TB) [][]byte {
	empty, err := clearing.New(clearing.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	out := [][]byte{empty.AppendSnapshot(nil), formatDesc().encode()}
	for seed := range uint64(4) {
		out = append(out, randomLedger(tb, seed, 50+int(seed)*400).AppendSnapshot(nil))
	}
	return out
}

// TestRestoreMutations runs checkRestore on every strict prefix of valid
// snapshots (all must fail) and on many randomly mutated ones, so that the
// fuzz target's property is exercised by a plain go test.
func TestRestoreMutations(t *testing.T) {
	seeds := seedSnapshots(t)
	for _, s := range seeds {
		if !checkRestore(t, s) {
			t.Fatal("a valid snapshot failed")
		}
		for n := range len(s) {
			if _, _, err := clearing.Restore(s[:n]); err == nil {
				t.Fatalf("a %d-byte prefix of a %d-byte snapshot restored", n, len(s))
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 5))
	accepted, iters := 0, 20_000
	if testing.Short() {
		iters = 5_000
	}
	for range iters {
		if checkRestore(t, mutate(rng, seeds[rng.IntN(len(seeds))])) {
			accepted++
		}
	}
	t.Logf("%d of %d mutated snapshots restored (and round-tripped)", accepted, iters)
}

// FuzzRestore: any input either fails with ErrBadSnapshot or restores a
// ledger that passes its checks and snapshots to the same bytes.
func FuzzRestore(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, s := range seedSnapshots(f) {
		f.Add(s)
		f.Add(append(slices.Clone(s), 0xff, 0))
		f.Add(mutate(rng, s))
	}
	for range 8 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRestore(t, data)
	})
}
