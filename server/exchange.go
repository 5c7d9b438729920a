package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// Config is everything `exchange serve` takes: a JSON file over these
// defaults, then flags over the file. docs/SERVE.md lists every option.
type Config struct {
	// Data is the data directory: the journal (wal/), the markets it was
	// started with (markets.json), the master key and the credentials
	// file. Default "data".
	Data string `json:"data"`
	// Listen is the HTTP address. Default 127.0.0.1:8080: the loopback
	// interface only; any other address must be asked for.
	Listen string `json:"listen"`
	// MarketsFile is a JSON file of market specs (engine.ParseMarkets)
	// used on the first start; empty: the built-in markets. A directory
	// keeps the markets it started with.
	MarketsFile string `json:"marketsFile"`
	// DemoAccounts are created and funded with DemoDeposit USDT each on
	// the first start. Defaults 3 and 100,000.
	DemoAccounts int             `json:"demoAccounts"`
	DemoDeposit  decimal.Decimal `json:"demoDeposit"`
	// MakerDeposit funds each market maker's account on the first start.
	// Default 100,000,000 USDT.
	MakerDeposit decimal.Decimal `json:"makerDeposit"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string      `json:"logLevel"`
	API      APIConfig   `json:"api"`
	Feed     FeedConfig  `json:"feed"`
	Makers   MakerConfig `json:"makers"`
	WAL      WALConfig   `json:"wal"`
}

// WALConfig tunes the journal (see wal.SequencerOptions).
type WALConfig struct {
	MaxBatch      int      `json:"maxBatch"`      // default 8,192 commands per group commit
	Linger        Duration `json:"linger"`        // default 0: commit what is there at once
	SnapshotEvery uint64   `json:"snapshotEvery"` // default 1,000,000 commands
	KeepCommands  uint64   `json:"keepCommands"`  // default 1,000,000 commands kept before the newest snapshot
	// TableWriteRate paces the journal store's table writes, in bytes per
	// second (wal.Options.TableWriteRate): 0 is the default, 64 MiB/s;
	// -1 turns pacing off.
	TableWriteRate int64 `json:"tableWriteRate"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Data: "data", Listen: "127.0.0.1:8080", DemoAccounts: 3, DemoDeposit: decimal.NewFromInt(100_000),
		MakerDeposit: decimal.NewFromInt(100_000_000), LogLevel: "info", API: DefaultAPIConfig(), Feed: DefaultFeedConfig(),
		Makers: DefaultMakerConfig(), WAL: WALConfig{MaxBatch: 8192, SnapshotEvery: 1_000_000, KeepCommands: 1_000_000}}
}

// LoadConfig reads a JSON config file over the defaults; unknown fields
// are errors (a typo must not pass for a default).
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("server: config %s: %w", path, err)
	}
	return c, nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("server: config: "+format, args...)) }
	if c.Data == "" {
		bad("data: empty")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen %q: %v", c.Listen, err)
	}
	if c.DemoAccounts < 0 || c.DemoAccounts > 1000 {
		bad("demoAccounts %d not in [0, 1000]", c.DemoAccounts)
	}
	if _, err := fixed.QuoteUnits(c.DemoDeposit, 0, maxQuote); err != nil {
		bad("demoDeposit: %v", err)
	}
	if _, err := fixed.QuoteUnits(c.MakerDeposit, 0, maxQuote); err != nil {
		bad("makerDeposit: %v", err)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		bad("logLevel %q: want debug, info, warn or error", c.LogLevel)
	}
	a := c.API
	if a.RecvWindow <= 0 || time.Duration(a.RecvWindow) > time.Hour {
		bad("api.recvWindow %s not in (0, 1h]", time.Duration(a.RecvWindow))
	}
	if a.RateLimit <= 0 || a.RateBurst < 1 {
		bad("api.rateLimit %g and api.rateBurst %d must be positive", a.RateLimit, a.RateBurst)
	}
	if a.MaxBody < 1024 || a.MaxBody > 16<<20 {
		bad("api.maxBody %d not in [1024, 16 MiB]", a.MaxBody)
	}
	if a.Timeout <= 0 {
		bad("api.timeout %s must be positive", time.Duration(a.Timeout))
	}
	if c.WAL.MaxBatch < 1 || c.WAL.MaxBatch > 1<<16 {
		bad("wal.maxBatch %d not in [1, 65536]", c.WAL.MaxBatch)
	}
	if c.WAL.Linger < 0 || time.Duration(c.WAL.Linger) > time.Second {
		bad("wal.linger %s not in [0, 1s]", time.Duration(c.WAL.Linger))
	}
	if c.WAL.SnapshotEvery < 1000 {
		bad("wal.snapshotEvery %d below 1000", c.WAL.SnapshotEvery)
	}
	if r := c.WAL.TableWriteRate; r != 0 && r != -1 && (r < 1<<20 || r > 1<<40) {
		bad("wal.tableWriteRate %d: want 0 (the default, 64 MiB/s), -1 (not paced) or 1 MiB/s to 1 TiB/s in bytes", r)
	}
	return errors.Join(errs...)
}

