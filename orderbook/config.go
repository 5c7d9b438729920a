package orderbook

import (
	"errors"
	"fmt"
)

// Hard ceilings that keep every product inside int64 and every index inside
// uint32. Config.Validate enforces them.
const (
	// MaxPriceTicksLimit bounds prices: 2^40 ticks is 10^11 USDT at a
	// 0.1 tick, and price × band-ppm stays below 2^60.
	MaxPriceTicksLimit = int64(1) << 40
	// MaxOrderLotsLimit bounds an order's quantity so that the sum of all
	// resting quantity (at most MaxRestingOrdersLimit orders) fits in int64.
	MaxOrderLotsLimit = int64(1) << 40
	// MaxRestingOrdersLimit keeps order slots addressable by uint32.
	MaxRestingOrdersLimit = 1 << 22
	// MaxAccountsLimit bounds the per-account table.
	MaxAccountsLimit = 1 << 26
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("orderbook: invalid config")

// Config holds a book's limits. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// MaxPriceTicks is the highest price an order may carry (the lowest is
	// 1 tick). Default 2^32 ticks.
	MaxPriceTicks int64
	// MaxOrderLots is the largest quantity of one order. Default 10^9 lots.
	MaxOrderLots int64
	// MaxRestingOrders caps the orders resting in the book. Default 1,000,000.
	MaxRestingOrders int
	// MaxOrdersPerAccount caps one account's resting orders. Default 200,
	// as on large venues.
	MaxOrdersPerAccount int
	// MaxPriceLevels caps the non-empty price levels of each side: an order
	// that would open a new level on a full side is refused. Levels live in
	// pages of 256 prices (about 6 KB), so this also bounds the memory of
	// orders spread far apart. Default 10,000.
	MaxPriceLevels int
	// MaxAccounts bounds account ids: an id must be below it. Default 2^24.
	MaxAccounts int
	// PriceBandTicks rejects a limit price further than this many ticks from
	// the reference price (0 = no tick band). Default 0.
	PriceBandTicks int64
	// PriceBandPpm rejects a limit price further than this fraction (parts
	// per million) of the reference price from it (0 = no percentage band).
	// When both bands are set the narrower applies. Default 50,000 (5%).
	// Market orders stop matching at the band's edge. Without a reference
	// price (0) no band applies.
	PriceBandPpm int64
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		MaxPriceTicks:       1 << 32,
		MaxOrderLots:        1_000_000_000,
		MaxRestingOrders:    1_000_000,
		MaxOrdersPerAccount: 200,
		MaxPriceLevels:      10_000,
		MaxAccounts:         1 << 24,
		PriceBandTicks:      0,
		PriceBandPpm:        50_000,
	}
}

// Validate reports every problem of the config at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.MaxPriceTicks < 1 || c.MaxPriceTicks > MaxPriceTicksLimit {
		bad("MaxPriceTicks %d not in [1, %d]", c.MaxPriceTicks, MaxPriceTicksLimit)
	}
	if c.MaxOrderLots < 1 || c.MaxOrderLots > MaxOrderLotsLimit {
		bad("MaxOrderLots %d not in [1, %d]", c.MaxOrderLots, MaxOrderLotsLimit)
	}
	if c.MaxRestingOrders < 1 || c.MaxRestingOrders > MaxRestingOrdersLimit {
		bad("MaxRestingOrders %d not in [1, %d]", c.MaxRestingOrders, MaxRestingOrdersLimit)
	}
	if c.MaxOrdersPerAccount < 1 || c.MaxOrdersPerAccount > c.MaxRestingOrders {
		bad("MaxOrdersPerAccount %d not in [1, MaxRestingOrders %d]", c.MaxOrdersPerAccount, c.MaxRestingOrders)
	}
	if c.MaxPriceLevels < 1 || c.MaxPriceLevels > MaxRestingOrdersLimit {
		bad("MaxPriceLevels %d not in [1, %d]", c.MaxPriceLevels, MaxRestingOrdersLimit)
	}
	if c.MaxAccounts < 1 || c.MaxAccounts > MaxAccountsLimit {
		bad("MaxAccounts %d not in [1, %d]", c.MaxAccounts, MaxAccountsLimit)
	}
	if c.PriceBandTicks < 0 || c.PriceBandTicks > MaxPriceTicksLimit {
		bad("PriceBandTicks %d not in [0, %d]", c.PriceBandTicks, MaxPriceTicksLimit)
	}
	if c.PriceBandPpm < 0 || c.PriceBandPpm > 1_000_000 {
		bad("PriceBandPpm %d not in [0, 1000000]", c.PriceBandPpm)
	}
	return errors.Join(errs...)
}
