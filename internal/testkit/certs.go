package testkit

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ignigen/ignigen/internal/pki"
)

var clientCertData = regexp.MustCompile(`(client-certificate-data: )(\S+)`)

// ReadLeaf reads the certificate at file under dir (an /etc/kubernetes), or, for a kubeconfig
// (*.conf), the client certificate embedded in it.
func ReadLeaf(dir, file string) (*x509.Certificate, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(file, ".conf") {
		m := clientCertData.FindSubmatch(data)
		if m == nil {
			return nil, fmt.Errorf("%s has no client-certificate-data", file)
		}
		if data, err = base64.StdEncoding.DecodeString(string(m[2])); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	c, err := pki.ParseCert(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// ShortenCert re-issues file's certificate under dir (same subject, names, usages and key),
// signed by the CA at caStem (e.g. "pki/etcd/ca"), to expire at notAfter, in place: what a
// certificate kubeadm issued a year ago looks like, without waiting a year.
func ShortenCert(dir, file, caStem string, notAfter time.Time) error {
	old, err := ReadLeaf(dir, file)
	if err != nil {
		return err
	}
	caCert, err := ReadLeaf(dir, caStem+".crt")
	if err != nil {
		return err
	}
	caKeyPEM, err := os.ReadFile(filepath.Join(dir, caStem+".key"))
	if err != nil {
		return err
	}
	caKey, err := pki.ParseKey(caKeyPEM)
	if err != nil {
		return fmt.Errorf("%s.key: %w", caStem, err)
	}
	tmpl := *old
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), notAfter
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, caCert, old.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("re-issuing %s: %w", file, err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	path := filepath.Join(dir, file)
	if strings.HasSuffix(file, ".conf") {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = clientCertData.ReplaceAll(data, []byte("${1}"+base64.StdEncoding.EncodeToString(out)))
	}
	return os.WriteFile(path, out, 0o600)
}
