#!/usr/bin/env bash
# Builds the cgroup v2 guest of scripts/cgroup-v2-lane.sh into DIR: Debian's current kernel (linux-image-amd64's
# versioned package) as an uncompressed ELF (QEMU boots it directly through PVH, skipping the decompressor, which is
# slow under emulation) and a small busybox initramfs that mounts this host's root over 9p and hands over to
# stage2.sh (which run.sh puts in the control share). DIR/kernel-version names what was built: a DIR that already
# holds the current version is left as it is. Pipelines here never stop reading early: under pipefail, a writer
# killed by SIGPIPE would fail the build at random.
# Needs: apt-get (download only), busybox-static, cpio, xz-utils, gzip.
set -euo pipefail
DIR=${1:?usage: build.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

PACKAGE=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ && !found { print $2; found = 1 }')
[ -n "$PACKAGE" ] || { echo "build.sh: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
VERSION=${PACKAGE#linux-image-}
if [ -s "$DIR/vmlinux" ] && [ -s "$DIR/initrd.img" ] && [ "$(cat "$DIR/kernel-version" 2>/dev/null)" = "$VERSION" ]; then
  echo "build.sh: $DIR already holds the guest for $VERSION"
  exit 0
fi

WORK=$(mktemp -d "$DIR/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# As root, apt warns that its sandbox user cannot reach the directory; only a failure is worth showing.
(cd "$WORK" && apt-get download "$PACKAGE" > apt.log 2>&1) || { cat "$WORK/apt.log" >&2; exit 1; }
dpkg-deb -x "$WORK"/"$PACKAGE"_*.deb "$WORK/kernel"

# The bzImage carries the kernel as one xz stream after the setup code; what follows the stream is not xz, so
# xz's complaint about it is expected and the ELF header is what tells success.
BZIMAGE=$WORK/kernel/boot/vmlinuz-$VERSION
AT=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$BZIMAGE" | LC_ALL=C sed -n '1s/:.*//p')
[ -n "$AT" ] || { echo "build.sh: no xz stream in $BZIMAGE" >&2; exit 1; }
tail -c +"$((AT + 1))" "$BZIMAGE" | xz -dc > "$WORK/vmlinux" 2>/dev/null || true
[ "$(head -c 4 "$WORK/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || { echo "build.sh: could not unpack an ELF kernel from $BZIMAGE" >&2; exit 1; }

# Modules the first stage needs (Debian builds them as modules), each after what it depends on: the order comes from
# each module's own "depends=" record, so a newer kernel with other dependencies still loads.
MODULES=$WORK/kernel/lib/modules/$VERSION/kernel
ROOTFS=$WORK/initramfs
mkdir -p "$ROOTFS"/{bin,modules,dev,proc,sys,lower,upper,newroot}
declare -A LOADED=()
ORDER=()
module_file() { find "$MODULES" \( -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" \) -print -quit; }
add_module() {
  local name=$1 file dep
  [ -z "${LOADED[$name]:-}" ] || return 0
  LOADED[$name]=1
  file=$(module_file "$name")
  [ -n "$file" ] || return 0 # built into this kernel
  case "$file" in
    *.xz) xz -dc "$file" > "$ROOTFS/modules/$name.ko" ;;
    *.zst) zstd -qdc "$file" > "$ROOTFS/modules/$name.ko" ;;
    *) cp "$file" "$ROOTFS/modules/$name.ko" ;;
  esac
  for dep in $(tr '\0' '\n' < "$ROOTFS/modules/$name.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$dep"; done
  ORDER+=("$name")
}
for m in virtio_pci virtio_console 9pnet_virtio 9p overlay; do add_module "${m}"; done
printf '%s\n' "${ORDER[@]}" > "$ROOTFS/modules/order"

cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for applet in sh mount umount insmod mkdir cat switch_root; do ln -s busybox "$ROOTFS/bin/$applet"; done
cat > "$ROOTFS/init" <<'INIT'
#!/bin/sh
# First stage (busybox): the host's root over 9p, read-only, under a tmpfs overlay (the guest writes where it
# likes and nothing reaches the host), the control share at /vmctl, then the host's own userland runs stage2.sh.
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod "/modules/$m.ko" || echo "guest init: cannot load $m" > /dev/ttyS0; done
give_up() { echo "guest init: $*" > /dev/ttyS0; echo o > /proc/sysrq-trigger; exec sh -c 'read x < /dev/console'; }
SHARE=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$SHARE,ro,cache=loose" hostroot /lower || give_up "cannot mount the host root"
mount -t tmpfs -o mode=0755 upper /upper || give_up "cannot mount the overlay's upper tmpfs"
mkdir /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work root /newroot || give_up "cannot mount the overlay root"
mkdir -p /newroot/vmctl
mount -t 9p -o "$SHARE" vmctl /newroot/vmctl || give_up "cannot mount the control share"
mount --move /dev /newroot/dev
umount /proc
exec switch_root /newroot /bin/bash /vmctl/stage2.sh
INIT
chmod 755 "$ROOTFS/init"
(cd "$ROOTFS" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.img"

mv "$WORK/vmlinux" "$DIR/vmlinux"
mv "$WORK/initrd.img" "$DIR/initrd.img"
printf '%s\n' "$VERSION" > "$DIR/kernel-version"
echo "build.sh: built the guest for $VERSION in $DIR (modules: ${ORDER[*]})"
