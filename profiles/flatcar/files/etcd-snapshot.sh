#!/bin/bash
# etcd-snapshot: a snapshot of etcd on {{ .Node.Name }} by the etcd pod's own etcdctl (README "etcd
# snapshots"). It holds every Secret of the cluster: copy it off the node to somewhere as safe.
set -euo pipefail
keep=${IGNIGEN_SNAPSHOT_KEEP:-7}
dir=/var/lib/etcd/ignigen-snapshots
name=etcd-{{ .Node.Name }}-$(date -u +%Y%m%dT%H%M%SZ).db
pki=/etc/kubernetes/pki/etcd
mkdir -p -m 0700 "$dir"
trap 'rm -f "$dir/$name.part"' EXIT
{{ .Cluster.OS.Kubernetes.BinDir }}/kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=60s -n kube-system \
  exec etcd-{{ .Node.Name }} -- /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 \
  --cacert=$pki/ca.crt --cert=$pki/healthcheck-client.crt --key=$pki/healthcheck-client.key \
  snapshot save "$dir/$name.part"
chmod 0600 "$dir/$name.part"
mv "$dir/$name.part" "$dir/$name"
echo "etcd-snapshot: $dir/$name, $(stat -c %s "$dir/$name") bytes"
ls -1t "$dir"/etcd-*.db | tail -n +$((keep + 1)) | xargs -r rm -v --
