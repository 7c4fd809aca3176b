//go:build integration

package integration

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/testkit"
)

// nmExpect is what NetworkManager must make of a node's keyfile.
type nmExpect struct {
	Iface, MAC string
	Addr       netip.Prefix
	Gateway    netip.Addr
	DNS        []netip.Addr
}

func nmExpectFor(c *model.Cluster, n model.Node) nmExpect {
	return nmExpect{Iface: c.Network.Interface, MAC: n.MAC, Addr: netip.PrefixFrom(n.IP, c.Network.CIDR.Bits()),
		Gateway: c.Network.Gateway, DNS: c.Network.DNS}
}

// nmScript starts a private D-Bus system bus and NetworkManager itself (Debian's, keyfile plugin
// only) in fresh mount, network and PID namespaces, with the applied root's
// system-connections directory as its keyfile path, and prints what NetworkManager loaded. When
// the namespace's PID 1 exits, the bus and the daemon go with it.
const nmScript = `
dir=$1 nm=$2 nmcli=$3 log=$4
mount -t tmpfs tmpfs /run
mkdir -p /run/dbus /run/NetworkManager
mount -t tmpfs tmpfs /var/lib/NetworkManager
conf=$(mktemp)
printf '[main]\nplugins=keyfile\nno-auto-default=*\n[keyfile]\npath=%s\n' "$dir" >"$conf"
dbus-daemon --system --fork
"$nm" --no-daemon --debug --log-level=INFO --config="$conf" --config-dir=/nonexistent >"$log" 2>&1 &
for _ in $(seq 100); do "$nmcli" -t general status >/dev/null 2>&1 && break; sleep 0.1; done
echo "== connections"
"$nmcli" -t -f NAME,TYPE,FILENAME connection show
echo "== profile"
"$nmcli" -t -f connection.id,connection.interface-name,802-3-ethernet.mac-address,ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.dns,ipv6.method connection show "$5"
`

// checkNMKeyfile has NetworkManager's own keyfile plugin load the applied root's
// /etc/NetworkManager/system-connections (with the modes and owners Ignition gave the files:
// NetworkManager ignores a keyfile anyone but root may read) and compares the profile it made
// with the node's address, gateway, DNS, interface and MAC. A keyfile it warns about fails.
func checkNMKeyfile(t testing.TB, root string, want nmExpect) error {
	dir := filepath.Join(root, "etc/NetworkManager/system-connections")
	files, _ := filepath.Glob(filepath.Join(dir, "*.nmconnection"))
	if len(files) != 1 {
		return fmt.Errorf("want one keyfile in %s, found %v", dir, files)
	}
	log := filepath.Join(t.TempDir(), "NetworkManager.log")
	unshare := testkit.HostTool(t, "unshare")
	r := testkit.Run(cmdTimeout, nil, unshare, "--mount", "--net", "--pid", "--fork", "--mount-proc", "--propagation", "private",
		"bash", "-euc", nmScript, "ns", dir, testkit.HostTool(t, "NetworkManager"), testkit.HostTool(t, "nmcli"), log, want.Iface)
	raw, _ := os.ReadFile(log)
	var warnings []string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.Contains(l, "keyfile") && (strings.Contains(l, "<warn>") || strings.Contains(l, "<error>")) {
			warnings = append(warnings, l)
		}
	}
	if r.Err != nil {
		return fail(r, "NetworkManager did not load the keyfile: "+strings.Join(warnings, "; "))
	}
	if len(warnings) > 0 {
		return fmt.Errorf("NetworkManager warns about the keyfile:\n%s", indent(strings.Join(warnings, "\n")))
	}
	got := map[string]string{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "==") {
			got[k] = v
		}
	}
	var dns []string
	for _, d := range want.DNS {
		dns = append(dns, d.String())
	}
	wantFields := map[string]string{
		"connection.id": want.Iface, "connection.interface-name": want.Iface,
		"ipv4.method": "manual", "ipv4.addresses": want.Addr.String(), "ipv4.gateway": want.Gateway.String(),
		"ipv4.dns": strings.Join(dns, ","), "ipv6.method": "disabled",
		"802-3-ethernet.mac-address": strings.ToUpper(want.MAC), // nmcli writes hex digits upper-case
	}
	var errs []error
	for k, v := range wantFields {
		if got[k] != v {
			errs = append(errs, fmt.Errorf("NetworkManager has %s %q, want %q", k, got[k], v))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w\n%s", errors.Join(errs...), indent(r.Stdout))
	}
	return nil
}