// LogLevelOf is the slog level the config names.
func (c Config) LogLevelOf() slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel)) // validated
	return lvl
}

// Exchange is a running local exchange: the journal, the sequencer that
// owns the engine, the HTTP API, the price feed and the market makers.
type Exchange struct {
	cfg     Config
	log     *slog.Logger
	journal *wal.Log
	seq     *wal.Sequencer
	srv     *Server
	feed    *Feed
	makers  *Makers
	ln      net.Listener
	http    *http.Server
	// CredentialsFile lists the admin's, the demo accounts' and the
	// makers' credentials.
	CredentialsFile string
}

const (
	marketsFile     = "markets.json"
	credentialsFile = "credentials.json"
)

// Open starts the exchange on cfg.Data: it recovers the engine from the
// journal (or, on an empty directory, creates the markets, the makers'
// and demo accounts), and listens on cfg.Listen. Run serves.
func Open(cfg Config, log *slog.Logger) (_ *Exchange, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	x := &Exchange{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			x.closeAll()
		}
	}()
	keys, _, err := LoadOrCreateKeys(cfg.Data)
	if err != nil {
		return nil, err
	}
	if x.journal, err = wal.Open(wal.Options{Dir: JournalDir(cfg.Data), TableWriteRate: int(cfg.WAL.TableWriteRate)}); err != nil {
		return nil, err
	}
	ecfg := engine.DefaultConfig()
	ecfg.BookLevelEvents = true // for the depth streams' diffs (the state is the same without)
	if ecfg.Markets, err = x.markets(x.journal.LastSeq() == 0); err != nil {
		return nil, err
	}
	eng, rep, err := wal.Recover(ecfg, x.journal)
	if err != nil {
		return nil, fmt.Errorf("server: recovering %s: %w", cfg.Data, err)
	}
	log.Info("recovered", "data", cfg.Data, "lastSeq", x.journal.LastSeq(), "snapshot", rep.Snapshot, "replayed", rep.Replayed,
		"droppedTail", rep.DroppedTail)
	fresh := x.journal.LastSeq() == 0
	metrics := NewMetrics(ecfg.Markets, func(m engine.MarketID) (float64, bool) {
		var oi int64
		if x.srv.read(context.Background(), func(e *engine.Engine) { oi, _ = e.Ledger().OpenInterest(m) }) != nil {
			return 0, false
		}
		f, _ := ecfg.Markets[m].Grid.Qty(oi).Float64() // a gauge for display
		return f, true
	})
	x.srv = NewServer(cfg.API, nil, ecfg.Markets, keys, nil, metrics, log)
	x.srv.load(eng)
	x.seq = wal.NewSequencer(eng, x.journal, wal.SequencerOptions{MaxBatch: cfg.WAL.MaxBatch, Linger: time.Duration(cfg.WAL.Linger),
		SnapshotEvery: cfg.WAL.SnapshotEvery, KeepCommands: cfg.WAL.KeepCommands, OnCommit: x.srv.OnCommit})
	x.srv.sub = x.seq
	makers := make([]engine.AccountID, len(ecfg.Markets))
	for i := range makers {
		makers[i] = engine.AccountID(i) // the first accounts, by the bootstrap's order
	}
	if fresh {
		if err := x.bootstrap(ecfg.Markets); err != nil {
			return nil, err
		}
	}
	if x.CredentialsFile, err = x.writeCredentials(keys, len(ecfg.Markets)); err != nil {
		return nil, err
	}
	// The feed runs in every mode: with "off" it sends no prices but still
	// the clock ticks that make funding and triggers happen on time.
	if x.feed, err = NewFeed(cfg.Feed, ecfg.Markets, x.seq, log.With("part", "feed")); err != nil {
		return nil, err
	}
	x.srv.feed = x.feed
	if cfg.Makers.Enabled {
		if x.makers, err = NewMakers(cfg.Makers, ecfg.Markets, makers, x.seq, log.With("part", "makers")); err != nil {
			return nil, err
		}
	}
	if x.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, err
	}
	if host, _, _ := net.SplitHostPort(x.ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		log.Warn("listening beyond the loopback interface: anyone who reaches this address can call the API", "addr", x.ln.Addr())
	}
	x.http = &http.Server{Handler: x.srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	return x, nil
}

