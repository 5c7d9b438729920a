package orderbook

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// genProfile shapes a random command stream: a book config small enough
// that its limits are hit, and a market narrow enough that the book crosses
// often.
type genProfile struct {
	name string
	cfg  Config
	// accounts are the valid ids used (0..accounts-1); most orders come from
	// the first hotAccounts, so that self-trades are frequent.
	accounts, hotAccounts int
	// The mid price starts at midStart and drifts within [midMin, midMax].
	midStart, midMin, midMax int64
	// spread is how far from the mid a resting price typically lies.
	spread int64
	// maxQty is the typical largest quantity of an order.
	maxQty int64
	// stampStart, if set, is the book's command stamp at the start, so that
	// the 32-bit stamp wraps around during the run.
	stampStart uint32
}

// genProfiles are the configurations the differential test runs; the fuzz
// target picks among them with its first byte.
var genProfiles = []genProfile{
	{
		name: "ppm-band",
		cfg: Config{
			MaxPriceTicks: 1 << 20, MaxOrderLots: 1000, MaxRestingOrders: 160,
			MaxOrdersPerAccount: 8, MaxPriceLevels: 40, MaxAccounts: 32, PriceBandPpm: 5000,
		},
		accounts: 30, hotAccounts: 3,
		midStart: 10_000, midMin: 9_000, midMax: 11_000, spread: 12, maxQty: 10,
	},
	{
		name: "no-band",
		cfg: Config{
			MaxPriceTicks: 1 << 32, MaxOrderLots: MaxOrderLotsLimit, MaxRestingOrders: 120,
			MaxOrdersPerAccount: 12, MaxPriceLevels: 45, MaxAccounts: 20,
		},
		accounts: 20, hotAccounts: 4,
		midStart: 5_000, midMin: 4_000, midMax: 6_000, spread: 8, maxQty: 20,
	},
	{
		name: "ticks-band",
		cfg: Config{
			MaxPriceTicks: 1 << 32, MaxOrderLots: 100, MaxRestingOrders: 128,
			MaxOrdersPerAccount: 8, MaxPriceLevels: 16, MaxAccounts: 1 << 24, PriceBandTicks: 15,
		},
		accounts: 30, hotAccounts: 2,
		midStart: 100_000, midMin: 90_000, midMax: 110_000, spread: 10, maxQty: 5,
	},
	{
		// Prices reach both ends of the allowed range, and both bands are
		// set, so which one is narrower depends on the reference price.
		name: "edges-both-bands",
		cfg: Config{
			MaxPriceTicks: 300, MaxOrderLots: 50, MaxRestingOrders: 64,
			MaxOrdersPerAccount: 6, MaxPriceLevels: 30, MaxAccounts: 16, PriceBandTicks: 40, PriceBandPpm: 200_000,
		},
		accounts: 16, hotAccounts: 3,
		midStart: 150, midMin: 1, midMax: 300, spread: 20, maxQty: 8,
	},
	{
		// Everything tiny: every limit is hit all the time, and a band of
		// 100% of the reference price.
		name: "tiny",
		cfg: Config{
			MaxPriceTicks: 12, MaxOrderLots: 6, MaxRestingOrders: 4,
			MaxOrdersPerAccount: 2, MaxPriceLevels: 2, MaxAccounts: 3, PriceBandPpm: 1_000_000,
		},
		accounts: 3, hotAccounts: 2,
		midStart: 6, midMin: 1, midMax: 12, spread: 3, maxQty: 3,
	},
	{
		// Many orders spread over thousands of ticks: levels on many pages,
		// the id ring growing, and the 32-bit command stamp wrapping.
		name: "wide",
		cfg: Config{
			MaxPriceTicks: 1 << 24, MaxOrderLots: 1000, MaxRestingOrders: 600,
			MaxOrdersPerAccount: 200, MaxPriceLevels: 300, MaxAccounts: 1 << 20, PriceBandPpm: 20_000,
		},
		accounts: 40, hotAccounts: 4,
		midStart: 1_000_000, midMin: 900_000, midMax: 1_100_000, spread: 3000, maxQty: 10,
		stampStart: 1<<32 - 100_000,
	},
}

