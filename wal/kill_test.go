package wal

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperperps/exchange/engine"
)

// TestKillRecovery runs the sequencer in a child process (this test
// binary, as TestKillChild) on a real directory under load, kills it with
// SIGKILL at a random moment, and checks the directory: every command the
// child acknowledged is there, and recovery gives the state of a clean
// replay. WAL_KILLS sets the number of kills (default 20); each child
// continues the log the previous one left.
func TestKillRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	kills := 20
	if v := os.Getenv("WAL_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		kills = n
	}
	dir := filepath.Join(t.TempDir(), "data")
	rng := rand.New(rand.NewPCG(11, 11))
	for k := range kills {
		child := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		child.Env = append(os.Environ(), "WAL_KILL_DIR="+dir, "WAL_KILL_SEED="+strconv.Itoa(k))
		out, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		want := 200 + rng.IntN(3_000) // acknowledgements to wait for
		var acked uint64
		sc := bufio.NewScanner(out)
		n := 0
		for n < want && sc.Scan() {
			if seq, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				s, err := strconv.ParseUint(seq, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				acked = max(acked, s)
				n++
			}
		}
		if err := child.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		child.Wait()
		if n < want {
			t.Fatalf("kill %d: the child stopped after %d acknowledgements", k, n)
		}
		l, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if l.LastSeq() < acked {
			t.Fatalf("kill %d: the log ends at %d; %d was acknowledged", k, l.LastSeq(), acked)
		}
		e, _, err := Recover(engine.DefaultConfig(), l)
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		if ref := replayClean(t, l); ref.StateHash() != e.StateHash() {
			t.Fatalf("kill %d: recovery differs from a clean replay", k)
		}
		l.Close()
	}
}

// TestKillChild is TestKillRecovery's child: it recovers the log in
// WAL_KILL_DIR, then submits commands from 8 goroutines forever, printing
// "ack SEQ" for each durable result.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("WAL_KILL_DIR")
	if dir == "" {
		t.Skip("the child of TestKillRecovery")
	}
	seed, _ := strconv.Atoi(os.Getenv("WAL_KILL_SEED"))
	l, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := Recover(engine.DefaultConfig(), l)
	if err != nil {
		t.Fatal(err)
	}
	// Snapshots keep every command, so the parent can compare with a
	// replay from the first.
	s := NewSequencer(e, l, SequencerOptions{SnapshotEvery: 1_000, KeepCommands: 1 << 40, MaxBatch: 256})
	w := newWorkload(uint64(seed))
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	for range 8 {
		go func() {
			for {
				mu.Lock()
				c := w.next()
				mu.Unlock()
				r := s.Submit(context.Background(), c)
				if r.Err != nil {
					fmt.Fprintln(os.Stderr, r.Err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d\n", r.Seq)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute) // killed long before
	t.Fatal("not killed")
}
