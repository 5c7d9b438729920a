package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// fakeSequencer is a Submitter without a journal: it applies commands to
// an engine under a lock, stamping them with a clock that advances 1 ms a
// command, and records them. Its notify channel, if set, gets every command
// applied (without blocking). stopped makes every call fail as a stopped
// sequencer does.
type fakeSequencer struct {
	mu      sync.Mutex
	e       *engine.Engine
	seq     uint64
	ts      int64
	cmds    []engine.Command
	notify  chan engine.Command
	stopped bool
}

func newFakeSequencer(t testing.TB) *fakeSequencer {
	t.Helper()
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return &fakeSequencer{e: e, ts: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
}

func (s *fakeSequencer) Submit(ctx context.Context, cmd engine.Command) wal.Result {
	return s.SubmitBatch(ctx, []engine.Command{cmd})[0]
}

func (s *fakeSequencer) SubmitBatch(_ context.Context, cmds []engine.Command) []wal.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]wal.Result, len(cmds))
	for i, c := range cmds {
		if s.stopped {
			out[i].Err = wal.ErrStopped
			continue
		}
		s.seq++
		s.ts += int64(time.Millisecond)
		c.Seq, c.TsNanos = s.seq, s.ts
		out[i] = wal.Result{Seq: c.Seq, Events: s.e.Apply(&c, nil)}
		s.cmds = append(s.cmds, c)
		if s.notify != nil {
			select {
			case s.notify <- c:
			default:
			}
		}
	}
	return out
}

func (s *fakeSequencer) SubmitAsync(ctx context.Context, cmds []engine.Command) <-chan []wal.Result {
	out := make(chan []wal.Result, 1)
	out <- s.SubmitBatch(ctx, cmds)
	return out
}

func (s *fakeSequencer) Read(_ context.Context, fn func(*engine.Engine)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return wal.ErrStopped
	}
	fn(s.e)
	return nil
}

func feedTestMarkets() []engine.Market { return engine.DefaultConfig().Markets }

