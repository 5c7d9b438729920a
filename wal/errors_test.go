package wal

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/paperperps/exchange/engine"
)

// failSyncs fails every file sync and write once armed.
type failSyncs struct{ armed atomic.Bool }

func (f *failSyncs) arm() { f.armed.Store(true) }

func (f *failSyncs) String() string { return "fail syncs and writes" }

func (f *failSyncs) MaybeError(op errorfs.Op) error {
	if !f.armed.Load() {
		return nil
	}
	switch op.Kind {
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo, errorfs.OpFileWrite, errorfs.OpFileWriteAt:
		return errorfs.ErrInjected
	}
	return nil
}

func wrapErrors(fs vfs.FS, inj errorfs.Injector) vfs.FS { return errorfs.Wrap(fs, inj) }

// openInjected opens a log in memory behind inj and recovers its engine;
// mem is the memory under the injector, what a restart finds.
func openInjected(t *testing.T, inj errorfs.Injector) (mem vfs.FS, l *Log, e *engine.Engine) {
	t.Helper()
	mem = vfs.NewMem()
	l, err := Open(Options{Dir: "data", FS: wrapErrors(mem, inj)})
	if err != nil {
		t.Fatal(err)
	}
	if e, _, err = Recover(engine.DefaultConfig(), l); err != nil {
		t.Fatal(err)
	}
	return mem, l, e
}

// restartAfterFailure stops s and l, which failed, as a dying process
// would, reopens mem and checks that it holds command acked and recovers.
func restartAfterFailure(t *testing.T, s *Sequencer, l *Log, mem vfs.FS, acked uint64) {
	t.Helper()
	if s.Err() == nil {
		t.Fatal("no error recorded")
	}
	s.Close()
	func() {
		defer func() { recover() }() // closing over a failed store may complain
		l.Close()
	}()
	l2 := openLog(t, mem)
	defer l2.Close()
	if l2.LastSeq() < acked {
		t.Fatalf("recovered up to %d, %d was acknowledged", l2.LastSeq(), acked)
	}
	if _, _, err := Recover(engine.DefaultConfig(), l2); err != nil {
		t.Fatal(err)
	}
}

// raise makes a at least seq: the highest sequence number acknowledged to
// callers that run at once.
func raise(a *atomic.Uint64, seq uint64) {
	for old := a.Load(); seq > old && !a.CompareAndSwap(old, seq); old = a.Load() {
	}
}

// slowSyncs makes every sync take a while, and once armed fail.
//
// It arms itself when Pebble first writes to a new write-ahead log file
// after the test asked for it (want): a sync that fails while Pebble
// rotates its log (closing the old file syncs it) makes Pebble panic, and
// the process dies instead of failing stop. Once a new file is written to,
// its rotation is done and the next one is a memtable away.
type slowSyncs struct {
	want   atomic.Bool
	armed  atomic.Bool
	on     chan struct{} // closed once armed
	mu     sync.Mutex
	newLog string // the log file Pebble created after want
}

func (f *slowSyncs) String() string { return "slow syncs, then failing ones" }

func (f *slowSyncs) MaybeError(op errorfs.Op) error {
	switch op.Kind {
	case errorfs.OpCreate, errorfs.OpReuseForWrite:
		if strings.HasSuffix(op.Path, ".log") && f.want.Load() {
			f.mu.Lock()
			f.newLog = op.Path
			f.mu.Unlock()
		}
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt:
		f.mu.Lock()
		first := f.newLog != "" && op.Path == f.newLog && !f.armed.Load()
		f.mu.Unlock()
		if first {
			f.armed.Store(true)
			close(f.on)
		}
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		time.Sleep(3 * time.Millisecond)
		if f.armed.Load() {
			return errorfs.ErrInjected
		}
	}
	return nil
}

// TestFailStopUnderLoad: syncs fail while many callers have groups queued
// behind them and snapshots are being taken. Every caller is answered,
// with ErrStopped once the journal has failed; the process goes on; and
// every acknowledged command is in the log a restart recovers.
func TestFailStopUnderLoad(t *testing.T) {
	inj := &slowSyncs{on: make(chan struct{})}
	mem, l, e := openInjected(t, inj)
	// Small groups from many callers keep several of them queued behind
	// each slow sync, with snapshots among them.
	s := NewSequencer(e, l, SequencerOptions{Clock: fakeClock(), SnapshotEvery: 5000, MaxBatch: 256})
	var mu sync.Mutex
	w := newWorkload(5)
	var acked atomic.Uint64
	var wg sync.WaitGroup
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				cmds := make([]engine.Command, 32)
				for i := range cmds {
					cmds[i] = w.next()
				}
				mu.Unlock()
				for _, r := range s.SubmitBatch(context.Background(), cmds) {
					if r.Err != nil {
						if !errors.Is(r.Err, ErrStopped) {
							t.Errorf("a caller got %v, want ErrStopped", r.Err)
						}
						return
					}
					raise(&acked, r.Seq)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	inj.want.Store(true)
	select {
	case <-inj.on:
	case <-time.After(30 * time.Second):
		t.Fatal("Pebble started no new log file in 30 s of load")
	}
	answered := make(chan struct{})
	go func() { wg.Wait(); close(answered) }()
	select {
	case <-answered:
	case <-time.After(30 * time.Second):
		t.Fatal("callers still waiting 30 s after the journal failed")
	}
	if acked.Load() == 0 {
		t.Fatal("nothing was acknowledged before the failure")
	}
	restartAfterFailure(t, s, l, mem, acked.Load())
}
