package wal

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// paceClock drives a pacer without sleeping: sleep advances the clock and
// records what was asked.
type paceClock struct {
	t     time.Time
	slept []time.Duration
}

func (c *paceClock) pacer(bytesPerSec int) *pacer {
	p := newPacer(bytesPerSec)
	p.now = func() time.Time { return c.t }
	p.sleep = func(d time.Duration) { c.slept = append(c.slept, d); c.t = c.t.Add(d) }
	return p
}

func TestPacerSpacesWritesToTheRate(t *testing.T) {
	c := &paceClock{t: time.Unix(1_000, 0)}
	p := c.pacer(1 << 20) // 1 MiB/s: 64 KiB takes 62.5 ms
	// The first writes use the burst (10 ms of credit), then each waits
	// for the one before to have had its time.
	for range 20 {
		p.wait(64 << 10)
	}
	var total time.Duration
	for _, d := range c.slept {
		total += d
	}
	// 20 writes of 64 KiB at 1 MiB/s: the 20th starts 19 × 62.5 ms after
	// the first, which started 10 ms early on the burst.
	want := 19*62500*time.Microsecond - 10*time.Millisecond
	if total != want {
		t.Fatalf("slept %s in all, want %s (%v)", total, want, c.slept)
	}
}

func TestPacerKeepsOnlyTheBurstAfterAQuietSpell(t *testing.T) {
	c := &paceClock{t: time.Unix(1_000, 0)}
	p := c.pacer(1 << 20)
	p.wait(64 << 10) // at once
	c.t = c.t.Add(time.Hour)
	p.wait(64 << 10) // at once: the quiet hour is more than its turn
	if len(c.slept) != 0 {
		t.Fatalf("slept %v, want no wait", c.slept)
	}
	// The hour is not kept as credit: the next write waits for the one
	// before, less the 10 ms burst.
	p.wait(64 << 10)
	if want := 62500*time.Microsecond - 10*time.Millisecond; len(c.slept) != 1 || c.slept[0] != want {
		t.Fatalf("slept %v, want [%s]", c.slept, want)
	}
}

// countingFS counts the bytes written through it to each file, and the
// largest single write.
type countingFS struct {
	vfs.FS
	mu       sync.Mutex
	written  map[string]int
	maxWrite int
}

type countingFile struct {
	vfs.File
	name string
	fs   *countingFS
}

func (f countingFile) Write(b []byte) (int, error) {
	f.fs.mu.Lock()
	f.fs.written[f.name] += len(b)
	f.fs.maxWrite = max(f.fs.maxWrite, len(b))
	f.fs.mu.Unlock()
	return f.File.Write(b)
}

func (fs *countingFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	if err != nil {
		return nil, err
	}
	return countingFile{File: f, name: fs.PathBase(name), fs: fs}, nil
}

func TestPacedFSPacesTablesOnly(t *testing.T) {
	c := &paceClock{t: time.Unix(1_000, 0)}
	fs := pacedFS{FS: vfs.NewMem(), p: c.pacer(1 << 20)}
	write := func(name string, n int) {
		t.Helper()
		f, err := fs.Create(name, vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			if _, err := f.Write(make([]byte, 64<<10)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"000002.log", "MANIFEST-000001", "OPTIONS-000003", "marker.format-version.000001.024"} {
		write(name, 10)
	}
	if len(c.slept) != 0 {
		t.Fatalf("the log and Pebble's small files waited %v", c.slept)
	}
	write("000004.sst", 10)
	write("000005.blob", 10)
	if len(c.slept) != 19 {
		t.Fatalf("20 table writes waited %d times, want 19 (the first is on the burst)", len(c.slept))
	}
}

// TestOpenPacesTableWrites: a Log opened with a rate hands Pebble the
// paced file system: a flush's table takes at least its size at the rate
// (less the burst and its last write, which may start at the end), and it
// reads back whole.
func TestOpenPacesTableWrites(t *testing.T) {
	mem := &countingFS{FS: vfs.NewMem(), written: map[string]int{}}
	const rate = 1 << 20
	// The caller's listener still hears Pebble's events beside the
	// pacer's own.
	var flushes atomic.Int32
	el := &pebble.EventListener{FlushEnd: func(pebble.FlushInfo) { flushes.Add(1) }}
	l, err := Open(Options{Dir: "data", FS: mem, TableWriteRate: rate, EventListener: el})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cmds := appendGroups(t, l, 2_000, 2_000)
	start := time.Now()
	if err := l.db.Flush(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	mem.mu.Lock()
	tables, maxWrite := 0, mem.maxWrite
	for name, n := range mem.written {
		if pacedFile(name) {
			tables += n
		}
	}
	mem.mu.Unlock()
	if tables < 32<<10 {
		t.Fatalf("the flush wrote %d bytes of tables, too few to see the pacing: %v", tables, mem.written)
	}
	if least := time.Duration(float64(tables-maxWrite)/rate*1e9) - 10*time.Millisecond; elapsed < least {
		t.Fatalf("a flush of %d bytes of tables at %d B/s took %s, under %s: not paced", tables, rate, elapsed, least)
	}
	if flushes.Load() == 0 {
		t.Fatal("the caller's listener heard no flush")
	}
	got, err := replayed(t, l, 0)
	if err != nil || len(got) != len(cmds) {
		t.Fatalf("replayed %d of %d commands: %v", len(got), len(cmds), err)
	}
}

// Pacing stops while Pebble stalls writes (every commit then waits for the
// flush) and once the log is closing, and resumes when the stall ends.
func TestPacerSuspendedDuringStallsAndClose(t *testing.T) {
	c := &paceClock{t: time.Unix(1_000, 0)}
	p := c.pacer(1 << 20)
	l := stallListener(p)
	l.WriteStallBegin(pebble.WriteStallBeginInfo{Reason: "memtable count limit reached"})
	for range 10 {
		p.wait(64 << 10)
	}
	if len(c.slept) != 0 {
		t.Fatalf("writes waited %v during a write stall", c.slept)
	}
	l.WriteStallEnd()
	p.wait(64 << 10)
	p.wait(64 << 10)
	if len(c.slept) != 1 {
		t.Fatalf("after the stall, two writes waited %d times, want 1", len(c.slept))
	}

	log, err := Open(Options{Dir: "data", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	pace := log.pace
	if pace == nil || pace.off() {
		t.Fatal("a log opened with the default rate is not paced")
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if !pace.off() {
		t.Fatal("Close left the pacing on")
	}
	if l, err := Open(Options{Dir: "data", FS: vfs.NewMem(), TableWriteRate: -1}); err != nil || l.pace != nil {
		t.Fatalf("TableWriteRate -1: pacer %v (%v), want none", l.pace, err)
	} else {
		l.Close()
	}
}

// A write stall that ends while the log is closing leaves pacing off:
// the two reasons are kept apart.
func TestPacerStallEndingDuringCloseStaysOff(t *testing.T) {
	c := &paceClock{t: time.Unix(1_000, 0)}
	p := c.pacer(1 << 20)
	l := stallListener(p)
	l.WriteStallBegin(pebble.WriteStallBeginInfo{})
	p.hold(true)
	l.WriteStallEnd()
	for range 10 {
		p.wait(64 << 10)
	}
	if !p.off() || len(c.slept) != 0 {
		t.Fatalf("a stall's end turned pacing back on during Close: off %v, waits %v", p.off(), c.slept)
	}
}
