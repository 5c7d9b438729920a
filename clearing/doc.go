// Package clearing is the ledger of the exchange's money: every account's
// cross wallet, its one-way position in each market (size, cost basis,
// margin mode, isolated margin), the fee account and the insurance fund. The
// engine's single thread calls it for every fill, deposit, withdrawal,
// isolated-margin transfer and funding settlement; it decides nothing about
// margin requirements (package margin does) and knows nothing of order
// books.
//
//	l, _ := clearing.New(clearing.DefaultConfig())
//	_ = l.AddMarket(0, clearing.MarketSpec{QuotePerTickLot: btc.QuotePerTickLot(), MakerFeeRatePpm: 200, TakerFeeRatePpm: 500})
//	l.AddAccount(0) // ids are dense: 0, 1, 2, ...
//	l.AddAccount(1)
//	if r := l.Deposit(0, 15_000_000_000); r != clearing.ReasonNone { reject(r) } // 15,000 USDT
//	...
//	for _, f := range bookEvents { // each fill of the book, both sides at once
//		res, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: f.PriceTicks, QtyLots: f.QtyLots,
//			Maker: f.Maker, Taker: f.Taker, TakerBuys: f.TakerSide == orderbook.Buy})
//		if err != nil { return err } // a broken invariant: stop
//		emit(res.Maker, res.Taker)   // realized PnL, fees, new sizes and balances
//	}
//	payments, totals, err := l.SettleFunding(0, markTicks, ratePpm, payments[:0])
//	// in tests, after every command:
//	if err := l.CheckInvariants(); err != nil { t.Fatal(err) }
//
// # Units and results
//
// Quote amounts are int64 units of 10^-6 USDT (suffix Quote), prices int64
// ticks, sizes int64 lots, signed: positive long (or a buy), negative short
// (or a sell). A market is registered with its grid's QuotePerTickLot, so
// the value of a fill is priceTicks × qtyLots × QuotePerTickLot exactly
// (positive for a buy), and with its maker and taker fee rates in ppm. All
// arithmetic is checked (package fixed).
//
// A refused business request (a withdrawal beyond the wallet, an unknown
// account, ...) returns a Reason and changes nothing. Go errors mean a
// broken invariant — a fill that no book can have produced, an amount that
// left the int64 range, money not conserved — and also change nothing; the
// engine should stop on them.
//
// # Positions
//
// A position's EntryValueQuote is its cost basis: the exact sum of the fill
// values that built it, signed like its size, so the average entry price is
// EntryValueQuote / (SizeLots × QuotePerTickLot) ticks exactly
// (Position.EntryPrice gives the fraction, EntryPriceTicks rounds it for
// display). A fill:
//
//   - opens a flat position: size = qty, basis = fill value;
//   - increases it (same side): size += qty, basis += fill value (exact VWAP);
//   - reduces it (other side, smaller): the closed part's basis is
//     basis × closed / |size|, rounded up (toward +∞); realized PnL =
//     −(fill value + that basis), which is proceeds − cost for a long and
//     entry proceeds − buy-back cost for a short, and so is rounded down:
//     a credit to a user never rounds up. The rounded basis is what is
//     subtracted, so the remaining basis keeps the remainder;
//   - closes it (other side, equal): realized = −(fill value + basis);
//   - flips it (other side, larger): closes the whole position at the fill
//     price, then opens the rest at the fill price.
//
// Over a position's life from open to full close (increases included) the
// realized PnL therefore adds up exactly to −Σ fill values: rounding moves
// PnL later in time, never creates or loses it. Before the close, the
// ledger's realized total trails the exact proportional (rational) one by
// less than one quote unit per partial reduction; the close settles the
// difference.
//
// # Fees
//
// Fee = |fill value| × rate / 10^6 at the market's maker or taker rate,
// rounded up: a fee is never undercharged, and a negative (rebate) rate
// rounds toward zero, so a rebate is never overpaid. Fees go to the fee
// account, rebates come from it; a maker rate may not be below −taker rate,
// so each trade leaves the fee account no poorer. For the same reason a
// trade whose taker pays no fee (a liquidation order, which pays the
// liquidation fee to the insurance fund instead) pays its maker no
// rebate. The fee is paid from the
// same place as the position's PnL: the wallet for a cross position, the
// isolated margin for an isolated one (venues do the same, and it keeps an
// isolated position's outcome within its own margin; package margin sizes
// isolated margin to include the fee).
//
// # Cross and isolated
//
// A position is Cross until the engine calls SetMarginMode (whether a change
// is allowed is the engine's rule; switching to Cross returns any isolated
// margin to the wallet). A cross position's realized PnL, fees and funding
// move the wallet, which may go negative: that is a debt, reported in the
// results (WalletQuote < 0), for the engine's liquidation to cover. An
// isolated position's PnL, fees and funding move its IsolatedMarginQuote,
// which the engine funds with AddIsolatedMargin (also on a flat position,
// just before the fill that opens it) and which a full close returns to the
// wallet. A partial close returns the closed share of it (rounded down),
// with the closed part's PnL and fee settled against that share, as venues
// release isolated margin pro rata. Its loss never reaches the wallet: if margin would go negative, it
// is set to 0 and the shortfall is taken from the insurance fund and
// reported (ShortfallQuote); the fund may go negative, also reported
// (InsuranceFundQuote), which is where auto-deleveraging will come in.
// Liquidation (package margin, driven by the engine) is meant to act before
// margin runs out; this is the ledger's backstop, never a silent loss. A
// flip keeps the isolated margin with the new position.
//
// # Funding
//
// SettleFunding(market, mark, rate) charges each open position |size| × mark
// × QuotePerTickLot × |rate| / 10^6: with a positive rate longs pay and
// shorts receive, with a negative one the reverse. Payments round up,
// receipts round down, and the remainder (≥ 0 when long size equals short
// size) goes to the insurance fund, so funding moves money without creating
// any. Payers are charged like fees (wallet or isolated margin, shortfall to
// the fund). Positions are settled in the order they were opened: each
// market keeps an intrusive list of its open positions, a position joins at
// the tail when it opens (again) and leaves when it closes, and a flip keeps
// its place. That order depends only on the commands, never on a map.
//
// # Conservation
//
// Futures PnL is zero-sum, but realized PnL moves money before the
// counterparties' losses are realized, so the plain sum of balances changes
// with every fill. What is conserved exactly is:
//
//	Σ wallets + Σ isolated margins + fee account + insurance fund − Σ EntryValueQuote
//	    = deposits − withdrawals + insurance deposits
//
// Proof: deposits, withdrawals and insurance deposits move both sides
// equally; fees, margin transfers, shortfalls and funding move money between
// terms of the left side. A fill side of value v (signed) changes the money
// by its realized PnL r and the basis by ΔE with r − ΔE = −v in every case
// above (open/increase: r = 0, ΔE = v; reduce: r = −(v + a), ΔE = −a; flip:
// r = −(v_close + E), ΔE = v_open − E, v = v_close + v_open). The two sides
// of a trade have values v and −v, so a settled trade leaves the left side
// unchanged. The familiar "wallets + margins + fees + fund = deposits −
// withdrawals" is this identity when every position is flat; with open
// positions it is off by their basis. (Equivalently: at any common mark M
// the sum of realized and unrealized PnL is 0; Σ unrealized =
// M·Σsize·QuotePerTickLot − Σ basis and Σ size = 0 per market, so Σ realized
// = Σ basis.)
//
// CheckConservation recomputes every term from the accounts and positions
// with checked sums and verifies the identity to the unit, that no fill side
// is waiting for its counterpart, and that each market's long size equals
// its short size. CheckInvariants adds the structural checks. Both cost
// O(accounts + positions): tests run them after every operation, and the
// engine can run them after every command under its invariants build tag.
//
// # Performance
//
// Accounts and markets are dense ids that index slices; a market maps an
// account to its position record through a slice, and records live in one
// slab. Fill, SettleTrade and SettleFunding (with a reused buffer) allocate
// nothing in steady state; tables grow by amortized appends when a new
// account or market first appears. Nothing reads a clock.
package clearing
