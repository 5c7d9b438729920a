//go:build invariants

package orderbook

// checkEveryCommand is on: every command ends with CheckInvariants, and a
// broken invariant panics where it happened rather than surfacing later.
const checkEveryCommand = true
