package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/paperperps/exchange/orderbook"
)

// F1 parameters from the design brief: the standard order flow that makes
// book benchmarks comparable across engines.
const (
	F1Commands      = 1_000_000
	f1StartMid      = 100_000
	f1MaxDrift      = 5_000
	f1MoveProb      = 0.05
	f1MaxOffset     = 50
	f1MaxLimitLots  = 100
	f1Accounts      = 1_000
	f1TargetResting = 5_000
)

// F1Config is the book config the flow runs on: the defaults, whose limits
// the flow never reaches (about 5,000 orders over 1,000 accounts), and no
// reference price, so no band.
func F1Config() orderbook.Config { return orderbook.DefaultConfig() }

// GenerateF1 returns the first n commands of flow F1 for seed. Which order a
// cancel picks and how large a market order may be depend on what rests, so
// the generator runs the flow through a real book as it goes; the book is
// deterministic, so a fresh book replaying the commands reaches the same
// states. When a draw is impossible (a cancel with nothing resting, a market
// order against an empty side) the command becomes a limit order instead.
func GenerateF1(seed uint64, n int) ([]orderbook.Command, error) {
	return GenerateF1Accounts(seed, n, f1Accounts)
}

// GenerateF1Accounts is GenerateF1 with orders spread over the given number
// of accounts (uniformly, by the same seeded generator).
func GenerateF1Accounts(seed uint64, n, accounts int) ([]orderbook.Command, error) {
	book, err := orderbook.New(F1Config())
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0xF1))
	cmds := make([]orderbook.Command, 0, n)
	var (
		mid     int64 = f1StartMid
		nextID  orderbook.OrderID
		resting []orderbook.OrderID               // ids of resting orders
		pos     = map[orderbook.OrderID]int{}     // id -> index in resting
		total   [3]int64                          // resting lots by side
		ev      = make([]orderbook.Event, 0, 256) // reused
	)
	drop := func(id orderbook.OrderID) {
		i := pos[id]
		last := resting[len(resting)-1]
		resting[i] = last
		pos[last] = i
		resting = resting[:len(resting)-1]
		delete(pos, id)
	}
	for len(cmds) < n {
		if rng.Float64() < f1MoveProb {
			step := int64(1)
			if rng.IntN(2) == 0 {
				step = -1
			}
			if d := mid + step - f1StartMid; d >= -f1MaxDrift && d <= f1MaxDrift {
				mid += step
			}
		}
		side := orderbook.Buy
		if rng.IntN(2) == 0 {
			side = orderbook.Sell
		}
		var cmd orderbook.Command
		r := rng.IntN(100)
		switch {
		case r >= 60 && r < 85 && len(resting) > 0:
			id := resting[rng.IntN(len(resting))]
			o, _ := book.Order(id)
			cmd = orderbook.Command{Kind: orderbook.CmdCancel, Order: orderbook.Order{ID: id, Account: o.Account}}
		case r >= 85 && total[side.Opposite()] > 0:
			maxLots := max(2, 2*115*int64(len(resting))/f1TargetResting)
			qty := min(1+rng.Int64N(maxLots), total[side.Opposite()])
			nextID++
			cmd = orderbook.Command{Kind: orderbook.CmdPlace, Order: orderbook.Order{ID: nextID,
				Account: orderbook.AccountID(rng.IntN(accounts)), Side: side, Type: orderbook.Market,
				TIF: orderbook.IOC, QtyLots: qty}}
		default:
			off := 1 + rng.Int64N(f1MaxOffset)
			price := mid - off
			if side == orderbook.Sell {
				price = mid + off
			}
			nextID++
			cmd = orderbook.Command{Kind: orderbook.CmdPlace, Order: orderbook.Order{ID: nextID,
				Account: orderbook.AccountID(rng.IntN(accounts)), Side: side, Type: orderbook.Limit,
				TIF: orderbook.GTC, PriceTicks: price, QtyLots: 1 + rng.Int64N(f1MaxLimitLots)}}
		}
		ev = book.Apply(&cmd, ev[:0])
		for _, e := range ev {
			switch e.Kind {
			case orderbook.EventRejected:
				return nil, fmt.Errorf("bench: F1 command %d rejected: %s", len(cmds), e)
			case orderbook.EventFill:
				total[e.Side.Opposite()] -= e.QtyLots
				if e.MakerDone {
					drop(e.MakerOrderID)
				}
			case orderbook.EventCancelled:
				if _, ok := pos[e.OrderID]; ok {
					total[e.Side] -= e.QtyLots
					drop(e.OrderID)
				}
			}
		}
		if cmd.Kind == orderbook.CmdPlace && cmd.Order.Type == orderbook.Limit {
			if o, ok := book.Order(cmd.Order.ID); ok {
				resting = append(resting, o.ID)
				pos[o.ID] = len(resting) - 1
				total[o.Side] += o.RemainingLots
			}
		}
		cmds = append(cmds, cmd)
	}
	return cmds, nil
}
