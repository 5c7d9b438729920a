package bench

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// syntheticCascade is a 20% fall over 30 s with gaps: no trade for the
// first 5 s, intervals without acks, and zero latencies.
func syntheticCascade(samples, liquidations int) *CascadeSeries {
	rng := rand.New(rand.NewPCG(1, 2))
	s := &CascadeSeries{Interval: 0.1, ShockStart: 100, ShockEnd: 130, Symbol: "BTCUSDT"}
	fund := 1e6
	for i := range samples {
		t := float64(i+1) * s.Interval
		fall := math.Min(math.Max((t-s.ShockStart)/(s.ShockEnd-s.ShockStart), 0), 1)
		index := 100000 * (1 - 0.2*fall)
		mark := index * (1 - 0.01*fall*rng.Float64())
		last := mark + 20*rng.NormFloat64()
		if t < 5 || i%500 == 7 {
			last = math.NaN()
		}
		liqs := 0.0
		if fall > 0 && fall < 1 {
			liqs = math.Floor(rng.ExpFloat64() * 200)
		}
		fund -= liqs * 3
		p50 := 0.2 + 0.05*rng.Float64() + 2*liqs/200
		s.T = append(s.T, t)
		s.Index = append(s.Index, index)
		s.Mark = append(s.Mark, mark)
		s.Last = append(s.Last, last)
		s.Liquidations = append(s.Liquidations, liqs)
		s.Fund = append(s.Fund, fund)
		switch {
		case i%97 == 3:
			s.LatencyP50 = append(s.LatencyP50, math.NaN())
			s.LatencyP99 = append(s.LatencyP99, math.NaN())
			s.LatencyP999 = append(s.LatencyP999, math.NaN())
		case i%101 == 5:
			s.LatencyP50 = append(s.LatencyP50, 0)
			s.LatencyP99 = append(s.LatencyP99, 0)
			s.LatencyP999 = append(s.LatencyP999, 0)
		default:
			s.LatencyP50 = append(s.LatencyP50, p50)
			s.LatencyP99 = append(s.LatencyP99, p50*5)
			s.LatencyP999 = append(s.LatencyP999, p50*(20+20*rng.Float64()))
		}
	}
	for range liquidations {
		t := s.ShockStart + rng.Float64()*(s.ShockEnd-s.ShockStart)
		fall := (t - s.ShockStart) / (s.ShockEnd - s.ShockStart)
		s.LiqT = append(s.LiqT, t)
		s.LiqPrice = append(s.LiqPrice, 100000*(1-0.2*fall)*(1+0.02*rng.NormFloat64()))
	}
	return s
}

var chartNames = []string{"prices", "liquidations", "fund", "latency"}

// checkCharts checks that dir holds the eight files and returns them.
func checkCharts(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range chartNames {
		for _, ext := range []string{".png", ".svg"} {
			b, err := os.ReadFile(filepath.Join(dir, name+ext))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				t.Fatalf("%s%s is empty", name, ext)
			}
			files[name+ext] = b
			if ext == ".svg" {
				if !bytes.HasPrefix(b, []byte("<?xml")) && !bytes.HasPrefix(b, []byte("<svg")) {
					t.Errorf("%s.svg starts with %q", name, b[:min(len(b), 20)])
				}
				continue
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s.png: %v", name, err)
			}
			// 10×5 inches at gonum's 96 dpi.
			if size := img.Bounds().Size(); size.X != 960 || size.Y != 480 {
				t.Errorf("%s.png is %v, want 960×480", name, size)
			}
		}
	}
	return files
}

func TestWriteCascadeCharts(t *testing.T) {
	s := syntheticCascade(3000, 50000)
	dir := t.TempDir()
	if err := WriteCascadeCharts(dir, s); err != nil {
		t.Fatal(err)
	}
	files := checkCharts(t, dir)
	for name, b := range files {
		// 50,000 markers drawn one by one would make the SVG megabytes.
		if len(b) > 1<<20 {
			t.Errorf("%s is %d bytes", name, len(b))
		}
	}

	again := t.TempDir()
	if err := WriteCascadeCharts(again, s); err != nil {
		t.Fatal(err)
	}
	for name, b := range checkCharts(t, again) {
		if !bytes.Equal(b, files[name]) {
			t.Errorf("%s differs between two writes of one series", name)
		}
	}
}

func TestWriteCascadeChartsEmpty(t *testing.T) {
	for name, s := range map[string]*CascadeSeries{
		"zero": {},
		"all NaN": {
			Interval: 1, Symbol: "ETHUSDT",
			T:          []float64{1, 2},
			Index:      []float64{math.NaN(), math.NaN()},
			LatencyP50: []float64{0, math.NaN()},
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "charts")
			if err := WriteCascadeCharts(dir, s); err != nil {
				t.Fatal(err)
			}
			checkCharts(t, dir)
		})
	}
}

func TestChartPolylines(t *testing.T) {
	keep := func(y float64) bool { return !math.IsNaN(y) }

	// Short series: every point, split at the NaN.
	lines := polylines([]float64{1, 2, 3, 4, 5}, []float64{1, 2, math.NaN(), 4, 5}, 10, keep)
	if len(lines) != 2 || len(lines[0]) != 2 || len(lines[1]) != 2 {
		t.Fatalf("lines = %v", lines)
	}

	// Long series: bounded, with the one-sample spike and dip kept.
	const n = 100000
	x, y := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i], y[i] = float64(i), 1
	}
	y[12345], y[67890] = 1000, -5
	total, maxY, minY := 0, math.Inf(-1), math.Inf(1)
	for _, l := range polylines(x, y, 4000, keep) {
		total += len(l)
		for i, p := range l {
			if i > 0 && p.X <= l[i-1].X {
				t.Fatalf("x not increasing at %v", p)
			}
			maxY, minY = math.Max(maxY, p.Y), math.Min(minY, p.Y)
		}
	}
	if total > 4000 || maxY != 1000 || minY != -5 {
		t.Fatalf("total %d, max %v, min %v", total, maxY, minY)
	}
}

func TestChartThinMarkers(t *testing.T) {
	s := syntheticCascade(10, 100000)
	s.LiqT = append(s.LiqT, 500, math.NaN())
	s.LiqPrice = append(s.LiqPrice, 1, 2)
	pts := thinMarkers(s.LiqT, s.LiqPrice)
	if len(pts) == 0 || len(pts) > maxMarkers {
		t.Fatalf("%d markers", len(pts))
	}
	found := false
	for _, p := range pts {
		found = found || p.X == 500
	}
	if !found {
		t.Error("the outlier at t=500 was thinned away")
	}
}
