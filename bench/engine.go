package bench

import (
	"fmt"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
	"github.com/shopspring/decimal"
)

// EngineF1Accounts is the population of the engine benchmark.
const EngineF1Accounts = 10_000

// f1StartNanos is 2026-01-01T00:00:01Z: just after a funding time, so the
// flow (one millisecond per command) settles funding only after 8 hours.
const f1StartNanos = 1_767_225_601_000_000_000

// EngineF1 is flow F1 prepared for the engine: an engine with funded
// accounts, and the flow's commands translated to engine commands.
type EngineF1 struct {
	Engine   *engine.Engine
	Commands []engine.Command
	// Setup holds the commands that built Engine's accounts and price,
	// stamped, in order: Setup then Commands is a whole journal.
	Setup []engine.Command
}

// NewEngineF1 builds an engine with one market, the BTCUSDT contract
// without its minimum notional (F1's orders of a few lots at a price of
// 10,000 USDT would fall below it), creates accounts funded with 1,000,000
// USDT each, every third of them isolated, sets the index to F1's starting
// mid, and translates the first n commands of flow F1 (seed) into engine
// commands, one millisecond apart. Every command passes the margin checks,
// so the engine's order ids are the flow's.
func NewEngineF1(seed uint64, n, accounts int) (*EngineF1, error) {
	specs := engine.DefaultMarkets()[:1]
	specs[0].MinNotional = decimal.Zero
	ms, err := engine.Compile(specs)
	if err != nil {
		return nil, err
	}
	cfg := engine.DefaultConfig()
	cfg.Markets = ms
	e, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	flow, err := GenerateF1Accounts(seed, n, accounts)
	if err != nil {
		return nil, err
	}
	seq := uint64(0)
	ts := int64(f1StartNanos)
	var ev []engine.Event
	var setup []engine.Command
	apply := func(c engine.Command) error {
		seq++
		c.Seq, c.TsNanos = seq, ts
		setup = append(setup, c)
		ev = e.Apply(&c, ev[:0])
		for _, x := range ev {
			if x.Kind == engine.EventRejected {
				return fmt.Errorf("bench: setup command %s refused: %s", c.Kind, x.Reason)
			}
		}
		return nil
	}
	for a := range accounts {
		id := engine.AccountID(a)
		err := apply(engine.Command{Kind: engine.CmdCreateAccount})
		if err == nil {
			err = apply(engine.Command{Kind: engine.CmdDeposit, Account: id, AmountQuote: 1_000_000 * fixed.QuoteUnitsPerWhole})
		}
		if err == nil && a%3 == 0 {
			err = apply(engine.Command{Kind: engine.CmdSetMarginMode, Account: id, Mode: clearing.Isolated})
		}
		if err != nil {
			return nil, err
		}
	}
	if err := apply(engine.Command{Kind: engine.CmdSetIndexPrice, PriceTicks: f1StartMid}); err != nil {
		return nil, err
	}
	cmds := make([]engine.Command, len(flow))
	for i, f := range flow {
		ts += 1_000_000
		seq++
		c := engine.Command{Seq: seq, TsNanos: ts, Account: engine.AccountID(f.Order.Account)}
		switch f.Kind {
		case orderbook.CmdPlace:
			c.Kind, c.Side, c.Type, c.TIF, c.STP = engine.CmdPlaceOrder, f.Order.Side, f.Order.Type, f.Order.TIF, f.Order.STP
			c.PriceTicks, c.QtyLots = f.Order.PriceTicks, f.Order.QtyLots
		case orderbook.CmdCancel:
			c.Kind, c.OrderID = engine.CmdCancelOrder, f.Order.ID
		default:
			return nil, fmt.Errorf("bench: F1 has no %d commands", f.Kind)
		}
		cmds[i] = c
	}
	return &EngineF1{Engine: e, Commands: cmds, Setup: setup}, nil
}
