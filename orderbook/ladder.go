package orderbook

import (
	"math/bits"
	"slices"
)

// A ladder is one side of the book: price levels addressed directly by
// price. Prices are grouped in pages of pageSize consecutive ticks, allocated
// when an order first rests in their range and recycled when their last
// order leaves, so memory follows the prices in use rather than the whole
// price range. Each page carries an occupancy bitset, and the non-empty pages
// are kept in a sorted slice, so the next best price after a level empties is
// a couple of bit scans away.
type ladder struct {
	side   Side
	best   int64 // best price, 0 when the side is empty
	levels int   // non-empty levels
	pages  map[int64]*page
	// active holds the numbers of the pages in pages, ascending; between
	// commands these are exactly the non-empty pages.
	active []int64
	// cache is the page last looked up: most orders arrive near the best
	// price, so this saves a map lookup on the common path.
	cacheNo int64
	cache   *page
	free    []*page
	// emptied lists pages whose last level emptied during this command.
	emptied []int64
}

const (
	pageBits  = 8
	pageSize  = 1 << pageBits
	pageMask  = pageSize - 1
	pageWords = pageSize / 64
)

type page struct {
	levels   [pageSize]level
	occupied [pageWords]uint64
	used     int // non-empty levels
}

// level is a FIFO of orders linked through the slab by index (0 = none).
type level struct {
	head, tail uint32
	totalLots  int64
	// touched is the stamp of the last command that changed totalLots and
	// changeIdx its entry in that command's change list.
	touched   uint32
	changeIdx uint32
}

func newLadder(side Side) ladder {
	return ladder{side: side, pages: make(map[int64]*page), cacheNo: -1}
}

// better reports whether price a has priority over price b on this side.
func (l *ladder) better(a, b int64) bool {
	if l.side == Buy {
		return a > b
	}
	return a < b
}

// hasLevel reports whether the level at price holds orders.
func (l *ladder) hasLevel(price int64) bool {
	p := l.page(price)
	i := price & pageMask
	return p != nil && p.occupied[i>>6]&(1<<(i&63)) != 0
}

// roomFor reports whether an order may rest at price without exceeding
// limit levels on this side.
func (l *ladder) roomFor(price int64, limit int) bool {
	return l.levels < limit || l.hasLevel(price)
}

// page returns the page holding price, or nil.
func (l *ladder) page(price int64) *page {
	no := price >> pageBits
	if no == l.cacheNo {
		return l.cache
	}
	p := l.pages[no]
	if p != nil {
		l.cacheNo, l.cache = no, p
	}
	return p
}

// level returns the level at price; its page must exist.
func (l *ladder) level(price int64) *level {
	return &l.page(price).levels[price&pageMask]
}

// levelForInsert returns the level at price, creating its page if needed.
func (l *ladder) levelForInsert(price int64) *level {
	p := l.page(price)
	if p == nil {
		no := price >> pageBits
		if n := len(l.free); n > 0 {
			p = l.free[n-1]
			l.free = l.free[:n-1]
			*p = page{}
		} else {
			p = new(page)
		}
		l.pages[no] = p
		i, _ := slices.BinarySearch(l.active, no)
		l.active = slices.Insert(l.active, i, no)
		l.cacheNo, l.cache = no, p
	}
	return &p.levels[price&pageMask]
}

// markOccupied records that the level at price became non-empty.
func (l *ladder) markOccupied(price int64) {
	p := l.page(price)
	i := price & pageMask
	p.occupied[i>>6] |= 1 << (i & 63)
	p.used++
	l.levels++
	if l.best == 0 || l.better(price, l.best) {
		l.best = price
	}
}

// markEmpty records that the level at price became empty and moves best on
// if needed. A page whose last level emptied stays in place until the
// command ends (releaseEmpty): a level that empties and fills again within
// one command keeps its change-list entry instead of getting a second one
// from a recycled page.
func (l *ladder) markEmpty(price int64) {
	p := l.page(price)
	i := price & pageMask
	p.occupied[i>>6] &^= 1 << (i & 63)
	p.used--
	l.levels--
	if p.used == 0 {
		l.emptied = append(l.emptied, price>>pageBits)
	}
	if price == l.best {
		l.best = l.next(price)
	}
}

// releaseEmpty recycles the pages that emptied during the command and are
// still empty.
func (l *ladder) releaseEmpty() {
	for _, no := range l.emptied {
		p := l.pages[no]
		if p == nil || p.used != 0 {
			continue
		}
		delete(l.pages, no)
		k, _ := slices.BinarySearch(l.active, no)
		l.active = slices.Delete(l.active, k, k+1)
		l.free = append(l.free, p)
		if l.cacheNo == no {
			l.cacheNo, l.cache = -1, nil
		}
	}
	l.emptied = l.emptied[:0]
}

// next returns the first occupied price after price in priority order (lower
// for bids, higher for asks), or 0 if there is none. Pages emptied during the
// current command may still be listed and are skipped.
func (l *ladder) next(price int64) int64 {
	no := price >> pageBits
	i := int(price & pageMask)
	k, found := slices.BinarySearch(l.active, no) // first page >= no
	if l.side == Buy {
		if found {
			if j := highestBelow(&l.pages[no].occupied, i); j >= 0 {
				return no<<pageBits | int64(j)
			}
		}
		for k--; k >= 0; k-- {
			no = l.active[k]
			if j := highestBelow(&l.pages[no].occupied, pageSize); j >= 0 {
				return no<<pageBits | int64(j)
			}
		}
		return 0
	}
	if found {
		if j := lowestAbove(&l.pages[no].occupied, i); j >= 0 {
			return no<<pageBits | int64(j)
		}
		k++
	}
	for ; k < len(l.active); k++ {
		no = l.active[k]
		if j := lowestAbove(&l.pages[no].occupied, -1); j >= 0 {
			return no<<pageBits | int64(j)
		}
	}
	return 0
}

// highestBelow returns the highest set bit index < i, or -1.
func highestBelow(w *[pageWords]uint64, i int) int {
	if i <= 0 {
		return -1
	}
	i-- // highest candidate
	k := i >> 6
	m := w[k] & (^uint64(0) >> (63 - uint(i&63)))
	for {
		if m != 0 {
			return k<<6 | (63 - bits.LeadingZeros64(m))
		}
		k--
		if k < 0 {
			return -1
		}
		m = w[k]
	}
}

// lowestAbove returns the lowest set bit index > i, or -1.
func lowestAbove(w *[pageWords]uint64, i int) int {
	i++ // lowest candidate
	if i >= pageSize {
		return -1
	}
	k := i >> 6
	m := w[k] & (^uint64(0) << uint(i&63))
	for {
		if m != 0 {
			return k<<6 | bits.TrailingZeros64(m)
		}
		k++
		if k == pageWords {
			return -1
		}
		m = w[k]
	}
}
