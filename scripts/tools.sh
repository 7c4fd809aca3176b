#!/usr/bin/env bash
# tools.sh - install (apt) or build (Go) the heavy tools the test suites need,
# into a cache outside the repo. Idempotent: a tool whose binary is already in
# the cache is not rebuilt, so a warm run only checks and prints.
#
#   scripts/tools.sh apt            Debian packages (haproxy, qemu, kernel, ...)
#   scripts/tools.sh build [TOOL..] Go tools (default: all)
#   scripts/tools.sh path TOOL      absolute path of TOOL (built first if missing)
#   scripts/tools.sh env            `export NAME_BIN=...` lines for all tools
#   scripts/tools.sh all            apt + build
#   scripts/tools.sh boot           build the boot test's tools too (make boot-test)
#   scripts/tools.sh list           tool names
#
# Environment: IGNIGEN_CACHE (cache root), K8S_VERSION, ETCD_VERSION.
# Build logs go to stderr; `path` and `env` print only their answer on stdout.
set -euo pipefail
shopt -s inherit_errexit  # let set -e act inside $(...) too

# ---- pinned versions --------------------------------------------------------
# The module proxy here refuses version lists for some modules, so every
# version is exact; nothing resolves "latest".
IGNITION_VERSION=v2.27.0        # github.com/coreos/ignition/v2
PODMAN_VERSION=v5.8.2           # github.com/containers/podman/v5 (quadlet)
MATCHBOX_VERSION=v0.11.0        # github.com/poseidon/matchbox (v0.12.0 not served)
# CoreDNS and pause: kubeadm's CoreDNSVersion / PauseVersion for v1.35.x
# (cmd/kubeadm/app/constants). pause is kubernetes' own build/pause/linux/pause.c.
COREDNS_VERSION=v1.13.1         # github.com/coredns/coredns
PAUSE_VERSION=3.10.1
CNI_PLUGINS_VERSION=v1.9.0     # github.com/containernetworking/plugins (bridge, host-local, loopback, portmap)
# scripts/imagewriter (its own module, pins github.com/google/go-containerregistry).
IMAGEWRITER_VERSION=1
K8S_DEFAULT_VERSION=v1.35.4
K8S_VERSION="${K8S_VERSION:-$K8S_DEFAULT_VERSION}"  # k8s.io/kubernetes
# etcd: DefaultEtcdVersion in kubeadm's cmd/kubeadm/app/constants/constants.go
# ("3.6.6-0" for v1.35.x). For another K8S_VERSION it is read from that file.
ETCD_DEFAULT_VERSION=v3.6.6
ETCD_VERSION="${ETCD_VERSION:-}"

# Debian packages the test suites use. libblkid-dev: ignition needs cgo+blkid.
# virtinst, libvirt-clients (virsh), qemu-utils (qemu-img): run the generated VM scripts.
APT_PACKAGES=(
  haproxy keepalived openssl systemd iproute2 curl
  qemu-system-x86 ipxe-qemu busybox-static cpio linux-image-amd64
  virtinst libvirt-clients qemu-utils
  wrk jq
  network-manager
  gcc libc6-dev libblkid-dev
  mmdebstrap systemd-container libseccomp-dev pkg-config
)

TOOLS=(ignition ignition-validate quadlet kubeadm kube-apiserver kubectl etcd etcdctl matchbox)
# Only the boot test (make boot-test) needs these: the node components and images.
BOOT_TOOLS=(kubelet kube-controller-manager kube-scheduler kube-proxy podman coredns pause imagewriter debroot cni-plugins)
# debroot: the Debian 12 base root every boot-test node overlays (a directory).
# containerd/runc run the pods; conmon, netavark, containers-common and runc are
# what podman needs in a node (Debian's crun 1.8 fails); haproxy, keepalived and
# curl also become the keepalived/HAProxy images.
DEBROOT_SUITE=bookworm
DEBROOT_PACKAGES=(
  systemd systemd-sysv systemd-resolved dbus iproute2 containerd runc
  haproxy keepalived iptables conntrack ethtool socat ca-certificates kmod util-linux
  mount procps curl conmon netavark golang-github-containers-common libgpgme11 libseccomp2
  jq less
)

CACHE_ROOT="${IGNIGEN_CACHE:-$HOME/.cache/ignigen}"

# Go settings shared by every build: the normal (shared) build cache, no
# toolchain download (only the proxy is reachable), a clean GOFLAGS for the
# scratch modules.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=mod -buildvcs=false"
export PATH="/usr/local/go/bin:$PATH"

