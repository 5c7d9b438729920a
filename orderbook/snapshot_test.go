package orderbook

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// snapState is a book's observable state, the input of the format written
// out by hand in encode: a second encoder, from the documentation of
// AppendSnapshot, that the book's own must agree with, and the way the tests
// build snapshots of states the book would never write.
type snapState struct {
	cfg      Config
	lastID   OrderID
	refPrice int64
	updateID uint64
	sides    [2][]snapLevel // bids, asks; best price first
}

type snapLevel struct {
	price  int64
	orders []RestingOrder // oldest first
}

func (s *snapState) encode() []byte {
	out := []byte{snapshotVersion}
	u := func(v uint64) { out = binary.AppendUvarint(out, v) }
	c := s.cfg
	for _, v := range []int64{c.MaxPriceTicks, c.MaxOrderLots, int64(c.MaxRestingOrders), int64(c.MaxOrdersPerAccount),
		int64(c.MaxPriceLevels), int64(c.MaxAccounts), c.PriceBandTicks, c.PriceBandPpm} {
		u(uint64(v))
	}
	u(uint64(s.lastID))
	u(uint64(s.refPrice))
	u(s.updateID)
	for side, levels := range s.sides {
		u(uint64(len(levels)))
		for k, l := range levels {
			switch {
			case k == 0:
				u(uint64(l.price))
			case side == 0:
				u(uint64(levels[k-1].price - l.price))
			default:
				u(uint64(l.price - levels[k-1].price))
			}
			u(uint64(len(l.orders)))
			for _, o := range l.orders {
				u(uint64(s.lastID - o.ID))
				u(uint64(o.Account))
				out = append(out, byte(o.TIF)|byte(o.STP)<<4, o.Tag)
				u(uint64(o.QtyLots))
				u(uint64(o.FilledLots))
			}
		}
	}
	return out
}

// groupLevels cuts one side's orders, in priority order, into levels.
func groupLevels(orders []RestingOrder) []snapLevel {
	var levels []snapLevel
	for _, o := range orders {
		if n := len(levels); n > 0 && levels[n-1].price == o.PriceTicks {
			levels[n-1].orders = append(levels[n-1].orders, o)
			continue
		}
		levels = append(levels, snapLevel{price: o.PriceTicks, orders: []RestingOrder{o}})
	}
	return levels
}

// refSnapState reads the state of the reference model.
func refSnapState(r *refBook) snapState {
	return snapState{
		cfg: r.cfg, lastID: r.lastID, refPrice: r.refPrice, updateID: r.updateID,
		sides: [2][]snapLevel{groupLevels(r.Orders(Buy, nil)), groupLevels(r.Orders(Sell, nil))},
	}
}

// accountListIDs returns the ids of acct's orders in the order of the book's
// account list, which CancelAccount follows.
func accountListIDs(b *Book, acct AccountID) []OrderID {
	var ids []OrderID
	if a := b.account(acct); a != nil {
		for i := a.head; i != 0; i = b.orders[i].acctNext {
			ids = append(ids, b.orders[i].id)
		}
	}
	return ids
}

// checkAccountOrderIsIDOrder checks the premise the format rests on: in the
// book and in the reference, every account's orders first rested in the
// order of their ids.
func checkAccountOrderIsIDOrder(b *Book, r *refBook, accounts int) string {
	for a := range AccountID(accounts) {
		if ids := accountListIDs(b, a); !slices.IsSorted(ids) {
			return fmt.Sprintf("account %d: the book lists its orders as %v", a, ids)
		}
	}
	var all []*refOrder
	all = append(append(all, r.bids...), r.asks...)
	slices.SortFunc(all, func(x, y *refOrder) int {
		if x.firstSeq < y.firstSeq {
			return -1
		}
		return 1
	})
	last := map[AccountID]OrderID{}
	for _, o := range all {
		if o.ID <= last[o.Account] {
			return fmt.Sprintf("account %d: the reference rested order %d after %d", o.Account, o.ID, last[o.Account])
		}
		last[o.Account] = o.ID
	}
	return ""
}

