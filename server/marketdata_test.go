package server

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// The default markets: BTCUSDT (tick 0.1, lot 0.001) is market 0. Prices
// below are in ticks (100,000 USDT is 1,000,000), quantities in lots
// (1 BTC is 1,000) and money in quote units (1 USDT is 1,000,000).
const (
	mdBTC         engine.MarketID = 0
	mdTicksPerUSD                 = 10
	mdLotsPerBTC                  = 1000
)

func mdUSD(usdt int64) int64 { return usdt * fixed.QuoteUnitsPerWhole }

// mdHarness drives a real engine as the sequencer would: it stamps each
// command with the next sequence number and its time, applies it, and
// keeps the commands and their events until flush hands them to the read
// models as one durable group.
type mdHarness struct {
	t       *testing.T
	e       *engine.Engine
	seq     uint64
	ts      int64
	cmds    []engine.Command
	results []wal.Result
	// fills are the book's fills so far with their command times: what a
	// naive model recomputes klines and tickers from.
	fills []mdNaiveFill
}

type mdNaiveFill struct {
	tsNs              int64
	priceTicks, lots  int64
	takerBuys, liquid bool
}

func mdStart() int64 { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() }

func newMDHarness(t *testing.T) *mdHarness {
	t.Helper()
	e, err := engine.New(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return &mdHarness{t: t, e: e, ts: mdStart()}
}

// do applies cmd at the harness's time and fails the test if it is
// refused.
func (h *mdHarness) do(cmd engine.Command) []engine.Event {
	h.t.Helper()
	evs := h.try(cmd)
	for _, ev := range evs {
		if ev.Kind == engine.EventRejected {
			h.t.Fatalf("%s refused: %s", cmd.Kind, ev)
		}
	}
	return evs
}

// try applies cmd, refused or not.
func (h *mdHarness) try(cmd engine.Command) []engine.Event {
	h.seq++
	cmd.Seq, cmd.TsNanos = h.seq, h.ts
	evs := h.e.Apply(&cmd, nil)
	h.cmds = append(h.cmds, cmd)
	h.results = append(h.results, wal.Result{Seq: cmd.Seq, Events: evs})
	for _, ev := range evs {
		if ev.Kind == engine.EventFill && ev.MakerOrderID != 0 {
			h.fills = append(h.fills, mdNaiveFill{tsNs: cmd.TsNanos, priceTicks: ev.PriceTicks, lots: ev.QtyLots,
				takerBuys: ev.Side == orderbook.Buy, liquid: ev.Cause == engine.CauseLiquidation})
		}
	}
	return evs
}

type mdApplier interface {
	Apply([]engine.Command, []wal.Result)
}

// flush hands the commands since the last flush to every model as one
// group.
func (h *mdHarness) flush(models ...mdApplier) {
	for _, m := range models {
		m.Apply(h.cmds, h.results)
	}
	h.cmds, h.results = h.cmds[:0], h.results[:0]
}

func (h *mdHarness) account(usdt int64) engine.AccountID {
	h.t.Helper()
	evs := h.do(engine.Command{Kind: engine.CmdCreateAccount})
	a := evs[len(evs)-1].Account
	h.do(engine.Command{Kind: engine.CmdDeposit, Account: a, AmountQuote: mdUSD(usdt)})
	return a
}

func (h *mdHarness) index(m engine.MarketID, ticks int64) {
	h.t.Helper()
	h.do(engine.Command{Kind: engine.CmdSetIndexPrice, Market: m, PriceTicks: ticks})
}

func (h *mdHarness) limit(a engine.AccountID, side orderbook.Side, priceTicks, lots int64) orderbook.OrderID {
	h.t.Helper()
	return mdAccepted(h.t, h.do(engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Market: mdBTC, Side: side,
		Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: priceTicks, QtyLots: lots}), a)
}

func (h *mdHarness) market(a engine.AccountID, side orderbook.Side, lots int64) orderbook.OrderID {
	h.t.Helper()
	return mdAccepted(h.t, h.do(engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Market: mdBTC, Side: side,
		Type: orderbook.Market, TIF: orderbook.IOC, QtyLots: lots}), a)
}

