package wal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/snapshot"
)

// ErrClosed is returned by a Log's methods after Close or after a failed
// write (fail-stop: a Log that failed to write never writes again).
var ErrClosed = errors.New("wal: log closed")

// Key spaces: a group of command records (codec.go) is 'c' + the sequence
// number of its first command (8 bytes, big-endian), a snapshot 's' + the
// sequence number of the last command it includes. Pebble keeps keys
// sorted, so each space reads in log order.
const (
	prefixCommand  = 'c'
	prefixSnapshot = 's'
)

func commandKey(dst []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, prefixCommand), seq)
}

func snapshotKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixSnapshot}, seq)
}

// keySeq returns the sequence number of a key of the space prefix.
func keySeq(key []byte, prefix byte) (uint64, bool) {
	if len(key) != 1+keyLen || key[0] != prefix {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[1:]), true
}

// Options configure a Log.
type Options struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// FS is the file system, vfs.Default if nil (tests use vfs.NewMem and
	// vfs.NewCrashableMem).
	FS vfs.FS
	// EventListener, if set, receives Pebble's events (flushes,
	// compactions, log files, write stalls), for logs and metrics.
	EventListener *pebble.EventListener
	// TableWriteRate paces Pebble's writes of tables (memtable flushes and
	// compactions) to this many bytes per second, so that they do not
	// queue up ahead of the log's syncs (pace.go). Default (0):
	// DefaultTableWriteRate; negative: not paced.
	TableWriteRate int
}

// Log is the command journal in Pebble: records appended in synced
// batches, read back in sequence order, with snapshots of the engine
// beside them. It is used by one goroutine at a time (the sequencer).
type Log struct {
	dir    string
	db     *pebble.DB
	last   uint64 // the last sequence number written, 0 for none
	failed error  // the write error that stopped the log
	enc    []byte // prepare's group value, reused
	pace   *pacer // the table writes' pacer, nil if not paced
}

// Open opens (or creates) the log in opts.Dir.
//
// Pebble's options, for an append-mostly log: FormatMajorVersion is set to
// the newest format explicitly (a new store should not start on an old
// format, and an existing one is upgraded); the memtable is 64 MiB so a
// burst of commands stays in memory and is flushed in large sorted runs;
// L0 compaction starts at 4 files (the default) since keys arrive in order
// and flushed tables do not overlap, which makes compactions cheap
// moves; tables are not compressed (DBCompressionNone): the records are
// small and short-lived (truncated after each snapshot), and on a 2-core
// machine the flush of a 64 MiB memtable (about 0.4 s of a core) competes
// with the sequencer, which compression only made longer; everything else
// is Pebble's default, except that table writes go through a paced file
// system (pace.go) so that flushes and compactions do not queue up ahead of
// the log's syncs. Durability comes from
// Pebble's own write-ahead log, synced by every Append.
func Open(opts Options) (*Log, error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	var pace *pacer
	switch rate := opts.TableWriteRate; {
	case rate == 0:
		pace = newPacer(DefaultTableWriteRate)
	case rate > 0:
		pace = newPacer(rate)
	}
	listener := opts.EventListener
	if pace != nil {
		fs = pacedFS{FS: fs, p: pace}
		stalls := stallListener(pace)
		if listener == nil {
			listener = &stalls
		} else {
			tee := pebble.TeeEventListener(*listener, stalls)
			listener = &tee
		}
	}
	po := &pebble.Options{
		FS:                 fs,
		FormatMajorVersion: pebble.FormatNewest,
		MemTableSize:       64 << 20,
		Logger:             quietLogger{},
		EventListener:      listener,
	}
	po.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	// Opening replays Pebble's own log and may flush what it replays,
	// before any commit waits for a sync: not paced (BenchmarkRestart10M
	// took 0.59-0.63 s paced, 0.34-0.42 s not, and 0.31-0.45 s before
	// pacing, in the same spell).
	if pace != nil {
		pace.hold(true)
	}
	db, err := pebble.Open(opts.Dir, po)
	if pace != nil {
		pace.hold(false)
	}
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", opts.Dir, err)
	}
	l := &Log{dir: opts.Dir, db: db, pace: pace}
	if l.last, err = l.lastSeq(); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

