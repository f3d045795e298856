#!/usr/bin/env bash
# End-to-end test of kube-kmip on a kind cluster: build the image, load it into kind, install the
# Helm chart, then run the tenant scenario in the cluster with the kmip-client CLI and `helm test`.
# Needs docker, kind, helm and kubectl (see test/e2e/README.md). Usage:
#
#   test/e2e/run.sh
#
# Environment:
#   KIND_CLUSTER_NAME  cluster name (default kube-kmip); an existing cluster of that name is reused
#                      and kept, one this script creates is deleted at the end unless KEEP_CLUSTER=1
#   KEEP_CLUSTER=1     keep a cluster this script created (to look around, or to run again faster)
#   KIND_NODE_IMAGE    kindest/node image to create the cluster with (default: kind's own default)
#   IMAGE_REPO         image repository (default ghcr.io/kube-kmip/kube-kmip)
#   IMAGE_TAG          image tag (default e2e-<git short sha>[-dirty])
#   SKIP_BUILD=1       do not build; the image IMAGE_REPO:IMAGE_TAG must exist in the local daemon
#   E2E_HELM_ARGS      more helm flags, e.g. "--set server.storage.type=configmap --set server.replicas=2"
#   ARTIFACTS          where logs go on failure (default: a new directory under ${TMPDIR:-/tmp})
#   TIMEOUT_SECONDS    timeout of each wait (default 300)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER=${KIND_CLUSTER_NAME:-kube-kmip}
CONTEXT=kind-${CLUSTER}
RELEASE=kube-kmip
NAMESPACE=kube-kmip
SERVER=${RELEASE}-server                      # the chart's default server name for this release
SERVER_ADDRESS=${SERVER}.${NAMESPACE}.svc:5696
TENANT=kube-kmip-e2e                          # the tenant's namespace
IMAGE_REPO=${IMAGE_REPO:-ghcr.io/kube-kmip/kube-kmip}
TIMEOUT_SECONDS=${TIMEOUT_SECONDS:-300}
TIMEOUT=${TIMEOUT_SECONDS}s
KINDS=kmipscopes.kubekmip.io,kmiproles.kubekmip.io,kmipclientcredentials.kubekmip.io

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'e2e: %s\n' "$*" >&2; exit 1; }

# Every cluster call names the kind context: never touch whatever cluster the user's kubeconfig has current.
k() { kubectl --context "$CONTEXT" "$@"; }
h() { helm --kube-context "$CONTEXT" "$@"; }

require() {
  local missing=()
  for tool in docker kind helm kubectl base64; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]} > 0)); then
    die "missing: ${missing[*]}. This test needs docker, kind (https://kind.sigs.k8s.io), helm 3 and kubectl on PATH; see test/e2e/README.md."
  fi
  docker info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer (docker info failed): start Docker, or check DOCKER_HOST and your permissions."
}

image_tag() {
  if [[ -n ${IMAGE_TAG:-} ]]; then
    printf '%s' "$IMAGE_TAG"
    return
  fi
  local sha dirty=
  sha=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || date +%s)
  git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || dirty=-dirty
  printf 'e2e-%s%s' "$sha" "$dirty"
}

CREATED_CLUSTER=0
STARTED=0   # set once the tools are there: before that there is nothing to collect
ARTIFACTS=${ARTIFACTS:-}

