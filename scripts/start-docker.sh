#!/usr/bin/env bash
# Makes sure a Docker engine answers: if `docker info` works, nothing to do; otherwise starts dockerd in the background
# (logs: /tmp/dockerd.log) and waits up to 60 s for it. Needs root to start dockerd.
set -euo pipefail

LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"
WAIT="${DOCKERD_WAIT:-60}"
log() { printf '{"msg":"%s","step":"%s"%s}\n' "$2" "$1" "${3:+,$3}" >&2; }
die() { printf '{"level":"error","msg":"%s","step":"%s","hint":"%s"}\n' "$2" "$1" "$3" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die check "docker CLI not found" "install Docker: bash scripts/install-deps.sh (as root)"
if docker info >/dev/null 2>&1; then
  log check "docker engine already running"
  exit 0
fi
command -v dockerd >/dev/null 2>&1 || die check "dockerd not found" "install Docker: bash scripts/install-deps.sh (as root)"
[ "$(id -u)" -eq 0 ] || die check "Docker engine not reachable and starting dockerd needs root" "run as root: bash scripts/start-docker.sh"

# A dockerd that is running but not answering yet: wait for it rather than start a second one.
pid=""
[ -s /var/run/docker.pid ] && pid=$(cat /var/run/docker.pid 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
  log start "dockerd already started, waiting for it" "\"pid\":$pid"
else
  rm -f /var/run/docker.pid
  # cgroup v1 hierarchies are normally mounted at boot; mount them if not (and the tool is there).
  if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ ! -d /sys/fs/cgroup/memory ] && command -v cgroupfs-mount >/dev/null 2>&1; then
    log start "mounting cgroups"
    cgroupfs-mount || true
  fi
  log start "starting dockerd" "\"log\":\"$LOG\""
  nohup setsid dockerd </dev/null >>"$LOG" 2>&1 &
  pid=$!
fi

for ((i = 1; i <= WAIT; i++)); do
  if docker info >/dev/null 2>&1; then
    log ready "docker engine ready" "\"waited_s\":$i"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null && ! pgrep -x dockerd >/dev/null 2>&1; then
    break
  fi
  (( i % 10 == 0 )) && log wait "waiting for dockerd" "\"waited_s\":$i"
  sleep 1
done

echo "--- last lines of $LOG ---" >&2
tail -n 30 "$LOG" >&2 || true
die ready "dockerd did not answer within ${WAIT}s" "read $LOG; common causes: another dockerd/containerd still running (ps -ef | grep -E 'dockerd|containerd'), missing iptables or cgroups; fix, then re-run bash scripts/start-docker.sh"
