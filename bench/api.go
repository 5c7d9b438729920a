package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paperperps/exchange/client"
	"github.com/paperperps/exchange/server"
	"github.com/shopspring/decimal"
)

// APIOptions configure RunAPI.
type APIOptions struct {
	// Bots is the number of SDK bots, each with an account of its own.
	Bots int
	// Duration is the length of each of the four phases.
	Duration time.Duration
	// InFlight is how many requests each bot keeps waiting at full speed:
	// concurrent calls over REST, pipelined calls over its WebSocket.
	// Default 8 for REST and 128 for the WebSocket (0): about where each
	// gives its most orders/s on the 2-core machine (REST: 10,200/s with
	// 8, 11,200 with 16, 11,700 with 32, at twice the latency each time;
	// WebSocket: 87,000-99,000/s with 64, 106,000-128,000 with 128, fewer
	// with 256 as the queues grow).
	InFlight int
	// Data is the exchange's data directory; empty: a temporary one.
	Data string
	// Seed drives the bots' prices.
	Seed uint64
	// Progress, if set, gets a line per phase as it starts.
	Progress io.Writer
}

// APIPhase is one phase's result. Orders counts order-entry requests
// (placements and cancels), each a durable command with its answer.
type APIPhase struct {
	Name         string
	Orders       int
	Errors       int
	Elapsed      time.Duration
	OrdersPerSec float64
	// Target is the rate an open-loop phase aimed at (0: as fast as the
	// answers come back).
	Target         float64
	P50, P99, P999 time.Duration
}

// APIReport is RunAPI's result.
type APIReport struct {
	Bots     int
	Duration time.Duration
	// REST and WS run as fast as the server answers; RESTHalf and WSHalf
	// send at half of that rate, open loop, for the latency a bot sees
	// when the exchange is not saturated.
	REST, WS, RESTHalf, WSHalf APIPhase
}

// RunAPI starts an exchange in this process, on loopback, with the
// journal on disk (every answer waits for its group's fsync) and no feed
// or makers, and drives it with SDK bots: each places a limit order away
// from the touch and cancels it, over and over. Four phases: REST and
// WebSocket order entry at full speed, then each at half its full-speed
// rate. Client and server share the machine.
func RunAPI(ctx context.Context, o APIOptions) (APIReport, error) {
	if o.Bots < 1 || o.Bots > 1000 || o.Duration <= 0 {
		return APIReport{}, fmt.Errorf("bench: api: bots %d not in [1, 1000] or duration %s not positive", o.Bots, o.Duration)
	}
	dir := o.Data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "exchange-bench-api-")
		if err != nil {
			return APIReport{}, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	cfg := server.DefaultConfig()
	cfg.Data, cfg.Listen, cfg.DemoAccounts = dir, "127.0.0.1:0", 0
	cfg.Feed.Mode, cfg.Makers.Enabled = "off", false
	// The bots are the load: no rate limit in their way.
	cfg.API.RateLimit, cfg.API.RateBurst = 1e9, 1e9
	x, err := server.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return APIReport{}, err
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- x.Run(sctx) }()
	defer func() { stop(); <-served }()

	bots, err := newAPIBots(ctx, "http://"+x.Addr(), x.CredentialsFile, o)
	if err != nil {
		return APIReport{}, err
	}
	defer func() {
		for _, b := range bots {
			b.stream.Close()
		}
	}()
	r := APIReport{Bots: o.Bots, Duration: o.Duration}
	restIn, wsIn := 8, 128
	if o.InFlight > 0 {
		restIn, wsIn = o.InFlight, o.InFlight
	}
	phase := func(name string, send sender, inflight int, rate float64) APIPhase {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "phase %s...\n", name)
		}
		return runPhase(ctx, name, bots, send, inflight, rate, o.Duration)
	}
	r.REST = phase("rest", (*apiBot).viaREST, restIn, 0)
	r.WS = phase("ws", (*apiBot).viaWS, wsIn, 0)
	r.RESTHalf = phase("rest at half rate", (*apiBot).viaREST, 0, r.REST.OrdersPerSec/2)
	r.WSHalf = phase("ws at half rate", (*apiBot).viaWS, 0, r.WS.OrdersPerSec/2)
	if err := ctx.Err(); err != nil {
		return r, err
	}
	return r, nil
}