// cmdGen draws a seeded stream of commands. It looks at the reference book
// to aim cancels and amends at live orders; since the reference is itself
// deterministic, a seed always gives the same stream.
type cmdGen struct {
	p      genProfile
	rng    *rand.Rand
	ref    *refBook
	mid    int64
	nextID OrderID
	// recent holds ids and owners of recently placed orders, most of them
	// filled or cancelled by now: the dead ids of cancels and reuses.
	recent  [64]genRecent
	nRecent int
}

type genRecent struct {
	id   OrderID
	acct AccountID
}

func newCmdGen(p genProfile, seed uint64, ref *refBook) *cmdGen {
	return &cmdGen{
		p:      p,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		ref:    ref,
		mid:    p.midStart,
		nextID: 1,
	}
}

func (g *cmdGen) chance(perMille int) bool { return g.rng.IntN(1000) < perMille }

// between returns a uniform value in [lo, hi].
func (g *cmdGen) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.Int64N(hi-lo+1)
}

func (g *cmdGen) clampPrice(p int64) int64 {
	return max(1, min(p, g.p.cfg.MaxPriceTicks))
}

func (g *cmdGen) side() Side {
	if g.rng.IntN(2) == 0 {
		return Buy
	}
	return Sell
}

func (g *cmdGen) account() AccountID {
	if g.rng.IntN(100) < 30 {
		return AccountID(g.rng.IntN(g.p.hotAccounts))
	}
	return AccountID(g.rng.IntN(g.p.accounts))
}

func (g *cmdGen) badAccount() AccountID {
	switch g.rng.IntN(3) {
	case 0:
		return AccountID(g.p.cfg.MaxAccounts)
	case 1:
		return AccountID(g.p.cfg.MaxAccounts + 1 + g.rng.IntN(100))
	}
	return math.MaxUint32
}

// limitPrice is a price for side s: crossing the mid with probability
// crossPct percent, else mostly resting on its own side of the mid, now and
// then far away (outside a band).
func (g *cmdGen) limitPrice(s Side, crossPct int) int64 {
	sign := int64(1)
	if s == Sell {
		sign = -1
	}
	var off int64 // positive = towards the other side
	switch r := g.rng.IntN(100); {
	case r < crossPct:
		off = g.between(1, g.p.spread/2+1)
	case r < 96:
		off = -g.between(0, g.p.spread)
	default:
		off = g.between(-6*g.p.spread, 6*g.p.spread)
	}
	return g.clampPrice(g.mid + sign*off)
}

func (g *cmdGen) qty() int64 {
	var q int64
	switch r := g.rng.IntN(1000); {
	case r < 850:
		q = g.between(1, g.p.maxQty)
	case r < 995:
		q = g.between(1, 4*g.p.maxQty)
	default:
		q = g.between(1, g.p.cfg.MaxOrderLots)
	}
	return min(q, g.p.cfg.MaxOrderLots)
}

// newID returns an id above every id used so far. Ids must increase but
// need not be dense: now and then the generator jumps far ahead.
func (g *cmdGen) newID() OrderID {
	if g.chance(20) {
		g.nextID += OrderID(g.rng.Uint64N(1 << 20))
	}
	id := g.nextID
	g.nextID++
	return id
}

func (g *cmdGen) remember(id OrderID, acct AccountID) {
	g.recent[g.nRecent%len(g.recent)] = genRecent{id, acct}
	g.nRecent++
}

func (g *cmdGen) pickRecent() (genRecent, bool) {
	if g.nRecent == 0 {
		return genRecent{}, false
	}
	n := min(g.nRecent, len(g.recent))
	return g.recent[g.rng.IntN(n)], true
}

