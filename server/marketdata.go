package server

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// How much of the past each market keeps. The read models live in memory
// and are rebuilt from the events seen since the process started, so they
// hold recent history only: enough for a chart, a ticker and a tape.
const (
	// TradesKept is the number of recent trades kept per market.
	TradesKept = 1000
	// KlinesKept is the number of klines kept per market and interval.
	KlinesKept = 1000
	// LiquidationsKept is the number of recent liquidations (and,
	// separately, auto-deleveraging events) kept per market.
	LiquidationsKept = 1000
	// tickerMinutes is the 24-hour window of the ticker in one-minute
	// buckets.
	tickerMinutes = 24 * 60
	minuteMs      = 60_000
)

// ErrUnknownInterval is returned by MarketData.Klines for an interval not
// in KlineIntervals.
var ErrUnknownInterval = errors.New("server: unknown kline interval")

// mdIntervals are the kline intervals, shortest first. Every interval's
// klines start at multiples of its length since the Unix epoch (UTC), as on
// the large venues, so a 1d kline runs from 00:00 to 24:00 UTC.
var mdIntervals = [...]struct {
	name string
	ms   int64
}{
	{"1m", 60_000}, {"3m", 180_000}, {"5m", 300_000}, {"15m", 900_000}, {"30m", 1_800_000},
	{"1h", 3_600_000}, {"2h", 7_200_000}, {"4h", 14_400_000}, {"6h", 21_600_000},
	{"12h", 43_200_000}, {"1d", 86_400_000},
}

// KlineIntervals returns the interval names MarketData.Klines accepts,
// shortest first.
func KlineIntervals() []string {
	out := make([]string, len(mdIntervals))
	for i, iv := range mdIntervals {
		out[i] = iv.name
	}
	return out
}

func mdIntervalIndex(name string) int {
	for i, iv := range mdIntervals {
		if iv.name == name {
			return i
		}
	}
	return -1
}

// Trade is one trade of a market's public tape: a fill in the book.
// Auto-deleveraging and the insurance fund's takeovers settle off the book
// at a liquidated position's bankruptcy price; they are not trades of the
// tape (the engine's last price ignores them too) but appear in
// Liquidations and ADLEvents.
type Trade struct {
	// ID counts the market's trades from 1 since the process started.
	ID       int64           `json:"id"`
	Price    decimal.Decimal `json:"price"`
	Qty      decimal.Decimal `json:"qty"`
	QuoteQty decimal.Decimal `json:"quoteQty"`
	// TakerSide is the side of the incoming order: "buy" or "sell".
	TakerSide string `json:"takerSide"`
	// IsBuyerMaker is true when the buyer's order was resting (the taker
	// sold), as venues report it.
	IsBuyerMaker bool `json:"isBuyerMaker"`
	// Liquidation is true when the taker was a liquidation order (or the
	// insurance fund unwinding a position it took over).
	Liquidation bool  `json:"liquidation"`
	Time        int64 `json:"time"` // unix ms
}

// Kline is one candle of an interval, built from the tape's trades. An
// interval in which nothing traded has no kline: the series has a gap there,
// which a client fills with the previous close if it wants a dense series.
type Kline struct {
	OpenTime int64           `json:"openTime"` // unix ms, a multiple of the interval
	Open     decimal.Decimal `json:"open"`
	High     decimal.Decimal `json:"high"`
	Low      decimal.Decimal `json:"low"`
	Close    decimal.Decimal `json:"close"`
	// Volume is in the base asset, QuoteVolume in the quote asset (USDT).
	Volume      decimal.Decimal `json:"volume"`
	CloseTime   int64           `json:"closeTime"` // unix ms: OpenTime + interval - 1
	QuoteVolume decimal.Decimal `json:"quoteVolume"`
	Count       int64           `json:"count"` // trades
	// The part of the volume whose taker bought.
	TakerBuyVolume      decimal.Decimal `json:"takerBuyVolume"`
	TakerBuyQuoteVolume decimal.Decimal `json:"takerBuyQuoteVolume"`
}

