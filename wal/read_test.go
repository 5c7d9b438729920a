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
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
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
	// One event per command: a group stops at the bound exactly, in the
	// middle of a request when it falls there.
	if groups < reqs*per/maxGroupEvents || most > maxGroupEvents {
		t.Fatalf("%d groups, the largest of %d events (bound %d)", groups, most, maxGroupEvents)
	}
}

// A request whose events outgrow several groups is split across them: the
// caller gets every result at once, in order, and only when all the parts
// are durable; the requests around it keep their order.
func TestLargeRequestSplit(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	n := 3*maxGroupEvents + 7
	var groups int
	var durable atomic.Uint64
	stamps := map[uint64]int64{} // the time of each command
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), MaxBatch: 4 * n,
		OnCommit: func(cmds []engine.Command, _ []Result) {
			groups++
			for _, c := range cmds {
				stamps[c.Seq] = c.TsNanos
			}
			durable.Store(cmds[len(cmds)-1].Seq)
		}})
	chans := []<-chan []Result{
		s.SubmitAsync(context.Background(), createAccounts(10)),
		s.SubmitAsync(context.Background(), createAccounts(n)),
		s.SubmitAsync(context.Background(), createAccounts(10)),
	}
	next := uint64(1)
	for i, ch := range chans {
		res := <-ch
		if want := []int{10, n, 10}[i]; len(res) != want {
			t.Fatalf("request %d: %d results, want %d", i, len(res), want)
		}
		for _, r := range res {
			if r.Err != nil || r.Seq != next || len(r.Events) != 1 || uint64(r.Events[0].Account)+1 != next {
				t.Fatalf("request %d: seq %d (want %d), %v, events %v", i, r.Seq, next, r.Err, r.Events)
			}
			next++
		}
		if d := durable.Load(); d < next-1 {
			t.Fatalf("request %d answered with seq %d durable, its last is %d", i, d, next-1)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if groups < 4 {
		t.Fatalf("%d group commits for %d events, bound %d", groups, n+20, maxGroupEvents)
	}
	// One clock reading per request, in every part of a split one.
	for seq := uint64(11); seq <= uint64(10+n); seq++ {
		if stamps[seq] != stamps[11] {
			t.Fatalf("command %d of the split request stamped %d, its first %d", seq, stamps[seq], stamps[11])
		}
	}
}

// A split request is answered once, by its last part: with every part's
// results, or, if a part fails, with the results of the parts synced
// before it (journaled) and the error for the rest.
func TestSplitRequestAnswer(t *testing.T) {
	boom := errors.New("boom")
	parts := func() (head, rest request) {
		done := make(chan []Result, 2)
		sp := &splitAnswer{total: 5}
		return request{cmds: make([]engine.Command, 2), done: done, split: sp, more: true},
			request{cmds: make([]engine.Command, 3), done: done, split: sp}
	}
	seqs := func(from, n int) []Result {
		var rs []Result
		for i := range n {
			rs = append(rs, Result{Seq: uint64(from + i)})
		}
		return rs
	}
	head, rest := parts()
	answer([]request{head}, seqs(1, 2), nil)
	if len(head.done) != 0 {
		t.Fatal("the first part answered")
	}
	answer([]request{rest}, seqs(3, 3), nil)
	if got := <-rest.done; len(got) != 5 || got[0].Seq != 1 || got[4].Seq != 5 {
		t.Fatalf("answer %v", got)
	}
	for _, headFails := range []bool{false, true} {
		head, rest := parts()
		if headFails {
			answer([]request{head}, nil, boom)
		} else {
			answer([]request{head}, seqs(1, 2), nil)
		}
		answer([]request{rest}, nil, boom)
		got := <-rest.done
		if len(got) != 5 || len(rest.done) != 0 {
			t.Fatalf("head fails %v: %d results, %d more answers", headFails, len(got), len(rest.done))
		}
		for i, r := range got {
			if synced := !headFails && i < 2; synced != (r.Err == nil) || (!synced && !errors.Is(r.Err, boom)) ||
				(synced && r.Seq != uint64(i+1)) {
				t.Fatalf("head fails %v: result %d is %+v", headFails, i, r)
			}
		}
	}
}

// A command whose events pass maxKeptEvents gets them without a copy, in
// the group's own buffer, which is then let go: later groups never write
// over them, and appending to one result does not reach the next. The
// bounds are lowered so that a cancel-all of 200 orders is such a command.
func TestUncopiedResultsStay(t *testing.T) {
	oldGroup, oldKept := maxGroupEvents, maxKeptEvents
	maxGroupEvents, maxKeptEvents = 32, 128
	t.Cleanup(func() { maxGroupEvents, maxKeptEvents = oldGroup, oldKept })
	l := openLog(t, vfs.NewMem())
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), MaxBatch: 1 << 20})
	defer s.Close()
	submit := func(cmds []engine.Command) []Result {
		res := s.SubmitBatch(context.Background(), cmds)
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		return res
	}
	rest := func(a engine.AccountID, n int) []engine.Command {
		var cmds []engine.Command
		for i := range n {
			cmds = append(cmds, engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Side: orderbook.Buy, Type: orderbook.Limit,
				TIF: orderbook.GTC, PriceTicks: 999_000 - int64(i), QtyLots: 100})
		}
		return cmds
	}
	submit([]engine.Command{{Kind: engine.CmdSetIndexPrice, PriceTicks: 1_000_000}, {Kind: engine.CmdCreateAccount},
		{Kind: engine.CmdDeposit, Account: 0, AmountQuote: 10_000_000 * fixed.QuoteUnitsPerWhole}})
	submit(rest(0, 200))
	big := submit([]engine.Command{{Kind: engine.CmdCancelAll, Account: 0}})
	if len(big[0].Events) <= maxKeptEvents {
		t.Fatalf("the cancel-all reported %d events, want more than %d", len(big[0].Events), maxKeptEvents)
	}
	kept := slices.Clone(big[0].Events)
	for range 3 {
		submit(rest(0, 200))
		submit([]engine.Command{{Kind: engine.CmdCancelAll, Account: 0}})
		submit(createAccounts(100))
	}
	_ = append(big[0].Events, engine.Event{Kind: engine.EventRejected})
	if !slices.Equal(kept, big[0].Events) {
		t.Fatalf("the result changed: %v, now %v", kept, big[0].Events)
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
