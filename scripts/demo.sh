#!/usr/bin/env bash
# `npm run demo`, the README's first command: prepares what the embedded default needs on a fresh Debian
# machine (redis-server, the toolchains; node_modules; the runner build), then runs the examples.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# node_modules first: install-deps.sh reads the language recipes (TypeScript) for the toolchains' packages.
[ -d node_modules ] || { echo '{"msg":"installing node modules (npm ci)","step":"demo"}' >&2; npm ci --no-audit --no-fund >&2; }
bash scripts/install-deps.sh redis-server gcc python3 g++ default-jdk-headless nodejs procps
npm run --silent build >&2
exec node bin/code-exec.js demo "$@"
