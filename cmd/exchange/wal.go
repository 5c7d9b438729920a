package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/server"
	"github.com/paperperps/exchange/wal"
)

// walInspect lists what the log in --data holds: its range of commands,
// its snapshots, and the first and last --limit records.
func walInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wal inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "data", "data directory")
	limit := fs.Int("limit", 20, "records to list at each end (0: all)")
	if err := fs.Parse(args); err != nil || *limit < 0 {
		return 2
	}
	l, err := openExisting(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	defer l.Close()
	first, err := l.FirstSeq()
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	snaps, err := l.Snapshots()
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	fmt.Fprintf(stdout, "log %s: last command %d, commands kept from %d\n", *dir, l.LastSeq(), first)
	for _, s := range snaps {
		state := fmt.Sprintf("%d bytes", len(s.Data))
		if s.Data == nil {
			state = "CORRUPT (bytes do not match the hash)"
		}
		fmt.Fprintf(stdout, "snapshot after %d: hash %s, %s\n", s.Seq, hex.EncodeToString(s.Hash[:]), state)
	}
	if first == 0 {
		return 0
	}
	total := l.LastSeq() - first + 1
	n := uint64(0)
	err = l.Replay(first-1, func(c *engine.Command) error {
		n++
		if *limit == 0 || n <= uint64(*limit) || n > total-uint64(*limit) {
			fmt.Fprintln(stdout, formatCommand(c))
		} else if n == uint64(*limit)+1 {
			fmt.Fprintf(stdout, "... %d records ...\n", total-2*uint64(*limit))
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	return 0
}

func formatCommand(c *engine.Command) string {
	s := fmt.Sprintf("%d %s %s acct=%d market=%d", c.Seq, time.Unix(0, c.TsNanos).UTC().Format(time.RFC3339Nano), c.Kind, c.Account, c.Market)
	switch c.Kind {
	case engine.CmdPlaceOrder, engine.CmdAmendOrder:
		s += fmt.Sprintf(" %s %s %s price=%d qty=%d", c.Side, c.Type, c.TIF, c.PriceTicks, c.QtyLots)
	case engine.CmdCancelOrder:
		s += fmt.Sprintf(" order=%d", c.OrderID)
	case engine.CmdDeposit, engine.CmdWithdraw, engine.CmdAdjustIsolatedMargin, engine.CmdInsuranceDeposit:
		s += fmt.Sprintf(" amount=%d", c.AmountQuote)
	case engine.CmdSetIndexPrice:
		s += fmt.Sprintf(" price=%d", c.PriceTicks)
	}
	return s
}

// replay rebuilds the engine from what the log keeps: from the start, or
// from the newest snapshot when earlier commands were deleted; with
// --verify every snapshot replay reaches must match the state hash. It
// prints the final state hash and the speed.
func replay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "data", "data directory")
	verify := fs.Bool("verify", false, "check the state hash at every snapshot replay reaches")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	l, err := openExisting(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	defer l.Close()
	cfg, err := server.EngineConfig(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	first, err := l.FirstSeq()
	snaps, err2 := l.Snapshots()
	if err = errors.Join(err, err2); err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	e, from, err := replayStart(cfg, first, snaps)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	hashes := map[uint64][32]byte{}
	for _, s := range snaps {
		if s.Seq > from {
			hashes[s.Seq] = s.Hash
		}
	}
	total := l.LastSeq() - from
	start := time.Now()
	lastShown := start
	var n uint64
	var ev []engine.Event
	err = l.Replay(from, func(c *engine.Command) error {
		ev = e.Apply(c, ev[:0])
		n++
		if h, ok := hashes[c.Seq]; ok && *verify && e.StateHash() != h {
			return fmt.Errorf("state hash after command %d differs from its snapshot's", c.Seq)
		}
		if now := time.Now(); now.Sub(lastShown) > 200*time.Millisecond {
			lastShown = now
			fmt.Fprint(stderr, "\r"+progressBar(n, total))
		}
		return nil
	})
	if n > 0 {
		fmt.Fprintln(stderr, "\r"+progressBar(n, total))
	}
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	elapsed := time.Since(start)
	h := e.StateHash()
	fmt.Fprintf(stdout, "replayed %d commands (%d to %d) in %v: %.0f commands/s\nstate hash %s\n", n, from+1, from+n,
		elapsed.Round(time.Millisecond), float64(n)/max(elapsed.Seconds(), 1e-9), hex.EncodeToString(h[:]))
	return 0
}

// replayStart picks the engine replay starts from: a new one if the log
// keeps every command, else the oldest snapshot at or after the first kept
// command's predecessor (the sequencer keeps one exactly there), so that
// replay covers everything kept.
func replayStart(cfg engine.Config, first uint64, snaps []wal.Snapshot) (*engine.Engine, uint64, error) {
	if first == 1 || (first == 0 && len(snaps) == 0) {
		e, err := engine.New(cfg)
		return e, 0, err
	}
	for _, s := range snaps {
		if s.Data == nil || (first > 0 && s.Seq < first-1) {
			continue
		}
		if e, err := engine.Restore(cfg, s.Data); err == nil {
			return e, s.Seq, nil
		}
	}
	return nil, 0, fmt.Errorf("no snapshot restores the state before command %d", first)
}

// openExisting opens the log in dir, which must exist: a data directory
// of `exchange serve` (its journal is in wal/) or a journal itself.
func openExisting(dir string) (*wal.Log, error) {
	if !dirExists(dir) {
		return nil, fmt.Errorf("%s: no data directory", dir)
	}
	if j := server.JournalDir(dir); dirExists(j) {
		dir = j
	}
	return wal.Open(wal.Options{Dir: dir})
}

// progressBar draws done of total as a 30-column bar with the percentage
// and the counts.
func progressBar(done, total uint64) string {
	return bar(done, total) + fmt.Sprintf(" %d/%d commands", done, total)
}

// bar is a 30-column bar of done out of total with the percentage.
func bar(done, total uint64) string {
	total = max(total, 1)
	done = min(done, total)
	fill := int(done * 30 / total)
	return fmt.Sprintf("[%s%s] %3d%%", strings.Repeat("#", fill), strings.Repeat(" ", 30-fill), done*100/total)
}
