// Command exchange runs the paper-trading exchange and its tools.
//
//	exchange serve [--config FILE] [--data DIR] [--listen ADDR] [flags]
//	exchange bench book [--commands N] [--seed S]
//	exchange bench api [--bots N] [--duration D] [--json FILE]
//	exchange bench cascade [--accounts N] [--seed S] [--out DIR] [scenario flags]
//	exchange wal inspect --data DIR [--limit N]
//	exchange replay --data DIR [--verify]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/paperperps/exchange/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: exchange <command> [flags]

commands:
  serve         run the exchange: the HTTP API over the journal in --data,
                with a simulated price feed and market makers
  bench book    run the standard order flow F1 on one order book and print
                throughput and per-command latency
  bench api     drive an exchange in this process with SDK bots over
                loopback and print REST and WebSocket orders/s and latency
  bench cascade run a liquidation cascade (a population of leveraged
                accounts, makers, background load, an index shock) and
                write a report and charts
  wal inspect   list the commands and snapshots the log in --data holds
  replay        rebuild the engine from the log in --data and print its
                state hash (--verify: check it at every snapshot)
`

func run(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) >= 1 && args[0] == "serve":
		return serve(args[1:], stdout, stderr)
	case len(args) >= 2 && args[0] == "bench" && args[1] == "cascade":
		return benchCascade(args[2:], stdout, stderr)
	case len(args) >= 2 && args[0] == "bench" && args[1] == "api":
		return benchAPI(args[2:], stdout, stderr)
	case len(args) >= 2 && args[0] == "bench" && args[1] == "book":
		return benchBook(args[2:], stdout, stderr)
	case len(args) >= 2 && args[0] == "wal" && args[1] == "inspect":
		return walInspect(args[2:], stdout, stderr)
	case len(args) >= 1 && args[0] == "replay":
		return replay(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

func benchBook(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench book", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commands := fs.Int("commands", bench.F1Commands, "number of commands of flow F1 to run")
	seed := fs.Uint64("seed", 1, "seed of the flow")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The flow is generated up front: about 50 bytes per command.
	if *commands < 1 || *commands > 20_000_000 {
		fmt.Fprintf(stderr, "exchange: --commands %d not in [1, 20000000]\n", *commands)
		return 2
	}
	r, err := bench.RunBookF1(*seed, *commands)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	r.Print(stdout)
	return 0
}

func dirExists(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}
