//go:build boottest

package boottest

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Everything a run creates is named so the next run can find it after a kill: the state
// directory, network namespaces "bt-*", cgroups "ignigen-boottest" in every hierarchy, and the
// saved inotify limit.
const (
	stateDir     = "/var/tmp/ignigen-boottest"
	netnsPrefix  = "bt-"
	cgroupName   = "ignigen-boottest"
	inotifyKnob  = "/proc/sys/fs/inotify/max_user_instances"
	inotifySaved = stateDir + ".inotify"
)

// cleanAll removes every trace of a run (this one or a killed earlier one). Order matters: no
// root is unmounted or deleted while a node's nspawn lives.
func cleanAll() {
	// 1. Take every node's bridge port down and kill every process in the test's cgroups.
	if out, err := shErr("ip netns list 2>/dev/null | awk '{print $1}' | grep '^%s' || true", netnsPrefix); err == nil {
		for _, ns := range strings.Fields(out) {
			shErr("ip -n %s link set eth0 down 2>/dev/null || true", ns)
		}
	}
	for i := 0; i < 20; i++ {
		pids := cgroupPIDs()
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// 2. Unmount everything under the state directory, deepest first.
	for i := 0; i < 5; i++ {
		mounts := mountsUnder(stateDir)
		if len(mounts) == 0 {
			break
		}
		for _, m := range mounts {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	// 3. Namespaces, cgroups, files, the inotify limit.
	if out, err := shErr("ip netns list 2>/dev/null | awk '{print $1}' | grep '^%s' || true", netnsPrefix); err == nil {
		for _, ns := range strings.Fields(out) {
			shErr("ip netns del %s", ns)
		}
	}
	for _, dir := range cgroupDirs() {
		removeCgroupTree(dir)
	}
	if data, err := os.ReadFile(inotifySaved); err == nil {
		os.WriteFile(inotifyKnob, data, 0o644)
		os.Remove(inotifySaved)
	}
	if len(mountsUnder(stateDir)) == 0 {
		os.RemoveAll(stateDir)
	}
}

// cgroupDirs returns the test's cgroup directory in every hierarchy (whether it exists or not):
// under this process's own cgroup of that hierarchy.
func cgroupDirs() []string {
	var dirs []string
	own := map[string]string{}
	if f, err := os.Open("/proc/self/cgroup"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			parts := strings.SplitN(s.Text(), ":", 3)
			if len(parts) != 3 {
				continue
			}
			for _, c := range strings.Split(parts[1], ",") {
				own[strings.TrimPrefix(c, "name=")] = parts[2]
			}
			if parts[1] == "" {
				own["unified"] = parts[2]
			}
		}
		f.Close()
	}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup", e.Name(), own[e.Name()], cgroupName))
	}
	return dirs
}

func cgroupPIDs() []int {
	seen := map[int]bool{}
	for _, dir := range cgroupDirs() {
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(data)) {
				if n, err := strconv.Atoi(f); err == nil {
					seen[n] = true
				}
			}
			return nil
		})
	}
	var pids []int
	for p := range seen {
		pids = append(pids, p)
	}
	return pids
}

func removeCgroupTree(dir string) {
	var dirs []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, d := range dirs {
		syscall.Rmdir(d)
	}
}

func mountsUnder(prefix string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == prefix || strings.HasPrefix(f[4], prefix+"/")) {
			out = append(out, f[4])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
