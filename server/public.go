package server

import (
	"net/http"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/shopspring/decimal"
)

// MarketInfo describes a market: its grid, limits, fees and brackets.
type MarketInfo struct {
	Symbol             string          `json:"symbol"`
	TickSize           decimal.Decimal `json:"tickSize"`
	LotSize            decimal.Decimal `json:"lotSize"`
	MinQty             decimal.Decimal `json:"minQty"`
	MaxQty             decimal.Decimal `json:"maxQty"`
	MinNotional        decimal.Decimal `json:"minNotional"`
	MakerFeeRate       decimal.Decimal `json:"makerFeeRate"`
	TakerFeeRate       decimal.Decimal `json:"takerFeeRate"`
	LiquidationFeeRate decimal.Decimal `json:"liquidationFeeRate"`
	FundingInterval    string          `json:"fundingInterval"`
	PriceBand          decimal.Decimal `json:"priceBand"`
	Brackets           []BracketInfo   `json:"brackets"`
}

// BracketInfo is one notional tier: the maximum leverage and the
// maintenance rate and amount within it.
type BracketInfo struct {
	Bracket           int             `json:"bracket"`
	NotionalFloor     decimal.Decimal `json:"notionalFloor"`
	NotionalCap       decimal.Decimal `json:"notionalCap"`
	MaxLeverage       int64           `json:"maxLeverage"`
	MaintenanceRate   decimal.Decimal `json:"maintenanceRate"`
	MaintenanceAmount decimal.Decimal `json:"maintenanceAmount"`
}

func marketInfo(m *engine.Market) MarketInfo {
	g := m.Grid
	mi := MarketInfo{Symbol: m.Symbol, TickSize: g.TickSize(), LotSize: g.LotSize(), MinQty: g.Qty(m.MinQtyLots),
		MaxQty: g.Qty(m.MaxQtyLots), MinNotional: fixed.QuoteAmount(m.MinNotionalQuote), MakerFeeRate: fixed.Rate(m.MakerFeePpm),
		TakerFeeRate: fixed.Rate(m.TakerFeePpm), LiquidationFeeRate: fixed.Rate(m.LiquidationFeePpm),
		FundingInterval: time.Duration(m.FundingIntervalNanos).String(), PriceBand: fixed.Rate(m.PriceBandPpm)}
	for i := range m.Brackets.Len() {
		t := m.Brackets.TierAt(i)
		mi.Brackets = append(mi.Brackets, BracketInfo{Bracket: t.Number, NotionalFloor: fixed.QuoteAmount(t.FloorQuote),
			NotionalCap: fixed.QuoteAmount(t.CapQuote), MaxLeverage: t.MaxLeverage, MaintenanceRate: fixed.Rate(t.MaintRatePpm),
			MaintenanceAmount: fixed.QuoteAmount(t.MaintAmountQuote)})
	}
	return mi
}

func (s *Server) getMarkets(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r.Request); err != nil {
		return err
	}
	out := make([]MarketInfo, len(s.markets))
	for i := range s.markets {
		out[i] = marketInfo(&s.markets[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Depth is a snapshot of a book: levels best first, as [price, quantity]
// pairs, and its update id: the WebSocket depth diffs that follow it
// have update ids above it, without a gap.
type Depth struct {
	Market   string               `json:"symbol"`
	UpdateID uint64               `json:"updateId"`
	Bids     [][2]decimal.Decimal `json:"bids"`
	Asks     [][2]decimal.Decimal `json:"asks"`
}

func (s *Server) getDepth(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r.Request, "symbol", "limit")
	if err != nil {
		return err
	}
	m, err := s.market(q.str("symbol"))
	if err != nil {
		return err
	}
	limit, err := q.int("limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	// From the hub's mirror of the book, whose update ids the WebSocket
	// depth diffs continue.
	bids, asks, id := s.hub.Depth(m.ID, int(limit))
	d := Depth{Market: m.Symbol, UpdateID: id, Bids: levels(m, bids), Asks: levels(m, asks)}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func levels(m *engine.Market, ls []orderbook.Level) [][2]decimal.Decimal {
	out := make([][2]decimal.Decimal, len(ls))
	for i, l := range ls {
		out[i] = [2]decimal.Decimal{m.Grid.Price(l.PriceTicks), m.Grid.Qty(l.TotalLots)}
	}
	return out
}

func (s *Server) getTime(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r.Request); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"serverTime": s.now().UnixMilli()})
	return nil
}

// marketAndLimit reads the market and limit parameters (plus extra) of a
// market-data endpoint.
func (s *Server) marketAndLimit(r *request, def, most int64, extra ...string) (*engine.Market, int, query, error) {
	q, err := parseQuery(r.Request, append([]string{"symbol", "limit"}, extra...)...)
	if err != nil {
		return nil, 0, q, err
	}
	m, err := s.market(q.str("symbol"))
	if err != nil {
		return nil, 0, q, err
	}
	limit, err := q.int("limit", def, 1, most)
	return m, int(limit), q, err
}

func (s *Server) getTrades(w http.ResponseWriter, r *request) error {
	m, limit, _, err := s.marketAndLimit(r, 100, 1000)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.md.Trades(m.ID, limit))
	return nil
}

func (s *Server) getKlines(w http.ResponseWriter, r *request) error {
	m, limit, q, err := s.marketAndLimit(r, 500, 1000, "interval", "startTime", "endTime")
	if err != nil {
		return err
	}
	start, err := q.int("startTime", 0, 0, 1<<53)
	if err != nil {
		return err
	}
	end, err := q.int("endTime", 1<<53, 0, 1<<53)
	if err != nil {
		return err
	}
	if !q.has("interval") {
		return apiErr(http.StatusBadRequest, codeMissingParam, "interval is required (%v)", KlineIntervals())
	}
	ks, err := s.md.Klines(m.ID, q.str("interval"), start, end, limit)
	if err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "%v", err)
	}
	writeJSON(w, http.StatusOK, ks)
	return nil
}

func (s *Server) getTicker(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r.Request, "symbol")
	if err != nil {
		return err
	}
	m, err := s.market(q.str("symbol"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.md.Ticker(m.ID))
	return nil
}

func (s *Server) getMark(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r.Request, "symbol")
	if err != nil {
		return err
	}
	m, err := s.market(q.str("symbol"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.md.Mark(m.ID))
	return nil
}

func (s *Server) getLiquidations(w http.ResponseWriter, r *request) error {
	m, limit, _, err := s.marketAndLimit(r, 100, 1000)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.md.Liquidations(m.ID, limit))
	return nil
}

func (s *Server) getInsuranceFund(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r.Request); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.md.InsuranceFund())
	return nil
}
