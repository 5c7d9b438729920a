package margin

import (
	"encoding/binary"

	"github.com/paperperps/exchange/fixed"
)

// Funding defaults from the reference perpetuals (Binance USDⓈ-M BTC, ETH,
// SOL): settlement every 8 hours, an interest component of 0.01% per
// interval, and the premium's pull clamped to ±0.05% around it.
const (
	DefaultFundingIntervalNanos = 8 * 60 * 60 * 1_000_000_000
	DefaultInterestPpm          = 100
	DefaultFundingClampPpm      = 500
)

// PremiumIndexPpm measures how far the book trades from the index, in ppm
// of the index, following Binance's premium index:
//
//	(max(0, impact bid − index) − max(0, index − impact ask)) / index
//
// The impact bid and ask are the average prices at which a fixed "impact"
// notional would fill against the book (the caller computes them, since
// they are walks of the book). Only the part of the book beyond the index
// counts: a book straddling the index has premium 0. Pass 0 for a side too
// thin to fill the impact notional; it then contributes nothing.
//
// The ratio rounds toward zero, so books skewed up or down by the same
// amount give premiums of equal magnitude and rounding never creates a
// premium. Errors: ErrInvalidInput for a non-positive index or negative
// impact price, ErrOverflow for a premium beyond int64 ppm.
func PremiumIndexPpm(impactBidTicks, impactAskTicks, indexTicks int64) (int64, error) {
	if indexTicks <= 0 || impactBidTicks < 0 || impactAskTicks < 0 {
		return 0, errBookPrice
	}
	var num int64 // two non-negative int64 terms: the difference fits
	if impactBidTicks > indexTicks {
		num += impactBidTicks - indexTicks
	}
	if impactAskTicks > 0 && impactAskTicks < indexTicks {
		num -= indexTicks - impactAskTicks
	}
	p, err := fixed.MulDiv(num, fixed.PpmPerUnit, indexTicks, fixed.RoundTowardZero)
	if err != nil {
		return 0, errPremiumOverflow
	}
	return p, nil
}

// PremiumAverage accumulates premium index samples over one funding
// interval. Binance samples the premium every 5 seconds and averages with
// linearly increasing weights, (1·P₁ + 2·P₂ + … + n·Pₙ) / (1 + 2 + … + n),
// so that late samples, closer to settlement, count more; this type does
// the same, in exact integers. The zero value is empty and ready; Reset it
// at each funding settlement.
type PremiumAverage struct {
	weightedPpm int64 // Σ i·Pᵢ
	n           int64
}

// maxPremiumSamples bounds the samples of one interval (an 8-hour interval
// sampled every 5 seconds has 5,760) so that the weight total n(n+1)/2
// always fits an int64.
const maxPremiumSamples = 1 << 31

// Add records the next sample. An overflowing weighted sum, or more than
// 2^31 samples, is ErrOverflow and leaves the average unchanged.
func (a *PremiumAverage) Add(premiumPpm int64) error {
	if a.n >= maxPremiumSamples {
		return errPremiumAverage
	}
	w, err1 := fixed.Mul(a.n+1, premiumPpm)
	s, err2 := fixed.Add(a.weightedPpm, w)
	if err1 != nil || err2 != nil {
		return errPremiumAverage
	}
	a.weightedPpm, a.n = s, a.n+1
	return nil
}

// Ppm is the weighted average premium, rounded toward zero like the
// samples; ok is false with no samples (the caller then uses premium 0).
func (a *PremiumAverage) Ppm() (premiumPpm int64, ok bool) {
	if a.n == 0 {
		return 0, false
	}
	// 1 + … + n = n(n+1)/2 < 2^61 (n <= 2^31): exact, no overflow, and
	// the quotient is at most the largest |sample|.
	den := a.n * (a.n + 1) / 2
	p, _ := fixed.Div(a.weightedPpm, den, fixed.RoundTowardZero)
	return p, true
}

// Len is the number of samples since the last Reset.
func (a *PremiumAverage) Len() int64 { return a.n }

// Reset starts a new funding interval.
func (a *PremiumAverage) Reset() { *a = PremiumAverage{} }

const premiumAverageVersion = 1

