package kubeapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/kubeapi/fakeapi"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/secrets"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

const token = "abc123.0123456789abcdef"

// wantSecret is the Secret kubeadm token create writes, byte for byte as encoding/json orders
// it (keys sorted; data values base64).
const wantSecret = `{"apiVersion":"v1","data":{` +
	`"auth-extra-groups":"c3lzdGVtOmJvb3RzdHJhcHBlcnM6a3ViZWFkbTpkZWZhdWx0LW5vZGUtdG9rZW4=",` + // system:bootstrappers:kubeadm:default-node-token
	`"description":"bGF0ZSBqb2lucw==",` + // late joins
	`"expiration":"MjAyNi0xMS0yNVQxMjowMDowMFo=",` + // 2026-11-25T12:00:00Z
	`"token-id":"YWJjMTIz",` + // abc123
	`"token-secret":"MDEyMzQ1Njc4OWFiY2RlZg==",` + // 0123456789abcdef
	`"usage-bootstrap-authentication":"dHJ1ZQ==",` + // true
	`"usage-bootstrap-signing":"dHJ1ZQ=="},` +
	`"kind":"Secret","metadata":{"name":"bootstrap-token-abc123","namespace":"kube-system"},` +
	`"type":"bootstrap.kubernetes.io/token"}`

func client(t *testing.T) (*Client, *fakeapi.Server) {
	t.Helper()
	b, err := secrets.New(model.ECDSAP256, now)
	require.NoError(t, err)
	api := fakeapi.New(t, []byte(b.CAs["ca"].Cert))
	c, err := New(&kubeconfig.Credentials{Server: api.URL, CA: api.CAPEM, Cert: []byte(b.Admin.Cert), Key: []byte(b.Admin.Key)}, nil)
	require.NoError(t, err)
	return c, api
}

func TestCreateBootstrapToken(t *testing.T) {
	c, api := client(t)
	// The expiry is written in UTC whatever the caller's zone, as kubeadm does.
	exp := now.Add(24 * time.Hour).In(time.FixedZone("CET", 3600))
	require.NoError(t, c.CreateBootstrapToken(context.Background(), token, exp, "late joins"))
	reqs := api.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/api/v1/namespaces/kube-system/secrets", r.Path)
	assert.Equal(t, "application/json", r.ContentType)
	assert.Equal(t, secrets.AdminUser, r.ClientCN, "authenticated with the kubeconfig's client certificate")
	assert.Equal(t, wantSecret, string(r.Body))
}

func TestCreateBootstrapTokenFailures(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"id taken", http.StatusConflict, `{"kind":"Status","reason":"AlreadyExists","message":"secrets \"bootstrap-token-abc123\" already exists"}`, "409 AlreadyExists: secrets \"bootstrap-token-abc123\" already exists"},
		{"forbidden", http.StatusForbidden, `{"kind":"Status","reason":"Forbidden","message":"no"}`, "403 Forbidden: no"},
		{"not JSON", http.StatusBadGateway, `<html>`, "502 : Bad Gateway"},
		{"200 is not created", http.StatusOK, `{}`, "200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, api := client(t)
			api.Answer(tc.status, tc.body)
			err := c.CreateBootstrapToken(context.Background(), token, now, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "bootstrap-token-abc123")
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "0123456789abcdef", "never the token's secret")
		})
	}
}

func TestNewRefuses(t *testing.T) {
	b, err := secrets.New(model.ECDSAP256, now)
	require.NoError(t, err)
	ok := kubeconfig.Credentials{Server: "https://10.0.0.10:6443", CA: []byte(b.CAs["ca"].Cert), Cert: []byte(b.Admin.Cert), Key: []byte(b.Admin.Key)}
	cases := []struct {
		name   string
		mutate func(c *kubeconfig.Credentials)
		want   string
	}{
		{"plain http", func(c *kubeconfig.Credentials) { c.Server = "http://10.0.0.10:6443" }, "only https"},
		{"no CA", func(c *kubeconfig.Credentials) { c.CA = []byte("junk") }, "no PEM certificate"},
		{"no client cert", func(c *kubeconfig.Credentials) { c.Cert = nil }, "no client certificate"},
		{"key of another cert", func(c *kubeconfig.Credentials) { c.Key = []byte(b.CAs["ca"].Key) }, "client certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			_, err := New(&c, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = BootstrapTokenSecret("ABC123.0123456789abcdef", now, "")
	assert.Error(t, err)
}

// A server whose certificate the kubeconfig's CA did not sign is refused before anything is sent.
func TestUntrustedServer(t *testing.T) {
	b, err := secrets.New(model.ECDSAP256, now)
	require.NoError(t, err)
	api := fakeapi.New(t, []byte(b.CAs["ca"].Cert))
	c, err := New(&kubeconfig.Credentials{Server: api.URL, CA: []byte(b.CAs["ca"].Cert), Cert: []byte(b.Admin.Cert), Key: []byte(b.Admin.Key)}, nil)
	require.NoError(t, err)
	err = c.CreateBootstrapToken(context.Background(), token, now, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
	assert.Empty(t, api.Requests())
}
