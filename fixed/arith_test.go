package fixed_test

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/paperperps/exchange/fixed"
)

const (
	maxI = math.MaxInt64
	minI = math.MinInt64
)

var roundings = []fixed.Rounding{fixed.RoundDown, fixed.RoundUp, fixed.RoundTowardZero}

func TestAddSub(t *testing.T) {
	tests := []struct {
		a, b      int64
		sum, diff int64
		sumErr    error
		diffErr   error
	}{
		{a: 2, b: 3, sum: 5, diff: -1},
		{a: -2, b: -3, sum: -5, diff: 1},
		{a: maxI, b: 0, sum: maxI, diff: maxI},
		{a: minI, b: 0, sum: minI, diff: minI},
		{a: maxI, b: 1, sumErr: fixed.ErrOverflow, diff: maxI - 1},
		{a: minI, b: -1, sumErr: fixed.ErrOverflow, diff: minI + 1},
		{a: minI, b: 1, sum: minI + 1, diffErr: fixed.ErrOverflow},
		{a: maxI, b: -1, sum: maxI - 1, diffErr: fixed.ErrOverflow},
		{a: maxI, b: minI, sum: -1, diffErr: fixed.ErrOverflow},
		{a: minI, b: maxI, sum: -1, diffErr: fixed.ErrOverflow},
		{a: 0, b: minI, sum: minI, diffErr: fixed.ErrOverflow},
		{a: -1, b: minI, sumErr: fixed.ErrOverflow, diff: maxI},
		{a: maxI, b: maxI, sumErr: fixed.ErrOverflow, diff: 0},
		{a: minI, b: minI, sumErr: fixed.ErrOverflow, diff: 0},
	}
	for _, tt := range tests {
		sum, err := fixed.Add(tt.a, tt.b)
		checkResult(t, fmt.Sprintf("Add(%d, %d)", tt.a, tt.b), sum, err, tt.sum, tt.sumErr, "")
		diff, err := fixed.Sub(tt.a, tt.b)
		checkResult(t, fmt.Sprintf("Sub(%d, %d)", tt.a, tt.b), diff, err, tt.diff, tt.diffErr, "")
	}
}

func TestMul(t *testing.T) {
	tests := []struct {
		a, b int64
		want int64
		err  error
	}{
		{a: 6, b: 7, want: 42},
		{a: -6, b: 7, want: -42},
		{a: -6, b: -7, want: 42},
		{a: 0, b: minI, want: 0},
		{a: maxI, b: 1, want: maxI},
		{a: maxI, b: -1, want: -maxI},
		{a: minI, b: 1, want: minI},
		{a: minI, b: -1, err: fixed.ErrOverflow},
		{a: -1, b: minI, err: fixed.ErrOverflow},
		{a: 1 << 62, b: 2, err: fixed.ErrOverflow},
		{a: 1 << 62, b: -2, want: minI},
		{a: -(1 << 62), b: 2, want: minI},
		{a: 1 << 32, b: 1 << 31, err: fixed.ErrOverflow},
		{a: 1 << 32, b: 1 << 30, want: 1 << 62},
		{a: 3037000499, b: 3037000499, want: 9223372030926249001}, // largest square
		{a: 3037000500, b: 3037000500, err: fixed.ErrOverflow},
		{a: maxI, b: maxI, err: fixed.ErrOverflow},
		{a: minI, b: minI, err: fixed.ErrOverflow},
	}
	for _, tt := range tests {
		got, err := fixed.Mul(tt.a, tt.b)
		checkResult(t, fmt.Sprintf("Mul(%d, %d)", tt.a, tt.b), got, err, tt.want, tt.err, "")
	}
}

func TestAbs(t *testing.T) {
	tests := []struct {
		x, want int64
		err     error
	}{
		{x: 0, want: 0},
		{x: 5, want: 5},
		{x: -5, want: 5},
		{x: maxI, want: maxI},
		{x: -maxI, want: maxI},
		{x: minI + 1, want: maxI},
		{x: minI, err: fixed.ErrOverflow}, // |MinInt64| = MaxInt64 + 1
	}
	for _, tt := range tests {
		got, err := fixed.Abs(tt.x)
		checkResult(t, fmt.Sprintf("Abs(%d)", tt.x), got, err, tt.want, tt.err, "")
	}
}

