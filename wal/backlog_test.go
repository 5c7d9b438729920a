package wal

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
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

// TestCloseAnswersEveryCaller: callers keep submitting (async, waiting,
// and reads) while the sequencer closes. Every one of them gets its
// answer: a request the engine's thread took is answered by it, and one it
// did not is refused, never left waiting (SubmitAsync has no goroutine of
// its own to notice the sequencer leave). What was acknowledged is in the
// log.
func TestCloseAnswersEveryCaller(t *testing.T) {
	for round := range 20 {
		l := openLog(t, vfs.NewMem())
		e, _, err := Recover(engine.DefaultConfig(), l)
		if err != nil {
			t.Fatal(err)
		}
		// A queue of one keeps callers waiting for room as Close comes.
		s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), MaxBatch: 1 + round%5, SnapshotEvery: 40, QueueLen: 1})
		var acked atomic.Uint64
		var callers sync.WaitGroup
		for c := range 12 {
			callers.Add(1)
			go func() {
				defer callers.Done()
				ctx := context.Background()
				for k := 0; ; k++ {
					var res []Result
					switch (c + k) % 3 {
					case 0:
						if err := s.Read(ctx, func(*engine.Engine) {}); err != nil {
							if !errors.Is(err, ErrStopped) {
								t.Error(err)
							}
							return
						}
						continue
					case 1:
						res = <-s.SubmitAsync(ctx, createAccounts(1+k%3))
					default:
						res = s.SubmitBatch(ctx, createAccounts(1+k%3))
					}
					for _, r := range res {
						if r.Err != nil {
							if !errors.Is(r.Err, ErrStopped) {
								t.Error(r.Err)
							}
							return
						}
						raise(&acked, r.Seq)
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%4) * time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- s.Close() }()
		answered := make(chan struct{})
		go func() { callers.Wait(); close(answered) }()
		select {
		case <-answered:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: callers still waiting 20 s after Close", round)
		}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if l.LastSeq() < acked.Load() {
			t.Fatalf("round %d: the log ends at %d, %d was acknowledged", round, l.LastSeq(), acked.Load())
		}
		l.Close()
	}
}

// TestLateSenderAnswered: a sender that passed the check for a stopped
// sequencer and is about to hand its request over when the sequencer
// leaves is answered all the same, whichever way its hand-off goes
// (into the queue, which closeQueue then refuses, or not at all).
func TestLateSenderAnswered(t *testing.T) {
	for range 20 {
		l := openLog(t, vfs.NewMem())
		e, _, err := Recover(engine.DefaultConfig(), l)
		if err != nil {
			t.Fatal(err)
		}
		s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock()})
		inside, release := make(chan struct{}), make(chan struct{})
		enqueueHook = func() {
			close(inside)
			<-release
		}
		res := make(chan []Result, 1)
		go func() { res <- <-s.SubmitAsync(context.Background(), createAccounts(1)) }()
		<-inside
		enqueueHook = nil
		closed := make(chan error, 1)
		go func() { closed <- s.Close() }()
		// Wait until the engine's thread has drained the queue and waits
		// in closeQueue for the sender held in enqueue: while a writer
		// waits for the lock, TryRLock fails.
		for s.inMu.TryRLock() {
			s.inMu.RUnlock()
			time.Sleep(100 * time.Microsecond)
		}
		close(release)
		select {
		case r := <-res:
			if !errors.Is(r[0].Err, ErrStopped) {
				t.Fatalf("the late request got %+v", r[0])
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the late request was never answered")
		}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
}

// TestThreadExitReleasesSenders: when the engine's thread leaves without
// Close or a journal failure (here a Read's fn ends its goroutine, as a
// panic unwinding through it would), a caller waiting for room in a full
// queue is let go and refused, the request queued is refused, and the
// sequencer is done: nothing hangs.
func TestThreadExitReleasesSenders(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	e, _, err := Recover(engine.DefaultConfig(), l)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), QueueLen: 1})
	ctx := context.Background()
	inRead, leave := make(chan struct{}), make(chan struct{})
	go s.Read(ctx, func(*engine.Engine) {
		close(inRead)
		<-leave
		runtime.Goexit()
	})
	<-inRead
	queued := s.SubmitAsync(ctx, createAccounts(1)) // fills the queue
	waiting := make(chan []Result, 1)
	go func() { waiting <- s.SubmitBatch(ctx, createAccounts(1)) }()
	time.Sleep(20 * time.Millisecond) // the second caller waits for room
	close(leave)
	for name, ch := range map[string]<-chan []Result{"queued": queued, "waiting": waiting} {
		select {
		case res := <-ch:
			if !errors.Is(res[0].Err, ErrStopped) {
				t.Fatalf("the %s request got %+v", name, res[0])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s request was never answered", name)
		}
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the sequencer is not done after its thread left")
	}
}
