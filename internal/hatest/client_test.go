//go:build hatest

package hatest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ignigen/ignigen/internal/kubeconfig"
)

func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec // health probes of single backends

// apiClient talks to the API through the server of the generated admin kubeconfig, from the
// client namespace, authenticating with the kubeconfig's client certificate.
type apiClient struct {
	server string
	hc     *http.Client // keep-alive, like kubectl and client-go
	probe  *http.Client // a fresh connection per request
}

func newAPIClient(kc *kubeconfig.Credentials, ns string) (*apiClient, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(kc.CA) {
		return nil, errors.New("kubeconfig CA: no certificate")
	}
	cert, err := tls.X509KeyPair(kc.Cert, kc.Key)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	tr := func(keepAlive bool) *http.Transport {
		return &http.Transport{
			DialContext:         dialer(ns),
			TLSClientConfig:     tc.Clone(),
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: 16,
			TLSHandshakeTimeout: 2 * time.Second,
		}
	}
	return &apiClient{server: kc.Server, hc: &http.Client{Transport: tr(true)}, probe: &http.Client{Transport: tr(false)}}, nil
}

func (a *apiClient) do(ctx context.Context, hc *http.Client, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.server+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

const (
	testNamespace = "default"
	runLabel      = "ignigen-hatest-run"
)

// create makes ConfigMap name; true only for an acknowledged create (201).
func (a *apiClient) create(ctx context.Context, run, name string, seq int) (bool, error) {
	cm := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "labels": map[string]string{runLabel: run}},
		"data":     map[string]string{"seq": strconv.Itoa(seq)},
	}
	code, body, err := a.do(ctx, a.hc, http.MethodPost, "/api/v1/namespaces/"+testNamespace+"/configmaps", cm)
	if err != nil {
		return false, err
	}
	if code != http.StatusCreated {
		return false, fmt.Errorf("create %s: HTTP %d: %.200s", name, code, body)
	}
	return true, nil
}

// list returns the names of the run's ConfigMaps (a quorum read).
func (a *apiClient) list(ctx context.Context, run string) (map[string]bool, error) {
	q := url.Values{"labelSelector": {runLabel + "=" + run}}
	code, body, err := a.do(ctx, a.hc, http.MethodGet, "/api/v1/namespaces/"+testNamespace+"/configmaps?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("list: HTTP %d: %.200s", code, body)
	}
	var l struct {
		Items []struct {
			Metadata struct{ Name string }
		}
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, err
	}
	got := map[string]bool{}
	for _, it := range l.Items {
		got[it.Metadata.Name] = true
	}
	return got, nil
}

// attempt is one request of the load or the probe.
type attempt struct {
	start, end time.Time
	ok         bool
	err        string
}

// load is a bounded write load: writers create numbered ConfigMaps at a fixed pace, a prober
// asks GET /version over a fresh connection every probeEvery, and every outcome is recorded.
// Writers wait for each answer (like a controller); probes do not.
type load struct {
	api     *apiClient
	run     string
	mu      sync.Mutex
	acked   []string
	writes  []attempt
	probes  []attempt
	seq     int
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

const (
	writers      = 4
	writeEvery   = 80 * time.Millisecond // per writer: 50 creates/s in all
	writeTimeout = 2 * time.Second
	probeEvery   = 50 * time.Millisecond
	probeTimeout = 500 * time.Millisecond
)

func startLoad(ctx context.Context, api *apiClient, run string) *load {
	ctx, cancel := context.WithCancel(ctx)
	l := &load{api: api, run: run, cancel: cancel}
	for range writers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(writeEvery)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				l.mu.Lock()
				l.seq++
				seq := l.seq
				l.mu.Unlock()
				name := fmt.Sprintf("ha-%s-%06d", run, seq)
				rctx, rcancel := context.WithTimeout(ctx, writeTimeout)
				a := attempt{start: time.Now()}
				ok, err := api.create(rctx, run, name, seq)
				rcancel()
				a.end, a.ok = time.Now(), ok
				if err != nil {
					a.err = err.Error()
				}
				if ctx.Err() != nil && !ok {
					return // cancelled by the end of the load, not a failure
				}
				l.mu.Lock()
				l.writes = append(l.writes, a)
				if ok {
					l.acked = append(l.acked, name)
				}
				l.mu.Unlock()
			}
		}()
	}
	// Probes start every probeEvery whether or not the last one has answered, so the moment the
	// VIP answers again is known to within probeEvery.
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				rctx, rcancel := context.WithTimeout(ctx, probeTimeout)
				a := attempt{start: time.Now()}
				code, _, err := api.do(rctx, api.probe, http.MethodGet, "/version", nil)
				rcancel()
				a.end = time.Now()
				a.ok = err == nil && code == http.StatusOK
				if err != nil {
					a.err = err.Error()
				} else if !a.ok {
					a.err = "HTTP " + strconv.Itoa(code)
				}
				if ctx.Err() != nil && !a.ok {
					return
				}
				l.mu.Lock()
				l.probes = append(l.probes, a)
				l.mu.Unlock()
			}()
		}
	}()
	return l
}

func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// firstOK is the end of the earliest successful attempt started at or after t.
func firstOK(as []attempt, t time.Time) (time.Time, bool) {
	var best time.Time
	for _, a := range as {
		if a.ok && !a.start.Before(t) && (best.IsZero() || a.end.Before(best)) {
			best = a.end
		}
	}
	return best, !best.IsZero()
}

// clientView is what the load's clients saw from a loss at t0 to the end of the load.
type clientView struct {
	WriteGapSec  float64 // longest stretch with no write acknowledged
	ProbeGapSec  float64 // longest stretch with no probe answered
	FailedWrites int     // failed attempts started after t0
	FailedProbes int
}

// since sums up the attempts from t0 to end (the load has stopped).
func (l *load) since(t0, end time.Time) clientView {
	v := clientView{
		WriteGapSec: longestGap(l.writes, t0, end).Seconds(),
		ProbeGapSec: longestGap(l.probes, t0, end).Seconds(),
	}
	v.FailedWrites, _ = failedBetween(l.writes, t0, end)
	v.FailedProbes, _ = failedBetween(l.probes, t0, end)
	return v
}

// longestGap is the longest stretch of [from, to] in which no attempt succeeded (by the ends
// of the successful ones): the gap a client saw.
func longestGap(as []attempt, from, to time.Time) time.Duration {
	var ends []time.Time
	for _, a := range as {
		if a.ok && a.end.After(from) && !a.end.After(to) {
			ends = append(ends, a.end)
		}
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
	gap, prev := time.Duration(0), from
	for _, e := range append(ends, to) {
		gap = max(gap, e.Sub(prev))
		prev = e
	}
	return gap
}

// failedBetween counts failed attempts that started in [from, to).
func failedBetween(as []attempt, from, to time.Time) (n int, errs map[string]int) {
	errs = map[string]int{}
	for _, a := range as {
		if !a.ok && !a.start.Before(from) && a.start.Before(to) {
			n++
			errs[shortErr(a.err)]++
		}
	}
	return n, errs
}

func shortErr(s string) string {
	if len(s) > 90 {
		s = s[len(s)-90:]
	}
	return s
}

func topErrs(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].v > s[j].v })
	out := ""
	for i, e := range s {
		if i == 3 {
			break
		}
		out += fmt.Sprintf("\n    %dx %s", e.v, e.k)
	}
	return out
}
