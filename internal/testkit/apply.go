package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/osprofile"
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
	return NewOSRoot(root, osprofile.User{Name: "core", UID: CoreUID, Home: CoreHome})
}

// NewOSRoot is NewFlatcarRoot for any OS's login user (a profile's user: name, uid = gid, home).
// A home under /var/home means an ostree system such as Fedora CoreOS: /home, /opt and /usr/local
// are links to var/home, var/opt and ../var/usrlocal, so files written there land in /var as on
// the real OS (where /usr is read-only), and there are no Flatcar sysext links.
func NewOSRoot(root string, u osprofile.User) error {
	ostree := strings.HasPrefix(u.Home, "/var/home/")
	dirs := []string{"etc", "usr/bin", "usr/sbin", "usr/lib", "var", "run", "root", strings.TrimPrefix(u.Home, "/")}
	if ostree {
		dirs = append(dirs, "var/opt", "var/usrlocal/bin")
	} else {
		dirs = append(dirs, "opt")
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	links := [][2]string{{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}}
	if ostree {
		links = append(links, [2]string{"home", "var/home"}, [2]string{"opt", "var/opt"}, [2]string{"usr/local", "../var/usrlocal"})
	}
	for _, l := range links {
		if err := os.Symlink(l[1], filepath.Join(root, l[0])); err != nil {
			return err
		}
	}
	id := fmt.Sprint(u.UID)
	files := []struct {
		path string
		mode os.FileMode
		data string
	}{
		{"etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/bash\n" + u.Name + ":x:" + id + ":" + id + ":Admin:" + u.Home + ":/bin/bash\n"},
		{"etc/group", 0o644, "root:x:0:\nwheel:x:10:root," + u.Name + "\ndocker:x:233:" + u.Name + "\nsudo:x:150:" + u.Name + "\n" + u.Name + ":x:" + id + ":\n"},
		{"etc/shadow", 0o640, "root:*:19000:0:99999:7:::\n" + u.Name + ":*:19000:0:99999:7:::\n"},
		{"etc/gshadow", 0o640, "root:::\nwheel:::root," + u.Name + "\ndocker:::" + u.Name + "\nsudo:::" + u.Name + "\n" + u.Name + ":::\n"},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(root, f.path), []byte(f.data), f.mode); err != nil {
			return err
		}
	}
	if ostree {
		return finishRoot(root, u)
	}
	// Flatcar: the built-in containerd and Docker sysexts, linked from /etc/extensions as
	// Flatcar's image build does: a config that masks them must overwrite these links.
	if err := os.MkdirAll(filepath.Join(root, "etc/extensions"), 0o755); err != nil {
		return err
	}
	for _, name := range FlatcarBuiltinSysexts {
		if err := os.Symlink("/usr/share/flatcar/"+name+".raw", filepath.Join(root, "etc/extensions", name+".raw")); err != nil {
			return err
		}
	}
	return finishRoot(root, u)
}

// finishRoot gives root's and the user's homes their modes and owner.
func finishRoot(root string, u osprofile.User) error {
	if err := os.Chmod(filepath.Join(root, "root"), 0o700); err != nil {
		return err
	}
	return os.Chown(filepath.Join(root, u.Home), u.UID, u.UID)
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
	return ApplyErrAs(t, ignPath, osprofile.User{Name: "core", UID: CoreUID, Home: CoreHome})
}

// ApplyAs is Apply to a root shaped for the OS whose login user is u (NewOSRoot).
func ApplyAs(t testing.TB, ignPath string, u osprofile.User) string {
	t.Helper()
	root, log, err := ApplyErrAs(t, ignPath, u)
	if err != nil {
		t.Fatalf("testkit: applying %s: %v\n%s", ignPath, err, log)
	}
	return root
}

// ApplyErrAs is ApplyErr to a root shaped for the OS whose login user is u (NewOSRoot).
func ApplyErrAs(t testing.TB, ignPath string, u osprofile.User) (root, log string, err error) {
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
	if err := NewOSRoot(root, u); err != nil {
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
