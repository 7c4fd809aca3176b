package serve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/build"
)

type fakeNode struct{ name, role, mac string }

var fakeNodes = []fakeNode{
	{"cp1", "control-plane", "52:54:00:00:00:11"},
	{"w1", "worker", "52:54:00:00:00:21"},
	{"w2", "worker", ""},
}

// writeOutput writes a minimal build output; version changes every config's bytes.
func writeOutput(t testing.TB, dir string, version int) build.Manifest {
	m := build.Manifest{Cluster: "demo", Endpoint: "https://10.0.0.10:6443",
		PXE: &build.PXE{KernelURL: "/assets/vmlinuz", InitrdURLs: []string{"/assets/initrd.img", "http://mirror/extra.cpio"}, ExtraArgs: []string{"console=ttyS0"}}}
	for _, n := range fakeNodes {
		data := []byte(fmt.Sprintf(`{"ignition":{"version":"3.4.0"},"node":%q,"v":%d}`, n.name, version))
		sum := sha256.Sum256(data)
		require.NoError(t, os.WriteFile(filepath.Join(dir, n.name+".ign"), data, 0o600))
		m.Nodes = append(m.Nodes, build.NodeSummary{Name: n.name, Role: n.role, MAC: n.mac, File: n.name + ".ign", Bytes: len(data), SHA256: hex.EncodeToString(sum[:])})
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, build.ManifestFile), raw, 0o644))
	return m
}

func config(t testing.TB, dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name+".ign"))
	require.NoError(t, err)
	return string(b)
}

func newServer(t testing.TB, log io.Writer) (*Server, string) {
	dir := t.TempDir()
	writeOutput(t, dir, 1)
	assets := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(assets, "vmlinuz"), []byte("KERNEL"), 0o644))
	s, err := New(Options{Dir: dir, AssetsDir: assets, Log: log})
	require.NoError(t, err)
	return s, dir
}

