package margin

import (
	"errors"
	"fmt"
	"math"

	"github.com/paperperps/exchange/fixed"
)

// MaxTiers bounds a bracket table. Venues publish at most a dozen or so
// tiers; the bound keeps the linear tier lookup and the liquidation-price
// search short whatever a config file says.
const MaxTiers = 32

// TierSpec is one configured leverage tier: positions whose absolute
// notional lies in [FloorQuote, CapQuote) may use at most MaxLeverage and
// need MaintRatePpm of their notional as maintenance margin.
type TierSpec struct {
	FloorQuote   int64 // quote units; tier 1's is 0, each later one the previous cap
	CapQuote     int64 // quote units, exclusive
	MaxLeverage  int64 // at least 1, never above the previous tier's
	MaintRatePpm int64 // parts per million, above the previous tier's
}

// Tier is a validated tier with its derived maintenance amount.
type Tier struct {
	Number       int // 1-based position in the table, for display
	FloorQuote   int64
	CapQuote     int64
	MaxLeverage  int64
	MaintRatePpm int64
	// MaintAmountQuote ("cum" in venue docs) is subtracted from notional ×
	// rate so that the requirement is continuous where the rate steps up:
	// cum_1 = 0, cum_n = floor_n × (rate_n − rate_(n−1)) + cum_(n−1).
	MaintAmountQuote int64
	// MaintAmountRoundedDown is true when floor_n × (rate_n − rate_(n−1))
	// was not a whole number of quote units and was rounded down. A smaller
	// amount makes every requirement in this tier larger, so the rounding
	// is conservative; the cost is that the requirement jumps up by less
	// than one quote unit at this tier's floor. The built-in tables are
	// exact (whole-USDT floors, whole-ppm rates).
	MaintAmountRoundedDown bool
}

// Brackets is a validated leverage bracket table. It is an immutable value:
// copies share storage that nothing ever writes after NewBrackets, so it can
// be passed around freely. The zero Brackets is unusable on purpose (its
// methods report errNoBrackets or return the zero Tier).
type Brackets struct {
	tiers []Tier
	// exact is true when no maintenance amount was rounded. Only then is a
	// long's liquidation test monotone in price across tier boundaries,
	// which LiquidationPrice uses to search from a nearby tier.
	exact bool
	// minWidth is the narrowest tier's width, cap − floor, with the last
	// tier reaching to MaxInt64: every tier then holds a tick of a
	// position whose notional per tick is below it (LiquidationPrice's
	// direct walk).
	minWidth int64
}

