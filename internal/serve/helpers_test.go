package serve

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
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
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/build"
)

type fakeNode struct{ name, role, mac string }

var fakeNodes = []fakeNode{
	{"cp1", "control-plane", "52:54:00:00:00:11"},
	{"w1", "worker", "52:54:00:00:00:21"},
	{"w2", "worker", ""},
}

// writeOutput writes a minimal build output; version changes every config's bytes. It reports
// failures with t.Error, so it may run outside the test goroutine.
func writeOutput(t testing.TB, dir string, version int) build.Manifest {
	m := build.Manifest{Cluster: "demo", Endpoint: "https://10.0.0.10:6443",
		PXE: &build.PXE{KernelURL: "/assets/vmlinuz", InitrdURLs: []string{"/assets/initrd.img", "http://mirror/extra.cpio"}, ExtraArgs: []string{"console=ttyS0"}}}
	for _, n := range fakeNodes {
		data := fakeConfig(n.name, version)
		sum := sha256.Sum256(data)
		if err := os.WriteFile(filepath.Join(dir, n.name+".ign"), data, 0o600); err != nil {
			t.Error(err)
		}
		m.Nodes = append(m.Nodes, build.NodeSummary{Name: n.name, Role: n.role, MAC: n.mac, File: n.name + ".ign", Bytes: len(data), SHA256: hex.EncodeToString(sum[:])})
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, build.ManifestFile), raw, 0o644)
	}
	if err != nil {
		t.Error(err)
	}
	return m
}

// fakeConfig is node's config in build version: distinct per node and per build.
func fakeConfig(node string, version int) []byte {
	return []byte(fmt.Sprintf(`{"ignition":{"version":"3.4.0"},"node":%q,"v":%d}`, node, version))
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
