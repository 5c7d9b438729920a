package orderbook

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// viewer is what the tests read of a book, optimized or reference.
type viewer interface {
	Changes() []LevelChange
	UpdateID() uint64
	BestBid() (priceTicks, totalLots int64, ok bool)
	BestAsk() (priceTicks, totalLots int64, ok bool)
	Depth(side Side, n int, dst []Level) []Level
	Order(id OrderID) (RestingOrder, bool)
	Orders(side Side, dst []RestingOrder) []RestingOrder
	Len() int
	AccountOrderCount(acct AccountID) int
}

var (
	_ viewer = (*Book)(nil)
	_ viewer = (*refBook)(nil)
)

// sentinelEvent is put in front of the optimized book's event buffer now and
// then: the book must append after it and leave it alone.
var sentinelEvent = Event{Kind: 99, OrderID: 0xdead, QtyLots: -7}

// bookPair runs the optimized book and the reference side by side.
type bookPair struct {
	cfg Config
	b   *Book
	ref *refBook

	evB, evR []Event
	chB, chR []LevelChange
	ordB     []RestingOrder
	ordR     []RestingOrder
}

func newBookPair(tb testing.TB, cfg Config) *bookPair {
	tb.Helper()
	p, err := makeBookPair(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func makeBookPair(cfg Config) (*bookPair, error) {
	b, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("New(%+v): %w", cfg, err)
	}
	return &bookPair{cfg: cfg, b: b, ref: newRefBook(cfg)}, nil
}

// safeStep is step with a panic of either book turned into a difference.
func (p *bookPair) safeStep(cmd *Command, i int) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("panic: %v", r)
		}
	}()
	return p.step(cmd, i)
}

func (p *bookPair) safeDeepCheck(ids []OrderID) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("panic: %v", r)
		}
	}()
	return p.deepCheck(ids)
}

// applyTyped calls the typed method that Apply would dispatch cmd to, so
// that both entry points are exercised.
func applyTyped(b *Book, cmd *Command, ev []Event) []Event {
	o := cmd.Order
	switch cmd.Kind {
	case CmdPlace:
		return b.Place(o, ev)
	case CmdCancel:
		return b.Cancel(o.ID, o.Account, ev)
	case CmdAmend:
		return b.Amend(o.ID, o.Account, o.PriceTicks, o.QtyLots, ev)
	case CmdCancelAccount:
		return b.CancelAccount(o.Account, ev)
	case CmdCancelAll:
		return b.CancelAll(ev)
	case CmdSetReference:
		return b.SetReferencePrice(o.PriceTicks, ev)
	}
	return b.Apply(cmd, ev)
}

func cmpLevelChange(a, b LevelChange) int {
	if c := cmp.Compare(a.Side, b.Side); c != 0 {
		return c
	}
	return cmp.Compare(a.PriceTicks, b.PriceTicks)
}

// step applies cmd (the i-th of its run) to both books and compares what
// each command must agree on. It returns a description of the first
// difference, or "".
func (p *bookPair) step(cmd *Command, i int) string {
	p.evR = p.ref.Apply(cmd, p.evR[:0])

	buf := p.evB[:0]
	if i%3 == 0 {
		buf = append(buf, sentinelEvent)
	}
	if i%2 == 0 {
		buf = p.b.Apply(cmd, buf)
	} else {
		buf = applyTyped(p.b, cmd, buf)
	}
	p.evB = buf
	got := buf
	if i%3 == 0 {
		if len(got) == 0 || got[0] != sentinelEvent {
			return "the book did not leave the events already in the caller's buffer alone"
		}
		got = got[1:]
	}
	if !slices.Equal(got, p.evR) {
		return "events differ:\n" + diffEvents(p.evR, got)
	}

	p.chR = append(p.chR[:0], p.ref.Changes()...)
	p.chB = append(p.chB[:0], p.b.Changes()...)
	slices.SortFunc(p.chR, cmpLevelChange)
	slices.SortFunc(p.chB, cmpLevelChange)
	if !slices.Equal(p.chB, p.chR) {
		return fmt.Sprintf("Changes differ:\nwant %v\ngot  %v", p.chR, p.chB)
	}
	if w, g := p.ref.UpdateID(), p.b.UpdateID(); w != g {
		return fmt.Sprintf("UpdateID: want %d, got %d", w, g)
	}
	for _, s := range []Side{Buy, Sell} {
		wp, wq, wok := p.ref.best(s)
		var gp, gq int64
		var gok bool
		if s == Buy {
			gp, gq, gok = p.b.BestBid()
		} else {
			gp, gq, gok = p.b.BestAsk()
		}
		if wp != gp || wq != gq || wok != gok {
			return fmt.Sprintf("best %s: want %d %d %t, got %d %d %t", s, wp, wq, wok, gp, gq, gok)
		}
	}
	if w, g := p.ref.Len(), p.b.Len(); w != g {
		return fmt.Sprintf("Len: want %d, got %d", w, g)
	}
	if a := cmd.Order.Account; int64(a) < int64(p.cfg.MaxAccounts) {
		if w, g := p.ref.AccountOrderCount(a), p.b.AccountOrderCount(a); w != g {
			return fmt.Sprintf("AccountOrderCount(%d): want %d, got %d", a, w, g)
		}
	}
	return ""
}