// A requirement on a short must be rounded up on its magnitude: rounding the
// negative notional up moves it toward zero and undercharges.
func TestRequirementOnShortUsesAbs(t *testing.T) {
	btc := fixed.MustNewGrid("0.1", "0.001")
	short, err := btc.NotionalQuote(1_000_005, -250) // -25,000.125 USDT
	checkResult(t, "short notional", short, err, -25_000_125_000, nil, "")
	abs, err := fixed.Abs(short)
	checkResult(t, "Abs(short notional)", abs, err, 25_000_125_000, nil, "")
	// 500 ppm of 25,000.125 USDT is 12.5000625 USDT, 12,500,062.5 units.
	fee, err := fixed.ApplyPpm(abs, 500, fixed.RoundUp)
	checkResult(t, "fee on |notional|", fee, err, 12_500_063, nil, "")
	wrong, err := fixed.ApplyPpm(short, 500, fixed.RoundUp)
	checkResult(t, "fee on signed notional", wrong, err, -12_500_062, nil, "")
	// Initial margin at 7x leverage is 3,571,446,428.57... units.
	margin, err := fixed.Div(abs, 7, fixed.RoundUp)
	checkResult(t, "margin on |notional|", margin, err, 3_571_446_429, nil, "")
}

// mulDivCase gives the expected result for each rounding direction; a
// non-nil err applies to all three.
type mulDivCase struct {
	name             string
	a, b, c          int64
	down, up, toward int64
	err              error
	errDown, errUp   error // an error in only one direction
}

