package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/paperperps/exchange/server"
)

// serve runs the local exchange until SIGINT or SIGTERM, then shuts down
// cleanly (a snapshot is taken) and exits 0.
func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "JSON config file (docs/SERVE.md); flags override it")
	data := fs.String("data", "", "data directory (default \"data\")")
	listen := fs.String("listen", "", "HTTP address (default 127.0.0.1:8080; binds beyond loopback only when told)")
	markets := fs.String("markets", "", "JSON file of market specs, used on the first start (default: built-in BTCUSDT, ETHUSDT, SOLUSDT)")
	feed := fs.String("feed", "", "price feed: gbm, csv or off (default gbm)")
	feedCSV := fs.String("feed-csv", "", "CSV file of timestamp,symbol,price rows for --feed csv")
	seed := fs.Uint64("seed", 0, "seed of the simulated feed (default 1)")
	makers := fs.String("makers", "", "built-in market makers: on or off (default on)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default info)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "exchange serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	spareProc()
	cfg := server.DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = server.LoadConfig(*configPath); err != nil {
			fmt.Fprintln(stderr, "exchange:", err)
			return 2
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["data"] {
		cfg.Data = *data
	}
	if set["listen"] {
		cfg.Listen = *listen
	}
	if set["markets"] {
		cfg.MarketsFile = *markets
	}
	if set["feed"] {
		cfg.Feed.Mode = *feed
	}
	if set["feed-csv"] {
		cfg.Feed.CSVFile = *feedCSV
	}
	if set["seed"] {
		cfg.Feed.Seed = *seed
	}
	if set["makers"] {
		switch *makers {
		case "on":
			cfg.Makers.Enabled = true
		case "off":
			cfg.Makers.Enabled = false
		default:
			fmt.Fprintf(stderr, "exchange serve: --makers %q: want on or off\n", *makers)
			return 2
		}
	}
	if set["log-level"] {
		cfg.LogLevel = *logLevel
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevelOf()}))
	x, err := server.Open(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	fmt.Fprintf(stdout, "exchange: serving on http://%s (data in %s; API keys in %s)\n", x.Addr(), cfg.Data, x.CredentialsFile)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := x.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "exchange:", err)
		return 1
	}
	return 0
}
