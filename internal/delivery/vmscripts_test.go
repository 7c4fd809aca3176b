//go:build integration

package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/vm"
)

// The generated VM scripts, run by the programs that consume them. libvirt's test driver
// (test:///default) runs inside virt-install and virsh: virt-install parses every option,
// builds the domain XML and defines it, with no libvirtd and no KVM. Its state lives only as long
// as one process, so cluster.sh's "VM exists" branches get a driver file (test:///FILE) holding
// the domains that `up` defined.

const vmCluster = "flatcar-ha"

// vmNode is what the topology below asks for, written out independently of pkg/vm.
type vmNode struct {
	name, mac string
	memMiB    int
	cpus      int
}

var vmNodes = []vmNode{
	{"node1-cp", "52:54:00:00:00:31", 3072, 3},
	{"node2-cp", "52:54:00:00:00:32", 3072, 3},
	{"node3-cp", "52:54:00:00:00:33", 3072, 3},
	{"node4-worker", "52:54:00:00:00:34", 3072, 3},
	{"node5-worker", "52:54:00:00:00:35", 1024, 1}, // nodes[].vm override
}

func (n vmNode) domain() string { return vmCluster + "-" + n.name }

// vmEnv is one build of testdata/flatcar-ha with a vm: section pointing at a scratch base image.
type vmEnv struct {
	out, image, diskDir string
}

func (e vmEnv) disk(n vmNode) string   { return filepath.Join(e.diskDir, n.domain()+".qcow2") }
func (e vmEnv) config(n vmNode) string { return filepath.Join(e.diskDir, n.domain()+".ign") }

func TestVMScripts(t *testing.T) {
	need(t, "virt-install", "virsh", "qemu-img", "qemu-system-x86_64")
	e := buildVM(t)

	t.Run("virt-install", func(t *testing.T) {
		for _, n := range vmNodes {
			start := time.Now()
			if err := checkVirtInstall(t, e, n.name+".virt-install.sh", n); err != nil {
				t.Errorf("%s: %v", n.name, err)
				continue
			}
			t.Logf("%s.virt-install.sh: domain %s defined, disk and config checked (%s)", n.name, n.domain(), time.Since(start).Round(time.Millisecond))
		}
	})

	// Negative controls: the same script with one option changed must fail the same check.
	t.Run("virt-install-negative", func(t *testing.T) {
		n := vmNodes[0]
		for _, c := range []struct{ name, from, to, want string }{
			{"malformed-mac", "mac=" + n.mac + ",", "mac=52:54:00:00:00:3g,", "virt-install"},
			{"bad-memory", "--memory 3072 ", "--memory 3072MiB ", "virt-install"},
			{"other-mac", "mac=" + n.mac + ",", "mac=52:54:00:00:00:99,", "MAC"},
			{"other-vcpus", "--vcpus 3 ", "--vcpus 2 ", "vcpus"},
			{"other-fw_cfg-name", "name=" + fwCfgName + ",", "name=opt/org.example/config,", "qemu:commandline"},
		} {
			script := mutate(t, e.out, n.name+".virt-install.sh", "neg-"+c.name+".virt-install.sh", c.from, c.to)
			expectRejected(t, c.name, c.to, c.want, checkVirtInstall(t, e, script, n))
		}
	})

	t.Run("cluster.sh", func(t *testing.T) { checkClusterScript(t, e) })

	t.Run("qemu", func(t *testing.T) {
		for _, n := range vmNodes {
			t.Run(n.name, func(t *testing.T) {
				t.Parallel()
				if err := checkQEMU(t, e, n.name+".qemu.sh", n); err != nil {
					t.Error(err)
				}
			})
		}
	})

	t.Run("qemu-negative", func(t *testing.T) {
		n := vmNodes[0]
		for _, c := range []struct{ name, from, to, want string }{
			{"malformed-mac", ",mac=" + n.mac + " ", ",mac=52:54:00:00:00:3g ", "doesn't take value '52:54:00:00:00:3g'"},
			{"missing-config", `"$here/` + n.name + `.ign"`, `"$here/absent.ign"`, "absent.ign"},
		} {
			script := mutate(t, e.out, n.name+".qemu.sh", "neg-"+c.name+".qemu.sh", c.from, c.to)
			expectRejected(t, c.name, c.to, c.want, checkQEMU(t, e, script, n))
		}
	})
}

