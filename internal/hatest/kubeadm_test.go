package hatest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const joinYAML = `# comment
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.0.0.10:6443
nodeRegistration:
  name: cp2
  kubeletExtraArgs:
    - name: node-ip
      value: 10.0.0.12
controlPlane:
  localAPIEndpoint:
    advertiseAddress: 10.0.0.12
    bindPort: 6444
`

const initYAML = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.11
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: c
controlPlaneEndpoint: 10.0.0.10:6443
`

func TestInitConfigForJoin(t *testing.T) {
	out, err := InitConfigForJoin([]byte(joinYAML), []byte(initYAML))
	require.NoError(t, err)
	docs, err := yamlDocs(out)
	require.NoError(t, err)
	require.Len(t, docs, 2)
	ic, cc := docs[0], docs[1]
	assert.Equal(t, "InitConfiguration", ic["kind"])
	assert.Equal(t, "kubeadm.k8s.io/v1beta4", ic["apiVersion"])
	assert.Equal(t, map[string]any{"advertiseAddress": "10.0.0.12", "bindPort": 6444}, ic["localAPIEndpoint"])
	assert.Equal(t, "cp2", ic["nodeRegistration"].(map[string]any)["name"])
	assert.NotContains(t, ic, "discovery")
	assert.Equal(t, "ClusterConfiguration", cc["kind"])
	assert.Equal(t, "10.0.0.10:6443", cc["controlPlaneEndpoint"])

	_, err = InitConfigForJoin([]byte("kind: JoinConfiguration\n"), []byte(initYAML))
	assert.Error(t, err, "a worker's join configuration has no controlPlane")
}

func TestManifestCommandAndFlags(t *testing.T) {
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "spec": map[string]any{"containers": []any{
		map[string]any{"name": "etcd", "command": []string{"etcd", "--name=cp2", "--initial-cluster=cp2=https://10.0.0.12:2380"}},
	}}}
	data, err := yaml.Marshal(pod)
	require.NoError(t, err)
	cmd, err := ManifestCommand(data)
	require.NoError(t, err)
	assert.Equal(t, "etcd", cmd[0])
	v, ok := Flag(cmd, "initial-cluster")
	assert.True(t, ok)
	assert.Equal(t, "cp2=https://10.0.0.12:2380", v)
	cmd = SetFlag(cmd, "initial-cluster", "a=b,c=d")
	cmd = SetFlag(cmd, "initial-cluster-state", "existing")
	assert.Equal(t, []string{"etcd", "--name=cp2", "--initial-cluster=a=b,c=d", "--initial-cluster-state=existing"}, cmd)

	_, err = ManifestCommand([]byte("kind: Deployment\n"))
	assert.Error(t, err)
}
