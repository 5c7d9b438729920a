package client

import (
	"context"

	"github.com/shopspring/decimal"
)

// The account endpoints: they need an account's key (WithCredentials) and
// act on its own account.

// Account is the account's money and positions.
func (c *Client) Account(ctx context.Context) (Account, error) {
	var out Account
	return out, c.get(ctx, signed, "/v1/account", nil, &out)
}

// Positions lists the account's open positions, in symbol's market only
// unless symbol is "".
func (c *Client) Positions(ctx context.Context, symbol string) ([]Position, error) {
	var out []Position
	return out, c.get(ctx, signed, "/v1/positions", query("symbol", symbol), &out)
}

// Fills lists the account's latest fills, newest first, in symbol's
// market only unless symbol is "" (limit 1 to 1000; 0: 100).
func (c *Client) Fills(ctx context.Context, symbol string, limit int) ([]Fill, error) {
	var out []Fill
	return out, c.get(ctx, signed, "/v1/fills", query("symbol", symbol, "limit", limitParam(limit)), &out)
}

// SetLeverage sets the account's leverage in a market (1 to the first
// bracket's maximum).
func (c *Client) SetLeverage(ctx context.Context, symbol string, leverage int) (Settings, error) {
	body := struct {
		Symbol   string `json:"symbol"`
		Leverage int    `json:"leverage"`
	}{symbol, leverage}
	var out Settings
	return out, c.post(ctx, "/v1/leverage", body, &out)
}

// SetMarginMode sets cross or isolated margin in a market; refused
// (position-or-orders-open) while the account has a position or orders
// there.
func (c *Client) SetMarginMode(ctx context.Context, symbol string, mode MarginMode) (Settings, error) {
	body := struct {
		Symbol     string     `json:"symbol"`
		MarginMode MarginMode `json:"marginMode"`
	}{symbol, mode}
	var out Settings
	return out, c.post(ctx, "/v1/margin-mode", body, &out)
}

// AdjustIsolatedMargin moves USDT from the wallet into an isolated
// position's margin (amount positive) or back (negative).
func (c *Client) AdjustIsolatedMargin(ctx context.Context, symbol string, amount decimal.Decimal) (IsolatedMarginResult, error) {
	body := struct {
		Symbol string `json:"symbol"`
		Amount string `json:"amount"`
	}{symbol, amount.String()}
	var out IsolatedMarginResult
	return out, c.post(ctx, "/v1/isolated-margin", body, &out)
}