on_exit() {
  local status=$?
  set +e
  if ((status != 0 && STARTED == 1)); then
    ARTIFACTS=${ARTIFACTS:-$(mktemp -d "${TMPDIR:-/tmp}/kube-kmip-e2e.XXXXXX")}
    mkdir -p "$ARTIFACTS"
    printf '\ne2e: FAILED (exit %d); collecting logs into %s\n' "$status" "$ARTIFACTS" >&2
    if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
      kind export logs "$ARTIFACTS/kind" --name "$CLUSTER" >&2
      k get all,pvc,secrets,configmaps,leases,events -A -o wide >"$ARTIFACTS/objects.txt" 2>&1
      k get "$KINDS" -A -o yaml >"$ARTIFACTS/kube-kmip-resources.yaml" 2>&1
      k -n "$NAMESPACE" logs -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=operator" --all-containers --prefix --tail=-1 >"$ARTIFACTS/operator.log" 2>&1
      k -n "$NAMESPACE" logs -l "kubekmip.io/release=$RELEASE,kubekmip.io/component=server" --all-containers --prefix --tail=-1 >"$ARTIFACTS/server.log" 2>&1
      k -n "$NAMESPACE" logs -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=helm-test" --all-containers --prefix --tail=-1 >"$ARTIFACTS/helm-test.log" 2>&1
      k -n "$TENANT" logs -l app.kubernetes.io/part-of=kube-kmip-e2e --all-containers --prefix --tail=-1 >"$ARTIFACTS/clients.log" 2>&1
    fi
  fi
  if ((CREATED_CLUSTER == 1)) && [[ ${KEEP_CLUSTER:-} != 1 ]]; then
    log "deleting kind cluster $CLUSTER (KEEP_CLUSTER=1 keeps it)"
    kind delete cluster --name "$CLUSTER" >&2
  fi
  exit "$status"
}
trap on_exit EXIT

# Waits until a kubectl get succeeds (an object the operator creates, so `kubectl wait` cannot be used yet).
wait_exists() {
  local deadline=$((SECONDS + TIMEOUT_SECONDS))
  until k get "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for $* to exist"
    sleep 2
  done
}

