package clearing_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/paperperps/exchange/clearing"
)

// Markets of the randomized test: different QuotePerTickLot, fee rates with
// and without rebates, so that every rounding path is taken.
var randomSpecs = []clearing.MarketSpec{
	{QuotePerTickLot: 100, MakerFeeRatePpm: 200, TakerFeeRatePpm: 500},
	{QuotePerTickLot: 10, MakerFeeRatePpm: -100, TakerFeeRatePpm: 400},
	{QuotePerTickLot: 1, MakerFeeRatePpm: 0, TakerFeeRatePpm: 700},
	{QuotePerTickLot: 1000, MakerFeeRatePpm: -50, TakerFeeRatePpm: 50},
}

var randomMids = []int64{1_000_000, 300_000, 15_000, 2_000}

const (
	randomAccounts    = 48 // at the start
	randomMaxAccounts = 64 // more are created during the run
)

// TestRandomAgainstReference runs seeded random operations through the
// ledger and the big-number reference and checks after every operation: the
// conservation identity to the unit and long == short open interest
// (CheckInvariants), every wallet, position, fee account and fund equal to
// the reference's, every result field, funding order, and the realized PnL
// bound (exact at every full close). CLEARING_RANDOM_OPS and
// CLEARING_RANDOM_SEED override the defaults (1,000,000 operations, seed 1;
// 100,000 with -short).
func TestRandomAgainstReference(t *testing.T) {
	ops := 1_000_000
	if testing.Short() {
		ops = 100_000
	}
	if s := os.Getenv("CLEARING_RANDOM_OPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		ops = n
	}
	seed := uint64(1)
	if s := os.Getenv("CLEARING_RANDOM_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seed = n
	}
	s := newSim(t, seed)
	for i := range ops {
		s.op = i
		s.step()
	}
	t.Logf("seed %d, %d ops: %+v; max realized lag %s quote units", seed, ops, s.stats, s.ref.maxLag.FloatString(3))
	// Every kind of event must have happened, or the test proves little.
	st := s.stats
	for name, n := range map[string]int{
		"trades": st.trades, "split fills": st.splitFills, "self-trades": st.selfTrades, "opened": st.changes[clearing.ChangeOpened],
		"increased": st.changes[clearing.ChangeIncreased], "reduced": st.changes[clearing.ChangeReduced],
		"closed": st.changes[clearing.ChangeClosed], "flipped": st.changes[clearing.ChangeFlipped],
		"fill shortfalls": st.fillShortfalls, "funding shortfalls": st.fundingShortfalls, "negative wallets": st.negativeWallets,
		"releases": st.releases, "rebates": st.rebates, "fundings": st.fundings, "refusals": st.refusals,
		"bad debts": st.badDebts,
	} {
		if n == 0 && ops >= 100_000 {
			t.Errorf("no %s in %d operations", name, ops)
		}
	}
}

type simStats struct {
	trades, splitFills, selfTrades                       int
	changes                                              [6]int
	fillShortfalls, fundingShortfalls, negativeWallets   int
	releases, rebates, fundings, refusals, badDebts      int
	deposits, withdrawals, modeChanges, marginMoves, new int
}

type sim struct {
	t       *testing.T
	rng     *rand.Rand
	l       *clearing.Ledger
	ref     *refLedger
	mid     []int64
	buf     []clearing.FundingPayment
	op      int
	stats   simStats
	badDebt int64 // the ledger's, after the previous operation
}

func newSim(t *testing.T, seed uint64) *sim {
	l, err := clearing.New(clearing.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, rng: rand.New(rand.NewPCG(seed, 0x5eed)), l: l, ref: newRef(randomSpecs), mid: append([]int64(nil), randomMids...)}
	for m, spec := range randomSpecs {
		if err := l.AddMarket(clearing.MarketID(m), spec); err != nil {
			t.Fatal(err)
		}
	}
	for range randomAccounts {
		s.addAccount()
	}
	for a := range clearing.AccountID(randomAccounts) {
		amt := 1e9 + s.rng.Int64N(1e11)
		s.expectReason("deposit", l.Deposit(a, amt), s.ref.depositReq(a, amt))
	}
	s.expectReason("insurance", l.InsuranceDeposit(1e10), s.ref.insuranceReq(1e10))
	s.check()
	return s
}

