package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/wal"
	"golang.org/x/time/rate"
)

// APIConfig configures the HTTP API.
type APIConfig struct {
	// RecvWindow is how far a signed request's timestamp may be from the
	// server's clock, either way. Default 5s.
	RecvWindow Duration `json:"recvWindow"`
	// RateLimit is the requests per second each API key may make (and
	// each client address on the public endpoints), with bursts of
	// RateBurst. Defaults 1,000 and 2,000: bots on a paper exchange are
	// benchmarked, so the limit guards the server, not a matching quota.
	RateLimit float64 `json:"rateLimit"`
	RateBurst int     `json:"rateBurst"`
	// MaxBody bounds a request body in bytes. Default 64 KiB.
	MaxBody int64 `json:"maxBody"`
	// Timeout bounds how long a request waits for its durable result.
	// Default 10s.
	Timeout Duration `json:"timeout"`
}

// DefaultAPIConfig returns the defaults.
func DefaultAPIConfig() APIConfig {
	return APIConfig{RecvWindow: Duration(5 * time.Second), RateLimit: 1000, RateBurst: 2000, MaxBody: 64 << 10,
		Timeout: Duration(10 * time.Second)}
}

// Server is the HTTP API over a Submitter. Reads of the engine's state go
// through Submitter.Read (consistent and durable); history comes from the
// read models fed by OnCommit.
type Server struct {
	cfg      APIConfig
	sub      Submitter
	markets  []engine.Market
	keys     *Keys
	log      *slog.Logger
	md       *MarketData
	hist     *History
	hub      *Hub
	metrics  *Metrics
	accounts accountSet
	limits   limiters // per API key, after authentication
	addrs    limiters // per client address: public calls and failed authentication
	now      func() time.Time
	feed     FeedControl
}

// FeedControl is the admin's handle on the price feed.
type FeedControl interface {
	Pause()
	Resume()
	Paused() bool
}

// accountSet knows which account ids are trading accounts: created by
// CmdCreateAccount (the insurance fund's system account is not one and
// has no usable key).
type accountSet struct {
	mu    sync.RWMutex
	valid []bool
}

func (s *accountSet) add(a engine.AccountID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for int(a) >= len(s.valid) {
		s.valid = append(s.valid, false)
	}
	s.valid[a] = true
}

func (s *accountSet) has(a engine.AccountID) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int(a) < len(s.valid) && s.valid[a]
}

// limiters holds one token bucket per API key or client address.
type limiters struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

// maxLimiters bounds a table: past it, its buckets are dropped wholesale
// (their clients start with a full burst again), so a flood of addresses
// cannot grow memory without limit. Keys and addresses have separate
// tables: a flood of addresses never resets the keys' buckets (and only
// authenticated keys, bounded by the accounts, enter theirs).
const maxLimiters = 100_000

func (l *limiters) allow(key string) bool {
	l.mu.Lock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxLimiters {
			clear(l.m)
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}

// NewServer builds the API. The caller feeds OnCommit (Server.OnCommit)
// from the sequencer and tells it the accounts that exist at start.
func NewServer(cfg APIConfig, sub Submitter, markets []engine.Market, keys *Keys, feed FeedControl, metrics *Metrics, log *slog.Logger) *Server {
	md := NewMarketData(markets)
	return &Server{hub: NewHub(markets, md), cfg: cfg, sub: sub, markets: markets, keys: keys, log: log, feed: feed, metrics: metrics,
		md: md, hist: NewHistory(markets, 500),
		limits: limiters{rate: rate.Limit(cfg.RateLimit), burst: cfg.RateBurst, m: map[string]*rate.Limiter{}},
		addrs:  limiters{rate: rate.Limit(cfg.RateLimit), burst: cfg.RateBurst, m: map[string]*rate.Limiter{}},
		now:    time.Now}
}

// OnCommit feeds the read models with a durable group (wal's OnCommit).
func (s *Server) OnCommit(cmds []engine.Command, results []wal.Result) {
	for i := range results {
		for _, ev := range results[i].Events {
			if ev.Kind == engine.EventAccountCreated {
				s.accounts.add(ev.Account)
			}
		}
	}
	s.md.Apply(cmds, results)
	s.hist.Apply(cmds, results)
	s.hub.Apply(cmds, results)
	if s.metrics != nil {
		s.metrics.observeGroup(cmds, results)
	}
}

// load takes what the read models need from the engine at start: the
// trading accounts and the market data the events would have brought.
func (s *Server) load(e *engine.Engine) {
	s.md.Seed(e)
	s.hub.Seed(e)
	fund, hasFund := e.FundAccount()
	for a := range e.NumAccounts() {
		if id := engine.AccountID(a); !hasFund || id != fund {
			s.accounts.add(id)
		}
	}
}

// submit sends cmd and returns its events, or the engine's refusal as an
// APIError.
func (s *Server) submit(ctx context.Context, cmd engine.Command) ([]engine.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(s.cfg.Timeout))
	defer cancel()
	start := time.Now()
	res := s.sub.Submit(ctx, cmd)
	if err := s.resultErr(res.Err); err != nil {
		return nil, err
	}
	if s.metrics != nil {
		s.metrics.ackLatency.Observe(time.Since(start).Seconds())
	}
	for _, ev := range res.Events {
		if ev.Kind == engine.EventRejected {
			return res.Events, refusal(ev.Reason)
		}
	}
	return res.Events, nil
}

