package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/client"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/paperperps/exchange/server"
	"github.com/shopspring/decimal"
)

// serverRun is a cascade run's exchange when it runs through the server
// (CascadeOptions.Server): `exchange serve` in this process on loopback,
// its journal on disk, driven by SDK clients only. The setup goes through
// the admin and account REST calls, the makers' and the ordinary traders'
// orders through their WebSocket streams, the index through the admin
// API; the figures come from the market streams (marks, trades,
// liquidations), the insurance fund's endpoint and, at the end, the
// server's metrics and its engine (read in process for the money checks).
//
// The server stamps commands with its own clock, so the steps are sent in
// real time and a run is not repeatable to the fill; the latency is what
// an SDK bot sees, from the moment its order was due to its answer.
type serverRun struct {
	x      *server.Exchange
	stop   context.CancelFunc
	served chan error
	tmp    string
	admin  *client.Client
	hc     *http.Client
	base   string
	accts  []serverAcct // by the run's own account ids
	feeds  *client.Stream
	begin  time.Time // the run's time 0, once the setup is done
	// inFlight bounds the ordinary traders' orders waiting for answers.
	inFlight chan struct{}
	hold     bool // drain(0) waits for the orders in flight
	// The run's orders: handed to sendServer, sent over a stream, and
	// dropped with a requote that came while the last was on its way;
	// settle checks that each was sent once or dropped.
	handed, sent, dropped int
	requoting             map[engine.AccountID]bool // a maker's requote is on its way
	wg                    sync.WaitGroup            // the orders in flight
	watch                 sync.WaitGroup            // the stream readers
	mu                    sync.Mutex                // the measurements the goroutines write
	setupErr              int
}

type serverAcct struct {
	id     client.AccountID
	rest   *client.Client
	stream *client.Stream // the makers' and the ordinary traders'
}

// openServer starts the exchange for r and connects its admin.
func (r *cascadeRun) openServer() error {
	dir := r.o.Dir
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "exchange-cascade-server-"); err != nil {
			return err
		}
	}
	s := &serverRun{tmp: dir, inFlight: make(chan struct{}, r.o.InFlight)}
	if r.o.Dir != "" {
		s.tmp = ""
	}
	r.srv = s
	cfg := server.DefaultConfig()
	cfg.Data, cfg.Listen, cfg.DemoAccounts = dir, "127.0.0.1:0", 0
	cfg.Feed.Mode, cfg.Makers.Enabled = "off", false
	cfg.API.RateLimit, cfg.API.RateBurst = 1e9, 1e9 // the load is the point
	if s.x, err = server.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop, s.served = stop, make(chan error, 1)
	go func() { s.served <- s.x.Run(ctx) }()
	s.base = "http://" + s.x.Addr()
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
	s.hc = &http.Client{Transport: t}
	if s.admin, err = apiAdmin(s.base, s.x.CredentialsFile); err != nil {
		return err
	}
	// The market streams need no account.
	public, err := client.New(s.base, client.WithHTTPClient(s.hc))
	if err != nil {
		return err
	}
	if s.feeds, err = public.Connect(context.Background()); err != nil {
		return err
	}
	return nil
}

func (s *serverRun) close() {
	s.wg.Wait()
	for _, a := range s.accts {
		if a.stream != nil {
			a.stream.Close()
		}
	}
	if s.feeds != nil {
		s.feeds.Close()
		s.watch.Wait()
	}
	if s.stop != nil {
		s.stop()
		<-s.served
	}
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}

const (
	// setupWorkers is how many REST calls the setup keeps going at once.
	setupWorkers = 64
	// serverMaxDeposit is the largest deposit the API takes at once.
	serverMaxDeposit = 1_000_000_000 * fixed.QuoteUnitsPerWhole
)

