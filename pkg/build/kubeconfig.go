package build

import (
	"bytes"
	"encoding/base64"
	"text/template"

	"github.com/ignigen/ignigen/pkg/model"
	"github.com/ignigen/ignigen/pkg/secrets"
)

var kubeconfigTmpl = template.Must(template.New("kubeconfig").Option("missingkey=error").Parse(`apiVersion: v1
kind: Config
clusters:
  - name: {{ .Cluster }}
    cluster:
      server: {{ .Server }}
      certificate-authority-data: {{ .CA }}
users:
  - name: {{ .User }}@{{ .Cluster }}
    user:
      client-certificate-data: {{ .Cert }}
      client-key-data: {{ .Key }}
contexts:
  - name: {{ .User }}@{{ .Cluster }}
    context:
      cluster: {{ .Cluster }}
      user: {{ .User }}@{{ .Cluster }}
current-context: {{ .User }}@{{ .Cluster }}
`))

// AdminKubeconfig is a kubeconfig for the VIP with the bundle's admin certificate
// (group kubeadm:cluster-admins, not system:masters).
func AdminKubeconfig(c *model.Cluster, b *secrets.Bundle) ([]byte, error) {
	enc := base64.StdEncoding.EncodeToString
	var buf bytes.Buffer
	err := kubeconfigTmpl.Execute(&buf, map[string]string{
		"Cluster": c.Name,
		"Server":  c.Endpoint.URL(),
		"User":    secrets.AdminUser,
		"CA":      enc([]byte(b.CAs["ca"].Cert)),
		"Cert":    enc([]byte(b.Admin.Cert)),
		"Key":     enc([]byte(b.Admin.Key)),
	})
	return buf.Bytes(), err
}
