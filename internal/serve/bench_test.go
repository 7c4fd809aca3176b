package serve

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/topology"
	"github.com/ignigen/ignigen/profiles"
)

// exampleOutput builds `ignigen init`'s example cluster into a temporary directory.
func exampleOutput(b testing.TB) (string, *build.Result) {
	c, r, err := topology.Parse("example.yaml", topology.Example)
	if err != nil {
		b.Fatal(r.String())
	}
	bundle, err := secrets.New(model.ECDSAP256, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	res, err := build.Build(c, bundle, profiles.FS)
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "out")
	var files []output.File
	for _, f := range res.Files {
		files = append(files, output.File(f))
	}
	if err := output.WriteDir(dir, files); err != nil {
		b.Fatal(err)
	}
	return dir, res
}

// BenchmarkServeIgnition: concurrent clients over loopback TCP fetch the example cluster's
// configs by MAC; every response is checked byte for byte.
func BenchmarkServeIgnition(b *testing.B) {
	dir, res := exampleOutput(b)
	s, err := New(Options{Dir: dir, Log: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	type target struct {
		url  string
		want []byte
	}
	var targets []target
	for _, n := range res.Manifest.Nodes {
		data, err := os.ReadFile(filepath.Join(dir, n.File))
		if err != nil {
			b.Fatal(err)
		}
		targets = append(targets, target{srv.URL + "/ignition?mac=" + n.MAC, data})
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	var bad, next atomic.Int64
	b.SetParallelism(8) // 8 × GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t := targets[int(next.Add(1))%len(targets)]
			t0 := time.Now()
			resp, err := client.Get(t.url)
			if err != nil {
				bad.Add(1)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != 200 || !bytes.Equal(body, t.want) {
				bad.Add(1)
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if bad.Load() > 0 {
		b.Fatalf("%d of %d responses were not the node's exact config", bad.Load(), b.N)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
