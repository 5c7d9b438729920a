package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/wal"
)

// walCommands is the flow length of the WAL benchmarks.
const walCommands = 1_000_000

// BenchmarkWALDurable: flow F1 through the sequencer and the Pebble log
// on disk (group commit with pebble.Sync; a command's result is released
// only after its group is synced). The flow's commands go in batches of
// walPipeline, up to walInFlight of them waiting for their durable
// results at once, in the flow's order (driveWAL). One iteration
// runs walCommands commands after a warm-up of walWarmup; it reports
// cmds/s and the p50/p99 of a batch's time to its durable results (from
// its submission, or when paced from when it was due: driveWAL). The engine starts with the flow's accounts already built (they
// are not journaled: the run measures the flow).
func BenchmarkWALDurable(b *testing.B) {
	benchWALDurable(b, walRun{rate: 0, warmup: walWarmup, commands: walCommands, snapshotEvery: 1 << 40})
}

// BenchmarkWALDurableHalf paces the same flow at walHalfRate, half of the
// journal's throughput target: the load at which its ack latency target
// applies.
func BenchmarkWALDurableHalf(b *testing.B) {
	benchWALDurable(b, walRun{rate: walHalfRate, warmup: walWarmup, commands: walCommands, snapshotEvery: 1 << 40})
}

// BenchmarkWALDurableHalfSteady is BenchmarkWALDurableHalf in the state a
// running exchange is in, which the two above leave out: the store past
// its warm-up, with full-size memtables that are flushed as they fill (one
// every 2 million commands or so), and the snapshots and log truncation of
// `exchange serve`'s defaults (a snapshot every million commands, a
// million kept before it). It paces 3 million commands at walHalfRate
// before the timer and 4 million after it (about 14 s in all), and
// reports the same figures. It needs about 2 GB of memory for the flow.
//
//	go test ./bench -run '^$' -bench '^BenchmarkWALDurableHalfSteady$' -benchtime=1x
func BenchmarkWALDurableHalfSteady(b *testing.B) {
	benchWALDurable(b, walRun{rate: walHalfRate, warmup: 3_000_000, commands: 4_000_000,
		snapshotEvery: 1_000_000, keep: 1_000_000})
}

// walRun is one durable benchmark's shape: warmup and then commands paced
// at rate (0: as fast as they go), with the sequencer's snapshot
// settings.
type walRun struct {
	rate, warmup, commands int
	snapshotEvery, keep    uint64
}

const (
	walInFlight = 256
	walPipeline = 64
	// walHalfRate is half of the journal's target of 1,000,000 durable
	// commands per second (BenchmarkWALDurable goes beyond it).
	walHalfRate = 500_000
)