func (s *sim) addAccount() {
	id := clearing.AccountID(s.l.NumAccounts())
	if r := s.l.AddAccount(id); r != clearing.ReasonNone {
		s.fail("AddAccount(%d): %s", id, r)
	}
	s.ref.addAccount()
}

func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("op %d: "+format, append([]any{s.op}, args...)...)
}

func (s *sim) expectReason(what string, got, want clearing.Reason) {
	if got != want {
		s.fail("%s: reason %s, reference %s", what, got, want)
	}
	if got != clearing.ReasonNone {
		s.stats.refusals++
	}
}

// account picks an account, now and then an unknown one.
func (s *sim) account(unknownOneIn int) clearing.AccountID {
	if unknownOneIn > 0 && s.rng.IntN(unknownOneIn) == 0 {
		return clearing.AccountID(s.l.NumAccounts() + s.rng.IntN(3))
	}
	return clearing.AccountID(s.rng.IntN(s.l.NumAccounts()))
}

func (s *sim) market() clearing.MarketID { return clearing.MarketID(s.rng.IntN(len(randomSpecs))) }

func (s *sim) step() {
	switch x := s.rng.IntN(1000); {
	case x < 560:
		s.trade()
	case x < 620:
		s.deposit()
	case x < 680:
		s.withdraw()
	case x < 720:
		s.setMode()
	case x < 820:
		s.addMargin()
	case x < 870:
		s.removeMargin()
	case x < 880:
		amt := s.rng.Int64N(1e9) - 1e7 // sometimes not positive
		s.expectReason("insurance", s.l.InsuranceDeposit(amt), s.ref.insuranceReq(amt))
	case x < 910:
		s.funding()
	case x < 912:
		if s.l.NumAccounts() < randomMaxAccounts {
			s.addAccount()
			s.stats.new++
		}
	default:
		// A price shock: the mid moves 5-20% so that positions take large
		// losses, isolated margins run out and cross wallets go negative.
		m := s.market()
		pct := 5 + s.rng.Int64N(16)
		if s.rng.IntN(2) == 0 {
			pct = -pct
		}
		s.mid[m] = max(randomMids[m]/4, min(randomMids[m]*4, s.mid[m]+s.mid[m]*pct/100))
	}
	s.check()
}

func (s *sim) check() {
	if err := s.l.CheckInvariants(); err != nil {
		s.fail("%v", err)
	}
	if err := s.ref.compare(s.l); err != nil {
		s.fail("%v", err)
	}
	if s.ref.closedRealized.Cmp(s.ref.closedExact.Num()) != 0 || !s.ref.closedExact.IsInt() {
		s.fail("closed positions realized %s, exact %s", s.ref.closedRealized, s.ref.closedExact.RatString())
	}
	if s.l.InsuranceFundQuote() < 0 {
		s.fail("insurance fund %d", s.l.InsuranceFundQuote())
	}
	if s.l.BadDebtQuote() > s.badDebt {
		s.stats.badDebts++
	}
	s.badDebt = s.l.BadDebtQuote()
}

func sign(v int64) int64 {
	if v < 0 {
		return -1
	}
	return 1
}

