package margin

import (
	"math"
	"math/bits"
)

// i128 is a two's-complement 128-bit integer. The liquidation price and the
// funding term of the mark price need a few exact products of three int64
// factors; math/big would allocate on every call, and these paths run on
// every fill and every mark update. Callers keep magnitudes well below 2^127
// (each use states its bound), so the operations need no overflow checks.
type i128 struct{ hi, lo uint64 }

func i128From(x int64) i128 { return i128{hi: uint64(x >> 63), lo: uint64(x)} }

// mulU64 is the exact product a × b; callers keep it below 2^127 so that
// it reads as non-negative.
func mulU64(a, b uint64) i128 {
	hi, lo := bits.Mul64(a, b)
	return i128{hi, lo}
}

func (a i128) add(b i128) i128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return i128{hi, lo}
}

func (a i128) sub(b i128) i128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, borrow)
	return i128{hi, lo}
}

func (a i128) neg() i128 { return i128{}.sub(a) }

func (a i128) isNeg() bool { return int64(a.hi) < 0 }

// cmp returns -1, 0 or +1 as a is below, equal to or above b.
func (a i128) cmp(b i128) int {
	switch {
	case a.hi != b.hi:
		if int64(a.hi) < int64(b.hi) {
			return -1
		}
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// mulU returns a × m; the caller guarantees |a| × m < 2^127.
func (a i128) mulU(m uint64) i128 {
	neg := a.isNeg()
	if neg {
		a = a.neg()
	}
	hi, lo := bits.Mul64(a.lo, m)
	r := i128{hi + a.hi*m, lo}
	if neg {
		r = r.neg()
	}
	return r
}

// quoRemU divides a non-negative a by d > 0 (full 128-bit quotient).
func (a i128) quoRemU(d uint64) (i128, uint64) {
	qhi, r := a.hi/d, a.hi%d
	qlo, r := bits.Div64(r, a.lo, d) // r < d, so Div64 cannot panic
	return i128{qhi, qlo}, r
}

// floorDivU is floor(a / d) for d > 0, toward negative infinity.
func (a i128) floorDivU(d uint64) i128 {
	if !a.isNeg() {
		q, _ := a.quoRemU(d)
		return q
	}
	q, r := a.neg().quoRemU(d)
	if r != 0 {
		q = q.add(i128{lo: 1})
	}
	return q.neg()
}

// ceilDivU is ceil(a / d) for d > 0.
func (a i128) ceilDivU(d uint64) i128 { return a.neg().floorDivU(d).neg() }

// clamp64 is a limited to the int64 range, for comparisons with int64
// bounds that lie inside it.
func (a i128) clamp64() int64 {
	switch {
	case a.hi == 0 && a.lo <= math.MaxInt64:
		return int64(a.lo)
	case a.hi == math.MaxUint64 && a.lo >= 1<<63:
		return int64(a.lo)
	case a.isNeg():
		return math.MinInt64
	}
	return math.MaxInt64
}

// int64 returns a as an int64 when |a| < 2^63 − 1, so that callers may
// divide it with int64 arithmetic and adjust the quotient by one without
// wrapping.
func (a i128) int64() (int64, bool) {
	v := int64(a.lo)
	return v, a.hi == uint64(v>>63) && v > math.MinInt64+1 && v < math.MaxInt64
}