// Ticker is a market's 24-hour rolling statistics. The window is made of
// whole minutes: the 1,440 minutes ending with the one that holds the
// latest command time (OpenTime to CloseTime, between 23h59m and 24h
// long). Time is the sequencer's, not the wall clock's.
type Ticker struct {
	Symbol string `json:"symbol"`
	// PriceChange is LastPrice - OpenPrice; PriceChangePercent is it in
	// percent of OpenPrice, rounded half away from zero to 3 places.
	PriceChange        decimal.Decimal `json:"priceChange"`
	PriceChangePercent decimal.Decimal `json:"priceChangePercent"`
	// WeightedAvgPrice is QuoteVolume / Volume rounded half away from zero
	// to 8 places; 0 without trades in the window.
	WeightedAvgPrice decimal.Decimal `json:"weightedAvgPrice"`
	// LastPrice and LastQty are the latest trade's, even one older than
	// the window (0 before the first trade).
	LastPrice decimal.Decimal `json:"lastPrice"`
	LastQty   decimal.Decimal `json:"lastQty"`
	// OpenPrice is the first trade's price in the window; with no trade in
	// it, OpenPrice, HighPrice and LowPrice are LastPrice.
	OpenPrice   decimal.Decimal `json:"openPrice"`
	HighPrice   decimal.Decimal `json:"highPrice"`
	LowPrice    decimal.Decimal `json:"lowPrice"`
	Volume      decimal.Decimal `json:"volume"`
	QuoteVolume decimal.Decimal `json:"quoteVolume"`
	OpenTime    int64           `json:"openTime"`  // unix ms
	CloseTime   int64           `json:"closeTime"` // unix ms, the latest command time
	// FirstID and LastID are the window's first and last trade ids (0 if
	// none).
	FirstID int64 `json:"firstId"`
	LastID  int64 `json:"lastId"`
	Count   int64 `json:"count"`
}

// MarkInfo is a market's mark and index price and its funding.
type MarkInfo struct {
	Symbol     string          `json:"symbol"`
	MarkPrice  decimal.Decimal `json:"markPrice"`
	IndexPrice decimal.Decimal `json:"indexPrice"`
	// LastFundingRate is the rate of the latest funding paid in the
	// market, and LastFundingTime the funding time it was due (unix ms, 0
	// if none yet). The engine reports a rate only with the payments it
	// makes, so a funding time that passed while nobody held a position
	// leaves both at the funding before it.
	LastFundingRate decimal.Decimal `json:"lastFundingRate"`
	LastFundingTime int64           `json:"lastFundingTime"`
	// InterestRate is the interest component of every interval's rate.
	InterestRate decimal.Decimal `json:"interestRate"`
	// NextFundingTime is the next multiple of the funding interval since
	// the Unix epoch after the latest command time, as the engine
	// schedules it (0 before the first command).
	NextFundingTime int64 `json:"nextFundingTime"`
	// Time is when the mark was last reported (unix ms).
	Time int64 `json:"time"`
}

// Liquidation is one liquidated position: what went to the book at the
// bankruptcy price and how it was closed.
type Liquidation struct {
	Symbol  string           `json:"symbol"`
	Account engine.AccountID `json:"-"` // kept private, as venues do
	// Side is the liquidation order's: "sell" closes a long.
	Side string          `json:"side"`
	Qty  decimal.Decimal `json:"qty"`
	// BankruptcyPrice is where the position's margin is gone, the price of
	// the liquidation order.
	BankruptcyPrice decimal.Decimal `json:"bankruptcyPrice"`
	// FilledQty is what the book took, at AvgFillPrice (0 if nothing).
	FilledQty    decimal.Decimal `json:"filledQty"`
	AvgFillPrice decimal.Decimal `json:"avgFillPrice"`
	// FundQty is what the insurance fund took over at the bankruptcy price.
	FundQty decimal.Decimal `json:"fundQty"`
	// ADLQty is what auto-deleveraging closed, at ADLPrice.
	ADLQty   decimal.Decimal `json:"adlQty"`
	ADLPrice decimal.Decimal `json:"adlPrice"`
	Time     int64           `json:"time"` // unix ms
}

// ADLEvent is one auto-deleveraging: Account's position was reduced by
// Qty at Price, the bankruptcy price of the liquidated account Against.
type ADLEvent struct {
	Symbol  string           `json:"symbol"`
	Account engine.AccountID `json:"-"` // kept private, as venues do
	// Side is the reduction's: "sell" reduced a long.
	Side    string           `json:"side"`
	Qty     decimal.Decimal  `json:"qty"`
	Price   decimal.Decimal  `json:"price"`
	Against engine.AccountID `json:"-"`    // kept private, as venues do
	Time    int64            `json:"time"` // unix ms
}

