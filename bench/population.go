package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/paperperps/exchange/clearing"
	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/paperperps/exchange/orderbook"
)

// Population is an engine filled with leveraged positions in BTCUSDT, built
// through ordinary commands, for the liquidation benchmarks.
type Population struct {
	Engine *engine.Engine
	// Longs and Shorts are the accounts holding each side.
	Longs, Shorts []engine.AccountID
	seq           uint64
	ts            int64
	ev            []engine.Event
}

// PopulationSpec describes a population.
type PopulationSpec struct {
	Seed uint64
	// Longs is the number of long accounts; each short account takes the
	// other side of LongsPerShort of them (default 1) at the index.
	Longs, LongsPerShort int
	// Longs and shorts draw their leverage uniformly from these ranges.
	LongLeverage, ShortLeverage [2]int64
	// IsolatedShare of the accounts (per mille) trade isolated, the rest
	// cross.
	IsolatedPerMille int
	// SizeLots ranges over each pair's position size.
	SizeLots [2]int64
	// Config is the engine's; nil means the defaults with room for the
	// population.
	Config *engine.Config
}

// populationIndex is the index price the positions open at: 100,000 USDT.
const populationIndex = 1_000_000

// NewPopulation builds the population: every account is funded with the
// initial margin of its position at its leverage plus 1% of the notional
// (fees and a little room), so its liquidation price lies about
// 1/leverage below (long) or above (short) the index.
func NewPopulation(spec PopulationSpec) (*Population, error) {
	cfg := engine.DefaultConfig()
	if spec.Config != nil {
		cfg = *spec.Config
	}
	per := max(spec.LongsPerShort, 1)
	cfg.MaxAccounts = max(cfg.MaxAccounts, spec.Longs+spec.Longs/per+16)
	e, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	p := &Population{Engine: e, ts: f1StartNanos}
	if err := p.Apply(engine.Command{Kind: engine.CmdSetIndexPrice, PriceTicks: populationIndex}); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 4))
	between := func(r [2]int64) int64 { return r[0] + rng.Int64N(r[1]-r[0]+1) }
	qptl := cfg.Markets[0].Grid.QuotePerTickLot()
	open := func(lev, lots int64, side orderbook.Side) (engine.AccountID, error) {
		a := engine.AccountID(e.Ledger().NumAccounts())
		notional := lots * populationIndex * qptl
		cmds := []engine.Command{
			{Kind: engine.CmdCreateAccount},
			{Kind: engine.CmdDeposit, Account: a, AmountQuote: notional/lev + notional/100},
			{Kind: engine.CmdSetLeverage, Account: a, Leverage: lev},
		}
		if rng.IntN(1000) < spec.IsolatedPerMille {
			cmds = append(cmds, engine.Command{Kind: engine.CmdSetMarginMode, Account: a, Mode: clearing.Isolated})
		}
		cmds = append(cmds, engine.Command{Kind: engine.CmdPlaceOrder, Account: a, Side: side, Type: orderbook.Limit,
			TIF: orderbook.GTC, PriceTicks: populationIndex, QtyLots: lots})
		for _, c := range cmds {
			if err := p.Apply(c); err != nil {
				return 0, err
			}
		}
		return a, nil
	}
	for i := 0; i < spec.Longs; i += per {
		n := min(per, spec.Longs-i)
		lots := make([]int64, n)
		var total int64
		for k := range lots {
			lots[k] = between(spec.SizeLots)
			total += lots[k]
		}
		s, err := open(between(spec.ShortLeverage), total, orderbook.Sell)
		if err != nil {
			return nil, err
		}
		p.Shorts = append(p.Shorts, s)
		for _, q := range lots {
			l, err := open(between(spec.LongLeverage), q, orderbook.Buy)
			if err != nil {
				return nil, err
			}
			p.Longs = append(p.Longs, l)
		}
	}
	return p, nil
}

// Apply runs one command, a millisecond after the previous, and fails on a
// refusal.
func (p *Population) Apply(c engine.Command) error {
	p.seq++
	p.ts += 1_000_000
	c.Seq, c.TsNanos = p.seq, p.ts
	p.ev = p.Engine.Apply(&c, p.ev[:0])
	for _, x := range p.ev {
		if x.Kind == engine.EventRejected {
			return fmt.Errorf("bench: command %s of account %d refused: %s", c.Kind, c.Account, x.Reason)
		}
	}
	return nil
}

// Events are the events of the last command.
func (p *Population) Events() []engine.Event { return p.ev }

// Deposit funds account a with usdt whole USDT.
func (p *Population) Deposit(a engine.AccountID, usdt int64) error {
	return p.Apply(engine.Command{Kind: engine.CmdDeposit, Account: a, AmountQuote: usdt * fixed.QuoteUnitsPerWhole})
}
