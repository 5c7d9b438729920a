package margin

import (
	"encoding/binary"
	"fmt"

	"github.com/paperperps/exchange/fixed"
)

// MarkInput is what MarkPrice needs from one market. Prices are in ticks,
// times in nanoseconds.
type MarkInput struct {
	IndexTicks int64 // the index (spot reference) price, > 0
	// LastFundingRatePpm is the rate of the last funding settlement, in
	// (−1,000,000, +1,000,000) ppm.
	LastFundingRatePpm int64
	// NanosToFunding is the time until the next funding settlement, in
	// [0, FundingIntervalNanos]; FundingIntervalNanos is > 0.
	NanosToFunding       int64
	FundingIntervalNanos int64
	// BasisTicks is the moving average of (book mid − index), for example
	// BasisAverage.Ticks; HasBasis false means there is none yet (the book
	// has not had both sides since the average was last reset).
	BasisTicks int64
	HasBasis   bool
	// LastTradeTicks is the last trade's price; 0 means no trade yet.
	LastTradeTicks int64
}

// MarkPrice is the price positions are valued and liquidated at, following
// the construction Binance USDⓈ-M documents for its mark price: the median
// of three prices, each harder to push around than the last trade alone:
//
//	(a) index × (1 + last funding rate × time to next funding / interval):
//	    the index carried by the funding the market last agreed on, fading
//	    toward the bare index as funding approaches;
//	(b) index + moving average of (book mid − index): the index shifted by
//	    the book's recent (not instantaneous) premium;
//	(c) the last trade price.
//
// Fallbacks, when the book has no basis yet (b is missing) or there has
// been no trade (c is missing): the median of what is available, where the
// median of two is their mean; and when only (a) remains, the bare index.
// (a) alone is a forecast of a market that does not exist, and would drift
// the mark with the clock while nothing trades.
//
// Every step is exact integer arithmetic; the single rounding of each
// component and of the mean is to the nearest tick, ties to the even tick,
// so over many ties neither longs nor shorts are favoured. A component that
// would fall below 1 tick counts as 1 tick: no price is lower.
//
// Errors wrap ErrInvalidInput (inputs outside the ranges above) or
// ErrOverflow (a component beyond int64). It allocates nothing.
func MarkPrice(in MarkInput) (int64, error) {
	switch {
	case in.IndexTicks <= 0:
		return 0, errIndex
	case in.FundingIntervalNanos <= 0, in.NanosToFunding < 0, in.NanosToFunding > in.FundingIntervalNanos:
		return 0, errFundingTime
	case in.LastFundingRatePpm <= -fixed.PpmPerUnit, in.LastFundingRatePpm >= fixed.PpmPerUnit:
		return 0, errFundingRate
	case in.LastTradeTicks < 0:
		return 0, errLastTrade
	}
	if !in.HasBasis && in.LastTradeTicks == 0 {
		return in.IndexTicks, nil
	}
	var c [3]int64
	a, err := fundingCarried(in.IndexTicks, in.LastFundingRatePpm, in.NanosToFunding, in.FundingIntervalNanos)
	if err != nil {
		return 0, err
	}
	c[0] = a
	n := 1
	if in.HasBasis {
		b, err := fixed.Add(in.IndexTicks, in.BasisTicks)
		if err != nil {
			return 0, errMarkOverflow
		}
		c[n] = max(b, 1)
		n++
	}
	if in.LastTradeTicks > 0 {
		c[n] = in.LastTradeTicks
		n++
	}
	if n == 2 {
		return meanHalfEven(c[0], c[1]), nil
	}
	return median3(c[0], c[1], c[2]), nil
}

// fundingCarried is component (a): index + index·rate·t / (10^6·T), rounded
// to the nearest tick, ties to even. index·rate·t has up to ~190 bits, so
// it is divided in two exact steps with the remainders carried:
//
//	index·|rate| = q1·10^6 + r1,  q1·t = q2·T + r2,
//	index·|rate|·t / (10^6·T) = q2 + (r2·10^6 + r1·t) / (10^6·T)
//
// with q1 <= index (|rate| < 10^6) and q2 <= q1 (t <= T), and the fraction
// in [0, 2), its numerator and denominator below 2^85.
func fundingCarried(index, ratePpm, t, interval int64) (int64, error) {
	if ratePpm == 0 || t == 0 {
		return index, nil
	}
	mag := uint64(ratePpm)
	if ratePpm < 0 {
		mag = uint64(-ratePpm)
	}
	q1, r1 := mulU64(uint64(index), mag).quoRemU(fixed.PpmPerUnit)
	q2, r2 := mulU64(q1.lo, uint64(t)).quoRemU(uint64(interval))
	num := mulU64(r2, fixed.PpmPerUnit).add(mulU64(r1, uint64(t)))
	den := mulU64(fixed.PpmPerUnit, uint64(interval))
	term := q2.lo // <= index, so it fits an int64
	if num.cmp(den) >= 0 {
		term++
		num = num.sub(den)
	}
	// Now the term is term + num/den with 0 <= num < den. Write the
	// component as whole + frac/den with 0 <= frac < den, then round.
	var whole int64
	frac := num
	if ratePpm > 0 {
		w, err := fixed.Add(index, int64(term))
		if err != nil {
			return 0, errMarkOverflow
		}
		whole = w
	} else {
		whole = index - int64(term) // both in [0, index]: no overflow
		if num != (i128{}) {
			whole--
			frac = den.sub(num)
		}
	}
	up := 0
	switch frac.add(frac).cmp(den) {
	case 1:
		up = 1
	case 0:
		up = int(whole & 1) // a tie goes to the even tick
	}
	if up == 1 {
		w, err := fixed.Add(whole, 1)
		if err != nil {
			return 0, errMarkOverflow
		}
		whole = w
	}
	return max(whole, 1), nil
}

