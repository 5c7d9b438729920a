package bench

import (
	"runtime"
	"sync"
	"testing"

	"github.com/paperperps/exchange/orderbook"
)

var f1Cache struct {
	sync.Mutex
	cmds []orderbook.Command
}

// f1Flow returns at least n commands of F1 (seed 1); a prefix of the flow is
// the flow with fewer commands, so one generation serves every b.N.
func f1Flow(tb testing.TB, n int) []orderbook.Command {
	f1Cache.Lock()
	defer f1Cache.Unlock()
	if len(f1Cache.cmds) < n {
		cmds, err := GenerateF1(1, n)
		if err != nil {
			tb.Fatal(err)
		}
		f1Cache.cmds = cmds
	}
	return f1Cache.cmds[:n]
}

// BenchmarkBookF1 runs flow F1 on a book that starts empty, one iteration
// per command, so ns/op is nanoseconds per command. B/resting is the heap the
// book holds per resting order at the end.
func BenchmarkBookF1(b *testing.B) {
	flow := f1Flow(b, b.N)
	ev := make([]orderbook.Event, 0, 1024)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	book, err := orderbook.New(F1Config())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		ev = book.Apply(&flow[i], ev[:0])
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := book.Len(); n > 0 {
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "B/resting")
		b.ReportMetric(float64(n), "resting")
	}
	runtime.KeepAlive(book)
}
