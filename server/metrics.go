package server

import (
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/wal"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the server's Prometheus series, on a registry of its own (no
// package globals, so tests can run servers side by side).
type Metrics struct {
	Registry     *prometheus.Registry
	commands     *prometheus.CounterVec
	rejections   *prometheus.CounterVec
	refused      *prometheus.CounterVec
	ackLatency   prometheus.Histogram
	batchSize    prometheus.Histogram
	liquidations prometheus.Counter
	adl          prometheus.Counter
	fund         prometheus.Gauge
}

// NewMetrics registers the series; openInterest is asked at each scrape
// for a market's open interest in lots (and its lot size's scale is left
// to the reader: the series is per market, in base units).
func NewMetrics(markets []engine.Market, openInterest func(m engine.MarketID) (float64, bool)) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "exchange_commands_total",
			Help: "Commands journaled and applied, by kind (rate() gives commands per second)."}, []string{"kind"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "exchange_command_rejections_total",
			Help: "Commands the engine refused, by reason."}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "exchange_api_errors_total",
			Help: "API requests answered with an error, by code."}, []string{"code"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "exchange_ack_latency_seconds",
			Help:    "Time from a command's submission to its durable result.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "exchange_wal_batch_commands",
			Help: "Commands per group commit.", Buckets: prometheus.ExponentialBuckets(1, 2, 13)}),
		liquidations: prometheus.NewCounter(prometheus.CounterOpts{Name: "exchange_liquidations_total",
			Help: "Positions liquidated."}),
		adl: prometheus.NewCounter(prometheus.CounterOpts{Name: "exchange_adl_total",
			Help: "Positions reduced by auto-deleveraging."}),
		fund: prometheus.NewGauge(prometheus.GaugeOpts{Name: "exchange_insurance_fund_usdt",
			Help: "The insurance fund's balance in USDT."}),
	}
	r.MustRegister(m.commands, m.rejections, m.refused, m.ackLatency, m.batchSize, m.liquidations, m.adl, m.fund,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, mk := range markets {
		id := mk.ID
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "exchange_open_interest",
			Help: "Open interest (long quantity, in the base asset).", ConstLabels: prometheus.Labels{"market": mk.Symbol}},
			func() float64 {
				v, _ := openInterest(id)
				return v
			}))
	}
	return m
}

// observeGroup counts a durable group's commands and outcomes.
func (m *Metrics) observeGroup(cmds []engine.Command, results []wal.Result) {
	m.batchSize.Observe(float64(len(cmds)))
	for i := range cmds {
		m.commands.WithLabelValues(cmds[i].Kind.String()).Inc()
		for _, ev := range results[i].Events {
			switch ev.Kind {
			case engine.EventRejected:
				m.rejections.WithLabelValues(ev.Reason.String()).Inc()
			case engine.EventLiquidation:
				m.liquidations.Inc()
			case engine.EventADL:
				m.adl.Inc()
			case engine.EventInsuranceFund:
				// A gauge is a float by nature; this is a display of the
				// balance, never an input to arithmetic.
				m.fund.Set(float64(ev.BalanceQuote) / 1e6)
			}
		}
	}
}
