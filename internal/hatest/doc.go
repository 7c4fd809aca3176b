// Package hatest proves the generated HA design with real programs: three control-plane
// "nodes" (network and mount namespaces) run etcd, kube-apiserver, HAProxy and keepalived from
// the configuration ignigen generates, a client writes through the VIP while the VIP holder is
// killed, cut off or loses its HAProxy, and every acknowledged write must survive.
//
// The test itself needs root and is behind the build tag hatest (`make ha-test`). This file
// and kubeadm.go hold the pure helpers, unit-tested without root.
package hatest
