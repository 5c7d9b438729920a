package engine

import (
	"fmt"

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
	cmdKindCount
)

var commandNames = [...]string{
	CmdCreateAccount: "create-account", CmdDeposit: "deposit", CmdWithdraw: "withdraw",
	CmdSetLeverage: "set-leverage", CmdSetMarginMode: "set-margin-mode",
	CmdAdjustIsolatedMargin: "adjust-isolated-margin", CmdPlaceOrder: "place",
	CmdCancelOrder: "cancel", CmdCancelAll: "cancel-all", CmdSetIndexPrice: "set-index",
	CmdClockTick: "clock-tick", CmdAmendOrder: "amend",
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
	Kind    CommandKind
	Seq     uint64
	TsNanos int64
	Account AccountID
	Market  MarketID

	AmountQuote int64               // deposit, withdraw, adjust-isolated-margin
	Leverage    int64               // set-leverage
	Mode        clearing.MarginMode // set-margin-mode

	OrderID    orderbook.OrderID // cancel, amend
	Side       orderbook.Side
	Type       orderbook.OrderType
	TIF        orderbook.TimeInForce
	STP        orderbook.STP
	ReduceOnly bool
	PriceTicks int64 // limit price, market protection price, or the index
	QtyLots    int64
}
