#!/bin/bash
# renew-certs: renews each certificate kubeadm manages here that expires within
# IGNIGEN_RENEW_MARGIN_DAYS days (kubeadm certs renew NAME), then restarts the static pods using
# them one at a time, as kubeadm documents: manifest out until the kubelet stopped the pod, back
# in, healthy before the next. Restarts still due stay in a pending file for the next run.
# IGNIGEN_ROOTFS (default /) lets tests run this very script on a scratch root.
set -euo pipefail
rootfs=${IGNIGEN_ROOTFS:-/} root=${rootfs%/}
margin=${IGNIGEN_RENEW_MARGIN_DAYS:-90} port=${IGNIGEN_APISERVER_PORT:-6443}
config=/etc/kubernetes/kubeadm/renew.yaml # inside rootfs, as kubeadm sees it
manifests=$root/etc/kubernetes/manifests parked=$root/etc/kubernetes/manifests.renew-certs
pending=$root/var/lib/ignigen/renew-certs.pending

log() { echo "renew-certs: $*"; }
die() { echo "renew-certs: $*" >&2; exit 1; }
kadm() { ${IGNIGEN_KUBEADM:-kubeadm} ${root:+--rootfs "$rootfs"} "$@" --config "$config"; }

# Never leave a component out of the manifest directory, whatever happened.
unpark() { for f in "$parked"/*.yaml; do [[ -e $f ]] && mv "$f" "$manifests/" && log "moved $f back"; done; true; }
trap unpark EXIT
trap 'exit 1' INT TERM
unpark

# due prints the certificates of check-expiration's first table expiring before $1 (epoch s);
# missing ones (super-admin.conf is on the init node only) and external ones are skipped.
due() {
  local name exp ext
  while IFS=$'\t' read -r name exp ext; do
    [[ $ext == yes ]] && { log "$name is externally managed: skipped" >&2; continue; }
    (($(date -u -d "$exp" +%s) <= $1)) && echo "$name"
  done < <(awk -F '  +' 'on && NF == 0 {exit} on && $1 !~ /^!MISSING!/ {sub(/ +$/, "", $5); print $1 "\t" $2 "\t" $5}
    $1 == "CERTIFICATE" {on = 1}' <<<"$2")
  true
}

# The pod that reads a certificate; admin.conf, super-admin.conf and etcd-healthcheck-client need none.
pod_of() {
  case $1 in
    etcd-server | etcd-peer) echo etcd ;;
    apiserver | apiserver-kubelet-client | apiserver-etcd-client | front-proxy-client) echo kube-apiserver ;;
    controller-manager.conf) echo kube-controller-manager ;;
    scheduler.conf) echo kube-scheduler ;;
  esac
}

# --insecure: a local liveness probe, and the serving certificate may be the one that expired.
healthy() {
  local url
  case $1 in
    etcd) url=http://127.0.0.1:2381/health ;;
    kube-apiserver) url=https://127.0.0.1:$port/readyz ;;
    kube-controller-manager) url=https://127.0.0.1:10257/healthz ;;
    kube-scheduler) url=https://127.0.0.1:10259/healthz ;;
  esac
  curl --silent --fail --insecure --max-time 5 --output /dev/null "$url"
}

# await POD up|down SECONDS
await() {
  local end=$((SECONDS + $3))
  until if healthy "$1"; then [[ $2 == up ]]; else [[ $2 == down ]]; fi; do
    ((SECONDS < end)) || return 1
    sleep 2
  done
}

restart() {
  [[ -e $manifests/$1.yaml ]] || { log "no manifest $manifests/$1.yaml: $1 not restarted"; return 0; }
  healthy "$1" || die "$1 is unhealthy before its restart: left alone (retried next run)"
  log "restarting $1"
  mkdir -p "$parked" && mv "$manifests/$1.yaml" "$parked/"
  await "$1" down 120 || die "$1 still answers 120 s after its manifest was moved out"
  mv "$parked/$1.yaml" "$manifests/"
  await "$1" up 300 && await kube-apiserver up 300 || die "$1 or kube-apiserver unhealthy 300 s after $1 came back"
  log "$1 restarted and healthy"
}

table=$(kadm certs check-expiration) || die "kubeadm certs check-expiration failed"
printf '%s\n' "$table"
mapfile -t renew < <(due $(($(date +%s) + margin * 86400)) "$table")
if ((${#renew[@]} == 0)); then
  log "every certificate kubeadm manages is valid for more than $margin days: nothing renewed"
else
  for name in "${renew[@]}"; do kadm certs renew "$name" || die "kubeadm certs renew $name failed"; done
  mkdir -p "${pending%/*}" && touch "$pending"
  for pod in etcd kube-apiserver kube-controller-manager kube-scheduler; do # etcd first
    for name in "${renew[@]}"; do
      [[ $(pod_of "$name") == "$pod" ]] && ! grep -qx "$pod" "$pending" && echo "$pod" >>"$pending"
    done
  done
  log "renewed (expiring within $margin days): ${renew[*]}"
fi
[[ -s $pending ]] || exit 0
[[ -z $root ]] || { log "root $rootfs is not this machine's: not restarting $(tr '\n' ' ' <"$pending")"; exit 0; }
systemctl is-active --quiet kubelet.service || die "kubelet is not active: not restarting $(tr '\n' ' ' <"$pending")(retried next run)"
while read -r pod; do restart "$pod" && sed -i 1d "$pending"; done < <(cat "$pending")
rm -f "$pending"