log() { printf 'tools.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- versions and paths -----------------------------------------------------
etcd_version() {
  if [[ -n $ETCD_VERSION ]]; then echo "$ETCD_VERSION"; return; fi
  if [[ $K8S_VERSION == "$K8S_DEFAULT_VERSION" ]]; then echo "$ETCD_DEFAULT_VERSION"; return; fi
  # Another Kubernetes version: ask its kubeadm which etcd it pins.
  local dir v
  dir=$(k8s_module_dir)
  v=$(sed -n 's/^[[:space:]]*DefaultEtcdVersion = "\([0-9.]*\)-[0-9]*"$/\1/p' \
        "$dir/cmd/kubeadm/app/constants/constants.go")
  [[ -n $v ]] || die "cannot find DefaultEtcdVersion in kubernetes $K8S_VERSION"
  echo "v$v"
}

tool_version() {
  case $1 in
    ignition|ignition-validate) echo "$IGNITION_VERSION" ;;
    quadlet|podman) echo "$PODMAN_VERSION" ;;
    kubeadm|kube-apiserver|kubectl) echo "$K8S_VERSION" ;;
    kubelet|kube-controller-manager|kube-scheduler|kube-proxy) echo "$K8S_VERSION" ;;
    etcd|etcdctl) etcd_version ;;
    matchbox) echo "$MATCHBOX_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
    pause) echo "$PAUSE_VERSION" ;;
    cni-plugins) echo "$CNI_PLUGINS_VERSION" ;;
    imagewriter) echo "v$IMAGEWRITER_VERSION-$(imagewriter_hash)" ;;
    debroot) echo "$DEBROOT_SUITE-$(printf '%s\n' "${DEBROOT_PACKAGES[@]}" | sha256sum | cut -c1-12)" ;;
    *) die "unknown tool '$1' (known: ${TOOLS[*]} ${BOOT_TOOLS[*]})" ;;
  esac
}

tool_path() { echo "$CACHE_ROOT/$1-$(tool_version "$1")/$1"; }

# The build unit a tool belongs to (one scratch module and build per unit).
tool_unit() {
  case $1 in
    ignition|ignition-validate) echo ignition ;;
    kubeadm|kube-apiserver|kubectl) echo kubernetes ;;
    kubelet|kube-controller-manager|kube-scheduler|kube-proxy) echo kubernetes-node ;;
    etcd|etcdctl) echo etcd ;;
    quadlet|matchbox|podman|coredns|pause|imagewriter|debroot|cni-plugins) echo "$1" ;;
    *) die "unknown tool '$1' (known: ${TOOLS[*]} ${BOOT_TOOLS[*]})" ;;
  esac
}

# ---- build helpers ----------------------------------------------------------
# A scratch module under the cache root (not in the repo, not in the module
# cache: some upstream go.mod files carry relative replaces).
new_scratch() {
  mkdir -p "$CACHE_ROOT/.build"
  local dir
  dir=$(mktemp -d "$CACHE_ROOT/.build/$1.XXXXXX")
  (cd "$dir" && go mod init "ignigen.local/tools/$1" >/dev/null 2>&1 && mkdir out)
  echo "$dir"
}

# Move a freshly built binary into <root>/<tool>-<version>/<tool>. The scratch
# dir is on the same filesystem, so the final mv is an atomic rename.
install_bin() {
  local tool=$1 src=$2 dest
  dest=$(tool_path "$tool")
  [[ -x $src ]] || die "build of $tool produced no binary"
  mkdir -p "$(dirname "$dest")"
  mv -f "$src" "$dest"
  log "installed $dest"
}

missing() { local t; for t in "$@"; do [[ -x $(tool_path "$t") ]] || return 0; done; return 1; }

timed() { # timed LABEL CMD...: run CMD, log how long it took
  local label=$1 start=$SECONDS; shift
  "$@"
  log "$label took $((SECONDS - start)) s"
}

k8s_module_dir() {
  local json
  json=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION") \
    || die "k8s.io/kubernetes@$K8S_VERSION: $(sed -n 's/.*"Error": //p' <<<"$json")"
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json"
}

build_ignition() {
  local dir=$1 v=$IGNITION_VERSION m=github.com/coreos/ignition/v2
  [[ -f /usr/include/blkid/blkid.h ]] || die "ignition needs libblkid-dev and gcc: run '$0 apt' first"
  cd "$dir"
  go get "$m@$v"
  # The ignition binary (main package is .../internal) needs cgo: libblkid and
  # getpwnam/getgrnam wrappers have no pure-Go fallback. selinuxRelabel=false as
  # in Flatcar's build (no setfiles there, nor in a test root).
  CGO_ENABLED=1 go build -trimpath -o out/ignition \
    -ldflags "-X $m/internal/version.Raw=$v -X $m/internal/distro.selinuxRelabel=false" \
    "$m/internal"
  CGO_ENABLED=0 go build -trimpath -o out/ignition-validate \
    -ldflags "-X $m/internal/version.Raw=$v" "$m/validate"
  install_bin ignition out/ignition
  install_bin ignition-validate out/ignition-validate
}

