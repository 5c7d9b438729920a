package client

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/shopspring/decimal"
)

// UserEvent is one message of the account's user stream: *OrderUpdate,
// *FillUpdate, *PositionUpdate, *BalanceUpdate, *FundingUpdate,
// *MarginCall, *LiquidationUpdate, *ADLUpdate, *SettingsUpdate, or
// *UserReset when messages were lost (then read the account's state from
// the REST API). A type this SDK does not know arrives as *UnknownUserEvent.
type UserEvent interface {
	// Meta is the message's number in the account's stream and its
	// command's sequence number.
	Meta() UserMeta
}

// UserMeta numbers a user-stream message.
type UserMeta struct {
	N   uint64 // the account's user messages count from 1 (since the server started keeping them)
	Seq uint64 // the command's journal sequence number
}

func (m UserMeta) Meta() UserMeta { return m }

// OrderUpdate: one of the account's orders was accepted, amended,
// triggered or cancelled (Event).
type OrderUpdate struct {
	UserMeta      `json:"-"`
	Event         string           `json:"event"`
	OrderID       OrderID          `json:"orderId"`
	ClientOrderID string           `json:"clientOrderId"`
	Symbol        string           `json:"symbol"`
	Side          Side             `json:"side"`
	Price         decimal.Decimal  `json:"price"`
	Quantity      decimal.Decimal  `json:"quantity"`
	RemainingQty  *decimal.Decimal `json:"remainingQty"`
	Reason        CancelReason     `json:"reason"`
	Trigger       Trigger          `json:"trigger"`
	TriggerBy     TriggerBy        `json:"triggerBy"`
	TriggerPrice  decimal.Decimal  `json:"triggerPrice"`
	Time          Millis           `json:"time"`
}

// FillUpdate: one of the account's orders traded (Side is its own).
type FillUpdate struct {
	UserMeta `json:"-"`
	OrderID  OrderID         `json:"orderId"`
	Symbol   string          `json:"symbol"`
	Side     Side            `json:"side"`
	Price    decimal.Decimal `json:"price"`
	Qty      decimal.Decimal `json:"qty"`
	Fee      decimal.Decimal `json:"fee"`
	Maker    bool            `json:"maker"`
	Cause    FillCause       `json:"cause"`
	Time     Millis          `json:"time"`
}

// PositionUpdate: the account's position in a market after a change.
type PositionUpdate struct {
	UserMeta         `json:"-"`
	Symbol           string           `json:"symbol"`
	MarginMode       MarginMode       `json:"marginMode"`
	Size             decimal.Decimal  `json:"size"`
	EntryPrice       decimal.Decimal  `json:"entryPrice"`
	IsolatedMargin   decimal.Decimal  `json:"isolatedMargin"`
	RealizedPnl      decimal.Decimal  `json:"realizedPnl"`
	LiquidationPrice *decimal.Decimal `json:"liquidationPrice"`
	Time             Millis           `json:"time"`
}

// BalanceUpdate: the wallet changed by Amount (Cause: deposit,
// withdrawal, trade, funding, isolated-margin, liquidation).
type BalanceUpdate struct {
	UserMeta `json:"-"`
	Cause    string          `json:"cause"`
	Amount   decimal.Decimal `json:"amount"`
	Wallet   decimal.Decimal `json:"wallet"`
	Time     Millis          `json:"time"`
}

// FundingUpdate: the account paid (negative Amount) or received funding.
type FundingUpdate struct {
	UserMeta `json:"-"`
	Symbol   string          `json:"symbol"`
	Rate     decimal.Decimal `json:"rate"`
	Amount   decimal.Decimal `json:"amount"`
	Balance  decimal.Decimal `json:"balance"`
	Time     Millis          `json:"time"`
}

// MarginCall: a pool (the cross pool, or the isolated position in Symbol)
// reached the margin-call level: Maintenance is Ratio of its margin
// Balance.
type MarginCall struct {
	UserMeta    `json:"-"`
	MarginMode  MarginMode      `json:"marginMode"`
	Symbol      string          `json:"symbol"`
	Maintenance decimal.Decimal `json:"amount"`
	Balance     decimal.Decimal `json:"balance"`
	Ratio       decimal.Decimal `json:"rate"`
	Time        Millis          `json:"time"`
}

