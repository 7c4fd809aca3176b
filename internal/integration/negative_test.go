//go:build integration

package integration

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/testkit"
)

// negativeInput copies testdata/integration-negative/NAME to a scratch directory (so modes and
// owners are the test's, not the checkout's) and returns it.
func negativeInput(t *testing.T, name string) string {
	src := filepath.Join(testkit.RepoRoot(t), "testdata", "integration-negative", name)
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("negative control input missing: %v", err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := testkit.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestNegativeControls feeds every check a deliberately broken input; each must fail, or the
// check could pass vacuously.
func TestNegativeControls(t *testing.T) {
	const dir = "integration-negative/"
	kubeadm := testkit.Tool(t, "kubeadm")

	t.Run("ignition-validate", func(t *testing.T) {
		in := negativeInput(t, "ignition-validate")
		negative(t, "ignition-validate", dir+"ignition-validate/bad.ign", checkIgnitionValidate(t, filepath.Join(in, "bad.ign")))
	})
	t.Run("ignition-apply", func(t *testing.T) {
		in := negativeInput(t, "ignition-apply")
		_, err := checkIgnitionApply(t, filepath.Join(in, "missing-owner.ign"), osprofile.User{Name: "core", UID: testkit.CoreUID, Home: testkit.CoreHome}, func(string) ([]byte, bool) { return nil, false })
		negative(t, "ignition-apply", dir+"ignition-apply/missing-owner.ign", err)
	})
	t.Run("ignition-apply-tampered", func(t *testing.T) {
		// The checks after Ignition ran must notice a root that differs from the config: apply
		// a real control-plane config, damage the root, check again.
		srv := testkit.ServeSysext(t)
		// A stacked cluster: its control-plane nodes also carry haproxy.cfg.
		b := buildCase(t, exampleWhere(t, func(c *model.Cluster) bool {
			return !c.ExternalLB && c.OS.Kubernetes.Source == osprofile.SourceSysext
		}), srv)
		var cp string
		for _, n := range b.Manifest.Nodes {
			if n.Role == string(model.ControlPlane) {
				cp = n.File
			}
		}
		ign := filepath.Join(b.Test, cp)
		raw, err := os.ReadFile(ign)
		if err != nil {
			t.Fatal(err)
		}
		tamper := []struct {
			what string
			do   func(root string) error
		}{
			{"ca.key made world-readable", func(r string) error { return os.Chmod(filepath.Join(r, "etc/kubernetes/pki/ca.key"), 0o644) }},
			{"haproxy.cfg edited", func(r string) error {
				return os.WriteFile(filepath.Join(r, "etc/haproxy/haproxy.cfg"), []byte("# edited\n"), 0o644)
			}},
			{"sysext image not the served bytes", func(r string) error {
				imgs, _ := filepath.Glob(filepath.Join(r, "opt/extensions/kubernetes/*.raw"))
				if len(imgs) != 1 {
					return fmt.Errorf("want one sysext image, found %v", imgs)
				}
				return os.WriteFile(imgs[0], []byte("other"), 0o644)
			}},
			{"SSH key fragment owned by root", func(r string) error {
				return os.Chown(filepath.Join(r, "home/core/.ssh/authorized_keys.d/ignition"), 0, 0)
			}},
			{"presets removed", func(r string) error {
				return os.WriteFile(filepath.Join(r, "etc/systemd/system-preset/20-ignition.preset"), nil, 0o644)
			}},
		}
		for _, tc := range tamper {
			root := testkit.Apply(t, ign)
			if err := verifyApplied(root, raw, b.remote); err != nil {
				t.Fatalf("untampered root fails the check: %v", err)
			}
			if err := tc.do(root); err != nil {
				t.Fatal(err)
			}
			negative(t, "ignition-apply", fmt.Sprintf("%s/%s (%s)", b.Name, cp, tc.what), verifyApplied(root, raw, b.remote))
		}
	})
	t.Run("ignition-apply-digest", func(t *testing.T) {
		// A binary whose download does not match its binaries.sha256 must stop Ignition: the
		// kubelet given kubeadm's digest.
		srv := testkit.ServeSysext(t)
		c := exampleWhere(t, func(c *model.Cluster) bool { return c.OS.Kubernetes.Source == osprofile.SourceBinaries })
		topo := testkit.WithDownloadsOn(t, c.Topology, c.Cluster, srv.URL)
		sums := testkit.BinaryDigests(c.Cluster, srv.URL)
		raw, err := os.ReadFile(topo)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(topo, []byte(strings.Replace(string(raw), sums["kubelet"], sums["kubeadm"], 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, m := testkit.Build(t, topo, c.Secrets)
		var worker string
		for _, n := range m.Nodes {
			if n.Role == string(model.Worker) {
				worker = n.File
			}
		}
		remote := func(url string) ([]byte, bool) {
			name, ok := strings.CutPrefix(url, srv.URL+"/")
			return testkit.StandIn(name), ok
		}
		_, err = checkIgnitionApply(t, filepath.Join(out, worker), c.Cluster.OS.User, remote)
		if err != nil && !strings.Contains(err.Error(), "hash") {
			t.Errorf("Ignition failed, but not on the digest: %v", err)
		}
		negative(t, "ignition-apply", c.Name+"/"+worker+" (kubelet with kubeadm's digest)", err)
	})
	t.Run("quadlet", func(t *testing.T) {
		_, err := checkQuadlet(t, negativeInput(t, "quadlet"))
		negative(t, "quadlet", dir+"quadlet/etc/containers/systemd/bad.container", err)
	})
	t.Run("systemd-verify", func(t *testing.T) {
		_, err := checkSystemdVerify(t, negativeInput(t, "systemd-verify"))
		negative(t, "systemd-verify", dir+"systemd-verify/etc/systemd/system/bad-key.service", err)
		_, err = checkSystemdVerify(t, negativeInput(t, "systemd-verify-exec"))
		negative(t, "systemd-verify", dir+"systemd-verify-exec/etc/systemd/system/missing-command.service", err)
	})
	t.Run("scripts", func(t *testing.T) {
		negative(t, "scripts", dir+"scripts/opt/ignigen/bin/unclosed-if", checkScripts(t, negativeInput(t, "scripts")))
	})
	t.Run("systemd-preset", func(t *testing.T) {
		root := negativeInput(t, "systemd-preset")
		if err := testkit.AddFlatcarUsr(root); err != nil {
			t.Fatal(err)
		}
		negative(t, "systemd-preset", dir+"systemd-preset/etc/systemd/system/no-install.service", checkSystemdPreset(t, root))
	})
	t.Run("haproxy", func(t *testing.T) {
		for _, name := range []string{"haproxy-syntax", "haproxy-warning"} {
			negative(t, "haproxy", dir+name+"/etc/haproxy/haproxy.cfg", checkHAProxy(t, negativeInput(t, name)))
		}
	})
	t.Run("keepalived", func(t *testing.T) {
		addr := netip.MustParsePrefix("10.0.0.11/24")
		for _, name := range []string{"keepalived-keyword", "keepalived-script"} {
			negative(t, "keepalived", dir+name+"/etc/keepalived/keepalived.conf", checkKeepalived(t, negativeInput(t, name), "eth0", addr))
		}
	})
	t.Run("kubeadm-validate", func(t *testing.T) {
		in := negativeInput(t, "kubeadm-validate")
		negative(t, "kubeadm-validate", dir+"kubeadm-validate/join.yaml", checkKubeadmValidate(kubeadm, filepath.Join(in, "join.yaml")))
		negative(t, "kubeadm-validate", dir+"kubeadm-validate/cri-socket.yaml", checkKubeadmValidate(kubeadm, filepath.Join(in, "cri-socket.yaml")))
	})
	t.Run("kubeadm-certs", func(t *testing.T) {
		root := negativeInput(t, "kubeadm-certs")
		initYAML, err := os.ReadFile(filepath.Join(root, "etc/kubernetes/kubeadm/init.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		n := kubeadmNode{Name: "neg-cp", IP: netip.MustParseAddr("10.0.0.11"), VIP: netip.MustParseAddr("10.0.0.5")}
		negative(t, "kubeadm-certs", dir+"kubeadm-certs (ca.key is not ca.crt's key)", checkKubeadmCerts(t, kubeadm, root, initYAML, n))
	})
	t.Run("ca-hash", func(t *testing.T) {
		negative(t, "ca-hash", dir+"ca-hash/etc/kubernetes/kubeadm/join.yaml", checkCAHash(t, negativeInput(t, "ca-hash")))
	})
	t.Run("admin-kubeconfig", func(t *testing.T) {
		in := negativeInput(t, "admin-kubeconfig")
		negative(t, "admin-kubeconfig", dir+"admin-kubeconfig/admin.kubeconfig",
			checkAdminKubeconfig(t, filepath.Join(in, "admin.kubeconfig"), filepath.Join(in, "ca.crt"), ""))
	})
	t.Run("nm-keyfile", func(t *testing.T) {
		want := nmExpect{Iface: "eth0", MAC: "52:54:00:00:00:32", Addr: netip.MustParsePrefix("192.168.122.32/24"),
			Gateway: netip.MustParseAddr("192.168.122.1"), DNS: []netip.Addr{netip.MustParseAddr("192.168.122.1")}}
		keyfile := "etc/NetworkManager/system-connections/eth0.nmconnection"
		// The valid keyfile passes (so the broken ones fail for their fault alone); the same
		// keyfile readable by all, and one with an invalid ipv4.method, must fail.
		root := negativeInput(t, "nm-keyfile")
		if err := os.Chmod(filepath.Join(root, keyfile), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := checkNMKeyfile(t, root, want); err != nil {
			t.Fatalf("the control's valid keyfile fails: %v", err)
		}
		if err := os.Chmod(filepath.Join(root, keyfile), 0o644); err != nil {
			t.Fatal(err)
		}
		negative(t, "nm-keyfile", dir+"nm-keyfile/"+keyfile+" (mode 0644)", checkNMKeyfile(t, root, want))
		root = negativeInput(t, "nm-keyfile-method")
		if err := os.Chmod(filepath.Join(root, keyfile), 0o600); err != nil {
			t.Fatal(err)
		}
		negative(t, "nm-keyfile", dir+"nm-keyfile-method/"+keyfile, checkNMKeyfile(t, root, want))
	})
	t.Run("roles", func(t *testing.T) { negativeRoles(t) })
	t.Run("runtime", func(t *testing.T) { negativeRuntime(t) })
}
