// Package wal will be the Pebble-backed command journal: commands appended
// with group commit (one synced batch per group), replay for recovery,
// snapshots and truncation. A write or sync failure is fatal.
//
// Planned: not built yet.
package wal