// FundInfo is the insurance fund.
type FundInfo struct {
	// Balance is the fund's balance after its latest change (USDT).
	Balance decimal.Decimal `json:"balance"`
	// TotalBadDebt is the sum of the deficits the fund could not cover.
	TotalBadDebt decimal.Decimal `json:"totalBadDebt"`
	// Time is the latest change's (unix ms, 0 if none seen).
	Time int64 `json:"time"`
}

// MarketData is the public market read model: each market's tape, klines,
// 24-hour ticker, mark and funding, liquidations, and the insurance fund,
// fed with durable events by Apply (wal.SequencerOptions.OnCommit) and read
// by any number of goroutines. Figures are int64 inside and converted to
// decimals only when read.
//
// Everything starts empty and counts from the events Apply is given: the
// model is not persisted. Seed fills in the prices and the fund from an
// engine recovered at start.
type MarketData struct {
	mu      sync.RWMutex
	markets []mdMarket
	// lastNs is the latest command time seen: the "now" of the ticker's
	// window and of the next funding time.
	lastNs int64

	fundBalanceQuote, fundBadDebtQuote, fundNs int64
}

type mdMarket struct {
	spec        engine.Market
	nextTradeID int64
	trades      boundedRing[mdTrade]
	// klines (one ring per interval) and minutes (the ticker's buckets,
	// indexed by minute modulo tickerMinutes) are allocated at the
	// market's first trade: a listed market nobody trades costs nothing.
	klines  []boundedRing[mdKline]
	minutes []mdMinute

	lastPriceTicks, lastQtyLots int64
	indexTicks, markTicks       int64
	markNs                      int64
	fundingRatePpm, fundingNs   int64
	liqs                        boundedRing[mdLiq]
	adls                        boundedRing[mdADL]
	// newTrades and newLiqs are the last group's, all of them however
	// many (the rings keep the latest only): what the streams publish.
	newTrades []mdTrade
	newLiqs   []mdLiq
}

type mdTrade struct {
	id, priceTicks, qtyLots, quoteQuote, tsNs int64
	takerSide                                 orderbook.Side
	liquidation                               bool
}

type mdKline struct {
	openMs                      int64
	open, high, low, close      int64
	volLots, volQuote, count    int64
	takerBuyLots, takerBuyQuote int64
}

// mdMinute is one minute of the ticker's window; a bucket whose minute is
// not the one a read expects is stale (left from an earlier day).
type mdMinute struct {
	minute                 int64 // unix ms / 60,000
	open, high, low, close int64
	volLots, volQuote      int64
	count                  int64
	firstID, lastID        int64
}

type mdLiq struct {
	account                                       engine.AccountID
	side                                          orderbook.Side
	qtyLots, bpTicks, avgTicks, fundLots, adlLots int64
	adlTicks, tsNs                                int64
}

type mdADL struct {
	account, against          engine.AccountID
	side                      orderbook.Side
	qtyLots, priceTicks, tsNs int64
}

// NewMarketData makes an empty model of markets (indexed by their ids, as
// the engine's config lists them).
func NewMarketData(markets []engine.Market) *MarketData {
	d := &MarketData{markets: make([]mdMarket, len(markets))}
	for i := range markets {
		m := &d.markets[i]
		m.spec = markets[i]
		m.trades.max, m.liqs.max, m.adls.max = TradesKept, LiquidationsKept, LiquidationsKept
	}
	return d
}

// Seed takes the prices, the funding rate and the insurance fund from e,
// so that a model made after recovery does not show zeros until the events
// bring them. Call it once, before the sequencer runs (the engine must not
// change under it).
func (d *MarketData) Seed(e *engine.Engine) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lastNs = max(d.lastNs, e.LastTime())
	for i := range d.markets {
		m := &d.markets[i]
		if m.markNs == 0 {
			m.indexTicks, m.markTicks = e.Mark(m.spec.ID)
		}
		if m.lastPriceTicks == 0 {
			m.lastPriceTicks = e.LastTradePrice(m.spec.ID)
		}
		if m.fundingNs == 0 {
			m.fundingRatePpm, _ = e.Funding(m.spec.ID)
		}
	}
	if d.fundNs == 0 {
		d.fundBalanceQuote = e.Ledger().InsuranceFundQuote()
		d.fundBadDebtQuote = e.Ledger().BadDebtQuote()
	}
}

