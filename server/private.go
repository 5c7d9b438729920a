package server

import (
	"net/http"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/shopspring/decimal"
)

// AccountInfo is an account's money: the wallet, the cross pool's
// figures, the isolated margin in positions, what is available, and the
// positions.
type AccountInfo struct {
	Account                engine.AccountID `json:"account"`
	Wallet                 decimal.Decimal  `json:"wallet"`
	CrossUnrealizedPnl     decimal.Decimal  `json:"crossUnrealizedPnl"`
	CrossMarginBalance     decimal.Decimal  `json:"crossMarginBalance"`
	CrossMaintenanceMargin decimal.Decimal  `json:"crossMaintenanceMargin"`
	CrossMarginRatio       decimal.Decimal  `json:"crossMarginRatio"`
	IsolatedMargin         decimal.Decimal  `json:"isolatedMargin"`
	Available              decimal.Decimal  `json:"available"`
	Positions              []PositionInfo   `json:"positions"`
}

// PositionInfo is one position valued at the mark. Size is signed
// (negative: short); LiquidationPrice is null when no price liquidates it.
type PositionInfo struct {
	Market            string           `json:"symbol"`
	Size              decimal.Decimal  `json:"size"`
	EntryPrice        decimal.Decimal  `json:"entryPrice"`
	MarginMode        string           `json:"marginMode"`
	Leverage          int64            `json:"leverage"`
	IsolatedMargin    decimal.Decimal  `json:"isolatedMargin"`
	MarkPrice         decimal.Decimal  `json:"markPrice"`
	Notional          decimal.Decimal  `json:"notional"`
	UnrealizedPnl     decimal.Decimal  `json:"unrealizedPnl"`
	MaintenanceMargin decimal.Decimal  `json:"maintenanceMargin"`
	InitialMargin     decimal.Decimal  `json:"initialMargin"`
	LiquidationPrice  *decimal.Decimal `json:"liquidationPrice"`
	MarginRatio       decimal.Decimal  `json:"marginRatio"`
	ADLRank           int              `json:"adlRank"`
}

// ratio renders a ppm ratio; an exhausted pool (MaxInt64) shows as 999.
func ratio(ppm int64) decimal.Decimal {
	if ppm >= 999_000_000 {
		return decimal.NewFromInt(999)
	}
	return fixed.Rate(ppm)
}

// entryPrice is the average entry price: the entry value over the size,
// to the tick's decimals and 4 more (an average is rarely on the grid).
func entryPrice(m *engine.Market, sizeLots, entryValueQuote int64) decimal.Decimal {
	if sizeLots == 0 {
		return decimal.Zero
	}
	qty := m.Grid.Qty(sizeLots)
	return fixed.QuoteAmount(entryValueQuote).DivRound(qty, -m.Grid.TickSize().Exponent()+4)
}

func (s *Server) positionInfo(p *engine.PositionView) PositionInfo {
	m := &s.markets[p.Market]
	pi := PositionInfo{Market: m.Symbol, Size: m.Grid.Qty(p.SizeLots), EntryPrice: entryPrice(m, p.SizeLots, p.EntryValueQuote),
		MarginMode: p.Mode.String(), Leverage: p.Leverage, IsolatedMargin: fixed.QuoteAmount(p.IsolatedMarginQuote),
		MarkPrice: decimal.Zero, Notional: fixed.QuoteAmount(p.NotionalQuote), UnrealizedPnl: fixed.QuoteAmount(p.UnrealizedPnLQuote),
		MaintenanceMargin: fixed.QuoteAmount(p.MaintenanceQuote), InitialMargin: fixed.QuoteAmount(p.InitialQuote),
		MarginRatio: ratio(p.MarginRatioPpm), ADLRank: p.ADLRank}
	if p.MarkTicks > 0 {
		pi.MarkPrice = m.Grid.Price(p.MarkTicks)
	}
	if p.LiqPriceTicks > 0 {
		lp := m.Grid.Price(p.LiqPriceTicks)
		pi.LiquidationPrice = &lp
	}
	return pi
}

func (s *Server) accountView(r *request) (engine.AccountView, error) {
	var v engine.AccountView
	var err error
	if rerr := s.read(r.Context(), func(e *engine.Engine) { v, _, err = e.Account(r.who.account, nil) }); rerr != nil {
		return v, rerr
	}
	return v, err
}