// AppendBinary appends the accumulator's state for an engine snapshot.
func (a *PremiumAverage) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, premiumAverageVersion)
	b = binary.AppendVarint(b, a.weightedPpm)
	return binary.AppendUvarint(b, uint64(a.n)), nil
}

// UnmarshalBinary restores a state written by AppendBinary; on error
// (ErrInvalidInput) the accumulator is left unchanged.
func (a *PremiumAverage) UnmarshalBinary(data []byte) error {
	bad := errPremiumSnapshot
	if len(data) == 0 || data[0] != premiumAverageVersion {
		return bad
	}
	data = data[1:]
	w, k := binary.Varint(data)
	if k <= 0 {
		return bad
	}
	data = data[k:]
	n, k := binary.Uvarint(data)
	if k <= 0 || k != len(data) || n > maxPremiumSamples {
		return bad
	}
	a.weightedPpm, a.n = w, int64(n)
	return nil
}

// FundingRate is the rate for one funding interval, Binance's formula
//
//	rate = premium + clamp(interest − premium, −clamp, +clamp)
//
// where premium is the interval's average premium index and interest the
// interest component (DefaultInterestPpm: the difference between the quote
// and base assets' borrowing rates, a constant 0.01% per 8 hours). The
// effect: while the premium stays within ±clamp of the interest rate the
// rate is exactly the interest rate, and beyond that band it follows the
// premium, offset toward the interest by the clamp. A positive rate means
// longs pay shorts. Venues additionally cap the result per market (a
// multiple of the maintenance rate); that cap is the caller's to apply.
//
// All values are ppm per interval. A negative clamp is ErrInvalidInput. The
// result always lies between the premium and the interest rate, so it
// cannot overflow even when their difference does.
func FundingRate(premiumPpm, interestPpm, clampPpm int64) (int64, error) {
	if clampPpm < 0 {
		return 0, errClamp
	}
	diff, err := fixed.Sub(interestPpm, premiumPpm)
	if err != nil {
		// |interest − premium| is beyond int64, so far beyond the clamp:
		// the clamped difference has the sign the true one has.
		if interestPpm > premiumPpm {
			diff = clampPpm
		} else {
			diff = -clampPpm
		}
	}
	diff = min(max(diff, -clampPpm), clampPpm)
	r, err := fixed.Add(premiumPpm, diff)
	if err != nil { // unreachable, see above; kept because it is cheap
		return 0, errRateOverflow
	}
	return r, nil
}

// FundingPayment is what a position pays at a funding settlement:
// sizeLots × markTicks × quotePerTickLot × ratePpm / 1,000,000, in quote
// units, signed from the position's point of view: positive means the
// holder pays it (wallet −= paid), negative means the holder receives it
// (wallet += −paid). sizeLots is signed (long > 0, short < 0), so a positive
// rate makes longs pay and shorts receive, and a negative rate the reverse.
//
// The result rounds up on the number line, which is both of the rules
// money needs at once: a payer's amount rounds up (it pays the fraction)
// and a receiver's negative amount rounds toward zero (it does not receive
// the fraction). Summed over all positions, which balance long against
// short, the payments are therefore >= 0 and below one quote unit per
// position: the exchange never pays out more than it collects. The caller
// routes that remainder to the insurance fund, which keeps money conserved
// to the unit.
//
// markTicks and quotePerTickLot must be positive (ErrInvalidInput); a
// notional beyond int64 is ErrOverflow. It allocates nothing.
func FundingPayment(sizeLots, markTicks, ratePpm, quotePerTickLot int64) (paidQuote int64, err error) {
	if markTicks <= 0 {
		return 0, errPrice
	}
	if quotePerTickLot <= 0 {
		return 0, errQuotePerTickLot
	}
	pq, err := fixed.Mul(sizeLots, markTicks)
	if err != nil {
		return 0, errFundingOverflow
	}
	notional, err := fixed.Mul(pq, quotePerTickLot)
	if err != nil {
		return 0, errFundingOverflow
	}
	// |rate| could exceed 100% only through a caller's bug; the 128-bit
	// product still makes any overflow an error rather than a wrap.
	paid, err := fixed.ApplyPpm(notional, ratePpm, fixed.RoundUp)
	if err != nil {
		return 0, errFundingOverflow
	}
	return paid, nil
}