// markets returns the data directory's markets, compiled: those its
// journal was started with (markets.json), or while the journal is empty
// the config's (stored, after they compile, for the next start). A
// journal without markets.json is refused: it would replay with other
// markets than it ran with.
func (x *Exchange) markets(emptyJournal bool) ([]engine.Market, error) {
	path := filepath.Join(x.cfg.Data, marketsFile)
	stored, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err == nil && !emptyJournal {
		specs, err := engine.ParseMarkets(stored)
		if err != nil {
			return nil, fmt.Errorf("server: %s: %w", path, err)
		}
		if x.cfg.MarketsFile != "" {
			given, err := readMarkets(x.cfg.MarketsFile)
			if err != nil {
				return nil, err
			}
			if marshal(given) != marshal(specs) {
				return nil, fmt.Errorf("server: %s differs from the markets %s was started with (%s); a journal replays only with its own markets",
					x.cfg.MarketsFile, x.cfg.Data, path)
			}
		}
		return engine.Compile(specs)
	}
	if err != nil && !emptyJournal {
		return nil, fmt.Errorf("server: %s holds a journal but no %s: the markets it ran with are unknown", x.cfg.Data, marketsFile)
	}
	specs := engine.DefaultMarkets()
	if x.cfg.MarketsFile != "" {
		if specs, err = readMarkets(x.cfg.MarketsFile); err != nil {
			return nil, err
		}
	}
	markets, err := engine.Compile(specs)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(map[string][]engine.MarketSpec{"markets": specs}, "", "  ")
	if err != nil {
		return nil, err
	}
	return markets, writeFileAtomic(path, append(b, '\n'), 0o600)
}

func readMarkets(path string) ([]engine.MarketSpec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	specs, err := engine.ParseMarkets(b)
	if err != nil {
		return nil, fmt.Errorf("server: %s: %w", path, err)
	}
	return specs, nil
}

func marshal(specs []engine.MarketSpec) string {
	b, _ := json.Marshal(specs)
	return string(b)
}

// bootstrap creates, in one durable batch, a maker account per market
// (accounts 0 to markets-1, so a restart knows them without a record) and
// the demo accounts, each funded.
func (x *Exchange) bootstrap(markets []engine.Market) error {
	makerQuote, _ := fixed.QuoteUnits(x.cfg.MakerDeposit, 0, maxQuote)
	demoQuote, _ := fixed.QuoteUnits(x.cfg.DemoDeposit, 0, maxQuote)
	var cmds []engine.Command
	add := func(a engine.AccountID, amt int64) {
		cmds = append(cmds, engine.Command{Kind: engine.CmdCreateAccount})
		if amt > 0 {
			cmds = append(cmds, engine.Command{Kind: engine.CmdDeposit, Account: a, AmountQuote: amt})
		}
	}
	for i := range markets {
		add(engine.AccountID(i), makerQuote)
	}
	for i := range x.cfg.DemoAccounts {
		add(engine.AccountID(len(markets)+i), demoQuote)
	}
	for _, r := range x.seq.SubmitBatch(context.Background(), cmds) {
		if r.Err != nil {
			return r.Err
		}
		for _, ev := range r.Events {
			if ev.Kind == engine.EventRejected {
				return fmt.Errorf("server: bootstrap: %s", ev)
			}
		}
	}
	x.log.Info("created the markets' makers and demo accounts", "makers", len(markets), "demo", x.cfg.DemoAccounts)
	return nil
}

