package fixed

import (
	"math"
	"math/bits"
	"strconv"
)

// The conversions of this file work on text and int64 only: an order's
// price and quantity arrive as decimal strings and its answer leaves as
// them, and going through decimal.Decimal (a big.Int each) costs more than
// the rest of an order's decoding. They give exactly what the decimal
// conversions give, and where that is not certain they say so and leave it
// to them (errors included), so the rules live in one place.

// TicksText is Ticks of a price written as a plain decimal ("100000.5":
// an optional minus, digits, an optional fraction). ok is false whenever
// it is not a price on the grid in [1, maxTicks] that it could convert
// with int64 arithmetic: the caller then converts with Ticks, which gives
// the answer or the error.
func (g Grid) TicksText(price string, maxTicks int64) (n int64, ok bool) {
	return g.tick.units(price, maxTicks)
}

// LotsText is Lots of a quantity written as a plain decimal; ok as for
// TicksText.
func (g Grid) LotsText(qty string, maxLots int64) (n int64, ok bool) {
	return g.lot.units(qty, maxLots)
}

// units is s/step when s is a positive plain decimal and that is a whole
// number in [1, maxUnits].
func (st step) units(s string, maxUnits int64) (int64, bool) {
	if st.coef <= 0 || len(s) == 0 || len(s) > 40 {
		return 0, false
	}
	// s = digits·10^-frac, the digits without leading zeros, and the
	// fraction without trailing ones.
	dot := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && dot < 0 && i > 0 && i < len(s)-1:
			dot = i
		default: // a sign (negative: not positive), an exponent, ...
			return 0, false
		}
	}
	if dot >= 0 {
		for s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
	}
	var digits uint64
	nd, frac := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			continue
		}
		if dot >= 0 && i > dot {
			frac++
		}
		if digits == 0 && c == '0' {
			continue
		}
		if nd++; nd > 18 {
			return 0, false
		}
		digits = digits*10 + uint64(c-'0')
	}
	if digits == 0 {
		return 0, false
	}
	// s/step = digits / (coef·10^(exp+frac)).
	k := -int64(st.exp) - int64(frac)
	var n uint64
	if k >= 0 {
		p, ok := pow10u(k)
		if !ok {
			return 0, false
		}
		hi, lo := bits.Mul64(digits, p)
		if hi != 0 || lo%uint64(st.coef) != 0 {
			return 0, false
		}
		n = lo / uint64(st.coef)
	} else {
		p, ok := pow10u(-k)
		if !ok {
			return 0, false
		}
		hi, den := bits.Mul64(uint64(st.coef), p)
		if hi != 0 || digits%den != 0 {
			return 0, false
		}
		n = digits / den
	}
	if n < 1 || n > uint64(maxUnits) || n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

func pow10u(e int64) (uint64, bool) {
	if e > 19 {
		return 0, false
	}
	p := uint64(1)
	for range e {
		p *= 10
	}
	return p, true
}

// AppendPrice appends Price(priceTicks).String().
func (g Grid) AppendPrice(b []byte, priceTicks int64) []byte {
	if b, ok := g.tick.appendUnits(b, priceTicks); ok {
		return b
	}
	return append(b, g.Price(priceTicks).String()...)
}

// AppendQty appends Qty(qtyLots).String().
func (g Grid) AppendQty(b []byte, qtyLots int64) []byte {
	if b, ok := g.lot.appendUnits(b, qtyLots); ok {
		return b
	}
	return append(b, g.Qty(qtyLots).String()...)
}

// AppendQuoteAmount appends QuoteAmount(amountQuote).String().
func AppendQuoteAmount(b []byte, amountQuote int64) []byte {
	b, _ = step{coef: 1, exp: -QuoteDecimals}.appendUnits(b, amountQuote) // coef 1 never overflows
	return b
}

// appendUnits appends n·step as decimal.Decimal's String writes it: no
// exponent, no trailing zeros in the fraction, "0" for zero. ok is false
// (and b unchanged) if n·coef overflows a uint64.
func (st step) appendUnits(b []byte, n int64) ([]byte, bool) {
	if st.coef <= 0 {
		return b, false
	}
	hi, lo := bits.Mul64(absU(n), uint64(st.coef))
	if hi != 0 {
		return b, false
	}
	if lo == 0 {
		return append(b, '0'), true
	}
	var tmp [24]byte
	digits := strconv.AppendUint(tmp[:0], lo, 10)
	exp := int(st.exp)
	if n < 0 {
		b = append(b, '-')
	}
	switch {
	case exp >= 0:
		b = append(b, digits...)
		for range exp {
			b = append(b, '0')
		}
	case len(digits) > -exp:
		cut := len(digits) + exp
		b = append(b, digits[:cut]...)
		b = appendFraction(b, digits[cut:])
	default:
		b = append(b, '0')
		zeros := -exp - len(digits)
		f := make([]byte, 0, 40)
		for range zeros {
			f = append(f, '0')
		}
		b = appendFraction(b, append(f, digits...))
	}
	return b, true
}

// appendFraction appends "." and f without its trailing zeros, or nothing
// if f is all zeros.
func appendFraction(b, f []byte) []byte {
	i := len(f)
	for i > 0 && f[i-1] == '0' {
		i--
	}
	if i == 0 {
		return b
	}
	return append(append(b, '.'), f[:i]...)
}
