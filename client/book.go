package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// OrderBook is a local copy of a market's book, kept in step by a Stream:
// a snapshot when it subscribes, then each diff applied in order. A diff
// that does not continue from the last update id is a gap: the book is
// marked out of sync and the Stream asks for a new snapshot (also after
// every reconnect). Safe for concurrent use.
type OrderBook struct {
	symbol  string
	mu      sync.RWMutex
	bids    map[string]Level // by price text, as the server writes it
	asks    map[string]Level
	id      uint64
	synced  bool
	snaps   int // snapshots taken
	updates chan uint64
	closed  bool
}

// errGap reports a diff that does not chain.
var errGap = errors.New("client: depth diff does not chain")

// Book subscribes to symbol's depth and returns its local book once the
// first snapshot has arrived.
func (s *Stream) Book(ctx context.Context, symbol string) (*OrderBook, error) {
	b := &OrderBook{symbol: symbol, bids: map[string]Level{}, asks: map[string]Level{}, updates: make(chan uint64, 1)}
	s.mu.Lock()
	if _, ok := s.books[symbol]; ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("client: already keeping a book of %s", symbol)
	}
	s.books[symbol] = b
	s.mu.Unlock()
	if _, err := s.call(ctx, map[string]any{"op": "subscribe", "streams": []string{"depth:" + symbol}}); err != nil {
		s.mu.Lock()
		delete(s.books, symbol)
		s.mu.Unlock()
		return nil, err
	}
	for !b.Synced() {
		select {
		case _, ok := <-b.updates:
			if !ok {
				return nil, ErrStreamClosed
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b, nil
}

// depthWire is a depth stream's message.
type depthWire struct {
	Symbol        string  `json:"symbol"`
	Snapshot      bool    `json:"snapshot"`
	FirstUpdateID uint64  `json:"firstUpdateId"`
	UpdateID      uint64  `json:"updateId"`
	Bids          []Level `json:"bids"`
	Asks          []Level `json:"asks"`
}

// apply takes one depth message; errGap when it does not chain (the book
// is then out of sync until the next snapshot).
func (b *OrderBook) apply(data json.RawMessage) error {
	var d depthWire
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case d.Snapshot:
		clear(b.bids)
		clear(b.asks)
		b.snaps++
		b.synced = true
	case !b.synced:
		return nil // waiting for the snapshot asked for
	case d.FirstUpdateID != b.id+1:
		b.synced = false
		return errGap
	}
	for _, l := range d.Bids {
		set(b.bids, l)
	}
	for _, l := range d.Asks {
		set(b.asks, l)
	}
	b.id = d.UpdateID
	select {
	case b.updates <- b.id:
	default:
	}
	return nil
}

func set(side map[string]Level, l Level) {
	if l.Qty.IsZero() {
		delete(side, l.Price.String())
	} else {
		side[l.Price.String()] = l
	}
}

// invalidate marks the book out of sync (the connection dropped; a new
// snapshot follows).
func (b *OrderBook) invalidate() {
	b.mu.Lock()
	b.synced = false
	b.mu.Unlock()
}

func (b *OrderBook) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.updates)
	}
}

// Symbol is the book's market.
func (b *OrderBook) Symbol() string { return b.symbol }

// Synced reports whether the book is up to date with the stream (false
// between a gap or a reconnect and the next snapshot).
func (b *OrderBook) Synced() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.synced
}

// UpdateID is the update id the book is at.
func (b *OrderBook) UpdateID() uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.id
}

// Resyncs counts the snapshots taken after the first (gaps, reconnects).
func (b *OrderBook) Resyncs() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return max(0, b.snaps-1)
}

// Updates signals changes: it carries the latest update id (a slow reader
// sees only the latest), and is closed when the Stream ends.
func (b *OrderBook) Updates() <-chan uint64 { return b.updates }

// Depth returns up to n levels of each side, best first (n ≤ 0: all).
func (b *OrderBook) Depth(n int) Depth {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return Depth{Symbol: b.symbol, UpdateID: b.id, Bids: sorted(b.bids, true, n), Asks: sorted(b.asks, false, n)}
}

// BestBid and BestAsk are the best levels; ok is false for an empty side.
func (b *OrderBook) BestBid() (Level, bool) { return b.best(true) }
func (b *OrderBook) BestAsk() (Level, bool) { return b.best(false) }

func (b *OrderBook) best(bids bool) (Level, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	side := b.asks
	if bids {
		side = b.bids
	}
	var best Level
	found := false
	for _, l := range side {
		if !found || (bids && l.Price.GreaterThan(best.Price)) || (!bids && l.Price.LessThan(best.Price)) {
			best, found = l, true
		}
	}
	return best, found
}

func sorted(side map[string]Level, desc bool, n int) []Level {
	out := make([]Level, 0, len(side))
	for _, l := range side {
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y Level) int {
		if desc {
			return y.Price.Cmp(x.Price)
		}
		return x.Price.Cmp(y.Price)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}