// credentialsList is the credentials file's content.
type credentialsList struct {
	Admin    Credentials         `json:"admin"`
	Accounts []accountCredential `json:"accounts"`
}

// accountCredential is one account's entry: its id, its role (each
// market's maker, then the demo accounts) and its credentials.
type accountCredential struct {
	Account engine.AccountID `json:"account"`
	Role    string           `json:"role"`
	Credentials
}

// writeCredentials writes the admin's and the first accounts' (makers
// then demo accounts) credentials to DIR/credentials.json, mode 0600.
// They derive from the master key, so the file is rewritten at each start.
func (x *Exchange) writeCredentials(keys *Keys, markets int) (string, error) {
	list := credentialsList{Admin: keys.Admin()}
	for i := range markets + x.cfg.DemoAccounts {
		a := engine.AccountID(i)
		role := "demo"
		if i < markets {
			role = "maker " + x.srv.markets[i].Symbol
		}
		if x.srv.accounts.has(a) {
			list.Accounts = append(list.Accounts, accountCredential{Account: a, Role: role, Credentials: keys.Account(a)})
		}
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(x.cfg.Data, credentialsFile)
	return path, writeFileAtomic(path, append(b, '\n'), 0o600)
}

// Read runs fn on the engine through the sequencer (wal.Sequencer.Read):
// a consistent view of durable state, for a program that runs the
// exchange in its own process (the cascade benchmark's end checks). fn
// must only read, and quickly.
func (x *Exchange) Read(ctx context.Context, fn func(*engine.Engine)) error {
	return x.seq.Read(ctx, fn)
}

// Addr is the address the API listens on.
func (x *Exchange) Addr() string { return x.ln.Addr().String() }

// Run serves until ctx ends or the sequencer fails, then shuts down
// cleanly: stop accepting, let requests in flight finish, stop the feed
// and makers, drain the sequencer and take a snapshot. It returns nil
// after a clean shutdown.
func (x *Exchange) Run(ctx context.Context) error {
	work, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	start := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(work); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	if x.feed != nil {
		start("feed", x.feed.Run)
	}
	if x.makers != nil {
		start("makers", x.makers.Run)
	}
	served := make(chan error, 1)
	go func() { served <- x.http.Serve(x.ln) }()
	x.log.Info("serving", "addr", x.Addr(), "credentials", x.CredentialsFile)
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errs:
		runErr = err
	case err := <-served:
		runErr = err
	case <-x.seq.Done():
		// Fail-stop: the journal failed; nothing more can be acknowledged,
		// so the process stops and a restart recovers.
		runErr = fmt.Errorf("sequencer stopped: %w", x.seq.Err())
	}
	x.log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := x.http.Shutdown(shut); err != nil {
		x.log.Warn("http shutdown", "err", err)
	}
	stop()
	wg.Wait()
	if err := x.closeAll(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		x.log.Info("stopped cleanly")
	}
	return runErr
}

// closeAll stops the sequencer (a snapshot on the way) and closes the
// journal.
func (x *Exchange) closeAll() error {
	var err error
	if x.seq != nil {
		err = x.seq.Close()
		x.seq = nil
	}
	if x.journal != nil {
		err = errors.Join(err, x.journal.Close())
		x.journal = nil
	}
	if x.ln != nil && x.http == nil {
		x.ln.Close()
	}
	return err
}

// JournalDir is where data directory data keeps its journal.
func JournalDir(data string) string { return filepath.Join(data, "wal") }

// EngineConfig is the engine config data directory data's journal replays
// with: the defaults with the markets it was started with (the built-in
// ones when it has no markets.json).
func EngineConfig(data string) (engine.Config, error) {
	cfg := engine.DefaultConfig()
	b, err := os.ReadFile(filepath.Join(data, marketsFile))
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	specs, err := engine.ParseMarkets(b)
	if err == nil {
		cfg.Markets, err = engine.Compile(specs)
	}
	return cfg, err
}