func benchWALDurable(b *testing.B, run walRun) {
	for range b.N {
		b.StopTimer()
		f, err := NewEngineF1(1, run.commands+run.warmup, EngineF1Accounts)
		if err != nil {
			b.Fatal(err)
		}
		l, err := wal.Open(wal.Options{Dir: filepath.Join(b.TempDir(), "data")})
		if err != nil {
			b.Fatal(err)
		}
		s := wal.NewSequencer(f.Engine, l, wal.SequencerOptions{SnapshotEvery: run.snapshotEvery, KeepCommands: run.keep})
		// A new Pebble store starts with a small memtable that doubles up
		// to its size, each step with a new log file and a flush: stalls
		// of tens of ms that a running exchange has long left behind. The
		// first commands run before the timer.
		if _, err := driveWAL(s, f.Commands[:run.warmup], run.rate); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		all, err := driveWAL(s, f.Commands[run.warmup:], run.rate)
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		l.Close()
		b.ReportMetric(float64(run.commands)/elapsed.Seconds(), "cmds/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// walWarmup is the commands the durable benchmarks run before the timer.
const walWarmup = 200_000

// driveWAL sends cmds in batches of walPipeline, in the flow's order, with
// at most walInFlight batches waiting for their durable results at once
// (as walInFlight connections with a batch out each would), batch k no
// earlier than k × its share of a second at rate (0: as soon as one is
// answered). It returns the batches' latencies, sorted: from the batch's
// due time when paced (so a batch that waits for the driver, or for a
// free slot behind a stall, counts its wait, as a client's request
// would), from its submission otherwise.
//
// One goroutine submits (SubmitAsync, which sequences batches in the order
// they are sent) and one takes the results, in the same order. F1's
// cancels name the orders they cancel by the ids the engine gives them in
// the flow's order; batches sent from several goroutines would be applied
// in another, and then every cancel names an order that is gone or not
// the account's (as they did up to this version of the benchmark: a
// quarter of the commands refused, and resting orders piling up). A
// refused command fails the run.
func driveWAL(s *wal.Sequencer, cmds []engine.Command, rate int) ([]time.Duration, error) {
	type flight struct {
		t0   time.Time
		cmds []engine.Command
		res  <-chan []wal.Result
	}
	flights := make(chan flight, walInFlight)
	slots := make(chan struct{}, walInFlight)
	lat := make([]time.Duration, 0, (len(cmds)+walPipeline-1)/walPipeline)
	var failed error
	taken := make(chan struct{})
	go func() {
		defer close(taken)
		for f := range flights {
			results := <-f.res
			lat = append(lat, time.Since(f.t0))
			<-slots
			for i := range results {
				if failed != nil {
					break
				}
				if err := results[i].Err; err != nil {
					failed = err
				}
				for _, ev := range results[i].Events {
					if ev.Kind == engine.EventRejected {
						failed = fmt.Errorf("bench: command %d (%s) refused: %s", results[i].Seq, f.cmds[i].Kind, ev.Reason)
						break
					}
				}
			}
		}
	}()
	ctx := context.Background()
	start := time.Now()
	for k := 0; k*walPipeline < len(cmds); k++ {
		var due time.Time
		if rate > 0 {
			due = start.Add(time.Duration(int64(k) * walPipeline * int64(time.Second) / int64(rate)))
			time.Sleep(time.Until(due))
		}
		slots <- struct{}{}
		part := cmds[k*walPipeline : min((k+1)*walPipeline, len(cmds))]
		t0 := time.Now()
		if rate > 0 {
			t0 = due
		}
		flights <- flight{t0, part, s.SubmitAsync(ctx, part)}
	}
	close(flights)
	<-taken
	if failed != nil {
		return nil, failed
	}
	slices.Sort(lat)
	return lat, nil
}

// BenchmarkReplay: a journal of the flow's setup and flow F1
// (walCommands commands) written to disk before the timer; one iteration
// recovers an engine from it (no snapshot: every command replayed).
func BenchmarkReplay(b *testing.B) {
	f, l, all := writeF1Journal(b, walCommands)
	want := f.Engine.StateHash()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		e, _, err := wal.Recover(f.Engine.Config(), l)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(all))/time.Since(start).Seconds(), "cmds/s")
		b.StopTimer()
		if e.StateHash() != want {
			b.Fatal("the replayed state differs from the engine that ran the flow")
		}
		b.StartTimer()
	}
	b.StopTimer()
	l.Close()
}

// BenchmarkRestart10M: a journal of 10,000,000 commands of flow F1 (after
// its setup) with a snapshot at the end, as the sequencer leaves it at a
// clean shutdown, written before the timer; one iteration is a restart:
// open the log, restore the snapshot, replay what follows it.
func BenchmarkRestart10M(b *testing.B) {
	const n = 10_000_000
	f, l, all := writeF1Journal(b, n)
	if err := l.SaveSnapshot(uint64(len(all)), f.Engine.AppendSnapshot(nil)); err != nil {
		b.Fatal(err)
	}
	want := f.Engine.StateHash()
	dir := l.Dir()
	l.Close()
	all = nil
	b.ResetTimer()
	for range b.N {
		l, err := wal.Open(wal.Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		e, rep, err := wal.Recover(f.Engine.Config(), l)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if e.StateHash() != want || rep.Snapshot != n+uint64(len(f.Setup)) {
			b.Fatalf("restart: %+v, hash equal %v", rep, e.StateHash() == want)
		}
		l.Close()
		b.StartTimer()
	}
}

// writeF1Journal writes the setup and n commands of flow F1 to a log in a
// temporary directory, numbered from 1, and runs the flow on the engine
// (which ran the setup already), so its state is the journal's. It returns
// the flow, the open log and the journal's commands.
func writeF1Journal(b *testing.B, n int) (*EngineF1, *wal.Log, []engine.Command) {
	f, err := NewEngineF1(1, n, EngineF1Accounts)
	if err != nil {
		b.Fatal(err)
	}
	l, err := wal.Open(wal.Options{Dir: filepath.Join(b.TempDir(), "data")})
	if err != nil {
		b.Fatal(err)
	}
	all := append(slices.Clone(f.Setup), f.Commands...)
	f.Commands = nil
	for i := range all {
		all[i].Seq = uint64(i + 1)
	}
	var ev []engine.Event
	for i := 0; i < len(all); i += 4096 {
		part := all[i:min(i+4096, len(all))]
		if err := l.Append(part); err != nil {
			b.Fatal(err)
		}
		for k := range part {
			if i+k >= len(f.Setup) {
				ev = f.Engine.Apply(&part[k], ev[:0])
			}
		}
	}
	return f, l, all
}
