package wal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

// workload is a seeded stream of commands that trade: accounts, deposits,
// index moves, orders of every kind, cancels.
type workload struct {
	rng      *rand.Rand
	accounts int
	mark     int64
	n        int
}

func newWorkload(seed uint64) *workload {
	return &workload{rng: rand.New(rand.NewPCG(seed, 5)), mark: 1_000_000}
}

func (w *workload) next() engine.Command {
	w.n++
	switch {
	case w.n == 1:
		return engine.Command{Kind: engine.CmdSetIndexPrice, PriceTicks: w.mark}
	case w.accounts < 20 || w.rng.IntN(200) == 0:
		w.accounts++
		return engine.Command{Kind: engine.CmdCreateAccount}
	}
	a := engine.AccountID(w.rng.IntN(w.accounts))
	side := orderbook.Side(1 + w.rng.IntN(2))
	switch r := w.rng.IntN(100); {
	case r < 10:
		return engine.Command{Kind: engine.CmdDeposit, Account: a, AmountQuote: int64(1_000+w.rng.IntN(100_000)) * fixed.QuoteUnitsPerWhole}
	case r < 15:
		w.mark += w.mark * int64(w.rng.IntN(21)-10) / 1000
		return engine.Command{Kind: engine.CmdSetIndexPrice, PriceTicks: w.mark}
	case r < 20:
		return engine.Command{Kind: engine.CmdCancelAll, Account: a}
	case r < 23:
		return engine.Command{Kind: engine.CmdSetMarginMode, Account: a, Mode: clearing.Isolated}
	case r < 50:
		return engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Side: side, Type: orderbook.Market, TIF: orderbook.IOC,
			QtyLots: int64(1 + w.rng.IntN(50))}
	}
	off := w.mark * int64(w.rng.IntN(20)) / 1000
	price := w.mark - off
	if side == orderbook.Sell {
		price = w.mark + off
	}
	return engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Side: side, Type: orderbook.Limit, TIF: orderbook.GTC,
		PriceTicks: price, QtyLots: int64(1 + w.rng.IntN(50))}
}

// fakeClock advances a millisecond per reading.
func fakeClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

