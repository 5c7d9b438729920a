package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/snapshot"
)

// decodeGroup decodes a whole group value, numbering its commands from
// first.
func decodeGroup(v []byte, first uint64) ([]engine.Command, error) {
	g, err := openGroup(v)
	if err != nil {
		return nil, err
	}
	out := make([]engine.Command, g.n)
	for i := range out {
		rec, err := g.next()
		if err != nil {
			return nil, err
		}
		if err := DecodeCommand(rec, &out[i]); err != nil {
			return nil, err
		}
		out[i].Seq = first + uint64(i)
	}
	return out, g.end()
}

// Groups of every size up to 300 of random commands decode to the same
// commands; some records take two bytes of length.
func TestGroupRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	long := 0
	var buf []byte
	for n := 1; n <= 300; n++ {
		cmds := make([]engine.Command, n)
		for i := range cmds {
			cmds[i] = randomCommand(rng)
			if rng.IntN(10) == 0 {
				cmds[i] = widest(rng)
			}
			cmds[i].Seq = 1000 + uint64(i)
			if len(AppendCommand(nil, &cmds[i])) >= 0x80 {
				long++
			}
		}
		buf = AppendGroup(buf[:0], cmds)
		got, err := decodeGroup(buf, 1000)
		if err != nil {
			t.Fatalf("group of %d: %v", n, err)
		}
		if !slices.Equal(got, cmds) {
			t.Fatalf("group of %d decodes to other commands", n)
		}
	}
	if long == 0 {
		t.Fatal("no record of 128 bytes or more was tried")
	}
}

// widest is a command with every field at or near its widest encoding.
func widest(rng *rand.Rand) engine.Command {
	c := engine.Command{Kind: 9, Mode: 1, Side: 2, Type: 3, TIF: 4, STP: 5, ReduceOnly: true, Trigger: 6, TriggerBy: 7,
		Market: 65_535, Account: 4_294_967_295, TsNanos: math.MinInt64, AmountQuote: math.MinInt64, Leverage: math.MaxInt64,
		OrderID: 1 << 63, PriceTicks: math.MinInt64 + rng.Int64N(1000), QtyLots: math.MinInt64, TriggerTicks: math.MaxInt64}
	for i := range c.ClientOrderID {
		c.ClientOrderID[i] = byte(1 + rng.IntN(255))
	}
	return c
}