// meanHalfEven is (x + y) / 2 for positive x and y, to the nearest tick,
// ties to even. The sum fits a uint64.
func meanHalfEven(x, y int64) int64 {
	s := uint64(x) + uint64(y)
	q := s / 2
	if s&1 == 1 && q&1 == 1 {
		q++
	}
	return int64(q) // <= max(x, y)
}

func median3(a, b, c int64) int64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}

// divHalfEven is num/den (den > 0) rounded to the nearest integer, ties to
// even.
func divHalfEven(num, den int64) int64 {
	q, r := num/den, num%den
	if r < 0 { // make it floor division: 0 <= r < den
		q--
		r += den
	}
	if r > den-r || (r == den-r && q&1 != 0) {
		q++
	}
	return q
}

// BasisWindow is the number of samples BasisAverage averages. Binance
// averages (mid − index) sampled every second over five minutes; with one
// sample per second this is the same window.
const BasisWindow = 300

// BasisAverage is the moving average of (book mid − index) behind component
// (b) of MarkPrice: a simple average of the last BasisWindow samples, kept
// in a fixed ring so that adding a sample never allocates. Samples are
// stored in half-ticks (bid + ask − 2·index) so a mid between two ticks is
// exact; the average is rounded once, when read. The caller decides when to
// sample (say each second of command time in which the book has both
// sides), which keeps it deterministic. The zero value is empty and ready.
type BasisAverage struct {
	halfTicks [BasisWindow]int64
	sum       int64 // of the held samples, in half-ticks
	n         int   // samples held, <= BasisWindow
	next      int   // ring slot the next sample goes to
}

// Add records a sample of the best bid, best ask and index (all > 0),
// replacing the oldest once BasisWindow samples are held. An error
// (ErrInvalidInput, or ErrOverflow for prices near the int64 limit) leaves
// the average unchanged.
func (m *BasisAverage) Add(bidTicks, askTicks, indexTicks int64) error {
	if bidTicks <= 0 || askTicks <= 0 || indexTicks <= 0 {
		return errBookPrice
	}
	mid2, err1 := fixed.Add(bidTicks, askTicks)
	index2, err2 := fixed.Mul(indexTicks, 2)
	sample, err3 := fixed.Sub(mid2, index2)
	sum := m.sum
	var err4 error
	if m.n == BasisWindow {
		sum, err4 = fixed.Sub(sum, m.halfTicks[m.next])
	}
	sum, err5 := fixed.Add(sum, sample)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil {
		return errAverageOverflow
	}
	m.halfTicks[m.next] = sample
	m.sum = sum
	m.next = (m.next + 1) % BasisWindow
	m.n = min(m.n+1, BasisWindow)
	return nil
}

// Ticks is the average basis in ticks, to the nearest tick with ties to
// even; ok is false when there are no samples.
func (m *BasisAverage) Ticks() (basisTicks int64, ok bool) {
	if m.n == 0 {
		return 0, false
	}
	return divHalfEven(m.sum, 2*int64(m.n)), true
}

// Len is the number of samples held.
func (m *BasisAverage) Len() int { return m.n }

// Reset empties the average (for example when the index feed restarts).
func (m *BasisAverage) Reset() { *m = BasisAverage{} }

const basisAverageVersion = 1

// AppendBinary appends the average's state for an engine snapshot: a
// version byte, the sample count and the samples oldest first, as varints.
// Where the ring happens to start is not part of the state, so two averages
// that hold the same samples encode (and hash) the same.
func (m *BasisAverage) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, basisAverageVersion)
	b = binary.AppendUvarint(b, uint64(m.n))
	first := (m.next - m.n + BasisWindow) % BasisWindow
	for i := range m.n {
		b = binary.AppendVarint(b, m.halfTicks[(first+i)%BasisWindow])
	}
	return b, nil
}

// UnmarshalBinary restores a state written by AppendBinary; on error
// (ErrInvalidInput) the average is left unchanged.
func (m *BasisAverage) UnmarshalBinary(data []byte) error {
	bad := func(why string) error { return fmt.Errorf("%w: basis average snapshot: %s", ErrInvalidInput, why) }
	if len(data) == 0 || data[0] != basisAverageVersion {
		return bad("unknown version")
	}
	data = data[1:]
	n, k := binary.Uvarint(data)
	if k <= 0 || n > BasisWindow {
		return bad("bad sample count")
	}
	data = data[k:]
	var r BasisAverage
	for i := range int(n) {
		v, k := binary.Varint(data)
		if k <= 0 {
			return bad("truncated sample")
		}
		data = data[k:]
		sum, err := fixed.Add(r.sum, v)
		if err != nil {
			return bad("samples overflow their sum")
		}
		r.halfTicks[i], r.sum = v, sum
	}
	if len(data) != 0 {
		return bad("trailing bytes")
	}
	r.n, r.next = int(n), int(n)%BasisWindow
	*m = r
	return nil
}
