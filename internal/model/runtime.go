package model

import "github.com/ignigen/ignigen/internal/osprofile"

// Runtime is the container runtime of a cluster's Kubernetes members: the OS profile's facts
// about it (criSocket, unit, sysext image, what to mask) and the topology's choices. Templates
// and checks read these, never the runtime's name.
type Runtime struct {
	Name string // kubernetes.runtime, e.g. containerd or crio
	osprofile.Runtime
	// Sysext runtimes only: Version (v1.X.Y) and Minor (v1.X) of the image, its file name and
	// its SHA-256 (lower-case hex, checked by Ignition; empty: TLS only).
	Version string
	Minor   string
	Image   string
	SHA256  string
}

// FromSysext reports whether the config downloads the runtime as a system extension.
func (r Runtime) FromSysext() bool { return r.Install == osprofile.InstallSysext }