// Apply takes a durable group: results[i] holds the events of cmds[i]. It
// is meant for wal.SequencerOptions.OnCommit: it keeps neither slice, and
// allocates only while the rings fill up.
func (d *MarketData) Apply(cmds []engine.Command, results []wal.Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for m := range d.markets {
		d.markets[m].newTrades, d.markets[m].newLiqs = d.markets[m].newTrades[:0], d.markets[m].newLiqs[:0]
	}
	for i := range min(len(cmds), len(results)) {
		if results[i].Err != nil {
			continue // not journaled: it never happened
		}
		ts := cmds[i].TsNanos
		d.lastNs = max(d.lastNs, ts)
		evs := results[i].Events
		for k := range evs {
			ev := &evs[k]
			if ev.Kind == engine.EventInsuranceFund {
				d.fundBalanceQuote, d.fundNs = ev.BalanceQuote, ts
				d.fundBadDebtQuote = mdSatAdd(d.fundBadDebtQuote, ev.BadDebtQuote)
				continue
			}
			if int(ev.Market) >= len(d.markets) {
				continue
			}
			m := &d.markets[ev.Market]
			switch ev.Kind {
			case engine.EventFill:
				// A fill in the book always has a resting maker order;
				// ADL and the fund's takeovers have none.
				if ev.MakerOrderID != 0 {
					m.addTrade(ev, ts)
				}
			case engine.EventMarkPrice:
				m.indexTicks, m.markTicks, m.markNs = ev.IndexTicks, ev.PriceTicks, ts
			case engine.EventFunding:
				m.fundingRatePpm, m.fundingNs = ev.RatePpm, ts
			case engine.EventLiquidation:
				l := m.liqs.push()
				l.account, l.side, l.qtyLots, l.bpTicks, l.avgTicks = ev.Account, ev.Side, ev.QtyLots, ev.PriceTicks, ev.AvgPriceTicks
				l.fundLots, l.adlLots, l.adlTicks, l.tsNs = ev.SizeLots, ev.RemainingLots, ev.ADLPriceTicks, ts
				m.newLiqs = append(m.newLiqs, *l)
			case engine.EventADL:
				a := m.adls.push()
				a.account, a.against, a.side, a.qtyLots, a.priceTicks, a.tsNs = ev.Account, ev.MakerAccount, ev.Side, ev.QtyLots, ev.PriceTicks, ts
			}
		}
	}
}

func (m *mdMarket) addTrade(ev *engine.Event, ts int64) {
	m.nextTradeID++
	id := m.nextTradeID
	quote, err := m.spec.Grid.NotionalQuote(ev.PriceTicks, ev.QtyLots)
	if err != nil {
		quote = math.MaxInt64 // the engine bounds every order's notional: unreachable
	}
	liq := ev.Cause == engine.CauseLiquidation
	t := m.trades.push()
	t.id, t.priceTicks, t.qtyLots, t.quoteQuote, t.tsNs, t.takerSide, t.liquidation = id, ev.PriceTicks, ev.QtyLots, quote, ts, ev.Side, liq
	m.newTrades = append(m.newTrades, *t)
	m.lastPriceTicks, m.lastQtyLots = ev.PriceTicks, ev.QtyLots

	if m.klines == nil {
		m.klines = make([]boundedRing[mdKline], len(mdIntervals))
		for k := range m.klines {
			m.klines[k].max = KlinesKept
		}
		m.minutes = make([]mdMinute, tickerMinutes)
	}
	ms := ts / 1_000_000
	var buyLots, buyQuote int64
	if ev.Side == orderbook.Buy {
		buyLots, buyQuote = ev.QtyLots, quote
	}
	for k := range m.klines {
		r := &m.klines[k]
		open := ms - mdMod(ms, mdIntervals[k].ms)
		var c *mdKline
		// Command times never go back, so a trade belongs to the newest
		// kline or starts the next one.
		if n := r.size(); n > 0 && r.at(n-1).openMs == open {
			c = r.at(n - 1)
			c.high, c.low = max(c.high, ev.PriceTicks), min(c.low, ev.PriceTicks)
		} else {
			c = r.push()
			c.openMs, c.open, c.high, c.low = open, ev.PriceTicks, ev.PriceTicks, ev.PriceTicks
		}
		c.close = ev.PriceTicks
		c.volLots, c.volQuote = mdSatAdd(c.volLots, ev.QtyLots), mdSatAdd(c.volQuote, quote)
		c.takerBuyLots, c.takerBuyQuote = mdSatAdd(c.takerBuyLots, buyLots), mdSatAdd(c.takerBuyQuote, buyQuote)
		c.count++
	}

	minute := mdFloorDiv(ms, minuteMs)
	b := &m.minutes[mdMod(minute, tickerMinutes)]
	if b.minute != minute || b.count == 0 {
		*b = mdMinute{minute: minute, open: ev.PriceTicks, high: ev.PriceTicks, low: ev.PriceTicks, firstID: id}
	}
	b.high, b.low, b.close = max(b.high, ev.PriceTicks), min(b.low, ev.PriceTicks), ev.PriceTicks
	b.volLots, b.volQuote = mdSatAdd(b.volLots, ev.QtyLots), mdSatAdd(b.volQuote, quote)
	b.count++
	b.lastID = id
}

