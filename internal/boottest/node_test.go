//go:build boottest

package boottest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/testkit"
)

// node is one booted (or bootable) node.
type node struct {
	name, ip, mac, role string
	num                 int    // 1-based position in the topology
	kube                bool   // runs kubelet (its role's Kubernetes)
	balances            bool   // runs keepalived and HAProxy (holds the VIP)
	port                string // its bridge port in bt-lan
	dir                 string // stateDir/nodes/NAME
	root                string // its merged root (overlay over the Debian base)
	ign                 string // the substituted config it was made from
	cmd                 *exec.Cmd
	done                chan struct{}
	poweredOn           time.Time
	rebooted            bool // powered on again with its disk kept
	off                 bool // powered off by the test and not on again
}

// osFiles are what a Flatcar node has before Ignition runs and a Debian root lacks (or has
// differently): the part of "the OS image" this test provides. None of it is ignigen output.
const (
	// The Kubernetes sysext's kubelet unit and kubeadm drop-in, as the Flatcar sysext-bakery
	// ships them under /usr/lib/systemd/system.
	sysextKubeletUnit = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/home/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`
	sysextKubeadmDropin = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`
	// containerd as Flatcar configures it (systemd cgroups, CNI in /opt/cni/bin), plus what this
	// machine needs: no CAP_SYS_RESOURCE (restrict_oom_score_adj) and the pause image kubeadm uses.
	containerdConfig = `version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10.1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
`
	// PID 1 of a node: makes what nspawn leaves read-only writable for kubelet, then execs systemd.
	initWrapper = `#!/bin/sh
# boottest: nspawn mounts the cgroup v1 controllers read-only; kubelet must create kubepods.slice.
for d in /sys/fs/cgroup/*; do mount -o remount,bind,rw "$d" 2>/dev/null; done
# kubelet sets these kernel-wide values; give it node-local files so the machine's stay as they are.
mkdir -p /run/boottest
echo 1 >/run/boottest/overcommit_memory; echo 10 >/run/boottest/panic; echo 1 >/run/boottest/panic_on_oops
mount --bind /run/boottest/overcommit_memory /proc/sys/vm/overcommit_memory
mount --bind /run/boottest/panic /proc/sys/kernel/panic
mount --bind /run/boottest/panic_on_oops /proc/sys/kernel/panic_on_oops
# kubelet's OOM watcher reads /dev/kmsg, which a container has not.
rm -f /dev/kmsg; ln -s /dev/console /dev/kmsg
exec /lib/systemd/systemd
`
)