func TestMulDiv(t *testing.T) {
	const third = 6148914691236517205 // (2^64-1)/3, so 3*third = 2^64-1
	const big31 = 1190112520884487201 // (2^65-1)/31
	tests := []mulDivCase{
		{name: "positive half", a: 7, b: 1, c: 2, down: 3, up: 4, toward: 3},
		{name: "negative a", a: -7, b: 1, c: 2, down: -4, up: -3, toward: -3},
		{name: "negative b", a: 7, b: -1, c: 2, down: -4, up: -3, toward: -3},
		{name: "negative c", a: 7, b: 1, c: -2, down: -4, up: -3, toward: -3},
		{name: "two negatives", a: -7, b: 1, c: -2, down: 3, up: 4, toward: 3},
		{name: "three negatives", a: -7, b: -1, c: -2, down: -4, up: -3, toward: -3},
		{name: "negative small remainder", a: -1, b: 1, c: 3, down: -1, up: 0, toward: 0},
		{name: "positive small remainder", a: 1, b: 1, c: 3, down: 0, up: 1, toward: 0},
		{name: "exact", a: 6, b: 5, c: 3, down: 10, up: 10, toward: 10},
		{name: "exact negative", a: -6, b: 5, c: 3, down: -10, up: -10, toward: -10},
		{name: "zero a", a: 0, b: 5, c: -3},
		{name: "zero b with min a", a: minI, b: 0, c: -1},
		{name: "zero a min c", a: 0, b: maxI, c: minI},
		{name: "divide by zero", a: 1, b: 1, c: 0, err: fixed.ErrDivideByZero},
		{name: "zero over zero", a: 0, b: 0, c: 0, err: fixed.ErrDivideByZero},
		{name: "max over itself", a: maxI, b: maxI, c: maxI, down: maxI, up: maxI, toward: maxI},
		{name: "min over itself", a: minI, b: minI, c: minI, down: minI, up: minI, toward: minI},
		{name: "min identity", a: minI, b: 1, c: 1, down: minI, up: minI, toward: minI},
		{name: "min negated", a: minI, b: 1, c: -1, err: fixed.ErrOverflow},
		{name: "min negated via b", a: minI, b: -1, c: 1, err: fixed.ErrOverflow},
		{name: "min times 2 over -2", a: minI, b: 2, c: -2, err: fixed.ErrOverflow},
		{name: "min times 3 over 3", a: minI, b: 3, c: 3, down: minI, up: minI, toward: minI},
		{name: "max times 2 over 2", a: maxI, b: 2, c: 2, down: maxI, up: maxI, toward: maxI},
		{name: "product needs 128 bits", a: maxI, b: maxI - 2, c: maxI - 1, down: maxI - 2, up: maxI - 1, toward: maxI - 2},
		{name: "quotient above int64", a: maxI, b: 2, c: 1, err: fixed.ErrOverflow},
		{name: "quotient above uint64", a: maxI, b: maxI, c: 1, err: fixed.ErrOverflow},
		{name: "quotient far above", a: maxI, b: maxI, c: 2, err: fixed.ErrOverflow},
		{name: "one and a half max", a: maxI, b: 3, c: 2, err: fixed.ErrOverflow},
		// (2^64-1)/2 = 2^63 - 0.5: the floor fits, the ceiling does not.
		{name: "ceiling overflows", a: 3, b: third, c: 2, down: maxI, toward: maxI, errUp: fixed.ErrOverflow},
		// -(2^63 - 0.5): the floor is exactly MinInt64, the ceiling one above.
		{name: "floor reaches min", a: -3, b: third, c: 2, down: minI, up: minI + 1, toward: minI + 1},
		// (2^65-1)/2: truncated quotient is MaxUint64 with a remainder.
		{name: "truncated quotient max uint64", a: 31, b: big31, c: 2, err: fixed.ErrOverflow},
		{name: "truncated quotient max uint64 negative", a: -31, b: big31, c: 2, err: fixed.ErrOverflow},
		{name: "tiny over min", a: 1, b: 1, c: minI, down: -1, up: 0, toward: 0},
		{name: "tiny negative over min", a: -1, b: 1, c: minI, down: 0, up: 1, toward: 0},
		{name: "ppm of max", a: maxI, b: 1_000_000, c: 1_000_000, down: maxI, up: maxI, toward: maxI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[fixed.Rounding]int64{fixed.RoundDown: tt.down, fixed.RoundUp: tt.up, fixed.RoundTowardZero: tt.toward}
			wantErr := map[fixed.Rounding]error{fixed.RoundDown: tt.errDown, fixed.RoundUp: tt.errUp}
			for _, r := range roundings {
				got, err := fixed.MulDiv(tt.a, tt.b, tt.c, r)
				e := tt.err
				if e == nil {
					e = wantErr[r]
				}
				checkResult(t, fmt.Sprintf("MulDiv(%d, %d, %d, %v)", tt.a, tt.b, tt.c, r), got, err, want[r], e, "")
			}
		})
	}
}

func TestMulDivInvalidRoundingPanics(t *testing.T) {
	// Even an exact quotient panics, so a bad direction is caught by the
	// first test that reaches the call site, not only by an inexact one.
	for _, r := range []fixed.Rounding{0, 4, 255} {
		mustPanic(t, r.String(), "fixed: invalid rounding direction "+r.String(), func() {
			_, _ = fixed.MulDiv(6, 1, 2, r)
		})
	}
}

