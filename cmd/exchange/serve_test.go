package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this binary as the exchange command: with
// EXCHANGE_CLI=1 it is the CLI, its arguments after "--".
func TestMain(m *testing.M) {
	if os.Getenv("EXCHANGE_CLI") == "1" {
		args := os.Args
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Exit(run(args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// startServe runs `exchange serve` as a child process on dir and returns
// it with its base URL once it listens.
func startServe(t *testing.T, dir string, extra ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	args := append([]string{"-test.run=^$", "--", "serve", "--data", dir, "--listen", "127.0.0.1:0", "--log-level", "warn"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "EXCHANGE_CLI=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v; stderr: %s", err, stderr.String())
	}
	go io.Copy(io.Discard, out)
	m := regexp.MustCompile(`serving on (http://\S+) `).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("banner %q", line)
	}
	return cmd, m[1], &stderr
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// The README's first command, as a process: on an empty directory it
// starts with markets, moving prices, makers' depth and a credentials
// file; SIGTERM stops it with exit 0 after a snapshot; a restart on the
// same directory continues from the same state (the same journal, the
// same keys).
func TestServeLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the exchange twice")
	}
	dir := filepath.Join(t.TempDir(), "data")
	cmd, base, stderr := startServe(t, dir)
	var health map[string]string
	getJSON(t, base+"/healthz", &health)
	if health["status"] != "ok" {
		t.Fatalf("healthz %v", health)
	}
	creds, err := os.ReadFile(filepath.Join(dir, "credentials.json"))
	if err != nil || !strings.Contains(string(creds), `"apiSecret"`) {
		t.Fatalf("credentials: %v %s", err, creds)
	}
	if st, err := os.Stat(filepath.Join(dir, "credentials.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode: %v %v", st.Mode(), err)
	}
	// The makers quote once the feed has set an index: wait for depth.
	var depth struct {
		Bids [][2]string `json:"bids"`
		Asks [][2]string `json:"asks"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(depth.Bids) == 0 || len(depth.Asks) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no depth after 20 s; stderr: %s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
		getJSON(t, base+"/v1/depth?symbol=BTCUSDT", &depth)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v; stderr: %s", err, stderr.String())
	}

	// Restart: the journal continues; no second bootstrap (the same
	// accounts), the same credentials.
	var before bytes.Buffer
	if code := run([]string{"replay", "--data", dir}, &before, io.Discard); code != 0 {
		t.Fatalf("replay exit %d", code)
	}
	_, base, _ = startServe(t, dir, "--feed", "off", "--makers", "off")
	getJSON(t, base+"/healthz", &health)
	again, err := os.ReadFile(filepath.Join(dir, "credentials.json"))
	if err != nil || !bytes.Equal(again, creds) {
		t.Fatalf("credentials changed over a restart:\n%s\n%s", creds, again)
	}
	var mark struct {
		IndexPrice string `json:"indexPrice"`
	}
	getJSON(t, base+"/v1/mark?symbol=BTCUSDT", &mark)
	if mark.IndexPrice == "" || mark.IndexPrice == "0" {
		t.Fatalf("index after restart: %+v", mark)
	}
	if !strings.Contains(before.String(), "state hash") {
		t.Fatalf("replay output %s", before.String())
	}
}

// `exchange bench api` runs its four phases and writes the figures.
func TestBenchAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an exchange with bots")
	}
	out := filepath.Join(t.TempDir(), "api.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bench", "api", "--bots", "2", "--duration", "300ms", "--json", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, phase := range []string{"rest ", "ws ", "rest at half rate", "ws at half rate"} {
		if !strings.Contains(stdout.String(), phase) {
			t.Fatalf("no %q row:\n%s", phase, stdout.String())
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var figures map[string]float64
	if err := json.Unmarshal(b, &figures); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ws_orders_per_sec", "rest_orders_per_sec", "ws_p99_ms", "rest_p99_ms"} {
		if figures[k] <= 0 {
			t.Fatalf("%s = %v in %s", k, figures[k], b)
		}
	}
	if figures["errors"] != 0 {
		t.Fatalf("%v requests failed", figures["errors"])
	}
	if code := run([]string{"bench", "api", "--bots", "0"}, &stdout, &stderr); code != 2 {
		t.Fatalf("--bots 0: exit %d", code)
	}
}

// `exchange bench cascade` writes report.json and the eight charts.
func TestBenchCascade(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cascade")
	}
	out := filepath.Join(t.TempDir(), "report")
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "cascade", "--accounts", "2000", "--out", out, "--warmup", "1s", "--shock-over", "2s", "--settle", "1s",
		"--background-rate", "2000"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep["accounts"].(float64) != 2000 || rep["liquidations"].(float64) < 1 || rep["moneyConserved"] != true {
		t.Fatalf("report %s", b)
	}
	for _, chart := range []string{"prices", "liquidations", "fund", "latency"} {
		for _, ext := range []string{".png", ".svg"} {
			if st, err := os.Stat(filepath.Join(out, chart+ext)); err != nil || st.Size() == 0 {
				t.Fatalf("%s%s: %v", chart, ext, err)
			}
		}
	}
	if !strings.Contains(stdout.String(), "liquidations") || !strings.Contains(stderr.String(), "simulated") {
		t.Fatalf("summary or progress missing:\n%s\n%s", stdout.String(), stderr.String())
	}
	if code := run([]string{"bench", "cascade", "--accounts", "0", "--mark", "nope"}, &stdout, &stderr); code != 2 {
		t.Fatalf("bad flags: exit %d", code)
	}
}
