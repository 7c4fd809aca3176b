package topology

import (
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"net/url"
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

func (v *validator) warnf(path, hint, format string, args ...any) {
	v.r.Warnf(v.idx.pos(path), path, hint, format, args...)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var (
	dnsLabelRE      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	k8sVersionRE    = regexp.MustCompile(`^v1\.(\d+)\.(\d+)$`)
	semverRE        = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	ifaceRE         = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,15}$`)
	sshKeyRE        = regexp.MustCompile(`^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$`)
	imageTagRE      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	imageDigestRE   = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	sha256RE        = regexp.MustCompile(`^[a-f0-9]{64}$`)
	imageRepoPartRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)
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
	c.Profile = orDefault(f.Cluster.Profile, DefaultProfile)
	if c.Profile != "flatcar" {
		v.errorf("cluster.profile", "use `profile: flatcar` (the only OS profile so far)", "unknown OS profile %q", c.Profile)
	}

	c.Kubernetes = v.kubernetes(&f.Kubernetes)
	c.Network = v.network(&f.Network)
	c.Endpoint, c.VRRP = v.controlPlane(&f.ControlPlane, c)
	c.SSHKeys = v.sshKeys(f.SSH.AuthorizedKeys)
	c.Images = model.Images{
		Keepalived: v.image("images.keepalived", orDefault(f.Images.Keepalived, DefaultKeepalived)),
		HAProxy:    v.image("images.haproxy", orDefault(f.Images.HAProxy, DefaultHAProxy)),
		CiliumCLI:  v.image("images.ciliumCLI", orDefault(f.Images.CiliumCLI, DefaultCiliumCLI)),
	}
	c.Sysext.BaseURL = strings.TrimRight(orDefault(f.Sysext.BaseURL, DefaultSysextBaseURL), "/")
	if u, err := url.Parse(c.Sysext.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf("sysext.baseURL", "give an http:// or https:// URL of a directory holding kubernetes-vX.Y.Z-x86-64.raw", "sysext base URL %q is not an http(s) URL", c.Sysext.BaseURL)
	}
	c.Sysext.SHA256 = strings.ToLower(f.Sysext.SHA256)
	if c.Sysext.SHA256 != "" && !sha256RE.MatchString(c.Sysext.SHA256) {
		v.errorf("sysext.sha256", "give the 64 hex digits of `sha256sum kubernetes-"+c.Kubernetes.Version+"-x86-64.raw`, or omit it", "%q is not a SHA-256 digest", f.Sysext.SHA256)
	}
	c.PXE = v.pxe(&f.PXE)
	c.Nodes = v.nodes(f.Nodes, c)
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
	switch out.KeyAlgorithm {
	case model.ECDSAP256, model.RSA2048:
	default:
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

// prefix parses an IPv4 CIDR that must be written in its canonical (masked) form.
func (v *validator) prefix(path, s string) netip.Prefix {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		v.errorf(path, "write an IPv4 network as ADDRESS/BITS, e.g. 10.244.0.0/16", "%q is not a CIDR", s)
		return netip.Prefix{}
	}
	if !p.Addr().Is4() {
		v.errorf(path, "use an IPv4 network; IPv6 is not supported yet", "%q is not an IPv4 network", s)
		return netip.Prefix{}
	}
	if p.Masked() != p {
		v.errorf(path, fmt.Sprintf("write the network address: %s", p.Masked()), "%q has host bits set", s)
		return netip.Prefix{}
	}
	return p
}

func (v *validator) addr(path, s string) netip.Addr {
	if s == "" {
		v.errorf(path, "give an IPv4 address such as 192.168.122.10", "address is missing")
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		v.errorf(path, "write an IPv4 address such as 192.168.122.10 (no prefix length)", "%q is not an IPv4 address", s)
		return netip.Addr{}
	}
	return a
}

// inNetwork reports whether a is a usable host address of p (not its network or broadcast address).
func (v *validator) inNetwork(path string, a netip.Addr, p netip.Prefix, what string) {
	if !a.IsValid() || !p.IsValid() {
		return
	}
	if !p.Contains(a) {
		v.errorf(path, fmt.Sprintf("pick an address inside network.cidr %s, or widen network.cidr", p), "%s %s is outside the node network %s", what, a, p)
		return
	}
	if p.Bits() <= 30 && a == p.Addr() {
		v.errorf(path, "pick a host address; the first and last addresses of the network are reserved", "%s %s is the network address of %s", what, a, p)
	}
	if p.Bits() <= 30 && a == broadcast(p) {
		v.errorf(path, "pick a host address; the first and last addresses of the network are reserved", "%s %s is the broadcast address of %s", what, a, p)
	}
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n |= host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
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
	if e.Port == e.BindPort {
		v.errorf("controlPlane.bindPort", "HAProxy and kube-apiserver run on the same nodes: give them different ports (defaults 6443 and 6444)", "bind port %d equals the load-balancer port", e.BindPort)
	}

	vr := model.VRRP{Version: 3, RouterID: routerID(c.Name)}
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
	ai := orDefault(cp.VRRP.AdvertInterval, DefaultAdvertInterval)
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

// routerID derives a stable VRRP router ID from the cluster name, so two clusters on one
// segment rarely collide without anyone choosing numbers.
func routerID(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%255) + 1
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

// image checks a container image reference is pinned to a tag or digest, never latest.
func (v *validator) image(path, ref string) string {
	name, tag, digest := splitImage(ref)
	hint := "pin an exact tag, e.g. " + map[string]string{"images.keepalived": DefaultKeepalived, "images.haproxy": DefaultHAProxy, "images.ciliumCLI": DefaultCiliumCLI}[path]
	switch {
	case !imageNameOK(name):
		v.errorf(path, hint, "%q is not a container image reference", ref)
	case digest != "" && !imageDigestRE.MatchString(digest):
		v.errorf(path, "write a digest as sha256:<64 hex digits>", "image %q has a malformed digest", ref)
	case tag == "" && digest == "":
		v.errorf(path, hint, "image %q has no tag: nodes would run whatever is newest when they boot", ref)
	case tag == "latest":
		v.errorf(path, hint, "image %q uses the tag latest: nodes would run whatever is newest when they boot", ref)
	case tag != "" && !imageTagRE.MatchString(tag):
		v.errorf(path, hint, "image %q has a malformed tag", ref)
	}
	return ref
}

func splitImage(ref string) (name, tag, digest string) {
	name = ref
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

func imageNameOK(name string) bool {
	parts := strings.Split(name, "/")
	if name == "" || len(parts) < 2 {
		return false // require a registry-qualified name: Podman's short-name resolution differs per host
	}
	for i, p := range parts {
		if i == 0 && strings.ContainsAny(p, ".:") {
			continue // registry host[:port]
		}
		if !imageRepoPartRE.MatchString(p) {
			return false
		}
	}
	return strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost"
}

func (v *validator) nodes(specs []NodeSpec, c *model.Cluster) []model.Node {
	if len(specs) == 0 {
		v.errorf("nodes", "list the machines under `nodes:` with name, role and ip", "the topology has no nodes")
		return nil
	}
	names := map[string]string{}
	ips := map[netip.Addr]string{}
	macs := map[string]string{}
	var nodes []model.Node
	var marked []int
	for i, s := range specs {
		p := fmt.Sprintf("nodes.%d", i)
		n := model.Node{Name: s.Name}
		switch {
		case s.Name == "":
			v.errorf(p+".name", "give every node a host name", "node %d has no name", i)
		case !dnsLabelRE.MatchString(s.Name):
			v.errorf(p+".name", "use lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit", "node name %q is not an RFC 1123 label", s.Name)
		default:
			if prev, dup := names[s.Name]; dup {
				v.errorf(p+".name", "give every node its own name (first used at "+prev+")", "node name %q is used twice", s.Name)
			}
			names[s.Name] = p
		}
		switch model.Role(s.Role) {
		case model.ControlPlane, model.Worker:
			n.Role = model.Role(s.Role)
		case "":
			v.errorf(p+".role", "set `role: control-plane` or `role: worker`", "node %q has no role", s.Name)
		default:
			v.errorf(p+".role", "use control-plane or worker", "unknown role %q", s.Role)
		}
		if s.IP == "" {
			v.errorf(p+".ip", "give the node its address in network.cidr, e.g. `ip: 192.168.122.31`", "node %q has no IP", s.Name)
		} else {
			n.IP = v.addr(p+".ip", s.IP)
		}
		if n.IP.IsValid() {
			v.inNetwork(p+".ip", n.IP, c.Network.CIDR, "node IP")
			if prev, dup := ips[n.IP]; dup {
				v.errorf(p+".ip", "give every node its own address (first used at "+prev+")", "IP %s is used twice", n.IP)
			}
			ips[n.IP] = p
			if n.IP == c.Endpoint.VIP {
				v.errorf("controlPlane.vip", "the VIP floats between control-plane nodes: pick an address no node has", "VIP %s is also the IP of node %q", n.IP, s.Name)
			}
			if n.IP == c.Network.Gateway {
				v.errorf(p+".ip", "pick an address other than the gateway's", "node %q has the gateway's address %s", s.Name, n.IP)
			}
		}
		if s.MAC != "" {
			hw, err := net.ParseMAC(s.MAC)
			if err != nil || len(hw) != 6 {
				v.errorf(p+".mac", "write a MAC address as six colon-separated hex bytes, e.g. 52:54:00:12:34:56", "%q is not a MAC address", s.MAC)
			} else {
				n.MAC = hw.String()
				if prev, dup := macs[n.MAC]; dup {
					v.errorf(p+".mac", "give every node its own MAC (first used at "+prev+")", "MAC %s is used twice", n.MAC)
				}
				macs[n.MAC] = p
				if hw[0]&1 == 1 {
					v.errorf(p+".mac", "use a unicast MAC (first byte even), e.g. 52:54:00:...", "MAC %s is a multicast address", n.MAC)
				}
			}
		}
		if s.Init != nil && *s.Init {
			if n.Role == model.Worker {
				v.errorf(p+".init", "mark a control-plane node with `init: true`, or remove it", "worker %q cannot initialise the cluster", s.Name)
			} else {
				marked = append(marked, i)
			}
		}
		nodes = append(nodes, n)
	}
	v.chooseInit(nodes, marked)
	v.priorities(nodes)
	return nodes
}

// chooseInit marks the node that runs kubeadm init: the one marked, else the first control plane.
func (v *validator) chooseInit(nodes []model.Node, marked []int) {
	cps := 0
	for _, n := range nodes {
		if n.Role == model.ControlPlane {
			cps++
		}
	}
	switch {
	case cps == 0:
		v.errorf("nodes", "give at least one node `role: control-plane`", "the topology has no control-plane node")
		return
	case len(marked) > 1:
		for _, i := range marked[1:] {
			v.errorf(fmt.Sprintf("nodes.%d.init", i), fmt.Sprintf("exactly one node initialises the cluster: keep `init: true` on %q only", nodes[marked[0]].Name), "node %q is also marked init", nodes[i].Name)
		}
		return
	case len(marked) == 1:
		nodes[marked[0]].Init = true
	default:
		for i := range nodes {
			if nodes[i].Role == model.ControlPlane {
				nodes[i].Init = true
				break
			}
		}
	}
	if cps%2 == 0 {
		v.warnf("nodes", "use an odd number (1, 3 or 5): etcd needs a majority, so an even count tolerates no more failures than one node fewer", "%d control-plane nodes", cps)
	}
}

// priorities gives keepalived's base priority: the init node 200, the others spread evenly from
// 150 down to 50 in file order. Wide steps matter: a backup's VRRPv3 takeover delay is skewed by
// (256-priority)/256 of an advert interval, and nearly equal priorities let two backups time out
// together and both claim the VIP for a moment.
func (v *validator) priorities(nodes []model.Node) {
	others := 0
	for _, n := range nodes {
		if n.Role == model.ControlPlane && !n.Init {
			others++
		}
	}
	step := 100
	if others > 1 {
		step = max(1, 100/(others-1))
	}
	next := 150
	for i := range nodes {
		switch {
		case nodes[i].Role != model.ControlPlane:
		case nodes[i].Init:
			nodes[i].Priority = 200
		default:
			nodes[i].Priority = max(1, next)
			next -= step
		}
	}
}

func (v *validator) overlaps(c *model.Cluster) {
	nets := []struct {
		path string
		p    netip.Prefix
	}{{"network.cidr", c.Network.CIDR}, {"kubernetes.podCIDR", c.Kubernetes.PodCIDR}, {"kubernetes.serviceCIDR", c.Kubernetes.ServiceCIDR}}
	for i := range nets {
		for j := i + 1; j < len(nets); j++ {
			a, b := nets[i], nets[j]
			if a.p.IsValid() && b.p.IsValid() && a.p.Overlaps(b.p) {
				rel := "overlaps"
				if a.p == b.p {
					rel = "is the same range as"
				}
				v.errorf(b.path, fmt.Sprintf("choose a range that does not overlap %s (%s)", a.path, a.p), "%s %s %s", b.p, rel, a.p)
			}
		}
	}
}
