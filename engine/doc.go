// Package engine is the exchange's deterministic state machine: it turns
// commands (create account, deposit, withdraw, set leverage and margin mode,
// adjust isolated margin, place, amend and cancel orders, set an index
// price, tick the clock, deposit into the insurance fund) into events, composing one order book per market with the
// clearing ledger and the margin math. Apply reads no clock, starts no
// goroutine and does no I/O: the sequencer stamps each command with its
// sequence number and time, and the same commands always give the same
// events and the same StateHash.
//
//	e, err := engine.New(engine.DefaultConfig()) // BTCUSDT, ETHUSDT, SOLUSDT
//	if err != nil { ... }
//	ev := make([]engine.Event, 0, 64)
//	ev = e.Apply(&engine.Command{Kind: engine.CmdCreateAccount, Seq: 1, TsNanos: now}, ev[:0])
//	ev = e.Apply(&engine.Command{Kind: engine.CmdDeposit, Seq: 2, TsNanos: now, Account: 0,
//		AmountQuote: 15_000 * fixed.QuoteUnitsPerWhole}, ev[:0])
//	for _, x := range ev {
//		if x.Kind == engine.EventRejected { ... x.Reason ... }
//	}
//
// Margin: an order is accepted when the account's free collateral covers the
// initial margin of the position that every open order on the order's side
// could reach (positions valued at the mark, orders at their prices) plus
// those orders' taker fees, at the account's leverage and within the
// leverage its bracket allows; orders that add no exposure need no margin.
// Cross positions share the wallet, unrealized losses included; isolated
// positions are funded from the wallet as they open or grow and can lose
// only their own margin. Every position event carries its liquidation price
// from margin.LiquidationPrice. Funding is paid when a command's time
// passes a funding time (multiples of the interval since the epoch).
//
// Orders: limit and market (IOC, FOK, post-only, GTC), reduce-only (which
// may rest, and are cut to stay within the position), stop and take-profit
// orders watching the mark or the last price (they wait in a trigger index
// and fire in the command that moves the price, keeping their id), amend,
// cancel and cancel-all, by engine id or by client order id. See
// docs/ARCHITECTURE.md, "Orders beyond the book".
//
// Liquidation: after every command the accounts whose money or positions
// changed are checked, and a mark move reaches the liquidation index (per
// market, heaps of trigger prices), so no command scans every account. A
// liquidatable pool (the cross wallet, or one isolated position) has its
// orders cancelled, then its positions go to the book at the bankruptcy
// price; the insurance fund takes over what the book leaves as far as its
// equity bears, and auto-deleveraging closes the rest. A pool gets a
// margin call when it reaches Config.MarginCallPpm, and another only after
// it has fallen below Config.MarginCallRearmPpm. See docs/ARCHITECTURE.md,
// "Liquidation".
package engine
