package kubeapi

import (
	"context"
	"fmt"
	"time"

	"github.com/ignigen/ignigen/internal/secrets"
)

// NodeTokenGroup is the extra group kubeadm gives its node-joining tokens; kubeadm init binds
// it to node bootstrapping (CSR creation and auto-approval).
const NodeTokenGroup = "system:bootstrappers:kubeadm:default-node-token"

// BootstrapTokenSecret is the Secret `kubeadm token create` writes for token: its name, type
// and data keys are what the API server's bootstrap-token authenticator, the bootstrap signer
// and `kubeadm token list` read. Usages are kubeadm's defaults: signing (the cluster-info JWS
// that token discovery checks) and authentication (the TLS bootstrap).
func BootstrapTokenSecret(token string, expires time.Time, description string) (map[string]any, error) {
	m := secrets.TokenRE.FindStringSubmatch(token)
	if m == nil {
		return nil, fmt.Errorf("bootstrap token is not of the form [a-z0-9]{6}.[a-z0-9]{16}")
	}
	// []byte values: encoding/json writes them base64, as Secret data must be.
	data := map[string][]byte{
		"token-id":                       []byte(m[1]),
		"token-secret":                   []byte(m[2]),
		"expiration":                     []byte(expires.UTC().Format(time.RFC3339)),
		"usage-bootstrap-authentication": []byte("true"),
		"usage-bootstrap-signing":        []byte("true"),
		"auth-extra-groups":              []byte(NodeTokenGroup),
	}
	if description != "" {
		data["description"] = []byte(description)
	}
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   map[string]any{"name": "bootstrap-token-" + m[1], "namespace": "kube-system"},
		"type":       "bootstrap.kubernetes.io/token",
		"data":       data,
	}, nil
}

// CreateBootstrapToken registers token in the cluster, valid until expires. It fails, and
// nothing is registered, when a Secret of that token id exists already.
func (c *Client) CreateBootstrapToken(ctx context.Context, token string, expires time.Time, description string) error {
	s, err := BootstrapTokenSecret(token, expires, description)
	if err != nil {
		return err
	}
	if err := c.post(ctx, "/api/v1/namespaces/kube-system/secrets", s); err != nil {
		return fmt.Errorf("creating Secret kube-system/bootstrap-token-%s: %w", secrets.TokenID(token), err)
	}
	return nil
}
