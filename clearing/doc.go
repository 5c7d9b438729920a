// Package clearing will keep the accounts' money: balances, positions, fills
// settled into accounts, trading fees, funding payments and realized PnL, with
// checks that money is conserved and never created.
//
// Planned: not built yet.
package clearing
