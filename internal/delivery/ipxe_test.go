//go:build integration

package delivery

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/serve"
	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
)

// TestIPXE network-boots QEMU with Debian's iPXE ROM against `ignigen serve` on loopback (QEMU
// user networking: the host is 10.0.2.2). iPXE gets the node's script by MAC, loads the test kernel
// and initramfs from the server, and the initramfs fetches ignition.config.url and prints the
// SHA-256. A MAC that is not in the topology gets a 404 and nothing else.
func TestIPXE(t *testing.T) {
	vmlinuz, modDir := kernel(t)
	initrd := initramfs(t, modDir)
	assets := t.TempDir()
	copyFile(t, vmlinuz, filepath.Join(assets, "vmlinuz"), 0o644)
	copyFile(t, initrd, filepath.Join(assets, "initrd.img"), 0o644)

	topo := strings.Replace(string(topology.Example), "\npxe:", "\npxe-was:", 1)
	topo = strings.Replace(topo, "pxe-was:", `pxe:
  kernelURL: /assets/vmlinuz
  initrdURLs: [/assets/initrd.img]
  extraArgs: [console=ttyS0, panic=-1, quiet, ignigen.test=net]
pxe-was:`, 1)
	topo = regexp.MustCompile(`(?s)pxe-was:.*?\n\n`).ReplaceAllString(topo, "")
	out, m := testkit.BuildSource(t, []byte(topo))

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
