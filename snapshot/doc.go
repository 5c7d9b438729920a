// Package snapshot holds the canonical binary primitives that the state
// snapshots of orderbook, clearing and engine share.
//
// Numbers are encoding/binary varints (unsigned, or zigzag for signed
// values) and must be in their shortest form: a longer encoding of the same
// value is refused, so any bytes that decode re-encode to exactly the same
// bytes, and a hash of a snapshot is a hash of the state it holds.
//
// A Reader decodes such bytes. It never panics, whatever the input: every
// read checks the bytes left, and the first error sticks, so later reads
// return zero values and a decoder needs to check Err only at its loop
// boundaries and before acting on what it read. Every error a Reader makes
// wraps the sentinel it was given, so each package keeps its own
// ErrBadSnapshot.
//
// The package imports nothing from this module.
package snapshot
