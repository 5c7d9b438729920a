package margin

import (
	"errors"
	"fmt"
)

// Go errors from this package mean a broken invariant or a bad config, never
// a business rejection (the engine turns those into reason codes). Each is
// one of the sentinels below, checked with errors.Is.
var (
	// ErrInvalidBrackets is wrapped by every problem NewBrackets reports
	// and returned when the zero Brackets is used.
	ErrInvalidBrackets = errors.New("margin: invalid brackets")
	// ErrInvalidInput means an argument is outside its documented domain: a
	// negative notional, leverage below 1, a side other than Long or Short.
	ErrInvalidInput = errors.New("margin: invalid input")
	// ErrOverflow means an exact result does not fit in an int64. It is
	// returned instead of a wrapped-around value: a wrapped requirement or
	// payment would be silently wrong money.
	ErrOverflow = errors.New("margin: overflow")
)

// The functions that sit on the engine's hot paths return these
// pre-wrapped errors: they say what went wrong without allocating, which a
// fmt.Errorf at the call site would do.
var (
	errNoBrackets       = fmt.Errorf("%w: the zero Brackets; build them with NewBrackets", ErrInvalidBrackets)
	errNegativeNotional = fmt.Errorf("%w: negative notional", ErrInvalidInput)
	errLeverage         = fmt.Errorf("%w: leverage below 1", ErrInvalidInput)
	errSide             = fmt.Errorf("%w: side is neither Long (+1) nor Short (-1)", ErrInvalidInput)
	errSize             = fmt.Errorf("%w: size must be positive", ErrInvalidInput)
	errNegativeSize     = fmt.Errorf("%w: negative size", ErrInvalidInput)
	errPrice            = fmt.Errorf("%w: price must be positive", ErrInvalidInput)
	errQuotePerTickLot  = fmt.Errorf("%w: quote per tick-lot must be positive", ErrInvalidInput)
	errEntryValue       = fmt.Errorf("%w: negative entry value", ErrInvalidInput)
	errEntryValueZero   = fmt.Errorf("%w: entry value must be positive", ErrInvalidInput)
	errOtherMaint       = fmt.Errorf("%w: negative maintenance margin of other positions", ErrInvalidInput)
	errIndex            = fmt.Errorf("%w: index price must be positive", ErrInvalidInput)
	errFundingTime      = fmt.Errorf("%w: time to funding outside [0, funding interval] or interval not positive", ErrInvalidInput)
	errFundingRate      = fmt.Errorf("%w: funding rate not strictly between -100%% and +100%%", ErrInvalidInput)
	errLastTrade        = fmt.Errorf("%w: negative last trade price", ErrInvalidInput)
	errClamp            = fmt.Errorf("%w: negative funding clamp", ErrInvalidInput)
	errBookPrice        = fmt.Errorf("%w: book or index price must be positive", ErrInvalidInput)

	errPnLOverflow      = fmt.Errorf("%w: unrealized PnL", ErrOverflow)
	errBalanceOverflow  = fmt.Errorf("%w: margin balance", ErrOverflow)
	errFundingOverflow  = fmt.Errorf("%w: funding payment", ErrOverflow)
	errLiqSizeOverflow  = fmt.Errorf("%w: size × quote per tick-lot", ErrOverflow)
	errLiqPriceOverflow = fmt.Errorf("%w: the long is liquidatable at every price whose notional fits in int64", ErrOverflow)
	errMarkOverflow     = fmt.Errorf("%w: mark price component", ErrOverflow)
	errPremiumOverflow  = fmt.Errorf("%w: premium index", ErrOverflow)
	errRateOverflow     = fmt.Errorf("%w: funding rate", ErrOverflow)
	errAverageOverflow  = fmt.Errorf("%w: moving average sum", ErrOverflow)
	errPremiumAverage   = fmt.Errorf("%w: premium average (weighted sum or sample count)", ErrOverflow)
	errPremiumSnapshot  = fmt.Errorf("%w: premium average snapshot is malformed", ErrInvalidInput)
)
