package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/paperperps/exchange/engine"
)

// Keys derives every API credential from one master secret, kept in the
// data directory (master.key, mode 0600). An account's key and secret are
// HMACs of its id under the master, so nothing per account is stored: an
// account created by a journaled command has its credentials the moment
// the command is durable, a crash cannot separate the two, and a restart
// needs no key table. The price is that credentials cannot be rotated one
// by one (a new master.key rotates them all).
type Keys struct {
	master [32]byte
	// parsed holds the principals of the keys that parsed, so that a
	// request does not pay two HMACs to tell its key: a key is a function
	// of the master, and only the master's holder can make one that
	// parses, so there are no more of them than keys handed out.
	parsed sync.Map // API key → principal
}

// Credentials are what a client signs requests with.
type Credentials struct {
	APIKey string `json:"apiKey"`
	Secret string `json:"apiSecret"`
}

const (
	masterKeyFile = "master.key"
	adminKeyID    = "admin"
	keyPrefix     = "pp"
	tagBytes      = 12 // of the key's HMAC tag: 96 bits against guessing
)

// LoadOrCreateKeys reads dir/master.key, creating it with fresh random
// bytes when absent (created reports that).
func LoadOrCreateKeys(dir string) (k *Keys, created bool, err error) {
	path := filepath.Join(dir, masterKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var m [32]byte
		if _, err := rand.Read(m[:]); err != nil {
			return nil, false, err
		}
		if err := writeFileAtomic(path, []byte(hex.EncodeToString(m[:])+"\n"), 0o600); err != nil {
			return nil, false, err
		}
		return &Keys{master: m}, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != 32 {
		return nil, false, fmt.Errorf("server: %s: want 64 hex digits", path)
	}
	k = &Keys{}
	copy(k.master[:], raw)
	return k, false, nil
}

// NewKeys is Keys over a given master secret (tests).
func NewKeys(master [32]byte) *Keys { return &Keys{master: master} }

func (k *Keys) mac(purpose, id string) []byte {
	h := hmac.New(sha256.New, k.master[:])
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return h.Sum(nil)
}

func (k *Keys) credentials(id string) Credentials {
	return Credentials{
		APIKey: keyPrefix + id + "-" + hex.EncodeToString(k.mac("api-key", id)[:tagBytes]),
		Secret: hex.EncodeToString(k.mac("api-secret", id)),
	}
}

// Account returns account a's credentials.
func (k *Keys) Account(a engine.AccountID) Credentials {
	return k.credentials(strconv.FormatUint(uint64(a), 10))
}

// Admin returns the admin credentials.
func (k *Keys) Admin() Credentials { return k.credentials(adminKeyID) }

// principal is who a valid API key names.
type principal struct {
	admin   bool
	account engine.AccountID
	secret  []byte
}

// parse checks an API key ("pp<account id or admin>-<tag>") and returns
// whom it names and the secret its requests are signed with. The tag is
// compared in constant time; whether the account exists is the caller's
// question.
func (k *Keys) parse(apiKey string) (principal, bool) {
	if p, ok := k.parsed.Load(apiKey); ok {
		return p.(principal), true
	}
	p, ok := k.parseKey(apiKey)
	if ok {
		k.parsed.Store(apiKey, p)
	}
	return p, ok
}

func (k *Keys) parseKey(apiKey string) (principal, bool) {
	rest, ok := strings.CutPrefix(apiKey, keyPrefix)
	if !ok {
		return principal{}, false
	}
	id, tag, ok := strings.Cut(rest, "-")
	if !ok || len(tag) != 2*tagBytes || len(id) == 0 || len(id) > 10 {
		return principal{}, false
	}
	var p principal
	if id == adminKeyID {
		p.admin = true
	} else {
		// Canonical decimal only: "007" would name account 7 with another tag.
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != id {
			return principal{}, false
		}
		p.account = engine.AccountID(n)
	}
	want := hex.EncodeToString(k.mac("api-key", id)[:tagBytes])
	if subtle.ConstantTimeCompare([]byte(tag), []byte(want)) != 1 {
		return principal{}, false
	}
	p.secret = []byte(hex.EncodeToString(k.mac("api-secret", id)))
	return p, true
}

// SignRequest is the request signature: hex HMAC-SHA256, keyed with the
// secret (its hex text, as the client holds it), of
//
//	timestamp "\n" METHOD "\n" path "\n" raw query "\n" body
//
// The newlines keep the fields apart: no path can pass for a query. The
// timestamp is the client's clock in Unix milliseconds, as sent in the
// PP-TIMESTAMP header.
func SignRequest(secret, timestamp, method, path, rawQuery string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	for _, s := range []string{timestamp, method, path, rawQuery} {
		h.Write([]byte(s))
		h.Write([]byte{'\n'})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// verifySignature compares sig with the expected one in constant time.
func verifySignature(secret []byte, sig, timestamp, method, path, rawQuery string, body []byte) bool {
	want := SignRequest(string(secret), timestamp, method, path, rawQuery, body)
	return subtle.ConstantTimeCompare([]byte(sig), []byte(want)) == 1
}

// writeFileAtomic writes data to path through a synced temporary file and
// a rename, so a crash leaves the old file or the new one, never half.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
