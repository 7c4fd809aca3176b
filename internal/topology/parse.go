package topology

import (
	"fmt"
	"path/filepath"
	"reflect"

	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/report"
)

// Parse decodes and validates a topology. It returns the model (nil when the report has errors),
// every diagnostic found (warnings too), and a *report.Invalid when the topology cannot be built.
func Parse(file string, data []byte) (*model.Cluster, report.Report, error) {
	r := report.Report{File: file}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		pos, msg, hint := syntaxError(data, err)
		r.Errorf(pos, "", hint, "%s", msg)
		return nil, r, &report.Invalid{Report: r}
	}
	if root.Kind == 0 || len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
		r.Errorf(report.Pos{Line: 1, Col: 1}, "", "start from `ignigen init` output", "the file is empty")
		return nil, r, &report.Invalid{Report: r}
	}
	if n := root.Content[0]; n.Kind != yaml.MappingNode {
		r.Errorf(report.Pos{Line: n.Line, Col: n.Column}, "", "start from `ignigen init` output: a mapping of apiVersion, kind, cluster, nodes and so on", "the file is %s, not a mapping of fields", describe(n))
		return nil, r, &report.Invalid{Report: r}
	}
	doc := root.Content[0]
	idx := newIndex(doc)

	// Unknown fields and values of the wrong type, each at its exact position, all of them.
	checkShape(&r, doc, reflect.TypeOf(File{}), "")
	if r.HasErrors() {
		r.Sort()
		return nil, r, &report.Invalid{Report: r}
	}

	var f File
	if err := doc.Decode(&f); err != nil {
		// checkShape has accepted every field and value, so this is a bug in checkShape.
		return nil, r, fmt.Errorf("decoding %s after its shape check passed: %w", file, err)
	}

	v := validator{r: &r, idx: idx, dir: filepath.Dir(file)}
	c := v.cluster(&f)
	r.Sort()
	if r.HasErrors() {
		return nil, r, &report.Invalid{Report: r}
	}
	return c, r, nil
}