// mdAccepted returns the id of account a's order accepted in evs.
func mdAccepted(t *testing.T, evs []engine.Event, a engine.AccountID) orderbook.OrderID {
	t.Helper()
	for _, ev := range evs {
		if ev.Kind == engine.EventOrderAccepted && ev.Account == a {
			return ev.OrderID
		}
	}
	t.Fatalf("no order of account %d accepted in %v", a, evs)
	return 0
}

// mdTrade makes one trade of lots at priceTicks: a maker rests it and a
// taker on takerSide takes it with a market order.
func (h *mdHarness) trade(maker, taker engine.AccountID, takerSide orderbook.Side, priceTicks, lots int64) {
	h.t.Helper()
	h.limit(maker, takerSide.Opposite(), priceTicks, lots)
	h.market(taker, takerSide, lots)
}

func (h *mdHarness) tick() { h.do(engine.Command{Kind: engine.CmdClockTick}) }

// mdNaiveKlines recomputes one interval's klines from the fills.
func mdNaiveKlines(g fixed.Grid, fills []mdNaiveFill, ivMs int64) []Kline {
	type acc struct {
		open, high, low, close, vol, quote, buyVol, buyQuote, count int64
	}
	var order []int64
	byOpen := map[int64]*acc{}
	for _, f := range fills {
		ms := f.tsNs / 1_000_000
		open := ms / ivMs * ivMs
		q, _ := g.NotionalQuote(f.priceTicks, f.lots)
		a := byOpen[open]
		if a == nil {
			a = &acc{open: f.priceTicks, high: f.priceTicks, low: f.priceTicks}
			byOpen[open] = a
			order = append(order, open)
		}
		a.high, a.low, a.close = max(a.high, f.priceTicks), min(a.low, f.priceTicks), f.priceTicks
		a.vol += f.lots
		a.quote += q
		a.count++
		if f.takerBuys {
			a.buyVol += f.lots
			a.buyQuote += q
		}
	}
	out := make([]Kline, 0, len(order))
	for _, open := range order {
		a := byOpen[open]
		out = append(out, Kline{OpenTime: open, Open: g.Price(a.open), High: g.Price(a.high), Low: g.Price(a.low), Close: g.Price(a.close),
			Volume: g.Qty(a.vol), CloseTime: open + ivMs - 1, QuoteVolume: fixed.QuoteAmount(a.quote), Count: a.count,
			TakerBuyVolume: g.Qty(a.buyVol), TakerBuyQuoteVolume: fixed.QuoteAmount(a.buyQuote)})
	}
	return out
}

// mdKlineString renders a kline with canonical decimals, for comparison.
func mdKlineString(k Kline) string {
	return fmt.Sprintf("%d o=%s h=%s l=%s c=%s v=%s %d qv=%s n=%d bv=%s bqv=%s", k.OpenTime, k.Open, k.High, k.Low, k.Close,
		k.Volume, k.CloseTime, k.QuoteVolume, k.Count, k.TakerBuyVolume, k.TakerBuyQuoteVolume)
}

func mdCompareKlines(t *testing.T, what string, got, want []Kline) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d klines, want %d", what, len(got), len(want))
	}
	for i := range got {
		if g, w := mdKlineString(got[i]), mdKlineString(want[i]); g != w {
			t.Fatalf("%s: kline %d:\n got %s\nwant %s", what, i, g, w)
		}
	}
}

// mdRandomTrades makes n trades at random prices near 100,000 and random
// gaps of 0 to maxGap, split into groups of random sizes applied to models.
func mdRandomTrades(h *mdHarness, rng *rand.Rand, n int, maxGap time.Duration, models ...mdApplier) {
	h.t.Helper()
	maker, taker := h.account(10_000_000), h.account(10_000_000)
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	for i := range n {
		h.ts += rng.Int64N(int64(maxGap) + 1)
		side := orderbook.Buy
		if rng.IntN(2) == 0 {
			side = orderbook.Sell
		}
		price := (99_000 + rng.Int64N(2_001)) * mdTicksPerUSD
		h.trade(maker, taker, side, price, 2+rng.Int64N(99)) // at least the 100 USDT minimum
		if rng.IntN(7) == 0 || i == n-1 {
			h.flush(models...)
		}
	}
}

