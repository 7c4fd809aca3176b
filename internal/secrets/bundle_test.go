package secrets

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/pki"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestNewMatchesKubeadm(t *testing.T) {
	for _, alg := range []model.KeyAlgorithm{model.ECDSAP256, model.RSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			b, err := New(alg, now)
			require.NoError(t, err)
			require.NoError(t, b.Check(now))
			for _, ca := range CAs {
				c, err := pki.ParseCert([]byte(b.CAs[ca.Name].Cert))
				require.NoError(t, err)
				assert.Equal(t, ca.CN, c.Subject.CommonName)
				assert.True(t, c.IsCA)
				assert.Equal(t, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment|x509.KeyUsageCertSign, c.KeyUsage)
				assert.Equal(t, now.Add(-5*time.Minute), c.NotBefore)
				assert.Equal(t, now.Add(pki.CAValidity), c.NotAfter)
				assert.Equal(t, alg, pki.AlgorithmOf(c.PublicKey))
				require.NoError(t, c.CheckSignatureFrom(c), "self-signed")
			}
			ca := b.CACert()
			admin, err := pki.ParseCert([]byte(b.Admin.Cert))
			require.NoError(t, err)
			pool := x509.NewCertPool()
			pool.AddCert(ca)
			_, err = admin.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			require.NoError(t, err)
			assert.Equal(t, []string{AdminGroup}, admin.Subject.Organization)
			assert.NotContains(t, admin.Subject.Organization, "system:masters")
			assert.Equal(t, now.Add(pki.LeafValidity), admin.NotAfter)
			assert.Regexp(t, TokenRE, b.BootstrapToken)
			assert.Len(t, b.VRRPPassword, 8)
			assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, b.DiscoveryHash())
			if alg == model.ECDSAP256 {
				assert.Contains(t, b.CAs["ca"].Key, "BEGIN EC PRIVATE KEY")
			} else {
				assert.Contains(t, b.CAs["ca"].Key, "BEGIN RSA PRIVATE KEY")
			}
			assert.Contains(t, b.ServiceAccount.Pub, "BEGIN PUBLIC KEY")
		})
	}
}

func TestRoundTrip(t *testing.T) {
	b, err := New(model.ECDSAP256, now)
	require.NoError(t, err)
	data, err := b.Marshal()
	require.NoError(t, err)
	got, err := Unmarshal(data, now)
	require.NoError(t, err)
	assert.Equal(t, b, got)
	again, err := got.Marshal()
	require.NoError(t, err)
	assert.Equal(t, string(data), string(again), "marshalling is stable")
}

func TestCheckFindsDamage(t *testing.T) {
	good, err := New(model.ECDSAP256, now)
	require.NoError(t, err)
	other, err := New(model.ECDSAP256, now)
	require.NoError(t, err)
	rsa, err := New(model.RSA2048, now)
	require.NoError(t, err)
	cases := []struct {
		name   string
		mutate func(b *Bundle)
		at     time.Time
		want   string
	}{
		{"swapped CA key", func(b *Bundle) { kp := b.CAs["ca"]; kp.Key = other.CAs["ca"].Key; b.CAs["ca"] = kp }, now, "cas.ca: key does not belong"},
		{"missing etcd CA", func(b *Bundle) { delete(b.CAs, "etcd/ca") }, now, "cas.etcd/ca is missing"},
		{"admin from another CA", func(b *Bundle) { b.Admin = other.Admin }, now, "admin: not signed by the cluster CA"},
		{"sa pub mismatch", func(b *Bundle) { b.ServiceAccount.Pub = other.ServiceAccount.Pub }, now, "serviceAccount.pub does not belong"},
		{"bad token", func(b *Bundle) { b.BootstrapToken = "ABCDEF.0123456789abcdef" }, now, "bootstrapToken"},
		{"long vrrp password", func(b *Bundle) { b.VRRPPassword = "123456789" }, now, "vrrpPassword"},
		{"algorithm mismatch", func(b *Bundle) { b.CAs["front-proxy-ca"] = rsa.CAs["front-proxy-ca"] }, now, "cas.front-proxy-ca: key is RSA-2048"},
		{"admin expired", func(b *Bundle) {}, now.Add(366 * 24 * time.Hour), "admin: certificate expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := good.Marshal()
			require.NoError(t, err)
			b, err := Unmarshal(data, now)
			require.NoError(t, err)
			b.CAs = map[string]KeyPair{}
			for k, v := range good.CAs {
				b.CAs[k] = v
			}
			tc.mutate(b)
			err = b.Check(tc.at)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "PRIVATE KEY", "errors never print secrets")
		})
	}
}

func TestRandomStringAlphabet(t *testing.T) {
	s, err := randomString(strings.NewReader(strings.Repeat("\xff\x00\x23\x24", 10)), 6)
	require.NoError(t, err)
	// 0xff is rejected (bias), 0x00 -> 'a', 0x23 (35) -> '9', 0x24 (36) -> 'a'
	assert.Equal(t, "a9aa9a", s)
}

func TestExpiring(t *testing.T) {
	b, err := New(model.ECDSAP256, now)
	require.NoError(t, err)
	month, year := 30*24*time.Hour, 365*24*time.Hour
	assert.Empty(t, b.Expiring(now, month, year))
	assert.Equal(t, []string{"admin certificate expires on 2027-11-24"}, b.Expiring(now.Add(340*24*time.Hour), month, year))
	assert.Len(t, b.Expiring(now.Add(9*year+300*24*time.Hour), month, year), 4, "admin and the three CAs")
}
