package clearing

import (
	"testing"
	"unsafe"
)

// TestPositionRecordSize: a position record is 32 bytes, so that reading
// one touches one cache line (see Ledger.links).
func TestPositionRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(position{}); n != 32 {
		t.Fatalf("position is %d bytes, want 32", n)
	}
}
