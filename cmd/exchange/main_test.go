package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/wal"
)

func TestBenchBook(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"bench", "book", "--commands", "20000", "--seed", "3"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, re := range []string{
		`flow F1: 20000 commands, seed 3, \d+ fills, \d+ orders resting`,
		`throughput\s+\d+ commands/s\s+[\d.]+ ns/command\s+[\d.]+ allocs/command`,
		`latency\s+p50 \S+\s+p99 \S+\s+p99\.9 \S+\s+max \S+`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("output lacks %q:\n%s", re, out.String())
		}
	}
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"bench"},
		{"bench", "nope"},
		{"bench", "book", "--commands", "0"},
		{"bench", "book", "--commands", "x"},
		{"bench", "book", "--bogus"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("%q: no message", args)
		}
	}
}

// A log written by the sequencer: inspect lists it, replay --verify
// rebuilds the state the sequencer had.
func TestWalInspectReplay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := wal.Open(wal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := wal.Recover(engine.DefaultConfig(), l)
	if err != nil {
		t.Fatal(err)
	}
	s := wal.NewSequencer(e, l, wal.SequencerOptions{SnapshotEvery: 40, KeepCommands: 10})
	ctx := context.Background()
	s.Submit(ctx, engine.Command{Kind: engine.CmdSetIndexPrice, PriceTicks: 1_000_000})
	for i := range 50 {
		s.Submit(ctx, engine.Command{Kind: engine.CmdCreateAccount})
		s.Submit(ctx, engine.Command{Kind: engine.CmdDeposit, Account: engine.AccountID(i), AmountQuote: 1_000_000_000})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	hash := e.StateHash()
	l.Close()

	var out, errOut bytes.Buffer
	if code := run([]string{"wal", "inspect", "--data", dir, "--limit", "3"}, &out, &errOut); code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, errOut.String())
	}
	for _, re := range []string{`last command 101, commands kept from \d+`, `snapshot after 101: hash [0-9a-f]{64}, \d+ bytes`,
		`101 \S+ deposit acct=49 market=0 amount=1000000000`, `\.\.\. \d+ records \.\.\.`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("inspect output lacks %q:\n%s", re, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"replay", "--data", dir, "--verify"}, &out, &errOut); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "[##############################] 100%") {
		t.Errorf("replay drew no full progress bar:\n%s", errOut.String())
	}
	if !strings.Contains(out.String(), "state hash "+hex.EncodeToString(hash[:])) {
		t.Errorf("replay output lacks the sequencer's state hash %x:\n%s", hash, out.String())
	}
	for _, args := range [][]string{{"replay", "--data", filepath.Join(dir, "nope")}, {"wal", "inspect", "--data", filepath.Join(dir, "nope")}} {
		if code := run(args, &out, &errOut); code != 1 {
			t.Errorf("%q: exit %d, want 1", args, code)
		}
	}
}