// apiBot is one SDK bot: its REST client and its WebSocket stream.
type apiBot struct {
	rest   *client.Client
	stream *client.Stream
	rng    *rand.Rand
	mu     sync.Mutex
	// open bounds the bot's cycles between a placement and its cancel: an
	// account rests at most 200 orders (orderbook.Config), and an open
	// loop that falls behind (a stalled machine) would start a burst of
	// cycles and be refused past that.
	open chan struct{}
}

// apiMaxOpen is each bot's bound on resting orders of its own.
const apiMaxOpen = 150

func newAPIBots(ctx context.Context, base, credentials string, o APIOptions) ([]*apiBot, error) {
	admin, err := apiAdmin(base, credentials)
	if err != nil {
		return nil, err
	}
	if _, err := admin.SetIndexPrice(ctx, "BTCUSDT", decimal.NewFromInt(100_000)); err != nil {
		return nil, err
	}
	bots := make([]*apiBot, o.Bots)
	for i := range bots {
		a, err := admin.CreateAccount(ctx, decimal.NewFromInt(10_000_000))
		if err != nil {
			return nil, err
		}
		c, err := client.New(base, client.WithCredentials(a.APIKey, a.APISecret))
		if err != nil {
			return nil, err
		}
		s, err := c.Connect(ctx)
		if err != nil {
			return nil, err
		}
		bots[i] = &apiBot{rest: c, stream: s, rng: rand.New(rand.NewPCG(o.Seed, uint64(i))), open: make(chan struct{}, apiMaxOpen)}
	}
	return bots, nil
}

