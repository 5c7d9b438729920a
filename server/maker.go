package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/wal"
	"github.com/shopspring/decimal"
)

// ErrInvalidMakerConfig is wrapped by every problem NewMakers reports.
var ErrInvalidMakerConfig = errors.New("server: invalid maker config")

// MakerConfig configures the built-in market makers, one account per
// market, which keep both sides of every book quoted around the index. It
// is part of the serve config file: decode the file onto
// DefaultMakerConfig().
type MakerConfig struct {
	// Enabled runs the makers. Default true.
	Enabled bool `json:"enabled"`
	// Levels is the number of quotes on each side. Default 10.
	Levels int `json:"levels"`
	// FirstOffsetBps is the distance of the best quotes from the mid, and
	// SpacingBps the distance between neighbouring levels, in basis points
	// of the mid. Defaults 2 and 5: the tenth level sits 0.47% away.
	FirstOffsetBps int64 `json:"firstOffsetBps"`
	SpacingBps     int64 `json:"spacingBps"`
	// LevelNotional is the size of each quote in USDT, converted to the
	// lots it buys at the quote's price, rounded down to the lot, and
	// raised to the market's minimum quantity and notional. Default 50000.
	LevelNotional decimal.Decimal `json:"levelNotional"`
	// Refresh is how often the quotes are re-centred. Default 500ms.
	Refresh engine.Duration `json:"refresh"`
	// MaxInventoryNotional caps a maker's position (USDT at the index):
	// the levels that could take it past the cap are not quoted, so a
	// maker at the cap quotes only the side that reduces it. Default
	// 2000000.
	MaxInventoryNotional decimal.Decimal `json:"maxInventoryNotional"`
	// SkewBps shifts the mid against the maker's inventory: by SkewBps of
	// the index at the cap, in proportion below it (down for a long, so
	// its asks come nearer and its bids move away). Default 10.
	SkewBps int64 `json:"skewBps"`
}

// DefaultMakerConfig returns the documented defaults.
func DefaultMakerConfig() MakerConfig {
	return MakerConfig{
		Enabled: true, Levels: 10, FirstOffsetBps: 2, SpacingBps: 5,
		LevelNotional: decimal.NewFromInt(50_000), Refresh: engine.Duration(500 * time.Millisecond),
		MaxInventoryNotional: decimal.NewFromInt(2_000_000), SkewBps: 10,
	}
}

const (
	bpsPerUnit = 10_000
	// makerMaxLevels keeps both sides within the book's default limit of
	// 200 orders per account.
	makerMaxLevels  = 100
	makerMaxBps     = 5_000
	makerMinRefresh = 10 * time.Millisecond
	makerMaxRefresh = time.Hour
	// makerMaxNotional bounds the USDT amounts of the config (10^9 USDT):
	// the notionals of a whole ladder, each at most the cap, then sum
	// far inside int64.
	makerMaxNotional = 1_000_000_000 * fixed.QuoteUnitsPerWhole
)

// Makers runs one market maker per market. Each refresh it reads the index
// and the maker's position and resting quotes, and, unless the quotes are
// already what it would post, sends one batch per market: cancel all of the
// maker's orders, then post-only limit orders on both sides. Everything
// goes through the Submitter, so the journal replays it exactly. The
// accounts must exist and hold enough margin; the server's bootstrap
// creates and funds them. A maker's orders are margined as if every level
// of a side filled on top of its position, so at leverage L it needs about
// (Levels × LevelNotional + MaxInventoryNotional) / L plus fees: 125,000
// USDT with the defaults at the engine's default leverage of 20. Short of
// that, its outer levels are refused (insufficient margin) and counted.
type Makers struct {
	cfg      MakerConfig
	markets  []engine.Market
	accounts []engine.AccountID
	sub      Submitter
	log      *slog.Logger

	levelQuote, capQuote int64

	mu    sync.Mutex
	stats MakerStats
}

// MakerStats counts what the makers did since they started.
type MakerStats struct {
	// Refreshes counts the batches sent (one per market and refresh whose
	// quotes had to change).
	Refreshes uint64
	// Posted counts quotes that rested.
	Posted uint64
	// Rejected counts refused commands by reason: post-only quotes that
	// would take, quotes outside the price band or beyond the margin are
	// a normal part of quoting a moving market.
	Rejected map[engine.Reason]uint64
}