// buildVM builds testdata/flatcar-ha with a vm: section: a qcow2 base image made here, a
// scratch diskDir, non-default RAM and vCPUs, and a per-node override on node5-worker.
func buildVM(t *testing.T) vmEnv {
	dir := t.TempDir()
	e := vmEnv{image: filepath.Join(dir, "flatcar-base.qcow2"), diskDir: filepath.Join(dir, "disks")}
	testkit.MustRun(t, "qemu-img", "create", "-q", "-f", "qcow2", e.image, "256M")
	raw, err := os.ReadFile("../../testdata/flatcar-ha/topology.yaml")
	testkit.Must(t, err)
	topo := string(raw)
	old := `mac: "52:54:00:00:00:35"}`
	if !strings.Contains(topo, old) {
		t.Fatalf("testdata/flatcar-ha/topology.yaml has no %q to add a vm override to", old)
	}
	topo = strings.Replace(topo, old, `mac: "52:54:00:00:00:35", vm: {memoryMiB: 1024, cpus: 1}}`, 1)
	topo += fmt.Sprintf("vm:\n  image: %s\n  diskDir: %s\n  network: default\n  memoryMiB: 3072\n  cpus: 3\n", e.image, e.diskDir)
	out, m := testkit.BuildSource(t, []byte(topo))
	e.out = out
	if len(m.Nodes) != len(vmNodes) {
		t.Fatalf("build has %d nodes, want %d", len(m.Nodes), len(vmNodes))
	}
	return e
}

// checkVirtInstall runs script (in e.out) against the test driver, then checks the node's
// overlay disk, its config copy and the domain XML virt-install defined.
func checkVirtInstall(t *testing.T, e vmEnv, script string, n vmNode) error {
	cache := t.TempDir() // virt-install's log, which holds the XML it defined, goes here
	stdout, stderr, err := runScript(filepath.Join(e.out, script), nil,
		"LIBVIRT_URI=test:///default", "XDG_CACHE_HOME="+cache, "XDG_CONFIG_HOME="+cache)
	if err != nil {
		return fmt.Errorf("%s (virt-install rejected it): %v\nstderr:\n%s", script, err, stderr)
	}
	if err := onlyExpectedStderr(stderr, n); err != nil {
		return err
	}
	if !strings.Contains(stdout, "Domain creation completed.") {
		return fmt.Errorf("virt-install did not report the domain created:\n%s", stdout)
	}
	if err := checkOverlay(e, n); err != nil {
		return err
	}
	if err := checkConfigCopy(e, n); err != nil {
		return err
	}
	log, err := os.ReadFile(filepath.Join(cache, "virt-manager", "virt-install.log"))
	if err != nil {
		return fmt.Errorf("virt-install's log: %v", err)
	}
	// The XML virt-install passed to defineXML, and what libvirt made of it. The test driver
	// drops the qemu: namespace, so the -fw_cfg arguments are checked in the first only.
	sent, err := logXML(string(log), "Generated final_xml:")
	if err != nil {
		return err
	}
	if err := checkDomain(e, n, sent, true); err != nil {
		return fmt.Errorf("XML virt-install defined: %v\n%s", err, sent)
	}
	stored, err := logXML(string(log), "XML fetched from libvirt object:")
	if err != nil {
		return err
	}
	if err := checkDomain(e, n, stored, false); err != nil {
		return fmt.Errorf("XML libvirt stored: %v\n%s", err, stored)
	}
	return nil
}

// onlyExpectedStderr allows virt-install's warning about --os-variant generic and the script's
// own warning about the world-readable config copy (when not root or without a QEMU user).
func onlyExpectedStderr(stderr string, n vmNode) error {
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		switch {
		case l == "":
		case strings.HasPrefix(l, "WARNING  Using --osinfo generic"):
		case strings.HasPrefix(l, "warning: ") && strings.Contains(l, n.domain()+".ign is readable by every local user"):
		default:
			return fmt.Errorf("unexpected message on stderr: %q\nstderr:\n%s", l, stderr)
		}
	}
	return nil
}

