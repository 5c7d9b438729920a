package wal

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/paperperps/exchange/engine"
)

// gatedSyncs holds every sync while shut, until open is closed.
type gatedSyncs struct {
	shut   atomic.Bool
	open   chan struct{}
	opened sync.Once
	held   chan struct{} // a value for each sync held
}

// release lets every held sync go, and the later ones pass.
func (g *gatedSyncs) release() {
	g.shut.Store(false)
	g.opened.Do(func() { close(g.open) })
}

func (g *gatedSyncs) String() string { return "syncs held at a gate" }

func (g *gatedSyncs) MaybeError(op errorfs.Op) error {
	switch op.Kind {
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		if g.shut.Load() {
			g.held <- struct{}{}
			<-g.open
		}
	}
	return nil
}

// TestBacklogAppliedDuringSync: while a sync hangs, every command that
// arrives is applied at once (a read queued behind each runs before the
// sync returns), not only the next group's; and once the sync is done they
// all go into the next one.
func TestBacklogAppliedDuringSync(t *testing.T) {
	gate := &gatedSyncs{open: make(chan struct{}), held: make(chan struct{}, 16)}
	_, l, e := openInjected(t, gate)
	defer l.Close()
	var mu sync.Mutex
	var groups []int // commands per group commit
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), OnCommit: func(cmds []engine.Command, _ []Result) {
		mu.Lock()
		groups = append(groups, len(cmds))
		mu.Unlock()
	}})
	defer s.Close()
	defer gate.release()
	ctx := context.Background()
	if r := s.Submit(ctx, createAccounts(1)[0]); r.Err != nil {
		t.Fatal(r.Err)
	}
	gate.shut.Store(true)
	first := s.SubmitAsync(ctx, createAccounts(1))
	<-gate.held // the second command's group is being synced, and hangs
	const reqs, per = 20, 3
	var answers []<-chan []Result
	var reads sync.WaitGroup
	for i := range reqs {
		answers = append(answers, s.SubmitAsync(ctx, createAccounts(per)))
		ran := make(chan int, 1)
		reads.Add(1)
		go func() {
			defer reads.Done()
			if err := s.Read(ctx, func(e *engine.Engine) { ran <- e.Ledger().NumAccounts() }); err != nil {
				t.Error(err)
			}
		}()
		select {
		case n := <-ran:
			if want := 2 + (i+1)*per; n != want {
				t.Fatalf("request %d: the read saw %d accounts, want %d", i, n, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("request %d not applied while the sync hangs", i)
		}
	}
	mu.Lock()
	if len(groups) != 1 {
		t.Fatalf("%d groups durable while the sync hangs, want 1", len(groups))
	}
	mu.Unlock()
	gate.release()
	if r := <-first; r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	next := uint64(3)
	for i, ch := range answers {
		for _, r := range <-ch {
			if r.Err != nil || r.Seq != next {
				t.Fatalf("request %d: seq %d (want %d), %v", i, r.Seq, next, r.Err)
			}
			next++
		}
	}
	reads.Wait()
	mu.Lock()
	defer mu.Unlock()
	// The first command, the one whose sync hung, then all the rest at once.
	if want := []int{1, 1, reqs * per}; len(groups) != 3 || groups[1] != 1 || groups[2] != reqs*per {
		t.Fatalf("groups of %v commands, want %v", groups, want)
	}
}
