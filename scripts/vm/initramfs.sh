#!/bin/sh
# Builds <kernel-dir>/initrd.cpio.gz for a kernel unpacked by scripts/vm/kernels.sh: a static
# busybox, scripts/vm/init.sh as /init, and the modules needed to mount 9p over virtio, with
# their dependencies read from each module's .modinfo (the package ships no modules.dep).
# Compressed modules (.ko.xz, .ko.zst) are stored decompressed: busybox insmod may not
# decompress. Idempotent: rebuilt only when its inputs change. Prints the image's path.
#   scripts/vm/initramfs.sh <kernel-dir>
# OOMTRACE_VM_EXTRA_MODULES: more module names to load (space separated).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# = 1 ] || vm_die "usage: initramfs.sh <kernel-dir>"
kdir=$(cd "$1" && pwd)
[ -f "$kdir/.oomtrace-kernel-complete" ] || vm_die "$kdir is not a kernel unpacked by scripts/vm/kernels.sh"
out=$kdir/initrd.cpio.gz
roots="9p 9pnet_virtio virtio_pci ${OOMTRACE_VM_EXTRA_MODULES:-}"

busybox=$(vm_busybox)
vm_need modinfo kmod
vm_need xz xz-utils

# The stamp names every input; an image with the same stamp is current.
stamp=$(cat "$here/init.sh" "$0" "$kdir/.oomtrace-kernel-complete" "$busybox" | sha256sum | cut -c1-16)-$(echo "$roots" | tr -s ' ' '_')
exec 7>"$kdir/.initrd.lock"
flock 7
if [ -f "$out" ] && [ "$(cat "$kdir/initrd.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$out"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/root/bin" "$tmp/root/modules" "$tmp/root/proc" "$tmp/root/sys" "$tmp/root/dev" "$tmp/root/host" "$tmp/root/results"

# name (with _ for -) -> file, for every module of the package.
find "$kdir/modules/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' |
  awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n); gsub(/-/, "_", n); print n " " $0 }' >"$tmp/index"
builtin() { # is module NAME built into the kernel?
  sed 's#.*/##; s/\.ko$//; s/-/_/g' "$kdir/modules/modules.builtin" | grep -qx "$1"
}

# Depth-first: a module goes into the order after everything it depends on. The body is a
# subshell, so each level keeps its own variables; the state lives in files.
: >"$tmp/order"
: >"$tmp/visiting"
add() (
  name=$(echo "$1" | tr - _)
  grep -qx "$name" "$tmp/order" && return 0
  if grep -qx "$name" "$tmp/visiting"; then vm_die "module dependency cycle at $name"; fi
  file=$(awk -v n="$name" '$1 == n { print $2; exit }' "$tmp/index")
  if [ -z "$file" ]; then
    builtin "$name" && return 0
    vm_die "module $name: neither a module of $(cat "$kdir/release") nor built in"
  fi
  ko=$tmp/root/modules/$name.ko
  case $file in
    *.ko.xz) xz -dc "$file" >"$ko" ;;
    *.ko.zst) vm_need zstd zstd; zstd -qdc "$file" >"$ko" ;;
    *.ko.gz) gzip -dc "$file" >"$ko" ;;
    *) cp "$file" "$ko" ;;
  esac
  echo "$name" >>"$tmp/visiting"
  for dep in $(modinfo -F depends "$ko" | tr , ' '); do add "$dep"; done
  echo "$name" >>"$tmp/order"
)
for r in $roots; do add "$r"; done
cp "$tmp/order" "$tmp/root/modules/order"

cp "$busybox" "$tmp/root/bin/busybox"
ln -s busybox "$tmp/root/bin/sh"
cp "$here/init.sh" "$tmp/root/init"
chmod 755 "$tmp/root/init"
(cd "$tmp/root" && find . | sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -9n >"$tmp/initrd.cpio.gz"
mv "$tmp/initrd.cpio.gz" "$out"
echo "$stamp" >"$kdir/initrd.stamp"
echo "vm: $out: modules $(tr '\n' ' ' <"$tmp/order")($(du -k "$out" | cut -f1) KiB)" >&2
echo "$out"
