package clearing

// WalkRecords calls fn with every position record of l, flat ones included,
// in the order they were created. The randomized test compares the whole
// ledger with its reference after every operation; going through Position
// for every (account, market) pair made that the slowest part of the test.
func WalkRecords(l *Ledger, fn func(Position)) {
	for i := 1; i < len(l.pos); i++ {
		fn(l.export(&l.pos[i]))
	}
}
