package margin

import (
	"math"

	"github.com/paperperps/exchange/fixed"
)

// LiqInput describes one position and the margin behind it, for
// LiquidationPrice. All amounts are in quote units.
type LiqInput struct {
	Side     Side  // Long or Short
	SizeLots int64 // the position's size, > 0
	// EntryValueQuote is the position's entry notional, the sum over its
	// opening fills of price × quantity × QuotePerTickLot (> 0). It is
	// entry price × size exactly, without requiring the average entry
	// price to be a whole tick.
	EntryValueQuote int64
	// WalletQuote (WB) backs the position: the account's wallet balance for
	// a cross position, the position's allocated margin for an isolated
	// one. It may be negative.
	WalletQuote int64
	// OtherMaintQuote (TMM₁, >= 0) and OtherUnrealizedQuote (UPNL₁) are the
	// summed maintenance margin and unrealized PnL of the account's other
	// cross positions at their marks; 0 for an isolated position.
	OtherMaintQuote      int64
	OtherUnrealizedQuote int64
	// QuotePerTickLot is the market grid's fixed.Grid.QuotePerTickLot: the
	// notional at a price of priceTicks is priceTicks × SizeLots ×
	// QuotePerTickLot.
	QuotePerTickLot int64
	Brackets        Brackets
}

// LiquidationPrice returns the price, in ticks, at which the position
// described by in stops being safe, rounded to the tick in the safe
// direction: up for a long, down for a short.
//
// The venue formula for one-way mode is
//
//	LP = (WB − TMM₁ + UPNL₁ + cum − side·Q·EP) / (Q·rate − side·Q)
//
// with rate and cum those of the tier holding the notional at LP. It is the
// root of margin balance = maintenance margin. This function solves the
// same equation exactly in integers, against the test the engine runs:
// Liquidatable(WB, UPNL₁ + UnrealizedPnL(at P), TMM₁ + MaintenanceMargin(P's
// notional)), including MaintenanceMargin's rounding up. The result is
// defined by that test, so a recomputation always agrees:
//
//   - Long: the position is liquidatable at LP − 1 tick and not at LP or
//     any price above it. LP is 1 + the highest liquidatable tick.
//   - Short: the position is liquidatable at LP + 1 tick and not at LP or
//     any price below it. LP is the lowest liquidatable tick − 1.
//
// When every tier's maintenance amount is exact (all built-in tables), the
// liquidatable prices are exactly those beyond LP (below a long's, above a
// short's). With a rounded-down amount the requirement can jump by a unit
// more than the balance gains over one tick at a tier floor, so a tiny long
// can be safe at some ticks below others where it is liquidatable; the two
// statements above still hold.
//
// Against the venue formula evaluated in real numbers, x ticks, with Q' =
// SizeLots × QuotePerTickLot (quote units per tick) and r the rate as a
// fraction, LP is exactly
//
//	long:  ceil(x + 1/(Q'·(1 − r)))     short: floor(x − 1/(Q'·(1 + r)))
//
// when the ticks on both sides of LP lie in one tier. The offset, about
// 10^-5 of a tick for 1 BTC, comes from rounding the requirement up and
// liquidating at equality; it moves LP one tick further to the safe side
// only when x is within it of a tick (or is a tick). The example,
// an isolated long of 1 BTC (Q' = 100,000) entered at 100,000 with 10,000
// margin at 0.4% and cum 0, has x = 90,361.4458… and returns 903615 ticks
// (90,361.5).
//
// Tiers: each tick belongs to the tier whose [floor, cap) holds its
// notional, so a root exactly on a boundary is judged by the upper tier.
// The search starts at the tier of the entry notional and moves tier by
// tier until a tier's own solution lies inside it; because the requirement
// never decreases as notional grows, the liquidatable ticks form one range
// and the walk visits each tier at most once. (A long with a rounded-down
// amount is instead searched from the top tier down, which stays exact
// without that monotonicity.)
//
// ok is false when no price has the boundary:
//   - a long whose margin covers a fall to the lowest price, 1 tick (the
//     formula's LP ≤ 0): it can never be liquidated;
//   - a short that no price up to the largest tick whose notional fits in
//     int64 would liquidate. Mathematically every short has a liquidation
//     price, since its loss grows by the notional per unit of price and its
//     maintenance by only rate < 1 of it, so this only means the price is
//     beyond the representable range (wallet, other PnL and entry value
//     summing to more than int64 quote units, about 9.2 × 10^12 USDT).
//
// A short that is liquidatable at every price (its account is underwater
// whatever the price) returns priceTicks 0 with ok true: no tick is safe.
// A long liquidatable at every representable price has no representable
// LP and is ErrOverflow; so is a SizeLots × QuotePerTickLot beyond int64.
// Malformed input wraps ErrInvalidInput.
//
// It allocates nothing: intermediate products (up to about 2^86) use a
// 128-bit integer.
func LiquidationPrice(in LiqInput) (priceTicks int64, ok bool, err error) {
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
	s := liqSolver{
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

// liqSolver holds one LiquidationPrice problem.
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
type liqSolver struct {
	tiers   []Tier
	long    bool
	qp      int64 // quote units per tick of price for the whole position
	maxTick int64 // the highest tick whose notional fits in an int64
	base    i128  // WB + UPNL₁ − TMM₁ − side·entry value
}

// span is the range of ticks in [1, maxTick] whose notional falls in tier
// k; lo > hi when a tier is narrower than one tick of this position.
func (s *liqSolver) span(k int) (lo, hi int64) {
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

func (s *liqSolver) nonEmpty(k int) bool {
	lo, hi := s.span(k)
	return lo <= hi
}

// step returns the next tier from k in direction dir (±1) that holds at
// least one tick, or -1.
func (s *liqSolver) step(k, dir int) int {
	for k += dir; k >= 0 && k < len(s.tiers); k += dir {
		if s.nonEmpty(k) {
			return k
		}
	}
	return -1
}

// liqAt is the engine's test at tick p (in [1, maxTick]) with tier k's
// rate and cum; it is the true test when p's notional is in tier k.
func (s *liqSolver) liqAt(k int, p int64) bool {
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
func (s *liqSolver) good(k int) bool {
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
func (s *liqSolver) bound(k int) int64 {
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
