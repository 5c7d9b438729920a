package bench

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPFloor measures what Go's net/http alone costs for an
// order-sized request over loopback, client and server in one process as
// in `exchange bench api`: a handler that reads the body and writes a
// fixed answer, behind keep-alive connections, with 64 requests in flight.
// It is the ceiling of REST order entry on this machine, with nothing of
// the exchange in it (no signature, JSON, engine or journal). One
// iteration is one request; the metric is requests/s.
//
//	go test ./bench -run '^$' -bench '^BenchmarkHTTPFloor$' -benchtime=200000x
func BenchmarkHTTPFloor(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	answer := []byte(`{"orderId":"1234567","clientOrderId":"bot-1-42","status":"NEW","symbol":"BTCUSDT","side":"BUY","type":"LIMIT",` +
		`"price":"100000.0","qty":"0.001","executedQty":"0","timeInForce":"GTC","updateTime":1767225600000}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	const inFlight = 64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}
	url := "http://" + ln.Addr().String() + "/api/v1/order"
	body := []byte(`{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","price":"100000.0","qty":"0.001","timeInForce":"GTC",` +
		`"clientOrderId":"bot-1-42"}`)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					failed.Store(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", "0123456789abcdef")
				req.Header.Set("X-Signature", "a4d1e0b4c4f6f1b0d7e5c8a2b9f3e6d1c0a7b4e8f2d5c9a3b6e1f4d7c0a9b2e5")
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					failed.Store(err)
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}
