// Package server is `exchange serve`: the HTTP API over the sequencer that
// owns the engine (public market data, signed private trading, admin
// calls), the read models fed by durable events (MarketData, History),
// the simulated price feed and market makers, metrics, and the process
// around them (Open, Run). docs/API.md is the API's reference and
// docs/SERVE.md the operator's guide.
package server
