// Package orderbook is one market's limit order book: price-time priority
// matching of limit, market, IOC, FOK and post-only orders with self-trade
// prevention, amend and cancel, and the depth data a publisher needs. It knows
// accounts only as ids (for self-trade prevention, limits and cancel-all) and
// nothing of their money: the engine checks margin before it calls the book
// and settles the fills the book reports.
//
// The book is single-threaded and deterministic: the same calls give the same
// events, byte for byte. Prices are int64 ticks and quantities int64 lots;
// every fill happens at the resting (maker) order's price. Events are
// appended to a buffer the caller owns, so a caller that reuses its buffer
// makes the book allocate nothing in steady state.
//
//	b, err := orderbook.New(orderbook.DefaultConfig())
//	if err != nil { ... }
//	ev := make([]orderbook.Event, 0, 64)
//	ev = b.Place(orderbook.Order{ID: 1, Account: 7, Side: orderbook.Sell,
//		Type: orderbook.Limit, TIF: orderbook.GTC, PriceTicks: 1000, QtyLots: 5}, ev[:0])
//	ev = b.Place(orderbook.Order{ID: 2, Account: 9, Side: orderbook.Buy,
//		Type: orderbook.Market, TIF: orderbook.IOC, QtyLots: 3}, ev[:0])
//	// ev: accepted #2, fill #2 against #1 at 1000 for 3 lots (2 left)
//	for _, c := range b.Changes() { publish(b.UpdateID(), c) }
//
// # Rules
//
// Place validates in this order and rejects with the first failing reason
// (EventRejected, nothing changes): order id 0; account id ≥ MaxAccounts;
// side; type; time in force (market orders take IOC or FOK only); STP mode;
// quantity ≤ 0, then above MaxOrderLots; price (limit: 1..MaxPriceTicks;
// market protection price: 0 for none or 1..MaxPriceTicks); a limit price
// outside the price band; an id not above every id accepted before (ids
// must increase; an accepted order uses up its id even if it then trades
// nothing, a rejected one does not); for GTC and post-only orders the
// account's resting-order limit, then the book's, then the side's price-level
// limit (for a price with no orders yet); a post-only order that would take,
// whatever its self-trade mode. These limits hold even for an order that
// would trade in full and never rest: they are checked before matching. An order that passes gets
// EventAccepted, then:
//
//   - FOK: if the quantity that could fill within its limit (honouring
//     self-trade prevention) is short of the order, EventCancelled with
//     ReasonFOKNotFilled and nothing else happens.
//   - Matching walks the opposite side from the best price, oldest order
//     first, while the order has quantity left and the maker's price is
//     within the limit: the limit price, or for a market order its
//     protection price and the price band's edge. Each trade is an
//     EventFill at the maker's price.
//   - Meeting an order of its own account, an order with a self-trade
//     prevention mode other than STPNone never trades: cancel-taker ends the
//     incoming order, cancel-maker cancels the resting one and goes on,
//     cancel-both does both (EventCancelled, ReasonSelfTrade: the resting
//     order's event first).
//   - What is left of a GTC or post-only order rests at the back of its
//     level; what is left of an IOC or market order is cancelled with
//     ReasonUnfilledRemainder.
//
// Amend changes a resting order's price and total quantity (filled plus
// remaining). A smaller quantity at the same price keeps the order's place;
// a larger quantity sends it to the back of its level; a new price sends it
// to the back of the new level, and if the new price crosses the book it
// first trades as a taker (a post-only order is refused instead). A total at
// or below the filled quantity cancels the order (ReasonAmendedToFilled; the
// event carries the old price). EventAmended comes before any fills and
// shows the remaining quantity before them. Amend validates in this order:
// unknown order (or another account's); quantity ≤ 0, then above
// MaxOrderLots; price outside 1..MaxPriceTicks; a new price outside the band
// (an unchanged price is not checked again); same price and quantity
// (ReasonNothingToAmend); then the cancel rule above; then post-only; then
// the price-level limit, unless the order leaves behind a level it had alone.
//
// Cancel and Amend of an id that is not resting, or of another account's
// order, are refused with ReasonUnknownOrder. CancelAccount cancels an
// account's orders in the order they first rested; CancelAll cancels every
// order, bids then asks, each side from the best price, oldest first. A
// Command of a kind the book does not know is refused with
// ReasonInvalidCommand, never dropped.
//
// # Market data
//
// BestBid and BestAsk are O(1). Depth returns the top levels. After every
// command, Changes lists each level whose total changed (its new total, 0
// when it emptied; the order of the list is not specified) and UpdateID has
// grown by one if the list is not empty, so diffs chain without gaps.
package orderbook
