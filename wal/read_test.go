package wal

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/paperperps/exchange/engine"
)

// TestReadIsConsistentAndDurable reads the engine while commands stream in
// from several goroutines: a read sees the state after a prefix of the
// commands, and by the time it returns that prefix is durable and has been
// handed to OnCommit (a reader never sees what could still be lost).
func TestReadIsConsistentAndDurable(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var committed atomic.Uint64 // the last sequence number OnCommit saw
	var order sync.Mutex
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), MaxBatch: 16,
		OnCommit: func(cmds []engine.Command, results []Result) {
			order.Lock()
			defer order.Unlock()
			for i, c := range cmds {
				if results[i].Seq != c.Seq || c.Seq != committed.Load()+1 {
					t.Errorf("OnCommit: command %d after %d (result %d)", c.Seq, committed.Load(), results[i].Seq)
				}
				committed.Store(c.Seq)
			}
		}})
	defer s.Close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				r := s.Submit(context.Background(), engine.Command{Kind: engine.CmdCreateAccount})
				if r.Err != nil {
					t.Errorf("writer %d: %v", w, r.Err)
					return
				}
			}
		}()
	}
	last := 0
	for range 300 {
		var seen int
		if err := s.Read(context.Background(), func(e *engine.Engine) { seen = e.Ledger().NumAccounts() }); err != nil {
			t.Fatal(err)
		}
		// Every command here creates one account, so the accounts seen are
		// the sequence number of the last command the read saw.
		if seen < last {
			t.Fatalf("a read saw %d accounts after one saw %d", seen, last)
		}
		if c := committed.Load(); uint64(seen) > c {
			t.Fatalf("a read saw command %d before it was durable (OnCommit at %d)", seen, c)
		}
		last = seen
	}
	wg.Wait()
	if err := s.Read(context.Background(), func(e *engine.Engine) { last = e.Ledger().NumAccounts() }); err != nil || last != 800 {
		t.Fatalf("final read: %d accounts, %v; want 800", last, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Read(context.Background(), func(*engine.Engine) { t.Error("a read ran after Close") }); err == nil {
		t.Fatal("Read after Close succeeded")
	}
}

// Batches submitted asynchronously by one goroutine are sequenced in the
// order submitted, and each gets its results once durable; after Close
// they fail with ErrStopped.
func TestSubmitAsyncKeepsOrder(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), MaxBatch: 8})
	var chans []<-chan []Result
	for i := range 200 {
		chans = append(chans, s.SubmitAsync(context.Background(), createAccounts(1+i%5)))
	}
	next := uint64(1)
	for i, ch := range chans {
		for _, r := range <-ch {
			if r.Err != nil || r.Seq != next {
				t.Fatalf("batch %d: seq %d (want %d), %v", i, r.Seq, next, r.Err)
			}
			next++
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-s.SubmitAsync(context.Background(), []engine.Command{{Kind: engine.CmdClockTick}}); !errors.Is(r[0].Err, ErrStopped) {
		t.Fatalf("after Close: %v", r[0].Err)
	}
}

// With Stamped the sequencer keeps the commands' own times, never going
// back.
func TestStampedKeepsTimes(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSequencer(e, l, SequencerOptions{Stamped: true})
	defer s.Close()
	for _, c := range []struct{ in, want int64 }{{5_000, 5_000}, {9_000, 9_000}, {7_000, 9_000}, {12_000, 12_000}} {
		r := s.Submit(context.Background(), engine.Command{Kind: engine.CmdClockTick, TsNanos: c.in})
		var got int64
		if err := s.Read(context.Background(), func(e *engine.Engine) { got = e.LastTime() }); r.Err != nil || err != nil || got != c.want {
			t.Fatalf("stamped %d: engine at %d, want %d (%v %v)", c.in, got, c.want, r.Err, err)
		}
	}
}

// A group whose events pass maxGroupEvents is committed as it stands and
// the requests left go on in the next one: every result still arrives, in
// order, with its own events, and no group's events run far past the
// bound.
func TestLargeGroupsSplit(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	const reqs, per = 100, 1_000 // one event per command
	groups, most := 0, 0
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), MaxBatch: reqs * per, Linger: 200 * time.Millisecond,
		OnCommit: func(cmds []engine.Command, results []Result) {
			n := 0
			for _, r := range results {
				n += len(r.Events)
			}
			groups, most = groups+1, max(most, n)
		}})
	var chans []<-chan []Result
	for range reqs {
		chans = append(chans, s.SubmitAsync(context.Background(), createAccounts(per)))
	}
	next := uint64(1)
	for i, ch := range chans {
		for _, r := range <-ch {
			if r.Err != nil || r.Seq != next || len(r.Events) != 1 || r.Events[0].Kind != engine.EventAccountCreated ||
				uint64(r.Events[0].Account)+1 != next {
				t.Fatalf("request %d: seq %d (want %d), %v, events %v", i, r.Seq, next, r.Err, r.Events)
			}
			next++
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if groups < reqs*per/(maxGroupEvents+per) || most > maxGroupEvents+per {
		t.Fatalf("%d groups, the largest of %d events (bound %d + one request of %d)", groups, most, maxGroupEvents, per)
	}
}

// A request whose events pass maxKeptEvents gets them without a copy, in
// the group's own buffer, which is then let go: later groups never write
// over them, and appending to one result does not reach the next.
func TestUncopiedResultsStay(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), MaxBatch: 1 << 20})
	defer s.Close()
	big := s.SubmitBatch(context.Background(), createAccounts(maxKeptEvents+5_000))
	kept := make([][]engine.Event, len(big))
	for i := range big {
		if big[i].Err != nil {
			t.Fatal(big[i].Err)
		}
		kept[i] = slices.Clone(big[i].Events)
	}
	for range 3 {
		for _, n := range []int{maxKeptEvents + 1_000, 100, 100, 100} {
			for _, r := range s.SubmitBatch(context.Background(), createAccounts(n)) {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
		}
	}
	for i := range big {
		_ = append(big[i].Events, engine.Event{Kind: engine.EventRejected})
	}
	for i := range big {
		if !slices.Equal(kept[i], big[i].Events) {
			t.Fatalf("result %d changed: %v, now %v", i, kept[i], big[i].Events)
		}
	}
}

// createAccounts is n account creations (one event each).
func createAccounts(n int) []engine.Command {
	cmds := make([]engine.Command, n)
	for i := range cmds {
		cmds[i] = engine.Command{Kind: engine.CmdCreateAccount}
	}
	return cmds
}
