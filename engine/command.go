package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/orderbook"
)

// AccountID is an account's dense index, assigned in creation order.
type AccountID = clearing.AccountID

// CommandKind selects what a Command does.
type CommandKind uint8

const (
	CmdCreateAccount CommandKind = iota + 1
	CmdDeposit
	CmdWithdraw
	CmdSetLeverage
	CmdSetMarginMode
	// CmdAdjustIsolatedMargin moves AmountQuote into (positive) or out of
	// (negative) the isolated margin of the account's position in Market.
	CmdAdjustIsolatedMargin
	CmdPlaceOrder
	CmdCancelOrder
	CmdCancelAll
	CmdSetIndexPrice
	// CmdClockTick does nothing but advance time, so that funding falls
	// due when nobody trades.
	CmdClockTick
	// CmdAmendOrder changes a resting order's price (PriceTicks) and total
	// quantity (QtyLots), with the book's priority rules.
	CmdAmendOrder
	// CmdInsuranceDeposit adds AmountQuote of the exchange's money to the
	// insurance fund (an operator's command; no account).
	CmdInsuranceDeposit
	cmdKindCount
)

var commandNames = [...]string{
	CmdCreateAccount: "create-account", CmdDeposit: "deposit", CmdWithdraw: "withdraw",
	CmdSetLeverage: "set-leverage", CmdSetMarginMode: "set-margin-mode",
	CmdAdjustIsolatedMargin: "adjust-isolated-margin", CmdPlaceOrder: "place",
	CmdCancelOrder: "cancel", CmdCancelAll: "cancel-all", CmdSetIndexPrice: "set-index",
	CmdClockTick: "clock-tick", CmdAmendOrder: "amend", CmdInsuranceDeposit: "insurance-deposit",
}

func (k CommandKind) String() string {
	if k > 0 && k < cmdKindCount {
		return commandNames[k]
	}
	return fmt.Sprintf("command(%d)", uint8(k))
}

// Command is one input of the engine: a flat value, so that the journal can
// encode it compactly and replay it exactly. The sequencer stamps Seq and
// TsNanos; the engine reads no clock. Fields a kind does not use are zero.
type Command struct {
	// The narrow fields come first, grouped so the struct has no holes:
	// the journal stores commands by the million.
	Kind       CommandKind
	Mode       clearing.MarginMode // set-margin-mode
	Side       orderbook.Side
	Type       orderbook.OrderType
	TIF        orderbook.TimeInForce
	STP        orderbook.STP
	ReduceOnly bool
	// Trigger makes a placed order a stop or take-profit order: it waits
	// outside the book until the TriggerBy price reaches TriggerTicks.
	Trigger   Trigger
	TriggerBy TriggerPrice
	Market    MarketID
	Account   AccountID
	Seq       uint64
	TsNanos   int64

	AmountQuote int64 // deposit, withdraw, adjust-isolated-margin
	Leverage    int64 // set-leverage

	OrderID      orderbook.OrderID // cancel, amend
	PriceTicks   int64             // limit price, market protection price, or the index
	QtyLots      int64
	TriggerTicks int64

	// ClientOrderID names a new order (optional), or on cancel and amend
	// the order to act on when OrderID is 0.
	ClientOrderID ClientOrderID
}

// Trigger says when a conditional order enters the book. A stop order
// fires when the price moves against the position it would protect (a buy
// stop when the price rises to the trigger, a sell stop when it falls to
// it); a take-profit order when the price moves in favour (a buy when it
// falls to the trigger, a sell when it rises to it).
type Trigger uint8

const (
	TriggerNone Trigger = iota
	TriggerStop
	TriggerTakeProfit
)

func (t Trigger) String() string {
	switch t {
	case TriggerNone:
		return "none"
	case TriggerStop:
		return "stop"
	case TriggerTakeProfit:
		return "take-profit"
	}
	return fmt.Sprintf("trigger(%d)", uint8(t))
}

// TriggerPrice is the price a conditional order watches. There is no
// default: the order must choose.
type TriggerPrice uint8

const (
	TriggerByMark TriggerPrice = iota + 1
	TriggerByLast
)

func (p TriggerPrice) String() string {
	switch p {
	case TriggerByMark:
		return "mark"
	case TriggerByLast:
		return "last"
	}
	return fmt.Sprintf("trigger-price(%d)", uint8(p))
}

// rises reports whether a conditional order on side fires when the price
// rises to its trigger (otherwise when it falls to it).
func (t Trigger) rises(side orderbook.Side) bool {
	return (t == TriggerStop) == (side == orderbook.Buy)
}

// op is the comparison that fires it, for display: ">=" or "<=".
func (t Trigger) op(side orderbook.Side) string {
	if t.rises(side) {
		return ">="
	}
	return "<="
}

// MaxClientOrderIDLen is the longest client order id, as on large venues.
const MaxClientOrderIDLen = 36

// ClientOrderID is the id a client gives its order: 1 to 36 characters from
// A-Z a-z 0-9 . _ : / - (the set venues allow), zero-padded. The zero value
// means none. An account's open orders (resting or waiting for a trigger)
// have distinct client order ids; an id is free again once its order ends.
type ClientOrderID [MaxClientOrderIDLen]byte

// ErrInvalidClientOrderID is returned by ParseClientOrderID.
var ErrInvalidClientOrderID = errors.New("engine: invalid client order id")

// ParseClientOrderID checks and converts s.
func ParseClientOrderID(s string) (ClientOrderID, error) {
	var c ClientOrderID
	if len(s) == 0 || len(s) > MaxClientOrderIDLen {
		return c, fmt.Errorf("%w: %d characters, want 1 to %d", ErrInvalidClientOrderID, len(s), MaxClientOrderIDLen)
	}
	for i := 0; i < len(s); i++ {
		if !cidChar(s[i]) {
			// The character, not its first byte: 'é', not 'Ã'.
			r, _ := utf8.DecodeRuneInString(s[i:])
			return c, fmt.Errorf("%w: %q: character %q not in A-Z a-z 0-9 . _ : / -", ErrInvalidClientOrderID, s, r)
		}
	}
	copy(c[:], s)
	return c, nil
}

func cidChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '.' || b == '_' || b == ':' || b == '/' || b == '-'
}

// IsZero reports whether c is the absent id. Every command asks, so it
// ORs the bytes in five word loads rather than comparing 36 bytes.
func (c *ClientOrderID) IsZero() bool {
	le := binary.LittleEndian
	return le.Uint64(c[0:])|le.Uint64(c[8:])|le.Uint64(c[16:])|le.Uint64(c[24:])|uint64(le.Uint32(c[32:])) == 0
}

// String returns the id without its padding.
func (c ClientOrderID) String() string {
	n := 0
	for n < len(c) && c[n] != 0 {
		n++
	}
	return string(c[:n])
}

// valid reports whether c is what ParseClientOrderID makes: allowed
// characters, then only padding. A journal or a client may hand the engine
// any bytes.
func (c ClientOrderID) valid() bool {
	n := 0
	for n < len(c) && c[n] != 0 {
		if !cidChar(c[n]) {
			return false
		}
		n++
	}
	for _, b := range c[n:] {
		if b != 0 {
			return false
		}
	}
	return n > 0
}
