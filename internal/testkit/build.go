package testkit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/cli"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"gopkg.in/yaml.v3"
)

// Build runs `ignigen build TOPOLOGY -o DIR [--secrets SECRETS]` in-process through cli.Run
// and returns DIR (a fresh directory under t.TempDir()) with the manifest it wrote. secrets ""
// lets the build create a bundle in DIR.
func Build(t testing.TB, topology, secrets string) (string, build.Manifest) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"build", topology, "-o", out}
	if secrets != "" {
		args = append(args, "--secrets", secrets)
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Run(args, &cli.Env{Stdout: &stdout, Stderr: &stderr}); code != cli.ExitOK {
		t.Fatalf("testkit: ignigen %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, build.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m build.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("testkit: %s: %v", build.ManifestFile, err)
	}
	return out, m
}

// WithSysextBaseURL writes a copy of the topology file with sysext.baseURL set to url into a
// temporary directory and returns its path. Everything else is kept as written.
func WithSysextBaseURL(t testing.TB, topology, url string) string {
	t.Helper()
	data, err := os.ReadFile(topology)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || doc.Kind != yaml.DocumentNode || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("testkit: %s is not a YAML mapping: %v", topology, err)
	}
	top := doc.Content[0]
	sysext := MapValue(top, "sysext")
	if sysext == nil {
		sysext = &yaml.Node{Kind: yaml.MappingNode}
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "sysext"}, sysext)
	}
	if v := MapValue(sysext, "baseURL"); v != nil {
		v.Value, v.Tag, v.Style = url, "!!str", 0
	} else {
		sysext.Content = append(sysext.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "baseURL"}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: url})
	}
	return writeCopy(t, &doc, topology)
}

// WithDownloadsOn is WithSysextBaseURL for any profile: for one whose Kubernetes comes as
// binaries (fcos) it sets binaries.baseURL to url and binaries.sha256 to the digests of the
// stand-ins the SysextServer serves for them, so Ignition's verification passes on loopback.
func WithDownloadsOn(t testing.TB, topology string, c *model.Cluster, url string) string {
	t.Helper()
	if c.OS.Kubernetes.Source != osprofile.SourceBinaries {
		return WithSysextBaseURL(t, topology, url)
	}
	set := [][]string{{url, "binaries", "baseURL"}}
	for name, sum := range BinaryDigests(c, url) {
		set = append(set, []string{sum, "binaries", "sha256", name})
	}
	return withValues(t, topology, set)
}

// BinaryDigests are the SHA-256 digests (hex) of the stand-ins served at url for c's Kubernetes
// binaries, by file name.
func BinaryDigests(c *model.Cluster, url string) map[string]string {
	out := map[string]string{}
	for _, name := range c.OS.Kubernetes.Files {
		rel := strings.TrimPrefix(c.OS.BinaryURL(url, c.Kubernetes.Version, osprofile.DefaultArch, name), url+"/")
		sum := sha256.Sum256(StandIn(rel))
		out[name] = hex.EncodeToString(sum[:])
	}
	return out
}

// withValues writes a copy of the topology file with each {value, key, key...} set (mappings
// created as needed) into a temporary directory and returns its path.
func withValues(t testing.TB, topology string, set [][]string) string {
	t.Helper()
	data, err := os.ReadFile(topology)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || doc.Kind != yaml.DocumentNode || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("testkit: %s is not a YAML mapping: %v", topology, err)
	}
	for _, kv := range set {
		m := doc.Content[0]
		for i, key := range kv[1:] {
			v := MapValue(m, key)
			if v == nil {
				v = &yaml.Node{Kind: yaml.MappingNode}
				if i == len(kv)-2 {
					v = &yaml.Node{Kind: yaml.ScalarNode}
				}
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
			}
			m = v
		}
		m.Value, m.Tag, m.Style = kv[0], "!!str", 0
	}
	return writeCopy(t, &doc, topology)
}

// writeCopy writes doc to a temporary file named like topology (so messages name the same file)
// and returns its path.
func writeCopy(t testing.TB, doc *yaml.Node, topology string) string {
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(topology))
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// MapValue returns the value of key in a YAML mapping node, or nil.
func MapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// SysextServer serves stand-ins for the Flatcar sysext-bakery's images on a loopback port: GET
// /kubernetes-vX.Y.Z-x86-64.raw (or crio-vX.Y.Z-x86-64.raw, the CRI-O runtime's) answers
// StandIn(name); anything else is 404.
// It stops at the end of the test.
type SysextServer struct {
	URL string // base URL, no trailing slash

	mu       sync.Mutex
	requests []string
}

// sysextName matches a Flatcar sysext image (Kubernetes or a runtime); binaryName a Kubernetes
// release binary (fcos).
var (
	sysextName = regexp.MustCompile(`^/((?:kubernetes|crio)-v[0-9]+\.[0-9]+\.[0-9]+-x86-64\.raw)$`)
	binaryName = regexp.MustCompile(`^/(v[0-9]+\.[0-9]+\.[0-9]+/bin/linux/amd64/(kubeadm|kubelet|kubectl))$`)
)

// StandIn is the body served for a download (a sysext image, or a binary at a path below the
// base URL): not the real file, a recognisable marker.
func StandIn(name string) []byte {
	if strings.Contains(name, "/") {
		return []byte(fmt.Sprintf("ignigen integration test stand-in for the Kubernetes binary %s\n", name))
	}
	return []byte(fmt.Sprintf("ignigen integration test stand-in for the Flatcar sysext image %s\n", name))
}

// ServeSysext starts a SysextServer on 127.0.0.1.
func ServeSysext(t testing.TB) *SysextServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SysextServer{URL: "http://" + l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		m := sysextName.FindStringSubmatch(r.URL.Path)
		if m == nil {
			m = binaryName.FindStringSubmatch(r.URL.Path)
		}
		if m == nil || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(StandIn(m[1]))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Requests returns the requests served so far ("GET /path").
func (s *SysextServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// BuildSource is Build of topology text rather than a file.
func BuildSource(t testing.TB, topology []byte) (string, build.Manifest) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "topology.yaml")
	Must(t, os.WriteFile(path, topology, 0o644))
	return Build(t, path, "")
}
