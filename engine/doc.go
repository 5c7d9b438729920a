// Package engine will be the deterministic state machine of the exchange:
// commands, events, Apply, snapshot and restore, and a state hash. It
// composes orderbook, margin and clearing, and does no I/O of its own.
//
// Planned: not built yet.
package engine
