#!/bin/bash
# Second stage of the cgroup v2 guest (scripts/cgroup-v2-guest/build.sh), pid 1, in the host's own userland: mounts
# what a booted Debian has, with the unified hierarchy only (the kernel runs with cgroup_no_v1=all) mounted as
# systemd mounts it (nsdelegate), and no controller enabled anywhere, so that what the code under test enables is
# all there is. Then runs /vmctl/command with its output on the "out" port, leaves its status in /vmctl/status and
# powers the guest off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
# A checkout under /tmp (a fresh clone may be there) must stay where it is once the guest's own /tmp is mounted.
workdir=$(cat /vmctl/workdir)
case "$workdir" in /tmp/*) mkdir -p /.workdir && mount --bind "$workdir" /.workdir ;; esac
mount -t tmpfs -o mode=1777 tmp /tmp
case "$workdir" in /tmp/*) mkdir -p "$workdir" && mount --move /.workdir "$workdir" ;; esac
mount -t tmpfs -o mode=0755 run /run
ip link set lo up
hostname cgroup-v2-guest

console=/dev/ttyS0
out=$console
for port in /sys/class/virtio-ports/*; do
  [ "$(cat "$port/name" 2>/dev/null)" = out ] && out=/dev/${port##*/}
done
echo "cgroup-v2-guest: command starts at $(cut -d' ' -f1 /proc/uptime) s of uptime" > "$console"
cd "$workdir" || exit 1
/bin/bash /vmctl/command < /dev/null > "$out" 2>&1
echo $? > /vmctl/status
# pid 1 must not exit (the kernel would panic) while the power-off goes on, nor start a program from the host's
# root while the 9p device goes away: it waits on a fifo made beforehand, with bash's own read.
mkfifo /run/power-off
sync
echo o > /proc/sysrq-trigger
read -r -t 120 _ <> /run/power-off