// checkRestore restores data and checks what Restore promises: an error
// that wraps ErrBadSnapshot, or a sound book that snapshots to exactly the
// bytes it came from and cancels each account's orders in id order. It
// returns whether data restored and what went wrong, if anything.
func checkRestore(data []byte) (ok bool, msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("panic: %v", r)
		}
	}()
	b, rest, err := Restore(data)
	if err != nil {
		switch {
		case !errors.Is(err, ErrBadSnapshot):
			return false, fmt.Sprintf("error %v does not wrap ErrBadSnapshot", err)
		case b != nil || rest != nil:
			return false, fmt.Sprintf("error %v with a book or remaining bytes", err)
		}
		return false, ""
	}
	n := len(data) - len(rest)
	if n <= 0 || (len(rest) > 0 && &rest[0] != &data[n]) {
		return true, fmt.Sprintf("remaining bytes (%d) are not a tail of the input (%d)", len(rest), len(data))
	}
	if err := b.CheckInvariants(); err != nil {
		return true, err.Error()
	}
	if again := b.AppendSnapshot(nil); !bytes.Equal(again, data[:n]) {
		return true, fmt.Sprintf("restored book snapshots to other bytes:\nin  %x\nout %x", data[:n], again)
	}
	if m := checkView(b, b.Config()); m != "" {
		return true, m
	}
	perAccount := map[AccountID][]OrderID{}
	var accounts []AccountID
	for _, s := range []Side{Buy, Sell} {
		for _, o := range b.Orders(s, nil) {
			if perAccount[o.Account] == nil {
				accounts = append(accounts, o.Account)
			}
			perAccount[o.Account] = append(perAccount[o.Account], o.ID)
		}
	}
	slices.Sort(accounts)
	for _, a := range accounts {
		want := perAccount[a]
		slices.Sort(want)
		var got []OrderID
		for _, e := range b.CancelAccount(a, nil) {
			got = append(got, e.OrderID)
		}
		if !slices.Equal(got, want) {
			return true, fmt.Sprintf("CancelAccount(%d) cancelled %v, want %v", a, got, want)
		}
	}
	if b.Len() != 0 {
		return true, fmt.Sprintf("%d orders left after cancelling every account", b.Len())
	}
	if err := b.CheckInvariants(); err != nil {
		return true, "after cancelling: " + err.Error()
	}
	return true, ""
}

// TestSnapshotRestoreContinues snapshots a book at random points of a
// random command stream, restores it, and runs the restored book beside the
// original for a while: every event, Changes, UpdateID and the orders must
// agree, and at the end of the window both books must snapshot to the same
// bytes (though their slabs, id indexes and pages differ). Each snapshot
// must equal the encoding of the reference model's state, and a restored
// copy must cancel each account's orders in the original's order.
func TestSnapshotRestoreContinues(t *testing.T) {
	n := 30_000
	if testing.Short() {
		n = 6_000
	}
	for k, prof := range genProfiles {
		t.Run(prof.name, func(t *testing.T) {
			t.Parallel()
			runSnapshotContinuation(t, prof, 9_100+uint64(k), n)
		})
	}
}

type shadowBook struct {
	b      *Book
	from   int // index of the command after which it was snapshotted
	left   int // commands still to run
	ev     []Event
	orders []RestingOrder
}

