package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/shopspring/decimal"
)

// marketsWithMakerFee is the built-in markets, compiled, each with the
// maker rate rate gives it.
func marketsWithMakerFee(t testing.TB, rate func(MarketSpec) decimal.Decimal) []Market {
	t.Helper()
	specs := DefaultMarkets()
	for i := range specs {
		specs[i].MakerFeeRate = rate(specs[i])
	}
	ms, err := Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestScenarios runs the files under testdata/scenarios: trader-readable
// commands with prices, sizes and amounts in decimals, each followed by the
// events it produced (amounts in USDT, prices and sizes in the market's
// units). After every command the money identity and open interest are
// checked. Directives:
//
//	engine [budget=N] [maker-fee=D]            (a new engine; maker-fee sets every market's maker rate)
//	at time=2026-01-01T00:00:00Z            (sets the time of later commands)
//	create-account
//	deposit acct=N amount=D | withdraw acct=N amount=D
//	leverage acct=N market=SYM x=N
//	mode acct=N market=SYM isolated|cross
//	isolated-margin acct=N market=SYM amount=±D
//	index market=SYM price=D
//	place acct=N market=SYM side=buy|sell [type=limit|market] [tif=gtc|ioc|fok|post-only] [price=D] qty=D [reduce-only]
//	      [cid=S] [stop=D|take-profit=D by=mark|last]
//	cancel acct=N market=SYM id=N|cid=S
//	amend acct=N market=SYM id=N|cid=S price=D qty=D   (qty is the new total)
//	cancel-all acct=N market=SYM
//	tick
//	position acct=N market=SYM              (shows the position, its liquidation price and margin figures)
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		var e *Engine
		var ts int64
		var seq uint64
		var ev []Event
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "engine" {
				var err error
				cfg := DefaultConfig()
				if d.HasArg("budget") {
					d.ScanArgs(t, "budget", &cfg.LiquidationsPerCommand)
				}
				if d.HasArg("maker-fee") {
					var rate string
					d.ScanArgs(t, "maker-fee", &rate)
					cfg.Markets = marketsWithMakerFee(t, func(MarketSpec) decimal.Decimal { return decimal.RequireFromString(rate) })
				}
				if e, err = New(cfg); err != nil {
					d.Fatalf(t, "%v", err)
				}
				ts = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
				return "ok"
			}
			if e == nil {
				d.Fatalf(t, "the file must start with an engine directive")
			}
			sc := scenario{t: t, d: d, e: e}
			cmd := Command{TsNanos: ts}
			switch d.Cmd {
			case "at":
				var s string
				d.ScanArgs(t, "time", &s)
				tm, err := time.Parse(time.RFC3339, s)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				ts = tm.UnixNano()
				return "ok"
			case "position":
				return sc.position()
			case "create-account":
				cmd.Kind = CmdCreateAccount
			case "deposit", "withdraw":
				cmd.Kind = map[string]CommandKind{"deposit": CmdDeposit, "withdraw": CmdWithdraw}[d.Cmd]
				cmd.Account = sc.account()
				cmd.AmountQuote = sc.quote("amount")
			case "leverage":
				cmd.Kind, cmd.Account, cmd.Market = CmdSetLeverage, sc.account(), sc.market()
				d.ScanArgs(t, "x", &cmd.Leverage)
			case "mode":
				cmd.Kind, cmd.Account, cmd.Market = CmdSetMarginMode, sc.account(), sc.market()
				cmd.Mode = clearing.Cross
				if d.HasArg("isolated") {
					cmd.Mode = clearing.Isolated
				}
			case "isolated-margin":
				cmd.Kind, cmd.Account, cmd.Market = CmdAdjustIsolatedMargin, sc.account(), sc.market()
				cmd.AmountQuote = sc.quote("amount")
			case "index":
				cmd.Kind, cmd.Market = CmdSetIndexPrice, sc.market()
				cmd.PriceTicks = sc.price("price")
			case "place":
				cmd.Kind, cmd.Account, cmd.Market = CmdPlaceOrder, sc.account(), sc.market()
				sc.order(&cmd)
			case "cancel":
				cmd.Kind, cmd.Account, cmd.Market = CmdCancelOrder, sc.account(), sc.market()
				sc.orderRef(&cmd)
			case "amend":
				cmd.Kind, cmd.Account, cmd.Market = CmdAmendOrder, sc.account(), sc.market()
				sc.orderRef(&cmd)
				cmd.PriceTicks = sc.price("price")
				lots, err := sc.grid().Lots(sc.dec("qty"), 1<<40)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				cmd.QtyLots = lots
			case "cancel-all":
				cmd.Kind, cmd.Account, cmd.Market = CmdCancelAll, sc.account(), sc.market()
			case "tick":
				cmd.Kind = CmdClockTick
			case "insurance-deposit":
				cmd.Kind = CmdInsuranceDeposit
				cmd.AmountQuote = sc.quote("amount")
			default:
				d.Fatalf(t, "unknown directive %q", d.Cmd)
			}
			seq++
			cmd.Seq = seq
			ev = e.Apply(&cmd, ev[:0])
			if err := e.CheckInvariants(); err != nil {
				d.Fatalf(t, "%v", err)
			}
			var b strings.Builder
			for _, x := range ev {
				b.WriteString(sc.format(x))
				b.WriteByte('\n')
			}
			return b.String()
		})
	})
}