func feedMust(t testing.TB, cfg FeedConfig, sub Submitter) *Feed {
	t.Helper()
	f, err := NewFeed(cfg, feedTestMarkets(), sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func feedTestPrices(f *Feed, steps int) [][]int64 {
	out := make([][]int64, steps)
	for i := range out {
		cmds, _ := f.Step()
		for _, c := range cmds {
			out[i] = append(out[i], c.PriceTicks)
		}
	}
	return out
}

// The same seed gives the same paths, another seed other paths, and every
// market its own path.
func TestFeedGBMDeterministic(t *testing.T) {
	cfg := DefaultFeedConfig()
	a := feedTestPrices(feedMust(t, cfg, newFakeSequencer(t)), 2000)
	b := feedTestPrices(feedMust(t, cfg, newFakeSequencer(t)), 2000)
	cfg.Seed = 2
	c := feedTestPrices(feedMust(t, cfg, newFakeSequencer(t)), 2000)
	same, moved := true, [3]bool{}
	for i := range a {
		if len(a[i]) != 3 {
			t.Fatalf("step %d: %d prices, want one per market", i, len(a[i]))
		}
		for k := range a[i] {
			if a[i][k] != b[i][k] {
				t.Fatalf("step %d market %d: %d and %d from the same seed", i, k, a[i][k], b[i][k])
			}
			if a[i][k] != c[i][k] {
				same = false
			}
			if a[i][k] != a[0][k] {
				moved[k] = true
			}
		}
	}
	if same {
		t.Error("seeds 1 and 2 gave the same paths")
	}
	if moved != [3]bool{true, true, true} {
		t.Errorf("markets that moved in 2000 ticks: %v", moved)
	}
	// The first tick starts from the start prices (BTC 100000 = 1,000,000
	// ticks of 0.1): one 250ms step of 80% volatility is ~0.007%.
	if p := a[0][0]; p < 990_000 || p > 1_010_000 {
		t.Errorf("first BTC price %d ticks, want near 1,000,000", p)
	}
	// Returns relative to each market's start must differ between markets:
	// each draws its own stream.
	r0 := float64(a[1999][0]) / 1_000_000
	r1 := float64(a[1999][1]) / 350_000
	if r0 == r1 {
		t.Errorf("BTC and ETH moved alike: %v", r0)
	}
}

// Log returns have the configured volatility: the walk's dt is the
// interval in years.
func TestFeedGBMVolatility(t *testing.T) {
	cfg := DefaultFeedConfig()
	cfg.Default = FeedWalk{Volatility: 0.8}
	cfg.Markets = nil
	cfg.Interval = engine.Duration(time.Minute) // larger steps: tick rounding is negligible
	f := feedMust(t, cfg, newFakeSequencer(t))
	const n = 20_000
	prices := feedTestPrices(f, n+1)
	var sum, sumSq float64
	for i := 1; i <= n; i++ {
		r := math.Log(float64(prices[i][0]) / float64(prices[i-1][0]))
		sum += r
		sumSq += r * r
	}
	mean := sum / n
	sd := math.Sqrt(sumSq/n - mean*mean)
	want := 0.8 * math.Sqrt(time.Minute.Seconds()/(365*24*time.Hour).Seconds())
	if math.Abs(sd/want-1) > 0.05 {
		t.Errorf("stddev of one-minute log returns %.6f, want %.6f (80%% a year)", sd, want)
	}
}

// Violent paths stay on whole ticks within [1, max]: a start at one tick,
// huge volatility and jumps.
func TestFeedGBMStaysPositive(t *testing.T) {
	cfg := DefaultFeedConfig()
	cfg.Default = FeedWalk{Volatility: 10, Drift: -10, JumpProbability: 0.5, JumpSize: 1}
	cfg.Markets = nil
	cfg.Interval = engine.Duration(time.Hour)
	cfg.StartPrices["SOLUSDT"] = decimal.RequireFromString("0.01")
	f := feedMust(t, cfg, newFakeSequencer(t))
	f.ResumeFrom(nil, []int64{1 << 32, 1 << 32, 1 << 32})
	low := 0
	for i, step := range feedTestPrices(f, 20_000) {
		for k, p := range step {
			if p < 1 || p > 1<<32 {
				t.Fatalf("step %d market %d: price %d ticks", i, k, p)
			}
			if p == 1 {
				low++
			}
		}
	}
	if low == 0 {
		t.Error("the path never reached the floor of 1 tick; the test does not test it")
	}
}

// A restart continues from the engine's index.
func TestFeedResumeFromEngineIndex(t *testing.T) {
	sub := newFakeSequencer(t)
	sub.SubmitBatch(context.Background(), []engine.Command{{Kind: engine.CmdSetIndexPrice, Market: 1, PriceTicks: 200_000}})
	cfg := DefaultFeedConfig()
	cfg.Interval = engine.Duration(5 * time.Millisecond)
	cfg.ClockInterval = 0
	f := feedMust(t, cfg, sub)
	sub.notify = make(chan engine.Command, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	got := map[engine.MarketID]int64{}
	for len(got) < 3 {
		c := <-sub.notify
		if _, ok := got[c.Market]; !ok {
			got[c.Market] = c.PriceTicks
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// ETH continues from 2000.00 (200,000 ticks), not its start price of
	// 3500; the others start from theirs.
	if p := got[1]; p < 199_000 || p > 201_000 {
		t.Errorf("ETH's first tick %d, want near the engine's index 200,000", p)
	}
	if p := got[0]; p < 990_000 || p > 1_010_000 {
		t.Errorf("BTC's first tick %d, want near its start price (1,000,000 ticks)", p)
	}
}

func feedWriteFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func feedFromCSV(t testing.TB, path string) (*Feed, error) {
	t.Helper()
	cfg := DefaultFeedConfig()
	cfg.Mode, cfg.CSVFile = FeedCSV, path
	return NewFeed(cfg, feedTestMarkets(), newFakeSequencer(t), nil)
}

// Rows come out grouped by timestamp, with the gap to the next group; a
// header, comments and both timestamp forms are read.
func TestFeedCSV(t *testing.T) {
	f, err := feedFromCSV(t, filepath.Join("testdata", "feed", "prices.csv"))
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		prices []int64
		wait   time.Duration
	}
	want := []step{
		{[]int64{1_000_000, 350_000}, 500 * time.Millisecond},
		{[]int64{1_000_015}, 1500 * time.Millisecond},
		{[]int64{15_001, 999_990}, 250 * time.Millisecond},
		{[]int64{350_120}, 0},
	}
	for i, w := range want {
		cmds, wait := f.Step()
		var prices []int64
		for _, c := range cmds {
			if c.Kind != engine.CmdSetIndexPrice {
				t.Fatalf("step %d: %v", i, c.Kind)
			}
			prices = append(prices, c.PriceTicks)
		}
		if !feedEqualPrices(prices, w.prices) || wait != w.wait {
			t.Errorf("step %d: %v then wait %v, want %v then %v", i, prices, wait, w.prices, w.wait)
		}
	}
	if cmds, _ := f.Step(); cmds != nil {
		t.Errorf("after the last row: %v", cmds)
	}
}

func feedEqualPrices(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Every bad line of a file is reported at once, each with its line number.
func TestFeedCSVErrors(t *testing.T) {
	path := feedWriteFile(t, "bad.csv", strings.Join([]string{
		"timestamp,symbol,price",
		"2026-01-01T00:00:00Z,BTCUSDT,100000.05", // 2: off the 0.1 tick
		"2026-01-01T00:00:01Z,DOGEUSDT,0.1",      // 3: no such market
		"yesterday,ETHUSDT,3500",                 // 4: bad timestamp
		"1767225600000,ETHUSDT,abc",              // 5: bad price
		"2026-01-01T00:00:02Z,SOLUSDT",           // 6: two fields
		"2026-01-01T00:00:05Z,SOLUSDT,150",       // 7: fine
		"2026-01-01T00:00:03Z,SOLUSDT,150",       // 8: goes back in time
		"2026-01-01T00:00:09Z,SOLUSDT,-1",        // 9: not positive
	}, "\n")+"\n")
	_, err := feedFromCSV(t, path)
	if !errors.Is(err, ErrInvalidFeedConfig) {
		t.Fatalf("err = %v, want ErrInvalidFeedConfig", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"bad.csv:2: BTCUSDT price: fixed: off grid: price 100000.05 is not a multiple of tick size 0.1",
		`bad.csv:3: symbol "DOGEUSDT" is no market`,
		`bad.csv:4: timestamp "yesterday"`,
		`bad.csv:5: price "abc" is not a decimal number`,
		"bad.csv:6: 2 fields, want 3",
		"bad.csv:8: timestamp 2026-01-01T00:00:03Z is before the previous row's 2026-01-01T00:00:05Z",
		"bad.csv:9: SOLUSDT price: fixed: not positive",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "bad.csv:7") {
		t.Errorf("line 7 is fine:\n%s", msg)
	}
}

func TestFeedCSVEmptyAndMissing(t *testing.T) {
	if _, err := feedFromCSV(t, feedWriteFile(t, "empty.csv", "timestamp,symbol,price\n# nothing\n")); err == nil || !strings.Contains(err.Error(), "no price rows") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := feedFromCSV(t, filepath.Join(t.TempDir(), "missing.csv")); err == nil || !strings.Contains(err.Error(), "csvFile") {
		t.Errorf("missing file: %v", err)
	}
}

// A config with several problems reports them all.
func TestFeedConfigErrors(t *testing.T) {
	cfg := DefaultFeedConfig()
	cfg.Interval = 0
	cfg.ClockInterval = engine.Duration(-time.Second)
	cfg.Default.Volatility = -1
	cfg.Markets["ETHUSDT"] = FeedWalk{Volatility: math.NaN(), JumpProbability: 2}
	delete(cfg.StartPrices, "SOLUSDT")
	cfg.StartPrices["SOLUSD"] = decimal.RequireFromString("150")
	cfg.StartPrices["BTCUSDT"] = decimal.RequireFromString("100000.01")
	_, err := NewFeed(cfg, feedTestMarkets(), newFakeSequencer(t), nil)
	if !errors.Is(err, ErrInvalidFeedConfig) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"interval 0s not in [1ms, 1h0m0s]",
		"clockInterval -1s not in",
		"default walk: volatility -1 not in [0, 10]",
		"market ETHUSDT: volatility NaN",
		"market ETHUSDT: jumpProbability 2 not in [0, 1]",
		"market SOLUSDT has no start price (startPrices has BTCUSDT, ETHUSDT, SOLUSD)",
		"market BTCUSDT: start price: fixed: off grid: price 100000.01 is not a multiple of tick size 0.1",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	cfg = DefaultFeedConfig()
	cfg.Mode = "random"
	if _, err := NewFeed(cfg, feedTestMarkets(), newFakeSequencer(t), nil); err == nil || !strings.Contains(err.Error(), `mode "random"`) {
		t.Errorf("bad mode: %v", err)
	}
	cfg.Mode = FeedCSV
	if _, err := NewFeed(cfg, feedTestMarkets(), newFakeSequencer(t), nil); err == nil || !strings.Contains(err.Error(), "needs csvFile") {
		t.Errorf("csv without a file: %v", err)
	}
}

// While paused, only clock ticks are sent; after Resume index ticks come
// again. Waits are for events, never for a length of time.
func TestFeedPauseResume(t *testing.T) {
	sub := newFakeSequencer(t)
	sub.notify = make(chan engine.Command, 64)
	cfg := DefaultFeedConfig()
	cfg.Interval = engine.Duration(2 * time.Millisecond)
	cfg.ClockInterval = engine.Duration(2 * time.Millisecond)
	f := feedMust(t, cfg, sub)
	f.Pause()
	if !f.Paused() {
		t.Fatal("not paused after Pause")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	next := func() engine.Command {
		select {
		case c := <-sub.notify:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no command for 10s")
		}
		return engine.Command{}
	}
	for range 5 {
		if c := next(); c.Kind != engine.CmdClockTick {
			t.Fatalf("paused feed sent %v", c.Kind)
		}
	}
	f.Resume()
	if f.Paused() {
		t.Fatal("paused after Resume")
	}
	for c := next(); c.Kind != engine.CmdSetIndexPrice; c = next() {
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A stopped sequencer ends Run with its error.
func TestFeedRunStopped(t *testing.T) {
	sub := newFakeSequencer(t)
	f := feedMust(t, DefaultFeedConfig(), sub)
	f.ResumeFrom(nil, nil)
	sub.stopped = true
	if err := f.Run(context.Background()); !errors.Is(err, wal.ErrStopped) {
		t.Errorf("Run = %v, want wal.ErrStopped", err)
	}
	// Stopping after the start read: the first submit fails.
	sub = newFakeSequencer(t)
	f = feedMust(t, DefaultFeedConfig(), feedStopAfterRead{sub})
	if err := f.Run(context.Background()); !errors.Is(err, wal.ErrStopped) {
		t.Errorf("Run = %v, want wal.ErrStopped", err)
	}
}

// feedStopAfterRead reads but refuses every command as stopped.
type feedStopAfterRead struct{ *fakeSequencer }

func (s feedStopAfterRead) SubmitBatch(_ context.Context, cmds []engine.Command) []wal.Result {
	out := make([]wal.Result, len(cmds))
	for i := range out {
		out[i].Err = wal.ErrStopped
	}
	return out
}

// The config is part of the serve config file: its defaults survive a
// round trip, and a file that sets a few fields keeps the others' defaults.
func TestFeedConfigJSON(t *testing.T) {
	data, err := json.Marshal(DefaultFeedConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mode":"gbm"`, `"interval":"250ms"`, `"clockInterval":"1s"`, `"BTCUSDT":"100000"`, `"seed":1`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", data, want)
		}
	}
	var back FeedConfig
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	// Compared in JSON: decimals equal in value may differ in their
	// internal form.
	if again, _ := json.Marshal(back); string(again) != string(data) {
		t.Errorf("round trip: %s, want %s", again, data)
	}
	cfg := DefaultFeedConfig()
	if err := json.Unmarshal([]byte(`{"interval":"1s","seed":9,"startPrices":{"BTCUSDT":"60000"}}`), &cfg); err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.Interval) != time.Second || cfg.Seed != 9 || cfg.Mode != FeedGBM || time.Duration(cfg.ClockInterval) != time.Second ||
		!cfg.StartPrices["BTCUSDT"].Equal(decimal.NewFromInt(60_000)) || !cfg.StartPrices["SOLUSDT"].Equal(decimal.NewFromInt(150)) {
		t.Errorf("partial file: %+v", cfg)
	}
}

// A header is any first line with neither a time nor a price.
func TestFeedCSVHeaderForms(t *testing.T) {
	for _, header := range []string{"", "timestamp,symbol,price\n", "time, market, index\n"} {
		f, err := feedFromCSV(t, feedWriteFile(t, "p.csv", header+"1767225600000,BTCUSDT,100000\n"))
		if err != nil {
			t.Errorf("header %q: %v", header, err)
			continue
		}
		if cmds, _ := f.Step(); len(cmds) != 1 || cmds[0].PriceTicks != 1_000_000 {
			t.Errorf("header %q: %+v", header, cmds)
		}
	}
	// A first line with a price is a row, and its bad time is reported.
	if _, err := feedFromCSV(t, feedWriteFile(t, "p.csv", "then,BTCUSDT,100000\n")); err == nil || !strings.Contains(err.Error(), `p.csv:1: timestamp "then"`) {
		t.Errorf("bad first row: %v", err)
	}
}