func get(h http.Handler, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	r.Host = "10.0.2.2:8080"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRequests(t *testing.T) {
	s, dir := newServer(t, io.Discard)
	h := s.Handler()
	for _, tc := range []struct {
		target string
		status int
		body   string // exact body, or "~" + fragment
	}{
		{"/ignition?mac=52:54:00:00:00:11", 200, config(t, dir, "cp1")},
		{"/ignition?mac=52-54-00-00-00-11", 200, config(t, dir, "cp1")},
		{"/ignition?mac=52-54-00-00-00-21", 200, config(t, dir, "w1")},
		{"/ignition?name=w1", 200, config(t, dir, "w1")},
		{"/ignition?name=w2", 200, config(t, dir, "w2")},
		{"/ignition?mac=52-54-00-00-00-21&name=w1", 200, config(t, dir, "w1")},
		{"/ignition?name=cp1", 403, "~served only by MAC"},
		{"/ignition?mac=52-54-00-00-00-21&name=cp1", 404, "~belongs to node w1"},
		{"/ignition?mac=52-54-00-00-00-99", 404, "~has MAC 52:54:00:00:00:99"},
		{"/ignition?mac=bogus", 400, "~not a MAC"},
		{"/ignition?name=nope", 404, "~no node \"nope\""},
		{"/ignition", 400, "~give ?mac="},
		{"/ipxe?mac=52-54-00-00-00-99", 404, "~has MAC 52:54:00:00:00:99"},
		{"/ipxe?mac=52-54-00-00-00-21", 200, "#!ipxe\n# ignigen: node w1 (worker) of cluster demo\n" +
			"kernel http://10.0.2.2:8080/assets/vmlinuz initrd=initrd.img initrd=extra.cpio flatcar.first_boot=1 ignition.config.url=http://10.0.2.2:8080/ignition?mac=52-54-00-00-00-21 console=ttyS0\n" +
			"initrd http://10.0.2.2:8080/assets/initrd.img\ninitrd http://mirror/extra.cpio\nboot\n"},
		{"/healthz", 200, "ok: cluster demo, 3 node(s)\n"},
		{"/assets/vmlinuz", 200, "KERNEL"},
		{"/assets/missing", 404, "~not found"},
		{"/", 404, "~not found"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			w := get(h, tc.target)
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			if f, ok := strings.CutPrefix(tc.body, "~"); ok {
				assert.Contains(t, w.Body.String(), f)
				assert.NotContains(t, w.Body.String(), `"ignition"`, "an error never carries a config")
			} else {
				assert.Equal(t, tc.body, w.Body.String())
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	var log syncBuffer
	s, _ := newServer(t, &log)
	s.opts.Now = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
	h := s.Handler()
	get(h, "/ignition?mac=52-54-00-00-00-11")
	get(h, "/ipxe?mac=52-54-00-00-00-99")
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	require.Len(t, lines, 2)
	assert.Regexp(t, `^2025-01-02T03:04:05Z client=192\.0\.2\.1:1234 method=GET path="/ignition" mac=52:54:00:00:00:11 node=cp1 status=200 bytes=\d+ duration=0s$`, lines[0])
	assert.Contains(t, lines[1], `path="/ipxe" mac=52:54:00:00:00:99 node=- status=404`)
}

func TestReload(t *testing.T) {
	var log syncBuffer
	s, dir := newServer(t, &log)
	changed, err := s.Reload()
	require.NoError(t, err)
	assert.False(t, changed, "same manifest: nothing to do")

	writeOutput(t, dir, 2)
	changed, err = s.Reload()
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Contains(t, get(s.Handler(), "/ignition?name=w1").Body.String(), `"v":2`)

	// A config edited behind the manifest's back is refused; the previous build stays served.
	writeOutput(t, dir, 3)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w1.ign"), []byte("tampered"), 0o600))
	_, err = s.Reload()
	require.ErrorContains(t, err, "w1.ign does not match the sha256")
	assert.Contains(t, get(s.Handler(), "/ignition?name=w1").Body.String(), `"v":2`)

	// Watch picks a good build up by itself.
	writeOutput(t, dir, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(get(s.Handler(), "/ignition?name=w1").Body.String(), `"v":4`)
	}, 5*time.Second, 10*time.Millisecond)
	assert.Contains(t, log.String(), "reloaded "+dir+": cluster demo, 3 node(s)")
}

func TestNewRefusesNonOutput(t *testing.T) {
	_, err := New(Options{Dir: t.TempDir()})
	assert.ErrorContains(t, err, "is not a build output")
}

func TestRunTLSAndGracefulShutdown(t *testing.T) {
	s, dir := newServer(t, io.Discard)
	cert, key, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, cert, key, time.Second) }()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = c.Get("https://" + ln.Addr().String() + "/ignition?mac=52-54-00-00-00-11")
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, config(t, dir, "cp1"), string(body))
	// iPXE scripts point back over HTTPS.
	resp, err = c.Get("https://" + ln.Addr().String() + "/ipxe?mac=52-54-00-00-00-11")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "ignition.config.url=https://"+ln.Addr().String()+"/ignition?mac=52-54-00-00-00-11")
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(ShutdownTimeout + 2*time.Second):
		t.Fatal("no shutdown")
	}
}

func TestTimeouts(t *testing.T) {
	hs := HTTPServer(http.NotFoundHandler())
	assert.Positive(t, hs.ReadHeaderTimeout)
	assert.Positive(t, hs.ReadTimeout)
	assert.Positive(t, hs.WriteTimeout)
	assert.Positive(t, hs.IdleTimeout)
}

// TestConcurrentClients: many clients at once each get exactly their own node's bytes.
func TestConcurrentClients(t *testing.T) {
	s, dir := newServer(t, io.Discard)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	want := map[string]string{}
	for _, n := range fakeNodes {
		if n.mac != "" {
			want[n.mac] = config(t, dir, n.name)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mac := fakeNodes[i%2].mac
			for range 25 {
				resp, err := srv.Client().Get(srv.URL + "/ignition?mac=" + mac)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != want[mac] {
					errs <- fmt.Errorf("%s got wrong bytes", mac)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestParseMAC(t *testing.T) {
	for in, want := range map[string]string{"52-54-00-AB-cd-01": "52:54:00:ab:cd:01", "52:54:00:ab:cd:01": "52:54:00:ab:cd:01", "x": "", "01:02:03:04:05:06:07:08": ""} {
		got, err := ParseMAC(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want == "", err != nil, in)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ignigen-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}
