#!/bin/sh
# Installs oomtrace on a node or VM: the binary, a hardened systemd unit and an env file for flags.
#   scripts/install.sh [--binary FILE] [--root DIR] [--no-start]
# --binary   the agent to install (default: dist/release/oomtrace-linux-<arch>, else dist/oomtrace)
# --root     install under DIR instead of / (staging, packaging, tests); nothing is started
# --no-start install only; do not enable and start the service
# Installs /usr/local/bin/oomtrace, /etc/systemd/system/oomtrace.service and, unless it exists,
# /etc/default/oomtrace. Where the installed bpftrace cannot load a probe with the unit's capabilities
# (bpftrace 0.17, kernels before 5.8), adds CAP_SYS_ADMIN in oomtrace.service.d/sys-admin.conf.
set -eu
here=$(dirname "$(readlink -f "$0")")
repo=$here/..
root=""
binary=""
start=1
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --root) root=$2; start=0; shift 2 ;;
    --no-start) start=0; shift ;;
    *) echo "install: unknown argument $1 (use --binary FILE, --root DIR, --no-start)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "install: run as root" >&2; exit 1; }

if [ -z "$binary" ]; then
  case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=unknown ;; esac
  binary=$repo/dist/release/oomtrace-linux-$arch
  [ -f "$binary" ] || binary=$repo/dist/oomtrace
fi
[ -x "$binary" ] || { echo "install: no agent at $binary: run bun run build (or build:release), or give --binary" >&2; exit 1; }
"$binary" --version >/dev/null 2>&1 || { echo "install: $binary does not run on this machine (wrong architecture?)" >&2; exit 1; }

unitdir=$root/etc/systemd/system
install -D -m 0755 "$binary" "$root/usr/local/bin/oomtrace"
install -D -m 0644 "$repo/deploy/systemd/oomtrace.service" "$unitdir/oomtrace.service"
if [ -e "$root/etc/default/oomtrace" ]; then
  echo "install: keeping $root/etc/default/oomtrace"
else
  install -D -m 0644 "$repo/deploy/systemd/oomtrace.env" "$root/etc/default/oomtrace"
fi

# Can bpftrace load a probe that reads a kernel struct through BTF with the unit's capabilities alone?
# bpftrace 0.17 needs CAP_SYS_ADMIN for BTF; kernels before 5.8 have no CAP_BPF or CAP_PERFMON.
bpftrace=$(sed -n 's/^OOMTRACE_BPFTRACE=//p' "$root/etc/default/oomtrace" | tail -n 1)
bpftrace=${bpftrace:-bpftrace}
dropin=$unitdir/oomtrace.service.d/sys-admin.conf
probe='tracepoint:oom:mark_victim { print(curtask->pid); } BEGIN { exit(); }'
if ! command -v "$bpftrace" >/dev/null 2>&1; then
  echo "install: warning: $bpftrace not found; install it (apt-get install bpftrace) before starting oomtrace" >&2
elif setpriv --bounding-set -all,+bpf,+perfmon,+syslog --inh-caps -all --no-new-privs "$bpftrace" -e "$probe" >/dev/null 2>&1; then
  rm -f "$dropin"
  echo "install: $bpftrace works with CAP_BPF, CAP_PERFMON and CAP_SYSLOG alone"
elif setpriv --bounding-set -all,+bpf,+perfmon,+syslog,+sys_admin --inh-caps -all --no-new-privs "$bpftrace" -e "$probe" >/dev/null 2>&1; then
  mkdir -p "$(dirname "$dropin")"
  cat >"$dropin" <<DROPIN
# Written by scripts/install.sh: $($bpftrace --version 2>/dev/null | head -n 1) on kernel $(uname -r)
# loads no probe without CAP_SYS_ADMIN (bpftrace 0.17 needs it for BTF; kernels before 5.8 lack
# CAP_BPF and CAP_PERFMON). Remove this file once bpftrace works without it, and run install again.
[Service]
CapabilityBoundingSet=CAP_SYS_ADMIN
DROPIN
  echo "install: $bpftrace needs CAP_SYS_ADMIN here; added $dropin"
else
  echo "install: warning: $bpftrace could not load a test probe even with CAP_SYS_ADMIN; see oomtrace doctor" >&2
fi

echo "install: installed $root/usr/local/bin/oomtrace ($("$binary" --version)) and $unitdir/oomtrace.service"
if [ "$start" = 1 ]; then
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now oomtrace.service
    echo "install: started; follow it with: journalctl -u oomtrace -f"
  else
    echo "install: systemd is not running here; start /usr/local/bin/oomtrace run yourself" >&2
  fi
fi
