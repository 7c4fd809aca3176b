package testkit

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// FlatcarExecutables are programs a Flatcar node has (base image, or the podman and Kubernetes
// sysexts the configs enable) but a Debian test host may not, or not at that path.
// AddFlatcarUsr stands them in with empty executable files, so `systemd-analyze verify` can
// check that every command a unit names exists on the target. A unit naming anything else fails.
var FlatcarExecutables = []string{
	"/usr/bin/bash", "/usr/bin/sh", "/usr/bin/curl", "/usr/bin/mkdir", "/usr/bin/touch",
	"/usr/bin/rm", "/usr/bin/true", "/usr/bin/systemctl", "/usr/bin/sleep",
	"/usr/bin/containerd",                                      // base image
	"/usr/bin/podman",                                          // podman sysext
	"/usr/bin/kubeadm", "/usr/bin/kubelet", "/usr/bin/kubectl", // Kubernetes sysext
	"/usr/bin/crio", // CRI-O sysext (kubernetes.runtime crio)
}

// FlatcarUnits are units Flatcar provides that systemd's own set lacks: containerd (base image),
// kubelet (the Kubernetes sysext) and crio (the CRI-O sysext). AddFlatcarUsr writes stand-ins.
var FlatcarUnits = map[string]string{
	"containerd.service": "[Unit]\nDescription=stand-in for Flatcar's containerd.service\n\n[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n",
	"kubelet.service":    "[Unit]\nDescription=stand-in for the Kubernetes sysext's kubelet.service\n\n[Service]\nExecStart=/usr/bin/kubelet\n\n[Install]\nWantedBy=multi-user.target\n",
	"crio.service":       "[Unit]\nDescription=stand-in for the CRI-O sysext's crio.service\n\n[Service]\nExecStart=/usr/bin/crio\n\n[Install]\nWantedBy=multi-user.target\n",
}

var (
	systemdUnitsOnce sync.Once
	systemdUnits     []string // absolute paths of the host systemd package's unit files and links
	systemdUnitsErr  error
)

// hostSystemdUnits lists the unit files shipped by the host's systemd package (targets, slices,
// sockets, systemd's own services): the same upstream set Flatcar's /usr/lib/systemd/system has.
// Units of other packages (Debian's haproxy.service, keepalived.service) are left out on purpose.
func hostSystemdUnits() ([]string, error) {
	systemdUnitsOnce.Do(func() {
		out, err := exec.Command("dpkg-query", "-L", "systemd").Output()
		if err != nil {
			systemdUnitsErr = fmt.Errorf("dpkg-query -L systemd: %w", err)
			return
		}
		for _, l := range strings.Split(string(out), "\n") {
			for _, dir := range []string{"/lib/systemd/system/", "/usr/lib/systemd/system/"} {
				if strings.HasPrefix(l, dir) {
					systemdUnits = append(systemdUnits, l)
				}
			}
		}
		if len(systemdUnits) == 0 {
			systemdUnitsErr = fmt.Errorf("dpkg-query -L systemd lists no unit files")
		}
	})
	return systemdUnits, systemdUnitsErr
}

// AddFlatcarUsr gives a scratch root the parts of Flatcar's read-only /usr that unit checks
// need: systemd's own units (copied from the host's systemd package), stand-ins for
// FlatcarUnits and empty executables for FlatcarExecutables. It never overwrites a file that
// is already in the root.
func AddFlatcarUsr(root string) error {
	units, err := hostSystemdUnits()
	if err != nil {
		return err
	}
	dst := filepath.Join(root, "usr/lib/systemd/system")
	for _, src := range units {
		rel := strings.TrimPrefix(strings.TrimPrefix(src, "/usr"), "/lib/systemd/system/")
		if err := copyEntry(src, filepath.Join(dst, rel)); err != nil {
			return err
		}
	}
	for name, content := range FlatcarUnits {
		if err := writeNew(filepath.Join(dst, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, p := range FlatcarExecutables {
		if err := writeNew(filepath.Join(root, p), nil, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, mode)
}

// copyEntry copies a regular file, symlink or directory (not its contents) from src to dst.
func copyEntry(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		if os.IsNotExist(err) { // listed by dpkg but removed (diverted, usrmerge leftovers)
			return nil
		}
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch {
	case st.IsDir():
		return os.MkdirAll(dst, 0o755)
	case st.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	case st.Mode().IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	return nil
}

// CopyTree copies the directory tree src into dst (created), keeping modes but not owners.
func CopyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		return copyEntry(p, target)
	})
}