// deepCheck compares the whole books, checks the optimized book's own
// invariants and the views of both books for consistency. ids are extra
// order ids (live or long gone) whose lookups must agree.
func (p *bookPair) deepCheck(ids []OrderID) string {
	if err := p.b.CheckInvariants(); err != nil {
		return fmt.Sprintf("CheckInvariants: %v", err)
	}
	for _, s := range []Side{Buy, Sell} {
		p.ordR = p.ref.Orders(s, p.ordR[:0])
		p.ordB = p.b.Orders(s, p.ordB[:0])
		if !slices.Equal(p.ordB, p.ordR) {
			return fmt.Sprintf("Orders(%s) differ:\nwant %v\ngot  %v", s, p.ordR, p.ordB)
		}
	}
	for _, id := range ids {
		wo, wok := p.ref.Order(id)
		gotO, gok := p.b.Order(id)
		if wo != gotO || wok != gok {
			return fmt.Sprintf("Order(%d): want %+v %t, got %+v %t", id, wo, wok, gotO, gok)
		}
		if side, price, left, ok := p.b.Resting(id); ok != wok || side != wo.Side || price != wo.PriceTicks || left != wo.RemainingLots {
			return fmt.Sprintf("Resting(%d) = %s %d %d %t, want those of %+v %t", id, side, price, left, ok, wo, wok)
		}
	}
	if msg := checkView(p.b, p.cfg); msg != "" {
		return "optimized book: " + msg
	}
	if msg := checkView(p.ref, p.cfg); msg != "" {
		return "reference book: " + msg
	}
	return ""
}