// live returns a uniformly chosen resting order of the reference book.
func (g *cmdGen) live() (*refOrder, bool) {
	n := g.ref.Len()
	if n == 0 {
		return nil, false
	}
	i := g.rng.IntN(n)
	if i < len(g.ref.bids) {
		return g.ref.bids[i], true
	}
	return g.ref.asks[i-len(g.ref.bids)], true
}

// livePartlyFilled prefers a resting order that has traded.
func (g *cmdGen) livePartlyFilled() (*refOrder, bool) {
	n := g.ref.Len()
	if n == 0 {
		return nil, false
	}
	start := g.rng.IntN(n)
	for k := range n {
		i := (start + k) % n
		var o *refOrder
		if i < len(g.ref.bids) {
			o = g.ref.bids[i]
		} else {
			o = g.ref.asks[i-len(g.ref.bids)]
		}
		if o.FilledLots > 0 {
			return o, true
		}
	}
	return g.live()
}

func (g *cmdGen) otherAccount(a AccountID) AccountID {
	b := AccountID(g.rng.IntN(g.p.accounts))
	if b == a {
		b = (a + 1) % AccountID(g.p.accounts)
	}
	return b
}

func (g *cmdGen) next() Command {
	if g.rng.IntN(10) == 0 {
		g.mid += int64(g.rng.IntN(2)*2 - 1)
		g.mid = max(g.p.midMin, min(g.mid, g.p.midMax))
	}
	// Near the book's limit, cancel more and place less, so that the book
	// hovers around its limit instead of sitting on it.
	placeShare := 6_700
	if g.ref.Len() > g.p.cfg.MaxRestingOrders*19/20 {
		placeShare = 4_500
	}
	switch r := g.rng.IntN(10_000); {
	case r < placeShare:
		return g.place()
	case r < 7_900:
		return g.cancel()
	case r < 9_500:
		return g.amend()
	case r < 9_850:
		return g.setReference()
	case r < 9_950:
		return g.cancelAccount()
	case r < 9_951:
		return Command{Kind: CmdCancelAll}
	default:
		kinds := [...]CommandKind{0, CmdSetReference + 1, 200}
		return Command{Kind: kinds[g.rng.IntN(len(kinds))], Order: Order{
			ID: g.nextID, Account: g.account(), Side: g.side(), Type: Limit, TIF: GTC,
			PriceTicks: g.mid, QtyLots: 1,
		}}
	}
}

func (g *cmdGen) place() Command {
	o := Order{ID: g.newID(), Account: g.account(), Side: g.side()}
	cross := 15
	switch r := g.rng.IntN(100); {
	case r < 58:
		o.Type, o.TIF = Limit, GTC
	case r < 66:
		o.Type, o.TIF, cross = Limit, IOC, 60
	case r < 74:
		o.Type, o.TIF, cross = Limit, FOK, 60
	case r < 86:
		o.Type, o.TIF, cross = Limit, PostOnly, 25
	case r < 94:
		o.Type, o.TIF, cross = Market, IOC, 50
	default:
		o.Type, o.TIF, cross = Market, FOK, 50
	}
	if g.rng.IntN(2) == 1 {
		o.STP = STP(1 + g.rng.IntN(3))
	}
	if o.Type == Limit || g.rng.IntN(2) == 0 {
		o.PriceTicks = g.limitPrice(o.Side, cross)
	}
	o.QtyLots = g.qty()
	if o.TIF != GTC && o.TIF != PostOnly {
		// Takers smaller than makers, so that the book builds up.
		o.QtyLots = max(1, o.QtyLots/2)
	}
	if g.chance(10) {
		// Reuse the id of an order that is gone: refused, ids must increase.
		if rec, ok := g.pickRecent(); ok {
			o.ID = rec.id
		}
	}
	if g.chance(60) {
		g.corruptOrder(&o)
	}
	if o.ID != 0 {
		g.remember(o.ID, o.Account)
	}
	return Command{Kind: CmdPlace, Order: o}
}

