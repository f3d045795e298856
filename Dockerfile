# kube-kmip: one image for the KMIP server, the operator and a small KMIP client.
#
#   docker build -t ghcr.io/kube-kmip/kube-kmip:dev .
#
# Entrypoints (WORKDIR /app; the image's ENTRYPOINT is node itself, so name the script as the first
# argument, e.g. `docker run IMAGE /app/operator/main.ts --help`):
#   node /app/kmip-server/main.ts serve ...          kmip-server    the KMIP server StatefulSet (the operator
#                                                                   writes this command into it from the chart's
#                                                                   server configuration)
#   node /app/operator/main.ts --namespace ...       kmip-operator  the operator Deployment of the Helm chart
#   node /app/kmip-server/client/cli.ts discover-versions ...
#                                                    kmip-client    the chart's `helm test` pod and test/e2e
# `node` is on PATH (see ENV below), so a pod's `command: [node, /app/...]` works as written.
#
# Runtime base: distroless Node.js 24 (Debian 13), tag `nonroot`. Chosen over node:24-*-slim with an
# added user because it has no shell, no package manager, no npm/corepack and no compiler (nothing to
# remove, nothing an intruder could use), and its `nonroot` user is already uid/gid 65532, which the
# chart's securityContext (runAsUser 65532, readOnlyRootFilesystem) expects. Debian 13 rather than 12:
# the distroless project builds its current Node.js images on Debian 13 only. The cost: no shell for
# `kubectl exec`; use `kubectl debug --image=busybox --target=...` instead. Pin digests in a release
# pipeline with --build-arg BUILD_IMAGE=...@sha256:... RUNTIME_IMAGE=...@sha256:....
#
# TypeScript runs as is (Node 24 type stripping): there is no compile step, the build stage only
# installs the production dependencies. No dependency in package-lock.json has an install script
# (test/image/image.test.ts checks it), so scripts are not run.
#
# Writes at run time go only to /var/lib/kube-kmip (SQLite data, a PVC in the chart) and /tmp (an
# emptyDir in the chart); everything else may be a read-only root filesystem.

ARG BUILD_IMAGE=node:24-trixie-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian13:nonroot

FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p /state/var/lib/kube-kmip \
 && chown -R 65532:65532 /state/var/lib/kube-kmip \
 && chmod 0700 /state/var/lib/kube-kmip

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="kube-kmip" \
      org.opencontainers.image.description="Kubernetes-native KMIP key server, its operator and a KMIP client" \
      org.opencontainers.image.licenses="Apache-2.0"
# /nodejs/bin is where distroless keeps node; put it on PATH so `node` resolves for pod commands.
ENV PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    KMIP_DATA_DIR=/var/lib/kube-kmip
WORKDIR /app
# Owned by root and not writable by the runtime user: the code cannot be changed from inside.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY crds ./crds
COPY operator ./operator
COPY kmip-server ./kmip-server
# The data directory, owned by the runtime user, for `docker run` without a volume.
COPY --from=deps --chown=65532:65532 /state/var/lib/kube-kmip /var/lib/kube-kmip
USER 65532:65532
# KMIP (TTLV over TLS), KMIP over HTTPS (optional), operator metrics and health.
EXPOSE 5696 5697 8080
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["/app/kmip-server/main.ts", "--help"]