type scenario struct {
	t *testing.T
	d *datadriven.TestData
	e *Engine
}

func (s scenario) account() AccountID {
	var a uint32
	s.d.ScanArgs(s.t, "acct", &a)
	return AccountID(a)
}

func (s scenario) market() MarketID {
	var sym string
	s.d.ScanArgs(s.t, "market", &sym)
	for _, m := range s.e.markets {
		if m.Symbol == sym {
			return m.ID
		}
	}
	s.d.Fatalf(s.t, "unknown market %q", sym)
	return 0
}

func (s scenario) dec(key string) decimal.Decimal {
	var v string
	s.d.ScanArgs(s.t, key, &v)
	x, err := decimal.NewFromString(v)
	if err != nil {
		s.d.Fatalf(s.t, "%s=%s: %v", key, v, err)
	}
	return x
}

func (s scenario) quote(key string) int64 {
	x := s.dec(key)
	q, err := fixed.QuoteUnits(x.Abs(), 0, 1<<62)
	if err != nil {
		s.d.Fatalf(s.t, "%v", err)
	}
	if x.IsNegative() {
		q = -q
	}
	return q
}

func (s scenario) grid() fixed.Grid { return s.e.markets[s.market()].Grid }

func (s scenario) price(key string) int64 {
	p, err := s.grid().Ticks(s.dec(key), 1<<40)
	if err != nil {
		s.d.Fatalf(s.t, "%v", err)
	}
	return p
}

func (s scenario) order(cmd *Command) {
	var side, typ, tif string
	s.d.ScanArgs(s.t, "side", &side)
	cmd.Side = map[string]orderbook.Side{"buy": orderbook.Buy, "sell": orderbook.Sell}[side]
	cmd.Type, cmd.TIF = orderbook.Limit, orderbook.GTC
	if s.d.MaybeScanArgs(s.t, "type", &typ) && typ == "market" {
		cmd.Type, cmd.TIF = orderbook.Market, orderbook.IOC
	}
	if s.d.MaybeScanArgs(s.t, "tif", &tif) {
		cmd.TIF = map[string]orderbook.TimeInForce{"gtc": orderbook.GTC, "ioc": orderbook.IOC, "fok": orderbook.FOK, "post-only": orderbook.PostOnly}[tif]
	}
	if s.d.HasArg("price") {
		cmd.PriceTicks = s.price("price")
	}
	lots, err := s.grid().Lots(s.dec("qty"), 1<<40)
	if err != nil {
		s.d.Fatalf(s.t, "%v", err)
	}
	cmd.QtyLots = lots
	cmd.ReduceOnly = s.d.HasArg("reduce-only")
	s.cid(cmd)
	for _, k := range [...]struct {
		key string
		t   Trigger
	}{{"stop", TriggerStop}, {"take-profit", TriggerTakeProfit}} {
		if s.d.HasArg(k.key) {
			cmd.Trigger, cmd.TriggerTicks = k.t, s.price(k.key)
			var by string
			s.d.ScanArgs(s.t, "by", &by)
			cmd.TriggerBy = map[string]TriggerPrice{"mark": TriggerByMark, "last": TriggerByLast}[by]
		}
	}
}