func TestMarketDataKlinesMatchNaive(t *testing.T) {
	h := newMDHarness(t)
	md := NewMarketData(h.e.Config().Markets)
	rng := rand.New(rand.NewPCG(1, 2))
	// 400 trades up to 15 minutes apart: about 50 hours, across every
	// interval's boundaries, several 1d klines included.
	mdRandomTrades(h, rng, 400, 15*time.Minute, md)
	g := h.e.Config().Markets[mdBTC].Grid
	for _, iv := range mdIntervals {
		got, err := md.Klines(mdBTC, iv.name, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		mdCompareKlines(t, iv.name, got, mdNaiveKlines(g, h.fills, iv.ms))
	}
	want := mdNaiveKlines(g, h.fills, 3_600_000)
	if len(want) < 40 {
		t.Fatalf("only %d hourly klines: the trades do not span enough time", len(want))
	}
	// A window by start: the first limit from it; by end alone: the last
	// limit up to it.
	got, _ := md.Klines(mdBTC, "1h", want[10].OpenTime, 0, 5)
	mdCompareKlines(t, "1h from the 11th", got, want[10:15])
	got, _ = md.Klines(mdBTC, "1h", 0, want[20].OpenTime, 3)
	mdCompareKlines(t, "1h up to the 21st", got, want[18:21])
	got, _ = md.Klines(mdBTC, "1h", want[5].OpenTime+1, want[9].OpenTime+1, 0)
	mdCompareKlines(t, "1h between", got, want[6:10])
	got, _ = md.Klines(mdBTC, "1h", want[9].OpenTime, want[5].OpenTime, 0)
	mdCompareKlines(t, "1h reversed", got, nil)

	if _, err := md.Klines(mdBTC, "2m", 0, 0, 0); !errors.Is(err, ErrUnknownInterval) {
		t.Fatalf("interval 2m: %v, want ErrUnknownInterval", err)
	}
	if got := KlineIntervals(); len(got) != 11 || got[0] != "1m" || got[10] != "1d" {
		t.Fatalf("KlineIntervals() = %v", got)
	}
	if got, err := md.Klines(1, "1m", 0, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("ETHUSDT has not traded: %v %v", got, err)
	}

	// The tape: newest first, ids counting from 1.
	trades := md.Trades(mdBTC, 3)
	if len(trades) != 3 || trades[0].ID != 400 || trades[2].ID != 398 {
		t.Fatalf("latest trades: %+v", trades)
	}
	last := h.fills[len(h.fills)-1]
	if !trades[0].Price.Equal(g.Price(last.priceTicks)) || !trades[0].Qty.Equal(g.Qty(last.lots)) ||
		trades[0].Time != last.tsNs/1_000_000 || (trades[0].TakerSide == "buy") != last.takerBuys ||
		trades[0].IsBuyerMaker == last.takerBuys || trades[0].Liquidation {
		t.Fatalf("latest trade %+v, want %+v", trades[0], last)
	}
	q, _ := g.NotionalQuote(last.priceTicks, last.lots)
	if !trades[0].QuoteQty.Equal(fixed.QuoteAmount(q)) {
		t.Fatalf("quote qty %s, want %s", trades[0].QuoteQty, fixed.QuoteAmount(q))
	}
}

func TestMarketDataRingsDropOldest(t *testing.T) {
	h := newMDHarness(t)
	md := NewMarketData(h.e.Config().Markets)
	maker, taker := h.account(10_000_000), h.account(10_000_000)
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	// One trade a minute: more trades and more 1m klines than are kept.
	const n = TradesKept + 37
	for i := range n {
		side := orderbook.Buy
		if i%2 == 1 {
			side = orderbook.Sell
		}
		h.trade(maker, taker, side, (100_000+int64(i%50))*mdTicksPerUSD, 1)
		h.ts += int64(time.Minute)
		if i%100 == 99 {
			h.flush(md)
		}
	}
	h.flush(md)
	trades := md.Trades(mdBTC, 0)
	if len(trades) != TradesKept || trades[0].ID != n || trades[len(trades)-1].ID != n-TradesKept+1 {
		t.Fatalf("%d trades kept, ids %d..%d; want %d, %d..%d", len(trades), trades[len(trades)-1].ID, trades[0].ID,
			TradesKept, n-TradesKept+1, n)
	}
	g := h.e.Config().Markets[mdBTC].Grid
	got, _ := md.Klines(mdBTC, "1m", 0, 0, 0)
	want := mdNaiveKlines(g, h.fills, 60_000)
	mdCompareKlines(t, "1m", got, want[len(want)-KlinesKept:])
	got, _ = md.Klines(mdBTC, "1m", 0, 0, 10)
	mdCompareKlines(t, "1m last 10", got, want[len(want)-10:])
}

func TestMarketDataTickerRollsOff(t *testing.T) {
	h := newMDHarness(t)
	md := NewMarketData(h.e.Config().Markets)
	g := h.e.Config().Markets[mdBTC].Grid
	maker, taker := h.account(10_000_000), h.account(10_000_000)
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	t0 := h.ts + int64(30*time.Second)

	check := func(what string, open, high, low, last, vol, count int64) {
		t.Helper()
		h.tick() // the ticker's now is the latest command's time
		h.flush(md)
		tk := md.Ticker(mdBTC)
		if tk.Symbol != "BTCUSDT" || !tk.OpenPrice.Equal(g.Price(open)) || !tk.HighPrice.Equal(g.Price(high)) ||
			!tk.LowPrice.Equal(g.Price(low)) || !tk.LastPrice.Equal(g.Price(last)) || !tk.Volume.Equal(g.Qty(vol)) ||
			tk.Count != count || !tk.PriceChange.Equal(g.Price(last-open)) || tk.CloseTime != h.ts/1_000_000 {
			t.Fatalf("%s: ticker %+v; want open %d high %d low %d last %d vol %d count %d", what, tk, open, high, low, last, vol, count)
		}
		// Against a naive window: the fills in the 1,440 minutes ending
		// with the current one.
		from := (h.ts/1_000_000/60_000 - 1439) * 60_000
		var n int64
		for _, f := range h.fills {
			if f.tsNs/1_000_000 >= from {
				n++
			}
		}
		if n != count || tk.OpenTime != from {
			t.Fatalf("%s: naive window from %d has %d trades; ticker from %d has %d", what, from, n, tk.OpenTime, tk.Count)
		}
	}

	p1, p2, p3 := int64(100_000*mdTicksPerUSD), int64(101_000*mdTicksPerUSD), int64(99_500*mdTicksPerUSD)
	h.ts = t0
	h.trade(maker, taker, orderbook.Buy, p1, 10)
	h.ts = t0 + int64(10*time.Hour)
	h.trade(maker, taker, orderbook.Sell, p2, 20)
	h.ts = t0 + int64(20*time.Hour)
	h.trade(maker, taker, orderbook.Buy, p3, 40)
	h.ts = t0 + int64(23*time.Hour)
	check("all three", p1, p2, p3, p3, 70, 3)
	tk := md.Ticker(mdBTC)
	// (99,500 - 100,000) / 100,000 = -0.5%; the weighted average is
	// (10×100,000 + 20×101,000 + 40×99,500) / 70 = 100,000.
	if tk.PriceChangePercent.String() != "-0.5" || tk.WeightedAvgPrice.String() != "100000" || tk.FirstID != 1 || tk.LastID != 3 {
		t.Fatalf("change %s%%, weighted average %s, ids %d..%d", tk.PriceChangePercent, tk.WeightedAvgPrice, tk.FirstID, tk.LastID)
	}
	// 23h59m after the first trade's minute it is still in; a minute
	// later it is out.
	h.ts = t0 - int64(30*time.Second) + int64(24*time.Hour) - int64(time.Minute)
	check("first at the edge", p1, p2, p3, p3, 70, 3)
	h.ts += int64(time.Minute)
	check("first rolled off", p2, p2, p3, p3, 60, 2)
	h.ts = t0 + int64(40*time.Hour)
	check("only the last", p3, p3, p3, p3, 40, 1)
	h.ts = t0 + int64(70*time.Hour)
	check("none", p3, p3, p3, p3, 0, 0)
	if tk := md.Ticker(mdBTC); !tk.PriceChangePercent.IsZero() || !tk.WeightedAvgPrice.IsZero() || tk.FirstID != 0 {
		t.Fatalf("empty window: %+v", tk)
	}
	// A new trade after a quiet day lands in a recycled bucket.
	h.trade(maker, taker, orderbook.Sell, p1, 5)
	check("after the gap", p1, p1, p1, p1, 5, 1)
}

func TestMarketDataMarkAndFunding(t *testing.T) {
	h := newMDHarness(t)
	md := NewMarketData(h.e.Config().Markets)
	spec := h.e.Config().Markets[mdBTC]
	g := spec.Grid
	long, short := h.account(1_000_000), h.account(1_000_000)
	h.ts += int64(7*time.Hour + 59*time.Minute)
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	h.trade(short, long, orderbook.Buy, 100_000*mdTicksPerUSD, 100)
	h.flush(md)
	mi := md.Mark(mdBTC)
	index, mark := h.e.Mark(mdBTC)
	_, next := h.e.Funding(mdBTC)
	if mi.Symbol != "BTCUSDT" || !mi.IndexPrice.Equal(g.Price(index)) || !mi.MarkPrice.Equal(g.Price(mark)) ||
		mi.NextFundingTime != next/1_000_000 || mi.LastFundingTime != 0 || mi.Time != h.ts/1_000_000 ||
		mi.InterestRate.String() != "0.0001" {
		t.Fatalf("before funding: %+v; engine index %d mark %d next %d", mi, index, mark, next)
	}
	if want := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).UnixMilli(); mi.NextFundingTime != want {
		t.Fatalf("next funding %d, want 08:00 (%d)", mi.NextFundingTime, want)
	}
	// The first command after 08:00 pays funding.
	h.ts += int64(3 * time.Minute)
	evs := h.do(engine.Command{Kind: engine.CmdClockTick})
	var rate int64
	for _, ev := range evs {
		if ev.Kind == engine.EventFunding {
			rate = ev.RatePpm
		}
	}
	if rate == 0 {
		t.Fatalf("no funding at 08:03: %v", evs)
	}
	h.flush(md)
	mi = md.Mark(mdBTC)
	engRate, next := h.e.Funding(mdBTC)
	if !mi.LastFundingRate.Equal(fixed.Rate(rate)) || rate != engRate ||
		mi.LastFundingTime != time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).UnixMilli() || mi.NextFundingTime != next/1_000_000 {
		t.Fatalf("after funding: %+v; engine rate %d next %d", mi, engRate, next)
	}
	// The next funding time follows every command, whatever its market.
	h.ts += int64(9 * time.Hour)
	h.index(1, 3_000*100)
	h.flush(md)
	if _, next := h.e.Funding(mdBTC); md.Mark(mdBTC).NextFundingTime != next/1_000_000 {
		t.Fatalf("next funding %d, engine %d", md.Mark(mdBTC).NextFundingTime, next/1_000_000)
	}
	if got := md.Mark(1); !got.IndexPrice.Equal(h.e.Config().Markets[1].Grid.Price(3_000 * 100)) {
		t.Fatalf("ETHUSDT: %+v", got)
	}
}

