# Shared by scripts/vm/*.sh (sourced, not run). POSIX sh.
# OOMTRACE_CACHE (default /var/cache/oomtrace) holds the kernels and initramfs images.
vm_cache=${OOMTRACE_CACHE:-/var/cache/oomtrace}
vm_kernels=$vm_cache/kernels

vm_die() { echo "vm: $*" >&2; exit 1; }

vm_need_root() { [ "$(id -u)" = 0 ] || vm_die "must run as root"; }

# apt-get install, with one apt-get update per process before the first install.
vm_apt_updated=""
vm_apt_install() {
  if [ -z "$vm_apt_updated" ]; then
    echo "vm: apt-get update" >&2
    apt-get update -qq >&2 || vm_die "apt-get update failed"
    vm_apt_updated=1
  fi
  echo "vm: apt-get install $*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    vm_die "apt-get install $* failed"
}

# vm_need COMMAND PACKAGE: installs PACKAGE when COMMAND is missing.
vm_need() { command -v "$1" >/dev/null 2>&1 || vm_apt_install "$2"; }

# A statically linked busybox (the initramfs has no libc): Debian's busybox-static. It replaces
# the dynamic "busybox" package, at the same path.
vm_busybox() {
  dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
    vm_apt_install busybox-static
  echo /bin/busybox
}
