package wal

import (
	"runtime"
	"testing"
)

func TestSetProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Setenv("GOMAXPROCS", "")
	restore := SetProcs()
	if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU()+2 {
		t.Fatalf("GOMAXPROCS %d, want %d", got, runtime.NumCPU()+2)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != prev {
		t.Fatalf("restored to %d, want %d", got, prev)
	}
	t.Setenv("GOMAXPROCS", "1")
	SetProcs()()
	if got := runtime.GOMAXPROCS(0); got != prev {
		t.Fatalf("with GOMAXPROCS set in the environment, changed to %d", got)
	}
}
