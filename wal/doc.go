// Package wal is the command journal, in Pebble: the sequencer applies
// commands to the engine in groups and commits each group as one synced
// batch (group commit) before anyone sees a result; the log stores each
// group's commands under the key of its first (codec.go), stores engine
// snapshots beside them, truncates what the newest snapshot makes
// unnecessary, and replays for recovery. A write or sync failure stops the
// log and the sequencer for good (fail-stop). docs/ARCHITECTURE.md
// describes the whole.
package wal