// checkView checks the invariants of a book that its read methods can show:
// book uncrossed, each level's total and count the sum of its orders, no id
// in two places, filled + remaining = quantity, limits respected.
func checkView(b viewer, cfg Config) string {
	seen := make(map[OrderID]Side)
	perAccount := make(map[AccountID]int)
	total := 0
	var best [3]int64 // by side: best price, 0 if the side is empty
	for _, s := range []Side{Buy, Sell} {
		orders := b.Orders(s, nil)
		var levels []Level
		for k, o := range orders {
			switch {
			case o.Side != s:
				return fmt.Sprintf("Orders(%s)[%d] is on side %s", s, k, o.Side)
			case o.RemainingLots <= 0 || o.FilledLots < 0 || o.FilledLots+o.RemainingLots != o.QtyLots:
				return fmt.Sprintf("order %+v: filled + remaining != quantity or nothing remains", o)
			case o.QtyLots > cfg.MaxOrderLots || o.PriceTicks < 1 || o.PriceTicks > cfg.MaxPriceTicks:
				return fmt.Sprintf("order %+v out of the config's range", o)
			case o.TIF != GTC && o.TIF != PostOnly:
				return fmt.Sprintf("order %+v rests with time in force %s", o, o.TIF)
			case k > 0 && refSitsBefore(s, o.PriceTicks, orders[k-1].PriceTicks):
				return fmt.Sprintf("Orders(%s) not in price order at %d: %d after %d", s, k, o.PriceTicks, orders[k-1].PriceTicks)
			}
			if other, dup := seen[o.ID]; dup {
				return fmt.Sprintf("order id %d rests twice (%s and %s)", o.ID, other, s)
			}
			seen[o.ID] = s
			if v, ok := b.Order(o.ID); !ok || v != o {
				return fmt.Sprintf("Order(%d) = %+v %t, Orders shows %+v", o.ID, v, ok, o)
			}
			perAccount[o.Account]++
			if n := len(levels); n > 0 && levels[n-1].PriceTicks == o.PriceTicks {
				levels[n-1].TotalLots += o.RemainingLots
				levels[n-1].Orders++
			} else {
				levels = append(levels, Level{PriceTicks: o.PriceTicks, TotalLots: o.RemainingLots, Orders: 1})
			}
		}
		total += len(orders)
		depth := b.Depth(s, cfg.MaxRestingOrders+1, nil)
		if !slices.Equal(depth, levels) {
			return fmt.Sprintf("Depth(%s) = %v, the orders sum to %v", s, depth, levels)
		}
		if d := b.Depth(s, 0, nil); len(d) != 0 {
			return fmt.Sprintf("Depth(%s, 0) = %v, want no levels", s, d)
		}
		if ob, ok := b.(*Book); ok {
			// DepthLots is Depth without the order counts.
			want := slices.Clone(levels)
			for i := range want {
				want[i].Orders = 0
			}
			if d := ob.DepthLots(s, cfg.MaxRestingOrders+1, nil); !slices.Equal(d, want) {
				return fmt.Sprintf("DepthLots(%s) = %v, want %v", s, d, want)
			}
		}
		if n := min(3, len(levels)); !slices.Equal(b.Depth(s, 3, nil), levels[:n]) {
			return fmt.Sprintf("Depth(%s, 3) = %v, want %v", s, b.Depth(s, 3, nil), levels[:n])
		}
		var p, q int64
		var ok bool
		if s == Buy {
			p, q, ok = b.BestBid()
		} else {
			p, q, ok = b.BestAsk()
		}
		if ok != (len(levels) > 0) || (ok && (p != levels[0].PriceTicks || q != levels[0].TotalLots)) {
			return fmt.Sprintf("best %s = %d %d %t, depth %v", s, p, q, ok, levels)
		}
		if ok {
			best[s] = p
		}
	}
	if best[Buy] != 0 && best[Sell] != 0 && best[Buy] >= best[Sell] {
		return fmt.Sprintf("book crossed: bid %d >= ask %d", best[Buy], best[Sell])
	}
	if b.Len() != total {
		return fmt.Sprintf("Len() = %d, %d orders rest", b.Len(), total)
	}
	if total > cfg.MaxRestingOrders {
		return fmt.Sprintf("%d orders rest, limit %d", total, cfg.MaxRestingOrders)
	}
	for a, n := range perAccount {
		if got := b.AccountOrderCount(a); got != n {
			return fmt.Sprintf("AccountOrderCount(%d) = %d, %d orders rest", a, got, n)
		}
		if n > cfg.MaxOrdersPerAccount {
			return fmt.Sprintf("account %d has %d orders, limit %d", a, n, cfg.MaxOrdersPerAccount)
		}
	}
	for a := range AccountID(min(cfg.MaxAccounts, 64)) {
		if got := b.AccountOrderCount(a); got != perAccount[a] {
			return fmt.Sprintf("AccountOrderCount(%d) = %d, %d orders rest", a, got, perAccount[a])
		}
	}
	return ""
}

func diffEvents(want, got []Event) string {
	var sb strings.Builder
	for k := range max(len(want), len(got)) {
		var w, g string
		if k < len(want) {
			w = want[k].String()
		}
		if k < len(got) {
			g = got[k].String()
		}
		mark := "  "
		if k >= len(want) || k >= len(got) || want[k] != got[k] {
			mark = "! "
		}
		fmt.Fprintf(&sb, "%swant %s\n%sgot  %s\n", mark, w, mark, g)
		if mark == "! " && k < len(want) && k < len(got) {
			fmt.Fprintf(&sb, "  want %+v\n  got  %+v\n", want[k], got[k])
		}
	}
	return sb.String()
}

