package bench

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/paperperps/exchange/orderbook"
)

// BookReport is the result of running flow F1 on one book.
type BookReport struct {
	Commands int
	Seed     uint64
	// Throughput pass: the whole flow with no per-command clock reads.
	Elapsed          time.Duration
	NsPerCommand     float64
	CommandsPerSec   float64
	AllocsPerCommand float64
	// Latency pass: the flow again on a fresh book, each command timed.
	// ClockOverhead is the median cost of one clock read pair, included in
	// every sample.
	P50, P99, P999, Max time.Duration
	ClockOverhead       time.Duration
	// What the flow did.
	Fills, Resting int
}

// RunBookF1 generates flow F1 (seed, n commands) and runs it twice on fresh
// books: once for throughput and allocations, once timing every command.
func RunBookF1(seed uint64, n int) (BookReport, error) {
	flow, err := GenerateF1(seed, n)
	if err != nil {
		return BookReport{}, err
	}
	r := BookReport{Commands: n, Seed: seed}
	ev := make([]orderbook.Event, 0, 1024)

	book, err := orderbook.New(F1Config())
	if err != nil {
		return BookReport{}, err
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for i := range flow {
		ev = book.Apply(&flow[i], ev[:0])
		for _, e := range ev {
			if e.Kind == orderbook.EventFill {
				r.Fills++
			}
		}
	}
	r.Elapsed = time.Since(start)
	runtime.ReadMemStats(&m1)
	r.Resting = book.Len()
	r.NsPerCommand = float64(r.Elapsed.Nanoseconds()) / float64(n)
	r.CommandsPerSec = float64(n) / r.Elapsed.Seconds()
	r.AllocsPerCommand = float64(m1.Mallocs-m0.Mallocs) / float64(n)

	book, err = orderbook.New(F1Config())
	if err != nil {
		return BookReport{}, err
	}
	samples := make([]int64, n)
	for i := range flow {
		t0 := time.Now()
		ev = book.Apply(&flow[i], ev[:0])
		samples[i] = int64(time.Since(t0))
	}
	overhead := make([]int64, 10_000)
	for i := range overhead {
		t0 := time.Now()
		overhead[i] = int64(time.Since(t0))
	}
	slices.Sort(overhead)
	r.ClockOverhead = time.Duration(overhead[len(overhead)/2])
	slices.Sort(samples)
	q := func(p float64) time.Duration { return time.Duration(samples[min(n-1, int(p*float64(n)))]) }
	r.P50, r.P99, r.P999, r.Max = q(0.50), q(0.99), q(0.999), time.Duration(samples[n-1])
	return r, nil
}

// Print writes the report as a small table.
func (r BookReport) Print(w io.Writer) {
	fmt.Fprintf(w, "flow F1: %d commands, seed %d, %d fills, %d orders resting at the end\n", r.Commands, r.Seed, r.Fills, r.Resting)
	fmt.Fprintf(w, "throughput   %12.0f commands/s   %8.1f ns/command   %.4f allocs/command\n", r.CommandsPerSec, r.NsPerCommand, r.AllocsPerCommand)
	fmt.Fprintf(w, "latency      p50 %v   p99 %v   p99.9 %v   max %v   (each sample includes ~%v of clock reads)\n", r.P50, r.P99, r.P999, r.Max, r.ClockOverhead)
}