// NewMakers checks cfg against the markets, reporting every problem at once
// (each wraps ErrInvalidMakerConfig). accounts[i] is the maker account of
// markets[i]. log may be nil.
func NewMakers(cfg MakerConfig, markets []engine.Market, accounts []engine.AccountID, sub Submitter, log *slog.Logger) (*Makers, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidMakerConfig}, args...)...))
	}
	if len(markets) == 0 {
		bad("no markets")
	}
	if len(accounts) != len(markets) {
		bad("%d maker accounts for %d markets: want one per market", len(accounts), len(markets))
	}
	if sub == nil {
		bad("no submitter")
	}
	if cfg.Levels < 1 || cfg.Levels > makerMaxLevels {
		bad("levels %d not in [1, %d]", cfg.Levels, makerMaxLevels)
	}
	if cfg.FirstOffsetBps < 0 || cfg.FirstOffsetBps > makerMaxBps {
		bad("firstOffsetBps %d not in [0, %d]", cfg.FirstOffsetBps, makerMaxBps)
	}
	if cfg.SpacingBps < 1 || cfg.SpacingBps > makerMaxBps {
		bad("spacingBps %d not in [1, %d]", cfg.SpacingBps, makerMaxBps)
	}
	if cfg.SkewBps < 0 || cfg.SkewBps > makerMaxBps {
		bad("skewBps %d not in [0, %d]", cfg.SkewBps, makerMaxBps)
	}
	if r := time.Duration(cfg.Refresh); r < makerMinRefresh || r > makerMaxRefresh {
		bad("refresh %v not in [%v, %v]", r, makerMinRefresh, makerMaxRefresh)
	}
	m := &Makers{cfg: cfg, markets: markets, accounts: accounts, sub: sub, log: log}
	var err error
	if m.levelQuote, err = fixed.QuoteUnits(cfg.LevelNotional, 1, makerMaxNotional); err != nil {
		bad("levelNotional: %v", err)
	}
	if m.capQuote, err = fixed.QuoteUnits(cfg.MaxInventoryNotional, 1, makerMaxNotional); err != nil {
		bad("maxInventoryNotional: %v", err)
	}
	// Levels beyond the price band would be refused on every refresh. The
	// band is around the mark and the quotes around the index, which may
	// differ a little; only a ladder that cannot fit is a config error.
	if reach := cfg.FirstOffsetBps + int64(max(cfg.Levels-1, 0))*cfg.SpacingBps + cfg.SkewBps; cfg.Levels >= 1 && reach < bpsPerUnit {
		for _, mk := range markets {
			if band := mk.PriceBandPpm / 100; reach >= band {
				bad("market %s: quotes reach %d bps from the index (first offset + spacing × (levels-1) + skew), beyond its price band of %d bps",
					mk.Symbol, reach, band)
			}
		}
	} else if cfg.Levels >= 1 {
		bad("quotes reach %d bps from the index (first offset + spacing × (levels-1) + skew): bids would fall to 0", reach)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Stats returns a copy of the counts. Safe from any goroutine.
func (m *Makers) Stats() MakerStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Rejected = make(map[engine.Reason]uint64, len(m.stats.Rejected))
	for r, n := range m.stats.Rejected {
		s.Rejected[r] = n
	}
	return s
}

