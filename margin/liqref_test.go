package margin

import (
	"math"

	"github.com/paperperps/exchange/fixed"
)

// LiquidationPriceRef is the tier walk LiquidationPrice used before its
// spans were computed once per tier and its bound got an int64 path: kept
// verbatim as the reference the faster one must equal exactly, result,
// ok and error alike.
var LiquidationPriceRef = liquidationPriceRef

func liquidationPriceRef(in LiqInput) (priceTicks int64, ok bool, err error) {
	switch {
	case in.Side != Long && in.Side != Short:
		return 0, false, errSide
	case in.SizeLots <= 0:
		return 0, false, errSize
	case in.EntryValueQuote <= 0:
		return 0, false, errEntryValueZero
	case in.OtherMaintQuote < 0:
		return 0, false, errOtherMaint
	case in.QuotePerTickLot <= 0:
		return 0, false, errQuotePerTickLot
	case len(in.Brackets.tiers) == 0:
		return 0, false, errNoBrackets
	}
	qp, err := fixed.Mul(in.SizeLots, in.QuotePerTickLot)
	if err != nil {
		return 0, false, errLiqSizeOverflow
	}
	s := liqSolverRef{
		tiers:   in.Brackets.tiers,
		long:    in.Side == Long,
		qp:      qp,
		maxTick: math.MaxInt64 / qp,
	}
	// base = WB + UPNL₁ − TMM₁ − side·entry; |base| < 2^65.
	s.base = i128From(in.WalletQuote).add(i128From(in.OtherUnrealizedQuote)).sub(i128From(in.OtherMaintQuote))
	if s.long {
		s.base = s.base.sub(i128From(in.EntryValueQuote))
	} else {
		s.base = s.base.add(i128From(in.EntryValueQuote))
	}

	// From a tier that passes the test, continue toward the side where
	// passing tiers lie (up for a long, whose liquidatable ticks are the low
	// ones; down for a short); from one that fails, go the other way.
	dir := 1
	if !s.long {
		dir = -1
	}
	var k int
	if s.long && !in.Brackets.exact {
		k = s.step(len(s.tiers), -1) // the top non-empty tier
	} else if k = in.Brackets.index(in.EntryValueQuote); !s.nonEmpty(k) {
		if k = s.step(k, -1); k < 0 {
			k = s.step(in.Brackets.index(in.EntryValueQuote), 1)
		}
	}
	if s.good(k) {
		for j := s.step(k, dir); j >= 0 && s.good(j); j = s.step(j, dir) {
			k = j
		}
	} else {
		for k = s.step(k, -dir); k >= 0 && !s.good(k); k = s.step(k, -dir) {
		}
		if k < 0 {
			return 0, false, nil
		}
	}
	p := s.bound(k)
	if s.long {
		if p >= s.maxTick {
			return 0, false, errLiqPriceOverflow
		}
		return p + 1, true, nil
	}
	return p - 1, true, nil
}

// liqSolverRef holds one LiquidationPrice problem.
//
// At price P (ticks) with tier k's rate r (ppm) and cum, the engine's test
// is
//
//	base + cum + side·P·qp <= ceil(P·qp·r / 10^6)
//
// (balance at P minus other maintenance, against this position's rounded-up
// requirement). For an integer m, m <= ceil(y) exactly when m − 1 < y, so
// with B = base + cum the test is
//
//	10^6·(B − 1) < P·qp·(r − side·10^6)
//
// which is linear in P: for a long (r − 10^6 < 0) it holds for P below
// 10^6·(1 − B) / (qp·(10^6 − r)), for a short above 10^6·(B − 1) /
// (qp·(10^6 + r)).
type liqSolverRef struct {
	tiers   []Tier
	long    bool
	qp      int64 // quote units per tick of price for the whole position
	maxTick int64 // the highest tick whose notional fits in an int64
	base    i128  // WB + UPNL₁ − TMM₁ − side·entry value
}

// span is the range of ticks in [1, maxTick] whose notional falls in tier
// k; lo > hi when a tier is narrower than one tick of this position.
func (s *liqSolverRef) span(k int) (lo, hi int64) {
	t := &s.tiers[k]
	lo = t.FloorQuote / s.qp // floors are >= 0
	if t.FloorQuote%s.qp != 0 {
		lo++
	}
	lo = max(lo, 1)
	hi = s.maxTick
	if k < len(s.tiers)-1 {
		hi = min(hi, (t.CapQuote-1)/s.qp) // caps are >= 1
	}
	return lo, hi
}

func (s *liqSolverRef) nonEmpty(k int) bool {
	lo, hi := s.span(k)
	return lo <= hi
}

// step returns the next tier from k in direction dir (±1) that holds at
// least one tick, or -1.
func (s *liqSolverRef) step(k, dir int) int {
	for k += dir; k >= 0 && k < len(s.tiers); k += dir {
		if s.nonEmpty(k) {
			return k
		}
	}
	return -1
}

// liqAt is the engine's test at tick p (in [1, maxTick]) with tier k's
// rate and cum; it is the true test when p's notional is in tier k.
func (s *liqSolverRef) liqAt(k int, p int64) bool {
	t := &s.tiers[k]
	b := s.base.add(i128From(t.MaintAmountQuote))
	n := uint64(p * s.qp) // fits: p <= maxTick
	if s.long {
		lhs := mulU64(n, uint64(fixed.PpmPerUnit-t.MaintRatePpm))
		return lhs.cmp(i128From(1).sub(b).mulU(fixed.PpmPerUnit)) < 0
	}
	lhs := mulU64(n, uint64(fixed.PpmPerUnit+t.MaintRatePpm))
	return lhs.cmp(b.sub(i128From(1)).mulU(fixed.PpmPerUnit)) > 0
}

// good reports whether some tick of the non-empty tier k is liquidatable:
// the test is monotone within a tier, so it is enough to try the tier's
// most dangerous tick (the lowest for a long, the highest for a short).
func (s *liqSolverRef) good(k int) bool {
	lo, hi := s.span(k)
	if s.long {
		return s.liqAt(k, lo)
	}
	return s.liqAt(k, hi)
}

// bound is, for a tier where good holds, the highest liquidatable tick of
// the tier for a long and the lowest for a short. Dividing by qp and then by
// 10^6 ∓ r equals dividing by their product (nested floors and ceilings of
// positive divisors compose), which keeps every divisor within 64 bits.
func (s *liqSolverRef) bound(k int) int64 {
	t := &s.tiers[k]
	lo, hi := s.span(k)
	b := s.base.add(i128From(t.MaintAmountQuote))
	if s.long {
		// Largest P with P < X/D is ceil(X/D) − 1.
		x := i128From(1).sub(b).mulU(fixed.PpmPerUnit)
		c := x.ceilDivU(uint64(s.qp)).ceilDivU(uint64(fixed.PpmPerUnit - t.MaintRatePpm)).sub(i128From(1))
		return min(c.clamp64(), hi)
	}
	// Smallest P with P > X/D is floor(X/D) + 1.
	x := b.sub(i128From(1)).mulU(fixed.PpmPerUnit)
	c := x.floorDivU(uint64(s.qp)).floorDivU(uint64(fixed.PpmPerUnit + t.MaintRatePpm)).add(i128From(1))
	return max(c.clamp64(), lo)
}
