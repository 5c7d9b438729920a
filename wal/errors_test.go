package wal

import (
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// failSyncs fails every file sync and write once armed.
type failSyncs struct{ armed atomic.Bool }

func (f *failSyncs) arm() { f.armed.Store(true) }

func (f *failSyncs) String() string { return "fail syncs and writes" }

func (f *failSyncs) MaybeError(op errorfs.Op) error {
	if !f.armed.Load() {
		return nil
	}
	switch op.Kind {
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo, errorfs.OpFileWrite, errorfs.OpFileWriteAt:
		return errorfs.ErrInjected
	}
	return nil
}

func wrapErrors(fs vfs.FS, inj errorfs.Injector) vfs.FS { return errorfs.Wrap(fs, inj) }
