package main

import (
	"os"
	"runtime"
	"sync"
)

// spareProc gives the Go scheduler one processor more than its default
// (the CPUs the process may use), unless GOMAXPROCS is set in the
// environment. Under load the sequencer's engine goroutine keeps a
// processor for itself (it holds its OS thread), which on two cores left
// the committer, Pebble's log writer and every connection one processor
// between them: the committer, woken when its sync returns, waited for it
// behind the network goroutines. With one more, the operating system's
// scheduler, which runs a thread that has just woken soon, decides
// instead. On `exchange bench api` (two cores, seven alternating runs)
// REST went from 8,400-9,600 to 9,300-12,700 orders/s, the WebSocket's p99
// at half rate from 15-38 ms to 14-19, and the WebSocket's rate stayed
// about the same (88,000-123,000 against 100,000-129,000 orders/s).
func spareProc() {
	spareOnce.Do(func() {
		if os.Getenv("GOMAXPROCS") == "" {
			runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
		}
	})
}

var spareOnce sync.Once