// A value that is not a group AppendGroup could have written is refused,
// naming what is wrong; a lone record (a log from before groups) is a group
// of one.
func TestGroupCorrupt(t *testing.T) {
	rec := AppendCommand(nil, &engine.Command{Kind: engine.CmdDeposit, Account: 3, AmountQuote: 7})
	good := AppendGroup(nil, []engine.Command{{Kind: engine.CmdDeposit, Account: 3, AmountQuote: 7}, {Kind: engine.CmdCreateAccount}})
	if cmds, err := decodeGroup(rec, 9); err != nil || len(cmds) != 1 || cmds[0].Seq != 9 || cmds[0].AmountQuote != 7 {
		t.Fatalf("a lone record: %+v, %v", cmds, err)
	}
	for _, tc := range []struct {
		name, value string
		want        string
	}{
		{"empty", "", "group version: truncated"},
		{"version", "\x03\x01", "group version 3, want 2"},
		{"no records", "\x02\x00", "empty group"},
		{"count beyond the bytes", "\x02\x05\x01\x01", "5 records in 2 bytes"},
		{"count above the limit", "\x02\xff\xff\xff\x01", "above"},
		{"record cut short", string(good[:len(good)-1]), "record: 4 bytes, 3 left"},
		{"bytes after the last record", string(good) + "\x00", "1 bytes after the group's last record"},
		{"length not in shortest form", "\x02\x01\x82\x00" + string(rec), "shortest form"},
	} {
		_, err := decodeGroup([]byte(tc.value), 1)
		if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// FuzzDecodeGroup: decoding a group never panics, and a group whose every
// record decodes encodes back to the same bytes (one encoding per group).
func FuzzDecodeGroup(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 4 {
		cmds := make([]engine.Command, n+1)
		for i := range cmds {
			cmds[i] = randomCommand(rng)
		}
		f.Add(AppendGroup(nil, cmds))
	}
	f.Add(AppendCommand(nil, &engine.Command{Kind: engine.CmdCreateAccount}))
	f.Fuzz(func(t *testing.T, b []byte) {
		cmds, err := decodeGroup(b, 0)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		got := AppendGroup(nil, cmds)
		if b[0] == recordVersion {
			got = AppendCommand(nil, &cmds[0]) // a lone record
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("%x decodes and encodes to %x", b, got)
		}
	})
}

// appendGroups writes groups of the given sizes, numbered from 1, and
// returns every command.
func appendGroups(t *testing.T, l *Log, sizes ...int) []engine.Command {
	t.Helper()
	w := newWorkload(8)
	var all []engine.Command
	for _, n := range sizes {
		cmds := make([]engine.Command, n)
		for i := range cmds {
			cmds[i] = w.next()
			cmds[i].Seq, cmds[i].TsNanos = uint64(len(all)+i+1), int64(1_767_225_600_000_000_000+len(all)+i)
		}
		if err := l.Append(cmds); err != nil {
			t.Fatal(err)
		}
		all = append(all, cmds...)
	}
	return all
}

func replayed(t *testing.T, l *Log, after uint64) ([]engine.Command, error) {
	t.Helper()
	var got []engine.Command
	err := l.Replay(after, func(c *engine.Command) error { got = append(got, *c); return nil })
	return got, err
}

// Replay from any point, inside a group or at its edge, returns exactly
// the commands after it; a reopened log knows its last command.
func TestReplayFromInsideAGroup(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs)
	all := appendGroups(t, l, 5, 7, 1, 3)
	l.Close()
	l = openLog(t, fs)
	defer l.Close()
	if l.LastSeq() != uint64(len(all)) {
		t.Fatalf("last %d, want %d", l.LastSeq(), len(all))
	}
	for after := range len(all) + 2 {
		got, err := replayed(t, l, uint64(after))
		if err != nil {
			t.Fatalf("after %d: %v", after, err)
		}
		if want := all[min(after, len(all)):]; !slices.Equal(got, want) {
			t.Fatalf("after %d: %d commands, want %d", after, len(got), len(want))
		}
	}
}

// Truncate keeps a group that goes on past the point whole; replay from
// the point still starts right after it.
func TestTruncateKeepsAGroupThatGoesOn(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	all := appendGroups(t, l, 5, 7, 3) // 1-5, 6-12, 13-15
	for _, tc := range []struct{ seq, first uint64 }{{3, 1}, {5, 6}, {8, 6}, {12, 13}, {14, 13}, {15, 0}} {
		if err := l.Truncate(tc.seq, 0); err != nil {
			t.Fatal(err)
		}
		if first, err := l.FirstSeq(); err != nil || first != tc.first {
			t.Fatalf("truncated at %d: first %d (%v), want %d", tc.seq, first, err, tc.first)
		}
		got, err := replayed(t, l, tc.seq)
		if err != nil || !slices.Equal(got, all[tc.seq:]) {
			t.Fatalf("truncated at %d: replay %d commands (%v), want %d", tc.seq, len(got), err, len(all)-int(tc.seq))
		}
	}
}

// A log written one record per key (before groups) reads on, with groups
// after it.
func TestLogOfLoneRecords(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs)
	w := newWorkload(9)
	var all []engine.Command
	for seq := uint64(1); seq <= 4; seq++ {
		c := w.next()
		c.Seq, c.TsNanos = seq, int64(seq)
		all = append(all, c)
		if err := l.db.Set(commandKey(nil, seq), AppendCommand(nil, &c), nil); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	l = openLog(t, fs)
	defer l.Close()
	if l.LastSeq() != 4 {
		t.Fatalf("last %d, want 4", l.LastSeq())
	}
	more := make([]engine.Command, 3)
	for i := range more {
		more[i] = w.next()
		more[i].Seq, more[i].TsNanos = uint64(5+i), int64(5+i)
	}
	if err := l.Append(more); err != nil {
		t.Fatal(err)
	}
	all = append(all, more...)
	for after := range len(all) + 1 {
		if got, err := replayed(t, l, uint64(after)); err != nil || !slices.Equal(got, all[after:]) {
			t.Fatalf("after %d: %d commands (%v), want %d", after, len(got), err, len(all)-after)
		}
	}
}

// A group whose key lies inside the one before, or after a gap, stops
// replay with ErrCorrupt: nothing is skipped or read twice.
func TestReplayRefusesOverlapsAndGaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  uint64
	}{{"overlap", 4}, {"gap", 12}} {
		l := openLog(t, vfs.NewMem())
		appendGroups(t, l, 5, 5) // 1-5, 6-10
		one := AppendGroup(nil, []engine.Command{{Kind: engine.CmdCreateAccount}})
		if err := l.db.Set(commandKey(nil, tc.key), one, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := replayed(t, l, 0); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", tc.name, err)
		}
		l.Close()
	}
}

