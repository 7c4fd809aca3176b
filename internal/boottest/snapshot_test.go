//go:build boottest

package boottest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/model"
)

// etcdSnapshot runs on an assembled cluster: a ConfigMap is created through the VIP, then a
// joining control-plane node's etcd-snapshot.service is started as its timer would. The unit
// must succeed and leave, on the node's disk, a 0600 file that is an etcd snapshot (a bbolt
// database followed by the SHA-256 of what precedes it, as etcd's snapshot stream ends) holding
// the ConfigMap. Negative control: the same check on a copy with one byte changed must fail.
func (c *cluster) etcdSnapshot(t *testing.T) {
	var n *node
	for _, cn := range c.nodes {
		if model.Role(cn.role).Spec().APIServer && cn.name != c.initNode().Name {
			n = cn
			break
		}
	}
	if n == nil {
		t.Fatal("boottest: no joining control-plane node")
	}
	marker := fmt.Sprintf("snapshot-probe-%d", time.Now().UnixNano())
	if out, err := c.kubectl("create configmap " + marker + " --from-literal=probe=" + marker); err != nil {
		t.Fatalf("boottest: create configmap %s: %v\n%s", marker, err, out)
	}
	if out, err := n.exec("systemctl start etcd-snapshot.service"); err != nil {
		j, _ := n.exec("journalctl -b --no-pager -n 40 -u etcd-snapshot.service")
		t.Fatalf("boottest: %s: etcd-snapshot.service failed: %v %s\n%s", n.name, err, out, j)
	}
	files, _ := filepath.Glob(filepath.Join(n.root, "var/lib/etcd/ignigen-snapshots", "etcd-"+n.name+"-*.db"))
	if len(files) != 1 {
		t.Fatalf("boottest: %s: want one snapshot, found %v", n.name, files)
	}
	st, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("boottest: %s: snapshot mode %v, want 0600", files[0], st.Mode().Perm())
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSnapshot(data, marker); err != nil {
		t.Errorf("boottest: %s: %v", files[0], err)
	}
	logf("%s: etcd snapshot %s, %d bytes, holds configmap %s", n.name, filepath.Base(files[0]), len(data), marker)

	broken := bytes.Clone(data)
	broken[len(broken)/2] ^= 0xff
	if err := checkSnapshot(broken, marker); err == nil {
		t.Error("boottest: negative control: a snapshot with a changed byte passed the check")
	} else {
		logf("negative control failed as it must: %v", err)
	}
}

// checkSnapshot: data is a bbolt database (its meta page's magic) followed by the SHA-256 of
// the bytes before it, and holds marker.
func checkSnapshot(data []byte, marker string) error {
	const magicAt, bboltMagic = 16, 0xED0CDAED
	if len(data) < 4096+sha256.Size {
		return fmt.Errorf("%d bytes: too short for a snapshot", len(data))
	}
	if m := binary.LittleEndian.Uint32(data[magicAt:]); m != bboltMagic {
		return fmt.Errorf("no bbolt database: magic %#x", m)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return fmt.Errorf("the trailing SHA-256 does not match the database")
	}
	if !strings.Contains(string(body), marker) {
		return fmt.Errorf("configmap %s is not in it", marker)
	}
	return nil
}
