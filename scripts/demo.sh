#!/usr/bin/env bash
# `npm run demo`, the README's first command: prepares what the embedded default needs on a fresh Debian
# machine (redis-server, the toolchains; node_modules; the runner build), then runs the examples.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh redis-server gcc python3 g++ default-jdk-headless nodejs procps
[ -d node_modules ] || { echo '{"msg":"installing node modules (npm ci)","step":"demo"}' >&2; npm ci --no-audit --no-fund >&2; }
npm run --silent build >&2
exec node bin/code-exec.js demo "$@"
