#!/bin/bash
# rejoin-prepare [KUBEADM_CONFIG]: before every kubeadm join attempt on {{ .Node.Name }}, clears
# what a re-provisioned node's previous life left (README "Re-provisioning a node"). kubeadm join
# refuses a name whose Node is still Ready, after writing files that fail every later attempt's
# preflight: they go, so the unit's retry joins once the old Node is NotReady. The join units run
# only while kubelet.conf is absent: nothing removed here belongs to a node that has joined.
{{- if .Role.APIServer }}
# So does the stale etcd member (its data died with the old disk), which kubeadm would adopt.
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
# etcd's health-check client certificate, from the etcd CA this node holds.
{{ .Cluster.OS.Kubernetes.BinDir }}/kubeadm init phase certs etcd-healthcheck-client --config "$config"
# Peers in address order, reserved ones too: one that is not there costs the connect timeout.
etcd() { curl --silent --show-error --fail --connect-timeout 2 --max-time 10 --cacert $pki/ca.crt --cert $pki/healthcheck-client.crt --key $pki/healthcheck-client.key -X POST "https://$1:2379/v3/cluster/member/$2" -d "$3"; }
for peer in "${peers[@]}"; do
  members=$(etcd "$peer" list '{}') || continue
  # Members are flat objects, ID first (proto order).
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
