package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// APIError is a request the server refused: its HTTP status and the
// stable code and human message of the API's JSON error body (see the
// error codes in docs/API.md). Check it with errors.Is against the
// sentinels below, or errors.As to read the code:
//
//	if errors.Is(err, client.ErrPostOnlyWouldTake) { ... }
//
// Errors that never reached the server or got no answer (a refused
// connection, a cancelled ctx) are not APIErrors: they come back wrapped,
// as the transport reported them, so errors.Is(err, context.Canceled)
// works.
type APIError struct {
	Status  int    // HTTP status
	Code    string // the API's code, e.g. "insufficient-margin"; "" if the body was not the API's JSON
	Message string // for people; may change between versions
	// RetryAfter is the server's Retry-After header (rate limits), 0 if
	// none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	return fmt.Sprintf("client: %s (HTTP %d): %s", code, e.Status, e.Message)
}

// Sentinels for the refusals a bot handles differently. Several API codes
// map to one sentinel; APIError.Code keeps the exact one.
var (
	// ErrInsufficientMargin: the order, withdrawal, leverage change or
	// margin transfer needs more free collateral than the account has
	// (insufficient-margin). It also matches insufficient-balance, a
	// withdrawal larger than the wallet: both say "not enough money", and
	// a withdrawal beyond the wallet is beyond the free collateral too.
	ErrInsufficientMargin = errors.New("client: insufficient margin")
	// ErrReduceOnlyRejected: a reduce-only order without a position
	// (reduce-only-no-position) or on the side that would grow it
	// (reduce-only-would-increase).
	ErrReduceOnlyRejected = errors.New("client: reduce-only order rejected")
	// ErrPostOnlyWouldTake: a post-only order or amend would have traded.
	ErrPostOnlyWouldTake = errors.New("client: post-only order would take")
	// ErrUnknownOrder: no such open order of this account (cancel,
	// amend), or no such open or recent order (query).
	ErrUnknownOrder = errors.New("client: unknown order")
	// ErrRateLimited: the key's or the address's rate limit (HTTP 429);
	// APIError.RetryAfter says when to come back.
	ErrRateLimited = errors.New("client: rate limited")
	// ErrUnauthorized: a missing, unknown or wrong key (unauthorized), a
	// bad signature (invalid-signature, usually the wrong secret), a
	// timestamp outside the receive window (stale-timestamp: see
	// Client.SyncClock), or a key not allowed on the endpoint (forbidden).
	// Any 401 or 403 matches.
	ErrUnauthorized = errors.New("client: unauthorized")
	// ErrInvalidRequest: any other refusal of the request itself (HTTP 400
	// or 413): a malformed or out-of-range parameter, an off-grid price, a
	// price outside the band, below the minimum quantity, and the
	// engine's other refusals. The code says which.
	ErrInvalidRequest = errors.New("client: invalid request")
	// ErrOutcomeUnknown: the server did not get the command's durable
	// result in time (504 timeout). The command may still take effect:
	// look the order up by its client order id before placing it again.
	ErrOutcomeUnknown = errors.New("client: outcome unknown")
)

// ErrNoCredentials is returned, before anything is sent, by calls that
// need a key on a Client built without WithCredentials.
var ErrNoCredentials = errors.New("client: no API key and secret (WithCredentials)")

// sentinel is the sentinel an error's code and status map to, nil if none.
func (e *APIError) sentinel() error {
	switch e.Code {
	case "insufficient-margin", "insufficient-balance":
		return ErrInsufficientMargin
	case "reduce-only-no-position", "reduce-only-would-increase":
		return ErrReduceOnlyRejected
	case "post-only-would-take":
		return ErrPostOnlyWouldTake
	case "unknown-order":
		return ErrUnknownOrder
	case "rate-limited":
		return ErrRateLimited
	case "unauthorized", "invalid-signature", "stale-timestamp", "forbidden":
		return ErrUnauthorized
	case "timeout":
		return ErrOutcomeUnknown
	}
	// By status: a code this SDK does not know (a newer server), or an
	// answer that was not the API's JSON (a proxy in between).
	switch e.Status {
	case http.StatusTooManyRequests:
		return ErrRateLimited
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return ErrInvalidRequest
	case http.StatusGatewayTimeout:
		return ErrOutcomeUnknown
	}
	return nil
}

// Is makes errors.Is match the sentinel of e's code (or, for codes this
// SDK does not know, of its status).
func (e *APIError) Is(target error) bool {
	s := e.sentinel()
	return s != nil && s == target
}
