package clearing

import (
	"errors"
	"fmt"
)

// AccountID identifies an account. Ids are dense and assigned by the engine
// in order (0, 1, 2, ...), so the ledger indexes slices with them instead of
// hashing.
type AccountID uint32

// MarketID identifies a market. Ids are dense and registered in order.
type MarketID uint16

// MarginMode says which pool of money backs a position. The zero value is
// Cross, the default on venues, so a position the engine never configured is
// a cross position.
type MarginMode uint8

const (
	// Cross: the account's wallet backs the position; realized PnL, fees and
	// funding move the wallet.
	Cross MarginMode = iota
	// Isolated: the position's own IsolatedMarginQuote backs it; realized
	// PnL, fees and funding move that margin, and a loss beyond it is taken
	// from the insurance fund, never from the wallet.
	Isolated
	marginModeCount
)

func (m MarginMode) String() string {
	switch m {
	case Cross:
		return "cross"
	case Isolated:
		return "isolated"
	}
	return fmt.Sprintf("margin-mode(%d)", uint8(m))
}

// Reason says why a business request (deposit, withdrawal, margin transfer,
// account creation, mode change) was refused; a refused request changes
// nothing. The order of the values is part of the API (events are journaled
// and compared byte for byte): append new reasons at the end.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonUnknownAccount
	ReasonUnknownMarket
	// ReasonAccountIDNotNext: AddAccount was given an id other than
	// NumAccounts() (ids are dense, so this also refuses a duplicate).
	ReasonAccountIDNotNext
	ReasonTooManyAccounts
	// ReasonInvalidAmount: an amount of zero or less.
	ReasonInvalidAmount
	// ReasonAmountTooLarge: the amount would take a balance or a running
	// total out of the int64 range.
	ReasonAmountTooLarge
	// ReasonInsufficientBalance: the wallet holds less than the amount.
	ReasonInsufficientBalance
	// ReasonExceedsFreeCollateral: the amount is above the free collateral
	// the caller (the engine, which knows the margin requirements) allowed.
	ReasonExceedsFreeCollateral
	ReasonInvalidMarginMode
	// ReasonNotIsolated: an isolated-margin transfer for a position in
	// cross mode.
	ReasonNotIsolated
	// ReasonInsufficientMargin: the position's isolated margin is less than
	// the amount to remove.
	ReasonInsufficientMargin
	// ReasonExceedsFreeMargin: the amount is above what the caller allowed
	// to be removed from the isolated margin (the part above the initial
	// margin requirement).
	ReasonExceedsFreeMargin
	reasonCount
)

var reasonNames = [...]string{
	ReasonNone:                  "none",
	ReasonUnknownAccount:        "unknown-account",
	ReasonUnknownMarket:         "unknown-market",
	ReasonAccountIDNotNext:      "account-id-not-next",
	ReasonTooManyAccounts:       "too-many-accounts",
	ReasonInvalidAmount:         "invalid-amount",
	ReasonAmountTooLarge:        "amount-too-large",
	ReasonInsufficientBalance:   "insufficient-balance",
	ReasonExceedsFreeCollateral: "exceeds-free-collateral",
	ReasonInvalidMarginMode:     "invalid-margin-mode",
	ReasonNotIsolated:           "not-isolated",
	ReasonInsufficientMargin:    "insufficient-margin",
	ReasonExceedsFreeMargin:     "exceeds-free-margin",
}

func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Change says what a fill did to the position it settled into.
type Change uint8

const (
	ChangeNone Change = iota // never returned by a successful fill
	// ChangeOpened: the position was flat and now is not.
	ChangeOpened
	// ChangeIncreased: the fill was on the position's side.
	ChangeIncreased
	// ChangeReduced: the fill was against the position and smaller than it.
	ChangeReduced
	// ChangeClosed: the fill was against the position and exactly its size.
	ChangeClosed
	// ChangeFlipped: the fill was against the position and larger: the
	// whole position closed and the rest opened on the other side.
	ChangeFlipped
	changeCount
)

var changeNames = [...]string{
	ChangeNone:      "none",
	ChangeOpened:    "opened",
	ChangeIncreased: "increased",
	ChangeReduced:   "reduced",
	ChangeClosed:    "closed",
	ChangeFlipped:   "flipped",
}

func (c Change) String() string {
	if c < changeCount {
		return changeNames[c]
	}
	return fmt.Sprintf("change(%d)", uint8(c))
}

// Errors are for broken invariants and configuration mistakes, never for a
// refused business request (those are Reasons). Arithmetic overflow is
// reported by wrapping fixed.ErrOverflow.
var (
	// ErrInvalidConfig is wrapped by every error Config.Validate returns.
	ErrInvalidConfig = errors.New("clearing: invalid config")
	// ErrInvalidMarket is wrapped by AddMarket's errors: a market spec the
	// ledger cannot settle exactly, or an id out of order.
	ErrInvalidMarket = errors.New("clearing: invalid market")
	// ErrInvalidFill means the engine passed a fill that cannot have come
	// from a book: an unknown account or market, a zero quantity or a
	// non-positive price.
	ErrInvalidFill = errors.New("clearing: invalid fill")
	// ErrInvalidFunding means a funding settlement for an unknown market,
	// with a non-positive mark price or a rate beyond ±100%.
	ErrInvalidFunding = errors.New("clearing: invalid funding")
	// ErrOpenInterest means a market's long and short sizes differ: a fill
	// was settled without its counterpart.
	ErrOpenInterest = errors.New("clearing: open interest unbalanced")
	// ErrConservation means the money identity (see the package comment)
	// does not hold: money was created or destroyed.
	ErrConservation = errors.New("clearing: money not conserved")
	// ErrInvariant is wrapped by CheckInvariants for broken structure
	// (position lists, running totals, isolated margin in a cross position).
	ErrInvariant = errors.New("clearing: invariant broken")
)