func openLog(t testing.TB, fs vfs.FS) *Log {
	t.Helper()
	l, err := Open(Options{Dir: "data", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// replayClean applies the log's commands to a new engine: the reference
// state for a recovery.
func replayClean(t testing.TB, l *Log) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var ev []engine.Event
	if err := l.Replay(0, func(c *engine.Command) error { ev = e.Apply(c, ev[:0]); return nil }); err != nil {
		t.Fatal(err)
	}
	return e
}

// A run, a clean close, a reopen: the recovered engine is the one that
// ran, and equals a clean replay of the log; the results came back in
// order with their events.
func TestSequencerRecover(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs)
	e, _, err := Recover(engine.DefaultConfig(), l)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), SnapshotEvery: 3_000, MaxBatch: 64})
	w := newWorkload(1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[uint64]bool{}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2_500 {
				mu.Lock()
				c := w.next()
				mu.Unlock()
				res := s.Submit(context.Background(), c)
				if res.Err != nil {
					t.Errorf("goroutine %d: %+v", g, res)
					return
				}
				mu.Lock()
				if seen[res.Seq] {
					t.Errorf("seq %d twice", res.Seq)
				}
				seen[res.Seq] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := e.StateHash()
	if l.LastSeq() != 10_000 || len(seen) != 10_000 {
		t.Fatalf("last seq %d, %d results", l.LastSeq(), len(seen))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fs)
	defer l.Close()
	r, _, err := Recover(engine.DefaultConfig(), l)
	if err != nil {
		t.Fatal(err)
	}
	if r.StateHash() != want {
		t.Fatal("the recovered state differs")
	}
	// Snapshots truncated the log: the first command kept follows the
	// newest snapshot.
	snaps, _ := l.Snapshots()
	first, _ := l.FirstSeq()
	if len(snaps) != 1 || snaps[0].Seq != 10_000 || first != 0 {
		t.Fatalf("snapshots %d (last at %d), first command %d", len(snaps), snaps[len(snaps)-1].Seq, first)
	}
}

// Crash points: while commands flow, the file system is cloned as a crash
// would leave it (everything synced, some of what was not). Reopened, the
// clone holds every command acknowledged before the crash, with no gap,
// each as it was submitted, and recovery gives the state of a clean engine
// that applied the same commands. WAL_CRASH_POINTS sets the number
// (default 200, 40 under the race detector).
func TestCrashPoints(t *testing.T) {
	points := 200
	if raceEnabled {
		points = 40 // the race detector's run is for the races, not the count
	}
	if v := os.Getenv("WAL_CRASH_POINTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		points = n
	}
	rng := rand.New(rand.NewPCG(7, 7))
	done := 0
	for run := 0; done < points; run++ {
		done += crashRun(t, uint64(run), rng, min(20, points-done))
	}
}

// crashRun runs one sequencer and takes up to n crash clones during it.
func crashRun(t *testing.T, seed uint64, rng *rand.Rand, n int) int {
	fs := vfs.NewCrashableMem()
	l := openLog(t, fs)
	e, _, err := Recover(engine.DefaultConfig(), l)
	if err != nil {
		t.Fatal(err)
	}
	// Some runs snapshot while crashing: half of them keep every command
	// (recovery restores the snapshot, and a clean replay from the first
	// command checks it), half truncate.
	snapEvery, keep := uint64(0), uint64(0)
	switch seed % 4 {
	case 1:
		snapEvery, keep = 500, 1<<40
	case 3:
		snapEvery = 500
	}
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), SnapshotEvery: snapEvery, KeepCommands: keep, MaxBatch: 1 + rng.IntN(128)})
	w := newWorkload(seed)
	var mu sync.Mutex
	acked := map[uint64]engine.Command{} // what was submitted, by the seq its result gave
	var maxAcked uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				c := w.next()
				mu.Unlock()
				res := s.Submit(context.Background(), c)
				if res.Err != nil {
					t.Error(res.Err)
					return
				}
				mu.Lock()
				acked[res.Seq] = c
				maxAcked = max(maxAcked, res.Seq)
				mu.Unlock()
			}
		}()
	}
	taken := 0
	for ; taken < n; taken++ {
		time.Sleep(time.Duration(rng.IntN(3_000)) * time.Microsecond)
		mu.Lock()
		sure := maxAcked
		ackedNow := make(map[uint64]engine.Command, len(acked))
		for k, v := range acked {
			if k <= sure {
				ackedNow[k] = v
			}
		}
		mu.Unlock()
		clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(rng.Uint64(), 1))})
		checkClone(t, clone, sure, ackedNow)
	}
	close(stop)
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	return taken
}

