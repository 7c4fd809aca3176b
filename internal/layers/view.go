package layers

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
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
// absent from its view, so no template can leak them: what a node receives is read from its
// role's row in model.RoleTable (workers get no PKI and no VRRP password, load balancers no
// token, management nodes no private key of the cluster).
type View struct {
	Cluster  *model.Cluster
	Node     model.Node
	Role     model.RoleSpec // the node's row of the role table
	Balances bool           // this node holds the VIP and runs HAProxy
	// APIServers are HAProxy's backends and Peers keepalived's unicast peers (the other balancing
	// nodes), reserved addresses included. Both are addresses in address order, never names or
	// file order: filling a reserved slot or reordering nodes changes no running node's config.
	APIServers []netip.Addr
	Peers      []netip.Addr

	SysextImage string   // kubernetes.source sysext: the image's file name
	Binaries    []Binary // kubernetes.source binaries: the files to download
	CACert      string   // public: lets nodes verify the API behind the VIP
	CAHash      string
	Token       string // nodes whose role joins (or creates the token) only
	TokenTTL    string

	MonitorPort     int
	ManagementGroup string
	AdvertInterval  string
	HAProxyArgs     string
	KeepalivedArgs  string

	PKI        []PKIFile   // roles that receive the CA set only
	Balancer   *Balancer   // balancing nodes only
	Credential *Credential // management nodes, when the topology asks for an admin credential
	Kubeconfig string      // roles with kubectl: the VIP, the CA and Credential if any

	RenewMarginDays int    // certificate renewal (API server nodes): renew what expires this soon
	RenewSlot       int    // the node's index among the cluster's slots
	RenewTime       string // "HH:MM" UTC: when renew-certs.timer fires on this node
	RenewDelay      int    // seconds renew-certs.service waits first: catch-up runs at boot do not overlap

	// UpdateWindow is when the OS's update agent may reboot this node: control-plane and VIP
	// nodes of a profile with an update agent (profile.yaml updates) only.
	UpdateWindow *UpdateWindow
}

// Binary is one Kubernetes file a node downloads (kubernetes.source binaries).
type Binary struct {
	Name   string
	Path   string // where it is installed: the profile's kubernetes.binDir
	URL    string
	SHA256 string // empty: trusted by TLS only
}

// PKIFile is one file under /etc/kubernetes/pki.
type PKIFile struct {
	Name string
	Mode string // octal, as Butane reads it
	Data string
}

// Balancer holds the secret only VIP holders receive.
type Balancer struct {
	VRRPPassword string
}

// Credential is a node's own client certificate and key, PEM.
type Credential struct {
	User string
	Cert string
	Key  string
}

// newClusterView holds what every node's view shares, computed once per build.
func newClusterView(c *model.Cluster, b *secrets.Bundle) *clusterView {
	cv := &clusterView{View: View{
		Cluster:         c,
		APIServers:      members(c.APIServers(), c.ReservedControlPlane),
		SysextImage:     c.OS.SysextImage(c.Kubernetes.Version, osprofile.DefaultArch),
		CACert:          b.CAs["ca"].Cert,
		CAHash:          b.DiscoveryHash(),
		TokenTTL:        c.Kubernetes.TokenTTL.String(),
		MonitorPort:     MonitorPort,
		ManagementGroup: model.ManagementGroup,
		AdvertInterval:  seconds(c.VRRP.AdvertInterval),
		HAProxyArgs:     HAProxyArgs,
		KeepalivedArgs:  KeepalivedArgs,
	}, bundle: b, balancers: members(c.Balancers(), c.ReservedBalancers())}
	for _, ca := range secrets.CAs {
		kp := b.CAs[ca.Name]
		cv.pki = append(cv.pki, PKIFile{ca.Name + ".crt", "0644", kp.Cert}, PKIFile{ca.Name + ".key", "0600", kp.Key})
	}
	cv.pki = append(cv.pki, PKIFile{"sa.key", "0600", b.ServiceAccount.Key}, PKIFile{"sa.pub", "0644", b.ServiceAccount.Pub})
	cv.balancer = &Balancer{VRRPPassword: b.VRRPPassword}
	if c.OS.Kubernetes.Source == osprofile.SourceBinaries {
		for _, name := range c.OS.Kubernetes.Files {
			cv.Binaries = append(cv.Binaries, Binary{
				Name: name, Path: c.OS.Kubernetes.BinDir + "/" + name, SHA256: c.Binaries.SHA256[name],
				URL: c.OS.BinaryURL(c.Binaries.BaseURL, c.Kubernetes.Version, osprofile.DefaultArch, name),
			})
		}
	}
	return cv
}

// clusterView is the shared part of every view, plus the secrets that only some roles get.
type clusterView struct {
	View
	bundle    *secrets.Bundle
	balancers []netip.Addr
	pki       []PKIFile
	balancer  *Balancer
}

// forNode gives n what its role's row says it receives, and nothing else.
func (cv *clusterView) forNode(n model.Node) (*View, error) {
	v := cv.View
	v.Node, v.Role = n, n.Role.Spec()
	if v.Role.BootstrapToken {
		v.Token = cv.bundle.BootstrapToken
	}
	if v.Role.CASet {
		v.PKI = cv.pki
	}
	if n.Role.Balances(cv.Cluster.ExternalLB) {
		v.Balances, v.Balancer = true, cv.balancer
		for _, p := range cv.balancers {
			if p != n.IP {
				v.Peers = append(v.Peers, p)
			}
		}
	}
	if v.Role.APIServer {
		slot, at, err := renewSchedule(cv.Cluster.Slots(), n.IP)
		if err != nil {
			return nil, err
		}
		v.RenewMarginDays, v.RenewSlot, v.RenewTime, v.RenewDelay = RenewMarginDays, slot, at, slot*RenewStaggerSeconds
	}
	if cv.Cluster.OS.Updates != "" && slices.Contains(cv.Cluster.Slots(), n.IP) {
		w, err := updateWindow(cv.Cluster.Slots(), n.IP)
		if err != nil {
			return nil, err
		}
		v.UpdateWindow = w
	}
	if v.Role.AdminCredential && cv.Cluster.ManagementCredentials() {
		kp, err := cv.bundle.NodeCredential(n.Name, model.ManagementGroup)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		v.Credential = &Credential{User: secrets.NodeUser(n.Name), Cert: kp.Cert, Key: kp.Key}
	}
	if v.Role.Kubectl {
		creds, user := kubeconfig.Credentials{Server: cv.Cluster.Endpoint.URL(), CA: []byte(v.CACert)}, "operator"
		if v.Credential != nil {
			creds.Cert, creds.Key, user = []byte(v.Credential.Cert), []byte(v.Credential.Key), v.Credential.User
		}
		kc, err := kubeconfig.Marshal(cv.Cluster.Name, user, creds)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		v.Kubeconfig = string(kc)
	}
	return &v, nil
}

// members lists the addresses of nodes and the reserved addresses, which stand for the nodes
// that will be added there, in address order.
func members(nodes []model.Node, reserved []netip.Addr) []netip.Addr {
	out := slices.Clone(reserved)
	for _, n := range nodes {
		out = append(out, n.IP)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

// seconds writes a duration as keepalived's decimal seconds ("0.3", "1").
func seconds(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
