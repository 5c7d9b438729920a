//go:build !invariants

package orderbook

// checkEveryCommand turns on the whole-book invariant check after every
// command; build with -tags invariants to enable it.
const checkEveryCommand = false