build_quadlet() {
  local dir=$1 m=github.com/containers/podman/v5
  cd "$dir"
  go get "$m/cmd/quadlet@$PODMAN_VERSION"
  CGO_ENABLED=0 go build -trimpath -o out/quadlet "$m/cmd/quadlet"
  install_bin quadlet out/quadlet
}

# podman itself, for the nodes of the boot test (Quadlet runs its containers).
# cgo: seccomp; no btrfs/devicemapper/gpgme (their C headers are not needed).
build_podman() {
  local dir=$1 m=github.com/containers/podman/v5
  [[ -f /usr/include/seccomp.h ]] || die "podman needs libseccomp-dev: run '$0 apt' first"
  cd "$dir"
  go get "$m/cmd/podman@$PODMAN_VERSION"
  CGO_ENABLED=1 go build -trimpath -o out/podman \
    -tags 'seccomp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp' \
    "$m/cmd/podman"
  install_bin podman out/podman
}

build_coredns() {
  local dir=$1 m=github.com/coredns/coredns
  cd "$dir"
  go get "$m@$COREDNS_VERSION"
  CGO_ENABLED=0 go build -trimpath -o out/coredns "$m"
  install_bin coredns out/coredns
}

# cni-plugins is a directory (/opt/cni/bin of a node): the boot test's bridge CNI.
build_cni-plugins() {
  local dir=$1 m=github.com/containernetworking/plugins p
  cd "$dir"
  go get "$m@$CNI_PLUGINS_VERSION"
  mkdir -p out/cni-plugins
  for p in main/bridge main/loopback meta/portmap ipam/host-local; do
    CGO_ENABLED=0 go build -trimpath -o "out/cni-plugins/${p#*/}" \
      -ldflags "-X $m/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" "$m/plugins/$p"
  done
  install_bin cni-plugins out/cni-plugins
}

# The sandbox ("pause") binary from kubernetes' own source, static.
build_pause() {
  local dir=$1 kdir
  kdir=$(k8s_module_dir)
  gcc -Os -static -Wall -Werror -DVERSION=v$PAUSE_VERSION \
    -o "$dir/out/pause" "$kdir/build/pause/linux/pause.c"
  install_bin pause "$dir/out/pause"
}

