//go:build integration

package integration

// Each check is a function returning nil when the real consumer accepts its input and an error
// saying why not. The suite runs them on every node's output and on the broken inputs of
// testdata/integration-negative/, where they must fail.

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/ignition/v2/config/v3_4"
	"github.com/coreos/ignition/v2/config/v3_4/types"
	"github.com/ignigen/ignigen/internal/ignfiles"
	ignkubeconfig "github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/testkit"
	"gopkg.in/yaml.v3"
)

const cmdTimeout = 2 * time.Minute

// fail formats a failed command for an error message.
func fail(r testkit.Result, why string) error {
	out := r.Output()
	if out == "" {
		out = "(no output)"
	}
	if r.Err != nil {
		why += " (" + r.Err.Error() + ")"
	}
	return fmt.Errorf("%s\n%s\ncommand: %s", why, indent(out), r.Cmd)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// ---- 1. Ignition ------------------------------------------------------------------------------

// checkIgnitionValidate: ignition-validate must exit 0 and print nothing (no warning either).
func checkIgnitionValidate(t testing.TB, ign string) error {
	r := testkit.Run(cmdTimeout, nil, testkit.Tool(t, "ignition-validate"), ign)
	if r.Err != nil || r.Output() != "" {
		return fail(r, "ignition-validate reports problems")
	}
	return nil
}

// checkIgnitionApply applies ign with the real ignition binary to a fresh root shaped like the
// OS whose login user is u (Flatcar: core 500 in /home; Fedora CoreOS: core 1000 in /var/home)
// (a WARNING or ERROR in Ignition's log fails too) and then checks the root against the config
// (verifyApplied). It returns the root.
func checkIgnitionApply(t testing.TB, ign string, u osprofile.User, remote func(url string) ([]byte, bool)) (string, error) {
	root, log, err := testkit.ApplyErrAs(t, ign, u)
	if err != nil {
		return root, fmt.Errorf("ignition failed: %v\n%s", err, indent(problems(log)))
	}
	if p := problems(log); p != log {
		return root, fmt.Errorf("ignition succeeded with warnings:\n%s", indent(p))
	}
	raw, err := os.ReadFile(ign)
	if err != nil {
		return root, err
	}
	return root, verifyApplied(root, raw, remote)
}

// problems keeps the lines of an Ignition log that say what went wrong (it also logs the
// whole config, which is no help in a failure message).
func problems(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "CRITICAL") || strings.HasPrefix(l, "ERROR") || strings.HasPrefix(l, "WARNING") || strings.Contains(l, "[failed]") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return log
	}
	return strings.Join(out, "\n")
}

