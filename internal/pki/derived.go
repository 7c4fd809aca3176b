package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// DeriveKey derives a P-256 key from a secret and a label: the same inputs give the same key, so a
// credential that is not stored anywhere is still the same on every rebuild.
func DeriveKey(secret []byte, label string) (*ecdsa.PrivateKey, error) {
	for i := range 16 {
		// A scalar of 32 random bytes is at least the curve order with probability ~2^-32: try the next.
		d, err := hkdf.Key(sha256.New, secret, nil, fmt.Sprintf("ignigen %s #%d", label, i), 32)
		if err != nil {
			return nil, err
		}
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("deriving a key for %s: no valid scalar", label)
}

// NewDerivedClientCert issues a client certificate whose bytes depend only on its inputs: the
// serial comes from the subject and key, and the signature is deterministic (RFC 6979 for an
// ECDSA CA; PKCS #1 v1.5 for an RSA CA is deterministic by construction).
func NewDerivedClientCert(ca *x509.Certificate, caKey crypto.Signer, cn string, orgs []string, key crypto.PublicKey, notBefore, notAfter time.Time) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%q\x00%d\x00", cn, orgs, notAfter.Unix())
	h.Write(spki)
	sn := new(big.Int).SetBytes(h.Sum(nil)[:16])
	sn.Rsh(sn, 1) // 127 bits, positive, like serial()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:             notBefore.UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	return x509.CreateCertificate(nil, tmpl, ca, key, caKey)
}