func (s *sim) trade() {
	m := s.market()
	maker, taker := s.account(0), s.account(0)
	if s.rng.IntN(30) != 0 {
		for maker == taker {
			taker = s.account(0)
		}
	}
	mp, _ := s.l.Position(maker, m)
	tp, _ := s.l.Position(taker, m)
	var takerQty int64
	switch k := s.rng.IntN(10); {
	case k < 2 && tp.SizeLots != 0:
		takerQty = -tp.SizeLots // the taker closes
	case k < 4 && mp.SizeLots != 0:
		takerQty = mp.SizeLots // the maker closes
	case k < 5 && tp.SizeLots != 0:
		takerQty = -tp.SizeLots - sign(tp.SizeLots)*(1+s.rng.Int64N(50)) // the taker flips
	default:
		takerQty = (1 + s.rng.Int64N(100)) * sign(s.rng.Int64N(2)-1)
	}
	mid := s.mid[m]
	s.mid[m] = max(randomMids[m]/4, min(randomMids[m]*4, mid+s.rng.Int64N(mid/250+1)-mid/500))
	price := max(1, mid+s.rng.Int64N(mid/100+1)-mid/200)

	s.stats.trades++
	if maker == taker {
		s.stats.selfTrades++
	}
	if s.rng.IntN(10) == 0 {
		// Two lone sides, in either order; conservation is checked after
		// both.
		s.stats.splitFills++
		sides := [2]clearing.FillSide{
			{Account: maker, Market: m, QtyLots: -takerQty, PriceTicks: price, Maker: true},
			{Account: taker, Market: m, QtyLots: takerQty, PriceTicks: price},
		}
		if s.rng.IntN(2) == 0 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, f := range sides {
			res, err := s.l.Fill(f)
			if err != nil {
				s.fail("Fill(%+v): %v", f, err)
			}
			s.checkFill(f, res, s.ref.fill(f.Account, m, f.QtyLots, price, f.Maker))
		}
		return
	}
	tr := clearing.Trade{Market: m, PriceTicks: price, QtyLots: abs64(takerQty), Maker: maker, Taker: taker, TakerBuys: takerQty > 0}
	res, err := s.l.SettleTrade(tr)
	if err != nil {
		s.fail("SettleTrade(%+v): %v", tr, err)
	}
	s.checkFill(maker, res.Maker, s.ref.fill(maker, m, -takerQty, price, true))
	s.checkFill(taker, res.Taker, s.ref.fill(taker, m, takerQty, price, false))
}

// checkFill compares a fill side's result with the reference's; what (the
// fill or the account) is only formatted on failure.
func (s *sim) checkFill(what any, got clearing.FillResult, want refFill) {
	if got.Change != want.change || got.ClosedLots != want.closed || got.RealizedPnLQuote != want.realized ||
		got.FeeQuote != want.fee || got.SizeLots != want.sizeAfter || got.EntryValueQuote != want.basisAfter ||
		got.IsolatedMarginQuote != want.isoAfter || got.WalletQuote != want.walletAfter ||
		got.ReleasedMarginQuote != want.released || got.ShortfallQuote != want.shortfall ||
		got.InsuranceFundQuote != want.fundAfter {
		s.fail("%+v:\n got %+v\nwant %+v", what, got, want)
	}
	// The realized PnL of the current life trails the exact rational one
	// by at least 0 and less than one unit per partial reduction, and
	// equals it at a full close.
	if want.lagAfter.Sign() < 0 || (want.reductions == 0 && want.lagAfter.Sign() != 0) ||
		want.lagAfter.Cmp(new(big.Rat).SetInt64(int64(max(want.reductions, 1)))) >= 0 {
		s.fail("%+v: realized lags the exact value by %s after %d reductions", what, want.lagAfter.RatString(), want.reductions)
	}
	if want.lifeEnded && (!want.lifeExactAtEnd.IsInt() || want.lifeExactAtEnd.Num().Cmp(want.lifeRealizedAtEnd) != 0) {
		s.fail("%+v: life closed with realized %s, exact %s", what, want.lifeRealizedAtEnd, want.lifeExactAtEnd.RatString())
	}
	s.stats.changes[got.Change]++
	if got.ShortfallQuote > 0 {
		s.stats.fillShortfalls++
	}
	if got.WalletQuote < 0 {
		s.stats.negativeWallets++
	}
	if got.ReleasedMarginQuote > 0 {
		s.stats.releases++
	}
	if got.FeeQuote < 0 {
		s.stats.rebates++
	}
}

func (s *sim) deposit() {
	a := s.account(100)
	amt := 1 + s.rng.Int64N(1e10)
	if s.rng.IntN(20) == 0 {
		amt = -s.rng.Int64N(3)
	}
	s.stats.deposits++
	s.expectReason("Deposit", s.l.Deposit(a, amt), s.ref.depositReq(a, amt))
}

func (s *sim) withdraw() {
	a := s.account(100)
	w, _ := s.l.Wallet(a)
	amt := 1 + s.rng.Int64N(max(w, 1e6)*6/5)
	if s.rng.IntN(20) == 0 {
		amt = -s.rng.Int64N(3)
	}
	free := amt + s.rng.Int64N(2e6) - 1e6
	s.stats.withdrawals++
	s.expectReason("Withdraw", s.l.Withdraw(a, amt, free), s.ref.withdrawReq(a, amt, free))
}

