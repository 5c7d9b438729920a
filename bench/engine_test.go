package bench

import (
	"runtime"
	"testing"

	"github.com/paperperps/exchange/engine"
)

// BenchmarkEngineF1 runs flow F1 through the engine's Apply (margin checks,
// book, settlement of every fill into the ledger, position events with
// liquidation prices) with 10,000 funded accounts, one iteration per
// command.
func BenchmarkEngineF1(b *testing.B) {
	f, err := NewEngineF1(1, b.N, EngineF1Accounts)
	if err != nil {
		b.Fatal(err)
	}
	ev := make([]engine.Event, 0, 1024)
	runtime.GC() // the setup's garbage is not the flow's cost
	// The engine runs on one thread that owns it, as the sequencer will
	// (it locks its OS thread). Unlocked, the runtime's preemption every
	// 10 ms sends this goroutine back to the run queue, and the other
	// processor may pick it up on a core whose cache holds none of the
	// accounts: about 20 ns per command on a 2-core machine, a cost of
	// the harness, not of the engine.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	for i := range b.N {
		ev = f.Engine.Apply(&f.Commands[i], ev[:0])
	}
}

// TestEngineF1Flow: the whole flow passes the engine's checks (no command
// is refused) and keeps money conserved.
func TestEngineF1Flow(t *testing.T) {
	f, err := NewEngineF1(1, 100_000, 1_000)
	if err != nil {
		t.Fatal(err)
	}
	var ev []engine.Event
	fills := 0
	for i := range f.Commands {
		ev = f.Engine.Apply(&f.Commands[i], ev[:0])
		for _, x := range ev {
			switch x.Kind {
			case engine.EventRejected:
				t.Fatalf("command %d (%s) refused: %s", i, f.Commands[i].Kind, x.Reason)
			case engine.EventFill:
				fills++
			}
		}
	}
	if err := f.Engine.Ledger().CheckConservation(); err != nil {
		t.Fatal(err)
	}
	if fills < 10_000 {
		t.Fatalf("only %d fills", fills)
	}
}
