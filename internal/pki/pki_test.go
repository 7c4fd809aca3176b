package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestKeys(t *testing.T) {
	for _, alg := range []model.KeyAlgorithm{model.ECDSAP256, model.RSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			require.True(t, Supported(alg))
			key, err := NewKey(alg)
			require.NoError(t, err)
			assert.Equal(t, alg, AlgorithmOf(key.Public()))

			pemKey, err := EncodeKey(key)
			require.NoError(t, err)
			back, err := ParseKey(pemKey)
			require.NoError(t, err)
			assert.True(t, SamePublicKey(key.Public(), back.Public()), "private key survives PEM")

			pemPub, err := EncodePublicKey(key.Public())
			require.NoError(t, err)
			pub, err := ParsePublicKey(pemPub)
			require.NoError(t, err)
			assert.True(t, SamePublicKey(key.Public(), pub), "public key survives PEM")
		})
	}
}

func TestKeysRefused(t *testing.T) {
	_, err := NewKey("ED25519")
	assert.ErrorContains(t, err, "use "+Algorithms())
	assert.False(t, Supported("ED25519"))

	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	for name, pub := range map[string]any{"P-384": p384.Public(), "RSA-1024": rsa1024.Public()} {
		assert.Empty(t, AlgorithmOf(pub), name+" is not a key ignigen makes")
	}
	for _, bad := range []string{"", "not pem", string(EncodeCert([]byte("x")))} {
		_, err := ParseKey([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func TestCertificates(t *testing.T) {
	for _, alg := range []model.KeyAlgorithm{model.ECDSAP256, model.RSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			caKey, err := NewKey(alg)
			require.NoError(t, err)
			caDER, err := NewCA("kubernetes", caKey, now)
			require.NoError(t, err)
			ca, err := ParseCert(EncodeCert(caDER))
			require.NoError(t, err)

			leafKey, err := NewKey(alg)
			require.NoError(t, err)
			leafDER, err := NewClientCert(ca, caKey, "kubernetes-admin", []string{"kubeadm:cluster-admins"}, leafKey.Public(), now)
			require.NoError(t, err)
			leaf, err := ParseCert(EncodeCert(leafDER))
			require.NoError(t, err)

			for _, tc := range []struct {
				name      string
				cert      *x509.Certificate
				isCA      bool
				usage     x509.KeyUsage
				ext       []x509.ExtKeyUsage
				validity  time.Duration
				subjectCN string
			}{
				{"CA", ca, true, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign, nil, CAValidity, "kubernetes"},
				{"client", leaf, false, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, LeafValidity, "kubernetes-admin"},
			} {
				c := tc.cert
				assert.Equal(t, tc.isCA, c.IsCA, tc.name)
				assert.True(t, c.BasicConstraintsValid, tc.name)
				assert.Equal(t, tc.usage, c.KeyUsage, tc.name)
				assert.Equal(t, tc.ext, c.ExtKeyUsage, tc.name)
				assert.Equal(t, now.Add(-Backdate), c.NotBefore, tc.name+": backdated for clocks a little behind")
				assert.Equal(t, now.Add(tc.validity), c.NotAfter, tc.name)
				assert.Equal(t, tc.subjectCN, c.Subject.CommonName, tc.name)
				assert.Equal(t, 1, c.SerialNumber.Sign(), tc.name+": serial is positive")
				assert.LessOrEqual(t, c.SerialNumber.BitLen(), 127, tc.name+": serial fits RFC 5280's 20 octets")
				assert.Equal(t, alg, AlgorithmOf(c.PublicKey), tc.name)
			}
			assert.Equal(t, []string{"kubeadm:cluster-admins"}, leaf.Subject.Organization)
			require.NoError(t, ca.CheckSignatureFrom(ca), "the CA is self-signed")
			require.NoError(t, leaf.CheckSignatureFrom(ca), "the CA signs the leaf")

			roots := x509.NewCertPool()
			roots.AddCert(ca)
			verify := func(at time.Time) error {
				_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
				return err
			}
			assert.NoError(t, verify(now.Add(-Backdate/2)), "valid on a node whose clock is a little behind")
			assert.Error(t, verify(now.Add(LeafValidity+time.Minute)), "expired after a year")
			_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			assert.Error(t, err, "a client certificate does not serve TLS")

			other, err := NewCA("kubernetes", caKey, now)
			require.NoError(t, err)
			otherCA, err := x509.ParseCertificate(other)
			require.NoError(t, err)
			assert.NotEqual(t, ca.SerialNumber, otherCA.SerialNumber, "each certificate has its own serial")
			assert.Equal(t, DiscoveryHash(ca), DiscoveryHash(otherCA), "the discovery hash depends on the CA key only")
			assert.True(t, strings.HasPrefix(DiscoveryHash(ca), "sha256:") && len(DiscoveryHash(ca)) == len("sha256:")+64)
		})
	}
}

// TestAlgorithmTableCoversModel: every algorithm a topology may name has a key maker here, and
// nothing else does, so validation and key making cannot drift apart.
func TestAlgorithmTableCoversModel(t *testing.T) {
	var here []model.KeyAlgorithm
	for _, a := range algorithms {
		here = append(here, a.alg)
	}
	if !slices.Equal(here, model.KeyAlgorithms) {
		t.Fatalf("pki makes keys of %v, the model accepts %v", here, model.KeyAlgorithms)
	}
}
