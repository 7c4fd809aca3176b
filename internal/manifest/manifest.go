package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ignigen/ignigen/internal/osprofile"
)

// File is the manifest's name in a build output; its presence marks the directory as ignigen's.
const File = "manifest.json"

// Manifest is manifest.json: what was built, for `ignigen serve` and other tools.
type Manifest struct {
	Cluster  string `json:"cluster"`
	Endpoint string `json:"endpoint"`
	// Profile is the OS profile; absent means the default profile (and every manifest written
	// before this field existed).
	Profile string        `json:"profile,omitempty"`
	Nodes   []NodeSummary `json:"nodes"`
	PXE     *PXE          `json:"pxe,omitempty"`
	// Membership is absent in manifests of builds before it existed.
	Membership *Membership `json:"membership,omitempty"`
}

// NodeSummary describes one node's config, for the summary table and the manifest.
type NodeSummary struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	Phase  string `json:"phase"`
	IP     string `json:"ip"`
	MAC    string `json:"mac,omitempty"`
	File   string `json:"file"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Priority is keepalived's base priority of a VIP holder: a rebuild must not change it.
	Priority int `json:"priority,omitempty"`
}

// PXE is what `ignigen serve` puts in each node's iPXE script (the topology's pxe section).
type PXE struct {
	KernelURL  string   `json:"kernelURL"`
	InitrdURLs []string `json:"initrdURLs"`
	ExtraArgs  []string `json:"extraArgs"`
}

// Membership is what a later build must keep for running nodes to accept it (see plan).
type Membership struct {
	// CAHash tells whether a later build is of the same cluster (same secrets bundle).
	CAHash        string   `json:"caHash"`
	VIP           string   `json:"vip"`
	Port          int      `json:"port"`
	BindPort      int      `json:"bindPort"`
	LoadBalancing string   `json:"loadBalancing"`
	VRRPVersion   int      `json:"vrrpVersion"`
	RouterID      int      `json:"vrrpRouterID"`
	VRRPPeers     []string `json:"vrrpPeers"`  // VIP holders, present and reserved, in address order
	APIServers    []string `json:"apiServers"` // HAProxy's backends, present and reserved, in address order
}

// Read parses dir's manifest.json.
func Read(dir string) (*Manifest, error) {
	raw, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, fmt.Errorf("%s is not a build output: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, File), err)
	}
	return &m, nil
}

// Config reads node n's config from dir and checks it is the one the manifest names: a config
// edited or swapped after the build is refused rather than handed to a machine.
func Config(dir string, n NodeSummary) ([]byte, error) {
	path := filepath.Join(dir, filepath.Base(n.File))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n.Name, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != n.SHA256 {
		return nil, fmt.Errorf("node %s: %s has SHA-256 %s, the manifest says %s: rebuild instead of editing configs", n.Name, path, got, n.SHA256)
	}
	return data, nil
}

// OS is the data of the manifest's profile, from the profiles ignigen has.
func (m *Manifest) OS() (*osprofile.Profile, error) {
	name := m.Profile
	if name == "" {
		name = osprofile.Default
	}
	return osprofile.Load(osprofile.Roots(), name)
}
