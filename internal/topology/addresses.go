package topology

import (
	"fmt"
	"net/netip"

	"github.com/ignigen/ignigen/internal/model"
)

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

// overlaps reports node, pod and service networks that share addresses, at the one the user wrote.
func (v *validator) overlaps(c *model.Cluster) {
	nets := map[string]netip.Prefix{"network.cidr": c.Network.CIDR, "kubernetes.podCIDR": c.Kubernetes.PodCIDR, "kubernetes.serviceCIDR": c.Kubernetes.ServiceCIDR}
	paths := []string{"network.cidr", "kubernetes.podCIDR", "kubernetes.serviceCIDR"}
	for i := range paths {
		for j := i + 1; j < len(paths); j++ {
			at, other, otherDefaulted := v.conflictAt(paths[i], paths[j])
			p, q := nets[at], nets[other]
			if !p.IsValid() || !q.IsValid() || !p.Overlaps(q) {
				continue
			}
			rel := "overlaps"
			if p == q {
				rel = "is the same range as"
			}
			if otherDefaulted {
				v.errorf(at, fmt.Sprintf("choose a range that does not overlap it, or set %s to a range that does not overlap %s", other, p), "%s %s %s, the default of %s", p, rel, q, other)
				continue
			}
			v.errorf(at, fmt.Sprintf("choose a range that does not overlap %s (%s)", other, q), "%s %s %s", p, rel, q)
		}
	}
}