// verifyApplied checks that everything the config asks for is in the root: files (path, type,
// mode, owner, contents; remote contents equal what remote serves), directories, links, units
// and drop-ins (contents, masks), enablement (Ignition writes presets), and SSH keys in core's
// authorized_keys.d fragment with core's ownership.
func verifyApplied(root string, raw []byte, remote func(url string) ([]byte, bool)) error {
	cfg, files, err := ignfiles.Parse(raw)
	if err != nil {
		return err
	}
	users, err := readIDs(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return err
	}
	groups, err := readIDs(filepath.Join(root, "etc/group"))
	if err != nil {
		return err
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	owner := func(n types.NodeUser, g types.NodeGroup) (int, int, error) {
		uid, gid := 0, 0
		if n.ID != nil {
			uid = *n.ID
		} else if n.Name != nil {
			id, ok := users[*n.Name]
			if !ok {
				return 0, 0, fmt.Errorf("user %q not in passwd", *n.Name)
			}
			uid = id
		}
		if g.ID != nil {
			gid = *g.ID
		} else if g.Name != nil {
			id, ok := groups[*g.Name]
			if !ok {
				return 0, 0, fmt.Errorf("group %q not in group", *g.Name)
			}
			gid = id
		}
		return uid, gid, nil
	}
	checkNode := func(path string, wantType os.FileMode, mode int, n types.Node) {
		st, err := os.Lstat(filepath.Join(root, path))
		if err != nil {
			bad("%s: %v", path, err)
			return
		}
		if st.Mode().Type() != wantType {
			bad("%s: type %v, want %v", path, st.Mode().Type(), wantType)
			return
		}
		sys := st.Sys().(*syscall.Stat_t)
		if wantType != os.ModeSymlink && int(sys.Mode&0o7777) != mode {
			bad("%s: mode %04o, want %04o", path, sys.Mode&0o7777, mode)
		}
		uid, gid, err := owner(n.User, n.Group)
		if err != nil {
			bad("%s: %v", path, err)
		} else if int(sys.Uid) != uid || int(sys.Gid) != gid {
			bad("%s: owner %d:%d, want %d:%d", path, sys.Uid, sys.Gid, uid, gid)
		}
	}
	if len(cfg.Storage.Files) == 0 {
		bad("config has no files: nothing to check")
	}
	for _, f := range cfg.Storage.Files {
		df := ignfiles.Find(files, f.Path)
		checkNode(f.Path, 0, df.Mode, f.Node)
		if len(f.Append) > 0 {
			bad("%s: append is not checked by this suite", f.Path)
			continue
		}
		got, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil {
			continue // reported by checkNode
		}
		want := df.Data
		if df.Source != "" {
			w, ok := remote(df.Source)
			if !ok {
				bad("%s: remote source %s is not served by the test", f.Path, df.Source)
				continue
			}
			want = w
		}
		if !bytes.Equal(got, want) {
			bad("%s: contents differ from the config (%d bytes, want %d)", f.Path, len(got), len(want))
		}
	}
	for _, d := range cfg.Storage.Directories {
		mode := 0o755
		if d.Mode != nil {
			mode = *d.Mode
		}
		checkNode(d.Path, os.ModeDir, mode, d.Node)
	}
	for _, l := range cfg.Storage.Links {
		if l.Hard != nil && *l.Hard {
			a, err1 := os.Stat(filepath.Join(root, l.Path))
			b, err2 := os.Stat(filepath.Join(root, *l.Target))
			if err1 != nil || err2 != nil || !os.SameFile(a, b) {
				bad("%s: not a hard link to %s", l.Path, *l.Target)
			}
			continue
		}
		checkNode(l.Path, os.ModeSymlink, 0, l.Node)
		if target, err := os.Readlink(filepath.Join(root, l.Path)); err == nil && target != *l.Target {
			bad("%s: links to %s, want %s", l.Path, target, *l.Target)
		}
	}
	presets, err := readPresets(root)
	if err != nil {
		bad("%v", err)
	}
	for _, u := range cfg.Systemd.Units {
		p := filepath.Join(root, "etc/systemd/system", u.Name)
		switch {
		case u.Mask != nil && *u.Mask:
			if target, err := os.Readlink(p); err != nil || target != "/dev/null" {
				bad("unit %s: not masked (%v)", u.Name, err)
			}
		case u.Contents != nil:
			if got, err := os.ReadFile(p); err != nil || string(got) != *u.Contents {
				bad("unit %s: not written as in the config (%v)", u.Name, err)
			}
		}
		for _, d := range u.Dropins {
			if d.Contents == nil {
				continue
			}
			dp := filepath.Join(root, "etc/systemd/system", u.Name+".d", d.Name)
			if got, err := os.ReadFile(dp); err != nil || string(got) != *d.Contents {
				bad("drop-in %s of %s: not written as in the config (%v)", d.Name, u.Name, err)
			}
		}
		if u.Enabled != nil {
			want := "disable"
			if *u.Enabled {
				want = "enable"
			}
			if presets[u.Name] != want {
				bad("unit %s: preset %q, want %q", u.Name, presets[u.Name], want)
			}
		}
	}
	homes, err := readHomes(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return err
	}
	for _, u := range cfg.Passwd.Users {
		if len(u.SSHAuthorizedKeys) == 0 {
			continue
		}
		frag := filepath.Join(homes[u.Name], ".ssh/authorized_keys.d/ignition")
		checkNode(frag, 0, 0o600, types.Node{User: types.NodeUser{Name: &u.Name}, Group: types.NodeGroup{ID: intp(users[u.Name+"\x00gid"])}})
		data, err := os.ReadFile(filepath.Join(root, frag))
		if err != nil {
			continue
		}
		lines := strings.Split(string(data), "\n")
		for _, k := range u.SSHAuthorizedKeys {
			if !slices.Contains(lines, string(k)) {
				bad("user %s: SSH key %.40s... not in %s", u.Name, k, frag)
			}
		}
	}
	return errors.Join(errs...)
}

func intp(i int) *int { return &i }

// readIDs maps names to ids in a passwd or group file; for passwd also "name\x00gid" to the
// primary group.
func readIDs(path string) (map[string]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 3 {
			continue
		}
		id, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", path, l, err)
		}
		ids[f[0]] = id
		if len(f) >= 4 {
			if gid, err := strconv.Atoi(f[3]); err == nil {
				ids[f[0]+"\x00gid"] = gid
			}
		}
	}
	return ids, nil
}