func checkOverlay(e vmEnv, n vmNode) error {
	out, err := exec.Command("qemu-img", "info", "--output=json", e.disk(n)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img info %s: %v: %s", e.disk(n), err, out)
	}
	var info struct {
		Format        string `json:"format"`
		Backing       string `json:"backing-filename"`
		BackingFormat string `json:"backing-filename-format"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return fmt.Errorf("qemu-img info: %v: %s", err, out)
	}
	if info.Format != "qcow2" || info.Backing != e.image || info.BackingFormat != "qcow2" {
		return fmt.Errorf("overlay %s: format %q, backing file %q (%q), want qcow2 over %s (qcow2)",
			e.disk(n), info.Format, info.Backing, info.BackingFormat, e.image)
	}
	return nil
}

func checkConfigCopy(e vmEnv, n vmNode) error {
	want, err := os.ReadFile(filepath.Join(e.out, n.name+".ign"))
	if err != nil {
		return err
	}
	got, err := os.ReadFile(e.config(n))
	if err != nil {
		return fmt.Errorf("config copy: %v", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("config copy %s (%d bytes, sha256 %s) differs from %s.ign (%d bytes, sha256 %s)",
			e.config(n), len(got), sha(got), n.name, len(want), sha(want))
	}
	return nil
}

var logLineRE = regexp.MustCompile(`(?m)^\[[^\]]*virt-install \d+\] `)

// logXML returns the XML virt-install logged after marker (its log is written at debug level).
func logXML(log, marker string) (string, error) {
	i := strings.Index(log, marker)
	if i < 0 {
		return "", fmt.Errorf("no %q in virt-install's log", marker)
	}
	rest := log[i+len(marker):]
	if loc := logLineRE.FindStringIndex(rest); loc != nil {
		rest = rest[:loc[0]]
	}
	return strings.TrimSpace(rest), nil
}

type domainXML struct {
	Name   string `xml:"name"`
	Memory struct {
		Unit  string `xml:"unit,attr"`
		Value int64  `xml:",chardata"`
	} `xml:"memory"`
	VCPU  int `xml:"vcpu"`
	Disks []struct {
		Device string `xml:"device,attr"`
		Source struct {
			File string `xml:"file,attr"`
		} `xml:"source"`
		Target struct {
			Bus string `xml:"bus,attr"`
		} `xml:"target"`
	} `xml:"devices>disk"`
	Interfaces []struct {
		Type   string `xml:"type,attr"`
		Source struct {
			Network string `xml:"network,attr"`
		} `xml:"source"`
		MAC struct {
			Address string `xml:"address,attr"`
		} `xml:"mac"`
		Model struct {
			Type string `xml:"type,attr"`
		} `xml:"model"`
	} `xml:"devices>interface"`
	Consoles []struct {
		Type   string `xml:"type,attr"`
		Target struct {
			Type string `xml:"type,attr"`
		} `xml:"target"`
	} `xml:"devices>console"`
	Graphics []struct{} `xml:"devices>graphics"`
	QEMUArgs []struct {
		Value string `xml:"value,attr"`
	} `xml:"http://libvirt.org/schemas/domain/qemu/1.0 commandline>arg"`
}

// checkDomain compares a domain's XML with what the topology asks for node n; qemu also
// requires the -fw_cfg arguments (as exactly these two, nothing else).
func checkDomain(e vmEnv, n vmNode, text string, qemu bool) error {
	var d domainXML
	if err := xml.Unmarshal([]byte(text), &d); err != nil {
		return err
	}
	var errs []error
	fail := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if d.Name != n.domain() {
		fail("name %q, want %q", d.Name, n.domain())
	}
	if kib := int64(n.memMiB) * 1024; d.Memory.Value != kib || (d.Memory.Unit != "" && d.Memory.Unit != "KiB") {
		fail("memory %d %s, want %d KiB", d.Memory.Value, d.Memory.Unit, kib)
	}
	if d.VCPU != n.cpus {
		fail("%d vcpus, want %d", d.VCPU, n.cpus)
	}
	if len(d.Disks) != 1 || d.Disks[0].Device != "disk" || d.Disks[0].Source.File != e.disk(n) || d.Disks[0].Target.Bus != "virtio" {
		fail("disks %+v, want one virtio disk %s", d.Disks, e.disk(n))
	}
	if len(d.Interfaces) != 1 {
		fail("%d interfaces, want 1", len(d.Interfaces))
	} else if i := d.Interfaces[0]; i.MAC.Address != n.mac || i.Type != "network" || i.Source.Network != "default" || i.Model.Type != "virtio" {
		fail("interface MAC %q on %s %q model %q, want MAC %q on network \"default\", model virtio",
			i.MAC.Address, i.Type, i.Source.Network, i.Model.Type, n.mac)
	}
	if len(d.Consoles) != 1 || d.Consoles[0].Type != "pty" || d.Consoles[0].Target.Type != "serial" {
		fail("consoles %+v, want one serial pty", d.Consoles)
	}
	if len(d.Graphics) != 0 {
		fail("%d graphics devices, want none", len(d.Graphics))
	}
	if qemu {
		var args []string
		for _, a := range d.QEMUArgs {
			args = append(args, a.Value)
		}
		want := []string{"-fw_cfg", "name=" + fwCfgName + ",file=" + e.config(n)}
		if strings.Join(args, "\x00") != strings.Join(want, "\x00") {
			fail("qemu:commandline args %q, want %q", args, want)
		}
	}
	return errors.Join(errs...)
}

// checkClusterScript runs cluster.sh up, status and down on an empty diskDir. The "exists"
// branches run against a test-driver file holding the domains `up` defined.
func checkClusterScript(t *testing.T, e vmEnv) {
	testkit.Must(t, os.RemoveAll(e.diskDir))
	cs := filepath.Join(e.out, vm.ClusterScript)
	cache := t.TempDir()
	fresh := []string{"LIBVIRT_URI=test:///default", "XDG_CACHE_HOME=" + cache, "XDG_CONFIG_HOME=" + cache}
	lines := func(format string, state func(vmNode) string) string {
		var b strings.Builder
		for _, n := range vmNodes {
			fmt.Fprintf(&b, format, n.domain(), state(n))
		}
		return b.String()
	}
	step := func(env []string, arg, want string) bool {
		t.Helper()
		start := time.Now()
		stdout, stderr, err := runScript(cs, []string{arg}, env...)
		uri := env[0]
		if err != nil {
			t.Errorf("cluster.sh %s (%s): %v\nstdout:\n%s\nstderr:\n%s", arg, uri, err, stdout, stderr)
			return false
		}
		if got := ownLines(stdout); got != want {
			t.Errorf("cluster.sh %s (%s) printed\n%s\nwant\n%s\nstdout:\n%s", arg, uri, got, want, stdout)
			return false
		}
		t.Logf("cluster.sh %s (%s): exit 0, %d lines as expected (%s)", arg, uri, len(vmNodes), time.Since(start).Round(time.Millisecond))
		return true
	}

	// up on a fresh driver: every VM is created (script run), disks and config copies made.
	if !step(fresh, "up", lines("%s: %s\n", func(vmNode) string { return "started" })) {
		return
	}
	for _, n := range vmNodes {
		if err := checkOverlay(e, n); err != nil {
			t.Error(err)
		}
		if err := checkConfigCopy(e, n); err != nil {
			t.Error(err)
		}
	}
	// The test driver forgets the domains when virt-install exits; keep what libvirt stored.
	log, err := os.ReadFile(filepath.Join(cache, "virt-manager", "virt-install.log"))
	testkit.Must(t, err)
	state := filepath.Join(t.TempDir(), "after-up.xml")
	testkit.Must(t, os.WriteFile(state, []byte(driverFile(t, string(log))), 0o644))
	up := []string{"LIBVIRT_URI=test://" + state, "XDG_CACHE_HOME=" + cache, "XDG_CONFIG_HOME=" + cache}

	statusLine := func(state func(vmNode) string) string {
		return lines("%-40s %s\n", state)
	}
	step(fresh, "status", statusLine(func(vmNode) string { return "absent" }))
	step(up, "status", statusLine(func(vmNode) string { return "running" }))
	step(up, "up", lines("%s: %s\n", func(vmNode) string { return "exists" }))
	if step(up, "down", lines("%s: %s\n", func(vmNode) string { return "removed" })) {
		for _, n := range vmNodes {
			for _, p := range []string{e.disk(n), e.config(n)} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("cluster.sh down left %s (%v)", p, err)
				}
			}
		}
		if _, err := os.Stat(e.image); err != nil {
			t.Errorf("cluster.sh down touched the base image: %v", err)
		}
	}
	step(fresh, "down", lines("%s: %s\n", func(vmNode) string { return "absent" }))
	if _, _, err := runScript(cs, []string{"bogus"}, fresh...); err == nil {
		t.Error("cluster.sh bogus exited 0")
	}
}

// ownLines are cluster.sh's own lines, one per VM, without what `up` passes through from
// qemu-img and virt-install.
func ownLines(stdout string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(stdout, "\n") {
		if strings.HasPrefix(l, vmCluster+"-") {
			b.WriteString(l)
		}
	}
	return b.String()
}

var domainIDRE = regexp.MustCompile(`^<domain type='test' id='\d+'>`)

// driverFile is a libvirt test-driver file holding every domain libvirt stored during `up`
// (the driver starts the domains it loads).
func driverFile(t *testing.T, log string) string {
	var b strings.Builder
	b.WriteString("<node>\n")
	const marker = "XML fetched from libvirt object:"
	for i := 0; ; i++ {
		x, err := logXML(log, marker)
		if err != nil {
			if i != len(vmNodes) {
				t.Fatalf("virt-install's log holds %d defined domains, want %d", i, len(vmNodes))
			}
			break
		}
		b.WriteString(domainIDRE.ReplaceAllString(x, "<domain type='test'>") + "\n")
		log = log[strings.Index(log, marker)+len(marker):]
	}
	b.WriteString("</node>\n")
	return b.String()
}

// checkQEMU runs script (a NODE.qemu.sh in e.out) under TCG with user networking. QEMU must
// take the command line and keep running until it is stopped: at least 8 s and until the
// firmware has tried the disk and iPXE has brought up the NIC with the node's MAC (both show on
// the serial console), at most 90 s.
func checkQEMU(t *testing.T, e vmEnv, script string, n vmNode) error {
	const minRun, maxRun = 8 * time.Second, 90 * time.Second
	nic := regexp.MustCompile(`net0: ` + regexp.QuoteMeta(n.mac) + ` using virtio-net`)
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.out, script))
	cmd.Env = append(os.Environ(), "ACCEL=tcg", "NETDEV=user")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // the script execs QEMU
	cmd.WaitDelay = 5 * time.Second
	var console, stderr testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &console, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			c := console.String()
			if !stopped && time.Since(start) >= minRun && strings.Contains(c, "Booting from Hard Disk") && nic.MatchString(c) {
				stopped = true
				cancel()
			}
		}
	}
	ran := time.Since(start).Round(time.Millisecond)
	if !stopped && ctx.Err() == nil {
		return fmt.Errorf("%s: QEMU exited by itself after %s (%v)\nstderr:\n%s\nconsole:\n%s",
			script, ran, err, stderr.String(), testkit.LastBytes(console.String(), 2000))
	}
	// SIGTERM is the only way it may end, and QEMU says so; any other message is a failure.
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" && !strings.HasPrefix(l, "qemu-system-x86_64: terminating on signal 15") {
			return fmt.Errorf("%s: unexpected message on stderr: %q\nstderr:\n%s", script, l, stderr.String())
		}
	}
	if !stopped {
		return fmt.Errorf("%s: after %s the console shows no disk boot attempt or no NIC with MAC %s:\n%s",
			script, ran, n.mac, testkit.LastBytes(console.String(), 2000))
	}
	if err := checkOverlay(e, n); err != nil {
		return err
	}
	t.Logf("%s: QEMU ran %s until stopped; the firmware tried the virtio disk and iPXE saw net0 %s", script, ran, n.mac)
	return nil
}

// runScript runs a generated script with extra environment; stdin is empty.
func runScript(path string, args []string, env ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// mutate copies a generated script next to it (it finds NODE.ign through its own directory)
// with one planted change, and returns the copy's name.
func mutate(t *testing.T, dir, from, to, old, repl string) string {
	data, err := os.ReadFile(filepath.Join(dir, from))
	testkit.Must(t, err)
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s has no %q to change", from, old)
	}
	testkit.Must(t, os.WriteFile(filepath.Join(dir, to), bytes.Replace(data, []byte(old), []byte(repl), 1), 0o755))
	t.Cleanup(func() { os.Remove(filepath.Join(dir, to)) })
	return to
}

// reason is the line of a check's error that names the cause: the consumer's own error message
// when there is one.
func reason(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "ERROR") || strings.HasPrefix(l, "qemu-system-x86_64: ") {
			return lines[0] + ": " + l
		}
	}
	return lines[0]
}

// expectRejected passes when a negative control failed its check for the planted reason.
func expectRejected(t *testing.T, name, planted, want string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: the check passed on a script with %q", name, planted)
	case !strings.Contains(err.Error(), want):
		t.Errorf("%s: failed, but not for the planted error (want %q): %v", name, want, err)
	default:
		t.Logf("%s: rejected as it must be: %s", name, reason(err))
	}
}
