package topology

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/ignigen/ignigen/internal/model"
)

// nodes checks every node (name, role, address, MAC, init mark), then chooses the init node and
// the keepalived priorities.
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
		switch r := model.Role(s.Role); {
		case r.Valid():
			n.Role = r
		case r == "":
			v.errorf(p+".role", "set `role:` to "+roleList(), "node %q has no role", s.Name)
		default:
			v.errorf(p+".role", "use "+roleList(), "unknown role %q", s.Role)
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
				v.errorf("controlPlane.vip", "the VIP floats between the nodes that balance the API: pick an address no node has", "VIP %s is also the IP of node %q", n.IP, s.Name)
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
			switch spec := n.Role.Spec(); {
			case spec.APIServer:
				marked = append(marked, i)
			case n.Role.Valid():
				v.errorf(p+".init", "mark a node of role "+strings.Join(roleNames(initRoles()), " or ")+" with `init: true`, or remove it", "%s %q cannot initialise the cluster: it runs no API server", n.Role, s.Name)
			}
		}
		nodes = append(nodes, n)
	}
	v.chooseInit(nodes, marked, c.Initialized)
	return nodes
}

// roleList is every role, for messages: "control-plane, worker, load-balancer or management".
func roleList() string {
	names := roleNames(model.Roles)
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// initRoles are the roles that may run kubeadm init: those with an API server.
func initRoles() []model.Role {
	return model.RolesWhere(func(s model.RoleSpec) bool { return s.APIServer })
}
