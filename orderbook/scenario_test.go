package orderbook

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the files under testdata/scenarios. Each directive is
// one command; its expected output is the events it emits, then the levels
// whose totals changed and the update id. Refresh with -rewrite after a
// deliberate change, and read the diff.
//
//	book [max-price=N] [max-qty=N] [max-orders=N] [max-per-account=N] [max-levels=N] [max-accounts=N] [band-ticks=N] [band-ppm=N]
//	place id=N acct=N side=buy|sell [type=limit|market] [tif=gtc|ioc|fok|post-only] [stp=none|cancel-taker|cancel-maker|cancel-both] [price=N] qty=N
//	cancel id=N acct=N
//	amend id=N acct=N price=N qty=N
//	cancel-account acct=N
//	cancel-all
//	reference price=N
//	command kind=N [order fields]   (a raw command, e.g. of an unknown kind)
//	depth [n=N]
//	orders
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		var b *Book
		var ev []Event
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "book" && b == nil {
				d.Fatalf(t, "the file must start with a book directive")
			}
			var cmd Command
			switch d.Cmd {
			case "book":
				cfg := DefaultConfig()
				cfg.PriceBandPpm = 0
				d.MaybeScanArgs(t, "max-price", &cfg.MaxPriceTicks)
				d.MaybeScanArgs(t, "max-qty", &cfg.MaxOrderLots)
				d.MaybeScanArgs(t, "max-orders", &cfg.MaxRestingOrders)
				d.MaybeScanArgs(t, "max-per-account", &cfg.MaxOrdersPerAccount)
				d.MaybeScanArgs(t, "max-levels", &cfg.MaxPriceLevels)
				d.MaybeScanArgs(t, "max-accounts", &cfg.MaxAccounts)
				d.MaybeScanArgs(t, "band-ticks", &cfg.PriceBandTicks)
				d.MaybeScanArgs(t, "band-ppm", &cfg.PriceBandPpm)
				var err error
				if b, err = New(cfg); err != nil {
					return err.Error()
				}
				return "ok"
			case "depth":
				n := 1000
				d.MaybeScanArgs(t, "n", &n)
				var sb strings.Builder
				for _, s := range []Side{Sell, Buy} {
					lv := b.Depth(s, n, nil)
					if s == Sell {
						slices.Reverse(lv) // print asks above bids
					}
					for _, l := range lv {
						fmt.Fprintf(&sb, "%s %d: %d lots in %d orders\n", s, l.PriceTicks, l.TotalLots, l.Orders)
					}
					if len(lv) == 0 {
						fmt.Fprintf(&sb, "%s: empty\n", s)
					}
				}
				return sb.String()
			case "orders":
				var sb strings.Builder
				for _, s := range []Side{Buy, Sell} {
					for _, o := range b.Orders(s, nil) {
						fmt.Fprintf(&sb, "%s id=%d acct=%d %s price=%d qty=%d filled=%d left=%d stp=%s\n",
							o.Side, o.ID, o.Account, o.TIF, o.PriceTicks, o.QtyLots, o.FilledLots, o.RemainingLots, o.STP)
					}
				}
				if sb.Len() == 0 {
					return "empty\n"
				}
				return sb.String()
			case "place":
				cmd.Kind = CmdPlace
				cmd.Order = Order{Type: Limit, TIF: GTC}
				scanOrder(t, d, &cmd.Order)
			case "cancel":
				cmd.Kind = CmdCancel
				scanOrder(t, d, &cmd.Order)
			case "amend":
				cmd.Kind = CmdAmend
				scanOrder(t, d, &cmd.Order)
			case "cancel-account":
				cmd.Kind = CmdCancelAccount
				scanOrder(t, d, &cmd.Order)
			case "cancel-all":
				cmd.Kind = CmdCancelAll
			case "reference":
				cmd.Kind = CmdSetReference
				scanOrder(t, d, &cmd.Order)
			case "command":
				var kind int
				d.ScanArgs(t, "kind", &kind)
				cmd.Kind = CommandKind(kind)
				scanOrder(t, d, &cmd.Order)
			default:
				d.Fatalf(t, "unknown directive %q", d.Cmd)
			}
			before := b.UpdateID()
			ev = b.Apply(&cmd, ev[:0])
			if err := b.CheckInvariants(); err != nil {
				d.Fatalf(t, "%v", err)
			}
			var sb strings.Builder
			for _, e := range ev {
				sb.WriteString(e.String())
				sb.WriteByte('\n')
			}
			if ch := b.Changes(); len(ch) > 0 {
				sorted := slices.Clone(ch)
				slices.SortFunc(sorted, func(x, y LevelChange) int {
					if x.Side != y.Side {
						return int(x.Side) - int(y.Side)
					}
					return int(x.PriceTicks - y.PriceTicks)
				})
				sb.WriteString("levels:")
				for _, c := range sorted {
					fmt.Fprintf(&sb, " %s %d=%d", c.Side, c.PriceTicks, c.TotalLots)
				}
				fmt.Fprintf(&sb, " (update %d)\n", b.UpdateID())
			} else if b.UpdateID() != before {
				d.Fatalf(t, "update id moved from %d to %d without changes", before, b.UpdateID())
			}
			if sb.Len() == 0 {
				return "no events\n"
			}
			return sb.String()
		})
	})
}

// scanOrder reads the order fields a directive may carry. Enum values are
// names, or numbers to test invalid values.
func scanOrder(t *testing.T, d *datadriven.TestData, o *Order) {
	t.Helper()
	for _, a := range d.CmdArgs {
		if len(a.Vals) != 1 {
			d.Fatalf(t, "argument %q needs exactly one value", a.Key)
		}
		v := a.Vals[0]
		num := func() int64 {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				d.Fatalf(t, "%s=%s: %v", a.Key, v, err)
			}
			return n
		}
		enum := func(names map[string]uint8) uint8 {
			if x, ok := names[v]; ok {
				return x
			}
			return uint8(num())
		}
		switch a.Key {
		case "id":
			o.ID = OrderID(num())
		case "acct":
			o.Account = AccountID(num())
		case "price":
			o.PriceTicks = num()
		case "qty":
			o.QtyLots = num()
		case "side":
			o.Side = Side(enum(map[string]uint8{"buy": uint8(Buy), "sell": uint8(Sell)}))
		case "type":
			o.Type = OrderType(enum(map[string]uint8{"limit": uint8(Limit), "market": uint8(Market)}))
		case "tif":
			o.TIF = TimeInForce(enum(map[string]uint8{"gtc": uint8(GTC), "ioc": uint8(IOC), "fok": uint8(FOK), "post-only": uint8(PostOnly)}))
		case "kind":
			// read by the command directive itself
		case "stp":
			o.STP = STP(enum(map[string]uint8{"none": uint8(STPNone), "cancel-taker": uint8(STPCancelTaker),
				"cancel-maker": uint8(STPCancelMaker), "cancel-both": uint8(STPCancelBoth)}))
		default:
			d.Fatalf(t, "unknown argument %q", a.Key)
		}
	}
}