func (s *sim) setMode() {
	a, m := s.account(100), s.market()
	mode := clearing.MarginMode(s.rng.IntN(2))
	if s.rng.IntN(50) == 0 {
		mode = 2
	}
	if s.rng.IntN(100) == 0 {
		m = clearing.MarketID(len(randomSpecs))
	}
	s.stats.modeChanges++
	rel, r := s.l.SetMarginMode(a, m, mode)
	wantRel, wantR := s.ref.setMode(a, m, mode)
	s.expectReason("SetMarginMode", r, wantR)
	if rel != wantRel {
		s.fail("SetMarginMode released %d, reference %d", rel, wantRel)
	}
}

func (s *sim) addMargin() {
	a, m := s.account(100), s.market()
	amt := 1 + s.rng.Int64N(5e8)
	if s.rng.IntN(20) == 0 {
		amt = -s.rng.Int64N(3)
	}
	free := amt - s.rng.Int64N(2)
	if s.rng.IntN(2) == 0 {
		free = math.MaxInt64
	}
	s.stats.marginMoves++
	s.expectReason("AddIsolatedMargin", s.l.AddIsolatedMargin(a, m, amt, free), s.ref.addMargin(a, m, amt, free))
}

func (s *sim) removeMargin() {
	a, m := s.account(100), s.market()
	p, _ := s.l.Position(a, m)
	amt := 1 + s.rng.Int64N(p.IsolatedMarginQuote*11/10+2)
	if s.rng.IntN(20) == 0 {
		amt = -s.rng.Int64N(3)
	}
	maxQ := amt - s.rng.Int64N(2)
	s.stats.marginMoves++
	s.expectReason("RemoveIsolatedMargin", s.l.RemoveIsolatedMargin(a, m, amt, maxQ), s.ref.removeMargin(a, m, amt, maxQ))
}

func (s *sim) funding() {
	m := s.market()
	mark := max(1, s.mid[m]+s.rng.Int64N(s.mid[m]/50+1)-s.mid[m]/100)
	var rate int64
	switch k := s.rng.IntN(10); {
	case k == 0:
		rate = 0
	case k == 1:
		rate = (10_000 + s.rng.Int64N(90_000)) * sign(s.rng.Int64N(2)-1) // 1-10%: shortfalls
	default:
		rate = s.rng.Int64N(4001) - 2000
	}
	var tot clearing.FundingTotals
	var err error
	s.buf, tot, err = s.l.SettleFunding(m, mark, rate, s.buf[:0])
	if err != nil {
		s.fail("SettleFunding(%d, %d, %d): %v", m, mark, rate, err)
	}
	want, paid, received := s.ref.funding(m, mark, rate)
	if len(s.buf) != len(want) || tot.Positions != len(want) || paid != tot.PaidQuote || received != tot.ReceivedQuote ||
		tot.RemainderQuote != tot.PaidQuote-tot.ReceivedQuote || tot.RemainderQuote < 0 || tot.InsuranceFundQuote != s.l.InsuranceFundQuote() {
		s.fail("funding totals %+v (%d payments), reference %d payments, paid %d, received %d", tot, len(s.buf), len(want), paid, received)
	}
	var lastSeq uint64
	var shortfall int64
	for _, p := range s.buf {
		w, ok := want[p.Account]
		if !ok || w.amount != p.AmountQuote || w.shortfall != p.ShortfallQuote {
			s.fail("funding payment %+v, reference %+v (%t)", p, w, ok)
		}
		// Settled in the order the positions opened.
		seq := s.ref.pos[p.Account][m].openSeq
		if seq <= lastSeq {
			s.fail("funding order: account %d opened at %d after %d", p.Account, seq, lastSeq)
		}
		lastSeq = seq
		shortfall += p.ShortfallQuote
		if p.ShortfallQuote > 0 {
			s.stats.fundingShortfalls++
		}
	}
	if shortfall != tot.ShortfallQuote {
		s.fail("funding shortfalls add to %d, total says %d", shortfall, tot.ShortfallQuote)
	}
	s.stats.fundings++
}
