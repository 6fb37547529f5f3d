#!/usr/bin/env bash
# `npm run images`: builds the Docker images the docker transport runs.
#   1. scripts/ensure-base-image.sh   debian:bookworm-slim (pulled, or built offline with debootstrap)
#      scripts/ensure-node-image.sh   node:24-bookworm-slim (pulled, or built from it with Node.js 24 from the npm registry)
#   2. npm run build                  dist/sandbox-executor, dist/sandbox-supervisor and the language scripts
#   3. docker build                   each image in IMAGES below
# Env: IMAGE_BUILD_NETWORK (default host: RUN steps use the host's network to reach the package mirror, which avoids
# bridge MTU/NAT trouble on VMs), SKIP_NPM_BUILD=1 to reuse an existing dist/, IMAGE_BUILD_CA_DIR (default
# /usr/local/share/ca-certificates: locally added CAs, passed to builds that reach the npm registry over TLS).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Images to build, one "tag|Dockerfile|LANGUAGES build argument" per entry, in order: the runner with every language,
# a small one with only MINIMAL_LANGUAGES (default python,c; the Dockerfile's LANGUAGES argument), the worker, and the
# local stack's object store.
MINIMAL_LANGUAGES="${MINIMAL_LANGUAGES:-python,c}"
IMAGES=(
  "code-runner:latest|runner/Dockerfile|all"
  "code-runner-minimal:latest|runner/Dockerfile|$MINIMAL_LANGUAGES"
  "code-worker:latest|worker/Dockerfile|"
  "code-object-store:latest|components/objectStore/Dockerfile|"
)

started=$(date +%s)
log() { printf '{"msg":"%s","step":"%s","elapsed_s":%d%s}\n' "$2" "$1" "$(( $(date +%s) - started ))" "${3:+,$3}" >&2; }
die() { printf '{"level":"error","msg":"%s","step":"%s","hint":"%s"}\n' "$2" "$1" "$3" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die check "docker CLI not found" "install Docker: bash scripts/install-deps.sh (as root)"
docker info >/dev/null 2>&1 || die check "Docker engine not reachable" "start dockerd: bash scripts/start-docker.sh (as root), or add your user to the docker group"

log base "ensuring the base image"
bash scripts/ensure-base-image.sh || die base "could not provide debian:bookworm-slim" "see the error above, then re-run npm run images"
bash scripts/ensure-node-image.sh || die base "could not provide node:24-bookworm-slim" "see the error above, then re-run npm run images"

if [ "${SKIP_NPM_BUILD:-}" = 1 ]; then
  log build "SKIP_NPM_BUILD=1: reusing dist/"
else
  log build "npm run build"
  npm run --silent build || die build "npm run build failed" "fix the build error above (npm ci first if node_modules is missing), then re-run npm run images"
fi
[ -s dist/sandbox-executor ] && [ -s dist/runner-hash ] || die build "dist/sandbox-executor missing" "run npm run build"

# Site CAs (a TLS-intercepting proxy on the way to the npm registry); Dockerfiles that do not declare the arg ignore it.
extra_ca_certs="$(cat "${IMAGE_BUILD_CA_DIR:-/usr/local/share/ca-certificates}"/*.crt 2>/dev/null || true)"

for entry in "${IMAGES[@]}"; do
  IFS='|' read -r tag dockerfile languages <<<"$entry"
  t0=$(date +%s)
  log image "docker build" "\"image\":\"$tag\",\"dockerfile\":\"$dockerfile\",\"languages\":\"$languages\""
  # The source hash lets tests and workers tell an image built from older runner code (see dist/runner-hash).
  # Also tagged by that hash: checkouts with different runner code (worktrees, CI) each find their own image.
  if ! docker build --network "${IMAGE_BUILD_NETWORK:-host}" --label "code-execution.runner-hash=$(cat dist/runner-hash)" \
    --build-arg EXTRA_CA_CERTS="$extra_ca_certs" ${languages:+--build-arg LANGUAGES="$languages"} -f "$dockerfile" -t "$tag" -t "${tag%%:*}:$(cat dist/runner-hash)" . ; then
    die image "docker build of $tag failed" "see the build output above; apt failures: check the mirror in /etc/apt/sources.list.d of debian:bookworm-slim (docker rmi debian:bookworm-slim rebuilds it)"
  fi
  size=$(docker image inspect -f '{{.Size}}' "$tag")
  log image "built" "\"image\":\"$tag\",\"languages\":\"$languages\",\"size_bytes\":$size,\"build_s\":$(( $(date +%s) - t0 ))"
done
# Rebuilds leave the previous images dangling; only those (untagged, our label) are removed.
docker image prune -f --filter "label=code-execution.image=runner" >/dev/null || true
docker image prune -f --filter "label=code-execution.image=worker" >/dev/null || true
docker image prune -f --filter "label=code-execution.image=object-store" >/dev/null || true
log done "images ready"
