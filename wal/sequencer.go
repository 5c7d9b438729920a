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
	// MaxBatch bounds the commands of one group commit. Default 8,192:
	// about 8 ms of commands at full speed. A group that reaches it waits
	// for the committer (applying nothing meanwhile); at 4,096 that cost
	// about 5% of the full-speed throughput.
	MaxBatch int
	// Linger is how long a group is held back from the committer after
	// its first command, to gather more (unless it fills up: MaxBatch).
	// Default 0: the committer takes the group as soon as it is free (an
	// fsync takes long enough for the next group to gather by itself).
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
	// Stamped keeps the time each command carries (TsNanos) instead of
	// reading the Clock, still never going back: for scenario runs whose
	// commands live on a simulated clock, so that the same commands give
	// the same results however fast they are applied.
	Stamped bool
	// QueueLen bounds the commands waiting to be sequenced. Default 65,536.
	QueueLen int
	// OnCommit, if set, is called by the committer with each group's
	// commands and results once they are durable, in sequence order and
	// before their submitters get them: the place to feed read models and
	// streams, which must therefore never see a command that could still be
	// lost. It runs on the committer's goroutine between two syncs, so it
	// must be quick and must not block; it must not keep the slices.
	OnCommit func(cmds []engine.Command, results []Result)
}

func (o *SequencerOptions) defaults() {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 8192
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
	// Err is ErrStopped (wrapped) if the sequencer stopped before the
	// command was known to be journaled: it may or may not be in the log
	// (a restart's recovery says), but it was never acknowledged.
	Err error
}

// request is one Submit or SubmitBatch: its commands are sequenced one
// after another, with nothing in between. A Read has no commands and read
// set.
//
// A request whose events outgrow a group is split (take): each part
// is a request of its own in a group of its own, all sharing split, and
// every part but the last has more set. The caller is answered once, by
// the last part, when all of them are durable.
type request struct {
	cmds  []engine.Command
	read  func(*engine.Engine)
	done  chan []Result
	split *splitAnswer
	more  bool
	ts    int64 // a split request's clock reading, for its later parts
}

// splitAnswer gathers a split request's results, part by part (the
// committer answers the parts in order), and knows how many commands the
// whole request had, for an answer that fails them all.
type splitAnswer struct {
	results []Result
	total   int
}

// group is what the sequencer hands the committer: the commands of one
// group commit, applied, to encode in one Pebble batch, and their events,
// to hand out once it is synced; and, when one is due, the engine's
// snapshot right after the group. Groups are reused (see recycle): the
// committer copies the events out for the callers, so the engine writes
// them into memory that is already mapped and likely still cached.
type group struct {
	reqs     []request
	cmds     []engine.Command // stamped; encoded by the committer
	ev       []engine.Event   // the commands' events, in order
	ends     []int            // where each command's events end in ev
	results  []Result         // built by the committer once synced
	last     uint64
	snapshot []byte
}

// maxGroupEvents is the event count past which a group takes no more
// commands (see take), and maxKeptEvents bounds the event buffer a
// recycled group keeps: room for a full group and the large command that
// ended it, so that a cascade's groups reuse their buffers, while one
// enormous command's buffer is let go. Variables for the tests only.
var (
	maxGroupEvents = 1 << 15
	maxKeptEvents  = 1 << 17
)

// freeGroups is how many groups are kept for reuse: at least as many as
// can be in flight (the open one, a split-off rest, the one being
// committed), so that none is dropped and made again with new buffers.
const freeGroups = 4

// Sequencer is the only owner of the engine: it stamps each submitted
// command with the next sequence number and the time, applies it, and
// journals the commands of a group in one synced batch; only then are the
// group's results handed out. Two groups are in flight: while one is
// synced (by a committer goroutine), the commands that arrive are applied
// into the next, which the committer takes as soon as it is free. On a journal
// error it stops (fail-stop): the callers of every group not yet synced,
// and every later one, get ErrStopped, and the process must restart and
// recover.
type Sequencer struct {
	opts     SequencerOptions
	eng      *engine.Engine
	log      *Log
	in       chan request
	commit   chan *group
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	err      error
	seq      uint64 // the last sequence number handed out (run's)
	lastSnap uint64
	snapSize int // the last snapshot's size, to size the next one's buffer
	lastTs   int64
	// inMu and inClosed close the queue for good as the engine's thread
	// leaves (enqueue, closeQueue).
	inMu     sync.RWMutex
	inClosed bool
	// free holds groups the committer is done with, for reuse.
	free chan *group
	// snaps are the stored snapshots' sequence numbers (the committer's).
	snaps []uint64
}

