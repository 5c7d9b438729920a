package engine

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

func TestParseClientOrderID(t *testing.T) {
	for _, s := range []string{"a", "bot-1:grid/7_a.b", strings.Repeat("Z", 36)} {
		c, err := ParseClientOrderID(s)
		if err != nil || c.String() != s || !c.valid() {
			t.Errorf("%q: %v, %q", s, err, c)
		}
	}
	for _, s := range []string{"", strings.Repeat("a", 37), "a b", "a#", "é", "a\x00b"} {
		if _, err := ParseClientOrderID(s); !errors.Is(err, ErrInvalidClientOrderID) {
			t.Errorf("%q: err = %v", s, err)
		}
	}
	// A command may carry any bytes: padding must be all zeros.
	var c ClientOrderID
	copy(c[:], "ok")
	c[5] = 'x'
	if c.valid() {
		t.Error("bytes after the padding pass")
	}
	if (ClientOrderID{}).valid() {
		t.Error("the zero id is valid")
	}
}

// stopFixture is an engine with a funded account 0 and a mark of 100,000
// in BTCUSDT.
func stopFixture(t *testing.T, cfg Config) (*Engine, func(Command) []Event) {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	var ev []Event
	apply := func(c Command) []Event {
		seq++
		c.Seq, c.TsNanos = seq, 1_767_225_601_000_000_000+int64(seq)
		ev = e.Apply(&c, nil)
		if err := e.CheckInvariants(); err != nil {
			t.Fatalf("after %+v: %v", c, err)
		}
		return ev
	}
	apply(Command{Kind: CmdCreateAccount})
	apply(Command{Kind: CmdDeposit, AmountQuote: 100_000 * fixed.QuoteUnitsPerWhole})
	apply(Command{Kind: CmdSetIndexPrice, PriceTicks: 1_000_000}) // 100,000.0
	return e, apply
}

func stopCmd(trigger int64) Command {
	return Command{Kind: CmdPlaceOrder, Side: orderbook.Sell, Type: orderbook.Market, TIF: orderbook.IOC,
		QtyLots: 10, Trigger: TriggerStop, TriggerBy: TriggerByMark, TriggerTicks: trigger}
}

func TestStopOrderChecks(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxStopOrders = 3
	_, apply := stopFixture(t, cfg)
	refused := func(c Command, want Reason) {
		t.Helper()
		ev := apply(c)
		if len(ev) != 1 || ev[0].Kind != EventRejected || ev[0].Reason != want {
			t.Fatalf("%+v: %v, want %s", c, ev, want)
		}
	}
	for _, mod := range []func(*Command){
		func(c *Command) { c.Trigger = 3 },
		func(c *Command) { c.TriggerBy = 0 },
		func(c *Command) { c.TriggerBy = 3 },
		func(c *Command) { c.TriggerTicks = 0 },
		func(c *Command) { c.TriggerTicks = -5 },
		func(c *Command) { c.TriggerTicks = 1 << 50 },
	} {
		c := stopCmd(900_000)
		mod(&c)
		refused(c, ReasonInvalidTrigger)
	}
	c := stopCmd(900_000)
	c.TIF = orderbook.GTC // a market order cannot rest
	refused(c, ReasonInvalidOrder)
	c = stopCmd(900_000)
	c.TriggerBy = TriggerByLast // no trade yet
	refused(c, ReasonNoPrice)
	refused(stopCmd(1_000_000), ReasonWouldTriggerImmediately) // the mark is there
	c = stopCmd(900_000)
	c.ReduceOnly = true
	refused(c, ReasonReduceOnlyNoPosition)
	for i := range 3 {
		if ev := apply(stopCmd(900_000 - int64(i))); ev[0].Kind != EventOrderAccepted {
			t.Fatalf("stop %d: %v", i, ev)
		}
	}
	refused(stopCmd(800_000), ReasonTooManyStopOrders)
	refused(Command{Kind: CmdSetMarginMode, Mode: clearing.Isolated}, ReasonPositionOrOrdersOpen)
	if ev := apply(Command{Kind: CmdCancelAll}); len(ev) != 3 {
		t.Fatalf("cancel-all: %v", ev)
	}
	if ev := apply(stopCmd(800_000)); ev[0].Kind != EventOrderAccepted {
		t.Fatalf("after cancel-all: %v", ev)
	}
}

// Stops, client order ids and reduce-only orders survive a snapshot, and
// Restore refuses a snapshot whose pieces disagree.
func TestSnapshotKeepsStopsAndClientIDs(t *testing.T) {
	e, apply := stopFixture(t, DefaultConfig())
	apply(Command{Kind: CmdCreateAccount})
	apply(Command{Kind: CmdDeposit, Account: 1, AmountQuote: 100_000 * fixed.QuoteUnitsPerWhole})
	cid := func(s string) ClientOrderID { c, _ := ParseClientOrderID(s); return c }
	apply(Command{Kind: CmdPlaceOrder, Account: 1, Side: orderbook.Sell, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1_000_000, QtyLots: 100})
	apply(Command{Kind: CmdPlaceOrder, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1_000_000, QtyLots: 50})
	apply(Command{Kind: CmdPlaceOrder, Side: orderbook.Sell, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1_010_000, QtyLots: 20, ReduceOnly: true, ClientOrderID: cid("tp")})
	sl := stopCmd(990_000)
	sl.ReduceOnly, sl.ClientOrderID = true, cid("sl")
	apply(sl)
	apply(Command{Kind: CmdPlaceOrder, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 990_000, QtyLots: 5, ClientOrderID: cid("bid")})
	if e.cids.len() != 3 || e.stops.Size() != 1 || e.ro[0].sell != 20 {
		t.Fatalf("fixture: %d cids, %d stops, open %+v", e.cids.len(), e.stops.Size(), e.slots[0].open)
	}
	snap := e.AppendSnapshot(nil)
	r, err := Restore(e.Config(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.AppendSnapshot(nil), snap) || r.slots[0].open != e.slots[0].open || r.ro[0] != e.ro[0] || r.roResting != e.roResting || r.cids.len() != 3 {
		t.Fatal("restored engine differs")
	}
	// Both fire the stop the same way.
	idx := Command{Kind: CmdSetIndexPrice, Seq: 99, TsNanos: e.lastTs, PriceTicks: 900_000}
	evA, evB := e.Apply(&idx, nil), r.Apply(&idx, nil)
	if len(evA) != len(evB) || e.StateHash() != r.StateHash() {
		t.Fatalf("after the same command:\n%v\n%v", evA, evB)
	}
	// Tamper: drop the client order id list's last entry (the resting
	// bid's), so that an order tagged with one has none.
	i := bytes.LastIndex(snap, []byte("bid"))
	bad := append(append([]byte{}, snap[:i-1]...), snap[i+3:]...)
	if _, err := Restore(e.Config(), bad); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("tampered snapshot: %v", err)
	}
}

