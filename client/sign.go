package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Sign is the API's request signature: the lowercase hex HMAC-SHA256,
// keyed with the secret's hex text (its 64 characters as bytes, not the 32
// bytes they encode), of
//
//	timestamp "\n" METHOD "\n" path "\n" rawQuery "\n" body
//
// where path is the escaped path and rawQuery the query exactly as sent.
// The Client signs every private request itself; Sign is exported for
// requests made by other means (and a WebSocket login signs
// (timestamp, "GET", "/v1/ws", "", "login") with it).
func Sign(secret, timestamp, method, path, rawQuery string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	// One buffer for the header lines: four small writes into the HMAC
	// would cost as much again as the hashing on a short request.
	head := make([]byte, 0, len(timestamp)+len(method)+len(path)+len(rawQuery)+4)
	head = append(head, timestamp...)
	head = append(head, '\n')
	head = append(head, method...)
	head = append(head, '\n')
	head = append(head, path...)
	head = append(head, '\n')
	head = append(head, rawQuery...)
	head = append(head, '\n')
	mac.Write(head)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