// sendServer runs a step's commands through the SDK. At setup (before
// the run's clock starts) it splits them into chains, each an account's
// creation and the commands after it (its settings and its opening trade,
// with the provider's order before it), and runs the chains side by side;
// a chain of its own runs first for anything before the first creation.
// In the run, it sends the index first, then the makers' requotes, and
// starts the ordinary traders' orders without waiting for them.
func (r *cascadeRun) sendServer(t time.Duration, cmds []engine.Command) error {
	s := r.srv
	if s.begin.IsZero() {
		var chains [][]engine.Command
		for i, c := range cmds {
			if c.Kind == engine.CmdCreateAccount || i == 0 {
				chains = append(chains, nil)
			}
			chains[len(chains)-1] = append(chains[len(chains)-1], c)
		}
		all := func(*engine.Command) bool { return true }
		if len(chains) > 0 && chains[0][0].Kind != engine.CmdCreateAccount {
			if err := r.chain(chains[0], all); err != nil {
				return err
			}
			chains = chains[1:]
		}
		// The accounts' slots first: the chains fill them in.
		for _, ch := range chains {
			for _, c := range ch {
				if c.Kind == engine.CmdDeposit {
					for len(s.accts) <= int(c.Account) {
						s.accts = append(s.accts, serverAcct{})
					}
				}
			}
		}
		// In rounds: first the accounts and their settings; then the
		// providers' sells and the long traders' buys that take them; then
		// the providers' buys and the short traders' sells. All opening
		// trades meet at the same price: in one round, a trader's order
		// could take another's provider order and leave its own partly
		// unfilled, and a provider's sell could meet another's buy.
		place := func(tif orderbook.TimeInForce, side orderbook.Side) func(*engine.Command) bool {
			return func(c *engine.Command) bool { return c.Kind == engine.CmdPlaceOrder && c.TIF == tif && c.Side == side }
		}
		rounds := []func(*engine.Command) bool{
			func(c *engine.Command) bool { return c.Kind != engine.CmdPlaceOrder },
			place(orderbook.GTC, orderbook.Sell), place(orderbook.IOC, orderbook.Buy),
			place(orderbook.GTC, orderbook.Buy), place(orderbook.IOC, orderbook.Sell),
		}
		for _, round := range rounds {
			if err := r.chains(chains, round); err != nil {
				return err
			}
		}
		return nil
	}
	due := s.begin.Add(t)
	time.Sleep(time.Until(due))
	ctx := context.Background()
	for _, c := range cmds {
		if c.Kind == engine.CmdPlaceOrder || c.Kind == engine.CmdCancelOrder {
			s.handed++
		}
	}
	for i := 0; i < len(cmds); i++ { // a requote takes several commands at once
		c := &cmds[i]
		switch c.Kind {
		case engine.CmdSetIndexPrice:
			if err := s.setIndex(ctx, &r.markets[c.Market], c.PriceTicks); err != nil {
				return err
			}
		case engine.CmdCancelAll:
			// A maker's requote: its cancel-all and the quotes after it go
			// to the maker's own goroutine, which sends them in order while
			// the steps go on; a requote due while the last one is still
			// on its way is dropped.
			j := i + 1
			for j < len(cmds) && cmds[j].Kind == engine.CmdPlaceOrder && cmds[j].Account == c.Account {
				j++
			}
			r.requote(t, cmds[i:j])
			i = j - 1
		case engine.CmdPlaceOrder, engine.CmdCancelOrder:
			s.inFlight <- struct{}{}
			s.wg.Add(1)
			go func(c engine.Command) {
				defer func() { <-s.inFlight; s.wg.Done() }()
				r.serverOrder(ctx, &c, t, due)
			}(*c)
		}
	}
	return nil
}

