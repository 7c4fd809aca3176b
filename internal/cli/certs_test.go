package cli

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/pki"
	"github.com/ignigen/ignigen/internal/secrets"
)

const day = 24 * time.Hour

// certsDir writes a bundle issued by internal/pki at issued, and an admin kubeconfig holding its
// admin certificate, the way a build leaves them.
func certsDir(t *testing.T, issued time.Time) (string, *secrets.Bundle) {
	t.Helper()
	dir := t.TempDir()
	b, err := secrets.New(model.ECDSAP256, issued)
	require.NoError(t, err)
	data, err := b.Marshal()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, SecretsFile), data, 0o600))
	kc, err := kubeconfig.Marshal("c", "admin", kubeconfig.Credentials{
		Server: "https://192.0.2.1:6443", CA: []byte(b.CAs["ca"].Cert), Cert: []byte(b.Admin.Cert), Key: []byte(b.Admin.Key)})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, build.KubeconfigFile), kc, 0o600))
	return dir, b
}

// apiServer serves TLS on loopback with a certificate for 127.0.0.1 valid from issued for
// validity, signed by the bundle's cluster CA (or by another CA when foreign).
func apiServer(t *testing.T, b *secrets.Bundle, issued time.Time, validity time.Duration, foreign bool) string {
	t.Helper()
	caCert, err := pki.ParseCert([]byte(b.CAs["ca"].Cert))
	require.NoError(t, err)
	caKey, err := pki.ParseKey([]byte(b.CAs["ca"].Key))
	require.NoError(t, err)
	if foreign {
		other, err := secrets.New(model.ECDSAP256, issued)
		require.NoError(t, err)
		caCert, _ = pki.ParseCert([]byte(other.CAs["ca"].Cert))
		caKey, _ = pki.ParseKey([]byte(other.CAs["ca"].Key))
	}
	key, err := pki.NewKey(model.ECDSAP256)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: issued.Add(-pki.Backdate), NotAfter: issued.Add(validity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCerts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		after    time.Duration // check this long after the bundle was issued
		args     []string
		server   time.Duration // serving certificate lifetime from the bundle's issue; 0: no --server
		foreign  bool
		noKC     bool
		code     int
		rows     map[string]string // certificate -> status
		stderr   []string
		noStderr bool
	}{
		{name: "fresh", code: ExitOK, noStderr: true,
			rows: map[string]string{"ca": "ok", "front-proxy-ca": "ok", "etcd/ca": "ok", "admin": "ok", "admin client": "ok"}},
		{name: "admin within the margin", after: 300 * day, code: ExitFailed,
			rows:   map[string]string{"ca": "ok", "admin": "RENEW", "admin client": "RENEW"},
			stderr: []string{"admin (", "within 90 days", "ignigen secrets renew-admin"}},
		{name: "a smaller margin", after: 300 * day, args: []string{"--margin", "30d"}, code: ExitOK,
			rows: map[string]string{"admin": "ok", "admin client": "ok"}},
		{name: "margin as a duration", after: 300 * day, args: []string{"--margin", "1800h"}, code: ExitFailed,
			rows: map[string]string{"admin": "RENEW"}},
		{name: "admin expired", after: 366 * day, code: ExitFailed,
			rows: map[string]string{"admin": "EXPIRED", "admin client": "EXPIRED", "ca": "ok"}, stderr: []string{"expired on"}},
		{name: "CA within the margin", after: 3600 * day, code: ExitFailed,
			rows: map[string]string{"ca": "RENEW", "etcd/ca": "RENEW"}, stderr: []string{"CA rotation"}},
		{name: "no kubeconfig", noKC: true, code: ExitOK,
			rows: map[string]string{"admin": "ok"}, stderr: []string{"admin.kubeconfig does not exist"}},
		{name: "fresh server", server: 365 * day, code: ExitOK,
			rows: map[string]string{"API serving": "ok"}},
		{name: "server within the margin", after: 300 * day, server: 320 * day, args: []string{"--margin", "30d"}, code: ExitFailed,
			rows: map[string]string{"API serving": "RENEW", "admin": "ok"}, stderr: []string{"renew-certs"}},
		{name: "expired server", after: 10 * day, server: 5 * day, code: ExitFailed,
			rows: map[string]string{"API serving": "error: TLS handshake"}, stderr: []string{"expired"}},
		{name: "foreign server", server: 365 * day, foreign: true, code: ExitFailed,
			rows: map[string]string{"API serving": "error: TLS handshake"}, stderr: []string{"unknown authority"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, b := certsDir(t, testNow)
			if tc.noKC {
				require.NoError(t, os.Remove(filepath.Join(dir, build.KubeconfigFile)))
			}
			args := append([]string{"certs", "-o", dir}, tc.args...)
			if tc.server != 0 {
				args = append(args, "--server", apiServer(t, b, testNow, tc.server, tc.foreign))
			}
			res := runAt(testNow.Add(tc.after), args...)
			assert.Equal(t, tc.code, res.code, res.stdout+res.stderr)
			got := statuses(res.stdout)
			for name, want := range tc.rows {
				assert.True(t, strings.HasPrefix(got[name], want), "%s: status %q, want %q\n%s", name, got[name], want, res.stdout)
			}
			for _, s := range tc.stderr {
				assert.Contains(t, res.stderr, s)
			}
			if tc.noStderr {
				assert.Empty(t, res.stderr)
			}
			assert.NotContains(t, res.stdout+res.stderr, "PRIVATE KEY")
		})
	}
}

// statuses maps each table row's certificate name to its STATUS column.
func statuses(table string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(table, "\n")
	if len(lines) == 0 {
		return out
	}
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:] {
		if col < 0 || len(l) <= col {
			continue
		}
		name := strings.TrimSpace(l[:strings.Index(l+"  ", "  ")])
		out[name] = strings.TrimSpace(l[col:])
	}
	return out
}

func TestCertsUsage(t *testing.T) {
	dir, _ := certsDir(t, testNow)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad margin", []string{"--margin", "soon"}, ExitUsage, "--margin"},
		{"negative margin", []string{"--margin", "-1d"}, ExitUsage, "non-negative"},
		{"argument", []string{"extra"}, ExitUsage, "expected 0 argument(s)"},
		{"missing bundle", []string{"--secrets", filepath.Join(dir, "none.yaml")}, ExitFailed, "none.yaml"},
		{"bad server URL", []string{"--server", "http://127.0.0.1:1"}, ExitFailed, "want https://HOST:PORT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(append([]string{"certs", "-o", dir}, tc.args...)...)
			assert.Equal(t, tc.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.want)
		})
	}
}