// Restore refuses a conditional order of an account the ledger lacks (it
// would index out of range when it fires) and ids used twice, across
// markets and against the books.
func TestRestoreRefusesBadConditionalOrders(t *testing.T) {
	stop := func(id orderbook.OrderID, a AccountID, m MarketID) *stopOrder {
		return &stopOrder{id: id, account: a, market: m, side: orderbook.Sell, typ: orderbook.Market,
			tif: orderbook.IOC, trigger: TriggerStop, by: TriggerByMark, qtyLots: 10, triggerTicks: 100}
	}
	e, _ := stopFixture(t, DefaultConfig())
	e.nextOrderID++
	e.addStop(stop(e.nextOrderID, 7, 0))
	if _, err := Restore(e.Config(), e.AppendSnapshot(nil)); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("a stop of an unknown account: %v", err)
	}
	e, apply := stopFixture(t, DefaultConfig())
	apply(Command{Kind: CmdSetIndexPrice, Market: 1, PriceTicks: 300_000})
	e.nextOrderID++
	e.addStop(stop(e.nextOrderID, 0, 0))
	e.addStop(stop(e.nextOrderID, 0, 1))
	if _, err := Restore(e.Config(), e.AppendSnapshot(nil)); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("one id in two markets: %v", err)
	}
	e, apply = stopFixture(t, DefaultConfig())
	id := apply(Command{Kind: CmdPlaceOrder, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 990_000, QtyLots: 5})[0].OrderID
	apply(Command{Kind: CmdSetIndexPrice, Market: 1, PriceTicks: 300_000})
	e.addStop(stop(id, 0, 1))
	if _, err := Restore(e.Config(), e.AppendSnapshot(nil)); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("a stop with the id of an order resting in another market: %v", err)
	}
}

// A reduce-only conditional order larger than the position enters the book
// cut to it, and its triggered event says so.
func TestTriggeredReduceOnlyReportsItsQuantity(t *testing.T) {
	_, apply := stopFixture(t, DefaultConfig())
	apply(Command{Kind: CmdCreateAccount})
	apply(Command{Kind: CmdDeposit, Account: 1, AmountQuote: 100_000 * fixed.QuoteUnitsPerWhole})
	apply(Command{Kind: CmdPlaceOrder, Account: 1, Side: orderbook.Sell, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1_000_000, QtyLots: 5})
	apply(Command{Kind: CmdPlaceOrder, Side: orderbook.Buy, Type: orderbook.Market, TIF: orderbook.IOC, QtyLots: 5}) // long 5
	apply(Command{Kind: CmdPlaceOrder, Account: 1, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 990_000, QtyLots: 50})
	sl := stopCmd(995_000) // a market sell of 10
	sl.ReduceOnly = true
	apply(sl)
	var filled int64
	triggered := false
	for _, x := range apply(Command{Kind: CmdSetIndexPrice, PriceTicks: 980_000}) {
		switch {
		case x.Kind == EventOrderTriggered:
			triggered = true
			if x.QtyLots != 5 {
				t.Errorf("triggered with %d lots, the order entered with 5", x.QtyLots)
			}
		case x.Kind == EventFill && x.Account == 0:
			filled += x.QtyLots
		}
	}
	if !triggered || filled != 5 {
		t.Errorf("triggered %t, filled %d", triggered, filled)
	}
}

// Within one trigger tree the order fires in the order the price crossed
// the triggers: the nearest first, whatever its age.
func TestTriggersFireInPriceOrder(t *testing.T) {
	_, apply := stopFixture(t, DefaultConfig())
	buyStop := func(trig int64) orderbook.OrderID {
		return apply(Command{Kind: CmdPlaceOrder, Side: orderbook.Buy, Type: orderbook.Market, TIF: orderbook.IOC,
			QtyLots: 10, Trigger: TriggerStop, TriggerBy: TriggerByMark, TriggerTicks: trig})[0].OrderID
	}
	far := buyStop(1_020_000)
	near := buyStop(1_010_000)
	var fired []orderbook.OrderID
	for _, x := range apply(Command{Kind: CmdSetIndexPrice, PriceTicks: 1_030_000}) {
		if x.Kind == EventOrderTriggered {
			fired = append(fired, x.OrderID)
		}
	}
	if len(fired) != 2 || fired[0] != near || fired[1] != far {
		t.Errorf("fired %v, want %d then %d", fired, near, far)
	}
}
