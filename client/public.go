package client

import (
	"context"
	"strconv"
	"time"
)

// The public market data: no key needed. A list's limit of 0 asks for the
// server's default.

// Time is the server's clock.
func (c *Client) Time(ctx context.Context) (time.Time, error) {
	var out struct {
		ServerTime Millis `json:"serverTime"`
	}
	if err := c.get(ctx, public, "/v1/time", nil, &out); err != nil {
		return time.Time{}, err
	}
	return out.ServerTime.Time(), nil
}

// Markets lists every market's specification.
func (c *Client) Markets(ctx context.Context) ([]MarketInfo, error) {
	var out []MarketInfo
	return out, c.get(ctx, public, "/v1/markets", nil, &out)
}

// Depth is a snapshot of a market's book, limit levels a side (1 to 1000;
// 0: 100).
func (c *Client) Depth(ctx context.Context, symbol string, limit int) (Depth, error) {
	var out Depth
	return out, c.get(ctx, public, "/v1/depth", query("symbol", symbol, "limit", limitParam(limit)), &out)
}

// Trades lists a market's latest trades, newest first (limit 1 to 1000;
// 0: 100).
func (c *Client) Trades(ctx context.Context, symbol string, limit int) ([]Trade, error) {
	var out []Trade
	return out, c.get(ctx, public, "/v1/trades", query("symbol", symbol, "limit", limitParam(limit)), &out)
}

// Klines lists a market's candles, oldest first. An interval without
// trades has no candle.
func (c *Client) Klines(ctx context.Context, symbol string, interval KlineInterval, q KlineQuery) ([]Kline, error) {
	var out []Kline
	return out, c.get(ctx, public, "/v1/klines", query("symbol", symbol, "interval", string(interval),
		"startTime", millisParam(q.Start), "endTime", millisParam(q.End), "limit", limitParam(q.Limit)), &out)
}

func millisParam(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// Ticker is a market's 24-hour rolling statistics.
func (c *Client) Ticker(ctx context.Context, symbol string) (Ticker, error) {
	var out Ticker
	return out, c.get(ctx, public, "/v1/ticker", query("symbol", symbol), &out)
}

// Mark is a market's mark price, index price and funding.
func (c *Client) Mark(ctx context.Context, symbol string) (MarkInfo, error) {
	var out MarkInfo
	return out, c.get(ctx, public, "/v1/mark", query("symbol", symbol), &out)
}

// Liquidations lists a market's latest liquidations, newest first (limit
// 1 to 1000; 0: 100).
func (c *Client) Liquidations(ctx context.Context, symbol string, limit int) ([]Liquidation, error) {
	var out []Liquidation
	return out, c.get(ctx, public, "/v1/liquidations", query("symbol", symbol, "limit", limitParam(limit)), &out)
}

// InsuranceFund is the insurance fund's balance and bad debt.
func (c *Client) InsuranceFund(ctx context.Context) (InsuranceFund, error) {
	var out InsuranceFund
	return out, c.get(ctx, public, "/v1/insurance-fund", nil, &out)
}
