package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A data directory keeps the markets its journal ran with: a different
// --markets is refused once there is a journal, a missing markets.json
// with a journal is refused, and a markets file that does not compile is
// never stored (a corrected one then works).
func TestMarketsOfADataDirectory(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(dir, markets string) error {
		cfg := DefaultConfig()
		cfg.Data, cfg.Listen, cfg.MarketsFile = dir, "127.0.0.1:0", markets
		cfg.Feed.Mode, cfg.Feed.ClockInterval, cfg.Makers.Enabled = "off", 0, false
		x, err := Open(cfg, log)
		if err == nil {
			err = x.closeAll()
			x.ln.Close()
		}
		return err
	}
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.json")
	os.WriteFile(bad, []byte(`{"markets":[{"symbol":"X","tickSize":"0","lotSize":"1"}]}`), 0o600)
	dir := filepath.Join(tmp, "data")
	if err := open(dir, bad); err == nil {
		t.Fatal("a market with tick 0 compiled")
	}
	if _, err := os.Stat(filepath.Join(dir, marketsFile)); err == nil {
		t.Fatal("markets.json written for markets that do not compile")
	}
	if err := open(dir, ""); err != nil { // the defaults, and a bootstrap
		t.Fatal(err)
	}
	one := filepath.Join(tmp, "one.json")
	b, _ := os.ReadFile(filepath.Join(dir, marketsFile))
	os.WriteFile(one, []byte(strings.Replace(string(b), `"BTCUSDT"`, `"BTCUSDC"`, 1)), 0o600)
	if err := open(dir, one); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("other markets over a journal: %v", err)
	}
	os.Remove(filepath.Join(dir, marketsFile))
	if err := open(dir, ""); err == nil || !strings.Contains(err.Error(), "no markets.json") {
		t.Fatalf("a journal without markets.json: %v", err)
	}
}

// The journal's settings are checked with the rest of the config, all at
// once, and the defaults pass.
func TestWALConfigErrors(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, ok := range []int64{0, -1, 1 << 20, 64 << 20, 1 << 40} {
		cfg := DefaultConfig()
		cfg.WAL.TableWriteRate = ok
		if err := cfg.Validate(); err != nil {
			t.Errorf("tableWriteRate %d: %v", ok, err)
		}
	}
	cfg := DefaultConfig()
	cfg.WAL.MaxBatch, cfg.WAL.Linger, cfg.WAL.SnapshotEvery, cfg.WAL.TableWriteRate = 0, Duration(2*time.Second), 10, -2
	err := cfg.Validate()
	for _, want := range []string{"wal.maxBatch 0 not in [1, 65536]", "wal.linger 2s not in [0, 1s]", "wal.snapshotEvery 10 below 1000", "wal.tableWriteRate -2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	for _, bad := range []int64{1, 1<<20 - 1, 1<<40 + 1} {
		cfg := DefaultConfig()
		cfg.WAL.TableWriteRate = bad
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "wal.tableWriteRate") {
			t.Errorf("tableWriteRate %d: %v", bad, err)
		}
	}
}
