#!/usr/bin/env bash
# Makes sure the base image of worker/Dockerfile, node:20-bookworm-slim, exists in the local Docker engine.
# Sibling of ensure-base-image.sh (which it relies on for debian:bookworm-slim):
#
#   1. already there           -> nothing to do
#   2. `docker pull` works     -> pulled (short timeout: most machines of this project reach no image registry)
#   3. otherwise               -> built locally FROM debian:bookworm-slim with this host's Node.js 20 (the node binary
#                                 and npm copied in, laid out like the official image: /usr/local/bin/node,
#                                 /usr/local/lib/node_modules/npm, user `node` uid/gid 1000), tagged with the same name
#                                 so worker/Dockerfile keeps its normal FROM.
#
# Debian 12's own nodejs package is v18, the worker needs >= 20: hence the host's Node (scripts/install-deps.sh and
# the CI machine have Node 20). Progress is printed as one JSON object per line on stderr.
set -euo pipefail

IMAGE="${NODE_BASE_IMAGE:-node:20-bookworm-slim}"
NODE_MAJOR="${NODE_BASE_MAJOR:-20}"
PULL_TIMEOUT="${BASE_IMAGE_PULL_TIMEOUT:-20}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started=$(date +%s)
log() { printf '{"msg":"%s","step":"%s","elapsed_s":%d%s}\n' "$2" "$1" "$(( $(date +%s) - started ))" "${3:+,$3}" >&2; }
die() { printf '{"level":"error","msg":"%s","step":"%s","hint":"%s"}\n' "$2" "$1" "$3" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die check "docker CLI not found" "install Docker: bash scripts/install-deps.sh"
docker info >/dev/null 2>&1 || die check "Docker engine not reachable" "start dockerd: bash scripts/start-docker.sh"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log present "node base image already present" "\"image\":\"$IMAGE\""
  exit 0
fi

log pull "trying docker pull" "\"image\":\"$IMAGE\",\"timeout_s\":$PULL_TIMEOUT"
if timeout --kill-after=5 "$PULL_TIMEOUT" docker pull -q "$IMAGE" >/dev/null 2>&1 \
  && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log pull "pulled node base image" "\"image\":\"$IMAGE\""
  exit 0
fi
log pull "docker pull failed (no image registry reachable?); building the node base image from debian:bookworm-slim and this host's Node.js" "\"image\":\"$IMAGE\""

bash "$root/scripts/ensure-base-image.sh" || die base "could not provide debian:bookworm-slim" "see the error above"

node_bin="$(command -v node || true)"
[ -n "$node_bin" ] || die node "node not found on this host" "install Node.js $NODE_MAJOR (bash scripts/install-deps.sh)"
node_bin="$(readlink -f "$node_bin")"
version="$("$node_bin" -p 'process.versions.node')"
[ "${version%%.*}" = "$NODE_MAJOR" ] || die node "host Node.js is $version, not $NODE_MAJOR.x" "install Node.js $NODE_MAJOR on this host, or set NODE_BASE_IMAGE/NODE_BASE_MAJOR"
npm_dir=""
for candidate in "$(dirname "$node_bin")/../lib/node_modules/npm" /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm; do
  if [ -f "$candidate/bin/npm-cli.js" ]; then npm_dir="$(cd "$candidate" && pwd)"; break; fi
done
[ -n "$npm_dir" ] || die node "npm not found next to $node_bin" "install npm with Node.js $NODE_MAJOR"
# The binary must run on bookworm's libc; it is dynamically linked against libc/libstdc++ only, which the base has.
ldd "$node_bin" | grep -q 'not found' && die node "$node_bin needs libraries this host lacks" "reinstall Node.js"

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
cp "$node_bin" "$workdir/node"
cp -a "$npm_dir" "$workdir/npm"
cat >"$workdir/Dockerfile" <<EOF
FROM debian:bookworm-slim
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN set -eux; \\
    chown -R root:root /usr/local/lib/node_modules; \\
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; \\
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \\
    groupadd --gid 1000 node; \\
    useradd --uid 1000 --gid node --shell /bin/bash --create-home node; \\
    node -v; npm -v
ENV NODE_VERSION=$version
LABEL code-execution.base=host-node code-execution.base.node=$version
CMD ["node"]
EOF
log build "docker build" "\"image\":\"$IMAGE\",\"node\":\"$version\""
docker build --network none -q -t "$IMAGE" "$workdir" >/dev/null \
  || die build "docker build of $IMAGE failed" "see the build output above; check free disk space (df -h /var/lib/docker)"
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
log done "node base image built locally" "\"image\":\"$IMAGE\",\"size_bytes\":$size"
