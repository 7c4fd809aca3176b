//go:build integration

package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/testkit"
	"gopkg.in/yaml.v3"
)

// checkRuntime: a Kubernetes member runs the container runtime the topology chose and no other,
// as the applied root shows it. systemd itself (`systemctl --root preset` then `is-enabled`)
// sees the runtime's unit enabled and every unit the profile masks for it masked; every built-in
// sysext it replaces is masked (/etc/extensions/NAME.raw -> /dev/null); a sysext runtime's
// /etc/extensions link points at its image, which holds the served bytes; no other runtime's
// sysext is linked, nor is a sysext masked that only another runtime replaces; and each kubeadm
// configuration names the runtime's CRI socket.
func checkRuntime(t testing.TB, root string, prof *osprofile.Profile, rt model.Runtime, remote func(string) []byte, kubeadmConfigs []string) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	systemctl := testkit.HostTool(t, "systemctl")
	if r := testkit.Run(cmdTimeout, nil, systemctl, "--root="+root, "--no-pager", "preset", rt.Service); r.Err != nil {
		return fail(r, "systemctl preset "+rt.Service+" failed")
	}
	isEnabled := func(unit string) string {
		return strings.TrimSpace(testkit.Run(cmdTimeout, nil, systemctl, "--root="+root, "--no-pager", "is-enabled", unit).Stdout)
	}
	if got := isEnabled(rt.Service); got != "enabled" {
		bad("%s: is-enabled says %q, want enabled", rt.Service, got)
	}
	for _, u := range rt.Mask.Units {
		if got := isEnabled(u); got != "masked" {
			bad("%s: is-enabled says %q, want masked (only %s runs)", u, got, rt.Name)
		}
	}
	for _, s := range rt.Mask.Sysexts {
		p := "/etc/extensions/" + s + ".raw"
		if target, err := os.Readlink(filepath.Join(root, p)); err != nil || target != "/dev/null" {
			bad("%s: not masked (links to %q, %v)", p, target, err)
		}
	}
	for _, name := range prof.RuntimeNames() {
		other, _ := prof.Runtime(name)
		if name == rt.Name {
			continue
		}
		// What another runtime masks, this one may need: it stays unmasked.
		for _, s := range other.Mask.Sysexts {
			if target, err := os.Readlink(filepath.Join(root, "etc/extensions", s+".raw")); err == nil && target == "/dev/null" && !slices.Contains(rt.Mask.Sysexts, s) {
				bad("/etc/extensions/%s.raw: masked, although the runtime is %s", s, rt.Name)
			}
		}
		if other.Sysext == nil {
			continue
		}
		if _, err := os.Lstat(filepath.Join(root, "etc/extensions", other.Sysext.Name+".raw")); err == nil {
			bad("/etc/extensions/%s.raw: %s's image is linked although the runtime is %s", other.Sysext.Name, name, rt.Name)
		}
	}
	if rt.FromSysext() {
		link := "/etc/extensions/" + rt.Sysext.Name + ".raw"
		img := "/opt/extensions/" + rt.Sysext.Name + "/" + rt.Image
		if target, err := os.Readlink(filepath.Join(root, link)); err != nil || target != img {
			bad("%s: links to %q (%v), want %s", link, target, err, img)
		}
		if got, err := os.ReadFile(filepath.Join(root, img)); err != nil || string(got) != string(remote(rt.Image)) {
			bad("%s: not the served image (%v)", img, err)
		}
	}
	for _, cfg := range kubeadmConfigs {
		data, err := os.ReadFile(filepath.Join(root, cfg))
		if err != nil {
			bad("%v", err)
			continue
		}
		for _, kind := range []string{"InitConfiguration", "JoinConfiguration"} {
			if !strings.Contains(string(data), "kind: "+kind) {
				continue
			}
			if got := lookupYAML(data, kind, "nodeRegistration", "criSocket"); got != rt.CRISocket {
				bad("%s: %s criSocket %q, want %s's %s", cfg, kind, got, rt.Name, rt.CRISocket)
			}
		}
	}
	return errors.Join(errs...)
}

