package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// makerUnitAccounts are the maker accounts of the unit tests: 0, 1, 2 for
// BTC, ETH, SOL.
func makerUnitAccounts() []engine.AccountID { return []engine.AccountID{0, 1, 2} }

func makerMust(t testing.TB, cfg MakerConfig, sub Submitter) *Makers {
	t.Helper()
	m, err := NewMakers(cfg, feedTestMarkets(), makerUnitAccounts(), sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// makerSplitQuotes splits a batch after its leading cancel-all into bids and asks,
// checking what every quote must be.
func makerSplitQuotes(t *testing.T, cmds []engine.Command, acct engine.AccountID, market engine.MarketID) (bids, asks []engine.Command) {
	t.Helper()
	if len(cmds) == 0 || cmds[0] != (engine.Command{Kind: engine.CmdCancelAll, Account: acct, Market: market}) {
		t.Fatalf("batch does not start with the maker's cancel-all: %+v", cmds)
	}
	for _, c := range cmds[1:] {
		if c.Kind != engine.CmdPlaceOrder || c.Type != orderbook.Limit || c.TIF != orderbook.PostOnly ||
			c.Account != acct || c.Market != market || c.ReduceOnly || c.Trigger != engine.TriggerNone {
			t.Fatalf("not a post-only limit quote of the maker: %+v", c)
		}
		if c.Side == orderbook.Buy {
			bids = append(bids, c)
		} else {
			asks = append(asks, c)
		}
	}
	return bids, asks
}

// The ladder: levels at the configured offsets rounded away from the mid,
// sizes of LevelNotional rounded down to the lot.
func TestMakerCommandsLevels(t *testing.T) {
	m := makerMust(t, DefaultMakerConfig(), newFakeSequencer(t))
	btc := feedTestMarkets()[0]
	const index = 1_000_003 // 100000.3: offsets are not whole ticks
	cmds := m.Commands(btc.ID, index, 0)
	bids, asks := makerSplitQuotes(t, cmds, 0, btc.ID)
	if len(bids) != 10 || len(asks) != 10 {
		t.Fatalf("%d bids and %d asks, want 10 each", len(bids), len(asks))
	}
	// Nearest first, alternating: bid, ask, bid, ask...
	for i := range 10 {
		if cmds[1+2*i].Side != orderbook.Buy || cmds[2+2*i].Side != orderbook.Sell {
			t.Fatalf("quote order: %+v", cmds)
		}
	}
	for i := range 10 {
		off := int64(2 + 5*i)
		// floor and ceiling of index × (1 ∓ off/10,000), exactly.
		wantBid := index * (10_000 - off) / 10_000
		wantAsk := (index*(10_000+off) + 9_999) / 10_000
		if bids[i].PriceTicks != wantBid || asks[i].PriceTicks != wantAsk {
			t.Errorf("level %d: bid %d ask %d, want %d and %d", i, bids[i].PriceTicks, asks[i].PriceTicks, wantBid, wantAsk)
		}
		for _, q := range []engine.Command{bids[i], asks[i]} {
			notional, err := btc.Grid.NotionalQuote(q.PriceTicks, q.QtyLots)
			if err != nil {
				t.Fatal(err)
			}
			perLot, _ := btc.Grid.NotionalQuote(q.PriceTicks, 1)
			level := 50_000 * int64(fixed.QuoteUnitsPerWhole)
			if notional > level || notional <= level-perLot || q.QtyLots < btc.MinQtyLots {
				t.Errorf("level %d %s: %d lots = %s USDT, want the most lots within 50000", i, q.Side, q.QtyLots, fixed.QuoteAmount(notional))
			}
		}
	}
	if m.Commands(btc.ID, 0, 0) != nil {
		t.Error("quotes without an index")
	}
	if m.Commands(7, index, 0) != nil {
		t.Error("quotes in a market it does not make")
	}
}

// Where a tick is coarser than the spacing, levels stay one tick apart
// rather than piling up; where LevelNotional buys less than the market's
// minimum, the minimum is quoted.
func TestMakerCommandsCoarseTickAndMinimums(t *testing.T) {
	cfg := DefaultMakerConfig()
	cfg.LevelNotional = decimal.RequireFromString("1")
	cfg.FirstOffsetBps = 0
	m := makerMust(t, cfg, newFakeSequencer(t))
	sol := feedTestMarkets()[2] // tick 0.01, lot 1 SOL, min notional 5 USDT
	bids, asks := makerSplitQuotes(t, m.Commands(sol.ID, 100, 0), 2, sol.ID)
	if len(bids) != 10 || len(asks) != 10 {
		t.Fatalf("%d bids and %d asks", len(bids), len(asks))
	}
	for i := range 10 {
		if bids[i].PriceTicks != int64(100-i) || asks[i].PriceTicks != int64(101+i) {
			t.Errorf("level %d: bid %d ask %d, want %d and %d", i, bids[i].PriceTicks, asks[i].PriceTicks, 100-i, 101+i)
		}
		// 1 USDT buys no whole SOL at 1.00; 5 USDT of minimum notional needs
		// 5 lots at 1.00, 6 at 0.99 (5 × 0.99 < 5).
		wantBid := (500 + bids[i].PriceTicks - 1) / bids[i].PriceTicks
		if bids[i].QtyLots != wantBid {
			t.Errorf("level %d: bid of %d lots at %d, want %d", i, bids[i].QtyLots, bids[i].PriceTicks, wantBid)
		}
	}
	// Bids end at 1 tick.
	bids, _ = makerSplitQuotes(t, m.Commands(sol.ID, 4, 0), 2, sol.ID)
	if len(bids) != 4 || bids[3].PriceTicks != 1 {
		t.Errorf("bids below 5 ticks: %+v", bids)
	}
}

// Inventory skews the mid against the position: a long makerSplitQuotes lower, a
// short higher, by SkewBps at the cap.
func TestMakerCommandsSkew(t *testing.T) {
	m := makerMust(t, DefaultMakerConfig(), newFakeSequencer(t))
	btc := feedTestMarkets()[0]
	const index = 1_000_000
	flatBids, flatAsks := makerSplitQuotes(t, m.Commands(btc.ID, index, 0), 0, btc.ID)
	// 0.5 BTC long at 100,000 is 50,000 USDT: 1/40 of the cap, a shift of
	// 10 bps / 40 = 25 ticks down.
	longBids, longAsks := makerSplitQuotes(t, m.Commands(btc.ID, index, 500), 0, btc.ID)
	shortBids, shortAsks := makerSplitQuotes(t, m.Commands(btc.ID, index, -500), 0, btc.ID)
	const shift = 25
	for i := range flatBids {
		if d := flatBids[i].PriceTicks - longBids[i].PriceTicks; d < shift-1 || d > shift+1 {
			t.Errorf("level %d: long bid %d, flat %d: want %d ticks lower", i, longBids[i].PriceTicks, flatBids[i].PriceTicks, shift)
		}
		if d := flatAsks[i].PriceTicks - longAsks[i].PriceTicks; d < shift-1 || d > shift+1 {
			t.Errorf("level %d: long ask %d, flat %d: want %d ticks lower", i, longAsks[i].PriceTicks, flatAsks[i].PriceTicks, shift)
		}
		if d := shortBids[i].PriceTicks - flatBids[i].PriceTicks; d < shift-1 || d > shift+1 {
			t.Errorf("level %d: short bid %d, flat %d: want %d ticks higher", i, shortBids[i].PriceTicks, flatBids[i].PriceTicks, shift)
		}
		if d := shortAsks[i].PriceTicks - flatAsks[i].PriceTicks; d < shift-1 || d > shift+1 {
			t.Errorf("level %d: short ask %d, flat %d: want %d ticks higher", i, shortAsks[i].PriceTicks, flatAsks[i].PriceTicks, shift)
		}
	}
	// A tiny position does not move the makerSplitQuotes.
	tinyBids, _ := makerSplitQuotes(t, m.Commands(btc.ID, index, 1), 0, btc.ID)
	if tinyBids[0].PriceTicks != flatBids[0].PriceTicks {
		t.Errorf("one lot moved the best bid from %d to %d", flatBids[0].PriceTicks, tinyBids[0].PriceTicks)
	}
	// Beyond the cap the skew stays at SkewBps: 1,000 ticks at 1,000,000.
	capBids, _ := makerSplitQuotes(t, m.Commands(btc.ID, index, -100_000), 0, btc.ID)
	if d := capBids[0].PriceTicks - flatBids[0].PriceTicks; d < 999 || d > 1001 {
		t.Errorf("short beyond the cap: best bid %d ticks above flat, want 1000", d)
	}
}

// The side that would take the position past the cap is not quoted: at
// the cap none of it, near the cap the levels that still fit.
func TestMakerCommandsInventoryCap(t *testing.T) {
	m := makerMust(t, DefaultMakerConfig(), newFakeSequencer(t))
	btc := feedTestMarkets()[0]
	const index = 1_000_000 // 100,000 USDT: 20,000 lots (20 BTC) are the 2,000,000 cap
	bids, asks := makerSplitQuotes(t, m.Commands(btc.ID, index, 20_000), 0, btc.ID)
	if len(bids) != 0 || len(asks) != 10 {
		t.Errorf("long at the cap: %d bids and %d asks, want 0 and 10", len(bids), len(asks))
	}
	bids, asks = makerSplitQuotes(t, m.Commands(btc.ID, index, -20_000), 0, btc.ID)
	if len(bids) != 10 || len(asks) != 0 {
		t.Errorf("short at the cap: %d bids and %d asks, want 10 and 0", len(bids), len(asks))
	}
	// 1,870,000 USDT long leaves room for two bids of just under 50,000.
	bids, _ = makerSplitQuotes(t, m.Commands(btc.ID, index, 18_700), 0, btc.ID)
	if len(bids) != 2 {
		t.Errorf("130,000 USDT below the cap: %d bids, want 2", len(bids))
	}
	var bought int64
	for _, b := range bids {
		v, _ := btc.Grid.NotionalQuote(b.PriceTicks, b.QtyLots)
		bought += v
	}
	inv, _ := btc.Grid.NotionalQuote(index, 18_700)
	if limit := 2_000_000 * int64(fixed.QuoteUnitsPerWhole); inv+bought > limit {
		t.Errorf("filled bids would take the position to %s USDT, past the cap", fixed.QuoteAmount(inv+bought))
	}
}

// A config with several problems reports them all.
func TestMakerConfigErrors(t *testing.T) {
	cfg := DefaultMakerConfig()
	cfg.Levels = 0
	cfg.SpacingBps = 0
	cfg.FirstOffsetBps = -1
	cfg.LevelNotional = decimal.RequireFromString("0.0000001")
	cfg.MaxInventoryNotional = decimal.Zero
	cfg.Refresh = engine.Duration(time.Millisecond)
	_, err := NewMakers(cfg, feedTestMarkets(), makerUnitAccounts()[:2], newFakeSequencer(t), nil)
	if !errors.Is(err, ErrInvalidMakerConfig) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"2 maker accounts for 3 markets",
		"levels 0 not in [1, 100]",
		"spacingBps 0 not in [1, 5000]",
		"firstOffsetBps -1 not in [0, 5000]",
		"refresh 1ms not in [10ms, 1h0m0s]",
		"levelNotional: fixed: off grid: quote amount 0.0000001",
		"maxInventoryNotional: fixed: not positive",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// A ladder wider than the 5% band would be refused on every refresh.
	cfg = DefaultMakerConfig()
	cfg.Levels, cfg.SpacingBps = 100, 50
	if _, err := NewMakers(cfg, feedTestMarkets(), makerUnitAccounts(), newFakeSequencer(t), nil); err == nil ||
		!strings.Contains(err.Error(), "market BTCUSDT: quotes reach 4962 bps from the index") {
		t.Errorf("ladder beyond the band: %v", err)
	}
}

// makerTestAccounts creates n funded accounts through sub and returns them.
func makerTestAccounts(t testing.TB, sub Submitter, n int) []engine.AccountID {
	t.Helper()
	ctx := context.Background()
	var ids []engine.AccountID
	for range n {
		res := sub.Submit(ctx, engine.Command{Kind: engine.CmdCreateAccount})
		if res.Err != nil || len(res.Events) != 1 || res.Events[0].Kind != engine.EventAccountCreated {
			t.Fatalf("create account: %+v", res)
		}
		a := res.Events[0].Account
		res = sub.Submit(ctx, engine.Command{Kind: engine.CmdDeposit, Account: a, AmountQuote: 1_000_000_000 * fixed.QuoteUnitsPerWhole})
		if res.Err != nil || res.Events[0].Kind != engine.EventBalance {
			t.Fatalf("deposit: %+v", res)
		}
		ids = append(ids, a)
	}
	return ids
}

// A refresh posts the ladder; the next one, with nothing changed, sends
// nothing; a moved index re-makerSplitQuotes.
func TestMakerRefreshSkipsUnchangedQuotes(t *testing.T) {
	sub := newFakeSequencer(t)
	accts := makerTestAccounts(t, sub, 3)
	sub.SubmitBatch(context.Background(), []engine.Command{
		{Kind: engine.CmdSetIndexPrice, Market: 0, PriceTicks: 1_000_000},
		{Kind: engine.CmdSetIndexPrice, Market: 1, PriceTicks: 350_000},
	})
	m, err := NewMakers(DefaultMakerConfig(), feedTestMarkets(), accts, sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	views, warned := make([]makerView, 3), make([]bool, 3)
	refresh := func() {
		t.Helper()
		if err := m.refresh(context.Background(), views, warned); err != nil {
			t.Fatal(err)
		}
	}
	refresh()
	// SOL has no index yet: two markets quoted, 20 makerSplitQuotes each.
	if s := m.Stats(); s.Refreshes != 2 || s.Posted != 40 || len(s.Rejected) != 0 {
		t.Fatalf("first refresh: %+v", s)
	}
	refresh()
	if s := m.Stats(); s.Refreshes != 2 {
		t.Fatalf("second refresh with nothing changed sent %d batches", s.Refreshes-2)
	}
	sub.SubmitBatch(context.Background(), []engine.Command{{Kind: engine.CmdSetIndexPrice, Market: 0, PriceTicks: 1_001_000}})
	refresh()
	if s := m.Stats(); s.Refreshes != 3 || s.Posted != 60 {
		t.Fatalf("after BTC moved: %+v", s)
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	bid, _, _ := sub.e.Book(0).BestBid()
	ask, _, _ := sub.e.Book(0).BestAsk()
	if bid != 1_000_799 || ask != 1_001_201 { // 1,001,000 ∓ 2 bps = 1,000,799.8 and 1,001,200.2, rounded away

		t.Errorf("BTC quoted %d / %d around 1,001,000", bid, ask)
	}
	if n := sub.e.Book(0).AccountOrderCount(orderbook.AccountID(accts[0])); n != 20 {
		t.Errorf("the BTC maker rests %d orders, want 20 (the old ones cancelled)", n)
	}
}

// The feed and the makers for about a second over a real sequencer and an
// in-memory Pebble journal, with a taker trading against the makers: the
// index moves, every book has makerSplitQuotes on both sides inside the band, the
// makers never take, nothing is refused but the refusals quoting a moving
// market expects, and the journal replays to the same state.
func TestFeedAndMakersWithSequencer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a second")
	}
	fs := vfs.NewMem()
	l, err := wal.Open(wal.Options{Dir: "data", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	live, _, err := wal.Recover(engine.DefaultConfig(), l)
	if err != nil {
		t.Fatal(err)
	}
	// Every durable command and its events, as the read models see them.
	var mu sync.Mutex
	var journal []engine.Command
	var results []wal.Result
	// KeepCommands keeps the whole journal past the snapshot Close takes,
	// for the replay at the end.
	seq := wal.NewSequencer(live, l, wal.SequencerOptions{KeepCommands: 1 << 40, OnCommit: func(cmds []engine.Command, res []wal.Result) {
		mu.Lock()
		defer mu.Unlock()
		journal = append(journal, cmds...)
		for _, r := range res {
			results = append(results, wal.Result{Seq: r.Seq, Events: append([]engine.Event(nil), r.Events...)})
		}
	}})
	closed := false
	defer func() {
		if !closed {
			_ = seq.Close()
		}
	}()

	accts := makerTestAccounts(t, seq, 4)
	makerAccts, taker := accts[:3], accts[3]
	isMaker := map[engine.AccountID]bool{makerAccts[0]: true, makerAccts[1]: true, makerAccts[2]: true}
	markets := feedTestMarkets()

	fcfg := DefaultFeedConfig()
	fcfg.Interval = engine.Duration(20 * time.Millisecond)
	fcfg.ClockInterval = engine.Duration(50 * time.Millisecond)
	fcfg.Seed = 7
	feed, err := NewFeed(fcfg, markets, seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	mcfg := DefaultMakerConfig()
	mcfg.Refresh = engine.Duration(20 * time.Millisecond)
	makers, err := NewMakers(mcfg, markets, makerAccts, seq, nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var feedErr, makersErr error
	wg.Add(2)
	go func() { defer wg.Done(); feedErr = feed.Run(ctx) }()
	go func() { defer wg.Done(); makersErr = makers.Run(ctx) }()

	// The taker waits (for an event, not a time) until every book is
	// quoted, then hits both sides of each a few times.
	quoted := func() bool {
		ok := true
		if err := seq.Read(ctx, func(e *engine.Engine) {
			for _, m := range markets {
				_, _, b := e.Book(m.ID).BestBid()
				_, _, a := e.Book(m.ID).BestAsk()
				ok = ok && a && b
			}
		}); err != nil {
			return false
		}
		return ok
	}
	for !quoted() {
		if ctx.Err() != nil {
			t.Fatal("the books were never quoted on both sides")
		}
		time.Sleep(5 * time.Millisecond)
	}
	takerLots := []int64{2_000, 20_000, 500} // 2 BTC, 20 ETH, 500 SOL: more than one level each
	var takerCmds []engine.Command
	for k, m := range markets {
		for _, side := range []orderbook.Side{orderbook.Buy, orderbook.Sell, orderbook.Buy} {
			takerCmds = append(takerCmds, engine.Command{Kind: engine.CmdPlaceOrder, Account: taker, Market: m.ID, Side: side,
				Type: orderbook.Market, TIF: orderbook.IOC, QtyLots: takerLots[k]})
		}
	}
	for _, c := range takerCmds {
		if res := seq.Submit(context.Background(), c); res.Err != nil {
			t.Fatalf("taker: %v", res.Err)
		}
	}

	wg.Wait()
	if feedErr != nil || makersErr != nil {
		t.Fatalf("Run: feed %v, makers %v", feedErr, makersErr)
	}

	// The books as the run left them.
	var bids, asks [3][]orderbook.Level
	var bandLo, bandHi, marks [3]int64
	var positions [3]int64
	if err := seq.Read(context.Background(), func(e *engine.Engine) {
		for k, m := range markets {
			b := e.Book(m.ID)
			bids[k] = b.Depth(orderbook.Buy, 1000, nil)
			asks[k] = b.Depth(orderbook.Sell, 1000, nil)
			bandLo[k], bandHi[k] = b.Band()
			_, marks[k] = e.Mark(m.ID)
			p, _ := e.Ledger().Position(makerAccts[k], m.ID)
			positions[k] = p.SizeLots
		}
	}); err != nil {
		t.Fatal(err)
	}
	for k, m := range markets {
		if len(bids[k]) < mcfg.Levels/2 || len(asks[k]) < mcfg.Levels/2 {
			t.Errorf("%s: %d bid and %d ask levels, want about %d each", m.Symbol, len(bids[k]), len(asks[k]), mcfg.Levels)
		}
		for _, l := range append(append([]orderbook.Level(nil), bids[k]...), asks[k]...) {
			if l.PriceTicks < bandLo[k] || l.PriceTicks > bandHi[k] {
				t.Errorf("%s: level %d outside the band [%d, %d] around the mark %d", m.Symbol, l.PriceTicks, bandLo[k], bandHi[k], marks[k])
			}
		}
		if len(bids[k]) > 0 && len(asks[k]) > 0 && bids[k][0].PriceTicks >= asks[k][0].PriceTicks {
			t.Errorf("%s: crossed book %d / %d", m.Symbol, bids[k][0].PriceTicks, asks[k][0].PriceTicks)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	indexes := make([]map[int64]bool, len(markets))
	for k := range indexes {
		indexes[k] = map[int64]bool{}
	}
	expected := map[engine.Reason]bool{engine.ReasonPostOnlyWouldTake: true, engine.ReasonPriceOutsideBand: true, engine.ReasonInsufficientMargin: true}
	fills, makerFills := 0, 0
	for i, c := range journal {
		if c.Kind == engine.CmdSetIndexPrice {
			indexes[c.Market][c.PriceTicks] = true
		}
		for _, ev := range results[i].Events {
			switch ev.Kind {
			case engine.EventRejected:
				if !isMaker[c.Account] || c.Kind != engine.CmdPlaceOrder || !expected[ev.Reason] {
					t.Errorf("command %d %s of account %d refused: %s", c.Seq, c.Kind, c.Account, ev.Reason)
				}
			case engine.EventFill:
				fills++
				if isMaker[ev.Account] {
					t.Errorf("maker account %d took liquidity: %s", ev.Account, ev)
				}
				if isMaker[ev.MakerAccount] {
					makerFills++
				}
			}
			if c.Kind == engine.CmdPlaceOrder && isMaker[c.Account] && ev.Kind == engine.EventOrderAccepted && c.TIF != orderbook.PostOnly {
				t.Errorf("maker order not post-only: %+v", c)
			}
		}
	}
	for k, m := range markets {
		if len(indexes[k]) < 2 {
			t.Errorf("%s: the index took %d values", m.Symbol, len(indexes[k]))
		}
		if positions[k] == 0 {
			t.Errorf("%s: the maker has no position after the taker's orders", m.Symbol)
		}
	}
	if fills == 0 || makerFills != fills {
		t.Errorf("%d fills, %d against the makers: the taker should have traded only with them", fills, makerFills)
	}
	s := makers.Stats()
	t.Logf("%d commands journaled; makers: %d batches, %d quotes posted, refused %v; %d fills", len(journal), s.Refreshes, s.Posted, s.Rejected, fills)

	// The journal replays to the live state.
	if err := seq.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	replayed, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var ev []engine.Event
	n := 0
	if err := l.Replay(0, func(c *engine.Command) error { ev = replayed.Apply(c, ev[:0]); n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(journal) {
		t.Errorf("replayed %d commands, %d were journaled", n, len(journal))
	}
	if replayed.StateHash() != live.StateHash() {
		t.Error("the replayed journal's state differs from the live engine's")
	}
}

func TestMakerConfigJSON(t *testing.T) {
	data, err := json.Marshal(DefaultMakerConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"enabled":true,"levels":10,"firstOffsetBps":2,"spacingBps":5,"levelNotional":"50000","refresh":"500ms","maxInventoryNotional":"2000000","skewBps":10}`
	if string(data) != want {
		t.Errorf("defaults in JSON:\n%s\nwant\n%s", data, want)
	}
	cfg := DefaultMakerConfig()
	if err := json.Unmarshal([]byte(`{"levels":3,"levelNotional":"1000.5","refresh":"2s"}`), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Levels != 3 || !cfg.LevelNotional.Equal(decimal.RequireFromString("1000.5")) || time.Duration(cfg.Refresh) != 2*time.Second ||
		!cfg.Enabled || cfg.SpacingBps != 5 {
		t.Errorf("partial file: %+v", cfg)
	}
}
