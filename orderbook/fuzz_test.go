package orderbook

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// fuzzMaxCommands bounds one input's sequence so that every input stays
// quick however long the fuzzer makes it.
const fuzzMaxCommands = 600

// fuzzReader hands out the input's bytes and zeros past its end, so that
// decoding never fails.
type fuzzReader struct {
	data []byte
	pos  int
}

func (r *fuzzReader) more() bool { return r.pos < len(r.data) }

func (r *fuzzReader) next() byte {
	if r.pos >= len(r.data) {
		return 0
	}
	b := r.data[r.pos]
	r.pos++
	return b
}

// fuzzDecoder turns bytes into commands for one profile. Order ids come
// from a small pool (1..63, byte 0 is id 0) so that cancels, amends and
// duplicates meet live orders; a set high bit of an account byte means "the
// owner of the order", so that cancels and amends are often allowed.
type fuzzDecoder struct {
	r    fuzzReader
	p    genProfile
	ref  *refBook
	base int64 // prices are near this
}

func newFuzzDecoder(data []byte) *fuzzDecoder {
	d := &fuzzDecoder{r: fuzzReader{data: data}}
	d.p = genProfiles[int(d.r.next())%len(genProfiles)]
	d.base = d.p.midStart
	return d
}

// newID returns an id for a new order: usually just above the highest
// accepted id (ids must increase), sometimes a small stale one.
func (d *fuzzDecoder) newID(b byte) OrderID {
	if b&0xc0 == 0xc0 {
		return OrderID(b & 63)
	}
	return d.ref.lastID + 1 + OrderID(b&7)
}

// id returns an id for a cancel or amend: one of the 64 most recent.
func (d *fuzzDecoder) id(b byte) OrderID {
	if back := OrderID(b & 63); back <= d.ref.lastID {
		return d.ref.lastID - back
	}
	return OrderID(b & 63)
}

func (d *fuzzDecoder) account(b byte, id OrderID) AccountID {
	switch {
	case b == 0x7f:
		return AccountID(d.p.cfg.MaxAccounts)
	case b == 0xff:
		return math.MaxUint32
	case b&0x80 != 0:
		if o := d.ref.find(id); o != nil {
			return o.Account
		}
	}
	return AccountID(int(b&0x7f) % d.p.accounts)
}

// anyAccount is an account when there is no order to take the owner of:
// with the high bit set, one of the few hot accounts.
func (d *fuzzDecoder) anyAccount(b byte) AccountID {
	switch {
	case b == 0x7f:
		return AccountID(d.p.cfg.MaxAccounts)
	case b == 0xff:
		return math.MaxUint32
	case b&0x80 != 0:
		return AccountID(int(b&0x7f) % d.p.hotAccounts)
	}
	return AccountID(int(b) % d.p.accounts)
}

// price maps a byte to a price near the base, or to a limit case.
func (d *fuzzDecoder) price(b byte) int64 {
	switch b {
	case 0x80:
		return 0
	case 0x81:
		return -1
	case 0x7f:
		return d.p.cfg.MaxPriceTicks + 1
	case 0x7e:
		return d.p.cfg.MaxPriceTicks
	case 0x7d:
		return 1
	}
	return max(1, min(d.base+int64(int8(b))%32, d.p.cfg.MaxPriceTicks))
}

func (d *fuzzDecoder) qty(b byte) int64 {
	switch {
	case b < 0xf0:
		return 1 + int64(b%20)
	case b == 0xf0:
		return 0
	case b == 0xf1:
		return -1
	case b == 0xf2:
		return d.p.cfg.MaxOrderLots
	case b == 0xf3:
		return d.p.cfg.MaxOrderLots + 1
	case b == 0xf4:
		return math.MinInt64
	case b == 0xf5:
		return math.MaxInt64
	}
	return min(int64(b)*7, d.p.cfg.MaxOrderLots)
}

// next decodes one command from a few bytes: an operation byte and its
// arguments.
func (d *fuzzDecoder) next() Command {
	op := d.r.next()
	switch op % 16 {
	case 0, 1, 2, 3, 4, 5, 15:
		i, f, a, p, q := d.r.next(), d.r.next(), d.r.next(), d.r.next(), d.r.next()
		o := Order{ID: d.newID(i), Side: Buy + Side(f&1), STP: STP(f >> 4 & 3)}
		o.Account = d.anyAccount(a)
		types := [8]struct {
			t   OrderType
			tif TimeInForce
		}{{Limit, GTC}, {Limit, GTC}, {Limit, IOC}, {Limit, FOK}, {Limit, PostOnly}, {Market, IOC}, {Market, FOK}, {Market, IOC}}
		tt := types[f>>1&7]
		o.Type, o.TIF = tt.t, tt.tif
		o.PriceTicks = d.price(p)
		if o.Type == Market && p&0x40 != 0 {
			o.PriceTicks = 0 // no protection
		}
		o.QtyLots = d.qty(q)
		if op%16 == 15 {
			// Raw fields: every invalid enum value is reachable.
			o.Side, o.Type, o.TIF, o.STP = Side(f&3), OrderType(f>>2&3), TimeInForce(f>>4&7), STP(a>>5)
			if f&0x80 != 0 {
				o.ID = OrderID(f)<<56 | OrderID(a)<<8 | OrderID(p) // a sparse id
			}
		}
		return Command{Kind: CmdPlace, Order: o}
	case 6, 7:
		i, a := d.r.next(), d.r.next()
		id := d.id(i)
		return Command{Kind: CmdCancel, Order: Order{ID: id, Account: d.account(a, id)}}
	case 8, 9, 10:
		i, a, p, q := d.r.next(), d.r.next(), d.r.next(), d.r.next()
		id := d.id(i)
		c := Command{Kind: CmdAmend, Order: Order{ID: id, Account: d.account(a, id), PriceTicks: d.price(p), QtyLots: d.qty(q)}}
		if o := d.ref.find(id); o != nil {
			// Zero bytes keep the price or the total, so that same-price
			// amends, and nothing-to-amend, are common.
			if p == 0 {
				c.Order.PriceTicks = o.PriceTicks
			}
			switch q {
			case 0:
				c.Order.QtyLots = o.QtyLots
			case 1:
				c.Order.QtyLots = o.FilledLots
			case 2:
				c.Order.QtyLots = o.QtyLots - 1
			case 3:
				c.Order.QtyLots = o.QtyLots + 1
			}
		}
		return c
	case 11:
		a := d.r.next()
		return Command{Kind: CmdCancelAccount, Order: Order{Account: d.anyAccount(a)}}
	case 12:
		b := d.r.next()
		c := Command{Kind: CmdSetReference}
		switch b {
		case 0:
		case 0xff:
			c.Order.PriceTicks = -1
		case 0xfe:
			c.Order.PriceTicks = d.p.cfg.MaxPriceTicks + 1
		default:
			c.Order.PriceTicks = max(1, min(d.base+int64(int8(b)), d.p.cfg.MaxPriceTicks))
		}
		return c
	case 13:
		if op>>4 < 4 {
			return Command{Kind: CmdCancelAll}
		}
		// Move the centre of the prices instead.
		d.base = max(1, min(d.base+int64(int8(d.r.next())), d.p.cfg.MaxPriceTicks))
		return Command{Kind: 0}
	default: // 14
		return Command{Kind: CommandKind(op>>4) + CmdSetReference + 1, Order: Order{ID: 1, Account: 1, Side: Buy, Type: Limit, TIF: GTC, PriceTicks: d.base, QtyLots: 1}}
	}
}