func TestDivAndApplyPpm(t *testing.T) {
	got, err := fixed.Div(-7, 2, fixed.RoundDown)
	checkResult(t, "Div(-7, 2, RoundDown)", got, err, -4, nil, "")
	got, err = fixed.Div(-7, 2, fixed.RoundUp)
	checkResult(t, "Div(-7, 2, RoundUp)", got, err, -3, nil, "")
	got, err = fixed.Div(1, 0, fixed.RoundUp)
	checkResult(t, "Div(1, 0, RoundUp)", got, err, 0, fixed.ErrDivideByZero, "")

	tests := []struct {
		amount, ppm int64
		r           fixed.Rounding
		want        int64
		err         error
	}{
		{amount: 100_000_000, ppm: 500, r: fixed.RoundUp, want: 50_000},            // 100 USDT × 0.05% = 0.05 USDT
		{amount: 10_001, ppm: 500, r: fixed.RoundUp, want: 6},                      // 5.0005 -> 6
		{amount: 10_001, ppm: 500, r: fixed.RoundDown, want: 5},                    // 5.0005 -> 5
		{amount: 10_001, ppm: -100, r: fixed.RoundUp, want: -1},                    // rebate -1.0001 -> -1
		{amount: 10_001, ppm: -100, r: fixed.RoundDown, want: -2},                  // -1.0001 -> -2
		{amount: -10_001, ppm: 100, r: fixed.RoundDown, want: -2},                  // negative amount
		{amount: maxI, ppm: 1_000_000, r: fixed.RoundDown, want: maxI},             // 100% of max
		{amount: maxI, ppm: 1_000_001, r: fixed.RoundDown, err: fixed.ErrOverflow}, // just above 100%
		{amount: minI, ppm: 500_000, r: fixed.RoundDown, want: minI / 2},
		{amount: minI, ppm: -1_000_000, r: fixed.RoundDown, err: fixed.ErrOverflow},
	}
	for _, tt := range tests {
		got, err := fixed.ApplyPpm(tt.amount, tt.ppm, tt.r)
		checkResult(t, fmt.Sprintf("ApplyPpm(%d, %d, %v)", tt.amount, tt.ppm, tt.r), got, err, tt.want, tt.err, "")
	}
}

func TestRoundingString(t *testing.T) {
	equalString(t, fixed.RoundDown.String(), "RoundDown")
	equalString(t, fixed.RoundUp.String(), "RoundUp")
	equalString(t, fixed.RoundTowardZero.String(), "RoundTowardZero")
	equalString(t, fixed.Rounding(9).String(), "Rounding(9)")
}

