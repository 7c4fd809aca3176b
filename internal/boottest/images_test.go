//go:build boottest

package boottest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// image is one image the cluster asks for, built from cached binaries (no registry is reachable).
type image struct {
	file string   // tarball name under the images directory
	refs []string // every reference it is imported under
	args []string // imagewriter arguments
}

// clusterImages lists the containerd images: kubeadm's own list for the init configuration (so
// the names are kubeadm's, not ours), plus pause 3.6, containerd 1.6's built-in sandbox image.
func clusterImages(t testing.TB, tools map[string]string, debroot, initConfig string) []image {
	list := sh(t, "%s config images list --config %s 2>/dev/null", tools["kubeadm"], initConfig)
	var imgs []image
	for _, ref := range strings.Fields(list) {
		name := ref[strings.LastIndex(ref, "/")+1 : strings.LastIndex(ref, ":")]
		img := image{file: name + ".tar", refs: []string{ref}}
		bin := func(tool, dst string) string { return tools[tool] + ":" + dst }
		switch name {
		case "kube-apiserver", "kube-controller-manager", "kube-scheduler":
			img.args = []string{"-file", bin(name, "/usr/local/bin/"+name), "-entrypoint", "/usr/local/bin/" + name}
		case "kube-proxy":
			// kube-proxy runs iptables: the Debian root gives it iptables and its libraries.
			img.args = []string{"-dir", debroot + ":/", "-file", bin(name, "/usr/local/bin/kube-proxy"), "-entrypoint", "/usr/local/bin/kube-proxy"}
		case "etcd":
			img.args = []string{"-file", bin("etcd", "/usr/local/bin/etcd"), "-file", bin("etcdctl", "/usr/local/bin/etcdctl"), "-entrypoint", "/usr/local/bin/etcd"}
		case "coredns":
			img.args = []string{"-file", bin("coredns", "/coredns"), "-entrypoint", "/coredns"}
		case "pause":
			img.refs = append(img.refs, "registry.k8s.io/pause:3.6")
			img.args = []string{"-file", bin("pause", "/pause"), "-entrypoint", "/pause"}
		default:
			t.Fatalf("boottest: kubeadm lists an image this test cannot build: %s", ref)
		}
		imgs = append(imgs, img)
	}
	return imgs
}

// podmanImages: the topology's keepalived and HAProxy images, from Debian's binaries (one
// image, the Debian root, under both references).
func podmanImages(keepalived, haproxy, debroot string) []image {
	return []image{{file: "keepalived-haproxy.tar", refs: []string{keepalived, haproxy}, args: []string{"-dir", debroot + ":/"}}}
}

// imageCache holds image tarballs and import templates between runs, keyed by their inputs
// (the cached tools' paths carry their versions).
func imageCache() string {
	root := os.Getenv("IGNIGEN_CACHE")
	if root == "" {
		root = filepath.Join(os.Getenv("HOME"), ".cache/ignigen")
	}
	return filepath.Join(root, "boottest-images")
}

func key(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// writeImages writes each image's tarball (or finds it in the cache) and sets img.file to its path.
func writeImages(t testing.TB, writer string, imgs []image) {
	dir := imageCache()
	os.MkdirAll(dir, 0o755)
	for i := range imgs {
		img := &imgs[i]
		var args []string
		for _, r := range img.refs {
			args = append(args, "-ref", r)
		}
		args = append(args, img.args...)
		p := filepath.Join(dir, strings.TrimSuffix(img.file, ".tar")+"-"+key(append([]string{writer}, args...)...)+".tar")
		img.file = p
		if _, err := os.Stat(p); err == nil {
			continue
		}
		sh(t, "%s -o %s.tmp %s && mv %s.tmp %s", writer, p, strings.Join(quoteAll(args), " "), p, p)
	}
}

func imagesKey(imgs []image) string {
	var parts []string
	for _, img := range imgs {
		parts = append(parts, img.file)
	}
	return key(parts...)
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

// containerdTemplate imports the images into a containerd store at dir with the Debian root's
// own containerd and ctr, run on this machine for the import only (overlayfs snapshotter, as in
// the nodes). Each node gets a copy: its images are on its disk before power-on.
func containerdTemplate(t testing.TB, debroot string, imgs []image) string {
	dir := filepath.Join(imageCache(), "containerd-"+imagesKey(imgs))
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	final := dir
	dir += ".tmp"
	os.RemoveAll(dir)
	run := filepath.Join(stateDir, "ctrd-import")
	os.MkdirAll(run, 0o755)
	cfg := filepath.Join(run, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n[grpc]\n  address = %q\n", dir, run+"/state", run+"/sock")), 0o644)
	sh(t, `%[1]s/usr/bin/containerd --config %[2]s >%[3]s/log 2>&1 &
echo $! > %[3]s/pid
for i in $(seq 100); do [ -S %[3]s/sock ] && break; sleep 0.1; done`, debroot, cfg, run)
	for _, img := range imgs {
		sh(t, "%s/usr/bin/ctr --address %s/sock -n k8s.io images import %s", debroot, run, img.file)
	}
	logf("containerd template: %s", strings.ReplaceAll(sh(t, "%s/usr/bin/ctr --address %s/sock -n k8s.io images ls -q | grep -v ^sha256", debroot, run), "\n", " "))
	sh(t, "kill $(cat %s/pid); while kill -0 $(cat %s/pid) 2>/dev/null; do sleep 0.1; done", run, run)
	sh(t, "mv %s %s", dir, final)
	return final
}

// podmanTemplate loads the images into a podman store at dir, running the cached podman in a
// throw-away container of the Debian root (its containers.conf, policy.json and storage
// driver, as in the nodes).
func podmanTemplate(t testing.TB, podman, debroot string, imgs []image) string {
	dir := filepath.Join(imageCache(), "containers-"+imagesKey(imgs))
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	final := dir
	dir += ".tmp"
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	for _, img := range imgs {
		sh(t, "systemd-nspawn -q --register=no --keep-unit --volatile=overlay -D %s --bind=%s:/var/lib/containers --bind-ro=%s:/image.tar --bind-ro=%s:/usr/bin/podman podman load -i /image.tar",
			debroot, dir, img.file, podman)
	}
	// libpod's database records the paths it was made with; each node makes its own.
	os.Remove(filepath.Join(dir, "storage/db.sql"))
	os.Remove(filepath.Join(dir, "storage/libpod/bolt_state.db"))
	sh(t, "mv %s %s", dir, final)
	return final
}