# The image writer is source in this repository (its own module, so the product's
# go.mod does not carry go-containerregistry); the cache key is a hash of it.
IMAGEWRITER_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/imagewriter"
imagewriter_hash() { cat "$IMAGEWRITER_SRC"/go.mod "$IMAGEWRITER_SRC"/go.sum "$IMAGEWRITER_SRC"/*.go | sha256sum | cut -c1-12; }
build_imagewriter() {
  local dir=$1
  (cd "$IMAGEWRITER_SRC" && CGO_ENABLED=0 go build -trimpath -o "$dir/out/imagewriter" .)
  install_bin imagewriter "$dir/out/imagewriter"
}

# The base root: mmdebstrap with the machine's own apt sources (about 3 min).
# No /etc/hostname: Ignition writes it (overwrite: false fails on an existing file).
build_debroot() {
  local dir=$1 pkgs
  command -v mmdebstrap >/dev/null || die "debroot needs mmdebstrap: run '$0 apt' first"
  pkgs=$(IFS=,; echo "${DEBROOT_PACKAGES[*]}")
  local sources=/etc/apt/sources.list.d/debian.sources
  [[ -f $sources ]] || sources=/etc/apt/sources.list
  mmdebstrap --variant=minbase --include="$pkgs" "$DEBROOT_SUITE" "$dir/out/debroot" "$sources"
  rm -f "$dir/out/debroot/etc/hostname"
  install_bin debroot "$dir/out/debroot"
}

build_matchbox() {
  local dir=$1 m=github.com/poseidon/matchbox
  cd "$dir"
  go get "$m/cmd/matchbox@$MATCHBOX_VERSION"
  CGO_ENABLED=0 go build -trimpath -o out/matchbox \
    -ldflags "-X $m/matchbox/version.Version=$MATCHBOX_VERSION" "$m/cmd/matchbox"
  install_bin matchbox out/matchbox
}

build_etcd() {
  local dir=$1 v
  v=$(etcd_version)
  cd "$dir"
  # etcd's server module root package is the `etcd` main (its own root module
  # has relative replaces, so it cannot be built from the module cache).
  go get "go.etcd.io/etcd/server/v3@$v" "go.etcd.io/etcd/etcdctl/v3@$v"
  CGO_ENABLED=0 go build -trimpath -o out/etcd go.etcd.io/etcd/server/v3
  CGO_ENABLED=0 go build -trimpath -o out/etcdctl go.etcd.io/etcd/etcdctl/v3
  install_bin etcd out/etcd
  install_bin etcdctl out/etcdctl
}

build_kubernetes() {
  build_k8s_cmds "$1" kubeadm kube-apiserver kubectl
}

# kubelet, controller-manager, scheduler and kube-proxy: the rest of a node,
# built only for the boot test. A unit of its own so `make integration` does
# not pay for them.
build_kubernetes-node() {
  build_k8s_cmds "$1" kubelet kube-controller-manager kube-scheduler kube-proxy
}

# build_k8s_cmds DIR CMD...: build k8s.io/kubernetes/cmd/CMD for each CMD.
build_k8s_cmds() {
  local dir=$1 v=$K8S_VERSION kdir staging_v minor major goline godebug
  shift
  local cmds=("$@")
  kdir=$(k8s_module_dir)
  [[ -f $kdir/go.mod ]] || die "k8s.io/kubernetes@$v not downloadable"
  # Staging modules (k8s.io/api, client-go, ...) are published as v0.MINOR.PATCH.
  staging_v="v0.${v#v1.}"
  major=1; minor=$(echo "$v" | cut -d. -f2)
  cd "$dir"
  # Same go/godebug lines as kubernetes' own go.mod so GODEBUG defaults match.
  goline=$(sed -n 's/^go \(.*\)$/\1/p' "$kdir/go.mod")
  godebug=$(sed -n 's/^godebug \(.*\)$/\1/p' "$kdir/go.mod")
  go mod edit -go="$goline" -require="k8s.io/kubernetes@$v"
  [[ -z $godebug ]] || go mod edit -godebug="$godebug"
  # Replace every `k8s.io/X => ./staging/src/k8s.io/X` with the published module.
  local mod n=0
  while read -r mod; do
    go mod edit -replace="$mod=$mod@$staging_v"; n=$((n + 1))
  done < <(sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/src/.*#\1#p' "$kdir/go.mod")
  ((n > 0)) || die "no staging replaces found in kubernetes $v go.mod"
  log "kubernetes $v: $n staging modules replaced by $staging_v"
  local pkgs=("${cmds[@]/#/k8s.io/kubernetes/cmd/}")
  go get "${pkgs[@]/%/@$v}"
  # Version stamps as in hack/lib/version.sh: kubeadm derives its defaults
  # (control-plane and etcd versions) from gitVersion.
  local ld=() p k val
  for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    for k in gitVersion=$v gitMajor=$major gitMinor=$minor gitTreeState=clean \
             buildDate=1970-01-01T00:00:00Z gitCommit=0000000000000000000000000000000000000000; do
      val=${k#*=}; ld+=("-X $p.${k%%=*}=$val")
    done
  done
  # One invocation for all: they share most packages.
  CGO_ENABLED=0 go build -trimpath -ldflags "${ld[*]}" -o out/ "${pkgs[@]}"
  local c
  for c in "${cmds[@]}"; do install_bin "$c" "out/$c"; done
}

# Build one unit unless all its tools are cached. Serialised with flock so two
# concurrent callers (e.g. parallel tests asking for `path`) build only once.
build_unit() {
  local unit=$1 tools
  case $unit in
    ignition) tools=(ignition ignition-validate) ;;
    kubernetes) tools=(kubeadm kube-apiserver kubectl) ;;
    kubernetes-node) tools=(kubelet kube-controller-manager kube-scheduler kube-proxy) ;;
    etcd) tools=(etcd etcdctl) ;;
    *) tools=("$unit") ;;
  esac
  missing "${tools[@]}" || return 0
  mkdir -p "$CACHE_ROOT"
  # One lock per unit: different units write different files, so they may
  # build at the same time; two callers of one unit build it once.
  exec 9>"$CACHE_ROOT/.lock-$unit"
  flock 9
  if missing "${tools[@]}"; then
    local dir rc=0
    dir=$(new_scratch "$unit")
    log "building $unit (${tools[*]}) in $dir"
    # Subshell: the builders cd. Not `( ... ) || rc=$?`: bash ignores set -e
    # inside an ||-list. On failure the scratch dir is kept for a look.
    set +e
    ( set -e; timed "build $unit" "build_$unit" "$dir" ) >&2
    rc=$?
    set -e
    if ((rc == 0)); then rm -rf "$dir"; else
      exec 9>&-; die "build of $unit failed (scratch kept: $dir)"
    fi
  fi
  exec 9>&-
}

ensure_tools() {
  local t u units=()
  for t in "$@"; do
    u=$(tool_unit "$t")
    [[ " ${units[*]} " == *" $u "* ]] || units+=("$u")
  done
  for u in "${units[@]}"; do build_unit "$u"; done
}

# One line per tool: name, version it reports, path. Fails if a binary won't run.
# Output is captured whole, then cut: `cmd | head` can SIGPIPE cmd, which
# pipefail turns into a spurious failure.
version_of() {
  local t=$1 p=$2 out
  case $t in
    ignition|ignition-validate|quadlet|matchbox) out=$("$p" -version 2>&1) ;;
    podman|coredns) out=$("$p" --version 2>&1) ;;
    pause) out=$("$p" -v 2>&1) ;;
    imagewriter) out=$("$p" -version 2>&1) ;;
    debroot) out=$(chroot "$p" systemctl --version 2>&1) ;;
    cni-plugins) out=$(CNI_COMMAND=VERSION "$p/bridge" 2>&1) ;;
    kubeadm) out=$("$p" version -o short 2>&1) ;;
    kube-apiserver|etcd|kubelet|kube-controller-manager|kube-scheduler|kube-proxy)
      out=$("$p" --version 2>&1) ;;
    kubectl) out=$("$p" version --client -o json 2>&1)
             out=$(sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' <<<"$out") ;;
    etcdctl) out=$("$p" version 2>&1) ;;
  esac
  echo "${out%%$'\n'*}"
}

verify_tools() {
  local t p out bad=0
  for t in "$@"; do
    p=$(tool_path "$t")
    if out=$(version_of "$t" "$p") && [[ -n $out ]]; then
      printf '%-18s %-28s %s\n' "$t" "$out" "$p"
    else
      printf '%-18s %-28s %s\n' "$t" "FAILED: ${out//$'\n'/ }" "$p"; bad=1
    fi
  done
  return $bad
}

# ---- subcommands ------------------------------------------------------------
cmd_apt() {
  local p need=()
  for p in "${APT_PACKAGES[@]}"; do
    # Exact status: dpkg -s also succeeds for removed packages with configs left.
    # (No grep -q: with pipefail, dpkg's SIGPIPE would read as "not installed".)
    dpkg -s "$p" 2>/dev/null | grep -x 'Status: install ok installed' >/dev/null || need+=("$p")
  done
  if ((${#need[@]} == 0)); then log "apt: all ${#APT_PACKAGES[@]} packages installed"; return; fi
  log "apt: installing ${need[*]}"
  local sudo=(); ((EUID == 0)) || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  # No recommends: keeps firmware and desktop bits of the kernel/qemu out.
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
}

cmd_build() {
  local tools=("$@")
  ((${#tools[@]})) || tools=("${TOOLS[@]}")
  ensure_tools "${tools[@]}"
  verify_tools "${tools[@]}"
}

env_name() { local n=${1^^}; echo "${n//-/_}_BIN"; }

cmd_env() {
  ensure_tools "${TOOLS[@]}"
  local t
  for t in "${TOOLS[@]}"; do printf 'export %s=%q\n' "$(env_name "$t")" "$(tool_path "$t")"; done
  # Kernel for QEMU boot tests, when the apt step installed one.
  local k
  k=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n1)
  [[ ! -f $k ]] || printf 'export QEMU_KERNEL=%q\n' "$k"
}

main() {
  local cmd=${1:-}
  shift || true
  # Resolve etcd's version once, here, so a failure stops the script.
  case $cmd in build|all|path|env) ETCD_VERSION=$(etcd_version) ;; esac
  case $cmd in
    apt) cmd_apt ;;
    build) cmd_build "$@" ;;
    all) cmd_apt; cmd_build ;;
    boot) cmd_build "${BOOT_TOOLS[@]}" ;;
    path)
      [[ $# -eq 1 ]] || die "usage: $0 path TOOL"
      tool_unit "$1" >/dev/null
      ensure_tools "$1"
      tool_path "$1" ;;
    env) cmd_env ;;
    list) printf '%s\n' "${TOOLS[@]}" "${BOOT_TOOLS[@]}" ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
