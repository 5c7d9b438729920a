package engine

import (
	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/margin"
	"github.com/paperperps/exchange/orderbook"
)

// The views here are for queries (the API's account, positions and open
// orders): they read the state and change nothing. They cost O(markets) or
// O(an account's orders), except ADL ranks (O(positions on a side)), so
// they stay off the hot path.

// PositionView is one of an account's positions with the figures a trader
// sees, valued at the mark.
type PositionView struct {
	Market              MarketID
	Mode                clearing.MarginMode
	Leverage            int64
	SizeLots            int64 // negative: short
	EntryValueQuote     int64 // signed like SizeLots
	IsolatedMarginQuote int64
	MarkTicks           int64
	NotionalQuote       int64 // at the mark, absolute
	UnrealizedPnLQuote  int64
	MaintenanceQuote    int64
	// InitialQuote is the initial margin of the position alone at the mark
	// and its leverage.
	InitialQuote int64
	// LiqPriceTicks is the liquidation price (0: none), as on position
	// events.
	LiqPriceTicks int64
	// MarginRatioPpm is the ratio of its pool: the cross pool's for a cross
	// position, the position's own for an isolated one.
	MarginRatioPpm int64
	ADLRank        int // 1 to 5; 0 without a position
}

// AccountView is an account's money and positions.
type AccountView struct {
	Account     AccountID
	WalletQuote int64
	// The cross pool: its positions' unrealized PnL and maintenance; its
	// margin balance is wallet + unrealized, and its margin ratio is
	// maintenance over margin balance (ppm; 0 without cross positions,
	// above 1,000,000 past the liquidation point).
	CrossUnrealizedQuote    int64
	CrossMarginBalanceQuote int64
	CrossMaintenanceQuote   int64
	CrossMarginRatioPpm     int64
	// IsolatedMarginQuote sums the isolated positions' margin.
	IsolatedMarginQuote int64
	// AvailableQuote is what a withdrawal or a new order can still use
	// (free collateral; it may be negative after losses).
	AvailableQuote int64
	// Positions holds every market where the account has a position or
	// isolated margin, in market order.
	Positions []PositionView
}

// NumAccounts is the number of accounts created so far (ids 0 to n-1),
// the insurance fund's system account included.
func (e *Engine) NumAccounts() int { return e.ledger.NumAccounts() }

// Settings returns account a's leverage and margin mode in market m; ok is
// false for an unknown account or market.
func (e *Engine) Settings(a AccountID, m MarketID) (leverage int64, mode clearing.MarginMode, ok bool) {
	if int(a) >= e.ledger.NumAccounts() || int(m) >= len(e.markets) {
		return 0, 0, false
	}
	var p clearing.Position
	e.ledger.ReadPosition(a, m, &p)
	return e.slots[e.slot(a, m)].leverage, p.Mode, true
}

// Funding returns market m's last funding rate (ppm) and the time of the
// next funding (0 before the first command).
func (e *Engine) Funding(m MarketID) (ratePpm, nextNanos int64) {
	ms := &e.markets[m]
	return ms.fundingRatePpm, ms.nextFundingNanos
}

// Account returns account a's view, its positions appended to buf; ok is
// false for an unknown account. A figure that overflows int64 (absurd
// positions only) is reported as its error.
func (e *Engine) Account(a AccountID, buf []PositionView) (AccountView, bool, error) {
	if int(a) >= e.ledger.NumAccounts() {
		return AccountView{}, false, nil
	}
	v := AccountView{Account: a, Positions: buf[:0]}
	v.WalletQuote, _ = e.ledger.Wallet(a)
	var err error
	if v.AvailableQuote, err = e.freeCollateral(a); err != nil {
		return v, true, err
	}
	ps := e.ledger.AccountPositions(a, nil)
	crossAt := len(v.Positions)
	for i := range ps {
		p := &ps[i]
		pv := PositionView{Market: p.Market, Mode: p.Mode, Leverage: e.slots[e.slot(a, p.Market)].leverage, SizeLots: p.SizeLots,
			EntryValueQuote: p.EntryValueQuote, IsolatedMarginQuote: p.IsolatedMarginQuote, MarkTicks: e.markets[p.Market].markTicks}
		if v.IsolatedMarginQuote, err = fixed.Add(v.IsolatedMarginQuote, p.IsolatedMarginQuote); err != nil {
			return v, true, err
		}
		if p.SizeLots != 0 {
			if pv.UnrealizedPnLQuote, pv.MaintenanceQuote, err = e.figuresAt(p, pv.MarkTicks); err != nil {
				return v, true, err
			}
			if pv.NotionalQuote, err = notionalAt(absInt(p.SizeLots), pv.MarkTicks, p.QuotePerTickLot); err != nil {
				return v, true, err
			}
			if pv.InitialQuote, err = margin.InitialMargin(pv.NotionalQuote, pv.Leverage); err != nil {
				return v, true, err
			}
			pv.LiqPriceTicks = e.liquidationPrice(p)
			pv.ADLRank, _ = e.ADLRank(a, p.Market)
		}
		if p.Mode == clearing.Cross {
			if v.CrossUnrealizedQuote, err = fixed.Add(v.CrossUnrealizedQuote, pv.UnrealizedPnLQuote); err != nil {
				return v, true, err
			}
			if v.CrossMaintenanceQuote, err = fixed.Add(v.CrossMaintenanceQuote, pv.MaintenanceQuote); err != nil {
				return v, true, err
			}
		} else if p.SizeLots != 0 {
			balance, err := fixed.Add(p.IsolatedMarginQuote, pv.UnrealizedPnLQuote)
			if err != nil {
				return v, true, err
			}
			pv.MarginRatioPpm = ratioPpm(pv.MaintenanceQuote, balance)
		}
		v.Positions = append(v.Positions, pv)
	}
	if v.CrossMarginBalanceQuote, err = fixed.Add(v.WalletQuote, v.CrossUnrealizedQuote); err != nil {
		return v, true, err
	}
	v.CrossMarginRatioPpm = ratioPpm(v.CrossMaintenanceQuote, v.CrossMarginBalanceQuote)
	for i := crossAt; i < len(v.Positions); i++ {
		if v.Positions[i].Mode == clearing.Cross && v.Positions[i].SizeLots != 0 {
			v.Positions[i].MarginRatioPpm = v.CrossMarginRatioPpm
		}
	}
	return v, true, nil
}

