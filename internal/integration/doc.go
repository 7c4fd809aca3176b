// Package integration is the integration suite (`make integration`): every output of ignigen
// is checked by the program that consumes it (Ignition, Quadlet, systemd, HAProxy, keepalived,
// kubeadm, OpenSSL), for every node of every example topology under testdata/, with a
// deliberately broken input per check under testdata/integration-negative/ proving that the
// check can fail. The tests carry the build tag "integration" so `go test ./...` stays fast:
//
//	go test -tags integration ./pkg/integration/ -count=1
//
// They need root (Ignition chowns, HAProxy and keepalived run in private namespaces) and the
// tools of scripts/tools.sh. See "Integration suite" in README.md.
package integration