// Commands returns the batch that re-quotes market: a cancel-all of the
// maker's orders in it, then post-only limit orders, nearest level first
// and alternating bid and ask, around indexTicks skewed against
// positionLots (the maker's signed position). It returns nil without a
// price, or for a market it does not make. It reads nothing else, so tests
// can check it without a server.
//
// Prices are rounded away from the mid (bids down, asks up), so no quote
// is better than its offset, and are kept strictly apart when a tick is
// coarser than the spacing. Sizes are LevelNotional at the quote's price,
// rounded down to the lot (the maker posts no more than configured), then
// raised to the market's minimum quantity and notional.
func (m *Makers) Commands(market engine.MarketID, indexTicks, positionLots int64) []engine.Command {
	k := m.marketIndex(market)
	if k < 0 || indexTicks <= 0 {
		return nil
	}
	mk, acct := &m.markets[k], m.accounts[k]
	qptl := mk.Grid.QuotePerTickLot()
	// The position valued at the index; one too large for int64 is past
	// any cap.
	invQuote, err := mk.Grid.NotionalQuote(indexTicks, positionLots)
	if err != nil {
		invQuote = math.MaxInt64
		if positionLots < 0 {
			invQuote = -math.MaxInt64
		}
	}
	// The skew moves the mid by at most SkewBps of the index, in
	// proportion to the position up to the cap: index × skew × position /
	// (cap × 10,000). Both divisions truncate, which composes exactly, so
	// the shift is rounded toward zero once and a tiny position leaves the
	// quotes where they were.
	clamped := max(-m.capQuote, min(invQuote, m.capQuote))
	shift, err := fixed.Mul(indexTicks, m.cfg.SkewBps)
	if err == nil {
		shift, err = fixed.MulDiv(shift, clamped, m.capQuote, fixed.RoundTowardZero)
	}
	if err != nil {
		shift = 0 // an index beyond any book's prices: it is refused anyway
	}
	shift /= bpsPerUnit
	mid := max(1, indexTicks-shift)

	cmds := make([]engine.Command, 1, 1+2*m.cfg.Levels)
	cmds[0] = engine.Command{Kind: engine.CmdCancelAll, Account: acct, Market: mk.ID}
	// bought and sold are the notionals of the bids and asks posted so
	// far: a side stops where filling it could take the position past the
	// cap.
	var bought, sold int64
	bidOpen, askOpen := true, true
	prevBid, prevAsk := int64(math.MaxInt64), int64(0)
	for i := range m.cfg.Levels {
		off := m.cfg.FirstOffsetBps + int64(i)*m.cfg.SpacingBps
		if bidOpen {
			p, err := fixed.MulDiv(mid, bpsPerUnit-off, bpsPerUnit, fixed.RoundDown)
			p = min(p, prevBid-1)
			if err != nil || p < 1 {
				bidOpen = false
			} else if lots, v, ok := m.size(mk, p, qptl); !ok || invQuote > m.capQuote-bought-v {
				bidOpen = false
			} else {
				bought += v
				prevBid = p
				cmds = append(cmds, makerQuote(acct, mk.ID, orderbook.Buy, p, lots))
			}
		}
		if askOpen {
			p, err := fixed.MulDiv(mid, bpsPerUnit+off, bpsPerUnit, fixed.RoundUp)
			// The best ask stays above the best bid even at offset 0.
			p = max(p, prevAsk+1, min(prevBid, mid)+1)
			if err != nil || p > orderbook.MaxPriceTicksLimit {
				askOpen = false
			} else if lots, v, ok := m.size(mk, p, qptl); !ok || -invQuote > m.capQuote-sold-v {
				askOpen = false
			} else {
				sold += v
				prevAsk = p
				cmds = append(cmds, makerQuote(acct, mk.ID, orderbook.Sell, p, lots))
			}
		}
	}
	return cmds
}

// size is a quote's lots at priceTicks and their notional; ok is false
// when no size within the market's limits exists.
func (m *Makers) size(mk *engine.Market, priceTicks, qptl int64) (lots, notionalQuote int64, ok bool) {
	perLot, err := fixed.Mul(priceTicks, qptl)
	if err != nil {
		return 0, 0, false
	}
	lots = m.levelQuote / perLot // rounded down: never more than configured
	minForNotional, err := fixed.Div(mk.MinNotionalQuote, perLot, fixed.RoundUp)
	if err != nil {
		return 0, 0, false
	}
	lots = max(lots, mk.MinQtyLots, minForNotional, 1)
	if mk.MaxQtyLots > 0 && lots > mk.MaxQtyLots {
		lots = mk.MaxQtyLots
	}
	notionalQuote, err = fixed.Mul(lots, perLot)
	if err != nil || notionalQuote > m.capQuote {
		return 0, 0, false
	}
	return lots, notionalQuote, true
}

func makerQuote(acct engine.AccountID, market engine.MarketID, side orderbook.Side, priceTicks, qtyLots int64) engine.Command {
	return engine.Command{Kind: engine.CmdPlaceOrder, Account: acct, Market: market, Side: side, Type: orderbook.Limit,
		TIF: orderbook.PostOnly, PriceTicks: priceTicks, QtyLots: qtyLots}
}

