package client

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// The answers' types mirror the API's JSON (docs/API.md): decimals are
// decimal.Decimal, times Millis, enumerations the string types of
// enums.go. Fields the server adds later are ignored; fields it leaves
// out are zero.

// Millis is a time as the API writes it: Unix milliseconds, UTC. The
// API's times are the sequencer's, not the client's.
type Millis int64

// Time is m as a time.Time; the zero time for 0 (the API's "none").
func (m Millis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m))
}

// AccountID is an account's number.
type AccountID uint32

// OrderID is an order's number, unique across the exchange.
type OrderID uint64

// MarketInfo is a market's specification.
type MarketInfo struct {
	Symbol             string          `json:"symbol"`
	TickSize           decimal.Decimal `json:"tickSize"` // price step
	LotSize            decimal.Decimal `json:"lotSize"`  // quantity step
	MinQty             decimal.Decimal `json:"minQty"`
	MaxQty             decimal.Decimal `json:"maxQty"`
	MinNotional        decimal.Decimal `json:"minNotional"` // USDT; not checked for reduce-only orders
	MakerFeeRate       decimal.Decimal `json:"makerFeeRate"`
	TakerFeeRate       decimal.Decimal `json:"takerFeeRate"`
	LiquidationFeeRate decimal.Decimal `json:"liquidationFeeRate"`
	// FundingInterval is parsed from the API's Go duration ("8h0m0s").
	FundingInterval time.Duration   `json:"-"`
	PriceBand       decimal.Decimal `json:"priceBand"` // limit prices further from the mark (a fraction) are refused
	Brackets        []Bracket       `json:"brackets"`
}