func FuzzBook(f *testing.F) {
	// Hand-made sequences. The first byte picks the profile; a place is
	// op, id, flags (bit 0 sell, bits 1-3 type and time in force, bits 4-5
	// STP), account, price offset, quantity.
	f.Add([]byte{0,
		0x00, 0x01, 0x01, 0x00, 0x05, 0x09, // place id 1 sell gtc acct 0 @ base+5 qty 10
		0x00, 0x02, 0x00, 0x01, 0x08, 0x13, // place id 2 buy gtc acct 1 @ base+8 qty 20: trades, rests
		0x08, 0x02, 0x81, 0x09, 0x03, // amend id 2 by its owner to base+9, total + 1
		0x00, 0x03, 0x11, 0x01, 0x09, 0x04, // place id 3 sell stp cancel-taker acct 1 @ base+9: self-trade
		0x00, 0x04, 0x27, 0x02, 0x09, 0x1f, // sell FOK stp cancel-maker, too big: not filled
		0x0d, // cancel-all
	})
	// A larger quantity at the same price: the order goes to the back of
	// its level and the level is reported once.
	f.Add([]byte{1,
		0x00, 0x01, 0x01, 0x00, 0x05, 0x09,
		0x00, 0x02, 0x01, 0x01, 0x05, 0x01,
		0x08, 0x01, 0x81, 0x00, 0x03,
		0x00, 0x03, 0x0a, 0x02, 0x40, 0x0a, // market buy ioc, no protection
	})
	// Every operation once, with limit cases.
	f.Add([]byte{2,
		0x0c, 0x01, // set the reference price
		0x0f, 0x05, 0xff, 0x85, 0x7f, 0xf3, // raw place
		0x0f, 0x06, 0x55, 0x20, 0x10, 0xf5,
		0x00, 0x07, 0x08, 0x80, 0x10, 0x04, // post-only buy
		0x06, 0x07, 0x81, // cancel id 7 by its owner
		0x00, 0x08, 0x01, 0x80, 0x02, 0x05,
		0x08, 0x08, 0x81, 0x20, 0x02, // amend id 8: new price, total - 1
		0x0b, 0x7f, // cancel-account of a bad account
		0x1c, 0x40, // set reference
		0x0e,       // unknown kind
		0x4d, 0x10, // move the base
	})
	for k := range uint64(8) {
		rng := rand.New(rand.NewPCG(k, 77))
		b := make([]byte, 40+rng.IntN(600))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newFuzzDecoder(data)
		p := newBookPair(t, d.p.cfg)
		d.ref = p.ref
		var cmds []Command
		for i := 0; d.r.more() && i < fuzzMaxCommands; i++ {
			cmd := d.next()
			cmds = append(cmds, cmd)
			msg := p.step(&cmd, i)
			if msg == "" {
				if err := p.b.CheckInvariants(); err != nil {
					msg = fmt.Sprintf("CheckInvariants: %v", err)
				}
			}
			if msg == "" {
				msg = checkView(p.b, d.p.cfg)
			}
			if msg == "" && i%50 == 49 {
				msg = p.deepCheck(nil)
			}
			if msg != "" {
				t.Fatalf("profile %s, command #%d %s:\n%s\nsequence:\n%s", d.p.name, i, fmtCommand(cmd), msg, fmtCommands(cmds))
			}
		}
		if msg := p.deepCheck(nil); msg != "" {
			t.Fatalf("profile %s, at the end:\n%s\nsequence:\n%s", d.p.name, msg, fmtCommands(cmds))
		}
		if os.Getenv("ORDERBOOK_FUZZ_TRACE") != "" {
			t.Logf("profile %s:\n%s", d.p.name, formatScenario(d.p.cfg, cmds))
		}
	})
}

func fmtCommands(cmds []Command) string {
	var sb strings.Builder
	for i, c := range cmds {
		fmt.Fprintf(&sb, "  #%d %s\n", i, fmtCommand(c))
	}
	return sb.String()
}
