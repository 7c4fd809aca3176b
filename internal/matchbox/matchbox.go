package matchbox

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ignigen/ignigen/internal/manifest"
	"github.com/ignigen/ignigen/internal/output"
)

// Profile is a matchbox profile (profiles/ID.json).
type Profile struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Boot       Boot   `json:"boot"`
	IgnitionID string `json:"ignition_id"`
}

// Boot is what matchbox's /ipxe renders.
type Boot struct {
	Kernel string   `json:"kernel"`
	Initrd []string `json:"initrd"`
	Args   []string `json:"args"`
}

// Group selects a profile (groups/ID.json).
type Group struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Profile  string            `json:"profile"`
	Selector map[string]string `json:"selector"`
}

// Export turns the build output in dir into matchbox files, named relative to matchbox's data directory. url is where machines reach matchbox
// (used in ignition.config.url). Nodes without a MAC cannot be selected and are returned in skipped.
func Export(dir, url string) (files []output.File, skipped []string, err error) {
	m, err := manifest.Read(dir)
	if err != nil {
		return nil, nil, err
	}
	osp, err := m.OS()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	url = strings.TrimRight(url, "/")
	for _, n := range m.Nodes {
		if n.MAC == "" {
			skipped = append(skipped, n.Name)
			continue
		}
		cfg, err := manifest.Config(dir, n) // the SHA-256 the manifest recorded, as serve checks it
		if err != nil {
			return nil, nil, err
		}
		id := m.Cluster + "-" + n.Name
		p := Profile{ID: id, Name: fmt.Sprintf("%s (%s) of cluster %s", n.Name, n.Role, m.Cluster), IgnitionID: id + ".ign"}
		if m.PXE != nil {
			p.Boot.Kernel = m.PXE.KernelURL
			p.Boot.Initrd = append([]string{}, m.PXE.InitrdURLs...)
			p.Boot.Args = manifest.KernelArgs(osp, *m.PXE, url, url+"/ignition?mac=${mac:hexhyp}")
		}
		g := Group{ID: id, Name: p.Name, Profile: id, Selector: map[string]string{"mac": n.MAC}}
		pj, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return nil, nil, err
		}
		gj, err := json.MarshalIndent(g, "", "  ")
		if err != nil {
			return nil, nil, err
		}
		files = append(files,
			output.File{Name: "profiles/" + id + ".json", Data: append(pj, '\n'), Mode: 0o644},
			output.File{Name: "groups/" + id + ".json", Data: append(gj, '\n'), Mode: 0o644},
			// Control-plane configs hold CA keys: readable by the owner (matchbox's user) only.
			output.File{Name: "ignition/" + id + ".ign", Data: cfg, Mode: 0o600})
	}
	return files, skipped, nil
}