// Trades returns market m's latest trades, newest first: at most limit
// (all kept if limit ≤ 0). An unknown market has none.
func (d *MarketData) Trades(m engine.MarketID, limit int) []Trade {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if int(m) >= len(d.markets) {
		return []Trade{}
	}
	mk := &d.markets[m]
	n := mdLimit(limit, mk.trades.size())
	out := make([]Trade, 0, n)
	g := mk.spec.Grid
	for i := mk.trades.size() - 1; i >= mk.trades.size()-n; i-- {
		out = append(out, tradeView(g, mk.trades.at(i)))
	}
	return out
}

func tradeView(g fixed.Grid, t *mdTrade) Trade {
	return Trade{ID: t.id, Price: g.Price(t.priceTicks), Qty: g.Qty(t.qtyLots), QuoteQty: fixed.QuoteAmount(t.quoteQuote),
		TakerSide: t.takerSide.String(), IsBuyerMaker: t.takerSide == orderbook.Sell, Liquidation: t.liquidation, Time: t.tsNs / 1_000_000}
}

// FreshTrades returns market m's trades of the last group Apply took,
// oldest first: every one of them, where Trades keeps only the latest.
// The streams publish them.
func (d *MarketData) FreshTrades(m engine.MarketID) []Trade {
	return fresh(d, m, func(mk *mdMarket) []mdTrade { return mk.newTrades },
		func(mk *mdMarket, t *mdTrade) Trade { return tradeView(mk.spec.Grid, t) })
}

// FreshLiquidations is FreshTrades for the liquidations.
func (d *MarketData) FreshLiquidations(m engine.MarketID) []Liquidation {
	return fresh(d, m, func(mk *mdMarket) []mdLiq { return mk.newLiqs },
		func(mk *mdMarket, l *mdLiq) Liquidation { return liquidationView(&mk.spec, l) })
}

// fresh returns the views of market m's records of the last group.
func fresh[R, V any](d *MarketData, m engine.MarketID, records func(*mdMarket) []R, view func(*mdMarket, *R) V) []V {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if int(m) >= len(d.markets) {
		return nil
	}
	mk := &d.markets[m]
	rs := records(mk)
	out := make([]V, len(rs))
	for i := range rs {
		out[i] = view(mk, &rs[i])
	}
	return out
}