// mdLiquidationScenario replays engine/testdata/scenarios/
// liquidation-fund-and-adl: account 0's isolated long is liquidated, the
// fund takes it over, then the fund is deleveraged against accounts 3, 4
// and 2. It returns the accounts.
func mdLiquidationScenario(h *mdHarness) []engine.AccountID {
	h.t.Helper()
	var a []engine.AccountID
	for _, usdt := range []int64{10_000, 1_000_000, 8_100, 2_100, 4_100, 100_000} {
		a = append(a, h.account(usdt))
	}
	h.do(engine.Command{Kind: engine.CmdInsuranceDeposit, AmountQuote: mdUSD(150)})
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	h.do(engine.Command{Kind: engine.CmdSetMarginMode, Account: a[0], Market: mdBTC, Mode: clearing.Isolated})
	for _, x := range []struct {
		acct engine.AccountID
		lev  int64
	}{{a[0], 50}, {a[2], 5}, {a[3], 20}, {a[4], 10}} {
		h.do(engine.Command{Kind: engine.CmdSetLeverage, Account: x.acct, Market: mdBTC, Leverage: x.lev})
	}
	p := int64(100_000 * mdTicksPerUSD)
	h.limit(a[2], orderbook.Sell, p, 400)
	h.limit(a[3], orderbook.Sell, p, 400)
	h.limit(a[4], orderbook.Sell, p, 400)
	h.limit(a[0], orderbook.Buy, p, 1000)
	h.limit(a[1], orderbook.Buy, p, 200)
	h.limit(a[5], orderbook.Sell, p, 200)
	h.limit(a[5], orderbook.Sell, 96_500*mdTicksPerUSD, 10)
	h.limit(a[1], orderbook.Buy, 96_500*mdTicksPerUSD, 10) // account 0 is liquidated
	h.index(mdBTC, 96_500*mdTicksPerUSD)                   // the fund is deleveraged
	return a
}

