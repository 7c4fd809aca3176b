#!/bin/bash
# init-or-join: what kubeadm-init.service runs on {{ .Node.Name }}, the node that initialises
# cluster {{ .Cluster.Name }}. kubeadm init runs only while the cluster does not exist: a
# re-provisioned init node (its disk wiped, its first boot run again from the same config) must
# never start a second cluster behind the same VIP. So it first asks every other API server
# address and the VIP, bounded in time, whether an API server answers with a certificate of the
# cluster CA (any HTTP status: the TLS handshake is the proof). If one does, the cluster exists:
# it removes its own stale etcd member (rejoin-prepare), waits until its old Node is NotReady
# and joins as a control-plane node. If none does, it runs kubeadm init.
# The bound: ROUNDS rounds, 1 s apart, of parallel probes of at most 4 s each (15 s at most with
# the default 3; a first boot loses 2-6 s: peers refuse at once, an unheld VIP times out).
# IGNIGEN_INIT_DRY_RUN=1 prints the decision and stops (the HA test runs it so).
set -euo pipefail
ca=/etc/ignigen/ca.crt
urls=({{ range .APIServers }}{{ if ne (print .) (print $.Node.IP) }} https://{{ . }}:{{ $.Cluster.Endpoint.BindPort }}{{ end }}{{ end }} {{ .Cluster.Endpoint.URL }})
rounds=${IGNIGEN_INIT_PROBE_ROUNDS:-3}

found=""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((round = 1; round <= rounds; round++)); do
  for i in "${!urls[@]}"; do
    (curl --silent --output /dev/null --connect-timeout 2 --max-time 4 --cacert "$ca" "${urls[$i]}/healthz" && touch "$tmp/$i") &
  done
  wait || true
  for i in "${!urls[@]}"; do
    if [[ -e $tmp/$i ]]; then found=${urls[$i]}; break 2; fi
  done
  ((round < rounds)) && sleep 1
done

if [[ -z $found ]]; then
  echo "init-or-join: no API server of the cluster CA answers at ${urls[*]}: initialising the cluster"
  [[ ${IGNIGEN_INIT_DRY_RUN:-} == 1 ]] && { echo "decision: init"; exit 0; }
  exec {{ .Cluster.OS.Kubernetes.BinDir }}/kubeadm init --config /etc/kubernetes/kubeadm/init.yaml
fi

echo "init-or-join: $found answers with a certificate of the cluster CA: the cluster exists, joining it as a control-plane node instead of kubeadm init"
[[ ${IGNIGEN_INIT_DRY_RUN:-} == 1 ]] && { echo "decision: join"; exit 0; }

# What the node's previous life left: its stale etcd member (rejoin-prepare).
/opt/ignigen/bin/rejoin-prepare /etc/kubernetes/kubeadm/init.yaml
# kubeadm join refuses, for good, a name whose Node is still Ready ("a Node with name ... and
# status Ready already exists"): a reinstall faster than the node-monitor grace period (about
# 50 s) meets it. So wait, bounded, until the control plane has marked the old Node NotReady (or
# it is gone). The node asks as itself (system:node:NAME, a client certificate from the cluster
# CA it holds, never written to disk outside $tmp): the Node authorizer lets it read its own Node.
name={{ .Node.Name }}
{{ .Cluster.OS.Kubernetes.BinDir }}/kubeadm kubeconfig user --config /etc/kubernetes/kubeadm/init.yaml --client-name "system:node:$name" --org system:nodes >"$tmp/node.conf"
for ((waited = 0; ; waited += 5)); do
  ready=$({{ .Cluster.OS.Kubernetes.BinDir }}/kubectl --kubeconfig "$tmp/node.conf" --request-timeout=5s get node "$name" --ignore-not-found -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) || ready=unknown
  [[ $ready == True ]] || break
  if ((waited >= ${IGNIGEN_STALE_NODE_WAIT:-300})); then
    echo "init-or-join: the old Node $name is still Ready after ${waited}s; joining anyway (kubeadm will refuse: delete the Node or wait)"
    break
  fi
  ((waited % 30 == 0)) && echo "init-or-join: the old Node $name is still Ready; waiting until the control plane marks it NotReady (${waited}s)"
  sleep 5
done

# The cluster has its CNI and RBAC from its first initialisation.
mkdir -p /var/lib/ignigen
touch /var/lib/ignigen/cilium-installed /var/lib/ignigen/management-rbac-applied
exec {{ .Cluster.OS.Kubernetes.BinDir }}/kubeadm join --config /etc/kubernetes/kubeadm/join.yaml
