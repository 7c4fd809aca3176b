//go:build integration

package delivery

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/testkit"
)

// The guest prints this line on its serial console after reading the config.
var resultRE = regexp.MustCompile(`IGNIGEN-(SHA256 ([0-9a-f]{64}) (\d+)|ERROR [^\r\n]*)`)

const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m 2>/dev/null; done
mode=$(sed -n 's/.*ignigen\.test=\([a-z]*\).*/\1/p' /proc/cmdline)
report() { # file
  if [ -s "$1" ]; then
    echo "IGNIGEN-SHA256 $(sha256sum < "$1" | cut -d' ' -f1) $(wc -c < "$1")"
  else
    echo "IGNIGEN-ERROR no config: $2"
  fi
}
case $mode in
fwcfg)
  # The key is the profile's fw_cfg key, which the test passes as ignigen.fwcfg=.
  key=$(sed -n 's/.*ignigen\.fwcfg=\([^ ]*\).*/\1/p' /proc/cmdline)
  cat /sys/firmware/qemu_fw_cfg/by_name/$key/raw > /tmp/config 2>/dev/null
  report /tmp/config "$(ls -R /sys/firmware/qemu_fw_cfg/by_name/opt 2>&1)"
  ;;
net)
  ip link set lo up
  ip link set eth0 up
  udhcpc -i eth0 -q -n -t 20 -s /udhcpc.sh >/dev/null 2>&1 || echo "IGNIGEN-ERROR no DHCP lease"
  echo "IGNIGEN-CMDLINE $(cat /proc/cmdline)"
  # A live root file system named on the command line (Fedora CoreOS) must be fetchable too.
  rootfs=$(sed -n 's/.*coreos\.live\.rootfs_url=\([^ ]*\).*/\1/p' /proc/cmdline)
  if [ -n "$rootfs" ]; then
    if wget -q -O /tmp/rootfs "$rootfs" 2>/dev/null; then
      echo "IGNIGEN-ROOTFS $(sha256sum < /tmp/rootfs | cut -d' ' -f1) $(wc -c < /tmp/rootfs)"
    else
      echo "IGNIGEN-ROOTFS-ERROR wget $rootfs failed"
    fi
  fi
  url=$(sed -n 's/.*ignition\.config\.url=\([^ ]*\).*/\1/p' /proc/cmdline)
  wget -q -O /tmp/config "$url" 2>/dev/null
  report /tmp/config "wget $url failed"
  ;;
*) echo "IGNIGEN-ERROR unknown mode '$mode'" ;;
esac
sync
poweroff -f
`

const udhcpcScript = `#!/bin/sh
case "$1" in
bound|renew)
  ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
  [ -z "$router" ] || route add default gw "${router%% *}" dev "$interface"
  ;;
esac
`

// kernel returns Debian's newest installed kernel and its module directory.
func kernel(t *testing.T) (vmlinuz, modDir string) {
	ks, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(ks) == 0 {
		t.Skip("no kernel in /boot: run scripts/tools.sh apt (linux-image-amd64)")
	}
	sort.Strings(ks)
	vmlinuz = ks[len(ks)-1]
	modDir = "/lib/modules/" + strings.TrimPrefix(filepath.Base(vmlinuz), "vmlinuz-")
	return vmlinuz, modDir
}

func need(t *testing.T, bins ...string) {
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed: run scripts/tools.sh apt", b)
		}
	}
}

// moduleOrder lists the .ko files (relative to modDir) that load names, dependencies first,
// skipping modules built into the kernel.
func moduleOrder(t *testing.T, modDir string, names ...string) []string {
	dep, err := os.ReadFile(filepath.Join(modDir, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string][]string{}
	byName := map[string]string{}
	for _, line := range strings.Split(string(dep), "\n") {
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
		base := filepath.Base(mod)
		byName[base[:strings.Index(base, ".ko")]] = mod
	}
	var order []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(m string) {
		if seen[m] {
			return
		}
		seen[m] = true
		for _, d := range deps[m] {
			visit(d)
		}
		order = append(order, m)
	}
	for _, n := range names {
		if m, ok := byName[n]; ok {
			visit(m)
		}
	}
	return order
}

// initramfs builds a busybox initramfs that reads the config (fw_cfg or HTTP) and prints its SHA-256.
func initramfs(t *testing.T, modDir string) string {
	need(t, "cpio")
	busybox := "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		t.Skip("busybox-static not installed: run scripts/tools.sh apt")
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "lib/modules"} {
		testkit.Must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	copyFile(t, busybox, filepath.Join(root, "bin/busybox"), 0o755)
	testkit.Must(t, os.WriteFile(filepath.Join(root, "init"), []byte(initScript), 0o755))
	testkit.Must(t, os.WriteFile(filepath.Join(root, "udhcpc.sh"), []byte(udhcpcScript), 0o755))
	var order []string
	for _, m := range moduleOrder(t, modDir, "qemu_fw_cfg", "virtio_pci", "virtio_net") {
		name := filepath.Base(m)
		if strings.HasSuffix(name, ".xz") || strings.HasSuffix(name, ".zst") {
			t.Skipf("compressed kernel module %s: not supported by this test", name)
		}
		copyFile(t, filepath.Join(modDir, m), filepath.Join(root, "lib/modules", name), 0o644)
		order = append(order, name)
	}
	testkit.Must(t, os.WriteFile(filepath.Join(root, "modules.order"), []byte(strings.Join(order, "\n")+"\n"), 0o644))
	out := filepath.Join(t.TempDir(), "initrd.img")
	cmd := exec.Command("sh", "-c", "cd "+root+" && find . | cpio -o -H newc --quiet > "+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v: %s", err, b)
	}
	return out
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	b, err := os.ReadFile(src)
	testkit.Must(t, err)
	testkit.Must(t, os.WriteFile(dst, b, mode))
}

// qemu runs qemu-system-x86_64 under TCG until the guest prints a result or timeout passes.
// It returns the result line and the console output.
// When stop (if not nil) reports true, the VM is killed early.
func qemu(t *testing.T, timeout time.Duration, stop func() bool, args ...string) (string, string) {
	need(t, "qemu-system-x86_64")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if stop != nil {
		go func() {
			for ctx.Err() == nil && !stop() {
				time.Sleep(200 * time.Millisecond)
			}
			cancel()
		}()
	}
	base := []string{"-accel", "tcg", "-m", "512", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", append(base, args...)...)
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var console strings.Builder
	found := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			console.WriteString(sc.Text() + "\n")
			if m := resultRE.FindString(sc.Text()); m != "" {
				select {
				case found <- m:
				default:
				}
			}
		}
	}()
	start := time.Now()
	testkit.Must(t, cmd.Start())
	err := cmd.Wait()
	pw.Close()
	wg.Wait()
	t.Logf("qemu ran %s (%v)", time.Since(start).Round(time.Millisecond), err)
	select {
	case m := <-found:
		return m, console.String()
	default:
		return "", console.String()
	}
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testkit.Must(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func readManifest(t *testing.T, dir string) build.Manifest {
	var m build.Manifest
	raw, err := os.ReadFile(filepath.Join(dir, build.ManifestFile))
	testkit.Must(t, err)
	testkit.Must(t, jsonUnmarshal(raw, &m))
	return m
}

func expect(t *testing.T, got string, file []byte, console string) {
	t.Helper()
	want := fmt.Sprintf("IGNIGEN-SHA256 %s %d", sha(file), len(file))
	if got != want {
		t.Fatalf("guest printed %q, want %q\nconsole:\n%s", got, want, testkit.LastBytes(console, 3000))
	}
}