func (m *Makers) marketIndex(id engine.MarketID) int {
	for k := range m.markets {
		if m.markets[k].ID == id {
			return k
		}
	}
	return -1
}

// makerView is what one refresh reads of a market.
type makerView struct {
	known      bool // the maker's account exists
	indexTicks int64
	posLots    int64
	resting    []orderbook.RestingOrder
}

// Run refreshes the quotes every Refresh until ctx ends, then returns nil;
// with Enabled false it returns at once. A stopped sequencer
// (wal.ErrStopped) ends it with that error.
func (m *Makers) Run(ctx context.Context) error {
	if !m.cfg.Enabled {
		m.log.Info("makers: disabled")
		return nil
	}
	m.log.Info("makers: started", "markets", len(m.markets), "levels", m.cfg.Levels, "refresh", time.Duration(m.cfg.Refresh))
	views := make([]makerView, len(m.markets))
	warned := make([]bool, len(m.markets))
	t := time.NewTicker(time.Duration(m.cfg.Refresh))
	defer t.Stop()
	for {
		if err := m.refresh(ctx, views, warned); err != nil {
			if errors.Is(err, wal.ErrStopped) || ctx.Err() == nil {
				return err
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// refresh re-quotes every market whose quotes are not already the ones
// Commands gives.
func (m *Makers) refresh(ctx context.Context, views []makerView, warned []bool) error {
	err := m.sub.Read(ctx, func(e *engine.Engine) {
		var p clearing.Position
		for k, mk := range m.markets {
			v := &views[k]
			v.indexTicks, _ = e.Mark(mk.ID)
			v.known = e.Ledger().ReadPosition(m.accounts[k], mk.ID, &p)
			v.posLots = p.SizeLots
			v.resting = e.Book(mk.ID).AccountOrders(orderbook.AccountID(m.accounts[k]), v.resting[:0])
		}
	})
	if err != nil {
		return fmt.Errorf("makers: read: %w", err)
	}
	for k, mk := range m.markets {
		v := &views[k]
		if !v.known {
			if !warned[k] {
				m.log.Warn("makers: the maker account does not exist; not quoting", "market", mk.Symbol, "account", m.accounts[k])
				warned[k] = true
			}
			continue
		}
		cmds := m.Commands(mk.ID, v.indexTicks, v.posLots)
		if cmds == nil || sameQuotes(cmds[1:], v.resting) {
			continue
		}
		if err := m.send(ctx, mk.Symbol, cmds); err != nil {
			return err
		}
	}
	return nil
}

// sameQuotes reports whether the book holds exactly quotes, untouched and
// in the order they were posted: re-posting them would only churn the
// journal and cost the maker its time priority.
func sameQuotes(quotes []engine.Command, resting []orderbook.RestingOrder) bool {
	if len(quotes) != len(resting) {
		return false
	}
	for i, q := range quotes {
		r := resting[i]
		if r.Side != q.Side || r.PriceTicks != q.PriceTicks || r.QtyLots != q.QtyLots || r.RemainingLots != q.QtyLots {
			return false
		}
	}
	return true
}

func (m *Makers) send(ctx context.Context, symbol string, cmds []engine.Command) error {
	results := m.sub.SubmitBatch(ctx, cmds)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Refreshes++
	for i, res := range results {
		if res.Err != nil {
			if errors.Is(res.Err, wal.ErrStopped) || ctx.Err() != nil {
				return fmt.Errorf("makers: %s: %w", symbol, res.Err)
			}
			m.log.Warn("makers: submit failed", "market", symbol, "err", res.Err)
			continue
		}
		rejected := false
		for _, ev := range res.Events {
			if ev.Kind == engine.EventRejected {
				rejected = true
				if m.stats.Rejected == nil {
					m.stats.Rejected = map[engine.Reason]uint64{}
				}
				m.stats.Rejected[ev.Reason]++
				m.log.Debug("makers: refused", "market", symbol, "command", cmds[i].Kind.String(), "side", cmds[i].Side.String(),
					"priceTicks", cmds[i].PriceTicks, "qtyLots", cmds[i].QtyLots, "reason", ev.Reason.String())
			}
		}
		if !rejected && cmds[i].Kind == engine.CmdPlaceOrder {
			m.stats.Posted++
		}
	}
	return nil
}