func (s *Server) getAccount(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r.Request); err != nil {
		return err
	}
	v, err := s.accountView(r)
	if err != nil {
		return err
	}
	out := AccountInfo{Account: v.Account, Wallet: fixed.QuoteAmount(v.WalletQuote),
		CrossUnrealizedPnl: fixed.QuoteAmount(v.CrossUnrealizedQuote), CrossMarginBalance: fixed.QuoteAmount(v.CrossMarginBalanceQuote),
		CrossMaintenanceMargin: fixed.QuoteAmount(v.CrossMaintenanceQuote), CrossMarginRatio: ratio(v.CrossMarginRatioPpm),
		IsolatedMargin: fixed.QuoteAmount(v.IsolatedMarginQuote), Available: fixed.QuoteAmount(v.AvailableQuote),
		Positions: []PositionInfo{}}
	for i := range v.Positions {
		out.Positions = append(out.Positions, s.positionInfo(&v.Positions[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPositions(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r.Request, "symbol")
	if err != nil {
		return err
	}
	var only *engine.Market
	if q.has("symbol") {
		if only, err = s.market(q.str("symbol")); err != nil {
			return err
		}
	}
	v, err := s.accountView(r)
	if err != nil {
		return err
	}
	out := []PositionInfo{}
	for i := range v.Positions {
		if p := &v.Positions[i]; p.SizeLots != 0 && (only == nil || only.ID == p.Market) {
			out = append(out, s.positionInfo(p))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// settingsRequest sets leverage (leverage set) or margin mode (mode set).
type leverageRequest struct {
	Market   string `json:"symbol"`
	Leverage int64  `json:"leverage"`
}

type marginModeRequest struct {
	Market     string `json:"symbol"`
	MarginMode string `json:"marginMode"`
}

// isolatedMarginRequest adds (a positive amount) or removes (negative)
// isolated margin.
type isolatedMarginRequest struct {
	Market string `json:"symbol"`
	Amount Number `json:"amount"`
}

// Settings is an account's leverage and margin mode in a market.
type Settings struct {
	Market     string `json:"symbol"`
	Leverage   int64  `json:"leverage"`
	MarginMode string `json:"marginMode"`
}

func (s *Server) postLeverage(w http.ResponseWriter, r *request) error {
	var req leverageRequest
	if err := decodeBody(r.body, &req); err != nil {
		return err
	}
	m, err := s.market(req.Market)
	if err != nil {
		return err
	}
	if req.Leverage < 1 || req.Leverage > 125 {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "leverage: want an integer in [1, 125]")
	}
	return s.settingsCommand(w, r, engine.Command{Kind: engine.CmdSetLeverage, Account: r.who.account, Market: m.ID, Leverage: req.Leverage}, m)
}

func (s *Server) postMarginMode(w http.ResponseWriter, r *request) error {
	var req marginModeRequest
	if err := decodeBody(r.body, &req); err != nil {
		return err
	}
	m, err := s.market(req.Market)
	if err != nil {
		return err
	}
	var mode clearing.MarginMode
	switch req.MarginMode {
	case clearing.Cross.String():
		mode = clearing.Cross
	case clearing.Isolated.String():
		mode = clearing.Isolated
	case "":
		return apiErr(http.StatusBadRequest, codeMissingParam, "marginMode is required")
	default:
		return apiErr(http.StatusBadRequest, codeInvalidParam, "marginMode: want \"cross\" or \"isolated\"")
	}
	return s.settingsCommand(w, r, engine.Command{Kind: engine.CmdSetMarginMode, Account: r.who.account, Market: m.ID, Mode: mode}, m)
}

func (s *Server) settingsCommand(w http.ResponseWriter, r *request, cmd engine.Command, m *engine.Market) error {
	evs, err := s.submit(r.Context(), cmd)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if ev.Kind == engine.EventSettings && ev.Account == cmd.Account && ev.Market == cmd.Market {
			writeJSON(w, http.StatusOK, Settings{Market: m.Symbol, Leverage: ev.Leverage, MarginMode: ev.Mode.String()})
			return nil
		}
	}
	return apiErr(http.StatusInternalServerError, codeInternal, "no settings event")
}

// IsolatedMarginResult is the position's isolated margin after a change.
type IsolatedMarginResult struct {
	Market         string          `json:"symbol"`
	IsolatedMargin decimal.Decimal `json:"isolatedMargin"`
	Wallet         decimal.Decimal `json:"wallet"`
}

func (s *Server) postIsolatedMargin(w http.ResponseWriter, r *request) error {
	var req isolatedMarginRequest
	if err := decodeBody(r.body, &req); err != nil {
		return err
	}
	m, err := s.market(req.Market)
	if err != nil {
		return err
	}
	if !req.Amount.set {
		return apiErr(http.StatusBadRequest, codeMissingParam, "amount is required")
	}
	amt, err := fixed.QuoteUnits(req.Amount.Decimal, -maxQuote, maxQuote)
	if err != nil || amt == 0 {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "amount: want a non-zero USDT amount with at most 6 decimals, |amount| ≤ 10^9")
	}
	evs, err := s.submit(r.Context(), engine.Command{Kind: engine.CmdAdjustIsolatedMargin, Account: r.who.account, Market: m.ID, AmountQuote: amt})
	if err != nil {
		return err
	}
	out := IsolatedMarginResult{Market: m.Symbol}
	for _, ev := range evs {
		if ev.Account != r.who.account { // others' events may come first
			continue
		}
		switch {
		case ev.Kind == engine.EventBalance && ev.Cause == engine.CauseIsolatedMargin:
			out.Wallet = fixed.QuoteAmount(ev.BalanceQuote)
		case ev.Kind == engine.EventPosition && ev.Market == m.ID:
			out.IsolatedMargin = fixed.QuoteAmount(ev.IsolatedMarginQuote)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
