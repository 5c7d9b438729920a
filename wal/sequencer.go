package wal

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/paperperps/exchange/engine"
)

// ErrStopped is what a submitted command gets once the sequencer has
// stopped: after Close, or fail-stop after a write error (Err says which).
var ErrStopped = errors.New("wal: sequencer stopped")

// SequencerOptions configure a Sequencer.
type SequencerOptions struct {
	// MaxBatch bounds the commands of one group commit. Default 4,096:
	// about a millisecond of commands at full speed, one fsync.
	MaxBatch int
	// Linger is how long the sequencer waits for more commands after the
	// first of a group before committing it when fewer than MaxBatch are
	// waiting. Default 0: commit what is there at once (an fsync takes
	// long enough for the next group to gather by itself).
	Linger time.Duration
	// SnapshotEvery takes a snapshot after this many commands since the
	// last one. Default 1,000,000; Close always takes one.
	SnapshotEvery uint64
	// KeepCommands is how many commands before the newest snapshot are kept
	// when older records are deleted. Default 0.
	KeepCommands uint64
	// Clock stamps each command's time; default time.Now. It never goes
	// back: a reading before the last is replaced by the last.
	Clock func() time.Time
	// QueueLen bounds the commands waiting to be sequenced. Default 65,536.
	QueueLen int
}

func (o *SequencerOptions) defaults() {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 4096
	}
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = 1_000_000
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 65_536
	}
}

// Result is a command's outcome, released only once the command is
// durable.
type Result struct {
	Seq    uint64
	Events []engine.Event
	Err    error // ErrStopped (wrapped) if the command was not journaled
}

type request struct {
	cmd  engine.Command
	done chan Result
}

// Sequencer is the only owner of the engine: it stamps each submitted
// command with the next sequence number and the time, applies it, journals
// every command of a group in one synced batch, and only then hands out
// the results. On a journal error it stops (fail-stop): the group's
// callers and every later one get ErrStopped, and the process must
// restart and recover.
type Sequencer struct {
	opts     SequencerOptions
	eng      *engine.Engine
	log      *Log
	in       chan request
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	err      error
	lastSnap uint64
	lastTs   int64
}

// NewSequencer starts a sequencer over eng, which must hold exactly the
// state after the log's last command (see Recover).
func NewSequencer(eng *engine.Engine, log *Log, opts SequencerOptions) *Sequencer {
	opts.defaults()
	s := &Sequencer{opts: opts, eng: eng, log: log, in: make(chan request, opts.QueueLen),
		stop: make(chan struct{}), done: make(chan struct{})}
	s.lastSnap, s.lastTs = log.LastSeq(), eng.LastTime()
	go s.run()
	return s
}

// Submit sequences cmd (its Seq and TsNanos are set by the sequencer) and
// waits for its durable result.
func (s *Sequencer) Submit(ctx context.Context, cmd engine.Command) Result {
	select {
	case <-s.stop:
		return Result{Err: s.stoppedErr()}
	default:
	}
	r := request{cmd: cmd, done: make(chan Result, 1)}
	select {
	case s.in <- r:
	case <-s.stop:
		return Result{Err: s.stoppedErr()}
	case <-ctx.Done():
		return Result{Err: ctx.Err()}
	}
	select {
	case res := <-r.done:
		return res
	case <-s.done:
		// The sequencer has exited: it answered the request, or the request
		// came in after its last look at the queue and was never applied.
		select {
		case res := <-r.done:
			return res
		default:
			return Result{Err: s.stoppedErr()}
		}
	case <-ctx.Done():
		// The command may still be journaled; the caller gave up waiting.
		return Result{Err: ctx.Err()}
	}
}

// Err is the error that stopped the sequencer, nil while it runs or after
// a clean Close.
func (s *Sequencer) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Sequencer) stoppedErr() error {
	if err := s.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStopped, err)
	}
	return ErrStopped
}

// Close stops accepting, finishes the commands already queued, takes a
// snapshot and returns; the log stays open (the caller closes it).
func (s *Sequencer) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	return s.Err()
}

func (s *Sequencer) run() {
	// The engine's thread: locked, as BenchmarkEngineF1 assumes.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(s.done)
	batch := make([]request, 0, s.opts.MaxBatch)
	cmds := make([]engine.Command, 0, s.opts.MaxBatch)
	results := make([][]engine.Event, 0, s.opts.MaxBatch)
	var ev []engine.Event
	for {
		batch, cmds, results = batch[:0], cmds[:0], results[:0]
		select {
		case r := <-s.in:
			batch = append(batch, r)
		case <-s.stop:
			s.drainAndSnapshot()
			return
		}
		deadline := time.Time{}
		if s.opts.Linger > 0 {
			deadline = time.Now().Add(s.opts.Linger)
		}
	gather:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.in:
				batch = append(batch, r)
			default:
				if deadline.IsZero() || !time.Now().Before(deadline) {
					break gather
				}
				runtime.Gosched()
			}
		}
		seq := s.log.LastSeq()
		for i := range batch {
			c := batch[i].cmd
			seq++
			c.Seq, c.TsNanos = seq, s.stamp()
			ev = s.eng.Apply(&c, ev[:0])
			cmds = append(cmds, c)
			results = append(results, append([]engine.Event(nil), ev...))
		}
		if err := s.log.Append(cmds); err != nil {
			s.failStop(err, batch)
			return
		}
		for i, r := range batch {
			r.done <- Result{Seq: cmds[i].Seq, Events: results[i]}
		}
		if s.log.LastSeq()-s.lastSnap >= s.opts.SnapshotEvery {
			if err := s.snapshot(); err != nil {
				s.failStop(err, nil)
				return
			}
		}
	}
}

