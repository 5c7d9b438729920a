package server

import (
	"context"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/wal"
)

// Submitter drives the engine: every change goes through it as a command,
// and every read of the engine's state runs on its thread. *wal.Sequencer
// is the one the server uses; it stamps each command, journals it and
// answers only once the command is durable.
type Submitter interface {
	Submit(ctx context.Context, cmd engine.Command) wal.Result
	SubmitBatch(ctx context.Context, cmds []engine.Command) []wal.Result
	// SubmitAsync is SubmitBatch without the wait: the results come on
	// the channel, and batches from one goroutine keep their order.
	SubmitAsync(ctx context.Context, cmds []engine.Command) <-chan []wal.Result
	// Read runs fn on the engine's thread between commands and returns once
	// everything fn saw is durable; fn must only read and must be quick.
	Read(ctx context.Context, fn func(*engine.Engine)) error
}

var _ Submitter = (*wal.Sequencer)(nil)