// A corrupt last record inside a group is dropped by writing the group
// again with the records before it, which then replay as before.
func TestDropTailInsideAGroup(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	all := appendGroups(t, l, 4, 6) // 1-4, 5-10
	recs := groupRecords(t, l, 5)
	recs[5] = []byte{recordVersion, 0xff} // command 10 does not decode
	setGroup(t, l, 5, 6, recs, nil)
	_, rep, err := Recover(engine.DefaultConfig(), l)
	if err != nil || rep.DroppedTail != 10 || l.LastSeq() != 9 {
		t.Fatalf("%+v, %v, last %d", rep, err, l.LastSeq())
	}
	if got, err := replayed(t, l, 0); err != nil || !slices.Equal(got, all[:9]) {
		t.Fatalf("after the drop: %d commands (%v)", len(got), err)
	}
	// The next append continues the log.
	next := all[9]
	if err := l.Append([]engine.Command{next}); err != nil {
		t.Fatal(err)
	}
	if got, err := replayed(t, l, 0); err != nil || !slices.Equal(got, all) {
		t.Fatalf("after the next append: %d commands (%v)", len(got), err)
	}
}

// groupRecords returns the records of the group at key.
func groupRecords(t *testing.T, l *Log, key uint64) [][]byte {
	t.Helper()
	v, closer, err := l.db.Get(commandKey(nil, key))
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	g, err := openGroup(v)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for range g.n {
		rec, err := g.next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(rec))
	}
	return out
}

// setGroup stores a group value at key that claims count records, holds
// recs and ends with tail.
func setGroup(t *testing.T, l *Log, key uint64, count int, recs [][]byte, tail []byte) {
	t.Helper()
	v := binary.AppendUvarint([]byte{groupVersion}, uint64(count))
	for _, r := range recs {
		v = snapshot.AppendBlob(v, r)
	}
	if err := l.db.Set(commandKey(nil, key), append(v, tail...), nil); err != nil {
		t.Fatal(err)
	}
}

