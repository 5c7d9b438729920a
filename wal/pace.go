package wal

import (
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Pacing Pebble's table writes.
//
// A group commit waits for an fdatasync of Pebble's log, and an fdatasync
// waits for the disk to take what is queued before it. A memtable flush
// or a compaction writes its table as fast as it can (64 MiB for a full
// memtable), and on this project's disk that queue made the log's syncs
// go from about 0.5 ms to 8-9 ms (p50) and 30-55 ms (p99) for as long as
// the flush lasted, with the journal's acknowledgements behind them. The
// same writes paced at 32-128 MiB/s left the syncs at 0.5-1 ms (p50) and
// 1.5-2.3 ms (p99). (Measured by a writer of 20 KB records, each synced,
// beside a writer of 64 MiB files in 64 KiB writes with sync_file_range
// every 512 KiB, as Pebble's BytesPerSync does.)
//
// pacedFS paces the writes of the files Pebble writes in the background,
// its tables (.sst, .blob), to a byte rate shared by all of them. The log
// (.log) and the small files Pebble syncs as part of a commit or a flush
// (MANIFEST, OPTIONS, markers) are written at once. The rate must stay
// above the rate at which commands arrive (about 30 bytes each in the
// log, so a million commands per second is about 30 MB/s) or memtables
// queue up and Pebble stops writes; see Options.TableWriteRate.
//
// Pacing is suspended while Pebble stalls writes (then every commit waits
// for a flush anyway: a snapshot larger than half a memtable is flushed as
// a batch of its own, and two queued memtables stop writes) and once the
// log is opening (Pebble replays its own log, and may flush what it
// replays, before anything waits for a sync) or closing (Pebble's Close
// waits for a running flush).
type pacedFS struct {
	vfs.FS
	p *pacer
}

// DefaultTableWriteRate is Options.TableWriteRate's default: a 64 MiB
// memtable is flushed in about a second, twice the log's rate at a million
// commands per second.
const DefaultTableWriteRate = 64 << 20

// pacedFile reports whether writes to the file name are paced.
func pacedFile(name string) bool {
	return strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob")
}

func (fs pacedFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !pacedFile(name) {
		return f, err
	}
	return pacedWrites{File: f, p: fs.p}, nil
}

func (fs pacedFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs pacedFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(newname, f, err)
}

func (fs pacedFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.wrap(name, f, err)
}

func (fs pacedFS) Unwrap() vfs.FS { return fs.FS }

// pacedWrites is a table file whose writes wait for their turn.
type pacedWrites struct {
	vfs.File
	p *pacer
}

func (f pacedWrites) Write(b []byte) (int, error) {
	f.p.wait(len(b))
	return f.File.Write(b)
}

func (f pacedWrites) WriteAt(b []byte, off int64) (int, error) {
	f.p.wait(len(b))
	return f.File.WriteAt(b, off)
}

// pacer spaces writes out to rate bytes per second: each write moves the
// time at which the next may start on by its size at that rate, and waits
// until its own start time. Up to burst of unused time is kept, so a
// write after a quiet spell goes at once and a busy writer is not
// penalised for small gaps.
type pacer struct {
	rate  int64 // bytes per second
	burst time.Duration
	sleep func(time.Duration) // time.Sleep; tests record instead
	now   func() time.Time

	mu   sync.Mutex
	next time.Time // when the next write may start
	// Pacing is suspended (writes go at once) while either holds: two
	// flags, so that a stall ending while the log closes does not turn
	// it back on.
	held    bool // the log is opening or closing
	stalled bool // Pebble is stalling writes
}

func newPacer(bytesPerSec int) *pacer {
	return &pacer{rate: int64(bytesPerSec), burst: 10 * time.Millisecond, sleep: time.Sleep, now: time.Now}
}

func (p *pacer) wait(n int) {
	p.mu.Lock()
	if p.held || p.stalled {
		p.mu.Unlock()
		return
	}
	now := p.now()
	if p.next.Before(now.Add(-p.burst)) {
		p.next = now.Add(-p.burst)
	}
	start := p.next
	p.next = p.next.Add(time.Duration(int64(n) * int64(time.Second) / p.rate)) // n < 2^31: no overflow
	p.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		p.sleep(d)
	}
}

// hold suspends pacing while the log opens or closes (on), or ends that.
func (p *pacer) hold(on bool) {
	p.mu.Lock()
	p.held = on
	p.mu.Unlock()
}

// off reports whether pacing is suspended, for any reason.
func (p *pacer) off() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held || p.stalled
}

// stallListener suspends p while Pebble stalls writes.
func stallListener(p *pacer) pebble.EventListener {
	stall := func(on bool) {
		p.mu.Lock()
		p.stalled = on
		p.mu.Unlock()
	}
	return pebble.EventListener{
		WriteStallBegin: func(pebble.WriteStallBeginInfo) { stall(true) },
		WriteStallEnd:   func() { stall(false) },
	}
}