// apiAdmin is a client with the admin key of the exchange at base, read
// from its credentials file.
func apiAdmin(base, credentials string) (*client.Client, error) {
	b, err := os.ReadFile(credentials)
	if err != nil {
		return nil, err
	}
	var file struct {
		Admin server.Credentials `json:"admin"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", credentials, err)
	}
	return client.New(base, client.WithCredentials(file.Admin.APIKey, file.Admin.Secret))
}

// sender sends one request of a bot's cycle and returns when answered.
type sender func(b *apiBot, ctx context.Context, place bool, id client.OrderID, price decimal.Decimal) (client.OrderID, error)

var (
	apiQty = decimal.RequireFromString("0.002")
)

func (b *apiBot) viaREST(ctx context.Context, place bool, id client.OrderID, price decimal.Decimal) (client.OrderID, error) {
	if place {
		r, err := b.rest.PlaceOrder(ctx, client.Limit("BTCUSDT", side(price), price, apiQty))
		return r.OrderID, err
	}
	_, err := b.rest.CancelOrder(ctx, "BTCUSDT", client.ByID(id))
	return id, err
}

func (b *apiBot) viaWS(ctx context.Context, place bool, id client.OrderID, price decimal.Decimal) (client.OrderID, error) {
	if place {
		r, err := b.stream.PlaceOrder(ctx, client.Limit("BTCUSDT", side(price), price, apiQty))
		return r.OrderID, err
	}
	_, err := b.stream.CancelOrder(ctx, "BTCUSDT", client.ByID(id))
	return id, err
}

// side is a buy below 100,000 and a sell above.
func side(price decimal.Decimal) client.Side {
	if price.LessThan(apiMid) {
		return client.Buy
	}
	return client.Sell
}

// price draws a price 0.5% to 1.5% away from 100,000 on a random side, on
// BTCUSDT's 0.1 grid: it rests, and the band (5%) takes it. The prices
// are built once (apiPrices): a bot's own arithmetic is not the load.
func (b *apiBot) price() decimal.Decimal {
	b.mu.Lock()
	off := b.rng.IntN(apiOffsets)
	buy := b.rng.IntN(2)
	b.mu.Unlock()
	return apiPrices()[buy][off]
}

// apiOffsets is how many ticks of 0.1 the bots' prices spread over, from
// 50 away from 100,000.
const apiOffsets = 10_000

var (
	apiMid    = decimal.NewFromInt(100_000)
	apiPrices = sync.OnceValue(func() (p [2][]decimal.Decimal) {
		for off := range apiOffsets {
			t := int64(500 + off)
			p[0] = append(p[0], decimal.New(1_000_000+t, -1))
			p[1] = append(p[1], decimal.New(1_000_000-t, -1))
		}
		return p
	})
)

// runPhase runs cycles (place, then cancel) on every bot for d: closed
// loop with inflight workers per bot when rate is 0, else open loop at
// rate requests per second in all, each cycle started on schedule in a
// goroutine of its own (a slow answer does not delay the next request, so
// its latency is not hidden).
func runPhase(ctx context.Context, name string, bots []*apiBot, send sender, inflight int, rate float64, d time.Duration) APIPhase {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu      sync.Mutex
		samples []time.Duration
		orders  atomic.Int64
		errs    atomic.Int64
	)
	cycle := func(b *apiBot, local *[]time.Duration) {
		start := time.Now() // a wait for room counts in the latency
		b.open <- struct{}{}
		defer func() { <-b.open }()
		id, err := send(b, ctx, true, 0, b.price())
		*local = append(*local, time.Since(start))
		orders.Add(1)
		if err != nil {
			errs.Add(1)
			return
		}
		start = time.Now()
		if _, err := send(b, ctx, false, id, decimal.Zero); err != nil && !errors.Is(err, client.ErrUnknownOrder) {
			errs.Add(1)
		}
		*local = append(*local, time.Since(start))
		orders.Add(1)
	}
	var wg sync.WaitGroup
	begin := time.Now()
	if rate == 0 {
		for _, b := range bots {
			for range inflight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var local []time.Duration
					for pctx.Err() == nil {
						cycle(b, &local)
					}
					mu.Lock()
					samples = append(samples, local...)
					mu.Unlock()
				}()
			}
		}
	} else {
		// A cycle is two requests: cycles start at rate/2 per second,
		// spread over the bots.
		every := time.Duration(float64(time.Second) * 2 / rate)
		next := time.Now()
		for i := 0; pctx.Err() == nil; i++ {
			next = next.Add(every)
			if wait := time.Until(next); wait > 0 {
				time.Sleep(wait)
			}
			b := bots[i%len(bots)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local []time.Duration
				cycle(b, &local)
				mu.Lock()
				samples = append(samples, local...)
				mu.Unlock()
			}()
		}
	}
	wg.Wait() // the requests in flight at the end count, and their time
	elapsed := time.Since(begin)
	p := APIPhase{Name: name, Orders: int(orders.Load()), Errors: int(errs.Load()), Elapsed: elapsed, Target: rate}
	p.OrdersPerSec = float64(p.Orders) / elapsed.Seconds()
	slices.Sort(samples)
	p.P50, p.P99, p.P999 = quantile(samples, 0.50), quantile(samples, 0.99), quantile(samples, 0.999)
	return p
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// Print writes the report as a table.
func (r APIReport) Print(w io.Writer) {
	fmt.Fprintf(w, "exchange bench api: %d SDK bots over loopback, %s per phase, journal on disk (an fsync per group commit)\n", r.Bots, r.Duration)
	fmt.Fprintf(w, "%-20s %9s %12s %10s %10s %10s %7s\n", "phase", "orders", "orders/s", "p50", "p99", "p99.9", "errors")
	for _, p := range []APIPhase{r.REST, r.WS, r.RESTHalf, r.WSHalf} {
		fmt.Fprintf(w, "%-20s %9d %12.0f %10s %10s %10s %7d\n", p.Name, p.Orders, p.OrdersPerSec, p.P50.Round(time.Microsecond),
			p.P99.Round(time.Microsecond), p.P999.Round(time.Microsecond), p.Errors)
	}
	fmt.Fprintln(w, "orders: order-entry requests (a placement, then its cancel), each answered once durable;")
	fmt.Fprintln(w, "latency: from the call to its answer, in the bot; half rate: open loop at half the phase above's orders/s")
}

// JSONFigures are the figures `exchange bench api --json` writes: the
// full-speed rates, and the p99 latencies at half of them (the issue's
// targets), plus the rest.
func (r APIReport) JSONFigures() map[string]float64 {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return map[string]float64{
		"ws_orders_per_sec":    r.WS.OrdersPerSec,
		"rest_orders_per_sec":  r.REST.OrdersPerSec,
		"ws_p99_ms":            ms(r.WSHalf.P99),
		"rest_p99_ms":          ms(r.RESTHalf.P99),
		"ws_p99_max_rate_ms":   ms(r.WS.P99),
		"rest_p99_max_rate_ms": ms(r.REST.P99),
		"ws_p50_ms":            ms(r.WSHalf.P50),
		"rest_p50_ms":          ms(r.RESTHalf.P50),
		"ws_p999_ms":           ms(r.WSHalf.P999),
		"rest_p999_ms":         ms(r.RESTHalf.P999),
		"bots":                 float64(r.Bots),
		"errors":               float64(r.REST.Errors + r.WS.Errors + r.RESTHalf.Errors + r.WSHalf.Errors),
	}
}

// WriteJSON writes JSONFigures to w.
func (r APIReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.JSONFigures())
}
