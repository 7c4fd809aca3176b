package secrets

import (
	"fmt"

	"github.com/ignigen/ignigen/internal/pki"
)

// NodeUser is the Kubernetes user name of a node's own client certificate.
func NodeUser(node string) string { return "ignigen:node:" + node }

// NodeCredential is node's own client certificate and key in group. Nothing about it is stored:
// the key is derived from the CA key and the node's name, and the certificate shares the admin
// certificate's validity, so rebuilds are byte-identical and `secrets renew-admin` renews it too.
func (b *Bundle) NodeCredential(node, group string) (KeyPair, error) {
	caKey, err := pki.ParseKey([]byte(b.CAs["ca"].Key))
	if err != nil {
		return KeyPair{}, fmt.Errorf("cas.ca.key: %w", err)
	}
	caKeyDER, err := pki.EncodeKey(caKey)
	if err != nil {
		return KeyPair{}, err
	}
	key, err := pki.DeriveKey(caKeyDER, "node credential "+node+" "+group)
	if err != nil {
		return KeyPair{}, err
	}
	admin, err := pki.ParseCert([]byte(b.Admin.Cert))
	if err != nil {
		return KeyPair{}, fmt.Errorf("admin.cert: %w", err)
	}
	der, err := pki.NewDerivedClientCert(b.CACert(), caKey, NodeUser(node), []string{group}, key.Public(), admin.NotBefore, admin.NotAfter)
	if err != nil {
		return KeyPair{}, fmt.Errorf("node %q: %w", node, err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Cert: string(pki.EncodeCert(der)), Key: string(keyPEM)}, nil
}