// cid reads an optional cid=S, raw: the engine checks it.
func (s scenario) cid(cmd *Command) {
	var c string
	if s.d.MaybeScanArgs(s.t, "cid", &c) {
		copy(cmd.ClientOrderID[:], c)
	}
}

// orderRef reads id=N or cid=S.
func (s scenario) orderRef(cmd *Command) {
	var id uint64
	if s.d.MaybeScanArgs(s.t, "id", &id) {
		cmd.OrderID = orderbook.OrderID(id)
	}
	s.cid(cmd)
}

func cidSuffix(x Event) string {
	if x.ClientOrderID.IsZero() {
		return ""
	}
	return " cid=" + x.ClientOrderID.String()
}

func usdt(q int64) string { return fixed.QuoteAmount(q).String() }

// format renders an event with decimals in the market's units.
func (s scenario) format(x Event) string {
	g := s.e.markets[x.Market].Grid
	sym := s.e.markets[x.Market].Symbol
	px := func(t int64) string { return g.Price(t).String() }
	qty := func(l int64) string { return g.Qty(l).String() }
	switch x.Kind {
	case EventRejected:
		return fmt.Sprintf("rejected %s acct=%d: %s", x.Command, x.Account, x.Reason)
	case EventAccountCreated:
		return fmt.Sprintf("account %d created", x.Account)
	case EventBalance:
		return fmt.Sprintf("balance acct=%d %s %s -> wallet %s", x.Account, x.Cause, usdt(x.AmountQuote), usdt(x.BalanceQuote))
	case EventSettings:
		return fmt.Sprintf("settings acct=%d %s leverage=%dx %s", x.Account, sym, x.Leverage, x.Mode)
	case EventOrderAccepted:
		out := fmt.Sprintf("order %d accepted acct=%d %s %s %s @ %s", x.OrderID, x.Account, sym, x.Side, qty(x.QtyLots), px(x.PriceTicks))
		if x.Trigger != TriggerNone {
			out += fmt.Sprintf(", %s when %s %s %s", x.Trigger, x.TriggerBy, x.Trigger.op(x.Side), px(x.TriggerTicks))
		}
		return out + cidSuffix(x)
	case EventOrderAmended:
		out := fmt.Sprintf("order %d amended acct=%d %s %s %s @ %s, %s left", x.OrderID, x.Account, sym, x.Side, qty(x.QtyLots), px(x.PriceTicks), qty(x.RemainingLots))
		if x.Reason != ReasonNone {
			out += fmt.Sprintf(" (%s)", x.Reason)
		}
		return out + cidSuffix(x)
	case EventOrderCancelled:
		return fmt.Sprintf("order %d cancelled acct=%d %s left=%s (%s)", x.OrderID, x.Account, sym, qty(x.QtyLots), x.Reason) + cidSuffix(x)
	case EventOrderTriggered:
		return fmt.Sprintf("order %d triggered acct=%d %s %s: %s %s reached %s, %s %s enters", x.OrderID, x.Account, sym, x.Trigger, x.TriggerBy,
			px(x.PriceTicks), px(x.TriggerTicks), x.Side, qty(x.QtyLots)) + cidSuffix(x)
	case EventFill:
		out := fmt.Sprintf("fill %s %s @ %s taker %d/acct %d %s fee %s, maker %d/acct %d fee %s", sym, qty(x.QtyLots), px(x.PriceTicks),
			x.OrderID, x.Account, x.Side, usdt(x.FeeQuote), x.MakerOrderID, x.MakerAccount, usdt(x.MakerFeeQuote))
		if x.Cause != 0 {
			out += " (" + x.Cause.String() + ")"
		}
		return out
	case EventLiquidation:
		avg := "none"
		if x.AvgPriceTicks > 0 {
			avg = px(x.AvgPriceTicks)
		}
		out := fmt.Sprintf("liquidation acct=%d %s %s %s at bankruptcy %s: book avg %s", x.Account, sym, x.Side, qty(x.QtyLots),
			px(x.PriceTicks), avg)
		if x.SizeLots > 0 {
			out += fmt.Sprintf(", fund took %s", qty(x.SizeLots))
		}
		if x.RemainingLots > 0 {
			out += fmt.Sprintf(", adl %s @ %s", qty(x.RemainingLots), px(x.ADLPriceTicks))
		}
		return out
	case EventMarginCall:
		pool := "cross"
		if x.Mode == clearing.Isolated {
			pool = sym + " isolated"
		}
		return fmt.Sprintf("margin-call acct=%d %s: maintenance %s of balance %s (%s)", x.Account, pool, usdt(x.AmountQuote),
			usdt(x.BalanceQuote), fixed.Rate(x.RatePpm))
	case EventADL:
		return fmt.Sprintf("adl acct=%d %s %s %s @ %s against acct %d", x.Account, sym, x.Side, qty(x.QtyLots), px(x.PriceTicks), x.MakerAccount)
	case EventInsuranceFund:
		if x.Cause == CauseDeposit {
			return fmt.Sprintf("insurance-fund deposit %s -> fund %s", usdt(x.AmountQuote), usdt(x.BalanceQuote))
		}
		out := fmt.Sprintf("insurance-fund from acct=%d %s -> fund %s", x.Account, usdt(x.AmountQuote), usdt(x.BalanceQuote))
		if x.BadDebtQuote != 0 {
			out += ", bad debt " + usdt(x.BadDebtQuote)
		}
		return out
	case EventPosition:
		liq := "none"
		if x.LiqPriceTicks > 0 {
			liq = px(x.LiqPriceTicks)
		}
		return fmt.Sprintf("position acct=%d %s %s size=%s entry-value=%s isolated=%s realized=%s liq=%s", x.Account, sym, x.Mode,
			qty(x.SizeLots), usdt(x.EntryValueQuote), usdt(x.IsolatedMarginQuote), usdt(x.RealizedPnLQuote), liq)
	case EventMarkPrice:
		return fmt.Sprintf("mark %s index=%s mark=%s", sym, px(x.IndexTicks), px(x.PriceTicks))
	case EventFunding:
		return fmt.Sprintf("funding acct=%d %s rate=%s amount=%s balance=%s", x.Account, sym, fixed.Rate(x.RatePpm), usdt(x.AmountQuote), usdt(x.BalanceQuote))
	}
	return x.String()
}

// position shows an account's position with the figures a trader checks.
func (s scenario) position() string {
	a, m := s.account(), s.market()
	p, _ := s.e.ledger.Position(a, m)
	w, _ := s.e.ledger.Wallet(a)
	free, _ := s.e.freeCollateral(a)
	g := s.e.markets[m].Grid
	liq := "none"
	if lp := s.e.liquidationPrice(&p); lp > 0 {
		liq = g.Price(lp).String()
	}
	upnl, _ := s.e.unrealized(p)
	n, _ := notionalAt(absInt(p.SizeLots), s.e.markets[m].markTicks, p.QuotePerTickLot)
	mm, _ := s.e.markets[m].Brackets.MaintenanceMargin(n)
	return fmt.Sprintf("%s size=%s wallet=%s isolated=%s unrealized=%s maintenance=%s free=%s liq=%s\n",
		p.Mode, g.Qty(p.SizeLots), usdt(w), usdt(p.IsolatedMarginQuote), usdt(upnl), usdt(mm), usdt(free), liq)
}
