// Package client will be the Go SDK that trading bots import to talk to a
// running exchange.
//
// Planned: not built yet.
package client
