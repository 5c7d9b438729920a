package engine

import (
	"fmt"
	"strings"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/orderbook"
)

// Reason says why a command was refused or an order ended. One enum covers
// the book's, the ledger's and the engine's own reasons, so a client needs
// one table of codes. The order of values is part of the journal format:
// append only.
type Reason uint8

const (
	ReasonNone Reason = iota
	// The engine's own.
	ReasonUnknownCommand
	ReasonUnknownAccount
	ReasonUnknownMarket
	ReasonTooManyAccounts
	ReasonInvalidAmount
	ReasonInsufficientBalance
	ReasonInsufficientMargin
	ReasonInvalidLeverage
	ReasonLeverageAboveBracket
	ReasonInvalidMarginMode
	ReasonPositionOrOrdersOpen
	ReasonNotIsolated
	ReasonBelowMinQty
	ReasonAboveMaxQty
	ReasonBelowMinNotional
	ReasonNoPrice
	ReasonReduceOnlyNoPosition
	ReasonReduceOnlyWouldIncrease
	// ReasonReduceOnlyMustNotRest is retired: reduce-only orders may rest
	// now. The value stays taken.
	ReasonReduceOnlyMustNotRest
	ReasonTimeWentBack
	ReasonInvalidPrice
	// From the book (see orderbook.Reason).
	ReasonInvalidOrder
	ReasonPriceOutsideBand
	ReasonTooManyOrders
	ReasonTooManyPriceLevels
	ReasonPostOnlyWouldTake
	ReasonUnknownOrder
	// Ends of orders (EventOrderCancelled).
	ReasonCancelledByUser
	ReasonUnfilledRemainder
	ReasonFOKNotFilled
	ReasonSelfTrade
	ReasonCancelAll
	ReasonNothingToAmend
	ReasonAmendedToFilled
	ReasonInvalidTime
	// Client order ids and conditional orders.
	ReasonInvalidClientOrderID
	ReasonDuplicateClientOrderID
	ReasonInvalidTrigger
	ReasonWouldTriggerImmediately
	ReasonTooManyStopOrders
	ReasonStopNotAmendable
	// ReasonReduceOnly: a resting reduce-only order was cut or cancelled
	// because the position shrank, closed or flipped under it.
	ReasonReduceOnly
	// ReasonLiquidation: the order was cancelled because its account's
	// margin pool is being liquidated.
	ReasonLiquidation
	reasonCount
)

var reasonNames = [...]string{
	ReasonNone: "none", ReasonUnknownCommand: "unknown-command", ReasonUnknownAccount: "unknown-account",
	ReasonUnknownMarket: "unknown-market", ReasonTooManyAccounts: "too-many-accounts",
	ReasonInvalidAmount: "invalid-amount", ReasonInsufficientBalance: "insufficient-balance",
	ReasonInsufficientMargin: "insufficient-margin", ReasonInvalidLeverage: "invalid-leverage",
	ReasonLeverageAboveBracket: "leverage-above-bracket", ReasonInvalidMarginMode: "invalid-margin-mode",
	ReasonPositionOrOrdersOpen: "position-or-orders-open", ReasonNotIsolated: "not-isolated",
	ReasonBelowMinQty: "below-min-qty", ReasonAboveMaxQty: "above-max-qty",
	ReasonBelowMinNotional: "below-min-notional", ReasonNoPrice: "no-price",
	ReasonReduceOnlyNoPosition: "reduce-only-no-position", ReasonReduceOnlyWouldIncrease: "reduce-only-would-increase",
	ReasonReduceOnlyMustNotRest: "reduce-only-must-not-rest", ReasonTimeWentBack: "time-went-back",
	ReasonInvalidPrice: "invalid-price", ReasonInvalidOrder: "invalid-order",
	ReasonPriceOutsideBand: "price-outside-band", ReasonTooManyOrders: "too-many-orders",
	ReasonTooManyPriceLevels: "too-many-price-levels", ReasonPostOnlyWouldTake: "post-only-would-take",
	ReasonUnknownOrder: "unknown-order", ReasonCancelledByUser: "user",
	ReasonUnfilledRemainder: "unfilled-remainder", ReasonFOKNotFilled: "fok-not-filled",
	ReasonSelfTrade: "self-trade", ReasonCancelAll: "cancel-all",
	ReasonNothingToAmend: "nothing-to-amend", ReasonAmendedToFilled: "amended-to-filled",
	ReasonInvalidTime: "invalid-time", ReasonInvalidClientOrderID: "invalid-client-order-id",
	ReasonDuplicateClientOrderID: "duplicate-client-order-id", ReasonInvalidTrigger: "invalid-trigger",
	ReasonWouldTriggerImmediately: "would-trigger-immediately", ReasonTooManyStopOrders: "too-many-stop-orders",
	ReasonStopNotAmendable: "stop-not-amendable", ReasonReduceOnly: "reduce-only",
	ReasonLiquidation: "liquidation",
}

