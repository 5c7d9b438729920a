package orderbook

import "fmt"

// OrderID identifies an order. The engine assigns ids in increasing order
// (not necessarily dense); the book refuses an id that is not above every id
// it accepted before, which makes the duplicate check free and lets the id
// index place new ids in sequence.
type OrderID uint64

// AccountID identifies the owner of an order. The book uses it for
// self-trade prevention, per-account limits and cancel-all; it knows nothing
// of the account's money. Ids are dense (engine-assigned) and must be below
// Config.MaxAccounts.
type AccountID uint32

// Side of an order. The zero value is invalid so that a forgotten field is
// rejected instead of silently meaning "buy".
type Side uint8

const (
	Buy  Side = 1
	Sell Side = 2
)

func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return fmt.Sprintf("side(%d)", uint8(s))
}

// Opposite returns the other side.
func (s Side) Opposite() Side { return 3 - s }

// OrderType is limit or market.
type OrderType uint8

const (
	Limit  OrderType = 1
	Market OrderType = 2
)

func (t OrderType) String() string {
	switch t {
	case Limit:
		return "limit"
	case Market:
		return "market"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// TimeInForce says what happens to the part of an order that does not fill
// on arrival.
type TimeInForce uint8

const (
	// GTC rests until filled or cancelled. Limit orders only.
	GTC TimeInForce = 1
	// IOC fills what crosses and cancels the rest.
	IOC TimeInForce = 2
	// FOK fills completely on arrival or does nothing at all.
	FOK TimeInForce = 3
	// PostOnly rests without taking; rejected if any part would take.
	// Limit orders only.
	PostOnly TimeInForce = 4
)

func (t TimeInForce) String() string {
	switch t {
	case GTC:
		return "gtc"
	case IOC:
		return "ioc"
	case FOK:
		return "fok"
	case PostOnly:
		return "post-only"
	}
	return fmt.Sprintf("tif(%d)", uint8(t))
}

// STP is the self-trade prevention mode, chosen per order and applied by the
// incoming (taker) order when it meets a resting order of the same account.
type STP uint8

const (
	// STPNone lets an account trade with itself, as venues do when no mode
	// is chosen.
	STPNone STP = 0
	// STPCancelTaker cancels the rest of the incoming order; the resting
	// order stays. Fills before the self-match stand.
	STPCancelTaker STP = 1
	// STPCancelMaker cancels the resting order and lets the incoming order
	// go on matching.
	STPCancelMaker STP = 2
	// STPCancelBoth cancels the resting order and the rest of the incoming
	// order.
	STPCancelBoth STP = 3
)

func (m STP) String() string {
	switch m {
	case STPNone:
		return "none"
	case STPCancelTaker:
		return "cancel-taker"
	case STPCancelMaker:
		return "cancel-maker"
	case STPCancelBoth:
		return "cancel-both"
	}
	return fmt.Sprintf("stp(%d)", uint8(m))
}

// Reason says why a request was rejected or an order cancelled. The order of
// the values is part of the API (events are journaled and compared byte for
// byte): append new reasons at the end.
type Reason uint8

const (
	ReasonNone Reason = iota
	// Rejections of a request; the book is unchanged.
	ReasonInvalidSide
	ReasonInvalidType
	ReasonInvalidTimeInForce
	ReasonInvalidSTP
	ReasonInvalidOrderID
	ReasonInvalidAccount
	ReasonInvalidPrice
	ReasonInvalidQuantity
	ReasonQuantityAboveMax
	ReasonPriceOutsideBand
	ReasonOrderIDNotIncreasing
	ReasonTooManyAccountOrders
	ReasonTooManyOrders
	ReasonPostOnlyWouldTake
	ReasonUnknownOrder
	ReasonNothingToAmend
	// Cancellations of an order that was accepted.
	ReasonCancelledByUser
	ReasonUnfilledRemainder // IOC or market remainder
	ReasonFOKNotFilled
	ReasonSelfTrade
	ReasonAccountCancelAll
	ReasonBookCancelAll
	ReasonAmendedToFilled // amended to at or below its filled quantity
	// Rejections added later.
	ReasonTooManyPriceLevels
	ReasonInvalidCommand
	ReasonDuplicateOrderID // PlaceReserved with an id that is resting
	reasonCount
)

var reasonNames = [...]string{
	ReasonNone:                 "none",
	ReasonInvalidSide:          "invalid-side",
	ReasonInvalidType:          "invalid-type",
	ReasonInvalidTimeInForce:   "invalid-time-in-force",
	ReasonInvalidSTP:           "invalid-stp",
	ReasonInvalidOrderID:       "invalid-order-id",
	ReasonInvalidAccount:       "invalid-account",
	ReasonInvalidPrice:         "invalid-price",
	ReasonInvalidQuantity:      "invalid-quantity",
	ReasonQuantityAboveMax:     "quantity-above-max",
	ReasonPriceOutsideBand:     "price-outside-band",
	ReasonOrderIDNotIncreasing: "order-id-not-increasing",
	ReasonTooManyAccountOrders: "too-many-account-orders",
	ReasonTooManyOrders:        "too-many-orders",
	ReasonPostOnlyWouldTake:    "post-only-would-take",
	ReasonUnknownOrder:         "unknown-order",
	ReasonNothingToAmend:       "nothing-to-amend",
	ReasonCancelledByUser:      "user",
	ReasonUnfilledRemainder:    "unfilled-remainder",
	ReasonFOKNotFilled:         "fok-not-filled",
	ReasonSelfTrade:            "self-trade",
	ReasonAccountCancelAll:     "account-cancel-all",
	ReasonBookCancelAll:        "book-cancel-all",
	ReasonAmendedToFilled:      "amended-to-filled",
	ReasonTooManyPriceLevels:   "too-many-price-levels",
	ReasonInvalidCommand:       "invalid-command",
	ReasonDuplicateOrderID:     "duplicate-order-id",
}

func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// EventKind tells which fields of an Event are meaningful.
type EventKind uint8

const (
	// EventAccepted: an order passed validation. OrderID, Account, Side,
	// PriceTicks (limit price, or the market order's protection price, 0 if
	// none), QtyLots (order quantity).
	EventAccepted EventKind = iota + 1
	// EventRejected: a request was refused and changed nothing. OrderID,
	// Account, Reason.
	EventRejected
	// EventFill: the taker (OrderID, Account, Side) traded QtyLots at the
	// maker's PriceTicks with the maker (MakerOrderID, MakerAccount).
	// RemainingLots is the maker's remaining quantity after the fill and
	// MakerDone says whether the maker left the book.
	EventFill
	// EventCancelled: an order left the book (or an incoming order ended)
	// with QtyLots unfilled. OrderID, Account, Side, PriceTicks, Reason.
	EventCancelled
	// EventAmended: a resting order now has price PriceTicks, total
	// quantity QtyLots (filled plus remaining) and RemainingLots left.
	// KeptPriority says whether it kept its place in the queue.
	EventAmended
)

func (k EventKind) String() string {
	switch k {
	case EventAccepted:
		return "accepted"
	case EventRejected:
		return "rejected"
	case EventFill:
		return "fill"
	case EventCancelled:
		return "cancelled"
	case EventAmended:
		return "amended"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one outcome of a command, appended to a caller-owned buffer.
// It is a flat value (no pointers) so that a buffer of events can be reused
// without allocation and compared with ==.
type Event struct {
	Kind          EventKind
	Reason        Reason
	Side          Side
	MakerDone     bool
	KeptPriority  bool
	Tag           uint8 // the order's Order.Tag (the taker's on a fill)
	MakerTag      uint8 // the maker's Order.Tag on a fill
	Account       AccountID
	MakerAccount  AccountID
	OrderID       OrderID
	MakerOrderID  OrderID
	PriceTicks    int64
	QtyLots       int64
	RemainingLots int64
}

func (e Event) String() string {
	switch e.Kind {
	case EventAccepted:
		return fmt.Sprintf("accepted id=%d acct=%d %s price=%d qty=%d", e.OrderID, e.Account, e.Side, e.PriceTicks, e.QtyLots)
	case EventRejected:
		return fmt.Sprintf("rejected id=%d acct=%d reason=%s", e.OrderID, e.Account, e.Reason)
	case EventFill:
		return fmt.Sprintf("fill taker=%d/%d %s maker=%d/%d price=%d qty=%d maker-left=%d maker-done=%t",
			e.OrderID, e.Account, e.Side, e.MakerOrderID, e.MakerAccount, e.PriceTicks, e.QtyLots, e.RemainingLots, e.MakerDone)
	case EventCancelled:
		return fmt.Sprintf("cancelled id=%d acct=%d %s price=%d qty=%d reason=%s", e.OrderID, e.Account, e.Side, e.PriceTicks, e.QtyLots, e.Reason)
	case EventAmended:
		return fmt.Sprintf("amended id=%d acct=%d %s price=%d qty=%d left=%d kept-priority=%t", e.OrderID, e.Account, e.Side, e.PriceTicks, e.QtyLots, e.RemainingLots, e.KeptPriority)
	}
	return fmt.Sprintf("%s %+v", e.Kind, struct {
		Reason  Reason
		OrderID OrderID
	}{e.Reason, e.OrderID})
}

// Order is a new order for Place.
type Order struct {
	ID      OrderID
	Account AccountID
	Side    Side
	Type    OrderType
	TIF     TimeInForce
	STP     STP
	// PriceTicks is the limit price; for a market order it is the optional
	// protection price (0 = none) beyond which the order does not trade.
	PriceTicks int64
	QtyLots    int64
	// Tag is the owner's: the book keeps it with the order and reports it
	// in the order's events (Event.Tag, and MakerTag on fills) without
	// reading it. The engine marks orders that have a client order id or
	// are reduce-only, so that only their ends cost it a lookup.
	Tag uint8
}

// CommandKind selects the operation of a Command.
type CommandKind uint8

const (
	CmdPlace CommandKind = iota + 1
	CmdCancel
	CmdAmend
	CmdCancelAccount
	CmdCancelAll
	CmdSetReference
)

// Command is one request to the book as a flat value, used by Apply, by
// scenario files and by the differential tests; the engine calls the typed
// methods directly.
type Command struct {
	Kind  CommandKind
	Order Order // CmdPlace; CmdCancel and CmdAmend use ID and Account, CmdAmend also PriceTicks and QtyLots; CmdCancelAccount uses Account; CmdSetReference uses PriceTicks
}

// LevelChange is the new total of one price level after a command (0 when
// the level became empty).
type LevelChange struct {
	Side       Side
	PriceTicks int64
	TotalLots  int64
}

// Level is one price level of a depth snapshot.
type Level struct {
	PriceTicks int64
	TotalLots  int64
	Orders     int
}

// RestingOrder is a read-only view of an order on the book.
type RestingOrder struct {
	ID            OrderID
	Account       AccountID
	Side          Side
	TIF           TimeInForce
	STP           STP
	Tag           uint8
	PriceTicks    int64
	QtyLots       int64 // original quantity, as last amended
	FilledLots    int64
	RemainingLots int64
}