// UnmarshalJSON reads the funding interval's duration text.
func (m *MarketInfo) UnmarshalJSON(b []byte) error {
	type plain MarketInfo // without this method
	var w struct {
		plain
		FundingInterval string `json:"fundingInterval"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = MarketInfo(w.plain)
	// A text this SDK cannot read (a newer server's) leaves it zero
	// rather than failing the list of markets.
	m.FundingInterval, _ = time.ParseDuration(w.FundingInterval)
	return nil
}

// RoundPrice rounds p down to the market's tick grid (the API refuses
// prices off it rather than rounding them).
func (m *MarketInfo) RoundPrice(p decimal.Decimal) decimal.Decimal { return floorTo(p, m.TickSize) }

// RoundQty rounds q down to the market's lot grid.
func (m *MarketInfo) RoundQty(q decimal.Decimal) decimal.Decimal { return floorTo(q, m.LotSize) }

func floorTo(v, step decimal.Decimal) decimal.Decimal {
	if !step.IsPositive() {
		return v
	}
	return v.Div(step).Floor().Mul(step)
}

// Bracket is one notional tier of a market's leverage brackets.
type Bracket struct {
	Bracket           int             `json:"bracket"` // 1 for the smallest notionals
	NotionalFloor     decimal.Decimal `json:"notionalFloor"`
	NotionalCap       decimal.Decimal `json:"notionalCap"`
	MaxLeverage       int             `json:"maxLeverage"`
	MaintenanceRate   decimal.Decimal `json:"maintenanceRate"`
	MaintenanceAmount decimal.Decimal `json:"maintenanceAmount"`
}

// Level is one price level of a depth snapshot: its price and total
// quantity.
type Level struct {
	Price decimal.Decimal
	Qty   decimal.Decimal
}

// UnmarshalJSON reads the API's [price, quantity] pair.
func (l *Level) UnmarshalJSON(b []byte) error {
	var pair [2]decimal.Decimal
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	l.Price, l.Qty = pair[0], pair[1]
	return nil
}

// MarshalJSON writes the API's [price, quantity] pair.
func (l Level) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]string{l.Price.String(), l.Qty.String()})
}

// Depth is an order book snapshot, best levels first. UpdateID is the
// book's update counter: the WebSocket depth diffs that follow a snapshot
// continue from it.
type Depth struct {
	Symbol   string  `json:"symbol"`
	UpdateID uint64  `json:"updateId"`
	Bids     []Level `json:"bids"`
	Asks     []Level `json:"asks"`
}

// Trade is one trade of a market's public tape.
type Trade struct {
	ID           int64           `json:"id"` // counts the market's trades from 1 since the server started
	Price        decimal.Decimal `json:"price"`
	Qty          decimal.Decimal `json:"qty"`
	QuoteQty     decimal.Decimal `json:"quoteQty"`
	TakerSide    Side            `json:"takerSide"`
	IsBuyerMaker bool            `json:"isBuyerMaker"`
	Liquidation  bool            `json:"liquidation"` // the taker was a liquidation order
	Time         Millis          `json:"time"`
}

// Kline is one candle, built from the tape's trades.
type Kline struct {
	OpenTime            Millis          `json:"openTime"`
	Open                decimal.Decimal `json:"open"`
	High                decimal.Decimal `json:"high"`
	Low                 decimal.Decimal `json:"low"`
	Close               decimal.Decimal `json:"close"`
	Volume              decimal.Decimal `json:"volume"` // base asset
	CloseTime           Millis          `json:"closeTime"`
	QuoteVolume         decimal.Decimal `json:"quoteVolume"` // USDT
	Count               int64           `json:"count"`
	TakerBuyVolume      decimal.Decimal `json:"takerBuyVolume"`
	TakerBuyQuoteVolume decimal.Decimal `json:"takerBuyQuoteVolume"`
}

// KlineQuery narrows Klines. Zero values are the server's defaults: no
// bounds, 500 candles (the last ones, or the first ones after Start).
type KlineQuery struct {
	Start, End time.Time // candles opening in [Start, End]
	Limit      int       // 1 to 1000
}

// Ticker is a market's 24-hour rolling statistics.
type Ticker struct {
	Symbol             string          `json:"symbol"`
	PriceChange        decimal.Decimal `json:"priceChange"`
	PriceChangePercent decimal.Decimal `json:"priceChangePercent"`
	WeightedAvgPrice   decimal.Decimal `json:"weightedAvgPrice"`
	LastPrice          decimal.Decimal `json:"lastPrice"`
	LastQty            decimal.Decimal `json:"lastQty"`
	OpenPrice          decimal.Decimal `json:"openPrice"`
	HighPrice          decimal.Decimal `json:"highPrice"`
	LowPrice           decimal.Decimal `json:"lowPrice"`
	Volume             decimal.Decimal `json:"volume"`
	QuoteVolume        decimal.Decimal `json:"quoteVolume"`
	OpenTime           Millis          `json:"openTime"`
	CloseTime          Millis          `json:"closeTime"`
	FirstID            int64           `json:"firstId"`
	LastID             int64           `json:"lastId"`
	Count              int64           `json:"count"`
}

// MarkInfo is a market's mark price, index price and funding.
type MarkInfo struct {
	Symbol          string          `json:"symbol"`
	MarkPrice       decimal.Decimal `json:"markPrice"` // 0 before the first index price
	IndexPrice      decimal.Decimal `json:"indexPrice"`
	LastFundingRate decimal.Decimal `json:"lastFundingRate"`
	LastFundingTime Millis          `json:"lastFundingTime"`
	InterestRate    decimal.Decimal `json:"interestRate"`
	NextFundingTime Millis          `json:"nextFundingTime"`
	Time            Millis          `json:"time"`
}

// Liquidation is one liquidated position of a market (whose, the API does
// not say).
type Liquidation struct {
	Symbol          string          `json:"symbol"`
	Side            Side            `json:"side"` // the liquidation order's: sell closes a long
	Qty             decimal.Decimal `json:"qty"`
	BankruptcyPrice decimal.Decimal `json:"bankruptcyPrice"`
	FilledQty       decimal.Decimal `json:"filledQty"` // taken by the book
	AvgFillPrice    decimal.Decimal `json:"avgFillPrice"`
	FundQty         decimal.Decimal `json:"fundQty"` // taken over by the insurance fund
	ADLQty          decimal.Decimal `json:"adlQty"`  // closed by auto-deleveraging
	ADLPrice        decimal.Decimal `json:"adlPrice"`
	Time            Millis          `json:"time"`
}

// InsuranceFund is the insurance fund's state.
type InsuranceFund struct {
	Balance      decimal.Decimal `json:"balance"`
	TotalBadDebt decimal.Decimal `json:"totalBadDebt"`
	Time         Millis          `json:"time"`
}

// Account is an account's money and positions.
type Account struct {
	Account                AccountID       `json:"account"`
	Wallet                 decimal.Decimal `json:"wallet"`
	CrossUnrealizedPnl     decimal.Decimal `json:"crossUnrealizedPnl"`
	CrossMarginBalance     decimal.Decimal `json:"crossMarginBalance"`
	CrossMaintenanceMargin decimal.Decimal `json:"crossMaintenanceMargin"`
	CrossMarginRatio       decimal.Decimal `json:"crossMarginRatio"` // above 1: past the liquidation point
	IsolatedMargin         decimal.Decimal `json:"isolatedMargin"`
	Available              decimal.Decimal `json:"available"` // free collateral; may be negative
	Positions              []Position      `json:"positions"`
}

// Position is one position valued at the mark.
type Position struct {
	Symbol            string          `json:"symbol"`
	Size              decimal.Decimal `json:"size"` // signed: negative is short
	EntryPrice        decimal.Decimal `json:"entryPrice"`
	MarginMode        MarginMode      `json:"marginMode"`
	Leverage          int             `json:"leverage"`
	IsolatedMargin    decimal.Decimal `json:"isolatedMargin"`
	MarkPrice         decimal.Decimal `json:"markPrice"`
	Notional          decimal.Decimal `json:"notional"`
	UnrealizedPnl     decimal.Decimal `json:"unrealizedPnl"`
	MaintenanceMargin decimal.Decimal `json:"maintenanceMargin"`
	InitialMargin     decimal.Decimal `json:"initialMargin"`
	// LiquidationPrice is the mark price that would liquidate the
	// position; zero when none would (the API's null).
	LiquidationPrice decimal.Decimal `json:"liquidationPrice"`
	MarginRatio      decimal.Decimal `json:"marginRatio"`
	ADLRank          int             `json:"adlRank"` // 1 to 5; 5 is first in line
}

// Side is the position's direction: Buy for a long, Sell for a short, ""
// when flat.
func (p *Position) Side() Side {
	switch p.Size.Sign() {
	case 1:
		return Buy
	case -1:
		return Sell
	}
	return ""
}

// OrderResult is the answer to placing, amending or cancelling an order:
// the order as it stands after the command, and the fills it made as the
// taker in that command.
type OrderResult struct {
	OrderID       OrderID     `json:"orderId"`
	ClientOrderID string      `json:"clientOrderId"`
	Symbol        string      `json:"symbol"`
	Side          Side        `json:"side"`
	Status        OrderStatus `json:"status"`
	// Price is the limit (or a market order's protection) price; zero
	// for a market order without one.
	Price decimal.Decimal `json:"price"`
	// Quantity is the order's total; ExecutedQty what filled: in this
	// command for a place, in total for an amend or a cancel.
	Quantity    decimal.Decimal `json:"quantity"`
	ExecutedQty decimal.Decimal `json:"executedQty"`
	// AvgPrice is the average price of ExecutedQty; zero without fills.
	AvgPrice     decimal.Decimal `json:"avgPrice"`
	CancelReason CancelReason    `json:"cancelReason"` // with StatusCancelled
	Fills        []OrderFill     `json:"fills"`
	Seq          uint64          `json:"seq"` // the command's journal sequence number
}

// OrderFill is one fill of an order as the taker.
type OrderFill struct {
	Price        decimal.Decimal `json:"price"`
	Qty          decimal.Decimal `json:"qty"`
	Fee          decimal.Decimal `json:"fee"` // USDT; negative is a rebate
	MakerOrderID OrderID         `json:"makerOrderId"`
}

// Order is one of the account's orders, open or recently ended.
type Order struct {
	OrderID             OrderID     `json:"orderId"`
	ClientOrderID       string      `json:"clientOrderId"`
	Symbol              string      `json:"symbol"`
	Side                Side        `json:"side"`
	Type                OrderType   `json:"type"`
	TimeInForce         TimeInForce `json:"timeInForce"`
	ReduceOnly          bool        `json:"reduceOnly"`
	SelfTradePrevention STP         `json:"selfTradePrevention"`
	// Price is the limit price; a market order's protection price, zero
	// if none.
	Price        decimal.Decimal `json:"price"`
	OrigQty      decimal.Decimal `json:"origQty"`
	ExecutedQty  decimal.Decimal `json:"executedQty"`
	CumQuote     decimal.Decimal `json:"cumQuote"`
	AvgPrice     decimal.Decimal `json:"avgPrice"`
	Status       OrderStatus     `json:"status"`
	CancelReason CancelReason    `json:"cancelReason"`
	TriggerType  Trigger         `json:"triggerType"` // "" unless conditional
	TriggerBy    TriggerBy       `json:"triggerBy"`
	StopPrice    decimal.Decimal `json:"stopPrice"` // the trigger price; zero if none
	Triggered    bool            `json:"triggered"`
	TriggerTime  Millis          `json:"triggerTime"`
	Liquidation  bool            `json:"liquidation"` // placed by the engine to close a liquidated position
	Time         Millis          `json:"time"`
	UpdateTime   Millis          `json:"updateTime"`
}

// Fill is one fill of the account: a trade of one of its orders, or a
// position closed off the book by liquidation or auto-deleveraging.
type Fill struct {
	TradeID  int64           `json:"tradeId"` // 0 off the book
	OrderID  OrderID         `json:"orderId"` // 0 off the book
	Symbol   string          `json:"symbol"`
	Side     Side            `json:"side"`
	Price    decimal.Decimal `json:"price"`
	Qty      decimal.Decimal `json:"qty"`
	QuoteQty decimal.Decimal `json:"quoteQty"`
	Fee      decimal.Decimal `json:"fee"` // USDT; negative is a rebate
	Maker    bool            `json:"maker"`
	Cause    FillCause       `json:"cause"`
	Time     Millis          `json:"time"`
}

// CancelAllResult lists the orders a CancelAll ended.
type CancelAllResult struct {
	Symbol    string    `json:"symbol"`
	Cancelled []OrderID `json:"cancelled"`
	Seq       uint64    `json:"seq"`
}

// Settings are the account's leverage and margin mode in a market.
type Settings struct {
	Symbol     string     `json:"symbol"`
	Leverage   int        `json:"leverage"`
	MarginMode MarginMode `json:"marginMode"`
}

// IsolatedMarginResult is an isolated position's margin and the wallet
// after a transfer between them.
type IsolatedMarginResult struct {
	Symbol         string          `json:"symbol"`
	IsolatedMargin decimal.Decimal `json:"isolatedMargin"`
	Wallet         decimal.Decimal `json:"wallet"`
}

// NewAccount is an account the admin created, with its credentials (the
// server does not write them anywhere: keep them).
type NewAccount struct {
	Account   AccountID       `json:"account"`
	APIKey    string          `json:"apiKey"`
	APISecret string          `json:"apiSecret"`
	Wallet    decimal.Decimal `json:"wallet"`
}

// Balance is an account's wallet after a deposit or a withdrawal.
type Balance struct {
	Account AccountID       `json:"account"`
	Wallet  decimal.Decimal `json:"wallet"`
	Seq     uint64          `json:"seq"`
}

// IndexResult is the answer to SetIndexPrice.
type IndexResult struct {
	Symbol       string          `json:"symbol"`
	IndexPrice   decimal.Decimal `json:"indexPrice"`
	Liquidations int             `json:"liquidations"` // positions the new price liquidated
	Seq          uint64          `json:"seq"`
}
