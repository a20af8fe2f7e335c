#!/bin/sh
# Assembles the runtime image's root without a container engine, for the tests that prove the image:
# Debian trixie minbase (what debian:trixie-slim is made from) plus image/runtime-packages.txt, the same
# list the Containerfile installs.
#   scripts/runtime-root.sh [amd64|arm64]     (default: this machine's architecture)
# Builds ${OOMTRACE_CACHE:-/var/cache/oomtrace}/runtime-root-<arch> once, and again when the package
# list changes; the last line printed is the root's path.
# A foreign architecture (arm64 here) gets debootstrap's first stage and every downloaded package
# unpacked without its maintainer scripts: enough to run its programs under qemu-user, not to chroot.
# Needs root, debootstrap, unshare; dpkg-deb for a foreign architecture.
set -eu
here=$(dirname "$(readlink -f "$0")")
. "$here/debian-mirror.sh"

native=$(dpkg --print-architecture)
arch=${1:-$native}
case $arch in amd64 | arm64) ;; *) echo "runtime-root: architecture must be amd64 or arm64, got $arch" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "runtime-root: must run as root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "runtime-root: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }

cache=${OOMTRACE_CACHE:-/var/cache/oomtrace}
root=$cache/runtime-root-$arch
list=$here/../image/runtime-packages.txt
packages=$(sed -e 's/#.*//' "$list" | tr -s ' \t\n' ' ' | sed -e 's/^ //' -e 's/ $//')
# What the root was made from; a different list means a new root.
want="trixie $arch minbase $packages"
marker=.oomtrace-runtime-root

mkdir -p "$cache"
exec 9>"$cache/.runtime-root-$arch.lock"
flock 9
if [ "$(cat "$root/$marker" 2>/dev/null)" != "$want" ]; then
  for old in "$root".tmp.*; do [ -e "$old" ] && rm -rf --one-file-system "$old"; done
  tmp=$root.tmp.$$
  trap 'rm -rf --one-file-system "$tmp"' EXIT
  trap 'exit 130' INT TERM
  url=$(debian_mirror)
  include=$(echo "$packages" | tr ' ' ',')
  echo "runtime-root: building $root ($arch: $packages) from $url" >&2
  start=$(date +%s)
  if [ "$arch" = "$native" ]; then
    # unshare -m: the proc/sys mounts debootstrap makes vanish with it, even if killed.
    unshare -m debootstrap --variant=minbase --include="$include" trixie "$tmp" "$url" >&2
  else
    debootstrap --foreign --arch="$arch" --variant=minbase --include="$include" trixie "$tmp" "$url" >&2
    for deb in "$tmp"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$tmp"; done
  fi
  echo "$want" >"$tmp/$marker"
  rm -rf --one-file-system "$root"
  mv "$tmp" "$root"
  trap - EXIT INT TERM
  echo "runtime-root: built in $(($(date +%s) - start)) s, $(du -sh --one-file-system "$root" | cut -f1)" >&2
fi
echo "$root"
