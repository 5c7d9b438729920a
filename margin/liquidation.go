package margin

import (
	"math"
	"math/bits"

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
	return in.LiquidationPrice()
}

// LiquidationPrice is LiquidationPrice(*in), reading the input in place.
// The engine computes a liquidation price for every position event, and a
// LiqInput passed by value (too large for registers) is copied to the
// stack with 16-byte loads, which stall on the narrower stores that have
// just built it.
func (in *LiqInput) LiquidationPrice() (priceTicks int64, ok bool, err error) {
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
	// By fields: a literal of this size is built in a temporary and copied
	// with 16-byte loads, which stall on the stores that just built it.
	var s liqSolver
	s.tiers, s.long, s.qp = in.Brackets.tiers, in.Side == Long, qp
	// base = WB + UPNL₁ − TMM₁ − side·entry; |base| < 2^65.
	s.base = i128From(in.WalletQuote).add(i128From(in.OtherUnrealizedQuote)).sub(i128From(in.OtherMaintQuote))
	if s.long {
		s.base = s.base.sub(i128From(in.EntryValueQuote))
	} else {
		s.base = s.base.add(i128From(in.EntryValueQuote))
	}

	if in.Brackets.exact && s.qp < in.Brackets.minWidth {
		if base, ok := s.base.int64(); ok {
			if lp, ok, done, err := s.direct(base, in.Brackets.index(in.EntryValueQuote)); done {
				return lp, ok, err
			}
		}
	}

	// From a tier that passes the test, continue toward the side where
	// passing tiers lie (up for a long, whose liquidatable ticks are the low
	// ones; down for a short); from one that fails, go the other way.
	dir := 1
	if !s.long {
		dir = -1
	}
	var t tierTick
	if s.long && !in.Brackets.exact {
		t = s.step(len(s.tiers), -1) // the top non-empty tier
	} else {
		k := in.Brackets.index(in.EntryValueQuote)
		var ok bool
		if t, ok = s.at(k); !ok {
			if t = s.step(k, -1); t.k < 0 {
				t = s.step(k, 1)
			}
		}
	}
	if s.good(t) {
		for j := s.step(t.k, dir); j.k >= 0 && s.good(j); j = s.step(j.k, dir) {
			t = j
		}
	} else {
		for t = s.step(t.k, -dir); t.k >= 0 && !s.good(t); t = s.step(t.k, -dir) {
		}
		if t.k < 0 {
			return 0, false, nil
		}
	}
	p := s.bound(t)
	if s.long {
		// p >= maxTick = floor(MaxInt64 / qp) is (p + 1)·qp > MaxInt64; p
		// is at least the tier's lowest tick, 1.
		if hi, lo := bits.Mul64(uint64(p)+1, uint64(s.qp)); hi != 0 || lo > math.MaxInt64 {
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
//
// The solver runs on every position event, so it avoids divisions: a tier
// is carried with the one tick the walk tests (tierTick), the other end of
// its span is only compared with by multiplication (and computed in the
// rare case a bound lies beyond it), maxTick is computed only for a short
// in the last tier, and the bound divides in int64 when the numbers fit.
type liqSolver struct {
	tiers []Tier
	long  bool
	qp    int64 // quote units per tick of price for the whole position
	base  i128  // WB + UPNL₁ − TMM₁ − side·entry value
}

// A tier's span is the ticks in [1, maxTick] whose notional falls in it:
// from lo = max(1, ceil(floor / qp)) to hi = floor(top / qp), where top is
// cap − 1, or MaxInt64 for the last tier (maxTick = floor(MaxInt64 / qp);
// below the last tier (cap − 1) / qp never exceeds it, as cap − 1 <
// MaxInt64). It is empty when lo > hi.

// tierTick is tier k with its most dangerous tick, the one good tests: the
// lowest of its span for a long, the highest for a short. k is -1 for no
// tier.
type tierTick struct {
	k    int
	tick int64
}

// top is the numerator of tier k's highest tick.
func (s *liqSolver) top(k int) uint64 {
	if k == len(s.tiers)-1 {
		return math.MaxInt64
	}
	return uint64(s.tiers[k].CapQuote - 1) // caps are >= 1
}

// lo and hi are tier k's span ends (one division each, none for a floor
// up to qp).
func (s *liqSolver) lo(k int) int64 {
	f := s.tiers[k].FloorQuote // floors are >= 0
	if f <= s.qp {
		return 1
	}
	lo := f / s.qp
	if f%s.qp != 0 {
		lo++
	}
	return lo
}

func (s *liqSolver) hi(k int) int64 { return int64(s.top(k) / uint64(s.qp)) }

// at returns tier k with its most dangerous tick, ok false when its span is
// empty. The other end is compared by multiplication: for a long lo <= hi
// is lo·qp <= top (lo·qp < floor + qp fits in a uint64); for a short it is
// hi >= 1 and floor <= hi·qp (which is at most top).
func (s *liqSolver) at(k int) (tierTick, bool) {
	if s.long {
		lo := s.lo(k)
		hi, prod := bits.Mul64(uint64(lo), uint64(s.qp))
		return tierTick{k, lo}, hi == 0 && prod <= s.top(k)
	}
	hi := s.hi(k)
	return tierTick{k, hi}, hi >= 1 && s.tiers[k].FloorQuote <= hi*s.qp
}

// step returns the next tier from k in direction dir (±1) that holds at
// least one tick, with its most dangerous tick; k -1 if there is none.
func (s *liqSolver) step(k, dir int) tierTick {
	for k += dir; k >= 0 && k < len(s.tiers); k += dir {
		if t, ok := s.at(k); ok {
			return t
		}
	}
	return tierTick{k: -1}
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

// good reports whether some tick of the non-empty tier t is liquidatable:
// the test is monotone within a tier, so it is enough to try the tier's
// most dangerous tick.
func (s *liqSolver) good(t tierTick) bool { return s.liqAt(t.k, t.tick) }

// bound is, for a tier where good holds, the highest liquidatable tick of
// the tier for a long and the lowest for a short. Dividing by qp and then by
// 10^6 ∓ r equals dividing by their product (nested floors and ceilings of
// positive divisors compose), which keeps every divisor within 64 bits, or
// when the product fits in an int64 makes it one division.
func (s *liqSolver) bound(t tierTick) int64 {
	tier := &s.tiers[t.k]
	b := s.base.add(i128From(tier.MaintAmountQuote))
	if s.long {
		// Largest P with P < X/D is ceil(X/D) − 1, then at most hi.
		x := i128From(1).sub(b).mulU(fixed.PpmPerUnit)
		d := fixed.PpmPerUnit - tier.MaintRatePpm
		var c int64
		if x64, ok := x.int64(); ok {
			c = ceilDiv2(x64, s.qp, d) - 1
		} else {
			c = x.ceilDivU(uint64(s.qp)).ceilDivU(uint64(d)).sub(i128From(1)).clamp64()
		}
		// c <= hi is c·qp <= top (c is at least lo >= 1 since good holds;
		// a smaller c needs no comparison).
		if hi, prod := bits.Mul64(uint64(c), uint64(s.qp)); c < 1 || (hi == 0 && prod <= s.top(t.k)) {
			return c
		}
		return s.hi(t.k)
	}
	// Smallest P with P > X/D is floor(X/D) + 1, then at least lo.
	x := b.sub(i128From(1)).mulU(fixed.PpmPerUnit)
	d := fixed.PpmPerUnit + tier.MaintRatePpm
	var c int64
	if x64, ok := x.int64(); ok {
		c = floorDiv2(x64, s.qp, d) + 1
	} else {
		c = x.floorDivU(uint64(s.qp)).floorDivU(uint64(d)).add(i128From(1)).clamp64()
	}
	// c >= lo is c >= 1 and c·qp >= floor (c is at most hi since good
	// holds, so c·qp <= top fits).
	if c >= 1 && c*s.qp >= tier.FloorQuote {
		return c
	}
	return s.lo(t.k)
}

// ceilDiv2 is ceil(ceil(x / a) / b) for a, b > 0, which equals ceil(x /
// (a·b)): one division when a·b fits in an int64. |x| < 2^63 − 1 keeps the
// result at least 2 above MinInt64, so the caller's − 1 cannot wrap.
func ceilDiv2(x, a, b int64) int64 {
	if hi, lo := bits.Mul64(uint64(a), uint64(b)); hi == 0 && lo <= math.MaxInt64 {
		return ceilDiv(x, int64(lo))
	}
	return ceilDiv(ceilDiv(x, a), b)
}

// floorDiv2 is floor(floor(x / a) / b) = floor(x / (a·b)) for a, b > 0, as
// ceilDiv2; the caller's + 1 cannot wrap for the same reason.
func floorDiv2(x, a, b int64) int64 {
	if hi, lo := bits.Mul64(uint64(a), uint64(b)); hi == 0 && lo <= math.MaxInt64 {
		return floorDiv(x, int64(lo))
	}
	return floorDiv(floorDiv(x, a), b)
}

// ceilDiv is ceil(x / d) for d > 0 (Go's division truncates toward zero,
// which is the ceiling only for a negative quotient).
func ceilDiv(x, d int64) int64 {
	q := x / d
	if x%d != 0 && x > 0 {
		q++
	}
	return q
}

// floorDiv is floor(x / d) for d > 0.
func floorDiv(x, d int64) int64 {
	q := x / d
	if x%d != 0 && x < 0 {
		q--
	}
	return q
}

// direct is the walk of LiquidationPrice, for exact brackets, from tier k
// (the entry notional's), when every tier holds a tick of the position (qp
// below the brackets' minWidth, so that no tier is empty and none is
// skipped) and base and each visited tier's numerator X fit in an int64.
// It visits the same tiers, asks each the same question (good: is its
// most dangerous tick liquidatable?) and ends with the same bound, so it
// returns what the walk returns; but a tier's answer mostly follows from
// its span's ends by one widening multiplication, where the walk computes
// the tick (a division) and tests it in 128 bits, and only the tier the
// walk ends in divides, once. done is false, and nothing else meaningful,
// when a numerator leaves int64; the walk then decides.
func (s *liqSolver) direct(base int64, k int) (priceTicks int64, ok, done bool, err error) {
	last := len(s.tiers) - 1
	x, ok := s.num(base, k)
	if !ok {
		return 0, false, false, nil
	}
	if s.long {
		if s.goodLong(x, k) {
			for k < last {
				y, ok := s.num(base, k+1)
				if !ok {
					return 0, false, false, nil
				}
				if !s.goodLong(y, k+1) {
					break
				}
				k, x = k+1, y
			}
		} else {
			for {
				if k == 0 {
					return 0, false, true, nil
				}
				k--
				if x, ok = s.num(base, k); !ok {
					return 0, false, false, nil
				}
				if s.goodLong(x, k) {
					break
				}
			}
		}
		// bound's long case, on its int64 path.
		c := ceilDiv2(x, s.qp, fixed.PpmPerUnit-s.tiers[k].MaintRatePpm) - 1
		p := c
		if hi, prod := bits.Mul64(uint64(c), uint64(s.qp)); c >= 1 && (hi != 0 || prod > s.top(k)) {
			p = s.hi(k)
		}
		if hi, lo := bits.Mul64(uint64(p)+1, uint64(s.qp)); hi != 0 || lo > math.MaxInt64 {
			return 0, false, true, errLiqPriceOverflow
		}
		return p + 1, true, true, nil
	}
	if s.goodShort(x, k) {
		for k > 0 {
			y, ok := s.num(base, k-1)
			if !ok {
				return 0, false, false, nil
			}
			if !s.goodShort(y, k-1) {
				break
			}
			k, x = k-1, y
		}
	} else {
		for {
			if k == last {
				return 0, false, true, nil
			}
			k++
			if x, ok = s.num(base, k); !ok {
				return 0, false, false, nil
			}
			if s.goodShort(x, k) {
				break
			}
		}
	}
	// bound's short case, on its int64 path.
	c := floorDiv2(x, s.qp, fixed.PpmPerUnit+s.tiers[k].MaintRatePpm) + 1
	if c >= 1 && c*s.qp >= s.tiers[k].FloorQuote {
		return c - 1, true, true, nil
	}
	return s.lo(k) - 1, true, true, nil
}

// num is tier k's numerator X, (1 − B)·10^6 for a long and (B − 1)·10^6
// for a short with B = base + the tier's cum (see liqSolver), ok when it is
// computed without overflow and lies where bound takes its int64 path
// (|X| < 2^63 − 1).
func (s *liqSolver) num(base int64, k int) (int64, bool) {
	b, err := fixed.Add(base, s.tiers[k].MaintAmountQuote)
	if err != nil {
		return 0, false
	}
	if s.long {
		b, err = fixed.Sub(1, b)
	} else {
		b, err = fixed.Sub(b, 1)
	}
	if err != nil {
		return 0, false
	}
	x, err := fixed.Mul(b, fixed.PpmPerUnit)
	return x, err == nil && x > math.MinInt64+1 && x < math.MaxInt64
}

// goodLong is good for tier k of a long: liqAt at the tier's lowest tick
// lo, which is P·qp·(10^6 − r) < X. lo·qp lies in [floor, floor + qp − 1]
// (lo is 1 for a floor up to qp), so the two ends decide unless X falls
// between their values; only then is lo computed. x is num's.
func (s *liqSolver) goodLong(x int64, k int) bool {
	if x <= 0 {
		return false // the left side is positive
	}
	d := uint64(fixed.PpmPerUnit - s.tiers[k].MaintRatePpm)
	f := s.tiers[k].FloorQuote
	n := s.qp // lo·qp for lo = 1
	if f > s.qp {
		if hi, lo := bits.Mul64(uint64(f), d); hi != 0 || lo >= uint64(x) {
			return false // even the floor's notional is not below X
		}
		if hi, lo := bits.Mul64(uint64(f+s.qp-1), d); hi == 0 && lo < uint64(x) {
			return true
		}
		n = s.lo(k) * s.qp
	}
	hi, lo := bits.Mul64(uint64(n), d)
	return hi == 0 && lo < uint64(x)
}

// goodShort is good for tier k of a short: liqAt at the tier's highest
// tick hi, which is P·qp·(10^6 + r) > X. hi·qp lies in [top − qp + 1, top]
// (top the tier's highest notional), so those ends decide unless X falls
// between their values; only then is hi computed. x is num's.
func (s *liqSolver) goodShort(x int64, k int) bool {
	if x < 0 {
		return true // the left side is positive
	}
	d := uint64(fixed.PpmPerUnit + s.tiers[k].MaintRatePpm)
	top := s.top(k)
	if hi, lo := bits.Mul64(top, d); hi == 0 && lo <= uint64(x) {
		return false // even the top notional is not above X
	}
	if hi, lo := bits.Mul64(top-uint64(s.qp)+1, d); hi != 0 || lo > uint64(x) {
		return true
	}
	hi, lo := bits.Mul64(uint64(s.hi(k)*s.qp), d)
	return hi != 0 || lo > uint64(x)
}