// LiquidationUpdate: a position of the account was liquidated: Qty on
// Side at the bankruptcy price, FundQty taken over by the insurance fund,
// ADLQty closed by auto-deleveraging.
type LiquidationUpdate struct {
	UserMeta        `json:"-"`
	Symbol          string          `json:"symbol"`
	Side            Side            `json:"side"`
	Qty             decimal.Decimal `json:"qty"`
	BankruptcyPrice decimal.Decimal `json:"bankruptcyPrice"`
	FundQty         decimal.Decimal `json:"fundQty"`
	ADLQty          decimal.Decimal `json:"adlQty"`
	Time            Millis          `json:"time"`
}

// ADLUpdate: auto-deleveraging reduced the account's position by Qty
// (an order on Side) at Price.
type ADLUpdate struct {
	UserMeta `json:"-"`
	Symbol   string          `json:"symbol"`
	Side     Side            `json:"side"`
	Qty      decimal.Decimal `json:"qty"`
	Price    decimal.Decimal `json:"price"`
	Time     Millis          `json:"time"`
}

// SettingsUpdate: the account's leverage or margin mode in a market.
type SettingsUpdate struct {
	UserMeta   `json:"-"`
	Symbol     string     `json:"symbol"`
	MarginMode MarginMode `json:"marginMode"`
	Leverage   int        `json:"leverage"`
	Time       Millis     `json:"time"`
}

// UserReset: messages were lost to this Stream (they were no longer kept
// when it resumed, the server restarted, or the connection dropped before
// the first message, when there is nothing to resume after). Read orders,
// positions and balances from the REST API; Next is the number of the next
// message, 0 when the Stream cannot tell (the last case).
type UserReset struct {
	UserMeta `json:"-"`
	Next     uint64 `json:"next"`
}

// UnknownUserEvent is a message of a type this SDK does not know.
type UnknownUserEvent struct {
	UserMeta
	Type string
	Data json.RawMessage
}

// User subscribes to the account's user stream (the Stream must have
// credentials). Events arrive in the order of the commands, only once
// durable; after a reconnect the stream resumes after the last event
// delivered.
func (s *Stream) User(ctx context.Context) (<-chan UserEvent, error) {
	if s.c.apiKey == "" {
		return nil, ErrNoCredentials
	}
	s.mu.Lock()
	if s.user != nil {
		s.mu.Unlock()
		return nil, errors.New("client: already subscribed to the user stream")
	}
	ch := make(chan UserEvent, 1024)
	s.user = ch
	since := s.userN
	s.mu.Unlock()
	if _, err := s.call(ctx, map[string]any{"op": "subscribe", "streams": []string{"user"}, "since": since}); err != nil {
		s.mu.Lock()
		s.user = nil
		s.mu.Unlock()
		return nil, err
	}
	return ch, nil
}

// decodeUserEvent decodes a user message's data (fuzzed).
func decodeUserEvent(meta UserMeta, data json.RawMessage) (UserEvent, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, err
	}
	var ev UserEvent
	switch head.Type {
	case "order":
		ev = &OrderUpdate{UserMeta: meta}
	case "fill":
		ev = &FillUpdate{UserMeta: meta}
	case "position":
		ev = &PositionUpdate{UserMeta: meta}
	case "balance":
		ev = &BalanceUpdate{UserMeta: meta}
	case "funding":
		ev = &FundingUpdate{UserMeta: meta}
	case "margin-call":
		ev = &MarginCall{UserMeta: meta}
	case "liquidation":
		ev = &LiquidationUpdate{UserMeta: meta}
	case "adl":
		ev = &ADLUpdate{UserMeta: meta}
	case "settings":
		ev = &SettingsUpdate{UserMeta: meta}
	case "reset":
		ev = &UserReset{UserMeta: meta}
	default:
		return &UnknownUserEvent{UserMeta: meta, Type: head.Type, Data: data}, nil
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// userMessage delivers a user-stream message, skipping any already
// delivered (a resume may repeat none, but a reset restarts the count).
func (s *Stream) userMessage(m serverMessage) {
	ev, err := decodeUserEvent(UserMeta{N: m.N, Seq: m.Seq}, m.Data)
	if err != nil {
		return
	}
	s.mu.Lock()
	ch := s.user
	if r, ok := ev.(*UserReset); ok {
		s.userN = r.Next - 1
	} else if m.N <= s.userN && m.N != 0 {
		s.mu.Unlock()
		return
	} else {
		s.userN = m.N
	}
	s.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- ev:
	case <-s.ctx.Done():
	}
}