// corruptOrder breaks one field of o (or makes it a limit case).
func (g *cmdGen) corruptOrder(o *Order) {
	cfg := &g.p.cfg
	switch g.rng.IntN(12) {
	case 0:
		o.ID = 0
	case 1:
		if l, ok := g.live(); ok {
			o.ID = l.ID
			if g.rng.IntN(2) == 0 {
				o.Account = l.Account
			}
		}
	case 2:
		o.Account = g.badAccount()
	case 3:
		o.Side = []Side{0, 3, 255}[g.rng.IntN(3)]
	case 4:
		o.Type = []OrderType{0, 3, 255}[g.rng.IntN(3)]
	case 5:
		if o.Type == Market && g.rng.IntN(2) == 0 {
			o.TIF = []TimeInForce{GTC, PostOnly}[g.rng.IntN(2)]
		} else {
			o.TIF = []TimeInForce{0, 5, 255}[g.rng.IntN(3)]
		}
	case 6:
		o.STP = []STP{4, 5, 255}[g.rng.IntN(3)]
	case 7:
		o.QtyLots = []int64{0, -1, -g.between(2, 1000), math.MinInt64}[g.rng.IntN(4)]
	case 8:
		o.QtyLots = []int64{cfg.MaxOrderLots, cfg.MaxOrderLots + 1, math.MaxInt64}[g.rng.IntN(3)]
	case 9:
		if o.Type == Market {
			o.PriceTicks = []int64{-1, math.MinInt64, cfg.MaxPriceTicks, cfg.MaxPriceTicks + 1}[g.rng.IntN(4)]
		} else {
			o.PriceTicks = []int64{0, -1, 1, math.MinInt64, cfg.MaxPriceTicks, cfg.MaxPriceTicks + 1, math.MaxInt64}[g.rng.IntN(7)]
		}
	case 10:
		// Far from the mid: outside any band, still a valid price.
		o.PriceTicks = g.clampPrice(g.mid + g.between(-20*g.p.spread, 20*g.p.spread))
	case 11:
		// Several faults at once: the first in validation order wins.
		g.corruptOrder(o)
		g.corruptOrder(o)
	}
}

func (g *cmdGen) cancel() Command {
	c := Command{Kind: CmdCancel}
	l, haveLive := g.live()
	switch r := g.rng.IntN(100); {
	case r < 65 && haveLive:
		c.Order.ID, c.Order.Account = l.ID, l.Account
	case r < 73 && haveLive:
		c.Order.ID, c.Order.Account = l.ID, g.otherAccount(l.Account)
	case r < 76 && haveLive:
		c.Order.ID, c.Order.Account = l.ID, g.badAccount()
	case r < 90:
		if rec, ok := g.pickRecent(); ok {
			c.Order.ID, c.Order.Account = rec.id, rec.acct
		}
	case r < 95:
		c.Order.ID, c.Order.Account = g.nextID+1_000_000, g.account()
	default:
		c.Order.ID, c.Order.Account = 0, g.account()
	}
	return c
}