// prepareBase makes the per-run base layer: the OS files above (binaries of the Kubernetes and
// podman sysexts at their Flatcar paths) over the cached Debian root, as an overlay upper
// directory. It returns the lowerdir option for the nodes' overlays (base layer, Debian root).
func prepareBase(t testing.TB, tools map[string]string, debroot, base string) string {
	upper, work := base+"-upper", base+"-work"
	for _, d := range []string{base, upper, work} {
		os.MkdirAll(d, 0o755)
	}
	sh(t, "mount -t overlay overlay -o lowerdir=%s,upperdir=%s,workdir=%s %s", debroot, upper, work, base)
	defer func() { sh(t, "umount %s", base); os.RemoveAll(work) }()
	cp := func(src, dst string, mode os.FileMode) {
		p := filepath.Join(base, dst)
		os.MkdirAll(filepath.Dir(p), 0o755)
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	write := func(dst, data string, mode os.FileMode) {
		p := filepath.Join(base, dst)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"kubeadm", "kubelet", "kubectl", "podman"} {
		cp(tools[b], "usr/bin/"+b, 0o755)
	}
	cp(tools["quadlet"], "usr/libexec/podman/quadlet", 0o755)
	os.MkdirAll(filepath.Join(base, "usr/lib/systemd/system-generators"), 0o755)
	os.Symlink("/usr/libexec/podman/quadlet", filepath.Join(base, "usr/lib/systemd/system-generators/podman-system-generator"))
	entries, _ := os.ReadDir(tools["cni-plugins"])
	for _, e := range entries {
		cp(filepath.Join(tools["cni-plugins"], e.Name()), "opt/cni/bin/"+e.Name(), 0o755)
	}
	write("usr/lib/systemd/system/kubelet.service", sysextKubeletUnit, 0o644)
	write("usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", sysextKubeadmDropin, 0o644)
	write("etc/containerd/config.toml", containerdConfig, 0o644)
	write("usr/local/sbin/boottest-init", initWrapper, 0o755)
	// journald would busy-loop on /dev/kmsg (linked to the console) and stop storing logs.
	write("etc/systemd/journald.conf.d/boottest.conf", "[Journal]\nReadKMsg=no\n", 0o644)
	// First boot: systemd applies presets (Ignition's 20-ignition.preset, then systemd's own
	// 90-systemd.preset: networkd, resolved), and nothing else, as on Flatcar.
	write("etc/machine-id", "uninitialized\n", 0o444)
	write("etc/systemd/system-preset/99-boottest.preset", "disable *\n", 0o644)
	// Not on Flatcar: Debian's own haproxy/keepalived units and SysV scripts (ours are Quadlet
	// units of the same names) and their enablement; Debian's timers.
	sh(t, `cd %s
rm -f lib/systemd/system/haproxy.service lib/systemd/system/keepalived.service
# Their SysV scripts too: systemd-sysv-generator would make haproxy/keepalived units of them on
# every node without Quadlet files.
rm -f etc/init.d/haproxy etc/init.d/keepalived
rm -rf etc/haproxy etc/keepalived
rm -f etc/systemd/system/multi-user.target.wants/{haproxy,keepalived,containerd,e2scrub_reap}.service
rm -f etc/systemd/system/timers.target.wants/*
rm -f etc/hostname
# The sysext image here is a stand-in, not an image: systemd-sysext cannot merge it (the
# binaries it carries are in /usr already), so it does not run.
ln -sf /dev/null etc/systemd/system/systemd-sysext.service
# Flatcar has no interactive first-boot wizard (a first boot here is one with no machine ID).
ln -sf /dev/null etc/systemd/system/systemd-firstboot.service
# Flatcar's core user (Ignition adds SSH keys to it).
grep -q '^core:' etc/passwd || {
  echo 'core:x:500:500:Flatcar Admin:/home/core:/bin/bash' >>etc/passwd
  echo 'core:x:500:' >>etc/group
  echo 'core:*:19000:0:99999:7:::' >>etc/shadow
  mkdir -p home/core && chown 500:500 home/core
}`, base)
	return upper + ":" + debroot
}

// makeRoot mounts the node's overlay root and applies its config with the real Ignition binary
// (fetch-offline, then files: the sysext is fetched from the loopback server).
func makeRoot(t testing.TB, ignition, lower string, n *node) string {
	for _, d := range []string{"upper", "work", "root", "containerd", "containers", "ignition"} {
		os.MkdirAll(filepath.Join(n.dir, d), 0o755)
	}
	os.Chmod(n.dir, 0o755)
	sh(t, "mount -t overlay overlay -o lowerdir=%s,upperdir=%s/upper,workdir=%s/work %s", lower, n.dir, n.dir, n.root)
	var logs strings.Builder
	for _, stage := range []string{"fetch-offline", "files"} {
		r := testkit.Run(2*time.Minute, []string{"IGNITION_CONFIG_FILE=" + n.ign}, ignition,
			"-platform", "file", "-stage", stage, "-root", n.root, "-log-to-stdout",
			"-config-cache", filepath.Join(n.dir, "ignition/ignition.json"),
			"-neednet", filepath.Join(n.dir, "ignition/neednet"),
			"-state-file", filepath.Join(n.dir, "ignition/state"),
			"-fetch-timeout", "20s")
		fmt.Fprintf(&logs, "--- ignition -stage %s\n%s\n", stage, r.Output())
		if r.Err != nil {
			t.Fatalf("boottest: %s: ignition stage %s: %v\n%s", n.name, stage, r.Err, logs.String())
		}
	}
	os.WriteFile(filepath.Join(n.dir, "ignition.log"), []byte(logs.String()), 0o644)
	return logs.String()
}

// cgroupSetup gives the node its own cgroup in every hierarchy (copying cpuset's cpus/mems),
// so five nodes' kubepods.slice do not collide; returns the cgroup.procs files to join.
func cgroupSetup(t testing.TB, n *node) []string {
	var procs []string
	for _, dir := range cgroupDirs() {
		d := filepath.Join(dir, n.name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("boottest: cgroup %s: %v", d, err)
		}
		if strings.Contains(dir, "/cpuset/") {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				for _, pair := range [][2]string{{filepath.Dir(dir), dir}, {dir, d}} {
					data, err := os.ReadFile(filepath.Join(pair[0], f))
					if err != nil || len(strings.TrimSpace(string(data))) == 0 {
						t.Fatalf("boottest: %s/%s: %v", pair[0], f, err)
					}
					os.WriteFile(filepath.Join(pair[1], f), data, 0o644)
				}
			}
		}
		procs = append(procs, filepath.Join(d, "cgroup.procs"))
	}
	return procs
}