// NewBrackets validates a bracket table and derives each tier's
// maintenance amount. It reports every problem at once (errors.Join), each
// wrapping ErrInvalidBrackets:
//   - 1 to MaxTiers tiers;
//   - tier 1's floor is 0 and each later floor equals the previous cap;
//     caps increase (every tier is a non-empty range);
//   - max leverage is at least 1 and never increases from tier to tier;
//   - maintenance rates are positive and strictly increasing;
//   - each tier's maintenance rate is below its initial margin rate at max
//     leverage (rate × maxLeverage < 100%), or a position opened at max
//     leverage would be liquidatable the moment it opens.
//
// Notional above the last cap is still charged at the last tier: the last
// cap is informational (venues refuse such positions by leverage and order
// limits, not by the bracket).
func NewBrackets(specs []TierSpec) (Brackets, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidBrackets}, args...)...))
	}
	if len(specs) == 0 {
		bad("no tiers")
	}
	if len(specs) > MaxTiers {
		bad("%d tiers, at most %d", len(specs), MaxTiers)
	}
	for i, s := range specs {
		n := i + 1
		if i == 0 && s.FloorQuote != 0 {
			bad("tier 1: floor %s, want 0", fixed.QuoteAmount(s.FloorQuote))
		}
		if s.CapQuote <= s.FloorQuote {
			bad("tier %d: cap %s is not above its floor %s", n, fixed.QuoteAmount(s.CapQuote), fixed.QuoteAmount(s.FloorQuote))
		}
		if s.MaxLeverage < 1 {
			bad("tier %d: max leverage %d is below 1", n, s.MaxLeverage)
		}
		if s.MaintRatePpm <= 0 {
			bad("tier %d: maintenance rate %s is not positive", n, fixed.Rate(s.MaintRatePpm))
		}
		if s.MaxLeverage >= 1 && s.MaintRatePpm > 0 {
			// rate × leverage < 1,000,000 ppm says rate < 1/leverage exactly;
			// an overflowing product is far above it.
			if p, err := fixed.Mul(s.MaintRatePpm, s.MaxLeverage); err != nil || p >= fixed.PpmPerUnit {
				bad("tier %d: maintenance rate %s is not below the initial margin rate 1/%d at max leverage",
					n, fixed.Rate(s.MaintRatePpm), s.MaxLeverage)
			}
		}
		if i == 0 {
			continue
		}
		p := specs[i-1]
		if s.FloorQuote != p.CapQuote {
			bad("tier %d: floor %s differs from tier %d's cap %s", n, fixed.QuoteAmount(s.FloorQuote), i, fixed.QuoteAmount(p.CapQuote))
			// With the floors chained, cap > floor already says caps
			// increase; without, say it separately.
			if s.CapQuote <= p.CapQuote {
				bad("tier %d: cap %s is not above tier %d's cap %s", n, fixed.QuoteAmount(s.CapQuote), i, fixed.QuoteAmount(p.CapQuote))
			}
		}
		// A comparison with a previous value already reported as invalid
		// would only repeat that problem.
		if p.MaxLeverage >= 1 && s.MaxLeverage > p.MaxLeverage {
			bad("tier %d: max leverage %d is above tier %d's %d", n, s.MaxLeverage, i, p.MaxLeverage)
		}
		if p.MaintRatePpm > 0 && s.MaintRatePpm <= p.MaintRatePpm {
			bad("tier %d: maintenance rate %s is not above tier %d's %s", n, fixed.Rate(s.MaintRatePpm), i, fixed.Rate(p.MaintRatePpm))
		}
	}
	if len(errs) > 0 {
		return Brackets{}, errors.Join(errs...)
	}

	b := Brackets{tiers: make([]Tier, len(specs)), exact: true, minWidth: math.MaxInt64 - specs[len(specs)-1].FloorQuote}
	var cum int64
	for i, s := range specs {
		if i < len(specs)-1 {
			b.minWidth = min(b.minWidth, s.CapQuote-s.FloorQuote)
		}
		t := Tier{Number: i + 1, FloorQuote: s.FloorQuote, CapQuote: s.CapQuote, MaxLeverage: s.MaxLeverage, MaintRatePpm: s.MaintRatePpm}
		if i > 0 {
			step := s.MaintRatePpm - specs[i-1].MaintRatePpm // positive, below 1e6
			down, err1 := fixed.ApplyPpm(s.FloorQuote, step, fixed.RoundDown)
			up, err2 := fixed.ApplyPpm(s.FloorQuote, step, fixed.RoundUp)
			next, err3 := fixed.Add(cum, down)
			if err := errors.Join(err1, err2, err3); err != nil {
				// Unreachable for valid tiers (the amount stays below
				// floor × rate < floor), kept because it is cheap.
				bad("tier %d: maintenance amount: %v", i+1, err)
				continue
			}
			cum = next
			t.MaintAmountRoundedDown = down != up
			b.exact = b.exact && down == up
		}
		t.MaintAmountQuote = cum
		b.tiers[i] = t
	}
	if len(errs) > 0 {
		return Brackets{}, errors.Join(errs...)
	}
	return b, nil
}

// MustNewBrackets is NewBrackets for built-in tables and tests, where a bad
// table is a bug in the source; it panics on error.
func MustNewBrackets(specs []TierSpec) Brackets {
	b, err := NewBrackets(specs)
	if err != nil {
		panic(err)
	}
	return b
}