func (g *cmdGen) amend() Command {
	c := Command{Kind: CmdAmend}
	var o *refOrder
	var ok bool
	if g.rng.IntN(100) < 20 {
		o, ok = g.livePartlyFilled()
	} else {
		o, ok = g.live()
	}
	if !ok {
		if rec, ok := g.pickRecent(); ok {
			c.Order.ID, c.Order.Account = rec.id, rec.acct
		}
		c.Order.PriceTicks, c.Order.QtyLots = g.mid, g.qty()
		return c
	}
	c.Order.ID, c.Order.Account = o.ID, o.Account
	price, total := o.PriceTicks, o.QtyLots
	switch r := g.rng.IntN(100); {
	case r < 18: // smaller: keeps priority when still above the filled part
		if o.RemainingLots > 1 {
			total = o.FilledLots + g.between(1, o.RemainingLots-1)
		} else {
			total = o.FilledLots + 1 + g.between(0, 3)
		}
	case r < 33: // larger
		total += g.between(1, g.p.maxQty)
	case r < 60: // new price
		price = g.limitPrice(o.Side, 25)
	case r < 75: // new price and quantity
		price = g.limitPrice(o.Side, 25)
		total = o.FilledLots + g.between(1, 2*g.p.maxQty)
	case r < 83: // down to or below the filled part
		if o.FilledLots > 0 {
			total = g.between(1, o.FilledLots)
		} else {
			total = 1
		}
		if g.rng.IntN(3) == 0 {
			price = g.limitPrice(o.Side, 25)
		}
	case r < 86: // nothing to amend
	case r < 89:
		total = []int64{0, -1, math.MinInt64, g.p.cfg.MaxOrderLots + 1, math.MaxInt64}[g.rng.IntN(5)]
	case r < 92:
		price = []int64{0, -1, math.MinInt64, g.p.cfg.MaxPriceTicks + 1, math.MaxInt64}[g.rng.IntN(5)]
	case r < 95:
		price = g.clampPrice(g.mid + g.between(-20*g.p.spread, 20*g.p.spread))
	case r < 98:
		c.Order.Account = g.otherAccount(o.Account)
		price = g.limitPrice(o.Side, 25)
	default:
		c.Order.ID = []OrderID{0, g.nextID + 1_000_000}[g.rng.IntN(2)]
	}
	c.Order.PriceTicks, c.Order.QtyLots = price, total
	return c
}

func (g *cmdGen) setReference() Command {
	c := Command{Kind: CmdSetReference}
	switch r := g.rng.IntN(100); {
	case r < 65:
		c.Order.PriceTicks = g.clampPrice(g.mid + g.between(-g.p.spread/2, g.p.spread/2))
	case r < 85:
		// A jump: market orders then meet the band's edge inside the book.
		c.Order.PriceTicks = g.clampPrice(g.mid + g.between(-4*g.p.spread, 4*g.p.spread))
	case r < 93:
		c.Order.PriceTicks = 0
	default:
		c.Order.PriceTicks = []int64{-1, math.MinInt64, g.p.cfg.MaxPriceTicks + 1, math.MaxInt64, g.p.cfg.MaxPriceTicks}[g.rng.IntN(5)]
	}
	return c
}

func (g *cmdGen) cancelAccount() Command {
	c := Command{Kind: CmdCancelAccount}
	if g.rng.IntN(100) < 85 {
		c.Order.Account = g.account()
	} else {
		c.Order.Account = g.badAccount()
	}
	return c
}

// fmtCommand prints a command in the shape of a scenario line.
func fmtCommand(c Command) string {
	o := c.Order
	switch c.Kind {
	case CmdPlace:
		return fmt.Sprintf("place id=%d acct=%d %s %s %s stp=%s price=%d qty=%d",
			o.ID, o.Account, o.Side, o.Type, o.TIF, o.STP, o.PriceTicks, o.QtyLots)
	case CmdCancel:
		return fmt.Sprintf("cancel id=%d acct=%d", o.ID, o.Account)
	case CmdAmend:
		return fmt.Sprintf("amend id=%d acct=%d price=%d qty=%d", o.ID, o.Account, o.PriceTicks, o.QtyLots)
	case CmdCancelAccount:
		return fmt.Sprintf("cancel-account acct=%d", o.Account)
	case CmdCancelAll:
		return "cancel-all"
	case CmdSetReference:
		return fmt.Sprintf("set-reference price=%d", o.PriceTicks)
	}
	return fmt.Sprintf("kind(%d) %+v", c.Kind, o)
}
