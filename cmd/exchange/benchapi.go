package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/paperperps/exchange/bench"
)

// benchAPI runs `exchange bench api`: SDK bots against an exchange in
// this process, over loopback, REST and WebSocket order entry at full
// speed and at half of it.
func benchAPI(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bots := fs.Int("bots", 8, "SDK bots, each with an account and a WebSocket of its own")
	duration := fs.Duration("duration", 5*time.Second, "length of each of the four phases")
	inflight := fs.Int("inflight", 0, "requests each bot keeps waiting at full speed (0: 8 over REST, 128 over the WebSocket)")
	jsonPath := fs.String("json", "", "also write the figures (ws_orders_per_sec, rest_orders_per_sec, ws_p99_ms, rest_p99_ms, ...) to this file")
	data := fs.String("data", "", "the exchange's data directory (default: a temporary one, removed after)")
	seed := fs.Uint64("seed", 1, "seed of the bots' prices")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (server and bots) to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *bots < 1 || *bots > 1000 || *duration <= 0 || *inflight < 0 || *inflight > 4096 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "exchange bench api: --bots in [1, 1000], --duration positive, --inflight in [0, 4096], no arguments")
		return 2
	}
	spareProc() // as serve does: the bots and the exchange share the process
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	defer stopProfile()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := bench.RunAPI(ctx, bench.APIOptions{Bots: *bots, Duration: *duration, InFlight: *inflight, Data: *data, Seed: *seed, Progress: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	r.Print(stdout)
	if *jsonPath != "" {
		f, err := os.Create(*jsonPath)
		if err == nil {
			err = r.WriteJSON(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "exchange:", err)
			return 1
		}
	}
	return 0
}
