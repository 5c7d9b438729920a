package clearing_test

import (
	"errors"
	"math"
	"testing"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
)

// Two markets used by the hand-computed tests.
var (
	// BTC-like: tick 0.1 × lot 0.001 = 100 quote units; maker 2 bp, taker 5 bp.
	specBTC = clearing.MarketSpec{QuotePerTickLot: 100, MakerFeeRatePpm: 200, TakerFeeRatePpm: 500}
	// A market with a maker rebate of 1 bp, taker 4 bp, QuotePerTickLot 1.
	specRebate = clearing.MarketSpec{QuotePerTickLot: 1, MakerFeeRatePpm: -100, TakerFeeRatePpm: 400}
)

const bigWallet = 1_000_000_000_000 // 1,000,000 USDT

// newLedger returns a ledger with the two markets above and n accounts,
// each with deposit in its wallet (none if deposit is 0).
func newLedger(t testing.TB, n int, deposit int64) *clearing.Ledger {
	t.Helper()
	l, err := clearing.New(clearing.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []clearing.MarketSpec{specBTC, specRebate} {
		if err := l.AddMarket(clearing.MarketID(i), s); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if r := l.AddAccount(clearing.AccountID(i)); r != clearing.ReasonNone {
			t.Fatal(r)
		}
		if deposit > 0 {
			if r := l.Deposit(clearing.AccountID(i), deposit); r != clearing.ReasonNone {
				t.Fatal(r)
			}
		}
	}
	return l
}

// checkIdentity verifies the conservation identity including unmatched fill
// values: single Fill sides without a counterpart keep it exact too.
func checkIdentity(t *testing.T, l *clearing.Ledger) {
	t.Helper()
	f, err := l.Conservation()
	if err != nil {
		t.Fatal(err)
	}
	held, err1 := f.Held()
	in, err2 := f.NetInflow()
	if err1 != nil || err2 != nil || held != in {
		t.Fatalf("held %d, inflow %d (%v, %v): %+v", held, in, err1, err2, f)
	}
}

type fillStep struct {
	name    string
	qty     int64
	price   int64
	maker   bool
	want    clearing.FillResult // Change, ClosedLots, RealizedPnLQuote, FeeQuote, SizeLots, EntryValueQuote, WalletQuote
	wantFee int64               // fee account after
}

// runSteps applies the steps, in order, to account 0 in market m as lone
// fill sides and checks each result field by field.
func runSteps(t *testing.T, l *clearing.Ledger, m clearing.MarketID, steps []fillStep) {
	t.Helper()
	for _, s := range steps {
		res, err := l.Fill(clearing.FillSide{Account: 0, Market: m, QtyLots: s.qty, PriceTicks: s.price, Maker: s.maker})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		res.InsuranceFundQuote, res.IsolatedMarginQuote = 0, 0 // not under test here
		if res != s.want {
			t.Fatalf("%s:\n got %+v\nwant %+v", s.name, res, s.want)
		}
		if got := l.FeeAccountQuote(); got != s.wantFee {
			t.Fatalf("%s: fee account %d, want %d", s.name, got, s.wantFee)
		}
		checkIdentity(t, l)
	}
}

// A long's whole life in the BTC market, with exact numbers worked by hand.
func TestFillLongLife(t *testing.T) {
	l := newLedger(t, 1, bigWallet)
	runSteps(t, l, 0, []fillStep{{
		// value 3 × 1,000,001 × 100 = 300,000,300; taker fee 5 bp =
		// 150,000.15 -> 150,001 (a charge rounds up).
		name: "open", qty: 3, price: 1_000_001,
		want: clearing.FillResult{Change: clearing.ChangeOpened, FeeQuote: 150_001, SizeLots: 3,
			EntryValueQuote: 300_000_300, WalletQuote: bigWallet - 150_001},
		wantFee: 150_001,
	}, {
		// value 4 × 999,999 × 100 = 399,999,600; maker 2 bp = 79,999.92 ->
		// 80,000. Basis 300,000,300 + 399,999,600 = 699,999,900 (VWAP
		// 999,999.857 ticks).
		name: "increase", qty: 4, price: 999_999, maker: true,
		want: clearing.FillResult{Change: clearing.ChangeIncreased, FeeQuote: 80_000, SizeLots: 7,
			EntryValueQuote: 699_999_900, WalletQuote: bigWallet - 230_001},
		wantFee: 230_001,
	}, {
		// value −2 × 1,000,500 × 100 = −200,100,000; fee 100,050 exactly.
		// Closed basis 699,999,900 × 2/7 = 199,999,971.43 -> up 199,999,972;
		// realized 200,100,000 − 199,999,972 = 100,028 (exact 100,028.57,
		// rounded down). Basis left 499,999,928.
		name: "reduce", qty: -2, price: 1_000_500,
		want: clearing.FillResult{Change: clearing.ChangeReduced, ClosedLots: 2, RealizedPnLQuote: 100_028,
			FeeQuote: 100_050, SizeLots: 5, EntryValueQuote: 499_999_928,
			WalletQuote: bigWallet - 230_001 + 100_028 - 100_050},
		wantFee: 330_051,
	}, {
		// value −5 × 999,000 × 100 = −499,500,000; maker fee 99,900.
		// Realized 499,500,000 − 499,999,928 = −499,928. Over the life:
		// 100,028 − 499,928 = −399,900 = −Σ values (300,000,300 +
		// 399,999,600 − 200,100,000 − 499,500,000 = 399,900): exact.
		name: "close", qty: -5, price: 999_000, maker: true,
		want: clearing.FillResult{Change: clearing.ChangeClosed, ClosedLots: 5, RealizedPnLQuote: -499_928,
			FeeQuote: 99_900, WalletQuote: bigWallet - 829_851},
		wantFee: 429_951,
	}})
}

// A short's life with a rebate, a reduction, a flip to long and a close,
// in the market with QuotePerTickLot 1.
func TestFillShortFlip(t *testing.T) {
	l := newLedger(t, 1, bigWallet)
	runSteps(t, l, 1, []fillStep{{
		// value −4,000,004; taker 4 bp = 1,600.0016 -> 1,601.
		name: "open short", qty: -4, price: 1_000_001,
		want: clearing.FillResult{Change: clearing.ChangeOpened, FeeQuote: 1_601, SizeLots: -4,
			EntryValueQuote: -4_000_004, WalletQuote: bigWallet - 1_601},
		wantFee: 1_601,
	}, {
		// value −3,000,000; maker rebate 1 bp = −300 exactly.
		name: "increase short", qty: -3, price: 1_000_000, maker: true,
		want: clearing.FillResult{Change: clearing.ChangeIncreased, FeeQuote: -300, SizeLots: -7,
			EntryValueQuote: -7_000_004, WalletQuote: bigWallet - 1_301},
		wantFee: 1_301,
	}, {
		// value +2,970,003; rebate −297.0003 -> −297 (toward zero: never
		// overpaid). Closed basis −7,000,004 × 3/7 = −3,000,001.71 -> up
		// −3,000,001; realized 3,000,001 − 2,970,003 = 29,998 (exact
		// 29,998.71, down). Basis left −4,000,003.
		name: "reduce short", qty: 3, price: 990_001, maker: true,
		want: clearing.FillResult{Change: clearing.ChangeReduced, ClosedLots: 3, RealizedPnLQuote: 29_998,
			FeeQuote: -297, SizeLots: -4, EntryValueQuote: -4_000_003,
			WalletQuote: bigWallet - 1_301 + 297 + 29_998},
		wantFee: 1_004,
	}, {
		// value +10,100,000, taker fee 4,040. Close 4 at 1,010,000: value
		// 4,040,000, realized 4,000,003 − 4,040,000 = −39,997; open 6 long
		// with basis 10,100,000 − 4,040,000 = 6,060,000. The short's life:
		// 29,998 − 39,997 = −9,999 = −(−4,000,004 − 3,000,000 + 2,970,003 +
		// 4,040,000): exact.
		name: "flip to long", qty: 10, price: 1_010_000,
		want: clearing.FillResult{Change: clearing.ChangeFlipped, ClosedLots: 4, RealizedPnLQuote: -39_997,
			FeeQuote: 4_040, SizeLots: 6, EntryValueQuote: 6_060_000,
			WalletQuote: bigWallet - 1_301 + 297 + 29_998 - 4_040 - 39_997},
		wantFee: 5_044,
	}, {
		// value −6,060,000, rebate −606, realized 0.
		name: "close long", qty: -6, price: 1_010_000, maker: true,
		want: clearing.FillResult{Change: clearing.ChangeClosed, ClosedLots: 6, FeeQuote: -606,
			WalletQuote: bigWallet - 14_437},
		wantFee: 4_438,
	}})
	if ps := l.OpenPositions(1, nil); len(ps) != 0 {
		t.Fatalf("open positions after close: %+v", ps)
	}
}

// A flip from long to short, and a short closed at a loss.
func TestFillFlipLongToShort(t *testing.T) {
	l := newLedger(t, 1, bigWallet)
	runSteps(t, l, 0, []fillStep{{
		// value 2 × 1,000,000 × 100 = 200,000,000; taker 100,000.
		name: "open long", qty: 2, price: 1_000_000,
		want: clearing.FillResult{Change: clearing.ChangeOpened, FeeQuote: 100_000, SizeLots: 2,
			EntryValueQuote: 200_000_000, WalletQuote: bigWallet - 100_000},
		wantFee: 100_000,
	}, {
		// value −5 × 1,000,100 × 100 = −500,050,000; maker 2 bp =
		// 100,010. Close 2: value −200,020,000, realized 20,000; open −3
		// with basis −300,030,000.
		name: "flip to short", qty: -5, price: 1_000_100, maker: true,
		want: clearing.FillResult{Change: clearing.ChangeFlipped, ClosedLots: 2, RealizedPnLQuote: 20_000,
			FeeQuote: 100_010, SizeLots: -3, EntryValueQuote: -300_030_000,
			WalletQuote: bigWallet - 100_000 + 20_000 - 100_010},
		wantFee: 200_010,
	}, {
		// value +3 × 1,000,200 × 100 = 300,060,000; taker 150,030;
		// realized 300,030,000 − 300,060,000 = −30,000.
		name: "close short at a loss", qty: 3, price: 1_000_200,
		want: clearing.FillResult{Change: clearing.ChangeClosed, ClosedLots: 3, RealizedPnLQuote: -30_000,
			FeeQuote: 150_030, WalletQuote: bigWallet - 100_000 + 20_000 - 100_010 - 150_030 - 30_000},
		wantFee: 350_040,
	}})
}

// Entry price: exact fraction and display rounding.
func TestEntryPrice(t *testing.T) {
	l := newLedger(t, 1, bigWallet)
	for _, f := range []clearing.FillSide{
		{QtyLots: 3, PriceTicks: 1_000_001},
		{QtyLots: 4, PriceTicks: 999_999},
	} {
		if _, err := l.Fill(f); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := l.Position(0, 0)
	num, den, err := p.EntryPrice()
	if err != nil || num != 699_999_900 || den != 700 {
		t.Fatalf("EntryPrice = %d/%d, %v", num, den, err)
	}
	// 699,999,900 / 700 = 999,999.857 -> 1,000,000.
	if got, err := p.EntryPriceTicks(); err != nil || got != 1_000_000 {
		t.Fatalf("EntryPriceTicks = %d, %v", got, err)
	}
	// Unrealized at 1,000,100: 7 × 1,000,100 × 100 − 699,999,900 = 70,100.
	if u, err := p.UnrealizedPnLQuote(1_000_100); err != nil || u != 70_100 {
		t.Fatalf("UnrealizedPnLQuote = %d, %v", u, err)
	}
	for _, c := range []struct {
		p    clearing.Position
		want int64
	}{
		{clearing.Position{SizeLots: 2, EntryValueQuote: 3, QuotePerTickLot: 1}, 2},   // 1.5 -> 2 (half up)
		{clearing.Position{SizeLots: -2, EntryValueQuote: -3, QuotePerTickLot: 1}, 2}, // a short's price is positive too
		{clearing.Position{SizeLots: 4, EntryValueQuote: 5, QuotePerTickLot: 1}, 1},   // 1.25
		{clearing.Position{SizeLots: -4, EntryValueQuote: -7, QuotePerTickLot: 1}, 2}, // 1.75
		{clearing.Position{}, 0},
	} {
		if got, err := c.p.EntryPriceTicks(); err != nil || got != c.want {
			t.Errorf("%+v: EntryPriceTicks = %d, %v; want %d", c.p, got, err, c.want)
		}
	}
	if _, _, err := (clearing.Position{SizeLots: math.MaxInt64, QuotePerTickLot: 2}).EntryPrice(); !errors.Is(err, fixed.ErrOverflow) {
		t.Errorf("overflowing denominator: %v", err)
	}
}

// A trade settles both sides: fees at both rates, conservation exact.
func TestSettleTrade(t *testing.T) {
	l := newLedger(t, 2, bigWallet)
	// Maker 0 sells 3 to taker 1 at 1,000,001 in the rebate market: value
	// 3,000,003; maker rebate −300.0003 -> −300; taker 4 bp = 1,200.0012 ->
	// 1,201. The fee account nets 901.
	res, err := l.SettleTrade(clearing.Trade{Market: 1, PriceTicks: 1_000_001, QtyLots: 3, Maker: 0, Taker: 1, TakerBuys: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Maker.FeeQuote != -300 || res.Maker.SizeLots != -3 || res.Maker.EntryValueQuote != -3_000_003 ||
		res.Taker.FeeQuote != 1_201 || res.Taker.SizeLots != 3 || res.Taker.EntryValueQuote != 3_000_003 {
		t.Fatalf("%+v", res)
	}
	if l.FeeAccountQuote() != 901 {
		t.Fatalf("fee account %d", l.FeeAccountQuote())
	}
	if long, short := l.OpenInterest(1); long != 3 || short != 3 {
		t.Fatalf("open interest %d/%d", long, short)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	// The taker closes against the maker at a higher price: the taker
	// realizes +3 × 9 = 27, the maker −27; the money identity still holds
	// and, both flat, wallets + fees = deposits.
	if _, err := l.SettleTrade(clearing.Trade{Market: 1, PriceTicks: 1_000_010, QtyLots: 3, Maker: 0, Taker: 1}); err != nil {
		t.Fatal(err)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	f, _ := l.Conservation()
	if f.EntryValuesQuote != 0 || f.WalletsQuote+f.FeeAccountQuote != 2*bigWallet {
		t.Fatalf("%+v", f)
	}
}

// A self-trade (maker and taker the same account) settles both sides into
// the one position, in order.
func TestSelfTrade(t *testing.T) {
	l := newLedger(t, 1, bigWallet)
	if _, err := l.Fill(clearing.FillSide{Account: 0, Market: 0, QtyLots: 5, PriceTicks: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	// Maker sells 5 (closing the long: realized 5 × 10 × 100 = 5,000), then
	// taker buys 5 (opening a new long at 1,000,010).
	res, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 1_000_010, QtyLots: 5, Maker: 0, Taker: 0, TakerBuys: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Maker.Change != clearing.ChangeClosed || res.Maker.RealizedPnLQuote != 5_000 ||
		res.Taker.Change != clearing.ChangeOpened || res.Taker.SizeLots != 5 || res.Taker.EntryValueQuote != 500_005_000 {
		t.Fatalf("%+v", res)
	}
	checkIdentity(t, l)
}

// An isolated position pays its fees and losses from its margin; a loss
// beyond the margin is a reported shortfall paid by the insurance fund; a
// profitable close returns the margin to the wallet.
func TestIsolatedShortfall(t *testing.T) {
	l := newLedger(t, 2, 10_000_000)
	if r := l.InsuranceDeposit(600_000); r != clearing.ReasonNone {
		t.Fatal(r)
	}
	for a := range clearing.AccountID(2) {
		if _, r := l.SetMarginMode(a, 0, clearing.Isolated); r != clearing.ReasonNone {
			t.Fatal(r)
		}
		if r := l.AddIsolatedMargin(a, 0, 1_000_000, math.MaxInt64); r != clearing.ReasonNone {
			t.Fatal(r)
		}
	}
	// Taker 0 buys 10 from maker 1 at 1,000,000: value 1,000,000,000;
	// taker fee 500,000, maker fee 200,000, both from isolated margin.
	res, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 1_000_000, QtyLots: 10, Maker: 1, Taker: 0, TakerBuys: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Taker.IsolatedMarginQuote != 500_000 || res.Maker.IsolatedMarginQuote != 800_000 || res.Taker.WalletQuote != 9_000_000 {
		t.Fatalf("%+v", res)
	}
	// Taker 0 sells 10 back to maker 1 at 999,000: value 999,000,000.
	// Account 0: realized −1,000,000, fee 499,500: margin 500,000 −
	// 1,499,500 = −999,500 -> 0, shortfall 999,500: the fund pays its
	// 600,000 and the other 399,500 is bad debt. Its wallet is untouched.
	// Account 1: realized +1,000,000, maker fee 199,800: margin 800,000 +
	// 800,200 = 1,600,200, released to its wallet on the close.
	res, err = l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 999_000, QtyLots: 10, Maker: 1, Taker: 0})
	if err != nil {
		t.Fatal(err)
	}
	want := clearing.FillResult{Change: clearing.ChangeClosed, ClosedLots: 10, RealizedPnLQuote: -1_000_000, FeeQuote: 499_500,
		WalletQuote: 9_000_000, ShortfallQuote: 999_500, InsuranceFundQuote: 0}
	if res.Taker != want {
		t.Fatalf("taker\n got %+v\nwant %+v", res.Taker, want)
	}
	if l.BadDebtQuote() != 399_500 {
		t.Fatalf("bad debt %d", l.BadDebtQuote())
	}
	want = clearing.FillResult{Change: clearing.ChangeClosed, ClosedLots: 10, RealizedPnLQuote: 1_000_000, FeeQuote: 199_800,
		WalletQuote: 9_000_000 + 1_600_200, ReleasedMarginQuote: 1_600_200, InsuranceFundQuote: 600_000}
	if res.Maker != want {
		t.Fatalf("maker\n got %+v\nwant %+v", res.Maker, want)
	}
	if l.InsuranceFundQuote() != 0 {
		t.Fatalf("fund %d", l.InsuranceFundQuote())
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// A cross loss beyond the wallet leaves it negative, reported, and money is
// still conserved.
func TestCrossNegativeWallet(t *testing.T) {
	l := newLedger(t, 2, 1_000_000)
	if _, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 1_000_000, QtyLots: 10, Maker: 1, Taker: 0, TakerBuys: true}); err != nil {
		t.Fatal(err)
	}
	// Account 0: fee 500,000 then realized −10,000,000 and fee 495,000:
	// 1,000,000 − 500,000 − 10,495,000 = −9,995,000.
	res, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 990_000, QtyLots: 10, Maker: 1, Taker: 0})
	if err != nil {
		t.Fatal(err)
	}
	if res.Taker.WalletQuote != -9_995_000 || res.Taker.ShortfallQuote != 0 {
		t.Fatalf("%+v", res.Taker)
	}
	if w, _ := l.Wallet(0); w != -9_995_000 {
		t.Fatal(w)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// Funding: longs pay (rounded up), shorts receive (rounded down), the
// remainder goes to the insurance fund; positions settle in opening order.
func TestFunding(t *testing.T) {
	l := newLedger(t, 3, bigWallet)
	// Account 2 sells 3 to 0, then 4 to 1, at 1,000,000 (maker 2 opens
	// first, then 0, then 1).
	for _, tr := range []clearing.Trade{
		{Market: 0, PriceTicks: 1_000_000, QtyLots: 3, Maker: 2, Taker: 0, TakerBuys: true},
		{Market: 0, PriceTicks: 1_000_000, QtyLots: 4, Maker: 2, Taker: 1, TakerBuys: true},
	} {
		if _, err := l.SettleTrade(tr); err != nil {
			t.Fatal(err)
		}
	}
	w := func(a clearing.AccountID) int64 { v, _ := l.Wallet(a); return v }
	before := [3]int64{w(0), w(1), w(2)}
	fund := l.InsuranceFundQuote()

	// Mark 1,000,001, rate 137 ppm. Notionals: 3 lots 300,000,300, 4 lots
	// 400,000,400, 7 lots 700,000,700. Account 0 pays 41,100.0411 -> 41,101;
	// account 1 pays 54,800.0548 -> 54,801; account 2 receives 95,900.0959
	// -> 95,900. Remainder 95,902 − 95,900 = 2 to the fund.
	buf := make([]clearing.FundingPayment, 0, 8)
	buf, tot, err := l.SettleFunding(0, 1_000_001, 137, buf)
	if err != nil {
		t.Fatal(err)
	}
	wantPay := []clearing.FundingPayment{
		{Account: 2, SizeLots: -7, AmountQuote: 95_900, BalanceQuote: before[2] + 95_900},
		{Account: 0, SizeLots: 3, AmountQuote: -41_101, BalanceQuote: before[0] - 41_101},
		{Account: 1, SizeLots: 4, AmountQuote: -54_801, BalanceQuote: before[1] - 54_801},
	}
	if len(buf) != 3 || buf[0] != wantPay[0] || buf[1] != wantPay[1] || buf[2] != wantPay[2] {
		t.Fatalf("payments\n got %+v\nwant %+v", buf, wantPay)
	}
	wantTot := clearing.FundingTotals{Positions: 3, PaidQuote: 95_902, ReceivedQuote: 95_900, RemainderQuote: 2, InsuranceFundQuote: fund + 2}
	if tot != wantTot {
		t.Fatalf("totals %+v, want %+v", tot, wantTot)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}

	// A negative rate: shorts pay. Account 2 pays 95,900.0959 -> 95,901;
	// the longs receive 41,100 and 54,800; remainder 1.
	_, tot, err = l.SettleFunding(0, 1_000_001, -137, buf[:0])
	if err != nil {
		t.Fatal(err)
	}
	if tot.PaidQuote != 95_901 || tot.ReceivedQuote != 95_900 || tot.RemainderQuote != 1 || tot.InsuranceFundQuote != fund+3 {
		t.Fatalf("%+v", tot)
	}
	if w(0) != before[0]-41_101+41_100 || w(1) != before[1]-54_801+54_800 || w(2) != before[2]+95_900-95_901 {
		t.Fatalf("wallets %d %d %d", w(0), w(1), w(2))
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// An isolated payer whose margin cannot cover its funding: margin to 0, the
// fund pays the shortfall.
func TestFundingIsolatedShortfall(t *testing.T) {
	l := newLedger(t, 2, bigWallet)
	if _, r := l.SetMarginMode(0, 0, clearing.Isolated); r != clearing.ReasonNone {
		t.Fatal(r)
	}
	if r := l.AddIsolatedMargin(0, 0, 600_000, math.MaxInt64); r != clearing.ReasonNone {
		t.Fatal(r)
	}
	// Taker 0 buys 4 at 1,000,000: value 400,000,000, fee 200,000 from
	// its margin (600,000 -> 400,000).
	if _, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 1_000_000, QtyLots: 4, Maker: 1, Taker: 0, TakerBuys: true}); err != nil {
		t.Fatal(err)
	}
	// Rate 0.2% at mark 1,000,000: 800,000 each way; account 0 has 400,000.
	buf, tot, err := l.SettleFunding(0, 1_000_000, 2_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) != 2 || buf[1].Account != 0 || buf[1].AmountQuote != -800_000 || buf[1].ShortfallQuote != 400_000 || buf[1].BalanceQuote != 0 ||
		tot.ShortfallQuote != 400_000 || tot.RemainderQuote != 0 || tot.InsuranceFundQuote != 0 {
		t.Fatalf("%+v %+v", buf, tot)
	}
	// The empty fund pays nothing: the shortfall is bad debt.
	if l.InsuranceFundQuote() != 0 || l.BadDebtQuote() != 400_000 {
		t.Fatalf("fund %d, bad debt %d", l.InsuranceFundQuote(), l.BadDebtQuote())
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestRequestsRefused(t *testing.T) {
	l := newLedger(t, 2, 1_000)
	for _, c := range []struct {
		name string
		got  clearing.Reason
		want clearing.Reason
	}{
		{"deposit unknown", l.Deposit(2, 1), clearing.ReasonUnknownAccount},
		{"deposit zero", l.Deposit(0, 0), clearing.ReasonInvalidAmount},
		{"deposit negative", l.Deposit(0, -5), clearing.ReasonInvalidAmount},
		{"deposit overflow", l.Deposit(0, math.MaxInt64), clearing.ReasonAmountTooLarge},
		{"withdraw zero", l.Withdraw(0, 0, 1_000), clearing.ReasonInvalidAmount},
		{"withdraw above wallet", l.Withdraw(0, 1_001, math.MaxInt64), clearing.ReasonInsufficientBalance},
		{"withdraw above free", l.Withdraw(0, 600, 599), clearing.ReasonExceedsFreeCollateral},
		{"withdraw", l.Withdraw(0, 600, 600), clearing.ReasonNone},
		{"add margin cross", l.AddIsolatedMargin(0, 0, 1, 1), clearing.ReasonNotIsolated},
		{"add margin unknown market", l.AddIsolatedMargin(0, 9, 1, 1), clearing.ReasonUnknownMarket},
		{"remove margin cross", l.RemoveIsolatedMargin(0, 0, 1, 1), clearing.ReasonNotIsolated},
		{"insurance zero", l.InsuranceDeposit(0), clearing.ReasonInvalidAmount},
		{"account not next", l.AddAccount(5), clearing.ReasonAccountIDNotNext},
		{"account duplicate", l.AddAccount(1), clearing.ReasonAccountIDNotNext},
		{"account", l.AddAccount(2), clearing.ReasonNone},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
	if _, r := l.SetMarginMode(0, 0, 7); r != clearing.ReasonInvalidMarginMode {
		t.Error(r)
	}
	if _, r := l.SetMarginMode(0, 0, clearing.Isolated); r != clearing.ReasonNone {
		t.Fatal(r)
	}
	for _, c := range []struct {
		name string
		got  clearing.Reason
		want clearing.Reason
	}{
		{"add margin above wallet", l.AddIsolatedMargin(0, 0, 401, math.MaxInt64), clearing.ReasonInsufficientBalance},
		{"add margin above free", l.AddIsolatedMargin(0, 0, 300, 299), clearing.ReasonExceedsFreeCollateral},
		{"add margin", l.AddIsolatedMargin(0, 0, 300, 300), clearing.ReasonNone},
		{"remove margin above margin", l.RemoveIsolatedMargin(0, 0, 301, math.MaxInt64), clearing.ReasonInsufficientMargin},
		{"remove margin above max", l.RemoveIsolatedMargin(0, 0, 100, 99), clearing.ReasonExceedsFreeMargin},
		{"remove margin", l.RemoveIsolatedMargin(0, 0, 100, 100), clearing.ReasonNone},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
	// Back to cross: the 200 of isolated margin returns to the wallet.
	if rel, r := l.SetMarginMode(0, 0, clearing.Cross); r != clearing.ReasonNone || rel != 200 {
		t.Fatal(rel, r)
	}
	if w, _ := l.Wallet(0); w != 400 {
		t.Fatal(w)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if clearing.ReasonInsufficientBalance.String() != "insufficient-balance" || clearing.Reason(200).String() != "reason(200)" {
		t.Error("Reason.String")
	}
}

// Impossible fills and overflows are Go errors and change nothing, even when
// the second side of a trade is the one that fails.
func TestErrorsChangeNothing(t *testing.T) {
	l := newLedger(t, 2, 0)
	for _, f := range []clearing.FillSide{
		{Account: 2, Market: 0, QtyLots: 1, PriceTicks: 1},
		{Account: 0, Market: 2, QtyLots: 1, PriceTicks: 1},
		{Account: 0, Market: 0, QtyLots: 0, PriceTicks: 1},
		{Account: 0, Market: 0, QtyLots: 1, PriceTicks: 0},
	} {
		if _, err := l.Fill(f); !errors.Is(err, clearing.ErrInvalidFill) {
			t.Errorf("%+v: %v", f, err)
		}
	}
	if _, err := l.Fill(clearing.FillSide{Account: 0, Market: 0, QtyLots: math.MaxInt64 / 10, PriceTicks: 1_000}); !errors.Is(err, fixed.ErrOverflow) {
		t.Errorf("overflowing notional: %v", err)
	}
	// Account 1's wallet is near the top of int64; account 0 buys 1 from
	// it at 100, then sells it back at 10^12: the maker (0) side is fine,
	// the taker (1) side's loss is fine too; reverse roles so the taker's
	// profit overflows its wallet.
	if r := l.Deposit(1, math.MaxInt64-1_000_000_000); r != clearing.ReasonNone {
		t.Fatal(r)
	}
	if _, err := l.SettleTrade(clearing.Trade{Market: 1, PriceTicks: 100, QtyLots: 1, Maker: 0, Taker: 1, TakerBuys: true}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(l)
	_, err := l.SettleTrade(clearing.Trade{Market: 1, PriceTicks: 1_000_000_000_000, QtyLots: 1, Maker: 0, Taker: 1})
	if !errors.Is(err, fixed.ErrOverflow) {
		t.Fatalf("want overflow, got %v", err)
	}
	if after := snapshot(l); after != before {
		t.Fatalf("state changed on error:\n%+v\n%+v", before, after)
	}
	// Funding that would overflow account 1's wallet: account 0 (settled
	// first) must not have paid.
	if _, _, err := l.SettleFunding(1, 1_000_000_000_000_000, -1_000_000, nil); !errors.Is(err, fixed.ErrOverflow) {
		t.Fatalf("want overflow, got %v", err)
	}
	if after := snapshot(l); after != before {
		t.Fatalf("state changed on error:\n%+v\n%+v", before, after)
	}
	for _, c := range []struct {
		m    clearing.MarketID
		mark int64
		rate int64
	}{{5, 1, 1}, {0, 0, 1}, {0, 1, 1_000_001}, {0, 1, -1_000_001}} {
		if _, _, err := l.SettleFunding(c.m, c.mark, c.rate, nil); !errors.Is(err, clearing.ErrInvalidFunding) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	// A lone side leaves the ledger unmatched: the identity still holds with
	// the unmatched value, but CheckConservation and funding refuse it.
	if _, err := l.Fill(clearing.FillSide{Account: 0, Market: 1, QtyLots: 1, PriceTicks: 100}); err != nil {
		t.Fatal(err)
	}
	if err := l.CheckConservation(); !errors.Is(err, clearing.ErrOpenInterest) {
		t.Fatalf("unmatched fill: %v", err)
	}
	if _, _, err := l.SettleFunding(1, 100, 1, nil); !errors.Is(err, clearing.ErrOpenInterest) {
		t.Fatalf("funding with unmatched fill: %v", err)
	}
	checkIdentity(t, l)
}

type state struct {
	w0, w1, fee, fund int64
	p0, p1            clearing.Position
	f                 clearing.Figures
}

func snapshot(l *clearing.Ledger) state {
	var s state
	s.w0, _ = l.Wallet(0)
	s.w1, _ = l.Wallet(1)
	s.fee, s.fund = l.FeeAccountQuote(), l.InsuranceFundQuote()
	s.p0, _ = l.Position(0, 1)
	s.p1, _ = l.Position(1, 1)
	s.f, _ = l.Conservation()
	return s
}

func TestConfigAndMarkets(t *testing.T) {
	err := clearing.Config{}.Validate()
	if !errors.Is(err, clearing.ErrInvalidConfig) {
		t.Fatal(err)
	}
	l, err := clearing.New(clearing.Config{MaxAccounts: 2, MaxMarkets: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   clearing.MarketID
		spec clearing.MarketSpec
	}{
		{1, specBTC}, // not next
		{0, clearing.MarketSpec{QuotePerTickLot: 0}},
		{0, clearing.MarketSpec{QuotePerTickLot: 1, TakerFeeRatePpm: 100, MakerFeeRatePpm: -101}}, // rebate above taker fee
		{0, clearing.MarketSpec{QuotePerTickLot: 1, TakerFeeRatePpm: -1}},
		{0, clearing.MarketSpec{QuotePerTickLot: 1, TakerFeeRatePpm: clearing.MaxFeeRatePpm + 1}},
	} {
		if err := l.AddMarket(c.id, c.spec); !errors.Is(err, clearing.ErrInvalidMarket) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := l.AddMarket(0, specBTC); err != nil {
		t.Fatal(err)
	}
	if err := l.AddMarket(1, specBTC); !errors.Is(err, clearing.ErrInvalidMarket) {
		t.Error("MaxMarkets not enforced", err)
	}
	for i, want := range []clearing.Reason{clearing.ReasonNone, clearing.ReasonNone, clearing.ReasonTooManyAccounts} {
		if r := l.AddAccount(clearing.AccountID(i)); r != want {
			t.Errorf("account %d: %s, want %s", i, r, want)
		}
	}
}

// InsuranceTransfer moves money between a wallet and the fund, both ways,
// and refuses what the paying side does not hold, changing nothing.
func TestInsuranceTransfer(t *testing.T) {
	l := newLedger(t, 1, 1_000)
	if r := l.InsuranceTransfer(0, 300); r != clearing.ReasonNone {
		t.Fatal(r)
	}
	if w, _ := l.Wallet(0); w != 700 || l.InsuranceFundQuote() != 300 {
		t.Fatalf("wallet %d, fund %d", w, l.InsuranceFundQuote())
	}
	if r := l.InsuranceTransfer(0, -100); r != clearing.ReasonNone {
		t.Fatal(r)
	}
	for _, c := range []struct {
		a      clearing.AccountID
		amount int64
		want   clearing.Reason
	}{
		{0, 801, clearing.ReasonInsufficientBalance},  // the wallet holds 800
		{0, -201, clearing.ReasonInsufficientBalance}, // the fund holds 200
		{0, 0, clearing.ReasonInvalidAmount},
		{0, math.MinInt64, clearing.ReasonInvalidAmount},
		{5, 1, clearing.ReasonUnknownAccount},
	} {
		if r := l.InsuranceTransfer(c.a, c.amount); r != c.want {
			t.Errorf("transfer %d of account %d: %v, want %v", c.amount, c.a, r, c.want)
		}
	}
	if w, _ := l.Wallet(0); w != 800 || l.InsuranceFundQuote() != 200 {
		t.Fatalf("wallet %d, fund %d", w, l.InsuranceFundQuote())
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// CoverDeficit brings a negative wallet to 0 from the fund, and what the
// fund cannot pay is bad debt; money stays conserved.
func TestCoverDeficit(t *testing.T) {
	l := newLedger(t, 2, 1_000_000)
	if r := l.InsuranceDeposit(300_000); r != clearing.ReasonNone {
		t.Fatal(r)
	}
	if _, _, r := l.CoverDeficit(0); r != clearing.ReasonNone {
		t.Fatal(r) // a positive wallet: nothing to do
	}
	if w, _ := l.Wallet(0); w != 1_000_000 || l.InsuranceFundQuote() != 300_000 {
		t.Fatal("a positive wallet was touched")
	}
	// Account 0 buys 10 lots at 1,000,000 and sells them back at 990,000:
	// a cross loss beyond its wallet.
	if _, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 1_000_000, QtyLots: 10, Maker: 1, Taker: 0, TakerBuys: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 990_000, QtyLots: 10, Maker: 1, Taker: 0}); err != nil {
		t.Fatal(err)
	}
	w, _ := l.Wallet(0)
	if w >= -300_000 {
		t.Fatalf("wallet %d: the test wants a deficit beyond the fund", w)
	}
	fromFund, badDebt, r := l.CoverDeficit(0)
	if r != clearing.ReasonNone || fromFund != 300_000 || badDebt != -w-300_000 {
		t.Fatalf("covered %d from the fund, %d bad debt (%v), deficit %d", fromFund, badDebt, r, -w)
	}
	if w, _ := l.Wallet(0); w != 0 || l.InsuranceFundQuote() != 0 || l.BadDebtQuote() != badDebt {
		t.Fatalf("wallet %d, fund %d, bad debt %d", w, l.InsuranceFundQuote(), l.BadDebtQuote())
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if _, _, r := l.CoverDeficit(9); r != clearing.ReasonUnknownAccount {
		t.Fatal(r)
	}
}

// A fee-free side pays no fee; the other side pays its usual one.
func TestFeeFreeTrade(t *testing.T) {
	l := newLedger(t, 2, 1_000_000_000)
	res, err := l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 1_000_000, QtyLots: 10, Maker: 1, Taker: 0, TakerBuys: true, TakerFeeFree: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Taker.FeeQuote != 0 || res.Maker.FeeQuote == 0 {
		t.Fatalf("taker fee %d, maker fee %d", res.Taker.FeeQuote, res.Maker.FeeQuote)
	}
	res, err = l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 1_000_000, QtyLots: 10, Maker: 1, Taker: 0, MakerFeeFree: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Taker.FeeQuote == 0 || res.Maker.FeeQuote != 0 {
		t.Fatalf("taker fee %d, maker fee %d", res.Taker.FeeQuote, res.Maker.FeeQuote)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// A rebate is paid out of its trade's taker fee: when the taker pays none
// (a liquidation order), neither is the maker's rebate paid, and the fee
// account, empty here, stays at 0 instead of going below it. With a taker
// fee the same trade pays the rebate. A snapshot of the ledger restores.
func TestFeeFreeTakerPaysNoRebate(t *testing.T) {
	l := newLedger(t, 2, bigWallet)
	const rebate = 1 // specRebate
	trade := clearing.Trade{Market: rebate, PriceTicks: 100_000_000, QtyLots: 1_000, Maker: 1, Taker: 0, TakerBuys: true, TakerFeeFree: true}
	res, err := l.SettleTrade(trade)
	if err != nil {
		t.Fatal(err)
	}
	if res.Taker.FeeQuote != 0 || res.Maker.FeeQuote != 0 || l.FeeAccountQuote() != 0 {
		t.Fatalf("taker fee %d, maker fee %d, fee account %d", res.Taker.FeeQuote, res.Maker.FeeQuote, l.FeeAccountQuote())
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := clearing.Restore(l.AppendSnapshot(nil)); err != nil {
		t.Fatal(err)
	}
	// Notional 10^11 units: taker fee 4 bp = 4·10^7, rebate 1 bp = 10^7.
	trade.TakerFeeFree = false
	if res, err = l.SettleTrade(trade); err != nil {
		t.Fatal(err)
	}
	if res.Taker.FeeQuote != 40_000_000 || res.Maker.FeeQuote != -10_000_000 || l.FeeAccountQuote() != 30_000_000 {
		t.Fatalf("taker fee %d, maker fee %d, fee account %d", res.Taker.FeeQuote, res.Maker.FeeQuote, l.FeeAccountQuote())
	}
	// A positive maker rate is still paid against a fee-free taker.
	res, err = l.SettleTrade(clearing.Trade{Market: 0, PriceTicks: 1_000_000, QtyLots: 10, Maker: 1, Taker: 0, TakerBuys: true, TakerFeeFree: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Maker.FeeQuote != 200_000 { // 10^9 units at 2 bp
		t.Fatalf("maker fee %d", res.Maker.FeeQuote)
	}
}