func TestMarketDataLiquidationsAndFund(t *testing.T) {
	h := newMDHarness(t)
	md := NewMarketData(h.e.Config().Markets)
	a := mdLiquidationScenario(h)
	h.flush(md)
	g := h.e.Config().Markets[mdBTC].Grid

	liqs := md.Liquidations(mdBTC, 0)
	if len(liqs) != 1 {
		t.Fatalf("liquidations: %+v", liqs)
	}
	l := liqs[0]
	if l.Account != a[0] || l.Side != "sell" || !l.Qty.Equal(g.Qty(1000)) || !l.BankruptcyPrice.Equal(g.Price(98_010*mdTicksPerUSD)) ||
		!l.FundQty.Equal(g.Qty(1000)) || !l.FilledQty.IsZero() || !l.AvgFillPrice.IsZero() || !l.ADLQty.IsZero() || l.Time != h.ts/1_000_000 {
		t.Fatalf("liquidation: %+v", l)
	}
	adls := md.ADLEvents(mdBTC, 0)
	// Newest first: account 2, then 4, then 3, all against the fund's
	// account (6) at its bankruptcy price 97,860.
	if len(adls) != 3 || adls[0].Account != a[2] || adls[1].Account != a[4] || adls[2].Account != a[3] ||
		!adls[2].Qty.Equal(g.Qty(400)) || !adls[0].Qty.Equal(g.Qty(200)) || adls[0].Side != "buy" ||
		!adls[0].Price.Equal(g.Price(97_860*mdTicksPerUSD)) || adls[0].Against != 6 {
		t.Fatalf("ADL events: %+v", adls)
	}
	if got := md.ADLEvents(mdBTC, 1); len(got) != 1 || got[0].Account != a[2] {
		t.Fatalf("latest ADL event: %+v", got)
	}
	fund := md.InsuranceFund()
	if !fund.Balance.Equal(fixed.QuoteAmount(h.e.Ledger().InsuranceFundQuote())) ||
		!fund.TotalBadDebt.Equal(fixed.QuoteAmount(h.e.Ledger().BadDebtQuote())) || fund.Time != h.ts/1_000_000 {
		t.Fatalf("fund %+v, ledger %d bad debt %d", fund, h.e.Ledger().InsuranceFundQuote(), h.e.Ledger().BadDebtQuote())
	}
	// The tape holds the book's five trades only: the takeover and the
	// ADL fills settled off the book.
	if trades := md.Trades(mdBTC, 0); len(trades) != 5 || len(h.fills) != 5 {
		t.Fatalf("tape: %+v", trades)
	}

	// A model seeded from the engine starts from its prices and fund.
	seeded := NewMarketData(h.e.Config().Markets)
	seeded.Seed(h.e)
	index, mark := h.e.Mark(mdBTC)
	if mi := seeded.Mark(mdBTC); !mi.IndexPrice.Equal(g.Price(index)) || !mi.MarkPrice.Equal(g.Price(mark)) {
		t.Fatalf("seeded mark: %+v", mi)
	}
	if tk := seeded.Ticker(mdBTC); !tk.LastPrice.Equal(g.Price(h.e.LastTradePrice(mdBTC))) || tk.Count != 0 {
		t.Fatalf("seeded ticker: %+v", tk)
	}
	if f := seeded.InsuranceFund(); !f.Balance.Equal(fund.Balance) {
		t.Fatalf("seeded fund: %+v", f)
	}
}