// requote hands a maker's requote (its cancel-all, then its quotes) to a
// goroutine of its own: one at a time per maker.
func (r *cascadeRun) requote(t time.Duration, cmds []engine.Command) {
	s := r.srv
	a := cmds[0].Account
	s.mu.Lock()
	if s.requoting == nil {
		s.requoting = map[engine.AccountID]bool{}
	}
	busy := s.requoting[a]
	s.requoting[a] = true
	s.mu.Unlock()
	if busy {
		s.mu.Lock()
		s.dropped += len(cmds) - 1
		s.mu.Unlock()
		return
	}
	cmds = slices.Clone(cmds)
	due := time.Now()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { s.mu.Lock(); s.requoting[a] = false; s.mu.Unlock() }()
		ctx := context.Background()
		if _, err := s.acct(a).rest.CancelAll(ctx, r.markets[cmds[0].Market].Symbol); err != nil {
			return // counted nowhere: the next requote tries again
		}
		var wg sync.WaitGroup
		for _, c := range cmds[1:] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.serverOrder(ctx, &c, t, due)
			}()
		}
		wg.Wait()
	}()
}

// chains runs the commands of chains that pick accepts, setupWorkers
// chains at once, each in order.
func (r *cascadeRun) chains(chains [][]engine.Command, pick func(*engine.Command) bool) error {
	work := make(chan []engine.Command)
	errs := make(chan error, setupWorkers)
	var wg sync.WaitGroup
	for range setupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for ch := range work {
				if err := r.chain(ch, pick); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for _, ch := range chains {
		work <- ch
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// chain runs the commands of one setup chain that pick accepts, in order.
func (r *cascadeRun) chain(cmds []engine.Command, pick func(*engine.Command) bool) error {
	s := r.srv
	ctx := context.Background()
	for i := range cmds {
		c := &cmds[i]
		if !pick(c) {
			continue
		}
		var err error
		switch c.Kind {
		case engine.CmdCreateAccount:
			// Created with the deposit that follows.
		case engine.CmdDeposit:
			// The API takes at most serverMaxDeposit at once.
			amount := c.AmountQuote
			first := min(amount, serverMaxDeposit)
			a, err1 := s.admin.CreateAccount(ctx, fixed.QuoteAmount(first))
			if err1 != nil {
				return fmt.Errorf("bench: cascade: creating an account: %w", err1)
			}
			for amount -= first; amount > 0; {
				part := min(amount, serverMaxDeposit)
				if _, err1 := s.admin.Deposit(ctx, a.Account, fixed.QuoteAmount(part)); err1 != nil {
					return fmt.Errorf("bench: cascade: funding an account: %w", err1)
				}
				amount -= part
			}
			rest, err1 := client.New(s.base, client.WithHTTPClient(s.hc), client.WithCredentials(a.APIKey, a.APISecret))
			if err1 != nil {
				return err1
			}
			acct := serverAcct{id: a.Account, rest: rest}
			if r.streams(c.Account) {
				if acct.stream, err1 = rest.Connect(ctx); err1 != nil {
					return err1
				}
			}
			s.mu.Lock()
			s.accts[c.Account] = acct
			s.mu.Unlock()
		case engine.CmdSetIndexPrice:
			if err := s.setIndex(ctx, &r.markets[c.Market], c.PriceTicks); err != nil {
				return err
			}
		case engine.CmdSetMarginMode:
			mode := client.Cross
			if c.Mode == clearing.Isolated {
				mode = client.Isolated
			}
			_, err = s.acct(c.Account).rest.SetMarginMode(ctx, r.markets[c.Market].Symbol, mode)
		case engine.CmdSetLeverage:
			_, err = s.acct(c.Account).rest.SetLeverage(ctx, r.markets[c.Market].Symbol, int(c.Leverage))
		case engine.CmdPlaceOrder:
			_, err = s.acct(c.Account).rest.PlaceOrder(ctx, r.orderRequest(c))
		}
		if err != nil {
			var ae *client.APIError
			if !errors.As(err, &ae) {
				return fmt.Errorf("bench: cascade: setup: %w", err)
			}
			s.mu.Lock()
			s.setupErr++
			r.refused++
			s.mu.Unlock()
		}
	}
	return nil
}

// setIndex sets market mk's index through the admin API.
func (s *serverRun) setIndex(ctx context.Context, mk *engine.Market, priceTicks int64) error {
	if _, err := s.admin.SetIndexPrice(ctx, mk.Symbol, mk.Grid.Price(priceTicks)); err != nil {
		return fmt.Errorf("bench: cascade: index: %w", err)
	}
	return nil
}

func (s *serverRun) acct(a engine.AccountID) serverAcct {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accts[a]
}

// streams reports whether account a (the run's id) trades over a
// WebSocket: the makers and the ordinary traders, who are created first,
// before the traders with positions.
func (r *cascadeRun) streams(a engine.AccountID) bool {
	return int(a) < len(r.lps)+len(r.markets)+len(r.retail) && int(a) >= len(r.lps)
}

// serverOrder sends an order command over its account's stream and takes
// its latency from due (the moment it was meant to go; now if zero).
func (r *cascadeRun) serverOrder(ctx context.Context, c *engine.Command, t time.Duration, due time.Time) {
	s := r.srv
	a := s.acct(c.Account)
	if due.IsZero() {
		due = time.Now()
	}
	sym := r.markets[c.Market].Symbol
	var err error
	if c.Kind == engine.CmdCancelOrder {
		_, err = a.stream.CancelOrder(ctx, sym, client.ByClientID(c.ClientOrderID.String()))
	} else {
		_, err = a.stream.PlaceOrder(ctx, r.orderRequest(c))
	}
	d := time.Since(due)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	r.lat = append(r.lat, latSample{t, d, 1})
	var ae *client.APIError
	if errors.As(err, &ae) {
		r.refused++
	}
}

// orderRequest is the SDK's order for a place command.
func (r *cascadeRun) orderRequest(c *engine.Command) client.OrderRequest {
	mk := &r.markets[c.Market]
	side := client.Buy
	if c.Side == orderbook.Sell {
		side = client.Sell
	}
	qty := mk.Grid.Qty(c.QtyLots)
	var o client.OrderRequest
	if c.Type == orderbook.Market {
		o = client.Market(mk.Symbol, side, qty)
	} else {
		o = client.Limit(mk.Symbol, side, mk.Grid.Price(c.PriceTicks), qty)
	}
	switch c.TIF {
	case orderbook.IOC:
		o = o.IOC()
	case orderbook.PostOnly:
		o = o.PostOnly()
	}
	if !c.ClientOrderID.IsZero() {
		o = o.ClientID(c.ClientOrderID.String())
	}
	return o
}

// watchServer starts the run's clock and follows, on a public stream, the
// first market's marks and trades and every market's liquidations (all
// count, as in process; the first market's are charted).
func (r *cascadeRun) watchServer() error {
	s := r.srv
	ctx := context.Background()
	sym := r.markets[0].Symbol
	marks, err := s.feeds.Marks(ctx, sym)
	if err != nil {
		return err
	}
	trades, err := s.feeds.Trades(ctx, sym)
	if err != nil {
		return err
	}
	liqs := make([]<-chan client.Liquidation, len(r.markets))
	for m := range r.markets {
		if liqs[m], err = s.feeds.Liquidations(ctx, r.markets[m].Symbol); err != nil {
			return err
		}
	}
	s.begin = time.Now()
	g := r.markets[0].Grid
	ticks := func(d decimal.Decimal) int64 {
		p, err := g.Ticks(d, math.MaxInt64)
		if err != nil {
			return 0
		}
		return p
	}
	s.watch.Add(2 + len(liqs))
	go func() {
		defer s.watch.Done()
		for m := range marks {
			idx, mark := ticks(m.IndexPrice), ticks(m.MarkPrice)
			s.mu.Lock()
			r.seenIndex[0], r.mark[0] = idx, mark
			r.idxMin, r.idxMax = min(r.idxMin, idx), max(r.idxMax, idx)
			r.markMin, r.markMax = min(r.markMin, mark), max(r.markMax, mark)
			s.mu.Unlock()
		}
	}()
	go func() {
		defer s.watch.Done()
		for tr := range trades {
			p := ticks(tr.Price)
			s.mu.Lock()
			r.last[0] = p
			r.lastMin, r.lastMax = min(r.lastMin, p), max(r.lastMax, p)
			s.mu.Unlock()
		}
	}()
	for m, ch := range liqs {
		go func() {
			defer s.watch.Done()
			for l := range ch {
				at := time.Since(s.begin)
				s.mu.Lock()
				r.liquidations++
				r.stepLiqs++
				if l.FundQty.IsPositive() || l.ADLQty.IsPositive() {
					r.partial++
				}
				if m == 0 {
					f, _ := l.BankruptcyPrice.Float64() // for the chart only
					r.liqT, r.liqPrice = append(r.liqT, at.Seconds()), append(r.liqPrice, f)
				}
				s.mu.Unlock()
			}
		}()
	}
	return nil
}

// serverStep records a step sent through the server: its liquidations
// (those the stream brought since the last step) and the insurance fund.
func (r *cascadeRun) serverStep(t time.Duration) {
	s := r.srv
	if t >= r.nextSample {
		if f, err := s.admin.InsuranceFund(context.Background()); err == nil {
			q, _ := fixed.QuoteUnits(f.Balance, math.MinInt64, math.MaxInt64)
			bad, _ := fixed.QuoteUnits(f.TotalBadDebt, math.MinInt64, math.MaxInt64)
			s.mu.Lock()
			r.fund, r.fundMin, r.badDebt = q, min(r.fundMin, q), bad
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	liqs := r.stepLiqs
	r.stepLiqs = 0
	r.stepDone(t, liqs)
}

// serverMakerPositions reads the makers' positions (for their lean).
func (r *cascadeRun) serverMakerPositions() error {
	s := r.srv
	for m, a := range r.makers {
		mk := &r.markets[m]
		ps, err := s.acct(a).rest.Positions(context.Background(), mk.Symbol)
		if err != nil {
			return err
		}
		r.makerPos[m] = 0
		for _, p := range ps {
			if p.Symbol == mk.Symbol {
				if lots, err := mk.Grid.Lots(p.Size.Abs(), math.MaxInt64); err == nil {
					if p.Size.IsNegative() {
						lots = -lots
					}
					r.makerPos[m] = lots
				}
			}
		}
	}
	return nil
}

// settle ends a run through the server: the streams' last liquidations
// are waited for (until their count is the server's, as its metrics say,
// for at most 5 s), the streams stopped, and the ADL fills read from the
// metrics (no market stream carries them).
func (s *serverRun) settle(r *cascadeRun) error {
	deadline := time.Now().Add(5 * time.Second)
	var counts map[string]int
	for {
		var err error
		if counts, err = s.metrics("exchange_liquidations_total", "exchange_adl_total"); err != nil {
			return err
		}
		s.mu.Lock()
		seen := r.liquidations
		s.mu.Unlock()
		if seen >= counts["exchange_liquidations_total"] || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.feeds.Close()
	s.watch.Wait()
	r.adl = counts["exchange_adl_total"]
	s.wg.Wait()
	if s.sent+s.dropped != s.handed {
		return fmt.Errorf("bench: cascade: %d orders to send, %d sent and %d dropped with a requote", s.handed, s.sent, s.dropped)
	}
	if r.liquidations != counts["exchange_liquidations_total"] {
		return fmt.Errorf("bench: cascade: the liquidation stream brought %d liquidations, the server counted %d",
			r.liquidations, counts["exchange_liquidations_total"])
	}
	return nil
}

// metrics reads counters from the server's /metrics.
func (s *serverRun) metrics(names ...string) (map[string]int, error) {
	resp, err := s.hc.Get(s.base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		for _, n := range names {
			if v, ok := strings.CutPrefix(sc.Text(), n+" "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return nil, fmt.Errorf("bench: cascade: metric %s: %w", n, err)
				}
				out[n] = int(f)
			}
		}
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("bench: cascade: the server's metrics have no %s", n)
		}
	}
	return out, sc.Err()
}