func readHomes(passwd string) (map[string]string, error) {
	data, err := os.ReadFile(passwd)
	if err != nil {
		return nil, err
	}
	homes := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Split(l, ":"); len(f) >= 6 {
			homes[f[0]] = f[5]
		}
	}
	return homes, nil
}

// readPresets reads the root's /etc/systemd/system-preset/*.preset: unit -> enable|disable.
func readPresets(root string) (map[string]string, error) {
	paths, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system-preset/*.preset"))
	out := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) == 2 && (f[0] == "enable" || f[0] == "disable") {
				out[f[1]] = f[0]
			}
		}
	}
	return out, nil
}

// ---- 2. Quadlet -------------------------------------------------------------------------------

// generatorDir is where systemd runs normal generators (Quadlet among them) at boot.
const generatorDir = "run/systemd/generator"

// checkQuadlet runs podman's quadlet generator over root/etc/containers/systemd into
// root/run/systemd/generator, as systemd does at boot. It fails on any message (errors and
// warnings), on a .container without its .service, and on a missing [Install] wants link. It
// returns the names of the generated services.
func checkQuadlet(t testing.TB, root string) ([]string, error) {
	src := filepath.Join(root, "etc/containers/systemd")
	containers, _ := filepath.Glob(filepath.Join(src, "*.container"))
	if len(containers) == 0 {
		return nil, fmt.Errorf("no Quadlet .container files in %s", src)
	}
	out := filepath.Join(root, generatorDir)
	r := testkit.Run(cmdTimeout, []string{"QUADLET_UNIT_DIRS=" + src}, testkit.Tool(t, "quadlet"), "-no-kmsg-log", out)
	if r.Err != nil || r.Output() != "" {
		return nil, fail(r, "quadlet reports problems")
	}
	var services []string
	for _, c := range containers {
		name := strings.TrimSuffix(filepath.Base(c), ".container") + ".service"
		svc := filepath.Join(out, name)
		data, err := os.ReadFile(svc)
		if err != nil {
			return nil, fmt.Errorf("quadlet generated no %s for %s: %v", name, filepath.Base(c), err)
		}
		services = append(services, name)
		for _, target := range installTargets(string(data)) {
			link := filepath.Join(out, target, name)
			if _, err := os.Stat(link); err != nil {
				return nil, fmt.Errorf("%s: [Install] %s but quadlet made no %s: %v", name, target, filepath.Join(generatorDir, target, name), err)
			}
		}
	}
	return services, nil
}

// installTargets lists "X.wants" / "X.requires" directories named by a unit's [Install] section.
func installTargets(unit string) []string {
	var out []string
	section := ""
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "[") {
			section = l
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if section != "[Install]" || !ok {
			continue
		}
		for _, u := range strings.Fields(v) {
			switch strings.TrimSpace(k) {
			case "WantedBy":
				out = append(out, u+".wants")
			case "RequiredBy":
				out = append(out, u+".requires")
			}
		}
	}
	return out
}

// ---- 3. systemd -------------------------------------------------------------------------------

var unitSuffixes = []string{".service", ".socket", ".timer", ".path", ".mount", ".automount", ".target", ".slice", ".swap"}

// rootUnits lists the units the config put into root/etc/systemd/system (and those it gave
// drop-ins there) and the ones Quadlet generated into root/run/systemd/generator.
func rootUnits(root string) ([]string, error) {
	var names []string
	for _, dir := range []string{"etc/systemd/system", generatorDir} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() {
				// NAME.d holds drop-ins for NAME, which may be a unit of /usr (kubelet.service):
				// verifying NAME loads them.
				if base, ok := strings.CutSuffix(e.Name(), ".d"); ok && slices.Contains(unitSuffixes, filepath.Ext(base)) && !slices.Contains(names, base) {
					names = append(names, base)
				}
				continue
			}
			if !slices.Contains(unitSuffixes, filepath.Ext(e.Name())) {
				continue
			}
			if target, err := os.Readlink(filepath.Join(root, dir, e.Name())); err == nil && target == "/dev/null" {
				continue // masked: nothing to verify
			}
			if !slices.Contains(names, e.Name()) {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// checkSystemdVerify runs `systemd-analyze verify --root` over every unit of the root
// (generated Quadlet services included: SYSTEMD_UNIT_PATH adds the generator directory, which
// --root resolves inside the root, before the default search path). Flatcar's /usr is stood
// in by testkit.AddFlatcarUsr: systemd's own units, stand-in containerd and kubelet units,
// empty executables for the programs Flatcar and its sysexts have. Any message fails.
func checkSystemdVerify(t testing.TB, root string) ([]string, error) {
	if err := testkit.AddFlatcarUsr(root); err != nil {
		return nil, err
	}
	units, err := rootUnits(root)
	if err != nil {
		return nil, err
	}
	if len(units) == 0 {
		return nil, fmt.Errorf("no units in %s", root)
	}
	args := append([]string{"verify", "--root=" + root, "--man=no", "--generators=no", "--recursive-errors=yes", "--no-pager"}, units...)
	r := testkit.Run(cmdTimeout, []string{"SYSTEMD_UNIT_PATH=/" + generatorDir + ":", "SYSTEMD_LOG_COLOR=0"}, testkit.HostTool(t, "systemd-analyze"), args...)
	if r.Err != nil || r.Output() != "" {
		return nil, fail(r, "systemd-analyze verify reports problems")
	}
	return units, nil
}

// checkNoUnits: a node whose role and config have no units has no unit file at all (after
// AddFlatcarUsr, which later checks need, only the config's own /etc and Quadlet's output count).
func checkNoUnits(t testing.TB, root string) error {
	if err := testkit.AddFlatcarUsr(root); err != nil {
		return err
	}
	units, err := rootUnits(root)
	if err != nil {
		return err
	}
	if len(units) > 0 {
		return fmt.Errorf("the config has no units, but the root has %v", units)
	}
	return nil
}

// checkNoPresets: a config that enables or disables no unit leaves no preset behind.
func checkNoPresets(root string) error {
	presets, err := readPresets(root)
	if err != nil {
		return err
	}
	if len(presets) > 0 {
		return fmt.Errorf("the config enables no unit, but the root has presets %v", presets)
	}
	return nil
}

// checkSystemdPreset applies the root's presets (what systemd does on a first boot) with
// `systemctl --root preset` and asks `systemctl --root is-enabled` about every unit Ignition
// enabled or disabled. Needs AddFlatcarUsr (checkSystemdVerify) first.
func checkSystemdPreset(t testing.TB, root string) error {
	presets, err := readPresets(root)
	if err != nil {
		return err
	}
	if len(presets) == 0 {
		return fmt.Errorf("no presets in %s/etc/systemd/system-preset", root)
	}
	var units []string
	for u := range presets {
		units = append(units, u)
	}
	sort.Strings(units)
	systemctl := testkit.HostTool(t, "systemctl")
	r := testkit.Run(cmdTimeout, nil, systemctl, append([]string{"--root=" + root, "--no-pager", "preset"}, units...)...)
	if r.Err != nil {
		return fail(r, "systemctl preset failed")
	}
	var errs []error
	for _, u := range units {
		want := map[string]string{"enable": "enabled", "disable": "disabled"}[presets[u]]
		r := testkit.Run(cmdTimeout, nil, systemctl, "--root="+root, "--no-pager", "is-enabled", u)
		if got := strings.TrimSpace(r.Stdout); got != want {
			errs = append(errs, fmt.Errorf("%s: is-enabled says %q after preset, want %q (%s)", u, got, want, strings.TrimSpace(r.Stderr)))
		}
	}
	return errors.Join(errs...)
}

// ---- 4. HAProxy and keepalived ----------------------------------------------------------------

// containerExec returns the words of the Exec= line of a Quadlet .container file in the root,
// or nil when there is none.
func containerExec(root, name string) []string {
	data, err := os.ReadFile(filepath.Join(root, "etc/containers/systemd", name))
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Exec="); ok {
			return strings.Fields(v)
		}
	}
	return nil
}

// inNamespace runs script with bash in private mount and network namespaces (unshare), so it
// can bind-mount applied directories over /etc/... and create interfaces without touching the
// host. args are $1...
func inNamespace(t testing.TB, script string, args ...string) testkit.Result {
	unshare := testkit.HostTool(t, "unshare")
	full := append([]string{"--mount", "--net", "--propagation", "private", "bash", "-euc", script, "ns"}, args...)
	return testkit.Run(cmdTimeout, nil, unshare, full...)
}

// checkHAProxy runs Debian's `haproxy -c` in zero-warning mode (-dW) on the applied
// /etc/haproxy, bind-mounted read-only at /etc/haproxy as the Quadlet unit's Volume= does, with
// the arguments of the unit's Exec= line. Any WARNING or ALERT fails.
func checkHAProxy(t testing.TB, root string) error {
	dir := filepath.Join(root, "etc/haproxy")
	if _, err := os.Stat(filepath.Join(dir, "haproxy.cfg")); err != nil {
		return err
	}
	args := []string{"-f", "/etc/haproxy/haproxy.cfg"}
	if words := containerExec(root, "haproxy.container"); len(words) > 1 && words[0] == "haproxy" {
		args = words[1:]
	}
	if _, err := os.Stat("/etc/haproxy"); err != nil {
		return fmt.Errorf("the host needs a /etc/haproxy directory to mount over (Debian's haproxy package has one): %v", err)
	}
	script := `mount --bind "$1" /etc/haproxy
mount -o remount,bind,ro /etc/haproxy
shift
exec ` + testkit.HostTool(t, "haproxy") + ` -c -dW "$@"`
	r := inNamespace(t, script, append([]string{dir}, args...)...)
	out := r.Output()
	if r.Err != nil || strings.Contains(out, "WARNING") || strings.Contains(out, "ALERT") || !strings.Contains(out, "Configuration file is valid") {
		return fail(r, "haproxy -c rejects the configuration")
	}
	return nil
}

// checkKeepalived runs Debian's `keepalived --config-test` with the arguments of the Quadlet
// unit's Exec= line, on the applied /etc/keepalived bind-mounted read-only at /etc/keepalived
// (the unit's Volume=), so the absolute track-script path /etc/keepalived/check-haproxy.sh
// resolves to the applied script and keepalived's script security checks its owner and mode.
// It runs in a network namespace holding the node's interface with the node's address, as
// on the node. Any message fails (keepalived reports warnings and errors alike on stderr).
func checkKeepalived(t testing.TB, root, ifname string, addr netip.Prefix) error {
	dir := filepath.Join(root, "etc/keepalived")
	if _, err := os.Stat(filepath.Join(dir, "keepalived.conf")); err != nil {
		return err
	}
	args := []string{"--use-file", "/etc/keepalived/keepalived.conf"}
	if words := containerExec(root, "keepalived.container"); len(words) > 0 {
		args = words
	}
	ip := testkit.HostTool(t, "ip")
	script := `ip=` + ip + `
$ip link set lo up
$ip link add "$1" type veth peer name ignigen-peer0
$ip link set ignigen-peer0 up
$ip addr add "$2" dev "$1"
$ip link set "$1" up
mount --bind "$3" /etc/keepalived
mount -o remount,bind,ro /etc/keepalived
shift 3
exec ` + testkit.HostTool(t, "keepalived") + ` --config-test "$@"`
	if _, err := os.Stat("/etc/keepalived"); err != nil {
		return fmt.Errorf("the host needs a /etc/keepalived directory to mount over (Debian's keepalived package has one): %v", err)
	}
	r := inNamespace(t, script, append([]string{ifname, addr.String(), dir}, args...)...)
	if r.Err != nil || r.Output() != "" {
		return fail(r, "keepalived --config-test rejects the configuration")
	}
	return nil
}

// ---- 5. kubeadm and PKI -----------------------------------------------------------------------

// checkKubeadmValidate: `kubeadm config validate` (strict decoding: unknown fields fail) must
// print only "ok".
func checkKubeadmValidate(kubeadm, config string) error {
	r := testkit.Run(cmdTimeout, nil, kubeadm, "config", "validate", "--config", config)
	if r.Err != nil || r.Output() != "ok" {
		return fail(r, "kubeadm config validate rejects the configuration")
	}
	return nil
}

// pkiInputs are the files ignigen places in /etc/kubernetes/pki; kubeadm must use them unchanged.
var pkiInputs = []string{"ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key", "sa.key", "sa.pub"}

// leafCAs maps the certificates `kubeadm init phase certs all` signs to their CA.
var leafCAs = map[string]string{
	"apiserver.crt":                "ca.crt",
	"apiserver-kubelet-client.crt": "ca.crt",
	"front-proxy-client.crt":       "front-proxy-ca.crt",
	"etcd/server.crt":              "etcd/ca.crt",
	"etcd/peer.crt":                "etcd/ca.crt",
	"etcd/healthcheck-client.crt":  "etcd/ca.crt",
	"apiserver-etcd-client.crt":    "etcd/ca.crt",
}

// kubeadmNode is what the certificates check needs to know about a control-plane node.
type kubeadmNode struct {
	Name string
	IP   netip.Addr
	VIP  netip.Addr
}

// checkKubeadmCerts runs `kubeadm init phase certs all` against the root's
// /etc/kubernetes/pki with initYAML (the init node's InitConfiguration and
// ClusterConfiguration) adjusted to this node (name, advertise address) and to the root
// (certificatesDir). kubeadm must keep every CA and the SA key byte for byte, and every
// certificate it signs must verify (openssl verify) against the right CA; the apiserver
// certificate must name the VIP and the node IP.
func checkKubeadmCerts(t testing.TB, kubeadm, root string, initYAML []byte, n kubeadmNode) error {
	pki := filepath.Join(root, "etc/kubernetes/pki")
	before := map[string][]byte{}
	for _, f := range pkiInputs {
		data, err := os.ReadFile(filepath.Join(pki, f))
		if err != nil {
			return fmt.Errorf("ignigen's PKI input missing: %v", err)
		}
		before[f] = data
	}
	cfg, err := adjustInitConfig(initYAML, n, pki)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(t.TempDir(), "init-"+n.Name+".yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return err
	}
	r := testkit.Run(cmdTimeout, nil, kubeadm, "init", "phase", "certs", "all", "--config", cfgPath)
	if r.Err != nil {
		return fail(r, "kubeadm init phase certs all failed")
	}
	var errs []error
	for _, f := range pkiInputs {
		after, err := os.ReadFile(filepath.Join(pki, f))
		if err != nil || !bytes.Equal(after, before[f]) {
			errs = append(errs, fmt.Errorf("kubeadm changed or removed ignigen's %s", f))
		}
	}
	openssl := testkit.HostTool(t, "openssl")
	leaves := make([]string, 0, len(leafCAs))
	for leaf := range leafCAs {
		leaves = append(leaves, leaf)
	}
	sort.Strings(leaves)
	for _, leaf := range leaves {
		r := testkit.Run(cmdTimeout, nil, openssl, "verify", "-CAfile", filepath.Join(pki, leafCAs[leaf]), filepath.Join(pki, leaf))
		if r.Err != nil {
			errs = append(errs, fail(r, leaf+" does not verify against "+leafCAs[leaf]))
		}
	}
	cert, err := readCert(filepath.Join(pki, "apiserver.crt"))
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, want := range []netip.Addr{n.VIP, n.IP} {
		found := false
		for _, ip := range cert.IPAddresses {
			if a, ok := netip.AddrFromSlice(ip); ok && a.Unmap() == want {
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("apiserver.crt SANs %v lack %s", cert.IPAddresses, want))
		}
	}
	return errors.Join(errs...)
}

// adjustInitConfig rewrites the init node's kubeadm configuration for node n: its name and
// advertise address (what `kubeadm join --control-plane` uses with the cluster's
// ClusterConfiguration), and certificatesDir pointing into the scratch root.
func adjustInitConfig(initYAML []byte, n kubeadmNode, pki string) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(initYAML))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	kinds := map[string]bool{}
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("init configuration: %v", err)
		}
		m := doc.Content[0]
		kind := scalar(testkit.MapValue(m, "kind"))
		kinds[kind] = true
		switch kind {
		case "InitConfiguration":
			setPath(m, n.IP.String(), "localAPIEndpoint", "advertiseAddress")
			setPath(m, n.Name, "nodeRegistration", "name")
		case "ClusterConfiguration":
			setPath(m, pki, "certificatesDir")
		}
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
	}
	if !kinds["InitConfiguration"] || !kinds["ClusterConfiguration"] {
		return nil, fmt.Errorf("init configuration lacks InitConfiguration or ClusterConfiguration (has %v)", kinds)
	}
	return out.Bytes(), enc.Close()
}

func scalar(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// setPath sets a scalar at a path of mapping keys, creating mappings on the way.
func setPath(m *yaml.Node, value string, keys ...string) {
	for i, k := range keys {
		v := testkit.MapValue(m, k)
		if v == nil {
			v = &yaml.Node{Kind: yaml.MappingNode}
			if i == len(keys)-1 {
				v = &yaml.Node{Kind: yaml.ScalarNode}
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
		}
		if i == len(keys)-1 {
			v.Kind, v.Value, v.Tag, v.Style = yaml.ScalarNode, value, "!!str", 0
			return
		}
		m = v
	}
}

// lookupYAML returns the scalar at a path in the first document of data that has kind.
func lookupYAML(data []byte, kind string, keys ...string) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return ""
		}
		m := doc.Content[0]
		if scalar(testkit.MapValue(m, "kind")) != kind {
			continue
		}
		for _, k := range keys {
			m = testkit.MapValue(m, k)
		}
		if m != nil && m.Kind == yaml.SequenceNode && len(m.Content) > 0 {
			return m.Content[0].Value
		}
		return scalar(m)
	}
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return x509.ParseCertificate(b.Bytes)
}

// opensslCAHash computes kubeadm's discovery hash of a CA certificate the way kubeadm's
// documentation does: openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum.
func opensslCAHash(t testing.TB, ca string) (string, error) {
	openssl := testkit.HostTool(t, "openssl")
	r := testkit.Run(cmdTimeout, nil, "bash", "-o", "pipefail", "-c",
		`"$0" x509 -pubkey -noout -in "$1" | "$0" pkey -pubin -outform der | sha256sum`, openssl, ca)
	if r.Err != nil {
		return "", fail(r, "openssl cannot hash the CA's public key")
	}
	f := strings.Fields(r.Stdout)
	if len(f) == 0 || len(f[0]) != 64 {
		return "", fmt.Errorf("unexpected sha256sum output %q", r.Stdout)
	}
	return "sha256:" + f[0], nil
}

// checkCAHash: the caCertHashes of the root's join configuration must equal openssl's hash of
// the cluster CA the node holds (/etc/ignigen/ca.crt; on control-plane nodes also
// /etc/kubernetes/pki/ca.crt, which must be the same certificate).
func checkCAHash(t testing.TB, root string) error {
	join, err := os.ReadFile(filepath.Join(root, "etc/kubernetes/kubeadm/join.yaml"))
	if err != nil {
		return err
	}
	got := lookupYAML(join, "JoinConfiguration", "discovery", "bootstrapToken", "caCertHashes")
	if got == "" {
		return fmt.Errorf("join.yaml has no discovery.bootstrapToken.caCertHashes")
	}
	ca := filepath.Join(root, "etc/ignigen/ca.crt")
	want, err := opensslCAHash(t, ca)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("join.yaml caCertHashes %s, openssl says %s for %s", got, want, ca)
	}
	if pkiCA, err := os.ReadFile(filepath.Join(root, "etc/kubernetes/pki/ca.crt")); err == nil {
		if ignCA, _ := os.ReadFile(ca); !bytes.Equal(pkiCA, ignCA) {
			return fmt.Errorf("/etc/kubernetes/pki/ca.crt and /etc/ignigen/ca.crt differ")
		}
	}
	return nil
}

// readKubeconfig parses the kubeconfig file at path.
func readKubeconfig(path string) (*ignkubeconfig.Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ignkubeconfig.Parse(data)
}

// checkAdminKubeconfig: the admin kubeconfig's client certificate must verify (openssl verify,
// client purpose) against the cluster CA, its embedded CA must be that CA, its key must match
// the certificate and its server must be the API endpoint.
func checkAdminKubeconfig(t testing.TB, kubeconfig, clusterCA, endpoint string) error {
	kc, err := readKubeconfig(kubeconfig)
	if err != nil {
		return err
	}
	dir := t.TempDir()
	files := map[string][]byte{"embedded-ca.crt": kc.CA, "client.crt": kc.Cert, "client.key": kc.Key}
	for name, raw := range files {
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			return err
		}
	}
	var errs []error
	if want, _ := os.ReadFile(clusterCA); !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(mustRead(filepath.Join(dir, "embedded-ca.crt")))) {
		errs = append(errs, fmt.Errorf("certificate-authority-data is not the cluster CA"))
	}
	if s := kc.Server; endpoint != "" && s != endpoint {
		errs = append(errs, fmt.Errorf("server %s, want %s", s, endpoint))
	}
	openssl := testkit.HostTool(t, "openssl")
	r := testkit.Run(cmdTimeout, nil, openssl, "verify", "-purpose", "sslclient", "-CAfile", clusterCA, filepath.Join(dir, "client.crt"))
	if r.Err != nil || !strings.Contains(r.Stdout, ": OK") {
		errs = append(errs, fail(r, "client certificate does not verify against the cluster CA"))
	}
	pub1 := testkit.Run(cmdTimeout, nil, openssl, "x509", "-noout", "-pubkey", "-in", filepath.Join(dir, "client.crt"))
	pub2 := testkit.Run(cmdTimeout, nil, openssl, "pkey", "-pubout", "-in", filepath.Join(dir, "client.key"))
	if pub1.Err != nil || pub2.Err != nil || pub1.Stdout != pub2.Stdout {
		errs = append(errs, fmt.Errorf("client key does not match the client certificate: %v %v", pub1.Err, pub2.Err))
	}
	return errors.Join(errs...)
}

func mustRead(p string) []byte {
	data, _ := os.ReadFile(p)
	return data
}

// parseIgnition reads a config with Ignition's parser (v3_4 accepts every older spec too).
func parseIgnition(path string) (types.Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return types.Config{}, err
	}
	cfg, _, err := v3_4.Parse(raw)
	return cfg, err
}

// checkScripts: every shell script the node gets under /opt/ignigen/bin parses (bash -n), so a
// template that renders a broken script fails here rather than on first boot.
func checkScripts(t testing.TB, root string) error {
	bash := testkit.HostTool(t, "bash")
	dir := filepath.Join(root, "opt/ignigen/bin")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		head, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(head, []byte("#!/bin/bash")) && !bytes.HasPrefix(head, []byte("#!/bin/sh")) {
			continue
		}
		if r := testkit.Run(cmdTimeout, nil, bash, "-n", p); r.Err != nil {
			errs = append(errs, fail(r, "bash -n /opt/ignigen/bin/"+e.Name()))
		}
	}
	return errors.Join(errs...)
}
