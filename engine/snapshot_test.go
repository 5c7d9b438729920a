package engine_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/paperperps/exchange/bench"
	"github.com/paperperps/exchange/engine"
)

// TestSnapshotRestore: at many points of a flow, a snapshot restores into an
// engine with the same state hash that then behaves identically: the same
// commands give the same events and the same final hash.
func TestSnapshotRestore(t *testing.T) {
	f, err := bench.NewEngineF1(7, 30_000, 300)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Engine.Config()
	var evA, evB []engine.Event
	for start := 0; start < len(f.Commands); start += 7_919 {
		for i := max(0, start-7_919); i < start; i++ {
			evA = f.Engine.Apply(&f.Commands[i], evA[:0])
		}
		snap := f.Engine.AppendSnapshot(nil)
		if start > 0 && f.Engine.Book(0).Len() == 0 {
			t.Fatalf("at command %d the book is empty: the test would prove little", start)
		}
		if long, _ := f.Engine.Ledger().OpenInterest(0); start > 0 && long == 0 {
			t.Fatalf("at command %d nobody holds a position", start)
		}
		restored, err := engine.Restore(cfg, snap)
		if err != nil {
			t.Fatalf("at command %d: %v", start, err)
		}
		if again := restored.AppendSnapshot(nil); !bytes.Equal(again, snap) {
			t.Fatalf("at command %d: the restored engine snapshots differently", start)
		}
		if restored.StateHash() != f.Engine.StateHash() {
			t.Fatalf("at command %d: state hashes differ", start)
		}
		// Run both on a copy of the next commands; the original goes on
		// from its own state in the next round.
		probe, err := engine.Restore(cfg, snap)
		if err != nil {
			t.Fatal(err)
		}
		for i := start; i < min(start+2_000, len(f.Commands)); i++ {
			evA = probe.Apply(&f.Commands[i], evA[:0])
			evB = restored.Apply(&f.Commands[i], evB[:0])
			if !slices.Equal(evA, evB) {
				t.Fatalf("command %d after a restore at %d: events differ\n%v\n%v", i, start, evA, evB)
			}
		}
		if probe.StateHash() != restored.StateHash() {
			t.Fatalf("after a restore at %d: hashes diverged", start)
		}
	}
}

func TestRestoreRefusesGarbage(t *testing.T) {
	f, err := bench.NewEngineF1(3, 2_000, 50)
	if err != nil {
		t.Fatal(err)
	}
	var ev []engine.Event
	for i := range f.Commands {
		ev = f.Engine.Apply(&f.Commands[i], ev[:0])
	}
	snap := f.Engine.AppendSnapshot(nil)
	cfg := f.Engine.Config()
	for _, bad := range [][]byte{nil, {0}, {99}, snap[:len(snap)/2], append(slices.Clone(snap), 1)} {
		if _, err := engine.Restore(cfg, bad); !errors.Is(err, engine.ErrBadSnapshot) {
			t.Errorf("restore of %d bytes: err = %v, want ErrBadSnapshot", len(bad), err)
		}
	}
	other := engine.DefaultConfig()
	if _, err := engine.Restore(other, snap); !errors.Is(err, engine.ErrBadSnapshot) {
		t.Errorf("restore under other markets: err = %v, want ErrBadSnapshot", err)
	}
}