// space iterates over the keys of one space (prefixCommand,
// prefixSnapshot).
func (l *Log) space(prefix byte) (*pebble.Iterator, error) {
	return l.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
}

// lastSeq finds the last sequence number the log holds: its last command
// record's, or its newest snapshot's if truncation removed every command
// after it (0 if none). A last group whose header is corrupt counts as
// one record: recovery then finds it corrupt at that number, the log's
// last, and drops it.
func (l *Log) lastSeq() (uint64, error) {
	var last uint64
	for _, prefix := range [...]byte{prefixCommand, prefixSnapshot} {
		it, err := l.space(prefix)
		if err != nil {
			return 0, fmt.Errorf("wal: %w", err)
		}
		if it.Last() {
			seq, ok := keySeq(it.Key(), prefix)
			if !ok {
				it.Close()
				return 0, fmt.Errorf("%w: key %x", ErrCorrupt, it.Key())
			}
			if prefix == prefixCommand {
				seq += uint64(groupCount(it.Value())) - 1
			}
			last = max(last, seq)
		}
		err = it.Error()
		it.Close()
		if err != nil {
			return 0, err
		}
	}
	return last, nil
}

// Dir is the log's data directory.
func (l *Log) Dir() string { return l.dir }

// LastSeq is the sequence number of the last command written (0: none),
// whether its record is kept or only a snapshot after it.
func (l *Log) LastSeq() uint64 { return l.last }

// Append writes cmds (their Seq must continue the log without a gap) in
// one batch and syncs it. Only after it returns nil are the commands
// durable. Any error is final: the log refuses every later write
// (fail-stop; a failed fsync is never retried).
func (l *Log) Append(cmds []engine.Command) error {
	if len(cmds) == 0 {
		return l.failed
	}
	if len(cmds) > 0 && cmds[0].Seq != l.last+1 {
		return fmt.Errorf("wal: command seq %d, want %d", cmds[0].Seq, l.last+1)
	}
	b, err := l.prepare(cmds)
	if err != nil {
		return err
	}
	return l.commitPrepared(b, cmds[len(cmds)-1].Seq)
}

// prepare encodes cmds, whose Seq must follow each other, as one group
// (codec.go) in a batch for commitPrepared. The sequencer prepares a group
// while the one before is being committed, so it checks only the group's
// own order.
func (l *Log) prepare(cmds []engine.Command) (*pebble.Batch, error) {
	if l.failed != nil {
		return nil, l.failed
	}
	if len(cmds) == 0 || len(cmds) > maxGroup {
		return nil, fmt.Errorf("wal: %d commands in one append, at most %d", len(cmds), maxGroup)
	}
	for i := 1; i < len(cmds); i++ {
		if cmds[i].Seq != cmds[i-1].Seq+1 {
			return nil, fmt.Errorf("wal: command seq %d follows %d", cmds[i].Seq, cmds[i-1].Seq)
		}
	}
	l.enc = AppendGroup(l.enc[:0], cmds)
	var key [1 + keyLen]byte
	b := l.db.NewBatch()
	if err := b.Set(commandKey(key[:0], cmds[0].Seq), l.enc, nil); err != nil {
		b.Close()
		return nil, l.fail(err)
	}
	return b, nil
}

// commitPrepared commits a prepared batch with a sync and closes it; last
// is its last sequence number.
func (l *Log) commitPrepared(b *pebble.Batch, last uint64) error {
	if err := l.startCommit(b); err != nil {
		return err
	}
	return l.waitCommit(b, last)
}

// startCommit writes a prepared batch to Pebble's log, asks for a sync and
// applies it to the memtable, without waiting for the sync: the caller
// may work meanwhile, but nothing of the batch is durable, so nothing may
// be released, until waitCommit returns nil. On an error the batch is
// closed (and waitCommit must not be called).
func (l *Log) startCommit(b *pebble.Batch) error {
	if l.failed != nil {
		b.Close()
		return l.failed
	}
	if err := recoverFatal(func() error { return l.db.ApplyNoSyncWait(b, pebble.Sync) }); err != nil {
		b.Close()
		return l.fail(err)
	}
	return nil
}

