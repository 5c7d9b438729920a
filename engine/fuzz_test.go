package engine

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

// fuzzEngine is three funded accounts, one isolated, with marks in every
// market and a few resting orders, conditional orders and client order
// ids: a state whose snapshot exercises every part of the format.
func fuzzEngine(t testing.TB) (*Engine, func(Command) []Event) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	apply := func(c Command) []Event {
		seq++
		c.Seq, c.TsNanos = seq, max(e.lastTs, 1_767_225_601_000_000_000)+1_000_000
		return e.Apply(&c, nil)
	}
	for a := range 3 {
		apply(Command{Kind: CmdCreateAccount})
		apply(Command{Kind: CmdDeposit, Account: AccountID(a), AmountQuote: 1_000_000 * fixed.QuoteUnitsPerWhole})
	}
	apply(Command{Kind: CmdSetMarginMode, Account: 2, Mode: clearing.Isolated})
	for m, p := range []int64{1_000_000, 300_000, 15_000} {
		apply(Command{Kind: CmdSetIndexPrice, Market: MarketID(m), PriceTicks: p})
	}
	cid := func(s string) ClientOrderID { c, _ := ParseClientOrderID(s); return c }
	apply(Command{Kind: CmdPlaceOrder, Account: 0, Side: orderbook.Sell, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1_001_000, QtyLots: 50, ClientOrderID: cid("a")})
	apply(Command{Kind: CmdPlaceOrder, Account: 1, Side: orderbook.Buy, Type: orderbook.Market, TIF: orderbook.IOC, QtyLots: 20})
	apply(Command{Kind: CmdPlaceOrder, Account: 1, Side: orderbook.Sell, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1_005_000, QtyLots: 10, ReduceOnly: true, ClientOrderID: cid("tp")})
	apply(Command{Kind: CmdPlaceOrder, Account: 2, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 999_000, QtyLots: 30})
	apply(Command{Kind: CmdPlaceOrder, Account: 1, Side: orderbook.Sell, Type: orderbook.Market, TIF: orderbook.IOC, QtyLots: 20,
		ReduceOnly: true, Trigger: TriggerStop, TriggerBy: TriggerByMark, TriggerTicks: 990_000, ClientOrderID: cid("sl")})
	apply(Command{Kind: CmdPlaceOrder, Account: 2, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1_011_000, QtyLots: 5,
		Trigger: TriggerTakeProfit, TriggerBy: TriggerByLast, TriggerTicks: 990_000})
	if err := e.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	return e, apply
}

// FuzzRestore: any bytes either restore into an engine whose snapshot is
// those very bytes (the format is canonical) and whose state passes
// CheckInvariants and takes commands, or fail with ErrBadSnapshot; never a
// panic.
func FuzzRestore(f *testing.F) {
	e, _ := fuzzEngine(f)
	snap := e.AppendSnapshot(nil)
	f.Add(snap)
	f.Add(snap[:len(snap)/2])
	f.Add([]byte{snapshotVersion})
	cfg := e.Config()
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Restore(cfg, data)
		if err != nil {
			return
		}
		if !bytes.Equal(r.AppendSnapshot(nil), data) {
			t.Fatal("a restored snapshot is not canonical")
		}
		if err := r.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		for m := range r.markets {
			c := Command{Kind: CmdSetIndexPrice, Seq: 1, TsNanos: r.lastTs, Market: MarketID(m), PriceTicks: 1 + int64(m)*1000}
			r.Apply(&c, nil)
		}
		if err := r.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzApply decodes bytes into commands with any field values (the kind,
// account, market and enums taken raw, prices near the mark or anywhere)
// and applies them to fuzzEngine's state: no input may panic or break an
// invariant. Run it with -fuzzminimizetime=0: the whole-state check walks
// maps, so coverage varies between runs of one input and minimizing a new
// input can take the worker minutes.
func FuzzApply(f *testing.F) {
	f.Add(bytes.Repeat([]byte{7, 0, 0, 1, 1, 1, 0, 0, 0, 0, 10, 0, 0, 0}, 4))
	f.Add([]byte{7, 1, 0, 2, 2, 2, 0, 1, 1, 1, 200, 0, 50, 0, 7, 2, 0, 1, 1, 1, 0, 0, 0, 0, 0, 3, 10, 0})
	f.Add([]byte{10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 20, 0})
	f.Fuzz(fuzzApplyBody)
}

func fuzzApplyBody(t *testing.T, data []byte) {
	{
		e, apply := fuzzEngine(t)
		const size = 14
		// Each command is followed by a whole-state check: cap the run so
		// that a long input does not stall the fuzzer.
		data = data[:min(len(data), 64*size)]
		for len(data) >= size {
			b := data[:size]
			data = data[size:]
			_, mark := e.Mark(MarketID(b[2] % 3))
			off := int64(int8(b[10])) * mark / 1000 // ±12.8% around the mark
			c := Command{Kind: CommandKind(b[0] % 15), Account: AccountID(b[1] % 4), Market: MarketID(b[2] % 4),
				Side: orderbook.Side(b[3] % 4), Type: orderbook.OrderType(b[4] % 3), TIF: orderbook.TimeInForce(b[5] % 6),
				STP: orderbook.STP(b[6] % 5), ReduceOnly: b[7]&1 != 0, Trigger: Trigger(b[8] % 4), TriggerBy: TriggerPrice(b[9] % 4),
				PriceTicks: mark + off, TriggerTicks: mark - off, QtyLots: int64(binary.LittleEndian.Uint16(b[12:])),
				OrderID: orderbook.OrderID(b[11] % 16), Leverage: int64(b[11]), AmountQuote: int64(int8(b[11])) * fixed.QuoteUnitsPerWhole,
				Mode: clearing.MarginMode(b[11] % 3)}
			if b[7]&2 != 0 {
				c.ClientOrderID[0] = "abc#"[b[11]%4]
			}
			if b[7]&4 != 0 {
				c.PriceTicks = int64(binary.LittleEndian.Uint16(b[10:])) - 100
			}
			apply(c)
			if err := e.CheckInvariants(); err != nil {
				t.Fatalf("after %+v: %v", c, err)
			}
		}
	}
}
