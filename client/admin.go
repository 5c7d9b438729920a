package client

import (
	"context"

	"github.com/shopspring/decimal"
)

// The admin endpoints need the admin key (ppadmin-..., in the data
// directory's credentials.json) as the Client's credentials.

// CreateAccount creates an account and credits it with deposit USDT
// (zero: none). Should the deposit be refused, the account exists, empty,
// and the error says why.
func (c *Client) CreateAccount(ctx context.Context, deposit decimal.Decimal) (NewAccount, error) {
	body := struct {
		Deposit string `json:"deposit,omitempty"`
	}{}
	if !deposit.IsZero() {
		body.Deposit = deposit.String()
	}
	var out NewAccount
	return out, c.post(ctx, "/v1/admin/accounts", body, &out)
}

type moneyBody struct {
	Account AccountID `json:"account"`
	Amount  string    `json:"amount"`
}

// Deposit credits an account's wallet with amount USDT.
func (c *Client) Deposit(ctx context.Context, account AccountID, amount decimal.Decimal) (Balance, error) {
	var out Balance
	return out, c.post(ctx, "/v1/admin/deposit", moneyBody{account, amount.String()}, &out)
}

// Withdraw debits an account's wallet by amount USDT: refused with
// insufficient-balance beyond the wallet and insufficient-margin beyond
// the free collateral (both match ErrInsufficientMargin).
func (c *Client) Withdraw(ctx context.Context, account AccountID, amount decimal.Decimal) (Balance, error) {
	var out Balance
	return out, c.post(ctx, "/v1/admin/withdraw", moneyBody{account, amount.String()}, &out)
}

// SetIndexPrice sets a market's index price as the feed would; positions
// it puts under water are liquidated by the same command. A running feed
// overwrites it at its next tick: PauseFeed first to hold a price.
func (c *Client) SetIndexPrice(ctx context.Context, symbol string, price decimal.Decimal) (IndexResult, error) {
	body := struct {
		Symbol string `json:"symbol"`
		Price  string `json:"price"`
	}{symbol, price.String()}
	var out IndexResult
	return out, c.post(ctx, "/v1/admin/index", body, &out)
}

// PauseFeed stops the price feed's index prices (clock ticks go on) and
// returns whether the feed is paused now.
func (c *Client) PauseFeed(ctx context.Context) (bool, error) { return c.setFeed(ctx, true) }

// ResumeFeed resumes the price feed and returns whether the feed is
// paused now.
func (c *Client) ResumeFeed(ctx context.Context) (bool, error) { return c.setFeed(ctx, false) }

func (c *Client) setFeed(ctx context.Context, paused bool) (bool, error) {
	body := struct {
		Paused bool `json:"paused"`
	}{paused}
	var out struct {
		Paused bool `json:"paused"`
	}
	err := c.post(ctx, "/v1/admin/feed", body, &out)
	return out.Paused, err
}