// Klines returns market m's klines of interval (one of KlineIntervals)
// whose open time lies in [startMs, endMs], oldest first: the first limit
// of them when startMs is set, otherwise the last limit. startMs ≤ 0 and
// endMs ≤ 0 mean no bound; limit ≤ 0 means all kept. An unknown interval
// is an error wrapping ErrUnknownInterval.
func (d *MarketData) Klines(m engine.MarketID, interval string, startMs, endMs int64, limit int) ([]Kline, error) {
	k := mdIntervalIndex(interval)
	if k < 0 {
		return nil, fmt.Errorf("%w: %q, want one of %s", ErrUnknownInterval, interval, strings.Join(KlineIntervals(), ", "))
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if int(m) >= len(d.markets) || d.markets[m].klines == nil {
		return []Kline{}, nil
	}
	mk := &d.markets[m]
	r := &mk.klines[k]
	lo, hi := 0, r.size()
	if startMs > 0 {
		lo = sort.Search(hi, func(i int) bool { return r.at(i).openMs >= startMs })
	}
	if endMs > 0 {
		hi = sort.Search(hi, func(i int) bool { return r.at(i).openMs > endMs })
	}
	if hi < lo {
		hi = lo
	}
	if n := mdLimit(limit, hi-lo); n < hi-lo {
		if startMs > 0 {
			hi = lo + n
		} else {
			lo = hi - n
		}
	}
	g, ivMs := mk.spec.Grid, mdIntervals[k].ms
	out := make([]Kline, 0, hi-lo)
	for i := lo; i < hi; i++ {
		c := r.at(i)
		out = append(out, Kline{OpenTime: c.openMs, Open: g.Price(c.open), High: g.Price(c.high), Low: g.Price(c.low), Close: g.Price(c.close),
			Volume: g.Qty(c.volLots), CloseTime: c.openMs + ivMs - 1, QuoteVolume: fixed.QuoteAmount(c.volQuote), Count: c.count,
			TakerBuyVolume: g.Qty(c.takerBuyLots), TakerBuyQuoteVolume: fixed.QuoteAmount(c.takerBuyQuote)})
	}
	return out, nil
}

// Ticker returns market m's 24-hour statistics (the zero Ticker for an
// unknown market).
func (d *MarketData) Ticker(m engine.MarketID) Ticker {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if int(m) >= len(d.markets) {
		return Ticker{}
	}
	mk := &d.markets[m]
	g := mk.spec.Grid
	nowMs := d.lastNs / 1_000_000
	nowMin := mdFloorDiv(nowMs, minuteMs)
	first := nowMin - tickerMinutes + 1
	var open, high, low, vol, volQuote, count, firstID, lastID int64
	if mk.minutes != nil {
		for minute := first; minute <= nowMin; minute++ {
			b := &mk.minutes[mdMod(minute, tickerMinutes)]
			if b.minute != minute || b.count == 0 {
				continue
			}
			if count == 0 {
				open, high, low, firstID = b.open, b.high, b.low, b.firstID
			}
			high, low, lastID = max(high, b.high), min(low, b.low), b.lastID
			vol, volQuote, count = mdSatAdd(vol, b.volLots), mdSatAdd(volQuote, b.volQuote), count+b.count
		}
	}
	last := mk.lastPriceTicks
	if count == 0 {
		open, high, low = last, last, last
	}
	t := Ticker{Symbol: mk.spec.Symbol, LastPrice: g.Price(last), LastQty: g.Qty(mk.lastQtyLots),
		OpenPrice: g.Price(open), HighPrice: g.Price(high), LowPrice: g.Price(low), PriceChange: g.Price(last - open),
		Volume: g.Qty(vol), QuoteVolume: fixed.QuoteAmount(volQuote), OpenTime: first * minuteMs, CloseTime: nowMs,
		FirstID: firstID, LastID: lastID, Count: count}
	if open > 0 {
		t.PriceChangePercent = decimal.NewFromInt(last-open).Mul(decimal.NewFromInt(100)).DivRound(decimal.NewFromInt(open), 3)
	}
	if vol > 0 {
		t.WeightedAvgPrice = t.QuoteVolume.DivRound(t.Volume, 8)
	}
	return t
}

// Mark returns market m's mark, index and funding (the zero MarkInfo for
// an unknown market).
func (d *MarketData) Mark(m engine.MarketID) MarkInfo {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if int(m) >= len(d.markets) {
		return MarkInfo{}
	}
	mk := &d.markets[m]
	g, iv := mk.spec.Grid, mk.spec.FundingIntervalNanos
	info := MarkInfo{Symbol: mk.spec.Symbol, MarkPrice: g.Price(mk.markTicks), IndexPrice: g.Price(mk.indexTicks),
		LastFundingRate: fixed.Rate(mk.fundingRatePpm), InterestRate: fixed.Rate(mk.spec.FundingInterestPpm), Time: mk.markNs / 1_000_000}
	if iv > 0 {
		// As the engine's settleDueFundingAll: funding falls due at
		// multiples of the interval, paid by the first command at or after
		// one, and the next is the first multiple after the latest command.
		if mk.fundingNs > 0 {
			info.LastFundingTime = mk.fundingNs / iv * iv / 1_000_000
		}
		if d.lastNs > 0 {
			info.NextFundingTime = (d.lastNs/iv + 1) * iv / 1_000_000
		}
	}
	return info
}

// Liquidations returns market m's latest liquidations, newest first: at
// most limit (all kept if limit ≤ 0).
func (d *MarketData) Liquidations(m engine.MarketID, limit int) []Liquidation {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if int(m) >= len(d.markets) {
		return []Liquidation{}
	}
	mk := &d.markets[m]
	n := mdLimit(limit, mk.liqs.size())
	out := make([]Liquidation, 0, n)
	for i := mk.liqs.size() - 1; i >= mk.liqs.size()-n; i-- {
		out = append(out, liquidationView(&mk.spec, mk.liqs.at(i)))
	}
	return out
}

func liquidationView(spec *engine.Market, l *mdLiq) Liquidation {
	g := spec.Grid
	filled := l.qtyLots - l.fundLots - l.adlLots
	return Liquidation{Symbol: spec.Symbol, Account: l.account, Side: l.side.String(), Qty: g.Qty(l.qtyLots),
		BankruptcyPrice: g.Price(l.bpTicks), FilledQty: g.Qty(filled), AvgFillPrice: g.Price(l.avgTicks),
		FundQty: g.Qty(l.fundLots), ADLQty: g.Qty(l.adlLots), ADLPrice: g.Price(l.adlTicks), Time: l.tsNs / 1_000_000}
}

// ADLEvents returns market m's latest auto-deleveraging events, newest
// first: at most limit (all kept if limit ≤ 0).
func (d *MarketData) ADLEvents(m engine.MarketID, limit int) []ADLEvent {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if int(m) >= len(d.markets) {
		return []ADLEvent{}
	}
	mk := &d.markets[m]
	g := mk.spec.Grid
	n := mdLimit(limit, mk.adls.size())
	out := make([]ADLEvent, 0, n)
	for i := mk.adls.size() - 1; i >= mk.adls.size()-n; i-- {
		a := mk.adls.at(i)
		out = append(out, ADLEvent{Symbol: mk.spec.Symbol, Account: a.account, Side: a.side.String(), Qty: g.Qty(a.qtyLots),
			Price: g.Price(a.priceTicks), Against: a.against, Time: a.tsNs / 1_000_000})
	}
	return out
}

// InsuranceFund returns the insurance fund's balance and bad debt.
func (d *MarketData) InsuranceFund() FundInfo {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return FundInfo{Balance: fixed.QuoteAmount(d.fundBalanceQuote), TotalBadDebt: fixed.QuoteAmount(d.fundBadDebtQuote), Time: d.fundNs / 1_000_000}
}

// boundedRing keeps the last max values pushed, oldest first. It grows by
// append until full, so an account or market with little history costs
// little, and then overwrites its oldest value in place without
// allocating.
type boundedRing[T any] struct {
	buf  []T
	head int // once full, the index of the oldest value
	max  int
}

// push makes room for a new newest value, dropping the oldest when full,
// and returns it zeroed, to be filled in place.
func (r *boundedRing[T]) push() *T {
	var zero T
	if len(r.buf) < r.max {
		r.buf = append(r.buf, zero)
		return &r.buf[len(r.buf)-1]
	}
	p := &r.buf[r.head]
	if r.head++; r.head == len(r.buf) {
		r.head = 0
	}
	*p = zero
	return p
}

func (r *boundedRing[T]) size() int { return len(r.buf) }

// at returns the i-th oldest value, 0 ≤ i < size.
func (r *boundedRing[T]) at(i int) *T {
	if i += r.head; i >= len(r.buf) {
		i -= len(r.buf)
	}
	return &r.buf[i]
}

// mdLimit is how many of n kept values a read with limit returns.
func mdLimit(limit, n int) int {
	if limit <= 0 || limit > n {
		return n
	}
	return limit
}

// mdSatAdd adds two non-negative volumes, saturating at MaxInt64: a
// benchmark's day of trades can exceed 9.2e12 USDT of quote volume, and a
// figure stuck at the maximum says "at least" rather than wrapping to a
// negative one.
func mdSatAdd(a, b int64) int64 {
	if s, err := fixed.Add(a, b); err == nil {
		return s
	}
	return math.MaxInt64
}

// mdFloorDiv and mdMod round towards minus infinity, so a time before 1970
// (a test's) still falls in the right bucket.
func mdFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func mdMod(a, b int64) int64 { return a - mdFloorDiv(a, b)*b }
