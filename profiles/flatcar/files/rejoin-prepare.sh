#!/bin/bash
# rejoin-prepare [KUBEADM_CONFIG]: runs on {{ .Node.Name }} before every kubeadm join attempt
# (kubeadm-join.service; on the init node, init-or-join before it joins a running cluster). A
# re-provisioned node boots its unchanged config again and must meet neither what its previous
# life left in the cluster nor what a refused attempt of this boot left on its disk.
# - kubeadm join refuses a name whose Node is still Ready (a reinstall faster than the
#   node-monitor grace period, about 50 s), after writing files whose presence fails every later
#   attempt's preflight checks. Removing them lets the unit's retry (every 30 s) join once the old
#   Node is NotReady. The join units run only while /etc/kubernetes/kubelet.conf is absent, so
#   nothing removed here belongs to a node that has joined.
{{- if .Role.APIServer }}
# - The node's stale etcd member (same peer URL; its data died with the old disk): kubeadm join
#   would adopt it (etcd's "peer URL exists" is not an error to kubeadm) and start an empty etcd
#   under the old member's identity. It is removed through a peer first, as Talos does. Before
#   kubelet.conf exists this boot's kubeadm has added no member, so a member with this node's
#   peer URL is always the old one.
{{- end }}
set -euo pipefail
rm -fv /etc/kubernetes/bootstrap-kubelet.conf
{{- if not .Role.APIServer }}
# kubeadm writes the CA certificate on a worker and its preflight wants it absent.
rm -fv /etc/kubernetes/pki/ca.crt
{{- else }}
rm -fv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/kube-controller-manager.yaml /etc/kubernetes/manifests/kube-scheduler.yaml

self={{ .Node.IP }}
peers=({{ range .APIServers }}{{ if ne (print .) (print $.Node.IP) }} {{ . }}{{ end }}{{ end }})
config=${1:-/etc/kubernetes/kubeadm/renew.yaml}
pki=/etc/kubernetes/pki/etcd
# etcd's health-check client certificate, from the etcd CA this node holds (kubeadm makes it on
# every control-plane node anyway).
{{ .Cluster.OS.Kubernetes.BinDir }}/kubeadm init phase certs etcd-healthcheck-client --config "$config"
etcd() { curl --silent --show-error --fail --max-time 10 --cacert $pki/ca.crt --cert $pki/healthcheck-client.crt --key $pki/healthcheck-client.key -X POST "https://$1:2379/v3/cluster/member/$2" -d "$3"; }
for peer in "${peers[@]}"; do
  members=$(etcd "$peer" list '{}') || continue
  # Members are flat objects whose first field is the ID (etcd's gateway writes proto order).
  id=$(tr -d ' \n' <<<"$members" | grep -o '{"ID":"[0-9]*"[^}]*}' | grep -F "\"https://$self:2380\"" | sed -n 's/^{"ID":"\([0-9]*\)".*/\1/p' | head -n 1) || true
  if [[ -n $id ]]; then
    echo "rejoin-prepare: removing this node's stale etcd member $id (https://$self:2380) through $peer"
    etcd "$peer" remove "{\"ID\":\"$id\"}" >/dev/null
  fi
  exit 0
done
# Joining without knowing would risk adopting the stale member: fail, and the unit tries again.
echo "rejoin-prepare: no etcd peer answered (${peers[*]}): cannot check for a stale member of this node" >&2
exit 1
{{- end }}
