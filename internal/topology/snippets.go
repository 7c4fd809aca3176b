package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	butane "github.com/coreos/ignition/v2/butane/config"
	"github.com/coreos/ignition/v2/butane/config/common"
	"github.com/coreos/ignition/v2/config/v3_4/types"

	"github.com/ignigen/ignigen/internal/model"
)

// snippets reads and checks the operator's own Butane files: they must exist, translate with no
// report entry (Butane's own line:col is quoted), land on Ignition 3.4.0 and select real nodes.
func (v *validator) snippets(specs []SnippetSpec, c *model.Cluster) []model.Snippet {
	names := map[string]bool{}
	for _, n := range c.Nodes {
		names[n.Name] = true
	}
	var out []model.Snippet
	for i, s := range specs {
		p := fmt.Sprintf("snippets.%d", i)
		sn := model.Snippet{File: s.File}
		for j, r := range s.Roles {
			if model.Role(r).Valid() {
				sn.Roles = append(sn.Roles, model.Role(r))
			} else {
				v.errorf(fmt.Sprintf("%s.roles.%d", p, j), "use control-plane or worker, or omit roles for every node", "unknown role %q", r)
			}
		}
		for j, n := range s.Nodes {
			if !names[n] {
				v.errorf(fmt.Sprintf("%s.nodes.%d", p, j), "name a node listed under nodes:", "no node is called %q", n)
			}
			sn.Nodes = append(sn.Nodes, n)
		}
		if s.File == "" {
			v.errorf(p+".file", "give the path of a Butane file (variant flatcar, version 1.1.0), relative to the topology", "snippet has no file")
			continue
		}
		path := s.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(v.dir, path)
		}
		src, err := os.ReadFile(path)
		if err != nil {
			v.errorf(p+".file", "check the path; it is relative to the topology file", "cannot read snippet: %v", err)
			continue
		}
		if msg := checkButane(src); msg != "" {
			v.errorf(p+".file", "fix the snippet; it must be valid Butane with no warnings", "snippet %s: %s", s.File, msg)
			continue
		}
		sn.Source = src
		out = append(out, sn)
	}
	return out
}

// checkButane translates src the way the layer compiler will and describes the first problems.
func checkButane(src []byte) string {
	out, rep, err := butane.TranslateBytes(src, common.TranslateBytesOptions{Raw: true})
	if len(rep.Entries) > 0 {
		var msgs []string
		for _, e := range rep.Entries {
			line, col := e.Marker.Start()
			msgs = append(msgs, fmt.Sprintf("%d:%d: %s: %s", line, col, e.Kind, e.Message))
		}
		return strings.Join(msgs, "; ")
	}
	if err != nil {
		return err.Error()
	}
	if !strings.Contains(string(out), `"version":"`+types.MaxVersion.String()+`"`) {
		return "it must translate to Ignition " + types.MaxVersion.String() + ": use variant flatcar version 1.1.0"
	}
	return ""
}