func TestMarketDataApplyAllocatesNothingWhenFull(t *testing.T) {
	h := newMDHarness(t)
	md := NewMarketData(h.e.Config().Markets)
	maker, taker := h.account(10_000_000), h.account(10_000_000)
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	for i := range TradesKept + 10 {
		h.trade(maker, taker, orderbook.Side(1+i%2), 100_000*mdTicksPerUSD, 1)
		h.ts += int64(time.Minute)
	}
	h.flush(md)
	// The same group again, later: every ring is full, so Apply only
	// overwrites.
	for i := range 20 {
		h.trade(maker, taker, orderbook.Side(1+i%2), 100_000*mdTicksPerUSD, 1)
		h.ts += int64(time.Minute)
	}
	cmds, results := h.cmds, h.results
	step := int64(20 * time.Minute)
	allocs := testing.AllocsPerRun(20, func() {
		for i := range cmds {
			cmds[i].TsNanos += step
		}
		md.Apply(cmds, results)
	})
	if allocs != 0 {
		t.Fatalf("Apply allocated %.1f times per group", allocs)
	}
}

func TestMarketDataConcurrentReaders(t *testing.T) {
	h := newMDHarness(t)
	md := NewMarketData(h.e.Config().Markets)
	// Build the groups first: the engine is single-threaded, the models
	// are not.
	rng := rand.New(rand.NewPCG(3, 4))
	type group struct {
		cmds    []engine.Command
		results []wal.Result
	}
	var groups []group
	capture := mdApplierFunc(func(c []engine.Command, r []wal.Result) {
		groups = append(groups, group{append([]engine.Command(nil), c...), append([]wal.Result(nil), r...)})
	})
	mdRandomTrades(h, rng, 600, 3*time.Minute, capture)
	a := mdLiquidationScenario(h)
	h.flush(capture)

	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				md.Trades(mdBTC, 10)
				if _, err := md.Klines(mdBTC, mdIntervals[(i+r)%len(mdIntervals)].name, 0, 0, 50); err != nil {
					t.Error(err)
					return
				}
				md.Ticker(mdBTC)
				md.Mark(mdBTC)
				md.Liquidations(mdBTC, 5)
				md.ADLEvents(mdBTC, 5)
				md.InsuranceFund()
			}
		}()
	}
	for _, g := range groups {
		md.Apply(g.cmds, g.results)
	}
	close(done)
	wg.Wait()
	if got := md.Trades(mdBTC, 0); len(got) != min(len(h.fills), TradesKept) {
		t.Fatalf("%d trades, want %d", len(got), min(len(h.fills), TradesKept))
	}
	if got := md.Liquidations(mdBTC, 0); len(got) == 0 || got[0].Account != a[0] {
		t.Fatalf("liquidations: %+v", got)
	}
}