// cmdHistory keeps the last commands of a run for failure messages.
type cmdHistory struct {
	cmds [24]Command
	idx  [24]int
	n    int
}

func (h *cmdHistory) add(i int, c Command) {
	h.cmds[h.n%len(h.cmds)] = c
	h.idx[h.n%len(h.idx)] = i
	h.n++
}

func (h *cmdHistory) String() string {
	var sb strings.Builder
	for k := max(0, h.n-len(h.cmds)); k < h.n; k++ {
		fmt.Fprintf(&sb, "  #%d %s\n", h.idx[k%len(h.idx)], fmtCommand(h.cmds[k%len(h.cmds)]))
	}
	return sb.String()
}

// envInt reads a positive integer from the environment, or returns def.
func envInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// TestDifferentialAgainstReference runs seeded random command streams
// through the optimized book and the reference and compares them after every
// command. Environment:
//
//	ORDERBOOK_DIFF_COMMANDS=50000000  total commands, split over the profiles (default 2,000,000)
//	ORDERBOOK_DIFF_SEED=7             base seed (profile k runs seed + k*1000003)
//	ORDERBOOK_DIFF_NO_MINIMIZE=1      report a failure without shrinking it first
//
// A failure names the profile, seed and command index, shows the last
// commands and a minimized sequence that still fails, with the reference's
// events after each command.
func TestDifferentialAgainstReference(t *testing.T) {
	total := envInt(t, "ORDERBOOK_DIFF_COMMANDS", 2_000_000)
	if testing.Short() && os.Getenv("ORDERBOOK_DIFF_COMMANDS") == "" {
		total = 100_000
	}
	baseSeed := uint64(envInt(t, "ORDERBOOK_DIFF_SEED", 20_240_601))
	per := (total + len(genProfiles) - 1) / len(genProfiles)
	seenReasons.counts = [reasonCount]int{}
	t.Run("profiles", func(t *testing.T) {
		for k, prof := range genProfiles {
			seed := baseSeed + uint64(k)*1_000_003
			t.Run(prof.name, func(t *testing.T) {
				t.Parallel()
				runDifferential(t, prof, seed, per)
			})
		}
	})
	if per >= 100_000 && !t.Failed() {
		for r := ReasonInvalidSide; r < reasonCount; r++ {
			// PlaceReserved's own reason has no Command: reserved_test.go
			// covers it.
			if seenReasons.counts[r] == 0 && r != ReasonDuplicateOrderID {
				t.Errorf("reason %s never occurred in %d commands", r, total)
			}
		}
	}
}

func runDifferential(t *testing.T, prof genProfile, seed uint64, n int) {
	start := time.Now()
	p := newBookPair(t, prof.cfg)
	p.b.stamp = prof.stampStart
	g := newCmdGen(prof, seed, p.ref)
	var hist cmdHistory
	var kinds [8]int
	var reasons [reasonCount]int
	var ids []OrderID
	var sumLen, maxLen int
	fail := func(i int, cmd Command, msg string) {
		t.Fatalf("profile %s seed %d command #%d: %s\n%s\nlast commands:\n%s%s",
			prof.name, seed, i, fmtCommand(cmd), msg, hist.String(), minimizedReport(prof, seed, i))
	}
	for i := range n {
		cmd := g.next()
		hist.add(i, cmd)
		if msg := p.safeStep(&cmd, i); msg != "" {
			fail(i, cmd, msg)
		}
		sumLen += p.ref.Len()
		maxLen = max(maxLen, p.ref.Len())
		for _, e := range p.evR {
			if int(e.Kind) < len(kinds) {
				kinds[e.Kind]++
			}
			reasons[e.Reason]++
		}
		if i%1000 == 999 || i == n-1 {
			ids = ids[:0]
			for _, r := range g.recent {
				ids = append(ids, r.id)
			}
			ids = append(ids, 0, g.nextID, g.nextID+1_000_000)
			if msg := p.safeDeepCheck(ids); msg != "" {
				fail(i, cmd, msg)
			}
		}
	}
	t.Logf("profile %s seed %d: %d commands in %v; resting orders mean %d max %d; events by kind %v; by reason:%s",
		prof.name, seed, n, time.Since(start).Round(time.Millisecond), sumLen/max(n, 1), maxLen, kinds[1:6], reasonCounts(reasons[:]))
	if n >= 100_000 {
		// The stream must reach every outcome it is meant to test.
		for k := EventAccepted; k <= EventAmended; k++ {
			if kinds[k] == 0 {
				t.Errorf("profile %s: no %s event in %d commands", prof.name, k, n)
			}
		}
		seenReasons.Lock()
		for r, c := range reasons {
			seenReasons.counts[r] += c
		}
		seenReasons.Unlock()
	}
}