func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// bookReason maps the book's reasons onto the engine's: the malformed-order
// reasons collapse into ReasonInvalidOrder because the engine checks its
// inputs before the book sees them, so reaching the book with one is a bug
// of the engine rather than of the client.
func bookReason(r orderbook.Reason) Reason {
	switch r {
	case orderbook.ReasonNone:
		return ReasonNone
	case orderbook.ReasonPriceOutsideBand:
		return ReasonPriceOutsideBand
	case orderbook.ReasonTooManyAccountOrders, orderbook.ReasonTooManyOrders:
		return ReasonTooManyOrders
	case orderbook.ReasonTooManyPriceLevels:
		return ReasonTooManyPriceLevels
	case orderbook.ReasonPostOnlyWouldTake:
		return ReasonPostOnlyWouldTake
	case orderbook.ReasonUnknownOrder:
		return ReasonUnknownOrder
	case orderbook.ReasonCancelledByUser:
		return ReasonCancelledByUser
	case orderbook.ReasonUnfilledRemainder:
		return ReasonUnfilledRemainder
	case orderbook.ReasonFOKNotFilled:
		return ReasonFOKNotFilled
	case orderbook.ReasonSelfTrade:
		return ReasonSelfTrade
	case orderbook.ReasonAccountCancelAll, orderbook.ReasonBookCancelAll:
		return ReasonCancelAll
	case orderbook.ReasonNothingToAmend:
		return ReasonNothingToAmend
	case orderbook.ReasonAmendedToFilled:
		return ReasonAmendedToFilled
	}
	return ReasonInvalidOrder
}

// ledgerReason maps the ledger's refusals onto the engine's.
func ledgerReason(r clearing.Reason) Reason {
	switch r {
	case clearing.ReasonNone:
		return ReasonNone
	case clearing.ReasonUnknownAccount:
		return ReasonUnknownAccount
	case clearing.ReasonUnknownMarket:
		return ReasonUnknownMarket
	case clearing.ReasonTooManyAccounts:
		return ReasonTooManyAccounts
	case clearing.ReasonInsufficientBalance:
		return ReasonInsufficientBalance
	case clearing.ReasonExceedsFreeCollateral, clearing.ReasonInsufficientMargin, clearing.ReasonExceedsFreeMargin:
		return ReasonInsufficientMargin
	case clearing.ReasonInvalidMarginMode:
		return ReasonInvalidMarginMode
	case clearing.ReasonNotIsolated:
		return ReasonNotIsolated
	}
	return ReasonInvalidAmount
}

// EventKind tells which fields of an Event are meaningful.
type EventKind uint8

const (
	// EventRejected: command Command was refused (Reason) and changed
	// nothing.
	EventRejected EventKind = iota + 1
	// EventAccountCreated: Account exists, with an empty wallet.
	EventAccountCreated
	// EventBalance: Account's wallet changed by AmountQuote to BalanceQuote;
	// Cause says why.
	EventBalance
	// EventSettings: Account's Leverage and margin Mode in Market.
	EventSettings
	// EventOrderAccepted: OrderID of Account entered Market; for a
	// conditional order (Trigger set), it waits for TriggerBy to reach
	// TriggerTicks.
	EventOrderAccepted
	// EventOrderCancelled: OrderID ended with QtyLots unfilled (Reason). A
	// conditional order whose triggered order was refused ends so, with
	// the refusal's reason.
	EventOrderCancelled
	// EventFill: taker OrderID/Account traded QtyLots at PriceTicks with
	// MakerOrderID/MakerAccount; FeeQuote and MakerFeeQuote are the fees
	// charged (negative: a rebate).
	EventFill
	// EventPosition: Account's position in Market after a change: SizeLots,
	// EntryValueQuote, IsolatedMarginQuote, RealizedPnLQuote of this change,
	// LiqPriceTicks (0 = none).
	EventPosition
	// EventMarkPrice: Market's IndexTicks and PriceTicks (the mark).
	EventMarkPrice
	// EventFunding: Account received AmountQuote (negative: paid) on its
	// position in Market at RatePpm; BalanceQuote is the wallet (cross) or
	// isolated margin after it.
	EventFunding
	// EventOrderAmended: OrderID now has PriceTicks, total QtyLots and
	// RemainingLots (before any fills the amend causes). Reason is
	// ReasonReduceOnly when the engine cut a reduce-only order.
	EventOrderAmended
	// EventOrderTriggered: conditional OrderID fired as the TriggerBy price
	// reached PriceTicks (its trigger being TriggerTicks) and enters the
	// book now with QtyLots (a reduce-only order cut to the position),
	// keeping its id: its fills, rest or end follow.
	EventOrderTriggered
	// EventLiquidation: Account's position in Market was liquidated: an
	// order on Side for QtyLots at the bankruptcy price PriceTicks went to
	// the book (its fills are EventFill with Cause CauseLiquidation,
	// averaging AvgPriceTicks, 0 if none); the insurance fund took over
	// SizeLots of the rest at the bankruptcy price, and RemainingLots were
	// closed by auto-deleveraging at ADLPriceTicks.
	EventLiquidation
	// EventADL: auto-deleveraging reduced Account's position in Market by
	// QtyLots (an order on Side) at PriceTicks, the bankruptcy price of
	// MakerAccount, whose liquidation it completed.
	EventADL
	// EventInsuranceFund: the fund received AmountQuote (negative: paid it)
	// from the liquidation of Account (or, with Cause CauseDeposit, from an
	// insurance deposit) and now holds BalanceQuote;
	// BadDebtQuote of the account's deficit was beyond it (see
	// clearing.Ledger.BadDebtQuote).
	EventInsuranceFund
	// EventMarginCall: Account's pool (Mode: cross, or the isolated
	// position in Market) reached the margin-call level: its maintenance
	// margin AmountQuote is RatePpm of its margin balance BalanceQuote. Once
	// per crossing: the pool must fall back below the level first.
	EventMarginCall
	// EventBookLevel: a price level of Market's book changed: on Side at
	// PriceTicks, QtyLots now rest (0: the level is gone). Emitted only
	// with Config.BookLevelEvents, after the events of the book operation
	// that changed it, so a mirror of the book applying them in order
	// stays equal to the book.
	EventBookLevel
)

