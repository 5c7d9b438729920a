package wal

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/orderbook"
)

// randomCommand fills every field with values a command may carry, valid
// or not (the log stores what came in; the engine judges it), often zero.
func randomCommand(rng *rand.Rand) engine.Command {
	small := func() uint8 {
		if rng.IntN(3) == 0 {
			return 0
		}
		return uint8(rng.IntN(256))
	}
	wide := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return int64(rng.Uint64())
		}
		return rng.Int64N(1_000_000) - 500_000
	}
	c := engine.Command{Kind: engine.CommandKind(rng.IntN(256)), Mode: clearing.MarginMode(small()), Side: orderbook.Side(small()),
		Type: orderbook.OrderType(small()), TIF: orderbook.TimeInForce(small()), STP: orderbook.STP(small()),
		ReduceOnly: rng.IntN(2) == 0, Trigger: engine.Trigger(small()), TriggerBy: engine.TriggerPrice(small()),
		Market: engine.MarketID(rng.IntN(3) * rng.IntN(70_000)), Account: engine.AccountID(rng.Uint32() * uint32(rng.IntN(2))),
		TsNanos: wide(), AmountQuote: wide(), Leverage: wide(), OrderID: orderbook.OrderID(uint64(wide())),
		PriceTicks: wide(), QtyLots: wide(), TriggerTicks: wide()}
	for i := range rng.IntN(4) * rng.IntN(13) {
		c.ClientOrderID[i] = byte(rng.IntN(256)) // zeros inside included
	}
	return c
}

func TestCommandRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for i := range 200_000 {
		c := randomCommand(rng)
		buf = AppendCommand(buf[:0], &c)
		var d engine.Command
		if err := DecodeCommand(buf, &d); err != nil {
			t.Fatalf("%d: %+v: %v", i, c, err)
		}
		d.Seq = c.Seq
		if d != c {
			t.Fatalf("%d: decoded\n%+v\nwant\n%+v", i, d, c)
		}
	}
}

func TestCommandSize(t *testing.T) {
	c := engine.Command{Kind: engine.CmdPlaceOrder, Account: 12_345, Side: orderbook.Buy, Type: orderbook.Limit, TIF: orderbook.GTC,
		PriceTicks: 1_000_000, QtyLots: 25, TsNanos: 1_767_225_600_123_456_789}
	if n := len(AppendCommand(nil, &c)); n > 24 {
		t.Errorf("a limit order takes %d bytes", n)
	}
}

// Bad records: each is refused with ErrCorrupt, and the command is zero.
func TestDecodeCorrupt(t *testing.T) {
	good := AppendCommand(nil, &engine.Command{Kind: engine.CmdPlaceOrder, Account: 7, PriceTicks: 5, ClientOrderID: [36]byte{'a'}})
	cases := map[string][]byte{
		"empty":           nil,
		"version":         append([]byte{2}, good[1:]...),
		"truncated":       good[:len(good)-1],
		"trailing":        append(append([]byte{}, good...), 0),
		"unknown field":   {1, 0, 1, 0x80, 0x80, 0x08},
		"zero byte field": {1, 0, 1, 1 << fSide, 0},
		"reduce-only 2":   {1, 0, 1, 1 << fReduceOnly, 2},
		"zero varint":     {1, 0, 1, 0x80, 0x10, 0}, // price present, 0
		"long varint":     {1, 0, 1, 0x80, 0x10, 0x82, 0x00},
		"market range":    {1, 0, 1, 0x80, 0x02, 0xff, 0xff, 0x7f},
		"cid empty":       {1, 0, 1, 0x80, 0x80, 0x04, 0},
		"cid long":        {1, 0, 1, 0x80, 0x80, 0x04, 37},
		"cid zero end":    {1, 0, 1, 0x80, 0x80, 0x04, 2, 'a', 0},
		"cid truncated":   {1, 0, 1, 0x80, 0x80, 0x04, 3, 'a'},
	}
	for name, b := range cases {
		c := engine.Command{Kind: 9, Account: 3}
		err := DecodeCommand(b, &c)
		if !errors.Is(err, ErrCorrupt) || c != (engine.Command{}) {
			t.Errorf("%s (%x): %v, %+v", name, b, err, c)
		}
	}
}

// FuzzDecodeCommand: decoding never panics, and whatever decodes encodes
// back to the same bytes (one encoding per command).
func FuzzDecodeCommand(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		c := randomCommand(rng)
		f.Add(AppendCommand(nil, &c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c engine.Command
		if err := DecodeCommand(b, &c); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatal(err)
			}
			return
		}
		if got := AppendCommand(nil, &c); !bytes.Equal(got, b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, c, got)
		}
	})
}