func runSnapshotContinuation(t *testing.T, prof genProfile, seed uint64, n int) {
	b, err := New(prof.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.stamp = prof.stampStart
	ref := newRefBook(prof.cfg)
	g := newCmdGen(prof, seed, ref)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var hist cmdHistory
	var shadows []*shadowBook
	var ev []Event
	var orders [2][]RestingOrder // the original's orders by side, when compared
	taken, compared, maxLen, maxSnap := 0, 0, 0, 0
	for i := range n {
		if len(shadows) < 4 && (i == 0 || rng.IntN(100) == 0) {
			snap := b.AppendSnapshot(nil)
			if msg := checkSnapshotPoint(b, ref, prof, snap); msg != "" {
				t.Fatalf("profile %s seed %d, snapshot after command #%d: %s\nlast commands:\n%s", prof.name, seed, i-1, msg, hist.String())
			}
			b2, _, err := Restore(snap)
			if err != nil {
				t.Fatal(err)
			}
			shadows = append(shadows, &shadowBook{b: b2, from: i - 1, left: 50 + rng.IntN(1500)})
			taken++
			maxLen, maxSnap = max(maxLen, b.Len()), max(maxSnap, len(snap))
		}
		cmd := g.next()
		hist.add(i, cmd)
		ref.Apply(&cmd, nil)
		if i%2 == 0 {
			ev = b.Apply(&cmd, ev[:0])
		} else {
			ev = applyTyped(b, &cmd, ev[:0])
		}
		if i%8 == 0 || slices.ContainsFunc(shadows, func(s *shadowBook) bool { return s.left == 1 }) {
			orders[0] = b.Orders(Buy, orders[0][:0])
			orders[1] = b.Orders(Sell, orders[1][:0])
		}
		kept := shadows[:0]
		for _, s := range shadows {
			s.left--
			if msg := stepShadow(b, s, &cmd, ev, &orders, i); msg != "" {
				t.Fatalf("profile %s seed %d, book restored after command #%d, command #%d %s:\n%s\nlast commands:\n%s",
					prof.name, seed, s.from, i, fmtCommand(cmd), msg, hist.String())
			}
			if s.left > 0 {
				kept = append(kept, s)
			} else {
				compared++
			}
		}
		shadows = kept
	}
	t.Logf("profile %s: %d snapshots over %d commands (%d windows run to the end); at most %d orders, %d bytes",
		prof.name, taken, n, compared, maxLen, maxSnap)
}

// checkSnapshotPoint checks a snapshot of b, whose state is also ref's.
func checkSnapshotPoint(b *Book, ref *refBook, prof genProfile, snap []byte) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("panic: %v", r)
		}
	}()
	if want := refSnapState(ref); !bytes.Equal(snap, want.encode()) {
		return fmt.Sprintf("snapshot is not the encoding of the reference's state:\nwant %x\ngot  %x", want.encode(), snap)
	}
	if msg := checkAccountOrderIsIDOrder(b, ref, prof.accounts); msg != "" {
		return msg
	}
	b2, rest, err := Restore(append(snap, 0xAB, 0xCD))
	switch {
	case err != nil:
		return fmt.Sprintf("Restore: %v", err)
	case !bytes.Equal(rest, []byte{0xAB, 0xCD}):
		return fmt.Sprintf("Restore left %x after the snapshot, want abcd", rest)
	}
	if err := b2.CheckInvariants(); err != nil {
		return err.Error()
	}
	if again := b2.AppendSnapshot(nil); !bytes.Equal(again, snap) {
		return fmt.Sprintf("restored book snapshots differently:\nwant %x\ngot  %x", snap, again)
	}
	if b2.Config() != b.Config() || b2.UpdateID() != b.UpdateID() || b2.ReferencePrice() != b.ReferencePrice() ||
		b2.lastID != b.lastID || b2.Len() != b.Len() || len(b2.Changes()) != 0 {
		return "restored book's config, update id, reference price, last id or length differ, or it has changes"
	}
	if b2.bandOn != b.bandOn || (b.bandOn && b2.bandDevTicks != b.bandDevTicks) {
		return fmt.Sprintf("band: restored %t %d, original %t %d", b2.bandOn, b2.bandDevTicks, b.bandOn, b.bandDevTicks)
	}
	for _, s := range []Side{Buy, Sell} {
		if w, g := b.Orders(s, nil), b2.Orders(s, nil); !slices.Equal(w, g) {
			return fmt.Sprintf("Orders(%s):\nwant %v\ngot  %v", s, w, g)
		}
		if w, g := b.Depth(s, 1<<30, nil), b2.Depth(s, 1<<30, nil); !slices.Equal(w, g) {
			return fmt.Sprintf("Depth(%s):\nwant %v\ngot  %v", s, w, g)
		}
	}
	// Another copy cancels every account's orders: they must come in the
	// order of the original's account lists.
	b3, _, _ := Restore(snap)
	for a := range AccountID(prof.accounts) {
		want := accountListIDs(b, a)
		var got []OrderID
		for _, e := range b3.CancelAccount(a, nil) {
			if e.Kind != EventCancelled || e.Reason != ReasonAccountCancelAll || e.Account != a {
				return fmt.Sprintf("CancelAccount(%d): event %v", a, e)
			}
			got = append(got, e.OrderID)
		}
		if !slices.Equal(got, want) {
			return fmt.Sprintf("CancelAccount(%d) on the restored book cancelled %v, the original's list is %v", a, got, want)
		}
	}
	if b3.Len() != 0 {
		return fmt.Sprintf("%d orders left after cancelling every account", b3.Len())
	}
	return ""
}

