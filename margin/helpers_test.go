package margin_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

// wantErr checks that err matches target by errors.Is and that its message
// contains msg.
func wantErr(t *testing.T, desc string, err, target error, msg string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one matching %v", desc, err, target)
		return
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: error %q does not contain %q", desc, err, msg)
	}
	if !strings.HasPrefix(err.Error(), "margin: ") {
		t.Errorf("%s: error %q lacks the package prefix", desc, err)
	}
}

func bi(x int64) *big.Int { return big.NewInt(x) }

// ceilDiv and floorDiv are exact references on big integers.
func floorDiv(a, b *big.Int) *big.Int {
	q, m := new(big.Int), new(big.Int)
	q.DivMod(a, b, m) // Euclidean: m >= 0
	if b.Sign() < 0 && m.Sign() != 0 {
		q.Add(q, bi(1))
	}
	return q
}

func ceilDiv(a, b *big.Int) *big.Int {
	return new(big.Int).Neg(floorDiv(new(big.Int).Neg(a), b))
}

// ratCeil and ratFloor round an exact rational.
func ratFloor(r *big.Rat) *big.Int { return floorDiv(r.Num(), r.Denom()) }
func ratCeil(r *big.Rat) *big.Int  { return ceilDiv(r.Num(), r.Denom()) }