# client_pod NAME SECRET ARGS...: runs `kmip-client ARGS...` in a pod of the tenant namespace with the
# credential Secret SECRET mounted at /creds, waits for it to finish and prints its output; returns 0
# when kmip-client succeeded, 1 when it failed. The pod meets the "restricted" Pod Security Standard.
client_pod() {
  local name=$1 secret=$2
  shift 2
  local args='' a
  for a in "$@"; do args+="        - \"${a}\""$'\n'; done
  k -n "$TENANT" delete pod "$name" --ignore-not-found --wait=true >/dev/null
  k -n "$TENANT" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/part-of: kube-kmip-e2e
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: kmip-client
      image: ${IMAGE}
      imagePullPolicy: IfNotPresent
      command:
        - node
        - /app/kmip-server/client/cli.ts
${args}      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
      volumeMounts:
        - name: creds
          mountPath: /creds
          readOnly: true
  volumes:
    - name: creds
      secret:
        secretName: ${secret}
EOF
  local deadline=$((SECONDS + TIMEOUT_SECONDS)) phase=''
  while :; do
    phase=$(k -n "$TENANT" get pod "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)
    [[ $phase == Succeeded || $phase == Failed ]] && break
    ((SECONDS < deadline)) || { k -n "$TENANT" describe pod "$name" >&2; die "pod $name did not finish (phase ${phase:-unknown})"; }
    sleep 2
  done
  printf -- '--- pod %s: %s\n' "$name" "$phase" >&2
  k -n "$TENANT" logs "$name" >&2 || true
  [[ $phase == Succeeded ]]
}

expect_ok() { client_pod "$@" || die "pod $1: kmip-client failed, expected it to succeed"; }
expect_fail() { ! client_pod "$@" || die "pod $1: kmip-client succeeded, expected it to fail"; }

client_flags=(--server "$SERVER_ADDRESS" --cert /creds/tls.crt --key /creds/tls.key --ca /creds/ca.crt)

main() {
  require
  STARTED=1
  cd "$ROOT"
  local tag
  tag=$(image_tag)
  IMAGE=${IMAGE_REPO}:${tag}

  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "reusing kind cluster $CLUSTER"
  else
    log "creating kind cluster $CLUSTER"
    local image_flag=()
    if [[ -n ${KIND_NODE_IMAGE:-} ]]; then image_flag=(--image "$KIND_NODE_IMAGE"); fi
    CREATED_CLUSTER=1
    # ${a[@]+"${a[@]}"}: an empty array under set -u, also in the bash 3.2 of macOS.
    kind create cluster --config test/e2e/kind.yaml --name "$CLUSTER" ${image_flag[@]+"${image_flag[@]}"} --wait 120s
  fi

  if [[ ${SKIP_BUILD:-} == 1 ]]; then
    log "using the existing image $IMAGE"
    docker image inspect "$IMAGE" >/dev/null || die "SKIP_BUILD=1 but there is no local image $IMAGE"
  else
    log "building $IMAGE"
    docker build -t "$IMAGE" .
  fi
  log "loading $IMAGE into kind"
  kind load docker-image "$IMAGE" --name "$CLUSTER"

  log "installing the chart (release $RELEASE, namespace $NAMESPACE)"
  local extra=()
  if [[ -n ${E2E_HELM_ARGS:-} ]]; then read -r -a extra <<<"$E2E_HELM_ARGS"; fi
  h upgrade --install "$RELEASE" charts/kube-kmip -n "$NAMESPACE" --create-namespace --wait --timeout "$TIMEOUT" \
    --set image.repository="$IMAGE_REPO" --set image.tag="$tag" --set image.pullPolicy=IfNotPresent ${extra[@]+"${extra[@]}"}

  # helm --wait covers the operator Deployment; the server StatefulSet is the operator's to create.
  log "waiting for the operator to bring up the server"
  wait_exists -n "$NAMESPACE" "statefulset/$SERVER"
  k -n "$NAMESPACE" rollout status "statefulset/$SERVER" --timeout "$TIMEOUT"

  log "tenant scenario in namespace $TENANT: scope, role (Create, Get, Activate, Discover Versions), credential"
  k create namespace "$TENANT" --dry-run=client -o yaml | k apply -f - >/dev/null
  k label namespace "$TENANT" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
  k -n "$TENANT" apply -f - <<'EOF'
apiVersion: kubekmip.io/v1alpha1
kind: KmipScope
metadata:
  name: e2e
spec:
  description: kube-kmip end-to-end test
---
apiVersion: kubekmip.io/v1alpha1
kind: KmipRole
metadata:
  name: e2e
spec:
  scopeRef:
    name: e2e
  operations:
    - operation_create
    - operation_get
    - operation_activate
    - operation_discover_versions
---
apiVersion: kubekmip.io/v1alpha1
kind: KmipClientCredential
metadata:
  name: e2e
spec:
  scopeRef:
    name: e2e
  roleRef:
    name: e2e
  secretName: e2e-client
EOF
  k -n "$TENANT" wait --for=condition=Ready kmipscopes.kubekmip.io/e2e kmiproles.kubekmip.io/e2e kmipclientcredentials.kubekmip.io/e2e --timeout "$TIMEOUT"
  wait_exists -n "$TENANT" secret/e2e-client
  k -n "$TENANT" get "$KINDS" -o wide

  log "kmip-client discover-versions with the issued credential"
  expect_ok e2e-discover-versions e2e-client discover-versions "${client_flags[@]}"

  log "kmip-client query: the role does not grant Query, so the server must refuse it"
  expect_fail e2e-query-denied e2e-client query "${client_flags[@]}"

  log "revocation: delete the credential, then its certificate must no longer be accepted"
  # The credential's Secret is owned by it and goes with it: keep a copy of the certificate first.
  local copy
  copy=$(mktemp -d)
  for f in tls.crt tls.key ca.crt; do
    k -n "$TENANT" get secret e2e-client -o "jsonpath={.data.${f//./\\.}}" | base64 -d >"$copy/$f"
  done
  k -n "$TENANT" create secret generic e2e-client-copy --from-file="$copy" --dry-run=client -o yaml | k -n "$TENANT" apply -f - >/dev/null
  rm -rf "$copy"
  expect_ok e2e-before-revoke e2e-client-copy discover-versions "${client_flags[@]}"
  k -n "$TENANT" delete kmipclientcredentials.kubekmip.io/e2e --wait=true --timeout "$TIMEOUT"
  # The server learns of the deletion through its watch; give it a moment, then retry a few times.
  local attempt
  for attempt in 1 2 3; do
    sleep 3
    client_pod "e2e-after-revoke-$attempt" e2e-client-copy discover-versions "${client_flags[@]}" || break
    ((attempt < 3)) || die "the deleted credential's certificate is still accepted"
  done

  log "helm test $RELEASE"
  h test "$RELEASE" -n "$NAMESPACE" --logs --timeout "$TIMEOUT"

  log "cleaning up the tenant namespace"
  k delete namespace "$TENANT" --wait=true --timeout "$TIMEOUT"

  log "e2e: PASSED (image $IMAGE, cluster $CLUSTER)"
}

main "$@"