func checkClone(t *testing.T, fs vfs.FS, sure uint64, acked map[uint64]engine.Command) {
	t.Helper()
	l := openLog(t, fs)
	defer l.Close()
	if l.LastSeq() < sure {
		t.Fatalf("the log ends at %d; %d was acknowledged", l.LastSeq(), sure)
	}
	// Every acknowledged command that the log still keeps is there as
	// submitted (older ones are inside the snapshot).
	first, err := l.FirstSeq()
	if err != nil {
		t.Fatal(err)
	}
	var prev uint64
	from := uint64(0)
	if first > 0 {
		from = first - 1
	}
	if err := l.Replay(from, func(c *engine.Command) error {
		if prev != 0 && c.Seq != prev+1 {
			t.Fatalf("gap: %d after %d", c.Seq, prev)
		}
		prev = c.Seq
		if want, ok := acked[c.Seq]; ok {
			got := *c
			got.Seq, got.TsNanos = 0, 0
			if got != want {
				t.Fatalf("command %d: %+v, submitted %+v", c.Seq, got, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r, _, err := Recover(engine.DefaultConfig(), l)
	if err != nil {
		t.Fatal(err)
	}
	// With every command since the first still kept, a clean replay is the
	// reference (after truncation the snapshot is all there is).
	if first == 1 || l.LastSeq() == 0 {
		if ref := replayClean(t, l); ref.StateHash() != r.StateHash() {
			snaps, _ := l.Snapshots()
			// Where do they part? A clean replay up to each snapshot.
			msg := ""
			for _, sn := range snaps {
				e, _ := engine.New(engine.DefaultConfig())
				var ev []engine.Event
				l.Replay(0, func(c *engine.Command) error {
					if c.Seq <= sn.Seq {
						ev = e.Apply(c, ev[:0])
					}
					return nil
				})
				msg += fmt.Sprintf(" snapshot %d matches a clean replay: %v;", sn.Seq, e.StateHash() == sn.Hash)
			}
			t.Fatalf("recovery differs from a clean replay (last %d, first %d):%s", l.LastSeq(), first, msg)
		}
	}
}

// A sync that fails stops the sequencer: the group gets ErrStopped, so
// does every later command, and a restart recovers exactly what was
// acknowledged.
func TestFailStop(t *testing.T) {
	inj := &failSyncs{}
	mem, l, e := openInjected(t, inj)
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), SnapshotEvery: 1 << 40})
	w := newWorkload(3)
	var last uint64
	for range 500 {
		res := s.Submit(context.Background(), w.next())
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		last = res.Seq
	}
	inj.arm()
	res := s.Submit(context.Background(), w.next())
	if !errors.Is(res.Err, ErrStopped) {
		t.Fatalf("after a failed sync: %+v", res)
	}
	if res := s.Submit(context.Background(), w.next()); !errors.Is(res.Err, ErrStopped) {
		t.Fatalf("after the stop: %+v", res)
	}
	// The process dies here; what is on "disk" is what was synced.
	restartAfterFailure(t, s, l, mem, last)
}

// Replaying the same log twice gives the same events and the same state.
func TestReplayDeterministic(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs)
	defer l.Close()
	w := newWorkload(9)
	cmds := make([]engine.Command, 20_000)
	for i := range cmds {
		cmds[i] = w.next()
		cmds[i].Seq, cmds[i].TsNanos = uint64(i+1), int64(1_767_225_600_000_000_000+i*1_000_000)
	}
	if err := l.Append(cmds); err != nil {
		t.Fatal(err)
	}
	run := func() ([32]byte, uint64) {
		e, err := engine.New(engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var sum uint64
		var ev []engine.Event
		if err := l.Replay(0, func(c *engine.Command) error {
			ev = e.Apply(c, ev[:0])
			for _, x := range ev {
				sum = sum*1_000_003 + uint64(x.Kind)<<40 ^ uint64(x.Account)<<20 ^ uint64(x.QtyLots) ^ uint64(x.BalanceQuote)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return e.StateHash(), sum
	}
	h1, s1 := run()
	h2, s2 := run()
	if h1 != h2 || s1 != s2 {
		t.Fatal("two replays of one log differ")
	}
}

// A last record that does not decode is reported and dropped; a bad record
// before the last stops recovery.
func TestCorruptRecords(t *testing.T) {
	build := func() (*Log, []engine.Command) {
		l := openLog(t, vfs.NewMem())
		w := newWorkload(4)
		cmds := make([]engine.Command, 300)
		for i := range cmds {
			cmds[i] = w.next()
			cmds[i].Seq, cmds[i].TsNanos = uint64(i+1), int64(1_767_225_600_000_000_000+i)
		}
		if err := l.Append(cmds); err != nil {
			t.Fatal(err)
		}
		return l, cmds
	}
	// garble writes the Append's group (at key 1) again with record seq
	// replaced by bytes that do not decode.
	garble := func(l *Log, seq uint64) {
		recs := groupRecords(t, l, 1)
		recs[seq-1] = []byte{recordVersion, 0xff}
		setGroup(t, l, 1, len(recs), recs, nil)
	}
	l, cmds := build()
	garble(l, 300)
	e, rep, err := Recover(engine.DefaultConfig(), l)
	if err != nil || rep.DroppedTail != 300 || l.LastSeq() != 299 || rep.Replayed != 299 {
		t.Fatalf("corrupt tail: %v, %+v, last %d", err, rep, l.LastSeq())
	}
	ref, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var ev []engine.Event
	for i := range 299 {
		ev = ref.Apply(&cmds[i], ev[:0])
	}
	if ref.StateHash() != e.StateHash() {
		t.Fatal("recovered state differs from the first 299 commands'")
	}
	l.Close()

	l, _ = build()
	defer l.Close()
	garble(l, 150)
	if _, _, err := Recover(engine.DefaultConfig(), l); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt record inside the log: %v", err)
	}
	if l.LastSeq() != 300 {
		t.Fatal("a record inside the log was dropped")
	}
}
