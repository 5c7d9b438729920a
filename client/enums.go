package client

import "time"

// The enumerations are string types holding the API's lowercase names, so
// a value the server adds after this SDK was built decodes as itself rather
// than failing the whole answer: an old bot keeps running against a new
// server and can still print or compare the raw name. Known reports
// whether this SDK has a constant for a value.

// Side is an order's or a fill's side.
type Side string

const (
	Buy  Side = "buy"
	Sell Side = "sell"
)

func (s Side) String() string { return string(s) }

// Known reports whether s is one of the sides this SDK knows.
func (s Side) Known() bool { return s == Buy || s == Sell }

// Opposite is the other side (an unknown side stays as it is).
func (s Side) Opposite() Side {
	switch s {
	case Buy:
		return Sell
	case Sell:
		return Buy
	}
	return s
}

// OrderType is limit or market. (The builders Limit and Market take the
// short names, so the constants carry a prefix.)
type OrderType string

const (
	TypeLimit  OrderType = "limit"
	TypeMarket OrderType = "market"
)

func (t OrderType) String() string { return string(t) }

// Known reports whether t is one of the order types this SDK knows.
func (t OrderType) Known() bool { return t == TypeLimit || t == TypeMarket }

// TimeInForce says what happens to the part of an order that does not
// fill on arrival.
type TimeInForce string

const (
	GTC      TimeInForce = "gtc"       // rest until filled or cancelled
	IOC      TimeInForce = "ioc"       // cancel what does not fill at once
	FOK      TimeInForce = "fok"       // fill in full at once or cancel whole
	PostOnly TimeInForce = "post-only" // refused if it would trade on arrival
)

func (t TimeInForce) String() string { return string(t) }

// Known reports whether t is one of the times in force this SDK knows.
func (t TimeInForce) Known() bool { return t == GTC || t == IOC || t == FOK || t == PostOnly }

// STP is a self-trade prevention mode.
type STP string

const (
	STPNone        STP = "none"
	STPCancelTaker STP = "cancel-taker"
	STPCancelMaker STP = "cancel-maker"
	STPCancelBoth  STP = "cancel-both"
)

func (s STP) String() string { return string(s) }

// Known reports whether s is one of the modes this SDK knows.
func (s STP) Known() bool {
	return s == STPNone || s == STPCancelTaker || s == STPCancelMaker || s == STPCancelBoth
}

// Trigger makes an order conditional: it waits outside the book until
// the watched price reaches its trigger price.
type Trigger string

const (
	Stop       Trigger = "stop"        // fires when the price moves against the order's side
	TakeProfit Trigger = "take-profit" // fires when the price moves in its favour
)

func (t Trigger) String() string { return string(t) }

// Known reports whether t is one of the triggers this SDK knows.
func (t Trigger) Known() bool { return t == Stop || t == TakeProfit }

// TriggerBy is the price a conditional order watches.
type TriggerBy string

const (
	ByMark TriggerBy = "mark" // the mark price
	ByLast TriggerBy = "last" // the last trade's price
)

func (t TriggerBy) String() string { return string(t) }

// Known reports whether t is one of the watched prices this SDK knows.
func (t TriggerBy) Known() bool { return t == ByMark || t == ByLast }

// MarginMode is cross (one pool per account) or isolated (one per
// position).
type MarginMode string

const (
	Cross    MarginMode = "cross"
	Isolated MarginMode = "isolated"
)

func (m MarginMode) String() string { return string(m) }

// Known reports whether m is one of the margin modes this SDK knows.
func (m MarginMode) Known() bool { return m == Cross || m == Isolated }

// OrderStatus is where an order is in its life.
type OrderStatus string

const (
	StatusUntriggered     OrderStatus = "untriggered" // a conditional order waiting for its trigger
	StatusNew             OrderStatus = "new"
	StatusPartiallyFilled OrderStatus = "partially-filled"
	StatusFilled          OrderStatus = "filled"
	StatusCancelled       OrderStatus = "cancelled"
)

func (s OrderStatus) String() string { return string(s) }

// Known reports whether s is one of the statuses this SDK knows.
func (s OrderStatus) Known() bool {
	switch s {
	case StatusUntriggered, StatusNew, StatusPartiallyFilled, StatusFilled, StatusCancelled:
		return true
	}
	return false
}

// Open reports whether an order with this status may still trade.
func (s OrderStatus) Open() bool {
	return s == StatusUntriggered || s == StatusNew || s == StatusPartiallyFilled
}

// CancelReason is why an order ended without filling in full. Besides
// these, a conditional order the engine refused as it fired carries the
// refusal's code (for example "insufficient-margin").
type CancelReason string

const (
	ReasonUser              CancelReason = "user"
	ReasonUnfilledRemainder CancelReason = "unfilled-remainder"
	ReasonFOKNotFilled      CancelReason = "fok-not-filled"
	ReasonSelfTrade         CancelReason = "self-trade"
	ReasonCancelAll         CancelReason = "cancel-all"
	ReasonReduceOnly        CancelReason = "reduce-only"
	ReasonLiquidation       CancelReason = "liquidation"
	ReasonAmendedToFilled   CancelReason = "amended-to-filled"
)

func (r CancelReason) String() string { return string(r) }

// FillCause tells an ordinary trade from a position closed by liquidation
// or auto-deleveraging.
type FillCause string

const (
	CauseTrade       FillCause = "" // the API leaves the field out
	CauseLiquidation FillCause = "liquidation"
	CauseADL         FillCause = "adl"
)

func (c FillCause) String() string {
	if c == CauseTrade {
		return "trade"
	}
	return string(c)
}

// KlineInterval is a candle's length.
type KlineInterval string

const (
	Interval1m  KlineInterval = "1m"
	Interval3m  KlineInterval = "3m"
	Interval5m  KlineInterval = "5m"
	Interval15m KlineInterval = "15m"
	Interval30m KlineInterval = "30m"
	Interval1h  KlineInterval = "1h"
	Interval2h  KlineInterval = "2h"
	Interval4h  KlineInterval = "4h"
	Interval6h  KlineInterval = "6h"
	Interval12h KlineInterval = "12h"
	Interval1d  KlineInterval = "1d"
)

func (k KlineInterval) String() string { return string(k) }

// Known reports whether k is one of the intervals this SDK knows.
func (k KlineInterval) Known() bool { return k.Duration() > 0 }

// Duration is the interval's length, 0 for an unknown interval.
func (k KlineInterval) Duration() time.Duration {
	switch k {
	case Interval1m:
		return time.Minute
	case Interval3m:
		return 3 * time.Minute
	case Interval5m:
		return 5 * time.Minute
	case Interval15m:
		return 15 * time.Minute
	case Interval30m:
		return 30 * time.Minute
	case Interval1h:
		return time.Hour
	case Interval2h:
		return 2 * time.Hour
	case Interval4h:
		return 4 * time.Hour
	case Interval6h:
		return 6 * time.Hour
	case Interval12h:
		return 12 * time.Hour
	case Interval1d:
		return 24 * time.Hour
	}
	return 0
}
