package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConfigDetail(t *testing.T) {
	const base = `{"ignition":{"version":"3.4.0"},
"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,a"}},{"path":"/etc/b","contents":{"source":"data:,b"}}]},
"systemd":{"units":[{"name":"x.service","contents":"[Service]\nExecStart=/bin/true\n"}]},
"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAA"]}]}}`
	for _, tc := range []struct {
		name, next, want string
	}{
		{"same", base, "the same entries in another form"},
		{"file contents", `{"ignition":{"version":"3.4.0"},
"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,A"}},{"path":"/etc/b","contents":{"source":"data:,b"}}]},
"systemd":{"units":[{"name":"x.service","contents":"[Service]\nExecStart=/bin/true\n"}]},
"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAA"]}]}}`, "changed file /etc/a"},
		{"file added, unit removed, key changed", `{"ignition":{"version":"3.4.0"},
"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,a"}},{"path":"/etc/b","contents":{"source":"data:,b"}},{"path":"/opt/c","mode":493}]},
"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 BBBB"]}]}}`, "changed user core; added file /opt/c; removed unit x.service"},
		{"a drop-in and another setting", `{"ignition":{"version":"3.4.0","timeouts":{"httpTotal":60}},
"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,a"}},{"path":"/etc/b","contents":{"source":"data:,b"}}]},
"systemd":{"units":[{"name":"x.service","contents":"[Service]\nExecStart=/bin/true\n","dropins":[{"name":"10-y.conf","contents":"[Service]\n"}]}]},
"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAA"]}]}}`, "changed other settings, unit x.service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ConfigDetail([]byte(base), []byte(tc.next))
			assert.NoError(t, err)
			assert.Equal(t, tc.want, d.String())
		})
	}
	_, err := ConfigDetail([]byte("{"), []byte(base))
	assert.ErrorContains(t, err, "previous config")
}
