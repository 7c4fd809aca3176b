package topology

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/report"
)

// validator checks every field, reporting all problems rather than stopping at the first,
// and builds the defaulted model as it goes.
type validator struct {
	r   *report.Report
	idx *index
	dir string // the topology's directory: snippet files are relative to it
}

func (v *validator) errorf(path, hint, format string, args ...any) {
	v.r.Errorf(v.idx.pos(path), path, hint, format, args...)
}

// conflictAt chooses where to report a clash between two fields: at the later one, unless only
// the earlier one is written in the file. otherDefaulted says the other side is not written, so
// the message must say it is a default and how to override it.
func (v *validator) conflictAt(earlier, later string) (at, other string, otherDefaulted bool) {
	at, other = later, earlier
	if !v.idx.has(later) && v.idx.has(earlier) {
		at, other = earlier, later
	}
	return at, other, !v.idx.has(other)
}

func (v *validator) warnf(path, hint, format string, args ...any) {
	v.r.Warnf(v.idx.pos(path), path, hint, format, args...)
}

var (
	dnsLabelRE   = bounded(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`, 1, 63)
	k8sVersionRE = regexp.MustCompile(`^v1\.(\d+)\.(\d+)$`)
	semverRE     = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	ifaceRE      = bounded(`^[A-Za-z0-9_.:-]*$`, 1, 15)
	sshKeyRE     = regexp.MustCompile(`^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$`)
	sha256RE     = bounded(`^[a-f0-9]*$`, 64, 64)
)

func (v *validator) cluster(f *File) *model.Cluster {
	if f.APIVersion != APIVersion {
		v.errorf("apiVersion", "write `apiVersion: "+APIVersion+"`", "apiVersion %q is not supported", f.APIVersion)
	}
	if f.Kind != Kind {
		v.errorf("kind", "write `kind: "+Kind+"`", "kind %q is not supported", f.Kind)
	}
	c := &model.Cluster{}
	c.Name = f.Cluster.Name
	if c.Name == "" {
		v.errorf("cluster.name", "give the cluster a name such as `name: homelab`", "cluster name is missing")
	} else if !dnsLabelRE.MatchString(c.Name) {
		v.errorf("cluster.name", "use lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit", "cluster name %q is not an RFC 1123 label", c.Name)
	}
	c.Initialized = f.Cluster.Initialized != nil && *f.Cluster.Initialized
	c.Profile = orDefault(f.Cluster.Profile, DefaultProfile)
	c.OS = v.profile(c.Profile)

	c.Kubernetes = v.kubernetes(&f.Kubernetes)
	c.Runtime = v.runtime(f, c.OS, c.Kubernetes)
	c.Network = v.network(&f.Network)
	c.ExternalLB = v.loadBalancing(f)
	c.Endpoint, c.VRRP = v.controlPlane(&f.ControlPlane, c)
	c.SSHKeys = v.sshKeys(f.SSH.AuthorizedKeys)
	c.Images = model.Images{
		Keepalived: v.image("images.keepalived", orDefault(f.Images.Keepalived, DefaultKeepalived)),
		HAProxy:    v.image("images.haproxy", orDefault(f.Images.HAProxy, DefaultHAProxy)),
		CiliumCLI:  v.image("images.ciliumCLI", orDefault(f.Images.CiliumCLI, DefaultCiliumCLI)),
		Helm:       v.image("images.helm", orDefault(f.Images.Helm, DefaultHelm)),
	}
	v.kubernetesSource(f, c)
	c.PXE = v.pxe(&f.PXE, c.OS)
	c.Nodes = v.nodes(f.Nodes, c)
	c.ReservedControlPlane, c.ReservedLoadBalancers = v.reserved(&f.ControlPlane, c)
	assignPriorities(c)
	c.Management = v.management(&f.Management, c)
	c.Snippets = v.snippets(f.Snippets, c)
	v.vms(f, c)
	v.overlaps(c)
	return c
}

func (v *validator) kubernetes(k *KubernetesSpec) model.Kubernetes {
	out := model.Kubernetes{
		Version:       orDefault(k.Version, DefaultKubernetesVersion),
		DNSDomain:     orDefault(k.DNSDomain, DefaultDNSDomain),
		CNI:           model.CNI(orDefault(k.CNI, DefaultCNI)),
		CiliumVersion: orDefault(k.CiliumVersion, DefaultCiliumVersion),
		KeyAlgorithm:  model.KeyAlgorithm(orDefault(k.KeyAlgorithm, DefaultKeyAlgorithm)),
	}
	if m := k8sVersionRE.FindStringSubmatch(out.Version); m == nil {
		v.errorf("kubernetes.version", "write a release as v1.MINOR.PATCH, e.g. "+DefaultKubernetesVersion, "Kubernetes version %q is not of the form v1.MINOR.PATCH", out.Version)
	} else if minor, _ := strconv.Atoi(m[1]); minor < MinKubernetesMinor {
		v.errorf("kubernetes.version", fmt.Sprintf("use v1.%d or later: older kubeadm cannot read the v1beta4 configuration ignigen writes", MinKubernetesMinor), "Kubernetes version %q is too old", out.Version)
	} else {
		out.Minor = "v1." + m[1]
	}
	out.PodCIDR = v.prefix("kubernetes.podCIDR", orDefault(k.PodCIDR, DefaultPodCIDR))
	out.ServiceCIDR = v.prefix("kubernetes.serviceCIDR", orDefault(k.ServiceCIDR, DefaultServiceCIDR))
	if !dnsNameOK(out.DNSDomain) {
		v.errorf("kubernetes.dnsDomain", "use a DNS name such as cluster.local", "DNS domain %q is not a valid DNS name", out.DNSDomain)
	}
	switch out.CNI {
	case model.CNICilium, model.CNINone:
	default:
		v.errorf("kubernetes.cni", "use `cilium`, or `none` to install a CNI yourself", "unknown CNI %q", out.CNI)
	}
	if !semverRE.MatchString(out.CiliumVersion) {
		v.errorf("kubernetes.ciliumVersion", "write a Cilium release as MAJOR.MINOR.PATCH, e.g. "+DefaultCiliumVersion, "Cilium version %q is not of the form MAJOR.MINOR.PATCH", out.CiliumVersion)
	}
	if !out.KeyAlgorithm.Valid() {
		v.errorf("kubernetes.keyAlgorithm", "use ECDSA-P256 (default) or RSA-2048", "unknown key algorithm %q", out.KeyAlgorithm)
	}
	ttl, err := time.ParseDuration(orDefault(k.TokenTTL, DefaultTokenTTL))
	switch {
	case err != nil:
		v.errorf("kubernetes.tokenTTL", "write a duration such as 168h (a week) or 0s (never expires)", "token TTL %q is not a duration", k.TokenTTL)
	case ttl < 0:
		v.errorf("kubernetes.tokenTTL", "write a positive duration, or 0s for a token that never expires", "token TTL %q is negative", k.TokenTTL)
	case ttl == 0:
		v.warnf("kubernetes.tokenTTL", "delete the token with `kubeadm token delete` once every node has joined", "the bootstrap token never expires")
	case ttl < time.Hour:
		v.warnf("kubernetes.tokenTTL", "nodes that boot later than this after the first control plane cannot join; 168h is a safer choice", "token TTL %s is short", ttl)
	}
	out.TokenTTL = ttl
	return out
}

func dnsNameOK(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !dnsLabelRE.MatchString(l) {
			return false
		}
	}
	return true
}

func (v *validator) network(n *NetworkSpec) model.Network {
	out := model.Network{Interface: orDefault(n.Interface, DefaultInterface)}
	if n.CIDR == "" {
		v.errorf("network.cidr", "give the node network, e.g. `cidr: 192.168.122.0/24`", "node network CIDR is missing")
	} else {
		out.CIDR = v.prefix("network.cidr", n.CIDR)
	}
	if n.Gateway == "" {
		v.errorf("network.gateway", "give the default gateway of the node network", "gateway is missing")
	} else {
		out.Gateway = v.addr("network.gateway", n.Gateway)
		v.inNetwork("network.gateway", out.Gateway, out.CIDR, "gateway")
	}
	if len(n.DNS) == 0 {
		v.errorf("network.dns", "list at least one DNS server, e.g. `dns: [192.168.122.1]`", "no DNS servers")
	}
	for i, s := range n.DNS {
		if a := v.addr(fmt.Sprintf("network.dns.%d", i), s); a.IsValid() {
			out.DNS = append(out.DNS, a)
		}
	}
	if !ifaceRE.MatchString(out.Interface) {
		v.errorf("network.interface", "give a Linux interface name of 1-15 characters, e.g. eth0 or ens3", "interface name %q is not valid", out.Interface)
	}
	return out
}

func (v *validator) controlPlane(cp *ControlPlaneSpec, c *model.Cluster) (model.Endpoint, model.VRRP) {
	e := model.Endpoint{Port: DefaultPort, BindPort: DefaultBindPort}
	if c.ExternalLB {
		e.BindPort = DefaultExternalBindPort
	}
	if cp.VIP == "" {
		v.errorf("controlPlane.vip", "give a free address of the node network for the API virtual IP", "the control-plane VIP is missing")
	} else {
		e.VIP = v.addr("controlPlane.vip", cp.VIP)
		v.inNetwork("controlPlane.vip", e.VIP, c.Network.CIDR, "VIP")
		if e.VIP.IsValid() && e.VIP == c.Network.Gateway {
			v.errorf("controlPlane.vip", "pick an address no machine uses", "VIP %s is the gateway's address", e.VIP)
		}
	}
	if cp.Port != nil {
		e.Port = *cp.Port
		v.port("controlPlane.port", e.Port)
	}
	if cp.BindPort != nil {
		e.BindPort = *cp.BindPort
		v.port("controlPlane.bindPort", e.BindPort)
	}
	// Stacked, HAProxy and kube-apiserver share the control-plane nodes; with load-balancer nodes
	// they do not, and the API servers may keep the port clients use.
	if e.Port == e.BindPort && !c.ExternalLB {
		switch at, other, otherDefaulted := v.conflictAt("controlPlane.port", "controlPlane.bindPort"); {
		case !otherDefaulted:
			v.errorf(at, "HAProxy and kube-apiserver run on the same nodes: give them different ports (defaults 6443 and 6444)", "bind port %d equals the load-balancer port", e.BindPort)
		case at == "controlPlane.port":
			v.errorf(at, "HAProxy and kube-apiserver run on the same nodes: pick another port, or set "+other+" to a free one", "load-balancer port %d equals kube-apiserver's port, the default of %s", e.Port, other)
		default:
			v.errorf(at, "HAProxy and kube-apiserver run on the same nodes: pick another port, or set "+other+" to a free one", "bind port %d equals HAProxy's port, the default of %s", e.BindPort, other)
		}
	}

	vr := model.VRRP{Version: DefaultVRRPVersion, RouterID: routerID(c.Name)}
	if cp.VRRP.Version != nil {
		vr.Version = *cp.VRRP.Version
		if vr.Version != 2 && vr.Version != 3 {
			v.errorf("controlPlane.vrrp.version", "use 3 (sub-second adverts) or 2 (password authentication, whole-second adverts)", "VRRP version %d does not exist", vr.Version)
		}
	}
	if cp.VRRP.RouterID != nil {
		vr.RouterID = *cp.VRRP.RouterID
		if vr.RouterID < 1 || vr.RouterID > 255 {
			v.errorf("controlPlane.vrrp.routerID", "use a VRRP router ID from 1 to 255 that no other cluster on this network uses, or omit it to derive one from the cluster name", "router ID %d is out of range", vr.RouterID)
		}
	}
	ai := orDefault(cp.VRRP.AdvertInterval, defaultAdvertInterval(vr.Version))
	d, err := time.ParseDuration(ai)
	switch {
	case err != nil:
		v.errorf("controlPlane.vrrp.advertInterval", "write a duration such as 300ms or 1s", "advert interval %q is not a duration", ai)
	case d < 10*time.Millisecond || d > 40950*time.Millisecond || d%(10*time.Millisecond) != 0:
		v.errorf("controlPlane.vrrp.advertInterval", "VRRPv3 counts in centiseconds: use a multiple of 10ms between 10ms and 40.95s", "advert interval %s is not allowed", d)
	}
	if err == nil && vr.Version == 2 && d%time.Second != 0 {
		v.errorf("controlPlane.vrrp.advertInterval", "VRRPv2 counts in whole seconds: use 1s or more, or VRRP version 3", "advert interval %s is not allowed with VRRP version 2", d)
	}
	vr.AdvertInterval = d
	if cp.VRRP.Preempt != nil {
		vr.Preempt = *cp.VRRP.Preempt
	}
	return e, vr
}

func (v *validator) port(path string, p int) {
	if p < 1 || p > 65535 {
		v.errorf(path, "use a TCP port from 1 to 65535", "port %d is out of range", p)
	}
}

func (v *validator) sshKeys(keys []string) []string {
	if len(keys) == 0 {
		v.warnf("ssh.authorizedKeys", "add a public key to log in as user core", "no SSH keys: nobody can log in to the nodes")
	}
	for i, k := range keys {
		if !sshKeyRE.MatchString(strings.TrimSpace(k)) {
			v.errorf(fmt.Sprintf("ssh.authorizedKeys.%d", i), "paste one public key line, e.g. the contents of ~/.ssh/id_ed25519.pub", "not an SSH public key: %.24q", k)
		}
	}
	return keys
}
