package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/paperperps/exchange/engine"
)

// APIError is what every refused request gets: a stable code (documented
// in docs/API.md; the engine's refusals use the engine's reason names) and
// a message for people, with the HTTP status that fits.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// The API's own codes (the engine's are its Reason names).
const (
	codeMalformed      = "malformed-request"  // not JSON, trailing data, wrong shape
	codeUnknownField   = "unknown-field"      // a JSON field or query parameter the endpoint does not take
	codeInvalidParam   = "invalid-parameter"  // a value of the wrong type, out of range or off its grid
	codeMissingParam   = "missing-parameter"  // a required field or parameter is absent
	codeTooLarge       = "body-too-large"     // the body exceeds the limit
	codeUnauthorized   = "unauthorized"       // no or unknown API key, or no such account
	codeBadSignature   = "invalid-signature"  // the signature does not match
	codeStaleTimestamp = "stale-timestamp"    // outside the receive window
	codeForbidden      = "forbidden"          // an admin call without the admin key
	codeNotFound       = "not-found"          // no such endpoint
	codeMethod         = "method-not-allowed" // the endpoint exists, not with this method
	codeRateLimited    = "rate-limited"       // the key's (or address's) rate limit
	codeUnavailable    = "unavailable"        // the sequencer has stopped; retry after a restart
	codeTimeout        = "timeout"            // the request's deadline passed before its result
	codeInternal       = "internal"           // a bug: reported, never expected
)

// reasonStatus is the HTTP status of an engine refusal.
func reasonStatus(r engine.Reason) int {
	switch r {
	case engine.ReasonUnknownOrder:
		return http.StatusNotFound
	case engine.ReasonTooManyAccounts:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func refusal(r engine.Reason) *APIError {
	return &APIError{Status: reasonStatus(r), Code: r.String(), Message: "refused by the engine: " + r.String()}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r, ok := v.(OrderResult); ok {
		// The answer to every order: written by hand, as over the
		// WebSocket (encode.go), without encoding/json's reflection and
		// its second pass over what MarshalJSON returns. The same bytes
		// as the encoder's, newline included.
		if b, ok := r.appendJSON(make([]byte, 0, 320)); ok {
			_, _ = w.Write(append(b, '\n'))
			return
		}
	}
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client may be gone; nothing to do about it
}

// writeError writes err as an APIError; any other error is a bug and is
// answered as internal without its text.
func writeError(w http.ResponseWriter, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = apiErr(http.StatusInternalServerError, codeInternal, "internal error")
	}
	if ae.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, ae.Status, ae)
}