// seenReasons sums the reasons over the profiles of one run: each limit is
// tight in some profiles and loose in others, so every reason must occur in
// the run, not in each profile.
var seenReasons struct {
	sync.Mutex
	counts [reasonCount]int
}

func reasonCounts(counts []int) string {
	var sb strings.Builder
	for r, c := range counts {
		if r != 0 && c != 0 {
			fmt.Fprintf(&sb, " %s=%d", Reason(r), c)
		}
	}
	return sb.String()
}

// minimizedReport regenerates the first i+1 commands of a failed run and
// shrinks them to a short sequence that still fails, for the failure
// message.
func minimizedReport(prof genProfile, seed uint64, i int) string {
	if os.Getenv("ORDERBOOK_DIFF_NO_MINIMIZE") != "" {
		return ""
	}
	g := newCmdGen(prof, seed, newRefBook(prof.cfg))
	cmds := make([]Command, 0, i+1)
	for range i + 1 {
		c := g.next()
		g.ref.Apply(&c, nil)
		cmds = append(cmds, c)
	}
	cmds = minimizeCommands(prof.cfg, cmds, 60*time.Second)
	msg, _ := replayCommands(prof.cfg, cmds)
	return fmt.Sprintf("minimized to %d commands (%s):\n%s%s\n", len(cmds), prof.name, formatScenario(prof.cfg, cmds), msg)
}

// replayCommands runs cmds through a fresh pair of books and returns the
// first difference and the index of the command it showed at (-1, "" if
// none).
func replayCommands(cfg Config, cmds []Command) (string, int) {
	p, err := makeBookPair(cfg)
	if err != nil {
		return err.Error(), 0
	}
	for i := range cmds {
		if msg := p.safeStep(&cmds[i], i); msg != "" {
			return msg, i
		}
	}
	if msg := p.safeDeepCheck(nil); msg != "" {
		return msg, len(cmds) - 1
	}
	return "", -1
}

// minimizeCommands removes chunks of commands, halving the chunk size, as
// long as what remains still fails; it stops early when the budget is spent.
func minimizeCommands(cfg Config, cmds []Command, budget time.Duration) []Command {
	deadline := time.Now().Add(budget)
	msg, at := replayCommands(cfg, cmds)
	if msg == "" {
		return cmds
	}
	cmds = cmds[:at+1]
	before := len(cmds)
	for chunk := max(1, len(cmds)/2); ; chunk /= 2 {
		for lo := 0; lo < len(cmds) && time.Now().Before(deadline); {
			hi := min(lo+chunk, len(cmds))
			try := slices.Concat(cmds[:lo], cmds[hi:])
			if m, a := replayCommands(cfg, try); m != "" {
				cmds = try[:a+1]
				continue
			}
			lo = hi
		}
		if time.Now().After(deadline) || (chunk == 1 && len(cmds) == before) {
			return cmds
		}
		chunk = max(chunk, 2) // repeat single removals until nothing goes
		before = len(cmds)
	}
}

// formatScenario prints cmds one a line, each followed by the reference
// book's events for it.
func formatScenario(cfg Config, cmds []Command) string {
	r := newRefBook(cfg)
	var sb strings.Builder
	fmt.Fprintf(&sb, "  config %+v\n", cfg)
	for i := range cmds {
		fmt.Fprintf(&sb, "  %s\n", fmtCommand(cmds[i]))
		for _, e := range r.Apply(&cmds[i], nil) {
			fmt.Fprintf(&sb, "      %s\n", e)
		}
		if ch := r.Changes(); len(ch) > 0 {
			fmt.Fprintf(&sb, "      changes %v\n", ch)
		}
	}
	return sb.String()
}
