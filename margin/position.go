package margin

import (
	"github.com/paperperps/exchange/fixed"
)

// Side is a one-way position's direction, used as the sign in the venue
// formulas.
type Side int8

const (
	Long  Side = 1
	Short Side = -1
)

// String makes sides readable in test failures.
func (s Side) String() string {
	switch s {
	case Long:
		return "long"
	case Short:
		return "short"
	}
	return "Side(invalid)"
}

// UnrealizedPnL is the exact profit or loss of a position marked at
// markTicks: side × (sizeLots × markTicks × quotePerTickLot −
// entryValueQuote). entryValueQuote is the position's entry notional in
// quote units, the sum over its opening fills of price × quantity ×
// quotePerTickLot; keeping the sum instead of an entry price keeps the PnL
// exact even when the average entry is not a whole tick. No rounding
// happens, so nothing is minted or lost here.
//
// sizeLots and entryValueQuote are magnitudes (0 for no position);
// markTicks and quotePerTickLot are positive. An out-of-range product or
// difference is ErrOverflow. It allocates nothing.
func UnrealizedPnL(side Side, sizeLots, markTicks, entryValueQuote, quotePerTickLot int64) (int64, error) {
	switch {
	case side != Long && side != Short:
		return 0, errSide
	case sizeLots < 0:
		return 0, errNegativeSize
	case markTicks <= 0:
		return 0, errPrice
	case entryValueQuote < 0:
		return 0, errEntryValue
	case quotePerTickLot <= 0:
		return 0, errQuotePerTickLot
	}
	pq, err := fixed.Mul(sizeLots, markTicks)
	if err != nil {
		return 0, errPnLOverflow
	}
	markValue, err := fixed.Mul(pq, quotePerTickLot)
	if err != nil {
		return 0, errPnLOverflow
	}
	// Both values are non-negative, so the difference always fits and so
	// does its negation.
	pnl := markValue - entryValueQuote
	if side == Short {
		pnl = -pnl
	}
	return pnl, nil
}

// MarginBalance is wallet + unrealized PnL: for a cross account its wallet
// and the unrealized PnL of all its cross positions; for an isolated
// position its allocated margin and its own PnL. An out-of-range sum is
// ErrOverflow.
func MarginBalance(walletQuote, unrealizedQuote int64) (int64, error) {
	b, err := fixed.Add(walletQuote, unrealizedQuote)
	if err != nil {
		return 0, errBalanceOverflow
	}
	return b, nil
}

// Liquidatable reports whether a margin balance of walletQuote +
// unrealizedQuote has fallen to or below maintQuote, the summed maintenance
// margin of the positions it backs. Venues liquidate when the margin ratio
// (maintenance / balance) reaches 100%, that is at equality too, and the
// liquidation-price formula is the root of balance = maintenance, so the
// price LiquidationPrice reports is consistent with this test (see there).
//
// The comparison is exact for every input: if the balance does not fit in
// an int64 its sign decides, since maintQuote fits. It is meant for an
// account or isolated position with open positions; with none there is
// nothing to liquidate, whatever it returns.
func Liquidatable(walletQuote, unrealizedQuote, maintQuote int64) bool {
	balance, err := fixed.Add(walletQuote, unrealizedQuote)
	if err != nil {
		// Both addends share a sign and the true sum is beyond int64 in
		// that direction.
		return walletQuote < 0
	}
	return balance <= maintQuote
}