// stepShadow runs cmd on a restored book and compares it with the original,
// which has just run it and produced want; every 8 commands and at the end
// of the window, orders holds the original's orders.
func stepShadow(b *Book, s *shadowBook, cmd *Command, want []Event, orders *[2][]RestingOrder, i int) string {
	if i%2 == 1 {
		s.ev = s.b.Apply(cmd, s.ev[:0])
	} else {
		s.ev = applyTyped(s.b, cmd, s.ev[:0])
	}
	if !slices.Equal(s.ev, want) {
		return "events differ (want: original, got: restored):\n" + diffEvents(want, s.ev)
	}
	if !slices.Equal(s.b.Changes(), b.Changes()) {
		return fmt.Sprintf("Changes:\nwant %v\ngot  %v", b.Changes(), s.b.Changes())
	}
	if s.b.UpdateID() != b.UpdateID() || s.b.Len() != b.Len() {
		return fmt.Sprintf("UpdateID %d, Len %d; want %d, %d", s.b.UpdateID(), s.b.Len(), b.UpdateID(), b.Len())
	}
	if i%8 == 0 || s.left == 0 {
		for k, side := range []Side{Buy, Sell} {
			s.orders = s.b.Orders(side, s.orders[:0])
			if !slices.Equal(orders[k], s.orders) {
				return fmt.Sprintf("Orders(%s):\nwant %v\ngot  %v", side, orders[k], s.orders)
			}
		}
	}
	if s.left == 0 {
		if err := s.b.CheckInvariants(); err != nil {
			return err.Error()
		}
		if w, g := b.AppendSnapshot(nil), s.b.AppendSnapshot(nil); !bytes.Equal(w, g) {
			return fmt.Sprintf("at the end of the window the snapshots differ:\nwant %x\ngot  %x", w, g)
		}
	}
	return ""
}

