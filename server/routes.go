package server

import (
	"net/http"
	"path"

	"github.com/paperperps/exchange/engine"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler is the HTTP API: /v1 (public, private and admin endpoints; see
// docs/API.md), /healthz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	pub := func(pattern string, h handler) { mux.Handle(pattern, s.route(public, h)) }
	acct := func(pattern string, h handler) { mux.Handle(pattern, s.route(account, h)) }
	adm := func(pattern string, h handler) { mux.Handle(pattern, s.route(admin, h)) }

	pub("GET /v1/time", s.getTime)
	pub("GET /v1/markets", s.getMarkets)
	pub("GET /v1/depth", s.getDepth)
	pub("GET /v1/mark", s.getMark)
	pub("GET /v1/trades", s.getTrades)
	pub("GET /v1/klines", s.getKlines)
	pub("GET /v1/ticker", s.getTicker)
	pub("GET /v1/liquidations", s.getLiquidations)
	pub("GET /v1/insurance-fund", s.getInsuranceFund)

	acct("GET /v1/account", s.getAccount)
	acct("GET /v1/positions", s.getPositions)
	acct("POST /v1/order", s.postOrder)
	acct("PUT /v1/order", s.putOrder)
	acct("DELETE /v1/order", s.deleteOrder)
	acct("GET /v1/order", s.getOrder)
	acct("DELETE /v1/orders", s.deleteOrders)
	acct("GET /v1/orders/open", s.getOpenOrders)
	acct("GET /v1/orders/history", s.getOrderHistory)
	acct("GET /v1/fills", s.getFills)
	acct("POST /v1/leverage", s.postLeverage)
	acct("POST /v1/margin-mode", s.postMarginMode)
	acct("POST /v1/isolated-margin", s.postIsolatedMargin)

	adm("POST /v1/admin/accounts", s.postAccount)
	adm("POST /v1/admin/deposit", s.moneyCommand(engine.CmdDeposit))
	adm("POST /v1/admin/withdraw", s.moneyCommand(engine.CmdWithdraw))
	adm("POST /v1/admin/index", s.postIndex)
	adm("POST /v1/admin/feed", s.postFeed)

	mux.HandleFunc("GET /v1/ws", s.serveWS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.read(r.Context(), func(*engine.Engine) {}); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if s.metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	}
	// Everything else: a JSON error with its code rather than the
	// multiplexer's plain text.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The multiplexer would redirect an unclean path ("/v1//depth",
		// "/v1/depth/") with an HTML body; an API answers JSON.
		if r.URL.Path != path.Clean(r.URL.Path) {
			writeError(w, apiErr(http.StatusNotFound, codeNotFound, "no endpoint %s", r.URL.Path))
			return
		}
		h, pattern := mux.Handler(r)
		if pattern == "" {
			// mux.Handler answers 405 for a known path with another method.
			rec := &statusProbe{}
			h.ServeHTTP(rec, r)
			if rec.status == http.StatusMethodNotAllowed {
				writeError(w, apiErr(http.StatusMethodNotAllowed, codeMethod, "%s is not allowed on %s", r.Method, r.URL.Path))
				return
			}
			writeError(w, apiErr(http.StatusNotFound, codeNotFound, "no endpoint %s", r.URL.Path))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// statusProbe records the status a handler would write, and discards the
// rest.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }
