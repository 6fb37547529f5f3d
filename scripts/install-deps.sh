#!/usr/bin/env bash
# Installs the Debian packages the tests and `npm run images` need, only those missing (idempotent):
# redis-server, debootstrap, docker.io, postgresql, iproute2, procps, ca-certificates, gcc and make, chromium for the API
# playground's browser test, podman and catatonit for the gcp rehearsal, and the toolchains the process transport runs
# from the host: those of the languages in LANGUAGES (default all; comma-separated recipe names), as their recipes in
# core/languages.ts name them: Debian packages, and npm packages installed globally under /usr/local (needs
# node_modules: `npm ci` first).
# Needs root; otherwise prints the apt command to run and exits 1.
# With package names as arguments, only those are checked (the demo needs no Docker, PostgreSQL or debootstrap);
# the recipes' npm packages are installed only without arguments.
set -euo pipefail

log() { printf '{"msg":"%s","step":"%s"%s}\n' "$2" "$1" "${3:+,$3}" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }
have_initdb() { have initdb || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

# "check|package": check is a command name or a have_* function.
NEEDED=(
  "redis-server|redis-server"
  "debootstrap|debootstrap"
  "dockerd|docker.io"
  "have_initdb|postgresql"
  "ip|iproute2"
  "ps|procps"
  "pkill|procps"
  "update-ca-certificates|ca-certificates"
  "gcc|gcc"
  "make|make"
  # The HTTP API's playground test drives a headless Chromium (playwright-core with Debian's browser).
  "/usr/bin/chromium|chromium"
  # The gcp rehearsal plays the stack's pods with `podman kube play`, which builds its pause image with catatonit.
  "podman|podman"
  "catatonit|catatonit"
)

# The recipes' packages (runner/languagePackages.ts reads core/languages.ts).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
recipe_packages() { # recipe_packages debian|npm
  [ -x "$root/node_modules/.bin/tsx" ] || { log recipes "node_modules missing: run npm ci first (the recipes are TypeScript)"; exit 1; }
  "$root/node_modules/.bin/tsx" "$root/runner/languagePackages.ts" "$1" "${LANGUAGES:-all}"
}
# Assigned first: a failure here stops the script (set -e), where it would go unnoticed inside the for list.
debian_packages=$(recipe_packages debian)
for pkg in $debian_packages; do NEEDED+=("dpkg:$pkg|$pkg"); done

# present CHECK: a have_* function, dpkg:PACKAGE (installed), an absolute path to an executable, or a command name.
present() {
  if [[ "$1" == have_* ]]; then "$1"
  elif [[ "$1" == dpkg:* ]]; then dpkg-query -W -f '${Status}' "${1#dpkg:}" 2>/dev/null | grep -q 'ok installed'
  elif [[ "$1" == /* ]]; then [ -x "$1" ]
  else have "$1"; fi
}
# Entries selected by the arguments (all without arguments), one "check|package" per line.
wanted=()
for entry in "${NEEDED[@]}"; do
  if [ "$#" -eq 0 ] || [[ " $* " == *" ${entry#*|} "* ]]; then wanted+=("$entry"); fi
done

missing=()
for entry in "${wanted[@]}"; do
  check="${entry%%|*}" pkg="${entry#*|}"
  present "$check" && continue
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done
# gcc needs libc headers to build the sandbox programs.
if have gcc && [ ! -e /usr/include/stdio.h ]; then missing+=(libc6-dev); fi

# npm packages of the recipes, name@version: present when /usr/local/lib/node_modules holds that version.
npm_missing=()
if [ "$#" -eq 0 ]; then
  npm_packages=$(recipe_packages npm)
  for spec in $npm_packages; do
    name="${spec%@*}" version="${spec##*@}"
    installed=$(node -p "require('/usr/local/lib/node_modules/$name/package.json').version" 2>/dev/null || true)
    [ "$installed" = "$version" ] || npm_missing+=("$spec")
  done
fi
install_npm() {
  [ "${#npm_missing[@]}" -eq 0 ] && return 0
  log npm "npm install --global --prefix /usr/local" "\"packages\":\"${npm_missing[*]}\""
  npm install --global --prefix /usr/local --ignore-scripts --no-audit --no-fund "${npm_missing[@]}" >&2
}

if [ "${#missing[@]}" -eq 0 ]; then
  install_npm
  log check "all dependencies present"
  exit 0
fi
log check "missing packages" "\"packages\":\"${missing[*]}\""

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  printf '{"level":"error","msg":"root needed to install packages","step":"install","hint":"run as root: %s"}\n' "$cmd" >&2
  echo "$cmd"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
out=$(mktemp)
trap 'rm -f "$out"' EXIT
log update "apt-get update"
if ! apt-get update -qq >"$out" 2>&1; then cat "$out" >&2; log update "apt-get update failed"; exit 1; fi
log install "apt-get install" "\"packages\":\"${missing[*]}\""
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$out" 2>&1; then
  tail -n 40 "$out" >&2
  log install "apt-get install failed"
  exit 1
fi

# Verify.
still=()
for entry in "${wanted[@]}"; do
  present "${entry%%|*}" || still+=("${entry%%|*}")
done
if [ "${#still[@]}" -ne 0 ]; then
  log verify "still missing after install" "\"commands\":\"${still[*]}\""
  exit 1
fi
install_npm
log done "dependencies installed" "\"packages\":\"${missing[*]}\""