func (s *Server) resultErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wal.ErrStopped):
		s.log.Error("sequencer stopped", "err", err)
		return apiErr(http.StatusServiceUnavailable, codeUnavailable, "the exchange has stopped; it must restart")
	case errors.Is(err, context.DeadlineExceeded):
		return apiErr(http.StatusGatewayTimeout, codeTimeout, "no result before the deadline; the command may still take effect")
	case errors.Is(err, context.Canceled):
		return apiErr(499, codeTimeout, "the request was cancelled")
	}
	return err
}

// read runs fn on the engine's thread (see Submitter.Read).
func (s *Server) read(ctx context.Context, fn func(*engine.Engine)) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(s.cfg.Timeout))
	defer cancel()
	return s.resultErr(s.sub.Read(ctx, fn))
}

// request is what a handler gets: the caller (for private endpoints) and
// the body, read and size-checked.
type request struct {
	*http.Request
	who  principal
	body []byte
}

type handler func(w http.ResponseWriter, r *request) error

// auth levels of an endpoint.
const (
	public = iota
	account
	admin
)

// route wraps a handler with the checks every request passes: the body
// limit, authentication and signature (private and admin), rate limits.
func (s *Server) route(level int, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, hr *http.Request) {
		r := &request{Request: hr}
		err := s.prepare(w, r, level)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			if s.metrics != nil {
				var ae *APIError
				if errors.As(err, &ae) {
					s.metrics.refused.WithLabelValues(ae.Code).Inc()
				}
			}
			writeError(w, err)
		}
	}
}

func (s *Server) prepare(w http.ResponseWriter, r *request, level int) error {
	if r.ContentLength > s.cfg.MaxBody {
		return s.tooLarge() // declared: refused before it is read
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return s.tooLarge()
		}
		// The error names the connection's addresses: not the client's
		// business, and no help to it.
		return apiErr(http.StatusBadRequest, codeMalformed, "the body could not be read whole (cut short, or too slow)")
	}
	r.body = body
	host := remoteHost(r.Request)
	if level == public {
		if !s.addrs.allow(host) {
			return apiErr(http.StatusTooManyRequests, codeRateLimited, "rate limit: %g requests per second", s.cfg.RateLimit)
		}
	} else {
		who, err := s.authenticate(r, level)
		if err != nil {
			// Failed attempts count against the address, so guessing keys
			// or signatures is as slow as the rate limit.
			if !s.addrs.allow(host) {
				return apiErr(http.StatusTooManyRequests, codeRateLimited, "rate limit: %g requests per second", s.cfg.RateLimit)
			}
			return err
		}
		if !s.limits.allow(r.Header.Get("PP-API-KEY")) {
			return apiErr(http.StatusTooManyRequests, codeRateLimited, "rate limit: %g requests per second", s.cfg.RateLimit)
		}
		r.who = who
	}
	// A body endpoint takes no query: a parameter there would be ignored,
	// and an order must not silently differ from what was sent. (Checked
	// with the request itself, after the key: docs/API.md, "Order of
	// checks".)
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && r.URL.RawQuery != "" {
		return apiErr(http.StatusBadRequest, codeUnknownField, "%s %s takes its parameters in the JSON body, not the query", r.Method, r.URL.Path)
	}
	return nil
}

func (s *Server) tooLarge() error {
	return apiErr(http.StatusRequestEntityTooLarge, codeTooLarge, "the body exceeds %d bytes", s.cfg.MaxBody)
}

// remoteHost is the address a request came from, without its port: the
// key of the per-address rate limit (with the port, each connection would
// have a limit of its own).
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate checks a private request's key, timestamp and signature.
func (s *Server) authenticate(r *request, level int) (principal, error) {
	key := r.Header.Get("PP-API-KEY")
	if key == "" {
		return principal{}, apiErr(http.StatusUnauthorized, codeUnauthorized, "the PP-API-KEY header is required")
	}
	who, ok := s.keys.parse(key)
	if !ok {
		return principal{}, apiErr(http.StatusUnauthorized, codeUnauthorized, "unknown API key")
	}
	switch {
	case level == admin && !who.admin:
		return principal{}, apiErr(http.StatusForbidden, codeForbidden, "this endpoint needs the admin key")
	case level == account && who.admin:
		return principal{}, apiErr(http.StatusForbidden, codeForbidden, "the admin key has no account; use an account's key")
	case level == account && !s.accounts.has(who.account):
		return principal{}, apiErr(http.StatusUnauthorized, codeUnauthorized, "no such account")
	}
	ts := r.Header.Get("PP-TIMESTAMP")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return principal{}, apiErr(http.StatusUnauthorized, codeStaleTimestamp, "PP-TIMESTAMP must be Unix milliseconds")
	}
	if d := s.now().UnixMilli() - ms; d > time.Duration(s.cfg.RecvWindow).Milliseconds() || -d > time.Duration(s.cfg.RecvWindow).Milliseconds() {
		return principal{}, apiErr(http.StatusUnauthorized, codeStaleTimestamp, "timestamp %d is %d ms from the server's clock; the window is %s",
			ms, d, time.Duration(s.cfg.RecvWindow))
	}
	// The path as sent (escaped): a decoded "%0A" could otherwise pass
	// for the separator between the signed fields.
	sig := r.Header.Get("PP-SIGNATURE")
	if !verifySignature(who.secret, sig, ts, r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.body) {
		return principal{}, apiErr(http.StatusUnauthorized, codeBadSignature, "the signature does not match the request")
	}
	return who, nil
}
