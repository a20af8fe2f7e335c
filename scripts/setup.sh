#!/usr/bin/env bash
# Installs what the agent needs on a fresh Debian machine: bun (npm registry), bpftrace (Debian),
# tracefs/debugfs mounts, and the project's dependencies. Safe to run again.
# Arguments name more Debian packages to make sure of (scripts/test.sh passes what the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() { [ "$(id -u)" = 0 ] || { echo "setup: run as root (bpftrace and the mounts need it)" >&2; exit 1; }; }
need_root

apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v bun >/dev/null; then
  echo "setup: installing bun from the npm registry" >&2
  command -v npm >/dev/null || apt_install npm
  npm install -g --silent bun@1.4.5 >/dev/null
fi
missing=()
command -v bpftrace >/dev/null || missing+=(bpftrace)
for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing from Debian: ${missing[*]}" >&2
  apt_install "${missing[@]}"
fi

# bpftrace 0.17 reads tracing under debugfs; newer ones use tracefs.
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug

bun install --frozen-lockfile >/dev/null