// NewSequencer starts a sequencer over eng, which must hold exactly the
// state after the log's last command (see Recover).
func NewSequencer(eng *engine.Engine, log *Log, opts SequencerOptions) *Sequencer {
	opts.defaults()
	s := &Sequencer{opts: opts, eng: eng, log: log, in: make(chan request, opts.QueueLen), commit: make(chan *group),
		stop: make(chan struct{}), done: make(chan struct{}), free: make(chan *group, freeGroups)}
	s.seq, s.lastSnap, s.lastTs = log.LastSeq(), log.LastSeq(), eng.LastTime()
	s.snaps, _ = log.SnapshotSeqs() // none on an error: truncation then waits for new snapshots
	committed := make(chan struct{})
	go s.committer(committed)
	go s.run(committed)
	return s
}

// Submit sequences cmd (its Seq and TsNanos are set by the sequencer) and
// waits for its durable result.
func (s *Sequencer) Submit(ctx context.Context, cmd engine.Command) Result {
	return s.SubmitBatch(ctx, []engine.Command{cmd})[0]
}

// SubmitBatch sequences cmds, in order and with nothing in between, and
// waits for their durable results: a connection that pipelines orders
// pays the hand-off to the sequencer once.
func (s *Sequencer) SubmitBatch(ctx context.Context, cmds []engine.Command) []Result {
	if len(cmds) == 0 {
		return nil
	}
	r := request{cmds: cmds, done: make(chan []Result, 1)}
	if err := s.enqueue(ctx, r); err != nil {
		return failed(len(cmds), err)
	}
	select {
	case res := <-r.done:
		return res
	case <-ctx.Done():
		// The commands may still be journaled; the caller gave up waiting.
		return failed(len(cmds), ctx.Err())
	}
}

// SubmitAsync sequences cmds as SubmitBatch does but does not wait: their
// durable results arrive on the returned channel. Batches submitted one
// after another by one goroutine are sequenced in that order, so a
// connection can keep several in flight (each group commit then carries
// some of them) and still answer in order.
func (s *Sequencer) SubmitAsync(ctx context.Context, cmds []engine.Command) <-chan []Result {
	r := request{cmds: cmds, done: make(chan []Result, 1)}
	if len(cmds) == 0 {
		r.done <- nil
		return r.done
	}
	if err := s.enqueue(ctx, r); err != nil {
		r.done <- failed(len(cmds), err)
	}
	// Answered by the sequencer itself, once: no goroutine of our own
	// between its answer and the caller (see enqueue).
	return r.done
}

// failed is n results that carry err.
func failed(n int, err error) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i].Err = err
	}
	return out
}