// ratioPpm is maintenance over balance in ppm, rounded up (the side that
// warns earlier); a pool with nothing left (balance at or below 0) and
// some maintenance is past any ratio and shows as MaxInt64.
func ratioPpm(maint, balance int64) int64 {
	switch {
	case maint == 0:
		return 0
	case balance <= 0:
		return 1<<63 - 1
	}
	r, err := fixed.MulDiv(maint, 1_000_000, balance, fixed.RoundUp)
	if err != nil {
		return 1<<63 - 1
	}
	return r
}

// OrderView is an open order: resting in its book, or a conditional order
// waiting for its trigger (Trigger set; then PriceTicks is its limit price,
// 0 for a market order, and nothing has filled).
type OrderView struct {
	ID            orderbook.OrderID
	Account       AccountID
	Market        MarketID
	Side          orderbook.Side
	Type          orderbook.OrderType
	TIF           orderbook.TimeInForce
	ReduceOnly    bool
	PriceTicks    int64
	QtyLots       int64
	FilledLots    int64
	RemainingLots int64
	Trigger       Trigger
	TriggerBy     TriggerPrice
	TriggerTicks  int64
	ClientOrderID ClientOrderID
}

// OpenOrders appends account a's open orders in market m (every market
// when all) to dst: resting orders by market, then price-time order per
// side as the book holds them, then its waiting conditional orders by id.
func (e *Engine) OpenOrders(a AccountID, m MarketID, all bool, dst []OrderView) []OrderView {
	if int(a) >= e.ledger.NumAccounts() {
		return dst
	}
	var rest []orderbook.RestingOrder
	for mk := range e.markets {
		if !all && MarketID(mk) != m {
			continue
		}
		rest = e.markets[mk].book.AccountOrders(orderbook.AccountID(a), rest[:0])
		for _, o := range rest {
			dst = append(dst, e.restingView(MarketID(mk), o))
		}
		node, ok := e.stops.Ceiling(ownerKey{a, MarketID(mk), 0})
		if !ok {
			continue
		}
		for it := e.stops.IteratorAt(node); it.Key().account == a && it.Key().market == MarketID(mk); {
			dst = append(dst, stopView(it.Value()))
			if !it.Next() {
				break
			}
		}
	}
	return dst
}

// Order returns open order id if it belongs to account a (an order of
// another account is reported as unknown).
func (e *Engine) Order(a AccountID, id orderbook.OrderID) (OrderView, bool) {
	for mk := range e.markets {
		if o, ok := e.markets[mk].book.Order(id); ok {
			if AccountID(o.Account) != a {
				return OrderView{}, false
			}
			return e.restingView(MarketID(mk), o), true
		}
	}
	for mk := range e.markets {
		if s, ok := e.stops.Get(ownerKey{a, MarketID(mk), id}); ok {
			return stopView(s), true
		}
	}
	return OrderView{}, false
}

func (e *Engine) restingView(m MarketID, o orderbook.RestingOrder) OrderView {
	v := OrderView{ID: o.ID, Account: AccountID(o.Account), Market: m, Side: o.Side, Type: orderbook.Limit, TIF: o.TIF,
		PriceTicks: o.PriceTicks, QtyLots: o.QtyLots, FilledLots: o.FilledLots, RemainingLots: o.RemainingLots}
	if k, ok := e.cids.of(o.ID); ok {
		v.ClientOrderID = k.cid
	}
	v.ReduceOnly = o.Tag&tagReduceOnly != 0
	return v
}

func stopView(s *stopOrder) OrderView {
	return OrderView{ID: s.id, Account: s.account, Market: s.market, Side: s.side, Type: s.typ, TIF: s.tif,
		ReduceOnly: s.reduceOnly, PriceTicks: s.priceTicks, QtyLots: s.qtyLots, RemainingLots: s.qtyLots,
		Trigger: s.trigger, TriggerBy: s.by, TriggerTicks: s.triggerTicks, ClientOrderID: s.cid}
}
