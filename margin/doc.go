// Package margin will decide how much an account may risk and when it must
// give up: leverage, cross and isolated modes, leverage brackets, initial and
// maintenance margin, liquidation triggers and procedure, the insurance fund
// and auto-deleveraging.
//
// Planned: not built yet.
package margin