// corruptTail builds a log of two groups (1-4, 5-10), applies them to an
// engine, optionally stores a snapshot after command snap, then lets
// damage change the second group.
func corruptTail(t *testing.T, snap uint64, damage func(l *Log)) (*Log, []engine.Command) {
	t.Helper()
	l := openLog(t, vfs.NewMem())
	all := appendGroups(t, l, 4, 6)
	if snap > 0 {
		e, err := engine.New(engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var ev []engine.Event
		for i := range snap {
			ev = e.Apply(&all[i], ev[:0])
		}
		if err := l.SaveSnapshot(snap, e.AppendSnapshot(nil)); err != nil {
			t.Fatal(err)
		}
	}
	damage(l)
	return l, all
}

// stateAfter is the state hash of a new engine after cmds.
func stateAfter(t *testing.T, cmds []engine.Command) [32]byte {
	t.Helper()
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var ev []engine.Event
	for i := range cmds {
		ev = e.Apply(&cmds[i], ev[:0])
	}
	return e.StateHash()
}

// Replay from before the first command kept is a gap, not a shorter log.
func TestReplayBeforeTheFirstKept(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	appendGroups(t, l, 4, 6)
	if err := l.Truncate(4, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := replayed(t, l, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("replay from 0 of a log kept from 5: %v", err)
	}
}

// Recovery with damage in the last group: it drops only a last command
// that replay needs, never one a snapshot includes, and stops with an
// error when the damage could hide commands.
func TestRecoverDamagedLastGroup(t *testing.T) {
	t.Run("header", func(t *testing.T) {
		fs := vfs.NewMem()
		l := openLog(t, fs)
		all := appendGroups(t, l, 4, 6)
		if err := l.db.Set(commandKey(nil, 5), []byte{7, 7}, nil); err != nil {
			t.Fatal(err)
		}
		l.Close()
		l = openLog(t, fs)
		defer l.Close()
		if l.LastSeq() != 5 {
			t.Fatalf("last %d: a group whose header does not decode counts as one command", l.LastSeq())
		}
		e, rep, err := Recover(engine.DefaultConfig(), l)
		if err != nil || rep.DroppedTail != 5 || l.LastSeq() != 4 || e.StateHash() != stateAfter(t, all[:4]) {
			t.Fatalf("%+v, %v, last %d", rep, err, l.LastSeq())
		}
	})
	t.Run("wrong count", func(t *testing.T) {
		fs := vfs.NewMem()
		l := openLog(t, fs)
		appendGroups(t, l, 4, 6)
		setGroup(t, l, 5, 3, groupRecords(t, l, 5), nil) // says 3, holds 6
		l.Close()
		l = openLog(t, fs)
		defer l.Close()
		if _, _, err := Recover(engine.DefaultConfig(), l); !errors.Is(err, ErrCorrupt) || l.LastSeq() != 7 {
			t.Fatalf("%v, last %d: the count hides commands, nothing may be dropped", err, l.LastSeq())
		}
	})
	t.Run("a record a snapshot includes", func(t *testing.T) {
		l, all := corruptTail(t, 10, func(l *Log) {
			recs := groupRecords(t, l, 5)
			recs[5] = []byte{recordVersion, 0xff} // command 10
			setGroup(t, l, 5, 6, recs, nil)
		})
		defer l.Close()
		e, rep, err := Recover(engine.DefaultConfig(), l)
		if err != nil || rep.DroppedTail != 0 || rep.Snapshot != 10 || l.LastSeq() != 10 || e.StateHash() != stateAfter(t, all) {
			t.Fatalf("%+v, %v, last %d", rep, err, l.LastSeq())
		}
	})
	t.Run("the last record after a snapshot", func(t *testing.T) {
		l, all := corruptTail(t, 9, func(l *Log) {
			recs := groupRecords(t, l, 5)
			recs[5] = []byte{recordVersion, 0xff} // command 10
			setGroup(t, l, 5, 6, recs, nil)
		})
		defer l.Close()
		e, rep, err := Recover(engine.DefaultConfig(), l)
		if err != nil || rep.DroppedTail != 10 || l.LastSeq() != 9 || e.StateHash() != stateAfter(t, all[:9]) {
			t.Fatalf("%+v, %v, last %d", rep, err, l.LastSeq())
		}
	})
	t.Run("the last record, under a snapshot that does not restore", func(t *testing.T) {
		l, _ := corruptTail(t, 9, func(l *Log) {
			recs := groupRecords(t, l, 5)
			recs[5] = []byte{recordVersion, 0xff} // command 10
			setGroup(t, l, 5, 6, recs, nil)
			// A snapshot after command 10 whose bytes do not match their hash.
			if err := l.db.Set(snapshotKey(10), make([]byte, 40), nil); err != nil {
				t.Fatal(err)
			}
		})
		defer l.Close()
		if _, _, err := Recover(engine.DefaultConfig(), l); !errors.Is(err, ErrCorrupt) || l.LastSeq() != 10 {
			t.Fatalf("%v, last %d: command 10 is under a snapshot, it may not be dropped", err, l.LastSeq())
		}
	})
	t.Run("bytes after a group a snapshot includes", func(t *testing.T) {
		l, _ := corruptTail(t, 10, func(l *Log) {
			setGroup(t, l, 5, 6, groupRecords(t, l, 5), []byte{0})
		})
		defer l.Close()
		if _, _, err := Recover(engine.DefaultConfig(), l); !errors.Is(err, ErrCorrupt) || l.LastSeq() != 10 {
			t.Fatalf("%v, last %d: the group may hide commands after the snapshot, nothing may be dropped", err, l.LastSeq())
		}
	})
}
