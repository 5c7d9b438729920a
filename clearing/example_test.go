package clearing_test

import (
	"fmt"
	"math"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
)

// Two traders on a BTC market (tick 0.1, lot 0.001): one buys 0.5 BTC from
// the other at 100,000, sells half at 101,000 and the rest at 99,000, then
// everything is checked: realized PnL, fees, and the money identity.
func Example() {
	btc := fixed.MustNewGrid("0.1", "0.001")
	l, err := clearing.New(clearing.DefaultConfig())
	if err != nil {
		panic(err)
	}
	spec := clearing.MarketSpec{QuotePerTickLot: btc.QuotePerTickLot(), MakerFeeRatePpm: 200, TakerFeeRatePpm: 500}
	if err := l.AddMarket(0, spec); err != nil {
		panic(err)
	}
	const alice, bob = clearing.AccountID(0), clearing.AccountID(1)
	for _, a := range []clearing.AccountID{alice, bob} {
		l.AddAccount(a)
		l.Deposit(a, 15_000*fixed.QuoteUnitsPerWhole) // 15,000 USDT each
	}
	if r := l.Withdraw(alice, 20_000*fixed.QuoteUnitsPerWhole, math.MaxInt64); r != clearing.ReasonNone {
		fmt.Println("withdrawal refused:", r)
	}

	// Alice (taker) buys 500 lots at 1,000,000 ticks from Bob (maker).
	trade := func(priceTicks, qtyLots int64, takerBuys bool) clearing.TradeResult {
		res, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: priceTicks, QtyLots: qtyLots, Maker: bob, Taker: alice, TakerBuys: takerBuys})
		if err != nil {
			panic(err)
		}
		return res
	}
	res := trade(1_000_000, 500, true)
	p, _ := l.Position(alice, 0)
	entry, _ := p.EntryPriceTicks()
	fmt.Printf("alice %s: %s BTC at %s, fee %s\n", res.Taker.Change, btc.Qty(p.SizeLots), btc.Price(entry), fixed.QuoteAmount(res.Taker.FeeQuote))
	res = trade(1_010_000, 250, false)
	fmt.Printf("alice %s: realized %s, fee %s\n", res.Taker.Change, fixed.QuoteAmount(res.Taker.RealizedPnLQuote), fixed.QuoteAmount(res.Taker.FeeQuote))
	res = trade(990_000, 250, false)
	fmt.Printf("alice %s: realized %s, fee %s\n", res.Taker.Change, fixed.QuoteAmount(res.Taker.RealizedPnLQuote), fixed.QuoteAmount(res.Taker.FeeQuote))

	for _, a := range []clearing.AccountID{alice, bob} {
		w, _ := l.Wallet(a)
		fmt.Printf("wallet %d: %s\n", a, fixed.QuoteAmount(w))
	}
	fmt.Println("fee account:", fixed.QuoteAmount(l.FeeAccountQuote()))
	fmt.Println("conservation:", l.CheckConservation())
	// Output:
	// withdrawal refused: insufficient-balance
	// alice opened: 0.5 BTC at 100000, fee 25
	// alice reduced: realized 250, fee 12.625
	// alice closed: realized -250, fee 12.375
	// wallet 0: 14950
	// wallet 1: 14980
	// fee account: 70
	// conservation: <nil>
}
