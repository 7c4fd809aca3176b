package secrets

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/pki"
)

const (
	APIVersion = "ignigen.io/v1alpha1"
	Kind       = "Secrets"
	// AdminGroup is what kubeadm (1.29+) gives admin.conf; `kubeadm init` binds it to cluster-admin.
	AdminGroup = "kubeadm:cluster-admins"
	AdminUser  = "kubernetes-admin"
	// keepalived reads at most 8 characters of auth_pass.
	vrrpPasswordLen = 8
)

// CA is one certificate authority kubeadm expects under /etc/kubernetes/pki.
type CA struct {
	Name string // pki file stem, e.g. "etcd/ca"
	CN   string
}

// CAs is the CA table: kubeadm's names and common names, so `kubeadm init phase certs` adopts them.
var CAs = []CA{
	{Name: "ca", CN: "kubernetes"},
	{Name: "front-proxy-ca", CN: "front-proxy-ca"},
	{Name: "etcd/ca", CN: "etcd-ca"},
}

// KeyPair is a PEM certificate and its PEM private key.
type KeyPair struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// ServiceAccount is the key pair that signs service-account tokens.
type ServiceAccount struct {
	Key string `yaml:"key"`
	Pub string `yaml:"pub"`
}

// Bundle is secrets.yaml.
type Bundle struct {
	APIVersion     string             `yaml:"apiVersion"`
	Kind           string             `yaml:"kind"`
	CreatedAt      time.Time          `yaml:"createdAt"`
	KeyAlgorithm   model.KeyAlgorithm `yaml:"keyAlgorithm"`
	CAs            map[string]KeyPair `yaml:"cas"` // by CA.Name
	ServiceAccount ServiceAccount     `yaml:"serviceAccount"`
	Admin          KeyPair            `yaml:"admin"`
	BootstrapToken string             `yaml:"bootstrapToken"`
	// BootstrapTokenExpires is when a token from `ignigen token create` expires; absent for the
	// bundle's first token, which kubeadm init registers with the topology's TTL.
	BootstrapTokenExpires *time.Time `yaml:"bootstrapTokenExpires,omitempty"`
	VRRPPassword          string     `yaml:"vrrpPassword"`
}

// New creates every secret of a cluster. now is injected so tests control validity periods.
func New(alg model.KeyAlgorithm, now time.Time) (*Bundle, error) {
	b := &Bundle{APIVersion: APIVersion, Kind: Kind, CreatedAt: now.UTC().Truncate(time.Second), KeyAlgorithm: alg, CAs: map[string]KeyPair{}}
	keys := map[string]crypto.Signer{}
	for _, ca := range CAs {
		key, err := pki.NewKey(alg)
		if err != nil {
			return nil, fmt.Errorf("CA %s: %w", ca.Name, err)
		}
		der, err := pki.NewCA(ca.CN, key, b.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("CA %s: %w", ca.Name, err)
		}
		keyPEM, err := pki.EncodeKey(key)
		if err != nil {
			return nil, err
		}
		b.CAs[ca.Name] = KeyPair{Cert: string(pki.EncodeCert(der)), Key: string(keyPEM)}
		keys[ca.Name] = key
	}

	saKey, err := pki.NewKey(alg)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	saPEM, err := pki.EncodeKey(saKey)
	if err != nil {
		return nil, err
	}
	saPub, err := pki.EncodePublicKey(saKey.Public())
	if err != nil {
		return nil, err
	}
	b.ServiceAccount = ServiceAccount{Key: string(saPEM), Pub: string(saPub)}

	if err := b.issueAdmin(keys["ca"], b.CreatedAt); err != nil {
		return nil, err
	}

	if b.BootstrapToken, err = newToken(); err != nil {
		return nil, err
	}
	if b.VRRPPassword, err = randomString(rand.Reader, vrrpPasswordLen); err != nil {
		return nil, err
	}
	return b, nil
}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomString draws n characters of [a-z0-9] without modulo bias.
func randomString(r io.Reader, n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 1)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("reading randomness: %w", err)
		}
		if c := buf[0]; int(c) < 256-256%len(tokenAlphabet) {
			out = append(out, tokenAlphabet[int(c)%len(tokenAlphabet)])
		}
	}
	return string(out), nil
}

// TokenRE is kubeadm's bootstrap token format.
var TokenRE = regexp.MustCompile(`\A([a-z0-9]{6})\.([a-z0-9]{16})\z`)

// CACert returns the cluster CA certificate.
func (b *Bundle) CACert() *x509.Certificate {
	c, err := pki.ParseCert([]byte(b.CAs["ca"].Cert))
	if err != nil {
		panic("secrets bundle was not checked: " + err.Error())
	}
	return c
}

// DiscoveryHash is the CA pin joining nodes verify the API server against.
func (b *Bundle) DiscoveryHash() string { return pki.DiscoveryHash(b.CACert()) }

// issueAdmin makes a new admin key and a one-year client certificate from now, signed by the CA.
func (b *Bundle) issueAdmin(caKey crypto.Signer, now time.Time) error {
	ca, err := pki.ParseCert([]byte(b.CAs["ca"].Cert))
	if err != nil {
		return fmt.Errorf("cas.ca: %w", err)
	}
	key, err := pki.NewKey(b.KeyAlgorithm)
	if err != nil {
		return fmt.Errorf("admin key: %w", err)
	}
	der, err := pki.NewClientCert(ca, caKey, AdminUser, []string{AdminGroup}, key.Public(), now)
	if err != nil {
		return fmt.Errorf("admin certificate: %w", err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return err
	}
	b.Admin = KeyPair{Cert: string(pki.EncodeCert(der)), Key: string(keyPEM)}
	return nil
}

// RenewAdmin replaces the admin certificate and key with new ones valid for a year from now.
// Nothing else changes: the CAs, the service-account key and the token stay as they are.
func (b *Bundle) RenewAdmin(now time.Time) error {
	caKey, err := pki.ParseKey([]byte(b.CAs["ca"].Key))
	if err != nil {
		return fmt.Errorf("cas.ca.key: %w", err)
	}
	return b.issueAdmin(caKey, now)
}