type mdApplierFunc func([]engine.Command, []wal.Result)

func (f mdApplierFunc) Apply(c []engine.Command, r []wal.Result) { f(c, r) }

// A group of more trades and liquidations than the history keeps: the
// streams still get every one of them, oldest first (FreshTrades,
// FreshLiquidations), and the next group starts empty.
func TestMarketDataFreshHasTheWholeGroup(t *testing.T) {
	h := newMDHarness(t)
	md := NewMarketData(h.e.Config().Markets)
	maker, taker := h.account(10_000_000), h.account(10_000_000)
	h.index(mdBTC, 100_000*mdTicksPerUSD)
	const n = TradesKept + 37
	for i := range n {
		h.trade(maker, taker, orderbook.Buy, (100_000+int64(i%50))*mdTicksPerUSD, 1)
	}
	// Liquidations as the engine reports them, more than are kept.
	const nl = LiquidationsKept + 5
	liqs := make([]engine.Event, nl)
	for i := range liqs {
		liqs[i] = engine.Event{Kind: engine.EventLiquidation, Market: mdBTC, Account: engine.AccountID(i), Side: orderbook.Sell,
			QtyLots: 10, PriceTicks: 900_000, SizeLots: 3, RemainingLots: 2}
	}
	h.seq++
	h.cmds = append(h.cmds, engine.Command{Kind: engine.CmdClockTick, Seq: h.seq, TsNanos: h.ts})
	h.results = append(h.results, wal.Result{Seq: h.seq, Events: liqs})
	h.flush(md)
	trades := md.FreshTrades(mdBTC)
	if len(trades) != n || trades[0].ID != 1 || trades[n-1].ID != n || len(md.Trades(mdBTC, 0)) != TradesKept {
		t.Fatalf("fresh trades: %d, ids %d..%d; want %d, 1..%d", len(trades), trades[0].ID, trades[len(trades)-1].ID, n, n)
	}
	got := md.FreshLiquidations(mdBTC)
	if len(got) != nl || got[0].Account != 0 || got[nl-1].Account != nl-1 || !got[0].FilledQty.Equal(decimal.RequireFromString("0.005")) {
		t.Fatalf("fresh liquidations: %d, first %+v", len(got), got[0])
	}
	h.tick()
	h.flush(md)
	if len(md.FreshTrades(mdBTC)) != 0 || len(md.FreshLiquidations(mdBTC)) != 0 {
		t.Fatal("the next group's fresh trades or liquidations are not empty")
	}
}
