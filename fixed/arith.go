package fixed

import (
	"errors"
	"math"
	"math/bits"
	"strconv"
)

// The arithmetic below returns these sentinels unwrapped: wrapping would
// allocate on the hot path, and the caller knows which operands it passed.
var (
	// ErrOverflow means the exact result does not fit in an int64. It is
	// returned instead of a wrapped-around value because a wrapped balance or
	// notional is silently wrong money.
	ErrOverflow = errors.New("fixed: overflow")
	// ErrDivideByZero is returned rather than panicking so that a zero
	// quantity reaching a division is reported as a broken invariant by the
	// caller instead of taking the whole engine down mid-command.
	ErrDivideByZero = errors.New("fixed: division by zero")
)

// Rounding names the direction an inexact quotient is rounded in. Every
// division of money picks one explicitly so that a reader can check that the
// exchange never mints money: amounts a user must have (margin requirements,
// fees charged) round up, amounts credited to a user round down.
//
// The directions are defined on the number line, not on magnitudes, so they
// stay correct for signed amounts such as PnL, funding and maker rebates:
// -3.5 rounds down to -4 and up to -3.
type Rounding uint8

// The zero Rounding is deliberately invalid, so a Rounding field that was
// never set cannot quietly pick a direction.
const (
	// RoundDown rounds toward negative infinity (floor): 7/2 = 3, -7/2 = -4.
	RoundDown Rounding = iota + 1
	// RoundUp rounds toward positive infinity (ceiling): 7/2 = 4, -7/2 = -3.
	RoundUp
	// RoundTowardZero truncates like Go's / operator: 7/2 = 3, -7/2 = -3.
	// It favours neither side for signed amounts, so money code should
	// prefer RoundDown or RoundUp; it exists for quantities where only the
	// magnitude matters, such as splitting a quantity into whole lots.
	RoundTowardZero
)

// String makes rounding directions readable in test failures and logs.
func (r Rounding) String() string {
	switch r {
	case RoundDown:
		return "RoundDown"
	case RoundUp:
		return "RoundUp"
	case RoundTowardZero:
		return "RoundTowardZero"
	default:
		return "Rounding(" + strconv.Itoa(int(r)) + ")"
	}
}

// PpmPerUnit is the number of parts per million in a rate of 1 (100%).
const PpmPerUnit = 1_000_000

// Add returns a+b, or ErrOverflow instead of wrapping around.
func Add(a, b int64) (int64, error) {
	s := a + b
	// Overflow happened iff both operands have the same sign and the sum's
	// sign differs from it.
	if (s^a)&(s^b) < 0 {
		return 0, ErrOverflow
	}
	return s, nil
}

// Sub returns a-b, or ErrOverflow instead of wrapping around.
func Sub(a, b int64) (int64, error) {
	d := a - b
	// Overflow happened iff the operands have different signs and the
	// difference's sign differs from a's.
	if (a^b)&(a^d) < 0 {
		return 0, ErrOverflow
	}
	return d, nil
}

// Mul returns a*b, or ErrOverflow instead of wrapping around.
//
// It is small enough to inline (notionals and PnL are products on every
// fill): the signed 128-bit product's high word is the unsigned product's
// less b when a < 0 and less a when b < 0 (two's complement), and the
// product fits in an int64 exactly when that word is the sign extension of
// the low word.
func Mul(a, b int64) (int64, error) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	hi -= uint64(a>>63&b) + uint64(b>>63&a)
	if int64(hi) != int64(lo)>>63 {
		return 0, ErrOverflow
	}
	return int64(lo), nil
}

// Abs returns |x|, or ErrOverflow for math.MinInt64, whose magnitude does not
// fit in an int64. Requirements such as fees and margin are sized on the
// magnitude of a signed notional (see Grid.NotionalQuote), so that RoundUp
// rounds them away from zero rather than toward it.
func Abs(x int64) (int64, error) {
	if x >= 0 {
		return x, nil
	}
	if x == math.MinInt64 {
		return 0, ErrOverflow
	}
	return -x, nil
}

// MulDiv returns a*b/c rounded in direction r. The product is kept in 128
// bits, so it succeeds whenever the final quotient fits in an int64 even if
// a*b alone would not; this is what lets price × quantity × rate chains be
// computed exactly and rounded once.
//
// It returns ErrDivideByZero if c is 0 and ErrOverflow if the rounded
// quotient does not fit in an int64. It panics if r is not one of the named
// directions, because that is a programming error at the call site.
func MulDiv(a, b, c int64, r Rounding) (int64, error) {
	if r-1 > RoundTowardZero-1 { // also catches the zero Rounding, which wraps
		panic("fixed: invalid rounding direction " + r.String())
	}
	if c == 0 {
		return 0, ErrDivideByZero
	}
	neg := (a < 0) != (b < 0) != (c < 0)
	hi, lo := bits.Mul64(absU(a), absU(b))
	uc := absU(c)
	if hi >= uc {
		// The quotient needs more than 64 bits (and bits.Div64 would panic).
		return 0, ErrOverflow
	}
	q, rem := bits.Div64(hi, lo, uc)
	if rem != 0 && roundsAway(r, neg) {
		if q == math.MaxUint64 {
			return 0, ErrOverflow
		}
		q++
	}
	return fromMagnitude(q, neg)
}

// Div returns a/c rounded in direction r; it is MulDiv(a, 1, c, r), named
// for call sites such as average prices where nothing is multiplied.
func Div(a, c int64, r Rounding) (int64, error) {
	return MulDiv(a, 1, c, r)
}

// ApplyPpm returns amount × ratePpm / 1,000,000 rounded in direction r: a fee,
// margin or funding payment computed from a quote amount and a rate. The rate
// may be negative (maker rebates, funding paid to the other side).
//
// When amount × ratePpm fits in an int64 (every fee and margin the engine
// charges) it divides that by the constant 10^6, which the compiler turns
// into a multiplication, and rounds the truncated quotient itself; MulDiv's
// 128-bit division is left for larger products, and for an invalid r, on
// which it panics.
func ApplyPpm(amount, ratePpm int64, r Rounding) (int64, error) {
	p, err := Mul(amount, ratePpm)
	if err != nil || r-1 > RoundTowardZero-1 {
		return MulDiv(amount, ratePpm, PpmPerUnit, r)
	}
	q := p / PpmPerUnit // truncated toward zero
	if p%PpmPerUnit != 0 && roundsAway(r, p < 0) {
		if p < 0 {
			q-- // a negative quotient's truncation is its ceiling
		} else {
			q++
		}
	}
	return q, nil
}

// roundsAway reports whether a truncated magnitude must be incremented: the
// truncated magnitude is already the floor of a positive result and the
// ceiling of a negative one.
func roundsAway(r Rounding, neg bool) bool {
	switch r {
	case RoundDown:
		return neg
	case RoundUp:
		return !neg
	default: // RoundTowardZero; MulDiv has rejected anything else
		return false
	}
}

// absU returns |x| as a uint64, which unlike int64 can hold |MinInt64|.
func absU(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}

// fromMagnitude turns a sign and magnitude back into an int64; the negative
// range is one larger, so -2^63 is accepted while +2^63 is not.
func fromMagnitude(m uint64, neg bool) (int64, error) {
	if neg {
		if m > 1<<63 {
			return 0, ErrOverflow
		}
		return int64(-m), nil // for m = 2^63 this is exactly MinInt64
	}
	if m > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return int64(m), nil
}
