package margin

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func (a i128) big() *big.Int {
	v := new(big.Int).SetUint64(a.hi)
	v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(a.lo))
	if a.isNeg() {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), 128))
	}
	return v
}

// randI128 draws a value with |v| < 2^bits (bits <= 126).
func randI128(r *rand.Rand, bits int) i128 {
	v := new(big.Int).SetUint64(r.Uint64())
	v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(r.Uint64()))
	v.Rsh(v, uint(128-bits))
	if r.IntN(2) == 0 {
		v.Neg(v)
	}
	return fromBig(v)
}

func fromBig(v *big.Int) i128 {
	m := new(big.Int).And(v, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)))
	lo := new(big.Int).And(m, new(big.Int).SetUint64(math.MaxUint64)).Uint64()
	hi := new(big.Int).Rsh(m, 64).Uint64()
	return i128{hi, lo}
}

func TestI128AgainstBig(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	floor := func(a, d *big.Int) *big.Int {
		q, m := new(big.Int).DivMod(a, d, new(big.Int))
		_ = m
		return q // Euclidean with d > 0 is floor
	}
	for range 200_000 {
		a, b := randI128(r, 1+r.IntN(126)), randI128(r, 1+r.IntN(126))
		ab, bb := a.big(), b.big()
		if got := a.add(b).big(); got.Cmp(new(big.Int).Add(ab, bb)) != 0 {
			t.Fatalf("%s + %s = %s", ab, bb, got)
		}
		if got := a.sub(b).big(); got.Cmp(new(big.Int).Sub(ab, bb)) != 0 {
			t.Fatalf("%s - %s = %s", ab, bb, got)
		}
		if got := a.cmp(b); got != ab.Cmp(bb) {
			t.Fatalf("cmp(%s, %s) = %d", ab, bb, got)
		}
		m := r.Uint64() >> r.IntN(64)
		if ab.BitLen()+64-bitsLeading(m) < 126 {
			if got := a.mulU(m).big(); got.Cmp(new(big.Int).Mul(ab, new(big.Int).SetUint64(m))) != 0 {
				t.Fatalf("%s × %d = %s", ab, m, got)
			}
		}
		d := max(1, r.Uint64()>>r.IntN(64))
		db := new(big.Int).SetUint64(d)
		wantF := floor(ab, db)
		if got := a.floorDivU(d).big(); got.Cmp(wantF) != 0 {
			t.Fatalf("floor(%s / %d) = %s, want %s", ab, d, got, wantF)
		}
		wantC := new(big.Int).Neg(floor(new(big.Int).Neg(ab), db))
		if got := a.ceilDivU(d).big(); got.Cmp(wantC) != 0 {
			t.Fatalf("ceil(%s / %d) = %s, want %s", ab, d, got, wantC)
		}
		want := ab
		if !ab.IsInt64() {
			want = big.NewInt(math.MaxInt64)
			if ab.Sign() < 0 {
				want = big.NewInt(math.MinInt64)
			}
		}
		if got := a.clamp64(); got != want.Int64() {
			t.Fatalf("clamp(%s) = %d", ab, got)
		}
		x, y := r.Uint64()>>1, r.Uint64() // product below 2^127: non-negative
		if got := mulU64(x, y).big(); got.Cmp(new(big.Int).Mul(new(big.Int).SetUint64(x), new(big.Int).SetUint64(y))) != 0 {
			t.Fatalf("%d × %d = %s", x, y, got)
		}
	}
	for _, v := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
		if i128From(v).big().Int64() != v || i128From(v).clamp64() != v {
			t.Errorf("round trip %d", v)
		}
	}
	// int64 accepts exactly |v| < 2^63 − 1.
	lim := new(big.Int).SetInt64(math.MaxInt64 - 1)
	for _, v := range []i128{i128From(math.MaxInt64), i128From(math.MaxInt64 - 1), i128From(math.MinInt64),
		i128From(math.MinInt64 + 1), i128From(math.MinInt64 + 2), i128From(0), i128From(-1),
		{hi: 1}, {hi: math.MaxUint64}, {hi: math.MaxUint64 - 1, lo: math.MaxUint64}, randI128(r, 64), randI128(r, 63), randI128(r, 65)} {
		got, ok := v.int64()
		b := v.big()
		want := new(big.Int).Abs(b).Cmp(lim) <= 0
		if ok != want || (ok && got != b.Int64()) {
			t.Errorf("int64(%s) = %d, %v", b, got, ok)
		}
	}
}

func bitsLeading(m uint64) int {
	n := 0
	for ; n < 64 && m&(1<<63) == 0; m <<= 1 {
		n++
	}
	return n
}

// ceilDiv2 and floorDiv2 against big integers, with divisors whose product
// overflows an int64 as well as ones where it fits.
func TestNestedDivAgainstBig(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 200_000 {
		x := int64(r.Uint64()>>r.IntN(64)) >> 1
		if r.IntN(2) == 0 {
			x = -x
		}
		if x <= math.MinInt64+1 || x >= math.MaxInt64 {
			continue
		}
		a, b := max(1, int64(r.Uint64()>>(1+r.IntN(63)))), max(1, int64(r.Uint64()>>(1+r.IntN(63))))
		d := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		q, m := new(big.Int).DivMod(big.NewInt(x), d, new(big.Int)) // Euclidean, d > 0: floor
		if got := floorDiv2(x, a, b); got != q.Int64() {
			t.Fatalf("floor(%d / (%d·%d)) = %d, want %s", x, a, b, got, q)
		}
		if m.Sign() != 0 {
			q.Add(q, big.NewInt(1))
		}
		if got := ceilDiv2(x, a, b); got != q.Int64() {
			t.Fatalf("ceil(%d / (%d·%d)) = %d, want %s", x, a, b, got, q)
		}
	}
}