// waitCommit waits for the sync of a batch startCommit started and closes
// it; last is its last sequence number.
func (l *Log) waitCommit(b *pebble.Batch, last uint64) error {
	defer b.Close()
	if err := recoverFatal(b.SyncWait); err != nil {
		return l.fail(err)
	}
	l.last = last
	return nil
}

// commit commits b with a sync.
func commit(b *pebble.Batch) error {
	return recoverFatal(func() error { return b.Commit(pebble.Sync) })
}

// recoverFatal runs a commit. Pebble reports a failed log write or sync
// through its logger's Fatalf, which here panics with a fatalError; the
// commit's goroutine gets it back as an error, so the sequencer stops
// cleanly (its callers answered) instead of the process dying mid-group.
func recoverFatal(commit func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(fatalError)
			if !ok {
				panic(r)
			}
			err = fe
		}
	}()
	return commit()
}

// fail stops the log with err (the first error wins) and returns the
// error it stopped with.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = fmt.Errorf("wal: write failed, the log is stopped: %w", err)
	}
	return l.failed
}

// Replay calls fn with every command after seq, in order. A gap or a
// record that does not decode stops it with an error wrapping ErrCorrupt:
// nothing is ever skipped. (A write torn by a crash cannot show up here:
// Pebble checksums every batch in its own log and drops an incomplete
// last one when it opens, and that batch was never synced, so never
// acknowledged.)
//
// Records are read and decoded by a second goroutine, a chunk of commands
// ahead of fn, so reading and applying use both cores; fn sees them in
// order, one at a time.
func (l *Log) Replay(after uint64, fn func(*engine.Command) error) error {
	const chunk = 1024
	type part struct {
		cmds []engine.Command
		err  error
	}
	parts := make(chan part, 2)
	free := make(chan []engine.Command, 3)
	for range 3 {
		free <- make([]engine.Command, 0, chunk)
	}
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		defer close(parts)
		send := func(p part) bool {
			select {
			case parts <- p:
				return true
			case <-quit:
				return false
			}
		}
		it, err := l.space(prefixCommand)
		if err != nil {
			send(part{err: fmt.Errorf("wal: %w", err)})
			return
		}
		defer it.Close()
		want := after + 1
		var buf []engine.Command
		select {
		case buf = <-free:
		case <-quit:
			return
		}
		fail := func(err error) { send(part{cmds: buf, err: err}) }
		// The group holding command want may start before it; every later
		// group must start where the one before ended.
		valid := it.SeekLT(commandKey(nil, want+1))
		if !valid {
			valid = it.First()
		}
		for started := false; valid; valid, started = it.Next(), true {
			first, ok := keySeq(it.Key(), prefixCommand)
			if !ok {
				fail(fmt.Errorf("%w: key %x", ErrCorrupt, it.Key()))
				return
			}
			if first > want || (started && first != want) {
				fail(fmt.Errorf("%w: command %d follows %d: a gap", ErrCorrupt, first, want-1))
				return
			}
			// A group that cannot be read as a whole (its header, or
			// what follows its last record) is reported at its first
			// command replay needs, a record that cannot be framed or
			// decoded at its own number (at the first needed one if it
			// lies before it): the error names the first command replay
			// could not deliver, never one it does not need.
			g, err := openGroup(it.Value())
			if err != nil {
				fail(&RecordError{Seq: max(first, want), Err: err})
				return
			}
			end := first + uint64(g.n)
			if end <= want {
				// Wholly at or before after: the group SeekLT found. Its
				// records are not needed, but a count that is wrong could
				// hide needed ones, so its framing is checked.
				if err := g.skip(); err != nil {
					fail(&RecordError{Seq: want, Err: err})
					return
				}
				continue
			}
			need := max(first, want)
			for seq := first; seq < end; seq++ {
				rec, err := g.next()
				if err != nil {
					fail(&RecordError{Seq: max(seq, want), Err: err})
					return
				}
				if seq < want {
					continue // at or before after, in the first group
				}
				buf = buf[:len(buf)+1]
				c := &buf[len(buf)-1]
				if err := DecodeCommand(rec, c); err != nil {
					buf = buf[:len(buf)-1]
					fail(&RecordError{Seq: seq, Err: err})
					return
				}
				c.Seq = seq
				want++
				if len(buf) == chunk {
					if !send(part{cmds: buf}) {
						return
					}
					select {
					case buf = <-free:
						buf = buf[:0]
					case <-quit:
						return
					}
				}
			}
			if err := g.end(); err != nil {
				fail(&RecordError{Seq: need, Err: err})
				return
			}
		}
		fail(it.Error())
	}()
	for p := range parts {
		for i := range p.cmds {
			if err := fn(&p.cmds[i]); err != nil {
				return err
			}
		}
		if p.err != nil {
			return p.err
		}
		free <- p.cmds
	}
	return nil
}

