#!/usr/bin/env bash
# Makes sure the base image of runner/Dockerfile, debian:bookworm-slim, exists in the local Docker engine.
#
#   1. already there                 -> nothing to do
#   2. `docker pull` works           -> pulled (short timeout: most machines of this project reach no image registry)
#   3. otherwise                     -> built offline from Debian's package mirror with debootstrap (minbase) and
#                                       `docker import`ed under the same tag, so the Dockerfile keeps its normal FROM.
#
# The mirror is the one this machine's apt uses (so the image's own `apt-get update` reaches the same place), falling
# back to http://deb.debian.org/debian. Override with BASE_IMAGE_MIRROR=URL. Needs root for debootstrap.
# Progress is printed as one JSON object per line on stderr.
set -euo pipefail

IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
SUITE="${BASE_IMAGE_SUITE:-bookworm}"
PULL_TIMEOUT="${BASE_IMAGE_PULL_TIMEOUT:-20}"
FALLBACK_MIRROR="http://deb.debian.org/debian"

started=$(date +%s)
log() { # log STEP MSG [extra JSON members, already encoded, e.g. '"image":"x"']
  local extra="${3:-}"
  printf '{"msg":"%s","step":"%s","elapsed_s":%d%s}\n' "$2" "$1" "$(( $(date +%s) - started ))" "${extra:+,$extra}" >&2
}
die() { # die STEP MSG HINT
  printf '{"level":"error","msg":"%s","step":"%s","hint":"%s"}\n' "$2" "$1" "$3" >&2
  exit 1
}

command -v docker >/dev/null 2>&1 || die check "docker CLI not found" "install Docker: bash scripts/install-deps.sh"
docker info >/dev/null 2>&1 || die check "Docker engine not reachable" "start dockerd: bash scripts/start-docker.sh"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log present "base image already present" "\"image\":\"$IMAGE\""
  exit 0
fi

log pull "trying docker pull" "\"image\":\"$IMAGE\",\"timeout_s\":$PULL_TIMEOUT"
if timeout --kill-after=5 "$PULL_TIMEOUT" docker pull -q "$IMAGE" >/dev/null 2>&1 \
  && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log pull "pulled base image" "\"image\":\"$IMAGE\""
  exit 0
fi
log pull "docker pull failed (no image registry reachable?); building the base image offline with debootstrap" "\"image\":\"$IMAGE\""

[ "$(id -u)" -eq 0 ] || die debootstrap "debootstrap needs root" "run as root: sudo bash scripts/ensure-base-image.sh"
command -v debootstrap >/dev/null 2>&1 || die debootstrap "debootstrap not found" "apt-get install -y --no-install-recommends debootstrap (or bash scripts/install-deps.sh)"

# --- the mirror apt uses here ------------------------------------------------------------------------------------
# `apt-get indextargets` lists what `apt-get update` would fetch, from one-line .list and deb822 .sources files alike
# (disabled files excluded). Prefer the entry for our suite; remember a *-security site as well.
mirror="${BASE_IMAGE_MIRROR:-}"
security=""
if command -v apt-get >/dev/null 2>&1; then
  targets=$(apt-get indextargets --format '$(TARGET_OF) $(SITE) $(RELEASE)' 2>/dev/null | sort -u || true)
  if [ -z "$mirror" ]; then
    mirror=$(awk -v s="$SUITE" '$1 == "deb" && $3 == s { print $2; exit }' <<<"$targets")
  fi
  if [ -z "$mirror" ]; then # any Debian archive apt knows, whatever its suite
    mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' <<<"$targets")
  fi
  security=$(awk -v s="$SUITE-security" '$1 == "deb" && $3 == s { print $2; exit }' <<<"$targets")
fi
mirror="${mirror:-$FALLBACK_MIRROR}"
mirror="${mirror%/}"
security="${security%/}"
log mirror "using Debian mirror" "\"mirror\":\"$mirror\",\"security\":\"${security:-none}\""

