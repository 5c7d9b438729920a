// Package server will expose the exchange over HTTP and WebSocket: auth, the
// sequencer goroutine that owns the engine and stamps each command, and the
// fan-out of durable events to subscribers.
//
// Planned: not built yet.
package server
