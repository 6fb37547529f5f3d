#!/usr/bin/env bash
# run.sh GUEST_DIR WORKDIR COMMAND [ARGS...]: boots the guest that build.sh made in GUEST_DIR (a throw-away QEMU
# machine with a cgroup v2 only kernel whose root is this host's root, read-only, under a tmpfs overlay), runs
# COMMAND as root in WORKDIR (a host path, seen by the guest as it is here), streams its output (stdout and stderr
# together) and exits with its status. Each boot starts from the host's files as they are: nothing the guest
# writes reaches the host, and nothing is left in the guest for the next boot.
# Environment: GUEST_ENV names variables to pass besides PATH, HOME, LANG and CI; GUEST_SMP (2 vCPUs: the host's two
# cores, since the worker, the supervisor and a job run at once), GUEST_MEM (3G), GUEST_TIMEOUT (900 s), GUEST_ACCEL
# (tcg; kvm where the host's KVM works: here it does not), GUEST_CPU (the emulated CPU model, max).
# Exit: the command's status; 124 when the guest ran past GUEST_TIMEOUT; 125 when the guest never reported one.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 3 ] || { echo "usage: run.sh GUEST_DIR WORKDIR COMMAND [ARGS...]" >&2; exit 2; }
GUEST=$(cd "$1" && pwd) || exit 125
WORKDIR=$(cd "$2" && pwd) || exit 125
shift 2

# The control share: how stage 2 is told what to run and where, and where it leaves the status.
RUN=$(mktemp -d "$GUEST/run.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
cp "$HERE/stage2.sh" "$RUN/stage2.sh"
printf '%s\n' "$WORKDIR" > "$RUN/workdir"
{
  for name in PATH HOME LANG CI ${GUEST_ENV:-}; do
    [ -n "${!name+x}" ] && printf 'export %s=%q\n' "$name" "${!name}"
  done
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} > "$RUN/command"

# The guest's output port is written to a fifo and copied out as it comes. This script holds the fifo open on both
# ends (fd 3) while QEMU runs, so that neither side's open blocks whichever starts first; closing it afterwards is
# what ends the copy.
mkfifo "$RUN/out"
exec 3<> "$RUN/out"
cat "$RUN/out" 3>&- &
COPY=$!

if [ "${GUEST_ACCEL:-tcg}" = kvm ]; then ACCEL=kvm CPU=host; else ACCEL=tcg,thread=multi CPU=${GUEST_CPU:-max}; fi
timeout "${GUEST_TIMEOUT:-900}" qemu-system-x86_64 \
  -accel "$ACCEL" -cpu "$CPU" -smp "${GUEST_SMP:-2}" -m "${GUEST_MEM:-3G}" \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$GUEST/vmlinux" -initrd "$GUEST/initrd.img" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all" \
  -serial "file:$RUN/console.log" \
  -device virtio-serial-pci -chardev "file,id=out,path=$RUN/out" -device virtserialport,chardev=out,name=out \
  -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
  -virtfs "local,path=$RUN,mount_tag=vmctl,security_model=none" \
  3>&- < /dev/null
QEMU=$?
exec 3>&-
wait "$COPY"

if [ -s "$RUN/status" ]; then exit "$(cat "$RUN/status")"; fi
echo "run.sh: the guest reported no status (qemu exited $QEMU); the end of its console:" >&2
tail -n 40 "$RUN/console.log" >&2
[ "$QEMU" = 124 ] && exit 124
exit 125