// TestSnapshotCanonical builds one state along two paths that leave the
// books' insides different (slab slots, free list, pages allocated and
// recycled, command stamp) and checks that the snapshots are the same bytes;
// a third path that differs only in the queue order at one level must give
// other bytes.
func TestSnapshotCanonical(t *testing.T) {
	cfg := DefaultConfig()
	mk := func() *Book {
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var ev []Event
	do := func(b *Book, cmds ...Command) {
		t.Helper()
		for _, c := range cmds {
			ev = b.Apply(&c, ev[:0])
			for _, e := range ev {
				if e.Kind == EventRejected {
					t.Fatalf("%s: %v", fmtCommand(c), e)
				}
			}
		}
	}
	place := func(id OrderID, acct AccountID, side Side, tif TimeInForce, stp STP, price, qty int64) Command {
		return Command{Kind: CmdPlace, Order: Order{ID: id, Account: acct, Side: side, Type: Limit, TIF: tif, STP: stp, PriceTicks: price, QtyLots: qty}}
	}
	amend := func(id OrderID, acct AccountID, price, qty int64) Command {
		return Command{Kind: CmdAmend, Order: Order{ID: id, Account: acct, PriceTicks: price, QtyLots: qty}}
	}
	o11 := place(11, 2, Sell, GTC, STPNone, 1000, 5)
	o12 := place(12, 1, Buy, PostOnly, STPCancelBoth, 990, 4)

	// a: o10 enters larger and is amended down step by step (keeping its
	// place), with its command stamp about to wrap.
	a := mk()
	a.stamp = math.MaxUint32 - 3
	do(a, place(10, 1, Sell, GTC, STPNone, 1000, 8), o11, o12)
	for q := int64(7); q >= 3; q-- {
		do(a, amend(10, 1, 1000, q))
	}
	// b: four orders on far-apart pages enter and leave first, so slots are
	// reused in another order and one stays free; o10 enters at its final
	// size.
	b := mk()
	do(b,
		place(1, 3, Buy, GTC, STPNone, 500, 1),
		place(2, 3, Sell, GTC, STPNone, 70_000, 1),
		place(3, 3, Buy, GTC, STPNone, 400, 1),
		place(4, 3, Sell, GTC, STPNone, 1_000_000, 1),
		Command{Kind: CmdCancelAccount, Order: Order{Account: 3}},
		place(10, 1, Sell, GTC, STPNone, 1000, 3), o11, o12)
	// c: as a, but o10 loses its place behind o11 on the way.
	c := mk()
	do(c, place(10, 1, Sell, GTC, STPNone, 1000, 8), o11, o12, amend(10, 1, 1000, 9))
	for _, q := range []int64{7, 6, 5, 3} {
		do(c, amend(10, 1, 1000, q))
	}

	if len(a.orders) == len(b.orders) || b.freeSlot == 0 || a.stamp == b.stamp {
		t.Fatalf("the paths were meant to leave different insides: slots %d and %d, free %d, stamps %d and %d",
			len(a.orders), len(b.orders), b.freeSlot, a.stamp, b.stamp)
	}
	sa, sb, sc := a.AppendSnapshot(nil), b.AppendSnapshot(nil), c.AppendSnapshot(nil)
	if a.UpdateID() != 8 || b.UpdateID() != 8 || c.UpdateID() != 8 {
		t.Fatalf("update ids %d %d %d, want 8", a.UpdateID(), b.UpdateID(), c.UpdateID())
	}
	if !bytes.Equal(sa, sb) {
		t.Fatalf("same state, different snapshots:\n%x\n%x", sa, sb)
	}
	if bytes.Equal(sa, sc) {
		t.Fatalf("queue order at 1000 differs (%v vs %v) but the snapshots are equal", a.Orders(Sell, nil), c.Orders(Sell, nil))
	}

	// A partial fill, a reference price, and on a only, commands that change
	// nothing but the stamp and Changes.
	taker := Command{Kind: CmdPlace, Order: Order{ID: 13, Account: 4, Side: Buy, Type: Limit, TIF: IOC, PriceTicks: 1000, QtyLots: 1}}
	setRef := Command{Kind: CmdSetReference, Order: Order{PriceTicks: 995}}
	do(a, taker, setRef)
	do(b, taker, setRef)
	a.Cancel(99, 1, nil)
	a.CancelAccount(7, nil)
	if o, _ := a.Order(10); o.FilledLots != 1 || o.QtyLots != 3 {
		t.Fatalf("order 10 is %+v, want 1 of 3 filled", o)
	}
	sa, sb = a.AppendSnapshot(nil), b.AppendSnapshot(nil)
	if !bytes.Equal(sa, sb) {
		t.Fatalf("same state, different snapshots:\n%x\n%x", sa, sb)
	}
	r, _, err := Restore(sa)
	if err != nil {
		t.Fatal(err)
	}
	if sr := r.AppendSnapshot(nil); !bytes.Equal(sr, sa) {
		t.Fatalf("restored book snapshots differently:\n%x\n%x", sa, sr)
	}
	// The snapshot is the hand-written encoding of the state.
	want := snapState{cfg: cfg, lastID: 13, refPrice: 995, updateID: 9, sides: [2][]snapLevel{
		{{990, []RestingOrder{{ID: 12, Account: 1, Side: Buy, TIF: PostOnly, STP: STPCancelBoth, PriceTicks: 990, QtyLots: 4}}}},
		{{1000, []RestingOrder{
			{ID: 10, Account: 1, Side: Sell, TIF: GTC, PriceTicks: 1000, QtyLots: 3, FilledLots: 1},
			{ID: 11, Account: 2, Side: Sell, TIF: GTC, PriceTicks: 1000, QtyLots: 5},
		}}},
	}}
	if w := want.encode(); !bytes.Equal(sa, w) {
		t.Fatalf("snapshot\n%x, want\n%x", sa, w)
	}
	t.Logf("snapshot of 3 orders: %d bytes", len(sa))
}

// TestRestoreConcatenated restores books written back to back.
func TestRestoreConcatenated(t *testing.T) {
	var data []byte
	var snaps [][]byte
	for k, prof := range genProfiles {
		b, err := New(prof.cfg)
		if err != nil {
			t.Fatal(err)
		}
		g := newCmdGen(prof, uint64(k), newRefBook(prof.cfg))
		for range 300 {
			cmd := g.next()
			g.ref.Apply(&cmd, nil)
			b.Apply(&cmd, nil)
		}
		s := b.AppendSnapshot(nil)
		snaps = append(snaps, s)
		data = b.AppendSnapshot(data)
	}
	rest := data
	for k, want := range snaps {
		b, r, err := Restore(rest)
		if err != nil {
			t.Fatalf("book %d: %v", k, err)
		}
		if got := b.AppendSnapshot(nil); !bytes.Equal(got, want) {
			t.Fatalf("book %d snapshots differently", k)
		}
		rest = r
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left", len(rest))
	}
}

// snapBaseline is a small valid state with every field in use; the cases of
// TestRestoreRejects break it one way each.
func snapBaseline() snapState {
	return snapState{
		cfg: Config{
			MaxPriceTicks: 1000, MaxOrderLots: 100, MaxRestingOrders: 6, MaxOrdersPerAccount: 3,
			MaxPriceLevels: 3, MaxAccounts: 10, PriceBandTicks: 30, PriceBandPpm: 100_000,
		},
		lastID: 50, refPrice: 500, updateID: 77,
		sides: [2][]snapLevel{
			{
				{500, []RestingOrder{
					{ID: 30, Account: 1, TIF: GTC, QtyLots: 10, FilledLots: 2},
					{ID: 10, Account: 2, TIF: PostOnly, STP: STPCancelMaker, QtyLots: 5},
				}},
				{490, []RestingOrder{{ID: 20, Account: 1, TIF: GTC, STP: STPCancelTaker, QtyLots: 7}}},
			},
			{
				{510, []RestingOrder{{ID: 40, Account: 9, TIF: GTC, STP: STPCancelBoth, QtyLots: 100, FilledLots: 99}}},
			},
		},
	}
}

// clone copies s deeply so that a case can change it.
func (s snapState) clone() snapState {
	for side := range s.sides {
		levels := slices.Clone(s.sides[side])
		for k := range levels {
			levels[k].orders = slices.Clone(levels[k].orders)
		}
		s.sides[side] = levels
	}
	return s
}

func TestRestoreRejects(t *testing.T) {
	base := snapBaseline()
	good := base.encode()
	b, rest, err := Restore(good)
	if err != nil || len(rest) != 0 {
		t.Fatalf("baseline: %v, %d bytes left", err, len(rest))
	}
	if again := b.AppendSnapshot(nil); !bytes.Equal(again, good) {
		t.Fatalf("baseline snapshots differently:\n%x\n%x", good, again)
	}
	// Account 1's orders first rested in id order: 20 (at 490), then 30.
	var got []OrderID
	for _, e := range b.CancelAccount(1, nil) {
		got = append(got, e.OrderID)
	}
	if !slices.Equal(got, []OrderID{20, 30}) {
		t.Fatalf("CancelAccount(1) cancelled %v, want [20 30]", got)
	}
	if ok, msg := checkRestore(good); !ok || msg != "" {
		t.Fatalf("baseline: %t %s", ok, msg)
	}

	bid := func(s *snapState, level, k int) *RestingOrder { return &s.sides[0][level].orders[k] }
	cases := []struct {
		name  string
		edit  func(s *snapState)
		isCfg bool // the error also wraps ErrInvalidConfig
	}{
		{name: "invalid config", edit: func(s *snapState) { s.cfg.MaxOrdersPerAccount = 7 }, isCfg: true},
		{name: "zero config", edit: func(s *snapState) { s.cfg = Config{} }, isCfg: true},
		{name: "reference above MaxPriceTicks", edit: func(s *snapState) { s.refPrice = 1001 }},
		{name: "crossed at one price", edit: func(s *snapState) { s.sides[1][0].price = 500 }},
		{name: "crossed", edit: func(s *snapState) { s.sides[1][0].price = 495 }},
		{name: "first price 0", edit: func(s *snapState) { s.sides[1][0].price = 0 }},
		{name: "price above MaxPriceTicks", edit: func(s *snapState) { s.sides[1][0].price = 1001 }},
		{name: "ask step above MaxPriceTicks", edit: func(s *snapState) {
			s.sides[1] = append(s.sides[1], snapLevel{1001, []RestingOrder{{ID: 1, Account: 1, TIF: GTC, QtyLots: 1}}})
		}},
		{name: "bid step to 0", edit: func(s *snapState) { s.sides[0][1].price = 0 }},
		{name: "bid levels out of order", edit: func(s *snapState) { s.sides[0][1].price = 505 }},
		{name: "level twice", edit: func(s *snapState) { s.sides[0][1].price = 500 }},
		{name: "empty level", edit: func(s *snapState) { s.sides[0][1].orders = nil }},
		{name: "duplicate id in a level", edit: func(s *snapState) { bid(s, 0, 1).ID = 30 }},
		{name: "duplicate id across sides", edit: func(s *snapState) { s.sides[1][0].orders[0].ID = 20 }},
		{name: "id above last id", edit: func(s *snapState) { s.lastID = 39 }},
		{name: "id 0", edit: func(s *snapState) { bid(s, 1, 0).ID = 0 }},
		{name: "orders without a last id", edit: func(s *snapState) { s.lastID = 0 }},
		{name: "account at MaxAccounts", edit: func(s *snapState) { bid(s, 0, 0).Account = 10 }},
		{name: "time in force IOC", edit: func(s *snapState) { bid(s, 0, 0).TIF = IOC }},
		{name: "time in force FOK", edit: func(s *snapState) { bid(s, 0, 0).TIF = FOK }},
		{name: "time in force 0", edit: func(s *snapState) { bid(s, 0, 0).TIF = 0 }},
		{name: "time in force 15", edit: func(s *snapState) { bid(s, 0, 0).TIF = 15 }},
		{name: "STP 4", edit: func(s *snapState) { bid(s, 0, 0).STP = 4 }},
		{name: "STP 15", edit: func(s *snapState) { bid(s, 0, 0).STP = 15 }},
		{name: "quantity 0", edit: func(s *snapState) { bid(s, 0, 0).QtyLots, bid(s, 0, 0).FilledLots = 0, 0 }},
		{name: "quantity above MaxOrderLots", edit: func(s *snapState) { bid(s, 0, 0).QtyLots = 101 }},
		{name: "all filled", edit: func(s *snapState) { bid(s, 0, 0).FilledLots = 10 }},
		{name: "overfilled", edit: func(s *snapState) { bid(s, 0, 0).FilledLots = 11 }},
		{name: "too many orders", edit: func(s *snapState) { s.cfg.MaxRestingOrders = 3 }},
		{name: "too many account orders", edit: func(s *snapState) { s.cfg.MaxOrdersPerAccount = 1 }},
		{name: "too many levels", edit: func(s *snapState) { s.cfg.MaxPriceLevels = 1 }},
	}
	for _, c := range cases {
		s := base.clone()
		c.edit(&s)
		data := s.encode()
		b, rest, err := Restore(data)
		if err == nil || !errors.Is(err, ErrBadSnapshot) || b != nil || rest != nil {
			t.Errorf("%s: Restore = %v, %v, %v; want an ErrBadSnapshot", c.name, b != nil, rest, err)
			continue
		}
		if c.isCfg != errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v wraps ErrInvalidConfig: %t, want %t", c.name, err, !c.isCfg, c.isCfg)
		}
		t.Logf("%s: %v", c.name, err)
	}

	// Raw bytes: an empty state ends in updateID (0 here) and two level
	// counts of 0.
	empty := snapState{cfg: base.cfg}
	e := empty.encode()
	if ok, msg := checkRestore(e); !ok || msg != "" {
		t.Fatalf("empty book: %t %s", ok, msg)
	}
	head := e[:len(e)-3]
	raw := map[string][]byte{
		"nothing":                 nil,
		"version 0":               append([]byte{0}, e[1:]...),
		"version 3":               append([]byte{3}, e[1:]...),
		"non-minimal varint":      slices.Concat(head, []byte{0x80, 0x00, 0, 0}),
		"non-minimal varint zero": slices.Concat(head, []byte{0x80, 0x80, 0x00, 0, 0}),
		"varint over 64 bits":     slices.Concat(head, bytes.Repeat([]byte{0xff}, 10), []byte{1, 0, 0}),
		"config value over int":   slices.Concat([]byte{1, 1, 1}, binary.AppendUvarint(nil, math.MaxUint64)),
	}
	for k := range good {
		raw[fmt.Sprintf("truncated to %d bytes", k)] = good[:k]
	}
	for name, data := range raw {
		if ok, msg := checkRestore(data); ok || msg != "" {
			t.Errorf("%s (%x): restored %t %s", name, data, ok, msg)
		}
	}
}

