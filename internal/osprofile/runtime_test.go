package osprofile

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ignigen/ignigen/profiles"
)

// profileWithRuntimes is the embedded flatcar profile.yaml with its runtimes section replaced.
func profileWithRuntimes(t *testing.T, runtimes string) fstest.MapFS {
	t.Helper()
	raw, err := profiles.FS.ReadFile("flatcar/" + File)
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(raw), "\nruntimes:\n")
	if !ok {
		t.Fatal("flatcar's profile.yaml has no runtimes section")
	}
	return fstest.MapFS{"p/" + File: {Data: []byte(head + "\n" + runtimes)}}
}

func TestRuntimesChecked(t *testing.T) {
	const crio = `  crio:
    criSocket: unix:///var/run/crio/crio.sock
    service: crio.service
    install: sysext
    sysext: {name: crio, image: "crio-{version}-{arch}.raw", kubernetesMinor: true}
`
	const ctrd = `  containerd: {criSocket: "unix:///run/containerd/containerd.sock", service: containerd.service, install: builtin}
`
	for _, tc := range []struct {
		name, runtimes, err string
	}{
		{"valid", "runtimes:\n  default: containerd\n" + ctrd + crio, ""},
		{"none", "runtimes: {}\n", "runtimes lists no container runtime"},
		{"default not listed", "runtimes:\n  default: crio\n" + ctrd, `runtimes.default "crio" is not one of the runtimes listed (containerd)`},
		{"socket not unix", "runtimes:\n  default: containerd\n  containerd: {criSocket: /run/c.sock, service: containerd.service, install: builtin}\n", `runtimes.containerd.criSocket "/run/c.sock" is not a unix:/// URL`},
		{"service not a service", "runtimes:\n  default: containerd\n  containerd: {criSocket: \"unix:///c\", service: containerd, install: builtin}\n", `runtimes.containerd.service "containerd" is not a .service unit`},
		{"unknown install", "runtimes:\n  default: containerd\n  containerd: {criSocket: \"unix:///c\", service: c.service, install: rpm}\n", `runtimes.containerd.install "rpm" is neither builtin nor sysext`},
		{"sysext without image version", "runtimes:\n  default: crio\n  crio: {criSocket: \"unix:///c\", service: crio.service, install: sysext, sysext: {name: crio, image: crio.raw}}\n", `runtimes.crio.sysext.image "crio.raw" lacks {version}`},
		{"sysext without name", "runtimes:\n  default: crio\n  crio: {criSocket: \"unix:///c\", service: crio.service, install: sysext}\n", "runtimes.crio.sysext.name is missing"},
		{"builtin with sysext", "runtimes:\n  default: containerd\n  containerd: {criSocket: \"unix:///c\", service: c.service, install: builtin, sysext: {name: c, image: \"c-{version}.raw\"}}\n", "runtimes.containerd: a builtin runtime has no sysext"},
		{"masks itself", "runtimes:\n  default: containerd\n  containerd: {criSocket: \"unix:///c\", service: c.service, install: builtin, mask: {units: [c.service]}}\n", "runtimes.containerd.mask.units masks the runtime's own c.service"},
		{"unknown field", "runtimes:\n  default: containerd\n  containerd: {critSocket: \"unix:///c\", service: c.service, install: builtin}\n", "field critSocket not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load(profileWithRuntimes(t, tc.runtimes), "p")
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(p.RuntimeNames(), " "); got != "containerd crio" {
					t.Errorf("RuntimeNames() = %q, want the default first", got)
				}
				rt, _ := p.Runtime("crio")
				if got := p.RuntimeImage(rt, "v1.35.0", DefaultArch); got != "crio-v1.35.0-x86-64.raw" {
					t.Errorf("RuntimeImage = %q", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Load error %v, want it to say %q", err, tc.err)
			}
		})
	}
}

// The embedded profiles' runtime facts the layers rely on, and the flatcar default that keeps
// existing topologies' output unchanged.
func TestFlatcarRuntimes(t *testing.T) {
	p, err := Load(profiles.FS, "flatcar")
	if err != nil {
		t.Fatal(err)
	}
	if p.Runtimes.Default != "containerd" {
		t.Errorf("flatcar's default runtime is %q, want containerd", p.Runtimes.Default)
	}
	crio, ok := p.Runtime("crio")
	if !ok || crio.CRISocket != "unix:///var/run/crio/crio.sock" || crio.Install != InstallSysext ||
		!strings.Contains(strings.Join(crio.Mask.Sysexts, " "), "containerd-flatcar") {
		t.Errorf("flatcar's crio: %+v", crio)
	}
}
