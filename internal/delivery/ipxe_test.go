//go:build integration

package delivery

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/serve"
	"github.com/ignigen/ignigen/internal/testkit"
)

// TestIPXE network-boots QEMU with Debian's iPXE ROM against `ignigen serve` on loopback (QEMU
// user networking: the host is 10.0.2.2). iPXE gets the node's script by MAC, loads the test kernel
// and initramfs from the server, and the initramfs fetches ignition.config.url and prints the
// SHA-256. A MAC that is not in the topology gets a 404 and nothing else.
func TestIPXE(t *testing.T) {
	vmlinuz, modDir := kernel(t)
	initrd := initramfs(t, modDir)
	for i, pc := range profileCases {
		t.Run(pc.profile, func(t *testing.T) { ipxeBoot(t, pc.profile, pc.topology, vmlinuz, initrd, i == 0) })
	}
}

// rootfsName is the live root file system fcos's boot arguments name under {base}/assets.
const rootfsName = "fedora-coreos-live-rootfs.x86_64.img"

// ipxeBoot boots one cluster's init node by iPXE: its script, the profile's kernel arguments, its
// config, and (fcos) the live root file system its arguments name. unknownMAC also boots a MAC the
// topology does not know.
func ipxeBoot(t *testing.T, profile, topoPath, vmlinuz, initrd string, unknownMAC bool) {
	assets := t.TempDir()
	copyFile(t, vmlinuz, filepath.Join(assets, "vmlinuz"), 0o644)
	copyFile(t, initrd, filepath.Join(assets, "initrd.img"), 0o644)
	rootfs := []byte("ignigen delivery test stand-in for " + rootfsName + "\n")
	testkit.Must(t, os.WriteFile(filepath.Join(assets, rootfsName), rootfs, 0o644))

	// The test kernel and initramfs from `ignigen serve --assets`, whatever the topology's pxe says.
	topo := regexp.MustCompile(`(?s)\npxe:.*?\n\n`).ReplaceAllString(string(topologySource(t, topoPath)), "\n")
	topo = strings.Replace(topo, "\nnodes:", `
pxe:
  kernelURL: /assets/vmlinuz
  initrdURLs: [/assets/initrd.img]
  extraArgs: [console=ttyS0, panic=-1, quiet, ignigen.test=net]
nodes:`, 1)
	out, m := testkit.BuildSource(t, []byte(topo))
	if got := orDefault(m.Profile, "flatcar"); got != profile {
		t.Fatalf("built profile %q, want %q", got, profile)
	}
	osp, err := m.OS()
	testkit.Must(t, err)
	var log testkit.SyncBuffer
	s, err := serve.New(serve.Options{Dir: out, AssetsDir: assets, Log: &log})
	testkit.Must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testkit.Must(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, "", "", 0) }()
	defer func() {
		cancel()
		<-done
		t.Logf("access log:\n%s", log.String())
	}()

	tftp := t.TempDir()
	testkit.Must(t, os.WriteFile(filepath.Join(tftp, "boot.ipxe"),
		[]byte(fmt.Sprintf("#!ipxe\nchain http://10.0.2.2:%d/ipxe?mac=${mac:hexhyp}\n", port)), 0o644))
	netboot := func(mac string, timeout time.Duration, stop func() bool) (string, string) {
		return qemu(t, timeout, stop, "-boot", "n",
			"-netdev", "user,id=n0,tftp="+tftp+",bootfile=boot.ipxe",
			"-device", "virtio-net-pci,netdev=n0,mac="+mac)
	}

	n := m.Nodes[0] // the init control plane: its config is served only to its MAC
	data, err := os.ReadFile(filepath.Join(out, n.File))
	testkit.Must(t, err)
	got, console := netboot(n.MAC, 5*time.Minute, nil)
	expect(t, got, data, console)
	// The kernel got the profile's boot arguments, {base} filled in with the server as the guest
	// reaches it; a live root file system named there was fetched whole.
	cmdline := regexp.MustCompile(`IGNIGEN-CMDLINE ([^\r\n]*)`).FindStringSubmatch(console)
	if cmdline == nil {
		t.Fatalf("guest printed no command line\n%s", testkit.LastBytes(console, 3000))
	}
	args := strings.Fields(cmdline[1])
	base := fmt.Sprintf("http://10.0.2.2:%d", port)
	for _, want := range osp.BootArgs(base, base+"/ignition?mac="+strings.ReplaceAll(n.MAC, ":", "-")) {
		if !slices.Contains(args, want) {
			t.Errorf("kernel command line lacks %s's %q: %s", profile, want, cmdline[1])
		}
	}
	if strings.Contains(cmdline[1], "coreos.live.rootfs_url=") {
		want := fmt.Sprintf("IGNIGEN-ROOTFS %s %d", sha(rootfs), len(rootfs))
		if !strings.Contains(console, want) {
			t.Errorf("guest did not fetch the live rootfs (want %q)\n%s", want, testkit.LastBytes(console, 3000))
		}
	}
	t.Logf("%s kernel arguments: %s", profile, cmdline[1])
	if !unknownMAC {
		return
	}
	mac := strings.ReplaceAll(n.MAC, ":", "\\:")
	for _, want := range []string{
		`path="/ipxe" mac=` + mac + ` node=` + n.Name + ` status=200`,
		`path="/assets/vmlinuz" mac=- node=- status=200`,
		`path="/ignition" mac=` + mac + ` node=` + n.Name + fmt.Sprintf(` status=200 bytes=%d`, len(data)),
	} {
		if !regexp.MustCompile(want).MatchString(log.String()) {
			t.Errorf("access log lacks %q", want)
		}
	}

	// A machine the topology does not know: iPXE gets a 404 naming its MAC, and no config is served.
	const stranger = "52:54:00:de:ad:01"
	// Stop it 10 s after its 404 (iPXE then retries other boot devices forever).
	var refused time.Time
	got, console = netboot(stranger, 2*time.Minute, func() bool {
		if refused.IsZero() && strings.Contains(log.String(), "mac="+stranger+" node=- status=404") {
			refused = time.Now()
		}
		return !refused.IsZero() && time.Since(refused) > 10*time.Second
	})
	if got != "" {
		t.Errorf("unknown MAC booted to %q", got)
	}
	l := log.String()
	if !strings.Contains(l, `path="/ipxe" mac=`+stranger+` node=- status=404`) {
		t.Errorf("no 404 for %s in the access log; console:\n%s", stranger, testkit.LastBytes(console, 2000))
	}
	for _, line := range strings.Split(l, "\n") {
		if strings.Contains(line, stranger) && !strings.Contains(line, "status=404") {
			t.Errorf("unknown MAC got an answer: %s", line)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