// snapshotsOfProfiles returns snapshots of a book of each profile after
// each count of random commands.
func snapshotsOfProfiles(tb testing.TB, counts ...int) [][]byte {
	var out [][]byte
	for k, prof := range genProfiles {
		b, err := New(prof.cfg)
		if err != nil {
			tb.Fatal(err)
		}
		g := newCmdGen(prof, 500+uint64(k), newRefBook(prof.cfg))
		done := 0
		for _, n := range counts {
			for ; done < n; done++ {
				cmd := g.next()
				g.ref.Apply(&cmd, nil)
				b.Apply(&cmd, nil)
			}
			out = append(out, b.AppendSnapshot(nil))
		}
	}
	return out
}

// mutate changes data in one to three random ways.
func mutate(rng *rand.Rand, data []byte) []byte {
	data = slices.Clone(data)
	for range 1 + rng.IntN(3) {
		if len(data) == 0 {
			return append(data, byte(rng.Uint32()))
		}
		i := rng.IntN(len(data))
		switch rng.IntN(7) {
		case 0:
			data[i] = byte(rng.Uint32())
		case 1, 2:
			data[i] ^= 1 << rng.IntN(8)
		case 3:
			data[i]++
		case 4:
			data[i]--
		case 5:
			data = slices.Insert(data, i, byte(rng.Uint32()))
		default:
			data = slices.Delete(data, i, i+1+rng.IntN(min(4, len(data)-i)))
		}
	}
	return data
}

