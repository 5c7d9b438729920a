// Package client is the Go SDK for the exchange's REST API (docs/API.md)
// and WebSocket API (docs/WEBSOCKET.md): market data, trading, account
// settings and the admin calls, with typed answers, decimal numbers and
// errors that errors.Is can tell apart; streams on channels that repair
// themselves; local order books.
//
// A bot in a few lines:
//
//	c, err := client.New("http://127.0.0.1:8080", client.WithCredentials(key, secret))
//	if err != nil { ... }
//	if _, err := c.SyncClock(ctx); err != nil { ... } // requests carry a timestamp
//	res, err := c.PlaceOrder(ctx, client.Limit("BTCUSDT", client.Buy,
//		decimal.RequireFromString("99000"), decimal.RequireFromString("0.01")).PostOnly().ClientID("mm-1"))
//	switch {
//	case errors.Is(err, client.ErrPostOnlyWouldTake): // the book moved: requote
//	case errors.Is(err, client.ErrInsufficientMargin): // too big for the account
//	case err != nil: ...
//	}
//	fmt.Println(res.Status, res.OrderID)
//	_, err = c.CancelOrder(ctx, "BTCUSDT", client.ByClientID("mm-1"))
//
// # Clients
//
// New takes the exchange's base URL and options: WithCredentials (an
// account's key and secret for trading, the admin's for the admin calls;
// both in the data directory's credentials.json), WithHTTPClient,
// WithClockOffset, WithUserAgent and WithRetry. A Client has no package
// globals behind it and is safe for concurrent use: share one per key.
// Every call takes a context, which bounds and cancels it.
//
// Private requests are signed with the key's secret (see Sign) and carry
// the client's clock, which the server refuses outside its receive window
// (5 s by default): call SyncClock at start, or set WithClockOffset.
//
// # Numbers and enumerations
//
// Prices, quantities and amounts are decimal.Decimal
// (github.com/shopspring/decimal), sent as the API's decimal strings and
// never through a float. The server refuses a value off the market's tick
// or lot grid rather than rounding it; MarketInfo.RoundPrice and RoundQty
// round down to the grid. Enumerations (Side, OrderType, TimeInForce, STP,
// Trigger, TriggerBy, MarginMode, OrderStatus, KlineInterval, ...) are
// string types holding the API's lowercase names; a value a newer server
// sends decodes as itself, and Known tells whether this SDK has a constant
// for it.
//
// # Errors
//
// A refused request is an *APIError with the HTTP status and the API's
// code. Its Is method matches the sentinels ErrInsufficientMargin,
// ErrReduceOnlyRejected, ErrPostOnlyWouldTake, ErrUnknownOrder,
// ErrRateLimited, ErrUnauthorized, ErrInvalidRequest and
// ErrOutcomeUnknown; each sentinel's comment lists the codes it covers.
// Transport errors (a refused connection, a cancelled context) are
// returned wrapped, not as APIErrors.
//
// # Retries
//
// Nothing is retried by default. Orders and every other call that changes
// state are never retried: a repeated POST could trade twice, and only a
// client order id makes an order findable after a lost answer (look it up
// with Order and ByClientID). WithRetry retries reads (GET) on 429, 502,
// 503, 504 and transport errors, with exponential backoff that honours
// Retry-After.
//
// # Streams
//
// Client.Connect opens a Stream: one WebSocket for market streams (Trades,
// Marks, Tickers, Klines, Liquidations, each a channel), local order books
// (Book: a snapshot, then diffs; a gap or a reconnect takes a new
// snapshot), the account's user stream (User: orders, fills, positions,
// balances, funding, margin calls, liquidations, ADL) and pipelined order
// entry (PlaceOrder, CancelOrder, AmendOrder from any number of
// goroutines). When the connection drops, the Stream dials again with
// backoff, logs in, resubscribes and resumes the user stream after the
// last event it delivered (a UserReset says when it cannot). Read every
// channel you asked for: a Stream delivers in order and waits for a full
// channel, and the server cuts off a connection that falls behind (the
// Stream then reconnects and resumes).
package client