// negativeRuntime applies a real CRI-O worker config and breaks its root in the ways the
// runtime check exists to catch; and builds the CRI-O example with a wrong runtimeSHA256, which
// Ignition itself must refuse to apply (the digest reaches Ignition's verification).
func negativeRuntime(t *testing.T) {
	srv := testkit.ServeSysext(t)
	ex := exampleWhere(t, func(c *model.Cluster) bool { return c.Runtime.FromSysext() && c.Runtime.SHA256 != "" })
	b := buildCase(t, ex, srv)
	var worker string
	for _, n := range b.Manifest.Nodes {
		if n.Role == string(model.Worker) {
			worker = n.File
		}
	}
	if worker == "" {
		t.Fatalf("%s has no worker", b.Name)
	}
	rt := b.Cluster.Runtime
	served := func(name string) []byte { return testkit.StandIn(name) }
	configs := []string{"etc/kubernetes/kubeadm/join.yaml"}
	tamper := []struct {
		what string
		do   func(root string) error
	}{
		{"containerd-flatcar sysext not masked", func(r string) error {
			return os.Remove(filepath.Join(r, "etc/extensions", rt.Mask.Sysexts[0]+".raw"))
		}},
		{rt.Mask.Units[0] + " unmasked", func(r string) error { return os.Remove(filepath.Join(r, "etc/systemd/system", rt.Mask.Units[0])) }},
		{"crio.service not enabled", func(r string) error {
			return os.WriteFile(filepath.Join(r, "etc/systemd/system-preset/20-ignition.preset"), []byte("disable "+rt.Service+"\n"), 0o644)
		}},
		{"kubeadm's criSocket is containerd's", func(r string) error {
			p := filepath.Join(r, configs[0])
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, []byte(strings.ReplaceAll(string(data), rt.CRISocket, "unix:///run/containerd/containerd.sock")), 0o600)
		}},
	}
	for _, tc := range tamper {
		root := testkit.Apply(t, filepath.Join(b.Test, worker))
		if err := testkit.AddFlatcarUsr(root); err != nil {
			t.Fatal(err)
		}
		if err := checkRuntime(t, root, b.Cluster.OS, rt, served, configs); err != nil {
			t.Fatalf("untampered root fails the runtime check: %v", err)
		}
		if err := tc.do(root); err != nil {
			t.Fatal(err)
		}
		negative(t, "runtime", fmt.Sprintf("%s/%s (%s)", b.Name, worker, tc.what), checkRuntime(t, root, b.Cluster.OS, rt, served, configs))
	}

	// The masks without overwrite: the Flatcar-shaped root has the built-in sysexts' links, as
	// Flatcar has, so Ignition must refuse to replace them.
	raw, err := os.ReadFile(filepath.Join(b.Test, worker))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	flipped := 0
	for _, l := range cfg["storage"].(map[string]any)["links"].([]any) {
		if link := l.(map[string]any); link["overwrite"] == true {
			link["overwrite"], flipped = false, flipped+1
		}
	}
	if flipped == 0 {
		t.Fatal("the CRI-O worker config overwrites no link")
	}
	noOverwrite := filepath.Join(t.TempDir(), worker)
	if data, err := json.Marshal(cfg); err != nil || os.WriteFile(noOverwrite, data, 0o644) != nil {
		t.Fatalf("writing %s: %v", noOverwrite, err)
	}
	_, err = checkIgnitionApply(t, noOverwrite, b.Cluster.OS.User, b.remote)
	negative(t, "ignition-apply", fmt.Sprintf("%s/%s (masks without overwrite)", b.Name, worker), err)

	// A digest that is not the image's: Ignition must fail the files stage.
	topo := withRuntimeSHA256(t, testkit.WithSysextBaseURL(t, ex.Topology, srv.URL), strings.Repeat("0", 64))
	out, _ := testkit.Build(t, topo, ex.Secrets)
	_, err = checkIgnitionApply(t, filepath.Join(out, worker), b.Cluster.OS.User, b.remote)
	negative(t, "ignition-apply", fmt.Sprintf("%s/%s (sysext.runtimeSHA256 not the image's)", b.Name, worker), err)
}

// withRuntimeSHA256 rewrites sysext.runtimeSHA256 of the topology file at path in place.
func withRuntimeSHA256(t *testing.T, path, digest string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	v := testkit.MapValue(testkit.MapValue(doc.Content[0], "sysext"), "runtimeSHA256")
	if v == nil {
		t.Fatalf("%s has no sysext.runtimeSHA256", path)
	}
	v.Value = digest
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
