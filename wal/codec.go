package wal

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/snapshot"
)

// ErrCorrupt is wrapped by every error a record's decoding returns.
var ErrCorrupt = errors.New("wal: corrupt record")

// recordVersion is the first byte of every command record. Any change to
// the layout below, or to what a field means, takes a new version.
const recordVersion = 1

// A record's key is 'c' and its sequence number, 8 bytes big-endian, so
// Pebble's order is the log's order (log.go). Its value is:
//
//	version   1 byte, recordVersion
//	time      varint TsNanos
//	kind      1 byte
//	fields    uvarint bitmask, bit i set when field i below is not zero,
//	          then each present field in bit order:
//	  0 Mode, 1 Side, 2 Type, 3 TIF, 4 STP, 5 ReduceOnly (always 1),
//	  6 Trigger, 7 TriggerBy        1 byte each
//	  8 Market, 9 Account           uvarint
//	  10 AmountQuote, 11 Leverage   varint
//	  12 OrderID                    uvarint
//	  13 PriceTicks, 14 QtyLots, 15 TriggerTicks  varint
//	  16 ClientOrderID              1 byte n (1..36), the id's first n bytes,
//	                                the last of them not zero (the rest are)
//
// Zero fields take no room, so a typical order is about 20 bytes. Varints
// are in their shortest form and a present field is never zero, so every
// command has exactly one encoding and a decoded record re-encodes to the
// same bytes.
const (
	fMode = iota
	fSide
	fType
	fTIF
	fSTP
	fReduceOnly
	fTrigger
	fTriggerBy
	fMarket
	fAccount
	fAmount
	fLeverage
	fOrderID
	fPrice
	fQty
	fTriggerTicks
	fClientOrderID
	fieldCount
)

// keyLen is the length of a sequence number in a key.
const keyLen = 8

// groupVersion is the first byte of a group value. A group holds the
// records of one Append (one group commit) under the key of its first
// command:
//
//	version   1 byte, groupVersion
//	count     uvarint, 1..maxGroup
//	records   count times: uvarint length, then a record value as above
//
// The i-th record (from 0) is command key+i: the commands of an Append
// follow each other. One key per group instead of one per command keeps
// the journal cheap in Pebble: the memtable takes, and a flush writes, a
// few hundred large values per second instead of a million small entries
// (see docs/ARCHITECTURE.md, The journal). A value that starts with
// recordVersion is one record on its own: logs written before groups read
// as groups of one.
const groupVersion = 2

// maxGroup bounds the records of one group (the sequencer's batches are
// far smaller); a decoded count above it is corruption.
const maxGroup = 1 << 20

// AppendGroup appends the group value of cmds to dst; their Seq must
// follow each other (the key holds the first one's). A record is at most
// 128 bytes (every field at its widest and a 36-byte client order id), so
// its length takes one byte or two.
func AppendGroup(dst []byte, cmds []engine.Command) []byte {
	dst = appendGroupHeader(dst, len(cmds))
	for i := range cmds {
		// A record is below 128 bytes unless it carries most of the wide
		// fields at full width and a long client order id: the length
		// takes one byte, written after the record, which moves when it
		// needs two.
		at := len(dst)
		dst = AppendCommand(append(dst, 0), &cmds[i])
		n := len(dst) - at - 1
		if n < 0x80 {
			dst[at] = byte(n)
			continue
		}
		dst = append(dst, 0)
		copy(dst[at+2:], dst[at+1:len(dst)-1])
		dst[at], dst[at+1] = byte(n)|0x80, byte(n>>7)
	}
	return dst
}

// appendGroupHeader appends the header of a group of n records: its
// version and count. The records follow, each its length then its bytes.
func appendGroupHeader(dst []byte, n int) []byte {
	return binary.AppendUvarint(append(dst, groupVersion), uint64(n))
}

// groupReader walks the records of one group value.
type groupReader struct {
	r      snapshot.Reader
	n      int  // records in the group
	read   int  // records returned so far
	single bool // a lone record (recordVersion): the whole value
	whole  []byte
}

// openGroup checks a group value's header. Its count is known only when
// the error is nil.
func openGroup(v []byte) (groupReader, error) {
	if len(v) > 0 && v[0] == recordVersion {
		return groupReader{n: 1, single: true, whole: v}, nil
	}
	g := groupReader{r: snapshot.NewReader(v, ErrCorrupt)}
	if ver := g.r.Byte("group version"); g.r.Err() == nil && ver != groupVersion {
		g.r.Fail("group version %d, want %d", ver, groupVersion)
	}
	// Each record takes at least two bytes (its length and version).
	g.n = g.r.Count("records", maxGroup, 2)
	if g.n == 0 && g.r.Err() == nil {
		g.r.Fail("empty group")
	}
	return g, g.r.Err()
}

// next returns the next record's bytes (shared with the value).
func (g *groupReader) next() ([]byte, error) {
	g.read++
	if g.single {
		return g.whole, nil
	}
	b := g.r.Blob("record")
	return b, g.r.Err()
}

// skip walks over every record left and checks the end.
func (g *groupReader) skip() error {
	for g.read < g.n {
		if _, err := g.next(); err != nil {
			return err
		}
	}
	return g.end()
}

// end checks, after the last record, that nothing follows it: bytes
// there mean the count or a length is wrong, so the group as a whole is
// corrupt, not its last record.
func (g *groupReader) end() error {
	if !g.single && g.r.Err() == nil && g.r.Len() != 0 {
		g.r.Fail("%d bytes after the group's last record", g.r.Len())
	}
	return g.r.Err()
}

// groupCount is the number of records in a group value, where the log
// needs one without reading the records (its last number, truncation). A
// group whose header does not decode counts as one record: replay then
// reports it at its first command.
func groupCount(v []byte) int {
	g, err := openGroup(v)
	if err != nil {
		return 1
	}
	return g.n
}