// powerOn starts the node: systemd-nspawn with real systemd as PID 1 (through the wrapper).
func powerOn(t testing.TB, n *node) {
	procs := cgroupSetup(t, n)
	args := []string{
		"-q", "-D", n.root, "--register=no", "--keep-unit",
		"--capability=all", "--drop-capability=CAP_SYS_MODULE",
		"--system-call-filter=@keyring",
		"--network-namespace-path=/run/netns/" + nodeNS(n.name),
		"--kill-signal=SIGRTMIN+3", "--console=read-only",
		"--bind=" + n.dir + "/containerd:/var/lib/containerd",
		"--bind=" + n.dir + "/containers:/var/lib/containers",
		"--machine=" + n.name,
		"/usr/local/sbin/boottest-init",
	}
	script := "for f in " + strings.Join(procs, " ") + "; do echo $$ > $f; done; exec systemd-nspawn \"$@\""
	log, err := os.OpenFile(filepath.Join(n.dir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
	n.cmd.Stdout, n.cmd.Stderr = log, log
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	n.poweredOn, n.off = time.Now(), false
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() { n.cmd.Wait(); log.Close(); close(n.done) }()
}

// initPID returns the PID of the node's PID 1 (nspawn's child), or 0.
func (n *node) initPID() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", n.cmd.Process.Pid, n.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, f := range strings.Fields(string(data)) {
		if p, err := strconv.Atoi(f); err == nil {
			return p
		}
	}
	return 0
}

// exec runs a command inside the running node (all its namespaces) and returns its output.
func (n *node) exec(cmdline string) (string, error) {
	pid := n.initPID()
	if pid == 0 {
		return "", fmt.Errorf("%s is not running", n.name)
	}
	return shErr("nsenter -t %d -m -u -i -n -p -- /bin/sh -c %s", pid, quoteAll([]string{cmdline})[0])
}

// powerOff pulls the node's plug: its bridge port goes down (a dead node answers nothing), then
// its PID 1 and nspawn are killed. Its disk (root, stores) stays.
func powerOff(t testing.TB, n *node) {
	n.off = true
	setPort(t, n, false)
	if p := n.initPID(); p != 0 {
		syscall.Kill(p, syscall.SIGKILL)
	}
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
	}
	// A machine that loses power loses its addresses too: a namespace that kept the VIP would
	// claim it again when the cable is back, before the node's keepalived has even started. The
	// next boot configures its own address, as the first one did on a fresh namespace.
	sh(t, "ip -n %s addr flush scope global", nodeNS(n.name))
	// Processes of the node that outlived its PID namespace (none expected).
	for _, dir := range cgroupDirs() {
		data, _ := os.ReadFile(filepath.Join(dir, n.name, "cgroup.procs"))
		for _, f := range strings.Fields(string(data)) {
			if p, err := strconv.Atoi(f); err == nil {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	}
}
