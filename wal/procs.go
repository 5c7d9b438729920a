package wal

import (
	"os"
	"runtime"
)

// Procs is the GOMAXPROCS a process that runs a Sequencer does best with:
// the machine's CPUs plus two.
//
// Each group's fsync blocks an OS thread (Pebble's log writer) for about
// half a millisecond, a thousand and more times a second, and the engine's
// thread is locked to its own OS thread, which parks and wakes as groups
// come. A blocked or waking thread can keep a processor (P) that other
// goroutines, the ones that read requests and deliver answers, then wait
// for, until the scheduler hands it over. With two Ps on two cores that
// wait showed as idle CPU beside a queue of runnable goroutines; two spare
// Ps let the cores run them meanwhile. On the 2-core machine, in 13
// alternating pairs of BenchmarkWALDurableHalf, GOMAXPROCS 4 against 2:
// ack p99 6.6-11.3 ms (median 9.8) against 5.3-70 ms (median 14.7), p50
// 1.1-2.7 ms against 1.5-4.6: fewer long stalls, not a lower floor. REST
// order entry in `exchange bench api` went from 8,700-10,100 to
// 11,200-11,700 orders/s; WebSocket order entry and the cascade did not
// change beyond their noise.
func Procs() int { return runtime.NumCPU() + 2 }

// SetProcs sets GOMAXPROCS to Procs, unless the GOMAXPROCS environment
// variable chose a value, and returns a function that restores the one
// before.
func SetProcs() (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(Procs())
	return func() { runtime.GOMAXPROCS(prev) }
}