// Read runs fn on the engine's thread, after every command submitted
// before it and before any submitted after it, and returns once every
// command fn could have seen is durable: a consistent view that shows
// nothing that could still be lost. fn must only read the engine, must be
// quick (the engine waits for it), and must copy out what it keeps.
// If ctx ends first, fn may still run later; Read then returns ctx's error.
func (s *Sequencer) Read(ctx context.Context, fn func(*engine.Engine)) error {
	r := request{read: fn, done: make(chan []Result, 1)}
	if err := s.enqueue(ctx, r); err != nil {
		return err
	}
	select {
	case res := <-r.done:
		return res[0].Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue hands r to the engine's thread. Once it has returned nil, r is
// answered on r.done, exactly once, whatever happens next: the engine's
// thread answers every request it takes (with its results, or with
// ErrStopped), and on its way out it closes the queue (closeQueue, under
// inMu, which every enqueue holds for reading) and refuses what is left in
// it, so no request can slip in after its last look.
func (s *Sequencer) enqueue(ctx context.Context, r request) error {
	select {
	case <-s.stop:
		return s.stoppedErr()
	default:
	}
	s.inMu.RLock()
	defer s.inMu.RUnlock()
	if s.inClosed {
		return s.stoppedErr()
	}
	if enqueueHook != nil {
		enqueueHook()
	}
	select {
	case s.in <- r:
		return nil
	case <-s.stop:
		// closeQueue closes stop before it takes the lock, so a sender
		// waiting for room never holds it back.
		return s.stoppedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueueHook, if set, runs in enqueue just before the hand-off: a test
// holds a sender there while the sequencer closes.
var enqueueHook func()

// closeQueue runs as the engine's thread leaves: no request enters the
// queue any more, and those in it are refused.
func (s *Sequencer) closeQueue() {
	// stop first: a sender waiting for room in the queue (holding inMu
	// for reading) leaves only on stop, and the thread may be leaving
	// without it: a panic in Apply or in a Read's fn unwinds through run.
	s.stopOnce.Do(func() { close(s.stop) })
	s.inMu.Lock()
	s.inClosed = true
	s.inMu.Unlock()
	s.refuseQueued()
}

// Done is closed once the sequencer has stopped: after Close, or by
// itself on a journal error (fail-stop; Err says which).
func (s *Sequencer) Done() <-chan struct{} { return s.done }

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

// run is the engine's thread. It applies each request as soon as it
// arrives, into the open group, and hands that group to the committer as
// soon as the committer is free: whatever arrived while the group before
// was being synced is applied by then and goes into the next sync at
// once. (Applying a group only once the committer could take it would
// leave what arrives meanwhile queued, unapplied, for one more sync; after
// a slow sync the whole backlog would then be applied only after it.)
//
// A group is handed over without waiting for the committer to ask, and the
// engine then waits for it, when it is full (MaxBatch commands, or its
// events at maxGroupEvents; a request that crosses that bound is split,
// see take) or a snapshot is due after it.
func (s *Sequencer) run(committed chan struct{}) {
	// Locked, as BenchmarkEngineF1 assumes.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(s.done)
	defer func() { <-committed }()
	defer close(s.commit)
	defer s.closeQueue()
	g := s.newGroup()
	var linger *time.Timer
	lingering := false // the open group waits for Linger to pass
	for {
		if s.Err() != nil {
			// The journal failed: nothing applied since is acknowledged.
			// (What is still queued is refused as run leaves: closeQueue.)
			answer(g.reqs, nil, s.stoppedErr())
			return
		}
		if len(g.reqs) == 0 {
			select {
			case r := <-s.in:
				g = s.take(g, r)
				if s.opts.Linger > 0 {
					if linger == nil {
						linger = time.NewTimer(s.opts.Linger)
					} else {
						linger.Reset(s.opts.Linger)
					}
					lingering = true
				}
			case <-s.stop:
				s.drain(g)
				return
			}
			continue
		}
		if len(g.cmds) >= s.opts.MaxBatch || len(g.ev) >= maxGroupEvents || s.snapshotDue() {
			s.handOver(g)
			g, lingering = s.newGroup(), false
			continue
		}
		if len(s.in) > 0 {
			// A backlog (after a slow sync, or at full load) is applied
			// first: a group handed over now would be smaller, and its
			// sync would only hold back the commands that are waiting.
			g = s.take(g, <-s.in)
			continue
		}
		commit := s.commit
		if lingering {
			commit = nil // not yet: only more commands may join
		} else {
			// The committer waiting goes first; what arrives meanwhile
			// is applied during its sync.
			select {
			case commit <- s.sealed(g):
				g = s.newGroup()
				continue
			default:
			}
		}
		select {
		case commit <- s.sealed(g):
			g = s.newGroup()
		case r := <-s.in:
			g = s.take(g, r)
		case <-timerC(linger, lingering):
			lingering = false
		case <-s.stop:
			s.drain(g)
			return
		}
	}
}

// timerC is t's channel while on, nil (a case that never fires) otherwise.
func timerC(t *time.Timer, on bool) <-chan time.Time {
	if !on {
		return nil
	}
	return t.C
}

// take applies request r in the open group g and returns the open group
// after it: g, or, if r's events took g past maxGroupEvents, a group that
// holds the rest of r, g having been handed over.
//
// A group whose events outgrow maxGroupEvents (a liquidation cascade: one
// command can report tens of thousands) is committed as it stands, even
// in the middle of a request, and the commands left go on in another:
// the event buffers stay at a size the groups reuse instead of regrowing
// by copies of hundreds of megabytes into memory the system has to map,
// and the requests before the large ones are not held back until the
// large ones are applied.
func (s *Sequencer) take(g *group, r request) *group {
	g.reqs = append(g.reqs, r)
	for {
		k := len(g.reqs) - 1
		rq := &g.reqs[k]
		if rq.read != nil {
			rq.read(s.eng)
			return g
		}
		// One reading of the clock per request: its commands were sent
		// together, and a reading costs as much as a tenth of applying a
		// command. Stamped commands keep their own times instead.
		var ts int64
		if !s.opts.Stamped {
			if ts = rq.ts; ts == 0 {
				ts = s.stamp()
			}
		}
		split := -1
		for i := range rq.cmds {
			if len(g.ev) >= maxGroupEvents {
				split = i
				break
			}
			g.cmds = append(g.cmds, rq.cmds[i])
			c := &g.cmds[len(g.cmds)-1]
			s.seq++
			c.Seq = s.seq
			if s.opts.Stamped {
				c.TsNanos = max(c.TsNanos, s.lastTs)
				s.lastTs = c.TsNanos
			} else {
				c.TsNanos = ts
			}
			g.ev = s.eng.Apply(c, g.ev)
			g.ends = append(g.ends, len(g.ev))
		}
		if split < 0 {
			return g
		}
		next := s.splitAt(g, k, split, ts)
		s.handOver(g)
		if s.Err() != nil {
			// The journal failed while the first part was being synced:
			// the rest is not applied.
			answer(next.reqs, nil, s.stoppedErr())
			return s.newGroup()
		}
		g = next
	}
}

// splitAt ends group g before command i of its request k (stamped ts)
// and returns a group of what is left: the rest of request k (a part of
// the same split request, keeping ts) and the requests after it.
func (s *Sequencer) splitAt(g *group, k, i int, ts int64) *group {
	next := s.newGroup()
	kept := k // the requests g keeps
	if i > 0 {
		head := &g.reqs[k]
		if head.split == nil {
			head.split = &splitAnswer{total: len(head.cmds)}
		}
		rest := *head
		rest.cmds, rest.ts = head.cmds[i:], ts // the same clock reading as its first part
		head.cmds, head.more = head.cmds[:i], true
		next.reqs = append(next.reqs, rest)
		kept++
	}
	next.reqs = append(next.reqs, g.reqs[kept:]...)
	clear(g.reqs[kept:])
	g.reqs = g.reqs[:kept]
	return next
}

// snapshotDue reports that the open group ends where a snapshot is due.
func (s *Sequencer) snapshotDue() bool {
	return s.seq-s.lastSnap >= s.opts.SnapshotEvery
}

// sealed records in g the last sequence number it holds, for the
// committer, and returns it.
func (s *Sequencer) sealed(g *group) *group {
	g.last = s.seq
	return g
}

// handOver gives the open group g to the committer, with the engine's
// snapshot after it when one is due, waiting until the committer takes
// it.
func (s *Sequencer) handOver(g *group) {
	if s.snapshotDue() {
		g.snapshot, s.lastSnap = s.snapshot(), s.seq
	}
	s.commit <- s.sealed(g)
}

// snapshot is the engine's snapshot, in a buffer sized after the last one
// (the engine's thread applies nothing while it writes it, and a buffer
// grown from nothing is copied at every doubling).
func (s *Sequencer) snapshot() []byte {
	b := s.eng.AppendSnapshot(make([]byte, 0, s.snapSize+s.snapSize/8))
	s.snapSize = len(b)
	return b
}

// release builds a group's results (to hand out once it is synced): one slice for the group (what
// OnCommit sees), of which each request gets its part, and each request's
// events copied out of the group's buffer into a slice of their own (an
// append to a nil slice of a type without pointers does not zero the
// memory first). A buffer past maxKeptEvents, which recycle lets go, is
// handed out as it is instead of copied.
func (g *group) release() {
	g.results = make([]Result, len(g.cmds))
	keep := cap(g.ev) <= maxKeptEvents
	k, from := 0, 0
	for _, r := range g.reqs {
		n := len(r.cmds)
		if r.read != nil || n == 0 {
			continue
		}
		end := g.ends[k+n-1]
		evs := g.ev[from:end:end]
		if keep {
			evs = append([]engine.Event(nil), evs...)
		}
		prev := 0
		for i := k; i < k+n; i++ {
			e := g.ends[i] - from
			g.results[i] = Result{Seq: g.cmds[i].Seq, Events: evs[prev:e:e]}
			prev = e
		}
		k, from = k+n, end
	}
}

// newGroup returns a group to gather requests in: one the committer is
// done with (its commands and requests slices reused: the committer and
// OnCommit keep neither) or a new one.
func (s *Sequencer) newGroup() *group {
	select {
	case g := <-s.free:
		return g
	default:
		return &group{}
	}
}

// recycle hands a committed group back to the sequencer. Its results
// belong to the callers now and are not reused.
func (s *Sequencer) recycle(g *group) {
	clear(g.reqs) // the requests' commands and channels
	ev := g.ev[:0]
	if cap(ev) > maxKeptEvents {
		ev = nil // handed out by release
	}
	*g = group{reqs: g.reqs[:0], cmds: g.cmds[:0], ev: ev, ends: g.ends[:0]}
	select {
	case s.free <- g:
	default:
	}
}

// drain runs at Close: the open group g, and the requests queued behind
// it, are applied and handed over, and a snapshot follows the last. After
// a journal failure the open group is refused instead, and what is
// queued by closeQueue as run leaves, as after the last snapshot.
func (s *Sequencer) drain(g *group) {
	for {
		if s.Err() != nil {
			answer(g.reqs, nil, s.stoppedErr())
			return
		}
	gather:
		for len(g.cmds) < s.opts.MaxBatch {
			select {
			case r := <-s.in:
				g = s.take(g, r)
			default:
				break gather
			}
		}
		if len(g.reqs) == 0 {
			break
		}
		s.handOver(g)
		g = s.newGroup()
	}
	if s.seq != s.lastSnap {
		s.commit <- &group{last: s.seq, snapshot: s.snapshot()}
		s.lastSnap = s.seq
	}
}

// refuseQueued answers every request still queued with ErrStopped.
func (s *Sequencer) refuseQueued() {
	for {
		select {
		case r := <-s.in:
			answer([]request{r}, nil, s.stoppedErr())
		default:
			return
		}
	}
}

// committer writes the groups to the log in order, each as one batch
// whose sync it asks for without waiting, builds the group's results
// while the sync runs, waits for it, and only then releases them; it
// stores the snapshots that come with the groups. The engine's thread
// meanwhile applies what arrives into the next group.
//
// It writes a group only once the one before is known to be synced. A
// pipeline that wrote the next group while an earlier sync was still
// out was tried (a syncer goroutine behind the committer): after a failed
// sync Pebble's log writer keeps the error and the next write panics with
// it, which, if the committer had written ahead, ended the process
// instead of failing stop; its gain was a few per cent of throughput.
func (s *Sequencer) committer(committed chan struct{}) {
	defer close(committed)
	for g := range s.commit {
		if s.Err() != nil {
			answer(g.reqs, nil, s.stoppedErr())
			continue
		}
		if len(g.cmds) > 0 {
			// Encoding here leaves the engine's thread to applying.
			b, err := s.log.prepare(g.cmds)
			if err == nil {
				err = s.log.startCommit(b)
			}
			if err == nil {
				g.release()
				err = s.log.waitCommit(b, g.last)
			}
			if err != nil {
				s.failStop(err)
				answer(g.reqs, nil, s.stoppedErr())
				continue
			}
			if s.opts.OnCommit != nil {
				s.opts.OnCommit(g.cmds, g.results)
			}
		}
		// A group of reads alone has nothing to sync: the groups before it
		// are, since they were committed in order.
		answer(g.reqs, g.results, nil)
		if g.snapshot != nil {
			if err := s.saveSnapshot(g.last, g.snapshot); err != nil {
				s.failStop(err)
			}
		}
		s.recycle(g)
	}
}

// answer hands each request its part of results (or err for all of
// them); a read gets one Result carrying only the error. A part of a split
// request adds its results to the others'; the last part answers with
// them all, or, on an error, with those of the parts that were synced and
// the error for the rest.
func answer(reqs []request, results []Result, err error) {
	k := 0
	for _, r := range reqs {
		if r.read != nil {
			r.done <- []Result{{Err: err}}
			continue
		}
		n := len(r.cmds)
		if err != nil {
			if r.more {
				continue // the last part answers for the whole request
			}
			// A split request's parts that were synced keep their results
			// (they are journaled); the rest fail.
			var out []Result
			if r.split != nil {
				out, n = r.split.results, r.split.total-len(r.split.results)
			}
			for range n {
				out = append(out, Result{Err: err})
			}
			r.done <- out
			continue
		}
		part := results[k : k+n : k+n]
		k += n
		if r.split != nil {
			r.split.results = append(r.split.results, part...)
			if r.more {
				continue
			}
			part = r.split.results
		}
		r.done <- part
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

// saveSnapshot stores the engine's state after command seq and deletes
// what is no longer needed: the log keeps at least KeepCommands commands
// before the newest snapshot, and starts at a snapshot (the newest one at
// or before that margin), so a replay of everything kept starts from a
// state and checks the newer snapshots' hashes on its way.
func (s *Sequencer) saveSnapshot(seq uint64, data []byte) error {
	if err := s.log.SaveSnapshot(seq, data); err != nil {
		return err
	}
	s.snaps = append(s.snaps, seq)
	if seq < s.opts.KeepCommands {
		return nil
	}
	margin := seq - s.opts.KeepCommands
	base := uint64(0)
	for _, q := range s.snaps {
		if q <= margin {
			base = q
		}
	}
	if base == 0 {
		return nil
	}
	k := 0
	for k < len(s.snaps) && s.snaps[k] < base {
		k++
	}
	s.snaps = s.snaps[k:]
	return s.log.Truncate(base, base)
}

// failStop records err (the first one) and stops the sequencer.
func (s *Sequencer) failStop(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) })
}

// Report says what Recover found besides the commands.
type Report struct {
	// Snapshot is the sequence number of the snapshot recovery started
	// from, 0 for none.
	Snapshot uint64
	// Replayed is the number of commands applied after it.
	Replayed uint64
	// DroppedTail is the sequence number of a last record that did not
	// decode and was deleted, 0 if none: the log was cut before it. If
	// the header of the last group was what did not decode, the whole
	// group was deleted, and how many commands it held is unknown.
	DroppedTail uint64
}

// Recover rebuilds the engine from the log: the newest snapshot whose bytes
// check out, then every later command. When replay reaches a newer
// snapshot (one that failed to restore), the engine's state hash must match
// it. A last record that does not decode is reported and deleted (the log
// is truncated there), unless a snapshot includes it; one before the last
// stops recovery with an error.
// It returns the engine, holding the state after the log's last command.
func Recover(cfg engine.Config, l *Log) (*engine.Engine, Report, error) {
	e, rep, err := recoverOnce(cfg, l)
	var re *RecordError
	if errors.As(err, &re) && re.Seq == l.LastSeq() && re.Seq > l.newestSnapshot() {
		// Never a command a snapshot includes: the engine would then be
		// ahead of the log, and the next command would take its number.
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
	// The later snapshots, in sequence order (as Snapshots lists them),
	// whose hashes the replay checks as it passes them (without their
	// bytes, which need not stay in memory meanwhile).
	type checkpoint struct {
		Seq  uint64
		Hash [32]byte
	}
	var check []checkpoint
	for _, s := range snaps {
		if s.Seq > from {
			check = append(check, checkpoint{s.Seq, s.Hash})
		}
	}
	rep.Snapshot = from
	var ev []engine.Event
	err = l.Replay(from, func(c *engine.Command) error {
		ev = e.Apply(c, ev[:0])
		rep.Replayed++
		if len(check) > 0 && c.Seq == check[0].Seq {
			if e.StateHash() != check[0].Hash {
				return fmt.Errorf("%w: state hash after command %d differs from its snapshot's", ErrCorrupt, c.Seq)
			}
			check = check[1:]
		}
		return nil
	})
	if err != nil {
		return nil, rep, err
	}
	return e, rep, nil
}