// RecordError is a command record that does not decode.
type RecordError struct {
	Seq uint64
	Err error // wraps ErrCorrupt
}

func (e *RecordError) Error() string { return fmt.Sprintf("command %d: %v", e.Seq, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// dropTail deletes the last command record, seq, synced: with its group
// if it is the group's first, otherwise by writing the group again without
// it.
func (l *Log) dropTail(seq uint64) error {
	if seq != l.last {
		return fmt.Errorf("wal: %d is not the last record (%d)", seq, l.last)
	}
	first, kept, err := l.groupBefore(seq)
	if err != nil {
		return err
	}
	b := l.db.NewBatch()
	defer b.Close()
	if kept == nil {
		err = b.Delete(commandKey(nil, first), nil)
	} else {
		err = b.Set(commandKey(nil, first), kept, nil)
	}
	if err != nil {
		return l.fail(err)
	}
	if err := commit(b); err != nil {
		return l.fail(err)
	}
	l.last = seq - 1
	return nil
}

// groupBefore finds the group holding command seq and returns its first
// command and a group value of its records before seq (nil if seq is its
// first).
func (l *Log) groupBefore(seq uint64) (first uint64, kept []byte, err error) {
	it, err := l.space(prefixCommand)
	if err != nil {
		return 0, nil, fmt.Errorf("wal: %w", err)
	}
	defer it.Close()
	if !it.SeekLT(commandKey(nil, seq+1)) {
		return 0, nil, errors.Join(fmt.Errorf("%w: no record group holds command %d", ErrCorrupt, seq), it.Error())
	}
	first, ok := keySeq(it.Key(), prefixCommand)
	if !ok {
		return 0, nil, fmt.Errorf("%w: key %x", ErrCorrupt, it.Key())
	}
	if first == seq {
		return first, nil, nil
	}
	g, err := openGroup(it.Value())
	if err != nil || uint64(g.n) <= seq-first {
		return 0, nil, errors.Join(fmt.Errorf("%w: the group at %d does not hold command %d", ErrCorrupt, first, seq), err)
	}
	n := seq - first
	kept = appendGroupHeader(nil, int(n))
	for range n {
		rec, err := g.next()
		if err != nil {
			return 0, nil, err
		}
		kept = snapshot.AppendBlob(kept, rec)
	}
	return first, kept, nil
}

// snapshot value: 32-byte SHA-256 of the engine snapshot, then the
// snapshot. The hash both names the state (replay compares it) and checks
// the bytes.

// SaveSnapshot stores the engine snapshot data taken after command seq,
// synced.
func (l *Log) SaveSnapshot(seq uint64, data []byte) error {
	if l.failed != nil {
		return l.failed
	}
	h := sha256.Sum256(data)
	v := append(h[:], data...)
	b := l.db.NewBatch()
	defer b.Close()
	if err := b.Set(snapshotKey(seq), v, nil); err != nil {
		return l.fail(err)
	}
	if err := commit(b); err != nil {
		return l.fail(err)
	}
	return nil
}

// Snapshot is a stored engine snapshot.
type Snapshot struct {
	Seq  uint64 // the last command it includes
	Hash [32]byte
	Data []byte
}

// Snapshots returns the stored snapshots, oldest first. One whose bytes do
// not match its hash is returned with Data nil (the caller skips it).
func (l *Log) Snapshots() ([]Snapshot, error) {
	it, err := l.space(prefixSnapshot)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	defer it.Close()
	var out []Snapshot
	for it.First(); it.Valid(); it.Next() {
		seq, ok := keySeq(it.Key(), prefixSnapshot)
		v := it.Value()
		if !ok || len(v) < sha256.Size {
			return nil, fmt.Errorf("%w: snapshot key %x", ErrCorrupt, it.Key())
		}
		s := Snapshot{Seq: seq}
		copy(s.Hash[:], v)
		if h := sha256.Sum256(v[sha256.Size:]); bytes.Equal(h[:], s.Hash[:]) {
			s.Data = append([]byte(nil), v[sha256.Size:]...)
		}
		out = append(out, s)
	}
	return out, it.Error()
}

// newestSnapshot is the sequence number of the newest snapshot stored: 0
// if none, MaxUint64 if they cannot be read (then no record counts as
// beyond every snapshot).
func (l *Log) newestSnapshot() uint64 {
	seqs, err := l.SnapshotSeqs()
	if err != nil {
		return math.MaxUint64
	}
	if len(seqs) == 0 {
		return 0
	}
	return seqs[len(seqs)-1]
}

// SnapshotSeqs returns the sequence numbers of the stored snapshots,
// oldest first, without reading them.
func (l *Log) SnapshotSeqs() ([]uint64, error) {
	it, err := l.space(prefixSnapshot)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	defer it.Close()
	var out []uint64
	for it.First(); it.Valid(); it.Next() {
		seq, ok := keySeq(it.Key(), prefixSnapshot)
		if !ok {
			return nil, fmt.Errorf("%w: snapshot key %x", ErrCorrupt, it.Key())
		}
		out = append(out, seq)
	}
	return out, it.Error()
}

// Truncate deletes the command records up to and including seq and the
// snapshots before the one at keepSnapshot: what recovery no longer needs.
// A group that holds seq and later commands too is kept whole, so the log
// may keep a few commands before seq+1 (Replay skips them).
func (l *Log) Truncate(seq, keepSnapshot uint64) error {
	if l.failed != nil {
		return l.failed
	}
	end := seq + 1
	it, err := l.space(prefixCommand)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	if it.SeekLT(commandKey(nil, seq+2)) {
		if first, ok := keySeq(it.Key(), prefixCommand); ok && first+uint64(groupCount(it.Value()))-1 > seq {
			end = first // its group goes on after seq
		}
	}
	err = it.Close()
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	b := l.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(commandKey(nil, 0), commandKey(nil, end), nil); err != nil {
		return l.fail(err)
	}
	if err := b.DeleteRange(snapshotKey(0), snapshotKey(keepSnapshot), nil); err != nil {
		return l.fail(err)
	}
	if err := commit(b); err != nil {
		return l.fail(err)
	}
	return nil
}

// FirstSeq is the sequence number of the first command record kept (0 if
// none).
func (l *Log) FirstSeq() (uint64, error) {
	it, err := l.space(prefixCommand)
	if err != nil {
		return 0, fmt.Errorf("wal: %w", err)
	}
	defer it.Close()
	if !it.First() {
		return 0, it.Error()
	}
	seq, _ := keySeq(it.Key(), prefixCommand)
	return seq, nil
}

// Close closes the log.
func (l *Log) Close() error {
	if l.db == nil {
		return nil
	}
	if l.pace != nil {
		l.pace.hold(true) // Close waits for a running flush: let it go at full speed
	}
	err := l.db.Close()
	l.db = nil
	if l.failed == nil {
		l.failed = ErrClosed
	}
	return err
}

// quietLogger drops Pebble's informational messages; errors reach the
// caller through return values, and Fatalf (a failed write or sync, a
// broken store) panics with a fatalError: during a commit recoverFatal
// turns it into an error, and anywhere else it ends the process, which is
// fail-stop too.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, a ...any) {
	panic(fatalError{fmt.Sprintf(format, a...)})
}

type fatalError struct{ msg string }

func (e fatalError) Error() string { return "pebble: " + e.msg }
