package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_4/types"

	"github.com/ignigen/ignigen/internal/build"
)

// Detail is what differs between two configs of one node: the files, directories, links, units
// (with their drop-ins), users and groups added, removed or changed, each named as "file /path"
// or "unit name", and "other settings" for the rest of the config.
type Detail struct {
	Added, Removed, Changed []string
}

// Details says, for every node whose config changed since the previous build in dir (Diff),
// what differs in it, read from dir before the new build replaces it; next gives a node's new
// config by file name. A previous config that cannot be read or parsed gets no detail: the
// change table still says "changed".
func Details(dir string, prev, next *build.Manifest, config func(file string) []byte) map[string]Detail {
	if prev == nil || prev.Membership == nil {
		return nil // no change table either (cli.changes)
	}
	files := map[string]string{}
	for _, n := range next.Nodes {
		files[n.Name] = n.File
	}
	out := map[string]Detail{}
	for _, c := range Diff(prev, next) {
		// A manifest names files in its own directory; any other name is not read.
		if c.Kind != Changed || filepath.Base(c.File) != c.File {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			continue
		}
		if d, err := ConfigDetail(raw, config(files[c.Node])); err == nil {
			out[c.Node] = d
		}
	}
	return out
}

// ConfigDetail compares a node's previous config with its new one.
func ConfigDetail(prev, next []byte) (Detail, error) {
	before, err := configItems(prev)
	if err != nil {
		return Detail{}, fmt.Errorf("previous config: %w", err)
	}
	after, err := configItems(next)
	if err != nil {
		return Detail{}, fmt.Errorf("new config: %w", err)
	}
	var d Detail
	for name, a := range after {
		switch b, ok := before[name]; {
		case !ok:
			d.Added = append(d.Added, name)
		case !bytes.Equal(a, b):
			d.Changed = append(d.Changed, name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			d.Removed = append(d.Removed, name)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	slices.Sort(d.Changed)
	return d, nil
}

// String is the detail in one line, e.g. "changed unit kubeadm-join.service; added file /opt/x".
func (d Detail) String() string {
	var parts []string
	for _, l := range []struct {
		verb  string
		names []string
	}{{"changed", d.Changed}, {"added", d.Added}, {"removed", d.Removed}} {
		if len(l.names) > 0 {
			parts = append(parts, l.verb+" "+strings.Join(l.names, ", "))
		}
	}
	if len(parts) == 0 {
		return "the same entries in another form"
	}
	return strings.Join(parts, "; ")
}

// configItems splits a config into named entries, each as its JSON; what the lists leave is
// "other settings".
func configItems(raw []byte) (map[string][]byte, error) {
	var cfg types.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	items := map[string][]byte{}
	err := errors.Join(
		addEach(items, "file ", cfg.Storage.Files, func(f types.File) string { return f.Path }),
		addEach(items, "directory ", cfg.Storage.Directories, func(d types.Directory) string { return d.Path }),
		addEach(items, "link ", cfg.Storage.Links, func(l types.Link) string { return l.Path }),
		addEach(items, "unit ", cfg.Systemd.Units, func(u types.Unit) string { return u.Name }),
		addEach(items, "user ", cfg.Passwd.Users, func(u types.PasswdUser) string { return u.Name }),
		addEach(items, "group ", cfg.Passwd.Groups, func(g types.PasswdGroup) string { return g.Name }),
	)
	cfg.Storage.Files, cfg.Storage.Directories, cfg.Storage.Links = nil, nil, nil
	cfg.Systemd.Units, cfg.Passwd.Users, cfg.Passwd.Groups = nil, nil, nil
	rest, restErr := json.Marshal(cfg)
	items["other settings"] = rest
	if err := errors.Join(err, restErr); err != nil {
		return nil, err
	}
	return items, nil
}

// addEach puts every entry of list into items as its JSON, under kind and its name.
func addEach[T any](items map[string][]byte, kind string, list []T, name func(T) string) error {
	for _, e := range list {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		items[kind+name(e)] = b
	}
	return nil
}
