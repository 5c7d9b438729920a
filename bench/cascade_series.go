package bench

// CascadeSeries is a cascade run's time series for the charts: one sample
// per interval of simulated time. The prices and amounts are float64 here
// only for plotting; the report's figures come from the engine's integers.
type CascadeSeries struct {
	// Interval is the length of one sample, in simulated seconds.
	Interval float64
	// ShockStart and ShockEnd bound the shock, in simulated seconds from
	// the start of the run.
	ShockStart, ShockEnd float64
	// Symbol is the market the price chart shows.
	Symbol string
	// T is each sample's time: simulated seconds from the start.
	T []float64
	// Index, Mark and Last are the market's prices at the end of each
	// interval (Last is NaN before the first trade).
	Index, Mark, Last []float64
	// Liquidations counts the liquidations in each interval (all
	// markets).
	Liquidations []float64
	// Fund is the insurance fund's balance (USDT) at the end of each
	// interval.
	Fund []float64
	// LatencyP50, LatencyP99 and LatencyP999 are the ack latencies (ms) of
	// the commands acknowledged in each interval; NaN when none were.
	LatencyP50, LatencyP99, LatencyP999 []float64
	// LiqT and LiqPrice mark each liquidation of Symbol: its time and its
	// bankruptcy price.
	LiqT, LiqPrice []float64
}
