#!/bin/sh
# helm, from the pinned image {{ .Cluster.Images.Helm }}: nothing to download but what the
# topology names. Runs rootless as the calling user with the host network, the caller's
# kubeconfig (read-only) and the current directory (charts, values files) mounted.
set -eu
kubeconfig=${KUBECONFIG:-$HOME/.kube/config}
state=${XDG_DATA_HOME:-$HOME/.local/share}/ignigen-helm
mkdir -p "$state"
tty=
if [ -t 0 ] && [ -t 1 ]; then tty=--tty; fi
exec podman run --rm --interactive $tty --network host --security-opt label=disable \
  --volume "$kubeconfig:/helm/kubeconfig:ro" --env KUBECONFIG=/helm/kubeconfig \
  --volume "$state:/helm/state" --env HELM_CACHE_HOME=/helm/state/cache \
  --env HELM_CONFIG_HOME=/helm/state/config --env HELM_DATA_HOME=/helm/state/data \
  --volume "$PWD:/work" --workdir /work \
  --entrypoint helm {{ .Cluster.Images.Helm }} "$@"
