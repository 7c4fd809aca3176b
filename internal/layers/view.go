package layers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/secrets"
)

// Constants of the generated design, named once here so templates and tests agree.
const (
	// MonitorPort is HAProxy's local monitor frontend, probed by keepalived's track script.
	MonitorPort = 8404
	// HAProxyArgs and KeepalivedArgs are the commands the Quadlet units run (and the HA test runs).
	HAProxyArgs    = "haproxy -W -db -f /etc/haproxy/haproxy.cfg"
	KeepalivedArgs = "--dont-fork --log-console --log-detail --vrrp --use-file /etc/keepalived/keepalived.conf"
)

// View is everything a layer template may read for one node. Secrets a node must not hold are
// absent from its view, so no template can leak them: workers get no PKI and no VRRP password.
type View struct {
	Cluster       *model.Cluster
	Node          model.Node
	ControlPlanes []model.Node
	Peers         []model.Node // the other control-plane nodes

	SysextImage string
	CACert      string // public: lets joining nodes verify the API behind the VIP
	CAHash      string
	Token       string
	TokenTTL    string

	MonitorPort    int
	AdvertInterval string
	HAProxyArgs    string
	KeepalivedArgs string

	PKI          []PKIFile     // control-plane nodes only
	ControlPlane *ControlPlane // control-plane nodes only
}

// PKIFile is one file under /etc/kubernetes/pki.
type PKIFile struct {
	Name string
	Mode string // octal, as Butane reads it
	Data string
}

// ControlPlane holds the secrets only control-plane nodes receive.
type ControlPlane struct {
	VRRPPassword string
}

// newClusterView holds what every node's view shares, computed once per build.
func newClusterView(c *model.Cluster, b *secrets.Bundle) *clusterView {
	cv := &clusterView{View: View{
		Cluster:        c,
		ControlPlanes:  c.ControlPlanes(),
		SysextImage:    fmt.Sprintf("kubernetes-%s-x86-64.raw", c.Kubernetes.Version),
		CACert:         b.CAs["ca"].Cert,
		CAHash:         b.DiscoveryHash(),
		Token:          b.BootstrapToken,
		TokenTTL:       c.Kubernetes.TokenTTL.String(),
		MonitorPort:    MonitorPort,
		AdvertInterval: seconds(c.VRRP.AdvertInterval),
		HAProxyArgs:    HAProxyArgs,
		KeepalivedArgs: KeepalivedArgs,
	}}
	for _, ca := range secrets.CAs {
		kp := b.CAs[ca.Name]
		cv.pki = append(cv.pki, PKIFile{ca.Name + ".crt", "0644", kp.Cert}, PKIFile{ca.Name + ".key", "0600", kp.Key})
	}
	cv.pki = append(cv.pki, PKIFile{"sa.key", "0600", b.ServiceAccount.Key}, PKIFile{"sa.pub", "0644", b.ServiceAccount.Pub})
	cv.controlPlane = &ControlPlane{VRRPPassword: b.VRRPPassword}
	return cv
}

// clusterView is the shared part of every view, plus the secrets only control-plane views get.
type clusterView struct {
	View
	pki          []PKIFile
	controlPlane *ControlPlane
}

func (cv *clusterView) forNode(n model.Node) *View {
	v := cv.View
	v.Node = n
	if n.Role != model.ControlPlane {
		return &v
	}
	for _, p := range v.ControlPlanes {
		if p.Name != n.Name {
			v.Peers = append(v.Peers, p)
		}
	}
	v.PKI, v.ControlPlane = cv.pki, cv.controlPlane
	return &v
}

// seconds writes a duration as keepalived's decimal seconds ("0.3", "1").
func seconds(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