// stamp returns the time for the next command, never before the last.
func (s *Sequencer) stamp() int64 {
	t := s.opts.Clock().UnixNano()
	if t < s.lastTs {
		t = s.lastTs
	}
	s.lastTs = t
	return t
}

// snapshot stores the engine's state after the last command and deletes
// what recovery no longer needs.
func (s *Sequencer) snapshot() error {
	seq := s.log.LastSeq()
	if err := s.log.SaveSnapshot(seq, s.eng.AppendSnapshot(nil)); err != nil {
		return err
	}
	s.lastSnap = seq
	keep := uint64(0)
	if seq > s.opts.KeepCommands {
		keep = seq - s.opts.KeepCommands
	}
	return s.log.Truncate(keep, seq)
}

// failStop records err and answers every waiting caller.
func (s *Sequencer) failStop(err error, batch []request) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) })
	stopped := s.stoppedErr()
	for _, r := range batch {
		r.done <- Result{Err: stopped}
	}
	for {
		select {
		case r := <-s.in:
			r.done <- Result{Err: stopped}
		default:
			return
		}
	}
}

// drainAndSnapshot runs at Close: the commands already queued are
// sequenced, then a snapshot is taken.
func (s *Sequencer) drainAndSnapshot() {
	var ev []engine.Event
	for {
		var batch []request
	drain:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.in:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			break
		}
		cmds := make([]engine.Command, len(batch))
		results := make([][]engine.Event, len(batch))
		seq := s.log.LastSeq()
		for i := range batch {
			c := batch[i].cmd
			seq++
			c.Seq, c.TsNanos = seq, s.stamp()
			ev = s.eng.Apply(&c, ev[:0])
			cmds[i], results[i] = c, append([]engine.Event(nil), ev...)
		}
		if err := s.log.Append(cmds); err != nil {
			s.failStop(err, batch)
			return
		}
		for i, r := range batch {
			r.done <- Result{Seq: cmds[i].Seq, Events: results[i]}
		}
	}
	if s.log.LastSeq() != s.lastSnap {
		if err := s.snapshot(); err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}
}

// Report says what Recover found besides the commands.
type Report struct {
	// Snapshot is the sequence number of the snapshot recovery started
	// from, 0 for none.
	Snapshot uint64
	// Replayed is the number of commands applied after it.
	Replayed uint64
	// DroppedTail is the sequence number of a last record that did not
	// decode and was deleted, 0 if none.
	DroppedTail uint64
}

// Recover rebuilds the engine from the log: the newest snapshot whose bytes
// check out, then every later command. When replay reaches a newer
// snapshot (one that failed to restore), the engine's state hash must match
// it. A last record that does not decode is reported and deleted (the log
// is truncated there); one before the last stops recovery with an error.
// It returns the engine, holding the state after the log's last command.
func Recover(cfg engine.Config, l *Log) (*engine.Engine, Report, error) {
	e, rep, err := recoverOnce(cfg, l)
	var re *RecordError
	if errors.As(err, &re) && re.Seq == l.LastSeq() {
		if err := l.dropTail(re.Seq); err != nil {
			return nil, Report{}, err
		}
		e, rep, err = recoverOnce(cfg, l)
		rep.DroppedTail = re.Seq
	}
	return e, rep, err
}

func recoverOnce(cfg engine.Config, l *Log) (*engine.Engine, Report, error) {
	var rep Report
	snaps, err := l.Snapshots()
	if err != nil {
		return nil, rep, err
	}
	var e *engine.Engine
	from := uint64(0)
	for i := len(snaps) - 1; i >= 0 && e == nil; i-- {
		if snaps[i].Data == nil {
			continue
		}
		if r, err := engine.Restore(cfg, snaps[i].Data); err == nil {
			e, from = r, snaps[i].Seq
		}
	}
	if e == nil {
		if first, err := l.FirstSeq(); err != nil {
			return nil, rep, err
		} else if first > 1 {
			return nil, rep, fmt.Errorf("%w: commands start at %d and no snapshot restores", ErrCorrupt, first)
		}
		if e, err = engine.New(cfg); err != nil {
			return nil, rep, err
		}
	}
	check := map[uint64][32]byte{}
	for _, s := range snaps {
		if s.Seq > from {
			check[s.Seq] = s.Hash
		}
	}
	rep.Snapshot = from
	var ev []engine.Event
	err = l.Replay(from, func(c *engine.Command) error {
		ev = e.Apply(c, ev[:0])
		rep.Replayed++
		if h, ok := check[c.Seq]; ok && e.StateHash() != h {
			return fmt.Errorf("%w: state hash after command %d differs from its snapshot's", ErrCorrupt, c.Seq)
		}
		return nil
	})
	if err != nil {
		return nil, rep, err
	}
	return e, rep, nil
}