// refMulDiv is the naive reference: exact big-integer a*b/c, rounded by
// adjusting the truncated quotient, then checked against the int64 range.
func refMulDiv(a, b, c int64, r fixed.Rounding) (int64, bool) {
	var p, q, m big.Int
	p.Mul(big.NewInt(a), big.NewInt(b))
	q.QuoRem(&p, big.NewInt(c), &m)
	if m.Sign() != 0 {
		positive := (p.Sign() > 0) == (c > 0)
		switch {
		case r == fixed.RoundUp && positive:
			q.Add(&q, big.NewInt(1))
		case r == fixed.RoundDown && !positive:
			q.Sub(&q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// randOperand draws from a mix that reaches every branch: boundary values,
// small numbers, and random magnitudes of every bit length and sign.
func randOperand(rng *rand.Rand) int64 {
	switch rng.IntN(8) {
	case 0:
		return []int64{0, 1, -1, 2, -2, maxI, minI, maxI - 1, minI + 1, 1_000_000, -1_000_000}[rng.IntN(11)]
	case 1:
		return rng.Int64N(2001) - 1000
	default:
		v := int64(rng.Uint64() >> rng.IntN(64))
		if rng.IntN(2) == 0 {
			v = -v
		}
		return v
	}
}

func TestMulDivAgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240601, 7))
	const n = 300_000
	var overflows, exact int
	for i := range n {
		a, b, c := randOperand(rng), randOperand(rng), randOperand(rng)
		r := roundings[i%len(roundings)]
		got, err := fixed.MulDiv(a, b, c, r)
		if c == 0 {
			if err != fixed.ErrDivideByZero {
				t.Fatalf("MulDiv(%d, %d, 0, %v) = %d, %v; want ErrDivideByZero", a, b, r, got, err)
			}
			continue
		}
		want, ok := refMulDiv(a, b, c, r)
		if !ok {
			overflows++
			if err != fixed.ErrOverflow {
				t.Fatalf("MulDiv(%d, %d, %d, %v) = %d, %v; want ErrOverflow", a, b, c, r, got, err)
			}
			continue
		}
		exact++
		if err != nil || got != want {
			t.Fatalf("MulDiv(%d, %d, %d, %v) = %d, %v; want %d", a, b, c, r, got, err, want)
		}
	}
	// Guard the generator: both outcomes must be well represented.
	if overflows < n/20 || exact < n/5 {
		t.Errorf("generator skewed: %d overflows, %d results out of %d", overflows, exact, n)
	}
}

// ApplyPpm divides small products by the constant itself; it must agree
// with the 128-bit reference everywhere, rates of fees and margins as well
// as arbitrary operands.
func TestApplyPpmAgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240602, 8))
	var fast, slow int
	for i := range 300_000 {
		amount, rate := randOperand(rng), randOperand(rng)
		if i%2 == 0 {
			rate = rng.Int64N(2_000_001) - 1_000_000
		}
		r := roundings[i%len(roundings)]
		got, err := fixed.ApplyPpm(amount, rate, r)
		want, ok := refMulDiv(amount, rate, fixed.PpmPerUnit, r)
		if !ok {
			if err != fixed.ErrOverflow {
				t.Fatalf("ApplyPpm(%d, %d, %v) = %d, %v; want ErrOverflow", amount, rate, r, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Fatalf("ApplyPpm(%d, %d, %v) = %d, %v; want %d", amount, rate, r, got, err, want)
		}
		if _, err := fixed.Mul(amount, rate); err == nil {
			fast++
		} else {
			slow++
		}
	}
	if fast < 100_000 || slow < 10_000 {
		t.Errorf("generator skewed: %d products in int64, %d beyond", fast, slow)
	}
}

func TestMulAddSubAgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(99, 3))
	check := func(name string, a, b int64, got int64, err error, want *big.Int) {
		if !want.IsInt64() {
			if err != fixed.ErrOverflow {
				t.Fatalf("%s(%d, %d) = %d, %v; want ErrOverflow", name, a, b, got, err)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("%s(%d, %d) = %d, %v; want %d", name, a, b, got, err, want)
		}
	}
	for range 100_000 {
		a, b := randOperand(rng), randOperand(rng)
		ba, bb := big.NewInt(a), big.NewInt(b)
		got, err := fixed.Add(a, b)
		check("Add", a, b, got, err, new(big.Int).Add(ba, bb))
		got, err = fixed.Sub(a, b)
		check("Sub", a, b, got, err, new(big.Int).Sub(ba, bb))
		got, err = fixed.Mul(a, b)
		check("Mul", a, b, got, err, new(big.Int).Mul(ba, bb))
	}
}

var (
	sinkInt int64
	sinkErr error
)

func TestArithmeticAllocatesNothing(t *testing.T) {
	grid := fixed.MustNewGrid("0.1", "0.001")
	ops := map[string]func(){
		"MulDiv":          func() { sinkInt, sinkErr = fixed.MulDiv(-7, 3, 2, fixed.RoundDown) },
		"MulDiv overflow": func() { sinkInt, sinkErr = fixed.MulDiv(maxI, maxI, 1, fixed.RoundUp) },
		"MulDiv by zero":  func() { sinkInt, sinkErr = fixed.MulDiv(1, 1, 0, fixed.RoundUp) },
		"ApplyPpm":        func() { sinkInt, sinkErr = fixed.ApplyPpm(123_456_789, -150, fixed.RoundUp) },
		"Add":             func() { sinkInt, sinkErr = fixed.Add(maxI, 1) },
		"Abs overflow":    func() { sinkInt, sinkErr = fixed.Abs(minI) },
		"Sub":             func() { sinkInt, sinkErr = fixed.Sub(minI, 1) },
		"Mul":             func() { sinkInt, sinkErr = fixed.Mul(maxI, 2) },
		"NotionalQuote":   func() { sinkInt, sinkErr = grid.NotionalQuote(1_000_005, -250) },
	}
	for name, op := range ops {
		if allocs := testing.AllocsPerRun(1000, op); allocs != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, allocs)
		}
	}
}
