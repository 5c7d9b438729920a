package client_test

import (
	"context"
	"testing"

	"github.com/paperperps/exchange/client"
)

// A liquidation seen through the SDK: an index drop in SOLUSDT (a market
// only this test moves) liquidates a thin long, and the public and private
// views show it.
func TestLiquidation(t *testing.T) {
	const sol = "SOLUSDT"
	ctx := context.Background()
	maker, long := bot(t), bot(t)
	t.Cleanup(func() { maker.CancelAll(context.Background(), sol) })
	// The test moves the index: start from 150 whatever an earlier run
	// (-count) left.
	must[client.IndexResult](t)(admin.SetIndexPrice(ctx, sol, d("150")))
	// The long account keeps 100 USDT: 5 SOL at 150 at 10x needs 75.
	acct := must[client.Account](t)(long.Account(ctx))
	must[client.Balance](t)(admin.Withdraw(ctx, acct.Account, acct.Wallet.Sub(d("100"))))
	must[client.Settings](t)(long.SetLeverage(ctx, sol, 10))
	must[client.OrderResult](t)(maker.PlaceOrder(ctx, client.Limit(sol, client.Sell, d("150"), d("5"))))
	must[client.OrderResult](t)(long.PlaceOrder(ctx, client.Market(sol, client.Buy, d("5"))))
	// A bid for the liquidation order to hit (inside the price band).
	must[client.OrderResult](t)(maker.PlaceOrder(ctx, client.Limit(sol, client.Buy, d("143"), d("10"))))

	// With no two-sided book the mark is the mean of the index and the
	// last trade: an index of 100 puts it at 125, under the long's
	// liquidation price (about 130).
	ix := must[client.IndexResult](t)(admin.SetIndexPrice(ctx, sol, d("100")))
	if ix.Liquidations != 1 {
		t.Fatalf("index drop: %+v", ix)
	}
	liqs := must[[]client.Liquidation](t)(long.Liquidations(ctx, sol, 1))
	if len(liqs) != 1 || liqs[0].Side != client.Sell || liqs[0].Symbol != sol {
		t.Fatalf("liquidations: %+v", liqs)
	}
	eq(t, "liquidated qty", liqs[0].Qty, d("5"))
	fills := must[[]client.Fill](t)(long.Fills(ctx, sol, 0))
	if len(fills) != 2 || fills[0].Cause != client.CauseLiquidation || fills[0].Side != client.Sell {
		t.Fatalf("fills: %+v", fills)
	}
	hist := must[[]client.Order](t)(long.OrderHistory(ctx, sol, 0))
	if len(hist) != 2 || !hist[0].Liquidation {
		t.Fatalf("history: %+v", hist)
	}
	if pos := must[[]client.Position](t)(long.Positions(ctx, sol)); len(pos) != 0 {
		t.Fatalf("positions: %+v", pos)
	}
	trades := must[[]client.Trade](t)(long.Trades(ctx, sol, 1))
	if len(trades) != 1 || !trades[0].Liquidation {
		t.Fatalf("trades: %+v", trades)
	}
	fund := must[client.InsuranceFund](t)(long.InsuranceFund(ctx))
	if !fund.Balance.IsPositive() || fund.Time == 0 {
		t.Errorf("fund: %+v", fund)
	}
}
