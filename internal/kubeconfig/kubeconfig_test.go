package kubeconfig

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	want := Credentials{Server: "https://10.0.0.5:6443", CA: []byte("ca\n"), Cert: []byte("cert\n"), Key: []byte("key\n")}
	data, err := Marshal("lab", "kubernetes-admin", want)
	require.NoError(t, err)
	assert.Contains(t, string(data), "current-context: kubernetes-admin@lab\n")
	got, err := Parse(data)
	require.NoError(t, err)
	assert.Equal(t, want, *got)
}

// TestNoCredential: a kubeconfig whose user holds no credential (a management node's when the
// topology asks for none) parses, with no certificate and no key.
func TestNoCredential(t *testing.T) {
	data, err := Marshal("lab", "operator", Credentials{Server: "https://x", CA: []byte("ca")})
	require.NoError(t, err)
	got, err := Parse(data)
	require.NoError(t, err)
	assert.Equal(t, Credentials{Server: "https://x", CA: []byte("ca")}, *got)
}

func TestParseErrors(t *testing.T) {
	good, err := Marshal("lab", "admin", Credentials{Server: "https://x", CA: []byte("c"), Cert: []byte("c"), Key: []byte("k")})
	require.NoError(t, err)
	for _, tc := range []struct{ name, from, to, want string }{
		{"no such context", "current-context: admin@lab", "current-context: other", `current-context "other" names no context`},
		{"user missing", "  - name: admin@lab\n    user:", "  - name: someone\n    user:", "not found"},
		{"bad base64", "client-key-data: aw==", "client-key-data: '!!'", "client-key-data"},
		{"no server", "server: https://x", "server: ''", "no server"},
		{"key without certificate", "client-certificate-data: Yw==", "client-certificate-data: ''", "client-certificate-data: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(string(good), tc.from, tc.to, 1)
			require.NotEqual(t, string(good), src, "the edit applies")
			_, err := Parse([]byte(src))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