// TestRestoreMutations runs many mutated snapshots through checkRestore:
// the fuzz target's property, with a fixed budget in every test run.
func TestRestoreMutations(t *testing.T) {
	snaps := snapshotsOfProfiles(t, 40, 400)
	rng := rand.New(rand.NewPCG(3, 4))
	restored, total := 0, 0
	for _, s := range snaps {
		for range 400 {
			data := mutate(rng, s)
			ok, msg := checkRestore(data)
			if msg != "" {
				t.Fatalf("mutated snapshot %x: %s", data, msg)
			}
			total++
			if ok {
				restored++
			}
		}
	}
	t.Logf("%d of %d mutated snapshots restored to a sound book", restored, total)
}

// FuzzRestore: random bytes and mutated snapshots never panic; Restore
// fails with ErrBadSnapshot or gives a sound book that snapshots to the same
// bytes.
func FuzzRestore(f *testing.F) {
	for _, s := range snapshotsOfProfiles(f, 0, 30, 300) {
		f.Add(s)
	}
	base := snapBaseline()
	f.Add(base.encode())
	f.Add([]byte{})
	f.Add([]byte{1})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 4 {
		b := make([]byte, 1+rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, msg := checkRestore(data); msg != "" {
			t.Fatalf("%x: %s", data, msg)
		}
	})
}

// snapshotBenchBook is a book in the state flow F1 settles to: about 5,000
// orders 1-50 ticks either side of a mid of 100,000, 1-100 lots each.
func snapshotBenchBook(b *testing.B) *Book {
	book, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for id := OrderID(1); book.Len() < 5000; id++ {
		side, price := Buy, 100_000-1-rng.Int64N(50)
		if rng.IntN(2) == 0 {
			side, price = Sell, 100_000+1+rng.Int64N(50)
		}
		book.Place(Order{ID: id, Account: AccountID(rng.IntN(10_000)), Side: side, Type: Limit, TIF: GTC,
			PriceTicks: price, QtyLots: 1 + rng.Int64N(100)}, nil)
	}
	return book
}

func BenchmarkAppendSnapshot(b *testing.B) {
	book := snapshotBenchBook(b)
	var buf []byte
	for b.Loop() {
		buf = book.AppendSnapshot(buf[:0])
	}
	b.ReportMetric(float64(len(buf))/float64(book.Len()), "bytes/order")
}

func BenchmarkRestore(b *testing.B) {
	snap := snapshotBenchBook(b).AppendSnapshot(nil)
	for b.Loop() {
		if _, _, err := Restore(snap); err != nil {
			b.Fatal(err)
		}
	}
}
