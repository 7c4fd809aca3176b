package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ignigen/ignigen/internal/model"
)

// Validity periods, as kubeadm uses them.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	LeafValidity = 365 * 24 * time.Hour
	// Backdate covers clocks of nodes slightly behind the machine that made the certificate.
	Backdate = 5 * time.Minute
)

type algorithm struct {
	alg    model.KeyAlgorithm
	newKey func() (crypto.Signer, error)
	is     func(crypto.PublicKey) bool // whether a public key is of this algorithm
}

// algorithms is every key algorithm ignigen makes, and the one place that lists them.
var algorithms = []algorithm{
	{model.ECDSAP256,
		func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) },
		func(k crypto.PublicKey) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == elliptic.P256() }},
	{model.RSA2048,
		func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) },
		func(k crypto.PublicKey) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 2048 }},
}

// Supported reports whether ignigen makes keys of alg.
func Supported(alg model.KeyAlgorithm) bool {
	return slices.ContainsFunc(algorithms, func(a algorithm) bool { return a.alg == alg })
}

// Algorithms names the supported algorithms for messages: "ECDSA-P256 or RSA-2048".
func Algorithms() string {
	names := make([]string, len(algorithms))
	for i, a := range algorithms {
		names[i] = string(a.alg)
	}
	return strings.Join(names, " or ")
}

// NewKey makes a private key of the cluster's algorithm.
func NewKey(alg model.KeyAlgorithm) (crypto.Signer, error) {
	for _, a := range algorithms {
		if a.alg == alg {
			return a.newKey()
		}
	}
	return nil, fmt.Errorf("unsupported key algorithm %q; use %s", alg, Algorithms())
}

// AlgorithmOf names the algorithm of key, or "" when ignigen does not make such keys.
func AlgorithmOf(key crypto.PublicKey) model.KeyAlgorithm {
	for _, a := range algorithms {
		if a.is(key) {
			return a.alg
		}
	}
	return ""
}

// EncodeKey writes a private key the way kubeadm does: SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY".
func EncodeKey(key crypto.Signer) ([]byte, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", key)
}

// EncodePublicKey writes a PKIX "PUBLIC KEY", the format of kubeadm's sa.pub.
func EncodePublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// EncodeCert writes a "CERTIFICATE" PEM block.
func EncodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ParseKey reads a PEM private key in SEC1, PKCS#1 or PKCS#8 form.
func ParseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block found")
	}
	switch b.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported PKCS#8 key %T", k)
		}
		return s, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a private key", b.Type)
}

// ParseCert reads one PEM certificate.
func ParseCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block found")
	}
	return x509.ParseCertificate(b.Bytes)
}

// ParsePublicKey reads a PKIX "PUBLIC KEY".
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New("no PUBLIC KEY PEM block found")
	}
	return x509.ParsePKIXPublicKey(b.Bytes)
}

// SamePublicKey reports whether two public keys are equal.
func SamePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func serial() (*big.Int, error) {
	// 127 bits: positive and within the 20 octets RFC 5280 allows.
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// NewCA self-signs a CA certificate the way kubeadm's certs phase does.
func NewCA(cn string, key crypto.Signer, now time.Time) ([]byte, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              []string{cn},
		NotBefore:             now.Add(-Backdate).UTC(),
		NotAfter:              now.Add(CAValidity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

// NewClientCert issues a client certificate signed by the CA.
func NewClientCert(ca *x509.Certificate, caKey crypto.Signer, cn string, orgs []string, key crypto.PublicKey, now time.Time) ([]byte, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:             now.Add(-Backdate).UTC(),
		NotAfter:              now.Add(LeafValidity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca, key, caKey)
}

// DiscoveryHash is what `kubeadm join --discovery-token-ca-cert-hash` expects for this CA.
func DiscoveryHash(ca *x509.Certificate) string {
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}
