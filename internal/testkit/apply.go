package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Flatcar's login user; ignigen's configs add SSH keys to it and never create it.
const (
	CoreUID  = 500
	CoreGID  = 500
	CoreHome = "/home/core"
)

// FlatcarBuiltinSysexts are the system extensions in Flatcar's own image (flatcar/scripts#1216).
var FlatcarBuiltinSysexts = []string{"containerd-flatcar", "docker-flatcar"}

// NewFlatcarRoot creates the parts of a Flatcar root that Ignition's files stage reads before it
// writes anything: the account databases with root and core, core's home, and the merged-/usr
// layout (bin, sbin, lib are links into /usr), and the links of the built-in sysexts.
func NewFlatcarRoot(root string) error {
	for _, d := range []string{"etc", "usr/bin", "usr/sbin", "usr/lib", "opt", "var", "run", "root", "home/core"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	for _, l := range []string{"bin", "sbin", "lib"} {
		if err := os.Symlink("usr/"+l, filepath.Join(root, l)); err != nil {
			return err
		}
	}
	files := []struct {
		path string
		mode os.FileMode
		data string
	}{
		{"etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Flatcar Admin:/home/core:/bin/bash\n"},
		{"etc/group", 0o644, "root:x:0:\nwheel:x:10:root,core\ndocker:x:233:core\nsudo:x:150:core\ncore:x:500:\n"},
		{"etc/shadow", 0o640, "root:*:19000:0:99999:7:::\ncore:*:19000:0:99999:7:::\n"},
		{"etc/gshadow", 0o640, "root:::\nwheel:::root,core\ndocker:::core\nsudo:::core\ncore:::\n"},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(root, f.path), []byte(f.data), f.mode); err != nil {
			return err
		}
	}
	// The built-in containerd and Docker sysexts, linked from /etc/extensions as Flatcar's image
	// build does: a config that masks them must overwrite these links.
	if err := os.MkdirAll(filepath.Join(root, "etc/extensions"), 0o755); err != nil {
		return err
	}
	for _, name := range FlatcarBuiltinSysexts {
		if err := os.Symlink("/usr/share/flatcar/"+name+".raw", filepath.Join(root, "etc/extensions", name+".raw")); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(root, "root"), 0o700); err != nil {
		return err
	}
	return os.Chown(filepath.Join(root, "home/core"), CoreUID, CoreGID)
}

// Apply makes a Flatcar-shaped scratch root under t.TempDir(), applies the Ignition config at
// ignPath with the real ignition binary (platform "file"; stages fetch-offline, then files) and
// returns the root. Remote resources are fetched for real, so they must be served on loopback.
// It fails the test when Ignition fails; ApplyErr returns the error instead.
func Apply(t testing.TB, ignPath string) string {
	t.Helper()
	root, log, err := ApplyErr(t, ignPath)
	if err != nil {
		t.Fatalf("testkit: applying %s: %v\n%s", ignPath, err, log)
	}
	return root
}

// ApplyErr is Apply returning Ignition's log and error instead of failing the test.
func ApplyErr(t testing.TB, ignPath string) (root, log string, err error) {
	t.Helper()
	ignition := Tool(t, "ignition")
	abs, err := filepath.Abs(ignPath)
	if err != nil {
		return "", "", err
	}
	// Ignition writes core's SSH keys as core (setfsuid): every directory above the root must be
	// searchable by others, and t.TempDir() and its parent are 0700.
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			return "", "", err
		}
	}
	root = filepath.Join(base, "root")
	if err := NewFlatcarRoot(root); err != nil {
		return "", "", err
	}
	// Ignition's own state (config cache, neednet flag, state file) stays out of the root, as in
	// the initramfs where it lives in /run of the initrd.
	state := t.TempDir()
	var logs strings.Builder
	for _, stage := range []string{"fetch-offline", "files"} {
		r := Run(2*time.Minute, []string{"IGNITION_CONFIG_FILE=" + abs}, ignition,
			"-platform", "file", "-stage", stage, "-root", root, "-log-to-stdout",
			"-config-cache", filepath.Join(state, "ignition.json"),
			"-neednet", filepath.Join(state, "neednet"),
			"-state-file", filepath.Join(state, "state"),
			"-fetch-timeout", "20s")
		fmt.Fprintf(&logs, "--- ignition -stage %s\n%s", stage, r.Output())
		if r.Err != nil {
			return root, logs.String(), fmt.Errorf("ignition stage %s: %w", stage, r.Err)
		}
	}
	return root, logs.String(), nil
}
