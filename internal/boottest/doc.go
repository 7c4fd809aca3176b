// Package boottest boots the example cluster for real: every node is a systemd-nspawn container
// running real systemd 252 as PID 1 on a Debian 12 root, its files written by the real Ignition
// binary from the node's generated config, on a bridge inside network namespaces the test makes.
// After power-on nothing acts on the cluster from outside: the units ignigen wrote bring up
// keepalived and HAProxy (Podman Quadlet), kubeadm init and the joins, in the order systemd
// chooses. The test then checks the cluster through the VIP with the generated admin.kubeconfig.
//
// The test itself (boot_test.go and the files it uses) needs root and the tool cache of
// scripts/tools.sh boot; it is behind the build tag "boottest" (make boot-test). The
// substitutions the boot test makes to the real build (substitute.go) are plain Go, and
// substitute_test.go checks with every `go test` that the test configs differ from the real
// ones only there.
package boottest
