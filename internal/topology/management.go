package topology

import "github.com/ignigen/ignigen/internal/model"

// management checks the management section against the nodes it configures.
func (v *validator) management(m *ManagementSpec, c *model.Cluster) model.ManagementSettings {
	var out model.ManagementSettings
	if m.AdminCredential != nil {
		out.AdminCredential = *m.AdminCredential
	}
	if out.AdminCredential && len(c.NodesOf(model.Management)) == 0 {
		v.warnf("management.adminCredential", "add a node with `role: management`, or remove the setting", "management.adminCredential is set, but no node is a management node")
	}
	return out
}