var eventNames = [...]string{
	EventRejected: "rejected", EventAccountCreated: "account-created", EventBalance: "balance",
	EventSettings: "settings", EventOrderAccepted: "order-accepted", EventOrderCancelled: "order-cancelled",
	EventFill: "fill", EventPosition: "position", EventMarkPrice: "mark", EventFunding: "funding",
	EventOrderAmended: "order-amended", EventOrderTriggered: "order-triggered",
	EventLiquidation: "liquidation", EventADL: "adl", EventInsuranceFund: "insurance-fund",
	EventMarginCall: "margin-call", EventBookLevel: "book-level",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// BalanceCause says why a wallet changed.
type BalanceCause uint8

const (
	CauseDeposit BalanceCause = iota + 1
	CauseWithdrawal
	CauseIsolatedMargin // moved between the wallet and an isolated position
	CauseTrade          // realized PnL and fees of a fill
	CauseFunding
	// CauseLiquidation: the liquidation fee a liquidated pool paid to the
	// insurance fund, or the fund covering its deficit. On an EventFill:
	// the taker is a liquidation order.
	CauseLiquidation
	// CauseADL marks an EventFill of auto-deleveraging.
	CauseADL
)

var causeNames = [...]string{CauseDeposit: "deposit", CauseWithdrawal: "withdrawal",
	CauseIsolatedMargin: "isolated-margin", CauseTrade: "trade", CauseFunding: "funding",
	CauseLiquidation: "liquidation", CauseADL: "adl"}

func (c BalanceCause) String() string {
	if int(c) < len(causeNames) && causeNames[c] != "" {
		return causeNames[c]
	}
	return fmt.Sprintf("cause(%d)", uint8(c))
}

// Event is one outcome of a command: a flat value appended to a
// caller-owned buffer. Seq is the command's.
type Event struct {
	Kind      EventKind
	Reason    Reason
	Command   CommandKind
	Cause     BalanceCause
	Side      orderbook.Side
	Mode      clearing.MarginMode
	Trigger   Trigger
	TriggerBy TriggerPrice
	Seq       uint64
	Account   AccountID
	// The narrow fields are grouped (MakerAccount beside Account, Market
	// beside ClientOrderID at the end) so the struct has no holes: every
	// event is zeroed before it is written.
	MakerAccount AccountID

	OrderID       orderbook.OrderID
	MakerOrderID  orderbook.OrderID
	PriceTicks    int64
	IndexTicks    int64
	QtyLots       int64
	RemainingLots int64

	AmountQuote         int64
	BalanceQuote        int64
	FeeQuote            int64
	MakerFeeQuote       int64
	Leverage            int64
	SizeLots            int64
	EntryValueQuote     int64
	IsolatedMarginQuote int64
	RealizedPnLQuote    int64
	LiqPriceTicks       int64
	RatePpm             int64
	AvgPriceTicks       int64
	ADLPriceTicks       int64
	BadDebtQuote        int64

	// ClientOrderID is the order's on its lifecycle events (accepted,
	// amended, triggered, cancelled) and on a refused placement; fills
	// name orders by OrderID only.
	TriggerTicks  int64
	Market        MarketID
	ClientOrderID ClientOrderID
}

// String renders the event for scenario files and logs: the kind, then the
// fields that kind uses.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	f := func(format string, args ...any) { fmt.Fprintf(&b, " "+format, args...) }
	switch e.Kind {
	case EventRejected:
		f("%s acct=%d reason=%s", e.Command, e.Account, e.Reason)
	case EventAccountCreated:
		f("acct=%d", e.Account)
	case EventBalance:
		f("acct=%d %s amount=%d balance=%d", e.Account, e.Cause, e.AmountQuote, e.BalanceQuote)
	case EventSettings:
		f("acct=%d market=%d leverage=%d mode=%s", e.Account, e.Market, e.Leverage, e.Mode)
	case EventOrderAccepted:
		f("id=%d acct=%d market=%d %s price=%d qty=%d", e.OrderID, e.Account, e.Market, e.Side, e.PriceTicks, e.QtyLots)
		if e.Trigger != TriggerNone {
			f("%s when %s%s%d", e.Trigger, e.TriggerBy, e.Trigger.op(e.Side), e.TriggerTicks)
		}
	case EventOrderCancelled:
		f("id=%d acct=%d market=%d qty=%d reason=%s", e.OrderID, e.Account, e.Market, e.QtyLots, e.Reason)
	case EventOrderAmended:
		f("id=%d acct=%d market=%d %s price=%d qty=%d left=%d", e.OrderID, e.Account, e.Market, e.Side, e.PriceTicks, e.QtyLots, e.RemainingLots)
		if e.Reason != ReasonNone {
			f("reason=%s", e.Reason)
		}
	case EventOrderTriggered:
		f("id=%d acct=%d market=%d %s %s=%d trigger=%d qty=%d", e.OrderID, e.Account, e.Market, e.Trigger, e.TriggerBy, e.PriceTicks, e.TriggerTicks, e.QtyLots)
	case EventFill:
		f("market=%d taker=%d/%d %s maker=%d/%d price=%d qty=%d taker-fee=%d maker-fee=%d",
			e.Market, e.OrderID, e.Account, e.Side, e.MakerOrderID, e.MakerAccount, e.PriceTicks, e.QtyLots, e.FeeQuote, e.MakerFeeQuote)
		if e.Cause != 0 {
			f("%s", e.Cause)
		}
	case EventLiquidation:
		f("acct=%d market=%d %s qty=%d bankruptcy=%d avg-fill=%d fund=%d adl=%d@%d", e.Account, e.Market, e.Side, e.QtyLots, e.PriceTicks,
			e.AvgPriceTicks, e.SizeLots, e.RemainingLots, e.ADLPriceTicks)
	case EventADL:
		f("acct=%d market=%d %s qty=%d price=%d against=%d", e.Account, e.Market, e.Side, e.QtyLots, e.PriceTicks, e.MakerAccount)
	case EventMarginCall:
		f("acct=%d market=%d %s maintenance=%d balance=%d ratio=%d", e.Account, e.Market, e.Mode, e.AmountQuote, e.BalanceQuote, e.RatePpm)
	case EventInsuranceFund:
		f("acct=%d amount=%d balance=%d bad-debt=%d", e.Account, e.AmountQuote, e.BalanceQuote, e.BadDebtQuote)
	case EventPosition:
		f("acct=%d market=%d %s size=%d entry-value=%d isolated=%d realized=%d liq=%d",
			e.Account, e.Market, e.Mode, e.SizeLots, e.EntryValueQuote, e.IsolatedMarginQuote, e.RealizedPnLQuote, e.LiqPriceTicks)
	case EventMarkPrice:
		f("market=%d index=%d mark=%d", e.Market, e.IndexTicks, e.PriceTicks)
	case EventBookLevel:
		f("market=%d %s price=%d qty=%d", e.Market, e.Side, e.PriceTicks, e.QtyLots)
	case EventFunding:
		f("acct=%d market=%d rate=%d amount=%d balance=%d", e.Account, e.Market, e.RatePpm, e.AmountQuote, e.BalanceQuote)
	}
	if !e.ClientOrderID.IsZero() {
		f("cid=%s", e.ClientOrderID)
	}
	return b.String()
}

// push appends a zero event and returns it to be filled in place: a
// composite literal of this size would be built on the stack and copied.
func push(ev []Event) ([]Event, *Event) {
	ev = append(ev, Event{})
	return ev, &ev[len(ev)-1]
}