// Exact reports whether every maintenance amount is exact, not rounded
// down (see Tier.MaintAmountRoundedDown): only then do a position's
// liquidatable prices lie all on one side of its liquidation price.
func (b Brackets) Exact() bool { return b.exact }

// Len is the number of tiers (0 for the zero Brackets).
func (b Brackets) Len() int { return len(b.tiers) }

// TierAt returns tier i, counted from 0. It panics if i is out of range,
// like indexing a slice.
func (b Brackets) TierAt(i int) Tier { return b.tiers[i] }

// index is the position of the tier whose [floor, cap) holds the notional;
// the last tier for notionals at or above the last cap; the first tier for
// a negative notional (below every floor). -1 for the zero Brackets. The
// scan is linear: most positions sit in the first tier or two, where it
// beats a binary search.
func (b Brackets) index(absNotionalQuote int64) int {
	last := len(b.tiers) - 1
	for i := 0; i < last; i++ {
		if absNotionalQuote < b.tiers[i].CapQuote {
			return i
		}
	}
	return last
}

// Tier returns the tier whose [floor, cap) holds absNotionalQuote. A
// notional at or above the last cap gets the last tier (its rate and
// leverage keep applying). A negative notional, which is a caller bug,
// gets the first tier; MaintenanceMargin rejects it. The zero Brackets
// returns the zero Tier, whose MaxLeverage of 0 refuses every leverage.
func (b Brackets) Tier(absNotionalQuote int64) Tier {
	i := b.index(absNotionalQuote)
	if i < 0 {
		return Tier{}
	}
	return b.tiers[i]
}

// MaxLeverage is the highest leverage allowed for a position of
// absNotionalQuote (the tier's MaxLeverage; 0 for the zero Brackets).
func (b Brackets) MaxLeverage(absNotionalQuote int64) int64 {
	// Indexed directly rather than through Tier, which copies the whole
	// tier: this runs in every order's margin check.
	i := b.index(absNotionalQuote)
	if i < 0 {
		return 0
	}
	return b.tiers[i].MaxLeverage
}

// MaintenanceMargin is the maintenance requirement of a position whose
// absolute notional at the mark price is absNotionalQuote:
// ceil(notional × rate / 1,000,000) − cum of its tier. It is a requirement,
// so it rounds up. It is never negative: for a notional inside its tier
// notional × rate exceeds cum, and the floor at 0 only guards that
// argument. It cannot overflow (rate < 100%, so the result is below the
// notional); it returns errors only for the zero Brackets or a negative
// notional. It allocates nothing.
func (b Brackets) MaintenanceMargin(absNotionalQuote int64) (int64, error) {
	if len(b.tiers) == 0 {
		return 0, errNoBrackets
	}
	if absNotionalQuote < 0 {
		return 0, errNegativeNotional
	}
	t := &b.tiers[b.index(absNotionalQuote)]
	m, err := fixed.ApplyPpm(absNotionalQuote, t.MaintRatePpm, fixed.RoundUp)
	if err != nil { // unreachable: the rate is below 1,000,000 ppm
		return 0, ErrOverflow
	}
	m -= t.MaintAmountQuote // both non-negative: cannot overflow
	if m < 0 {
		m = 0
	}
	return m, nil
}

// InitialMargin is ceil(absNotionalQuote / leverage): the margin a position
// of that notional needs at that leverage, a requirement and so rounded up.
// It checks neither the bracket's leverage limit (see MaxLeverage) nor
// fees; it allocates nothing.
func InitialMargin(absNotionalQuote, leverage int64) (int64, error) {
	if absNotionalQuote < 0 {
		return 0, errNegativeNotional
	}
	if leverage < 1 {
		return 0, errLeverage
	}
	// Both are non-negative, so truncation is the floor and the ceiling is
	// one more when there is a remainder; one int64 division (this runs in
	// every order's margin check) where fixed.Div would go through 128 bits.
	m := absNotionalQuote / leverage
	if absNotionalQuote%leverage != 0 {
		m++
	}
	return m, nil
}