// AppendCommand appends c's record value (everything but Seq, which is
// the key) to dst.
func AppendCommand(dst []byte, c *engine.Command) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendVarint(dst, c.TsNanos)
	dst = append(dst, byte(c.Kind))
	narrow := [...]uint8{uint8(c.Mode), uint8(c.Side), uint8(c.Type), uint8(c.TIF), uint8(c.STP), 0, uint8(c.Trigger), uint8(c.TriggerBy)}
	if c.ReduceOnly {
		narrow[fReduceOnly] = 1
	}
	// The client order id as the command carries it, up to its last
	// non-zero byte: the engine refuses one with bytes after a zero, and
	// the replay must see the same bytes to refuse it the same way.
	cid := c.ClientOrderID[:]
	for len(cid) > 0 && cid[len(cid)-1] == 0 {
		cid = cid[:len(cid)-1]
	}
	var mask uint64
	for i, v := range narrow {
		if v != 0 {
			mask |= 1 << i
		}
	}
	wide := [...]int64{int64(c.Market), int64(c.Account), c.AmountQuote, c.Leverage, int64(c.OrderID), c.PriceTicks, c.QtyLots, c.TriggerTicks}
	for i, v := range wide {
		if v != 0 {
			mask |= 1 << (fMarket + i)
		}
	}
	if len(cid) > 0 {
		mask |= 1 << fClientOrderID
	}
	dst = binary.AppendUvarint(dst, mask)
	for _, v := range narrow {
		if v != 0 {
			dst = append(dst, v)
		}
	}
	for i, v := range wide {
		if v == 0 {
			continue
		}
		switch fMarket + i {
		case fMarket, fAccount, fOrderID:
			dst = binary.AppendUvarint(dst, uint64(v))
		default:
			dst = binary.AppendVarint(dst, v)
		}
	}
	if len(cid) > 0 {
		dst = append(dst, byte(len(cid)))
		dst = append(dst, cid...)
	}
	return dst
}

// DecodeCommand decodes a record value into c (Seq is left to the caller,
// from the key). Anything but a record AppendCommand could have written is
// an error wrapping ErrCorrupt; it never panics. Whether the command makes
// sense is the engine's business, not the log's.
func DecodeCommand(data []byte, c *engine.Command) error {
	*c = engine.Command{}
	r := snapshot.NewReader(data, ErrCorrupt)
	if v := r.Byte("version"); r.Err() == nil && v != recordVersion {
		r.Fail("version %d, want %d", v, recordVersion)
	}
	c.TsNanos = r.Varint("time")
	c.Kind = engine.CommandKind(r.Byte("kind"))
	mask := r.Uvarint("field mask")
	if r.Err() == nil && mask>>fieldCount != 0 {
		r.Fail("unknown fields %#x", mask)
	}
	has := func(f int) bool { return r.Err() == nil && mask&(1<<f) != 0 }
	var narrow [fTriggerBy + 1]uint8
	for f := range narrow {
		if has(f) {
			if narrow[f] = r.Byte("field"); narrow[f] == 0 && r.Err() == nil {
				r.Fail("field %d present and zero", f)
			}
		}
	}
	if narrow[fReduceOnly] > 1 {
		r.Fail("reduce-only %d", narrow[fReduceOnly])
	}
	c.Mode, c.Side, c.Type = clearing.MarginMode(narrow[fMode]), orderbook.Side(narrow[fSide]), orderbook.OrderType(narrow[fType])
	c.TIF, c.STP, c.ReduceOnly = orderbook.TimeInForce(narrow[fTIF]), orderbook.STP(narrow[fSTP]), narrow[fReduceOnly] == 1
	c.Trigger, c.TriggerBy = engine.Trigger(narrow[fTrigger]), engine.TriggerPrice(narrow[fTriggerBy])
	nonZero := func(f int, v uint64) uint64 {
		if v == 0 && r.Err() == nil {
			r.Fail("field %d present and zero", f)
		}
		return v
	}
	if has(fMarket) {
		c.Market = engine.MarketID(nonZero(fMarket, r.Upto("market", math.MaxUint16)))
	}
	if has(fAccount) {
		c.Account = engine.AccountID(nonZero(fAccount, r.Upto("account", math.MaxUint32)))
	}
	signed := func(f int, what string) int64 {
		if !has(f) {
			return 0
		}
		v := r.Varint(what)
		nonZero(f, uint64(v))
		return v
	}
	c.AmountQuote = signed(fAmount, "amount")
	c.Leverage = signed(fLeverage, "leverage")
	if has(fOrderID) {
		c.OrderID = orderbook.OrderID(nonZero(fOrderID, r.Uvarint("order id")))
	}
	c.PriceTicks = signed(fPrice, "price")
	c.QtyLots = signed(fQty, "quantity")
	c.TriggerTicks = signed(fTriggerTicks, "trigger price")
	if has(fClientOrderID) {
		n := int(r.Upto("client order id length", uint64(len(c.ClientOrderID))))
		if n == 0 && r.Err() == nil {
			r.Fail("empty client order id")
		}
		if r.Err() == nil && r.Len() < n {
			r.Fail("client order id: truncated")
		}
		if r.Err() == nil {
			copy(c.ClientOrderID[:], r.Rest()[:n])
			r.Skip("client order id", n)
			if c.ClientOrderID[n-1] == 0 {
				r.Fail("client order id ends in a zero byte")
			}
		}
	}
	if r.Err() == nil && r.Len() != 0 {
		r.Fail("%d bytes after the record", r.Len())
	}
	if err := r.Err(); err != nil {
		*c = engine.Command{}
		return err
	}
	return nil
}
