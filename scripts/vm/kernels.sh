#!/bin/sh
# Downloads the Debian kernels the VM tests boot, and unpacks each once under
#   ${OOMTRACE_CACHE:-/var/cache/oomtrace}/kernels/<name>/
#     vmlinuz  modules/ (the package's lib/modules/<release> tree)  config  System.map  release
#     .oomtrace-kernel-complete (the marker: package, version, release; a dir without it is not done)
# Names: bookworm-6.1 (the linux-image-*-amd64 that bookworm's linux-image-amd64 depends on, from
# the host's apt) and trixie-6.12 (the same from the Debian trixie root that
# scripts/bpftrace-trixie.sh builds). Idempotent: a cached kernel is not downloaded again
# (delete its dir to refresh it). Prints one kernel dir per line.
#   scripts/vm/kernels.sh [name...]      (default: all)
# Needs root. The mirror is the one apt already uses here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vm_need_root
marker=.oomtrace-kernel-complete

# deb_download_host DESTDIR: the bookworm kernel package, with the host's apt.
deb_download_host() {
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1)
  if [ -z "$pkg" ]; then
    vm_apt_updated=1
    apt-get update -qq >&2 || vm_die "apt-get update failed"
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1)
  fi
  [ -n "$pkg" ] || vm_die "apt knows no linux-image-amd64 here"
  echo "vm: downloading $pkg (host apt)" >&2
  (cd "$1" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) || vm_die "apt-get download $pkg failed"
}

# deb_download_trixie DESTDIR: the trixie kernel package, with apt inside the trixie root.
deb_download_trixie() {
  vm_need debootstrap debootstrap
  sh "$here/../bpftrace-trixie.sh" >/dev/null || vm_die "scripts/bpftrace-trixie.sh failed"
  root=$vm_cache/trixie-root
  [ -x "$root/usr/bin/apt-get" ] || vm_die "no trixie root at $root"
  work=/tmp/oomtrace-kernel.$$
  rm -rf "$root$work"
  mkdir -p "$root$work"
  echo "vm: downloading trixie's kernel package (apt in $root)" >&2
  # unshare -m: the bind mounts live and die with this one command. The trixie root's lock
  # keeps this apt from running while scripts/bpftrace-trixie.sh rebuilds the root.
  flock "$vm_cache/.trixie.lock" unshare -m --propagation private /bin/sh -c '
    set -e
    root=$1 work=$2
    for d in proc sys dev; do mount --rbind "/$d" "$root/$d"; done
    exec chroot "$root" /bin/sh -c "
      set -e
      apt-get update -qq
      pkg=\$(apt-cache depends linux-image-amd64 | sed -n \"s/^ *Depends: \\(linux-image-[^ ]*\\)\$/\\1/p\" | head -n1)
      [ -n \"\$pkg\" ] || { echo \"trixie apt knows no linux-image-amd64\" >&2; exit 1; }
      echo \"vm: downloading \$pkg (trixie apt)\" >&2
      cd $work && apt-get download -q -o APT::Sandbox::User=root \$pkg
    "
  ' trixie-apt "$root" "$work" >&2 || { rm -rf "$root$work"; vm_die "downloading trixie's kernel failed"; }
  mv "$root$work"/*.deb "$1"/
  rm -rf "$root$work"
}

# fetch NAME: makes $vm_kernels/NAME unless its marker is there.
fetch() {
  name=$1 dir=$vm_kernels/$1
  [ -f "$dir/$marker" ] && return 0
  case $name in
    bookworm-6.1) get=deb_download_host ;;
    trixie-6.12) get=deb_download_trixie ;;
    *) vm_die "unknown kernel '$name' (bookworm-6.1, trixie-6.12)" ;;
  esac
  tmp=$vm_kernels/.$name.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp/deb" "$tmp/x"
  trap 'rm -rf "$tmp"' EXIT INT TERM
  $get "$tmp/deb"
  deb=$(ls "$tmp"/deb/linux-image-*.deb | head -n1)
  [ -f "$deb" ] || vm_die "no .deb downloaded for $name"
  dpkg-deb -x "$deb" "$tmp/x"
  vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* | head -n1)
  release=${vmlinuz##*/vmlinuz-}
  mods=""
  for m in "$tmp/x/lib/modules/$release" "$tmp/x/usr/lib/modules/$release"; do
    [ -d "$m" ] && mods=$m
  done
  [ -n "$mods" ] || vm_die "$deb has no modules tree for $release"
  mv "$vmlinuz" "$tmp/vmlinuz"
  mv "$mods" "$tmp/modules"
  mv "$tmp/x/boot/config-$release" "$tmp/config"
  mv "$tmp/x/boot/System.map-$release" "$tmp/System.map" 2>/dev/null || true
  echo "$release" >"$tmp/release"
  {
    echo "package=$(dpkg-deb -f "$deb" Package)"
    echo "version=$(dpkg-deb -f "$deb" Version)"
    echo "release=$release"
    echo "fetched=$(date -u +%FT%TZ)"
  } >"$tmp/$marker.tmp"
  rm -rf "$tmp/x" "$tmp/deb"
  mv "$tmp/$marker.tmp" "$tmp/$marker"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT INT TERM
  echo "vm: $name is $(sed -n 's/^package=//p' "$dir/$marker") $(sed -n 's/^version=//p' "$dir/$marker") in $dir" >&2
}

[ $# -gt 0 ] || set -- bookworm-6.1 trixie-6.12
mkdir -p "$vm_kernels"
# One fetcher at a time; a second caller waits, then finds the markers.
exec 8>"$vm_kernels/.lock"
flock 8
for name in "$@"; do fetch "$name"; done
for name in "$@"; do echo "$vm_kernels/$name"; done