# --- debootstrap ---------------------------------------------------------------------------------------------------
workdir=$(mktemp -d "${TMPDIR:-/var/tmp}/base-image.XXXXXX")
rootfs="$workdir/rootfs"
cleanup() {
  # debootstrap mounts proc/sys inside the target and can leave them behind when it fails: unmount before deleting.
  if command -v findmnt >/dev/null 2>&1; then
    findmnt -rn -o TARGET | awk -v p="$rootfs/" 'index($0, p) == 1' | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
  fi
  rm -rf --one-file-system "$workdir"
}
trap cleanup EXIT

keyring_opt=()
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] && keyring_opt=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)

log debootstrap "running debootstrap --variant=minbase (about a minute)" "\"suite\":\"$SUITE\",\"dir\":\"$rootfs\""
if ! debootstrap --variant=minbase "${keyring_opt[@]}" "$SUITE" "$rootfs" "$mirror" >"$workdir/debootstrap.log" 2>&1; then
  tail -n 25 "$workdir/debootstrap.log" >&2 || true
  [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 25 "$rootfs/debootstrap/debootstrap.log" >&2
  die debootstrap "debootstrap failed" "check that $mirror answers (apt-get update), or set BASE_IMAGE_MIRROR=URL, then re-run npm run images"
fi
log debootstrap "debootstrap finished"

# --- make it look like the official slim image ---------------------------------------------------------------------
log configure "configuring apt sources and slim-image settings"
rm -f "$rootfs/etc/apt/sources.list"
mkdir -p "$rootfs/etc/apt/sources.list.d" "$rootfs/etc/apt/apt.conf.d" "$rootfs/etc/dpkg/dpkg.cfg.d"
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$SUITE" "$SUITE"
  if [ -n "$security" ]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$security" "$SUITE"
  fi
} >"$rootfs/etc/apt/sources.list.d/debian.sources"

# A mirror that serves a frozen snapshot has expired Release files; carry over this machine's apt settings for that.
if command -v apt-config >/dev/null 2>&1; then
  apt-config dump 2>/dev/null | grep -E '^Acquire::Check-(Valid-Until|Date) ' >"$rootfs/etc/apt/apt.conf.d/99base-image-mirror" || true
  [ -s "$rootfs/etc/apt/apt.conf.d/99base-image-mirror" ] || rm -f "$rootfs/etc/apt/apt.conf.d/99base-image-mirror"
fi

# What the official debian:*-slim images carry: no apt caches, no docs/man/locales from later installs, no service
# starts inside `docker build`.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'Acquire::Languages "none";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
printf 'Acquire::GzipIndexes "true";\n' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
# debootstrap installs the release as published; bring in the point-release and security updates like the official
# image has (not fatal: the release's own packages still make a working base).
log upgrade "applying updates from the mirror"
if chroot "$rootfs" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq -o Dpkg::Options::=--force-confold' \
  >"$workdir/upgrade.log" 2>&1; then
  log upgrade "updates applied" "\"upgraded\":$(grep -c '^Unpacking ' "$workdir/upgrade.log" || true)"
else
  tail -n 15 "$workdir/upgrade.log" >&2 || true
  log upgrade "apt-get upgrade in the new root failed; keeping the release's packages"
fi
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/locale/"* \
  "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb \
  "$rootfs/var/log/"*.log "$rootfs/var/log/apt/"* "$rootfs/debootstrap"
mkdir -p "$rootfs/var/lib/apt/lists/partial"
# Docker provides these at run time.
: >"$rootfs/etc/hostname"
: >"$rootfs/etc/resolv.conf"

# --- import --------------------------------------------------------------------------------------------------------
log import "importing into docker" "\"image\":\"$IMAGE\""
tar --numeric-owner -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . \
  | docker import \
    --change 'CMD ["bash"]' \
    --change "LABEL code-execution.base=debootstrap code-execution.base.mirror=$mirror" \
    - "$IMAGE" >/dev/null \
  || die import "docker import failed" "check the Docker engine (docker info) and free disk space (df -h /var/lib/docker)"

size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
log done "base image built offline" "\"image\":\"$IMAGE\",\"size_bytes\":$size"
