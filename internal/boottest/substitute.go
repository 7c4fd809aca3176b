package boottest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_4"
	"github.com/coreos/ignition/v2/config/v3_4/types"
	"github.com/vincent-petithory/dataurl"
	"gopkg.in/yaml.v3"
)

// The boot test's substitutions: everything else a node gets is the byte-for-byte output of
// `ignigen build`. README.md ("Boot test") lists them; TestSubstitutionsOnly enforces them.
const (
	InitConfigPath = "/etc/kubernetes/kubeadm/init.yaml"
	JoinConfigPath = "/etc/kubernetes/kubeadm/join.yaml"
	CNIConfigPath  = "/etc/cni/net.d/10-boottest-bridge.conflist"
	SysextPrefix   = "/opt/extensions/kubernetes/"
	// ExternalTopologyPath is the unstacked topology the suite also boots, from this package's directory.
	ExternalTopologyPath = "../../testdata/external-lb/topology.yaml"
)

// TestTopology returns the topology with the two test-only changes: the sysext is downloaded
// from sysextURL (a loopback server; the real one is not reachable here) and the CNI is "none"
// (Cilium's images are not available; a bridge CNI snippet stands in, see CNIConfig).
func TestTopology(src []byte, sysextURL string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || doc.Kind != yaml.DocumentNode || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("boottest: topology is not a YAML mapping: %v", err)
	}
	top := doc.Content[0]
	set := func(section, key, value string) error {
		m := mapValue(top, section)
		if m == nil { // a section left at its defaults
			m = &yaml.Node{Kind: yaml.MappingNode}
			top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: section}, m)
		}
		if m.Kind != yaml.MappingNode {
			return fmt.Errorf("boottest: topology section %s is not a mapping", section)
		}
		if v := mapValue(m, key); v != nil {
			v.Value, v.Tag, v.Style = value, "!!str", 0
			return nil
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
		return nil
	}
	if err := set("sysext", "baseURL", sysextURL); err != nil {
		return nil, err
	}
	if err := set("kubernetes", "cni", "none"); err != nil {
		return nil, err
	}
	return yaml.Marshal(&doc)
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; m != nil && i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// preflightIgnore is added to nodeRegistration of init and join: this machine has cgroup v1
// only (its memory controller cannot move to v2), which kubeadm's SystemVerification rejects.
const preflightIgnore = "nodeRegistration:\n  ignorePreflightErrors:\n    - SystemVerification\n"

// initExtra is appended to init.yaml. KubeletConfiguration: kubelet 1.35 refuses cgroup v1
// unless failCgroupV1 is false (kubeadm hands this configuration to every joining kubelet too).
// KubeProxyConfiguration: kube-proxy cannot write nf_conntrack_max in a node here, so it must
// not try (as kind does).
const initExtra = `---
# boottest: cgroup v1 on the test machine (test-only).
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
---
# boottest: no writable conntrack sysctls in a test node (test-only).
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`

// SubstituteKubeadm returns a kubeadm configuration with the test-only settings.
func SubstituteKubeadm(path string, data []byte) ([]byte, error) {
	s := string(data)
	if strings.Count(s, "\nnodeRegistration:\n") != 1 {
		return nil, fmt.Errorf("boottest: %s: want exactly one top-level nodeRegistration", path)
	}
	s = strings.Replace(s, "\nnodeRegistration:\n", "\n"+preflightIgnore, 1)
	if path == InitConfigPath {
		s += initExtra
	}
	return []byte(s), nil
}

// CNIConfig is the bridge CNI snippet of node number n (1-based): pods of node n get
// 10.244.n.0/24 (inside the example's podCIDR) on a local bridge. It only has to make the
// kubelet report NetworkReady; pods of different nodes do not talk to each other.
func CNIConfig(n int) []byte {
	return []byte(fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "boottest",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.%d.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, n))
}

// Substitute applies the file substitutions to node number n's config (1-based): the kubeadm
// configuration gets the test-only settings, and the bridge CNI snippet is added. The result is
// checked by Ignition's own parser. A config without a kubeadm configuration is returned as is.
func Substitute(raw []byte, n int) ([]byte, error) {
	cfg, rep, err := v3_4.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("boottest: %w: %s", err, rep.String())
	}
	found := 0
	for i := range cfg.Storage.Files {
		f := &cfg.Storage.Files[i]
		if f.Path != InitConfigPath && f.Path != JoinConfigPath {
			continue
		}
		if f.Contents.Source == nil {
			return nil, fmt.Errorf("boottest: %s has no contents", f.Path)
		}
		if f.Contents.Compression != nil && *f.Contents.Compression != "" {
			return nil, fmt.Errorf("boottest: %s is compressed", f.Path)
		}
		u, err := dataurl.DecodeString(*f.Contents.Source)
		if err != nil {
			return nil, fmt.Errorf("boottest: %s: %w", f.Path, err)
		}
		data, err := SubstituteKubeadm(f.Path, u.Data)
		if err != nil {
			return nil, err
		}
		f.Contents.Source = strPtr(dataurl.EncodeBytes(data))
		found++
	}
	// A node without kubeadm (load-balancer, management) runs no kubelet: nothing to substitute,
	// and its config stays byte for byte what ignigen built.
	if found == 0 {
		return raw, nil
	}
	// The init node has both: its join config serves a re-provisioned init node (init-or-join).
	if found > 2 {
		return nil, fmt.Errorf("boottest: want one kubeadm configuration (two on the init node), found %d", found)
	}
	mode := 0o644
	cfg.Storage.Files = append(cfg.Storage.Files, types.File{
		Node:          types.Node{Path: CNIConfigPath},
		FileEmbedded1: types.FileEmbedded1{Mode: &mode, Contents: types.Resource{Source: strPtr(dataurl.EncodeBytes(CNIConfig(n)))}},
	})
	out, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if _, rep, err := v3_4.Parse(out); err != nil {
		return nil, fmt.Errorf("boottest: substituted config: %w: %s", err, rep.String())
	}
	return out, nil
}

func strPtr(s string) *string { return &s }
