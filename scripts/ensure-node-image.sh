#!/usr/bin/env bash
# Makes sure the Node.js base image of worker/Dockerfile, components/objectStore/Dockerfile and the runner's npm stage,
# node:24-bookworm-slim (Node.js 24, a supported LTS line), exists in the local Docker engine.
# Sibling of ensure-base-image.sh (which it relies on for debian:bookworm-slim):
#
#   1. already there           -> nothing to do
#   2. `docker pull` works     -> pulled (short timeout: most machines of this project reach no image registry)
#   3. otherwise               -> built locally FROM debian:bookworm-slim with Node.js from the npm registry (the
#                                 node-linux-<arch> package of the newest 24.x: the official build's binary) and this
#                                 host's npm, laid out like the official image (/usr/local/bin/node,
#                                 /usr/local/lib/node_modules/npm, user `node` uid/gid 1000), tagged with the same
#                                 name so the Dockerfiles keep their normal FROM.
#
# Neither Debian 12 (18) nor this host (20, end of life) has a supported Node.js, hence the npm registry's. Progress is
# printed as one JSON object per line on stderr.
set -euo pipefail

NODE_MAJOR="${NODE_BASE_MAJOR:-24}"
IMAGE="${NODE_BASE_IMAGE:-node:$NODE_MAJOR-bookworm-slim}"
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
log pull "docker pull failed (no image registry reachable?); building the node base image from debian:bookworm-slim and Node.js from the npm registry" "\"image\":\"$IMAGE\""

bash "$root/scripts/ensure-base-image.sh" || die base "could not provide debian:bookworm-slim" "see the error above"

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) die node "no Node.js package for $(uname -m)" "pull $IMAGE on a machine that reaches Docker Hub" ;;
esac
npm_cli="$(command -v npm || true)"
[ -n "$npm_cli" ] || die node "npm not found on this host" "install Node.js and npm (bash scripts/install-deps.sh)"
npm_dir="$(cd "$(dirname "$(readlink -f "$npm_cli")")/.." && pwd)"
[ -f "$npm_dir/bin/npm-cli.js" ] || die node "npm's package not found next to $npm_cli" "reinstall npm"

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
log fetch "npm pack node-linux-$arch@$NODE_MAJOR" "\"major\":$NODE_MAJOR"
tarball="$(cd "$workdir" && npm pack --silent "node-linux-$arch@$NODE_MAJOR")" \
  || die fetch "npm pack node-linux-$arch@$NODE_MAJOR failed" "check that the npm registry is reachable (npm ping)"
tar -xzf "$workdir/$tarball" -C "$workdir"
version="$("$workdir/package/bin/node" -p 'process.versions.node')" \
  || die node "the Node.js binary of $tarball does not run here" "see the error above"
cp "$workdir/package/bin/node" "$workdir/node"
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
LABEL code-execution.base=npm-node code-execution.base.node=$version
CMD ["node"]
EOF
log build "docker build" "\"image\":\"$IMAGE\",\"node\":\"$version\""
docker build --network none -q -t "$IMAGE" "$workdir" >/dev/null \
  || die build "docker build of $IMAGE failed" "see the build output above; check free disk space (df -h /var/lib/docker)"
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
log done "node base image built locally" "\"image\":\"$IMAGE\",\"node\":\"$version\",\"size_bytes\":$size"
